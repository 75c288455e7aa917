/* Findings about identities and what they did, and the identity classification every event
 * carries. Everything here looks at events as they leave the correlator (correlator_deliver), so
 * it sees the final identity of a call (after gateway and IdP enrichment) and needs no hook in
 * the state machine, except sampling depth (findings_on_sampling_request), which is a property of
 * the requests in flight.
 *
 * Classification (identity.class, identity.class_evidence), from the strongest evidence present:
 *   agent   — an act chain (someone acts on the subject's behalf), an ID-JAG token, or a grant by
 *             token exchange / jwt-bearer
 *   service — a client-credentials token or grant, or a token whose subject is its client_id
 *   human   — a grant by authorization code, device code or password, or a browser user agent
 *             (seen by a gateway), with no act chain
 *   unknown — nothing above (an OS user seen by a stdio tap, an opaque token)
 *
 * Findings (type "finding", each with evidence event ids):
 *   token_no_expiry        a JWT without exp (once per token)
 *   destructive_first_use  a destructive tool (declared, or by the spec's default for a tool
 *                          without annotations) called by a non-human identity for the first time
 *   secret_in_arguments    redaction removed secrets from a call's arguments (rule names, never
 *                          values)
 *   scope_not_granted      a call succeeded although the token lacked a scope the configured
 *                          scope map requires for that tool
 *   scopes_unused          at the end: scopes granted to an identity that none of its calls
 *                          needed (only with a scope map)
 *   sampling_recursion     sampling-with-tools requests nested deeper than configured */
#include "collector/correlator_internal.h"
#include "collector/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEN_MAX 200000
#define IDENTITIES_MAX 10000
#define SCOPES_MAX 64

struct identity_scopes {
	json_t *identity; /* the first event's identity (a reference) */
	json_t *granted;  /* object: scope → true */
	json_t *used;	  /* object: scope → first event id */
	char first_event[33];
};

struct findings_state {
	struct hashmap *seen; /* "kind|key" → (void *)1: once-only findings */
	size_t seen_count;
	struct hashmap *tools;	/* server \x1f tool → annotations object */
	struct hashmap *scopes; /* identity key → struct identity_scopes */
	size_t scopes_count;
	uint64_t dropped; /* bookkeeping refused at the caps */
};

static struct findings_state *fstate(struct correlator *c)
{
	if (!c->findings) {
		struct findings_state *f = calloc(1, sizeof(*f));
		if (!f)
			return NULL;
		f->seen = hashmap_new();
		f->tools = hashmap_new();
		f->scopes = hashmap_new();
		if (!f->seen || !f->tools || !f->scopes) {
			hashmap_free(f->seen, NULL);
			hashmap_free(f->tools, NULL);
			hashmap_free(f->scopes, NULL);
			free(f);
			return NULL;
		}
		c->findings = f;
	}
	return c->findings;
}

