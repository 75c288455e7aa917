/* `mcptrail blast-radius`: normalized events in (JSON lines as `mcptrail import -o` writes them,
 * or the file sink's segments, plain, zstd-compressed or hash-chained), a ranked per-identity
 * blast radius out as text, JSON or one self-contained HTML page. */
#include "collector/blast_radius.h"
#include "sinks/file_segment.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail blast-radius [--format text|json|html] [-o FILE] [--config FILE]\n"
		"         [--window DAYS] EVENTS...\n"
		"  Per-identity MCP Blast Radius (MBR) from normalized events (JSON lines written\n"
		"  by `mcptrail import -o`, or file-sink segments, zstd or not; '-' is stdin).\n"
		"  The window ends at the newest event (default 30 days). --config: server\n"
		"  criticality and trust, NHI subject patterns, caps (see README, Blast radius).\n"
		"  Bad lines are counted and reported on stderr.\n");
}

struct read_stats {
	uint64_t lines, bad, files_failed;
};

static void read_events(struct blast_radius *br, const char *path, struct read_stats *st)
{
	char err[512];
	const char *name = strcmp(path, "-") == 0 ? "/dev/stdin" : path;
	struct segment_reader *r = segment_reader_open(name, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "mcptrail blast-radius: %s\n", err);
		st->files_failed++;
		return;
	}
	const char *line;
	size_t len;
	bool terminated;
	int rc;
	uint64_t bad_here = 0;
	while ((rc = segment_reader_next(r, &line, &len, &terminated)) == 1) {
		st->lines++;
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (len == 0)
			continue;
		json_error_t je;
		json_t *ev = json_loadb(line, len, JSON_ALLOW_NUL, &je);
		if (!json_is_object(ev)) {
			if (bad_here++ < 5)
				fprintf(stderr,
					"mcptrail blast-radius: %s:%llu: not a JSON object (%s)\n",
					path, (unsigned long long)segment_reader_line(r),
					ev ? "other JSON" : je.text);
			st->bad++;
			json_decref(ev);
			continue;
		}
		if (json_object_get(ev, "mcptrail_manifest")) {
			json_decref(ev); /* a segment manifest, not an event */
			continue;
		}
		blast_radius_add(br, ev);
		json_decref(ev);
	}
	if (rc < 0) {
		fprintf(stderr, "mcptrail blast-radius: %s: %s\n", path, segment_reader_error(r));
		st->files_failed++;
	}
	segment_reader_free(r);
}

int blast_radius_main(int argc, char **argv)
{
	const char *format = "text", *out_path = NULL, *config = NULL;
	double window = 0;
	int rc = 2;
	struct br_config cfg;
	br_config_defaults(&cfg);
	struct blast_radius *br = NULL;
	json_t *report = NULL;
	FILE *out = NULL;
	char **inputs = calloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs = 0;
	if (!inputs)
		return 2;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(a, "--format") == 0 && has_value) {
			format = argv[++i];
			if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
			    strcmp(format, "html") != 0) {
				fprintf(stderr,
					"mcptrail blast-radius: --format: expected text, json "
					"or html, got '%s'\n",
					format);
				goto out;
			}
		} else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
			out_path = argv[++i];
		} else if (strcmp(a, "--config") == 0 && has_value) {
			config = argv[++i];
		} else if (strcmp(a, "--window") == 0 && has_value) {
			char *end;
			window = strtod(argv[++i], &end);
			if (*end || !(window > 0) || window > 100000) {
				fprintf(stderr,
					"mcptrail blast-radius: --window: expected a number "
					"of days > 0 (at most 100000)\n");
				goto out;
			}
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "mcptrail blast-radius: unknown option '%s'\n", a);
			usage(stderr);
			goto out;
		} else {
			inputs[ninputs++] = argv[i];
		}
	}
	if (ninputs == 0) {
		fprintf(stderr, "mcptrail blast-radius: no EVENTS file given (use '-' for standard "
				"input)\n");
		goto out;
	}
	char err[700];
	if (config && br_config_load(&cfg, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "mcptrail blast-radius: --config %s\n", err);
		goto out;
	}
	if (window > 0)
		cfg.window_days = window;
	br = blast_radius_new(&cfg);
	if (!br)
		goto out;
	struct read_stats st = {0};
	for (size_t i = 0; i < ninputs; i++)
		read_events(br, inputs[i], &st);
	const struct blast_radius_stats *bs = blast_radius_stats(br);
	if (st.bad || bs->ignored_events || st.files_failed)
		fprintf(stderr,
			"mcptrail blast-radius: %llu bad lines, %llu events without type/time/id "
			"ignored, %llu unreadable files\n",
			(unsigned long long)st.bad, (unsigned long long)bs->ignored_events,
			(unsigned long long)st.files_failed);
	if (bs->events == 0) {
		fprintf(stderr, "mcptrail blast-radius: no events could be read\n");
		rc = 1;
		goto out;
	}
	out = out_path ? fopen(out_path, "w") : stdout;
	if (!out) {
		fprintf(stderr, "mcptrail blast-radius: %s: cannot write\n", out_path);
		goto out;
	}
	int w = strcmp(format, "json") == 0   ? blast_radius_write_json(br, out)
		: strcmp(format, "html") == 0 ? blast_radius_write_html(br, out)
					      : blast_radius_write_text(br, out);
	if (fflush(out) != 0 || w != 0) {
		fprintf(stderr, "mcptrail blast-radius: write error\n");
		goto out;
	}
	report = blast_radius_header(br);
	json_t *stats = json_object_get(report, "stats");
	fprintf(stderr,
		"mcptrail blast-radius: %llu events, %lld identities in the window (%lld outside, "
		"%lld unattributed events)\n",
		(unsigned long long)bs->events,
		(long long)json_integer_value(json_object_get(stats, "identities")),
		(long long)json_integer_value(json_object_get(stats, "identities_outside_window")),
		(long long)json_integer_value(json_object_get(stats, "unattributed_events")));
	rc = 0;
out:
	if (out && out != stdout && fclose(out) != 0 && rc == 0)
		rc = 2;
	json_decref(report);
	blast_radius_free(br);
	br_config_release(&cfg);
	free(inputs);
	return rc;
}
