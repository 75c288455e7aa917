/* Unit tests for parsers/http_capture: HAR files and Envoy tap traces turned into the tap records
 * `mcptrail tap-http` writes. Every output line is checked the way the importer reads it
 * (tap_record_parse), and their members with jansson. */
#include "parsers/http_capture.h"

#include "collector/jwt.h"
#include "collector/util.h"
#include "parsers/json_scan.h"
#include "parsers/tap_record.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* alg none, typ at+jwt: iss https://auth.example.com, sub alice, client_id mcp-inspector,
 * scope "mcp:tools mcp:read", jti har-test-token-1 (the fixture files carry the same token) */
#define TEST_JWT                                                                                   \
	"eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0."                                                 \
	"eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20iLCJzdWIiOiJhbGljZSIsImNsaWVudF9pZCI6Im1jcC1p" \
	"bnNwZWN0b3IiLCJzY29wZSI6Im1jcDp0b29scyBtY3A6cmVhZCIsImF1ZCI6Imh0dHBzOi8vbWNwLmV4YW1wbGUu" \
	"Y29tL21jcCIsImV4cCI6MTg5MzQ1NjAwMCwiaWF0IjoxNzY3MjI1NjAwLCJqdGkiOiJoYXItdGVzdC10b2tlbi0x" \
	"In0."
/* the token's signature-free middle part: must never appear either */
#define TEST_JWT_PAYLOAD_PREFIX "eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20i"

struct fixture {
	unsigned char key[32];
	struct token_cache *tokens;
	struct http_capture_ctx ctx;
	json_scanner *scanner;
	struct strbuf out;
	json_t *lines; /* the output, one JSON object per line */
	unsigned long bad;
	char err[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	memset(f->key, 0x5a, sizeof(f->key));
	f->tokens = token_cache_new(32);
	f->scanner = json_scanner_new();
	f->lines = json_array();
	f->ctx = (struct http_capture_ctx){f->key, f->tokens, NULL, "har-0123456789abcdef"};
	*state = f;
	return f->tokens && f->scanner && f->lines ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	token_cache_free(f->tokens);
	json_scanner_free(f->scanner);
	json_decref(f->lines);
	strbuf_free(&f->out);
	free(f);
	return 0;
}

static char *read_fixture(const char *name, size_t *len)
{
	/* tests/unit/test_http_capture.c → tests/data/captures/<name> */
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	int dir_len = slash ? (int)(slash - __FILE__) : 1;
	snprintf(path, sizeof(path), "%.*s/../data/captures/%s", dir_len, slash ? __FILE__ : ".",
		 name);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	struct strbuf b = STRBUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		assert_true(strbuf_append(&b, chunk, n));
	fclose(fp);
	*len = b.len;
	return b.data;
}

static bool has_kind(json_t *line, const char *kind)
{
	const char *k = json_string_value(json_object_get(line, "kind"));
	return k && strcmp(k, kind) == 0;
}

static enum tap_record_kind http_kind(const char *kind)
{
	static const struct {
		const char *name;
		enum tap_record_kind kind;
	} kinds[] = {{"http_request", TAP_RECORD_HTTP_REQUEST},
		     {"http_response", TAP_RECORD_HTTP_RESPONSE},
		     {"http_body", TAP_RECORD_HTTP_BODY},
		     {"sse_event", TAP_RECORD_SSE_EVENT},
		     {"http_end", TAP_RECORD_HTTP_END}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].name) == 0)
			return kinds[i].kind;
	fail_msg("unexpected record kind %s", kind);
	return TAP_RECORD_INVALID;
}

/* Every line: ends in "\n", is one JSON object, a tap record of our stream; start and end parse
 * with tap_record_parse; seq counts from 0; ts never goes back when monotone is asked. */
