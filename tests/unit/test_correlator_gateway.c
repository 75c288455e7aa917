/* Gateway log lines and taps (collector/correlator_gateway.c): one event per call whichever
 * arrives first, contradiction findings, standalone events for lines no tap explains, grants joined
 * to calls by the token's jti. */
#include "tests/unit/correlator_harness.h"

#define STREAM "tap-1/sess-42"

static json_t *bearer(const char *sub, const char *jti)
{
	return json_pack("{s:s, s:s, s:n, s:[], s:[], s:s, s:b, s:{s:s, s:s, s:n, s:n, s:s}}",
			 "subject", sub, "issuer", "https://idp.example.test", "client_id",
			 "scopes", "actors", "source", "bearer_jwt", "verified", 0, "token",
			 "fingerprint", "tfp:00", "jti", jti, "kind", "class", "verification",
			 "unverified");
}

static void start(struct harness *h, json_t *who, int64_t t)
{
	h_start_as(h, STREAM, who, t);
}

static void msg(struct harness *h, enum obs_dir dir, int64_t t, json_t *who, const char *text)
{
	h_msg_as(h, STREAM, dir, t, who, text);
}

static void tap_call(struct harness *h, json_t *who, int64_t t, const char *id, const char *tool,
		     const char *result)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"%s\"}}",
		 id, tool);
	msg(h, C2S, t, who, text);
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%s,%s}", id, result);
	msg(h, S2C, t + 40 * 1000000LL, who, text);
}

static void gw_line(struct harness *h, int64_t t, const char *sub, const char *tool,
		    const char *session, const char *outcome, uint64_t line)
{
	struct obs_gateway g = {0};
	g.format = "agentgateway";
	g.method = "tools/call";
	g.tool = tool;
	g.session_id = session;
	g.outcome = outcome;
	g.has_duration = true;
	g.duration_ms = 45;
	json_t *who =
		json_pack("{s:s?, s:n, s:n, s:[], s:[], s:s, s:b}", "subject", sub, "issuer",
			  "client_id", "scopes", "actors", "source", "gateway_jwt", "verified", 0);
	struct obs o = obs_of(h, OBS_GATEWAY, "gw.log", C2S, t);
	o.gateway = &g;
	o.principal = who;
	o.source_name = "gw.log";
	o.source_line = line;
	correlator_observe(h->c, &o);
	json_decref(who);
}

static size_t with_sources(struct harness *h, size_t n_sources)
{
	size_t i, k = 0;
	json_t *ev;
	json_array_foreach(h->events, i, ev) if (strcmp(str_at(ev, "type"), "mcp.tool_call") == 0 &&
						 json_array_size(json_object_get(ev, "sources")) ==
							 n_sources) k++;
	return k;
}

/* `mcptrail import`: the log is read first and held; the tap's call takes it. */
static void import_log_then_tap(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.hold_gateway_until_finish = true;
	struct harness h;
	h_init(&h, &cfg);
	json_t *alice = bearer("alice", "jti-1");
	gw_line(&h, MS(1045), "alice", "echo", "sess-42", "ok", 1);
	gw_line(&h, MS(9000), "alice", "add", "sess-42", "ok", 2); /* no tap saw it */
	start(&h, alice, MS(0));
	tap_call(&h, alice, MS(1000), "1", "echo", "\"result\":{\"content\":[]}");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 2);
	json_t *echo = tool_call(&h, "echo");
	assert_int_equal(json_array_size(json_object_get(echo, "sources")), 2);
	assert_string_equal(str_at(echo, "gateway.format"), "agentgateway");
	assert_string_equal(str_at(echo, "gateway.identity.subject"), "alice");
	assert_string_equal(str_at(echo, "call.rpc_id"), "1"); /* the tap's view wins */
	json_t *add = tool_call(&h, "add");
	assert_int_equal(json_array_size(json_object_get(add, "sources")), 1);
	assert_string_equal(str_at(add, "call.rpc_id_type"), "unknown");
	assert_string_equal(str_at(add, "identity.subject"), "alice");
	assert_int_equal(count(&h, "finding"), 0);
	json_decref(alice);
	h_free(&h);
}

/* The daemon: the tap's event waits for the gateway line that comes after it. */
static void daemon_tap_then_log(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	struct harness h;
	h_init(&h, &cfg);
	json_t *alice = bearer("alice", "jti-1");
	gw_line(&h, MS(500), "alice", "search", "sess-9", "ok", 1); /* a gateway input is alive */
	start(&h, alice, MS(0));
	tap_call(&h, alice, MS(1000), "7", "echo", "\"result\":{\"content\":[]}");
	assert_int_equal(count(&h, "mcp.tool_call"), 0); /* held */
	gw_line(&h, MS(1050), "alice", "echo", "sess-42", "ok", 2);
	assert_int_equal(with_sources(&h, 2), 1);
	/* the unmatched line goes out once the taps' clock is past it */
	msg(&h, C2S, MS(20000), alice, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}");
	assert_int_equal(count(&h, "mcp.tool_call"), 2);
	json_t *search = tool_call(&h, "search");
	assert_int_equal(json_array_size(json_object_get(search, "sources")), 1);
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 2);
	json_decref(alice);
	h_free(&h);
}

