/* Unit tests for parsers/tap_record: the JSON-lines format `mcptrail tap` writes and
 * `mcptrail import` reads back. */
#include "parsers/tap_record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct fixture {
	json_scanner *scanner;
	char *line;
	struct tap_record rec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->scanner = json_scanner_new();
	if (!f->scanner) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	json_scanner_free(f->scanner);
	free(f->line);
	free(f);
	return 0;
}

static enum tap_record_kind parse(struct fixture *f, const char *text)
{
	size_t len = strlen(text);
	free(f->line);
	f->line = calloc(1, len + JSON_SCAN_PADDING);
	assert_non_null(f->line);
	memcpy(f->line, text, len);
	return tap_record_parse(f->scanner, f->line, len, len + JSON_SCAN_PADDING, &f->rec);
}

static void assert_span_eq(struct json_span sp, const char *expected)
{
	assert_non_null(sp.ptr);
	char *got = strndup(sp.ptr, sp.len);
	assert_string_equal(got, expected);
	free(got);
}

#define assert_invalid(f, text)                                                                    \
	do {                                                                                       \
		assert_int_equal(parse(f, text), TAP_RECORD_INVALID);                              \
		assert_int_equal((f)->rec.kind, TAP_RECORD_INVALID);                               \
		assert_non_null((f)->rec.invalid_reason);                                          \
	} while (0)

static void test_start_record(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(
		parse(f, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"stdio-0a1b\",\"ts\":"
			 "1795773600000000000,\"time\":\"2026-11-27T10:00:00.000000000Z\","
			 "\"transport\":\"stdio\",\"identity\":{\"subject\":\"alice\",\"source\":"
			 "\"os_user\"},\"host\":\"ws1\",\"tap_pid\":10,\"server_pid\":11,"
			 "\"argv\":[\"node\",\"server.js\",\"--token\",\"***\"]}"),
		TAP_RECORD_START);
	assert_null(f->rec.invalid_reason);
	assert_span_eq(f->rec.stream, "stdio-0a1b");
	assert_int_equal(f->rec.ts_ns, 1795773600000000000LL);
	assert_int_equal(f->rec.dir, -1);
	assert_null(f->rec.msg.ptr);
	assert_null(f->rec.b64.ptr);
}

static void test_frame_record_with_msg(void **state)
{
	struct fixture *f = *state;
	const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			  "\"name\":\"x\",\"arguments\":{\"s\":\"}\\\"{\",\"n\":[1,{}]}}}";
	char line[512];
	snprintf(line, sizeof(line),
		 "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s1\",\"seq\":3,\"ts\":42,"
		 "\"dir\":\"c2s\",\"len\":%zu,\"msg\":%s}",
		 strlen(msg), msg);
	assert_int_equal(parse(f, line), TAP_RECORD_FRAME);
	assert_span_eq(f->rec.stream, "s1");
	assert_int_equal(f->rec.seq, 3);
	assert_int_equal(f->rec.ts_ns, 42);
	assert_int_equal(f->rec.dir, 0);
	assert_int_equal(f->rec.len, strlen(msg));
	assert_false(f->rec.crlf);
	assert_false(f->rec.truncated);
	assert_false(f->rec.partial);
	assert_span_eq(f->rec.msg, msg);
	/* the span points into the line itself, so the importer can scan it in place */
	assert_ptr_equal(f->rec.msg.ptr, strstr(f->line, msg));
	assert_null(f->rec.b64.ptr);

	/* msg may be followed by other members; s2c; crlf flag */
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s1\","
				  "\"dir\":\"s2c\",\"msg\":{\"jsonrpc\":\"2.0\",\"id\":\"a\","
				  "\"result\":{\"k\":[\"]\"]}},\"crlf\":true,\"seq\":4}"),
			 TAP_RECORD_FRAME);
	assert_int_equal(f->rec.dir, 1);
	assert_true(f->rec.crlf);
	assert_int_equal(f->rec.seq, 4);
	assert_span_eq(f->rec.msg, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{\"k\":[\"]\"]}}");
}

static void test_frame_msg_of_any_json_type(void **state)
{
	struct fixture *f = *state;
	/* the tap stores any single valid JSON value verbatim (a batch, a stray scalar) */
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":"
				  "\"c2s\",\"msg\":[1,{\"b\":\"]\"}]}"),
			 TAP_RECORD_FRAME);
	assert_span_eq(f->rec.msg, "[1,{\"b\":\"]\"}]");
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":"
				  "\"c2s\",\"msg\":\"a\\\"b\"}"),
			 TAP_RECORD_FRAME);
	assert_span_eq(f->rec.msg, "\"a\\\"b\"");
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":"
				  "\"c2s\",\"msg\":-4.5e1}"),
			 TAP_RECORD_FRAME);
	assert_span_eq(f->rec.msg, "-4.5e1");
}

