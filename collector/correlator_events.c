/* Builders for the correlator's events (schema mcptrail/1; schemas/mcptrail-event.v1.schema.json).
 * Everything here is formatting: the decisions are made in correlator.c. */
#include "collector/correlator_internal.h"
#include "collector/event.h"
#include "collector/redact.h"
#include "collector/util.h"

#include <stdio.h>
#include <string.h>

static const char *direction_name(int dir)
{
	return dir == OBS_C2S ? "client_to_server" : "server_to_client";
}

json_t *correlator_event(struct correlator *c, const char *type, int64_t time_ns,
			 const char *id_seed)
{
	(void)c;
	return event_envelope(type, time_ns, id_seed);
}

/* Text that comes from outside (servers, clients, configuration) is redacted where it enters
 * the correlator's state, once; rare free-text fields are redacted as events are emitted. Each
 * event counts what was removed from it. */
unsigned redact_member(struct correlator *c, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!c->cfg.redactor || !json_is_string(v))
		return 0;
	unsigned n = 0;
	size_t out_len = 0;
	char *r = redact_text(c->cfg.redactor, json_string_value(v), json_string_length(v),
			      &out_len, &n);
	if (!r) {
		json_object_set_new(obj, key, json_string("[REDACTED:error]"));
		return 1;
	}
	if (n)
		json_object_set_new(obj, key, json_stringn(r, out_len));
	free(r);
	return n;
}

unsigned redact_members(struct correlator *c, json_t *obj, const char *const *keys)
{
	unsigned n = 0;
	for (; obj && *keys; keys++)
		n += redact_member(c, obj, *keys);
	return n;
}

char *redact_owned_string(struct correlator *c, char *s, unsigned *count)
{
	if (!s || !c->cfg.redactor)
		return s;
	unsigned n = 0;
	size_t out_len = 0;
	char *r = redact_text(c->cfg.redactor, s, strlen(s), &out_len, &n);
	if (!r) {
		free(s);
		*count += 1;
		return strdup("[REDACTED:error]");
	}
	if (!n) {
		free(r);
		return s;
	}
	free(s);
	*count += n;
	return r;
}

void event_emit(struct correlator *c, json_t *ev)
{
	/* the rare free-text fields an outsider chose */
	json_t *call = json_object_get(ev, "call"), *request = json_object_get(ev, "request");
	c->redactions += redact_member(c, json_object_get(call, "error"), "message");
	c->redactions += redact_member(c, json_object_get(request, "error"), "message");
	c->redactions += redact_member(c, json_object_get(ev, "task"), "status_message");
	c->redactions += redact_member(c, json_object_get(ev, "elicitation"), "url");
	c->redactions += redact_member(c, json_object_get(ev, "http"), "error");
	c->redactions += redact_member(c, call, "user_agent");
	c->redactions += redact_member(c, request, "user_agent");
	json_t *uris = json_object_get(json_object_get(ev, "roots"), "uris");
	if (c->cfg.redactor && json_is_array(uris))
		c->redactions += redact_json(c->cfg.redactor, uris);
	json_object_set_new(ev, "redactions", json_integer(c->redactions));
	c->redactions = 0;
	if (gateway_offer_tap_event(c, ev))
		return; /* waits for a gateway's view of the same call */
	correlator_deliver(c, ev);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *copy_or_empty(json_t *v)
{
	return v ? json_deep_copy(v) : json_object();
}

void event_add_session(json_t *ev, const struct stream *s)
{
	const struct session *ss = s->session;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ss && ss->id ? ss->id : s->id));
	json_object_set_new(o, "transport", json_string(s->transport));
	json_object_set_new(o, "protocol_version", str_or_null(ss ? ss->protocol_version : NULL));
	json_object_set_new(o, "stream", json_string(s->id));
	if (ss && ss->client)
		json_object_set_new(o, "client", json_deep_copy(ss->client));
	if (ss && ss->server)
		json_object_set_new(o, "server", json_deep_copy(ss->server));
	json_object_set_new(ev, "session", o);
}

