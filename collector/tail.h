/* tail: follows a file that another program appends to and rotates (rename + recreate, or
 * truncate), handing out its lines with the position of each.
 *
 * Positions are (device, inode, offset, line): the file is named by its identity, not its path,
 * so a checkpoint still finds it after a rotation. tail_start(pos) reads the file pos names from
 * pos.offset, wherever it is now: at the path, or renamed into the same directory (logrotate's
 * "events.jsonl.1", a date suffix, ...); when that file is not at the path any more, it is read
 * to its end and then the file now at the path is read from its start. Only that one step back
 * is followed: files rotated away in between are not read (and are reported).
 *
 * While following: at the end of the file, when the path names another file (renamed and
 * recreated), the old one is read to its end (a writer may still have been appending), its last
 * line handed out even without a '\n' (a record cut short), file_end is called, and the new file
 * is read from its start. A path that is gone (renamed, not yet recreated) keeps the old file
 * open: its writer may still append to it. A file that shrank below what was read (truncated in
 * place, "copytruncate") is read again from its start. A deleted file is finished.
 *
 * Polled (no inotify): the caller calls tail_poll from a timer; each call reads at most
 * max_bytes, so one busy file cannot starve the others. No threads, no clock. */
#ifndef MCPTRAIL_TAIL_H
#define MCPTRAIL_TAIL_H

#include "collector/line_reader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tail_pos {
	uint64_t dev, ino;
	uint64_t offset; /* of the next line not taken */
	uint64_t line;	 /* lines before it */
};

struct tail_callbacks {
	/* Lines of the file being read (positions in that file). Either may stop the poll. */
	struct line_reader_callbacks lines;
	/* A file is being read from at (its first line handed out will be at->line + 1);
	 * generation counts the files opened by this tail, from 1. */
	void (*file_begin)(void *ctx, const struct tail_pos *at, uint64_t generation);
	/* The file being read is finished (rotated away or deleted): all its lines were handed out
	 * (end is just past its last byte). */
	void (*file_end)(void *ctx, const struct tail_pos *end, uint64_t generation);
	/* Something the operator should know (a checkpointed file that is gone, a truncation, an
	 * unreadable path). */
	void (*notice)(void *ctx, const char *message);
};

enum tail_status {
	TAIL_IDLE,    /* read everything there is now */
	TAIL_MORE,    /* max_bytes reached: there may be more, poll again soon */
	TAIL_STOPPED, /* a callback stopped it */
};

struct tail_stats {
	uint64_t bytes, rotations, truncations, lost_files, open_errors;
	bool open; /* a file is open */
};

struct tail;

struct tail *tail_new(const char *path, size_t max_line);
void tail_free(struct tail *t);

/* Where the first poll starts: at pos (see above), or, when pos is NULL, at the start of the file
 * at the path (its end with at_end: what is there already is not read). Call once, before the
 * first tail_poll. */
void tail_start(struct tail *t, const struct tail_pos *pos, bool at_end);

enum tail_status tail_poll(struct tail *t, size_t max_bytes, const struct tail_callbacks *cb,
			   void *ctx);

/* SIGHUP: at the next poll, after reading what is left of the current file, look at the path
 * again (the same file goes on at the same offset; another one is a rotation). */
void tail_reopen(struct tail *t);

/* The position of the next line not taken (zeros before any file was opened). */
void tail_position(const struct tail *t, struct tail_pos *out);
uint64_t tail_generation(const struct tail *t);
void tail_stats(const struct tail *t, struct tail_stats *out);

#endif
