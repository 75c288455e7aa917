/* Unit tests for collector/correlator: observations in, normalized events out. Each test plays a
 * hand-written conversation and asserts on the events a reviewer would read. */
#include "tests/unit/correlator_harness.h"

static void task_status(struct harness *h, int64_t t, const char *task, const char *status)
{
	char text[256];
	snprintf(text, sizeof(text),
		 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tasks/status\",\"params\":{"
		 "\"taskId\":\"%s\",\"status\":\"%s\"}}",
		 task, status);
	h_msg(h, "s1", S2C, t, text);
}

#define TASK_PARAMS ",\"task\":{\"ttl\":60000}"
#define CREATED(id, status) "{\"task\":{\"taskId\":\"" id "\",\"status\":\"" status "\"}}"

/* ---- sessions and plain calls ---- */

static void test_session_start_from_initialize(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	h_msg(&h, "s1", C2S, MS(10),
	      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
	      "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"sampling\":{},"
	      "\"elicitation\":{}},\"clientInfo\":{\"name\":\"root\",\"version\":\"1.2.3\"}}}");
	assert_int_equal(json_array_size(h.events), 0);
	respond(&h, "s1", S2C, MS(30), "0",
		"{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"tools\":{}},"
		"\"serverInfo\":{\"name\":\"everything\",\"version\":\"2.0\"}}");
	h_msg(&h, "s1", C2S, MS(40),
	      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	assert_int_equal(json_array_size(h.events), 1);
	json_t *ev = first(&h, "mcp.session");
	assert_string_equal(str_at(ev, "schema"), "mcptrail/1");
	assert_string_equal(str_at(ev, "session.state"), "start");
	assert_string_equal(str_at(ev, "session.id"), "s1");
	assert_string_equal(str_at(ev, "session.transport"), "stdio");
	assert_string_equal(str_at(ev, "session.protocol_version"), "2025-11-25");
	assert_string_equal(str_at(ev, "session.client.name"), "root");
	assert_string_equal(str_at(ev, "session.client.version"), "1.2.3");
	assert_string_equal(str_at(ev, "session.server.name"), "everything");
	assert_string_equal(str_at(ev, "session.host"), "ws1");
	assert_string_equal(str_at(ev, "session.server_command"), "node server.js");
	assert_string_equal(str_at(ev, "time"), "2026-11-27T10:00:00.030000000Z");
	/* the client's self-declared name is not its identity */
	assert_string_equal(str_at(ev, "identity.subject"), "alice");
	assert_string_equal(str_at(ev, "identity.source"), "os_user");
	assert_string_equal(str_at(ev, "identity.issuer"), "host:ws1");
	assert_true(json_is_false(at(ev, "identity.verified")));

	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.session"), 2);
	ev = session_end(&h);
	assert_int_equal(int_at(ev, "session.counters.notifications"), 1);
	assert_int_equal(int_at(ev, "session.counters.tool_calls"), 0);
	assert_int_equal(count(&h, "mcp.request"), 0); /* initialize is the session event */
	h_free(&h);
}

static void test_tool_call_outcomes(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(1000), "1", "good", NULL);
	respond(&h, "s1", S2C, MS(1250), "1", "{\"content\":[]}");
	call_tool(&h, "s1", MS(2000), "2", "failing", NULL);
	respond(&h, "s1", S2C, MS(2100), "2", "{\"content\":[],\"isError\":true}");
	call_tool(&h, "s1", MS(3000), "3", "bad_args", NULL);
	h_msg(&h, "s1", S2C, MS(3005),
	      "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32602,\"message\":\"Invalid "
	      "params\"}}");
	assert_int_equal(count(&h, "mcp.tool_call"), 3);

	json_t *ev = tool_call(&h, "good");
	assert_string_equal(str_at(ev, "call.outcome"), "ok");
	assert_string_equal(str_at(ev, "call.rpc_id"), "1");
	assert_string_equal(str_at(ev, "call.rpc_id_type"), "number");
	assert_int_equal(int_at(ev, "call.attempts"), 1);
	assert_true(json_real_value(at(ev, "call.latency_ms")) == 250.0);
	assert_string_equal(str_at(ev, "call.started_at"), "2026-11-27T10:00:01.000000000Z");
	assert_string_equal(str_at(ev, "call.ended_at"), "2026-11-27T10:00:01.250000000Z");
	assert_int_equal(int_at(ev, "call.arguments.bytes"), 7); /* {"q":1} */
	assert_int_equal(strlen(str_at(ev, "call.arguments.sha256")), 64);
	assert_true(json_is_false(at(ev, "call.task_augmented")));
	assert_null(at(ev, "call.error"));
	assert_null(at(ev, "task"));
	assert_string_equal(str_at(ev, "identity.subject"), "alice");

	assert_string_equal(str_at(tool_call(&h, "failing"), "call.outcome"), "tool_error");
	ev = tool_call(&h, "bad_args");
	assert_string_equal(str_at(ev, "call.outcome"), "rpc_error");
	assert_int_equal(int_at(ev, "call.error.code"), -32602);
	assert_string_equal(str_at(ev, "call.error.message"), "Invalid params");

	correlator_finish(h.c);
	ev = session_end(&h);
	assert_int_equal(int_at(ev, "session.counters.tool_calls"), 3);
	assert_int_equal(int_at(ev, "session.counters.tool_errors"), 1);
	assert_int_equal(int_at(ev, "session.counters.rpc_errors"), 1);
	assert_int_equal(correlator_stats(h.c)->tool_calls, 3);
	h_free(&h);
}