static void check_lines(struct fixture *f, bool monotone)
{
	json_array_clear(f->lines);
	assert_true(f->out.len > 0);
	assert_int_equal(f->out.data[f->out.len - 1], '\n');
	const char *p = f->out.data, *end = f->out.data + f->out.len;
	uint64_t next_seq = 0;
	int64_t last_ts = INT64_MIN;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		size_t len = (size_t)(nl - p);
		char *line = calloc(1, len + JSON_SCAN_PADDING);
		assert_non_null(line);
		memcpy(line, p, len);
		struct tap_record rec;
		enum tap_record_kind k =
			tap_record_parse(f->scanner, line, len, len + JSON_SCAN_PADDING, &rec);
		json_error_t je;
		json_t *j = json_loadb(line, len, 0, &je);
		if (!j)
			fail_msg("not JSON: %s: %.*s", je.text, (int)len, line);
		assert_true(json_is_object(j));
		assert_int_equal(json_integer_value(json_object_get(j, "mcptrail_tap")), 1);
		assert_string_equal(json_string_value(json_object_get(j, "stream")), f->ctx.stream);
		const char *kind = json_string_value(json_object_get(j, "kind"));
		assert_non_null(kind);
		if (strcmp(kind, "start") == 0) {
			assert_int_equal(k, TAP_RECORD_START);
			assert_int_equal(json_array_size(f->lines), 0);
		} else if (strcmp(kind, "end") == 0) {
			assert_int_equal(k, TAP_RECORD_END);
			assert_int_equal(rec.seq, next_seq);
		} else {
			if (k == TAP_RECORD_INVALID)
				fail_msg("tap_record_parse: %s: %.*s", rec.invalid_reason, (int)len,
					 line);
			assert_int_equal(k, http_kind(kind));
			assert_int_equal(rec.seq, next_seq);
			if (k == TAP_RECORD_HTTP_REQUEST || k == TAP_RECORD_HTTP_BODY ||
			    k == TAP_RECORD_SSE_EVENT)
				assert_true(rec.len == 0 || rec.msg.ptr || rec.b64.ptr);
			assert_int_equal(json_integer_value(json_object_get(j, "seq")), next_seq);
			next_seq++;
			assert_true(json_is_integer(json_object_get(j, "exchange")));
			const char *dir = json_string_value(json_object_get(j, "dir"));
			assert_non_null(dir);
			assert_string_equal(dir, strcmp(kind, "http_request") == 0 ? "c2s" : "s2c");
		}
		int64_t ts = json_integer_value(json_object_get(j, "ts"));
		if (monotone && strcmp(kind, "start") != 0) {
			assert_true(ts >= last_ts);
			last_ts = ts;
		}
		json_array_append_new(f->lines, j);
		free(line);
		p = nl + 1;
	}
	assert_true(has_kind(json_array_get(f->lines, 0), "start"));
	assert_true(has_kind(json_array_get(f->lines, json_array_size(f->lines) - 1), "end"));
}

/* the n-th line of kind for exchange (n from 0), or NULL */
static json_t *find(struct fixture *f, const char *kind, long exchange, size_t n)
{
	size_t i;
	json_t *j;
	json_array_foreach(f->lines, i, j)
	{
		if (!has_kind(j, kind))
			continue;
		if (exchange >= 0 && json_integer_value(json_object_get(j, "exchange")) != exchange)
			continue;
		if (n-- == 0)
			return j;
	}
	return NULL;
}

static size_t count(struct fixture *f, const char *kind)
{
	size_t i, n = 0;
	json_t *j;
	json_array_foreach(f->lines, i, j) n += has_kind(j, kind);
	return n;
}

static const char *str_at(json_t *obj, const char *path)
{
	/* "a.b.c" */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *cur = obj;
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
	     tok = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, tok);
	return json_string_value(cur);
}

static void assert_no_secret(struct fixture *f, const char *secret)
{
	struct strbuf z = STRBUF_INIT;
	strbuf_append(&z, f->out.data, f->out.len);
	if (memmem(z.data, z.len, secret, strlen(secret)))
		fail_msg("secret \"%s\" appears in the output", secret);
	strbuf_free(&z);
}

static void assert_no_authorization_header(struct fixture *f)
{
	size_t i;
	json_t *j;
	json_array_foreach(f->lines, i, j)
	{
		json_t *h = json_object_get(j, "headers");
		if (!h)
			continue;
		const char *name;
		json_t *v;
		json_object_foreach(h, name, v)
		{
			assert_true(strcmp(name, "authorization") != 0);
			for (const char *c = name; *c; c++)
				assert_false(*c >= 'A' && *c <= 'Z');
		}
	}
}

static long run_har(struct fixture *f, const char *data, size_t len)
{
	strbuf_reset(&f->out);
	return har_to_tap_records(&f->ctx, data, len, &f->out, &f->bad, f->err, sizeof(f->err));
}

static long run_envoy(struct fixture *f, const char *data, size_t len)
{
	strbuf_reset(&f->out);
	return envoy_tap_to_tap_records(&f->ctx, data, len, &f->out, &f->bad, f->err,
					sizeof(f->err));
}

/* ---- detection ---- */

