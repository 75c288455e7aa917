/* tap_record: the tap record format (what `mcptrail tap` writes and `mcptrail import` reads).
 *
 * JSON lines; every record has "mcptrail_tap":1, "kind", "stream", "ts" (ns since the epoch):
 *   start  transport, identity{subject,source}, host, tap_pid, server_pid, argv, time
 *   frame  seq, dir ("c2s"|"s2c"), len (real bytes), crlf?, truncated?, partial?, and either
 *          "msg" (the frame verbatim, when it is one valid JSON value) or "b64" (its exact bytes)
 *   gap    seq, dir, frames, bytes: frames the tap could not record (slow destination)
 *   end    seq, exit_status | signal, frames{c2s,s2c}, gaps, dropped_frames, dropped_bytes
 *
 * `mcptrail tap-http` (transport "http"; start also has upstream, listen, tls) adds, per HTTP
 * exchange E (a counter per tap run), in this order:
 *   http_request   exchange, conn, method, uri, headers{lower-case name: value} (never
 *                  Authorization; cookies and API-key headers as "tfp:<fingerprint>"),
 *                  auth (null, or the decoded token: see token_identity_to_json in
 *                  collector/jwt.h; never the token), len, msg | b64 (the body)
 *   http_response  exchange, status, headers
 *   http_body      exchange, len, truncated?, msg | b64      (a non-SSE response body)
 *   sse_event      exchange, event_id (or null), event, retry_ms?, truncated?, len, msg | b64
 *   http_end       exchange, outcome (complete | client_closed | upstream_error | rejected),
 *                  status, bytes_in, bytes_out, duration_ms, error?
 * A refused request (413, 431, 405) has http_request then http_end with outcome "rejected".
 */
#ifndef MCPTRAIL_TAP_RECORD_H
#define MCPTRAIL_TAP_RECORD_H

#include "parsers/json_scan.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tap_record_kind {
	TAP_RECORD_INVALID = 0,
	TAP_RECORD_START,
	TAP_RECORD_FRAME,
	TAP_RECORD_GAP,
	TAP_RECORD_END,
	TAP_RECORD_HTTP_REQUEST,
	TAP_RECORD_HTTP_RESPONSE,
	TAP_RECORD_HTTP_BODY,
	TAP_RECORD_SSE_EVENT,
	TAP_RECORD_HTTP_END,
};

struct tap_record {
	enum tap_record_kind kind;
	const char *invalid_reason;
	struct json_span stream;
	uint64_t seq;
	int64_t ts_ns;
	int dir; /* 0 c2s, 1 s2c, -1 absent */
	uint64_t len;
	bool crlf, truncated, partial;
	struct json_span msg; /* raw span inside the line (or the scanner's padded copy of it) */
	size_t msg_capacity;  /* bytes readable from msg.ptr: pass to json_scanner_scan */
	struct json_span b64; /* raw base64 text */
	uint64_t gap_frames, gap_bytes;
	bool has_exit_status;
	int64_t exit_status;
	int64_t term_signal;
	/* HTTP records (headers and auth are read with jansson by whoever needs them) */
	uint64_t exchange;
	int64_t status;
	bool has_event_id;
	struct json_span event_id, method, uri, outcome;
};

/* Parses one record line. line must have JSON_SCAN_PADDING readable bytes after len when
 * capacity says so (else it is copied). Spans stay valid until the next call. */
enum tap_record_kind tap_record_parse(json_scanner *scanner, const char *line, size_t len,
				      size_t capacity, struct tap_record *out);

/* True when the line looks like a tap record (format detection). */
bool tap_record_detect(const char *line, size_t len);

#ifdef __cplusplus
}
#endif

#endif