static void test_cancelled_and_unanswered(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "5", "slow", NULL);
	h_msg(&h, "s1", C2S, MS(600),
	      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
	      "\"requestId\":5,\"reason\":\"user\"}}");
	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	assert_string_equal(str_at(tool_call(&h, "slow"), "call.outcome"), "cancelled");
	respond(&h, "s1", S2C, MS(700), "5", "{\"content\":[]}"); /* too late: unmatched */
	assert_int_equal(count(&h, "mcp.tool_call"), 1);

	/* a cancel from the other side does not cancel the client's request */
	call_tool(&h, "s1", MS(800), "6", "other", NULL);
	h_msg(&h, "s1", S2C, MS(810),
	      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
	      "\"requestId\":6}}");
	assert_int_equal(count(&h, "mcp.tool_call"), 1);

	call_tool(&h, "s1", MS(900), "7", "never", NULL);
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 3);
	json_t *ev = tool_call(&h, "never");
	assert_string_equal(str_at(ev, "call.outcome"), "no_response");
	assert_true(json_is_null(at(ev, "call.latency_ms")));
	assert_string_equal(str_at(tool_call(&h, "other"), "call.outcome"), "no_response");
	assert_int_equal(int_at(session_end(&h), "session.counters.unmatched_responses"), 1);
	h_free(&h);
}

static void test_retry_is_one_call(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "4", "flaky", NULL);
	call_tool(&h, "s1", MS(200), "4", "flaky", NULL);
	respond(&h, "s1", S2C, MS(300), "4", "{\"content\":[]}");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	json_t *ev = tool_call(&h, "flaky");
	assert_int_equal(int_at(ev, "call.attempts"), 2);
	assert_string_equal(str_at(ev, "call.outcome"), "ok");
	assert_string_equal(str_at(ev, "call.started_at"), "2026-11-27T10:00:00.100000000Z");
	assert_int_equal(int_at(session_end(&h), "session.counters.duplicate_requests"), 1);
	h_free(&h);
}

