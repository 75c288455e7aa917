/* Unit tests for the Docker MCP Gateway parser (parsers/log_docker_mcp.c): --log-calls lines and
 * policy AuditEvent JSON, and what it refuses. */
#include "parsers/log_docker_mcp.h"

#include "tests/unit/log_parser_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static const struct log_parser *P = &log_parser_docker_mcp;

static void test_end_line_is_the_call(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	assert_int_equal(
		harvest_line(
			P,
			"2026-08-27T00:22:01.004500000Z   > Calling tool create_issue took: 4.5ms",
			&h, &why),
		LOG_PARSE_OK);
	assert_int_equal(json_array_size(h.obs), 1);
	assert_string_equal(harvest_str(&h, 0, "method"), "tools/call");
	assert_string_equal(harvest_str(&h, 0, "tool"), "create_issue");
	assert_string_equal(harvest_str(&h, 0, "outcome"), "ok");
	assert_string_equal(harvest_str(&h, 0, "format"), "docker_mcp_gateway");
	json_t *o = json_array_get(h.obs, 0);
	assert_true(json_real_value(json_object_get(o, "duration_ms")) == 4.5);
	assert_int_equal(json_integer_value(json_object_get(o, "time_ns")), 1787790121004500000LL);
	/* Go's log prefix and a µs duration */
	harvest_reset(&h);
	assert_int_equal(harvest_line(P,
				      "2026/08/27 00:22:09   > Calling tool read_file took: 250µs",
				      &h, &why),
			 LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 0, "tool"), "read_file");
	assert_true(json_real_value(json_object_get(json_array_get(h.obs, 0), "duration_ms")) ==
		    0.25);
	/* start lines and chatter say nothing on their own */
	assert_int_equal(harvest_line(P,
				      "2026-08-27T00:22:01Z   - Calling tool x with arguments: {}",
				      &h, &why),
			 LOG_PARSE_SKIP);
	assert_int_equal(
		harvest_line(P, "  - Calling tool (unknown) with method: tools/call", &h, &why),
		LOG_PARSE_SKIP);
	assert_int_equal(harvest_line(P, "- Reading configuration...", &h, &why), LOG_PARSE_SKIP);
	assert_int_equal(json_array_size(h.obs), 1);
	json_decref(h.obs);
}

static void test_bad_text(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	assert_int_equal(harvest_line(P, "  > Calling tool search took: 3ms", &h, &why),
			 LOG_PARSE_BAD);
	assert_non_null(strstr(why, "timestamp"));
	assert_int_equal(harvest_line(P, "2026-08-27T00:22:10Z   > Calling tool search took: soon",
				      &h, &why),
			 LOG_PARSE_BAD);
	assert_int_equal(harvest_line(P, "2026-08-27T00:22:10Z   > Calling tool search", &h, &why),
			 LOG_PARSE_BAD);
	assert_int_equal(harvest_line(P, "2026-08-27T00:22:10Z   > Calling tool \xff\xfe took: 1ms",
				      &h, &why),
			 LOG_PARSE_BAD);
	assert_int_equal(json_array_size(h.obs), 0);
	json_decref(h.obs);
}

