/* timeline: incident reconstruction from normalized events (`mcptrail timeline`).
 *
 * Everything one identity, task or session did, in time order, across sessions, retries, polls
 * and token refreshes, with the delegation chain and the findings inline.
 *
 * Use: timeline_new(), then timeline_offer_line() (or timeline_offer_take()) for every input
 * line in input order, then timeline_finish(), then render (timeline_render.c). Only the events
 * that match are kept, reduced to a compact item (strings and identities interned), so memory
 * grows with the answer, not with the input. Findings that do not match by themselves are
 * buffered (they are few) until the end, when those whose evidence names a kept event are
 * attached: a finding may come before or after its evidence.
 *
 * Matching (kind of selector):
 *   identity  ID equals the subject, "ISSUER|SUBJECT" (split at the first '|'; a plain subject
 *             containing '|', like "auth0|123", still matches as a subject), the client_id
 *             (CIMD URLs included), or the token fingerprint ("tfp:..."). An event whose act
 *             chain (identity.actors) names ID is kept and marked "as actor". A finding is also
 *             kept when its finding.creator matches.
 *   task      task.id (tool calls, task transitions, findings) or request.task_id /
 *             request.related_task (tasks/get, tasks/result, tasks/cancel, related messages).
 *   session   session.id, or the part after its last '/' (the Mcp-Session-Id of an HTTP capture:
 *             "har-0e49.../sess-42" matches "sess-42").
 * Events outside [from, to] (both inclusive) are dropped before matching. */
#ifndef MCPTRAIL_TIMELINE_H
#define MCPTRAIL_TIMELINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum timeline_kind {
	TIMELINE_IDENTITY,
	TIMELINE_TASK,
	TIMELINE_SESSION,
};

struct timeline_selector {
	enum timeline_kind kind;
	const char *id;	 /* copied by timeline_new() */
	int64_t from_ns; /* INT64_MIN: no lower bound */
	int64_t to_ns;	 /* INT64_MAX: no upper bound */
};

/* What became of one input line. */
enum timeline_offer {
	TIMELINE_SKIPPED, /* a valid event that does not match (or a manifest line) */
	TIMELINE_KEPT,	  /* kept (or buffered, for a finding) */
	TIMELINE_BAD,	  /* not a JSON object, or no type/time/event_id: counted */
	TIMELINE_NOMEM,
};

struct timeline_counts {
	uint64_t lines, bad_lines, kept, findings_buffered;
};

enum timeline_entry_kind {
	TIMELINE_ENTRY_EVENT,	      /* one event */
	TIMELINE_ENTRY_POLLS,	      /* consecutive tasks/get polls of one task, collapsed */
	TIMELINE_ENTRY_TOKEN_CHANGED, /* same subject, a new token fingerprint */
	TIMELINE_ENTRY_FINDING,	      /* a finding event */
};

/* An identity as events carry it, interned: equal identities share one. */
struct timeline_who {
	const char *subject, *issuer, *client_id, *source;
	const char *fingerprint, *token_class, *jti;
	bool has_exp;
	int64_t exp;
	const char **actors;
	size_t nactors;
	const char **scopes;
	size_t nscopes;
};

/* One line of the timeline. Strings are owned by the timeline (NULL when absent). */
struct timeline_entry {
	enum timeline_entry_kind kind;
	int64_t time_ns;
	uint64_t order; /* position in the input: ties on time keep input order */
	const char *event_id;
	const char *type; /* event type */
	const char *session;
	const struct timeline_who *who;
	bool as_actor;	      /* kept because ID is in the act chain, not the subject */
	const char *what;     /* tool, method, task status, session state, finding kind */
	const char *task_id;  /* the task the entry is about */
	const char *outcome;  /* call/request outcome, task status, finding severity */
	const char *detail;   /* error, finding summary, challenge, ... */
	const char *retry_of; /* rpc id of the call this one retries (-32042) */
	const char *rpc_id;
	bool has_latency;
	double latency_ms;
	int64_t attempts, auth_challenges;
	/* TIMELINE_ENTRY_POLLS: count and the last poll; the merged polls' ids */
	uint64_t count;
	int64_t last_ns;
	const char **more_ids;
	size_t nmore, more_cap;
	/* TIMELINE_ENTRY_TOKEN_CHANGED: the identity with the previous token */
	const struct timeline_who *previous;
	bool dropped; /* merged into a poll group */
};

struct timeline_summary {
	const char **subjects, **issuers, **clients, **actors, **scopes, **sessions, **tasks,
		**fingerprints;
	size_t nsubjects, nissuers, nclients, nactors, nscopes, nsessions, ntasks, nfingerprints;
	int64_t first_ns, last_ns; /* of the entries (0 when none) */
	uint64_t events, entries, tool_calls, requests, task_changes, polls, poll_groups,
		token_changes, findings, as_actor, auth_challenges, retries, failures;
};

struct timeline;

struct timeline *timeline_new(const struct timeline_selector *sel);
void timeline_free(struct timeline *tl);

/* One input line (without its '\n'). Lines that cannot contain the selector's id are skipped
 * without a full parse (see README: they are only checked for looking like an object). */
enum timeline_offer timeline_offer_line(struct timeline *tl, const char *line, size_t len);
/* One parsed event (ownership taken). */
enum timeline_offer timeline_offer_take(struct timeline *tl, json_t *event_take);

/* Sorts (stable on time, then input order), attaches buffered findings, inserts token changes,
 * collapses polls and computes the summary. false on out of memory. */
bool timeline_finish(struct timeline *tl);

const struct timeline_selector *timeline_selector(const struct timeline *tl);
const struct timeline_counts *timeline_counts(const struct timeline *tl);
/* After timeline_finish(): the entries in order (dropped ones included: skip them). */
const struct timeline_entry *timeline_entries(const struct timeline *tl, size_t *n);
const struct timeline_summary *timeline_summary(const struct timeline *tl);

/* Parses an RFC 3339 time (Z or ±HH:MM, optional fraction up to ns) into ns since the epoch. */
bool timeline_parse_time(const char *s, size_t len, int64_t *ns);

/* Rendering (timeline_render.c). */
json_t *timeline_entry_json(const struct timeline *tl, const struct timeline_entry *e);
json_t *timeline_summary_json(const struct timeline *tl);
/* The whole answer as one JSON object {"timeline": summary, "entries": [...]}, written entry by
 * entry. 0, or -1 on a write error. */
int timeline_write_json(const struct timeline *tl, FILE *out);
int timeline_write_text(const struct timeline *tl, FILE *out);
/* One entry as one text line (no '\n'), into buf. */
void timeline_entry_text(const struct timeline *tl, const struct timeline_entry *e, char *buf,
			 size_t len);

int timeline_main(int argc, char **argv);

#endif
