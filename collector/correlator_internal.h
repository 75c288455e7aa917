/* Shared between correlator.c (the state machine) and correlator_events.c (event builders). */
#ifndef MCPTRAIL_CORRELATOR_INTERNAL_H
#define MCPTRAIL_CORRELATOR_INTERNAL_H

#include "collector/correlator.h"
#include "collector/hashmap.h"
#include "collector/util.h"

#include <jansson.h>
#include <stdbool.h>

struct session {
	char *id;
	int64_t started_ns;
	uint64_t start_seq;
	char *protocol_version;	     /* negotiated (from the result), else requested */
	json_t *client;		     /* clientInfo as self-declared: name, version, title */
	json_t *client_capabilities; /* summary: roots, sampling{tools}, elicitation modes, tasks,
					extensions */
	json_t *server;		     /* serverInfo */
	json_t *server_capabilities;
	json_t *identity;    /* of the message that opened it (a reference) */
	unsigned redactions; /* in its client/server info, counted on its start event */
	bool started_event;  /* mcp.session start emitted */
	uint64_t calls, tool_errors, rpc_errors, invalid, gaps_frames, notifications, pings;
	uint64_t server_requests, unmatched, duplicates;
};

struct stream {
	char *id;
	char *transport;
	char *server_key; /* tasks are keyed by (server, taskId) */
	json_t *identity; /* stdio: who ran the tap; NULL for http (each message has its own) */
	char *host;
	char *server_command;
	int64_t started_ns, last_ns;
	unsigned session_count;
	struct session *session;      /* current */
	struct hashmap *elicitations; /* elicitationId → -32042 link (json), NULL until needed */
	unsigned invalid_events;      /* in-band invalid events emitted (rate limit) */
	uint64_t invalid_suppressed;
	bool ended;
};

struct task;

struct call {
	struct call *older, *newer; /* pending list, oldest first (timeouts) */
	char *key;		    /* stream \x1f dir \x1f id */
	size_t key_len;
	struct stream *stream;
	int dir; /* direction of the request */
	char *method;
	char *tool;   /* tools/call params.name, prompts/get name */
	char *target; /* resources/read uri */
	char *rpc_id;
	bool rpc_id_is_string;
	int64_t start_ns;
	uint64_t seq;
	unsigned attempts;
	uint64_t progress;
	char *progress_key; /* registered in c->progress */
	bool task_augmented;
	char *task_id; /* tasks/get|result|cancel: params.taskId; tools/call: the created task */
	char *related_task;
	char *traceparent;
	char *user_agent; /* HTTP User-Agent of the request, capped */
	char args_sha256[65];
	json_t *arguments;	  /* redacted, capped copy with digest (redact_arguments) */
	int64_t args_bytes;	  /* -1: no arguments */
	json_t *params_summary;	  /* cold-path details (sampling, elicitation) */
	json_t *identity;	  /* of the request (a reference) */
	unsigned auth_challenges; /* 401/403 answers seen for it */
	int last_http_status;	  /* of the last HTTP exchange that carried it, 0 if none */
	json_t *retry_of;	  /* {rpc_id, elicitation_ids} after a -32042 */
	unsigned redactions;	  /* in tool and target, counted on its event */
};

struct task {
	char *key; /* server \x1f taskId */
	char *id;
	char *status;
	char *status_message;
	struct call *call;     /* the tools/call that created it (owned), NULL if unseen */
	struct stream *stream; /* where it was last touched */
	char *creator_key;     /* identity key (subject|issuer) of its creator */
	json_t *creator;       /* creator identity (a reference) */
	bool outlived_token;   /* finding emitted */
	int64_t created_ns, updated_ns;
	int64_t ttl_ms; /* -1 unknown/unlimited */
	uint64_t polls, results, cancels, status_notifications, related_messages;
	bool emitted; /* its mcp.tool_call is out */
};

struct correlator {
	struct correlator_config cfg;
	correlator_emit_fn emit;
	void *emit_ctx;
	struct hashmap *streams;
	struct hashmap *pending;  /* call key → struct call */
	struct hashmap *progress; /* stream \x1f token → struct call (borrowed) */
	struct hashmap *tasks;	  /* server \x1f taskId → struct task */
	struct call *oldest, *newest;
	size_t pending_count;
	int64_t now_ns, last_sweep_ns;
	json_t *cur_identity;		 /* identity of the observation being handled (borrowed) */
	unsigned redactions;		 /* in the event being built */
	struct strbuf kbuf;		 /* scratch for scoped message keys */
	struct gateway_state *gateway;	 /* gateway and IdP logs, NULL until one is seen */
	struct findings_state *findings; /* NULL until needed */
	struct correlator_stats stats;
};

/* correlator_events.c */
json_t *correlator_event(struct correlator *c, const char *type, int64_t time_ns,
			 const char *id_seed);
void event_add_session(json_t *ev, const struct stream *s);
void event_add_identity(json_t *ev, json_t *identity);
/* "subject|issuer" of an identity object, for comparisons; "" when anonymous. */
void identity_key(json_t *identity, char *out, size_t outlen);
void event_emit(struct correlator *c, json_t *ev);
/* Redaction of outside text where it enters the state; each returns the count removed. */
unsigned redact_member(struct correlator *c, json_t *obj, const char *key);
unsigned redact_members(struct correlator *c, json_t *obj, const char *const *keys);
/* Takes s, returns it or its redacted replacement; adds the count to *count. */
char *redact_owned_string(struct correlator *c, char *s, unsigned *count);
void emit_tool_call(struct correlator *c, struct call *call, const char *outcome, int64_t end_ns,
		    const struct json_scan *response, struct task *task);
void emit_task(struct correlator *c, struct task *t, struct stream *s, int64_t time_ns,
	       uint64_t seq, const char *why);
void emit_request(struct correlator *c, struct call *call, const char *outcome, int64_t end_ns,
		  const struct json_scan *response, const char *raw, size_t raw_len);
void emit_session(struct correlator *c, struct stream *s, const char *state, int64_t time_ns);
void emit_invalid(struct correlator *c, struct stream *s, const struct obs *o);
void emit_gap(struct correlator *c, struct stream *s, const struct obs *o);

/* correlator_findings.c: every event leaves through here (identity class, findings about it) */
void correlator_deliver(struct correlator *c, json_t *event_take);
void findings_on_sampling_request(struct correlator *c, struct stream *s, struct call *call);
void findings_finish(struct correlator *c);
void findings_free(struct correlator *c);
/* The event id the event that closes call will have. */
void call_event_id(const struct call *call, char out[33]);
/* The same for a request other than tools/call (mcp.request, mcp.sampling, ...). */
void request_event_id(const struct call *call, char out[33]);

/* correlator_gateway.c */
void gateway_observe(struct correlator *c, const struct obs *o);
void grant_observe(struct correlator *c, const struct obs *o);
/* time of a tap observation: held lines and events may be due */
void gateway_tap_clock(struct correlator *c, int64_t time_ns);
/* a finalized tap event: true when it is held (delivered later), false when the caller delivers
 * it now (it may have been enriched) */
bool gateway_offer_tap_event(struct correlator *c, json_t *ev);
void gateway_finish(struct correlator *c);
void gateway_free(struct correlator *c);

bool task_status_terminal(const char *status);
char *span_dup(struct json_span sp);

#endif
