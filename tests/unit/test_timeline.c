/* Unit tests for collector/timeline: matching, ordering, poll collapsing, token changes and
 * findings, on hand-made events. */
#include "collector/timeline.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* An identity object: subject, issuer, client, fingerprint, actors (comma list or NULL). */
static json_t *who(const char *sub, const char *iss, const char *client, const char *fp,
		   const char *actors)
{
	json_t *a = json_array();
	if (actors) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", actors);
		for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(a, json_string(t));
	}
	json_t *o = json_pack("{s:s?, s:s?, s:s?, s:[s], s:o, s:s, s:b}", "subject", sub, "issuer",
			      iss, "client_id", client, "scopes", "mcp:tools", "actors", a,
			      "source", "bearer_jwt", "verified", 0);
	if (fp)
		json_object_set_new(o, "token",
				    json_pack("{s:s, s:s, s:s, s:I, s:s}", "fingerprint", fp,
					      "kind", "jwt", "class", "access", "exp",
					      (json_int_t)1772449200, "verification",
					      "unverified"));
	return o;
}

static json_t *base(const char *type, const char *id, const char *time, const char *session,
		    json_t *identity)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "schema", "mcptrail/1", "event_id", id,
			      "type", type, "time", time);
	if (session)
		json_object_set_new(e, "session", json_pack("{s:s}", "id", session));
	if (identity)
		json_object_set_new(e, "identity", identity);
	return e;
}

static json_t *call(const char *id, const char *time, const char *session, json_t *identity,
		    const char *tool, const char *outcome)
{
	json_t *e = base("mcp.tool_call", id, time, session, identity);
	json_object_set_new(e, "call",
			    json_pack("{s:s, s:s, s:s, s:i, s:f}", "tool", tool, "rpc_id", "1",
				      "outcome", outcome, "attempts", 1, "latency_ms", 2.5));
	return e;
}

static json_t *poll(const char *id, const char *time, const char *session, json_t *identity,
		    const char *task)
{
	json_t *e = base("mcp.request", id, time, session, identity);
	json_object_set_new(e, "request",
			    json_pack("{s:s, s:s, s:s, s:s, s:i, s:f}", "method", "tasks/get",
				      "rpc_id", "9", "task_id", task, "outcome", "ok", "attempts",
				      1, "latency_ms", 1.0));
	return e;
}

static json_t *task(const char *id, const char *time, const char *session, json_t *identity,
		    const char *task_id, const char *status)
{
	json_t *e = base("mcp.task", id, time, session, identity);
	json_object_set_new(e, "task",
			    json_pack("{s:s, s:s, s:s}", "id", task_id, "status", status,
				      "changed_by", "tasks/get"));
	return e;
}

/* Offers an event as a line (through the prefilter and the parser). */
static enum timeline_offer offer(struct timeline *tl, json_t *ev)
{
	char *s = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	enum timeline_offer r = timeline_offer_line(tl, s, strlen(s));
	free(s);
	return r;
}

static struct timeline *new_tl(enum timeline_kind kind, const char *id)
{
	struct timeline_selector sel = {kind, id, INT64_MIN, INT64_MAX};
	struct timeline *tl = timeline_new(&sel);
	assert_non_null(tl);
	return tl;
}

/* The entries left after collapsing, as "event_id:kind" joined by spaces. */
static const char *order_of(struct timeline *tl)
{
	static char buf[1024];
	size_t n, off = 0;
	const struct timeline_entry *e = timeline_entries(tl, &n);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (e[i].dropped)
			continue;
		const char *k = e[i].kind == TIMELINE_ENTRY_POLLS	    ? "P"
				: e[i].kind == TIMELINE_ENTRY_TOKEN_CHANGED ? "T"
				: e[i].kind == TIMELINE_ENTRY_FINDING	    ? "F"
				: e[i].as_actor				    ? "A"
									    : "E";
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s:%s", off ? " " : "",
					e[i].event_id, k);
	}
	return buf;
}

#define ALICE(fp) who("alice", "https://idp", "app", fp, NULL)

