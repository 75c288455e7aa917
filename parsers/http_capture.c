#include "parsers/http_capture.h"

#include "collector/jwt.h"
#include "collector/recorder.h"
#include "parsers/json_scan.h"
#include "parsers/sse.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* tap-http's defaults and caps, so an imported exchange looks like a tapped one */
#define HC_MAX_BODY (8u << 20)
#define HC_MAX_HEADERS 100
#define HC_MAX_NAME 127
#define HC_MAX_VALUE 4096
#define HC_MAX_URI 4096
#define HC_MAX_METHOD 32
#define HC_DETECT_WINDOW (64u << 10)
#define HC_SYNTHETIC_STEP_NS 1000
/* 2255-03-14: far enough from the int64 ns limit that the synthetic clock cannot overflow */
#define HC_MAX_EPOCH_S 9000000000LL

/* ---- headers: owned copies, names lower-cased ---- */

struct hc_header {
	size_t name_off, name_len, value_off, value_len;
};

struct hc_headers {
	struct strbuf store; /* "name\0value\0" ... */
	struct hc_header *v;
	size_t n, cap;
};

static bool headers_add(struct hc_headers *h, const char *name, size_t nlen, const char *value,
			size_t vlen)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hc_header *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return false;
		h->v = v;
		h->cap = cap;
	}
	struct hc_header *e = &h->v[h->n];
	e->name_off = h->store.len;
	e->name_len = nlen;
	if (!strbuf_append(&h->store, name, nlen) || !strbuf_append(&h->store, "", 1))
		return false;
	for (size_t i = 0; i < nlen; i++) {
		char *c = &h->store.data[e->name_off + i];
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	}
	e->value_off = h->store.len;
	e->value_len = vlen;
	if (!strbuf_append(&h->store, value, vlen) || !strbuf_append(&h->store, "", 1))
		return false;
	h->n++;
	return true;
}

static const char *header_name(const struct hc_headers *h, size_t i)
{
	return h->store.data + h->v[i].name_off;
}

static const char *header_value(const struct hc_headers *h, size_t i)
{
	return h->store.data + h->v[i].value_off;
}

/* Index of the first header called name (lower-case), or -1. */
static long headers_find(const struct hc_headers *h, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].name_len == nl && memcmp(header_name(h, i), name, nl) == 0)
			return (long)i;
	return -1;
}

