/* encode_internal: what the SIEM encoders (OCSF, ECS, CEF, LEEF) share. encode.c reads an event
 * once into a `struct event_view` (borrowed pointers into the event, plus the classification every
 * encoding agrees on: severity, outcome, action); each encoder only renders that view. Private to
 * sinks/encode*.c. The mapping is documented in schemas/mapping.md. */
#ifndef MCPTRAIL_ENCODE_INTERNAL_H
#define MCPTRAIL_ENCODE_INTERNAL_H

#include "collector/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The product version written into CEF/LEEF headers and OCSF metadata.product.version. The
 * program gets MCPTRAIL_VERSION from CMake; the core library may not, hence the fallback. */
#ifndef MCPTRAIL_VERSION
#define MCPTRAIL_VERSION "0.1.0"
#endif
#define ENCODE_PRODUCT "mcptrail"
#define ENCODE_OCSF_VERSION "1.8.0"
#define ENCODE_ECS_VERSION "8.17.0"

/* A string borrowed from the event, with its length: JSON strings may hold NUL bytes, and an
 * identity must not be cut short at one. s == NULL: absent or not a string. */
struct vstr {
	const char *s;
	size_t len;
};

enum event_kind {
	EVENT_TOOL_CALL,
	EVENT_TASK,
	EVENT_REQUEST,
	EVENT_SAMPLING,
	EVENT_ELICITATION,
	EVENT_ROOTS,
	EVENT_SESSION,
	EVENT_AUTH,
	EVENT_HTTP_ERROR,
	EVENT_INVALID_MESSAGE,
	EVENT_CAPTURE_GAP,
	EVENT_FINDING,
	EVENT_INGEST_ERROR,
	EVENT_INGEST_SUMMARY,
	EVENT_GRANT, /* identity.grant: an identity provider issued or refused a token */
	EVENT_OTHER, /* identity.blast_radius (reserved) and types this version does not know */
};

/* OCSF status_id values, also the basis of ECS event.outcome and CEF/LEEF outcome. */
enum view_status {
	STATUS_UNKNOWN = 0,
	STATUS_SUCCESS = 1,
	STATUS_FAILURE = 2,
	STATUS_OTHER = 99, /* cancelled */
};

/* OCSF API Activity activity_id values (Create/Read/Update/Delete/Other). */
enum api_activity {
	API_CREATE = 1,
	API_READ = 2,
	API_UPDATE = 3,
	API_DELETE = 4,
	API_OTHER = 99,
};

struct event_view {
	const json_t *event;
	enum event_kind kind;
	/* envelope: required, or the event is not encoded */
	struct vstr type, event_id, time;
	int64_t time_ms; /* time as milliseconds since the epoch */

	/* classification shared by every encoding */
	int severity;		 /* OCSF severity_id: 0 unknown, 1 info .. 5 critical */
	enum view_status status; /* OCSF status_id */
	const char *outcome;	 /* "success", "failure" or "unknown" (ECS event.outcome) */
	enum api_activity verb;	 /* CRUD verb of the MCP operation */
	struct vstr action;	 /* ECS event.action, CEF act */
	struct vstr operation;	 /* the JSON-RPC method, when there is one */
	struct vstr detail;	 /* mcptrail's own outcome/status/state/kind (CEF/LEEF cat) */
	const char *name;	 /* human-readable event name (CEF Name) */
	struct vstr message;	 /* error message, finding summary, ... */
	char message_buf[160];	 /* storage for a message built from counters */

	/* identity */
	struct vstr subject, issuer, client_id, identity_source, fingerprint, token_class;
	struct vstr identity_class;    /* human, service, agent, unknown */
	const json_t *scopes, *actors; /* arrays of strings, or NULL */
	int verified;		       /* 1, 0, or -1 when absent */

	/* session */
	struct vstr session_id, transport, protocol_version, client_name, client_version;
	struct vstr server_name, server_version, host;

	/* the request the event is about */
	struct vstr method, rpc_id, tool, target, task_id, direction, traceparent;
	struct vstr started_at, ended_at, url, source_name;
	struct vstr http_method, challenge_scheme, challenge_error;
	const json_t *challenge_scope; /* array or NULL */
	bool has_error_code, has_latency, has_started, has_ended;
	json_int_t error_code;
	double latency_ms;
	int64_t started_ms, ended_ms;
	json_int_t attempts;			     /* 0 when absent */
	json_int_t http_status;			     /* 0 when absent */
	json_int_t frames_lost;			     /* capture.gap; -1 when absent */
	struct vstr finding_kind;		     /* finding.kind */
	struct vstr finding_action;		     /* finding.action */
	struct vstr creator_subject, creator_issuer; /* finding.creator: whose task was touched */
};

/* Fills v from event (an object). Returns 0, or -1 when the envelope (type, event_id, time as an
 * RFC 3339 timestamp) is missing or malformed: such an event is not encoded. */
int event_view_init(struct event_view *v, const json_t *event);

/* Parses an RFC 3339 date-time (Z or a numeric offset, any fraction) as milliseconds since the
 * epoch, rounded down. false when malformed. */
bool parse_rfc3339_ms(const char *s, size_t len, int64_t *ms);
/* Formats ms since the epoch as 2026-11-27T15:09:59.571Z. out holds 40 bytes. */
void format_ms_rfc3339(int64_t ms, char out[40]);

/* The trace id (32 lowercase hex digits) of a W3C traceparent, or false. out holds 33 bytes. */
bool traceparent_trace_id(struct vstr traceparent, char out[33]);

bool vstr_eq(struct vstr v, const char *literal);
struct vstr vstr_c(const char *s);

/* Building a JSON document that either completes or reports failure (an allocation failed):
 * every helper is a no-op once failed is set, and the caller checks it once at the end. */
struct json_build {
	bool failed;
};

/* Sets key to val (taking it) in obj; returns val, or NULL (and marks failure). */
json_t *jb_set(struct json_build *b, json_t *obj, const char *key, json_t *val);
/* A new empty object under key. */
json_t *jb_object(struct json_build *b, json_t *obj, const char *key);
void jb_str(struct json_build *b, json_t *obj, const char *key, struct vstr v);	 /* if v.s */
void jb_cstr(struct json_build *b, json_t *obj, const char *key, const char *s); /* if s */
void jb_int(struct json_build *b, json_t *obj, const char *key, json_int_t n);
void jb_bool(struct json_build *b, json_t *obj, const char *key, bool value);
/* A deep copy of value under key, when value is not NULL. */
void jb_copy(struct json_build *b, json_t *obj, const char *key, const json_t *value);
/* Appends an array element (taking it). */
void jb_append(struct json_build *b, json_t *array, json_t *val);
/* The MCP-specific members of the event (everything but the envelope), copied, with
 * call.arguments.redacted as a JSON string so that its arbitrary shape cannot clash with
 * the index mappings of a SIEM. */
json_t *jb_mcp_members(struct json_build *b, const struct event_view *v);
/* Dumps root (compact, members in insertion order) onto out and releases root. -1 when the
 * build failed or the dump did. */
int jb_finish(struct json_build *b, json_t *root, struct strbuf *out);

int encode_ocsf(const struct event_view *v, struct strbuf *out);
int encode_ecs(const struct event_view *v, struct strbuf *out);
int encode_cef(const struct event_view *v, struct strbuf *out);
int encode_leef(const struct event_view *v, struct strbuf *out);

#endif
