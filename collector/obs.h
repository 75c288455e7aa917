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
	OBS_GATEWAY,	 /* a gateway / proxy log says a request was made (struct obs_gateway) */
	OBS_GRANT,	 /* an identity provider issued (or refused) a token (struct obs_grant) */
};

/* What a gateway, proxy or audit log line says about one MCP request. Every member is optional
 * (NULL / 0 / false when the log did not say). The identity is the observation's principal. */
struct obs_gateway {
	const char *format;		 /* the parser: "agentgateway", "toolhive", ... */
	const char *method;		 /* "tools/call", "tools/list", ... */
	const char *tool;		 /* tools/call name (or prompt name for prompts/get) */
	const char *target;		 /* the upstream server / target / backend */
	const char *resource_uri;	 /* resources/read */
	const char *resource_type;	 /* "tool", "resource", "prompt", "task", ... */
	const char *session_id;		 /* as the client saw it (Mcp-Session-Id) */
	const char *upstream_session_id; /* as the server saw it, when the gateway says */
	const char *rpc_id;		 /* JSON-RPC id as text */
	const char *trace_id;		 /* W3C trace id (32 hex) */
	const char *span_id;
	const char *task_id;
	const char *request_id; /* the gateway's own request / correlation id */
	/* canonical: ok, tool_error, rpc_error, denied, error (failed without an RPC answer),
	 * cancelled */
	const char *outcome;
	const char *outcome_raw; /* the log's own word */
	bool has_error_code;
	int64_t error_code;
	const char *error_message;
	int http_status;
	bool has_duration;
	double duration_ms;
	int retry_attempt;	 /* 0: first try / unknown */
	const char *decision;	 /* policy decision: "allow", "deny" */
	const char *reason;	 /* policy reason */
	const char *src_addr;	 /* client address */
	const char *user_agent;	 /* interactive use of a non-human identity shows here */
	const char *client_name; /* self-declared client, as the gateway logged it */
	const char *client_version;
	const char *transport; /* "http", "stdio", "sse" */
	const char *protocol_version;
	const char *event_kind; /* the log's event name: "mcp_tool_call", "mcp.session.request" */
};

/* What an identity provider's log says about one token request. */
struct obs_grant {
	const char *format;	/* "keycloak", "okta", "oauth" */
	const char *grant_type; /* canonical: authorization_code, client_credentials,
				   refresh_token, token_exchange, jwt_bearer, device_code,
				   password, implicit, other */
	const char *grant_type_raw;
	const char *requested_token_type; /* token exchange: urn:...:id-jag, access_token */
	const char *issued_token_type;
	const char *audience; /* resource / audience of the issued token */
	const char *token_id; /* jti of the issued access token */
	const char *refresh_token_id;
	const char *session_id;		   /* the IdP's session */
	const char *subject_token_subject; /* token exchange: whose token was exchanged */
	const char *src_addr;
	const char *user_agent;
	bool success;
	const char *error;
	bool has_expires;
	int64_t expires_ns;	/* expiry of the issued token */
	const char *event_kind; /* the log's event name: "CODE_TO_TOKEN", "app.oauth2..." */
	const char *target;	/* the upstream / resource server the token is for, by name */
	const char *request_id; /* the IdP's or gateway's correlation id */
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

	/* OBS_GATEWAY, OBS_GRANT (principal: who the log says made the request / got the token;
	 * source_name / source_line: the line) */
	const struct obs_gateway *gateway;
	const struct obs_grant *grant;

	/* OBS_STREAM_END */
	bool has_exit_status;
	int64_t exit_status;
	int64_t term_signal;
};

#endif