static void test_frame_msg_span_excludes_whitespace(void **state)
{
	/* Regression test (was a bug, now fixed): parsers/json_scan.cpp tap_record_parse(): for an
	 * object or array "msg", the span length is taken from raw_json(), which includes the
	 * whitespace after the value. For
	 * ..."msg": {"a":[1, 2]}  ,"crlf":true} the span is `{"a":[1, 2]}  ` (expected exactly
	 * `{"a":[1, 2]}`, as for scalars). The tap itself writes no such whitespace, but a
	 * reformatted or hand-written capture gets a wrong frame digest and length. */
	struct fixture *f = *state;
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":"
				  "\"s2c\",\"msg\": {\"a\":[1, 2]}  ,\"crlf\":true}"),
			 TAP_RECORD_FRAME);
	assert_span_eq(f->rec.msg, "{\"a\":[1, 2]}");
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":"
				  "\"s2c\",\"msg\":[1] }"),
			 TAP_RECORD_FRAME);
	assert_span_eq(f->rec.msg, "[1]");
}

static void test_frame_record_with_b64(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(parse(f,
			       "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s1\",\"seq\":"
			       "9,\"ts\":5,\"dir\":\"s2c\",\"len\":5000,\"truncated\":true,"
			       "\"b64\":\"eyJqc29ucnBj\"}"),
			 TAP_RECORD_FRAME);
	assert_int_equal(f->rec.dir, 1);
	assert_int_equal(f->rec.len, 5000);
	assert_true(f->rec.truncated);
	assert_false(f->rec.partial);
	assert_false(f->rec.crlf);
	assert_span_eq(f->rec.b64, "eyJqc29ucnBj");
	assert_null(f->rec.msg.ptr);

	assert_int_equal(parse(f,
			       "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s1\",\"dir\":"
			       "\"c2s\",\"len\":3,\"partial\":true,\"crlf\":false,\"b64\":"
			       "\"AAEC\"}"),
			 TAP_RECORD_FRAME);
	assert_true(f->rec.partial);
	assert_false(f->rec.truncated);
	assert_span_eq(f->rec.b64, "AAEC");
}

static void test_gap_record(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(parse(f,
			       "{\"mcptrail_tap\":1,\"kind\":\"gap\",\"stream\":\"s1\",\"seq\":7,"
			       "\"ts\":99,\"dir\":\"s2c\",\"frames\":12,\"bytes\":34567}"),
			 TAP_RECORD_GAP);
	assert_int_equal(f->rec.seq, 7);
	assert_int_equal(f->rec.dir, 1);
	assert_int_equal(f->rec.gap_frames, 12);
	assert_int_equal(f->rec.gap_bytes, 34567);
}

static void test_gap_record_member_order(void **state)
{
	/* Regression test (was a bug, now fixed): parsers/json_scan.cpp tap_record_parse():
	 * "frames" is read only when "kind":"gap" came earlier in the line (`key == "frames" &&
	 * kind == "gap"`). For
	 * {"frames":12,"mcptrail_tap":1,"kind":"gap",...} gap_frames is 0 (expected 12): JSON
	 * member order must not change the meaning of a record. */
	struct fixture *f = *state;
	assert_int_equal(parse(f, "{\"frames\":12,\"bytes\":34,\"mcptrail_tap\":1,\"kind\":\"gap\","
				  "\"stream\":\"s1\",\"dir\":\"c2s\"}"),
			 TAP_RECORD_GAP);
	assert_int_equal(f->rec.gap_frames, 12);
	assert_int_equal(f->rec.gap_bytes, 34);
}

static void test_end_record(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"end\",\"stream\":\"s1\",\"seq\":"
				  "20,\"ts\":1000,\"exit_status\":3,\"frames\":{\"c2s\":10,\"s2c\":"
				  "9},\"gaps\":1,\"dropped_frames\":2,\"dropped_bytes\":300,"
				  "\"write_errors\":0}"),
			 TAP_RECORD_END);
	assert_int_equal(f->rec.seq, 20);
	assert_true(f->rec.has_exit_status);
	assert_int_equal(f->rec.exit_status, 3);
	assert_int_equal(f->rec.term_signal, 0);

	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"end\",\"stream\":\"s1\",\"seq\":"
				  "2,\"ts\":1000,\"signal\":9,\"frames\":{\"c2s\":0,\"s2c\":0}}"),
			 TAP_RECORD_END);
	assert_false(f->rec.has_exit_status);
	assert_int_equal(f->rec.term_signal, 9);
}