static void test_time_order_is_stable(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_IDENTITY, "alice");
	offer(tl, call("c", "2026-03-02T10:00:02.000Z", "s1", ALICE(NULL), "t", "ok"));
	offer(tl, call("a", "2026-03-02T10:00:01.000000001Z", "s1", ALICE(NULL), "t", "ok"));
	offer(tl, call("b1", "2026-03-02T10:00:02.000Z", "s2", ALICE(NULL), "t", "ok"));
	offer(tl, call("b2", "2026-03-02T11:00:01.5+01:00", "s2", ALICE(NULL), "t", "ok"));
	assert_true(timeline_finish(tl));
	/* equal times keep input order; the offset is applied */
	assert_string_equal(order_of(tl), "a:E b2:E c:E b1:E");
	const struct timeline_summary *s = timeline_summary(tl);
	assert_int_equal(s->nsessions, 2);
	assert_int_equal(s->tool_calls, 4);
	timeline_free(tl);
}

static void test_identity_matching(void **state)
{
	(void)state;
	const char *ids[] = {"alice",	 "https://idp|alice", "app",
			     "tfp:aaaa", "agent-7",	      "auth0|42"};
	const char *want[] = {"m:E a:E", "m:E", "m:E", "m:E", "m:A a:A", "z:E"};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct timeline *tl = new_tl(TIMELINE_IDENTITY, ids[i]);
		offer(tl,
		      call("m", "2026-03-02T10:00:01Z", "s",
			   who("alice", "https://idp", "app", "tfp:aaaa", "agent-7"), "t", "ok"));
		offer(tl, call("a", "2026-03-02T10:00:02Z", "s",
			       who("alice", "https://other", "app2", "tfp:bbbb", "agent-7,root"),
			       "t", "ok"));
		offer(tl, call("x", "2026-03-02T10:00:03Z", "s",
			       who("bob", "https://idp", "cli", "tfp:cccc", NULL), "t", "ok"));
		/* a subject with a '|' matches as a subject, not as ISSUER|SUBJECT */
		offer(tl, call("z", "2026-03-02T10:00:04Z", "s",
			       who("auth0|42", "https://tenant", NULL, NULL, NULL), "t", "ok"));
		assert_true(timeline_finish(tl));
		/* two issuers: two subjects, so no token change between m and a */
		assert_string_equal(order_of(tl), want[i]);
		timeline_free(tl);
	}
}

static void test_token_change_once_per_new_token(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_IDENTITY, "alice");
	offer(tl, call("1", "2026-03-02T10:00:01Z", "s", ALICE("tfp:aaaa"), "t", "ok"));
	offer(tl, call("2", "2026-03-02T10:00:02Z", "s", ALICE("tfp:bbbb"), "t", "ok"));
	offer(tl, call("3", "2026-03-02T10:00:03Z", "s", ALICE("tfp:aaaa"), "t", "ok"));
	offer(tl, call("4", "2026-03-02T10:00:04Z", "s", ALICE("tfp:bbbb"), "t", "ok"));
	offer(tl, call("5", "2026-03-02T10:00:05Z", "s", ALICE("tfp:cccc"), "t", "ok"));
	assert_true(timeline_finish(tl));
	/* the token change line carries the event that showed the new token */
	assert_string_equal(order_of(tl), "1:E 2:T 2:E 3:E 4:E 5:T 5:E");
	size_t n;
	const struct timeline_entry *e = timeline_entries(tl, &n);
	assert_string_equal(e[1].previous->fingerprint, "tfp:aaaa");
	assert_string_equal(e[1].who->fingerprint, "tfp:bbbb");
	assert_int_equal(timeline_summary(tl)->token_changes, 2);
	char line[2048];
	timeline_entry_text(tl, &e[1], line, sizeof(line));
	assert_non_null(strstr(line, "token changed: fp aaaa → bbbb, exp 2026-03-02T11:00:00Z"));
	timeline_free(tl);
}

