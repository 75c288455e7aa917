/* Unit tests for the configured log parsers: the JSON field mapper and the regex parser
 * (parsers/log_mapper.c, log_regex.c, log_fields.c): configuration errors that name the path,
 * transforms, time formats, detection, and bad lines. */
#include "parsers/log_mapper.h"

#include "log_test_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* state_new on config text; NULL with err when refused. */
static void *make(const struct log_parser *p, const char *config, char *err, size_t errlen)
{
	json_error_t je;
	json_t *c = json_loads(config, 0, &je);
	assert_non_null(c);
	err[0] = '\0';
	void *s = p->state_new(c, "cfg.json", err, errlen);
	json_decref(c);
	return s;
}

static void expect_error(const struct log_parser *p, const char *config, const char *want)
{
	char err[1024];
	void *s = make(p, config, err, sizeof(err));
	if (s || !strstr(err, want)) {
		fprintf(stderr, "config %s\n  gave '%s', expected '%s'\n", config, err, want);
		fail();
	}
}

static void mapper_validation(void **st)
{
	(void)st;
	const struct log_parser *m = &log_parser_mapper;
	expect_error(m, "{\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":\"x\"}}",
		     "cfg.json: kind: expected \"call\" or \"grant\"");
	expect_error(m, "{\"kind\":\"call\",\"fields\":{\"tool\":\"x\"}}",
		     "cfg.json: time: expected");
	expect_error(
		m,
		"{\"kind\":\"call\",\"time\":{\"format\":\"rfc3339\"},\"fields\":{\"tool\":\"x\"}}",
		"cfg.json: time.path: expected a string path");
	expect_error(m,
		     "{\"kind\":\"call\",\"time\":{\"path\":\"t\",\"format\":\"unix\"},\"fields\":{"
		     "\"tool\":\"x\"}}",
		     "cfg.json: time.format: expected rfc3339");
	expect_error(m, "{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"subject\":7}}",
		     "cfg.json: fields.subject: expected a string path");
	expect_error(m,
		     "{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"toolz\":\"x\"}}",
		     "cfg.json: fields.toolz: unknown field (expected one of: subject");
	expect_error(
		m,
		"{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"grant_type\":\"x\"}}",
		"cfg.json: fields.grant_type: not a field of kind \"call\"");
	expect_error(m,
		     "{\"kind\":\"grant\",\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":\"x\"}}",
		     "cfg.json: fields.tool: not a field of kind \"grant\"");
	expect_error(
		m,
		"{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":{\"path\":\"x\","
		"\"transform\":\"reverse\"}}}",
		"cfg.json: fields.tool.transform: unknown transform \"reverse\"");
	expect_error(
		m,
		"{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":{\"path\":\"x\","
		"\"transform\":\"duration\"}}}",
		"cfg.json: fields.tool.transform: \"duration\" does not apply to tool");
	expect_error(m,
		     "{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"outcome\":{"
		     "\"path\":\"x\","
		     "\"map\":{\"a\":1}}}}",
		     "cfg.json: fields.outcome.map.a: expected a string");
	expect_error(
		m,
		"{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":{\"transform\":"
		"\"lower\"}}}",
		"cfg.json: fields.tool: expected exactly one of \"path\" and \"value\"");
	expect_error(
		m,
		"{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":{\"path\":\"x\","
		"\"pth\":\"y\"}}}",
		"cfg.json: fields.tool.pth: unknown key");
	expect_error(m, "{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{}}",
		     "cfg.json: fields: expected an object");
	expect_error(m,
		     "{\"kind\":\"call\",\"time\":{\"path\":\"t\"},\"fields\":{\"tool\":\"x\"},"
		     "\"extra\":1}",
		     "cfg.json: extra: unknown key");
	expect_error(m,
		     "{\"kind\":\"call\",\"detect\":{\"equals\":\"x\"},\"time\":{\"path\":\"t\"},"
		     "\"fields\":{\"tool\":\"x\"}}",
		     "cfg.json: detect.path: expected a string path");
	expect_error(m,
		     "{\"kind\":\"call\",\"detect\":{\"path\":\"p\",\"matches\":\"(\"},\"time\":{"
		     "\"path\":"
		     "\"t\"},\"fields\":{\"tool\":\"x\"}}",
		     "cfg.json: detect.matches: at offset 1");
	expect_error(m, "[1]", "cfg.json: expected a JSON object");
}

static const char *call_config =
	"{\"name\":\"gw\",\"detect\":{\"path\":\"kind\",\"equals\":\"mcp\"},\"kind\":\"call\","
	"\"time\":{\"path\":\"ts\",\"format\":\"epoch_ms\"},\"fields\":{"
	"\"tool\":{\"path\":\"op\",\"transform\":\"last_segment\"},"
	"\"method\":{\"value\":\"tools/call\"},"
	"\"target\":{\"path\":\"backend\",\"transform\":\"lower\"},"
	"\"duration_ms\":{\"path\":\"took\",\"transform\":\"duration\"},"
	"\"outcome\":{\"path\":\"status\",\"transform\":\"http_outcome\"},"
	"\"http_status\":\"status\",\"decision\":{\"path\":\"verdict\",\"map\":{\"ALLOW\":"
	"\"allow\","
	"\"DENY\":\"deny\"}},\"subject\":\"user.email\",\"client_id\":\"user.app\","
	"\"scopes\":{\"path\":\"scp\",\"transform\":\"split_scopes\"},\"actors\":\"act\","
	"\"jti\":\"tok.jti\",\"exp\":\"tok.exp\",\"rpc_id\":\"id\"}}";

static void mapper_call_fields(void **st)
{
	(void)st;
	char err[1024];
	void *s = make(&log_parser_mapper, call_config, err, sizeof(err));
	assert_non_null(s);
	json_t *out;
	const char *reason;
	const char *line =
		"{\"kind\":\"mcp\",\"ts\":1787824800250,\"op\":\"/apis/github/create_issue\","
		"\"backend\":\"GitHub\",\"took\":\"1m2.5s\",\"status\":403,\"verdict\":"
		"\"DENY\",\"user\":{\"email\":\"alice@example.com\",\"app\":\"cli\"},"
		"\"scp\":\"a, b a\",\"act\":[\"agent-1\"],\"tok.jti\":\"j-1\",\"tok\":"
		"{\"exp\":1787828400},\"id\":42}";
	assert_int_equal(lth_parse(&log_parser_mapper, s, line, &out, &reason), LOG_PARSE_OK);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(lth_str(out, "kind"), "gateway");
	assert_string_equal(lth_str(out, "format"), "gw");
	assert_string_equal(lth_str(out, "tool"), "create_issue");
	assert_string_equal(lth_str(out, "method"), "tools/call");
	assert_string_equal(lth_str(out, "target"), "github");
	assert_string_equal(lth_str(out, "outcome"), "denied");
	assert_string_equal(lth_str(out, "decision"), "deny");
	assert_string_equal(lth_str(out, "rpc_id"), "42");
	json_t *o = json_array_get(out, 0);
	assert_true(json_real_value(json_object_get(o, "duration_ms")) == 62500.0);
	assert_int_equal(json_integer_value(json_object_get(o, "http_status")), 403);
	assert_int_equal(json_integer_value(json_object_get(o, "time_ns")), 1787824800250000000LL);
	assert_string_equal(lth_id(out, "subject"), "alice@example.com");
	assert_string_equal(lth_id(out, "client_id"), "cli");
	assert_string_equal(lth_id(out, "source"), "gateway_log");
	assert_int_equal(json_array_size(lth_id_array(out, "scopes")), 2);
	assert_int_equal(json_array_size(lth_id_array(out, "actors")), 1);
	json_t *tok = json_object_get(json_object_get(o, "identity"), "token");
	assert_string_equal(json_string_value(json_object_get(tok, "jti")), "j-1");
	assert_int_equal(json_integer_value(json_object_get(tok, "exp")), 1787828400);
	json_decref(out);

	/* detect: other lines are skipped; no method nor tool: skipped */
	assert_int_equal(
		lth_parse(&log_parser_mapper, s, "{\"kind\":\"http\",\"ts\":1}", &out, &reason),
		LOG_PARSE_SKIP);
	json_decref(out);
	/* bad lines: no time, wrong time, not JSON */
	const char *bad[] = {"{\"kind\":\"mcp\",\"op\":\"x\"}",
			     "{\"kind\":\"mcp\",\"ts\":\"noon\"}", "{\"kind\":\"mcp\"", "\xff\xfe",
			     "{\"kind\":\"mcp\",\"ts\":-5}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lth_parse(&log_parser_mapper, s, bad[i], &out, &reason),
				 LOG_PARSE_BAD);
		assert_non_null(reason);
		assert_int_equal(json_array_size(out), 0);
		json_decref(out);
	}
	/* wrong types are ignored, the outcome derived */
	const char *types = "{\"kind\":\"mcp\",\"ts\":1787824800250,\"op\":{},\"took\":[1],"
			    "\"status\":\"x\",\"user\":7,\"scp\":{},\"act\":5}";
	assert_int_equal(lth_parse(&log_parser_mapper, s, types, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "outcome"), "ok");
	assert_null(lth_str(out, "tool"));
	assert_null(json_object_get(json_array_get(out, 0), "duration_ms"));
	json_decref(out);
	log_parser_mapper.state_free(s);
	log_parser_mapper.state_free(NULL);
}

static void mapper_grant_fields(void **st)
{
	(void)st;
	char err[1024];
	void *s = make(
		&log_parser_mapper,
		"{\"kind\":\"grant\",\"detect\":{\"path\":\"event\",\"prefix\":\"token.\"},"
		"\"time\":{\"path\":\"at\",\"format\":\"rfc3339\"},\"fields\":{"
		"\"grant_type\":\"gt\",\"token_id\":\"tid\",\"subject\":\"sub\",\"issuer\":"
		"{\"value\":\"https://idp\"},\"client_id\":\"cid\",\"scopes\":\"scopes\","
		"\"success\":{\"path\":\"result\",\"transform\":\"outcome\"},\"error\":\"why\","
		"\"expires\":\"exp\",\"requested_token_type\":\"rtt\",\"event_kind\":\"event\"}}",
		err, sizeof(err));
	assert_non_null(s);
	json_t *out;
	const char *reason;
	const char *line =
		"{\"event\":\"token.issued\",\"at\":\"2026-08-27T12:00:00+02:00\",\"gt\":"
		"\"urn:ietf:params:oauth:grant-type:token-exchange\",\"tid\":\"t9\","
		"\"sub\":\"alice\",\"cid\":\"https://a/c.json\",\"scopes\":[\"x\",\"y\"],"
		"\"result\":\"SUCCESS\",\"exp\":\"2026-08-27T11:00:00Z\",\"rtt\":"
		"\"urn:ietf:params:oauth:token-type:id-jag\"}";
	assert_int_equal(lth_parse(&log_parser_mapper, s, line, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "kind"), "grant");
	assert_string_equal(lth_str(out, "grant_type"), "token_exchange");
	assert_string_equal(lth_str(out, "token_id"), "t9");
	assert_true(json_is_true(json_object_get(json_array_get(out, 0), "success")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "time_ns")),
			 1787824800000000000LL);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "expires_ns")),
			 1787828400000000000LL);
	assert_string_equal(lth_id(out, "issuer"), "https://idp");
	assert_string_equal(lth_id(out, "source"), "idp_log");
	json_decref(out);
	line = "{\"event\":\"token.failed\",\"at\":\"2026-08-27T12:00:00Z\",\"gt\":\"password\","
	       "\"result\":\"FAILURE\",\"why\":\"invalid_grant\"}";
	assert_int_equal(lth_parse(&log_parser_mapper, s, line, &out, &reason), LOG_PARSE_OK);
	assert_true(json_is_false(json_object_get(json_array_get(out, 0), "success")));
	assert_string_equal(lth_str(out, "error"), "invalid_grant");
	json_decref(out);
	line = "{\"event\":\"token.issued\",\"at\":\"2026-08-27T12:00:00Z\"}";
	assert_int_equal(lth_parse(&log_parser_mapper, s, line, &out, &reason), LOG_PARSE_BAD);
	assert_non_null(strstr(reason, "grant_type"));
	json_decref(out);
	assert_int_equal(lth_parse(&log_parser_mapper, s, "{\"event\":\"login\"}", &out, &reason),
			 LOG_PARSE_SKIP);
	json_decref(out);
	log_parser_mapper.state_free(s);
}

