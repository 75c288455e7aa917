/* Unit tests for the OTLP/JSON logs parser (parsers/log_otlp.c): MCP attributes per log record,
 * many records per line, non-MCP records skipped, malformed requests refused, the record cap. */
#include "parsers/log_otlp.h"

#include "tests/unit/log_parser_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static const struct log_parser *P = &log_parser_otlp;

static const char *REQ =
	"{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
	"\"stringValue\":\"github-mcp\"}}]},"
	"\"scopeLogs\":[{\"scope\":{\"name\":\"mcp\"},\"logRecords\":["
	"{\"timeUnixNano\":\"1787790120000000000\",\"severityText\":\"INFO\",\"body\":{"
	"\"stringValue\":\"call\"},"
	"\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\","
	"\"attributes\":["
	"{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"tools/call\"}},"
	"{\"key\":\"gen_ai.tool.name\",\"value\":{\"stringValue\":\"create_issue\"}},"
	"{\"key\":\"mcp.session.id\",\"value\":{\"stringValue\":\"sess-o1\"}},"
	"{\"key\":\"mcp.protocol.version\",\"value\":{\"stringValue\":\"2025-11-25\"}},"
	"{\"key\":\"jsonrpc.request.id\",\"value\":{\"intValue\":\"7\"}},"
	"{\"key\":\"enduser.id\",\"value\":{\"stringValue\":\"svc-agent-7\"}},"
	"{\"key\":\"client.address\",\"value\":{\"stringValue\":\"10.1.2.3\"}},"
	"{\"key\":\"mcp.request.duration_ms\",\"value\":{\"doubleValue\":12.5}}]},"
	"{\"timeUnixNano\":\"0\",\"observedTimeUnixNano\":\"1787790120002000000\",\"attributes\":["
	"{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"tools/call\"}},"
	"{\"key\":\"gen_ai.tool.name\",\"value\":{\"stringValue\":\"search\"}},"
	"{\"key\":\"error.type\",\"value\":{\"stringValue\":\"tool_error\"}}]},"
	"{\"timeUnixNano\":1787790120003000000,\"attributes\":["
	"{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"tools/call\"}},"
	"{\"key\":\"jsonrpc.request.id\",\"value\":{\"stringValue\":\"abc\"}},"
	"{\"key\":\"mcp.target\",\"value\":{\"stringValue\":\"other\"}},"
	"{\"key\":\"rpc.response.status_code\",\"value\":{\"stringValue\":\"-32602\"}},"
	"{\"key\":\"error.type\",\"value\":{\"stringValue\":\"-32602\"}}]},"
	"{\"timeUnixNano\":\"1787790120004000000\",\"attributes\":[{\"key\":\"http.request."
	"method\",\"value\":{\"stringValue\":\"GET\"}}]}"
	"]}]}]}";

static void test_records(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	assert_int_equal(harvest_line(P, REQ, &h, &why), LOG_PARSE_OK);
	assert_int_equal(json_array_size(h.obs), 3);
	assert_string_equal(harvest_str(&h, 0, "format"), "otlp");
	assert_string_equal(harvest_str(&h, 0, "method"), "tools/call");
	assert_string_equal(harvest_str(&h, 0, "tool"), "create_issue");
	assert_string_equal(harvest_str(&h, 0, "target"), "github-mcp");
	assert_string_equal(harvest_str(&h, 0, "session_id"), "sess-o1");
	assert_string_equal(harvest_str(&h, 0, "protocol_version"), "2025-11-25");
	assert_string_equal(harvest_str(&h, 0, "rpc_id"), "7");
	assert_string_equal(harvest_str(&h, 0, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(harvest_str(&h, 0, "span_id"), "00f067aa0ba902b7");
	assert_string_equal(harvest_str(&h, 0, "src_addr"), "10.1.2.3");
	assert_string_equal(harvest_str(&h, 0, "outcome"), "ok");
	assert_string_equal(harvest_identity(&h, 0, "subject"), "svc-agent-7");
	assert_string_equal(harvest_identity(&h, 0, "source"), "otel_attribute");
	json_t *o = json_array_get(h.obs, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "time_ns")), 1787790120000000000LL);
	assert_true(json_real_value(json_object_get(o, "duration_ms")) == 12.5);
	/* observed time when the event time is unset; a tool error */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h.obs, 1), "time_ns")),
			 1787790120002000000LL);
	assert_string_equal(harvest_str(&h, 1, "outcome"), "tool_error");
	assert_string_equal(harvest_identity(&h, 1, "source"), "anonymous");
	/* a JSON-RPC error code; mcp.target beats service.name */
	assert_string_equal(harvest_str(&h, 2, "outcome"), "rpc_error");
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(h.obs, 2), "error_code")),
		-32602);
	assert_string_equal(harvest_str(&h, 2, "rpc_id"), "abc");
	assert_string_equal(harvest_str(&h, 2, "target"), "other");
	json_decref(h.obs);
}

