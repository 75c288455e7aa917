/* Unit tests for the Envoy access log parser (parsers/log_envoy_access.c): the MCP keys in their
 * flat, header and dynamic-metadata spellings, plain Envoy lines skipped, tap traces left alone,
 * bad lines refused. */
#include "parsers/log_envoy_access.h"

#include "tests/unit/log_parser_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static const struct log_parser *P = &log_parser_envoy_access;

static void test_ai_gateway_line(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	const char *l =
		"{\"start_time\":\"2026-08-27T00:22:00.100Z\",\"method\":\"POST\",\"path\":\"/"
		"mcp\","
		"\"response_code\":200,\"response_flags\":\"-\",\"duration\":12,\"upstream_host\":"
		"\"10.0.0.7:8080\","
		"\"downstream_remote_address\":\"10.1.2.3:58117\",\"user_agent\":\"claude-code/"
		"1.0\","
		"\"x-request-id\":\"req-1\",\"mcp.method.name\":\"tools/"
		"call\",\"mcp.provider.name\":\"github\","
		"\"mcp.tool.name\":\"create_issue\",\"mcp.session.id\":\"sess-a1\",\"mcp_request_"
		"id\":7,"
		"\"mcp.protocol.version\":\"2025-11-25\",\"x-mcp-verified-sub\":\"svc-agent-7\","
		"\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}";
	assert_int_equal(harvest_line(P, l, &h, &why), LOG_PARSE_OK);
	assert_int_equal(json_array_size(h.obs), 1);
	assert_string_equal(harvest_str(&h, 0, "method"), "tools/call");
	assert_string_equal(harvest_str(&h, 0, "tool"), "create_issue");
	assert_string_equal(harvest_str(&h, 0, "target"), "github");
	assert_string_equal(harvest_str(&h, 0, "session_id"), "sess-a1");
	assert_string_equal(harvest_str(&h, 0, "rpc_id"), "7");
	assert_string_equal(harvest_str(&h, 0, "request_id"), "req-1");
	assert_string_equal(harvest_str(&h, 0, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(harvest_str(&h, 0, "span_id"), "00f067aa0ba902b7");
	assert_string_equal(harvest_str(&h, 0, "src_addr"), "10.1.2.3:58117");
	assert_string_equal(harvest_str(&h, 0, "user_agent"), "claude-code/1.0");
	assert_string_equal(harvest_str(&h, 0, "protocol_version"), "2025-11-25");
	assert_string_equal(harvest_str(&h, 0, "outcome"), "ok");
	assert_string_equal(harvest_identity(&h, 0, "subject"), "svc-agent-7");
	assert_string_equal(harvest_identity(&h, 0, "source"), "gateway_jwt");
	json_t *o = json_array_get(h.obs, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "http_status")), 200);
	assert_true(json_real_value(json_object_get(o, "duration_ms")) == 12);
	/* stamped at the end of the request: start + duration */
	assert_int_equal(json_integer_value(json_object_get(o, "time_ns")), 1787790120112000000LL);
	json_decref(h.obs);
}

static void test_kuadrant_headers_and_metadata(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	assert_int_equal(
		harvest_line(
			P,
			"{\"start_time\":\"2026-08-27T00:22:02Z\",\"method\":\"POST\",\"response_"
			"code\":403,\"duration\":\"3\",\"x_forwarded_for\":\"192.0.2.1, "
			"10.0.0.1\",\"x-mcp-method\":\"tools/"
			"call\",\"x-mcp-toolname\":\"delete_repo\",\"x-mcp-servername\":\"github\","
			"\"mcp-session-id\":\"sess-k9\",\"x-mcp-caller-id\":\"agent-42\"}",
			&h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 0, "tool"), "delete_repo");
	assert_string_equal(harvest_str(&h, 0, "target"), "github");
	assert_string_equal(harvest_str(&h, 0, "session_id"), "sess-k9");
	assert_string_equal(harvest_str(&h, 0, "outcome"), "denied");
	assert_string_equal(harvest_str(&h, 0, "src_addr"), "192.0.2.1");
	assert_string_equal(harvest_identity(&h, 0, "subject"), "agent-42");
	assert_string_equal(harvest_identity(&h, 0, "source"), "gateway_header");
	/* nested dynamic metadata, both namespaces */
	assert_int_equal(harvest_line(P,
				      "{\"start_time\":\"2026-08-27T00:22:03Z\",\"method\":"
				      "\"POST\",\"response_code\":200,\"dynamic_metadata\":{\"io."
				      "envoy.ai_gateway\":{\"mcp_method\":\"tools/"
				      "call\",\"mcp_tool_name\":\"search\",\"mcp_backend\":\"fs\","
				      "\"mcp_session_id\":\"sess-n3\"}}}",
				      &h, &why),
			 LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 1, "tool"), "search");
	assert_string_equal(harvest_str(&h, 1, "target"), "fs");
	assert_string_equal(harvest_str(&h, 1, "session_id"), "sess-n3");
	assert_string_equal(harvest_identity(&h, 1, "source"), "anonymous");
	assert_int_equal(
		harvest_line(P,
			     "{\"start_time\":\"2026-08-27T00:22:04Z\",\"method\":\"POST\","
			     "\"response_code\":200,\"dynamic_metadata\":{\"mcp\":{\"method\":"
			     "\"resources/read\",\"resource_uri\":\"file:///etc/motd\"}}}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 2, "method"), "resources/read");
	assert_string_equal(harvest_str(&h, 2, "resource_uri"), "file:///etc/motd");
	/* no upstream answer: Envoy's response flags */
	assert_int_equal(harvest_line(P,
				      "{\"start_time\":\"2026-08-27T00:22:06Z\",\"response_code\":"
				      "0,\"response_flags\":\"UF\",\"mcp.method.name\":\"tools/"
				      "call\",\"mcp.error.code\":\"x\"}",
				      &h, &why),
			 LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 3, "outcome"), "error");
	assert_string_equal(harvest_str(&h, 3, "outcome_raw"), "UF");
	assert_int_equal(
		harvest_line(P,
			     "{\"start_time\":\"2026-08-27T00:22:06Z\",\"response_code\":200,\"mcp_"
			     "method\":\"tools/call\",\"mcp_error_code\":-32602}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 4, "outcome"), "rpc_error");
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(h.obs, 4), "error_code")),
		-32602);
	json_decref(h.obs);
}

