#include "collector/line_reader.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP (64u << 10)

void line_reader_init(struct line_reader *r, size_t max_line, uint64_t offset, uint64_t line_no)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line ? max_line : 1;
	r->offset = offset;
	r->line_no = line_no;
}

void line_reader_free(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->start = r->end = r->cap = 0;
}

char *line_reader_space(struct line_reader *r, size_t want, size_t *room)
{
	if (r->start > 0 && (r->start == r->end || r->cap - r->end < want)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < want) {
		size_t cap = r->cap ? r->cap : MIN_CAP;
		while (cap - r->end < want)
			cap *= 2;
		char *nb = realloc(r->buf, cap);
		if (!nb)
			return NULL;
		r->buf = nb;
		r->cap = cap;
	}
	*room = r->cap - r->end;
	return r->buf + r->end;
}

void line_reader_commit(struct line_reader *r, size_t n)
{
	r->end += n;
}

bool line_reader_append(struct line_reader *r, const void *data, size_t len)
{
	size_t room;
	char *dst = line_reader_space(r, len, &room);
	if (!dst)
		return false;
	memcpy(dst, data, len);
	line_reader_commit(r, len);
	return true;
}

/* Starts skipping the held bytes of a line that is already too long. */
static void begin_skip(struct line_reader *r)
{
	size_t held = r->end - r->start;
	r->skipping = true;
	r->skip_offset = r->offset;
	r->prefix_len = held < LINE_READER_PREFIX ? held : LINE_READER_PREFIX;
	memcpy(r->prefix, r->buf + r->start, r->prefix_len);
	r->skipped = held;
	r->offset += held;
	r->start = r->end = 0;
}

bool line_reader_drain(struct line_reader *r, const struct line_reader_callbacks *cb, void *ctx)
{
	while (r->start < r->end) {
		char *p = r->buf + r->start;
		size_t held = r->end - r->start;
		char *nl = memchr(p, '\n', held);
		if (r->skipping) {
			if (!nl) {
				r->skipped += held;
				r->offset += held;
				r->start = r->end = 0;
				return true;
			}
			size_t n = (size_t)(nl - p);
			r->skipped += n;
			r->offset += n + 1;
			r->start += n + 1;
			r->skipping = false;
			r->line_no++;
			if (!cb->oversized(ctx, r->prefix, r->prefix_len, r->skipped, r->line_no,
					   r->skip_offset))
				return false;
			continue;
		}
		if (!nl) {
			if (held > r->max_line)
				begin_skip(r);
			return true;
		}
		size_t n = (size_t)(nl - p);
		uint64_t at = r->offset;
		r->offset += n + 1;
		r->start += n + 1;
		r->line_no++;
		bool go_on;
		if (n > r->max_line) {
			size_t keep = n < LINE_READER_PREFIX ? n : LINE_READER_PREFIX;
			go_on = cb->oversized(ctx, p, keep, n, r->line_no, at);
		} else {
			go_on = cb->line(ctx, p, n, r->line_no, at);
		}
		if (!go_on)
			return false;
	}
	if (r->start == r->end)
		r->start = r->end = 0;
	return true;
}

void line_reader_finish(struct line_reader *r, const struct line_reader_callbacks *cb, void *ctx)
{
	size_t held = r->end - r->start;
	if (r->skipping) {
		r->line_no++;
		cb->oversized(ctx, r->prefix, r->prefix_len, r->skipped + held, r->line_no,
			      r->skip_offset);
		r->skipping = false;
	} else if (held > 0) {
		r->line_no++;
		if (held > r->max_line)
			cb->oversized(ctx, r->buf + r->start,
				      held < LINE_READER_PREFIX ? held : LINE_READER_PREFIX, held,
				      r->line_no, r->offset);
		else
			cb->line(ctx, r->buf + r->start, held, r->line_no, r->offset);
	}
	r->offset += held;
	r->start = r->end = 0;
}

size_t line_reader_pending(const struct line_reader *r)
{
	return (r->end - r->start) + (r->skipping ? (size_t)r->skipped : 0);
}

void line_reader_position(const struct line_reader *r, uint64_t *offset, uint64_t *line_no)
{
	*offset = r->skipping ? r->skip_offset : r->offset;
	*line_no = r->line_no;
}
