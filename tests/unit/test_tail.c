/* Unit tests for collector/line_reader and collector/tail: lines cut from a byte stream with
 * their positions, and a file followed through appends, rotations, truncation and restarts. */
#include "collector/line_reader.h"
#include "collector/tail.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* What the callbacks saw, as text: "L<line>@<offset>:<text>" per line, "O<line>@<offset>:<len>"
 * per oversized line, "B<gen>@<offset>" and "E<gen>@<offset>" for file begin/end. */
struct seen {
	char log[16384];
	size_t len;
	int stop_after; /* stop the drain after this many lines (0: never) */
	int lines;
};

static void logf_(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct seen *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->log + s->len, sizeof(s->log) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += (size_t)n;
}

static bool on_line(void *ctx, const char *line, size_t len, uint64_t line_no, uint64_t offset)
{
	struct seen *s = ctx;
	logf_(s, "L%llu@%llu:%.*s ", (unsigned long long)line_no, (unsigned long long)offset,
	      (int)len, line);
	s->lines++;
	return !(s->stop_after && s->lines % s->stop_after == 0);
}

static bool on_oversized(void *ctx, const char *prefix, size_t prefix_len, uint64_t real_len,
			 uint64_t line_no, uint64_t offset)
{
	struct seen *s = ctx;
	(void)prefix;
	logf_(s, "O%llu@%llu:%llu/%zu ", (unsigned long long)line_no, (unsigned long long)offset,
	      (unsigned long long)real_len, prefix_len);
	s->lines++;
	return true;
}

static void on_begin(void *ctx, const struct tail_pos *at, uint64_t gen)
{
	logf_(ctx, "B%llu@%llu ", (unsigned long long)gen, (unsigned long long)at->offset);
}

static void on_end(void *ctx, const struct tail_pos *end, uint64_t gen)
{
	logf_(ctx, "E%llu@%llu ", (unsigned long long)gen, (unsigned long long)end->offset);
}

static const struct line_reader_callbacks lr_cb = {on_line, on_oversized};
static const struct tail_callbacks tail_cb = {{on_line, on_oversized}, on_begin, on_end, NULL};

static void reset(struct seen *s)
{
	s->len = 0;
	s->log[0] = '\0';
}

/* ---- line_reader ---- */

static void test_lines_across_appends(void **state)
{
	(void)state;
	struct seen s = {0};
	struct line_reader r;
	line_reader_init(&r, 100, 0, 0);
	assert_true(line_reader_append(&r, "ab\ncd", 5));
	assert_true(line_reader_drain(&r, &lr_cb, &s));
	assert_true(line_reader_append(&r, "e\n\nf", 4));
	assert_true(line_reader_drain(&r, &lr_cb, &s));
	assert_string_equal(s.log, "L1@0:ab L2@3:cde L3@7: ");
	assert_int_equal(line_reader_pending(&r), 1);
	uint64_t off, line;
	line_reader_position(&r, &off, &line);
	assert_int_equal(off, 8);
	assert_int_equal(line, 3);
	line_reader_finish(&r, &lr_cb, &s); /* the cut last line */
	assert_string_equal(s.log, "L1@0:ab L2@3:cde L3@7: L4@8:f ");
	line_reader_free(&r);
}

static void test_stop_keeps_the_rest(void **state)
{
	(void)state;
	struct seen s = {.stop_after = 2};
	struct line_reader r;
	line_reader_init(&r, 100, 1000, 10); /* resumed: offset 1000, 10 lines before */
	assert_true(line_reader_append(&r, "a\nb\nc\nd\n", 8));
	assert_false(line_reader_drain(&r, &lr_cb, &s));
	uint64_t off, line;
	line_reader_position(&r, &off, &line);
	assert_int_equal(off, 1004);
	assert_int_equal(line, 12);
	assert_false(line_reader_drain(&r, &lr_cb, &s));
	assert_string_equal(s.log, "L11@1000:a L12@1002:b L13@1004:c L14@1006:d ");
	line_reader_free(&r);
}

