/* `mcptrail demo` imports the capture compiled into the program (tests/data/demo-capture.jsonl,
 * recorded by `mcptrail tap` from the real reference server) into an events file and prints what
 * a reviewer would want to see first. */
#include "collector/demo.h"

#include "collector/importer.h"
#include "collector/redact.h"
#include "sinks/sink.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char mcptrail_demo_capture[];
extern const size_t mcptrail_demo_capture_len;

struct summary {
	json_t *sessions;	  /* array of session start events */
	json_t *calls;		  /* "tool" → {outcome → count} */
	json_t *tasks;		  /* array of {id, tool, status} from tool calls */
	json_t *requests;	  /* method → count */
	json_t *server_initiated; /* type → count */
	json_t *other;		  /* type → count */
	json_t *blast;		  /* identity.blast_radius readouts, in rank order */
	json_t *findings;	  /* finding kind → count */
};

static const char *path_str(json_t *ev, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(ev, a), b);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void bump(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static void observe(void *ctx, json_t *ev)
{
	struct summary *s = ctx;
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (!type)
		return;
	if (strcmp(type, "mcp.session") == 0) {
		const char *state = path_str(ev, "session", "state");
		if (state && strcmp(state, "start") == 0)
			json_array_append(s->sessions, ev);
	} else if (strcmp(type, "mcp.tool_call") == 0) {
		const char *tool = path_str(ev, "call", "tool");
		const char *outcome = path_str(ev, "call", "outcome");
		json_t *per = json_object_get(s->calls, tool ? tool : "(none)");
		if (!per) {
			per = json_object();
			json_object_set_new(s->calls, tool ? tool : "(none)", per);
		}
		bump(per, outcome ? outcome : "?");
		const char *task = path_str(ev, "task", "id");
		if (task)
			json_array_append_new(s->tasks, json_pack("{s:s, s:s?, s:s?, s:s?}", "id",
								  task, "tool", tool, "status",
								  path_str(ev, "task", "status"),
								  "outcome", outcome));
	} else if (strcmp(type, "mcp.request") == 0) {
		const char *m = path_str(ev, "request", "method");
		bump(s->requests, m ? m : "?");
	} else if (strcmp(type, "mcp.sampling") == 0 || strcmp(type, "mcp.elicitation") == 0 ||
		   strcmp(type, "mcp.roots") == 0) {
		bump(s->server_initiated, type);
	} else if (strcmp(type, "identity.blast_radius") == 0) {
		json_t *readout = json_object_get(json_object_get(ev, "blast_radius"), "readout");
		if (json_is_string(readout))
			json_array_append(s->blast, readout);
	} else if (strcmp(type, "finding") == 0) {
		const char *kind = path_str(ev, "finding", "kind");
		bump(s->findings, kind ? kind : "?");
	} else {
		bump(s->other, type);
	}
}

static void print_summary(const struct summary *s, const char *out, const struct import_stats *st)
{
	printf("mcptrail demo: imported the bundled capture (%llu frames) into %s\n",
	       (unsigned long long)st->frames, out);
	printf("  %llu events written\n\n", (unsigned long long)st->events);
	size_t i;
	json_t *ev;
	printf("Sessions: %zu\n", json_array_size(s->sessions));
	json_array_foreach(s->sessions, i, ev)
	{
		json_t *sess = json_object_get(ev, "session");
		json_t *client = json_object_get(sess, "client");
		json_t *server = json_object_get(sess, "server");
		printf("  %s  %s  protocol %s\n", json_string_value(json_object_get(sess, "id")),
		       json_string_value(json_object_get(sess, "transport")),
		       json_string_value(json_object_get(sess, "protocol_version"))
			       ? json_string_value(json_object_get(sess, "protocol_version"))
			       : "?");
		printf("    identity %s (%s)\n", path_str(ev, "identity", "subject"),
		       path_str(ev, "identity", "source"));
		printf("    client   %s %s (self-declared)\n",
		       json_string_value(json_object_get(client, "name")),
		       json_string_value(json_object_get(client, "version")));
		printf("    server   %s %s\n", json_string_value(json_object_get(server, "name")),
		       json_string_value(json_object_get(server, "version")));
	}
	printf("\nTool calls by tool and outcome:\n");
	const char *tool;
	json_t *per;
	json_object_foreach(s->calls, tool, per)
	{
		printf("  %-34s", tool);
		const char *outcome;
		json_t *n;
		json_object_foreach(per, outcome, n)
			printf(" %s=%lld", outcome, (long long)json_integer_value(n));
		printf("\n");
	}
	printf("\nTasks:\n");
	if (json_array_size(s->tasks) == 0)
		printf("  (none)\n");
	json_t *t;
	json_array_foreach(s->tasks, i, t)
		printf("  %s  %-26s final status %s\n", json_string_value(json_object_get(t, "id")),
		       json_string_value(json_object_get(t, "tool")),
		       json_string_value(json_object_get(t, "status")));
	printf("\nOther requests:");
	const char *k;
	json_t *n;
	json_object_foreach(s->requests, k, n)
		printf(" %s=%lld", k, (long long)json_integer_value(n));
	printf("\nServer-initiated:");
	json_object_foreach(s->server_initiated, k, n)
		printf(" %s=%lld", k, (long long)json_integer_value(n));
	printf("\nOther events:");
	json_object_foreach(s->other, k, n) printf(" %s=%lld", k, (long long)json_integer_value(n));
	printf("\nFindings:");
	if (json_object_size(s->findings) == 0)
		printf(" none");
	json_object_foreach(s->findings, k, n)
		printf(" %s=%lld", k, (long long)json_integer_value(n));
	printf("\n\nBlast radius (mcptrail blast-radius %s for the full report):\n", out);
	json_t *line;
	json_array_foreach(s->blast, i, line) printf("  %s\n", json_string_value(line));
}

int demo_main(int argc, char **argv)
{
	const char *out = "mcptrail-demo-events.jsonl";
	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: mcptrail demo [-o EVENTS_FILE]\n"
			       "  Imports the bundled capture (recorded by `mcptrail tap` from\n"
			       "  @modelcontextprotocol/server-everything) into EVENTS_FILE\n"
			       "  (default mcptrail-demo-events.jsonl) and prints a summary.\n");
			return 0;
		} else {
			fprintf(stderr, "mcptrail demo: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	char err[512];
	char uri[4096];
	snprintf(uri, sizeof(uri), "file:%s", out);
	struct sink *sink = sink_open(uri, err, sizeof(err));
	if (!sink) {
		fprintf(stderr, "mcptrail demo: %s\n", err);
		return 2;
	}
	struct summary s = {json_array(),  json_object(), json_array(), json_object(),
			    json_object(), json_object(), json_array(), json_object()};
	struct import_options opt;
	import_options_defaults(&opt);
	struct redactor *redactor = redactor_new(NULL, 0, err, sizeof(err));
	if (!redactor) {
		fprintf(stderr, "mcptrail demo: %s\n", err);
		sink_close(sink);
		return 2;
	}
	opt.correlator.redactor = redactor;
	opt.sinks = &sink;
	opt.nsinks = 1;
	opt.observer = observe;
	opt.observer_ctx = &s;
	opt.blast_radius = true; /* as `mcptrail import` */
	struct import_stats st;
	int rc = import_run_buffer(&opt, "demo-capture.jsonl", (const char *)mcptrail_demo_capture,
				   mcptrail_demo_capture_len, &st);
	if (sink_close(sink) != 0 && rc == 0)
		rc = 2;
	if (rc == 0)
		print_summary(&s, out, &st);
	else
		fprintf(stderr, "mcptrail demo: import failed (%d)\n", rc);
	redactor_free(redactor);
	json_decref(s.sessions);
	json_decref(s.calls);
	json_decref(s.tasks);
	json_decref(s.requests);
	json_decref(s.server_initiated);
	json_decref(s.other);
	json_decref(s.blast);
	json_decref(s.findings);
	return rc;
}
