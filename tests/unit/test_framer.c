/* Unit tests for collector/framer: newline framing of a byte stream as the stdio tap sees it. */
#include "collector/framer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct frame {
	char *data;
	size_t len, total;
	unsigned flags;
};

struct frames {
	struct frame *items;
	size_t n, cap;
};

static void collect(void *ctx, const char *data, size_t len, size_t total, unsigned flags)
{
	struct frames *fs = ctx;
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 16;
		fs->items = realloc(fs->items, fs->cap * sizeof(*fs->items));
		assert_non_null(fs->items);
	}
	struct frame *fr = &fs->items[fs->n++];
	fr->data = malloc(len + 1);
	assert_non_null(fr->data);
	if (len)
		memcpy(fr->data, data, len);
	fr->data[len] = '\0';
	fr->len = len;
	fr->total = total;
	fr->flags = flags;
}

static void frames_free(struct frames *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->items[i].data);
	free(fs->items);
	memset(fs, 0, sizeof(*fs));
}

static void assert_frame(const struct frames *fs, size_t i, const char *data, size_t total,
			 unsigned flags)
{
	assert_true(i < fs->n);
	const struct frame *fr = &fs->items[i];
	assert_int_equal(fr->len, strlen(data));
	assert_memory_equal(fr->data, data, fr->len);
	assert_int_equal(fr->total, total);
	assert_int_equal(fr->flags, flags);
}

static void feed_str(struct framer *f, const char *s, struct frames *out)
{
	framer_feed(f, s, strlen(s), collect, out);
}

static void feed_bytewise(struct framer *f, const char *s, size_t len, struct frames *out)
{
	for (size_t i = 0; i < len; i++)
		framer_feed(f, s + i, 1, collect, out);
}

static void test_one_byte_feeds(void **state)
{
	(void)state;
	static const char stream[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"
				     "second\r\n"
				     "\n"
				     "third";
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 1024);
	feed_bytewise(&f, stream, sizeof(stream) - 1, &out);
	assert_int_equal(out.n, 3);
	assert_frame(&out, 0, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 40, 0);
	assert_frame(&out, 1, "second", 6, FRAME_CRLF);
	assert_frame(&out, 2, "", 0, 0);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 4);
	assert_frame(&out, 3, "third", 5, FRAME_PARTIAL);
	frames_free(&out);
}

static void test_crlf_is_flagged_and_stripped(void **state)
{
	(void)state;
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 1024);
	feed_str(&f, "{\"a\":1}\r\n{\"b\":2}\n\r\n", &out);
	assert_int_equal(out.n, 3);
	assert_frame(&out, 0, "{\"a\":1}", 7, FRAME_CRLF);
	assert_frame(&out, 1, "{\"b\":2}", 7, 0);
	assert_frame(&out, 2, "", 0, FRAME_CRLF);
	/* "\r" and "\n" in separate reads */
	feed_str(&f, "x\r", &out);
	feed_str(&f, "\n", &out);
	assert_int_equal(out.n, 4);
	assert_frame(&out, 3, "x", 1, FRAME_CRLF);
	/* a "\r" inside a frame is content */
	feed_str(&f, "a\rb\n", &out);
	assert_frame(&out, 4, "a\rb", 3, 0);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 5);
	frames_free(&out);
}

static void test_long_frame_is_truncated(void **state)
{
	(void)state;
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 4);
	feed_str(&f, "abcdefgh\nxy\n", &out);
	assert_int_equal(out.n, 2);
	assert_frame(&out, 0, "abcd", 8, FRAME_TRUNCATED);
	assert_frame(&out, 1, "xy", 2, 0);

	/* the same across reads, with a CRLF ending */
	feed_str(&f, "abc", &out);
	feed_str(&f, "defghij", &out);
	feed_str(&f, "\r", &out);
	feed_str(&f, "\nok\n", &out);
	assert_int_equal(out.n, 4);
	assert_frame(&out, 2, "abcd", 10, FRAME_TRUNCATED | FRAME_CRLF);
	assert_frame(&out, 3, "ok", 2, 0);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 4);
	frames_free(&out);
}

