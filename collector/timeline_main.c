/* mcptrail timeline: the command line (reads the event files, renders the answer).
 *
 * Exit status: 0 when every input was read (also when nothing matched: "no events matched" on
 * stderr), 1 when an input could not be opened or read (the timeline of what was read is still
 * written), 2 on bad usage, an unwritable output or out of memory. */
#include "collector/timeline.h"
#include "sinks/file_segment.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void timeline_usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail timeline (--identity ID | --task ID | --session ID)\n"
		"         [--from TIME] [--to TIME] [--format text|json] [-o FILE] EVENTS...\n"
		"  Everything one identity, task or session did, in time order, across sessions,\n"
		"  retries, polls and token refreshes, with the delegation chain and findings.\n"
		"  EVENTS: normalized events as `mcptrail import -o` or the file sink write them\n"
		"  (JSON lines, plain or zstd segments; '-' is standard input).\n"
		"  --identity ID   a subject, ISSUER|SUBJECT, a client_id (CIMD URL too) or a "
		"token\n"
		"                  fingerprint (tfp:...); events where ID is in the act chain are\n"
		"                  shown \"as actor\"\n"
		"  --task ID       a task id: its transitions, the call, polls (collapsed), "
		"findings\n"
		"  --session ID    a session id, or its Mcp-Session-Id part (after the last '/')\n"
		"  --from/--to     RFC 3339 times (inclusive), e.g. 2026-11-27T10:02:00Z\n"
		"  Exit: 0 (also when nothing matched), 1 an input was unreadable, 2 "
		"usage/output.\n");
}

static int read_input(struct timeline *tl, const char *path)
{
	char err[512];
	const char *open_path = strcmp(path, "-") == 0 ? "/dev/stdin" : path;
	struct segment_reader *r = segment_reader_open(open_path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "mcptrail timeline: %s\n", err);
		return 1;
	}
	int rc = 0, n;
	const char *line;
	size_t len;
	bool terminated;
	while ((n = segment_reader_next(r, &line, &len, &terminated)) == 1) {
		if (len == 0)
			continue;
		if (timeline_offer_line(tl, line, len) == TIMELINE_NOMEM) {
			fprintf(stderr, "mcptrail timeline: out of memory\n");
			rc = 2;
			break;
		}
	}
	if (n < 0) {
		fprintf(stderr, "mcptrail timeline: %s: line %" PRIu64 ": %s\n", path,
			segment_reader_line(r) + 1, segment_reader_error(r));
		rc = 1;
	}
	segment_reader_free(r);
	return rc;
}

int timeline_main(int argc, char **argv)
{
	struct timeline_selector sel = {TIMELINE_IDENTITY, NULL, INT64_MIN, INT64_MAX};
	const char *format = "text", *output = NULL;
	const char **inputs = calloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs = 0, nselectors = 0;
	struct timeline *tl = NULL;
	FILE *out = NULL;
	int rc = 2;
	if (!inputs)
		return 2;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if ((strcmp(a, "--identity") == 0 || strcmp(a, "--task") == 0 ||
		     strcmp(a, "--session") == 0) &&
		    has_value) {
			sel.kind = a[2] == 'i'	 ? TIMELINE_IDENTITY
				   : a[2] == 't' ? TIMELINE_TASK
						 : TIMELINE_SESSION;
			sel.id = argv[++i];
			nselectors++;
			if (!*sel.id) {
				fprintf(stderr, "mcptrail timeline: %s: expected a non-empty id\n",
					a);
				goto out;
			}
		} else if ((strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) && has_value) {
			const char *v = argv[++i];
			int64_t *dst = a[2] == 'f' ? &sel.from_ns : &sel.to_ns;
			if (!timeline_parse_time(v, strlen(v), dst)) {
				fprintf(stderr,
					"mcptrail timeline: %s: expected an RFC 3339 time like "
					"2026-11-27T10:02:00Z, got '%s'\n",
					a, v);
				goto out;
			}
		} else if (strcmp(a, "--format") == 0 && has_value) {
			format = argv[++i];
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
				fprintf(stderr,
					"mcptrail timeline: --format: expected text or json, got "
					"'%s'\n",
					format);
				goto out;
			}
		} else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
			output = argv[++i];
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			timeline_usage(stdout);
			rc = 0;
			goto out;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "mcptrail timeline: unknown option or missing value '%s'\n",
				a);
			timeline_usage(stderr);
			goto out;
		} else {
			inputs[ninputs++] = a;
		}
	}
	if (nselectors != 1) {
		fprintf(stderr, "mcptrail timeline: give exactly one of --identity, --task, "
				"--session\n");
		timeline_usage(stderr);
		goto out;
	}
	if (ninputs == 0) {
		fprintf(stderr,
			"mcptrail timeline: no EVENTS given (use '-' for standard input)\n");
		goto out;
	}
	if (sel.from_ns > sel.to_ns) {
		fprintf(stderr, "mcptrail timeline: --from is after --to\n");
		goto out;
	}
	tl = timeline_new(&sel);
	if (!tl) {
		fprintf(stderr, "mcptrail timeline: out of memory\n");
		goto out;
	}
	int read_rc = 0;
	for (size_t i = 0; i < ninputs; i++) {
		int r = read_input(tl, inputs[i]);
		if (r == 2) {
			read_rc = 2;
			break;
		}
		if (r)
			read_rc = 1;
	}
	if (read_rc == 2)
		goto out;
	if (!timeline_finish(tl)) {
		fprintf(stderr, "mcptrail timeline: out of memory\n");
		goto out;
	}
	out = output ? fopen(output, "w") : stdout;
	if (!out) {
		fprintf(stderr, "mcptrail timeline: -o %s: %s\n", output, strerror(errno));
		goto out;
	}
	int w = strcmp(format, "json") == 0 ? timeline_write_json(tl, out)
					    : timeline_write_text(tl, out);
	if (fflush(out) != 0 || w != 0) {
		fprintf(stderr, "mcptrail timeline: cannot write %s\n", output ? output : "stdout");
		goto out;
	}
	const struct timeline_counts *c = timeline_counts(tl);
	const struct timeline_summary *s = timeline_summary(tl);
	if (c->bad_lines)
		fprintf(stderr,
			"mcptrail timeline: %" PRIu64 " of %" PRIu64
			" input lines were not events (malformed JSON, not an object, or no "
			"type/time/event_id); skipped\n",
			c->bad_lines, c->lines);
	if (s->entries == 0)
		fprintf(stderr, "mcptrail timeline: no events matched (%" PRIu64 " lines read)\n",
			c->lines);
	rc = read_rc;
out:
	if (out && out != stdout && fclose(out) != 0 && rc == 0)
		rc = 2;
	timeline_free(tl);
	free(inputs);
	return rc;
}