static void test_oversized_lines(void **state)
{
	(void)state;
	struct seen s = {0};
	struct line_reader r;
	line_reader_init(&r, 8, 0, 0);
	/* a long line whose newline arrives in the same piece */
	assert_true(line_reader_append(&r, "0123456789AB\nok\n", 16));
	assert_true(line_reader_drain(&r, &lr_cb, &s));
	/* one that spans pieces: it is never held whole */
	assert_true(line_reader_append(&r, "xxxxxxxxxxxx", 12));
	assert_true(line_reader_drain(&r, &lr_cb, &s));
	assert_true(line_reader_pending(&r) >= 12);
	uint64_t off, line;
	line_reader_position(&r, &off, &line);
	assert_int_equal(off, 16); /* the long line is not taken yet */
	assert_true(line_reader_append(&r, "yyyyyyyyyy", 10));
	assert_true(line_reader_drain(&r, &lr_cb, &s));
	assert_true(line_reader_append(&r, "zz\nend\n", 7));
	assert_true(line_reader_drain(&r, &lr_cb, &s));
	assert_string_equal(s.log, "O1@0:12/12 L2@13:ok O3@16:24/12 L4@41:end ");
	line_reader_free(&r);
}

/* ---- tail ---- */

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mcptrail-test-tail-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_follows_appends_and_rotation(void **state)
{
	(void)state;
	char path[300], old[320];
	path_of(path, sizeof(path), "rot.jsonl");
	snprintf(old, sizeof(old), "%s.1", path);
	struct seen s = {0};
	struct tail *t = tail_new(path, 1024);
	tail_start(t, NULL, false);
	assert_int_equal(tail_poll(t, 1 << 20, &tail_cb, &s), TAIL_IDLE); /* not there yet */
	append(path, "a\nb\n");
	assert_int_equal(tail_poll(t, 1 << 20, &tail_cb, &s), TAIL_IDLE);
	append(path, "c");
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "B1@0 L1@0:a L2@2:b ");
	/* rotated: the writer finishes its line in the old file, then a new file starts */
	assert_int_equal(rename(path, old), 0);
	append(old, "d\ne\n");
	tail_poll(t, 1 << 20, &tail_cb, &s);
	/* no file at the path: the old one is still read (its writer may append more) */
	assert_string_equal(s.log, "B1@0 L1@0:a L2@2:b L3@4:cd L4@7:e ");
	append(path, "new1\n");
	append(old, "f"); /* a last line cut short */
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log,
			    "B1@0 L1@0:a L2@2:b L3@4:cd L4@7:e L5@9:f E1@10 B2@0 L1@0:new1 ");
	struct tail_stats st;
	tail_stats(t, &st);
	assert_int_equal(st.rotations, 1);
	struct tail_pos pos;
	tail_position(t, &pos);
	assert_int_equal(pos.offset, 5);
	assert_int_equal(pos.line, 1);
	tail_free(t);
	unlink(old);
	unlink(path);
}

static void test_budget_and_stop(void **state)
{
	(void)state;
	char path[300];
	path_of(path, sizeof(path), "budget.jsonl");
	append(path, "1\n2\n3\n4\n5\n6\n");
	struct seen s = {.stop_after = 4};
	struct tail *t = tail_new(path, 1024);
	tail_start(t, NULL, false);
	assert_int_equal(tail_poll(t, 4, &tail_cb, &s), TAIL_MORE);
	assert_string_equal(s.log, "B1@0 L1@0:1 L2@2:2 ");
	assert_int_equal(tail_poll(t, 1 << 20, &tail_cb, &s), TAIL_STOPPED);
	struct tail_pos pos;
	tail_position(t, &pos);
	assert_int_equal(pos.offset, 8); /* after the 4th line, the one that stopped it */
	assert_int_equal(pos.line, 4);
	assert_int_equal(tail_poll(t, 1 << 20, &tail_cb, &s), TAIL_IDLE);
	assert_string_equal(s.log, "B1@0 L1@0:1 L2@2:2 L3@4:3 L4@6:4 L5@8:5 L6@10:6 ");
	tail_free(t);
	unlink(path);
}

