/* Unit tests for parsers/json_scan: classification of JSON-RPC frames, the fields the correlator
 * relies on, and rejection of everything that is not one valid JSON-RPC 2.0 message. */
#include "parsers/json_scan.h"

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
	char *buf; /* the frame being scanned, padded; spans point into it */
	struct json_scan out;
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
	free(f->buf);
	free(f);
	return 0;
}

/* Scans len bytes of text from a buffer that has the padding the scanner may read. */
static enum json_msg_kind scan_n(struct fixture *f, const char *text, size_t len)
{
	free(f->buf);
	f->buf = calloc(1, len + JSON_SCAN_PADDING);
	assert_non_null(f->buf);
	memcpy(f->buf, text, len);
	return json_scanner_scan(f->scanner, f->buf, len, len + JSON_SCAN_PADDING, &f->out);
}

static enum json_msg_kind scan(struct fixture *f, const char *text)
{
	return scan_n(f, text, strlen(text));
}

static char *span_str(struct json_span sp)
{
	if (!sp.ptr)
		return NULL;
	char *s = malloc(sp.len + 1);
	memcpy(s, sp.ptr, sp.len);
	s[sp.len] = '\0';
	return s;
}

#define assert_span(sp, expected)                                                                  \
	do {                                                                                       \
		char *got_ = span_str(sp);                                                         \
		assert_non_null(got_);                                                             \
		assert_string_equal(got_, expected);                                               \
		free(got_);                                                                        \
	} while (0)

#define assert_id(id, want_kind, expected)                                                         \
	do {                                                                                       \
		assert_int_equal((id).kind, want_kind);                                            \
		assert_span((id).text, expected);                                                  \
	} while (0)

#define assert_invalid(f, text)                                                                    \
	do {                                                                                       \
		assert_int_equal(scan(f, text), JSON_MSG_INVALID);                                 \
		assert_int_equal((f)->out.kind, JSON_MSG_INVALID);                                 \
		assert_non_null((f)->out.invalid_reason);                                          \
	} while (0)

/* ---- classification ---- */

static void test_classifies_request(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"),
			 JSON_MSG_REQUEST);
	assert_null(f->out.invalid_reason);
	assert_id(f->out.id, JSON_ID_NUMBER, "1");
	assert_span(f->out.method, "tools/list");
	assert_null(f->out.params.ptr);
	assert_null(f->out.result.ptr);
}

static void test_classifies_notification(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f, "{\"method\":\"notifications/initialized\",\"jsonrpc\":\"2.0\"}"),
			 JSON_MSG_NOTIFICATION);
	assert_int_equal(f->out.id.kind, JSON_ID_NONE);
	assert_span(f->out.method, "notifications/initialized");
}

static void test_classifies_result(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"result\":{\"tools\":[]}}"),
			 JSON_MSG_RESULT);
	assert_id(f->out.id, JSON_ID_STRING, "r1");
	assert_span(f->out.result, "{\"tools\":[]}");
	assert_null(f->out.method.ptr);
	assert_int_equal(f->out.result_is_error, -1);
	assert_int_equal(f->out.result_tasks_count, -1);
}

static void test_classifies_error(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,"
				 "\"message\":\"Method not found\",\"data\":{\"x\":[1]}}}"),
			 JSON_MSG_ERROR);
	assert_id(f->out.id, JSON_ID_NUMBER, "7");
	assert_true(f->out.has_error_code);
	assert_int_equal(f->out.error_code, -32601);
	assert_span(f->out.error_message, "Method not found");

	/* a parse error answers with a null id */
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
				 "\"message\":\"Parse error\"}}"),
			 JSON_MSG_ERROR);
	assert_int_equal(f->out.id.kind, JSON_ID_NULL);
	assert_int_equal(f->out.error_code, -32700);
}

/* ---- ids ---- */

