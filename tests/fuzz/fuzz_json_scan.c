/* fuzz_json_scan: json_scanner_scan and json_scanner_validate on arbitrary bytes.
 *
 * Each input is scanned twice: from an exact-size heap copy with capacity == len (the scanner must
 * make its own padded copy; ASan catches any read past the end) and in place from a padded buffer
 * (the importer's path). Checks: both give the same verdict; invalid_reason is set exactly when the
 * frame is invalid; every span is readable; raw spans (params, result, arguments, task, numeric
 * ids) lie inside the frame and, when they are containers, are themselves one valid JSON value;
 * a frame the scanner accepts also passes json_scanner_validate (what the tap checks); nothing
 * nested deeper than JSON_SCAN_MAX_DEPTH is accepted by either.
 */
#include "parsers/json_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_scanner *scanner;
static volatile unsigned char sink;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_json_scan: invariant violated: %s\n", what);
	abort();
}

static void touch(struct json_span s)
{
	if (!s.ptr) {
		if (s.len)
			fail("span with NULL ptr and non-zero len");
		return;
	}
	unsigned char x = 0;
	for (size_t i = 0; i < s.len; i++)
		x ^= (unsigned char)s.ptr[i];
	sink ^= x;
}

static void touch_id(struct json_id id)
{
	if (id.kind == JSON_ID_NUMBER || id.kind == JSON_ID_STRING)
		touch(id.text);
}

static void touch_all(const struct json_scan *s)
{
	if ((s->kind == JSON_MSG_INVALID) != (s->invalid_reason != NULL))
		fail("invalid_reason set iff kind == JSON_MSG_INVALID");
	if (s->invalid_reason)
		sink ^= (unsigned char)strlen(s->invalid_reason);
	touch_id(s->id);
	touch(s->method);
	touch(s->params);
	touch(s->params_name);
	touch(s->params_uri);
	touch(s->arguments);
	touch(s->params_task);
	touch(s->params_task_id);
	touch(s->params_status);
	touch_id(s->params_request_id);
	touch_id(s->params_progress_token);
	touch(s->params_mode);
	touch(s->params_elicitation_id);
	touch_id(s->meta_progress_token);
	touch(s->related_task_id);
	touch(s->traceparent);
	touch(s->result);
	touch(s->result_task_id);
	touch(s->result_task_status);
	touch(s->result_status);
	touch(s->result_task_id_top);
	touch(s->result_action);
	touch(s->error_message);
}

static void inside(struct json_span s, const char *buf, size_t len, const char *what)
{
	if (!s.ptr)
		return;
	if (s.ptr < buf || s.ptr > buf + len || s.len > (size_t)(buf + len - s.ptr)) {
		fprintf(stderr, "fuzz_json_scan: %s span outside the frame\n", what);
		abort();
	}
	if (s.len == 0) {
		fprintf(stderr, "fuzz_json_scan: %s span is empty\n", what);
		abort();
	}
}

/* Deepest container nesting of a (valid) JSON text; strings are skipped. */
static size_t max_depth(const char *p, size_t n)
{
	size_t depth = 0, max = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '"') {
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!scanner && !(scanner = json_scanner_new()))
		abort();
	char *exact = malloc(size ? size : 1);
	char *padded = malloc(size + JSON_SCAN_PADDING);
	if (!exact || !padded)
		abort();
	if (size)
		memcpy(exact, data, size);
	if (size)
		memcpy(padded, data, size);
	memset(padded + size, 0, JSON_SCAN_PADDING);

	struct json_scan a, b;
	enum json_msg_kind ka = json_scanner_scan(scanner, exact, size, size, &a);
	if (ka != a.kind)
		fail("return value == out->kind (copy)");
	touch_all(&a);

	enum json_msg_kind kb =
		json_scanner_scan(scanner, padded, size, size + JSON_SCAN_PADDING, &b);
	if (kb != b.kind)
		fail("return value == out->kind (in place)");
	touch_all(&b);
	if (ka != kb)
		fail("same kind with and without a copy");

	struct json_span raw[4] = {{NULL, 0}, {NULL, 0}, {NULL, 0}, {NULL, 0}};
	if (kb != JSON_MSG_INVALID) {
		if (kb == JSON_MSG_REQUEST || kb == JSON_MSG_NOTIFICATION) {
			if (!b.method.ptr)
				fail("request/notification without method");
		}
		if ((kb == JSON_MSG_REQUEST || kb == JSON_MSG_RESULT) &&
		    (b.id.kind != JSON_ID_NUMBER && b.id.kind != JSON_ID_STRING))
			fail("request/result id is a number or a string");
		if (kb == JSON_MSG_ERROR && !b.has_error_code)
			fail("error without code");
		inside(b.params, padded, size, "params");
		inside(b.result, padded, size, "result");
		inside(b.arguments, padded, size, "arguments");
		inside(b.params_task, padded, size, "params.task");
		if (b.id.kind == JSON_ID_NUMBER)
			inside(b.id.text, padded, size, "numeric id");
		raw[0] = b.params;
		raw[1] = b.result;
		raw[2] = b.arguments;
		raw[3] = b.params_task;
	}

	const char *va = json_scanner_validate(scanner, exact, size, size);
	const char *vb = json_scanner_validate(scanner, padded, size, size + JSON_SCAN_PADDING);
	if ((va == NULL) != (vb == NULL))
		fail("validate gives the same verdict with and without a copy");
	if ((kb != JSON_MSG_INVALID || vb == NULL) && max_depth(padded, size) > JSON_SCAN_MAX_DEPTH)
		fail("a document nested deeper than JSON_SCAN_MAX_DEPTH is rejected");
	if (kb != JSON_MSG_INVALID && vb != NULL) {
		fprintf(stderr, "fuzz_json_scan: scan accepted a frame validate rejects (%s)\n",
			vb);
		abort();
	}
	/* raw spans of containers must be exactly one valid JSON value (bracket matching) */
	for (int i = 0; i < 4; i++) {
		if (!raw[i].ptr || (raw[i].ptr[0] != '{' && raw[i].ptr[0] != '['))
			continue;
		const char *limit = padded + size + JSON_SCAN_PADDING;
		const char *why = json_scanner_validate(scanner, raw[i].ptr, raw[i].len,
							(size_t)(limit - raw[i].ptr));
		if (why) {
			fprintf(stderr,
				"fuzz_json_scan: raw span %d (%.*s) is not one JSON value: %s\n", i,
				(int)(raw[i].len > 200 ? 200 : raw[i].len), raw[i].ptr, why);
			abort();
		}
	}
	free(exact);
	free(padded);
	return 0;
}
