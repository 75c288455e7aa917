/* tap_record: the tap record format (what `mcptrail tap` writes and `mcptrail import` reads).
 *
 * JSON lines; every record has "mcptrail_tap":1, "kind", "stream", "ts" (ns since the epoch):
 *   start  transport, identity{subject,source}, host, tap_pid, server_pid, argv, time
 *   frame  seq, dir ("c2s"|"s2c"), len (real bytes), crlf?, truncated?, partial?, and either
 *          "msg" (the frame verbatim, when it is one valid JSON value) or "b64" (its exact bytes)
 *   gap    seq, dir, frames, bytes: frames the tap could not record (slow destination)
 *   end    seq, exit_status | signal, frames{c2s,s2c}, gaps, dropped_frames, dropped_bytes
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
