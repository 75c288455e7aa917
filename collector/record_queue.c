#include "collector/record_queue.h"

#include "parsers/json_scan.h"

#include <stdlib.h>
#include <string.h>

int record_queue_init(struct record_queue *q, size_t cap_bytes)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap_bytes;
	if (pthread_mutex_init(&q->lock, NULL))
		return -1;
	if (pthread_cond_init(&q->nonempty, NULL)) {
		pthread_mutex_destroy(&q->lock);
		return -1;
	}
	return 0;
}

void record_queue_destroy(struct record_queue *q)
{
	struct record_item *it = q->head;
	while (it) {
		struct record_item *next = it->next;
		free(it);
		it = next;
	}
	q->head = q->tail = NULL;
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
}

static void append_locked(struct record_queue *q, struct record_item *it)
{
	it->next = NULL;
	it->seq = q->next_seq++;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
}

static bool push(struct record_queue *q, enum record_kind kind, int dir, int64_t ts_ns,
		 const char *data, size_t len, size_t total, unsigned flags)
{
	size_t need = sizeof(struct record_item) + len + JSON_SCAN_PADDING;
	struct record_item *gap = NULL;
	struct record_item *it = NULL;

	pthread_mutex_lock(&q->lock);
	bool fits = !q->closed && len <= q->cap && q->bytes + need <= q->cap;
	bool need_gap = q->lost_frames[dir] > 0;
	pthread_mutex_unlock(&q->lock);

	/* allocate outside the lock; the traffic threads only ever hold it briefly */
	if (fits) {
		it = malloc(need);
		if (need_gap)
			gap = calloc(1, sizeof(*gap) + JSON_SCAN_PADDING);
		if (it) {
			it->kind = kind;
			it->dir = dir;
			it->ts_ns = ts_ns;
			it->flags = flags;
			it->total = total;
			it->gap_frames = it->gap_bytes = 0;
			it->len = len;
			memcpy(it->data, data, len);
			memset(it->data + len, 0, JSON_SCAN_PADDING);
		}
	}

	pthread_mutex_lock(&q->lock);
	bool ok = it && !q->closed && q->bytes + need <= q->cap &&
		  (q->lost_frames[dir] == 0 || gap != NULL);
	if (ok) {
		if (q->lost_frames[dir] > 0) {
			gap->kind = RECORD_GAP;
			gap->dir = dir;
			gap->ts_ns = ts_ns;
			gap->gap_frames = q->lost_frames[dir];
			gap->gap_bytes = q->lost_bytes[dir];
			q->lost_frames[dir] = q->lost_bytes[dir] = 0;
			q->gaps++;
			append_locked(q, gap);
			gap = NULL;
		}
		q->bytes += need;
		q->frames[dir]++;
		append_locked(q, it);
		it = NULL;
		pthread_cond_signal(&q->nonempty);
	} else {
		q->lost_frames[dir]++;
		q->lost_bytes[dir] += total;
		q->dropped_frames++;
		q->dropped_bytes += total;
	}
	pthread_mutex_unlock(&q->lock);
	free(it);
	free(gap);
	return ok;
}

bool record_queue_push_frame(struct record_queue *q, int dir, int64_t ts_ns, const char *data,
			     size_t len, size_t total, unsigned flags)
{
	return push(q, RECORD_FRAME, dir, ts_ns, data, len, total, flags);
}

bool record_queue_push_line(struct record_queue *q, int dir, int64_t ts_ns, const char *members,
			    size_t len)
{
	return push(q, RECORD_LINE, dir, ts_ns, members, len, len, 0);
}

struct record_item *record_queue_take_all(struct record_queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->nonempty, &q->lock);
	struct record_item *list = q->head;
	if (!list && q->closed) {
		/* report loss that no later frame could carry */
		for (int dir = 0; dir < 2; dir++) {
			if (!q->lost_frames[dir])
				continue;
			struct record_item *gap = calloc(1, sizeof(*gap) + JSON_SCAN_PADDING);
			if (!gap)
				break;
			gap->kind = RECORD_GAP;
			gap->dir = dir;
			gap->gap_frames = q->lost_frames[dir];
			gap->gap_bytes = q->lost_bytes[dir];
			q->lost_frames[dir] = q->lost_bytes[dir] = 0;
			q->gaps++;
			append_locked(q, gap);
		}
		list = q->head;
	}
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return list;
}

void record_queue_release(struct record_queue *q, const struct record_item *it)
{
	if (it->kind == RECORD_GAP)
		return;
	size_t need = sizeof(struct record_item) + it->len + JSON_SCAN_PADDING;
	pthread_mutex_lock(&q->lock);
	q->bytes -= need < q->bytes ? need : q->bytes;
	pthread_mutex_unlock(&q->lock);
}

void record_queue_close(struct record_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}
