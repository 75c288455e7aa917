#include "collector/framer.h"

#include <string.h>

void framer_init(struct framer *f, size_t max_frame)
{
	memset(f, 0, sizeof(*f));
	f->max = max_frame ? max_frame : 1;
}

/* stored: bytes of the frame we hold (a prefix); total: its real length including a possible
 * "\r"; last: its real last byte. */
static void deliver(const char *data, size_t stored, size_t total, char last, unsigned flags,
		    framer_emit_fn emit, void *ctx)
{
	if (total > 0 && last == '\r') {
		flags |= FRAME_CRLF;
		total--;
		if (stored > total)
			stored = total;
	}
	if (total > stored)
		flags |= FRAME_TRUNCATED;
	emit(ctx, data, stored, total, flags);
}

void framer_feed(struct framer *f, const char *data, size_t len, framer_emit_fn emit, void *ctx)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t chunk = nl ? (size_t)(nl - data) : len;
		if (f->total == 0 && nl && chunk <= f->max) {
			/* the whole frame is inside this read: hand it over without copying */
			deliver(data, chunk, chunk, chunk ? data[chunk - 1] : 0, 0, emit, ctx);
		} else {
			size_t room = f->max > f->line.len ? f->max - f->line.len : 0;
			size_t keep = chunk < room ? chunk : room;
			if (keep)
				strbuf_append(&f->line, data, keep);
			f->total += chunk;
			if (chunk)
				f->last = data[chunk - 1];
			if (nl) {
				deliver(f->line.data ? f->line.data : "", f->line.len, f->total,
					f->last, 0, emit, ctx);
				strbuf_reset(&f->line);
				f->total = 0;
				f->last = 0;
			}
		}
		if (!nl)
			break;
		len -= chunk + 1;
		data += chunk + 1;
	}
	/* Do not pin a huge buffer after a huge frame. */
	if (f->total == 0 && f->line.cap > (1u << 20))
		strbuf_free(&f->line);
}

void framer_finish(struct framer *f, framer_emit_fn emit, void *ctx)
{
	if (f->total > 0) {
		/* no line ending was seen, so a trailing "\r" is content */
		unsigned flags = FRAME_PARTIAL;
		if (f->total > f->line.len)
			flags |= FRAME_TRUNCATED;
		emit(ctx, f->line.data, f->line.len, f->total, flags);
	}
	framer_free(f);
}

void framer_free(struct framer *f)
{
	strbuf_free(&f->line);
	f->total = 0;
	f->last = 0;
}