void event_add_identity(json_t *ev, json_t *identity)
{
	if (identity) {
		/* shared, not copied: identities are immutable once built */
		json_object_set(ev, "identity", identity);
		return;
	}
	json_object_set_new(ev, "identity",
			    json_pack("{s:n, s:n, s:n, s:[], s:[], s:s, s:b}", "subject", "issuer",
				      "client_id", "scopes", "actors", "source", "anonymous",
				      "verified", 0));
}

void identity_key(json_t *identity, char *out, size_t outlen)
{
	const char *sub = json_string_value(json_object_get(identity, "subject"));
	const char *iss = json_string_value(json_object_get(identity, "issuer"));
	if (!sub && !iss) {
		/* an opaque token: its fingerprint is the only name it has */
		const char *fp = json_string_value(
			json_object_get(json_object_get(identity, "token"), "fingerprint"));
		snprintf(out, outlen, "%s", fp ? fp : "");
		return;
	}
	snprintf(out, outlen, "%s|%s", sub ? sub : "", iss ? iss : "");
}

static json_t *latency(int64_t start_ns, int64_t end_ns)
{
	return json_real((double)(end_ns - start_ns) / 1e6);
}

static json_t *error_object(const struct json_scan *response)
{
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer((json_int_t)response->error_code));
	if (response->error_message.ptr) {
		/* capped, and cut on a character boundary (continuation bytes are 10xxxxxx) */
		const char *msg = response->error_message.ptr;
		size_t n = response->error_message.len < 512 ? response->error_message.len : 512;
		while (n > 0 && n < response->error_message.len &&
		       ((unsigned char)msg[n] & 0xC0) == 0x80)
			n--;
		json_object_set_new(e, "message", json_stringn(msg, n));
	}
	return e;
}

static const char *request_event_type(const char *m)
{
	if (strcmp(m, "sampling/createMessage") == 0)
		return "mcp.sampling";
	if (strcmp(m, "elicitation/create") == 0)
		return "mcp.elicitation";
	if (strcmp(m, "roots/list") == 0)
		return "mcp.roots";
	return "mcp.request";
}

static void request_seed(const struct call *call, char *seed, size_t n)
{
	snprintf(seed, n, "%s|%d|%llu|%s", call->stream->id, call->dir,
		 (unsigned long long)call->seq, call->rpc_id);
}

void request_event_id(const struct call *call, char out[33])
{
	char seed[256];
	request_seed(call, seed, sizeof(seed));
	event_id_for(request_event_type(call->method), seed, out);
}

static void tool_call_seed(const struct call *call, char *seed, size_t n)
{
	snprintf(seed, n, "%s|%llu|%s", call->stream->id, (unsigned long long)call->seq,
		 call->rpc_id);
}

void call_event_id(const struct call *call, char out[33])
{
	char seed[256];
	tool_call_seed(call, seed, sizeof(seed));
	event_id_for("mcp.tool_call", seed, out);
}