static void test_ids_are_kept_exact(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(
		scan(f, "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567890,\"method\":\"m\"}"),
		JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_NUMBER, "12345678901234567890");

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":-1,\"method\":\"m\"}"),
			 JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_NUMBER, "-1");

	/* whitespace around a number is not part of it */
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\" :  42 \t,\"method\":\"m\"}"),
			 JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_NUMBER, "42");

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\\\"d\",\"method\":\"m\"}"),
			 JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_STRING, "abc\"d");

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":\"caf\\u00e9\",\"result\":{}}"),
			 JSON_MSG_RESULT);
	assert_id(f->out.id, JSON_ID_STRING, "caf\xc3\xa9");

	/* the string "1" and the number 1 are told apart */
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"m\"}"),
			 JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_STRING, "1");
}

/* ---- params ---- */

static void test_tools_call_fields(void **state)
{
	struct fixture *f = *state;
	const char *args = "{\"q\":\"a}b{c\",\"nested\":{\"x\":[1,{\"y\":\"\\\"}\"}]},"
			   "\"esc\":\"\\\\\",\"s\":\"[\"}";
	char frame[1024];
	snprintf(frame, sizeof(frame),
		 "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"search\",\"arguments\":%s,\"_meta\":{\"progressToken\":\"tok-1\","
		 "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}}}",
		 args);
	assert_int_equal(scan(f, frame), JSON_MSG_REQUEST);
	assert_span(f->out.method, "tools/call");
	assert_span(f->out.params_name, "search");
	assert_span(f->out.arguments, args);
	assert_false(f->out.params_has_task);
	assert_null(f->out.params_task.ptr);
	assert_id(f->out.meta_progress_token, JSON_ID_STRING, "tok-1");
	assert_span(f->out.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	/* params is the raw span of the whole value */
	const char *p = strstr(frame, "{\"name\"");
	char *want = strndup(p, strlen(p) - 1);
	assert_span(f->out.params, want);
	free(want);
}

static void test_arguments_span_is_exact_for_any_value(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"arguments\" : { \"a\" : [ 1 , 2 ] } ,\"name\":\"t\"}}"),
			 JSON_MSG_REQUEST);
	assert_span(f->out.arguments, "{ \"a\" : [ 1 , 2 ] }");
	assert_span(f->out.params_name, "t");

	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"t\",\"arguments\":\"x}\\\\\"}}"),
			 JSON_MSG_REQUEST);
	assert_span(f->out.arguments, "\"x}\\\\\"");

	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"t\",\"arguments\":[{\"}\":\"]\"},[]]}}"),
			 JSON_MSG_REQUEST);
	assert_span(f->out.arguments, "[{\"}\":\"]\"},[]]");

	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"t\",\"arguments\":-12.5e3}}"),
			 JSON_MSG_REQUEST);
	assert_span(f->out.arguments, "-12.5e3");
}

static void test_params_task_present_and_absent(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"slow\",\"arguments\":{},\"task\":{\"ttl\":60000}}}"),
			 JSON_MSG_REQUEST);
	assert_true(f->out.params_has_task);
	assert_span(f->out.params_task, "{\"ttl\":60000}");

	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"slow\",\"task\":{}}}"),
			 JSON_MSG_REQUEST);
	assert_true(f->out.params_has_task);
	assert_span(f->out.params_task, "{}");

	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"slow\",\"arguments\":{\"task\":{}}}}"),
			 JSON_MSG_REQUEST);
	assert_false(f->out.params_has_task); /* a "task" inside arguments is the tool's */
}