static void test_polls_collapse_until_the_task_changes(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_TASK, "T1");
	offer(tl, task("w", "2026-03-02T10:00:00Z", "s", ALICE(NULL), "T1", "working"));
	offer(tl, poll("p1", "2026-03-02T10:00:01Z", "s", ALICE(NULL), "T1"));
	offer(tl, poll("p2", "2026-03-02T10:00:02Z", "s", ALICE(NULL), "T1"));
	offer(tl, poll("other", "2026-03-02T10:00:02.5Z", "s", ALICE(NULL), "T2"));
	offer(tl, poll("p3", "2026-03-02T10:00:03Z", "s", ALICE(NULL), "T1"));
	/* another session's poll is not merged into alice's run */
	offer(tl, poll("q1", "2026-03-02T10:00:03.5Z", "s2", ALICE(NULL), "T1"));
	offer(tl, poll("p4", "2026-03-02T10:00:04Z", "s", ALICE(NULL), "T1"));
	offer(tl, task("c", "2026-03-02T10:00:05Z", "s", ALICE(NULL), "T1", "completed"));
	offer(tl, poll("p5", "2026-03-02T10:00:06Z", "s", ALICE(NULL), "T1"));
	assert_true(timeline_finish(tl));
	assert_string_equal(order_of(tl), "w:E p1:P q1:E c:E p5:E");
	size_t n;
	const struct timeline_entry *e = timeline_entries(tl, &n);
	assert_int_equal(e[1].count, 4);
	assert_int_equal(e[1].nmore, 3);
	assert_string_equal(e[1].more_ids[2], "p4");
	json_t *j = timeline_entry_json(tl, &e[1]);
	assert_int_equal(json_array_size(json_object_get(j, "event_ids")), 4);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "polls");
	assert_string_equal(json_string_value(json_object_get(j, "last_time")),
			    "2026-03-02T10:00:04.000000000Z");
	json_decref(j);
	char line[2048];
	timeline_entry_text(tl, &e[1], line, sizeof(line));
	assert_non_null(strstr(line, "polled 4 times between 10:00:01.000Z and 10:00:04.000Z"));
	const struct timeline_summary *s = timeline_summary(tl);
	assert_int_equal(s->polls, 6);
	assert_int_equal(s->events, 8);
	timeline_free(tl);
}

static json_t *finding(const char *id, const char *time, json_t *identity, const char *evidence)
{
	json_t *e = base("finding", id, time, "s9", identity);
	json_t *f = json_pack("{s:s, s:s, s:s}", "kind", "test_kind", "severity", "high", "summary",
			      "something to see");
	if (evidence)
		json_object_set_new(f, "evidence", json_pack("[s]", evidence));
	json_object_set_new(e, "finding", f);
	return e;
}

static void test_findings_before_and_after_evidence(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_SESSION, "sess-a");
	json_t *bob = who("bob", "https://idp", "cli", NULL, NULL);
	/* the finding comes first in the input, its evidence later */
	offer(tl, finding("f1", "2026-03-02T10:00:02Z", json_incref(bob), "c2"));
	offer(tl, call("c1", "2026-03-02T10:00:01Z", "har-1/sess-a", ALICE(NULL), "t", "ok"));
	offer(tl, call("c2", "2026-03-02T10:00:02Z", "har-1/sess-a", ALICE(NULL), "t", "ok"));
	offer(tl, finding("f2", "2026-03-02T10:00:03Z", json_incref(bob), "c1"));
	offer(tl, finding("f3", "2026-03-02T10:00:04Z", json_incref(bob), "nothing-kept"));
	offer(tl, finding("f4", "2026-03-02T10:00:05Z", json_incref(bob), NULL));
	json_decref(bob);
	assert_true(timeline_finish(tl));
	assert_string_equal(order_of(tl), "c1:E f1:F c2:E f2:F");
	assert_int_equal(timeline_summary(tl)->findings, 2);
	timeline_free(tl);
}

static void test_creator_of_a_task_sees_the_finding(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_IDENTITY, "alice");
	json_t *f = finding("f", "2026-03-02T10:00:05Z", who("bob", NULL, NULL, NULL, NULL), NULL);
	json_object_set_new(json_object_get(f, "finding"), "creator", ALICE(NULL));
	offer(tl, f);
	assert_true(timeline_finish(tl));
	assert_string_equal(order_of(tl), "f:F");
	timeline_free(tl);
}

static void test_bad_lines_are_counted(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_IDENTITY, "alice");
	const char *lines[] = {
		"{\"type\":\"mcp.tool_call\",\"identity\":{\"subject\":\"alice\"", /* cut */
		"[1,2]",
		("{\"schema\":\"mcptrail/1\",\"event_id\":\"x\",\"type\":\"t\",\"identity\":"
		 "{\"subject\":\"alice\"}}"), /* no time */
		"{\"event_id\":\"y\",\"type\":\"t\",\"time\":\"yesterday\",\"s\":\"alice\"}",
		"{\"event_id\":\"z\",\"type\":\"t\",\"time\":\"2026-03-02T10:00:00Z\"}", /* fine */
		"not json at all", /* prefilter */
		"{\"mcptrail_manifest\":1,\"segment\":1,\"alice\":1}",
	};
	enum timeline_offer want[] = {TIMELINE_BAD,	TIMELINE_BAD, TIMELINE_BAD,    TIMELINE_BAD,
				      TIMELINE_SKIPPED, TIMELINE_BAD, TIMELINE_SKIPPED};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(timeline_offer_line(tl, lines[i], strlen(lines[i])), want[i]);
	assert_true(timeline_finish(tl));
	assert_int_equal(timeline_counts(tl)->bad_lines, 5);
	assert_int_equal(timeline_counts(tl)->lines, 7);
	assert_int_equal(timeline_summary(tl)->entries, 0);
	timeline_free(tl);
}