/* true the first time key is seen (and remembered); false after, or when the set is full */
static bool first_time(struct correlator *c, const char *kind, const char *key)
{
	struct findings_state *f = fstate(c);
	if (!f)
		return false;
	char k[1024];
	int n = snprintf(k, sizeof(k), "%s|%s", kind, key);
	if (n < 0 || (size_t)n >= sizeof(k))
		n = (int)sizeof(k) - 1;
	if (hashmap_get(f->seen, k, (size_t)n))
		return false;
	if (f->seen_count >= SEEN_MAX) {
		f->dropped++;
		return false;
	}
	if (!hashmap_put(f->seen, k, (size_t)n, (void *)1))
		return false;
	f->seen_count++;
	return true;
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* ---- classification ---- */

static bool browser_agent(const char *ua)
{
	return ua && strncmp(ua, "Mozilla/", 8) == 0;
}

static void classify(json_t *identity, json_t *ev)
{
	json_t *evidence = json_array();
	const char *klass = "unknown";
	json_t *token = json_object_get(identity, "token");
	const char *token_class = str(token, "class");
	const char *grant_type = str(json_object_get(ev, "grant"), "grant_type");
	size_t actors = json_array_size(json_object_get(identity, "actors"));
	const char *sub = str(identity, "subject"), *client = str(identity, "client_id");
	const char *ua = str(json_object_get(ev, "gateway"), "user_agent");
	char buf[160];
	if (actors > 0) {
		klass = "agent";
		snprintf(buf, sizeof(buf), "act chain of %zu actor%s", actors,
			 actors > 1 ? "s" : "");
		json_array_append_new(evidence, json_string(buf));
	}
	if (token_class && strcmp(token_class, "id_jag") == 0) {
		klass = "agent";
		json_array_append_new(evidence, json_string("ID-JAG token (oauth-id-jag+jwt)"));
	}
	/* an ID-JAG is redeemed by jwt-bearer: the client acts for the user; a token exchange
	 * makes an agent only with an actor (without one it is impersonation: the subject stays
	 * whoever it was) */
	if (grant_type && strcmp(grant_type, "jwt_bearer") == 0) {
		klass = "agent";
		json_array_append_new(evidence, json_string("granted by jwt-bearer"));
	} else if (grant_type && strcmp(grant_type, "token_exchange") == 0) {
		json_array_append_new(evidence, json_string(actors ? "granted by token exchange"
								   : "token exchange without an "
								     "actor (impersonation)"));
	}
	if (strcmp(klass, "unknown") == 0) {
		if ((token_class && strcmp(token_class, "client_credentials") == 0) ||
		    (grant_type && strcmp(grant_type, "client_credentials") == 0)) {
			klass = "service";
			json_array_append_new(evidence, json_string("client credentials"));
		} else if (sub && client && strcmp(sub, client) == 0) {
			klass = "service";
			json_array_append_new(evidence, json_string("subject is the client_id"));
		} else if (grant_type && (strcmp(grant_type, "authorization_code") == 0 ||
					  strcmp(grant_type, "device_code") == 0 ||
					  strcmp(grant_type, "password") == 0)) {
			klass = "human";
			snprintf(buf, sizeof(buf), "interactive grant (%s)", grant_type);
			json_array_append_new(evidence, json_string(buf));
		} else if (browser_agent(ua)) {
			klass = "human";
			json_array_append_new(evidence, json_string("browser user agent"));
		}
	}
	if (json_array_size(evidence) == 0) {
		const char *source = str(identity, "source");
		snprintf(buf, sizeof(buf), "no evidence (identity from %s)",
			 source ? source : "nowhere");
		json_array_append_new(evidence, json_string(buf));
	}
	json_object_set_new(identity, "class", json_string(klass));
	json_object_set_new(identity, "class_evidence", evidence);
}

/* Every event's identity gets its class. Identities are shared between events (and with the
 * correlator's state): the class is derived from the identity itself, so setting it on the
 * shared object is idempotent; evidence that lives on the event (an IdP grant, a gateway's user
 * agent) makes the event's identity a copy of its own. */
static void classify_event(json_t *ev)
{
	json_t *identity = json_object_get(ev, "identity");
	if (!json_is_object(identity))
		return;
	bool own = json_object_get(ev, "grant") || json_object_get(ev, "gateway");
	if (own) {
		json_t *copy = json_deep_copy(identity);
		classify(copy, ev);
		json_object_set_new(ev, "identity", copy);
	} else if (!json_object_get(identity, "class")) {
		classify(identity, ev);
	}
	json_t *creator = json_object_get(json_object_get(ev, "finding"), "creator");
	if (json_is_object(creator) && !json_object_get(creator, "class"))
		classify(creator, ev);
}

/* ---- finding events ---- */

static void finding(struct correlator *c, json_t *about, const char *kind, const char *severity,
		    const char *summary, const char *seed, json_t *details_take)
{
	char s[1024];
	snprintf(s, sizeof(s), "finding|%s|%s", kind, seed);
	const char *t = str(about, "time");
	int64_t time_ns = c->now_ns;
	json_t *ev = event_envelope("finding", time_ns, s);
	if (t)
		json_object_set_new(ev, "time", json_string(t));
	json_t *f = details_take ? details_take : json_object();
	json_object_set_new(f, "kind", json_string(kind));
	json_object_set_new(f, "severity", json_string(severity));
	json_object_set_new(f, "summary", json_string(summary));
	json_t *evidence = json_object_get(f, "evidence");
	if (!evidence) {
		evidence = json_array();
		json_object_set_new(f, "evidence", evidence);
	}
	const char *id = str(about, "event_id");
	if (id && json_array_size(evidence) == 0)
		json_array_append_new(evidence, json_string(id));
	json_object_set_new(ev, "finding", f);
	json_t *session = json_object_get(about, "session");
	if (session)
		json_object_set(ev, "session", session);
	json_t *identity = json_object_get(about, "identity");
	if (identity)
		json_object_set(ev, "identity", identity);
	else
		event_add_identity(ev, NULL);
	json_object_set_new(ev, "redactions", json_integer(0));
	correlator_deliver(c, ev);
}

static bool non_human(json_t *identity)
{
	const char *k = str(identity, "class");
	return k && (strcmp(k, "service") == 0 || strcmp(k, "agent") == 0);
}

static void identity_name(json_t *identity, char *out, size_t n)
{
	const char *sub = str(identity, "subject");
	const char *fp = str(json_object_get(identity, "token"), "fingerprint");
	snprintf(out, n, "%s", sub ? sub : fp ? fp : "anonymous");
}

/* The server a call went to, for the tools it listed: its declared name, else its stream. */
static void server_key(json_t *ev, char *out, size_t n)
{
	json_t *session = json_object_get(ev, "session");
	const char *name = str(json_object_get(session, "server"), "name");
	const char *target = str(json_object_get(ev, "gateway"), "target");
	snprintf(out, n, "%s",
		 name			  ? name
		 : target		  ? target
		 : str(session, "stream") ? str(session, "stream")
					  : "-");
}

static void note_tools(struct correlator *c, json_t *ev)
{
	json_t *tools = json_object_get(ev, "tools");
	struct findings_state *f = fstate(c);
	if (!json_is_array(tools) || !f)
		return;
	char server[512];
	server_key(ev, server, sizeof(server));
	size_t i;
	json_t *t;
	json_array_foreach(tools, i, t)
	{
		const char *name = str(t, "name");
		if (!name)
			continue;
		char key[1024];
		int n = snprintf(key, sizeof(key), "%s\x1f%s", server, name);
		if (n < 0 || (size_t)n >= sizeof(key))
			continue;
		json_t *ann = json_object_get(t, "annotations");
		json_t *old = hashmap_get(f->tools, key, (size_t)n);
		if (old) {
			json_decref(old);
			hashmap_put(f->tools, key, (size_t)n, json_incref(ann ? ann : json_null()));
		} else if (hashmap_count(f->tools) < SEEN_MAX) {
			if (!hashmap_put(f->tools, key, (size_t)n,
					 json_incref(ann ? ann : json_null())))
				json_decref(ann ? ann : json_null());
		}
	}
}

static void check_token_expiry(struct correlator *c, json_t *ev)
{
	json_t *identity = json_object_get(ev, "identity");
	json_t *token = json_object_get(identity, "token");
	const char *fp = str(token, "fingerprint");
	if (!fp || !str(token, "kind") || strcmp(str(token, "kind"), "jwt") != 0 ||
	    json_object_get(token, "exp"))
		return;
	if (!first_time(c, "token_no_expiry", fp))
		return;
	char who[300], summary[512];
	identity_name(identity, who, sizeof(who));
	snprintf(summary, sizeof(summary),
		 "%s presented a JWT without an expiry (exp): a static credential", who);
	finding(c, ev, "token_no_expiry", "medium", summary, fp,
		json_pack("{s:s}", "token_fingerprint", fp));
}

static void check_destructive(struct correlator *c, json_t *ev, json_t *call)
{
	json_t *identity = json_object_get(ev, "identity");
	const char *tool = str(call, "tool");
	struct findings_state *f = fstate(c);
	if (!tool || !f || !non_human(identity))
		return;
	char server[512], key[1024];
	server_key(ev, server, sizeof(server));
	int n = snprintf(key, sizeof(key), "%s\x1f%s", server, tool);
	if (n < 0 || (size_t)n >= sizeof(key))
		return;
	json_t *ann = hashmap_get(f->tools, key, (size_t)n);
	if (!ann)
		return; /* never listed: nothing known about it */
	json_t *ro = json_object_get(ann, "readOnlyHint");
	json_t *de = json_object_get(ann, "destructiveHint");
	bool declared = json_is_true(de);
	bool by_default = !json_is_true(ro) && !json_is_boolean(de);
	if (!declared && !by_default)
		return;
	char ikey[512], seen[1600];
	identity_key(identity, ikey, sizeof(ikey));
	snprintf(seen, sizeof(seen), "%s\x1f%s", ikey, key);
	if (!first_time(c, "destructive_first_use", seen))
		return;
	char who[300], summary[1024];
	identity_name(identity, who, sizeof(who));
	snprintf(summary, sizeof(summary),
		 "%s (%s) called the destructive tool %s on %s for the first time%s", who,
		 str(identity, "class"), tool, server,
		 declared ? "" : " (no annotations: destructive by the spec's default)");
	finding(c, ev, "destructive_first_use", declared ? "medium" : "low", summary, seen,
		json_pack("{s:s, s:s, s:s}", "tool", tool, "server", server, "annotation",
			  declared ? "declared" : "default"));
}

/* Rule names of the "[REDACTED:<rule>]" markers in a redacted arguments copy. */
static void collect_rules(json_t *v, json_t *names, int depth)
{
	if (depth > 64 || json_array_size(names) >= 32)
		return;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		for (const char *p = strstr(s, "[REDACTED:"); p; p = strstr(p + 1, "[REDACTED:")) {
			const char *end = strchr(p + 10, ']');
			if (!end || end - p > 80)
				break;
			json_t *name = json_stringn(p + 10, (size_t)(end - (p + 10)));
			size_t i;
			json_t *e;
			bool dup = false;
			json_array_foreach(names, i, e) dup = dup || json_equal(e, name);
			if (dup)
				json_decref(name);
			else
				json_array_append_new(names, name);
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) collect_rules(e, names, depth + 1);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) collect_rules(e, names, depth + 1);
	}
}

