#include "collector/importer.h"
#include "collector/importer_internal.h"

#include "collector/event.h"
#include "collector/jwt.h"
#include "collector/obs.h"
#include "collector/util.h"
#include "parsers/http_capture.h"
#include "parsers/json_scan.h"
#include "parsers/tap_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (4u << 20)
#define BATCH_BYTES (1u << 20)
#define DIGEST_PREFIX 4096

void import_options_defaults(struct import_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->max_line = 48u << 20;
	opt->bad_line_events_per_file = 100;
	opt->max_capture = 512u << 20;
	cimd_config_defaults(&opt->cimd);
	correlator_config_defaults(&opt->correlator);
}

/* ---- events out ---- */

#define BATCH_EVENTS 1024

/* Hands the batch to every sink, each in its own encoding, retrying transient failures. */
static void flush_batch(struct importer *imp)
{
	if (imp->nbatch == 0)
		return;
	struct sink_record *recs = calloc(imp->nbatch, sizeof(*recs));
	size_t *offsets = calloc(imp->nbatch, sizeof(*offsets));
	for (size_t i = 0; recs && offsets && i < imp->opt->nsinks; i++) {
		struct sink *sk = imp->opt->sinks[i];
		if (imp->sink_failed[i])
			continue;
		strbuf_reset(&imp->encoded);
		size_t n = 0;
		for (size_t e = 0; e < imp->nbatch; e++) {
			size_t mark = imp->encoded.len;
			if (encode_event(sk->encoding, imp->batch_events[e], &imp->encoded) != 0) {
				imp->stats->unencodable_events++;
				continue;
			}
			recs[n].event = imp->batch_events[e];
			offsets[n] = mark;
			recs[n].len = imp->encoded.len - mark;
			n++;
		}
		for (size_t k = 0; k < n; k++)
			recs[k].payload = imp->encoded.data + offsets[k];
		enum sink_result r = SINK_ERROR;
		for (int attempt = 0; attempt < 5; attempt++) {
			r = sink_write_batch(sk, recs, n);
			if (r != SINK_RETRY && r != SINK_NOT_CONNECTED)
				break;
			struct timespec ts = {0, 100000000L << (attempt < 3 ? attempt : 3)};
			nanosleep(&ts, NULL);
		}
		if (r != SINK_OK && r != SINK_QUEUED) {
			if (r == SINK_RETRY || r == SINK_NOT_CONNECTED)
				sk->failed_batches++; /* the retries gave up */
			imp->sink_failed[i] = true;
			imp->stats->sink_failures++;
			/* the URI's query can hold credentials (sasl.password): never print it */
			fprintf(stderr, "mcptrail import: sink %.*s failed (%s): %s\n",
				(int)strcspn(sk->uri, "?"), sk->uri, sink_result_name(r),
				sk->last_error);
		}
	}
	free(recs);
	free(offsets);
	for (size_t e = 0; e < imp->nbatch; e++)
		json_decref(imp->batch_events[e]);
	imp->nbatch = 0;
	if (imp->encoded.cap > (8u << 20))
		strbuf_free(&imp->encoded);
}

static void take_event(void *ctx, json_t *ev)
{
	struct importer *imp = ctx;
	if (imp->br)
		blast_radius_add(imp->br, ev);
	if (imp->opt->observer)
		imp->opt->observer(imp->opt->observer_ctx, ev);
	imp->stats->events++;
	imp->batch_events[imp->nbatch++] = ev; /* owned until the batch is written */
	if (imp->nbatch == BATCH_EVENTS)
		flush_batch(imp);
}

void import_emit(struct importer *imp, json_t *event_take)
{
	take_event(imp, event_take);
}

static void take_blast_radius(void *ctx, json_t *ev)
{
	take_event(ctx, ev);
}

void importer_emit_blast_radius(struct importer *imp)
{
	if (imp->br)
		blast_radius_events(imp->br, take_blast_radius, imp);
}

/* ---- bad input ---- */

static void bad_line(struct importer *imp, const char *reason, const char *bytes, size_t len,
		     uint64_t real_len)
{
	imp->stats->bad_lines++;
	imp->file_bad++;
	if (imp->file_bad > imp->opt->bad_line_events_per_file) {
		imp->file_suppressed++;
		return;
	}
	take_event(imp, event_ingest_error(imp->name, imp->line_no, imp->offset, reason, bytes,
					   len < DIGEST_PREFIX ? len : DIGEST_PREFIX, real_len,
					   imp->last_time_ns));
}

/* ---- tap records → observations ---- */

