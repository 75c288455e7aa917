/* HTTP captures → observations.
 *
 * An exchange's records arrive in order (http_request, http_response, then http_body or
 * sse_event..., then http_end). The request's JSON-RPC message is held until the response
 * headers say which MCP session it belongs to (an initialize learns its session id only from
 * the response), then observed on that session's stream. Every message carries the identity of
 * the bearer token of its exchange. SSE events redelivered after a Last-Event-ID resumption
 * are recognised by their event id and observed once. */
#include "collector/importer_internal.h"

#include "collector/correlator.h"
#include "collector/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_SEEN_MAX 1000000
#define IDENTITIES_MAX 65536

struct http_tap {
	char *upstream;
	struct hashmap *sessions; /* correlator stream ids of this tap → (void *)1 */
};

struct http_exchange {
	char *method;
	char *session_header;
	char *protocol_version;
	char *traceparent;
	char *user_agent;
	char *stream; /* resolved correlator stream */
	json_t *identity;
	struct strbuf body; /* the request body, padded for the scanner */
	bool has_body, body_cut, request_observed;
	struct json_id rpc_id; /* of the request, when it was one; text points into rpc_id_text */
	char *rpc_id_text;
	uint64_t seq;
	int64_t ts_ns;
	int status;
	char *www_authenticate;
	char scope[32]; /* stateless exchanges: ids are unique only within the exchange */
	bool stateless;
};

static void tap_free(void *p)
{
	struct http_tap *t = p;
	if (!t)
		return;
	free(t->upstream);
	hashmap_free(t->sessions, NULL);
	free(t);
}

static void exchange_free(void *p)
{
	struct http_exchange *x = p;
	if (!x)
		return;
	free(x->method);
	free(x->session_header);
	free(x->protocol_version);
	free(x->traceparent);
	free(x->user_agent);
	free(x->stream);
	json_decref(x->identity);
	strbuf_free(&x->body);
	free(x->rpc_id_text);
	free(x->www_authenticate);
	free(x);
}

static void decref_value(void *p)
{
	json_decref(p);
}

void import_http_free(struct importer *imp)
{
	hashmap_free(imp->http_exchanges, exchange_free);
	hashmap_free(imp->http_taps, tap_free);
	hashmap_free(imp->sse_seen, NULL);
	hashmap_free(imp->identities, decref_value);
	imp->http_exchanges = imp->http_taps = imp->sse_seen = imp->identities = NULL;
}