static void check_secrets(struct correlator *c, json_t *ev, json_t *call)
{
	json_t *args = json_object_get(call, "arguments");
	json_int_t n = json_integer_value(json_object_get(args, "redactions"));
	if (n <= 0)
		return;
	json_t *rules = json_array();
	collect_rules(json_object_get(args, "redacted"), rules, 0);
	char who[300], summary[600];
	identity_name(json_object_get(ev, "identity"), who, sizeof(who));
	snprintf(summary, sizeof(summary),
		 "%lld secret%s in the arguments of %s called by %s (redacted before any sink)",
		 (long long)n, n > 1 ? "s" : "", str(call, "tool") ? str(call, "tool") : "a tool",
		 who);
	finding(c, ev, "secret_in_arguments", "high", summary, str(ev, "event_id"),
		json_pack("{s:s?, s:I, s:o}", "tool", str(call, "tool"), "secrets", n, "rules",
			  rules));
}

/* The scopes the configured scope map requires for a call: "server/tool", then "tool". */
static json_t *required_scopes(struct correlator *c, json_t *ev, const char *tool)
{
	json_t *map = c->cfg.scope_map;
	if (!json_is_object(map) || !tool)
		return NULL;
	char server[512], key[1024];
	server_key(ev, server, sizeof(server));
	snprintf(key, sizeof(key), "%s/%s", server, tool);
	json_t *r = json_object_get(map, key);
	return json_is_array(r)				   ? r
	       : json_is_array(json_object_get(map, tool)) ? json_object_get(map, tool)
							   : NULL;
}

