/* fuzz_framer: the stdio framer fed in pieces.
 *
 * Input layout: byte 0 sets the maximum frame size (1..64, small so that truncation is common),
 * bytes 1..4 the sizes of the pieces the rest is fed in (1..16 bytes, cycling; a size byte with
 * its top bit set also feeds an empty piece). The rest is the stream.
 *
 * Checks, frame by frame, against the input: frames come out in order and tile the stream exactly
 * (content bytes + "\n" or "\r\n" endings == input length); a frame's bytes are the input's; no
 * frame holds more than max bytes; len == total unless truncated, and a truncated frame holds
 * exactly max bytes; a frame contains no "\n"; CRLF is flagged exactly when the line ended in
 * "\r\n"; only the last frame may be partial (stream ended without a newline).
 */
#include "collector/framer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	const char *in;
	size_t len, pos, max;
	bool ended;
};

static void fail(const struct ctx *c, const char *what)
{
	fprintf(stderr, "fuzz_framer: invariant violated at offset %zu (max %zu): %s\n", c->pos,
		c->max, what);
	abort();
}

static void emit(void *vctx, const char *data, size_t len, size_t total, unsigned flags)
{
	struct ctx *c = vctx;
	if (c->ended)
		fail(c, "a frame after the partial frame");
	if (len > c->max)
		fail(c, "frame longer than max");
	if (len > total)
		fail(c, "len > total");
	if (!(flags & FRAME_TRUNCATED) && len != total)
		fail(c, "len != total without FRAME_TRUNCATED");
	if ((flags & FRAME_TRUNCATED) && len != c->max)
		fail(c, "truncated frame does not hold max bytes");
	if ((flags & FRAME_PARTIAL) && (flags & FRAME_CRLF))
		fail(c, "partial frame flagged CRLF");
	if (total > c->len - c->pos)
		fail(c, "frame runs past the input");
	if (len && memcmp(data, c->in + c->pos, len) != 0)
		fail(c, "frame bytes differ from the input");
	if (memchr(c->in + c->pos, '\n', total))
		fail(c, "frame contains a newline");
	size_t end = c->pos + total;
	if (flags & FRAME_PARTIAL) {
		if (end != c->len)
			fail(c, "partial frame does not end the input");
		if (total == 0)
			fail(c, "empty partial frame");
		c->ended = true;
		c->pos = end;
	} else if (flags & FRAME_CRLF) {
		if (end + 2 > c->len || c->in[end] != '\r' || c->in[end + 1] != '\n')
			fail(c, "CRLF frame not followed by \\r\\n");
		c->pos = end + 2;
	} else {
		if (end + 1 > c->len || c->in[end] != '\n')
			fail(c, "frame not followed by \\n");
		if (total > 0 && c->in[end - 1] == '\r')
			fail(c, "\\r\\n ending not flagged CRLF");
		c->pos = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	size_t max = 1 + (data[0] & 63);
	const uint8_t *sizes = data + 1;
	/* an exact-size copy, so ASan sees reads past the stream */
	size_t len = size - 5;
	char *in = malloc(len ? len : 1);
	if (!in)
		abort();
	memcpy(in, data + 5, len);

	struct ctx c = {.in = in, .len = len, .max = max};
	struct framer f;
	framer_init(&f, max);
	size_t off = 0;
	for (unsigned k = 0; off < len; k++) {
		uint8_t s = sizes[k % 4];
		if (s & 0x80)
			framer_feed(&f, in + off, 0, emit, &c);
		size_t piece = 1 + (s & 15);
		if (piece > len - off)
			piece = len - off;
		framer_feed(&f, in + off, piece, emit, &c);
		off += piece;
		/* frames are emitted as soon as their newline arrives */
		if (c.pos > off)
			fail(&c, "frames emitted beyond what was fed");
	}
	framer_finish(&f, emit, &c);
	if (c.pos != len)
		fail(&c, "frames + line endings do not add up to the input length");
	free(in);
	return 0;
}