static void test_resume_from_checkpoint(void **state)
{
	(void)state;
	char path[300];
	path_of(path, sizeof(path), "resume.jsonl");
	append(path, "a\nb\nc\n");
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	struct tail_pos pos = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino, 2, 1};
	struct seen s = {0};
	struct tail *t = tail_new(path, 1024);
	tail_start(t, &pos, false);
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "B1@2 L2@2:b L3@4:c ");
	tail_free(t);

	/* start_at end without a checkpoint: what is there is skipped */
	reset(&s);
	t = tail_new(path, 1024);
	tail_start(t, NULL, true);
	tail_poll(t, 1 << 20, &tail_cb, &s);
	append(path, "d\n");
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "B1@6 L1@6:d ");
	tail_free(t);
	unlink(path);
}

static void test_resume_after_rotation_while_stopped(void **state)
{
	(void)state;
	char path[300], old[320];
	path_of(path, sizeof(path), "away.jsonl");
	snprintf(old, sizeof(old), "%s-20261127", path);
	append(path, "a\nb\n");
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	struct tail_pos pos = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino, 2, 1};
	/* while nobody was reading: more lines, a rotation, a new file */
	append(path, "c\n");
	assert_int_equal(rename(path, old), 0);
	append(path, "new\n");
	struct seen s = {0};
	struct tail *t = tail_new(path, 1024);
	tail_start(t, &pos, false);
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "B1@2 L2@2:b L3@4:c E1@6 B2@0 L1@0:new ");
	tail_free(t);

	/* the checkpointed file is gone altogether: the path from its start, reported */
	unlink(old);
	reset(&s);
	t = tail_new(path, 1024);
	tail_start(t, &pos, false);
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "B1@0 L1@0:new ");
	struct tail_stats st;
	tail_stats(t, &st);
	assert_int_equal(st.lost_files, 1);
	tail_free(t);
	unlink(path);
}

static void test_truncation_and_deletion(void **state)
{
	(void)state;
	char path[300];
	path_of(path, sizeof(path), "trunc.jsonl");
	append(path, "one\ntwo\n");
	struct seen s = {0};
	struct tail *t = tail_new(path, 1024);
	tail_start(t, NULL, false);
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_int_equal(truncate(path, 0), 0); /* copytruncate */
	append(path, "x\n");
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "B1@0 L1@0:one L2@4:two E1@8 B2@0 L1@0:x ");
	struct tail_stats st;
	tail_stats(t, &st);
	assert_int_equal(st.truncations, 1);
	/* deleted and not recreated: finished, then waiting for the path */
	reset(&s);
	append(path, "y\n");
	unlink(path);
	assert_int_equal(tail_poll(t, 1 << 20, &tail_cb, &s), TAIL_IDLE);
	assert_string_equal(s.log, "L2@2:y E2@4 ");
	tail_stats(t, &st);
	assert_false(st.open);
	append(path, "z\n");
	tail_poll(t, 1 << 20, &tail_cb, &s);
	assert_string_equal(s.log, "L2@2:y E2@4 B3@0 L1@0:z ");
	tail_free(t);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_across_appends),
		cmocka_unit_test(test_stop_keeps_the_rest),
		cmocka_unit_test(test_oversized_lines),
		cmocka_unit_test(test_follows_appends_and_rotation),
		cmocka_unit_test(test_budget_and_stop),
		cmocka_unit_test(test_resume_from_checkpoint),
		cmocka_unit_test(test_resume_after_rotation_while_stopped),
		cmocka_unit_test(test_truncation_and_deletion),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
