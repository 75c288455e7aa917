/* fuzz_http_capture: the HAR and Envoy tap importers (parsers/http_capture) on arbitrary bytes.
 *
 * Both detectors and both converters run on every input, from an exact-size copy (no padding, no
 * NUL: an over-read is caught by ASan). Checks: -1 appends nothing; otherwise the output is JSON
 * lines, each a tap record object of the given stream, starting with a start record and ending
 * with an end record that tap_record_parse accepts; seq counts from 0; one http_request per
 * exchange returned; no headers object carries an Authorization header or an upper-case name;
 * Envoy timestamps never go back.
 * Seeds: tests/data/captures/ (copy them into tests/fuzz/corpus/fuzz_http_capture/).
 */
#include "collector/jwt.h"
#include "collector/util.h"
#include "parsers/http_capture.h"
#include "parsers/json_scan.h"
#include "parsers/tap_record.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char stream_id[] = "fuzz-stream";
static unsigned char fp_key[32];
static struct token_cache *tokens;
static json_scanner *scanner;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_http_capture: invariant violated: %s\n", what);
	abort();
}

static void check_headers(json_t *line)
{
	json_t *h = json_object_get(line, "headers");
	if (!h)
		return;
	if (!json_is_object(h))
		fail("headers is an object");
	const char *name;
	json_t *v;
	json_object_foreach(h, name, v)
	{
		if (strcmp(name, "authorization") == 0)
			fail("no authorization header in the output");
		for (const char *c = name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				fail("header names are lower-case");
		if (!json_is_string(v))
			fail("header values are strings");
	}
}

static void check_output(const struct strbuf *out, long rc, bool monotone)
{
	if (rc < -1)
		fail("rc >= -1");
	if (rc == -1) {
		if (out->len != 0)
			fail("nothing appended on -1");
		return;
	}
	if (out->len == 0 || out->data[out->len - 1] != '\n')
		fail("output ends with a newline");
	const char *p = out->data, *end = out->data + out->len;
	uint64_t seq = 0, requests = 0, lines = 0;
	int64_t last_ts = INT64_MIN;
	bool saw_end = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p);
		if (saw_end)
			fail("nothing after the end record");
		json_t *j = json_loadb(p, len, 0, NULL);
		if (!json_is_object(j))
			fail("every line is a JSON object");
		if (json_integer_value(json_object_get(j, "mcptrail_tap")) != 1)
			fail("mcptrail_tap is 1");
		const char *s = json_string_value(json_object_get(j, "stream"));
		if (!s || strcmp(s, stream_id) != 0)
			fail("stream is the given one");
		const char *kind = json_string_value(json_object_get(j, "kind"));
		if (!kind)
			fail("kind is a string");
		bool is_start = strcmp(kind, "start") == 0, is_end = strcmp(kind, "end") == 0;
		if (is_start != (lines == 0))
			fail("the start record comes first, once");
		if (is_start || is_end) {
			char *copy = calloc(1, len + JSON_SCAN_PADDING);
			if (!copy)
				abort();
			memcpy(copy, p, len);
			struct tap_record rec;
			enum tap_record_kind k =
				tap_record_parse(scanner, copy, len, len + JSON_SCAN_PADDING, &rec);
			if (k != (is_start ? TAP_RECORD_START : TAP_RECORD_END))
				fail("start and end records parse with tap_record_parse");
			if (is_end && rec.seq != seq)
				fail("the end record's seq follows the last record");
			free(copy);
			saw_end = is_end;
		} else {
			if ((uint64_t)json_integer_value(json_object_get(j, "seq")) != seq++)
				fail("seq counts from 0 without holes");
			requests += strcmp(kind, "http_request") == 0;
			check_headers(j);
			int64_t ts = json_integer_value(json_object_get(j, "ts"));
			if (monotone && ts < last_ts)
				fail("Envoy timestamps never go back");
			last_ts = ts;
		}
		json_decref(j);
		lines++;
		p = nl + 1;
	}
	if (!saw_end)
		fail("the end record comes last");
	if (requests != (uint64_t)rc)
		fail("one http_request per exchange");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tokens) {
		memset(fp_key, 0x42, sizeof(fp_key));
		tokens = token_cache_new(64);
		scanner = json_scanner_new();
		if (!tokens || !scanner)
			abort();
	}
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)har_detect(copy, size);
	(void)envoy_tap_detect(copy, size);

	struct http_capture_ctx ctx = {fp_key, size % 2 ? tokens : NULL, NULL, stream_id};
	struct strbuf out = STRBUF_INIT;
	unsigned long bad = 0;
	char err[256];
	long rc = har_to_tap_records(&ctx, copy, size, &out, &bad, err, sizeof(err));
	check_output(&out, rc, false);
	if (rc == -1 && err[0] == '\0')
		fail("err is set on -1");
	strbuf_free(&out);
	rc = envoy_tap_to_tap_records(&ctx, copy, size, &out, &bad, err, sizeof(err));
	check_output(&out, rc, true);
	if (rc == -1 && err[0] == '\0')
		fail("err is set on -1");
	strbuf_free(&out);
	free(copy);
	return 0;
}