static void test_detect(void **state)
{
	(void)state;
	size_t hl, bl, sl;
	char *har = read_fixture("mcp-session.har", &hl);
	char *buffered = read_fixture("envoy-buffered.json", &bl);
	char *streamed = read_fixture("envoy-streamed.jsonl", &sl);
	assert_true(har_detect(har, hl));
	assert_true(har_detect(har, 200)); /* a prefix is enough */
	assert_false(envoy_tap_detect(har, hl));
	assert_true(envoy_tap_detect(buffered, bl));
	assert_true(envoy_tap_detect(streamed, sl));
	assert_false(har_detect(buffered, bl));
	assert_false(har_detect(streamed, sl));

	const char *tap = "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"s\",\"ts\":1}\n";
	assert_false(har_detect(tap, strlen(tap)));
	assert_false(envoy_tap_detect(tap, strlen(tap)));
	const char *docker = "{\"log\":\"hello\\n\",\"stream\":\"stdout\"}\n";
	assert_false(har_detect(docker, strlen(docker)));
	const char *bom = "\xef\xbb\xbf  {\n \"log\" : {\"version\":\"1.2\"}}";
	assert_true(har_detect(bom, strlen(bom)));
	const char *camel = " [ {\"httpBufferedTrace\":{}} ]";
	assert_true(envoy_tap_detect(camel, strlen(camel)));
	const char *socket = "{\"socket_buffered_trace\":{}}";
	assert_false(envoy_tap_detect(socket, strlen(socket)));
	assert_false(har_detect("", 0));
	assert_false(envoy_tap_detect("", 0));
	assert_false(har_detect("{", 1));
	assert_false(envoy_tap_detect("[{\"http_buffered", 16));
	free(har);
	free(buffered);
	free(streamed);
}

/* ---- HAR ---- */

static void test_har_session(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *har = read_fixture("mcp-session.har", &len);
	assert_int_equal(run_har(f, har, len), 4);
	assert_int_equal(f->bad, 0);
	assert_string_equal(f->err, "");
	check_lines(f, false);
	assert_no_secret(f, TEST_JWT);
	assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
	assert_no_secret(f, "Bearer eyJ");
	assert_no_secret(f, "abc123secret");
	assert_no_secret(f, "xyz-secret");
	assert_no_authorization_header(f);

	json_t *start = json_array_get(f->lines, 0);
	assert_string_equal(str_at(start, "transport"), "http");
	assert_string_equal(str_at(start, "upstream"), "https://mcp.example.com");
	assert_true(json_is_true(json_object_get(start, "tls")));
	assert_string_equal(str_at(start, "imported_from"), "har");
	assert_string_equal(str_at(start, "creator"), "WebInspector 537.36");
	assert_int_equal(json_integer_value(json_object_get(start, "ts")),
			 1772355600000000000LL); /* 2026-03-01T09:00:00Z */

	/* 0: the 401 challenge, before the client had a token */
	json_t *r0 = find(f, "http_request", 0, 0);
	assert_non_null(r0);
	assert_true(json_is_null(json_object_get(r0, "auth")));
	assert_string_equal(str_at(r0, "method"), "POST");
	assert_string_equal(str_at(r0, "uri"), "/mcp");
	assert_string_equal(str_at(r0, "msg.method"), "initialize");
	json_t *s0 = find(f, "http_response", 0, 0);
	assert_int_equal(json_integer_value(json_object_get(s0, "status")), 401);
	assert_non_null(strstr(str_at(s0, "headers.www-authenticate"), "resource_metadata="));
	assert_null(find(f, "http_body", 0, 0));
	json_t *e0 = find(f, "http_end", 0, 0);
	assert_int_equal(json_integer_value(json_object_get(e0, "status")), 401);
	assert_int_equal(json_integer_value(json_object_get(e0, "ts")),
			 1772355600000000000LL + 12500000LL); /* start + time */
	assert_true(json_real_value(json_object_get(e0, "duration_ms")) == 12.5);

	/* 1: initialize with the bearer token; +01:00 offset in startedDateTime */
	json_t *r1 = find(f, "http_request", 1, 0);
	assert_int_equal(json_integer_value(json_object_get(r1, "ts")), 1772355605250000000LL);
	json_t *auth = json_object_get(r1, "auth");
	assert_true(json_is_object(auth));
	assert_string_equal(str_at(auth, "iss"), "https://auth.example.com");
	assert_string_equal(str_at(auth, "sub"), "alice");
	assert_string_equal(str_at(auth, "client_id"), "mcp-inspector");
	assert_string_equal(str_at(auth, "jti"), "har-test-token-1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(auth, "scopes"), 0)),
			    "mcp:tools");
	assert_int_equal(strncmp(str_at(auth, "fingerprint"), "tfp:", 4), 0);
	assert_int_equal(strncmp(str_at(r1, "headers.cookie"), "tfp:", 4), 0);
	json_t *s1 = find(f, "http_response", 1, 0);
	assert_string_equal(str_at(s1, "headers.mcp-session-id"), "sess-42");
	assert_int_equal(strncmp(str_at(s1, "headers.set-cookie"), "tfp:", 4), 0);
	json_t *b1 = find(f, "http_body", 1, 0);
	assert_non_null(b1);
	assert_string_equal(str_at(b1, "msg.result.serverInfo.name"), "demo");
	assert_int_equal(json_integer_value(json_object_get(b1, "len")), 141);

	/* 2: a notification answered 202 with no body */
	assert_int_equal(json_integer_value(json_object_get(find(f, "http_end", 2, 0), "status")),
			 202);
	assert_null(find(f, "http_body", 2, 0));

	/* 3: tools/call answered with an SSE stream of two events */
	assert_int_equal(count(f, "sse_event"), 2);
	json_t *ev1 = find(f, "sse_event", 3, 0), *ev2 = find(f, "sse_event", 3, 1);
	assert_string_equal(str_at(ev1, "event_id"), "ev-1");
	assert_string_equal(str_at(ev1, "event"), "message");
	assert_string_equal(str_at(ev1, "msg.method"), "notifications/progress");
	assert_string_equal(str_at(ev1, "msg.params.progressToken"), "p-1");
	assert_string_equal(str_at(ev2, "event_id"), "ev-2");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev2, "msg"), "id")), 2);
	json_t *result = json_object_get(json_object_get(ev2, "msg"), "result");
	assert_true(json_is_false(json_object_get(result, "isError")));
	assert_null(find(f, "http_body", 3, 0));
	json_t *end = json_array_get(f->lines, json_array_size(f->lines) - 1);
	assert_int_equal(json_integer_value(json_object_get(end, "seq")), 15);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(end, "frames"), "c2s")),
			 4);
	free(har);
}

