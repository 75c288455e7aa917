/* util: small shared helpers: a growable byte buffer, time, hashing, base64, JSON escaping. */
#ifndef MCPTRAIL_UTIL_H
#define MCPTRAIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *data;
	size_t len;
	size_t cap;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Grows to hold at least need more bytes (plus one for a terminating NUL). false on OOM. */
bool strbuf_reserve(struct strbuf *b, size_t need);
bool strbuf_append(struct strbuf *b, const void *data, size_t len);
bool strbuf_append_str(struct strbuf *b, const char *s);
bool strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *b);
void strbuf_free(struct strbuf *b);

/* Appends s as the body of a JSON string (no quotes). Bytes that are not valid UTF-8 are
 * replaced by U+FFFD, so the output is always valid JSON. */
bool strbuf_append_json_escaped(struct strbuf *b, const char *s, size_t len);

/* Wall clock in nanoseconds since the epoch. */
int64_t clock_now_ns(void);
/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds: 2026-11-27T10:00:00.123456789Z.
 * out must hold 48 bytes. */
void format_rfc3339_ns(int64_t ns, char out[48]);
/* Same with milliseconds: 2026-11-27T10:00:00.123Z */
void format_rfc3339_ms(int64_t ns, char out[48]);

/* SHA-256 of data as 64 lowercase hex digits plus NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* Standard base64 (RFC 4648 §4) with padding. */
bool base64_encode_append(struct strbuf *b, const unsigned char *data, size_t len);
/* Decodes into b; false on a malformed input. */
bool base64_decode_append(struct strbuf *b, const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);

/* Parses a size like "64M", "8MiB", "1024", "2G". false when malformed. */
bool parse_size(const char *s, size_t *out);

#endif