static void test_invalid_records(void **state)
{
	struct fixture *f = *state;
	assert_invalid(f, "not json");
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"s\"");
	assert_invalid(f, "[{\"mcptrail_tap\":1}]");
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"s\"} extra");
	/* missing or empty stream */
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"ts\":1}");
	assert_non_null(strstr(f->rec.invalid_reason, "stream"));
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"\"}");
	/* a frame without its bytes, or without a direction */
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":\"c2s\","
			  "\"len\":3}");
	assert_non_null(strstr(f->rec.invalid_reason, "msg"));
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"msg\":{}}");
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":\"up\","
			  "\"msg\":{}}");
	/* the format version */
	assert_invalid(f, "{\"mcptrail_tap\":2,\"kind\":\"start\",\"stream\":\"s\"}");
	assert_non_null(strstr(f->rec.invalid_reason, "mcptrail_tap"));
	assert_invalid(f, "{\"kind\":\"start\",\"stream\":\"s\"}");
	assert_invalid(f, "{\"mcptrail_tap\":\"1\",\"kind\":\"start\",\"stream\":\"s\"}");
	/* the kind */
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"bogus\",\"stream\":\"s\"}");
	assert_non_null(strstr(f->rec.invalid_reason, "kind"));
	assert_invalid(f, "{\"mcptrail_tap\":1,\"stream\":\"s\"}");
	/* malformed JSON inside the embedded message */
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":\"c2s\","
			  "\"msg\":{\"a\":[1,}}");
	/* wrong types */
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":\"c2s\","
			  "\"seq\":\"3\",\"msg\":{}}");
	assert_invalid(f, "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":\"c2s\","
			  "\"crlf\":1,\"msg\":{}}");
	/* empty line */
	f->rec.kind = TAP_RECORD_FRAME;
	assert_int_equal(tap_record_parse(f->scanner, "", 0, 0, &f->rec), TAP_RECORD_INVALID);
	assert_non_null(f->rec.invalid_reason);
}

static void test_fields_reset_between_lines(void **state)
{
	struct fixture *f = *state;
	parse(f,
	      "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"seq\":5,\"dir\":\"s2c\","
	      "\"len\":9,\"crlf\":true,\"truncated\":true,\"partial\":true,\"b64\":\"AA==\"}");
	assert_int_equal(f->rec.kind, TAP_RECORD_FRAME);
	assert_int_equal(parse(f, "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"t\"}"),
			 TAP_RECORD_START);
	assert_span_eq(f->rec.stream, "t");
	assert_int_equal(f->rec.seq, 0);
	assert_int_equal(f->rec.dir, -1);
	assert_int_equal(f->rec.len, 0);
	assert_false(f->rec.crlf);
	assert_false(f->rec.truncated);
	assert_false(f->rec.partial);
	assert_null(f->rec.b64.ptr);
	assert_null(f->rec.msg.ptr);
}

static void test_unpadded_line_is_copied(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		"{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"s\",\"dir\":"
		"\"c2s\",\"msg\":{\"jsonrpc\":\"2.0\",\"method\":\"x\"}}";
	size_t len = sizeof(text) - 1;
	char *exact = malloc(len);
	memcpy(exact, text, len);
	assert_int_equal(tap_record_parse(f->scanner, exact, len, len, &f->rec), TAP_RECORD_FRAME);
	assert_span_eq(f->rec.msg, "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}");
	free(exact);
}

static void test_detect(void **state)
{
	(void)state;
	static const char yes[] = "{\"mcptrail_tap\":1,\"kind\":\"start\"}";
	static const char no[] = "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}";
	assert_true(tap_record_detect(yes, sizeof(yes) - 1));
	assert_false(tap_record_detect(no, sizeof(no) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_record),
		cmocka_unit_test(test_frame_record_with_msg),
		cmocka_unit_test(test_frame_msg_of_any_json_type),
		cmocka_unit_test(test_frame_msg_span_excludes_whitespace),
		cmocka_unit_test(test_frame_record_with_b64),
		cmocka_unit_test(test_gap_record),
		cmocka_unit_test(test_gap_record_member_order),
		cmocka_unit_test(test_end_record),
		cmocka_unit_test(test_invalid_records),
		cmocka_unit_test(test_fields_reset_between_lines),
		cmocka_unit_test(test_unpadded_line_is_copied),
		cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
