/* framer: splits a byte stream into newline-terminated frames (MCP stdio framing).
 *
 * The stream itself is never altered: the framer only sees a copy of what was forwarded. A frame
 * handed to the callback excludes its "\n" and, for CRLF endings, its "\r" (flagged). A frame
 * longer than the configured maximum is cut: the callback receives its first max bytes, flagged
 * truncated, with the true length. Bytes after the last newline at end of stream are a partial
 * frame. */
#ifndef MCPTRAIL_FRAMER_H
#define MCPTRAIL_FRAMER_H

#include "collector/util.h"

#include <stddef.h>

enum {
	FRAME_CRLF = 1u << 0,	   /* ended in "\r\n" */
	FRAME_TRUNCATED = 1u << 1, /* longer than max; data holds the first max bytes */
	FRAME_PARTIAL = 1u << 2,   /* stream ended before the newline */
};

/* data/len: the frame (possibly cut); total: its real length in bytes without the line ending. */
typedef void (*framer_emit_fn)(void *ctx, const char *data, size_t len, size_t total,
			       unsigned flags);

struct framer {
	struct strbuf line; /* bytes of the frame in progress, at most max */
	size_t total;	    /* real length of the frame in progress */
	char last;	    /* its last byte so far (to recognise CRLF after a cut) */
	size_t max;
};

void framer_init(struct framer *f, size_t max_frame);
void framer_feed(struct framer *f, const char *data, size_t len, framer_emit_fn emit, void *ctx);
/* End of stream: emits a pending partial frame, if any. */
void framer_finish(struct framer *f, framer_emit_fn emit, void *ctx);
void framer_free(struct framer *f);

#endif