static bool has_scope(json_t *identity, const char *scope)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(identity, "scopes"), i,
			   s) if (json_string_value(s) &&
				  strcmp(json_string_value(s), scope) == 0) return true;
	return false;
}

static void track_scopes(struct correlator *c, json_t *ev, json_t *required)
{
	struct findings_state *f = fstate(c);
	json_t *identity = json_object_get(ev, "identity");
	if (!f || !json_is_object(c->cfg.scope_map))
		return;
	char key[512];
	identity_key(identity, key, sizeof(key));
	if (!*key)
		return;
	struct identity_scopes *is = hashmap_get(f->scopes, key, strlen(key));
	if (!is) {
		if (f->scopes_count >= IDENTITIES_MAX) {
			f->dropped++;
			return;
		}
		is = calloc(1, sizeof(*is));
		if (!is)
			return;
		is->identity = json_incref(identity);
		is->granted = json_object();
		is->used = json_object();
		snprintf(is->first_event, sizeof(is->first_event), "%s",
			 str(ev, "event_id") ? str(ev, "event_id") : "");
		if (!hashmap_put(f->scopes, key, strlen(key), is)) {
			json_decref(is->identity);
			json_decref(is->granted);
			json_decref(is->used);
			free(is);
			return;
		}
		f->scopes_count++;
	}
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(identity, "scopes"), i,
			   s) if (json_is_string(s) && json_object_size(is->granted) < SCOPES_MAX)
		json_object_set(is->granted, json_string_value(s), json_true());
	json_array_foreach(required, i, s) if (json_is_string(s) &&
					       !json_object_get(is->used, json_string_value(s)) &&
					       json_object_size(is->used) < SCOPES_MAX)
		json_object_set_new(is->used, json_string_value(s),
				    json_string(str(ev, "event_id")));
}