static void headers_free(struct hc_headers *h)
{
	strbuf_free(&h->store);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* ---- one exchange, as read from either format ---- */

struct hc_exchange {
	struct hc_headers req_headers, resp_headers;
	struct strbuf method, uri, conn, scheme, authority;
	struct strbuf req_body, resp_body;
	bool req_cut, resp_cut; /* the capture itself says the body is incomplete */
	bool has_response;
	int status;
	struct strbuf mime;  /* HAR content.mimeType, when there is no content-type header */
	struct strbuf error; /* why there is no response */
	int64_t ts_request, ts_response; /* ns since the epoch; 0 when unknown (Envoy) */
	double duration_ms;		 /* < 0: from the record times */
};

static void exchange_free(struct hc_exchange *ex)
{
	headers_free(&ex->req_headers);
	headers_free(&ex->resp_headers);
	struct strbuf *bufs[] = {&ex->method,	 &ex->uri,	 &ex->conn,
				 &ex->scheme,	 &ex->authority, &ex->req_body,
				 &ex->resp_body, &ex->mime,	 &ex->error};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		strbuf_free(bufs[i]);
}

static void set_string(struct strbuf *b, const char *s, size_t n)
{
	strbuf_reset(b);
	strbuf_append(b, s, n);
}

/* ---- writing records ---- */

struct hc_writer {
	const struct http_capture_ctx *ctx;
	json_scanner *scanner;
	struct strbuf records; /* everything between the start and end records */
	struct strbuf pad;     /* padded copy of a payload for the scanner */
	uint64_t seq, exchanges, frames[2];
	bool synthetic_clock; /* Envoy: monotone, 1 µs per record when there is no real time */
	bool any_ts;
	int64_t min_ts, max_ts, last_ts;
	struct strbuf upstream;
	bool tls;
	unsigned long bad;
	char *err;
	size_t errlen;
};

static void append_json_string(struct strbuf *b, const char *s, size_t n)
{
	strbuf_append(b, "\"", 1);
	strbuf_append_json_escaped(b, s, n);
	strbuf_append(b, "\"", 1);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void note_bad(struct hc_writer *w, const char *why)
{
	if (w->bad++ == 0)
		set_err(w->err, w->errlen, "%s", why);
}

static int64_t record_ts(struct hc_writer *w, int64_t real)
{
	int64_t ts = real;
	if (w->synthetic_clock && w->any_ts && ts < w->last_ts + HC_SYNTHETIC_STEP_NS)
		ts = w->last_ts + HC_SYNTHETIC_STEP_NS;
	if (!w->any_ts) {
		w->min_ts = w->max_ts = ts;
		w->any_ts = true;
	}
	if (ts < w->min_ts)
		w->min_ts = ts;
	if (ts > w->max_ts)
		w->max_ts = ts;
	w->last_ts = ts;
	return ts;
}

static void line_begin(struct hc_writer *w, const char *kind, int dir, int64_t ts, uint64_t id)
{
	struct strbuf *b = &w->records;
	strbuf_append_str(b, "{\"mcptrail_tap\":1,\"stream\":");
	append_json_string(b, w->ctx->stream, strlen(w->ctx->stream));
	strbuf_printf(b,
		      ",\"seq\":%llu,\"ts\":%lld,\"kind\":\"%s\",\"dir\":\"%s\",\"exchange\":%llu",
		      (unsigned long long)w->seq++, (long long)ts, kind, dir ? "s2c" : "c2s",
		      (unsigned long long)id);
	w->frames[dir ? 1 : 0]++;
}

static bool sensitive_header(const char *name)
{
	static const char *const names[] = {"proxy-authorization", "cookie",  "set-cookie",
					    "x-api-key",	   "api-key", "x-auth-token",
					    "x-access-token"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* As tap-http: Authorization left out (it goes into "auth"), credential headers fingerprinted.
 * HTTP/2 pseudo-headers are left out too, except :authority, which is what HTTP/1 calls Host. */
static void append_headers(struct hc_writer *w, const struct hc_headers *h)
{
	struct strbuf *b = &w->records;
	bool has_host = headers_find(h, "host") >= 0;
	strbuf_append_str(b, ",\"headers\":{");
	unsigned n = 0;
	for (size_t i = 0; i < h->n && n < HC_MAX_HEADERS; i++) {
		const char *name = header_name(h, i);
		size_t nl = h->v[i].name_len;
		if (strcmp(name, "authorization") == 0 || nl == 0)
			continue;
		if (name[0] == ':') {
			if (has_host || strcmp(name, ":authority") != 0)
				continue;
			name = "host";
			nl = 4;
		}
		if (n++)
			strbuf_append(b, ",", 1);
		append_json_string(b, name, nl < HC_MAX_NAME ? nl : HC_MAX_NAME);
		strbuf_append(b, ":", 1);
		const char *value = header_value(h, i);
		size_t vl = h->v[i].value_len;
		if (sensitive_header(name)) {
			char fp[65];
			token_fingerprint(w->ctx->fp_key, value, vl, fp);
			strbuf_printf(b, "\"tfp:%s\"", fp);
		} else {
			append_json_string(b, value, vl < HC_MAX_VALUE ? vl : HC_MAX_VALUE);
		}
	}
	strbuf_append(b, "}", 1);
}

static void append_auth(struct hc_writer *w, const struct hc_headers *h)
{
	struct strbuf *b = &w->records;
	long i = headers_find(h, "authorization");
	if (i < 0) {
		strbuf_append_str(b, ",\"auth\":null");
		return;
	}
	const char *value = header_value(h, (size_t)i);
	size_t vl = h->v[i].value_len;
	const struct http_capture_ctx *ctx = w->ctx;
	json_t *j = NULL;
	if (ctx->tokens) {
		const struct token_identity *id = token_cache_lookup_or_decode(
			ctx->tokens, value, vl, ctx->fp_key, ctx->keys);
		j = id ? token_identity_to_json(id) : NULL;
	} else {
		struct token_identity id;
		memset(&id, 0, sizeof(id));
		char why[128];
		if (token_identity_from_header(value, vl, ctx->fp_key, ctx->keys, &id, why,
					       sizeof(why)) == 0)
			j = token_identity_to_json(&id);
		token_identity_clear(&id);
	}
	if (!j)
		j = json_pack("{s:s}", "error", "undecodable");
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	strbuf_append_str(b, ",\"auth\":");
	strbuf_append_str(b, txt ? txt : "null");
	free(txt);
	json_decref(j);
}

/* ,"len":N then "msg" (one valid JSON value with no line break, which would split the record
 * line) or "b64". */
static void append_payload(struct hc_writer *w, const char *data, size_t len, bool cut)
{
	struct strbuf *b = &w->records;
	strbuf_printf(b, ",\"len\":%zu", len);
	if (len == 0)
		return;
	if (memchr(data, '\n', len) || memchr(data, '\r', len))
		cut = true;
	strbuf_reset(&w->pad);
	if (!cut && strbuf_append(&w->pad, data, len) &&
	    strbuf_reserve(&w->pad, JSON_SCAN_PADDING)) {
		memset(w->pad.data + len, 0, JSON_SCAN_PADDING);
		recorder_append_payload(b, w->scanner, w->pad.data, len, false);
	} else {
		strbuf_append_str(b, ",\"b64\":\"");
		base64_encode_append(b, (const unsigned char *)data, len);
		strbuf_append_str(b, "\"");
	}
}

struct sse_emit_ctx {
	struct hc_writer *w;
	uint64_t id;
	int64_t ts;
};

static void emit_sse_event(void *arg, const struct sse_event *ev)
{
	struct sse_emit_ctx *c = arg;
	struct hc_writer *w = c->w;
	struct strbuf *b = &w->records;
	line_begin(w, "sse_event", 1, record_ts(w, c->ts), c->id);
	strbuf_append_str(b, ",\"event_id\":");
	if (ev->id)
		append_json_string(b, ev->id, strlen(ev->id));
	else
		strbuf_append_str(b, "null");
	strbuf_append_str(b, ",\"event\":");
	append_json_string(b, ev->event, strlen(ev->event));
	if (ev->retry_ms >= 0)
		strbuf_printf(b, ",\"retry_ms\":%ld", ev->retry_ms);
	if (ev->truncated)
		strbuf_append_str(b, ",\"truncated\":true");
	append_payload(w, ev->data, ev->data_len, ev->truncated);
	strbuf_append_str(b, "}\n");
}

static bool is_event_stream(const struct hc_exchange *ex)
{
	long i = headers_find(&ex->resp_headers, "content-type");
	const char *ct = i >= 0 ? header_value(&ex->resp_headers, (size_t)i) : ex->mime.data;
	return ct && strncasecmp(ct, "text/event-stream", 17) == 0;
}

static void emit_exchange(struct hc_writer *w, const struct hc_exchange *ex)
{
	struct strbuf *b = &w->records;
	uint64_t id = w->exchanges++;
	if (w->upstream.len == 0 && ex->authority.len > 0) {
		strbuf_append(&w->upstream, ex->scheme.data, ex->scheme.len);
		strbuf_append_str(&w->upstream, "://");
		strbuf_append(&w->upstream, ex->authority.data, ex->authority.len);
		w->tls = ex->scheme.len == 5 && memcmp(ex->scheme.data, "https", 5) == 0;
	}

	int64_t t_request = record_ts(w, ex->ts_request);
	line_begin(w, "http_request", 0, t_request, id);
	strbuf_append_str(b, ",\"conn\":");
	append_json_string(b, ex->conn.len ? ex->conn.data : "unknown",
			   ex->conn.len ? ex->conn.len : 7);
	strbuf_append_str(b, ",\"method\":");
	append_json_string(b, ex->method.data,
			   ex->method.len < HC_MAX_METHOD ? ex->method.len : HC_MAX_METHOD);
	strbuf_append_str(b, ",\"uri\":");
	append_json_string(b, ex->uri.data, ex->uri.len < HC_MAX_URI ? ex->uri.len : HC_MAX_URI);
	append_headers(w, &ex->req_headers);
	append_auth(w, &ex->req_headers);
	bool req_cut = ex->req_cut || ex->req_body.len > HC_MAX_BODY;
	if (req_cut)
		strbuf_append_str(b, ",\"truncated\":true");
	append_payload(w, ex->req_body.data,
		       ex->req_body.len < HC_MAX_BODY ? ex->req_body.len : HC_MAX_BODY, req_cut);
	strbuf_append_str(b, "}\n");

	const char *outcome = "complete";
	if (ex->has_response) {
		line_begin(w, "http_response", 1, record_ts(w, ex->ts_response), id);
		strbuf_printf(b, ",\"status\":%d", ex->status);
		append_headers(w, &ex->resp_headers);
		strbuf_append_str(b, "}\n");
		if (is_event_stream(ex)) {
			struct sse_parser p;
			struct sse_emit_ctx c = {w, id, ex->ts_response};
			sse_parser_init(&p, HC_MAX_BODY);
			if (ex->resp_body.len)
				sse_parser_feed(&p, ex->resp_body.data, ex->resp_body.len,
						emit_sse_event, &c);
			sse_parser_finish(&p);
			sse_parser_free(&p);
		} else if (ex->resp_body.len > 0) {
			bool cut = ex->resp_cut || ex->resp_body.len > HC_MAX_BODY;
			line_begin(w, "http_body", 1, record_ts(w, ex->ts_response), id);
			if (cut)
				strbuf_append_str(b, ",\"truncated\":true");
			append_payload(w, ex->resp_body.data,
				       cut && ex->resp_body.len > HC_MAX_BODY ? HC_MAX_BODY
									      : ex->resp_body.len,
				       cut);
			strbuf_append_str(b, "}\n");
		}
	} else {
		outcome = "upstream_error";
	}
	int64_t t_end = record_ts(w, ex->ts_response);
	double duration =
		ex->duration_ms >= 0 ? ex->duration_ms : (double)(t_end - t_request) / 1e6;
	line_begin(w, "http_end", 1, t_end, id);
	strbuf_printf(b,
		      ",\"outcome\":\"%s\",\"status\":%d,\"bytes_in\":%zu,\"bytes_out\":%zu,"
		      "\"duration_ms\":%.3f",
		      outcome, ex->has_response ? ex->status : 0, ex->req_body.len,
		      ex->resp_body.len, duration);
	if (!ex->has_response) {
		strbuf_append_str(b, ",\"error\":");
		if (ex->error.len)
			append_json_string(b, ex->error.data, ex->error.len);
		else
			append_json_string(b, "no response in the capture", 26);
	}
	strbuf_append_str(b, "}\n");
}

static bool writer_init(struct hc_writer *w, const struct http_capture_ctx *ctx, char *err,
			size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->err = err;
	w->errlen = errlen;
	w->scanner = json_scanner_new();
	return w->scanner != NULL;
}

static void writer_free(struct hc_writer *w)
{
	json_scanner_free(w->scanner);
	strbuf_free(&w->records);
	strbuf_free(&w->pad);
	strbuf_free(&w->upstream);
}

/* start record, the exchanges, end record, into out */
static void writer_finish(struct hc_writer *w, struct strbuf *out, const char *format,
			  const char *creator, size_t creator_len)
{
	int64_t start = w->any_ts ? w->min_ts : 0;
	char when[48];
	format_rfc3339_ns(start, when);
	strbuf_append_str(out, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":");
	append_json_string(out, w->ctx->stream, strlen(w->ctx->stream));
	strbuf_printf(out,
		      ",\"ts\":%lld,\"time\":\"%s\",\"transport\":\"http\",\"identity\":{"
		      "\"subject\":\"bearer\",\"source\":\"bearer_token\"},\"host\":\"unknown\","
		      "\"tap_pid\":0,\"server_pid\":0,\"argv\":[],\"upstream\":",
		      (long long)start, when);
	if (w->upstream.len)
		append_json_string(out, w->upstream.data, w->upstream.len);
	else
		strbuf_append_str(out, "null");
	strbuf_printf(out, ",\"tls\":%s,\"imported_from\":\"%s\"", w->tls ? "true" : "false",
		      format);
	if (creator) {
		strbuf_append_str(out, ",\"creator\":");
		append_json_string(out, creator, creator_len);
	}
	strbuf_append_str(out, "}\n");
	strbuf_append(out, w->records.data, w->records.len);
	strbuf_append_str(out, "{\"mcptrail_tap\":1,\"kind\":\"end\",\"stream\":");
	append_json_string(out, w->ctx->stream, strlen(w->ctx->stream));
	strbuf_printf(out,
		      ",\"seq\":%llu,\"ts\":%lld,\"exit_status\":0,\"frames\":{\"c2s\":%llu,"
		      "\"s2c\":%llu},\"gaps\":0,\"dropped_frames\":0,\"dropped_bytes\":0,"
		      "\"write_errors\":0}\n",
		      (unsigned long long)w->seq, (long long)(w->any_ts ? w->max_ts : 0),
		      (unsigned long long)w->frames[0], (unsigned long long)w->frames[1]);
}

static bool check_ctx(const struct http_capture_ctx *ctx, const char *data, struct strbuf *out,
		      char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!ctx || !ctx->fp_key || !ctx->stream || !out || !data) {
		set_err(err, errlen, "http_capture: missing fingerprint key, stream id or buffer");
		return false;
	}
	return true;
}

/* ---- shared parsing helpers ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool take_digits(const char *s, size_t n, size_t *i, int count, int *out)
{
	int v = 0;
	for (int k = 0; k < count; k++, (*i)++) {
		if (*i >= n || s[*i] < '0' || s[*i] > '9')
			return false;
		v = v * 10 + (s[*i] - '0');
	}
	*out = v;
	return true;
}

static bool take_char(const char *s, size_t n, size_t *i, const char *any)
{
	if (*i >= n || !strchr(any, s[*i]) || s[*i] == '\0')
		return false;
	(*i)++;
	return true;
}

/* RFC 3339 / ISO 8601 date-time, "2026-01-02T03:04:05.123+01:00" (zone optional: UTC), to ns
 * since the epoch; 1970 to 2255 only. */
static bool parse_datetime(const char *s, size_t n, int64_t *ns)
{
	size_t i = 0;
	int year, mon, day, hour, min, sec, tzh = 0, tzm = 0, sign = 0;
	if (!take_digits(s, n, &i, 4, &year) || !take_char(s, n, &i, "-") ||
	    !take_digits(s, n, &i, 2, &mon) || !take_char(s, n, &i, "-") ||
	    !take_digits(s, n, &i, 2, &day) || !take_char(s, n, &i, "Tt ") ||
	    !take_digits(s, n, &i, 2, &hour) || !take_char(s, n, &i, ":") ||
	    !take_digits(s, n, &i, 2, &min) || !take_char(s, n, &i, ":") ||
	    !take_digits(s, n, &i, 2, &sec))
		return false;
	int64_t frac = 0;
	if (take_char(s, n, &i, ".,")) {
		int digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (digits++ < 9)
				frac = frac * 10 + (s[i] - '0');
			i++;
		}
		if (digits == 0)
			return false;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (take_char(s, n, &i, "Zz")) {
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '-' ? -1 : 1;
		if (!take_digits(s, n, &i, 2, &tzh))
			return false;
		take_char(s, n, &i, ":");
		if (i < n && !take_digits(s, n, &i, 2, &tzm))
			return false;
	}
	if (i != n || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
	    sec > 60 || tzh > 23 || tzm > 59)
		return false;
	int64_t secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec -
		       sign * (tzh * 3600 + tzm * 60);
	if (secs < 0 || secs > HC_MAX_EPOCH_S)
		return false;
	*ns = secs * 1000000000LL + frac;
	return true;
}

static json_t *member(json_t *obj, const char *snake, const char *camel)
{
	json_t *v = json_object_get(obj, snake);
	return v || !camel ? v : json_object_get(obj, camel);
}

static bool string_of(json_t *v, const char **s, size_t *n)
{
	if (!json_is_string(v))
		return false;
	*s = json_string_value(v);
	*n = json_string_length(v);
	return true;
}

/* Standard base64, tolerating line breaks and spaces inside (some tools wrap it). */
static bool decode_base64(struct strbuf *out, const char *s, size_t n)
{
	bool spaced = false;
	for (size_t i = 0; i < n && !spaced; i++)
		spaced = s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t';
	if (!spaced)
		return base64_decode_append(out, s, n);
	struct strbuf tight = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t'))
			strbuf_append(&tight, &s[i], 1);
	bool ok = base64_decode_append(out, tight.data ? tight.data : "", tight.len);
	strbuf_free(&tight);
	return ok;
}

#define BAD(...)                                                                                   \
	do {                                                                                       \
		snprintf(why, whylen, __VA_ARGS__);                                                \
		return false;                                                                      \
	} while (0)

/* ---- HAR ---- */

static const char *skip_space(const char *p, const char *end)
{
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

bool har_detect(const char *data, size_t len)
{
	if (!data)
		return false;
	const char *end = data + (len < HC_DETECT_WINDOW ? len : HC_DETECT_WINDOW);
	const char *p = skip_space(data, end);
	if (p >= end || *p != '{')
		return false;
	p = skip_space(p + 1, end);
	if (end - p < 5 || memcmp(p, "\"log\"", 5) != 0)
		return false;
	p = skip_space(p + 5, end);
	if (p >= end || *p != ':')
		return false;
	p = skip_space(p + 1, end);
	if (p >= end || *p != '{')
		return false;
	size_t rest = (size_t)(end - p);
	return memmem(p, rest, "\"entries\"", 9) || memmem(p, rest, "\"creator\"", 9) ||
	       memmem(p, rest, "\"version\"", 9);
}

/* scheme://[userinfo@]authority[/path][?query][#fragment]: the userinfo is dropped (it can hold
 * a password), the fragment too (never sent). */
static bool split_url(const char *url, size_t n, struct hc_exchange *ex)
{
	const char *sep = memmem(url, n, "://", 3);
	if (!sep || sep == url)
		return false;
	for (const char *c = url; c < sep; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
		bool other = (*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.';
		if (!alpha && (c == url || !other))
			return false;
	}
	set_string(&ex->scheme, url, (size_t)(sep - url));
	for (size_t i = 0; i < ex->scheme.len; i++)
		if (ex->scheme.data[i] >= 'A' && ex->scheme.data[i] <= 'Z')
			ex->scheme.data[i] = (char)(ex->scheme.data[i] + 32);
	const char *end = url + n, *auth = sep + 3, *auth_end = auth;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
		auth_end++;
	for (const char *c = auth; c < auth_end; c++)
		if (*c == '@')
			auth = c + 1;
	if (auth == auth_end)
		return false;
	set_string(&ex->authority, auth, (size_t)(auth_end - auth));
	const char *frag = memchr(auth_end, '#', (size_t)(end - auth_end));
	const char *path_end = frag ? frag : end;
	strbuf_reset(&ex->uri);
	if (auth_end == path_end || *auth_end != '/')
		strbuf_append(&ex->uri, "/", 1);
	strbuf_append(&ex->uri, auth_end, (size_t)(path_end - auth_end));
	return true;
}

static void har_headers(json_t *arr, struct hc_headers *h)
{
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item)
	{
		const char *name, *value;
		size_t nl, vl;
		if (string_of(json_object_get(item, "name"), &name, &nl) && nl > 0 &&
		    string_of(json_object_get(item, "value"), &value, &vl))
			headers_add(h, name, nl, value, vl);
	}
}

/* text, base64-decoded when encoding says so */
static bool har_text(json_t *holder, struct strbuf *out)
{
	const char *text, *enc;
	size_t tl, el;
	if (!string_of(json_object_get(holder, "text"), &text, &tl))
		return true;
	if (string_of(json_object_get(holder, "encoding"), &enc, &el) && el == 6 &&
	    strncasecmp(enc, "base64", 6) == 0)
		return decode_base64(out, text, tl);
	return strbuf_append(out, text, tl);
}

static bool har_entry(json_t *entry, size_t i, struct hc_exchange *ex, char *why, size_t whylen)
{
	const char *s;
	size_t n;
	if (!json_is_object(entry))
		BAD("HAR: entries[%zu]: expected an object", i);
	if (!string_of(json_object_get(entry, "startedDateTime"), &s, &n) ||
	    !parse_datetime(s, n, &ex->ts_request))
		BAD("HAR: entries[%zu].startedDateTime: expected a date like "
		    "\"2026-01-02T03:04:05.678Z\"",
		    i);
	json_t *time = json_object_get(entry, "time");
	double ms = 0;
	if (time && !json_is_null(time)) {
		if (!json_is_number(time))
			BAD("HAR: entries[%zu].time: expected a number of milliseconds", i);
		ms = json_number_value(time);
	}
	if (!(ms >= 0))
		ms = 0;
	if (ms > 1e11)
		BAD("HAR: entries[%zu].time: %.0f ms is out of range", i, ms);
	ex->duration_ms = ms;
	ex->ts_response = ex->ts_request + (int64_t)(ms * 1e6);

	json_t *req = json_object_get(entry, "request");
	if (!json_is_object(req))
		BAD("HAR: entries[%zu].request: expected an object", i);
	if (!string_of(json_object_get(req, "method"), &s, &n) || n == 0)
		BAD("HAR: entries[%zu].request.method: expected a string", i);
	set_string(&ex->method, s, n);
	if (!string_of(json_object_get(req, "url"), &s, &n) || !split_url(s, n, ex))
		BAD("HAR: entries[%zu].request.url: expected an absolute URL like "
		    "\"https://host/mcp\"",
		    i);
	json_t *h = json_object_get(req, "headers");
	if (h && !json_is_array(h))
		BAD("HAR: entries[%zu].request.headers: expected an array", i);
	har_headers(h, &ex->req_headers);
	json_t *post = json_object_get(req, "postData");
	if (post && !json_is_null(post) && !json_is_object(post))
		BAD("HAR: entries[%zu].request.postData: expected an object", i);
	if (!har_text(post, &ex->req_body))
		BAD("HAR: entries[%zu].request.postData.text: invalid base64", i);

	json_t *resp = json_object_get(entry, "response");
	if (!json_is_object(resp))
		BAD("HAR: entries[%zu].response: expected an object", i);
	json_t *status = json_object_get(resp, "status");
	if (!json_is_number(status) || json_number_value(status) < 0 ||
	    json_number_value(status) > 999)
		BAD("HAR: entries[%zu].response.status: expected an HTTP status number", i);
	ex->status = (int)json_number_value(status);
	h = json_object_get(resp, "headers");
	if (h && !json_is_array(h))
		BAD("HAR: entries[%zu].response.headers: expected an array", i);
	har_headers(h, &ex->resp_headers);
	json_t *content = json_object_get(resp, "content");
	if (content && !json_is_null(content) && !json_is_object(content))
		BAD("HAR: entries[%zu].response.content: expected an object", i);
	if (!har_text(content, &ex->resp_body))
		BAD("HAR: entries[%zu].response.content.text: invalid base64", i);
	if (string_of(json_object_get(content, "mimeType"), &s, &n))
		set_string(&ex->mime, s, n);
	/* status 0: the browser got no response (blocked, aborted, network error) */
	ex->has_response = ex->status != 0;
	if (!ex->has_response && string_of(json_object_get(resp, "_error"), &s, &n))
		set_string(&ex->error, s, n);
	return true;
}

long har_to_tap_records(const struct http_capture_ctx *ctx, const char *data, size_t len,
			struct strbuf *out, unsigned long *bad, char *err, size_t errlen)
{
	if (bad)
		*bad = 0;
	if (!check_ctx(ctx, data, out, err, errlen))
		return -1;
	long rc = -1;
	struct hc_writer w;
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &je);
	if (!writer_init(&w, ctx, err, errlen)) {
		set_err(err, errlen, "HAR: out of memory");
		goto out;
	}
	if (!root) {
		set_err(err, errlen, "HAR: not valid JSON at line %d, column %d: %s", je.line,
			je.column, je.text);
		goto out;
	}
	json_t *log = json_object_get(root, "log");
	json_t *entries = json_object_get(log, "entries");
	if (!json_is_object(log) || !json_is_array(entries)) {
		set_err(err, errlen, "HAR: %s: expected %s",
			json_is_object(log) ? "log.entries" : "log",
			json_is_object(log) ? "an array of entries" : "an object {\"log\":{...}}");
		goto out;
	}
	size_t i;
	json_t *entry;
	char why[256];
	json_array_foreach(entries, i, entry)
	{
		struct hc_exchange ex;
		memset(&ex, 0, sizeof(ex));
		if (har_entry(entry, i, &ex, why, sizeof(why)))
			emit_exchange(&w, &ex);
		else
			note_bad(&w, why);
		exchange_free(&ex);
	}
	json_t *creator = json_object_get(log, "creator");
	const char *cname = NULL, *cversion = NULL;
	size_t cnl = 0, cvl = 0;
	struct strbuf cb = STRBUF_INIT;
	if (string_of(json_object_get(creator, "name"), &cname, &cnl)) {
		strbuf_append(&cb, cname, cnl);
		if (string_of(json_object_get(creator, "version"), &cversion, &cvl) && cvl) {
			strbuf_append(&cb, " ", 1);
			strbuf_append(&cb, cversion, cvl);
		}
	}
	writer_finish(&w, out, "har", cb.data, cb.len);
	strbuf_free(&cb);
	rc = (long)w.exchanges;
out:
	if (bad)
		*bad = w.bad;
	writer_free(&w);
	json_decref(root);
	return rc;
}

/* ---- Envoy tap ---- */

bool envoy_tap_detect(const char *data, size_t len)
{
	static const char *const keys[] = {"http_buffered_trace", "http_streamed_trace_segment",
					   "httpBufferedTrace", "httpStreamedTraceSegment"};
	if (!data)
		return false;
	const char *end = data + (len < HC_DETECT_WINDOW ? len : HC_DETECT_WINDOW);
	const char *p = skip_space(data, end);
	if (p < end && *p == '[')
		p = skip_space(p + 1, end);
	if (p >= end || *p != '{')
		return false;
	p = skip_space(p + 1, end);
	if (p >= end || *p != '"')
		return false;
	p++;
	const char *q = memchr(p, '"', (size_t)(end - p));
	if (!q)
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((size_t)(q - p) == strlen(keys[i]) && memcmp(p, keys[i], (size_t)(q - p)) == 0)
			return true;
	return false;
}

/* [{"key","value"|"raw_value"}] */
static bool envoy_headers(json_t *arr, const char *where, struct hc_headers *h, char *why,
			  size_t whylen)
{
	if (!arr || json_is_null(arr))
		return true;
	if (!json_is_array(arr))
		BAD("Envoy tap: %s: expected an array of {\"key\",\"value\"}", where);
	size_t i;
	json_t *item;
	struct strbuf raw = STRBUF_INIT;
	json_array_foreach(arr, i, item)
	{
		const char *key, *value = "";
		size_t kl, vl = 0;
		if (!string_of(json_object_get(item, "key"), &key, &kl) || kl == 0)
			continue;
		json_t *rv = member(item, "raw_value", "rawValue");
		if (!string_of(json_object_get(item, "value"), &value, &vl) && rv) {
			strbuf_reset(&raw);
			if (!string_of(rv, &value, &vl) || !decode_base64(&raw, value, vl)) {
				strbuf_free(&raw);
				BAD("Envoy tap: %s[%zu].raw_value: invalid base64", where, i);
			}
			value = raw.data ? raw.data : "";
			vl = raw.len;
		}
		headers_add(h, key, kl, value, vl);
	}
	strbuf_free(&raw);
	return true;
}

/* {"as_bytes"(base64)|"as_string","truncated"} appended to out */
static bool envoy_body(json_t *body, const char *where, struct strbuf *out, bool *truncated,
		       char *why, size_t whylen)
{
	if (!body || json_is_null(body))
		return true;
	if (!json_is_object(body))
		BAD("Envoy tap: %s: expected an object {\"as_bytes\"|\"as_string\"}", where);
	const char *s;
	size_t n;
	json_t *bytes = member(body, "as_bytes", "asBytes");
	json_t *text = member(body, "as_string", "asString");
	if (bytes && (!string_of(bytes, &s, &n) || !decode_base64(out, s, n)))
		BAD("Envoy tap: %s.as_bytes: invalid base64", where);
	if (!bytes && text) {
		if (!string_of(text, &s, &n))
			BAD("Envoy tap: %s.as_string: expected a string", where);
		strbuf_append(out, s, n);
	}
	if (json_is_true(json_object_get(body, "truncated")))
		*truncated = true;
	return true;
}

/* google.protobuf.Timestamp: an RFC 3339 string, or {"seconds","nanos"}; 0 when absent or odd */
static int64_t envoy_time(json_t *t)
{
	const char *s;
	size_t n;
	int64_t ns = 0;
	if (string_of(t, &s, &n) && parse_datetime(s, n, &ns))
		return ns;
	json_t *sec = json_object_get(t, "seconds");
	json_int_t secs = json_is_integer(sec)	? json_integer_value(sec)
			  : json_is_string(sec) ? strtoll(json_string_value(sec), NULL, 10)
						: -1;
	json_int_t nanos = json_integer_value(json_object_get(t, "nanos"));
	if (secs < 0 || secs > HC_MAX_EPOCH_S || nanos < 0 || nanos > 999999999)
		return 0;
	return (int64_t)secs * 1000000000LL + nanos;
}

static bool envoy_request_line(struct hc_exchange *ex, const char *where, char *why, size_t whylen)
{
	const struct hc_headers *h = &ex->req_headers;
	long m = headers_find(h, ":method"), p = headers_find(h, ":path");
	if (m < 0 || p < 0)
		BAD("Envoy tap: %s: no %s pseudo-header", where, m < 0 ? ":method" : ":path");
	set_string(&ex->method, header_value(h, (size_t)m), h->v[m].value_len);
	set_string(&ex->uri, header_value(h, (size_t)p), h->v[p].value_len);
	long sc = headers_find(h, ":scheme");
	if (sc < 0)
		sc = headers_find(h, "x-forwarded-proto");
	if (sc >= 0)
		set_string(&ex->scheme, header_value(h, (size_t)sc), h->v[sc].value_len);
	else
		set_string(&ex->scheme, "http", 4);
	long a = headers_find(h, ":authority");
	if (a < 0)
		a = headers_find(h, "host");
	if (a >= 0)
		set_string(&ex->authority, header_value(h, (size_t)a), h->v[a].value_len);
	return true;
}

static bool envoy_status(struct hc_exchange *ex, const char *where, char *why, size_t whylen)
{
	long i = headers_find(&ex->resp_headers, ":status");
	const char *v = i >= 0 ? header_value(&ex->resp_headers, (size_t)i) : "";
	size_t n = strlen(v);
	if (n == 0 || n > 3 || strspn(v, "0123456789") != n)
		BAD("Envoy tap: %s: expected a :status pseudo-header with an HTTP status", where);
	ex->status = atoi(v);
	ex->has_response = true;
	return true;
}

/* downstream_connection.remote_address.socket_address → "address:port" */
static void envoy_conn(json_t *trace, struct hc_exchange *ex)
{
	json_t *c = member(trace, "downstream_connection", "downstreamConnection");
	json_t *sa = member(member(c, "remote_address", "remoteAddress"), "socket_address",
			    "socketAddress");
	const char *addr;
	size_t n;
	if (!string_of(json_object_get(sa, "address"), &addr, &n))
		return;
	set_string(&ex->conn, addr, n);
	json_t *port = member(sa, "port_value", "portValue");
	if (json_is_integer(port))
		strbuf_printf(&ex->conn, ":%lld", (long long)json_integer_value(port));
}

static bool envoy_buffered(json_t *trace, struct hc_exchange *ex, char *why, size_t whylen)
{
	if (!json_is_object(trace))
		BAD("Envoy tap: http_buffered_trace: expected an object");
	json_t *req = json_object_get(trace, "request");
	if (!json_is_object(req))
		BAD("Envoy tap: http_buffered_trace.request: expected an object");
	if (!envoy_headers(json_object_get(req, "headers"), "http_buffered_trace.request.headers",
			   &ex->req_headers, why, whylen) ||
	    !envoy_body(json_object_get(req, "body"), "http_buffered_trace.request.body",
			&ex->req_body, &ex->req_cut, why, whylen) ||
	    !envoy_request_line(ex, "http_buffered_trace.request.headers", why, whylen))
		return false;
	ex->ts_request = envoy_time(member(req, "headers_received_time", "headersReceivedTime"));
	envoy_conn(trace, ex);
	json_t *resp = json_object_get(trace, "response");
	if (resp && !json_is_null(resp) && !json_is_object(resp))
		BAD("Envoy tap: http_buffered_trace.response: expected an object");
	if (!envoy_headers(json_object_get(resp, "headers"), "http_buffered_trace.response.headers",
			   &ex->resp_headers, why, whylen) ||
	    !envoy_body(json_object_get(resp, "body"), "http_buffered_trace.response.body",
			&ex->resp_body, &ex->resp_cut, why, whylen))
		return false;
	if (ex->resp_headers.n > 0 &&
	    !envoy_status(ex, "http_buffered_trace.response.headers", why, whylen))
		return false;
	ex->ts_response = envoy_time(member(resp, "headers_received_time", "headersReceivedTime"));
	return true;
}

/* Traces in the order they first appear; streamed segments find theirs by trace_id. */
struct envoy_trace {
	struct hc_exchange ex;
	bool has_request, failed;
	char why[256];
};

struct envoy_traces {
	struct envoy_trace **v;
	size_t n, cap;
	json_t *by_id; /* trace_id → index of the latest trace with that id */
};

static struct envoy_trace *trace_new(struct envoy_traces *t, const char *id)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct envoy_trace **v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct envoy_trace *tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	tr->ex.duration_ms = -1;
	if (id && json_object_set_new(t->by_id, id, json_integer((json_int_t)t->n)) != 0) {
		free(tr);
		return NULL;
	}
	t->v[t->n++] = tr;
	return tr;
}

static void envoy_segment(struct envoy_traces *t, json_t *seg, char *why, size_t whylen)
{
	char number[32] = "0"; /* proto3 JSON leaves out a zero trace_id */
	const char *id = number;
	json_t *tid = member(seg, "trace_id", "traceId");
	if (json_is_string(tid))
		id = json_string_value(tid); /* uint64 is a string in proto3 JSON */
	else if (json_is_integer(tid))
		snprintf(number, sizeof(number), "%lld", (long long)json_integer_value(tid));
	json_t *rh = member(seg, "request_headers", "requestHeaders");
	json_t *rb = member(seg, "request_body_chunk", "requestBodyChunk");
	json_t *sh = member(seg, "response_headers", "responseHeaders");
	json_t *sb = member(seg, "response_body_chunk", "responseBodyChunk");
	json_t *idx = json_object_get(t->by_id, id);
	struct envoy_trace *tr = idx ? t->v[json_integer_value(idx)] : NULL;
	if (!tr || (rh && tr->has_request))
		tr = trace_new(t, id); /* trace ids can repeat: new request headers, new trace */
	if (!tr || tr->failed)
		return;
	struct hc_exchange *ex = &tr->ex;
	bool ok = true;
	if (rh) {
		ok = envoy_headers(json_object_get(rh, "headers"),
				   "http_streamed_trace_segment.request_headers.headers",
				   &ex->req_headers, why, whylen) &&
		     envoy_request_line(ex, "http_streamed_trace_segment.request_headers", why,
					whylen);
		tr->has_request = true;
	}
	if (ok && rb)
		ok = envoy_body(rb, "http_streamed_trace_segment.request_body_chunk", &ex->req_body,
				&ex->req_cut, why, whylen);
	if (ok && sh)
		ok = envoy_headers(json_object_get(sh, "headers"),
				   "http_streamed_trace_segment.response_headers.headers",
				   &ex->resp_headers, why, whylen) &&
		     envoy_status(ex, "http_streamed_trace_segment.response_headers", why, whylen);
	if (ok && sb)
		ok = envoy_body(sb, "http_streamed_trace_segment.response_body_chunk",
				&ex->resp_body, &ex->resp_cut, why, whylen);
	if (!ok) {
		tr->failed = true;
		snprintf(tr->why, sizeof(tr->why), "%.200s (trace_id %.40s)", why, id);
	}
}

static void envoy_wrapper(struct envoy_traces *t, struct hc_writer *w, json_t *doc,
			  unsigned long *http_traces, unsigned long index)
{
	char why[256];
	json_t *buffered = member(doc, "http_buffered_trace", "httpBufferedTrace");
	json_t *seg = member(doc, "http_streamed_trace_segment", "httpStreamedTraceSegment");
	if (buffered) {
		(*http_traces)++;
		struct envoy_trace *tr = trace_new(t, NULL);
		if (tr)
			tr->has_request = true;
		if (tr && !envoy_buffered(buffered, &tr->ex, why, sizeof(why))) {
			tr->failed = true;
			snprintf(tr->why, sizeof(tr->why), "%s", why);
		}
	} else if (json_is_object(seg)) {
		(*http_traces)++;
		envoy_segment(t, seg, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why),
			 "Envoy tap: trace %lu: expected an object with http_buffered_trace or "
			 "http_streamed_trace_segment",
			 index);
		note_bad(w, why);
	}
}

/* the next line that starts a JSON document, after a document that did not parse */
static size_t next_document(const char *data, size_t len, size_t from)
{
	for (size_t i = from; i + 1 < len; i++)
		if (data[i] == '\n' && (data[i + 1] == '{' || data[i + 1] == '['))
			return i + 1;
	return len;
}

long envoy_tap_to_tap_records(const struct http_capture_ctx *ctx, const char *data, size_t len,
			      struct strbuf *out, unsigned long *bad, char *err, size_t errlen)
{
	if (bad)
		*bad = 0;
	if (!check_ctx(ctx, data, out, err, errlen))
		return -1;
	long rc = -1;
	struct hc_writer w;
	struct envoy_traces t = {NULL, 0, 0, json_object()};
	bool ok = writer_init(&w, ctx, err, errlen) && t.by_id;
	w.synthetic_clock = true;
	if (!ok) {
		set_err(err, errlen, "Envoy tap: out of memory");
		goto out;
	}
	unsigned long docs = 0, http_traces = 0, index = 0;
	char first_error[256] = "";
	size_t off = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	for (;;) {
		/* between documents: white space, and the commas of a hand-made list */
		while (off < len && data[off] != '\0' && strchr(" \t\r\n,", data[off]))
			off++;
		if (off >= len)
			break;
		json_error_t je;
		json_t *doc = json_loadb(data + off, len - off,
					 JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
		if (!doc) {
			char why[256];
			snprintf(
				why, sizeof(why),
				"Envoy tap: the JSON document at byte %zu does not parse (line %d, "
				"column %d: %s)",
				off, je.line, je.column, je.text);
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error), "%s", why);
			note_bad(&w, why);
			off = next_document(data, len, off);
			continue;
		}
		docs++;
		off += je.position > 0 ? (size_t)je.position : 1;
		if (json_is_array(doc)) {
			size_t i;
			json_t *item;
			json_array_foreach(doc, i, item)
				envoy_wrapper(&t, &w, item, &http_traces, index++);
		} else {
			envoy_wrapper(&t, &w, doc, &http_traces, index++);
		}
		json_decref(doc);
	}
	if (http_traces == 0) {
		if (docs == 0 && first_error[0])
			set_err(err, errlen, "%s", first_error);
		else
			set_err(err, errlen,
				"Envoy tap: no HTTP trace found (expected JSON objects with "
				"http_buffered_trace or http_streamed_trace_segment)");
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		struct envoy_trace *tr = t.v[i];
		if (tr->failed)
			note_bad(&w, tr->why);
		else if (!tr->has_request)
			note_bad(&w, "Envoy tap: http_streamed_trace_segment: body or response "
				     "segments without request_headers");
		else
			emit_exchange(&w, &tr->ex);
	}
	writer_finish(&w, out, "envoy_tap", NULL, 0);
	rc = (long)w.exchanges;
out:
	if (bad)
		*bad = w.bad;
	for (size_t i = 0; i < t.n; i++) {
		exchange_free(&t.v[i]->ex);
		free(t.v[i]);
	}
	free(t.v);
	json_decref(t.by_id);
	writer_free(&w);
	return rc;
}