static void test_task_fields(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\","
				 "\"params\":{\"taskId\":\"t-9\"}}"),
			 JSON_MSG_REQUEST);
	assert_span(f->out.params_task_id, "t-9");

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"taskId\":"
				 "\"t-9\",\"status\":\"working\",\"ttl\":60000,\"createdAt\":"
				 "\"2025-11-25T10:00:00Z\"}}}"),
			 JSON_MSG_RESULT);
	assert_span(f->out.result_task_id, "t-9");
	assert_span(f->out.result_task_status, "working");
	assert_null(f->out.result_task_id_top.ptr);

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"taskId\":\"t-9\","
				 "\"status\":\"completed\",\"statusMessage\":\"done\"}}"),
			 JSON_MSG_RESULT);
	assert_span(f->out.result_task_id_top, "t-9");
	assert_span(f->out.result_status, "completed");
	assert_null(f->out.result_task_id.ptr);

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tasks/status\","
				 "\"params\":{\"taskId\":\"t-9\",\"status\":\"failed\"}}"),
			 JSON_MSG_NOTIFICATION);
	assert_span(f->out.params_task_id, "t-9");
	assert_span(f->out.params_status, "failed");
}

static void test_result_is_error(void **state)
{
	struct fixture *f = *state;
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[],\"isError\":true}}");
	assert_int_equal(f->out.kind, JSON_MSG_RESULT);
	assert_int_equal(f->out.result_is_error, 1);
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"isError\":false}}");
	assert_int_equal(f->out.result_is_error, 0);
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"isError\":true}]}}");
	assert_int_equal(f->out.result_is_error, -1);
}

static void test_meta_fields(void **state)
{
	struct fixture *f = *state;
	scan(f,
	     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\","
	     "\"_meta\":{\"progressToken\":42}}}");
	assert_int_equal(f->out.kind, JSON_MSG_REQUEST);
	assert_id(f->out.meta_progress_token, JSON_ID_NUMBER, "42");

	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"elicitation/create\",\"params\":{"
		"\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"t-9\"}}}}");
	assert_int_equal(f->out.kind, JSON_MSG_REQUEST);
	assert_span(f->out.related_task_id, "t-9");

	/* _meta of a result */
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[],\"_meta\":{"
		"\"io.modelcontextprotocol/related-task\":{\"taskId\":\"t-10\"}}}}");
	assert_int_equal(f->out.kind, JSON_MSG_RESULT);
	assert_span(f->out.related_task_id, "t-10");

	/* a _meta nested inside arguments is not the message's */
	scan(f,
	     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\","
	     "\"arguments\":{\"_meta\":{\"progressToken\":\"no\"}}}}");
	assert_int_equal(f->out.kind, JSON_MSG_REQUEST);
	assert_int_equal(f->out.meta_progress_token.kind, JSON_ID_NONE);
}

static void test_notification_fields(void **state)
{
	struct fixture *f = *state;
	scan(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
		"\"requestId\":\"abc\",\"reason\":\"user\"}}");
	assert_int_equal(f->out.kind, JSON_MSG_NOTIFICATION);
	assert_id(f->out.params_request_id, JSON_ID_STRING, "abc");

	scan(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
		"\"requestId\":17}}");
	assert_id(f->out.params_request_id, JSON_ID_NUMBER, "17");

	scan(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
		"\"progressToken\":\"tok-1\",\"progress\":0.5,\"total\":1}}");
	assert_int_equal(f->out.kind, JSON_MSG_NOTIFICATION);
	assert_id(f->out.params_progress_token, JSON_ID_STRING, "tok-1");
}

static void test_tasks_list_count(void **state)
{
	struct fixture *f = *state;
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tasks\":[{\"taskId\":\"a\"},"
		"{\"taskId\":\"b\",\"x\":[1,2]},{\"taskId\":\"c\"}],\"nextCursor\":\"n\"}}");
	assert_int_equal(f->out.kind, JSON_MSG_RESULT);
	assert_int_equal(f->out.result_tasks_count, 3);
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tasks\":[]}}");
	assert_int_equal(f->out.result_tasks_count, 0);
}

/* ---- invalid frames ---- */

static void test_invalid_json(void **state)
{
	struct fixture *f = *state;
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
	assert_invalid(f,
		       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"name\":\"t\","
		       "\"arguments\":{\"a\":[1,}}}");
	assert_invalid(f,
		       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"name\":\"t\","
		       "\"arguments\":{\"deep\":{\"er\":[true,fals]}}}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"x\":01}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"a\" 1}}");
	assert_invalid(
		f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"a\":{\"b\":1]}}");
	assert_invalid(f, "{'jsonrpc':'2.0'}");
}

