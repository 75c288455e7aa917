/* recorder: writes tap records (JSON lines, see parsers/tap_record.h for the format) to a file
 * from a writer thread fed by a bounded record_queue.
 *
 * The record file is created with mode 0600: it holds raw MCP traffic, which can carry secrets. */
#ifndef MCPTRAIL_RECORDER_H
#define MCPTRAIL_RECORDER_H

#include "collector/record_queue.h"
#include "collector/util.h"

#include <stdbool.h>
#include <stdint.h>

struct recorder;

struct recorder_stream_info {
	const char *transport;	     /* "stdio" */
	const char *identity;	     /* who the traffic is attributed to */
	const char *identity_source; /* "configured" (--identity) or "os_user" */
	const char *host;
	long tap_pid;
	long child_pid;
	int argc;
	char *const *argv; /* the server command; values that look like secrets are masked */
	const char *extra_members; /* more JSON members for the start record, or NULL */
};

/* Opens (appends to) path, creating it 0600; stream ids are "<prefix>-<random>". On failure
 * returns NULL and sets *err. */
struct recorder *recorder_open(const char *path, const char *stream_prefix, size_t queue_cap_bytes,
			       const char **err);
const char *recorder_stream_id(const struct recorder *r);
/* Writes the start record and starts the writer thread. */
int recorder_start(struct recorder *r, const struct recorder_stream_info *info);
/* Thread-safe, never blocks: hands a frame (as cut by the framer) to the writer. */
void recorder_frame(struct recorder *r, int dir, int64_t ts_ns, const char *data, size_t len,
		    size_t total, unsigned flags);
/* Thread-safe, never blocks: a preformatted record (its JSON members after the envelope,
 * starting with "kind"); seq, ts and stream are added by the writer. */
void recorder_line(struct recorder *r, int dir, int64_t ts_ns, const char *members, size_t len);
/* Drains the queue, writes the end record (exit status or signal), fsyncs and closes. */
int recorder_close(struct recorder *r, int exit_status, int term_signal);
void recorder_free(struct recorder *r);

struct json_scanner;
/* Appends ,"msg":<data> when data (padded) is one valid JSON value and not cut, else
 * ,"b64":"..." of its exact bytes. */
void recorder_append_payload(struct strbuf *out, struct json_scanner *scanner, const char *data,
			     size_t len, bool cut);
/* Appends the JSON record for one queued item to out (exposed for tests and the bench). */
struct json_scanner;
void recorder_format_item(struct strbuf *out, struct json_scanner *scanner, const char *stream,
			  const struct record_item *it);

#endif