static void regex_validation(void **st)
{
	(void)st;
	const struct log_parser *r = &log_parser_regex;
	expect_error(r, "{\"kind\":\"call\",\"time_format\":\"auto\",\"fields\":{\"tool\":\"t\"}}",
		     "cfg.json: pattern: expected a PCRE2 pattern");
	expect_error(r,
		     "{\"pattern\":\"(?<time>\\\\S+) (?<t>[a-z\",\"kind\":\"call\",\"time_format\":"
		     "\"auto\",\"fields\":{\"tool\":\"t\"}}",
		     "cfg.json: pattern: error at offset 22");
	expect_error(
		r,
		"{\"pattern\":\"(\\\\S+)\",\"kind\":\"call\",\"time_format\":\"auto\",\"fields\":{"
		"\"tool\":\"t\"}}",
		"cfg.json: pattern: expected named captures");
	expect_error(
		r,
		"{\"pattern\":\"(?<time>\\\\S+) (?<t>\\\\S+)\",\"kind\":\"call\",\"time_format\":"
		"\"auto\",\"fields\":{\"tool\":\"tool\"}}",
		"cfg.json: no capture named \"tool\" in the pattern");
	expect_error(
		r,
		"{\"pattern\":\"(?<ts>\\\\S+) (?<t>\\\\S+)\",\"kind\":\"call\",\"time_format\":"
		"\"auto\",\"fields\":{\"tool\":\"t\"}}",
		"cfg.json: no capture named \"time\" in the pattern");
	expect_error(r,
		     "{\"pattern\":\"(?<ts>\\\\S+) (?<t>\\\\S+)\",\"kind\":\"call\",\"time\":{"
		     "\"capture\":\"ts\"},\"fields\":{\"tool\":{\"path\":\"t\"}}}",
		     "cfg.json: fields.tool.path: unknown key (expected capture");
	expect_error(r,
		     "{\"pattern\":\"(?<ts>\\\\S+) (?<t>\\\\S+)\",\"kind\":\"call\",\"fields\":{"
		     "\"tool\":\"t\"}}",
		     "cfg.json: time: expected an object {\"capture\"");
}

