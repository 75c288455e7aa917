/* spool: the durable, acknowledged log between the core and the sinks.
 *
 * The core appends encoded events; every sink reads them in order from its own position and
 * acknowledges them. A record is removed from disk, and the caller may advance its input
 * checkpoints past it (see spool_stats.acked_upto), only when every sink has acknowledged it.
 * Delivery is at least once: after a crash or a sink failure, unacknowledged records come again
 * with the same id.
 *
 * On disk, in cfg->dir (created 0700; one process at a time, enforced with flock on dir/lock):
 *
 *   <first id, 20 digits>.seg   a segment: records back to back, appended only, never rewritten.
 *                               The name is the id of its first record, so names sort in id order.
 *   <name>.seg.corrupt          a quarantined segment (renamed, kept for inspection, no longer
 *                               counted against the cap; removing it is the operator's call)
 *   checkpoint.a, checkpoint.b  the A/B checkpoint (below)
 *   lock                        the flock that keeps a second collector out
 *
 * A record (all integers little-endian):
 *   u32 magic 'M','T','R','1' (the '1' is the format version)
 *   u32 length of the payload
 *   u64 id (> every id before it, across segments and restarts)
 *   u32 CRC-32C of the 12 bytes length+id and of the payload
 *   payload
 *
 * A checkpoint slot (checkpoint.a holds even sequence numbers, checkpoint.b odd ones):
 *   u32 magic 'M','T','C','K', u32 version 1, u64 sequence, u64 next id, u32 nsinks, u32 zero,
 *   u64 acked id per sink (every id <= it is acknowledged), u32 CRC-32C of all that.
 * A write goes to the slot not holding the current sequence, is fsynced, and only then is the
 * new state current; the slot holding the current state is never written. On open the valid slot
 * with the higher sequence wins, so a torn or corrupt newest slot falls back to the older one.
 * Segments are unlinked only after a checkpoint saying they are fully acknowledged is durable.
 *
 * Recovery (spool_open): every segment is read and every record's CRC verified. A bad record
 * with nothing valid after it is a torn tail (a crash during an append): the file is truncated
 * there (stats.torn_tails). A bad record followed by a valid one is corruption in the middle:
 * the segment is renamed *.corrupt (stats.quarantined_segments), the records it held that were
 * not yet acknowledged by every sink are reported as a gap, the cfg->report callback is told,
 * and the spool carries on with the other segments. Segments every sink has acknowledged are
 * deleted. Appends after an open always start a new segment, so nothing is ever appended after
 * bytes a crash left behind.
 *
 * Failures: an append whose write or fsync fails is truncated back off the file and returns
 * SPOOL_ERROR: the record is not visible, now or after a restart, and later appends work (a
 * segment holding records is closed and the next append starts a new one). Only if the truncation
 * itself also fails may that record still be found by the next spool_open. A checkpoint write that
 * fails leaves the previous checkpoint current; the acknowledgement it carried may or may not
 * survive a restart (if it does, those records were delivered anyway). A failed allocation fails
 * the call and changes nothing.
 *
 * Byte cap: cfg->max_bytes bounds the segment files (records plus their 20-byte headers). It
 * counts whole files, so acknowledged records in the segment being written count until the
 * segment is full or the cap needs the room (then it is deleted at once). SPOOL_BLOCK (the default)
 * makes spool_append return SPOOL_FULL until acknowledgements free space: the caller pauses its
 * inputs and retries. SPOOL_DROP_OLDEST deletes whole oldest segments, acknowledged or not, and
 * counts what was lost; spool_take_gap hands that count to the caller, who appends an in-band gap
 * event. A segment holds at most cfg->segment_bytes (a bigger record gets a segment of its own); it
 * is lowered to max_bytes / 4 when bigger, so a drop never loses more than a quarter of the cap.
 *
 * Threads: every function takes an internal mutex, so the core may append while each sink
 * thread reads and acknowledges. fsync runs under that mutex. */
#ifndef MCPTRAIL_SPOOL_H
#define MCPTRAIL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Results. Negative values are failures; the spool stays usable after any of them. */
enum {
	SPOOL_OK = 0,
	SPOOL_EMPTY = 1,    /* spool_read: nothing more for this sink for now */
	SPOOL_FULL = 2,	    /* spool_append: at the cap with SPOOL_BLOCK; nothing was written */
	SPOOL_ERROR = -1,   /* I/O or allocation failure; spool_last_error() says what failed */
	SPOOL_INVALID = -2, /* bad argument: sink index, an ack beyond the last id */
	SPOOL_TOO_BIG = -3, /* the record can never fit: over SPOOL_MAX_RECORD or the cap */
};

#define SPOOL_RECORD_HEADER 20u	     /* bytes of framing per record */
#define SPOOL_MAX_RECORD (64u << 20) /* largest payload */
#define SPOOL_MAX_SINKS 64u
#define SPOOL_DEFAULT_SEGMENT (8u << 20) /* used when segment_bytes is 0 */
#define SPOOL_DEFAULT_MAX (1ull << 30)	 /* used when max_bytes is 0 */

