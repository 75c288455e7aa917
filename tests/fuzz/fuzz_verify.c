/* fuzz_verify: verify_memory() on an arbitrary segment file, and the chain format round trip.
 *
 * The first byte picks the mode; the rest is the data.
 *  - even: the data is a segment file (plain, or zstd when it starts with the zstd magic),
 *    verified with a fixed key and without one. Checks: the result is intact (0) or broken (1),
 *    never "unreadable" (2); a broken result names a problem and a line within the input; an
 *    intact one counts no more records than there are lines.
 *  - odd: each line of the data that can carry a chain member is a payload; they are written as
 *    a chained segment with its manifest, exactly as the file sink does. Checks: it verifies,
 *    with every record counted; and after flipping any one byte, it no longer verifies with the
 *    key.
 */
#include "collector/util.h"
#include "collector/verify.h"
#include "sinks/file_chain.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char KEY[32] = "fuzz_verify hmac key, 32 bytes!";

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_verify: invariant violated: %s\n", what);
	abort();
}

static void verify_raw(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees reads past the end */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	uint64_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	for (int keyed = 0; keyed < 2; keyed++) {
		struct verify_options opt = {.key = keyed ? KEY : NULL,
					     .keylen = keyed ? sizeof(KEY) : 0,
					     .max_bytes = 4u << 20};
		struct verify_result res;
		int rc = verify_memory(copy, size, "fuzz.000001.jsonl", &opt, &res);
		if (rc != 0 && rc != 1)
			fail("memory input reported unreadable");
		if (rc == 1 && (!res.problem[0] || res.ok))
			fail("a broken result without a problem");
		if (rc == 0 && (!res.ok || res.records > lines))
			fail("an intact result with more records than lines");
		if (rc == 0 && keyed && !res.authenticated)
			fail("a key given but not used");
	}
	free(copy);
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct strbuf seg = STRBUF_INIT;
	char chain[CHAIN_HEX_LEN + 1], first[CHAIN_HEX_LEN + 1] = "";
	memcpy(chain, chain_genesis, sizeof(chain));
	uint64_t records = 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *why;
		size_t plen = chain_payload_len(p, len, &why);
		if (plen) {
			chain_link(chain, p, plen, chain);
			if (!chain_line_append(&seg, p, plen, chain) ||
			    !strbuf_append(&seg, "\n", 1))
				abort();
			if (records++ == 0)
				memcpy(first, chain, sizeof(first));
		}
		p += len + 1;
	}
	struct chain_manifest m = {.segment = 1, .records = records};
	memcpy(m.first_chain, first, sizeof(first));
	memcpy(m.last_chain, chain, sizeof(chain));
	memcpy(m.prev_last_chain, chain_genesis, sizeof(chain));
	snprintf(m.created, sizeof(m.created), "2026-11-27T10:00:00.000Z");
	snprintf(m.closed, sizeof(m.closed), "2026-11-27T10:00:01.000Z");
	if (!chain_manifest_append(&seg, &m, KEY, sizeof(KEY)) || !strbuf_append(&seg, "\n", 1))
		abort();

	struct verify_options opt = {.key = KEY, .keylen = sizeof(KEY)};
	struct verify_result res;
	char *copy = malloc(seg.len);
	if (!copy)
		abort();
	memcpy(copy, seg.data, seg.len);
	if (verify_memory(copy, seg.len, "fuzz.000001.jsonl", &opt, &res) != 0 ||
	    res.records != records || res.segments != 1) {
		fprintf(stderr, "%s:%llu: %s (%s)\n", res.file, (unsigned long long)res.line,
			res.problem, res.cause);
		fail("a segment written as the sink does does not verify");
	}
	/* any one byte changed breaks it */
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	size_t at = (size_t)(h % seg.len);
	copy[at] = (char)(copy[at] ^ (1 + (h >> 32) % 255));
	if (verify_memory(copy, seg.len, "fuzz.000001.jsonl", &opt, &res) != 1)
		fail("a flipped byte went unnoticed");
	free(copy);
	strbuf_free(&seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		round_trip(data + 1, size - 1);
	else
		verify_raw(data + 1, size - 1);
	return 0;
}