static void check_scopes(struct correlator *c, json_t *ev, json_t *call)
{
	const char *tool = str(call, "tool");
	json_t *required = required_scopes(c, ev, tool);
	const char *outcome = str(call, "outcome");
	bool answered =
		outcome && (strcmp(outcome, "ok") == 0 || strcmp(outcome, "tool_error") == 0);
	if (answered)
		track_scopes(c, ev, required);
	if (!required || !answered)
		return;
	json_t *identity = json_object_get(ev, "identity");
	json_t *missing = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(required, i,
			   s) if (json_is_string(s) && !has_scope(identity, json_string_value(s)))
		json_array_append(missing, s);
	if (json_array_size(missing) == 0) {
		json_decref(missing);
		return;
	}
	char who[300], summary[600];
	identity_name(identity, who, sizeof(who));
	snprintf(summary, sizeof(summary),
		 "%s called %s successfully without the scope%s the scope map requires", who, tool,
		 json_array_size(missing) > 1 ? "s" : "");
	finding(c, ev, "scope_not_granted", "high", summary, str(ev, "event_id"),
		json_pack("{s:s, s:o, s:O}", "tool", tool, "missing_scopes", missing,
			  "granted_scopes", json_object_get(identity, "scopes")));
}

void findings_on_sampling_request(struct correlator *c, struct stream *s, struct call *call)
{
	json_t *tools = json_object_get(call->params_summary, "tools");
	if (json_array_size(tools) == 0)
		return;
	unsigned depth = 1;
	for (struct call *p = c->oldest; p; p = p->newer)
		if (p != call && p->stream == s &&
		    strcmp(p->method, "sampling/createMessage") == 0 &&
		    json_array_size(json_object_get(p->params_summary, "tools")) > 0)
			depth++;
	json_object_set_new(call->params_summary, "depth", json_integer(depth));
	if (depth <= c->cfg.max_sampling_depth)
		return;
	char seed[512];
	snprintf(seed, sizeof(seed), "%s|%llu", s->id, (unsigned long long)call->seq);
	json_t *about = json_object();
	char id[33];
	request_event_id(call, id);
	json_object_set_new(about, "event_id", json_string(id));
	json_object_set_new(about, "time", event_time(call->start_ns));
	event_add_session(about, s);
	event_add_identity(about, call->identity);
	char summary[300];
	snprintf(summary, sizeof(summary),
		 "sampling with tools nested %u deep on one session (configured limit %u)", depth,
		 c->cfg.max_sampling_depth);
	finding(c, about, "sampling_recursion", "high", summary, seed,
		json_pack("{s:I, s:I, s:s}", "depth", (json_int_t)depth, "limit",
			  (json_int_t)c->cfg.max_sampling_depth, "rpc_id", call->rpc_id));
	json_decref(about);
}