void emit_tool_call(struct correlator *c, struct call *call, const char *outcome, int64_t end_ns,
		    const struct json_scan *response, struct task *task)
{
	char seed[256];
	tool_call_seed(call, seed, sizeof(seed));
	json_t *ev = correlator_event(c, "mcp.tool_call", call->start_ns, seed);
	json_t *o = json_object();
	json_object_set_new(o, "tool", str_or_null(call->tool));
	json_object_set_new(o, "rpc_id", json_string(call->rpc_id));
	json_object_set_new(o, "rpc_id_type",
			    json_string(call->rpc_id_is_string ? "string" : "number"));
	json_object_set_new(o, "outcome", json_string(outcome));
	json_object_set_new(o, "attempts", json_integer(call->attempts));
	bool answered = strcmp(outcome, "no_response") != 0;
	json_object_set_new(o, "latency_ms",
			    answered ? latency(call->start_ns, end_ns) : json_null());
	json_object_set_new(o, "waited_ms", latency(call->start_ns, end_ns));
	json_object_set_new(o, "started_at", event_time(call->start_ns));
	json_object_set_new(o, "ended_at", event_time(end_ns));
	json_object_set_new(o, "request_seq", json_integer((json_int_t)call->seq));
	json_object_set_new(o, "progress_notifications", json_integer((json_int_t)call->progress));
	json_object_set_new(o, "task_augmented", json_boolean(call->task_augmented));
	c->redactions += call->redactions;
	if (call->arguments) {
		json_object_set(o, "arguments", call->arguments);
		c->redactions += (unsigned)json_integer_value(
			json_object_get(call->arguments, "redactions"));
	} else if (call->args_bytes >= 0)
		json_object_set_new(o, "arguments",
				    json_pack("{s:s, s:I}", "sha256", call->args_sha256, "bytes",
					      (json_int_t)call->args_bytes));
	else
		json_object_set_new(o, "arguments", json_null());
	if (response && response->kind == JSON_MSG_ERROR)
		json_object_set_new(o, "error", error_object(response));
	if (call->traceparent)
		json_object_set_new(o, "traceparent", json_string(call->traceparent));
	if (call->user_agent)
		json_object_set_new(o, "user_agent", event_string_lossy(call->user_agent));
	if (call->auth_challenges)
		json_object_set_new(o, "auth_challenges", json_integer(call->auth_challenges));
	if (call->last_http_status)
		json_object_set_new(o, "http_status", json_integer(call->last_http_status));
	if (call->retry_of)
		json_object_set(o, "retry_of", call->retry_of);
	json_object_set_new(ev, "call", o);
	event_add_session(ev, call->stream);
	event_add_identity(ev, call->identity);
	if (task) {
		json_t *t = json_object();
		json_object_set_new(t, "id", json_string(task->id));
		json_object_set_new(t, "status", str_or_null(task->status));
		json_object_set_new(t, "created_at", event_time(task->created_ns));
		json_object_set_new(t, "polls", json_integer((json_int_t)task->polls));
		json_object_set_new(t, "result_fetches", json_integer((json_int_t)task->results));
		json_object_set_new(t, "cancel_requests", json_integer((json_int_t)task->cancels));
		json_object_set_new(t, "status_notifications",
				    json_integer((json_int_t)task->status_notifications));
		json_object_set_new(t, "related_messages",
				    json_integer((json_int_t)task->related_messages));
		if (task->status_message)
			json_object_set_new(t, "status_message", json_string(task->status_message));
		json_object_set_new(ev, "task", t);
	}
	c->stats.tool_calls++;
	event_emit(c, ev);
}

void emit_task(struct correlator *c, struct task *t, struct stream *s, int64_t time_ns,
	       uint64_t seq, const char *why)
{
	char seed[512];
	snprintf(seed, sizeof(seed), "%s|%s|%llu", t->key, t->status, (unsigned long long)seq);
	json_t *ev = correlator_event(c, "mcp.task", time_ns, seed);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(t->id));
	json_object_set_new(o, "status", json_string(t->status));
	json_object_set_new(o, "terminal", json_boolean(task_status_terminal(t->status)));
	json_object_set_new(o, "changed_by", json_string(why));
	json_object_set_new(o, "created_at", event_time(t->created_ns));
	json_object_set_new(o, "tool", str_or_null(t->call ? t->call->tool : NULL));
	json_object_set_new(o, "call_rpc_id", str_or_null(t->call ? t->call->rpc_id : NULL));
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	if (t->status_message)
		json_object_set_new(o, "status_message", json_string(t->status_message));
	json_object_set_new(ev, "task", o);
	event_add_session(ev, s);
	event_add_identity(ev, c->cur_identity ? c->cur_identity : t->creator);
	event_emit(c, ev);
}