static void observe_start(struct importer *imp, const char *line, size_t len,
			  const struct tap_record *rec, const char *stream)
{
	json_t *root = json_loadb(line, len, 0, NULL);
	const char *transport = json_string_value(json_object_get(root, "transport"));
	if (transport && strcmp(transport, "http") == 0) {
		/* an HTTP tap run is not a session: its sessions are made from the exchanges */
		json_decref(root);
		return;
	}
	json_t *identity = json_object_get(root, "identity");
	struct strbuf cmd = STRBUF_INIT;
	json_t *argv = json_object_get(root, "argv");
	size_t i;
	json_t *a;
	json_array_foreach(argv, i, a)
	{
		if (!json_is_string(a))
			continue;
		if (cmd.len)
			strbuf_append(&cmd, " ", 1);
		strbuf_append_str(&cmd, json_string_value(a));
	}
	struct obs o = {
		.kind = OBS_STREAM_START,
		.time_ns = rec->ts_ns,
		.stream = stream,
		.transport = json_string_value(json_object_get(root, "transport")),
		.seq = rec->seq,
		.source_name = imp->name,
		.source_line = imp->line_no,
		.identity =
			{
				.subject = json_string_value(json_object_get(identity, "subject")),
				.issuer = json_string_value(json_object_get(identity, "issuer")),
				.source = json_string_value(json_object_get(identity, "source")),
			},
		.host = json_string_value(json_object_get(root, "host")),
		.server_command = cmd.data,
	};
	correlator_observe(imp->correlator, &o);
	strbuf_free(&cmd);
	json_decref(root);
}

void import_observe_payload(struct importer *imp, const struct tap_record *rec, struct obs o)
{
	struct json_scan scan;
	o.kind = OBS_MESSAGE;
	o.source_name = imp->name;
	o.source_line = imp->line_no;
	const char *frame;
	size_t frame_len, capacity;
	if (rec->msg.ptr) {
		frame = rec->msg.ptr;
		frame_len = rec->msg.len;
		capacity = rec->msg_capacity;
	} else {
		strbuf_reset(&imp->decoded);
		if (!base64_decode_append(&imp->decoded, rec->b64.ptr, rec->b64.len) ||
		    !strbuf_reserve(&imp->decoded, JSON_SCAN_PADDING)) {
			o.kind = OBS_INVALID;
			o.invalid_reason = "frame record with malformed base64";
			o.invalid_len = rec->len;
			correlator_observe(imp->correlator, &o);
			return;
		}
		frame = imp->decoded.data ? imp->decoded.data : "";
		frame_len = imp->decoded.len;
		capacity = imp->decoded.cap;
	}
	imp->stats->frames++;
	o.raw = frame;
	o.raw_len = frame_len;
	if (rec->truncated) {
		o.kind = OBS_INVALID;
		o.invalid_reason = "frame longer than the tap's limit (recorded truncated)";
		o.invalid_len = rec->len;
		o.truncated = true;
	} else if (json_scanner_scan(imp->message_scanner, frame, frame_len, capacity, &scan) ==
		   JSON_MSG_INVALID) {
		o.kind = OBS_INVALID;
		o.invalid_reason =
			rec->partial ? "stream ended inside a frame" : scan.invalid_reason;
		o.invalid_len = rec->len ? rec->len : frame_len;
		o.truncated = rec->partial;
	} else {
		o.msg = &scan;
	}
	correlator_observe(imp->correlator, &o);
}

/* Returns the record's kind (TAP_RECORD_INVALID for a blank or bad line). stream_out (may be
 * NULL) receives the record's stream. */
static enum tap_record_kind process_line(struct importer *imp, const char *line, size_t len,
					 const char *buf_end, struct strbuf *stream_out)
{
	size_t trimmed = len;
	if (trimmed > 0 && line[trimmed - 1] == '\r')
		trimmed--;
	bool blank = true;
	for (size_t i = 0; i < trimmed && blank; i++)
		blank = line[i] == ' ' || line[i] == '\t';
	if (blank)
		return TAP_RECORD_INVALID;
	struct tap_record rec;
	if (tap_record_parse(imp->record_scanner, line, trimmed, (size_t)(buf_end - line), &rec) ==
	    TAP_RECORD_INVALID) {
		bad_line(imp, rec.invalid_reason, line, trimmed, trimmed);
		return TAP_RECORD_INVALID;
	}
	if (stream_out) {
		strbuf_reset(stream_out);
		strbuf_append(stream_out, rec.stream.ptr, rec.stream.len);
	}
	imp->stats->records++;
	imp->file_records++;
	if (rec.ts_ns > imp->last_time_ns)
		imp->last_time_ns = rec.ts_ns;
	char stream_small[128];
	char *stream_heap = NULL;
	const char *stream = stream_small;
	if (rec.stream.len < sizeof(stream_small)) {
		memcpy(stream_small, rec.stream.ptr, rec.stream.len);
		stream_small[rec.stream.len] = '\0';
	} else {
		stream_heap = malloc(rec.stream.len + 1);
		if (stream_heap) {
			memcpy(stream_heap, rec.stream.ptr, rec.stream.len);
			stream_heap[rec.stream.len] = '\0';
		}
		stream = stream_heap ? stream_heap : "unknown";
	}
	switch (rec.kind) {
	case TAP_RECORD_START:
		observe_start(imp, line, trimmed, &rec, stream);
		import_http_start(imp, &rec, line, trimmed, stream);
		break;
	case TAP_RECORD_FRAME: {
		struct obs o = {.time_ns = rec.ts_ns,
				.stream = stream,
				.dir = rec.dir == 1 ? OBS_S2C : OBS_C2S,
				.seq = rec.seq};
		import_observe_payload(imp, &rec, o);
		break;
	}
	case TAP_RECORD_HTTP_REQUEST:
	case TAP_RECORD_HTTP_RESPONSE:
	case TAP_RECORD_HTTP_BODY:
	case TAP_RECORD_SSE_EVENT:
	case TAP_RECORD_HTTP_END:
		import_http_record(imp, &rec, line, trimmed, stream);
		break;
	case TAP_RECORD_GAP: {
		struct obs o = {.kind = OBS_GAP,
				.time_ns = rec.ts_ns,
				.stream = stream,
				.dir = rec.dir == 1 ? OBS_S2C : OBS_C2S,
				.seq = rec.seq,
				.gap_frames = rec.gap_frames,
				.gap_bytes = rec.gap_bytes,
				.source_name = imp->name,
				.source_line = imp->line_no};
		correlator_observe(imp->correlator, &o);
		break;
	}
	case TAP_RECORD_END: {
		if (import_http_end(imp, &rec, stream))
			break;
		struct obs o = {.kind = OBS_STREAM_END,
				.time_ns = rec.ts_ns,
				.stream = stream,
				.seq = rec.seq,
				.has_exit_status = rec.has_exit_status,
				.exit_status = rec.exit_status,
				.term_signal = rec.term_signal,
				.source_name = imp->name,
				.source_line = imp->line_no};
		correlator_observe(imp->correlator, &o);
		break;
	}
	case TAP_RECORD_INVALID:
		break;
	}
	free(stream_heap);
	return rec.kind;
}

