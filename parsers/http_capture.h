/* http_capture: HTTP captures made by other tools, turned into the tap records `mcptrail tap-http`
 * writes (parsers/tap_record.h), so the importer and the correlator handle them unchanged.
 *
 * Two formats:
 *   HAR 1.2 (browser devtools, mitmproxy, Charles, ...): {"log":{"entries":[...]}}. An entry
 *     becomes one exchange; a text/event-stream response is split into sse_event records from
 *     content.text (base64 when content.encoding is "base64").
 *   Envoy HTTP tap traces (envoy.data.tap.v3.TraceWrapper as JSON, snake_case or the lowerCamelCase
 *     of proto3 JSON): http_buffered_trace, or http_streamed_trace_segment grouped by trace_id.
 *     A file holds one trace, a JSON array of them, or several JSON documents one after another
 *     (JSON lines or pretty-printed). Headers are {"key","value"} or {"key","raw_value"(base64)};
 *     bodies {"as_bytes"(base64)} or {"as_string"}, with "truncated". The pseudo-headers :method,
 *     :path and :status give the request line and the status; :authority becomes "host".
 *
 * The output is what tap-http would have written for the same traffic: a start record (transport
 * "http", upstream = scheme://authority of the first exchange, host "unknown", tap_pid 0, plus
 * "imported_from": "har" | "envoy_tap"), then per exchange http_request, http_response,
 * http_body or sse_event..., http_end, then an end record. The Authorization header never appears:
 * it is decoded into "auth" (token_identity_to_json, collector/jwt.h); credential headers (cookie,
 * set-cookie, proxy-authorization, x-api-key, api-key, x-auth-token, x-access-token) become
 * "tfp:<fingerprint>". A body is stored as "msg" when it is one valid JSON value on one line, else
 * as "b64"; request and non-SSE response bodies over 8 MiB are cut and flagged "truncated".
 *
 * Time: HAR records carry startedDateTime (request) and startedDateTime + time (everything after
 * the request). Envoy traces have timestamps only in recent versions (headers_received_time); the
 * rest get a synthetic clock starting at 0 and advancing 1 µs per record, never going back.
 *
 * Records are written exchange by exchange in file order (HAR) or in the order traces first
 * appear (Envoy); records of one exchange are contiguous.
 */
#ifndef MCPTRAIL_HTTP_CAPTURE_H
#define MCPTRAIL_HTTP_CAPTURE_H

#include "collector/util.h"

#include <stdbool.h>
#include <stddef.h>

struct token_cache;
struct jwt_keyring;

/* True when the content looks like a HAR file / an Envoy HTTP tap trace. Only the first 64 KiB are
 * looked at, so a prefix of the file is enough. */
bool har_detect(const char *data, size_t len);
bool envoy_tap_detect(const char *data, size_t len);

struct http_capture_ctx {
	const unsigned char *fp_key;	/* 32 bytes: the token fingerprint key (required) */
	struct token_cache *tokens;	/* may be NULL: every token is then decoded afresh */
	const struct jwt_keyring *keys; /* may be NULL: no signature verification */
	const char *stream;		/* tap stream id, e.g. "har-<sha256 prefix of the file>" */
};

/* Append tap records (JSON lines, each ending in "\n") for the whole capture in data[0..len) to
 * out. data needs no padding and no terminating NUL. Return the number of exchanges written, or -1
 * with err set (naming what was expected) when the input is not usable at all: nothing is appended
 * then. An entry or trace that cannot be converted (no request, wrong types, bad base64, ...) is
 * skipped and counted in *bad (bad may be NULL); when *bad > 0, err then holds the reason of the
 * first one. */
long har_to_tap_records(const struct http_capture_ctx *ctx, const char *data, size_t len,
			struct strbuf *out, unsigned long *bad, char *err, size_t errlen);
long envoy_tap_to_tap_records(const struct http_capture_ctx *ctx, const char *data, size_t len,
			      struct strbuf *out, unsigned long *bad, char *err, size_t errlen);

#endif
