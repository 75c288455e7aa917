/* Shared by blast_radius.c (accumulation), blast_radius_score.c (the metric) and the renderers. */
#ifndef MCPTRAIL_BLAST_RADIUS_INTERNAL_H
#define MCPTRAIL_BLAST_RADIUS_INTERNAL_H

#include "collector/blast_radius.h"
#include "collector/hashmap.h"

/* The newest event ids behind a number (a ring of at most cfg.max_evidence) and how many there
 * were in all. */
struct br_evid {
	unsigned char bin[16]; /* a 32-hex-digit event id */
	char *str;	       /* any other id (cut at 128 bytes); NULL when bin holds it */
};

struct br_evidence {
	struct br_evid *ids;
	size_t n, next, alloc;
	uint64_t total;
};

/* One member of a bounded set: a tool or a resource prefix (key "server\x1fname"), a scope, an
 * actor, an audience, a task, ... granted_ns / used_ns are the last times it was granted
 * (listed, seen on a token) and used (called, read, presented on a successful call); 0 = never. */
struct br_item {
	char *key;
	int64_t granted_ns, used_ns;
	uint64_t uses;
	signed char ro, destructive, open_world; /* tool hints: -1 absent, 0, 1 */
	bool unlisted;				 /* used without being listed */
	bool challenged; /* scope named by an insufficient_scope challenge */
	bool outlived;	 /* task outlived its session or token */
	const char *outlived_reason;
	char *aux;	/* task: the session it was created in */
	int64_t aux_ns; /* task: the creating token's exp */
	struct br_evidence granted_ev, used_ev;
};

struct br_set {
	struct br_item **items; /* in insertion order */
	size_t n, alloc;
	uint64_t dropped; /* members refused because the set was full */
	struct hashmap *index;
};

struct br_identity {
	char *key, *subject, *issuer, *token_class;
	int64_t first_ns, last_ns, last_call_ns;
	struct br_set tools, resources, scopes, actors, audiences, became, fingerprints, client_ids;
	struct br_set tasks, ended_sessions;
	int max_act_hops;
	int64_t delegation_ns, sampling_decl_ns, sampling_tools_ns, static_ns, human_ns;
	const char *human_reason;
	bool nhi_by_token;
	struct br_evidence seen_ev, call_ev, delegation_ev, sampling_decl_ev, sampling_tools_ev;
	struct br_evidence static_ev, human_ev, nhi_ev;
};

/* a token fingerprint seen across identities: shared by more than one client_id? */
struct br_fingerprint {
	char *first_client_id;
	int64_t shared_ns;
	struct br_evidence ev;
};

struct blast_radius {
	const struct br_config *cfg;
	struct hashmap *identities; /* key → struct br_identity */
	struct br_identity **order; /* first-seen order (deterministic output) */
	size_t norder, aorder;
	struct hashmap *fingerprints; /* fingerprint → struct br_fingerprint */
	int64_t newest_ns;
	struct blast_radius_stats stats;
	/* the last ranking (blast_radius_score.c), valid while no event came in and the window is
	 * the same */
	struct br_ranked *ranked;
	size_t nranked;
	uint64_t ranked_events;
	double ranked_window_days;
};

/* blast_radius_set.c */
/* nanoseconds since the epoch; INT64_MIN when s is not RFC 3339 */
int64_t br_parse_time(const char *s);
void br_evidence_add(struct br_evidence *ev, const char *id, size_t cap);
void br_evidence_free(struct br_evidence *ev);
json_t *br_evidence_json(const struct br_evidence *ev, size_t cap);
struct br_item *br_set_find(const struct br_set *s, const char *key);
struct br_item *br_set_get(struct br_set *s, const char *key, size_t limit);
void br_set_free(struct br_set *s);
/* blast_radius.c */
void br_uri_prefix(const char *uri, char *out, size_t outlen);

#endif