static void test_ids_scoped_by_direction_and_type(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "1", "numeric", NULL);
	call_tool(&h, "s1", MS(110), "\"1\"", "stringy", NULL);
	h_msg(&h, "s1", S2C, MS(120), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"roots/list\"}");
	/* the client answers the server's request 1 */
	respond(&h, "s1", C2S, MS(130), "1", "{\"roots\":[{\"uri\":\"file:///home/a\"}]}");
	assert_int_equal(count(&h, "mcp.tool_call"), 0);
	assert_int_equal(count(&h, "mcp.roots"), 1);
	json_t *ev = first(&h, "mcp.roots");
	assert_string_equal(str_at(ev, "request.direction"), "server_to_client");
	assert_string_equal(str_at(ev, "request.outcome"), "ok");
	assert_int_equal(int_at(ev, "roots.count"), 1);

	respond(&h, "s1", S2C, MS(140), "1", "{\"content\":[],\"isError\":true}");
	respond(&h, "s1", S2C, MS(150), "\"1\"", "{\"content\":[]}");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 2);
	ev = tool_call(&h, "numeric");
	assert_string_equal(str_at(ev, "call.outcome"), "tool_error");
	assert_string_equal(str_at(ev, "call.rpc_id_type"), "number");
	assert_int_equal(int_at(ev, "call.attempts"), 1);
	ev = tool_call(&h, "stringy");
	assert_string_equal(str_at(ev, "call.outcome"), "ok");
	assert_string_equal(str_at(ev, "call.rpc_id"), "1");
	assert_string_equal(str_at(ev, "call.rpc_id_type"), "string");
	assert_int_equal(int_at(ev, "call.attempts"), 1);
	h_free(&h);
}

static void test_progress_counted_on_call(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "7", "str_token", ",\"_meta\":{\"progressToken\":\"p7\"}");
	call_tool(&h, "s1", MS(100), "8", "num_token", ",\"_meta\":{\"progressToken\":80}");
	static const char *const tokens[] = {"\"p7\"", "\"p7\"", "80",
					     "\"p7\"", "\"zz\"", "\"80\""};
	for (size_t i = 0; i < 6; i++) {
		char text[200];
		snprintf(text, sizeof(text),
			 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
			 "\"progressToken\":%s,\"progress\":%zu}}",
			 tokens[i], i);
		h_msg(&h, "s1", S2C, MS(200 + i), text);
	}
	respond(&h, "s1", S2C, MS(300), "7", "{\"content\":[]}");
	respond(&h, "s1", S2C, MS(300), "8", "{\"content\":[]}");
	assert_int_equal(int_at(tool_call(&h, "str_token"), "call.progress_notifications"), 3);
	assert_int_equal(int_at(tool_call(&h, "num_token"), "call.progress_notifications"), 1);
	assert_int_equal(correlator_stats(h.c)->orphan_progress, 2);
	correlator_finish(h.c);
	h_free(&h);
}

/* ---- tasks ---- */

static void test_task_lifecycle(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "1", "long_job", TASK_PARAMS);
	respond(&h, "s1", S2C, MS(150), "1", CREATED("T1", "working"));
	assert_int_equal(count(&h, "mcp.tool_call"), 0);
	assert_int_equal(count(&h, "mcp.task"), 1);
	json_t *ev = first(&h, "mcp.task");
	assert_string_equal(str_at(ev, "task.id"), "T1");
	assert_string_equal(str_at(ev, "task.status"), "working");
	assert_string_equal(str_at(ev, "task.tool"), "long_job");
	assert_true(json_is_false(at(ev, "task.terminal")));

	h_msg(&h, "s1", C2S, MS(1000),
	      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/"
	      "get\",\"params\":{\"taskId\":\"T1\"}}");
	respond(&h, "s1", S2C, MS(1010), "2", "{\"taskId\":\"T1\",\"status\":\"working\"}");
	assert_int_equal(count(&h, "mcp.task"), 1); /* no change, no event */
	assert_string_equal(str_at(first(&h, "mcp.request"), "request.task_id"), "T1");

	task_status(&h, MS(5000), "T1", "completed");
	h_msg(&h, "s1", C2S, MS(5100),
	      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/result\",\"params\":{\"taskId\":"
	      "\"T1\"}}");
	respond(&h, "s1", S2C, MS(5200), "3",
		"{\"content\":[],\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":"
		"\"T1\"}}}");
	correlator_finish(h.c);

	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	ev = tool_call(&h, "long_job");
	assert_string_equal(str_at(ev, "call.outcome"), "ok");
	assert_true(json_is_true(at(ev, "call.task_augmented")));
	assert_string_equal(str_at(ev, "task.id"), "T1");
	assert_string_equal(str_at(ev, "task.status"), "completed");
	assert_int_equal(int_at(ev, "task.polls"), 1);
	assert_int_equal(int_at(ev, "task.status_notifications"), 1);
	assert_string_equal(str_at(ev, "call.ended_at"), "2026-11-27T10:00:05.000000000Z");
	assert_int_equal(count(&h, "mcp.task"), 2);
	ev = find(&h, "mcp.task", "task.status", "completed");
	assert_string_equal(str_at(ev, "task.status"), "completed");
	assert_true(json_is_true(at(ev, "task.terminal")));
	assert_string_equal(str_at(ev, "task.changed_by"), "notifications/tasks/status");
	h_free(&h);
}