static bool ensure_maps(struct importer *imp)
{
	if (!imp->http_exchanges)
		imp->http_exchanges = hashmap_new();
	if (!imp->http_taps)
		imp->http_taps = hashmap_new();
	if (!imp->sse_seen)
		imp->sse_seen = hashmap_new();
	if (!imp->identities)
		imp->identities = hashmap_new();
	return imp->http_exchanges && imp->http_taps && imp->sse_seen && imp->identities;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static json_t *copy_member(json_t *from, const char *key)
{
	json_t *v = json_object_get(from, key);
	return v ? json_deep_copy(v) : json_null();
}

/* A finding from the input side (the importer, not the correlator, fetched the document). */
static void client_metadata_finding(struct importer *imp, const char *kind, const char *severity,
				    const char *summary, json_t *doc, json_t *identity)
{
	char seed[600];
	snprintf(seed, sizeof(seed), "finding|%s|%s|%s", kind,
		 json_string_value(json_object_get(doc, "url")),
		 json_string_value(json_object_get(doc, "sha256"))
			 ? json_string_value(json_object_get(doc, "sha256"))
			 : "-");
	json_t *ev = event_envelope("finding", imp->last_time_ns, seed);
	json_t *f = json_pack("{s:s, s:s, s:s}", "kind", kind, "severity", severity, "summary",
			      summary);
	json_object_set(f, "client_metadata", doc);
	json_object_set_new(ev, "finding", f);
	json_object_set(ev, "identity", identity);
	json_object_set_new(ev, "redactions", json_integer(0));
	import_emit(imp, ev);
}

/* The client's metadata document (CIMD), when fetching is on: its status is part of the
 * identity; an invalid or changed document is a finding. */
static void attach_client_metadata(struct importer *imp, json_t *id)
{
	const char *url = json_string_value(json_object_get(id, "client_id"));
	if (!imp->opt->cimd.enabled || !url ||
	    !json_is_true(json_object_get(id, "client_id_is_cimd")))
		return;
	if (!imp->cimd && !(imp->cimd = cimd_cache_new(&imp->opt->cimd)))
		return;
	json_t *doc = cimd_lookup(imp->cimd, url, imp->last_time_ns / 1000000000LL);
	if (!doc)
		return;
	if (json_object_get(id, "client_metadata") &&
	    !json_is_true(json_object_get(doc, "fetched"))) {
		json_decref(doc); /* the cached answer: nothing new */
		return;
	}
	json_t *summary = json_object();
	static const char *const keys[] = {"status", "sha256", "client_name", "problems", "detail"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(doc, keys[i]);
		if (v)
			json_object_set(summary, keys[i], v);
	}
	json_object_set_new(id, "client_metadata", summary);
	const char *status = json_string_value(json_object_get(doc, "status"));
	if (json_is_true(json_object_get(doc, "changed")))
		client_metadata_finding(imp, "client_metadata_changed", "medium",
					"the client metadata document behind a client_id changed",
					doc, id);
	if (status && strcmp(status, "invalid") == 0)
		client_metadata_finding(
			imp, "client_metadata_invalid", "high",
			"a client metadata document breaks the CIMD rules (client_id "
			"mismatch or secret-based authentication)",
			doc, id);
	json_decref(doc);
}

/* The event form of a decoded token (collector/jwt.h token_identity_to_json): who, for which
 * client, with which scopes, on whose behalf, and how sure we are. Shared per fingerprint. */
static json_t *identity_from_auth(struct importer *imp, json_t *auth)
{
	if (!json_is_object(auth))
		return NULL;
	const char *fp = json_string_value(json_object_get(auth, "fingerprint"));
	if (fp) {
		json_t *cached = hashmap_get(imp->identities, fp, strlen(fp));
		if (cached)
			return json_incref(cached);
	}
	const char *kind = json_string_value(json_object_get(auth, "token_kind"));
	json_t *id = json_object();
	json_object_set_new(id, "subject", copy_member(auth, "sub"));
	json_object_set_new(id, "issuer", copy_member(auth, "iss"));
	json_object_set_new(id, "client_id", copy_member(auth, "client_id"));
	json_object_set_new(id, "client_id_is_cimd",
			    json_boolean(json_is_true(json_object_get(auth, "client_id_is_cimd"))));
	json_t *scopes = json_object_get(auth, "scopes");
	json_object_set_new(id, "scopes",
			    json_is_array(scopes) ? json_deep_copy(scopes) : json_array());
	json_t *actors = json_object_get(auth, "actors");
	json_object_set_new(id, "actors",
			    json_is_array(actors) ? json_deep_copy(actors) : json_array());
	json_object_set_new(
		id, "source",
		json_string(kind && strcmp(kind, "jwt") == 0 ? "bearer_jwt" : "bearer_opaque"));
	json_object_set_new(id, "verified",
			    json_boolean(json_is_true(json_object_get(auth, "verified"))));
	json_t *token = json_object();
	json_object_set_new(token, "fingerprint", copy_member(auth, "fingerprint"));
	json_object_set_new(token, "kind", copy_member(auth, "token_kind"));
	json_object_set_new(token, "class", copy_member(auth, "token_class"));
	json_object_set_new(token, "typ", copy_member(auth, "typ"));
	json_object_set_new(token, "jti", copy_member(auth, "jti"));
	json_object_set_new(token, "exp", copy_member(auth, "exp"));
	json_object_set_new(token, "iat", copy_member(auth, "iat"));
	json_t *aud = json_object_get(auth, "aud");
	json_object_set_new(token, "aud", json_is_array(aud) ? json_deep_copy(aud) : json_array());
	json_object_set_new(token, "verification", copy_member(auth, "verification"));
	json_object_set_new(id, "token", token);
	if (fp && hashmap_count(imp->identities) < IDENTITIES_MAX &&
	    hashmap_put(imp->identities, fp, strlen(fp), id))
		json_incref(id);
	return id;
}

static const char *header(json_t *headers, const char *name)
{
	return json_string_value(json_object_get(headers, name));
}

static char *exchange_key(const char *tap_stream, uint64_t exchange)
{
	size_t n = strlen(tap_stream) + 24;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s|%llu", tap_stream, (unsigned long long)exchange);
	return k;
}

void import_http_start(struct importer *imp, const struct tap_record *rec, const char *line,
		       size_t len, const char *tap_stream)
{
	(void)rec;
	json_t *root = json_loadb(line, len, 0, NULL);
	const char *transport = json_string_value(json_object_get(root, "transport"));
	if (transport && strcmp(transport, "http") == 0 && ensure_maps(imp)) {
		struct http_tap *t = calloc(1, sizeof(*t));
		if (t) {
			const char *up = json_string_value(json_object_get(root, "upstream"));
			t->upstream = strdup(up ? up : tap_stream);
			t->sessions = hashmap_new();
			tap_free(hashmap_remove(imp->http_taps, tap_stream, strlen(tap_stream)));
			if (!t->upstream || !t->sessions ||
			    !hashmap_put(imp->http_taps, tap_stream, strlen(tap_stream), t))
				tap_free(t);
		}
	}
	json_decref(root);
}

/* The correlator stream of an exchange: one per MCP session (or one for all session-less,
 * stateless traffic of a tap), announced to the correlator the first time it is used. */
static const char *resolve_stream(struct importer *imp, struct http_exchange *x,
				  const char *tap_stream, const char *response_session)
{
	if (x->stream)
		return x->stream;
	const char *session = x->session_header ? x->session_header : response_session;
	size_t n = strlen(tap_stream) + (session ? strlen(session) : 9) + 2;
	x->stream = malloc(n);
	if (!x->stream)
		return tap_stream;
	snprintf(x->stream, n, "%s/%s", tap_stream, session ? session : "stateless");
	x->stateless = session == NULL;
	struct http_tap *t = hashmap_get(imp->http_taps, tap_stream, strlen(tap_stream));
	if (t && !hashmap_get(t->sessions, x->stream, strlen(x->stream))) {
		hashmap_put(t->sessions, x->stream, strlen(x->stream), (void *)1);
		struct obs o = {
			.kind = OBS_STREAM_START,
			.time_ns = x->ts_ns,
			.stream = x->stream,
			.transport = "http",
			.seq = x->seq,
			.server_key = t->upstream,
			.principal = x->identity,
			.source_name = imp->name,
			.source_line = imp->line_no,
		};
		correlator_observe(imp->correlator, &o);
	}
	return x->stream;
}

static void observe_request(struct importer *imp, struct http_exchange *x, const char *tap_stream,
			    const char *response_session)
{
	if (x->request_observed)
		return;
	x->request_observed = true;
	const char *stream = resolve_stream(imp, x, tap_stream, response_session);
	if (!x->has_body)
		return;
	struct tap_record rec = {.len = x->body.len, .truncated = x->body_cut};
	rec.msg.ptr = x->body.data;
	rec.msg.len = x->body.len;
	rec.msg_capacity = x->body.len + JSON_SCAN_PADDING;
	struct obs o = {.time_ns = x->ts_ns,
			.stream = stream,
			.dir = OBS_C2S,
			.seq = x->seq,
			.principal = x->identity,
			.protocol_version = x->protocol_version,
			.traceparent = x->traceparent,
			.user_agent = x->user_agent,
			.id_scope = x->stateless ? x->scope : NULL};
	import_observe_payload(imp, &rec, o);
}

static void on_request(struct importer *imp, const struct tap_record *rec, const char *line,
		       size_t len, const char *tap_stream)
{
	json_t *root = json_loadb(line, len, 0, NULL);
	json_t *headers = json_object_get(root, "headers");
	struct http_exchange *x = calloc(1, sizeof(*x));
	char *key = exchange_key(tap_stream, rec->exchange);
	if (!x || !key || !root) {
		free(x);
		free(key);
		json_decref(root);
		return;
	}
	x->method = rec->method.ptr ? strndup(rec->method.ptr, rec->method.len) : strdup("?");
	x->session_header = dup_or_null(header(headers, "mcp-session-id"));
	x->protocol_version = dup_or_null(header(headers, "mcp-protocol-version"));
	x->traceparent = dup_or_null(header(headers, "traceparent"));
	x->user_agent = dup_or_null(header(headers, "user-agent"));
	x->identity = identity_from_auth(imp, json_object_get(root, "auth"));
	if (x->identity)
		attach_client_metadata(imp, x->identity); /* cached per URL for the cache TTL */
	x->seq = rec->seq;
	x->ts_ns = rec->ts_ns;
	snprintf(x->scope, sizeof(x->scope), "x%llu", (unsigned long long)rec->exchange);
	json_decref(root);

	/* keep the body (padded) for when the session is known */
	if (rec->msg.ptr || rec->b64.ptr) {
		bool ok = rec->msg.ptr ? strbuf_append(&x->body, rec->msg.ptr, rec->msg.len)
				       : base64_decode_append(&x->body, rec->b64.ptr, rec->b64.len);
		if (ok && strbuf_reserve(&x->body, JSON_SCAN_PADDING)) {
			memset(x->body.data + x->body.len, 0, JSON_SCAN_PADDING);
			x->has_body = x->body.len > 0;
			x->body_cut = rec->truncated;
			struct json_scan scan;
			if (x->has_body &&
			    json_scanner_scan(imp->message_scanner, x->body.data, x->body.len,
					      x->body.len + JSON_SCAN_PADDING,
					      &scan) == JSON_MSG_REQUEST) {
				x->rpc_id_text = strndup(scan.id.text.ptr, scan.id.text.len);
				x->rpc_id.kind = scan.id.kind;
				x->rpc_id.text.ptr = x->rpc_id_text;
				x->rpc_id.text.len = scan.id.text.len;
			}
		}
	}
	exchange_free(hashmap_remove(imp->http_exchanges, key, strlen(key)));
	if (!hashmap_put(imp->http_exchanges, key, strlen(key), x))
		exchange_free(x);
	free(key);
}

static void on_response(struct importer *imp, struct http_exchange *x, const struct tap_record *rec,
			const char *line, size_t len, const char *tap_stream)
{
	json_t *root = json_loadb(line, len, 0, NULL);
	json_t *headers = json_object_get(root, "headers");
	x->status = (int)rec->status;
	x->www_authenticate = dup_or_null(header(headers, "www-authenticate"));
	observe_request(imp, x, tap_stream, header(headers, "mcp-session-id"));
	json_decref(root);
}

static void on_server_message(struct importer *imp, struct http_exchange *x,
			      const struct tap_record *rec, const char *tap_stream)
{
	observe_request(imp, x, tap_stream, NULL);
	if (rec->len == 0 && !rec->msg.ptr)
		return; /* an SSE priming event, or an empty body */
	if (rec->kind == TAP_RECORD_SSE_EVENT && rec->has_event_id && rec->event_id.len > 0) {
		size_t n = strlen(x->stream) + rec->event_id.len + 2;
		char *k = malloc(n);
		if (!k)
			return;
		snprintf(k, n, "%s|%.*s", x->stream, (int)rec->event_id.len, rec->event_id.ptr);
		if (hashmap_get(imp->sse_seen, k, n - 1)) {
			/* redelivered after a Last-Event-ID resumption: observed already */
			imp->stats->replayed_events++;
			free(k);
			return;
		}
		if (hashmap_count(imp->sse_seen) >= SSE_SEEN_MAX) {
			hashmap_free(imp->sse_seen, NULL);
			imp->sse_seen = hashmap_new();
		}
		if (imp->sse_seen)
			hashmap_put(imp->sse_seen, k, n - 1, (void *)1);
		free(k);
	}
	struct obs o = {.time_ns = rec->ts_ns,
			.stream = x->stream,
			.dir = OBS_S2C,
			.seq = rec->seq,
			.principal = x->identity,
			.id_scope = x->stateless ? x->scope : NULL};
	import_observe_payload(imp, rec, o);
}

static void on_end(struct importer *imp, struct http_exchange *x, const struct tap_record *rec,
		   const char *tap_stream)
{
	observe_request(imp, x, tap_stream, NULL);
	int status = rec->status ? (int)rec->status : x->status;
	char outcome[32] = "complete";
	if (rec->outcome.ptr)
		snprintf(outcome, sizeof(outcome), "%.*s", (int)rec->outcome.len, rec->outcome.ptr);
	bool failed = status >= 400 || strcmp(outcome, "rejected") == 0 ||
		      strcmp(outcome, "upstream_error") == 0;
	if (failed) {
		struct obs o = {.kind = OBS_HTTP_STATUS,
				.time_ns = rec->ts_ns,
				.stream = x->stream,
				.seq = rec->seq,
				.principal = x->identity,
				.http_status = status,
				.http_method = x->method,
				.www_authenticate = x->www_authenticate,
				.http_outcome = outcome,
				.http_rpc_id = x->rpc_id,
				.id_scope = x->stateless ? x->scope : NULL,
				.source_name = imp->name,
				.source_line = imp->line_no};
		correlator_observe(imp->correlator, &o);
	}
	if (strcmp(x->method, "DELETE") == 0 && status >= 200 && status < 300 && x->stream) {
		/* the client ended its session */
		struct obs o = {.kind = OBS_STREAM_END,
				.time_ns = rec->ts_ns,
				.stream = x->stream,
				.seq = rec->seq,
				.principal = x->identity};
		correlator_observe(imp->correlator, &o);
	}
}

void import_http_record(struct importer *imp, const struct tap_record *rec, const char *line,
			size_t len, const char *tap_stream)
{
	if (!ensure_maps(imp))
		return;
	imp->stats->http_records++;
	if (rec->kind == TAP_RECORD_HTTP_REQUEST) {
		on_request(imp, rec, line, len, tap_stream);
		return;
	}
	char *key = exchange_key(tap_stream, rec->exchange);
	struct http_exchange *x = key ? hashmap_get(imp->http_exchanges, key, strlen(key)) : NULL;
	if (!x) {
		/* a response without its request (a capture that started mid-exchange) */
		imp->stats->orphan_http_records++;
		free(key);
		return;
	}
	switch (rec->kind) {
	case TAP_RECORD_HTTP_RESPONSE:
		on_response(imp, x, rec, line, len, tap_stream);
		break;
	case TAP_RECORD_HTTP_BODY:
	case TAP_RECORD_SSE_EVENT:
		on_server_message(imp, x, rec, tap_stream);
		break;
	case TAP_RECORD_HTTP_END:
		on_end(imp, x, rec, tap_stream);
		exchange_free(hashmap_remove(imp->http_exchanges, key, strlen(key)));
		break;
	default:
		break;
	}
	free(key);
}

struct end_ctx {
	struct importer *imp;
	const struct tap_record *rec;
	char **streams;
	size_t n;
};

static void collect_session(void *ctx, const char *key, void *value)
{
	(void)value;
	struct end_ctx *e = ctx;
	char **p = realloc(e->streams, (e->n + 1) * sizeof(*p));
	if (!p)
		return;
	e->streams = p;
	e->streams[e->n++] = strdup(key);
}

static int compare_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool import_http_end(struct importer *imp, const struct tap_record *rec, const char *tap_stream)
{
	if (!imp->http_taps)
		return false;
	struct http_tap *t = hashmap_remove(imp->http_taps, tap_stream, strlen(tap_stream));
	if (!t)
		return false;
	/* the tap stopped: every session it saw ends here (in a stable order) */
	struct end_ctx e = {.imp = imp, .rec = rec};
	hashmap_each(t->sessions, collect_session, &e);
	if (e.n > 1)
		qsort(e.streams, e.n, sizeof(*e.streams), compare_str);
	for (size_t i = 0; i < e.n; i++) {
		struct obs o = {.kind = OBS_STREAM_END,
				.time_ns = rec->ts_ns,
				.stream = e.streams[i],
				.seq = rec->seq};
		if (e.streams[i])
			correlator_observe(imp->correlator, &o);
		free(e.streams[i]);
	}
	free(e.streams);
	tap_free(t);
	return true;
}
