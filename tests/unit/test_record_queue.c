/* Unit tests for collector/record_queue: the bounded queue between the tap's traffic threads
 * and its writer, which must never block and must account for every frame it drops. */
#include "collector/framer.h"
#include "collector/record_queue.h"
#include "parsers/json_scan.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* Bytes one frame of len bytes holds against the cap. */
static size_t cost(size_t len)
{
	return sizeof(struct record_item) + len + JSON_SCAN_PADDING;
}

static size_t list_length(const struct record_item *it)
{
	size_t n = 0;
	for (; it; it = it->next)
		n++;
	return n;
}

static void release_all(struct record_queue *q, struct record_item *it)
{
	while (it) {
		struct record_item *next = it->next;
		record_queue_release(q, it);
		free(it);
		it = next;
	}
}

static bool push(struct record_queue *q, int dir, const char *s)
{
	size_t len = strlen(s);
	return record_queue_push_frame(q, dir, 1000, s, len, len, 0);
}

static void test_push_take_order_and_seq(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 1u << 20), 0);
	assert_true(record_queue_push_frame(&q, 0, 10, "{\"a\":1}", 7, 7, 0));
	assert_true(record_queue_push_frame(&q, 1, 20, "{\"b\":2}", 7, 7, FRAME_CRLF));
	assert_true(record_queue_push_frame(&q, 0, 30, "abc", 3, 300, FRAME_TRUNCATED));

	struct record_item *list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 3);
	const struct record_item *it = list;
	assert_int_equal(it->kind, RECORD_FRAME);
	assert_int_equal(it->seq, 0);
	assert_int_equal(it->dir, 0);
	assert_int_equal(it->ts_ns, 10);
	assert_int_equal(it->len, 7);
	assert_int_equal(it->total, 7);
	assert_int_equal(it->flags, 0);
	assert_memory_equal(it->data, "{\"a\":1}", 7);
	/* the data is padded with zeros for the scanner */
	static const char zeros[JSON_SCAN_PADDING] = {0};
	assert_memory_equal(it->data + 7, zeros, JSON_SCAN_PADDING);
	it = it->next;
	assert_int_equal(it->seq, 1);
	assert_int_equal(it->dir, 1);
	assert_int_equal(it->flags, FRAME_CRLF);
	assert_memory_equal(it->data, "{\"b\":2}", 7);
	it = it->next;
	assert_int_equal(it->seq, 2);
	assert_int_equal(it->len, 3);
	assert_int_equal(it->total, 300);
	assert_int_equal(it->flags, FRAME_TRUNCATED);
	release_all(&q, list);

	/* sequence numbers continue across takes */
	assert_true(push(&q, 1, "x"));
	list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 1);
	assert_int_equal(list->seq, 3);
	release_all(&q, list);
	assert_int_equal(q.frames[0], 2);
	assert_int_equal(q.frames[1], 2);
	assert_int_equal(q.dropped_frames, 0);
	record_queue_destroy(&q);
}

static void test_overflow_counts_and_gap(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 3 * cost(10)), 0);
	assert_true(push(&q, 0, "0123456789"));
	assert_true(push(&q, 0, "0123456789"));
	assert_true(push(&q, 0, "0123456789"));
	/* full: these are dropped and counted, never blocking */
	assert_false(record_queue_push_frame(&q, 0, 2000, "0123456789", 10, 10, 0));
	assert_false(record_queue_push_frame(&q, 0, 2001, "01234", 5, 500, FRAME_TRUNCATED));
	assert_false(push(&q, 1, "abc"));
	assert_int_equal(q.dropped_frames, 3);
	assert_int_equal(q.dropped_bytes, 10 + 500 + 3);

	struct record_item *list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 3);
	release_all(&q, list);

	/* the next frame on dir 0 is preceded by a gap with the loss of dir 0 only */
	assert_true(record_queue_push_frame(&q, 0, 3000, "ok", 2, 2, 0));
	list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 2);
	assert_int_equal(list->kind, RECORD_GAP);
	assert_int_equal(list->dir, 0);
	assert_int_equal(list->gap_frames, 2);
	assert_int_equal(list->gap_bytes, 510);
	assert_int_equal(list->ts_ns, 3000);
	assert_int_equal(list->seq, 3);
	assert_int_equal(list->next->kind, RECORD_FRAME);
	assert_int_equal(list->next->seq, 4);
	assert_memory_equal(list->next->data, "ok", 2);
	release_all(&q, list);

	/* no second gap for dir 0; dir 1 gets its own */
	assert_true(push(&q, 0, "again"));
	assert_true(push(&q, 1, "other"));
	list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 3);
	assert_int_equal(list->kind, RECORD_FRAME);
	assert_int_equal(list->dir, 0);
	assert_int_equal(list->next->kind, RECORD_GAP);
	assert_int_equal(list->next->dir, 1);
	assert_int_equal(list->next->gap_frames, 1);
	assert_int_equal(list->next->gap_bytes, 3);
	assert_int_equal(list->next->next->kind, RECORD_FRAME);
	assert_int_equal(list->next->next->dir, 1);
	release_all(&q, list);
	assert_int_equal(q.gaps, 2);
	assert_int_equal(q.dropped_frames, 3);
	record_queue_destroy(&q);
}