static json_t *request_object(struct call *call, const char *outcome, int64_t end_ns,
			      const struct json_scan *response)
{
	json_t *r = json_object();
	json_object_set_new(r, "method", json_string(call->method));
	json_object_set_new(r, "rpc_id", json_string(call->rpc_id));
	json_object_set_new(r, "direction", json_string(direction_name(call->dir)));
	json_object_set_new(r, "outcome", json_string(outcome));
	bool answered = strcmp(outcome, "no_response") != 0;
	json_object_set_new(r, "latency_ms",
			    answered ? latency(call->start_ns, end_ns) : json_null());
	json_object_set_new(r, "started_at", event_time(call->start_ns));
	json_object_set_new(r, "attempts", json_integer(call->attempts));
	json_object_set_new(r, "request_seq", json_integer((json_int_t)call->seq));
	if (call->target)
		json_object_set_new(r, "target", json_string(call->target));
	else if (call->tool)
		json_object_set_new(r, "target", json_string(call->tool));
	if (call->task_id)
		json_object_set_new(r, "task_id", json_string(call->task_id));
	if (call->related_task)
		json_object_set_new(r, "related_task", json_string(call->related_task));
	if (call->user_agent)
		json_object_set_new(r, "user_agent", event_string_lossy(call->user_agent));
	if (response && response->kind == JSON_MSG_ERROR)
		json_object_set_new(r, "error", error_object(response));
	return r;
}

/* Tools a server listed: the reach an identity was granted (used by blast radius). */
static json_t *listed_tools(json_t *result)
{
	json_t *out = json_array();
	json_t *tools = json_object_get(result, "tools");
	size_t i;
	json_t *tool;
	if (!json_is_array(tools))
		return out;
	json_array_foreach(tools, i, tool)
	{
		json_t *name = json_object_get(tool, "name");
		if (!json_is_string(name))
			continue;
		json_t *t = json_pack("{s:s}", "name", json_string_value(name));
		json_t *ann = json_object_get(tool, "annotations");
		if (json_is_object(ann)) {
			json_t *a = json_object();
			static const char *const hints[] = {"readOnlyHint", "destructiveHint",
							    "idempotentHint", "openWorldHint"};
			for (size_t h = 0; h < 4; h++) {
				json_t *v = json_object_get(ann, hints[h]);
				if (json_is_boolean(v))
					json_object_set_new(a, hints[h],
							    json_boolean(json_is_true(v)));
			}
			json_object_set_new(t, "annotations", a);
		}
		json_t *ts = json_object_get(json_object_get(tool, "execution"), "taskSupport");
		if (json_is_string(ts))
			json_object_set_new(t, "task_support", json_string(json_string_value(ts)));
		json_array_append_new(out, t);
	}
	return out;
}

/* Resources a server listed (URIs or URI templates): the resource reach an identity was granted.
 * Capped: a server may list thousands; the count is in request.items. */
#define LISTED_RESOURCES_CAP 1000

static json_t *listed_resources(json_t *arr, bool templates)
{
	json_t *out = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r)
	{
		json_t *uri = json_object_get(r, templates ? "uriTemplate" : "uri");
		if (!json_is_string(uri))
			continue;
		if (json_array_size(out) == LISTED_RESOURCES_CAP)
			break;
		json_array_append_new(out, json_pack("{s:s}", templates ? "uri_template" : "uri",
						     json_string_value(uri)));
	}
	return out;
}

static bool is_list_method(const char *m)
{
	size_t n = strlen(m);
	return n > 5 && strcmp(m + n - 5, "/list") == 0;
}