static void test_frame_exactly_at_limit(void **state)
{
	(void)state;
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 5);
	feed_str(&f, "abcde\r\nabcde\nabcdef\r\n", &out);
	assert_int_equal(out.n, 3);
	/* the "\r" is not content, so 5 bytes of content fit */
	assert_frame(&out, 0, "abcde", 5, FRAME_CRLF);
	assert_frame(&out, 1, "abcde", 5, 0);
	assert_frame(&out, 2, "abcde", 6, FRAME_CRLF | FRAME_TRUNCATED);

	feed_bytewise(&f, "abcde\r\n", 7, &out);
	assert_int_equal(out.n, 4);
	assert_frame(&out, 3, "abcde", 5, FRAME_CRLF);

	feed_str(&f, "abcde", &out);
	feed_str(&f, "\r\n", &out);
	assert_int_equal(out.n, 5);
	assert_frame(&out, 4, "abcde", 5, FRAME_CRLF);
	framer_finish(&f, collect, &out);
	frames_free(&out);
}

static void test_partial_frame_at_finish(void **state)
{
	(void)state;
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 1024);
	feed_str(&f, "done\n{\"jsonrpc\":\"2.0\",\"id\":", &out);
	assert_int_equal(out.n, 1);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 2);
	assert_frame(&out, 1, "{\"jsonrpc\":\"2.0\",\"id\":", 22, FRAME_PARTIAL);

	/* a trailing "\r" without "\n" is content */
	framer_init(&f, 1024);
	feed_str(&f, "abc\r", &out);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 3);
	assert_frame(&out, 2, "abc\r", 4, FRAME_PARTIAL);

	/* a partial frame longer than max */
	framer_init(&f, 2);
	feed_str(&f, "abcd", &out);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 4);
	assert_frame(&out, 3, "ab", 4, FRAME_PARTIAL | FRAME_TRUNCATED);

	/* nothing pending: nothing emitted */
	framer_init(&f, 16);
	feed_str(&f, "x\n", &out);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 5);
	framer_init(&f, 16);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 5);
	frames_free(&out);
}

static void test_empty_lines(void **state)
{
	(void)state;
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 16);
	feed_str(&f, "\n\n\n", &out);
	feed_bytewise(&f, "\n\r\n", 3, &out);
	assert_int_equal(out.n, 5);
	for (size_t i = 0; i < 4; i++)
		assert_frame(&out, i, "", 0, 0);
	assert_frame(&out, 4, "", 0, FRAME_CRLF);
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 5);
	frames_free(&out);
}

static void test_chunk_with_many_frames(void **state)
{
	(void)state;
	struct framer f;
	struct frames out = {0};
	char chunk[8192];
	size_t n = 0;
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(chunk + n, sizeof(chunk) - n, "{\"id\":%d}\n", i);
	framer_init(&f, 64);
	/* cut the chunk in two at an arbitrary point inside a frame */
	framer_feed(&f, chunk, 1001, collect, &out);
	framer_feed(&f, chunk + 1001, n - 1001, collect, &out);
	assert_int_equal(out.n, 500);
	for (int i = 0; i < 500; i++) {
		char want[32];
		int wl = snprintf(want, sizeof(want), "{\"id\":%d}", i);
		assert_frame(&out, (size_t)i, want, (size_t)wl, 0);
	}
	framer_finish(&f, collect, &out);
	assert_int_equal(out.n, 500);
	frames_free(&out);
}

static void test_huge_frame_in_small_reads(void **state)
{
	(void)state;
	const size_t size = 8u << 20;
	char *frame = malloc(size + 1);
	assert_non_null(frame);
	uint32_t x = 12345;
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		char c = (char)(x >> 24);
		frame[i] = c == '\n' ? 'n' : c;
	}
	frame[size - 1] = '}'; /* not a "\r" */
	frame[size] = '\n';
	struct framer f;
	struct frames out = {0};
	framer_init(&f, 16u << 20);
	for (size_t off = 0; off < size + 1; off += 4096) {
		size_t n = size + 1 - off < 4096 ? size + 1 - off : 4096;
		framer_feed(&f, frame + off, n, collect, &out);
	}
	assert_int_equal(out.n, 1);
	assert_int_equal(out.items[0].len, size);
	assert_int_equal(out.items[0].total, size);
	assert_int_equal(out.items[0].flags, 0);
	assert_memory_equal(out.items[0].data, frame, size);
	/* the framer keeps working after it */
	feed_str(&f, "next\n", &out);
	assert_int_equal(out.n, 2);
	assert_frame(&out, 1, "next", 4, 0);
	framer_finish(&f, collect, &out);
	frames_free(&out);
	free(frame);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_byte_feeds),
		cmocka_unit_test(test_crlf_is_flagged_and_stripped),
		cmocka_unit_test(test_long_frame_is_truncated),
		cmocka_unit_test(test_frame_exactly_at_limit),
		cmocka_unit_test(test_partial_frame_at_finish),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_chunk_with_many_frames),
		cmocka_unit_test(test_huge_frame_in_small_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
