/* The correlator's side of gateway and identity-provider logs: one trail, not two.
 *
 * A gateway log line (OBS_GATEWAY) and a tap can both see the same request. The line is held
 * until the tap's event for that request turns up (matched by trace id, by session and JSON-RPC
 * id, or by session / identity within a time window); the tap's event is then enriched with what
 * the gateway said (`gateway`, `sources`) and only one event goes out. A line that contradicts
 * the tap (another outcome, another identity) is a `gateway_contradiction` finding. A line no tap
 * explains becomes an event of its own.
 *
 * When to give up waiting: `mcptrail import` reads logs before captures, so a held line waits
 * until the end of the input (hold_gateway_until_finish). A daemon gets lines and tap traffic
 * side by side: lines wait until the taps' clock is past them by merge_window, tap events wait
 * (only while some gateway input is alive) until the gateways' clock is past them. Both wait at
 * most max_hold of their own clock, and at most max_held of each are kept.
 *
 * Identity-provider grants (OBS_GRANT) become `identity.grant` events and are remembered by the
 * issued token's jti, so a call whose token is only known by its jti gets the grant's subject,
 * client and scopes. */
#include "collector/correlator_internal.h"
#include "collector/event.h"
#include "parsers/log_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct held {
	struct held *prev, *next;
	json_t *ev;	  /* tap: the finalized event; gateway: NULL until emitted */
	json_t *gateway;  /* gateway: what the line said (the enrichment) */
	json_t *identity; /* gateway: who the line says it was */
	char *method, *tool, *session, *upstream_session, *rpc_id, *trace_id, *subject;
	const char *outcome_class;
	int64_t start_ns, end_ns;
	int64_t held_wall_ns; /* the daemon's wall clock when it began to wait (0: none) */
	char *seed;	      /* gateway: event id seed (source and line) */
};

struct held_list {
	struct held *oldest, *newest;
	size_t n;
};

struct gateway_state {
	struct held_list gw, tap;
	struct hashmap *grants; /* jti → grant summary (json) */
	char **grant_ring;	/* insertion order, for the bound */
	size_t grant_next;
	int64_t gw_clock, tap_clock;
	int64_t wall_ns; /* correlator_tick (a daemon), 0 in an import */
	bool gw_seen, tap_seen;
	/* several observations from one line (an OTLP request of many records): the line's
	 * observation count keeps their event ids apart */
	uint64_t last_source, last_line, same_line;
};

#define GRANTS_MAX 65536

static void list_unlink(struct held_list *l, struct held *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		l->oldest = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		l->newest = h->prev;
	h->prev = h->next = NULL;
	l->n--;
}

static void list_push(struct held_list *l, struct held *h, int64_t wall_ns)
{
	h->held_wall_ns = wall_ns;
	h->prev = l->newest;
	h->next = NULL;
	if (l->newest)
		l->newest->next = h;
	else
		l->oldest = h;
	l->newest = h;
	l->n++;
}

static void held_free(struct held *h)
{
	if (!h)
		return;
	json_decref(h->ev);
	json_decref(h->gateway);
	json_decref(h->identity);
	free(h->method);
	free(h->tool);
	free(h->session);
	free(h->upstream_session);
	free(h->rpc_id);
	free(h->trace_id);
	free(h->subject);
	free(h->seed);
	free(h);
}

static struct gateway_state *state(struct correlator *c)
{
	if (!c->gateway) {
		c->gateway = calloc(1, sizeof(*c->gateway));
		if (c->gateway) {
			c->gateway->grants = hashmap_new();
			c->gateway->grant_ring = calloc(GRANTS_MAX, sizeof(char *));
			if (!c->gateway->grants || !c->gateway->grant_ring) {
				hashmap_free(c->gateway->grants, NULL);
				free(c->gateway->grant_ring);
				free(c->gateway);
				c->gateway = NULL;
			}
		}
	}
	return c->gateway;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* ok and tool_error: the server answered; denied; everything else failed */
static const char *outcome_class(const char *outcome)
{
	if (!outcome)
		return NULL;
	if (strcmp(outcome, "ok") == 0 || strcmp(outcome, "tool_error") == 0)
		return "answered";
	if (strcmp(outcome, "denied") == 0)
		return "denied";
	return "failed";
}

/* The trace id of a W3C traceparent "00-<32 hex>-<16 hex>-01". */
static char *trace_of(const char *traceparent)
{
	if (!traceparent || strlen(traceparent) < 35 || traceparent[2] != '-')
		return NULL;
	return strndup(traceparent + 3, 32);
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The MCP session id a tap stream carries: HTTP streams are "<tap>/<Mcp-Session-Id>". */
static bool session_matches(const char *tap_session, const char *sid)
{
	if (!tap_session || !sid)
		return false;
	size_t a = strlen(tap_session), b = strlen(sid);
	if (a == b)
		return strcmp(tap_session, sid) == 0;
	return a > b && tap_session[a - b - 1] == '/' && strcmp(tap_session + a - b, sid) == 0;
}

static bool actor_of(json_t *identity, const char *subject)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(identity, "actors"), i,
			   a) if (eq(json_string_value(a), subject)) return true;
	return false;
}

