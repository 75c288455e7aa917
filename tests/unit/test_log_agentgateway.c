/* Unit tests for the agentgateway access-log parser (parsers/log_agentgateway.c): JSON and text
 * lines, the base64 session token decoded to the upstream server's session, task ids without the
 * gateway's TARGET+ namespace, outcomes, identities, and bad lines. */
#include "parsers/log_agentgateway.h"

#include "log_test_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const struct log_parser *P = &log_parser_agentgateway;

static void json_tool_call(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *line =
		"{\"level\":\"info\",\"time\":\"2026-08-27T10:00:00.5Z\",\"scope\":\"request\","
		"\"src.addr\":\"10.0.0.1:5000\",\"http.status\":200,\"trace.id\":"
		"\"0af7651916cd43dd8448eb211c80319c\",\"span.id\":\"b7ad6b7169203331\",\"jwt.sub\":"
		"\"svc-7\",\"jwt.iss\":\"https://idp\",\"jwt.azp\":\"agent\",\"jwt.scope\":\"a b\","
		"\"jwt.jti\":\"j-1\",\"jwt.exp\":1787828400,\"mcp.method.name\":\"tools/call\","
		"\"mcp.target\":\"github\",\"gen_ai.tool.name\":\"create_issue\",\"mcp.session."
		"id\":"
		"\"eyJ0IjoibWNwIiwicyI6W3sidCI6ImdpdGh1YiIsInMiOiJ1cC0xMjMifV19\","
		"\"jsonrpc.request.id\":7,\"duration\":\"1m2.5s\",\"retry.attempt\":\"2\"}";
	assert_true(P->detect(line, strlen(line)) >= 90);
	assert_int_equal(lth_parse(P, NULL, line, &out, &reason), LOG_PARSE_OK);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(lth_str(out, "method"), "tools/call");
	assert_string_equal(lth_str(out, "tool"), "create_issue");
	assert_string_equal(lth_str(out, "target"), "github");
	assert_string_equal(lth_str(out, "upstream_session_id"), "up-123");
	assert_string_equal(lth_str(out, "rpc_id"), "7");
	assert_string_equal(lth_str(out, "trace_id"), "0af7651916cd43dd8448eb211c80319c");
	assert_string_equal(lth_str(out, "outcome"), "ok");
	assert_string_equal(lth_str(out, "transport"), "http");
	json_t *o = json_array_get(out, 0);
	assert_true(json_real_value(json_object_get(o, "duration_ms")) == 62500.0);
	assert_int_equal(json_integer_value(json_object_get(o, "retry_attempt")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "time_ns")), 1787824800500000000LL);
	assert_string_equal(lth_id(out, "subject"), "svc-7");
	assert_string_equal(lth_id(out, "issuer"), "https://idp");
	assert_string_equal(lth_id(out, "client_id"), "agent");
	assert_string_equal(lth_id(out, "source"), "gateway_jwt");
	assert_int_equal(json_array_size(lth_id_array(out, "scopes")), 2);
	json_t *tok = json_object_get(json_object_get(o, "identity"), "token");
	assert_string_equal(json_string_value(json_object_get(tok, "jti")), "j-1");
	json_decref(out);
}

static void sessions_and_tasks(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	/* two upstreams: the one of this line's target */
	const char *two =
		"{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\","
		"\"mcp.method.name\":\"tasks/get\",\"mcp.target\":\"github\","
		"\"mcp.session.id\":\"eyJ0IjoibWNwIiwicyI6W3sidCI6ImZzIiwicyI6InVwLWZzIn0se"
		"yJ0IjoiZ2l0aHViIiwicyI6InVwLWdoIn1dfQ\",\"mcp.resource.type\":\"task\","
		"\"mcp.resource.uri\":\"github+task-9\"}";
	assert_int_equal(lth_parse(P, NULL, two, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "upstream_session_id"), "up-gh");
	assert_string_equal(lth_str(out, "task_id"), "task-9");
	json_decref(out);
	/* a plain session id is no base64 session token; another target's prefix is kept */
	const char *plain = "{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\","
			    "\"mcp.method.name\":\"tasks/get\",\"mcp.target\":\"fs\","
			    "\"mcp.session.id\":\"e4b06ce60741c7a87ce42c82\",\"mcp.task.name\":"
			    "\"github+task-9\"}";
	assert_int_equal(lth_parse(P, NULL, plain, &out, &reason), LOG_PARSE_OK);
	assert_null(lth_str(out, "upstream_session_id"));
	assert_string_equal(lth_str(out, "session_id"), "e4b06ce60741c7a87ce42c82");
	assert_string_equal(lth_str(out, "task_id"), "github+task-9");
	assert_string_equal(lth_id(out, "source"), "anonymous");
	json_decref(out);
}

