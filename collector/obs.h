/* obs: observations, the one vocabulary between parsers and the correlator (ARCHITECTURE §1).
 *
 * An observation borrows all its strings and spans from the parser that made it; the correlator
 * copies what it keeps. */
#ifndef MCPTRAIL_OBS_H
#define MCPTRAIL_OBS_H

#include "parsers/json_scan.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>

enum obs_kind {
	OBS_STREAM_START, /* a tap run / connection began */
	OBS_MESSAGE,	  /* a valid JSON-RPC message */
	OBS_INVALID,	  /* a frame that is not a valid JSON-RPC message */
	OBS_GAP,	  /* the source lost frames (counted) */
	OBS_STREAM_END,	  /* the tap run / connection ended */
	OBS_HTTP_STATUS, /* an HTTP exchange ended without a JSON-RPC answer (401, 403, 4xx, 5xx) */
};

enum obs_dir { OBS_C2S = 0, OBS_S2C = 1 };

/* Where an identity attribution came from. */
struct obs_identity {
	const char *subject;
	const char *issuer;
	const char *source; /* "os_user", "configured", ... */
};

struct obs {
	enum obs_kind kind;
	int64_t time_ns;
	const char *stream;    /* NUL-terminated */
	const char *transport; /* "stdio" | "http" (OBS_STREAM_START) */
	enum obs_dir dir;
	uint64_t seq;
	/* HTTP: who sent this message (an identity object as in events, borrowed), the server
	 * tasks belong to, and headers that matter to correlation */
	json_t *principal;
	const char *server_key;
	const char *protocol_version; /* MCP-Protocol-Version header */
	const char *traceparent;      /* W3C trace context header */
	const char *user_agent;	      /* User-Agent header (who typed may be a person) */
	const char *id_scope; /* set: JSON-RPC ids are unique only within this scope (stateless HTTP
			       * exchanges), else within the stream */
	/* provenance, for evidence and error events */
	const char *source_name;
	uint64_t source_line;

	/* OBS_MESSAGE */
	const struct json_scan *msg;
	const char *raw; /* the frame's bytes (for the cold path: initialize, elicitation, ...) */
	size_t raw_len;

	/* OBS_INVALID */
	const char *invalid_reason;
	uint64_t invalid_len; /* real length of the frame */
	bool truncated;

	/* OBS_STREAM_START */
	struct obs_identity identity;
	const char *host;
	const char *server_command; /* e.g. "node .../index.js stdio" */

	/* OBS_GAP */
	uint64_t gap_frames, gap_bytes;

	/* OBS_HTTP_STATUS */
	int http_status;
	const char *http_method;
	const char *www_authenticate;
	const char *http_outcome; /* complete, rejected, upstream_error, client_closed */
	const char *http_error;
	struct json_id http_rpc_id; /* the JSON-RPC request the exchange carried, if any */

	/* OBS_STREAM_END */
	bool has_exit_status;
	int64_t exit_status;
	int64_t term_signal;
};

#endif