/* How well a held gateway line g explains tap event t: < 0 not at all. */
static int match_score(const struct correlator *c, const struct held *g, const struct held *t,
		       json_t *tap_identity)
{
	if (!eq(g->method, t->method))
		return -1;
	if (g->tool && t->tool && strcmp(g->tool, t->tool) != 0)
		return -1;
	if (g->trace_id && t->trace_id)
		return strcmp(g->trace_id, t->trace_id) == 0 ? 100 : -1;
	int64_t w = c->cfg.merge_window_ns;
	bool in_window = t->start_ns >= g->start_ns - w && t->start_ns <= g->end_ns + w;
	if (!in_window)
		return -1;
	bool same_session = session_matches(t->session, g->session) ||
			    session_matches(t->session, g->upstream_session);
	if (same_session && g->rpc_id && t->rpc_id)
		return strcmp(g->rpc_id, t->rpc_id) == 0 ? 90 : -1;
	if (same_session)
		return 70;
	/* an HTTP tap knows the MCP session ("<tap>/<Mcp-Session-Id>"): a line of another session
	 * is another call (a gateway that encrypts its session ids needs trace ids to be joined) */
	if (g->session && t->session && strchr(t->session, '/'))
		return -1;
	/* time window only: the identities must agree */
	if (g->subject && t->subject && strcmp(g->subject, t->subject) != 0 &&
	    !actor_of(tap_identity, g->subject))
		return -1;
	return 50;
}

