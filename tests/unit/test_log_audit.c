/* Audit-log parsers (parsers/log_toolhive.c, parsers/log_teleport.c): what each extracts from the
 * documented shapes, and how each refuses a hostile line. */
#include "parsers/log_common.h"
#include "parsers/log_parser.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* What one parse produced: a copy of the first gateway observation. */
struct seen {
	int n;
	char method[64], tool[64], target[64], session[64], rpc_id[32], outcome[16],
		outcome_raw[32], client[32], transport[32], protocol[32], src[32], ua[32],
		reason[128];
	bool has_duration;
	double duration_ms;
	int retry;
	json_t *identity;
};

static void cp(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static void on_obs(void *ctx, const struct obs *o)
{
	struct seen *s = ctx;
	if (s->n++ || o->kind != OBS_GATEWAY)
		return;
	const struct obs_gateway *g = o->gateway;
	cp(s->method, sizeof(s->method), g->method);
	cp(s->tool, sizeof(s->tool), g->tool ? g->tool : g->resource_uri);
	cp(s->target, sizeof(s->target), g->target);
	cp(s->session, sizeof(s->session), g->session_id);
	cp(s->rpc_id, sizeof(s->rpc_id), g->rpc_id);
	cp(s->outcome, sizeof(s->outcome), g->outcome);
	cp(s->outcome_raw, sizeof(s->outcome_raw), g->outcome_raw);
	cp(s->client, sizeof(s->client), g->client_name);
	cp(s->transport, sizeof(s->transport), g->transport);
	cp(s->protocol, sizeof(s->protocol), g->protocol_version);
	cp(s->src, sizeof(s->src), g->src_addr);
	cp(s->ua, sizeof(s->ua), g->user_agent);
	cp(s->reason, sizeof(s->reason), g->reason);
	s->has_duration = g->has_duration;
	s->duration_ms = g->duration_ms;
	s->retry = g->retry_attempt;
	s->identity = o->principal ? json_deep_copy(o->principal) : NULL;
}

static enum log_parse_result parse(const char *name, const char *text, struct seen *s,
				   const char **reason)
{
	memset(s, 0, sizeof(*s));
	const struct log_parser *p = log_parser_find(name);
	assert_non_null(p);
	struct log_line line = {text, strlen(text), "test.log", 1};
	*reason = NULL;
	return p->parse(NULL, &line, on_obs, s, reason);
}

static const char *subject(struct seen *s)
{
	return json_string_value(json_object_get(s->identity, "subject"));
}

static const char *actor(struct seen *s, size_t i)
{
	return json_string_value(json_array_get(json_object_get(s->identity, "actors"), i));
}

static void toolhive_slog_tool_call(void **state)
{
	(void)state;
	const char *line =
		"{\"time\":\"2026-08-27T10:00:02Z\",\"level\":\"AUDIT\",\"msg\":\"audit_event\","
		"\"audit_id\":\"a-2\",\"type\":\"mcp_tool_call\",\"logged_at\":\"2026-08-27T10:00:"
		"02Z\","
		"\"outcome\":\"success\",\"component\":\"github\",\"source\":{\"type\":\"network\","
		"\"value\":\"10.1.2.3\",\"extra\":{\"user_agent\":\"cc/1\",\"request_id\":\"r-2\","
		"\"session_id\":\"sess-a\"}},\"subjects\":{\"user\":\"Alice\",\"user_id\":\"alice-"
		"sub\","
		"\"client_name\":\"claude-code\",\"client_version\":\"1.0\"},\"target\":{\"type\":"
		"\"tool\","
		"\"name\":\"create_issue\",\"method\":\"tools/call\"},\"metadata\":{\"extra\":{"
		"\"mcp_version\":\"2025-06-18\",\"transport\":\"streamable-http\",\"duration_ms\":"
		"42,"
		"\"retry_count\":2}},\"delegation\":{\"chain\":[{\"iss\":\"i\",\"sub\":\"agent-7\"}"
		","
		"{\"iss\":\"i\",\"sub\":\"orchestrator\"}],\"truncated\":false,\"omitted\":0,"
		"\"malformed\":false}}";
	struct seen s;
	const char *reason;
	assert_int_equal(parse("toolhive", line, &s, &reason), LOG_PARSE_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.method, "tools/call");
	assert_string_equal(s.tool, "create_issue");
	assert_string_equal(s.target, "github");
	assert_string_equal(s.session, "sess-a");
	assert_string_equal(s.outcome, "ok");
	assert_string_equal(s.client, "claude-code");
	assert_string_equal(s.transport, "streamable-http");
	assert_string_equal(s.protocol, "2025-06-18");
	assert_string_equal(s.src, "10.1.2.3");
	assert_string_equal(s.ua, "cc/1");
	assert_true(s.has_duration);
	assert_true(s.duration_ms == 42);
	assert_int_equal(s.retry, 2);
	/* user_id (the OIDC sub) wins over the display name; chain[0] is the current actor */
	assert_string_equal(subject(&s), "alice-sub");
	assert_string_equal(actor(&s, 0), "agent-7");
	assert_string_equal(actor(&s, 1), "orchestrator");
	json_decref(s.identity);
}

static void toolhive_camel_case_and_outcomes(void **state)
{
	(void)state;
	const char *line = "{\"metadata\":{\"auditId\":\"a-4\",\"extra\":{\"duration_ms\":7.5}},"
			   "\"type\":\"mcp_tool_call\",\"loggedAt\":\"2026-08-27T10:00:04Z\","
			   "\"outcome\":\"application_error\",\"subjects\":{\"user\":\"bob\"},"
			   "\"component\":\"fs\",\"target\":{\"name\":\"read_file\"}}";
	struct seen s;
	const char *reason;
	assert_int_equal(parse("toolhive", line, &s, &reason), LOG_PARSE_OK);
	assert_string_equal(s.method, "tools/call");
	assert_string_equal(s.tool, "read_file");
	assert_string_equal(s.outcome, "tool_error");
	assert_string_equal(s.outcome_raw, "application_error");
	assert_string_equal(subject(&s), "bob");
	json_decref(s.identity);

	line = "{\"msg\":\"audit_event\",\"audit_id\":\"a\",\"type\":\"mcp_tool_call\","
	       "\"logged_at\":\"2026-08-27T10:00:04Z\",\"outcome\":\"denied\","
	       "\"subjects\":{\"user\":\"anonymous\"},\"target\":{\"name\":\"rm\"}}";
	assert_int_equal(parse("toolhive", line, &s, &reason), LOG_PARSE_OK);
	assert_string_equal(s.outcome, "denied");
	assert_null(subject(&s));
	assert_string_equal(json_string_value(json_object_get(s.identity, "source")), "anonymous");
	json_decref(s.identity);

	line = "{\"msg\":\"audit_event\",\"audit_id\":\"a\",\"type\":\"mcp_request\","
	       "\"logged_at\":\"2026-08-27T10:00:04Z\",\"outcome\":\"failure\","
	       "\"target\":{\"method\":\"tasks/get\"}}";
	assert_int_equal(parse("toolhive", line, &s, &reason), LOG_PARSE_OK);
	assert_string_equal(s.method, "tasks/get");
	assert_string_equal(s.outcome, "error");
	json_decref(s.identity);
}

static void toolhive_skips_and_refuses(void **state)
{
	(void)state;
	struct seen s;
	const char *reason;
	/* its own application log and non-MCP audit events say nothing about a call */
	assert_int_equal(parse("toolhive",
			       "{\"time\":\"2026-08-27T10:00:00Z\",\"level\":\"INFO\","
			       "\"msg\":\"server started\"}",
			       &s, &reason),
			 LOG_PARSE_SKIP);
	assert_int_equal(parse("toolhive",
			       "{\"msg\":\"audit_event\",\"audit_id\":\"a\","
			       "\"type\":\"sse_connection\",\"logged_at\":"
			       "\"2026-08-27T10:00:00Z\"}",
			       &s, &reason),
			 LOG_PARSE_SKIP);
	assert_int_equal(s.n, 0);
	const char *bad[] = {
		"{\"msg\":\"audit_event\",\"audit_id\":\"a\",\"type\":42,\"logged_at\":\"x\"}",
		"{\"msg\":\"audit_event\",\"audit_id\":\"a\",\"type\":\"mcp_tool_call\","
		"\"logged_at\":\"yesterday\"}",
		"{\"msg\":\"audit_event\",\"audit_id\":\"trunc",
		"[1,2,3]",
		"{\"msg\":\"audit_event\",\"type\":\"mcp_tool_call\",\"logged_at\":\"\xff\xfe\"}",
		/* a line of another format: refused so that the importer hands it over */
		"{\"level\":\"info\",\"time\":\"2026-08-27T00:22:00Z\",\"scope\":\"request\","
		"\"mcp.method.name\":\"tools/call\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse("toolhive", bad[i], &s, &reason), LOG_PARSE_BAD);
		assert_non_null(reason);
		assert_int_equal(s.n, 0);
	}
}

static void teleport_request_events(void **state)
{
	(void)state;
	const char *line =
		"{\"code\":\"TMCP003I\",\"ei\":1,\"event\":\"mcp.session.request\",\"namespace\":"
		"\"default\",\"server_id\":\"srv\",\"sid\":\"sid-1\",\"time\":"
		"\"2025-05-23T12:22:22.222Z\",\"uid\":\"u-1\",\"user\":\"ai-user\",\"app_name\":"
		"\"mcp-everything\",\"success\":true,\"message\":{\"jsonrpc\":\"2.0\",\"method\":"
		"\"tools/call\",\"id\":\"7\",\"params\":{\"name\":\"echo\",\"arguments\":{\"k\":"
		"\"sk-SECRET\"}}}}";
	struct seen s;
	const char *reason;
	assert_int_equal(parse("teleport", line, &s, &reason), LOG_PARSE_OK);
	assert_string_equal(s.method, "tools/call");
	assert_string_equal(s.tool, "echo");
	assert_string_equal(s.rpc_id, "7");
	assert_string_equal(s.session, "sid-1");
	assert_string_equal(s.target, "mcp-everything");
	assert_string_equal(s.outcome, "ok");
	assert_string_equal(subject(&s), "ai-user");
	json_decref(s.identity);

	line = "{\"code\":\"TMCP003E\",\"event\":\"mcp.session.request\",\"sid\":\"sid-1\","
	       "\"time\":\"2025-05-23T12:22:23Z\",\"user\":\"ai-user\",\"app_name\":\"a\","
	       "\"success\":false,\"error\":\"access denied to MCP tool\",\"message\":"
	       "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"id\":8,\"params\":{\"name\":"
	       "\"rm\"}}}";
	assert_int_equal(parse("teleport", line, &s, &reason), LOG_PARSE_OK);
	assert_string_equal(s.rpc_id, "8");
	assert_string_equal(s.outcome, "denied");
	assert_string_equal(s.reason, "access denied to MCP tool");
	json_decref(s.identity);

	line = "{\"code\":\"TMCP003E\",\"event\":\"mcp.session.request\",\"sid\":\"s\","
	       "\"time\":\"2025-05-23T12:22:23Z\",\"user\":\"u\",\"success\":false,\"error\":"
	       "\"upstream closed\",\"message\":{\"method\":\"resources/read\",\"id\":9,"
	       "\"params\":{\"uri\":\"file:///x\"}}}";
	assert_int_equal(parse("teleport", line, &s, &reason), LOG_PARSE_OK);
	assert_string_equal(s.method, "resources/read");
	assert_string_equal(s.tool, "file:///x");
	assert_string_equal(s.outcome, "error");
	json_decref(s.identity);
}

static void teleport_skips_and_refuses(void **state)
{
	(void)state;
	struct seen s;
	const char *reason;
	const char *quiet[] = {
		"{\"code\":\"TMCP001I\",\"event\":\"mcp.session.start\",\"sid\":\"s\",\"time\":"
		"\"2025-05-23T12:22:22Z\",\"user\":\"u\",\"app_name\":\"a\",\"success\":true}",
		"{\"code\":\"TMCP002I\",\"event\":\"mcp.session.end\",\"sid\":\"s\",\"time\":"
		"\"2025-05-23T12:22:22Z\",\"user\":\"u\",\"app_name\":\"a\",\"success\":true}",
	};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(parse("teleport", quiet[i], &s, &reason), LOG_PARSE_SKIP);
		assert_int_equal(s.n, 0);
	}
	assert_int_equal(parse("teleport",
			       "{\"code\":\"TMCP006E\",\"event\":"
			       "\"mcp.session.invalid_http_request\",\"sid\":\"s\","
			       "\"time\":\"2025-05-23T12:22:22Z\",\"method\":\"OPTIONS\"}",
			       &s, &reason),
			 LOG_PARSE_OK);
	assert_int_equal(s.n, 0);
	const char *bad[] = {
		"{\"event\":\"mcp.session.request\",\"time\":\"2025-05-23T12:22:22Z\","
		"\"message\":{\"method\":42}}",
		"{\"event\":\"mcp.session.request\",\"time\":\"soon\",\"message\":{\"method\":"
		"\"tools/call\"}}",
		"{\"event\":7}",
		"{\"event\":\"mcp.session.request\",\"message\":",
		"{\"event\":\"mcp.session.request\",\"time\":\"2025-05-23T12:22:22Z\","
		"\"message\":\"tools/call\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse("teleport", bad[i], &s, &reason), LOG_PARSE_BAD);
		assert_non_null(reason);
		assert_int_equal(s.n, 0);
	}
}

static void detection(void **state)
{
	(void)state;
	const char *th = "{\"time\":\"t\",\"level\":\"AUDIT\",\"msg\":\"audit_event\","
			 "\"audit_id\":\"a\",\"type\":\"mcp_tool_call\"}";
	const char *tp = "{\"code\":\"TMCP003I\",\"ei\":0,\"event\":\"mcp.session.request\"}";
	assert_string_equal(log_parser_detect(th, strlen(th))->name, "toolhive");
	assert_string_equal(log_parser_detect(tp, strlen(tp))->name, "teleport");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(toolhive_slog_tool_call),
		cmocka_unit_test(toolhive_camel_case_and_outcomes),
		cmocka_unit_test(toolhive_skips_and_refuses),
		cmocka_unit_test(teleport_request_events),
		cmocka_unit_test(teleport_skips_and_refuses),
		cmocka_unit_test(detection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