static void test_skip_and_bad(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	assert_int_equal(
		harvest_line(P,
			     "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{"
			     "\"timeUnixNano\":\"1\",\"body\":{\"stringValue\":\"hi\"}}]}]}]}",
			     &h, &why),
		LOG_PARSE_SKIP);
	assert_int_equal(harvest_line(P, "{\"resourceLogs\":[]}", &h, &why), LOG_PARSE_SKIP);
	/* proto field names are accepted too */
	assert_int_equal(
		harvest_line(P,
			     "{\"resource_logs\":[{\"scope_logs\":[{\"log_records\":[{\"time_unix_"
			     "nano\":\"1787790120000000000\",\"attributes\":[{\"key\":\"mcp.method."
			     "name\",\"value\":{\"string_value\":\"tools/list\"}}]}]}]}]}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 0, "method"), "tools/list");
	const char *bad[] = {
		"{\"resourceLogs\":{}}",
		"{\"hello\":1}",
		"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"attributes\":[{\"key\":"
		"\"mcp.method.name\",\"value\":{\"stringValue\":\"tools/call\"}}]}]}]}]}",
		"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"-5\","
		"\"attributes\":[{\"key\":\"mcp.method.name\",\"value\":{\"stringValue\":\"tools/"
		"call\"}}]}]}]}]}",
		"{\"resourceLogs\":[{\"scopeLogs\":[",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(harvest_line(P, bad[i], &h, &why), LOG_PARSE_BAD);
		assert_non_null(why);
	}
	/* wrong types inside: ignored */
	assert_int_equal(
		harvest_line(P,
			     "{\"resourceLogs\":[7,{\"scopeLogs\":\"x\"},{\"scopeLogs\":[{"
			     "\"logRecords\":[1,{\"timeUnixNano\":\"1787790120000000000\","
			     "\"traceId\":\"zz\",\"attributes\":[3,{\"key\":1},{\"key\":\"gen_ai."
			     "tool.name\",\"value\":{\"intValue\":{}}},{\"key\":\"mcp.method."
			     "name\",\"value\":{\"stringValue\":\"ping\"}}]}]}]}]}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 1, "method"), "ping");
	assert_null(harvest_str(&h, 1, "tool"));
	assert_null(harvest_str(&h, 1, "trace_id"));
	json_decref(h.obs);
}

static void test_record_cap(void **state)
{
	(void)state;
	const char *rec = "{\"timeUnixNano\":\"1787790120000000000\",\"attributes\":[{\"key\":"
			  "\"mcp.method.name\",\"value\":{\"stringValue\":\"ping\"}}]},";
	size_t n = 100001, rl = strlen(rec);
	char *buf = malloc(64 + n * rl);
	assert_non_null(buf);
	char *p = buf + sprintf(buf, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[");
	for (size_t i = 0; i < n; i++, p += rl)
		memcpy(p, rec, rl);
	p[-1] = ']';
	strcpy(p, "}]}]}");
	struct harvest h = {0};
	const char *why;
	assert_int_equal(harvest_line(P, buf, &h, &why), LOG_PARSE_BAD);
	assert_non_null(strstr(why, "100000"));
	assert_int_equal(json_array_size(h.obs), 100000);
	json_decref(h.obs);
	free(buf);
}

static void test_detect(void **state)
{
	(void)state;
	assert_ptr_equal(log_parser_detect(REQ, strlen(REQ)), P);
	const char *plain = "{\"resourceLogs\":[{\"scopeLogs\":[]}]}";
	assert_int_equal(P->detect(plain, strlen(plain)), 60);
	const char *agw = "{\"level\":\"info\",\"time\":\"2026-08-27T00:22:00Z\",\"scope\":"
			  "\"request\",\"mcp.method.name\":\"tools/call\"}";
	assert_int_equal(P->detect(agw, strlen(agw)), 0);
	assert_ptr_equal(log_parser_find("otlp"), P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_skip_and_bad),
		cmocka_unit_test(test_record_cap),
		cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
