/* Unit tests for collector/blast_radius: MBR (§4.1 of the blast-radius reference) on small
 * hand-computed cases, fed as normalized events through the public interface. */
#include "collector/blast_radius.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- building events ---- */

static unsigned next_id;

/* An event of type at "2026-11-DDTHH:00:00Z" (day, hour) for identity (a JSON object text)
 * with extra members (JSON object text, merged). */
static void feed(struct blast_radius *br, const char *type, int day, int hour, const char *identity,
		 const char *extra)
{
	char time[64], id[40];
	snprintf(time, sizeof(time), "2026-11-%02dT%02d:00:00.000Z", day, hour);
	snprintf(id, sizeof(id), "ev%04u", ++next_id);
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "schema", "mcptrail/1", "event_id", id,
			       "type", type, "time", time);
	if (identity) {
		json_t *ident = json_loads(identity, 0, NULL);
		assert_non_null(ident);
		json_object_set_new(ev, "identity", ident);
	}
	if (extra) {
		json_t *x = json_loads(extra, 0, NULL);
		assert_non_null(x);
		json_object_update(ev, x);
		json_decref(x);
	}
	blast_radius_add(br, ev);
	json_decref(ev);
}

#define SVC "{\"subject\":\"svc-a\",\"issuer\":\"https://idp\",\"scopes\":[],\"actors\":[]}"
#define SESSION(server) "\"session\":{\"id\":\"s1\",\"server\":{\"name\":\"" server "\"}}"

static void list_tools(struct blast_radius *br, int day, const char *identity, const char *server,
		       const char *tools)
{
	char extra[4096];
	snprintf(extra, sizeof(extra),
		 "{\"request\":{\"method\":\"tools/list\",\"outcome\":\"ok\"},"
		 "\"session\":{\"id\":\"s1\",\"server\":{\"name\":\"%s\"}},\"tools\":%s}",
		 server, tools);
	feed(br, "mcp.request", day, 1, identity, extra);
}

static void call_tool(struct blast_radius *br, int day, const char *identity, const char *server,
		      const char *tool, const char *outcome)
{
	char extra[1024];
	snprintf(extra, sizeof(extra),
		 "{\"call\":{\"tool\":\"%s\",\"outcome\":\"%s\"},"
		 "\"session\":{\"id\":\"s1\",\"server\":{\"name\":\"%s\"}}}",
		 tool, outcome, server);
	feed(br, "mcp.tool_call", day, 2, identity, extra);
}

/* ---- reading a report ---- */

static json_t *only_identity(json_t *report, const char *subject)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(report, "identities"), i, it)
	{
		const char *s = json_string_value(
			json_object_get(json_object_get(it, "identity"), "subject"));
		if (s && strcmp(s, subject) == 0)
			return it;
	}
	return NULL;
}