static void test_task_status_before_create_result(void **state)
{
	(void)state;
	/* real servers notify before (or instead of) the CreateTaskResult reaching us first */
	static const char *const first[] = {"working", "completed"};
	for (size_t i = 0; i < 2; i++) {
		struct harness h;
		h_init(&h, NULL);
		h_start(&h, "s1", "stdio", "alice", MS(0));
		call_tool(&h, "s1", MS(100), "1", "job", TASK_PARAMS);
		task_status(&h, MS(120), "T1", first[i]);
		respond(&h, "s1", S2C, MS(130), "1", CREATED("T1", "working"));
		task_status(&h, MS(900), "T1", "completed");
		correlator_finish(h.c);
		assert_int_equal(count(&h, "mcp.tool_call"), 1);
		json_t *ev = tool_call(&h, "job");
		assert_string_equal(str_at(ev, "call.outcome"), "ok");
		assert_string_equal(str_at(ev, "task.id"), "T1");
		assert_string_equal(str_at(ev, "task.status"), "completed");
		assert_int_equal(count(&h, "mcp.task"), i == 0 ? 2 : 1);
		h_free(&h);
	}
}

static void test_task_cancel_and_abandon(void **state)
{
	(void)state;
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "1", "to_cancel", TASK_PARAMS);
	respond(&h, "s1", S2C, MS(110), "1", CREATED("T1", "working"));
	h_msg(&h, "s1", C2S, MS(500),
	      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/cancel\",\"params\":{\"taskId\":"
	      "\"T1\"}}");
	respond(&h, "s1", S2C, MS(510), "2", "{\"taskId\":\"T1\",\"status\":\"cancelled\"}");
	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	json_t *ev = tool_call(&h, "to_cancel");
	assert_string_equal(str_at(ev, "call.outcome"), "cancelled");
	assert_string_equal(str_at(ev, "task.status"), "cancelled");
	assert_int_equal(int_at(ev, "task.cancel_requests"), 1);

	call_tool(&h, "s1", MS(600), "3", "abandoned", TASK_PARAMS);
	respond(&h, "s1", S2C, MS(610), "3", CREATED("T2", "working"));
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 2);
	ev = tool_call(&h, "abandoned");
	assert_string_equal(str_at(ev, "call.outcome"), "no_response");
	assert_true(json_is_null(at(ev, "call.latency_ms")));
	assert_string_equal(str_at(ev, "task.status"), "working");
	h_free(&h);
}

static void test_task_ttl_extends_timeout(void **state)
{
	(void)state;
	/* Regression test (was a bug, now fixed): collector/correlator.c: task->ttl_ms is
	 * initialised to -1 and never set from params.task.ttl or result.task.ttl (json_scan does
	 * not extract it either), so the "ttl or 1 h" task timeout of correlator_config is always 1
	 * h. A task created with a 2 h ttl and still working after 90 min is closed as no_response
	 * (expected: still pending; no mcp.tool_call before its ttl). */
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(100), "1", "batch", ",\"task\":{\"ttl\":7200000}");
	respond(&h, "s1", S2C, MS(110), "1",
		"{\"task\":{\"taskId\":\"T1\",\"status\":\"working\",\"ttl\":7200000}}");
	h_msg(&h, "s1", C2S, MS(90 * 60 * 1000), "{\"jsonrpc\":\"2.0\",\"method\":\"x/y\"}");
	assert_int_equal(count(&h, "mcp.tool_call"), 0);
	task_status(&h, MS(100 * 60 * 1000), "T1", "completed");
	assert_string_equal(str_at(tool_call(&h, "batch"), "call.outcome"), "ok");
	correlator_finish(h.c);
	h_free(&h);
}

