/* record_queue: a bounded, thread-safe FIFO of tap records between the pass-through threads and
 * the recorder's writer thread.
 *
 * Pushing never blocks: when the queue is over its byte cap, the record is dropped and counted,
 * and the next record that fits is preceded by a gap record that says how much was lost. This
 * is what keeps a slow destination from ever delaying MCP traffic. */
#ifndef MCPTRAIL_RECORD_QUEUE_H
#define MCPTRAIL_RECORD_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum record_kind {
	RECORD_FRAME, /* a stdio frame: data holds its bytes */
	RECORD_GAP,   /* frames lost to a full queue */
	RECORD_LINE,  /* a preformatted record: data holds its JSON members after the envelope */
};

struct record_item {
	struct record_item *next;
	enum record_kind kind;
	int dir; /* 0 client→server, 1 server→client */
	uint64_t seq;
	int64_t ts_ns;
	unsigned flags;	     /* FRAME_* from framer.h */
	size_t total;	     /* real frame length */
	uint64_t gap_frames; /* RECORD_GAP: frames lost */
	uint64_t gap_bytes;
	size_t len;  /* bytes in data */
	char data[]; /* len bytes, then JSON_SCAN_PADDING zero bytes */
};

struct record_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct record_item *head, *tail;
	size_t bytes, cap;
	bool closed;
	uint64_t next_seq;
	/* loss since the last gap record, per direction */
	uint64_t lost_frames[2], lost_bytes[2];
	/* totals */
	uint64_t frames[2], gaps, dropped_frames, dropped_bytes;
};

int record_queue_init(struct record_queue *q, size_t cap_bytes);
void record_queue_destroy(struct record_queue *q);
/* Copies the frame in; never blocks. Returns false when it was dropped (and counted). */
bool record_queue_push_frame(struct record_queue *q, int dir, int64_t ts_ns, const char *data,
			     size_t len, size_t total, unsigned flags);
/* Copies preformatted record members in (see RECORD_LINE); never blocks. dir picks the loss
 * counter. Returns false when it was dropped (and counted). */
bool record_queue_push_line(struct record_queue *q, int dir, int64_t ts_ns, const char *members,
			    size_t len);
/* Blocks until items are available or the queue is closed; returns the whole list (caller frees
 * each item with free()). NULL once closed and empty. */
struct record_item *record_queue_take_all(struct record_queue *q);
/* The writer is done with it: its bytes stop counting against the cap (call before free()). */
void record_queue_release(struct record_queue *q, const struct record_item *it);
void record_queue_close(struct record_queue *q);

#endif