static double num(json_t *o, const char *path)
{
	/* a.b.c */
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *v = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	if (json_is_boolean(v))
		return json_is_true(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static json_t *at(json_t *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *v = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return v;
}

static void assert_close(double a, double b)
{
	if (fabs(a - b) > 0.01) {
		fail_msg("%g != %g", a, b);
	}
}

struct fixture {
	struct br_config cfg;
	struct blast_radius *br;
	json_t *report;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	br_config_defaults(&f->cfg);
	f->br = blast_radius_new(&f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	json_decref(f->report);
	blast_radius_free(f->br);
	br_config_release(&f->cfg);
	free(f);
	return 0;
}

static json_t *report(struct fixture *f, const char *subject)
{
	json_decref(f->report);
	f->report = blast_radius_report(f->br);
	json_t *it = only_identity(f->report, subject);
	assert_non_null(it);
	return it;
}

/* ---- cases ---- */

static void test_untrusted_annotations_are_worst_case(void **state)
{
	struct fixture *f = *state;
	/* annotations say read-only, but the server is not trusted: 10·c(s) each */
	list_tools(
		f->br, 1, SVC, "srv",
		"[{\"name\":\"a\",\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":false}},"
		"{\"name\":\"b\"}]");
	call_tool(f->br, 1, SVC, "srv", "a", "ok");
	json_t *it = report(f, "svc-a");
	assert_close(num(it, "capability.C"), 20);
	assert_close(num(it, "capability.C_used"), 10);
	assert_close(num(it, "capability.unused_privilege"), 0.5);
	assert_close(num(it, "capability.destructive"), 2);
	assert_close(num(it, "mbr"), 20);
	assert_close(num(it, "score"), 25 * log10(21));
	assert_close(num(it, "capability.tools_annotations_believed"), 0);
	/* every number carries its evidence: the listing and the call */
	json_t *top = json_array_get(json_object_get(it, "top_contributors"), 0);
	assert_string_equal(json_string_value(at(top, "name")), "a");
	assert_int_equal(json_array_size(at(top, "evidence.granted")), 1);
	assert_int_equal(json_array_size(at(top, "evidence.used")), 1);
	assert_false(json_is_true(at(it, "orphan.value")));
}

static void test_trusted_annotations_and_criticality(void **state)
{
	struct fixture *f = *state;
	f->cfg.servers[0].name = strdup("crm");
	f->cfg.servers[0].criticality = 2;
	f->cfg.servers[0].trusted = true;
	f->cfg.nservers = 1;
	list_tools(
		f->br, 1, SVC, "crm",
		"[{\"name\":\"read\",\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":"
		"false}},"
		"{\"name\":\"write\",\"annotations\":{\"readOnlyHint\":false,\"destructiveHint\":"
		"false}},"
		"{\"name\":\"delete\",\"annotations\":{\"destructiveHint\":true,\"openWorldHint\":"
		"false}},"
		"{\"name\":\"bare\"}]");
	feed(f->br, "mcp.request", 1, 3, SVC,
	     "{\"request\":{\"method\":\"resources/list\",\"outcome\":\"ok\"}," SESSION(
		     "crm") ",\"resources\":[{\"uri\":\"crm://acct/1\"},{\"uri\":\"crm://acct/2\"},"
			    "{\"uri\":\"crm://notes/x?y=1\"}]}");
	/* read 1·2, write open-world 3·2·2, delete closed 5·2, bare (spec defaults) 5·2·2,
	 * two URI prefixes 1·2 each */
	json_t *it = report(f, "svc-a");
	assert_close(num(it, "capability.C"), 2 + 12 + 10 + 20 + 4);
	assert_close(num(it, "capability.read"), 1);
	assert_close(num(it, "capability.write"), 1);
	assert_close(num(it, "capability.destructive"), 2);
	assert_close(num(it, "capability.resources_granted"), 2);
	assert_close(num(it, "capability.tools_annotations_believed"), 4);
	assert_close(num(it, "capability.unused_privilege"), 1);
	/* no calls at all: an orphan */
	assert_true(json_is_true(at(it, "orphan.value")));
	json_t *top = json_object_get(it, "top_contributors");
	assert_int_equal(json_array_size(top), 5);
	assert_string_equal(json_string_value(at(json_array_get(top, 0), "name")), "bare");
	assert_close(num(json_array_get(top, 0), "weight"), 20);
}

static void test_delegation_act_hops(void **state)
{
	struct fixture *f = *state;
	const char *id = "{\"subject\":\"user\",\"issuer\":\"https://as\",\"scopes\":[],"
			 "\"actors\":[\"agent-1\",\"orchestrator\"]}";
	list_tools(f->br, 1, id, "srv", "[{\"name\":\"t\"}]");
	json_t *it = report(f, "user");
	/* 2 act hops: 1 beyond the first */
	assert_close(num(it, "amplifiers.D.value"), 1.5);
	assert_close(num(it, "amplifiers.D.act_hops"), 2);
	assert_int_equal(json_array_size(at(it, "amplifiers.D.evidence")), 1);
	assert_close(num(it, "amplifiers.S.value"), 1);
	assert_close(num(it, "amplifiers.P.value"), 1);
	assert_close(num(it, "amplifiers.L.value"), 1);
	assert_close(num(it, "mbr"), 15);
	/* the actor became the user: the user's reach is its reach too */
	json_t *agent = only_identity(f->report, "agent-1");
	assert_non_null(agent);
	assert_close(num(agent, "capability.C"), 10);
	json_t *tool = json_array_get(json_object_get(agent, "top_contributors"), 0);
	assert_string_equal(json_string_value(at(tool, "via")), "https://as|user");
}

static void test_delegation_id_jag_audiences(void **state)
{
	struct fixture *f = *state;
	const char *id =
		"{\"subject\":\"u\",\"issuer\":\"https://idp\",\"scopes\":[],\"actors\":[],"
		"\"token\":{\"fingerprint\":\"tfp:1\",\"kind\":\"jwt\",\"class\":\"id_jag\","
		"\"exp\":1900000000,\"aud\":[\"https://as1\",\"https://as2\"]}}";
	list_tools(f->br, 1, id, "srv", "[{\"name\":\"t\"}]");
	json_t *it = report(f, "u");
	assert_close(num(it, "amplifiers.D.value"), 2); /* two distinct audiences */
	assert_int_equal(json_array_size(at(it, "amplifiers.D.exchange_audiences")), 2);
	/* an IdP's identity.grant names a further audience */
	feed(f->br, "identity.grant", 1, 5, NULL,
	     "{\"grant\":{\"grant_type\":\"urn:ietf:params:oauth:grant-type:token-exchange\","
	     "\"actor\":\"u\",\"issuer\":\"https://idp\",\"subject\":\"u\",\"audience\":\"https://"
	     "as3\",\"scopes\":[\"x\"]}}");
	it = report(f, "u");
	assert_close(num(it, "amplifiers.D.value"), 2.5);
}

static void test_sampling_recursion(void **state)
{
	struct fixture *f = *state;
	list_tools(f->br, 1, SVC, "srv", "[{\"name\":\"t\"}]");
	feed(f->br, "mcp.session", 1, 0, SVC,
	     "{\"session\":{\"id\":\"s1\",\"state\":\"start\",\"client_capabilities\":{"
	     "\"sampling_tools\":true}}}");
	json_t *it = report(f, "svc-a");
	assert_close(num(it, "amplifiers.S.value"), 1); /* declared, never sent */
	feed(f->br, "mcp.sampling", 1, 4, SVC,
	     "{\"sampling\":{\"tools\":[\"shell\"]}," SESSION("srv") "}");
	it = report(f, "svc-a");
	assert_close(num(it, "amplifiers.S.value"), 1.5);
	assert_int_equal(json_array_size(at(it, "amplifiers.S.evidence")), 2);
	assert_close(num(it, "mbr"), 15);
}

static void test_persistence_tasks(void **state)
{
	struct fixture *f = *state;
	list_tools(f->br, 1, SVC, "srv", "[{\"name\":\"t\"}]");
	/* task 1 is created in s1 and reported from s2 (it outlived s1); task 2 stays in s1 */
	feed(f->br, "mcp.task", 1, 2, SVC,
	     "{\"task\":{\"id\":\"T1\"},\"session\":{\"id\":\"s1\"}}");
	feed(f->br, "mcp.task", 1, 3, SVC,
	     "{\"task\":{\"id\":\"T1\"},\"session\":{\"id\":\"s2\"}}");
	feed(f->br, "mcp.task", 1, 2, SVC,
	     "{\"task\":{\"id\":\"T2\"},\"session\":{\"id\":\"s1\"}}");
	feed(f->br, "mcp.task", 1, 3, SVC,
	     "{\"task\":{\"id\":\"T2\"},\"session\":{\"id\":\"s1\"}}");
	json_t *it = report(f, "svc-a");
	assert_close(num(it, "amplifiers.P.value"), 1.25);
	assert_close(num(it, "amplifiers.P.tasks"), 2);
	assert_close(num(it, "amplifiers.P.outlived_session"), 1);
	/* a task_outlived_token finding on T2: every task outlived something */
	feed(f->br, "finding", 1, 5, SVC,
	     "{\"finding\":{\"kind\":\"task_outlived_token\",\"creator\":" SVC
	     "},\"task\":{\"id\":\"T2\"}}");
	it = report(f, "svc-a");
	assert_close(num(it, "amplifiers.P.value"), 1.5);
	assert_close(num(it, "amplifiers.P.outlived_token"), 1);
	assert_int_equal(json_array_size(at(it, "amplifiers.P.evidence")), 2);
}

static void test_static_and_shared_credentials(void **state)
{
	struct fixture *f = *state;
	const char *no_exp =
		"{\"subject\":\"a\",\"issuer\":\"i\",\"client_id\":\"c1\",\"scopes\":[],"
		"\"actors\":[],\"token\":{\"fingerprint\":\"tfp:A\",\"class\":"
		"\"access\",\"exp\":null}}";
	const char *shared1 = "{\"subject\":\"b\",\"issuer\":\"i\",\"client_id\":\"c1\",\"scopes\":"
			      "[],\"actors\":[],\"token\":{\"fingerprint\":\"tfp:B\",\"exp\":"
			      "1900000000}}";
	const char *shared2 = "{\"subject\":\"b\",\"issuer\":\"i\",\"client_id\":\"c2\",\"scopes\":"
			      "[],\"actors\":[],\"token\":{\"fingerprint\":\"tfp:B\",\"exp\":"
			      "1900000000}}";
	const char *fine =
		"{\"subject\":\"c\",\"issuer\":\"i\",\"client_id\":\"c3\",\"scopes\":[],"
		"\"actors\":[],\"token\":{\"fingerprint\":\"tfp:C\",\"exp\":1900000000}}";
	list_tools(f->br, 1, no_exp, "srv", "[{\"name\":\"t\"}]");
	list_tools(f->br, 1, shared1, "srv", "[{\"name\":\"t\"}]");
	call_tool(f->br, 1, shared2, "srv", "t", "ok");
	list_tools(f->br, 1, fine, "srv", "[{\"name\":\"t\"}]");
	json_t *it = report(f, "a");
	assert_close(num(it, "amplifiers.L.value"), 1.25);
	assert_true(json_is_true(at(it, "amplifiers.L.static")));
	assert_close(num(it, "mbr"), 12.5);
	it = only_identity(f->report, "b");
	assert_close(num(it, "amplifiers.L.value"), 1.25);
	assert_false(json_is_true(at(it, "amplifiers.L.static")));
	assert_int_equal(json_array_size(at(it, "amplifiers.L.shared_fingerprints")), 1);
	assert_int_equal(json_array_size(at(it, "amplifiers.L.evidence")), 1);
	it = only_identity(f->report, "c");
	assert_close(num(it, "amplifiers.L.value"), 1);
	/* ranked by MBR: a and b (12.5) before c (10) */
	json_t *first = json_array_get(json_object_get(f->report, "identities"), 2);
	assert_string_equal(json_string_value(at(first, "identity.subject")), "c");
}

static void test_unused_scopes(void **state)
{
	struct fixture *f = *state;
	const char *narrow =
		"{\"subject\":\"u\",\"issuer\":\"i\",\"scopes\":[\"files:read\"],"
		"\"actors\":[],\"token\":{\"fingerprint\":\"tfp:1\",\"exp\":1900000000}}";
	const char *wide = "{\"subject\":\"u\",\"issuer\":\"i\",\"scopes\":[\"files:read\","
			   "\"org:write\"],\"actors\":[],\"token\":{\"fingerprint\":\"tfp:2\","
			   "\"exp\":1900000000}}";
	/* the wide token only discovers (tools/list) and fails a call; the narrow one works */
	list_tools(f->br, 1, wide, "srv", "[{\"name\":\"t\"}]");
	call_tool(f->br, 1, wide, "srv", "t", "denied");
	call_tool(f->br, 1, narrow, "srv", "t", "ok");
	feed(f->br, "mcp.auth", 1, 6, narrow,
	     "{\"auth\":{\"status\":403,\"kind\":\"insufficient_scope\",\"challenge\":{\"scope\":"
	     "\"files:write admin\"}}}");
	json_t *it = report(f, "u");
	json_t *unused = at(it, "scopes.unused");
	assert_int_equal(json_array_size(unused), 1);
	assert_string_equal(json_string_value(json_array_get(unused, 0)), "org:write");
	assert_int_equal(json_array_size(at(it, "scopes.granted")), 2);
	assert_int_equal(json_array_size(at(it, "scopes.used")), 1);
	assert_int_equal(json_array_size(at(it, "scopes.challenged")), 2);
	assert_non_null(strstr(json_string_value(json_object_get(it, "readout")),
			       "scope org:write unused"));
	assert_int_equal(json_array_size(at(it, "scopes.evidence.org:write.granted")), 2);
}

static void test_window_and_orphan(void **state)
{
	struct fixture *f = *state;
	const char *old = "{\"subject\":\"old\",\"issuer\":\"i\",\"scopes\":[],\"actors\":[]}";
	/* svc-a called on day 1 and only listed after that: 5 days later with a 3-day window, it is
	 * an orphan; "old" was last seen before the window and is not reported */
	list_tools(f->br, 1, old, "srv", "[{\"name\":\"t\"}]");
	call_tool(f->br, 1, SVC, "srv", "t", "ok");
	list_tools(f->br, 6, SVC, "srv", "[{\"name\":\"t\"}]");
	f->cfg.window_days = 3;
	json_t *it = report(f, "svc-a");
	assert_true(json_is_true(at(it, "orphan.value")));
	assert_close(num(it, "capability.tools_used"), 0);
	assert_null(only_identity(f->report, "old"));
	assert_int_equal(json_integer_value(at(f->report, "stats.identities_outside_window")), 1);
	f->cfg.window_days = 30;
	it = report(f, "svc-a");
	assert_false(json_is_true(at(it, "orphan.value")));
	assert_non_null(only_identity(f->report, "old"));
}

static void test_interactive_nhi(void **state)
{
	struct fixture *f = *state;
	const char *human = "{\"subject\":\"alice\",\"issuer\":\"i\",\"scopes\":[],\"actors\":[]}";
	const char *answer = "{\"elicitation\":{\"mode\":\"form\",\"action\":\"accept\"}}";
	feed(f->br, "mcp.elicitation", 1, 1, SVC, answer);
	feed(f->br, "mcp.elicitation", 1, 1, human, answer);
	json_t *it = report(f, "svc-a");
	assert_true(json_is_true(at(it, "identity.nhi")));
	assert_true(json_is_true(at(it, "interactive_nhi.value")));
	assert_int_equal(json_array_size(at(it, "interactive_nhi.evidence")), 1);
	it = only_identity(f->report, "alice");
	assert_false(json_is_true(at(it, "identity.nhi")));
	assert_false(json_is_true(at(it, "interactive_nhi.value")));
}

static void test_memory_is_capped(void **state)
{
	struct fixture *f = *state;
	f->cfg.max_items = 4;
	f->cfg.max_evidence = 2;
	char tools[4096] = "[";
	for (int i = 0; i < 10; i++)
		snprintf(tools + strlen(tools), sizeof(tools) - strlen(tools),
			 "%s{\"name\":\"t%d\"}", i ? "," : "", i);
	strcat(tools, "]");
	for (int d = 1; d <= 5; d++)
		list_tools(f->br, d, SVC, "srv", tools);
	json_t *it = report(f, "svc-a");
	assert_close(num(it, "capability.tools_granted"), 4);
	assert_close(num(it, "capability.C"), 40);
	assert_int_equal(json_integer_value(at(it, "dropped.tools")), 6 * 5);
	/* five listings, the newest two kept as evidence */
	json_t *top = json_array_get(json_object_get(it, "top_contributors"), 0);
	json_t *ev = at(top, "evidence.granted");
	assert_int_equal(json_array_size(ev), 2);
	assert_int_equal(json_array_size(at(it, "identity.evidence")), 2);
}

static void collect_event(void *ctx, json_t *event_take)
{
	json_array_append_new(ctx, event_take);
}

static void test_bad_events_and_identity_events(void **state)
{
	struct fixture *f = *state;
	json_t *bad = json_pack("{s:s, s:s}", "type", "mcp.tool_call", "event_id", "x");
	blast_radius_add(f->br, bad); /* no time */
	json_decref(bad);
	bad = json_pack("{s:s, s:s, s:s}", "type", "mcp.tool_call", "event_id", "x", "time",
			"yesterday");
	blast_radius_add(f->br, bad);
	json_decref(bad);
	/* found by fuzz_blast_radius: times and token expiries past what nanoseconds hold */
	bad = json_pack("{s:s, s:s, s:s}", "type", "mcp.tool_call", "event_id", "x", "time",
			"9999-01-01T00:00:00Z");
	blast_radius_add(f->br, bad);
	json_decref(bad);
	feed(f->br, "mcp.task", 1, 1,
	     "{\"subject\":\"svc-a\",\"issuer\":\"https://idp\",\"token\":{\"exp\":"
	     "9223372036854775807}}",
	     "{\"task\":{\"id\":\"T\"}}");
	feed(f->br, "mcp.tool_call", 1, 1, "{\"subject\":null,\"issuer\":null}", "{}");
	list_tools(f->br, 1, SVC, "srv", "[{\"name\":\"<script>\"}, {\"nom\":1}, 7]");
	const struct blast_radius_stats *st = blast_radius_stats(f->br);
	assert_int_equal(st->ignored_events, 3);
	assert_int_equal(st->unattributed_events, 1);
	json_t *it = report(f, "svc-a");
	assert_close(num(it, "capability.tools_granted"), 1);
	json_t *events = json_array();
	blast_radius_events(f->br, collect_event, events);
	assert_int_equal(json_array_size(events), 1);
	json_t *ev = json_array_get(events, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "type")),
			    "identity.blast_radius");
	assert_string_equal(json_string_value(json_object_get(ev, "time")),
			    "2026-11-01T01:00:00.000000000Z");
	assert_string_equal(json_string_value(at(ev, "blast_radius.identity.subject")), "svc-a");
	assert_non_null(at(ev, "blast_radius.window"));
	/* the same input gives the same id */
	json_t *again = json_array();
	blast_radius_events(f->br, collect_event, again);
	assert_string_equal(
		json_string_value(json_object_get(ev, "event_id")),
		json_string_value(json_object_get(json_array_get(again, 0), "event_id")));
	/* and the HTML escapes what the events said */
	char *html = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&html, &len);
	assert_int_equal(blast_radius_write_html(f->br, mem), 0);
	fclose(mem);
	/* the page's own script is the only one */
	assert_non_null(strstr(html, "&lt;script&gt;"));
	const char *first = strstr(html, "<script>");
	assert_non_null(first);
	assert_null(strstr(first + 1, "<script>"));
	free(html);
	json_decref(events);
	json_decref(again);
}