void emit_request(struct correlator *c, struct call *call, const char *outcome, int64_t end_ns,
		  const struct json_scan *response, const char *raw, size_t raw_len)
{
	const char *m = call->method;
	if (strcmp(m, "initialize") == 0 || strcmp(m, "ping") == 0)
		return; /* covered by mcp.session / counted */
	const char *type = request_event_type(m);
	char seed[256];
	request_seed(call, seed, sizeof(seed));
	json_t *ev = correlator_event(c, type, call->start_ns, seed);
	c->redactions += call->redactions;
	json_object_set_new(ev, "request", request_object(call, outcome, end_ns, response));

	/* cold path: the few result details worth keeping */
	json_t *root = NULL, *result = NULL;
	if (raw && response && response->kind == JSON_MSG_RESULT &&
	    (strcmp(type, "mcp.request") != 0 || is_list_method(m))) {
		root = json_loadb(raw, raw_len, 0, NULL);
		result = json_object_get(root, "result");
	}
	if (strcmp(type, "mcp.sampling") == 0) {
		json_t *o = copy_or_empty(call->params_summary);
		json_t *stop = json_object_get(result, "stopReason");
		json_object_set_new(o, "stop_reason", str_or_null(json_string_value(stop)));
		json_t *model = json_object_get(result, "model");
		json_object_set_new(o, "model", str_or_null(json_string_value(model)));
		json_object_set_new(ev, "sampling", o);
	} else if (strcmp(type, "mcp.elicitation") == 0) {
		json_t *o = copy_or_empty(call->params_summary);
		json_object_set_new(o, "action",
				    response && response->result_action.ptr
					    ? json_stringn_nocheck(response->result_action.ptr,
								   response->result_action.len)
					    : json_null());
		json_object_set_new(ev, "elicitation", o);
	} else if (strcmp(type, "mcp.roots") == 0) {
		json_t *uris = json_array();
		json_t *roots = json_object_get(result, "roots");
		size_t i;
		json_t *r;
		if (json_is_array(roots))
			json_array_foreach(roots, i, r)
			{
				json_t *u = json_object_get(r, "uri");
				if (json_is_string(u))
					json_array_append_new(uris,
							      json_string(json_string_value(u)));
			}
		json_object_set_new(ev, "roots",
				    json_pack("{s:I, s:o}", "count",
					      (json_int_t)json_array_size(uris), "uris", uris));
	} else if (result && is_list_method(m)) {
		/* the listed array is named after the method: tools/list → tools, ... */
		json_t *req = json_object_get(ev, "request");
		const char *key =
			strcmp(m, "resources/templates/list") == 0 ? "resourceTemplates" : NULL;
		char noun[64];
		if (!key) {
			snprintf(noun, sizeof(noun), "%.*s", (int)(strchr(m, '/') - m), m);
			key = noun;
		}
		json_t *arr = json_object_get(result, key);
		if (json_is_array(arr))
			json_object_set_new(req, "items",
					    json_integer((json_int_t)json_array_size(arr)));
		if (strcmp(m, "tools/list") == 0)
			json_object_set_new(ev, "tools", listed_tools(result));
		else if (strcmp(m, "resources/list") == 0 ||
			 strcmp(m, "resources/templates/list") == 0)
			json_object_set_new(
				ev, "resources",
				listed_resources(json_is_array(arr) ? arr : NULL,
						 strcmp(m, "resources/templates/list") == 0));
	}
	json_decref(root);
	event_add_session(ev, call->stream);
	event_add_identity(ev, call->identity);
	event_emit(c, ev);
}