static void test_frame_bigger_than_cap_is_dropped(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 1000), 0);
	char big[2000];
	memset(big, 'x', sizeof(big));
	assert_false(record_queue_push_frame(&q, 1, 5, big, sizeof(big), sizeof(big), 0));
	assert_int_equal(q.dropped_frames, 1);
	assert_int_equal(q.dropped_bytes, 2000);
	/* a small one still fits, after a gap */
	assert_true(push(&q, 1, "small"));
	struct record_item *list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 2);
	assert_int_equal(list->kind, RECORD_GAP);
	assert_int_equal(list->gap_frames, 1);
	assert_int_equal(list->gap_bytes, 2000);
	release_all(&q, list);
	record_queue_destroy(&q);
}

static void test_release_frees_room(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 2 * cost(4)), 0);
	for (int round = 0; round < 100; round++) {
		assert_true(push(&q, round & 1, "abcd"));
		assert_true(push(&q, round & 1, "efgh"));
		struct record_item *list = record_queue_take_all(&q);
		assert_int_equal(list_length(list), 2);
		release_all(&q, list);
	}
	assert_int_equal(q.dropped_frames, 0);
	assert_int_equal(q.bytes, 0);
	record_queue_destroy(&q);
}

struct taker {
	struct record_queue *q;
	struct record_item *list;
	int done;
	pthread_mutex_t lock;
};

static void *take_thread(void *arg)
{
	struct taker *t = arg;
	struct record_item *list = record_queue_take_all(t->q);
	pthread_mutex_lock(&t->lock);
	t->list = list;
	t->done = 1;
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static int taker_done(struct taker *t)
{
	pthread_mutex_lock(&t->lock);
	int d = t->done;
	pthread_mutex_unlock(&t->lock);
	return d;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_push_wakes_taker(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 1u << 20), 0);
	struct taker t = {.q = &q};
	pthread_mutex_init(&t.lock, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
	sleep_ms(50);
	assert_false(taker_done(&t)); /* blocked: nothing to take */
	assert_true(push(&q, 0, "hello"));
	pthread_join(th, NULL);
	assert_int_equal(list_length(t.list), 1);
	assert_memory_equal(t.list->data, "hello", 5);
	release_all(&q, t.list);
	pthread_mutex_destroy(&t.lock);
	record_queue_destroy(&q);
}

static void test_close_wakes_taker(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 1u << 20), 0);
	struct taker t = {.q = &q};
	pthread_mutex_init(&t.lock, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
	sleep_ms(50);
	assert_false(taker_done(&t));
	record_queue_close(&q);
	pthread_join(th, NULL);
	assert_null(t.list);
	/* closed: pushes are dropped, and take_all no longer blocks */
	assert_false(push(&q, 0, "late"));
	assert_int_equal(q.dropped_frames, 1);
	pthread_mutex_destroy(&t.lock);
	record_queue_destroy(&q);
}

static void test_close_reports_pending_loss(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 1000), 0);
	struct taker t = {.q = &q};
	pthread_mutex_init(&t.lock, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
	char big[4000];
	memset(big, 'y', sizeof(big));
	/* lost frames do not wake the writer: there is nothing to write yet */
	assert_false(record_queue_push_frame(&q, 1, 7, big, sizeof(big), sizeof(big), 0));
	assert_false(record_queue_push_frame(&q, 1, 8, big, 990, 9000, FRAME_TRUNCATED));
	sleep_ms(50);
	assert_false(taker_done(&t));
	record_queue_close(&q);
	pthread_join(th, NULL);
	assert_int_equal(list_length(t.list), 1);
	assert_int_equal(t.list->kind, RECORD_GAP);
	assert_int_equal(t.list->dir, 1);
	assert_int_equal(t.list->gap_frames, 2);
	assert_int_equal(t.list->gap_bytes, 4000 + 9000);
	release_all(&q, t.list);
	assert_int_equal(q.gaps, 1);
	/* reported once */
	assert_null(record_queue_take_all(&q));
	pthread_mutex_destroy(&t.lock);
	record_queue_destroy(&q);
}

static void test_close_after_frames_keeps_them(void **state)
{
	(void)state;
	struct record_queue q;
	assert_int_equal(record_queue_init(&q, 1u << 20), 0);
	assert_true(push(&q, 0, "a"));
	assert_true(push(&q, 1, "b"));
	record_queue_close(&q);
	struct record_item *list = record_queue_take_all(&q);
	assert_int_equal(list_length(list), 2);
	release_all(&q, list);
	assert_null(record_queue_take_all(&q));
	record_queue_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_take_order_and_seq),
		cmocka_unit_test(test_overflow_counts_and_gap),
		cmocka_unit_test(test_frame_bigger_than_cap_is_dropped),
		cmocka_unit_test(test_release_frees_room),
		cmocka_unit_test(test_push_wakes_taker),
		cmocka_unit_test(test_close_wakes_taker),
		cmocka_unit_test(test_close_reports_pending_loss),
		cmocka_unit_test(test_close_after_frames_keeps_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