static void test_invalid_utf8_and_nul(void **state)
{
	struct fixture *f = *state;
	assert_invalid(
		f,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"s\":\"\xc3\x28\"}}");
	assert_string_equal(f->out.invalid_reason, "invalid UTF-8");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"s\":"
			  "\"\xed\xa0\x80\"}}");
	/* a raw control character inside a string */
	assert_invalid(
		f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"s\":\"a\x01\"}}");

	static const char with_nul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\x00x\"}";
	assert_int_equal(scan_n(f, with_nul, sizeof(with_nul) - 1), JSON_MSG_INVALID);
	assert_string_equal(f->out.invalid_reason, "NUL byte in frame");
}

static char *deep_frame(size_t depth, size_t *len)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":";
	char *b = malloc(sizeof(head) + 2 * depth + 8);
	size_t n = sizeof(head) - 1;
	memcpy(b, head, n);
	memset(b + n, '[', depth);
	n += depth;
	memset(b + n, ']', depth);
	n += depth;
	memcpy(b + n, "}}", 2);
	*len = n + 2;
	return b;
}

static void test_deep_nesting_is_rejected(void **state)
{
	/* Regression test (was a bug, now fixed): parsers/json_scan.cpp
	 * json_scanner_scan()/json_scanner_validate(): the depth limit JSON_SCAN_MAX_DEPTH (512) is
	 * never enforced (simdjson On-Demand does not check it and walk() recurses once per level).
	 * A frame nested 100000 deep is accepted as a valid notification (expected JSON_MSG_INVALID
	 * "nesting too deep"), and 1000000 levels (a 2 MB frame, well under the default --max-frame
	 * of 32 MiB) overflow the stack: SIGSEGV. */
	struct fixture *f = *state;
	static const size_t depths[] = {JSON_SCAN_MAX_DEPTH + 10, 100000, 1000000};
	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		size_t len;
		char *frame = deep_frame(depths[i], &len);
		assert_int_equal(json_scanner_scan(f->scanner, frame, len, len, &f->out),
				 JSON_MSG_INVALID);
		assert_non_null(f->out.invalid_reason);
		assert_non_null(json_scanner_validate(f->scanner, frame, len, len));
		free(frame);
	}
}

static void test_moderate_nesting_is_accepted(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *frame = deep_frame(100, &len);
	assert_int_equal(json_scanner_scan(f->scanner, frame, len, len, &f->out),
			 JSON_MSG_NOTIFICATION);
	free(frame);
}

static void test_not_a_single_object(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scan_n(f, "", 0), JSON_MSG_INVALID);
	assert_string_equal(f->out.invalid_reason, "empty frame");
	assert_invalid(f, "   ");
	assert_invalid(f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}]");
	assert_non_null(strstr(f->out.invalid_reason, "batch"));
	assert_invalid(f, "42");
	assert_invalid(f, "\"jsonrpc\"");
	assert_invalid(f, "null");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"} x");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}{}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"},");
	/* trailing whitespace is fine */
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"} \t\r"),
			 JSON_MSG_REQUEST);
}

static void test_not_json_rpc(void **state)
{
	struct fixture *f = *state;
	assert_invalid(f, "{\"id\":1,\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0 \",\"id\":1,\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{\"code\":1,"
			  "\"message\":\"x\"}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"result\":{}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":[1],\"result\":{}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"result\":{}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"no code\"}}");
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1}");
	assert_invalid(f, "{}");
}