static void outcomes(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *rpc =
		"{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\",\"mcp.method.name\":"
		"\"tools/call\",\"mcp.error.code\":-32602,\"mcp.error.message\":\"bad\"}";
	assert_int_equal(lth_parse(P, NULL, rpc, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "outcome"), "rpc_error");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "error_code")),
			 -32602);
	json_decref(out);
	const char *denied = "{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\","
			     "\"mcp.method.name\":\"tools/call\",\"http.status\":403,\"error\":"
			     "\"policy\",\"src.identity\":\"spiffe://x/agent\"}";
	assert_int_equal(lth_parse(P, NULL, denied, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "outcome"), "denied");
	assert_string_equal(lth_str(out, "error_message"), "policy");
	assert_string_equal(lth_id(out, "source"), "gateway_mtls");
	json_decref(out);
}

static void text_lines(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *line = "2026-08-27T10:00:00.000000Z\tinfo\trequest gateway=default/gw "
			   "src.addr=10.0.0.1:5000 http.status=200 jwt.sub=svc-3 protocol=mcp "
			   "mcp.method.name=tools/call mcp.target=fs gen_ai.tool.name=read_file "
			   "error=\"a \\\"quoted\\\" word\" duration=250us";
	assert_true(P->detect(line, strlen(line)) >= 90);
	assert_int_equal(lth_parse(P, NULL, line, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "tool"), "read_file");
	assert_string_equal(lth_str(out, "outcome"), "error");
	assert_string_equal(lth_str(out, "error_message"), "a \"quoted\" word");
	assert_true(json_real_value(json_object_get(json_array_get(out, 0), "duration_ms")) ==
		    0.25);
	assert_string_equal(lth_id(out, "subject"), "svc-3");
	json_decref(out);
}

static void skips_and_bad(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *skip[] = {
		"{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"xds\",\"message\":\"updated\"}",
		"{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\",\"http.status\":200}",
		"2026-08-27T10:00:00Z\tinfo\tapp starting",
	};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		assert_int_equal(lth_parse(P, NULL, skip[i], &out, &reason), LOG_PARSE_SKIP);
		assert_int_equal(json_array_size(out), 0);
		json_decref(out);
	}
	const char *bad[] = {
		"{\"time\":\"noon\",\"scope\":\"request\",\"mcp.method.name\":\"tools/call\"}",
		"{\"scope\":\"request\",\"mcp.method.name\":\"tools/call\"}",
		"{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\",\"mcp.method",
		"no tabs here at all",
		"2026-08-27T10:00:00Z\tinfo\trequest mcp.method.name=tools/call error=\"open",
		"2026-08-27T10:00:00Z\tinfo\trequest mcp.method.name=\xff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lth_parse(P, NULL, bad[i], &out, &reason), LOG_PARSE_BAD);
		assert_non_null(reason);
		assert_int_equal(json_array_size(out), 0);
		json_decref(out);
	}
	/* wrong types: ignored */
	const char *types = "{\"time\":\"2026-08-27T10:00:00Z\",\"scope\":\"request\","
			    "\"mcp.method.name\":\"tools/call\",\"mcp.session.id\":\"!!!!!!!!!!\","
			    "\"gen_ai.tool.name\":5,\"jwt.sub\":[],\"http.status\":\"x\","
			    "\"duration\":{}}";
	assert_int_equal(lth_parse(P, NULL, types, &out, &reason), LOG_PARSE_OK);
	assert_null(lth_str(out, "tool"));
	assert_null(lth_str(out, "upstream_session_id"));
	assert_null(lth_id(out, "subject"));
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_tool_call), cmocka_unit_test(sessions_and_tasks),
		cmocka_unit_test(outcomes),	  cmocka_unit_test(text_lines),
		cmocka_unit_test(skips_and_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