static void test_task_touched_by_other_identity(void **state)
{
	(void)state;
	/* Tasks are keyed by (server_key, taskId) and server_key is the stream id, so a task
	 * cannot be reached from another stream through struct obs: the cross-stream case is
	 * not testable here. A new identity on the same (http) stream is. */
	struct harness h;
	h_init(&h, NULL);
	h_start(&h, "h1", "http", "alice", MS(0));
	call_tool(&h, "h1", MS(100), "1", "job", TASK_PARAMS);
	respond(&h, "h1", S2C, MS(110), "1", CREATED("T1", "working"));
	h_start(&h, "h1", "http", "mallory", MS(200));
	h_msg(&h, "h1", C2S, MS(300),
	      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/"
	      "get\",\"params\":{\"taskId\":\"T1\"}}");
	assert_int_equal(count(&h, "finding"), 1);
	json_t *ev = first(&h, "finding");
	assert_string_equal(str_at(ev, "finding.kind"), "task_cross_identity");
	assert_string_equal(str_at(ev, "finding.creator.subject"), "alice");
	assert_string_equal(str_at(ev, "identity.subject"), "mallory");
	assert_string_equal(str_at(ev, "task.id"), "T1");
	correlator_finish(h.c);
	h_free(&h);
}

/* ---- timeouts, invalid input, determinism ---- */

static void test_request_timeout(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.request_timeout_ns = 10LL * 1000000000LL;
	struct harness h;
	h_init(&h, &cfg);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	call_tool(&h, "s1", MS(1000), "1", "hangs", NULL);
	call_tool(&h, "s1", MS(2000), "2", "answered", NULL);
	respond(&h, "s1", S2C, MS(9000), "2", "{\"content\":[]}");
	assert_int_equal(count(&h, "mcp.tool_call"), 1);
	h_msg(&h, "s1", C2S, MS(30000), "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}");
	assert_int_equal(count(&h, "mcp.tool_call"), 2); /* before the end of input */
	json_t *ev = tool_call(&h, "hangs");
	assert_string_equal(str_at(ev, "call.outcome"), "no_response");
	assert_true(json_is_null(at(ev, "call.latency_ms")));
	assert_string_equal(str_at(ev, "call.ended_at"), "2026-11-27T10:00:11.000000000Z");
	respond(&h, "s1", S2C, MS(31000), "1", "{\"content\":[]}");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 2);
	h_free(&h);
}

static void test_pending_bound_evicts_oldest(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.max_pending = 2;
	struct harness h;
	h_init(&h, &cfg);
	call_tool(&h, "s1", MS(100), "1", "oldest", NULL);
	call_tool(&h, "s1", MS(200), "2", "middle", NULL);
	call_tool(&h, "s1", MS(300), "3", "newest", NULL);
	assert_int_equal(count(&h, "mcp.tool_call"), 1); /* never silently */
	assert_string_equal(str_at(tool_call(&h, "oldest"), "call.outcome"), "no_response");
	assert_int_equal(correlator_stats(h.c)->evicted, 1);
	respond(&h, "s1", S2C, MS(400), "3", "{\"content\":[]}");
	assert_string_equal(str_at(tool_call(&h, "newest"), "call.outcome"), "ok");
	correlator_finish(h.c);
	assert_int_equal(count(&h, "mcp.tool_call"), 3);
	h_free(&h);
}