static void test_big_numbers_are_valid_json(void **state)
{
	/* Regression test (was a bug, now fixed): parsers/json_scan.cpp walk()/read_id():
	 * simdjson's get_number() fails on integers beyond 64 bits and on 1e400, so a valid frame
	 * such as
	 * {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":
	 * {"n":123456789012345678901234567890}}} is rejected as "invalid number" (expected
	 * JSON_MSG_REQUEST with the arguments span intact): the tool call is lost from the audit
	 * trail. Same for such an id, whose text the header promises to keep exactly. */
	struct fixture *f = *state;
	assert_int_equal(scan(f,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			      "\"name\":\"t\",\"arguments\":{\"n\":123456789012345678901234567890,"
			      "\"big\":1e400}}}"),
			 JSON_MSG_REQUEST);
	assert_span(f->out.arguments, "{\"n\":123456789012345678901234567890,\"big\":1e400}");
	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234567890,"
				 "\"method\":\"m\"}"),
			 JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_NUMBER, "123456789012345678901234567890");
}

/* ---- buffers and reuse ---- */

static void test_unpadded_buffer_is_copied(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/"
				   "call\",\"params\":{\"name\":\"echo\","
				   "\"arguments\":{\"text\":\"hi\"}}}";
	size_t len = sizeof(text) - 1;
	char *exact = malloc(len); /* no padding, no terminating NUL */
	memcpy(exact, text, len);
	assert_int_equal(json_scanner_scan(f->scanner, exact, len, len, &f->out), JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_NUMBER, "9");
	assert_span(f->out.params_name, "echo");
	assert_span(f->out.arguments, "{\"text\":\"hi\"}");
	assert_null(json_scanner_validate(f->scanner, exact, len, len));
	free(exact);
}

static void test_unpadded_large_frame(void **state)
{
	/* Regression test (was a bug, now fixed): parsers/json_scan.cpp json_scanner_scan(): for a
	 * frame over 1 MiB passed with capacity == len, shrink() frees the scanner's padded copy
	 * before the spans into it are used: params/result lengths are computed with value_end() on
	 * freed memory and the returned id/arguments/params spans dangle (the copy is munmap'd:
	 * SIGSEGV). Expected: spans valid until the next call, as the header promises.
	 * tap_record_parse() has the same flaw for its msg span. */
	struct fixture *f = *state;
	size_t blob = 2u << 20;
	char *frame = malloc(blob + 256);
	size_t n =
		(size_t)sprintf(frame, "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\","
				       "\"params\":{\"name\":\"t\",\"arguments\":{\"b\":\"");
	memset(frame + n, 'x', blob);
	n += blob;
	n += (size_t)sprintf(frame + n, "\"}}}");
	assert_int_equal(json_scanner_scan(f->scanner, frame, n, n, &f->out), JSON_MSG_REQUEST);
	assert_id(f->out.id, JSON_ID_NUMBER, "77");
	assert_int_equal(f->out.arguments.len, blob + 8);
	assert_memory_equal(f->out.arguments.ptr, "{\"b\":\"xxx", 9);
	free(frame);
}