/* Without a token cache the token is decoded for each request: same claims. */
static void test_har_without_token_cache(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *har = read_fixture("mcp-session.har", &len);
	f->ctx.tokens = NULL;
	assert_int_equal(run_har(f, har, len), 4);
	check_lines(f, false);
	assert_string_equal(str_at(find(f, "http_request", 3, 0), "auth.sub"), "alice");
	assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
	free(har);
}

static const char *const har_head = "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"t\","
				    "\"version\":\"1\"},\"entries\":[";

static void append_entry(struct strbuf *b, const char *started, const char *request,
			 const char *response)
{
	strbuf_printf(b, "{\"startedDateTime\":\"%s\",\"time\":5,\"request\":%s,\"response\":%s}",
		      started, request, response);
}

static void test_har_bad_entries_are_skipped(void **state)
{
	struct fixture *f = *state;
	const char *req =
		"{\"method\":\"POST\",\"url\":\"http://u:pw@h.example:8080/mcp?x=1#frag\","
		"\"headers\":[{\"name\":\"X-Api-Key\",\"value\":\"key-secret-1\"},"
		"{\"name\":\"Proxy-Authorization\",\"value\":\"Basic cHJveHk6c2VjcmV0\"},"
		"{\"name\":\"Authorization\",\"value\":\"Basic dXNlcjpwYXNzd29yZA==\"},"
		"{\"name\":5,\"value\":\"skipped header\"}],"
		"\"postData\":{\"mimeType\":\"application/json\","
		"\"text\":\"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":1,\\\"method\\\":"
		"\\\"ping\\\"}\"}}";
	const char *resp =
		"{\"status\":200,\"headers\":[],\"content\":{\"mimeType\":"
		"\"application/json\",\"text\":\"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":1,"
		"\\\"result\\\":{}}\"}}";
	/* an SSE stream in base64, with a retry field and an event without id */
	struct strbuf sse = STRBUF_INIT;
	const char *stream =
		"retry: 3000\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n\n"
		": keep-alive\n\nevent: note\ndata: not json\n\n";
	base64_encode_append(&sse, (const unsigned char *)stream, strlen(stream));
	struct strbuf sse_resp = STRBUF_INIT;
	strbuf_printf(&sse_resp,
		      "{\"status\":200,\"headers\":[{\"name\":\"content-type\",\"value\":"
		      "\"text/event-stream; charset=utf-8\"}],\"content\":{\"mimeType\":"
		      "\"text/event-stream\",\"encoding\":\"base64\",\"text\":\"%s\"}}",
		      sse.data);

	struct strbuf b = STRBUF_INIT;
	strbuf_append_str(&b, har_head);
	append_entry(&b, "2026-03-01T09:00:00Z", req, resp); /* good: exchange 0 */
	strbuf_append_str(&b, ",\"not an entry\"");	     /* bad 1 */
	strbuf_append_str(&b, ",{\"startedDateTime\":\"2026-03-01T09:00:01Z\",\"time\":1,"
			      "\"response\":{\"status\":200}}"); /* bad 2: no request */
	strbuf_append_str(&b, ",");
	append_entry(&b, "2026-03-01T09:00:02Z", "{\"method\":5,\"url\":\"http://h/\"}",
		     resp); /* bad 3: method type */
	strbuf_append_str(&b, ",");
	append_entry(&b, "2026-03-01T09:00:03Z", "{\"method\":\"GET\",\"url\":\"/relative\"}",
		     resp); /* bad 4: relative URL */
	strbuf_append_str(&b, ",");
	append_entry(&b, "2026-03-01T09:00:04Z", req,
		     "{\"status\":200,\"content\":{\"encoding\":\"base64\",\"text\":\"!!not "
		     "base64\"}}"); /* bad 5 */
	strbuf_append_str(&b, ",");
	append_entry(&b, "yesterday", req, resp); /* bad 6: date */
	strbuf_append_str(&b, ",");
	append_entry(&b, "2026-03-01T09:00:05Z", req, "{\"status\":\"200\"}"); /* bad 7 */
	strbuf_append_str(&b, ",");
	append_entry(&b, "2026-03-01T09:00:06.5Z", req, sse_resp.data); /* good: exchange 1 */
	strbuf_append_str(&b, ",");
	append_entry(&b, "2026-03-01T09:00:07Z", req,
		     "{\"status\":0,\"_error\":\"net::ERR_CONNECTION_REFUSED\"}"); /* good: 2 */
	strbuf_append_str(&b, "]}}");

	assert_int_equal(run_har(f, b.data, b.len), 3);
	assert_int_equal(f->bad, 7);
	assert_non_null(strstr(f->err, "entries[1]"));
	check_lines(f, true);
	assert_no_secret(f, "key-secret-1");
	assert_no_secret(f, "cHJveHk6c2VjcmV0");
	assert_no_secret(f, "dXNlcjpwYXNzd29yZA");
	assert_no_secret(f, "pw@");
	assert_no_authorization_header(f);

	json_t *start = json_array_get(f->lines, 0);
	assert_string_equal(str_at(start, "upstream"), "http://h.example:8080");
	assert_true(json_is_false(json_object_get(start, "tls")));
	json_t *r0 = find(f, "http_request", 0, 0);
	assert_string_equal(str_at(r0, "uri"), "/mcp?x=1");
	assert_string_equal(str_at(r0, "auth.error"), "undecodable"); /* Basic: not a token */
	assert_int_equal(strncmp(str_at(r0, "headers.x-api-key"), "tfp:", 4), 0);
	assert_int_equal(strncmp(str_at(r0, "headers.proxy-authorization"), "tfp:", 4), 0);
	assert_string_equal(str_at(r0, "msg.method"), "ping");

	/* exchange 1: base64 SSE, split into events; a non-JSON event is kept as b64 */
	json_t *ev0 = find(f, "sse_event", 1, 0), *ev1 = find(f, "sse_event", 1, 1);
	assert_non_null(ev0);
	assert_non_null(ev1);
	assert_null(find(f, "sse_event", 1, 2));
	assert_string_equal(str_at(ev0, "event_id"), "7");
	assert_int_equal(json_integer_value(json_object_get(ev0, "retry_ms")), 3000);
	assert_true(json_is_object(json_object_get(ev0, "msg")));
	assert_true(json_is_null(json_object_get(ev1, "event_id")));
	assert_string_equal(str_at(ev1, "event"), "note");
	assert_string_equal(str_at(ev1, "b64"), "bm90IGpzb24=");
	assert_int_equal(json_integer_value(json_object_get(find(f, "http_request", 1, 0), "ts")),
			 1772355606500000000LL);

	/* exchange 2: no response (status 0): request then an upstream_error end */
	assert_null(find(f, "http_response", 2, 0));
	json_t *e2 = find(f, "http_end", 2, 0);
	assert_string_equal(str_at(e2, "outcome"), "upstream_error");
	assert_string_equal(str_at(e2, "error"), "net::ERR_CONNECTION_REFUSED");
	strbuf_free(&b);
	strbuf_free(&sse);
	strbuf_free(&sse_resp);
}

