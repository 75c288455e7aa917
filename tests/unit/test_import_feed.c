/* Unit tests for the importer's line-at-a-time entry points (importer_new, import_feed_line, ...),
 * which `mcptrail collect` uses: the same events as a whole-capture import, per-source line
 * numbers whatever the interleaving, and a daemon's stop that keeps pending state unemitted. */
#include "collector/importer.h"

#include "parsers/tap_record.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct collected {
	char **ids;
	size_t n, cap;
	json_t *errors; /* ingest.error events (copies) */
};

static void observe(void *ctx, json_t *event)
{
	struct collected *c = ctx;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->ids = realloc(c->ids, c->cap * sizeof(char *));
		assert_non_null(c->ids);
	}
	c->ids[c->n++] = strdup(json_string_value(json_object_get(event, "event_id")));
	if (strcmp(json_string_value(json_object_get(event, "type")), "ingest.error") == 0)
		json_array_append_new(c->errors, json_deep_copy(event));
}

static void collected_free(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->ids[i]);
	free(c->ids);
	json_decref(c->errors);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_capture(size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", __FILE__);
	char *slash = strrchr(path, '/');
	assert_non_null(slash);
	snprintf(slash, sizeof(path) - (size_t)(slash - path), "/../data/demo-capture.jsonl");
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	data[n] = '\0';
	*len = (size_t)n;
	return data;
}

static void options(struct import_options *opt, struct collected *c)
{
	import_options_defaults(opt);
	opt->format = "tap";
	opt->observer = observe;
	opt->observer_ctx = c;
	c->errors = json_array();
}

/* Feeds the lines of data[0..len) until max_lines (0: all); returns the kinds seen. */
static size_t feed_all(struct importer *imp, const char *data, size_t len, const char *source,
		       size_t max_lines, unsigned *starts)
{
	const char *p = data, *end = data + len;
	size_t lines = 0;
	while (p < end && (!max_lines || lines < max_lines)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int kind = import_feed_line(imp, p, n, source);
		assert_true(kind >= 0);
		if (kind == TAP_RECORD_START) {
			size_t slen;
			const char *stream = import_last_stream(imp, &slen);
			assert_true(slen > 0 && strncmp(stream, "stdio-", 6) == 0);
			(*starts)++;
		}
		lines++;
		p += n + 1;
	}
	return lines;
}

static void test_same_events_as_whole_import(void **state)
{
	(void)state;
	size_t len;
	char *data = read_capture(&len);
	struct collected whole = {0}, fed = {0};
	struct import_options opt_whole, opt_fed;
	struct import_stats st_whole, st_fed;
	options(&opt_whole, &whole);
	options(&opt_fed, &fed);
	assert_int_equal(import_run_buffer(&opt_whole, "demo", data, len, &st_whole), 0);

	struct importer *imp = importer_new(&opt_fed, &st_fed);
	assert_non_null(imp);
	unsigned starts = 0;
	size_t lines = feed_all(imp, data, len, "demo", 0, &starts);
	assert_int_equal(starts, 2);
	import_source_end(imp, "demo", true); /* the summary, as import writes at the end */
	assert_int_equal(importer_finish(imp), 0);

	assert_int_equal(st_fed.lines, lines);
	assert_int_equal(st_fed.records, st_whole.records);
	assert_int_equal(fed.n, whole.n);
	qsort(whole.ids, whole.n, sizeof(char *), cmp);
	qsort(fed.ids, fed.n, sizeof(char *), cmp);
	for (size_t i = 0; i < whole.n; i++)
		assert_string_equal(fed.ids[i], whole.ids[i]);
	collected_free(&whole);
	collected_free(&fed);
	free(data);
}

static void test_sources_numbered_apart(void **state)
{
	(void)state;
	struct collected c = {0};
	struct import_options opt;
	struct import_stats st;
	options(&opt, &c);
	struct importer *imp = importer_new(&opt, &st);
	assert_non_null(imp);
	import_source_seek(imp, "b", 41, 1000); /* b resumes after a restart */
	assert_int_equal(import_feed_line(imp, "bad a1", 6, "a"), 0);
	assert_int_equal(import_feed_line(imp, "bad b42", 7, "b"), 0);
	assert_int_equal(import_feed_line(imp, "", 0, "a"), 0); /* blank: counted, not bad */
	assert_int_equal(import_feed_line(imp, "bad a3", 6, "a"), 0);
	import_feed_oversized(imp, "xxxx", 4, 5000, "b");
	importer_free(imp);
	assert_int_equal(st.bad_lines, 4);
	assert_int_equal(st.oversized_lines, 1);
	assert_int_equal(json_array_size(c.errors), 4);
	const struct {
		const char *source;
		int line, offset;
	} want[] = {{"a", 1, 0}, {"b", 42, 1000}, {"a", 3, 8}, {"b", 43, 1008}};
	for (size_t i = 0; i < 4; i++) {
		json_t *e = json_object_get(json_array_get(c.errors, i), "error");
		assert_string_equal(json_string_value(json_object_get(e, "source")),
				    want[i].source);
		assert_int_equal(json_integer_value(json_object_get(e, "line")), want[i].line);
		assert_int_equal(json_integer_value(json_object_get(e, "offset")), want[i].offset);
	}
	collected_free(&c);
}

static void test_free_keeps_pending_unemitted(void **state)
{
	(void)state;
	size_t len;
	char *data = read_capture(&len);
	struct collected stopped = {0}, finished = {0};
	struct import_options o1, o2;
	struct import_stats s1, s2;
	options(&o1, &stopped);
	options(&o2, &finished);
	unsigned starts = 0;
	/* 20 lines: a session and calls in flight */
	struct importer *a = importer_new(&o1, &s1);
	feed_all(a, data, len, "demo", 20, &starts);
	importer_free(a); /* a daemon stopping: nothing made up */
	struct importer *b = importer_new(&o2, &s2);
	feed_all(b, data, len, "demo", 20, &starts);
	importer_finish(b); /* end of input: what is open goes out */
	assert_true(finished.n > stopped.n);
	importer_free(NULL);
	collected_free(&stopped);
	collected_free(&finished);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_events_as_whole_import),
		cmocka_unit_test(test_sources_numbered_apart),
		cmocka_unit_test(test_free_keeps_pending_unemitted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