static void test_plain_and_bad(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	/* plain Envoy traffic, and the HTTP method is not an MCP method */
	assert_int_equal(
		harvest_line(P,
			     "{\"start_time\":\"2026-08-27T00:22:05Z\",\"method\":\"GET\",\"path\":"
			     "\"/healthz\",\"response_code\":200,\"upstream_host\":\"h\"}",
			     &h, &why),
		LOG_PARSE_SKIP);
	assert_int_equal(harvest_line(P,
				      "{\"start_time\":\"2026-08-27T00:22:05Z\",\"mcp.method."
				      "name\":\"-\",\"response_code\":200}",
				      &h, &why),
			 LOG_PARSE_SKIP);
	const char *bad[] = {
		"{\"start_time\":\"not a time\",\"mcp.method.name\":\"tools/call\"}",
		"{\"mcp.method.name\":\"tools/call\"}",
		"{\"start_time\":\"2026-08-27T00:22:08Z\",\"mcp.method.name\":\"tools/call\"",
		"[1,2,3]",
		"{\"start_time\":\"2026-08-27T00:22:08Z\",\"mcp.method.name\":\"\xff\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(harvest_line(P, bad[i], &h, &why), LOG_PARSE_BAD);
		assert_non_null(why);
	}
	/* wrong types: ignored */
	assert_int_equal(
		harvest_line(P,
			     "{\"start_time\":\"2026-08-27T00:22:08Z\",\"mcp.method.name\":\"tools/"
			     "call\",\"mcp.tool.name\":[1],\"duration\":-5,\"response_code\":{},"
			     "\"traceparent\":\"00-zz\"}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_null(harvest_str(&h, 0, "tool"));
	assert_null(json_object_get(json_array_get(h.obs, 0), "duration_ms"));
	assert_null(harvest_str(&h, 0, "trace_id"));
	json_decref(h.obs);
}

static void test_detect(void **state)
{
	(void)state;
	const char *mcp = "{\"start_time\":\"2026-08-27T00:22:05Z\",\"response_code\":200,\"mcp_"
			  "method\":\"tools/call\"}";
	const char *plain = "{\"start_time\":\"2026-08-27T00:22:05Z\",\"response_code\":200,"
			    "\"upstream_host\":\"h\"}";
	const char *tap = "{\"http_buffered_trace\":{\"request\":{\"headers\":[{\"key\":\"response_"
			  "code\",\"value\":\"mcp_method\"}]}}}";
	assert_ptr_equal(log_parser_detect(mcp, strlen(mcp)), P);
	assert_int_equal(P->detect(plain, strlen(plain)), 55);
	assert_int_equal(P->detect(tap, strlen(tap)), 0);
	const char *agw = "{\"level\":\"info\",\"time\":\"2026-08-27T00:22:00Z\",\"scope\":"
			  "\"request\",\"http.status\":200,\"mcp.method.name\":\"tools/call\"}";
	assert_int_equal(P->detect(agw, strlen(agw)), 0);
	assert_ptr_equal(log_parser_find("envoy_access"), P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ai_gateway_line),
		cmocka_unit_test(test_kuadrant_headers_and_metadata),
		cmocka_unit_test(test_plain_and_bad),
		cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