/* A pretty-printed JSON body is one valid JSON value, but its line breaks would split the record
 * line: it is stored as b64. HTTP/2 pseudo-headers are left out, :authority becomes host. */
static void test_har_multiline_body_and_h2_headers(void **state)
{
	struct fixture *f = *state;
	struct strbuf b = STRBUF_INIT;
	strbuf_append_str(&b, har_head);
	append_entry(&b, "2026-03-01T09:00:00.123456789123Z",
		     "{\"method\":\"POST\",\"url\":\"https://h2.example/mcp\",\"headers\":["
		     "{\"name\":\":authority\",\"value\":\"h2.example\"},"
		     "{\"name\":\":method\",\"value\":\"POST\"},"
		     "{\"name\":\"content-type\",\"value\":\"application/json\"}],"
		     "\"postData\":{\"text\":\"{\\n  \\\"jsonrpc\\\": \\\"2.0\\\"\\n}\"}}",
		     "{\"status\":204}");
	strbuf_append_str(&b, "]}}");
	assert_int_equal(run_har(f, b.data, b.len), 1);
	check_lines(f, true);
	json_t *r = find(f, "http_request", 0, 0);
	assert_null(json_object_get(r, "msg"));
	assert_non_null(str_at(r, "b64"));
	assert_string_equal(str_at(r, "headers.host"), "h2.example");
	assert_null(json_object_get(json_object_get(r, "headers"), ":method"));
	assert_int_equal(json_integer_value(json_object_get(r, "ts")), 1772355600123456789LL);
	strbuf_free(&b);
}