/* ---- reading ---- */

struct source {
	int fd; /* -1: memory */
	const char *mem;
	size_t mem_len, mem_off;
};

static ssize_t source_read(struct source *src, char *dst, size_t cap)
{
	if (src->fd < 0) {
		size_t n = src->mem_len - src->mem_off;
		if (n > cap)
			n = cap;
		memcpy(dst, src->mem + src->mem_off, n);
		src->mem_off += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t n = read(src->fd, dst, cap);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* Detects the format from the first lines; only tap records exist so far. */
/* The log parser for a format name: the configured one, or a built-in. */
static const struct log_parser *named_log_parser(struct importer *imp, const char *fmt,
						 void **state)
{
	const struct log_parser *p = imp->opt->log_parser;
	if (p && strcmp(p->name, fmt) == 0) {
		*state = imp->opt->log_state;
		return p;
	}
	*state = NULL;
	p = log_parser_find(fmt);
	return p && !p->state_new ? p : NULL;
}

static void detect(struct importer *imp, const char *data, size_t len)
{
	if (imp->format_known)
		return;
	imp->log_parser = NULL;
	imp->log_state = NULL;
	const char *fmt = imp->opt->format;
	if (fmt && strcmp(fmt, "auto") != 0) {
		imp->is_tap = strcmp(fmt, "tap") == 0;
		if (!imp->is_tap)
			imp->log_parser = named_log_parser(imp, fmt, &imp->log_state);
		imp->format_known = true;
		return;
	}
	const char *p0 = data;
	const char *p = data, *end = data + len;
	for (int lines = 0; p < end && lines < 64; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (tap_record_detect(p, n < 4096 ? n : 4096)) {
			imp->is_tap = true;
			break;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	/* not a capture: a gateway or IdP log? */
	for (int lines = 0; !imp->is_tap && p0 < end && lines < 64; lines++) {
		const char *nl = memchr(p0, '\n', (size_t)(end - p0));
		size_t n = nl ? (size_t)(nl - p0) : (size_t)(end - p0);
		const struct log_parser *lp = log_parser_detect(p0, n);
		if (lp) {
			imp->log_parser = lp;
			break;
		}
		if (!nl)
			break;
		p0 = nl + 1;
	}
	if (!imp->is_tap && !imp->log_parser && imp->opt->log_parser) {
		imp->log_parser = imp->opt->log_parser;
		imp->log_state = imp->opt->log_state;
	}
	imp->format_known = true;
}

/* ---- gateway and identity-provider logs ---- */

static void log_emit(void *ctx, const struct obs *o)
{
	struct importer *imp = ctx;
	if (o->time_ns > imp->last_time_ns)
		imp->last_time_ns = o->time_ns;
	correlator_observe(imp->correlator, o);
}

/* One line of a log (NUL at line[len] is not required: the line is copied when needed). */
static void log_line(struct importer *imp, const char *line, size_t len)
{
	size_t trimmed = len;
	while (trimmed > 0 &&
	       (line[trimmed - 1] == '\r' || line[trimmed - 1] == ' ' || line[trimmed - 1] == '\t'))
		trimmed--;
	if (trimmed == 0)
		return;
	char *copy = NULL;
	if (line[trimmed] != '\0') {
		copy = malloc(trimmed + 1);
		if (!copy)
			return;
		memcpy(copy, line, trimmed);
		copy[trimmed] = '\0';
		line = copy;
	}
	struct log_line ll = {line, trimmed, imp->name, imp->line_no};
	const char *reason = NULL;
	const struct log_parser *lp = imp->log_parser;
	void *state = imp->log_state;
	enum log_parse_result r = LOG_PARSE_BAD;
	if (lp)
		r = lp->parse(state, &ll, log_emit, imp, &reason);
	if (r == LOG_PARSE_BAD || r == LOG_PARSE_SKIP || !lp) {
		/* a mixed file: another format may know this line (one the file's parser refuses,
		 * or skips as saying nothing in its own format) */
		const struct log_parser *other = log_parser_detect(line, trimmed);
		if (other && other != lp && !other->state_new) {
			const char *other_reason = NULL;
			enum log_parse_result r2 =
				other->parse(NULL, &ll, log_emit, imp, &other_reason);
			if (r2 != LOG_PARSE_BAD) {
				r = r2;
			} else if (!lp) {
				reason = other_reason;
			}
		} else if (!lp) {
			reason = "not a recognised capture or log format";
		}
	}
	switch (r) {
	case LOG_PARSE_OK:
		imp->stats->log_lines++;
		imp->stats->records++;
		imp->file_records++;
		break;
	case LOG_PARSE_SKIP:
		imp->stats->log_skipped++;
		imp->stats->records++;
		imp->file_records++;
		break;
	case LOG_PARSE_BAD:
		bad_line(imp, reason ? reason : "malformed log line", line, trimmed, trimmed);
		break;
	case LOG_PARSE_NOMEM:
		bad_line(imp, "out of memory", line, trimmed, trimmed);
		break;
	}
	free(copy);
}

static int import_source(struct importer *imp, struct source *src);

/* The fingerprint key and token cache for converting captures that hold raw tokens. */
static bool http_capture_identity(struct importer *imp)
{
	if (imp->tokens)
		return true;
	char err[512];
	char path[4096];
	const char *key = imp->opt->fingerprint_key;
	if (!key) {
		const char *dir = getenv("MCPTRAIL_STATE_DIR");
		snprintf(path, sizeof(path), "%s/fingerprint.key", dir ? dir : ".");
		key = path;
	}
	if (token_fingerprint_key_load(key, imp->fp_key, err, sizeof(err)) != 0) {
		fprintf(stderr, "mcptrail import: fingerprint key: %s\n", err);
		return false;
	}
	if (imp->opt->jwks &&
	    !(imp->keys = jwt_keyring_load_file(imp->opt->jwks, err, sizeof(err)))) {
		fprintf(stderr, "mcptrail import: --jwks: %s\n", err);
		return false;
	}
	imp->tokens = token_cache_new(4096);
	return imp->tokens != NULL;
}

/* Reads the whole capture (first bytes already in hand), converts it and imports the records. */
static int import_http_capture(struct importer *imp, struct source *src, const char *head,
			       size_t head_len, bool har)
{
	struct strbuf all = STRBUF_INIT, recs = STRBUF_INIT;
	int rc = -1;
	strbuf_append(&all, head, head_len);
	for (;;) {
		if (all.len > imp->opt->max_capture) {
			bad_line(imp, "capture larger than --max-capture", all.data, all.len,
				 all.len);
			goto out;
		}
		if (!strbuf_reserve(&all, READ_CHUNK))
			goto out;
		ssize_t n = source_read(src, all.data + all.len, READ_CHUNK);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		all.len += (size_t)n;
		imp->stats->bytes += (uint64_t)n;
		imp->file_bytes += (uint64_t)n;
	}
	if (!http_capture_identity(imp))
		goto out;
	char hex[65], stream[40], err[512];
	sha256_hex(all.data, all.len, hex);
	snprintf(stream, sizeof(stream), "%s-%.16s", har ? "har" : "envoy", hex);
	struct http_capture_ctx hc = {imp->fp_key, imp->tokens, imp->keys, stream};
	unsigned long bad = 0;
	long n = har ? har_to_tap_records(&hc, all.data, all.len, &recs, &bad, err, sizeof(err))
		     : envoy_tap_to_tap_records(&hc, all.data, all.len, &recs, &bad, err,
						sizeof(err));
	imp->converted_from = har ? "har" : "envoy_tap";
	if (n < 0) {
		bad_line(imp, err, all.data, all.len, all.len);
		goto out;
	}
	for (unsigned long i = 0; i < bad; i++)
		bad_line(imp, err[0] ? err : "unusable entry", "", 0, 0);
	struct source converted = {
		.fd = -1, .mem = recs.data ? recs.data : "", .mem_len = recs.len};
	rc = import_source(imp, &converted);
out:
	strbuf_free(&all);
	strbuf_free(&recs);
	return rc;
}

/* Returns 0, or -1 when the input could not be read at all. */
static int import_source(struct importer *imp, struct source *src)
{
	size_t cap = READ_CHUNK + JSON_SCAN_PADDING;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	size_t start = 0, end = 0;
	bool eof = false, skipping = false, read_error = false;
	uint64_t skipped = 0;
	char skip_digest_src[DIGEST_PREFIX];
	size_t skip_digest_len = 0;
	imp->line_no = 0;
	imp->offset = 0;
	imp->format_known = false;
	imp->is_tap = false;

	/* whole-document captures (HAR, Envoy tap traces) are converted to tap records first */
	ssize_t first = source_read(src, buf, READ_CHUNK);
	if (first > 0) {
		end = (size_t)first;
		imp->stats->bytes += (uint64_t)first;
		imp->file_bytes += (uint64_t)first;
		const char *fmt = imp->opt->format;
		bool auto_fmt = !fmt || strcmp(fmt, "auto") == 0;
		bool har = (auto_fmt || strcmp(fmt, "har") == 0) && har_detect(buf, end);
		bool envoy = !har && (auto_fmt || strcmp(fmt, "envoy") == 0) &&
			     envoy_tap_detect(buf, end);
		if (har || envoy) {
			int rc = import_http_capture(imp, src, buf, end, har);
			free(buf);
			return rc;
		}
	} else if (first < 0) {
		read_error = true;
		eof = true;
	} else {
		eof = true;
	}
	memset(buf + end, 0, JSON_SCAN_PADDING);

	while (!eof || start < end) {
		/* complete lines first */
		char *nl = start < end ? memchr(buf + start, '\n', end - start) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - (buf + start));
			imp->line_no++;
			imp->stats->lines++;
			imp->file_lines++;
			if (!skipping && len > imp->opt->max_line) {
				/* the newline came in the same read as the excess */
				skipping = true;
				skip_digest_len = DIGEST_PREFIX;
				memcpy(skip_digest_src, buf + start, skip_digest_len);
				skipped = 0;
			}
			if (skipping) {
				skipped += len;
				imp->stats->oversized_lines++;
				bad_line(imp, "line longer than --max-line", skip_digest_src,
					 skip_digest_len, skipped);
				skipping = false;
				skipped = 0;
			} else {
				detect(imp, buf + start, end - start);
				if (imp->is_tap)
					process_line(imp, buf + start, len,
						     buf + end + JSON_SCAN_PADDING, NULL);
				else
					log_line(imp, buf + start, len);
			}
			imp->offset += len + 1;
			start += len + 1;
			continue;
		}
		if (eof) {
			/* a last line without a newline: a truncated capture */
			size_t len = end - start;
			imp->line_no++;
			imp->stats->lines++;
			imp->file_lines++;
			if (skipping) {
				imp->stats->oversized_lines++;
				bad_line(imp, "line longer than --max-line", skip_digest_src,
					 skip_digest_len, skipped + len);
			} else {
				detect(imp, buf + start, len);
				if (imp->is_tap)
					process_line(imp, buf + start, len,
						     buf + end + JSON_SCAN_PADDING, NULL);
				else
					log_line(imp, buf + start, len);
			}
			imp->offset += len;
			start = end;
			break;
		}
		/* no newline in what we hold */
		size_t pending = end - start;
		if (!skipping && pending >= imp->opt->max_line) {
			skipping = true;
			skip_digest_len = pending < DIGEST_PREFIX ? pending : DIGEST_PREFIX;
			memcpy(skip_digest_src, buf + start, skip_digest_len);
			skipped = 0;
		}
		if (skipping) {
			skipped += pending;
			imp->offset += pending;
			start = end = 0;
		} else if (start > 0) {
			memmove(buf, buf + start, pending);
			end = pending;
			start = 0;
		}
		if (cap - JSON_SCAN_PADDING - end < READ_CHUNK / 4 &&
		    cap < imp->opt->max_line + 2 * READ_CHUNK) {
			size_t want = cap * 2;
			char *nb = realloc(buf, want);
			if (!nb) {
				/* cannot hold this line: treat it as oversized */
				skipping = true;
				skip_digest_len = 0;
				skipped += end - start;
				start = end = 0;
			} else {
				buf = nb;
				cap = want;
			}
		}
		size_t room = cap - JSON_SCAN_PADDING - end;
		ssize_t n = source_read(src, buf + end, room < READ_CHUNK ? room : READ_CHUNK);
		if (n < 0) {
			read_error = true;
			fprintf(stderr, "mcptrail import: %s: read error: %s\n", imp->name,
				strerror(errno));
			eof = true;
		} else if (n == 0) {
			eof = true;
		} else {
			imp->stats->bytes += (uint64_t)n;
			imp->file_bytes += (uint64_t)n;
			end += (size_t)n;
		}
		memset(buf + end, 0, JSON_SCAN_PADDING);
	}
	free(buf);
	return read_error && imp->file_lines == 0 ? -1 : 0;
}

static void file_summary(struct importer *imp, bool readable)
{
	char seed[600];
	snprintf(seed, sizeof(seed), "%s|%llu|%llu", imp->name, (unsigned long long)imp->file_bytes,
		 (unsigned long long)imp->file_lines);
	json_t *ev = event_envelope("ingest.summary", imp->last_time_ns, seed);
	json_t *o = json_object();
	json_object_set_new(o, "source", event_string_lossy(imp->name));
	json_object_set_new(o, "format",
			    json_string(imp->converted_from ? imp->converted_from
					: imp->is_tap	    ? "tap"
					: imp->log_parser   ? imp->log_parser->name
							    : "unknown"));
	json_object_set_new(o, "readable", json_boolean(readable));
	json_object_set_new(o, "bytes", json_integer((json_int_t)imp->file_bytes));
	json_object_set_new(o, "lines", json_integer((json_int_t)imp->file_lines));
	json_object_set_new(o, "records", json_integer((json_int_t)imp->file_records));
	json_object_set_new(o, "bad_lines", json_integer((json_int_t)imp->file_bad));
	json_object_set_new(o, "bad_line_events_suppressed",
			    json_integer((json_int_t)imp->file_suppressed));
	json_object_set_new(
		o, "sse_replayed",
		json_integer((json_int_t)(imp->stats->replayed_events - imp->file_replayed_base)));
	json_object_set_new(ev, "ingest", o);
	take_event(imp, ev);
}

static void begin_file(struct importer *imp, const char *name)
{
	imp->name = name;
	imp->file_lines = imp->file_records = imp->file_bad = imp->file_suppressed = 0;
	imp->file_bytes = 0;
	imp->converted_from = NULL;
	imp->file_replayed_base = imp->stats->replayed_events;
	imp->stats->files++;
}

static int importer_init(struct importer *imp, const struct import_options *opt,
			 struct import_stats *stats)
{
	memset(imp, 0, sizeof(*imp));
	memset(stats, 0, sizeof(*stats));
	imp->opt = opt;
	imp->stats = stats;
	imp->correlator = correlator_new(&opt->correlator, take_event, imp);
	imp->record_scanner = json_scanner_new();
	imp->message_scanner = json_scanner_new();
	imp->sink_failed = calloc(opt->nsinks + 1, sizeof(bool));
	imp->batch_events = calloc(BATCH_EVENTS, sizeof(*imp->batch_events));
	if (opt->blast_radius) {
		br_config_defaults(&imp->br_defaults);
		imp->br = blast_radius_new(opt->blast_radius_config ? opt->blast_radius_config
								    : &imp->br_defaults);
		if (!imp->br)
			return -1;
	}
	if (!imp->correlator || !imp->record_scanner || !imp->message_scanner ||
	    !imp->sink_failed || !imp->batch_events)
		return -1;
	return 0;
}

/* finish: end of input (the correlator emits what it still holds); else it is dropped. */
static int importer_close(struct importer *imp, bool finish)
{
	int rc = 0;
	if (imp->correlator && finish)
		correlator_finish(imp->correlator);
	if (finish)
		importer_emit_blast_radius(imp);
	flush_batch(imp);
	for (size_t i = 0; i < imp->opt->nsinks; i++) {
		struct sink *sk = imp->opt->sinks[i];
		if (!imp->sink_failed[i] && sink_flush(sk) != SINK_OK) {
			imp->sink_failed[i] = true;
			imp->stats->sink_failures++;
			fprintf(stderr,
				"mcptrail import: sink %.*s could not deliver everything: %s\n",
				(int)strcspn(sk->uri, "?"), sk->uri, sk->last_error);
		}
	}
	if (imp->stats->sink_failures)
		rc = 2;
	else if (imp->stats->records == 0)
		rc = 1;
	correlator_free(imp->correlator);
	blast_radius_free(imp->br);
	imp->br = NULL;
	import_http_free(imp);
	token_cache_free(imp->tokens);
	cimd_cache_free(imp->cimd);
	jwt_keyring_free(imp->keys);
	json_scanner_free(imp->record_scanner);
	json_scanner_free(imp->message_scanner);
	strbuf_free(&imp->encoded);
	free(imp->batch_events);
	strbuf_free(&imp->decoded);
	strbuf_free(&imp->last_stream);
	free(imp->sink_failed);
	return rc;
}

/* True when the file starts like a gateway or IdP log (not a capture): such inputs are read
 * first, so the correlator holds every log line before the captures that may explain them. */
static bool looks_like_log(const char *name)
{
	if (strcmp(name, "-") == 0)
		return false;
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return false;
	const char *p = buf, *end = buf + n;
	if (har_detect(buf, (size_t)n) || envoy_tap_detect(buf, (size_t)n))
		return false;
	for (int lines = 0; p < end && lines < 64; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (tap_record_detect(p, len < 4096 ? len : 4096))
			return false;
		if (log_parser_detect(p, len))
			return true;
		if (!nl)
			break;
		p = nl + 1;
	}
	return false;
}

int import_run(const struct import_options *opt_in, char *const *inputs, size_t ninputs,
	       struct import_stats *stats)
{
	struct importer imp;
	/* logs first, then captures */
	char const **order = calloc(ninputs + 1, sizeof(*order));
	bool *is_log = calloc(ninputs + 1, sizeof(*is_log));
	if (!order || !is_log) {
		free(order);
		free(is_log);
		return 2;
	}
	size_t norder = 0, nlogs = 0;
	bool auto_fmt = !opt_in->format || strcmp(opt_in->format, "auto") == 0;
	for (size_t i = 0; i < ninputs; i++) {
		is_log[i] = auto_fmt && looks_like_log(inputs[i]);
		nlogs += is_log[i];
	}
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ninputs; i++)
			if (is_log[i] == (pass == 0))
				order[norder++] = inputs[i];
	free(is_log);
	/* when captures follow the logs, every log line is in before them: the correlator keeps
	 * unexplained gateway lines until the end; logs alone go out as they come */
	struct import_options local = *opt_in;
	local.correlator.hold_gateway_until_finish = nlogs > 0 && nlogs < ninputs;
	/* logs alone (no capture to explain a line): lines go out as they come */
	const struct log_parser *named = auto_fmt ? NULL : log_parser_find(opt_in->format);
	if ((ninputs > 0 && nlogs == ninputs) || named)
		local.correlator.max_hold_ns = 0;
	const struct import_options *opt = &local;
	if (importer_init(&imp, opt, stats) != 0) {
		free(order);
		importer_close(&imp, true);
		return 2;
	}
	for (size_t i = 0; i < norder; i++) {
		const char *name = order[i];
		begin_file(&imp, name);
		struct source src = {.fd = -1};
		if (strcmp(name, "-") == 0) {
			src.fd = STDIN_FILENO;
			imp.name = "<stdin>";
		} else {
			src.fd = open(name, O_RDONLY | O_CLOEXEC);
		}
		if (src.fd < 0) {
			fprintf(stderr, "mcptrail import: %s: %s\n", name, strerror(errno));
			stats->unreadable_files++;
			take_event(&imp, event_ingest_error(name, 0, 0, strerror(errno), "", 0, 0,
							    imp.last_time_ns));
			file_summary(&imp, false);
			continue;
		}
		int r = import_source(&imp, &src);
		if (r != 0)
			stats->unreadable_files++;
		file_summary(&imp, r == 0);
		if (src.fd != STDIN_FILENO)
			close(src.fd);
	}
	free(order);
	return importer_close(&imp, true);
}

int import_run_buffer(const struct import_options *opt, const char *name, const char *data,
		      size_t len, struct import_stats *stats)
{
	struct importer imp;
	if (importer_init(&imp, opt, stats) != 0) {
		importer_close(&imp, true);
		return 2;
	}
	begin_file(&imp, name);
	struct source src = {.fd = -1, .mem = data, .mem_len = len};
	import_source(&imp, &src);
	file_summary(&imp, true);
	return importer_close(&imp, true);
}

/* ---- lines fed one at a time ---- */

enum feed_mode { FEED_TAP, FEED_LOG, FEED_AUTO };

struct feed_source {
	char *name;
	enum feed_mode mode;
	const struct log_parser *log_parser;
	void *log_state;
	uint64_t line_no, offset, lines, records, bad, suppressed, bytes, replayed_base;
	const char *converted_from; /* "har", "envoy_tap": its lines are converted records */
};

static void feed_source_free(void *p)
{
	struct feed_source *fs = p;
	if (fs)
		free(fs->name);
	free(fs);
}

static struct feed_source *feed_source_get(struct importer *imp, const char *name)
{
	size_t n = strlen(name);
	struct feed_source *fs = hashmap_get(imp->feed_sources, name, n);
	if (fs)
		return fs;
	fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->name = strdup(name)) || !hashmap_put(imp->feed_sources, name, n, fs)) {
		feed_source_free(fs);
		return NULL;
	}
	fs->replayed_base = imp->stats->replayed_events;
	fs->mode = FEED_TAP;
	imp->stats->files++;
	return fs;
}