static void test_from_to_and_time_parsing(void **state)
{
	(void)state;
	int64_t ns;
	assert_true(timeline_parse_time("2026-03-02T10:02:00Z", 20, &ns));
	int64_t base_ns = ns;
	assert_true(timeline_parse_time("2026-03-02T11:02:00.5+01:00", 27, &ns));
	assert_int_equal(ns, base_ns + 500000000);
	assert_true(timeline_parse_time("2026-03-02t10:02:00.000000001z", 30, &ns));
	assert_int_equal(ns, base_ns + 1);
	assert_false(timeline_parse_time("2026-03-02T10:02:00", 19, &ns));
	assert_false(timeline_parse_time("2026-13-02T10:02:00Z", 20, &ns));
	assert_false(timeline_parse_time("2026-03-02T10:02:00.Z", 21, &ns));

	struct timeline_selector sel = {TIMELINE_IDENTITY, "alice", 0, 0};
	assert_true(timeline_parse_time("2026-03-02T10:02:00Z", 20, &sel.from_ns));
	assert_true(timeline_parse_time("2026-03-02T10:40:00Z", 20, &sel.to_ns));
	struct timeline *tl = timeline_new(&sel);
	offer(tl, call("early", "2026-03-02T10:01:59.999Z", "s", ALICE(NULL), "t", "ok"));
	offer(tl, call("from", "2026-03-02T10:02:00Z", "s", ALICE(NULL), "t", "ok"));
	offer(tl, call("to", "2026-03-02T10:40:00.000Z", "s", ALICE(NULL), "t", "ok"));
	offer(tl, call("late", "2026-03-02T10:40:00.001Z", "s", ALICE(NULL), "t", "ok"));
	assert_true(timeline_finish(tl));
	assert_string_equal(order_of(tl), "from:E to:E");
	timeline_free(tl);
}

static void test_text_line_shows_who_and_what(void **state)
{
	(void)state;
	struct timeline *tl = new_tl(TIMELINE_IDENTITY, "agent-7");
	json_t *c = call(
		"c", "2026-03-02T10:00:01Z", "har-1/sess-a",
		who("alice", "https://idp", "https://cimd.example/c.json", NULL, "agent-7,root"),
		"deploy", "denied");
	json_t *o = json_object_get(c, "call");
	json_object_set_new(o, "attempts", json_integer(2));
	json_object_set_new(o, "auth_challenges", json_integer(1));
	json_object_set_new(o, "latency_ms", json_null());
	offer(tl, c);
	assert_true(timeline_finish(tl));
	size_t n;
	const struct timeline_entry *e = timeline_entries(tl, &n);
	char line[2048];
	timeline_entry_text(tl, &e[0], line, sizeof(line));
	assert_non_null(strstr(line, "2026-03-02T10:00:01.000Z  +0.000s"));
	assert_non_null(strstr(line, "sess-a"));
	assert_non_null(
		strstr(line, "alice via agent-7,root (https://cimd.example/c.json) [as actor]"));
	assert_non_null(strstr(line, "call deploy → denied (no answer), 2 attempts, 1 auth "
				     "challenge"));
	assert_int_equal(timeline_summary(tl)->failures, 1);
	timeline_free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_order_is_stable),
		cmocka_unit_test(test_identity_matching),
		cmocka_unit_test(test_token_change_once_per_new_token),
		cmocka_unit_test(test_polls_collapse_until_the_task_changes),
		cmocka_unit_test(test_findings_before_and_after_evidence),
		cmocka_unit_test(test_creator_of_a_task_sees_the_finding),
		cmocka_unit_test(test_bad_lines_are_counted),
		cmocka_unit_test(test_from_to_and_time_parsing),
		cmocka_unit_test(test_text_line_shows_who_and_what),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