static void test_har_unusable_input(void **state)
{
	struct fixture *f = *state;
	const char *cases[] = {"",
			       "not json",
			       "{\"log\":{}}",
			       "{\"log\":[]}",
			       "[1,2]",
			       "{\"log\":{\"entries\":{}}}"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->err[0] = '\0';
		assert_int_equal(run_har(f, cases[i], strlen(cases[i])), -1);
		assert_int_equal(f->out.len, 0); /* nothing appended */
		assert_true(strncmp(f->err, "HAR: ", 5) == 0);
	}
	/* no entries at all: a valid, empty stream */
	const char *empty = "{\"log\":{\"version\":\"1.2\",\"entries\":[]}}";
	assert_int_equal(run_har(f, empty, strlen(empty)), 0);
	check_lines(f, true);
	assert_int_equal(json_array_size(f->lines), 2);
	assert_true(json_is_null(json_object_get(json_array_get(f->lines, 0), "upstream")));
}

/* Every prefix of a real file, and bytes flipped in it: -1 or a count, never a crash, and when
 * there is output it is well-formed and has no token. */
static void test_har_truncated_and_garbled(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *har = read_fixture("mcp-session.har", &len);
	for (size_t cut = 0; cut < len; cut += 97) {
		long rc = run_har(f, har, cut);
		if (rc >= 0)
			check_lines(f, false);
		else
			assert_int_equal(f->out.len, 0);
	}
	char *copy = malloc(len);
	assert_non_null(copy);
	unsigned seed = 12345;
	for (int round = 0; round < 300; round++) {
		memcpy(copy, har, len);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % len] = (char)(seed >> 20);
		}
		long rc = run_har(f, copy, len);
		assert_true(rc >= -1 && rc <= 4);
		if (rc >= 0) {
			check_lines(f, false);
			assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
		}
	}
	free(copy);
	free(har);
}

/* ---- Envoy ---- */

static void test_envoy_buffered(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *data = read_fixture("envoy-buffered.json", &len);
	assert_int_equal(run_envoy(f, data, len), 1);
	assert_int_equal(f->bad, 0);
	check_lines(f, true);
	assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
	assert_no_secret(f, "k-123-secret");
	assert_no_authorization_header(f);
	json_t *start = json_array_get(f->lines, 0);
	assert_string_equal(str_at(start, "upstream"), "http://mcp.internal:8080");
	assert_string_equal(str_at(start, "imported_from"), "envoy_tap");
	assert_int_equal(json_integer_value(json_object_get(start, "ts")), 0);
	json_t *r = find(f, "http_request", 0, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "ts")), 0);
	assert_string_equal(str_at(r, "conn"), "10.0.0.7:53122");
	assert_string_equal(str_at(r, "method"), "POST");
	assert_string_equal(str_at(r, "uri"), "/mcp");
	assert_string_equal(str_at(r, "headers.host"), "mcp.internal:8080");
	assert_null(json_object_get(json_object_get(r, "headers"), ":path"));
	assert_string_equal(str_at(r, "auth.sub"), "alice");
	assert_string_equal(str_at(r, "msg.method"), "tools/list");
	json_t *s = find(f, "http_response", 0, 0);
	assert_int_equal(json_integer_value(json_object_get(s, "status")), 200);
	assert_null(json_object_get(json_object_get(s, "headers"), ":status"));
	json_t *body = json_object_get(find(f, "http_body", 0, 0), "msg");
	json_t *tools = json_object_get(json_object_get(body, "result"), "tools");
	assert_int_equal(json_array_size(tools), 1);
	assert_string_equal(str_at(json_array_get(tools, 0), "name"), "echo");
	assert_string_equal(str_at(find(f, "http_end", 0, 0), "outcome"), "complete");
	free(data);
}

static void test_envoy_streamed(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *data = read_fixture("envoy-streamed.jsonl", &len);
	assert_int_equal(run_envoy(f, data, len), 2);
	assert_int_equal(f->bad, 0);
	check_lines(f, true);
	assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
	/* trace 11 first (it appeared first): its body came in two chunks */
	json_t *r0 = find(f, "http_request", 0, 0);
	assert_string_equal(str_at(r0, "msg.method"), "tools/call");
	assert_string_equal(str_at(r0, "auth.jti"), "har-test-token-1");
	/* its SSE stream was cut mid-event between chunks: still two events */
	json_t *ev0 = find(f, "sse_event", 0, 0), *ev1 = find(f, "sse_event", 0, 1);
	assert_string_equal(str_at(ev0, "event_id"), "1");
	assert_string_equal(str_at(ev0, "msg.method"), "notifications/progress");
	assert_string_equal(str_at(ev1, "event_id"), "2");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev1, "msg"), "id")), 2);
	assert_null(find(f, "sse_event", 0, 2));
	/* trace 12 */
	assert_string_equal(str_at(find(f, "http_request", 1, 0), "msg.method"), "tools/list");
	assert_true(json_is_null(json_object_get(find(f, "http_request", 1, 0), "auth")));
	assert_non_null(find(f, "http_body", 1, 0));
	free(data);
}