/* The per-input fields of the importer hold one source at a time: swapped in and out. */
static void feed_enter(struct importer *imp, const struct feed_source *fs)
{
	imp->name = fs->name;
	imp->line_no = fs->line_no;
	imp->offset = fs->offset;
	imp->file_lines = fs->lines;
	imp->file_records = fs->records;
	imp->file_bad = fs->bad;
	imp->file_suppressed = fs->suppressed;
	imp->file_bytes = fs->bytes;
	imp->file_replayed_base = fs->replayed_base;
	imp->converted_from = fs->converted_from;
	imp->is_tap = fs->mode == FEED_TAP;
	imp->log_parser = fs->log_parser;
	imp->log_state = fs->log_state;
	imp->format_known = true;
}

static void feed_leave(struct importer *imp, struct feed_source *fs)
{
	fs->line_no = imp->line_no;
	fs->offset = imp->offset;
	fs->lines = imp->file_lines;
	fs->records = imp->file_records;
	fs->bad = imp->file_bad;
	fs->suppressed = imp->file_suppressed;
	fs->bytes = imp->file_bytes;
	imp->name = NULL;
}

struct importer *importer_new(const struct import_options *opt, struct import_stats *stats)
{
	struct importer *imp = malloc(sizeof(*imp));
	if (!imp)
		return NULL;
	if (importer_init(imp, opt, stats) != 0 || !(imp->feed_sources = hashmap_new())) {
		importer_close(imp, false);
		free(imp);
		return NULL;
	}
	return imp;
}

