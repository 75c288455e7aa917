/* line_reader: cuts a byte stream (a file being tailed, a TCP connection, standard input) into
 * lines, with a bound on the length of a line.
 *
 * Bytes go in at the end (line_reader_space + line_reader_commit, or line_reader_append); complete
 * lines come out of line_reader_drain, without their '\n', each with its number and the offset of
 * its first byte in the stream. The consumer may stop the drain at any line (back-pressure): what
 * it did not take stays buffered for the next drain, and line_reader_position() then says where
 * the first line not taken starts, which is what a checkpoint records.
 *
 * A line longer than max_line is not held: its first LINE_READER_PREFIX bytes are kept (for a
 * digest in the error event) and the rest is skipped up to its '\n'; it comes out through the
 * oversized callback with its real length. */
#ifndef MCPTRAIL_LINE_READER_H
#define MCPTRAIL_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_READER_PREFIX 4096

struct line_reader_callbacks {
	/* One complete line (len bytes, no '\n'; line is not NUL-terminated). Return false to stop
	 * the drain after this line (the line counts as taken). */
	bool (*line)(void *ctx, const char *line, size_t len, uint64_t line_no, uint64_t offset);
	/* A line longer than max_line: its first prefix_len bytes and its real length. Return false
	 * to stop after it. */
	bool (*oversized)(void *ctx, const char *prefix, size_t prefix_len, uint64_t real_len,
			  uint64_t line_no, uint64_t offset);
};

struct line_reader {
	char *buf;
	size_t start, end, cap;
	size_t max_line;
	uint64_t offset;  /* stream offset of buf[start] */
	uint64_t line_no; /* number of the last line taken (lines are numbered from 1) */
	/* skipping an oversized line */
	bool skipping;
	uint64_t skip_offset, skipped;
	char prefix[LINE_READER_PREFIX];
	size_t prefix_len;
};

/* offset, line_no: where the stream starts (0, 0 for a new stream; a checkpoint after a restart).
 */
void line_reader_init(struct line_reader *r, size_t max_line, uint64_t offset, uint64_t line_no);
void line_reader_free(struct line_reader *r);

/* Room for at least want more bytes at the end (NULL on OOM); *room says how much there is. */
char *line_reader_space(struct line_reader *r, size_t want, size_t *room);
void line_reader_commit(struct line_reader *r, size_t n);
bool line_reader_append(struct line_reader *r, const void *data, size_t len);

/* Hands out the complete lines held, in order. Returns false when the consumer stopped it. */
bool line_reader_drain(struct line_reader *r, const struct line_reader_callbacks *cb, void *ctx);
/* End of the stream: a last line without '\n' (a record cut short) is handed out as a line. Call
 * after a drain that was not stopped. */
void line_reader_finish(struct line_reader *r, const struct line_reader_callbacks *cb, void *ctx);

/* Bytes held that no line taken so far covers (a partial line, or lines not taken yet). */
size_t line_reader_pending(const struct line_reader *r);
/* Where the first line not taken yet starts: stream offset and the number of lines before it. */
void line_reader_position(const struct line_reader *r, uint64_t *offset, uint64_t *line_no);

#endif