/* proto3 JSON's lowerCamelCase names, a JSON array, raw_value headers, as_string bodies, the
 * truncated flag and headers_received_time */
static void test_envoy_camel_case_array(void **state)
{
	struct fixture *f = *state;
	struct strbuf raw = STRBUF_INIT;
	base64_encode_append(&raw, (const unsigned char *)"Bearer " TEST_JWT,
			     strlen("Bearer " TEST_JWT));
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(
		&b,
		"[{\"httpBufferedTrace\":{\"request\":{\"headers\":["
		"{\"key\":\":method\",\"value\":\"POST\"},{\"key\":\":path\",\"value\":\"/a\"},"
		"{\"key\":\":authority\",\"value\":\"svc\"},{\"key\":\":scheme\",\"value\":"
		"\"https\"},"
		"{\"key\":\"Authorization\",\"rawValue\":\"%s\"}],"
		"\"body\":{\"asString\":\"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":1,\\\"method\\\":"
		"\\\"ping\\\"}\"},"
		"\"headersReceivedTime\":\"2026-03-01T09:00:00.5Z\"},"
		"\"response\":{\"headers\":[{\"key\":\":status\",\"value\":\"200\"}],"
		"\"body\":{\"asBytes\":\"eyJqc29ucnBjIjoiMi4wIiwi\",\"truncated\":true},"
		"\"headersReceivedTime\":{\"seconds\":\"1772355600\",\"nanos\":700000000}}}},\n"
		" {\"httpBufferedTrace\":{\"request\":{\"headers\":["
		"{\"key\":\":method\",\"value\":\"GET\"},{\"key\":\":path\",\"value\":\"/b\"}]}}}]",
		raw.data);
	assert_int_equal(run_envoy(f, b.data, b.len), 2);
	assert_int_equal(f->bad, 0);
	check_lines(f, true);
	assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
	assert_no_secret(f, raw.data);
	assert_string_equal(str_at(json_array_get(f->lines, 0), "upstream"), "https://svc");
	json_t *r0 = find(f, "http_request", 0, 0);
	assert_string_equal(str_at(r0, "auth.sub"), "alice");
	assert_string_equal(str_at(r0, "msg.method"), "ping");
	assert_int_equal(json_integer_value(json_object_get(r0, "ts")), 1772355600500000000LL);
	json_t *s0 = find(f, "http_response", 0, 0);
	assert_int_equal(json_integer_value(json_object_get(s0, "ts")), 1772355600700000000LL);
	json_t *body = find(f, "http_body", 0, 0);
	assert_true(json_is_true(json_object_get(body, "truncated")));
	assert_non_null(str_at(body, "b64"));
	/* the second trace has no response: request, then an upstream_error end; the synthetic
	 * clock keeps going forward from the real times */
	assert_null(find(f, "http_response", 1, 0));
	json_t *e1 = find(f, "http_end", 1, 0);
	assert_string_equal(str_at(e1, "outcome"), "upstream_error");
	assert_true(json_integer_value(json_object_get(e1, "ts")) > 1772355600700000000LL);
	strbuf_free(&raw);
	strbuf_free(&b);
}