void emit_session(struct correlator *c, struct stream *s, const char *state, int64_t time_ns)
{
	struct session *ss = s->session;
	char seed[256];
	snprintf(seed, sizeof(seed), "%s|%s", ss && ss->id ? ss->id : s->id, state);
	json_t *ev = correlator_event(c, "mcp.session", time_ns, seed);
	if (ss && strcmp(state, "end") != 0) {
		c->redactions += ss->redactions; /* its client and server info, redacted once */
		ss->redactions = 0;
	}
	event_add_session(ev, s);
	json_t *o = json_object_get(ev, "session");
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "started_at", event_time(ss ? ss->started_ns : s->started_ns));
	if (ss && ss->client_capabilities)
		json_object_set_new(o, "client_capabilities",
				    json_deep_copy(ss->client_capabilities));
	if (ss && ss->server_capabilities)
		json_object_set_new(o, "server_capabilities",
				    json_deep_copy(ss->server_capabilities));
	if (s->host)
		json_object_set_new(o, "host", json_string(s->host));
	if (s->server_command)
		json_object_set_new(o, "server_command", json_string(s->server_command));
	if (strcmp(state, "end") == 0 && ss) {
		json_t *k = json_object();
		json_object_set_new(k, "tool_calls", json_integer((json_int_t)ss->calls));
		json_object_set_new(k, "tool_errors", json_integer((json_int_t)ss->tool_errors));
		json_object_set_new(k, "rpc_errors", json_integer((json_int_t)ss->rpc_errors));
		json_object_set_new(k, "invalid_frames", json_integer((json_int_t)ss->invalid));
		json_object_set_new(k, "invalid_events_suppressed",
				    json_integer((json_int_t)s->invalid_suppressed));
		json_object_set_new(k, "gap_frames", json_integer((json_int_t)ss->gaps_frames));
		json_object_set_new(k, "notifications",
				    json_integer((json_int_t)ss->notifications));
		json_object_set_new(k, "pings", json_integer((json_int_t)ss->pings));
		json_object_set_new(k, "server_requests",
				    json_integer((json_int_t)ss->server_requests));
		json_object_set_new(k, "unmatched_responses",
				    json_integer((json_int_t)ss->unmatched));
		json_object_set_new(k, "duplicate_requests",
				    json_integer((json_int_t)ss->duplicates));
		json_object_set_new(o, "counters", k);
	}
	event_add_identity(ev, ss && ss->identity ? ss->identity : s->identity);
	c->stats.sessions += strcmp(state, "start") == 0;
	event_emit(c, ev);
}

void emit_invalid(struct correlator *c, struct stream *s, const struct obs *o)
{
	/* (stream, direction, seq) names the frame; where it sat in a file does not */
	char seed[256];
	snprintf(seed, sizeof(seed), "%s|%d|%llu", s->id, (int)o->dir, (unsigned long long)o->seq);
	json_t *ev = correlator_event(c, "mcp.invalid_message", o->time_ns, seed);
	json_t *inv = json_object();
	json_object_set_new(inv, "reason",
			    json_string(o->invalid_reason ? o->invalid_reason : "invalid"));
	json_object_set_new(inv, "direction", json_string(direction_name((int)o->dir)));
	json_object_set_new(inv, "bytes", json_integer((json_int_t)o->invalid_len));
	json_object_set_new(inv, "seq", json_integer((json_int_t)o->seq));
	json_object_set_new(inv, "truncated", json_boolean(o->truncated));
	if (o->raw) {
		char digest[65];
		sha256_hex(o->raw, o->raw_len, digest);
		json_object_set_new(inv, "sha256", json_string(digest));
	}
	if (o->source_name)
		json_object_set_new(inv, "source",
				    json_pack("{s:s, s:I}", "name", o->source_name, "line",
					      (json_int_t)o->source_line));
	json_object_set_new(ev, "invalid", inv);
	event_add_session(ev, s);
	event_add_identity(ev, c->cur_identity ? c->cur_identity : s->identity);
	event_emit(c, ev);
}

void emit_gap(struct correlator *c, struct stream *s, const struct obs *o)
{
	char seed[256];
	snprintf(seed, sizeof(seed), "%s|%llu", s->id, (unsigned long long)o->seq);
	json_t *ev = correlator_event(c, "capture.gap", o->time_ns, seed);
	json_object_set_new(ev, "gap",
			    json_pack("{s:I, s:I, s:s}", "frames", (json_int_t)o->gap_frames,
				      "bytes", (json_int_t)o->gap_bytes, "direction",
				      direction_name((int)o->dir)));
	event_add_session(ev, s);
	event_add_identity(ev, c->cur_identity ? c->cur_identity : s->identity);
	event_emit(c, ev);
}
