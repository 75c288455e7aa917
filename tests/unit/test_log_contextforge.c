/* ContextForge parser (parsers/log_contextforge.c): audit trail rows, SIEM envelopes,
 * token-exchange audit events and structured tool-invoke entries; what each yields, what is
 * skipped, and how hostile lines are refused. */
#include "parsers/log_common.h"
#include "parsers/log_parser.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct seen {
	int n;
	enum obs_kind kind;
	char method[32], tool[64], target[64], request[32], outcome[16], outcome_raw[32], src[32],
		ua[32], reason[128], error[64], trace[40], kind_word[32];
	bool has_duration;
	double duration_ms;
	/* grant */
	char grant_type[32], audience[64], tx_subject[64], grant_error[32];
	bool success, has_expires;
	int64_t time_ns, expires_ns;
	json_t *identity;
};

static void cp(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static void on_obs(void *ctx, const struct obs *o)
{
	struct seen *s = ctx;
	if (s->n++)
		return;
	s->kind = o->kind;
	s->time_ns = o->time_ns;
	s->identity = o->principal ? json_deep_copy(o->principal) : NULL;
	if (o->kind == OBS_GRANT) {
		const struct obs_grant *g = o->grant;
		cp(s->grant_type, sizeof(s->grant_type), g->grant_type);
		cp(s->audience, sizeof(s->audience), g->audience);
		cp(s->tx_subject, sizeof(s->tx_subject), g->subject_token_subject);
		cp(s->grant_error, sizeof(s->grant_error), g->error);
		cp(s->kind_word, sizeof(s->kind_word), g->event_kind);
		s->success = g->success;
		s->has_expires = g->has_expires;
		s->expires_ns = g->expires_ns;
		return;
	}
	const struct obs_gateway *g = o->gateway;
	cp(s->method, sizeof(s->method), g->method);
	cp(s->tool, sizeof(s->tool), g->tool);
	cp(s->target, sizeof(s->target), g->target);
	cp(s->request, sizeof(s->request), g->request_id);
	cp(s->outcome, sizeof(s->outcome), g->outcome);
	cp(s->outcome_raw, sizeof(s->outcome_raw), g->outcome_raw);
	cp(s->src, sizeof(s->src), g->src_addr);
	cp(s->ua, sizeof(s->ua), g->user_agent);
	cp(s->reason, sizeof(s->reason), g->reason);
	cp(s->error, sizeof(s->error), g->error_message);
	cp(s->trace, sizeof(s->trace), g->trace_id);
	cp(s->kind_word, sizeof(s->kind_word), g->event_kind);
	s->has_duration = g->has_duration;
	s->duration_ms = g->duration_ms;
}

static enum log_parse_result parse(const char *text, struct seen *s, const char **reason)
{
	memset(s, 0, sizeof(*s));
	const struct log_parser *p = log_parser_find("contextforge");
	assert_non_null(p);
	struct log_line line = {text, strlen(text), "test.log", 1};
	*reason = NULL;
	return p->parse(NULL, &line, on_obs, s, reason);
}

static const char *idstr(struct seen *s, const char *key)
{
	return json_string_value(json_object_get(s->identity, key));
}

static const char *actor(struct seen *s, size_t i)
{
	return json_string_value(json_array_get(json_object_get(s->identity, "actors"), i));
}

static void done(struct seen *s)
{
	json_decref(s->identity);
	s->identity = NULL;
}

static void audit_trail_tool_execution(void **state)
{
	(void)state;
	struct seen s;
	const char *why;
	assert_int_equal(
		parse("{\"id\":\"a1\",\"timestamp\":\"2026-08-27T10:00:00.120000+00:00\","
		      "\"correlation_id\":\"corr-1\",\"request_id\":\"req-1\",\"action\":"
		      "\"EXECUTE\","
		      "\"resource_type\":\"tool\",\"resource_id\":\"7c\",\"resource_name\":"
		      "\"create_"
		      "issue\",\"user_id\":\"u-1\",\"user_email\":\"alice@example.com\","
		      "\"client_ip\":\"10.1.2.3\",\"user_agent\":\"claude-code/1.0\","
		      "\"new_values\":{\"token\":\"SECRET\"},\"data_classification\":\"internal\","
		      "\"requires_review\":false,\"success\":true,\"context\":{\"gateway_name\":"
		      "\"github\"},\"auth_method\":\"bearer\",\"acting_as\":\"svc@example.com\","
		      "\"delegation_chain\":{\"chain\":[\"orch@example.com\",{\"sub\":\"root-"
		      "agent\"},"
		      "\"alice@example.com\"]}}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.kind, OBS_GATEWAY);
	assert_string_equal(s.method, "tools/call");
	assert_string_equal(s.tool, "create_issue");
	assert_string_equal(s.target, "github");
	assert_string_equal(s.request, "req-1");
	assert_string_equal(s.outcome, "ok");
	assert_string_equal(s.src, "10.1.2.3");
	assert_string_equal(s.ua, "claude-code/1.0");
	assert_string_equal(s.kind_word, "EXECUTE");
	assert_string_equal(idstr(&s, "subject"), "alice@example.com");
	assert_string_equal(idstr(&s, "source"), "gateway_log");
	assert_string_equal(actor(&s, 0), "svc@example.com");
	assert_string_equal(actor(&s, 1), "orch@example.com");
	assert_string_equal(actor(&s, 2), "root-agent");
	assert_null(actor(&s, 3)); /* the subject itself is not its own actor */
	done(&s);

	/* failure: a permission error is a refusal, anything else an error; user_id when no
	 * email; lower-case "invoke" counts too */
	assert_int_equal(
		parse("{\"timestamp\":\"2026-08-27T10:00:01Z\",\"correlation_id\":\"corr-2\","
		      "\"action\":\"invoke\",\"resource_type\":\"tool\",\"resource_id\":\"x\","
		      "\"resource_name\":\"delete_repo\",\"user_id\":\"bob@example.com\","
		      "\"user_email\":null,\"success\":false,\"client_ip\":\"unknown\","
		      "\"error_message\":\"Permission denied for team\"}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_string_equal(s.outcome, "denied");
	assert_string_equal(s.reason, "Permission denied for team");
	assert_string_equal(s.request, "corr-2");
	assert_string_equal(s.src, "");
	assert_string_equal(idstr(&s, "subject"), "bob@example.com");
	done(&s);
	assert_int_equal(parse("{\"timestamp\":\"2026-08-27T10:00:01Z\",\"action\":\"EXECUTE\","
			       "\"resource_type\":\"tool\",\"resource_id\":\"x\",\"resource_name\":"
			       "\"t\",\"user_id\":\"anonymous\",\"success\":false,"
			       "\"error_message\":\"upstream 502\"}",
			       &s, &why),
			 LOG_PARSE_OK);
	assert_string_equal(s.outcome, "error");
	assert_string_equal(s.error, "upstream 502");
	assert_null(idstr(&s, "subject"));
	assert_string_equal(idstr(&s, "source"), "anonymous");
	done(&s);
}

static void siem_envelopes(void **state)
{
	(void)state;
	struct seen s;
	const char *why;
	assert_int_equal(
		parse("{\"schema_version\":\"1.0\",\"event_id\":\"evt_1\",\"timestamp\":\"2026-08-"
		      "27T10:00:04.5+00:00\",\"event_type\":\"audit_execute\",\"severity\":\"LOW\","
		      "\"category\":\"audit\",\"description\":\"Audit action EXECUTE\",\"source\":{"
		      "\"service\":\"mcpgateway\"},\"actor\":{\"user_id\":\"carol@example.com\","
		      "\"user_email\":\"***REDACTED***\",\"client_ip\":\"10.1.2.5\",\"user_agent\":"
		      "\"cursor\"},\"context\":{\"action\":\"EXECUTE\",\"resource_type\":\"tool\","
		      "\"resource_name\":\"search\",\"success\":true,\"correlation_id\":\"corr-5\"}"
		      ","
		      "\"action_taken\":\"allowed\",\"_meta\":{\"attempt\":0}}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_string_equal(s.method, "tools/call");
	assert_string_equal(s.tool, "search");
	assert_string_equal(s.outcome, "ok");
	assert_string_equal(s.outcome_raw, "allowed");
	assert_string_equal(s.request, "corr-5");
	assert_string_equal(s.kind_word, "audit_execute");
	/* the redacted email is not a subject: user_id is */
	assert_string_equal(idstr(&s, "subject"), "carol@example.com");
	done(&s);

	assert_int_equal(
		parse("{\"schema_version\":\"1.0\",\"timestamp\":\"2026-08-27T10:00:04Z\","
		      "\"event_type\":\"audit_execute\",\"description\":\"Audit action EXECUTE on "
		      "tool/9 (x): "
		      "boom\",\"actor\":{\"user_email\":\"d@example.com\"},\"context\":{"
		      "\"resource_type\":\"tool\",\"resource_name\":\"x\",\"success\":false},"
		      "\"action_taken\":\"denied\"}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_string_equal(s.outcome, "error");
	assert_string_equal(s.outcome_raw, "denied");
	assert_string_equal(idstr(&s, "subject"), "d@example.com");
	done(&s);

	/* authentication and administrative audit events say nothing about a call */
	assert_int_equal(parse("{\"schema_version\":\"1.0\",\"timestamp\":\"2026-08-27T10:00:05Z\","
			       "\"event_type\":\"authentication_failure\",\"actor\":{},"
			       "\"action_taken\":\"denied\"}",
			       &s, &why),
			 LOG_PARSE_SKIP);
	assert_int_equal(s.n, 0);
	assert_int_equal(parse("{\"schema_version\":\"1.0\",\"timestamp\":\"2026-08-27T10:00:05Z\","
			       "\"event_type\":\"audit_delete\",\"context\":{\"resource_type\":"
			       "\"tool\",\"resource_name\":\"x\"},\"action_taken\":\"allowed\"}",
			       &s, &why),
			 LOG_PARSE_SKIP);
	assert_int_equal(s.n, 0);
}

static void token_exchange_grants(void **state)
{
	(void)state;
	struct seen s;
	const char *why;
	assert_int_equal(
		parse("{\"event\":\"token-exchange\",\"timestamp\":\"2026-08-27T10:00:06Z\","
		      "\"user_email\":\"alice@example.com\",\"gateway_id\":\"gw-7\","
		      "\"target_audience\":\"https://api.example\",\"success\":true,"
		      "\"exchanged_token_expires_in\":3600,\"upstream\":\"u\","
		      "\"latency_ms\":84,\"error\":null}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_int_equal(s.kind, OBS_GRANT);
	assert_string_equal(s.grant_type, "token_exchange");
	assert_string_equal(s.audience, "https://api.example");
	assert_string_equal(s.tx_subject, "alice@example.com");
	assert_string_equal(s.kind_word, "token-exchange");
	assert_true(s.success);
	assert_true(s.has_expires);
	assert_true(s.expires_ns - s.time_ns == 3600LL * 1000000000LL);
	assert_string_equal(idstr(&s, "subject"), "alice@example.com");
	assert_true(json_is_null(json_object_get(s.identity, "client_id")));
	done(&s);

	/* nested under "token_exchange" of a JSON log record; the record's time */
	assert_int_equal(parse("{\"timestamp\":\"2026-08-27T10:00:07Z\",\"level\":\"WARNING\","
			       "\"token_exchange\":{\"event\":\"token-exchange\",\"user_email\":"
			       "\"dave@example.com\",\"gateway_id\":\"gw-9\",\"target_audience\":"
			       "null,\"success\":false,\"exchanged_token_expires_in\":null,"
			       "\"error\":\"invalid_grant\"}}",
			       &s, &why),
			 LOG_PARSE_OK);
	assert_false(s.success);
	assert_false(s.has_expires);
	assert_string_equal(s.grant_error, "invalid_grant");
	assert_string_equal(s.audience, "");
	done(&s);

	/* as a structured entry's custom_fields */
	assert_int_equal(
		parse("{\"timestamp\":\"2026-08-27T10:00:07Z\",\"level\":\"INFO\","
		      "\"component\":\"token_exchange\",\"custom_fields\":{\"event\":"
		      "\"token-exchange\",\"user_email\":\"e@example.com\",\"success\":true,"
		      "\"exchanged_token_expires_in\":60}}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_int_equal(s.kind, OBS_GRANT);
	assert_true(s.has_expires);
	done(&s);

	assert_int_equal(
		parse("{\"event\":\"token-exchange\",\"user_email\":\"a\",\"success\":true}", &s,
		      &why),
		LOG_PARSE_BAD);
	assert_non_null(strstr(why, "timestamp"));
	assert_int_equal(
		parse("{\"event\":\"token-exchange\",\"timestamp\":\"2026-08-27T10:00:06Z\","
		      "\"success\":\"yes\"}",
		      &s, &why),
		LOG_PARSE_BAD);
	assert_int_equal(
		parse("{\"event\":\"token-exchange\",\"timestamp\":\"2026-08-27T10:00:06Z\","
		      "\"success\":true,\"user_email\":[1]}",
		      &s, &why),
		LOG_PARSE_BAD);
	assert_int_equal(s.n, 0);
}

static void structured_entries(void **state)
{
	(void)state;
	struct seen s;
	const char *why;
	assert_int_equal(
		parse("{\"timestamp\":\"2026-08-27T10:00:08Z\",\"level\":\"ERROR\",\"component\":"
		      "\"tool_service\",\"user_email\":\"erin@example.com\",\"resource_type\":"
		      "\"tool\","
		      "\"resource_action\":\"invoke\",\"duration_ms\":42.5,\"error_message\":"
		      "\"upstream timeout\",\"custom_fields\":{\"tool_name\":\"read_file\"},"
		      "\"correlation_id\":\"corr-8\",\"trace_id\":"
		      "\"4bf92f3577b34da6a3ce929d0e0e4736\"}",
		      &s, &why),
		LOG_PARSE_OK);
	assert_string_equal(s.tool, "read_file");
	assert_string_equal(s.outcome, "error");
	assert_string_equal(s.error, "upstream timeout");
	assert_true(s.has_duration);
	assert_true(s.duration_ms > 42.4 && s.duration_ms < 42.6);
	assert_string_equal(s.trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(s.request, "corr-8");
	assert_string_equal(idstr(&s, "subject"), "erin@example.com");
	done(&s);

	/* the StructuredLogEntry row keeps the resource fields under "context" */
	assert_int_equal(parse("{\"timestamp\":\"2026-08-27T10:00:08Z\",\"level\":\"INFO\","
			       "\"component\":\"tool_service\",\"user_id\":\"f@example.com\","
			       "\"context\":{\"resource_type\":\"tool\",\"resource_action\":"
			       "\"invoke\",\"custom_fields\":{\"name\":\"echo\"}}}",
			       &s, &why),
			 LOG_PARSE_OK);
	assert_string_equal(s.tool, "echo");
	assert_string_equal(s.outcome, "ok");
	done(&s);

	assert_int_equal(parse("{\"timestamp\":\"2026-08-27T10:00:09Z\",\"level\":\"INFO\","
			       "\"component\":\"gateway_service\",\"resource_type\":\"gateway\","
			       "\"resource_action\":\"create\"}",
			       &s, &why),
			 LOG_PARSE_SKIP);
	assert_int_equal(
		parse("{\"timestamp\":\"2026-08-27T10:00:09Z\",\"component\":\"tool_"
		      "service\",\"resource_type\":\"tool\",\"resource_action\":\"invoke\"}",
		      &s, &why),
		LOG_PARSE_BAD);
	assert_int_equal(s.n, 0);
}

static void skips_and_refusals(void **state)
{
	(void)state;
	struct seen s;
	const char *why;
	/* administrative audit rows */
	assert_int_equal(parse("{\"timestamp\":\"2026-08-27T10:00:02Z\",\"action\":\"CREATE\","
			       "\"resource_type\":\"server\",\"resource_id\":\"s\",\"user_email\":"
			       "\"a@example.com\",\"data_classification\":\"internal\"}",
			       &s, &why),
			 LOG_PARSE_SKIP);
	assert_int_equal(parse("{\"timestamp\":\"2026-08-27T10:00:02Z\",\"action\":\"UPDATE\","
			       "\"resource_type\":\"tool\",\"resource_id\":\"s\",\"resource_name\":"
			       "\"x\"}",
			       &s, &why),
			 LOG_PARSE_SKIP);
	assert_int_equal(s.n, 0);
	static const char *const bad[] = {
		"",
		"not json",
		"{\"event\":\"token-exchange\",\"user_email\":\"a@exa",
		"[1,2]",
		"{\"foo\":1}",
		"{\"timestamp\":true,\"action\":\"EXECUTE\",\"resource_type\":\"tool\","
		"\"resource_id\":\"t\",\"resource_name\":\"x\"}",
		"{\"timestamp\":\"2026-08-27T10:00:00Z\",\"action\":\"EXECUTE\",\"resource_type\":"
		"\"tool\",\"resource_id\":\"t\"}",
		"{\"timestamp\":\"2026-08-27T10:00:00Z\",\"action\":\"EXECUTE\",\"resource_type\":"
		"\"tool\",\"resource_id\":\"t\",\"resource_name\":\"x\",\"success\":\"maybe\"}",
		"{\"timestamp\":\"2026-08-27T10:00:00Z\",\"action\":7,\"resource_type\":\"tool\","
		"\"resource_id\":\"t\"}",
		"{\"schema_version\":\"1.0\",\"event_type\":42,\"timestamp\":\"2026-08-27T10:00:"
		"00Z\"}",
		"{\"schema_version\":\"1.0\",\"event_type\":\"audit_execute\",\"timestamp\":\"x\","
		"\"context\":{\"resource_type\":\"tool\",\"resource_name\":\"x\"}}",
		"{\"schema_version\":\"1.0\",\"event_type\":\"audit_execute\",\"timestamp\":"
		"\"2026-08-27T10:00:00Z\",\"context\":{\"resource_type\":\"tool\",\"resource_"
		"name\":3}}",
		"{\"action\":\"EXECUTE\",\"resource_type\":\"tool\",\"resource_id\":\"t\","
		"\"resource_name\":\"\xff\xfe\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &s, &why), LOG_PARSE_BAD);
		assert_non_null(why);
		assert_int_equal(s.n, 0);
	}
}

static void detection(void **state)
{
	(void)state;
	static const char *const ours[] = {
		"{\"timestamp\":\"2026-08-27T10:00:00Z\",\"action\":\"EXECUTE\",\"resource_type\":"
		"\"tool\",\"resource_id\":\"t\",\"data_classification\":\"internal\"}",
		"{\"schema_version\":\"1.0\",\"event_type\":\"audit_execute\",\"action_taken\":"
		"\"allowed\"}",
		"{\"event\":\"token-exchange\",\"user_email\":\"a\",\"gateway_id\":\"g\"}",
		"{\"level\":\"INFO\",\"component\":\"tool_service\",\"resource_action\":"
		"\"invoke\"}",
	};
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		const struct log_parser *p = log_parser_detect(ours[i], strlen(ours[i]));
		assert_non_null(p);
		assert_string_equal(p->name, "contextforge");
	}
	const char *agw = "{\"level\":\"info\",\"time\":\"2026-03-01T09:00:06.251Z\",\"scope\":"
			  "\"request\",\"src.addr\":\"127.0.0.1:1\",\"mcp.method.name\":\"tools/"
			  "call\",\"gen_ai.tool.name\":\"echo\"}";
	assert_string_equal(log_parser_detect(agw, strlen(agw))->name, "agentgateway");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(audit_trail_tool_execution), cmocka_unit_test(siem_envelopes),
		cmocka_unit_test(token_exchange_grants),      cmocka_unit_test(structured_entries),
		cmocka_unit_test(skips_and_refusals),	      cmocka_unit_test(detection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