int import_feed_line(struct importer *imp, const char *line, size_t len, const char *source_name)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs)
		return -1;
	feed_enter(imp, fs);
	imp->line_no++;
	imp->stats->lines++;
	imp->file_lines++;
	if (!fs->converted_from) { /* (a converted capture counted its own bytes) */
		imp->stats->bytes += len + 1;
		imp->file_bytes += len + 1;
	}
	strbuf_reset(&imp->last_stream);
	bool as_log = fs->mode == FEED_LOG ||
		      (fs->mode == FEED_AUTO && !tap_record_detect(line, len < 4096 ? len : 4096));
	if (as_log) {
		log_line(imp, line, len);
		imp->last_kind = 0;
	} else {
		/* the record scanner copies the line when it lacks the padding it reads past the
		 * end */
		imp->last_kind = (int)process_line(imp, line, len, line + len, &imp->last_stream);
	}
	imp->offset += len + 1;
	feed_leave(imp, fs);
	return imp->last_kind;
}

int import_source_format(struct importer *imp, const char *source_name, const char *format)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs)
		return -1;
	if (!format || strcmp(format, "tap") == 0) {
		fs->mode = FEED_TAP;
		return 0;
	}
	if (strcmp(format, "auto") == 0) {
		fs->mode = FEED_AUTO;
		fs->log_parser = imp->opt->log_parser;
		fs->log_state = imp->opt->log_state;
		return 0;
	}
	const struct log_parser *lp = named_log_parser(imp, format, &fs->log_state);
	if (!lp)
		return -1;
	fs->mode = FEED_LOG;
	fs->log_parser = lp;
	return 0;
}

