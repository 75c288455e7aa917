/* sse: an incremental parser for Server-Sent Events (the WHATWG event-stream format), as MCP's
 * Streamable HTTP uses it: "id:", "event:", "data:" (joined with "\n"), "retry:", comments
 * (":..."), events dispatched on a blank line. Lines may end in LF, CRLF or CR. An event larger
 * than the configured cap is delivered cut and flagged. */
#ifndef MCPTRAIL_SSE_H
#define MCPTRAIL_SSE_H

#include "collector/util.h"

#include <stdbool.h>
#include <stddef.h>

struct sse_event {
	const char *id;	   /* NULL when the event carried no id field */
	const char *event; /* "message" when absent */
	const char *data;
	size_t data_len;
	bool truncated; /* data longer than the cap */
	long retry_ms;	/* -1 when absent */
};

typedef void (*sse_emit_fn)(void *ctx, const struct sse_event *ev);

struct sse_parser {
	struct strbuf line;
	struct strbuf data;
	struct strbuf id;
	struct strbuf event;
	bool has_id, has_data, truncated, last_was_cr;
	long retry_ms;
	size_t max_event;
	unsigned long long comments, events;
};

void sse_parser_init(struct sse_parser *p, size_t max_event);
void sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, sse_emit_fn emit,
		     void *ctx);
/* End of stream: an event without its final blank line is dropped (as browsers do); returns
 * true when such an incomplete event was pending. */
bool sse_parser_finish(struct sse_parser *p);
void sse_parser_free(struct sse_parser *p);

#endif
