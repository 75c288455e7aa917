/* Identity classification and the findings of collector/correlator_findings.c, on hand-made
 * traffic: each finding fires once, with evidence, and not when it should not. */
#include "collector/redact.h"
#include "tests/unit/correlator_harness.h"

#define STREAM "tap-1/sess-1"

static json_t *token_identity(const char *sub, const char *client, const char *klass, bool with_exp,
			      const char *actor)
{
	json_t *id = json_pack("{s:s, s:s, s:s, s:[s], s:[], s:s, s:b, s:{s:s, s:s, s:s, s:s}}",
			       "subject", sub, "issuer", "https://idp.example.test", "client_id",
			       client, "scopes", "repo:read", "actors", "source", "bearer_jwt",
			       "verified", 0, "token", "fingerprint", "tfp:01", "kind", "jwt",
			       "class", klass, "verification", "unverified");
	if (with_exp)
		json_object_set_new(json_object_get(id, "token"), "exp", json_integer(1900000000));
	if (actor)
		json_array_append_new(json_object_get(id, "actors"), json_string(actor));
	return id;
}

static void start(struct harness *h, json_t *who, int64_t t)
{
	h_start_as(h, STREAM, who, t);
}

static void msg(struct harness *h, enum obs_dir dir, int64_t t, json_t *who, const char *text)
{
	h_msg_as(h, STREAM, dir, t, who, text);
}

static size_t findings_of(struct harness *h, const char *kind)
{
	size_t i, n = 0;
	json_t *ev;
	json_array_foreach(h->events, i, ev) n += strcmp(str_at(ev, "type"), "finding") == 0 &&
						  strcmp(str_at(ev, "finding.kind"), kind) == 0;
	return n;
}

static json_t *destructive(struct harness *h, const char *tool)
{
	size_t i;
	json_t *ev;
	json_array_foreach(h->events, i, ev)
	{
		json_t *f = json_object_get(ev, "finding");
		if (f && strcmp(str_at(f, "kind"), "destructive_first_use") == 0 &&
		    strcmp(str_at(f, "tool"), tool) == 0)
			return ev;
	}
	fail_msg("no destructive_first_use for %s", tool);
	return NULL;
}

static void list_tools(struct harness *h, json_t *who, int64_t t)
{
	msg(h, C2S, t, who, "{\"jsonrpc\":\"2.0\",\"id\":100,\"method\":\"tools/list\"}");
	msg(h, S2C, t + 1000000, who,
	    "{\"jsonrpc\":\"2.0\",\"id\":100,\"result\":{\"tools\":["
	    "{\"name\":\"delete_repo\",\"inputSchema\":{},\"annotations\":{\"destructiveHint\":"
	    "true}},"
	    "{\"name\":\"search\",\"inputSchema\":{},\"annotations\":{\"readOnlyHint\":true}},"
	    "{\"name\":\"mystery\",\"inputSchema\":{}}]}}");
}

static void call(struct harness *h, json_t *who, int64_t t, int id, const char *tool,
		 const char *args)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"%s\",\"arguments\":%s}}",
		 id, tool, args ? args : "{}");
	msg(h, C2S, t, who, text);
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"content\":[]}}",
		 id);
	msg(h, S2C, t + 5000000, who, text);
}

static void classification(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	json_t *agent = token_identity("alice", "https://agent.example/cimd.json", "access", true,
				       "agent-7");
	json_t *svc = token_identity("release-bot", "release-bot", "access", true, NULL);
	json_t *jag = token_identity("bob", "app-2", "id_jag", true, NULL);
	json_t *plain = token_identity("carol", "app-3", "access", true, NULL);
	start(&h, agent, MS(0));
	call(&h, agent, MS(10), 1, "a", NULL);
	call(&h, svc, MS(20), 2, "b", NULL);
	call(&h, jag, MS(30), 3, "c", NULL);
	call(&h, plain, MS(40), 4, "d", NULL);
	correlator_finish(h.c);
	assert_string_equal(str_at(tool_call(&h, "a"), "identity.class"), "agent");
	assert_string_equal(str_at(tool_call(&h, "b"), "identity.class"), "service");
	assert_string_equal(str_at(tool_call(&h, "c"), "identity.class"), "agent");
	assert_string_equal(str_at(tool_call(&h, "d"), "identity.class"), "unknown");
	assert_true(json_array_size(at(tool_call(&h, "b"), "identity.class_evidence")) > 0);
	/* every event with an identity carries a class */
	size_t i;
	json_t *ev;
	json_array_foreach(h.events, i, ev) if (json_object_get(ev, "identity"))
		assert_non_null(at(ev, "identity.class"));
	json_decref(agent);
	json_decref(svc);
	json_decref(jag);
	json_decref(plain);
	h_free(&h);
}