int import_source_parser(struct importer *imp, const char *source_name, const struct log_parser *lp,
			 void *state)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs || !lp)
		return -1;
	fs->mode = FEED_LOG;
	fs->log_parser = lp;
	fs->log_state = state;
	return 0;
}

long import_convert_capture(struct importer *imp, const char *source_name, const char *format,
			    const char *data, size_t len, struct strbuf *records)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs)
		return -1;
	feed_enter(imp, fs);
	imp->stats->bytes += len;
	imp->file_bytes += len;
	bool auto_fmt = !format || strcmp(format, "auto") == 0;
	bool har = (auto_fmt || strcmp(format, "har") == 0) && har_detect(data, len);
	bool envoy =
		!har && (auto_fmt || strcmp(format, "envoy") == 0) && envoy_tap_detect(data, len);
	long n = -1;
	char err[512] = "";
	if (!har && !envoy) {
		bad_line(imp,
			 auto_fmt ? "not a HAR 1.2 file or an Envoy HTTP tap trace"
			 : strcmp(format, "har") == 0 ? "not a HAR 1.2 file"
						      : "not an Envoy HTTP tap trace",
			 data, len, len);
		goto out;
	}
	if (len > imp->opt->max_capture) {
		bad_line(imp, "capture larger than max_capture", data, len, len);
		goto out;
	}
	if (!http_capture_identity(imp))
		goto out;
	char hex[65], stream[40];
	sha256_hex(data, len, hex);
	snprintf(stream, sizeof(stream), "%s-%.16s", har ? "har" : "envoy", hex);
	struct http_capture_ctx hc = {imp->fp_key, imp->tokens, imp->keys, stream};
	unsigned long bad = 0;
	n = har ? har_to_tap_records(&hc, data, len, records, &bad, err, sizeof(err))
		: envoy_tap_to_tap_records(&hc, data, len, records, &bad, err, sizeof(err));
	imp->converted_from = fs->converted_from = har ? "har" : "envoy_tap";
	if (n < 0) {
		bad_line(imp, err, data, len, len);
		goto out;
	}
	for (unsigned long i = 0; i < bad; i++)
		bad_line(imp, err[0] ? err : "unusable entry", "", 0, 0);