/* Test hook: the calls through which the spool writes, syncs, renames and allocates. A NULL
 * member means the real one (write(2), fsync(2), rename(2), malloc(3)). */
struct spool_io {
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	void *(*malloc)(size_t size);
};

enum spool_full_policy {
	SPOOL_BLOCK,	   /* spool_append returns SPOOL_FULL at the cap (default) */
	SPOOL_DROP_OLDEST, /* oldest segments are dropped and reported through spool_take_gap */
};

struct spool_config {
	const char *dir;
	size_t segment_bytes; /* 0: SPOOL_DEFAULT_SEGMENT */
	uint64_t max_bytes;   /* 0: SPOOL_DEFAULT_MAX */
	enum spool_full_policy full_policy;
	unsigned
		nsinks; /* 1..SPOOL_MAX_SINKS; sinks are numbered 0..nsinks-1 in every run. A
			 * sink that the checkpoint does not know (nsinks grew) starts at the oldest
			 * record kept; sinks the checkpoint knows beyond nsinks are forgotten. */
	bool fsync;	/* fsync appends (and the checkpoint and directory) before they count */
	/* Told about recovery events (torn tail, quarantine, unreadable checkpoint). NULL: they are
	 * written to stderr. Called with the spool's mutex held: do not call back into it. */
	void (*report)(void *arg, const char *message);
	void *report_arg;
	const struct spool_io *io; /* NULL: the real calls; also used by spool_open itself */
};

struct spool;

/* Creates cfg->dir (0700) when missing, locks it and recovers it (see above). NULL with a
 * message in err when the directory cannot be used, the checkpoint cannot be written, or
 * allocation fails; a corrupt segment does not fail the open. */
struct spool *spool_open(const struct spool_config *cfg, char *err, size_t errlen);
/* Frees the spool; everything appended is already on disk. spool_close(NULL) is a no-op. */
void spool_close(struct spool *sp);

/* Stores a copy of rec[0..len) and returns SPOOL_OK with its id in *out_id (ids start at 1 and
 * only grow). With cfg->fsync it is on disk when this returns. SPOOL_FULL, SPOOL_TOO_BIG,
 * SPOOL_ERROR: nothing was stored. */
int spool_append(struct spool *sp, const void *rec, size_t len, uint64_t *out_id);

/* The next record for sink after its acked position and after what it has already read, in id
 * order, without removing it. *rec stays valid until this sink's next spool_read or
 * spool_rewind, or spool_close. SPOOL_OK, SPOOL_EMPTY, SPOOL_INVALID, SPOOL_ERROR. A record
 * whose CRC fails here quarantines its segment (reported as a gap) and reading goes on. */
int spool_read(struct spool *sp, unsigned sink, uint64_t *id, const void **rec, size_t *len);

/* Sink acknowledges every record with id <= upto_id. Returns once the checkpoint holding it is
 * written (and fsynced with cfg->fsync); then deletes segments every sink has acknowledged.
 * Acking at or below the current position is a no-op; beyond the last id is SPOOL_INVALID. */
int spool_ack(struct spool *sp, unsigned sink, uint64_t upto_id);

/* The next spool_read for sink starts again after its acked position (after a sink failure). */
int spool_rewind(struct spool *sp, unsigned sink);

/* Records and bytes (payload) lost since the last call, for the in-band gap event: dropped by
 * SPOOL_DROP_OLDEST (exact), or not yet acknowledged by every sink in a quarantined segment (an
 * estimate: for a segment quarantined at open the records are counted from the ids around it
 * and the bytes are its file's size). true when anything was lost; the counters are then reset. */
bool spool_take_gap(struct spool *sp, uint64_t *records, uint64_t *bytes);

struct spool_stats {
	uint64_t bytes;		       /* in segment files (the figure the cap bounds) */
	uint64_t records;	       /* in segment files, acknowledged or not */
	uint64_t segments;	       /* segment files */
	uint64_t appended;	       /* this run: appends that returned SPOOL_OK */
	uint64_t acked;		       /* this run: ids newly acknowledged by every sink */
	uint64_t dropped_records;      /* this run: lost to SPOOL_DROP_OLDEST or quarantine */
	uint64_t dropped_bytes;	       /* this run: their payload bytes */
	uint64_t quarantined_segments; /* this run */
	uint64_t torn_tails;	       /* this run: segments truncated at a torn record */
	uint64_t next_id;	       /* the id the next append gets */
	uint64_t acked_upto; /* every id <= this is acknowledged by every sink: input checkpoints
			      * may advance past the events up to it */
};
void spool_stats(const struct spool *sp, struct spool_stats *out);

/* The message of the last failure (an error result or a report), or "" when none; copied into
 * buf (NUL-terminated, truncated to buflen). */
void spool_last_error(struct spool *sp, char *buf, size_t buflen);

/* Replaces the I/O calls (see struct spool_io); NULL restores the real ones. */
void spool_set_io(struct spool *sp, const struct spool_io *io);

#endif