static void regex_lines(void **st)
{
	(void)st;
	char err[1024];
	void *s =
		make(&log_parser_regex,
		     "{\"name\":\"nginx\",\"pattern\":\"^(?<ip>\\\\S+) \\\\S+ (?<user>\\\\S+) "
		     "\\\\[(?<ts>[^\\\\]]+)\\\\] \\\"POST (?<path>\\\\S+)[^\\\"]*\\\" "
		     "(?<status>\\\\d+) (?<rt>[0-9.]+)(?: sid=(?<sid>\\\\S+))?\",\"kind\":\"call\","
		     "\"time\":{\"capture\":\"ts\",\"format\":\"clf\"},\"fields\":{\"src_addr\":"
		     "\"ip\",\"subject\":\"user\",\"tool\":{\"capture\":\"path\",\"transform\":"
		     "\"last_segment\"},\"outcome\":{\"capture\":\"status\",\"transform\":"
		     "\"http_outcome\"},\"http_status\":\"status\",\"duration_ms\":{\"capture\":"
		     "\"rt\",\"transform\":\"duration_s\"},\"session_id\":\"sid\"}}",
		     err, sizeof(err));
	if (!s)
		fprintf(stderr, "%s\n", err);
	assert_non_null(s);
	json_t *out;
	const char *reason;
	const char *line = "10.0.0.1 - bob [27/Aug/2026:12:00:00 +0200] \"POST /mcp/tools/search "
			   "HTTP/1.1\" 500 0.250 sid=s-1";
	assert_int_equal(lth_parse(&log_parser_regex, s, line, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "format"), "nginx");
	assert_string_equal(lth_str(out, "tool"), "search");
	assert_string_equal(lth_str(out, "outcome"), "error");
	assert_string_equal(lth_str(out, "session_id"), "s-1");
	assert_string_equal(lth_str(out, "src_addr"), "10.0.0.1");
	assert_string_equal(lth_id(out, "subject"), "bob");
	json_t *o = json_array_get(out, 0);
	assert_true(json_real_value(json_object_get(o, "duration_ms")) == 250.0);
	assert_int_equal(json_integer_value(json_object_get(o, "time_ns")), 1787824800000000000LL);
	json_decref(out);
	/* an optional capture that did not take part is absent */
	line = "10.0.0.2 - - [27/Aug/2026:12:00:01 +0000] \"POST /mcp/tools/echo HTTP/1.1\" 200 "
	       "0.001";
	assert_int_equal(lth_parse(&log_parser_regex, s, line, &out, &reason), LOG_PARSE_OK);
	assert_null(lth_str(out, "session_id"));
	assert_string_equal(lth_str(out, "outcome"), "ok");
	json_decref(out);
	const char *bad[] = {
		"GET / HTTP/1.1", "",
		"10.0.0.2 - - [27/Foo/2026:12:00:01 +0000] \"POST /x HTTP/1.1\" 200 1",
		"10.0.0.2 - \xff [27/Aug/2026:12:00:01 +0000] \"POST /x HTTP/1.1\" 200 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lth_parse(&log_parser_regex, s, bad[i], &out, &reason),
				 LOG_PARSE_BAD);
		assert_non_null(reason);
		json_decref(out);
	}
	log_parser_regex.state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mapper_validation),   cmocka_unit_test(mapper_call_fields),
		cmocka_unit_test(mapper_grant_fields), cmocka_unit_test(regex_validation),
		cmocka_unit_test(regex_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
