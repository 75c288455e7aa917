/* fuzz_tap_record: tap_record_parse on arbitrary bytes (one record line).
 *
 * Parses from an exact-size copy (capacity == len: the parser copies) and in place from a padded
 * buffer (the importer's path); both must agree. Every span must be readable. For a frame record
 * parsed in place, the msg span must lie inside the line and is then scanned by json_scanner_scan
 * as the importer does. A frame record has msg or b64 and a valid dir.
 */
#include "parsers/json_scan.h"
#include "parsers/tap_record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_scanner *record_scanner, *message_scanner;
static volatile unsigned char sink;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_tap_record: invariant violated: %s\n", what);
	abort();
}

static void touch(struct json_span s)
{
	if (!s.ptr)
		return;
	unsigned char x = 0;
	for (size_t i = 0; i < s.len; i++)
		x ^= (unsigned char)s.ptr[i];
	sink ^= x;
}

static void check(const struct tap_record *r, enum tap_record_kind k)
{
	if (k != r->kind)
		fail("return value == out->kind");
	if ((k == TAP_RECORD_INVALID) != (r->invalid_reason != NULL))
		fail("invalid_reason set iff invalid");
	if (k == TAP_RECORD_INVALID)
		return;
	if (!r->stream.ptr || r->stream.len == 0)
		fail("record without stream");
	if (k == TAP_RECORD_FRAME) {
		if (r->dir != 0 && r->dir != 1)
			fail("frame dir is 0 or 1");
		if (!r->msg.ptr && !r->b64.ptr)
			fail("frame with msg or b64");
	}
	touch(r->stream);
	touch(r->msg);
	touch(r->b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!record_scanner) {
		record_scanner = json_scanner_new();
		message_scanner = json_scanner_new();
		if (!record_scanner || !message_scanner)
			abort();
	}
	char *exact = malloc(size ? size : 1);
	char *padded = malloc(size + JSON_SCAN_PADDING);
	if (!exact || !padded)
		abort();
	if (size) {
		memcpy(exact, data, size);
		memcpy(padded, data, size);
	}
	memset(padded + size, 0, JSON_SCAN_PADDING);
	sink ^= (unsigned char)tap_record_detect(exact, size);

	struct tap_record a, b;
	enum tap_record_kind ka = tap_record_parse(record_scanner, exact, size, size, &a);
	check(&a, ka);
	enum tap_record_kind kb =
		tap_record_parse(record_scanner, padded, size, size + JSON_SCAN_PADDING, &b);
	check(&b, kb);
	if (ka != kb)
		fail("same kind with and without a copy");
	if (kb == TAP_RECORD_FRAME && b.msg.ptr) {
		if (b.msg.ptr < padded || b.msg.len == 0 ||
		    b.msg.len > (size_t)(padded + size - b.msg.ptr))
			fail("msg span inside the line");
		struct json_scan scan;
		const char *limit = padded + size + JSON_SCAN_PADDING;
		json_scanner_scan(message_scanner, b.msg.ptr, b.msg.len,
				  (size_t)(limit - b.msg.ptr), &scan);
		touch(scan.method);
		touch(scan.params);
		touch(scan.result);
		touch(scan.arguments);
	}
	free(exact);
	free(padded);
	return 0;
}
