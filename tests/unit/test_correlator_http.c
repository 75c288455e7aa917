/* Correlator behaviour specific to Streamable HTTP: identities per message (bearer tokens),
 * authorization challenges and retries, URL-elicitation retries, stateless 2026-07-28 traffic,
 * tasks across sessions of one server, tokens outlived by their tasks. */
#include "tests/unit/correlator_harness.h"

#define SERVER "https://mcp.example.test/mcp"

static json_t *identity(const char *sub, const char *client_id, long long exp)
{
	return json_pack("{s:s, s:s, s:s, s:[s], s:[], s:s, s:b, s:{s:s, s:I}}", "subject", sub,
			 "issuer", "https://idp.example.test", "client_id", client_id, "scopes",
			 "tools:call", "actors", "source", "bearer_jwt", "verified", 1, "token",
			 "fingerprint", "tfp:00", "exp", (json_int_t)exp);
}

/* An HTTP session stream with its own identity per message. */
static void http_start(struct harness *h, const char *stream, json_t *who, int64_t t)
{
	struct obs o = obs_of(h, OBS_STREAM_START, stream, C2S, t);
	o.transport = "http";
	o.server_key = SERVER;
	o.principal = who;
	correlator_observe(h->c, &o);
}

static void http_msg(struct harness *h, const char *stream, enum obs_dir dir, int64_t t,
		     json_t *who, const char *scope, const char *text)
{
	size_t len = strlen(text);
	char *buf = calloc(1, len + JSON_SCAN_PADDING);
	memcpy(buf, text, len);
	struct json_scan scan;
	assert_int_not_equal(
		json_scanner_scan(h->scanner, buf, len, len + JSON_SCAN_PADDING, &scan),
		JSON_MSG_INVALID);
	struct obs o = obs_of(h, OBS_MESSAGE, stream, dir, t);
	o.msg = &scan;
	o.raw = buf;
	o.raw_len = len;
	o.principal = who;
	o.server_key = SERVER;
	o.id_scope = scope;
	correlator_observe(h->c, &o);
	free(buf);
}

static void http_status(struct harness *h, const char *stream, int64_t t, json_t *who, int status,
			const char *id, const char *www)
{
	struct obs o = obs_of(h, OBS_HTTP_STATUS, stream, C2S, t);
	o.principal = who;
	o.http_status = status;
	o.http_method = "POST";
	o.http_outcome = "complete";
	o.www_authenticate = www;
	o.http_rpc_id.kind = id[0] == '"' ? JSON_ID_STRING : JSON_ID_NUMBER;
	o.http_rpc_id.text.ptr = id[0] == '"' ? id + 1 : id;
	o.http_rpc_id.text.len = strlen(id) - (id[0] == '"' ? 2 : 0);
	correlator_observe(h->c, &o);
}

#define CALL(id, tool)                                                                             \
	"{\"jsonrpc\":\"2.0\",\"id\":" id                                                          \
	",\"method\":\"tools/call\",\"params\":{\"name\":\"" tool "\",\"arguments\":{\"q\":1}}}"

static void test_step_up_retry_is_one_call(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	json_t *alice = identity("alice", "app", 4102444800LL);
	http_start(&h, "t/s1", alice, MS(0));
	http_msg(&h, "t/s1", C2S, MS(1), alice, NULL, CALL("7", "deploy"));
	http_status(&h, "t/s1", MS(2), alice, 403, "7",
		    "Bearer error=\"insufficient_scope\", scope=\"deploy:write tools:call\", "
		    "resource_metadata=\"https://mcp.example.test/.well-known/"
		    "oauth-protected-resource\"");
	/* the client steps up and re-sends the same request id */
	http_msg(&h, "t/s1", C2S, MS(50), alice, NULL, CALL("7", "deploy"));
	http_msg(&h, "t/s1", S2C, MS(60), alice, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[]}}");
	correlator_finish(h.c);
	json_t *call = tool_call(&h, "deploy");
	assert_string_equal(str_at(call, "call.outcome"), "ok");
	assert_int_equal(int_at(call, "call.attempts"), 2);
	assert_int_equal(int_at(call, "call.auth_challenges"), 1);
	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	json_t *auth = first(&h, "mcp.auth");
	assert_string_equal(str_at(auth, "auth.kind"), "insufficient_scope");
	assert_string_equal(str_at(auth, "auth.challenge.error"), "insufficient_scope");
	assert_int_equal(json_array_size(at(auth, "auth.challenge.scope")), 2);
	assert_string_equal(str_at(auth, "auth.rpc_id"), "7");
	assert_string_equal(str_at(auth, "identity.subject"), "alice");
	json_decref(alice);
	h_free(&h);
}