static void test_envoy_bad_traces_are_skipped(void **state)
{
	struct fixture *f = *state;
	const char *input =
		/* good */
		"{\"http_buffered_trace\":{\"request\":{\"headers\":[{\"key\":\":method\","
		"\"value\":"
		"\"POST\"},{\"key\":\":path\",\"value\":\"/mcp\"}]},\"response\":{\"headers\":[{"
		"\"key\":\":status\",\"value\":\"202\"}]}}}\n"
		/* bad: invalid base64 body */
		"{\"http_buffered_trace\":{\"request\":{\"headers\":[{\"key\":\":method\","
		"\"value\":"
		"\"POST\"},{\"key\":\":path\",\"value\":\"/"
		"mcp\"}],\"body\":{\"as_bytes\":\"@@@\"}}}}\n"
		/* bad: no :method */
		"{\"http_buffered_trace\":{\"request\":{\"headers\":[{\"key\":\":path\",\"value\":"
		"\"/mcp\"}]}}}\n"
		/* bad: request is not an object */
		"{\"http_buffered_trace\":{\"request\":[]}}\n"
		/* bad: a line that is not JSON */
		"{\"http_buffered_trace\": garbage\n"
		/* bad: not an HTTP trace */
		"{\"socket_buffered_trace\":{}}\n"
		/* bad: a streamed trace with a body but no request headers */
		"{\"http_streamed_trace_segment\":{\"trace_id\":\"99\",\"response_body_chunk\":{"
		"\"as_string\":\"x\"}}}\n"
		/* bad: a :status that is not a number */
		"{\"http_buffered_trace\":{\"request\":{\"headers\":[{\"key\":\":method\","
		"\"value\":"
		"\"GET\"},{\"key\":\":path\",\"value\":\"/"
		"\"}]},\"response\":{\"headers\":[{\"key\":"
		"\":status\",\"value\":\"2x\"}]}}}\n"
		/* good: streamed, numeric trace_id, response without body */
		"{\"http_streamed_trace_segment\":{\"trace_id\":5,\"request_headers\":{\"headers\":"
		"[{"
		"\"key\":\":method\",\"value\":\"DELETE\"},{\"key\":\":path\",\"value\":\"/"
		"mcp\"}]}}}\n"
		"{\"http_streamed_trace_segment\":{\"trace_id\":5,\"response_headers\":{"
		"\"headers\":[{"
		"\"key\":\":status\",\"value\":\"200\"}]}}}\n"
		/* truncated last line */
		"{\"http_streamed_trace_segment\":{\"trace_id\":6,\"requ";
	assert_int_equal(run_envoy(f, input, strlen(input)), 2);
	assert_int_equal(f->bad, 8);
	assert_true(strncmp(f->err, "Envoy tap: ", 11) == 0);
	check_lines(f, true);
	assert_string_equal(str_at(find(f, "http_request", 1, 0), "method"), "DELETE");
	assert_int_equal(json_integer_value(json_object_get(find(f, "http_end", 0, 0), "status")),
			 202);
}

static void test_envoy_unusable_input(void **state)
{
	struct fixture *f = *state;
	const char *cases[] = {"",	  "   \n",
			       "garbage", "{\"socket_buffered_trace\":{}}",
			       "[1,2,3]", "{\"http_buffered_trace\":"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run_envoy(f, cases[i], strlen(cases[i])), -1);
		assert_int_equal(f->out.len, 0);
		assert_true(strncmp(f->err, "Envoy tap: ", 11) == 0);
	}
}

static void test_envoy_truncated_and_garbled(void **state)
{
	struct fixture *f = *state;
	const char *names[] = {"envoy-buffered.json", "envoy-streamed.jsonl"};
	for (size_t n = 0; n < 2; n++) {
		size_t len;
		char *data = read_fixture(names[n], &len);
		for (size_t cut = 0; cut < len; cut += 31) {
			long rc = run_envoy(f, data, cut);
			assert_true(rc >= -1 && rc <= 2);
			if (rc >= 0)
				check_lines(f, true);
			else
				assert_int_equal(f->out.len, 0);
		}
		char *copy = malloc(len);
		assert_non_null(copy);
		unsigned seed = 777 + (unsigned)n;
		for (int round = 0; round < 300; round++) {
			memcpy(copy, data, len);
			for (int k = 0; k < 3; k++) {
				seed = seed * 1103515245u + 12345u;
				copy[(seed >> 8) % len] = (char)(seed >> 20);
			}
			long rc = run_envoy(f, copy, len);
			assert_true(rc >= -1 && rc <= 2);
			if (rc >= 0) {
				check_lines(f, true);
				assert_no_secret(f, TEST_JWT_PAYLOAD_PREFIX);
			}
		}
		free(copy);
		free(data);
	}
}

static void test_missing_arguments(void **state)
{
	struct fixture *f = *state;
	struct http_capture_ctx no_key = {NULL, NULL, NULL, "s"};
	char err[128];
	unsigned long bad = 99;
	assert_int_equal(har_to_tap_records(&no_key, "{}", 2, &f->out, &bad, err, sizeof(err)), -1);
	assert_int_equal(bad, 0);
	assert_int_equal(
		envoy_tap_to_tap_records(&no_key, "{}", 2, &f->out, NULL, err, sizeof(err)), -1);
	assert_int_equal(f->out.len, 0);
	/* bad may be NULL and err may be NULL */
	const char *empty = "{\"log\":{\"entries\":[1]}}";
	assert_int_equal(har_to_tap_records(&f->ctx, empty, strlen(empty), &f->out, NULL, NULL, 0),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test_setup_teardown(test_har_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_har_without_token_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_har_bad_entries_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_har_multiline_body_and_h2_headers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_har_unusable_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_har_truncated_and_garbled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envoy_buffered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envoy_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envoy_camel_case_array, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envoy_bad_traces_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envoy_unusable_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envoy_truncated_and_garbled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