out:
	feed_leave(imp, fs);
	return n;
}

void import_source_error(struct importer *imp, const char *source_name, const char *reason,
			 const char *bytes, size_t len, uint64_t real_len)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs)
		return;
	feed_enter(imp, fs);
	bad_line(imp, reason, bytes, len, real_len);
	feed_leave(imp, fs);
}

const char *import_last_stream(const struct importer *imp, size_t *len)
{
	*len = imp->last_stream.len;
	return imp->last_stream.data ? imp->last_stream.data : "";
}

void import_feed_oversized(struct importer *imp, const char *prefix, size_t prefix_len,
			   uint64_t real_len, const char *source_name)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs)
		return;
	feed_enter(imp, fs);
	imp->line_no++;
	imp->stats->lines++;
	imp->file_lines++;
	imp->stats->bytes += real_len + 1;
	imp->file_bytes += real_len + 1;
	imp->stats->oversized_lines++;
	bad_line(imp, "line longer than the input's max_line", prefix,
		 prefix_len < DIGEST_PREFIX ? prefix_len : DIGEST_PREFIX, real_len);
	imp->offset += real_len + 1;
	feed_leave(imp, fs);
}

void import_source_seek(struct importer *imp, const char *source_name, uint64_t line_no,
			uint64_t offset)
{
	struct feed_source *fs = feed_source_get(imp, source_name);
	if (!fs)
		return;
	fs->line_no = line_no;
	fs->offset = offset;
}

void import_source_end(struct importer *imp, const char *source_name, bool readable)
{
	struct feed_source *fs =
		hashmap_remove(imp->feed_sources, source_name, strlen(source_name));
	if (!fs)
		return;
	feed_enter(imp, fs);
	file_summary(imp, readable);
	imp->name = NULL;
	feed_source_free(fs);
}

void importer_tick(struct importer *imp, int64_t wall_ns)
{
	correlator_tick(imp->correlator, wall_ns);
}

void importer_release_held(struct importer *imp)
{
	correlator_release_held(imp->correlator);
}

void importer_flush(struct importer *imp)
{
	flush_batch(imp);
}

static void importer_release(struct importer *imp)
{
	hashmap_free(imp->feed_sources, feed_source_free);
	free(imp);
}

int importer_finish(struct importer *imp)
{
	int rc = importer_close(imp, true);
	importer_release(imp);
	return rc;
}

void importer_free(struct importer *imp)
{
	if (!imp)
		return;
	importer_close(imp, false);
	importer_release(imp);
}