static void test_fields_reset_between_frames(void **state)
{
	struct fixture *f = *state;
	scan(f,
	     "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/"
	     "call\",\"params\":{\"name\":\"t\","
	     "\"arguments\":{},\"task\":{},\"taskId\":\"t1\",\"status\":\"s\",\"uri\":\"u\","
	     "\"requestId\":1,\"progressToken\":2,\"_meta\":{\"progressToken\":3,\"traceparent\":"
	     "\"tp\",\"io.modelcontextprotocol/related-task\":{\"taskId\":\"t2\"}}}}");
	assert_int_equal(f->out.kind, JSON_MSG_REQUEST);
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":5,\"message\":\"m\"}}");
	assert_int_equal(f->out.kind, JSON_MSG_ERROR);
	scan(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"task\":{\"taskId\":\"t\",\"status\":"
		"\"working\"},\"isError\":true,\"tasks\":[1],\"status\":\"s\",\"taskId\":\"t\"}}");
	assert_int_equal(f->out.kind, JSON_MSG_RESULT);
	assert_invalid(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":[");

	assert_int_equal(scan(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"),
			 JSON_MSG_NOTIFICATION);
	const struct json_scan *o = &f->out;
	assert_null(o->invalid_reason);
	assert_int_equal(o->id.kind, JSON_ID_NONE);
	assert_null(o->id.text.ptr);
	assert_null(o->params.ptr);
	assert_null(o->params_name.ptr);
	assert_null(o->params_uri.ptr);
	assert_null(o->arguments.ptr);
	assert_false(o->params_has_task);
	assert_null(o->params_task.ptr);
	assert_null(o->params_task_id.ptr);
	assert_null(o->params_status.ptr);
	assert_int_equal(o->params_request_id.kind, JSON_ID_NONE);
	assert_int_equal(o->params_progress_token.kind, JSON_ID_NONE);
	assert_int_equal(o->meta_progress_token.kind, JSON_ID_NONE);
	assert_null(o->related_task_id.ptr);
	assert_null(o->traceparent.ptr);
	assert_null(o->result.ptr);
	assert_null(o->result_task_id.ptr);
	assert_null(o->result_task_status.ptr);
	assert_null(o->result_status.ptr);
	assert_null(o->result_task_id_top.ptr);
	assert_int_equal(o->result_is_error, -1);
	assert_int_equal(o->result_tasks_count, -1);
	assert_false(o->has_error_code);
	assert_null(o->error_message.ptr);
}

static void test_many_frames_on_one_scanner(void **state)
{
	struct fixture *f = *state;
	char frame[128];
	for (int i = 0; i < 5000; i++) {
		snprintf(frame, sizeof(frame),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
			 "\"name\":\"t%d\"}}",
			 i, i % 7);
		assert_int_equal(scan(f, frame), JSON_MSG_REQUEST);
		char want[16];
		snprintf(want, sizeof(want), "%d", i);
		assert_id(f->out.id, JSON_ID_NUMBER, want);
		snprintf(want, sizeof(want), "t%d", i % 7);
		assert_span(f->out.params_name, want);
	}
}

static void test_validate(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		int valid;
	} cases[] = {
		{"{\"a\":[1,2,{\"b\":null}]}", 1},
		{"[1,\"x\",{}]", 1},
		{"{\"not\":\"json-rpc\"}", 1},
		{"42", 0},
		{"{\"a\":[1,}", 0},
		{"{\"a\":1} x", 0},
		{"{\"a\":\"\xc3\x28\"}", 0},
		{"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		char *b = calloc(1, len + JSON_SCAN_PADDING);
		memcpy(b, cases[i].text, len);
		const char *reason =
			json_scanner_validate(f->scanner, b, len, len + JSON_SCAN_PADDING);
		if (cases[i].valid)
			assert_null(reason);
		else
			assert_non_null(reason);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classifies_request),
		cmocka_unit_test(test_classifies_notification),
		cmocka_unit_test(test_classifies_result),
		cmocka_unit_test(test_classifies_error),
		cmocka_unit_test(test_ids_are_kept_exact),
		cmocka_unit_test(test_tools_call_fields),
		cmocka_unit_test(test_arguments_span_is_exact_for_any_value),
		cmocka_unit_test(test_params_task_present_and_absent),
		cmocka_unit_test(test_task_fields),
		cmocka_unit_test(test_result_is_error),
		cmocka_unit_test(test_meta_fields),
		cmocka_unit_test(test_notification_fields),
		cmocka_unit_test(test_tasks_list_count),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_invalid_utf8_and_nul),
		cmocka_unit_test(test_deep_nesting_is_rejected),
		cmocka_unit_test(test_moderate_nesting_is_accepted),
		cmocka_unit_test(test_not_a_single_object),
		cmocka_unit_test(test_not_json_rpc),
		cmocka_unit_test(test_big_numbers_are_valid_json),
		cmocka_unit_test(test_unpadded_buffer_is_copied),
		cmocka_unit_test(test_unpadded_large_frame),
		cmocka_unit_test(test_fields_reset_between_frames),
		cmocka_unit_test(test_many_frames_on_one_scanner),
		cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