static void test_invalid_frames_rate_limited(void **state)
{
	(void)state;
	struct correlator_config cfg;
	correlator_config_defaults(&cfg);
	cfg.invalid_events_per_stream = 3;
	struct harness h;
	h_init(&h, &cfg);
	h_start(&h, "s1", "stdio", "alice", MS(0));
	for (int i = 0; i < 5; i++)
		h_invalid(&h, "s1", S2C, MS(10 + i), "{\"jsonrpc\":\"2.0\",\"id\":1,");
	assert_int_equal(count(&h, "mcp.invalid_message"), 3);
	json_t *ev = first(&h, "mcp.invalid_message");
	assert_string_equal(str_at(ev, "invalid.reason"), "truncated JSON");
	assert_string_equal(str_at(ev, "invalid.direction"), "server_to_client");
	assert_int_equal(int_at(ev, "invalid.bytes"), 24);
	assert_int_equal(strlen(str_at(ev, "invalid.sha256")), 64);
	correlator_finish(h.c);
	ev = session_end(&h);
	assert_int_equal(int_at(ev, "session.counters.invalid_frames"), 5);
	assert_int_equal(int_at(ev, "session.counters.invalid_events_suppressed"), 2);
	assert_int_equal(correlator_stats(h.c)->invalid, 5);
	h_free(&h);
}

static void play_script(struct harness *h)
{
	h_start(h, "s1", "stdio", "alice", MS(0));
	h_msg(h, "s1", C2S, MS(1),
	      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
	      "\"protocolVersion\":\"2025-11-25\",\"clientInfo\":{\"name\":\"c\"}}}");
	respond(h, "s1", S2C, MS(2), "0", "{\"protocolVersion\":\"2025-11-25\"}");
	h_msg(h, "s1", C2S, MS(3), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
	respond(h, "s1", S2C, MS(4), "1", "{\"tools\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
	call_tool(h, "s1", MS(5), "2", "a", NULL);
	call_tool(h, "s1", MS(6), "\"x\"", "b", TASK_PARAMS);
	respond(h, "s1", S2C, MS(7), "\"x\"", CREATED("T1", "working"));
	respond(h, "s1", S2C, MS(8), "2", "{\"content\":[]}");
	h_invalid(h, "s1", S2C, MS(9), "nope");
	task_status(h, MS(10), "T1", "failed");
	call_tool(h, "s1", MS(11), "3", "a", NULL);
	h_start(h, "s2", "stdio", "bob", MS(12));
	call_tool(h, "s2", MS(13), "1", "c", NULL);
	correlator_finish(h->c);
}

static void test_replay_is_deterministic(void **state)
{
	(void)state;
	struct harness a, b;
	h_init(&a, NULL);
	h_init(&b, NULL);
	play_script(&a);
	play_script(&b);
	assert_true(json_array_size(a.events) >= 10);
	assert_int_equal(json_array_size(a.events), json_array_size(b.events));
	size_t i;
	json_t *ev;
	json_array_foreach(a.events, i, ev)
	{
		json_t *other = json_array_get(b.events, i);
		assert_string_equal(str_at(ev, "event_id"), str_at(other, "event_id"));
		if (!json_equal(ev, other))
			fail_msg("event %zu differs between runs", i);
		/* and ids are unique within a run */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(str_at(ev, "event_id"),
						str_at(json_array_get(a.events, j), "event_id"));
	}
	assert_string_equal(str_at(tool_call(&a, "b"), "call.outcome"), "tool_error");
	h_free(&a);
	h_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_start_from_initialize),
		cmocka_unit_test(test_tool_call_outcomes),
		cmocka_unit_test(test_cancelled_and_unanswered),
		cmocka_unit_test(test_retry_is_one_call),
		cmocka_unit_test(test_ids_scoped_by_direction_and_type),
		cmocka_unit_test(test_progress_counted_on_call),
		cmocka_unit_test(test_task_lifecycle),
		cmocka_unit_test(test_task_status_before_create_result),
		cmocka_unit_test(test_task_cancel_and_abandon),
		cmocka_unit_test(test_task_ttl_extends_timeout),
		cmocka_unit_test(test_task_touched_by_other_identity),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_pending_bound_evicts_oldest),
		cmocka_unit_test(test_invalid_frames_rate_limited),
		cmocka_unit_test(test_replay_is_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