static void test_config_file_errors_name_the_path(void **state)
{
	(void)state;
	char path[] = "/tmp/br-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs("{\"servers\":{\"crm\":{\"criticality\":7}}}", fp);
	fclose(fp);
	struct br_config cfg;
	br_config_defaults(&cfg);
	char err[512];
	assert_int_equal(br_config_load(&cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "servers.crm"));
	br_config_release(&cfg);
	fp = fopen(path, "w");
	fputs("{\"servers\":{\"crm\":{\"criticality\":3,\"trusted\":true}},\"window_days\":7,"
	      "\"nhi_subjects\":[\"robot-*\"]}",
	      fp);
	fclose(fp);
	br_config_defaults(&cfg);
	assert_int_equal(br_config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.nservers, 1);
	assert_int_equal(cfg.servers[0].criticality, 3);
	assert_true(cfg.servers[0].trusted);
	assert_close(cfg.window_days, 7);
	assert_int_equal(cfg.nnhi, 1);
	br_config_release(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_untrusted_annotations_are_worst_case, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_trusted_annotations_and_criticality, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delegation_act_hops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delegation_id_jag_audiences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sampling_recursion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence_tasks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_and_shared_credentials, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unused_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_and_orphan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interactive_nhi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_is_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_events_and_identity_events, setup,
						teardown),
		cmocka_unit_test(test_config_file_errors_name_the_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