void correlator_deliver(struct correlator *c, json_t *ev)
{
	classify_event(ev);
	const char *type = str(ev, "type");
	c->stats.events++;
	json_incref(ev);
	c->emit(c->emit_ctx, ev);
	/* findings about it go out after it */
	if (type && strcmp(type, "mcp.request") == 0)
		note_tools(c, ev);
	if (type && strcmp(type, "mcp.tool_call") == 0) {
		json_t *call = json_object_get(ev, "call");
		check_token_expiry(c, ev);
		check_destructive(c, ev, call);
		check_secrets(c, ev, call);
		check_scopes(c, ev, call);
	}
	json_decref(ev);
}

static void unused_scope(void *ctx, const char *key, void *value)
{
	struct correlator *c = ctx;
	struct identity_scopes *is = value;
	(void)key;
	json_t *unused = json_array();
	const char *scope;
	json_t *v;
	json_object_foreach(is->granted, scope, v) if (!json_object_get(is->used, scope))
		json_array_append_new(unused, json_string(scope));
	if (json_array_size(unused) == 0) {
		json_decref(unused);
		return;
	}
	json_t *about = json_object();
	json_object_set_new(about, "event_id", json_string(is->first_event));
	json_object_set(about, "identity", is->identity);
	char who[300], summary[600];
	identity_name(is->identity, who, sizeof(who));
	snprintf(summary, sizeof(summary), "%s holds %zu scope%s none of its calls needed", who,
		 json_array_size(unused), json_array_size(unused) > 1 ? "s" : "");
	char seed[600];
	snprintf(seed, sizeof(seed), "%s", key);
	json_t *used = json_array();
	json_object_foreach(is->used, scope, v) json_array_append_new(used, json_string(scope));
	finding(c, about, "scopes_unused", "low", summary, seed,
		json_pack("{s:o, s:o}", "unused_scopes", unused, "used_scopes", used));
	json_decref(about);
}

static void scopes_free(void *p)
{
	struct identity_scopes *is = p;
	json_decref(is->identity);
	json_decref(is->granted);
	json_decref(is->used);
	free(is);
}

void findings_finish(struct correlator *c)
{
	struct findings_state *f = c->findings;
	if (!f)
		return;
	hashmap_each(f->scopes, unused_scope, c);
	hashmap_free(f->scopes, scopes_free);
	f->scopes = hashmap_new();
	f->scopes_count = 0;
}

static void decref(void *p)
{
	json_decref(p);
}

void findings_free(struct correlator *c)
{
	struct findings_state *f = c->findings;
	if (!f)
		return;
	hashmap_free(f->seen, NULL);
	hashmap_free(f->tools, decref);
	hashmap_free(f->scopes, scopes_free);
	free(f);
	c->findings = NULL;
}