static void test_unanswered_challenge_is_denied(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	http_start(&h, "t/s1", NULL, MS(0));
	http_msg(&h, "t/s1", C2S, MS(1), NULL, NULL, CALL("\"a\"", "read"));
	http_status(&h, "t/s1", MS(2), NULL, 401, "\"a\"",
		    "Bearer resource_metadata=\"https://mcp.example.test/.well-known/x\"");
	correlator_finish(h.c);
	json_t *call = tool_call(&h, "read");
	assert_string_equal(str_at(call, "call.outcome"), "denied");
	assert_int_equal(int_at(call, "call.http_status"), 401);
	assert_string_equal(str_at(call, "identity.source"), "anonymous");
	h_free(&h);
}

static void test_identity_per_message_and_cross_session_task(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	json_t *alice = identity("alice", "app", 4102444800LL);
	json_t *mallory = identity("mallory", "other", 4102444800LL);
	http_start(&h, "t/s1", alice, MS(0));
	http_msg(&h, "t/s1", C2S, MS(1), alice, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"research\",\"task\":{\"ttl\":60000}}}");
	http_msg(&h, "t/s1", S2C, MS(2), alice, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"taskId\":\"T1\","
		 "\"status\":\"working\"}}}");
	/* another session of the same server, another identity, polls and cancels the task */
	http_start(&h, "t/s2", mallory, MS(10));
	http_msg(&h, "t/s2", C2S, MS(11), mallory, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/cancel\",\"params\":{\"taskId\":"
		 "\"T1\"}}");
	http_msg(&h, "t/s2", S2C, MS(12), mallory, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"taskId\":\"T1\",\"status\":"
		 "\"cancelled\"}}");
	correlator_finish(h.c);
	json_t *f = first(&h, "finding");
	assert_string_equal(str_at(f, "finding.kind"), "task_cross_identity");
	assert_string_equal(str_at(f, "identity.subject"), "mallory");
	assert_string_equal(str_at(f, "finding.creator.subject"), "alice");
	json_t *call = tool_call(&h, "research");
	assert_string_equal(str_at(call, "identity.subject"), "alice");
	assert_string_equal(str_at(call, "task.status"), "cancelled");
	assert_string_equal(str_at(call, "call.outcome"), "cancelled");
	json_t *t = find(&h, "mcp.task", "task.status", "cancelled");
	assert_string_equal(str_at(t, "identity.subject"), "mallory");
	json_decref(alice);
	json_decref(mallory);
	h_free(&h);
}

static void test_task_outlives_token(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	/* the token expires one second into the task */
	json_t *bot = identity("svc-bot", "bot", T0 / 1000000000LL + 1);
	http_start(&h, "t/s1", bot, MS(0));
	http_msg(&h, "t/s1", C2S, MS(1), bot, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"export\",\"task\":{}}}");
	http_msg(&h, "t/s1", S2C, MS(2), bot, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"taskId\":\"T9\","
		 "\"status\":\"working\"}}}");
	assert_int_equal(count(&h, "finding"), 0);
	http_msg(&h, "t/s1", S2C, MS(5000), bot, NULL,
		 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tasks/status\",\"params\":{"
		 "\"taskId\":\"T9\",\"status\":\"completed\"}}");
	correlator_finish(h.c);
	json_t *f = first(&h, "finding");
	assert_string_equal(str_at(f, "finding.kind"), "task_outlived_token");
	assert_string_equal(str_at(f, "task.id"), "T9");
	assert_int_equal(count(&h, "finding"), 1);
	json_decref(bot);
	h_free(&h);
}