static int64_t distance(const struct held *g, const struct held *t)
{
	int64_t d = t->start_ns - g->start_ns;
	return d < 0 ? -d : d;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The grant the issued token's jti names, or NULL. */
static json_t *grant_for(struct correlator *c, json_t *identity)
{
	struct gateway_state *gs = c->gateway;
	const char *jti =
		json_string_value(json_object_get(json_object_get(identity, "token"), "jti"));
	if (!gs || !jti)
		return NULL;
	return hashmap_get(gs->grants, jti, strlen(jti));
}

/* Fills what the identity does not know from another view of the same caller (a gateway line,
 * a grant). Returns a new reference. */
static json_t *identity_filled(json_t *identity, json_t *other)
{
	json_t *id = json_deep_copy(identity);
	const char *keys[] = {"subject", "issuer", "client_id"};
	for (size_t i = 0; i < 3; i++) {
		json_t *mine = json_object_get(id, keys[i]);
		json_t *theirs = json_object_get(other, keys[i]);
		if ((!mine || json_is_null(mine)) && json_is_string(theirs))
			json_object_set(id, keys[i], theirs);
	}
	const char *arrays[] = {"scopes", "actors"};
	for (size_t i = 0; i < 2; i++) {
		json_t *mine = json_object_get(id, arrays[i]);
		json_t *theirs = json_object_get(other, arrays[i]);
		if (json_array_size(mine) == 0 && json_array_size(theirs) > 0)
			json_object_set_new(id, arrays[i], json_deep_copy(theirs));
	}
	return id;
}

/* A call whose token the IdP log explains: identity gaps filled, `grant` names the event. */
static void apply_grant(struct correlator *c, json_t *ev)
{
	json_t *identity = json_object_get(ev, "identity");
	json_t *g = grant_for(c, identity);
	if (!g)
		return;
	json_object_set_new(ev, "identity",
			    identity_filled(identity, json_object_get(g, "identity")));
	json_object_set(ev, "grant", json_object_get(g, "grant"));
}

static void deliver(struct correlator *c, json_t *ev)
{
	correlator_deliver(c, ev);
}

static void add_source(json_t *ev, const char *source)
{
	json_t *s = json_object_get(ev, "sources");
	if (!json_is_array(s)) {
		s = json_array();
		json_object_set_new(ev, "sources", s);
	}
	size_t i;
	json_t *v;
	json_array_foreach(s, i, v) if (eq(json_string_value(v), source)) return;
	json_array_append_new(s, json_string(source));
}

static void contradiction(struct correlator *c, json_t *tap_ev, const struct held *g,
			  const char *field, const char *tap_value, const char *gw_value,
			  const char *severity)
{
	const char *tap_id = json_string_value(json_object_get(tap_ev, "event_id"));
	char seed[512];
	snprintf(seed, sizeof(seed), "contradiction|%s|%s|%s", tap_id ? tap_id : "", g->seed,
		 field);
	int64_t t = g->end_ns;
	json_t *ev = event_envelope("finding", t, seed);
	const char *format = json_string_value(json_object_get(g->gateway, "format"));
	char summary[512];
	snprintf(summary, sizeof(summary),
		 "%s log says %s \"%s\" where the tap saw \"%s\" for the same %s call", format,
		 field, gw_value ? gw_value : "(none)", tap_value ? tap_value : "(none)",
		 g->tool ? g->tool : g->method);
	json_t *f = json_object();
	json_object_set_new(f, "kind", json_string("gateway_contradiction"));
	json_object_set_new(f, "severity", json_string(severity));
	json_object_set_new(f, "summary", json_string(summary));
	json_object_set_new(f, "field", json_string(field));
	json_object_set_new(f, "tap_value", str_or_null(tap_value));
	json_object_set_new(f, "gateway_value", str_or_null(gw_value));
	json_t *gw = json_deep_copy(g->gateway);
	json_object_del(gw, "redactions");
	json_object_set_new(f, "gateway", gw);
	json_t *evidence = json_array();
	if (tap_id)
		json_array_append_new(evidence, json_string(tap_id));
	json_object_set_new(f, "evidence", evidence);
	json_object_set_new(ev, "finding", f);
	json_t *session = json_object_get(tap_ev, "session");
	if (session)
		json_object_set(ev, "session", session);
	json_object_set(ev, "identity", json_object_get(tap_ev, "identity"));
	json_object_set_new(ev, "redactions", json_integer(0));
	deliver(c, ev);
}

/* One event: the tap's, with what the gateway line said. */
static void merge(struct correlator *c, json_t *tap_ev, const struct held *t, const struct held *g)
{
	json_t *gw = json_deep_copy(g->gateway);
	json_object_set(gw, "identity", g->identity);
	json_int_t removed = json_integer_value(json_object_get(gw, "redactions"));
	json_object_del(gw, "redactions");
	json_object_set_new(
		tap_ev, "redactions",
		json_integer(json_integer_value(json_object_get(tap_ev, "redactions")) + removed));
	if (!json_object_get(tap_ev, "sources"))
		add_source(tap_ev, "tap");
	add_source(tap_ev, json_string_value(json_object_get(g->gateway, "format")));
	if (!json_object_get(tap_ev, "gateway"))
		json_object_set(tap_ev, "gateway", gw);
	json_decref(gw);

	json_t *tap_identity = json_object_get(tap_ev, "identity");
	bool tap_token = json_object_get(tap_identity, "token") != NULL;
	/* only an identity the tap read from a token is compared: a stdio tap knows the OS user
	 * that ran the server, not the caller */
	if (tap_token && t->subject && g->subject && strcmp(t->subject, g->subject) != 0 &&
	    !actor_of(tap_identity, g->subject) && !actor_of(g->identity, t->subject))
		contradiction(c, tap_ev, g, "identity", t->subject, g->subject, "high");
	if (!t->subject || !tap_token)
		json_object_set_new(tap_ev, "identity", identity_filled(tap_identity, g->identity));

	const char *gw_outcome = json_string_value(json_object_get(g->gateway, "outcome"));
	const char *tap_outcome = json_string_value(json_object_get(
		json_object_get(tap_ev, "call") ? json_object_get(tap_ev, "call")
						: json_object_get(tap_ev, "request"),
		"outcome"));
	if (t->outcome_class && g->outcome_class && strcmp(t->outcome_class, g->outcome_class) != 0)
		contradiction(c, tap_ev, g, "outcome", tap_outcome, gw_outcome,
			      strcmp(g->outcome_class, "answered") == 0 ? "medium" : "low");
	c->stats.gateway_merged++;
}

static struct held *best_match(struct correlator *c, struct held_list *l, const struct held *g,
			       const struct held *t, json_t *tap_identity)
{
	struct held *best = NULL;
	int best_score = -1;
	int64_t best_d = 0;
	for (struct held *h = l->oldest; h; h = h->next) {
		const struct held *gg = g ? g : h, *tt = t ? t : h;
		json_t *ti = t ? tap_identity : json_object_get(h->ev, "identity");
		int s = match_score(c, gg, tt, ti);
		if (s < 0)
			continue;
		int64_t d = distance(gg, tt);
		if (s > best_score || (s == best_score && d < best_d)) {
			best = h;
			best_score = s;
			best_d = d;
		}
	}
	return best;
}

/* ---- gateway lines that no tap explains ---- */

static json_t *standalone_session(const struct held *g)
{
	const char *format = json_string_value(json_object_get(g->gateway, "format"));
	const char *transport = json_string_value(json_object_get(g->gateway, "transport"));
	char stream[512];
	snprintf(stream, sizeof(stream), "gw:%s:%s", format,
		 g->session	       ? g->session
		 : g->upstream_session ? g->upstream_session
				       : "-");
	json_t *s = json_object();
	json_object_set_new(s, "id", json_string(g->session ? g->session : stream));
	json_object_set_new(s, "transport",
			    json_string(eq(transport, "stdio")		      ? "stdio"
					: eq(transport, "http") || !transport ? "http"
									      : "unknown"));
	json_object_set(s, "protocol_version",
			json_object_get(g->gateway, "protocol_version")
				? json_object_get(g->gateway, "protocol_version")
				: json_null());
	json_object_set_new(s, "stream", json_string(stream));
	return s;
}

static void emit_standalone(struct correlator *c, struct held *g)
{
	bool tool_call = eq(g->method, "tools/call");
	/* the schema keeps these methods out of mcp.request (they have event types of their own,
	 * which a log line alone cannot fill): such a line only says something beside a tap */
	static const char *const not_requests[] = {"initialize", "ping", "sampling/createMessage",
						   "elicitation/create", "roots/list"};
	for (size_t i = 0; i < sizeof(not_requests) / sizeof(not_requests[0]); i++)
		if (eq(g->method, not_requests[i]))
			return;
	json_t *ev =
		event_envelope(tool_call ? "mcp.tool_call" : "mcp.request", g->start_ns, g->seed);
	const char *outcome = json_string_value(json_object_get(g->gateway, "outcome"));
	json_t *err = json_object_get(g->gateway, "error");
	bool has_code = json_is_integer(json_object_get(err, "code"));
	/* in the schema's words: a JSON-RPC error needs its code; a failure the log reports
	 * without one (an upstream error, a timeout) left the client without a JSON-RPC answer:
	 * no_response. The log's own outcome and text stay in `gateway`. */
	const char *o = !outcome					   ? "ok"
			: eq(outcome, "rpc_error") && has_code		   ? "rpc_error"
			: eq(outcome, "rpc_error") || eq(outcome, "error") ? "no_response"
									   : outcome;
	json_t *dur = json_object_get(g->gateway, "duration_ms");
	json_t *r = json_object();
	if (tool_call) {
		json_object_set_new(r, "tool", str_or_null(g->tool));
	} else {
		json_object_set_new(r, "method", json_string(g->method));
		json_object_set_new(r, "direction", json_string("client_to_server"));
		if (!eq(o, "ok") && !eq(o, "rpc_error") && !eq(o, "cancelled"))
			o = "no_response"; /* denied, tool_error: no JSON-RPC answer to count */
		const char *target =
			g->tool ? g->tool
				: json_string_value(json_object_get(g->gateway, "resource_uri"));
		if (target)
			json_object_set_new(r, "target", json_string(target));
	}
	json_object_set_new(r, "rpc_id", json_string(g->rpc_id ? g->rpc_id : ""));
	if (tool_call)
		json_object_set_new(r, "rpc_id_type", json_string("unknown"));
	json_object_set_new(r, "outcome", json_string(o));
	json_object_set_new(
		r, "attempts",
		json_integer(1 + json_integer_value(json_object_get(g->gateway, "retry_attempt"))));
	/* no duration in the log: the call is placed at one instant (ended_at = started_at), and
	 * the schema wants a number unless the outcome is no_response */
	json_t *zero = json_real(0);
	json_object_set(r, "latency_ms", eq(o, "no_response") ? json_null() : dur ? dur : zero);
	json_object_set_new(r, "started_at", event_time(g->start_ns));
	json_object_set_new(r, "request_seq", json_integer(0));
	if (tool_call) {
		json_object_set(r, "waited_ms", dur ? dur : zero);
		json_object_set_new(r, "ended_at", event_time(g->end_ns));
		json_object_set_new(r, "progress_notifications", json_integer(0));
		json_object_set_new(r, "task_augmented",
				    json_boolean(json_object_get(g->gateway, "task_id") != NULL));
		json_object_set_new(r, "arguments", json_null());
	}
	if (eq(o, "rpc_error"))
		json_object_set(r, "error", err);
	if (g->trace_id && tool_call) {
		char tp[64];
		snprintf(tp, sizeof(tp), "00-%s-%s-01", g->trace_id, "0000000000000000");
		json_object_set_new(r, "traceparent", json_string(tp));
	}
	json_decref(zero);
	json_object_set_new(ev, tool_call ? "call" : "request", r);
	json_object_set_new(ev, "session", standalone_session(g));
	json_object_set(ev, "identity", g->identity);
	json_object_set_new(ev, "sources", json_array());
	add_source(ev, json_string_value(json_object_get(g->gateway, "format")));
	json_object_set(ev, "gateway", g->gateway);
	json_object_set_new(
		ev, "redactions",
		json_integer(json_integer_value(json_object_get(g->gateway, "redactions"))));
	json_object_del(json_object_get(ev, "gateway"), "redactions");
	apply_grant(c, ev);
	if (tool_call)
		c->stats.tool_calls++;
	c->stats.gateway_only++;
	deliver(c, ev);
}

/* ---- the holding rules ---- */

/* In a daemon a quiet input must not keep what waits for it: max_hold of wall-clock time too. */
static bool waited_too_long(const struct gateway_state *gs, const struct held *h, int64_t max_wait)
{
	return gs->wall_ns && h->held_wall_ns && gs->wall_ns - h->held_wall_ns > max_wait;
}

static void release(struct correlator *c, bool all)
{
	struct gateway_state *gs = c->gateway;
	if (!gs)
		return;
	int64_t w = c->cfg.merge_window_ns, max_hold = c->cfg.max_hold_ns;
	while (gs->tap.oldest) {
		struct held *t = gs->tap.oldest;
		bool go = all || gs->tap.n > c->cfg.max_held || gs->gw_clock > t->start_ns + w ||
			  gs->tap_clock > t->end_ns + max_hold ||
			  waited_too_long(gs, t, c->cfg.max_wait_ns);
		if (!go)
			break;
		list_unlink(&gs->tap, t);
		json_t *ev = t->ev;
		t->ev = NULL;
		deliver(c, ev);
		held_free(t);
	}
	while (gs->gw.oldest) {
		struct held *g = gs->gw.oldest;
		bool go = all || gs->gw.n > c->cfg.max_held ||
			  waited_too_long(gs, g, c->cfg.max_wait_ns);
		if (!go && !c->cfg.hold_gateway_until_finish)
			/* before any tap has spoken (a daemon starting) a line waits max_hold:
			 * the taps may just be late */
			go = (gs->tap_seen && gs->tap_clock > g->end_ns + w) ||
			     gs->gw_clock > g->end_ns + max_hold;
		if (!go)
			break;
		list_unlink(&gs->gw, g);
		emit_standalone(c, g);
		held_free(g);
	}
}

bool gateway_offer_tap_event(struct correlator *c, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	bool tool_call = eq(type, "mcp.tool_call");
	if (!tool_call && !eq(type, "mcp.request"))
		return false;
	json_t *body = json_object_get(ev, tool_call ? "call" : "request");
	struct gateway_state *gs = c->gateway;
	if (tool_call || gs)
		apply_grant(c, ev);
	if (!gs || (!gs->gw_seen))
		return false;
	struct held *t = calloc(1, sizeof(*t));
	if (!t)
		return false;
	json_t *session = json_object_get(ev, "session");
	json_t *identity = json_object_get(ev, "identity");
	t->method = strdup(tool_call ? "tools/call"
				     : json_string_value(json_object_get(body, "method")));
	t->tool = dup_or_null(
		json_string_value(json_object_get(body, tool_call ? "tool" : "target")));
	t->session = dup_or_null(json_string_value(json_object_get(session, "stream")));
	t->rpc_id = dup_or_null(json_string_value(json_object_get(body, "rpc_id")));
	t->trace_id = trace_of(json_string_value(json_object_get(body, "traceparent")));
	t->subject = dup_or_null(json_string_value(json_object_get(identity, "subject")));
	t->outcome_class = outcome_class(json_string_value(json_object_get(body, "outcome")));
	if (!log_parse_time(json_string_value(json_object_get(body, "started_at")), &t->start_ns))
		t->start_ns = c->now_ns;
	if (!log_parse_time(json_string_value(json_object_get(body, "ended_at")), &t->end_ns))
		t->end_ns = t->start_ns;
	if (!t->method) {
		held_free(t);
		return false;
	}
	struct held *g = best_match(c, &gs->gw, NULL, t, identity);
	if (g) {
		list_unlink(&gs->gw, g);
		merge(c, ev, t, g);
		held_free(g);
		held_free(t);
		return false; /* the caller delivers the enriched event */
	}
	if (c->cfg.hold_gateway_until_finish) {
		held_free(t); /* every log line is in already: nothing more will come */
		return false;
	}
	t->ev = ev;
	list_push(&gs->tap, t, gs->wall_ns);
	release(c, false);
	return true;
}

static json_t *gateway_object(struct correlator *c, const struct obs *o)
{
	const struct obs_gateway *g = o->gateway;
	json_t *gw = json_object();
	json_object_set_new(gw, "format", json_string(g->format ? g->format : "unknown"));
	struct {
		const char *key, *value;
	} strs[] = {
		{"method", g->method},
		{"target", g->target},
		{"resource_type", g->resource_type},
		{"resource_uri", g->resource_uri},
		{"session_id", g->session_id},
		{"upstream_session_id", g->upstream_session_id},
		{"rpc_id", g->rpc_id},
		{"trace_id", g->trace_id},
		{"span_id", g->span_id},
		{"task_id", g->task_id},
		{"request_id", g->request_id},
		{"outcome", g->outcome},
		{"outcome_raw", g->outcome_raw},
		{"decision", g->decision},
		{"reason", g->reason},
		{"src_addr", g->src_addr},
		{"user_agent", g->user_agent},
		{"client_name", g->client_name},
		{"client_version", g->client_version},
		{"transport", g->transport},
		{"protocol_version", g->protocol_version},
		{"event_kind", g->event_kind},
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *v = strs[i].value ? json_string(strs[i].value) : NULL;
		if (v)
			json_object_set_new(gw, strs[i].key, v);
	}
	if (g->tool)
		json_object_set_new(gw, "tool", json_string(g->tool));
	if (g->http_status)
		json_object_set_new(gw, "http_status", json_integer(g->http_status));
	if (g->has_duration)
		json_object_set_new(gw, "duration_ms", json_real(g->duration_ms));
	if (g->retry_attempt)
		json_object_set_new(gw, "retry_attempt", json_integer(g->retry_attempt));
	if (g->has_error_code || g->error_message) {
		json_t *e = json_object();
		json_object_set_new(e, "code",
				    g->has_error_code ? json_integer((json_int_t)g->error_code)
						      : json_null());
		if (g->error_message)
			json_object_set_new(
				e, "message",
				json_stringn(g->error_message, strlen(g->error_message) > 512
								       ? 512
								       : strlen(g->error_message)));
		json_object_set_new(gw, "error", e);
	}
	json_t *src = json_object();
	json_object_set_new(src, "name", json_string(o->source_name ? o->source_name : "-"));
	json_object_set_new(src, "line", json_integer((json_int_t)o->source_line));
	json_object_set_new(gw, "line", src);
	/* free text a gateway copied from outside */
	static const char *const free_text[] = {"reason", "user_agent", "resource_uri", NULL};
	unsigned n = redact_members(c, gw, free_text);
	n += redact_member(c, json_object_get(gw, "error"), "message");
	json_object_set_new(gw, "redactions", json_integer(n));
	return gw;
}

/* Methods that have no mcp.request event of their own: the session lifecycle, pings,
 * notifications and the server's requests to the client (mcp.session, mcp.sampling, ... events
 * come from taps only). A gateway line about them is counted, not turned into an event. */
static bool method_without_event(const char *m)
{
	static const char *const skip[] = {
		"initialize",	      "ping",	    "sampling/createMessage",
		"elicitation/create", "roots/list", NULL};
	for (size_t i = 0; skip[i]; i++)
		if (strcmp(m, skip[i]) == 0)
			return true;
	return strncmp(m, "notifications/", 14) == 0;
}

void gateway_observe(struct correlator *c, const struct obs *o)
{
	struct gateway_state *gs = state(c);
	if (!gs || !o->gateway || !o->gateway->method)
		return;
	c->stats.gateway_lines++;
	if (method_without_event(o->gateway->method)) {
		c->stats.gateway_unmapped++;
		return;
	}
	gs->gw_seen = true;
	if (o->time_ns > gs->gw_clock)
		gs->gw_clock = o->time_ns;
	const struct obs_gateway *g = o->gateway;
	struct held *h = calloc(1, sizeof(*h));
	if (!h)
		return;
	h->gateway = gateway_object(c, o);
	h->identity = o->principal ? json_deep_copy(o->principal)
				   : json_pack("{s:n, s:n, s:n, s:[], s:[], s:s, s:b}", "subject",
					       "issuer", "client_id", "scopes", "actors", "source",
					       "anonymous", "verified", 0);
	h->method = strdup(g->method);
	h->tool = dup_or_null(g->tool ? g->tool : g->resource_uri);
	h->session = dup_or_null(g->session_id);
	h->upstream_session = dup_or_null(g->upstream_session_id);
	h->rpc_id = dup_or_null(g->rpc_id);
	h->trace_id = g->trace_id && strlen(g->trace_id) == 32 ? strdup(g->trace_id) : NULL;
	h->subject = dup_or_null(json_string_value(json_object_get(h->identity, "subject")));
	h->outcome_class = outcome_class(g->outcome);
	int64_t dur = g->has_duration && g->duration_ms >= 0 && g->duration_ms < 1e12
			      ? (int64_t)(g->duration_ms * 1e6)
			      : 0;
	/* logs stamp the end of the request (agentgateway, ToolHive) or its start; the window
	 * covers both */
	h->start_ns = o->time_ns - dur;
	h->end_ns = o->time_ns;
	char seed[600];
	uint64_t source_hash = 1469598103934665603ULL; /* FNV-1a of the source name */
	for (const char *p = o->source_name ? o->source_name : ""; *p; p++)
		source_hash = (source_hash ^ (unsigned char)*p) * 1099511628211ULL;
	if (o->source_line == gs->last_line && source_hash == gs->last_source) {
		gs->same_line++;
	} else {
		gs->same_line = 0;
		gs->last_line = o->source_line;
		gs->last_source = source_hash;
	}
	int at = snprintf(seed, sizeof(seed), "gw|%s|%s|%llu", g->format ? g->format : "",
			  o->source_name ? o->source_name : "", (unsigned long long)o->source_line);
	if (gs->same_line && at > 0 && (size_t)at < sizeof(seed))
		snprintf(seed + at, sizeof(seed) - (size_t)at, "|%llu",
			 (unsigned long long)gs->same_line);
	h->seed = strdup(seed);
	if (!h->method || !h->seed) {
		held_free(h);
		return;
	}
	/* a tap event waiting for this line? */
	struct held *t = best_match(c, &gs->tap, h, NULL, NULL);
	if (t) {
		list_unlink(&gs->tap, t);
		json_t *ev = t->ev;
		t->ev = NULL;
		merge(c, ev, t, h);
		deliver(c, ev);
		held_free(t);
		held_free(h);
		release(c, false);
		return;
	}
	list_push(&gs->gw, h, gs->wall_ns);
	release(c, false);
}

void gateway_tap_clock(struct correlator *c, int64_t time_ns)
{
	struct gateway_state *gs = c->gateway;
	if (!gs)
		return;
	gs->tap_seen = true;
	if (time_ns > gs->tap_clock)
		gs->tap_clock = time_ns;
	if (gs->gw.n || gs->tap.n)
		release(c, false);
}

/* ---- identity providers ---- */

static void remember_grant(struct correlator *c, const char *jti, json_t *summary_take)
{
	struct gateway_state *gs = c->gateway;
	size_t n = strlen(jti);
	json_t *old = hashmap_get(gs->grants, jti, n);
	if (old) {
		json_decref(old);
		hashmap_put(gs->grants, jti, n, summary_take);
		return;
	}
	char *evict = gs->grant_ring[gs->grant_next];
	if (evict) {
		json_decref(hashmap_remove(gs->grants, evict, strlen(evict)));
		free(evict);
	}
	gs->grant_ring[gs->grant_next] = strdup(jti);
	gs->grant_next = (gs->grant_next + 1) % GRANTS_MAX;
	if (!hashmap_put(gs->grants, jti, n, summary_take))
		json_decref(summary_take);
}

void grant_observe(struct correlator *c, const struct obs *o)
{
	struct gateway_state *gs = state(c);
	const struct obs_grant *g = o->grant;
	if (!gs || !g)
		return;
	c->stats.grants++;
	char seed[600];
	snprintf(seed, sizeof(seed), "grant|%s|%s|%llu", g->format ? g->format : "",
		 o->source_name ? o->source_name : "", (unsigned long long)o->source_line);
	json_t *ev = event_envelope("identity.grant", o->time_ns, seed);
	json_t *gr = json_object();
	json_object_set_new(gr, "format", json_string(g->format ? g->format : "unknown"));
	json_object_set_new(gr, "grant_type", str_or_null(g->grant_type));
	struct {
		const char *key, *value;
	} strs[] = {
		{"grant_type_raw", g->grant_type_raw},
		{"requested_token_type", g->requested_token_type},
		{"issued_token_type", g->issued_token_type},
		{"audience", g->audience},
		{"token_id", g->token_id},
		{"refresh_token_id", g->refresh_token_id},
		{"idp_session_id", g->session_id},
		{"subject_token_subject", g->subject_token_subject},
		{"src_addr", g->src_addr},
		{"user_agent", g->user_agent},
		{"error", g->error},
		{"event_kind", g->event_kind},
		{"target", g->target},
		{"request_id", g->request_id},
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *v = strs[i].value ? json_string(strs[i].value) : NULL;
		if (v)
			json_object_set_new(gr, strs[i].key, v);
	}
	json_object_set_new(gr, "success", json_boolean(g->success));
	json_object_set_new(gr, "id_jag",
			    json_boolean(g->requested_token_type &&
					 strstr(g->requested_token_type, "id-jag") != NULL));
	if (g->has_expires)
		json_object_set_new(gr, "expires_at", event_time(g->expires_ns));
	json_t *src = json_object();
	json_object_set_new(src, "name", json_string(o->source_name ? o->source_name : "-"));
	json_object_set_new(src, "line", json_integer((json_int_t)o->source_line));
	json_object_set_new(gr, "line", src);
	static const char *const free_text[] = {"error", "user_agent", NULL};
	unsigned n = redact_members(c, gr, free_text);
	json_t *identity = o->principal ? json_deep_copy(o->principal)
					: json_pack("{s:n, s:n, s:n, s:[], s:[], s:s, s:b}",
						    "subject", "issuer", "client_id", "scopes",
						    "actors", "source", "idp_log", "verified", 0);
	const char *client = json_string_value(json_object_get(identity, "client_id"));
	if (client && strncmp(client, "https://", 8) == 0 && strchr(client + 8, '/'))
		json_object_set_new(identity, "client_id_is_cimd", json_true());
	json_object_set_new(ev, "grant", gr);
	json_object_set_new(ev, "identity", identity);
	json_object_set_new(ev, "redactions", json_integer(n));
	if (g->success && g->token_id) {
		json_t *ref = json_object();
		json_object_set(ref, "event_id", json_object_get(ev, "event_id"));
		json_object_set(ref, "grant_type", json_object_get(gr, "grant_type"));
		json_object_set(ref, "format", json_object_get(gr, "format"));
		json_object_set_new(ref, "issued_at", event_time(o->time_ns));
		/* only what a call's identity may lack: many grants are kept */
		json_t *who = json_object();
		static const char *const keep[] = {"subject", "issuer", "client_id", "scopes",
						   "actors"};
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			json_t *v = json_object_get(identity, keep[i]);
			if (v && !json_is_null(v))
				json_object_set(who, keep[i], v);
		}
		json_t *summary = json_pack("{s:o, s:o}", "identity", who, "grant", ref);
		remember_grant(c, g->token_id, summary);
	}
	deliver(c, ev);
}

