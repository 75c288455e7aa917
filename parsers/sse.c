#include "parsers/sse.h"

#include <stdlib.h>
#include <string.h>

void sse_parser_init(struct sse_parser *p, size_t max_event)
{
	memset(p, 0, sizeof(*p));
	p->max_event = max_event ? max_event : (16u << 20);
	p->retry_ms = -1;
}

static void reset_event(struct sse_parser *p)
{
	strbuf_reset(&p->data);
	strbuf_reset(&p->event);
	p->has_data = false;
	p->truncated = false;
	p->retry_ms = -1;
	/* the id persists across events (last event id), per the spec, but we report per event */
	p->has_id = false;
}

static void dispatch(struct sse_parser *p, sse_emit_fn emit, void *ctx)
{
	if (!p->has_data && !p->has_id) {
		reset_event(p);
		return;
	}
	struct sse_event ev = {
		.id = p->has_id ? (p->id.data ? p->id.data : "") : NULL,
		.event = p->event.len ? p->event.data : "message",
		.data = p->data.data ? p->data.data : "",
		.data_len = p->data.len,
		.truncated = p->truncated,
		.retry_ms = p->retry_ms,
	};
	p->events++;
	emit(ctx, &ev);
	reset_event(p);
}

static void process_line(struct sse_parser *p, const char *line, size_t len, sse_emit_fn emit,
			 void *ctx)
{
	if (len == 0) {
		dispatch(p, emit, ctx);
		return;
	}
	if (line[0] == ':') {
		p->comments++;
		return;
	}
	const char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t value_len = colon ? len - name_len - 1 : 0;
	if (value_len > 0 && value[0] == ' ') {
		value++;
		value_len--;
	}
	if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		if (p->has_data && p->data.len < p->max_event)
			strbuf_append(&p->data, "\n", 1);
		size_t room = p->max_event > p->data.len ? p->max_event - p->data.len : 0;
		if (value_len > room) {
			p->truncated = true;
			value_len = room;
		}
		strbuf_append(&p->data, value, value_len);
		p->has_data = true;
	} else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
		if (!memchr(value, '\0', value_len)) {
			strbuf_reset(&p->id);
			strbuf_append(&p->id, value, value_len < 1024 ? value_len : 1024);
			p->has_id = true;
		}
	} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		strbuf_reset(&p->event);
		strbuf_append(&p->event, value, value_len < 256 ? value_len : 256);
	} else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
		long v = 0;
		size_t i = 0;
		for (; i < value_len && value[i] >= '0' && value[i] <= '9' && v < 100000000; i++)
			v = v * 10 + (value[i] - '0');
		if (i == value_len && value_len > 0)
			p->retry_ms = v;
	}
	/* other fields are ignored, as the spec says */
}

void sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, sse_emit_fn emit, void *ctx)
{
	size_t i = 0;
	while (i < len) {
		if (p->last_was_cr && buf[i] == '\n') {
			/* the LF of a CRLF whose CR ended the previous line */
			p->last_was_cr = false;
			i++;
			continue;
		}
		p->last_was_cr = false;
		size_t j = i;
		while (j < len && buf[j] != '\n' && buf[j] != '\r')
			j++;
		/* keep a line in progress, capped (a data line longer than the event cap is cut in
		 * process_line; the line buffer itself stops growing a little above the cap) */
		size_t room =
			p->max_event + 1024 > p->line.len ? p->max_event + 1024 - p->line.len : 0;
		size_t take = j - i < room ? j - i : room;
		if (take)
			strbuf_append(&p->line, buf + i, take);
		if (j - i > take)
			p->truncated = true;
		if (j == len)
			break;
		process_line(p, p->line.data ? p->line.data : "", p->line.len, emit, ctx);
		strbuf_reset(&p->line);
		p->last_was_cr = buf[j] == '\r';
		i = j + 1;
	}
}

bool sse_parser_finish(struct sse_parser *p)
{
	bool pending = p->line.len > 0 || p->has_data;
	sse_parser_free(p);
	return pending;
}

void sse_parser_free(struct sse_parser *p)
{
	strbuf_free(&p->line);
	strbuf_free(&p->data);
	strbuf_free(&p->id);
	strbuf_free(&p->event);
}