static void test_audit_event(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	assert_int_equal(
		harvest_line(P,
			     "{\"actor_type\":\"user\",\"actor_id\":\"u-123\",\"org_id\":\"acme\","
			     "\"trigger\":\"invoke\",\"target_type\":\"tool\",\"server_name\":"
			     "\"github\",\"tool_name\":\"delete_repo\",\"result\":\"denied\","
			     "\"outcome_reason\":\"policy_rule\",\"reason\":\"blocked\",\"client_"
			     "name\":\"claude-ai\",\"client_version\":\"0.7.1\",\"session_id\":\"s-"
			     "42\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"timestamp\":"
			     "\"2026-08-27T00:22:05.000Z\"}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 0, "method"), "tools/call");
	assert_string_equal(harvest_str(&h, 0, "tool"), "delete_repo");
	assert_string_equal(harvest_str(&h, 0, "target"), "github");
	assert_string_equal(harvest_str(&h, 0, "outcome"), "denied");
	assert_string_equal(harvest_str(&h, 0, "decision"), "deny");
	assert_string_equal(harvest_str(&h, 0, "reason"), "blocked");
	assert_string_equal(harvest_str(&h, 0, "session_id"), "s-42");
	assert_string_equal(harvest_str(&h, 0, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(harvest_str(&h, 0, "client_name"), "claude-ai");
	assert_string_equal(harvest_str(&h, 0, "client_version"), "0.7.1");
	assert_string_equal(harvest_identity(&h, 0, "subject"), "u-123");
	assert_string_equal(harvest_identity(&h, 0, "source"), "gateway_policy");
	/* prompts, the "allowed" boolean variant, policy errors */
	harvest_reset(&h);
	assert_int_equal(
		harvest_line(P,
			     "{\"actor_id\":\"u\",\"trigger\":\"prompt\",\"target_type\":"
			     "\"prompt\",\"server_name\":\"g\",\"prompt_name\":\"summarize\","
			     "\"allowed\":true,\"timestamp\":\"2026-08-27T00:22:07Z\"}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 0, "method"), "prompts/get");
	assert_string_equal(harvest_str(&h, 0, "tool"), "summarize");
	assert_string_equal(harvest_str(&h, 0, "decision"), "allow");
	assert_int_equal(
		harvest_line(P,
			     "{\"trigger\":\"invoke\",\"target_type\":\"tool\",\"server_name\":"
			     "\"g\",\"tool_name\":\"t\",\"result\":\"denied\",\"outcome_reason\":"
			     "\"policy_error\",\"timestamp\":\"2026-08-27T00:22:07Z\"}",
			     &h, &why),
		LOG_PARSE_OK);
	assert_string_equal(harvest_str(&h, 1, "outcome"), "error");
	assert_string_equal(harvest_identity(&h, 1, "source"), "anonymous");
	/* catalog loads are not calls */
	assert_int_equal(
		harvest_line(P,
			     "{\"trigger\":\"load\",\"target_type\":\"server\",\"server_name\":"
			     "\"g\",\"result\":\"allowed\",\"timestamp\":\"2026-08-27T00:22:07Z\"}",
			     &h, &why),
		LOG_PARSE_SKIP);
	assert_int_equal(json_array_size(h.obs), 2);
	json_decref(h.obs);
}

static void test_bad_audit(void **state)
{
	(void)state;
	struct harvest h = {0};
	const char *why;
	const char *bad[] = {
		"{\"trigger\":\"invoke\",\"server_name\":\"g\",\"tool_name\":\"t\",\"result\":"
		"\"maybe\",\"timestamp\":\"2026-08-27T00:22:07Z\"}",
		"{\"trigger\":\"invoke\",\"server_name\":\"g\",\"tool_name\":\"t\",\"result\":"
		"\"allowed\"}",
		"{\"trigger\":\"invoke\",\"server_name\":\"g\",\"tool_name\":\"t\",\"result\":"
		"\"allowed\",\"timestamp\":[1]}",
		"{\"trigger\":\"invoke\",\"server_name\":\"g\",\"tool_name\":\"t\",\"result\":",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(harvest_line(P, bad[i], &h, &why), LOG_PARSE_BAD);
		assert_non_null(why);
	}
	/* wrong types are ignored, not trusted */
	assert_int_equal(
		harvest_line(P,
			     "{\"trigger\":\"invoke\",\"server_name\":7,\"tool_name\":{},"
			     "\"result\":\"allowed\",\"timestamp\":\"2026-08-27T00:22:07Z\"}",
			     &h, &why),
		LOG_PARSE_SKIP);
	assert_int_equal(json_array_size(h.obs), 0);
	json_decref(h.obs);
}

static void test_detect(void **state)
{
	(void)state;
	const char *end = "2026-08-27T00:22:01Z   > Calling tool a took: 1ms";
	const char *audit = "{\"trigger\":\"invoke\",\"target_type\":\"tool\",\"server_name\":"
			    "\"g\",\"result\":\"allowed\"}";
	assert_ptr_equal(log_parser_detect(end, strlen(end)), P);
	assert_ptr_equal(log_parser_detect(audit, strlen(audit)), P);
	assert_ptr_equal(log_parser_find("docker_mcp_gateway"), P);
	const char *other = "{\"level\":\"info\",\"msg\":\"hello\"}";
	assert_int_equal(P->detect(other, strlen(other)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_line_is_the_call),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_audit_event),
		cmocka_unit_test(test_bad_audit),
		cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