static void no_expiry_and_destructive(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	json_t *svc =
		token_identity("release-bot", "release-bot", "client_credentials", false, NULL);
	json_t *human = token_identity("carol", "app-3", "access", true, NULL);
	start(&h, svc, MS(0));
	list_tools(&h, svc, MS(1));
	call(&h, svc, MS(10), 1, "search", NULL);
	call(&h, svc, MS(20), 2, "delete_repo", NULL);
	call(&h, svc, MS(30), 3, "delete_repo", NULL);	 /* not the first time */
	call(&h, svc, MS(40), 4, "mystery", NULL);	 /* destructive by default */
	call(&h, svc, MS(45), 5, "unlisted", NULL);	 /* nothing known */
	call(&h, human, MS(50), 6, "delete_repo", NULL); /* not a non-human identity */
	correlator_finish(h.c);
	assert_int_equal(findings_of(&h, "token_no_expiry"), 1);
	assert_int_equal(findings_of(&h, "destructive_first_use"), 2);
	json_t *f = destructive(&h, "delete_repo");
	assert_string_equal(str_at(f, "finding.annotation"), "declared");
	assert_string_equal(str_at(f, "finding.severity"), "medium");
	/* the evidence is the call's event */
	size_t i;
	json_t *ev;
	const char *call_id = NULL;
	json_array_foreach(h.events, i, ev) if (strcmp(str_at(ev, "type"), "mcp.tool_call") == 0 &&
						strcmp(str_at(ev, "call.rpc_id"), "2") == 0)
		call_id = str_at(ev, "event_id");
	assert_non_null(call_id);
	assert_string_equal(json_string_value(json_array_get(at(f, "finding.evidence"), 0)),
			    call_id);
	assert_string_equal(str_at(destructive(&h, "mystery"), "finding.annotation"), "default");
	json_decref(svc);
	json_decref(human);
	h_free(&h);
}

static void secrets_in_arguments(void **state)
{
	(void)state;
	char err[256];
	struct redactor *r = redactor_new(NULL, 0, err, sizeof(err));
	assert_non_null(r);
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.redactor = r;
	struct harness h;
	h_init(&h, &cfg);
	json_t *who = token_identity("alice", "app", "access", true, NULL);
	start(&h, who, MS(0));
	call(&h, who, MS(10), 1, "deploy",
	     "{\"note\":\"key AKIAIOSFODNN7EXAMPLE here\",\"password\":\"hunter2hunter2\"}");
	call(&h, who, MS(20), 2, "deploy", "{\"note\":\"nothing secret\"}");
	correlator_finish(h.c);
	assert_int_equal(findings_of(&h, "secret_in_arguments"), 1);
	json_t *f = find(&h, "finding", "finding.kind", "secret_in_arguments");
	assert_true(int_at(f, "finding.secrets") >= 2);
	assert_true(json_array_size(at(f, "finding.rules")) >= 1);
	char *dump = json_dumps(h.events, 0);
	assert_null(strstr(dump, "AKIAIOSFODNN7EXAMPLE"));
	assert_null(strstr(dump, "hunter2hunter2"));
	free(dump);
	json_decref(who);
	h_free(&h);
	redactor_free(r);
}

static void scopes(void **state)
{
	(void)state;
	json_t *map =
		json_pack("{s:[s], s:[s]}", "search", "repo:read", "delete_repo", "repo:admin");
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.scope_map = map;
	struct harness h;
	h_init(&h, &cfg);
	json_t *who = token_identity("release-bot", "release-bot", "access", true, NULL);
	json_array_append_new(json_object_get(who, "scopes"), json_string("org:write"));
	start(&h, who, MS(0));
	call(&h, who, MS(10), 1, "search", NULL);
	call(&h, who, MS(20), 2, "delete_repo", NULL); /* succeeded without repo:admin */
	correlator_finish(h.c);
	assert_int_equal(findings_of(&h, "scope_not_granted"), 1);
	json_t *f = find(&h, "finding", "finding.kind", "scope_not_granted");
	assert_string_equal(json_string_value(json_array_get(at(f, "finding.missing_scopes"), 0)),
			    "repo:admin");
	assert_int_equal(findings_of(&h, "scopes_unused"), 1);
	json_t *u = find(&h, "finding", "finding.kind", "scopes_unused");
	assert_int_equal(json_array_size(at(u, "finding.unused_scopes")), 1);
	assert_string_equal(json_string_value(json_array_get(at(u, "finding.unused_scopes"), 0)),
			    "org:write");
	json_decref(who);
	h_free(&h);
	json_decref(map);
}

static void sampling_depth(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	json_t *who = token_identity("alice", "app", "access", true, NULL);
	start(&h, who, MS(0));
	msg(&h, C2S, MS(1), who,
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
	    "call\",\"params\":{\"name\":\"plan\"}}");
	for (int i = 0; i < 3; i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"sampling/createMessage\","
			 "\"params\":{\"messages\":[],\"maxTokens\":10,\"tools\":[{\"name\":"
			 "\"plan\",\"inputSchema\":{}}]}}",
			 50 + i);
		msg(&h, S2C, MS(10 + i), who, text);
	}
	correlator_finish(h.c);
	assert_int_equal(findings_of(&h, "sampling_recursion"), 1);
	json_t *f = find(&h, "finding", "finding.kind", "sampling_recursion");
	assert_int_equal(int_at(f, "finding.depth"), 3);
	assert_int_equal(int_at(f, "finding.limit"), 2);
	json_decref(who);
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classification),	cmocka_unit_test(no_expiry_and_destructive),
		cmocka_unit_test(secrets_in_arguments), cmocka_unit_test(scopes),
		cmocka_unit_test(sampling_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