static void contradictions(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.hold_gateway_until_finish = true;
	struct harness h;
	h_init(&h, &cfg);
	json_t *alice = bearer("alice", "jti-1");
	gw_line(&h, MS(1045), "mallory", "echo", "sess-42", "denied", 1);
	start(&h, alice, MS(0));
	tap_call(&h, alice, MS(1000), "1", "echo", "\"result\":{\"content\":[]}");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	assert_int_equal(count(&h, "finding"), 2);
	json_t *f = find(&h, "finding", "finding.field", "identity");
	assert_string_equal(str_at(f, "finding.kind"), "gateway_contradiction");
	assert_string_equal(str_at(f, "finding.gateway_value"), "mallory");
	assert_string_equal(str_at(f, "finding.tap_value"), "alice");
	assert_string_equal(str_at(f, "finding.severity"), "high");
	json_t *o = find(&h, "finding", "finding.field", "outcome");
	assert_string_equal(str_at(o, "finding.gateway_value"), "denied");
	assert_string_equal(json_string_value(json_array_get(at(o, "finding.evidence"), 0)),
			    str_at(tool_call(&h, "echo"), "event_id"));
	/* the tap's identity (read from the token) is kept */
	assert_string_equal(str_at(tool_call(&h, "echo"), "identity.subject"), "alice");
	json_decref(alice);
	h_free(&h);
}

/* Lines of another session, or far away in time, are not taken. */
static void no_false_merge(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.hold_gateway_until_finish = true;
	struct harness h;
	h_init(&h, &cfg);
	json_t *alice = bearer("alice", "jti-1");
	gw_line(&h, MS(1045), "alice", "echo", "sess-other", "ok", 1);
	gw_line(&h, MS(60000), "alice", "echo", "sess-42", "ok", 2);
	gw_line(&h, MS(1045), "alice", "add", "sess-42", "ok", 3);
	start(&h, alice, MS(0));
	tap_call(&h, alice, MS(1000), "1", "echo", "\"result\":{\"content\":[]}");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 4);
	assert_int_equal(with_sources(&h, 2), 0);
	json_decref(alice);
	h_free(&h);
}

/* An IdP grant names the token by its jti: the call gets the grant and the identity's gaps
 * filled. */
static void grant_joins_by_jti(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	struct harness h;
	h_init(&h, &cfg);
	struct obs_grant g = {0};
	g.format = "oauth";
	g.grant_type = "client_credentials";
	g.token_id = "jti-7";
	g.success = true;
	json_t *who = json_pack("{s:s, s:s, s:s, s:[s,s], s:[], s:s, s:b}", "subject",
				"svc-release", "issuer", "https://idp.example.test", "client_id",
				"release-bot", "scopes", "repo:read", "repo:write", "actors",
				"source", "idp_log", "verified", 0);
	struct obs o = obs_of(&h, OBS_GRANT, "idp.log", C2S, MS(0));
	o.grant = &g;
	o.principal = who;
	o.source_name = "idp.log";
	o.source_line = 1;
	correlator_observe(h.c, &o);
	json_decref(who);
	assert_int_equal(count(&h, "identity.grant"), 1);
	json_t *grant_ev = first(&h, "identity.grant");
	/* the tap knows the token only by its jti (no subject in it) */
	json_t *anon = json_pack("{s:n, s:n, s:n, s:[], s:[], s:s, s:b, s:{s:s, s:s, s:n, s:n, "
				 "s:s}}",
				 "subject", "issuer", "client_id", "scopes", "actors", "source",
				 "bearer_jwt", "verified", 0, "token", "fingerprint", "tfp:01",
				 "jti", "jti-7", "kind", "class", "verification", "unverified");
	start(&h, anon, MS(100));
	tap_call(&h, anon, MS(1000), "1", "echo", "\"result\":{\"content\":[]}");
	correlator_finish(h.c);
	json_t *call = tool_call(&h, "echo");
	assert_string_equal(str_at(call, "identity.subject"), "svc-release");
	assert_string_equal(str_at(call, "identity.client_id"), "release-bot");
	assert_int_equal(json_array_size(at(call, "identity.scopes")), 2);
	assert_string_equal(str_at(call, "grant.event_id"), str_at(grant_ev, "event_id"));
	assert_string_equal(str_at(call, "grant.grant_type"), "client_credentials");
	json_decref(anon);
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(import_log_then_tap), cmocka_unit_test(daemon_tap_then_log),
		cmocka_unit_test(contradictions),      cmocka_unit_test(no_false_merge),
		cmocka_unit_test(grant_joins_by_jti),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