static void test_url_elicitation_retry_is_linked(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	http_start(&h, "t/s1", NULL, MS(0));
	http_msg(&h, "t/s1", C2S, MS(1), NULL, NULL, CALL("1", "pay"));
	http_msg(&h, "t/s1", S2C, MS(2), NULL, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32042,\"message\":\"auth "
		 "needed\",\"data\":{\"elicitations\":[{\"mode\":\"url\",\"elicitationId\":\"E-1\","
		 "\"url\":\"https://pay.example.test/x\",\"message\":\"m\"}]}}}");
	http_msg(&h, "t/s1", C2S, MS(900), NULL, NULL, CALL("2", "pay"));
	http_msg(&h, "t/s1", S2C, MS(950), NULL, NULL,
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}");
	correlator_finish(h.c);
	json_t *retry = find(&h, "mcp.tool_call", "call.rpc_id", "2");
	assert_string_equal(str_at(retry, "call.retry_of.rpc_id"), "1");
	assert_string_equal(
		json_string_value(json_array_get(at(retry, "call.retry_of.elicitation_ids"), 0)),
		"E-1");
	json_t *orig = find(&h, "mcp.tool_call", "call.rpc_id", "1");
	assert_string_equal(str_at(orig, "call.outcome"), "rpc_error");
	assert_int_equal(int_at(orig, "call.error.code"), -32042);
	h_free(&h);
}

static void test_stateless_2026_scoped_ids_and_task_extension(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	json_t *a = identity("svc", "x", 4102444800LL);
	http_start(&h, "t/stateless", a, MS(0));
	/* two clients of one identity both use id 0, each in its own exchange */
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"tools/call\",\"params\":{"
			  "\"name\":\"%s\",\"_meta\":{\"io.modelcontextprotocol/clientInfo\":{"
			  "\"name\":\"agent-%s\",\"version\":\"2\"}}}}";
	char r1[512], r2[512];
	snprintf(r1, sizeof(r1), req, "slow", "a");
	snprintf(r2, sizeof(r2), req, "fast", "b");
	http_msg(&h, "t/stateless", C2S, MS(1), a, "x1", r1);
	http_msg(&h, "t/stateless", C2S, MS(2), a, "x2", r2);
	http_msg(&h, "t/stateless", S2C, MS(3), a, "x2",
		 "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"content\":[]}}");
	/* the 2026-07-28 tasks extension: resultType task, task fields in the result */
	http_msg(&h, "t/stateless", S2C, MS(4), a, "x1",
		 "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"resultType\":\"task\",\"taskId\":"
		 "\"T26\",\"status\":\"working\"}}");
	http_msg(&h, "t/stateless", C2S, MS(500), a, "x3",
		 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tasks/get\",\"params\":{\"taskId\":"
		 "\"T26\"}}");
	http_msg(&h, "t/stateless", S2C, MS(501), a, "x3",
		 "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"taskId\":\"T26\",\"status\":"
		 "\"completed\"}}");
	correlator_finish(h.c);
	assert_string_equal(str_at(tool_call(&h, "fast"), "call.outcome"), "ok");
	json_t *slow = tool_call(&h, "slow");
	assert_string_equal(str_at(slow, "task.id"), "T26");
	assert_string_equal(str_at(slow, "task.status"), "completed");
	assert_string_equal(str_at(slow, "call.outcome"), "ok");
	json_t *start = find(&h, "mcp.session", "session.state", "start");
	assert_string_equal(str_at(start, "session.client.name"), "agent-a");
	json_decref(a);
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_up_retry_is_one_call),
		cmocka_unit_test(test_unanswered_challenge_is_denied),
		cmocka_unit_test(test_identity_per_message_and_cross_session_task),
		cmocka_unit_test(test_task_outlives_token),
		cmocka_unit_test(test_url_elicitation_retry_is_linked),
		cmocka_unit_test(test_stateless_2026_scoped_ids_and_task_extension),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