void gateway_finish(struct correlator *c)
{
	release(c, true);
}

void correlator_tick(struct correlator *c, int64_t wall_ns)
{
	struct gateway_state *gs = c->gateway;
	if (!gs)
		return;
	gs->wall_ns = wall_ns;
	/* what began to wait before the first tick starts its wait now */
	for (struct held_list *l = &gs->gw; l; l = l == &gs->gw ? &gs->tap : NULL)
		for (struct held *h = l->newest; h && !h->held_wall_ns; h = h->prev)
			h->held_wall_ns = wall_ns;
	if (gs->gw.n || gs->tap.n)
		release(c, false);
}

void correlator_release_held(struct correlator *c)
{
	release(c, true);
}

static void grant_free(void *p)
{
	json_decref(p);
}

void gateway_free(struct correlator *c)
{
	struct gateway_state *gs = c->gateway;
	if (!gs)
		return;
	for (struct held_list *l = &gs->gw; l; l = l == &gs->gw ? &gs->tap : NULL)
		while (l->oldest) {
			struct held *h = l->oldest;
			list_unlink(l, h);
			held_free(h);
		}
	hashmap_free(gs->grants, grant_free);
	for (size_t i = 0; i < GRANTS_MAX; i++)
		free(gs->grant_ring[i]);
	free(gs->grant_ring);
	free(gs);
	c->gateway = NULL;
}
