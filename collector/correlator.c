/* The correlation state machine. See correlator.h and ARCHITECTURE §4.
 *
 * Requests wait in `pending`, keyed by (stream, direction, JSON-RPC id), and in a list ordered by
 * arrival so timeouts are cheap. A response, a notifications/cancelled or a timeout closes them.
 * A task-augmented tools/call moves into its task, keyed by (server, taskId), and is emitted when
 * the task reaches a terminal status (or times out, or its server goes away). */
#include "collector/correlator_internal.h"
#include "collector/event.h"
#include "collector/redact.h"
#include "collector/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP "\x1f"

static bool span_is(struct json_span sp, const char *s)
{
	size_t n = strlen(s);
	return sp.ptr && sp.len == n && memcmp(sp.ptr, s, n) == 0;
}

static bool span_has_prefix(struct json_span sp, const char *s)
{
	size_t n = strlen(s);
	return sp.ptr && sp.len >= n && memcmp(sp.ptr, s, n) == 0;
}

char *span_dup(struct json_span sp)
{
	if (!sp.ptr)
		return NULL;
	char *p = malloc(sp.len + 1);
	if (!p)
		return NULL;
	memcpy(p, sp.ptr, sp.len);
	p[sp.len] = '\0';
	return p;
}

static char *str_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool task_status_terminal(const char *status)
{
	return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
			  strcmp(status, "cancelled") == 0);
}

void correlator_config_defaults(struct correlator_config *cfg)
{
	cfg->request_timeout_ns = 300LL * 1000000000LL;
	cfg->task_timeout_ns = 3600LL * 1000000000LL;
	cfg->invalid_events_per_stream = 100;
	cfg->max_pending = 1000000;
	cfg->redactor = NULL;
	cfg->arguments_cap = 4096;
	cfg->merge_window_ns = 5LL * 1000000000LL;
	cfg->max_hold_ns = 60LL * 1000000000LL;
	cfg->max_held = 100000;
	cfg->max_wait_ns = 60LL * 1000000000LL;
	cfg->hold_gateway_until_finish = false;
	cfg->scope_map = NULL;
	cfg->max_sampling_depth = 2;
}

struct correlator *correlator_new(const struct correlator_config *cfg, correlator_emit_fn emit,
				  void *ctx)
{
	struct correlator *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	else
		correlator_config_defaults(&c->cfg);
	c->emit = emit;
	c->emit_ctx = ctx;
	c->streams = hashmap_new();
	c->pending = hashmap_new();
	c->progress = hashmap_new();
	c->tasks = hashmap_new();
	if (!c->streams || !c->pending || !c->progress || !c->tasks) {
		correlator_free(c);
		return NULL;
	}
	return c;
}

/* ---- sessions and streams ---- */

static void session_free(struct session *ss)
{
	if (!ss)
		return;
	free(ss->id);
	free(ss->protocol_version);
	json_decref(ss->client);
	json_decref(ss->client_capabilities);
	json_decref(ss->server);
	json_decref(ss->server_capabilities);
	json_decref(ss->identity);
	free(ss);
}

static struct session *session_open(struct stream *s, int64_t time_ns, uint64_t seq)
{
	struct session *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return NULL;
	s->session_count++;
	if (s->session_count == 1) {
		ss->id = strdup(s->id);
	} else {
		char buf[32];
		snprintf(buf, sizeof(buf), "/%u", s->session_count);
		ss->id = malloc(strlen(s->id) + strlen(buf) + 1);
		if (ss->id)
			sprintf(ss->id, "%s%s", s->id, buf);
	}
	ss->started_ns = time_ns;
	ss->start_seq = seq;
	s->session = ss;
	return ss;
}

static struct session *session_of(struct stream *s, int64_t time_ns, uint64_t seq)
{
	return s->session ? s->session : session_open(s, time_ns, seq);
}

static void decref_value(void *p)
{
	json_decref(p);
}

static void stream_free(void *p)
{
	struct stream *s = p;
	if (!s)
		return;
	free(s->id);
	free(s->transport);
	free(s->server_key);
	json_decref(s->identity);
	hashmap_free(s->elicitations, decref_value);
	free(s->host);
	free(s->server_command);
	session_free(s->session);
	free(s);
}

static struct stream *stream_get(struct correlator *c, const struct obs *o)
{
	const char *id = o->stream ? o->stream : "unknown";
	struct stream *s = hashmap_get(c->streams, id, strlen(id));
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = strdup(id);
	s->transport = strdup(o->transport ? o->transport : "stdio");
	s->server_key = strdup(o->server_key ? o->server_key : id);
	s->started_ns = o->time_ns;
	if (!s->id || !s->transport || !s->server_key ||
	    !hashmap_put(c->streams, id, strlen(id), s)) {
		stream_free(s);
		return NULL;
	}
	return s;
}

/* ---- pending calls ---- */

static void call_free(struct call *call)
{
	if (!call)
		return;
	free(call->key);
	free(call->method);
	free(call->tool);
	free(call->target);
	free(call->rpc_id);
	free(call->progress_key);
	free(call->task_id);
	free(call->related_task);
	free(call->traceparent);
	free(call->user_agent);
	json_decref(call->params_summary);
	json_decref(call->identity);
	json_decref(call->retry_of);
	json_decref(call->arguments);
	free(call);
}

static size_t make_key(char *buf, size_t cap, const char *stream, int dir, const struct json_id *id)
{
	int n = snprintf(buf, cap, "%s" SEP "%d" SEP "%c", stream, dir,
			 id->kind == JSON_ID_STRING ? 's' : 'n');
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t len = (size_t)n;
	if (len + id->text.len >= cap)
		return 0;
	memcpy(buf + len, id->text.ptr, id->text.len);
	return len + id->text.len;
}

/* The stream part of a message key. Stateless HTTP traffic (no session) is scoped to its
 * exchange: two clients of one identity may both number their requests from 0. */
static const char *key_stream(struct correlator *c, struct stream *s, const struct obs *o)
{
	if (!o->id_scope)
		return s->id;
	strbuf_reset(&c->kbuf);
	strbuf_printf(&c->kbuf, "%s" SEP "%s", s->id, o->id_scope);
	return c->kbuf.data ? c->kbuf.data : s->id;
}

/* Keys can be long (string ids are unbounded): build them in a heap buffer when needed. */
static char *alloc_key(const char *stream, int dir, const struct json_id *id, size_t *len)
{
	size_t cap = strlen(stream) + id->text.len + 16;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	*len = make_key(buf, cap, stream, dir, id);
	if (!*len) {
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

static void pending_unlink(struct correlator *c, struct call *call)
{
	if (call->older)
		call->older->newer = call->newer;
	else
		c->oldest = call->newer;
	if (call->newer)
		call->newer->older = call->older;
	else
		c->newest = call->older;
	call->older = call->newer = NULL;
	hashmap_remove(c->pending, call->key, call->key_len);
	/* the progress token stays registered: a task keeps it until the task is terminal */
	c->pending_count--;
}

static void pending_link(struct correlator *c, struct call *call)
{
	call->older = c->newest;
	call->newer = NULL;
	if (c->newest)
		c->newest->newer = call;
	else
		c->oldest = call;
	c->newest = call;
	c->pending_count++;
}

static void progress_forget(struct correlator *c, struct call *call)
{
	if (call->progress_key) {
		hashmap_remove(c->progress, call->progress_key, strlen(call->progress_key));
		free(call->progress_key);
		call->progress_key = NULL;
	}
}

static void link_elicitation_retry(struct stream *s, struct call *call);

static bool is_tool_call(const struct call *call)
{
	return strcmp(call->method, "tools/call") == 0;
}

/* Emits the event that closes a request and frees it (unless a task took it). */
static void close_call(struct correlator *c, struct call *call, const char *outcome, int64_t end_ns,
		       const struct json_scan *response, const char *raw, size_t raw_len)
{
	/* never answered, and the last word was the authorization server's */
	if (strcmp(outcome, "no_response") == 0 &&
	    (call->last_http_status == 401 || call->last_http_status == 403))
		outcome = "denied";
	if (is_tool_call(call))
		emit_tool_call(c, call, outcome, end_ns, response, NULL);
	else
		emit_request(c, call, outcome, end_ns, response, raw, raw_len);
	progress_forget(c, call);
	call_free(call);
}

/* ---- tasks ---- */

static void task_free(void *p)
{
	struct task *t = p;
	if (!t)
		return;
	free(t->key);
	free(t->id);
	free(t->status);
	free(t->status_message);
	free(t->creator_key);
	json_decref(t->creator);
	call_free(t->call);
	free(t);
}

static struct task *task_get(struct correlator *c, struct stream *s, const char *task_id,
			     bool create, int64_t time_ns)
{
	size_t n = strlen(s->server_key) + strlen(task_id) + 2;
	char *key = malloc(n);
	if (!key)
		return NULL;
	snprintf(key, n, "%s" SEP "%s", s->server_key, task_id);
	struct task *t = hashmap_get(c->tasks, key, n - 1);
	if (t || !create) {
		free(key);
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		free(key);
		return NULL;
	}
	t->key = key;
	t->id = strdup(task_id);
	t->stream = s;
	char ckey[512];
	identity_key(c->cur_identity, ckey, sizeof(ckey));
	t->creator_key = strdup(ckey);
	t->creator = json_incref(c->cur_identity);
	t->created_ns = t->updated_ns = time_ns;
	t->ttl_ms = -1;
	if (!t->id || !hashmap_put(c->tasks, key, n - 1, t)) {
		task_free(t);
		return NULL;
	}
	c->stats.tasks++;
	return t;
}

static const char *outcome_for_task_status(const char *status)
{
	if (strcmp(status, "completed") == 0)
		return "ok";
	if (strcmp(status, "failed") == 0)
		return "tool_error";
	if (strcmp(status, "cancelled") == 0)
		return "cancelled";
	return "no_response";
}

static void task_emit_call(struct correlator *c, struct task *t, const char *outcome,
			   int64_t end_ns)
{
	if (!t->call || t->emitted)
		return;
	emit_tool_call(c, t->call, outcome, end_ns, NULL, t);
	progress_forget(c, t->call);
	t->emitted = true;
}

/* Evidence for a task finding: the call that created the task and the task's latest state
 * event. */
static json_t *task_evidence(const struct task *t, const struct stream *s, const char *status,
			     uint64_t seq)
{
	(void)s;
	json_t *ids = json_array();
	char id[33];
	if (t->call) {
		call_event_id(t->call, id);
		json_array_append_new(ids, json_string(id));
	}
	if (status) {
		char seed[512];
		snprintf(seed, sizeof(seed), "%s|%s|%llu", t->key, status, (unsigned long long)seq);
		event_id_for("mcp.task", seed, id);
		json_array_append_new(ids, json_string(id));
	}
	return ids;
}

/* A finding when a task is touched by another identity than the one that created it. */
static void task_check_identity(struct correlator *c, struct task *t, struct stream *s,
				int64_t time_ns, uint64_t seq, const struct call *touch)
{
	const char *action = touch->method;
	char key[512];
	identity_key(c->cur_identity, key, sizeof(key));
	if (!t->creator_key || !c->cur_identity || strcmp(t->creator_key, key) == 0)
		return;
	char seed[128];
	snprintf(seed, sizeof(seed), "finding|task_identity|%s|%llu", s->id,
		 (unsigned long long)seq);
	json_t *ev = correlator_event(c, "finding", time_ns, seed);
	json_t *f =
		json_pack("{s:s, s:s, s:s}", "kind", "task_cross_identity", "severity", "high",
			  "summary", "a task was touched by a different identity than its creator");
	json_object_set_new(f, "action", json_string(action));
	json_object_set_new(f, "creator", t->creator ? json_incref(t->creator) : json_null());
	json_t *evidence = task_evidence(t, s, NULL, 0);
	char touch_id[33];
	request_event_id(touch, touch_id);
	json_array_append_new(evidence, json_string(touch_id));
	json_object_set_new(f, "evidence", evidence);
	json_object_set_new(ev, "finding", f);
	json_object_set_new(
		ev, "task",
		json_pack("{s:s, s:s}", "id", t->id, "status", t->status ? t->status : "unknown"));
	event_add_session(ev, s);
	event_add_identity(ev, c->cur_identity);
	event_emit(c, ev);
}

/* A finding when a task is still alive after the token that created it expired: the work
 * outlives the authorization it started under. */
static void check_token_lifetime(struct correlator *c, struct task *t, struct stream *s,
				 int64_t time_ns, uint64_t seq)
{
	json_t *exp = json_object_get(json_object_get(t->creator, "token"), "exp");
	if (t->outlived_token || !json_is_integer(exp) ||
	    time_ns / 1000000000LL <= (int64_t)json_integer_value(exp))
		return;
	t->outlived_token = true;
	char seed[256];
	snprintf(seed, sizeof(seed), "finding|task_outlived_token|%s", t->key);
	json_t *ev = correlator_event(c, "finding", time_ns, seed);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", "task_outlived_token",
			      "severity", "medium", "summary",
			      "a task was still running after the token that created it expired",
			      "action", t->status ? t->status : "unknown", "token_exp",
			      (json_int_t)json_integer_value(exp));
	json_object_set_new(f, "creator", json_incref(t->creator));
	json_object_set_new(f, "evidence", task_evidence(t, s, t->status, seq));
	json_object_set_new(ev, "finding", f);
	json_object_set_new(ev, "task",
			    json_pack("{s:s, s:s, s:I}", "id", t->id, "status",
				      t->status ? t->status : "unknown", "seq", (json_int_t)seq));
	event_add_session(ev, s);
	event_add_identity(ev, c->cur_identity ? c->cur_identity : t->creator);
	event_emit(c, ev);
}

static void task_set_status(struct correlator *c, struct task *t, struct stream *s,
			    struct json_span status, struct json_span message, int64_t time_ns,
			    uint64_t seq, const char *why)
{
	if (!status.ptr)
		return;
	/* Only the protocol's statuses drive the lifecycle; anything else is counted, not
	 * believed. */
	if (!span_is(status, "working") && !span_is(status, "input_required") &&
	    !span_is(status, "completed") && !span_is(status, "failed") &&
	    !span_is(status, "cancelled")) {
		c->stats.unknown_task_status++;
		return;
	}
	t->updated_ns = time_ns;
	t->stream = s;
	if (message.ptr) {
		free(t->status_message);
		t->status_message = span_dup(message);
	}
	if (t->status && span_is(status, t->status))
		return;
	/* Terminal states never change; a server that says otherwise is recorded as it is, but
	 * the call, already emitted, is not reopened. */
	free(t->status);
	t->status = span_dup(status);
	if (!t->status)
		return;
	emit_task(c, t, s, time_ns, seq, why);
	check_token_lifetime(c, t, s, time_ns, seq);
	if (task_status_terminal(t->status))
		task_emit_call(c, t, outcome_for_task_status(t->status), time_ns);
}

/* ---- cold path: initialize, sampling, elicitation ---- */

static json_t *parse_raw(const struct obs *o)
{
	if (!o->raw)
		return NULL;
	return json_loadb(o->raw, o->raw_len, JSON_REJECT_DUPLICATES, NULL);
}

static json_t *string_or_null(json_t *v)
{
	return json_is_string(v) ? json_string(json_string_value(v)) : json_null();
}

static json_t *key_list(json_t *obj)
{
	json_t *arr = json_array();
	const char *k;
	json_t *v;
	if (json_is_object(obj))
		json_object_foreach(obj, k, v) json_array_append_new(arr, json_string(k));
	return arr;
}

static void flatten_keys(json_t *obj, const char *prefix, json_t *out, int depth)
{
	const char *k;
	json_t *v;
	if (!json_is_object(obj) || depth > 4)
		return;
	json_object_foreach(obj, k, v)
	{
		char path[256];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
		if (json_is_object(v) && json_object_size(v) > 0)
			flatten_keys(v, path, out, depth + 1);
		else
			json_array_append_new(out, json_string(path));
	}
}

/* A summary of declared capabilities that a reviewer can read and a schema can describe. */
static json_t *summarize_capabilities(json_t *caps, bool client)
{
	json_t *out = json_object();
	if (!json_is_object(caps))
		return out;
	json_t *present = key_list(caps);
	json_object_set_new(out, "declared", present);
	if (client) {
		json_t *el = json_object_get(caps, "elicitation");
		if (el) {
			json_t *modes = json_array();
			bool form = json_object_get(el, "form") != NULL;
			bool url = json_object_get(el, "url") != NULL;
			if (form || !url)
				json_array_append_new(modes, json_string("form"));
			if (url)
				json_array_append_new(modes, json_string("url"));
			json_object_set_new(out, "elicitation_modes", modes);
		}
		json_t *sampling = json_object_get(caps, "sampling");
		if (sampling)
			json_object_set_new(
				out, "sampling_tools",
				json_boolean(json_object_get(sampling, "tools") != NULL));
	}
	json_t *tasks = json_object_get(caps, "tasks");
	if (json_is_object(tasks)) {
		json_t *flat = json_array();
		flatten_keys(tasks, "", flat, 0);
		json_object_set_new(out, "tasks", flat);
	}
	json_t *ext = json_object_get(caps, "extensions");
	if (json_is_object(ext))
		json_object_set_new(out, "extensions", key_list(ext));
	json_t *exp = json_object_get(caps, "experimental");
	if (json_is_object(exp))
		json_object_set_new(out, "experimental", key_list(exp));
	return out;
}

static const char *const INFO_KEYS[] = {"name", "version", "title", "websiteUrl", NULL};

static json_t *summarize_info(json_t *info)
{
	json_t *out = json_object();
	if (!json_is_object(info))
		return out;
	static const char *const keys[] = {"name", "version", "title", "websiteUrl"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(info, keys[i]);
		if (json_is_string(v))
			json_object_set_new(out, keys[i], json_string(json_string_value(v)));
	}
	return out;
}

static void on_initialize_request(struct correlator *c, struct stream *s, const struct obs *o)
{
	struct session *ss = s->session;
	if (ss && (ss->client || ss->started_event)) {
		/* re-initialisation on the same stream: a new session */
		emit_session(c, s, "end", o->time_ns);
		session_free(ss);
		s->session = NULL;
	}
	ss = session_of(s, o->time_ns, o->seq);
	if (!ss)
		return;
	if (!ss->identity && c->cur_identity)
		ss->identity = json_incref(c->cur_identity);
	json_t *root = parse_raw(o);
	json_t *params = json_object_get(root, "params");
	json_t *pv = json_object_get(params, "protocolVersion");
	free(ss->protocol_version);
	ss->protocol_version = json_is_string(pv) ? strdup(json_string_value(pv)) : NULL;
	json_decref(ss->client);
	ss->client = summarize_info(json_object_get(params, "clientInfo"));
	ss->redactions += redact_members(c, ss->client, INFO_KEYS);
	json_decref(ss->client_capabilities);
	ss->client_capabilities =
		summarize_capabilities(json_object_get(params, "capabilities"), true);
	json_decref(root);
}

/* 2026-07-28 has no initialize: each request names its client in _meta. The first one a session
 * sees stands for the session (self-declared, like clientInfo). */
static void adopt_request_client_info(struct correlator *c, struct stream *s, struct session *ss,
				      const struct obs *o)
{
	json_t *root = parse_raw(o);
	json_t *meta = json_object_get(json_object_get(root, "params"), "_meta");
	ss->client = summarize_info(json_object_get(meta, "io.modelcontextprotocol/clientInfo"));
	ss->redactions += redact_members(c, ss->client, INFO_KEYS);
	json_t *caps = json_object_get(meta, "io.modelcontextprotocol/clientCapabilities");
	if (caps) {
		json_decref(ss->client_capabilities);
		ss->client_capabilities = summarize_capabilities(caps, true);
	}
	json_decref(root);
	if (!ss->started_event) {
		emit_session(c, s, "start", o->time_ns);
		ss->started_event = true;
	}
}

static void on_initialize_response(struct correlator *c, struct stream *s, const struct obs *o)
{
	struct session *ss = session_of(s, o->time_ns, o->seq);
	if (!ss)
		return;
	if (ss->started_event) {
		/* an answer to an earlier, overtaken initialize: the session already started */
		ss->duplicates++;
		return;
	}
	if (o->msg->kind == JSON_MSG_RESULT) {
		json_t *root = parse_raw(o);
		json_t *result = json_object_get(root, "result");
		json_t *pv = json_object_get(result, "protocolVersion");
		if (json_is_string(pv)) {
			free(ss->protocol_version);
			ss->protocol_version = strdup(json_string_value(pv));
		}
		json_decref(ss->server);
		ss->server = summarize_info(json_object_get(result, "serverInfo"));
		ss->redactions += redact_members(c, ss->server, INFO_KEYS);
		json_decref(ss->server_capabilities);
		ss->server_capabilities =
			summarize_capabilities(json_object_get(result, "capabilities"), false);
		json_decref(root);
	}
	emit_session(c, s, o->msg->kind == JSON_MSG_RESULT ? "start" : "init_failed", o->time_ns);
	ss->started_event = true;
}

/* What a reviewer needs to know about a server-initiated sampling or elicitation request. */
static json_t *summarize_server_request(const struct obs *o)
{
	json_t *root = parse_raw(o);
	json_t *params = json_object_get(root, "params");
	json_t *out = json_object();
	const struct json_scan *m = o->msg;
	if (span_is(m->method, "sampling/createMessage")) {
		json_t *tools = json_object_get(params, "tools");
		json_t *names = json_array();
		size_t i;
		json_t *tool;
		if (json_is_array(tools))
			json_array_foreach(tools, i, tool) json_array_append_new(
				names, string_or_null(json_object_get(tool, "name")));
		json_object_set_new(out, "tools", names);
		json_t *choice = json_object_get(json_object_get(params, "toolChoice"), "mode");
		json_object_set_new(out, "tool_choice", string_or_null(choice));
		json_t *max = json_object_get(params, "maxTokens");
		json_object_set_new(out, "max_tokens",
				    json_is_integer(max) ? json_integer(json_integer_value(max))
							 : json_null());
		json_object_set_new(out, "include_context",
				    string_or_null(json_object_get(params, "includeContext")));
		json_t *msgs = json_object_get(params, "messages");
		json_object_set_new(
			out, "messages",
			json_integer(json_is_array(msgs) ? (json_int_t)json_array_size(msgs) : 0));
	} else if (span_is(m->method, "elicitation/create")) {
		json_t *mode = json_object_get(params, "mode");
		json_object_set_new(
			out, "mode",
			json_string(json_is_string(mode) ? json_string_value(mode) : "form"));
		json_object_set_new(out, "elicitation_id",
				    string_or_null(json_object_get(params, "elicitationId")));
		json_t *url = json_object_get(params, "url");
		if (json_is_string(url)) {
			/* keep scheme://host/path only: a query can carry state a log need not hold
			 */
			const char *u = json_string_value(url);
			size_t n = strcspn(u, "?#");
			const char *at = memchr(u, '@', n);
			const char *scheme_end = strstr(u, "://");
			if (at && scheme_end && at > scheme_end) {
				char buf[512];
				snprintf(buf, sizeof(buf), "%.*s%.*s", (int)(scheme_end + 3 - u), u,
					 (int)(n - (size_t)(at + 1 - u)), at + 1);
				json_object_set_new(out, "url", json_string(buf));
			} else {
				json_object_set_new(out, "url", json_stringn(u, n < 512 ? n : 512));
			}
		}
		json_t *schema =
			json_object_get(json_object_get(params, "requestedSchema"), "properties");
		if (json_is_object(schema))
			json_object_set_new(out, "requested_fields", key_list(schema));
	}
	json_decref(root);
	return out;
}

/* ---- message handling ---- */

static void on_request(struct correlator *c, struct stream *s, const struct obs *o)
{
	const struct json_scan *m = o->msg;
	size_t key_len;
	char *key = alloc_key(key_stream(c, s, o), (int)o->dir, &m->id, &key_len);
	if (!key)
		return;
	struct call *prev = hashmap_get(c->pending, key, key_len);
	if (prev) {
		/* the same id again on this stream while open: a retry of the same logical call */
		prev->attempts++;
		c->stats.duplicate_requests++;
		if (s->session)
			s->session->duplicates++;
		free(key);
		return;
	}
	struct call *call = calloc(1, sizeof(*call));
	if (!call) {
		free(key);
		return;
	}
	call->key = key;
	call->key_len = key_len;
	call->stream = s;
	call->dir = (int)o->dir;
	call->method = span_dup(m->method);
	call->rpc_id = span_dup(m->id.text);
	call->rpc_id_is_string = m->id.kind == JSON_ID_STRING;
	call->start_ns = o->time_ns;
	call->seq = o->seq;
	call->attempts = 1;
	call->args_bytes = -1;
	call->traceparent = m->traceparent.ptr ? span_dup(m->traceparent) : str_dup(o->traceparent);
	call->user_agent = o->user_agent ? strndup(o->user_agent, 256) : NULL;
	call->identity = json_incref(c->cur_identity);
	call->related_task = span_dup(m->related_task_id);
	if (!call->method || !call->rpc_id) {
		call_free(call);
		return;
	}
	struct session *ss = session_of(s, o->time_ns, o->seq);
	if (span_is(m->method, "initialize")) {
		on_initialize_request(c, s, o);
		ss = s->session;
	}
	if (ss && !ss->identity && c->cur_identity)
		ss->identity = json_incref(c->cur_identity);
	if (ss && !ss->protocol_version && o->protocol_version)
		ss->protocol_version = strdup(o->protocol_version); /* stateless: the header */
	if (ss && m->meta_client_info && !ss->client)
		adopt_request_client_info(c, s, ss, o);
	if (o->dir == OBS_S2C && ss)
		ss->server_requests++;
	if (span_is(m->method, "ping") && ss)
		ss->pings++;

	if (span_is(m->method, "tools/call") || span_is(m->method, "prompts/get"))
		call->tool = redact_owned_string(c, span_dup(m->params_name), &call->redactions);
	if (span_is(m->method, "tools/call")) {
		call->task_augmented = m->params_has_task;
		if (m->arguments.ptr) {
			sha256_hex(m->arguments.ptr, m->arguments.len, call->args_sha256);
			call->args_bytes = (int64_t)m->arguments.len;
			if (c->cfg.redactor)
				call->arguments =
					redact_arguments(c->cfg.redactor, m->arguments.ptr,
							 m->arguments.len, c->cfg.arguments_cap);
		}
		if (ss)
			ss->calls++;
		link_elicitation_retry(s, call);
	}
	if (m->params_uri.ptr)
		call->target = redact_owned_string(c, span_dup(m->params_uri), &call->redactions);
	if (span_has_prefix(m->method, "tasks/") && m->params_task_id.ptr) {
		call->task_id = span_dup(m->params_task_id);
		struct task *t = call->task_id ? task_get(c, s, call->task_id, false, 0) : NULL;
		if (t) {
			if (span_is(m->method, "tasks/get"))
				t->polls++;
			else if (span_is(m->method, "tasks/cancel"))
				t->cancels++;
			task_check_identity(c, t, s, o->time_ns, o->seq, call);
		}
	}
	if (call->related_task) {
		struct task *t = task_get(c, s, call->related_task, false, 0);
		if (t)
			t->related_messages++;
	}
	if (span_is(m->method, "sampling/createMessage") ||
	    span_is(m->method, "elicitation/create"))
		call->params_summary = summarize_server_request(o);
	if (span_is(m->method, "sampling/createMessage"))
		findings_on_sampling_request(c, s, call);
	if (m->meta_progress_token.kind == JSON_ID_STRING ||
	    m->meta_progress_token.kind == JSON_ID_NUMBER) {
		size_t pk_len;
		char *pk = alloc_key(key_stream(c, s, o), 0, &m->meta_progress_token, &pk_len);
		if (pk && hashmap_put(c->progress, pk, pk_len, call))
			call->progress_key = pk;
		else
			free(pk);
	}
	if (!hashmap_put(c->pending, key, key_len, call)) {
		progress_forget(c, call);
		call_free(call);
		return;
	}
	pending_link(c, call);
	while (c->pending_count > c->cfg.max_pending && c->oldest) {
		struct call *old = c->oldest;
		pending_unlink(c, old);
		c->stats.evicted++;
		close_call(c, old, "no_response", c->now_ns, NULL, NULL, 0);
	}
}

/* A -32042 (URL elicitation required) answer: the client completes the elicitations, then
 * retries the same tool with the same arguments under a new id. Remember enough to link them. */
static void remember_url_elicitation(struct stream *s, struct call *call, const struct obs *o)
{
	json_t *root = parse_raw(o);
	json_t *list = json_object_get(json_object_get(json_object_get(root, "error"), "data"),
				       "elicitations");
	json_t *ids = json_array();
	size_t i;
	json_t *el;
	json_array_foreach(list, i, el)
	{
		json_t *id = json_object_get(el, "elicitationId");
		if (json_is_string(id) && json_array_size(ids) < 16)
			json_array_append_new(ids, json_string(json_string_value(id)));
	}
	json_decref(root);
	if (!s->elicitations)
		s->elicitations = hashmap_new();
	char key[256];
	snprintf(key, sizeof(key), "%s|%s", call->tool ? call->tool : "", call->args_sha256);
	json_t *link = json_pack("{s:s, s:o}", "rpc_id", call->rpc_id, "elicitation_ids", ids);
	if (!s->elicitations || !link || hashmap_count(s->elicitations) > 1024) {
		json_decref(link);
		return;
	}
	json_decref(hashmap_remove(s->elicitations, key, strlen(key)));
	hashmap_put(s->elicitations, key, strlen(key), link);
}

static void link_elicitation_retry(struct stream *s, struct call *call)
{
	if (!s->elicitations || !call->tool)
		return;
	char key[256];
	snprintf(key, sizeof(key), "%s|%s", call->tool, call->args_sha256);
	call->retry_of = hashmap_remove(s->elicitations, key, strlen(key));
}

static void on_tool_call_response(struct correlator *c, struct stream *s, struct call *call,
				  const struct obs *o)
{
	const struct json_scan *m = o->msg;
	struct session *ss = session_of(s, o->time_ns, o->seq);
	bool task_2026 = span_is(m->result_type, "task") && m->result_task_id_top.ptr;
	if (m->kind == JSON_MSG_RESULT && (m->result_task_id.ptr || task_2026)) {
		/* CreateTaskResult (2025-11-25: result.task; the 2026-07-28 tasks extension:
		 * resultType "task" with the task's fields in the result): the call lives on in
		 * its task */
		char *task_id =
			span_dup(m->result_task_id.ptr ? m->result_task_id : m->result_task_id_top);
		struct task *t = task_id ? task_get(c, s, task_id, true, o->time_ns) : NULL;
		if (!t) {
			free(task_id);
			close_call(c, call, "no_response", o->time_ns, m, NULL, 0);
			return;
		}
		free(call->task_id);
		call->task_id = task_id;
		if (t->call && t->call != call) {
			/* a taskId reused by the server: close the older call first */
			task_emit_call(c, t, "no_response", o->time_ns);
			call_free(t->call);
			t->call = NULL;
			t->emitted = false;
		}
		t->call = call;
		if (m->result_task_ttl >= 0)
			t->ttl_ms = m->result_task_ttl;
		if (!t->status || !task_status_terminal(t->status)) {
			struct json_span st =
				m->result_task_id.ptr ? m->result_task_status : m->result_status;
			if (!st.ptr)
				st = (struct json_span){"working", 7};
			task_set_status(c, t, s, st, (struct json_span){NULL, 0}, o->time_ns,
					o->seq, "created");
		} else {
			/* the status notification overtook the CreateTaskResult */
			task_emit_call(c, t, outcome_for_task_status(t->status), t->updated_ns);
		}
		return;
	}
	const char *outcome = "ok";
	if (m->kind == JSON_MSG_ERROR) {
		outcome = "rpc_error";
		if (ss)
			ss->rpc_errors++;
		if (m->error_code == -32042)
			remember_url_elicitation(s, call, o);
	} else if (m->result_is_error == 1) {
		outcome = "tool_error";
		if (ss)
			ss->tool_errors++;
	}
	close_call(c, call, outcome, o->time_ns, m, o->raw, o->raw_len);
}

static void on_task_method_response(struct correlator *c, struct stream *s, struct call *call,
				    const struct obs *o)
{
	const struct json_scan *m = o->msg;
	struct json_span tid =
		m->result_task_id_top.ptr ? m->result_task_id_top : m->related_task_id;
	char *tid_owned = tid.ptr ? span_dup(tid) : NULL;
	const char *task_id = tid_owned ? tid_owned : call->task_id;
	struct task *t = task_id ? task_get(c, s, task_id, true, o->time_ns) : NULL;
	const char *outcome = m->kind == JSON_MSG_ERROR ? "rpc_error" : "ok";
	if (t) {
		if (strcmp(call->method, "tasks/result") == 0) {
			t->results++;
			if (!task_status_terminal(t->status)) {
				/* tasks/result only answers once the task is terminal */
				const char *st =
					(m->kind == JSON_MSG_ERROR || m->result_is_error == 1)
						? "failed"
						: "completed";
				task_set_status(c, t, s, (struct json_span){st, strlen(st)},
						(struct json_span){NULL, 0}, o->time_ns, o->seq,
						"tasks/result");
			}
		} else if (m->kind == JSON_MSG_RESULT) {
			task_set_status(c, t, s, m->result_status, (struct json_span){NULL, 0},
					o->time_ns, o->seq, call->method);
		}
	}
	free(tid_owned);
	close_call(c, call, outcome, o->time_ns, m, o->raw, o->raw_len);
}

static void on_response(struct correlator *c, struct stream *s, const struct obs *o)
{
	const struct json_scan *m = o->msg;
	if (m->id.kind != JSON_ID_STRING && m->id.kind != JSON_ID_NUMBER) {
		c->stats.unmatched_responses++;
		if (s->session)
			s->session->unmatched++;
		return;
	}
	size_t key_len;
	char *key = alloc_key(key_stream(c, s, o), o->dir == OBS_C2S ? OBS_S2C : OBS_C2S, &m->id,
			      &key_len);
	struct call *call = key ? hashmap_get(c->pending, key, key_len) : NULL;
	free(key);
	if (!call) {
		c->stats.unmatched_responses++;
		if (s->session)
			s->session->unmatched++;
		return;
	}
	pending_unlink(c, call);
	if (m->related_task_id.ptr) {
		char *rt = span_dup(m->related_task_id);
		struct task *t = rt ? task_get(c, s, rt, false, 0) : NULL;
		if (t)
			t->related_messages++;
		free(rt);
	}
	if (strcmp(call->method, "initialize") == 0) {
		on_initialize_response(c, s, o);
		close_call(c, call, m->kind == JSON_MSG_ERROR ? "rpc_error" : "ok", o->time_ns, m,
			   o->raw, o->raw_len);
	} else if (is_tool_call(call)) {
		on_tool_call_response(c, s, call, o);
	} else if (strncmp(call->method, "tasks/", 6) == 0 &&
		   strcmp(call->method, "tasks/list") != 0) {
		on_task_method_response(c, s, call, o);
	} else if (strcmp(call->method, "ping") == 0) {
		progress_forget(c, call);
		call_free(call);
	} else {
		close_call(c, call, m->kind == JSON_MSG_ERROR ? "rpc_error" : "ok", o->time_ns, m,
			   o->raw, o->raw_len);
	}
}

static void on_notification(struct correlator *c, struct stream *s, const struct obs *o)
{
	const struct json_scan *m = o->msg;
	struct session *ss = session_of(s, o->time_ns, o->seq);
	if (ss)
		ss->notifications++;
	if (span_is(m->method, "notifications/cancelled")) {
		if (m->params_request_id.kind != JSON_ID_STRING &&
		    m->params_request_id.kind != JSON_ID_NUMBER)
			return;
		/* cancels a request the same side sent */
		size_t key_len;
		char *key = alloc_key(key_stream(c, s, o), (int)o->dir, &m->params_request_id,
				      &key_len);
		struct call *call = key ? hashmap_get(c->pending, key, key_len) : NULL;
		free(key);
		if (call) {
			pending_unlink(c, call);
			close_call(c, call, "cancelled", o->time_ns, NULL, NULL, 0);
		}
	} else if (span_is(m->method, "notifications/progress")) {
		const struct json_id *tok = &m->params_progress_token;
		struct call *call = NULL;
		if (tok->kind == JSON_ID_STRING || tok->kind == JSON_ID_NUMBER) {
			size_t pk_len;
			char *pk = alloc_key(key_stream(c, s, o), 0, tok, &pk_len);
			call = pk ? hashmap_get(c->progress, pk, pk_len) : NULL;
			free(pk);
		}
		if (call)
			call->progress++;
		else
			c->stats.orphan_progress++;
	} else if (span_is(m->method, "notifications/tasks/status")) {
		char *tid = span_dup(m->params_task_id);
		struct task *t = tid ? task_get(c, s, tid, true, o->time_ns) : NULL;
		free(tid);
		if (t) {
			t->status_notifications++;
			task_set_status(c, t, s, m->params_status, (struct json_span){NULL, 0},
					o->time_ns, o->seq, "notifications/tasks/status");
		}
	} else if (m->related_task_id.ptr) {
		char *rt = span_dup(m->related_task_id);
		struct task *t = rt ? task_get(c, s, rt, false, 0) : NULL;
		if (t)
			t->related_messages++;
		free(rt);
	}
}

/* ---- timeouts and ends ---- */

struct task_sweep {
	struct correlator *c;
	struct stream *only; /* NULL: all */
	bool end_of_input;
	struct task **list;
	size_t n, cap;
};

static void collect_task(void *ctx, const char *key, void *value)
{
	(void)key;
	struct task_sweep *sw = ctx;
	struct task *t = value;
	if (sw->n == sw->cap) {
		size_t cap = sw->cap ? sw->cap * 2 : 64;
		struct task **p = realloc(sw->list, cap * sizeof(*p));
		if (!p)
			return;
		sw->list = p;
		sw->cap = cap;
	}
	sw->list[sw->n++] = t;
}

static int compare_tasks(const void *a, const void *b)
{
	const struct task *x = *(struct task *const *)a, *y = *(struct task *const *)b;
	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Closes tasks that can no longer finish: their server ended (only != NULL), they outlived their
 * ttl or the task timeout, or the input ended. Emitted tasks are forgotten after a while. */
static void sweep_tasks(struct correlator *c, struct stream *only, bool end_of_input)
{
	struct task_sweep sw = {.c = c, .only = only, .end_of_input = end_of_input};
	hashmap_each(c->tasks, collect_task, &sw);
	if (sw.n > 1)
		qsort(sw.list, sw.n, sizeof(*sw.list), compare_tasks);
	for (size_t i = 0; i < sw.n; i++) {
		struct task *t = sw.list[i];
		size_t sk_len = only ? strlen(only->server_key) : 0;
		bool ours = only && strncmp(t->key, only->server_key, sk_len) == 0 &&
			    t->key[sk_len] == SEP[0];
		int64_t limit = c->cfg.task_timeout_ns;
		if (t->ttl_ms > 0 && t->ttl_ms * 1000000LL > limit)
			limit = t->ttl_ms * 1000000LL;
		bool expired = c->now_ns - t->updated_ns > limit;
		if (!t->emitted && t->call && (end_of_input || ours || expired))
			task_emit_call(c, t,
				       task_status_terminal(t->status)
					       ? outcome_for_task_status(t->status)
					       : "no_response",
				       end_of_input || ours ? c->now_ns : t->updated_ns + limit);
		bool forget = end_of_input || ours || (expired && (t->emitted || !t->call));
		if (forget) {
			if (t->call)
				progress_forget(c, t->call);
			hashmap_remove(c->tasks, t->key, strlen(t->key));
			task_free(t);
		}
	}
	free(sw.list);
}

static void sweep(struct correlator *c)
{
	if (c->now_ns - c->last_sweep_ns < 1000000000LL)
		return;
	bool tasks_due = c->now_ns / 10000000000LL != c->last_sweep_ns / 10000000000LL;
	c->last_sweep_ns = c->now_ns;
	while (c->oldest && c->now_ns - c->oldest->start_ns > c->cfg.request_timeout_ns) {
		struct call *old = c->oldest;
		pending_unlink(c, old);
		close_call(c, old, "no_response", old->start_ns + c->cfg.request_timeout_ns, NULL,
			   NULL, 0);
	}
	if (tasks_due)
		sweep_tasks(c, NULL, false);
}

static void end_stream(struct correlator *c, struct stream *s, int64_t time_ns)
{
	if (s->ended)
		return;
	/* requests still open on this stream will never be answered */
	struct call *call = c->oldest;
	while (call) {
		struct call *next = call->newer;
		if (call->stream == s) {
			pending_unlink(c, call);
			close_call(c, call, "no_response", time_ns, NULL, NULL, 0);
		}
		call = next;
	}
	/* a stdio server's tasks die with it */
	if (strcmp(s->transport, "stdio") == 0)
		sweep_tasks(c, s, false);
	session_of(s, time_ns, 0);
	emit_session(c, s, "end", time_ns);
	s->ended = true;
}

/* ---- entry points ---- */

/* `Bearer realm="x", error="insufficient_scope", scope="a b", resource_metadata="https://..."`
 * (RFC 6750 §3, RFC 9728) as {scheme, params..., scope: [...]}; unknown params are kept, values
 * are capped, and a malformed header yields what could be read. */
static json_t *www_authenticate_json(const char *h)
{
	json_t *o = json_object();
	if (!h)
		return o;
	size_t n = strcspn(h, " ");
	json_object_set_new(o, "scheme", json_stringn(h, n < 32 ? n : 32));
	const char *p = h + n;
	for (int params = 0; *p && params < 16; params++) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *eq = strchr(p, '=');
		if (!eq)
			break;
		char name[64];
		size_t nl = (size_t)(eq - p);
		snprintf(name, sizeof(name), "%.*s", (int)(nl < 63 ? nl : 63), p);
		p = eq + 1;
		struct strbuf v = STRBUF_INIT;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (v.len < 2048)
					strbuf_append(&v, p, 1);
			}
			if (*p == '"')
				p++;
		} else {
			size_t vl = strcspn(p, ", ");
			strbuf_append(&v, p, vl < 2048 ? vl : 2048);
			p += vl;
		}
		json_t *val;
		if (strcmp(name, "scope") == 0) {
			val = json_array();
			char *save = NULL;
			for (char *tok = v.data ? strtok_r(v.data, " ", &save) : NULL; tok;
			     tok = strtok_r(NULL, " ", &save))
				json_array_append_new(val, json_string(tok));
		} else {
			val = json_stringn(v.data ? v.data : "", v.len);
		}
		if (val && utf8_valid(name, strlen(name)))
			json_object_set_new(o, name, val);
		else
			json_decref(val);
		strbuf_free(&v);
	}
	return o;
}

/* An HTTP exchange that ended without a JSON-RPC answer: an authorization challenge (401, or a
 * 403 step-up), a refusal by the tap, or an upstream failure. The call it carried stays open: the
 * client may retry it with the same id. */
static void on_http_status(struct correlator *c, struct stream *s, const struct obs *o)
{
	struct call *call = NULL;
	if (o->http_rpc_id.kind == JSON_ID_STRING || o->http_rpc_id.kind == JSON_ID_NUMBER) {
		size_t key_len;
		char *key = alloc_key(key_stream(c, s, o), OBS_C2S, &o->http_rpc_id, &key_len);
		call = key ? hashmap_get(c->pending, key, key_len) : NULL;
		free(key);
	}
	if (call) {
		call->last_http_status = o->http_status;
		if (o->http_status == 401 || o->http_status == 403)
			call->auth_challenges++;
	}
	char seed[256];
	snprintf(seed, sizeof(seed), "%s|%llu|%d", s->id, (unsigned long long)o->seq,
		 o->http_status);
	bool auth = o->http_status == 401 || o->http_status == 403;
	json_t *ev = correlator_event(c, auth ? "mcp.auth" : "mcp.http_error", o->time_ns, seed);
	json_t *h = json_object();
	json_object_set_new(h, "status", json_integer(o->http_status));
	json_object_set_new(h, "method", json_string(o->http_method ? o->http_method : "?"));
	json_object_set_new(h, "outcome",
			    json_string(o->http_outcome ? o->http_outcome : "complete"));
	if (o->http_error)
		json_object_set_new(h, "error", json_string(o->http_error));
	if (call) {
		json_object_set_new(h, "rpc_method", json_string(call->method));
		json_object_set_new(h, "rpc_id", json_string(call->rpc_id));
		if (call->tool)
			json_object_set_new(h, "tool", json_string(call->tool));
	}
	if (auth) {
		json_object_set_new(
			h, "kind",
			json_string(o->http_status == 401 ? "challenge" : "insufficient_scope"));
		json_object_set_new(h, "challenge", www_authenticate_json(o->www_authenticate));
		json_object_set_new(ev, "auth", h);
	} else {
		json_object_set_new(ev, "http", h);
	}
	session_of(s, o->time_ns, o->seq);
	event_add_session(ev, s);
	event_add_identity(ev, c->cur_identity);
	event_emit(c, ev);
}

/* The identity of a stdio stream: whoever ran the tap, vouched for by its host. */
static json_t *stdio_identity(const struct obs *o)
{
	char issuer[300];
	const char *iss = o->identity.issuer;
	if (!iss && o->identity.source && strcmp(o->identity.source, "os_user") == 0) {
		snprintf(issuer, sizeof(issuer), "host:%s", o->host ? o->host : "unknown");
		iss = issuer;
	}
	json_t *id = json_object();
	json_object_set_new(id, "subject", json_string(o->identity.subject));
	json_object_set_new(id, "issuer", iss ? json_string(iss) : json_null());
	json_object_set_new(id, "client_id", json_null());
	json_object_set_new(id, "scopes", json_array());
	json_object_set_new(id, "actors", json_array());
	json_object_set_new(id, "source",
			    json_string(o->identity.source ? o->identity.source : "unknown"));
	json_object_set_new(id, "verified", json_false());
	return id;
}

void correlator_observe(struct correlator *c, const struct obs *o)
{
	c->stats.observations++;
	if (o->time_ns > c->now_ns)
		c->now_ns = o->time_ns;
	if (o->kind == OBS_GATEWAY) {
		gateway_observe(c, o);
		return;
	}
	if (o->kind == OBS_GRANT) {
		grant_observe(c, o);
		return;
	}
	gateway_tap_clock(c, o->time_ns);
	struct stream *s = stream_get(c, o);
	if (!s)
		return;
	c->cur_identity = o->principal ? o->principal : s->identity;
	if (o->time_ns > s->last_ns)
		s->last_ns = o->time_ns;
	switch (o->kind) {
	case OBS_STREAM_START:
		free(s->transport);
		/* the schema knows stdio and http; a record that claims anything else is kept
		 * apart rather than trusted */
		s->transport = strdup(!o->transport || strcmp(o->transport, "stdio") == 0 ? "stdio"
				      : strcmp(o->transport, "http") == 0		  ? "http"
									  : "unknown");
		free(s->host);
		s->host = str_dup(o->host);
		json_decref(s->identity);
		s->identity = o->principal	    ? json_incref(o->principal)
			      : o->identity.subject ? stdio_identity(o)
						    : NULL;
		if (o->server_key) {
			free(s->server_key);
			s->server_key = strdup(o->server_key);
		}
		free(s->server_command);
		s->server_command = str_dup(o->server_command);
		{
			unsigned n = 0;
			s->host = redact_owned_string(c, s->host, &n);
			s->server_command = redact_owned_string(c, s->server_command, &n);
			c->redactions += n; /* counted on the session's first event */
		}
		s->started_ns = o->time_ns;
		break;
	case OBS_MESSAGE:
		c->stats.messages++;
		switch (o->msg->kind) {
		case JSON_MSG_REQUEST:
			on_request(c, s, o);
			break;
		case JSON_MSG_RESULT:
		case JSON_MSG_ERROR:
			on_response(c, s, o);
			break;
		case JSON_MSG_NOTIFICATION:
			on_notification(c, s, o);
			break;
		case JSON_MSG_INVALID:
			break;
		}
		break;
	case OBS_INVALID: {
		c->stats.invalid++;
		struct session *ss = session_of(s, o->time_ns, o->seq);
		if (ss)
			ss->invalid++;
		if (s->invalid_events < c->cfg.invalid_events_per_stream) {
			s->invalid_events++;
			emit_invalid(c, s, o);
		} else {
			s->invalid_suppressed++;
		}
		break;
	}
	case OBS_GAP: {
		c->stats.gaps++;
		c->stats.gap_frames += o->gap_frames;
		struct session *ss = session_of(s, o->time_ns, o->seq);
		if (ss)
			ss->gaps_frames += o->gap_frames;
		emit_gap(c, s, o);
		break;
	}
	case OBS_STREAM_END:
		end_stream(c, s, o->time_ns);
		break;
	case OBS_HTTP_STATUS:
		on_http_status(c, s, o);
		break;
	case OBS_GATEWAY:
	case OBS_GRANT:
		break; /* handled above */
	}
	c->cur_identity = NULL; /* timeouts speak with each call's own identity */
	sweep(c);
}

struct stream_list {
	struct stream **items;
	size_t n, cap;
};

static void collect_stream(void *ctx, const char *key, void *value)
{
	(void)key;
	struct stream_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct stream **p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return;
		l->items = p;
		l->cap = cap;
	}
	l->items[l->n++] = value;
}

static int compare_streams(const void *a, const void *b)
{
	const struct stream *x = *(struct stream *const *)a, *y = *(struct stream *const *)b;
	if (x->started_ns != y->started_ns)
		return x->started_ns < y->started_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

void correlator_finish(struct correlator *c)
{
	struct stream_list l = {0};
	hashmap_each(c->streams, collect_stream, &l);
	if (l.n > 1)
		qsort(l.items, l.n, sizeof(*l.items), compare_streams);
	for (size_t i = 0; i < l.n; i++)
		if (!l.items[i]->ended)
			end_stream(c, l.items[i], l.items[i]->last_ns);
	free(l.items);
	sweep_tasks(c, NULL, true);
	gateway_finish(c);
	findings_finish(c);
}

const struct correlator_stats *correlator_stats(const struct correlator *c)
{
	return &c->stats;
}

static void call_free_value(void *p)
{
	call_free(p);
}

void correlator_free(struct correlator *c)
{
	if (!c)
		return;
	gateway_free(c);
	findings_free(c);
	hashmap_free(c->pending, call_free_value);
	hashmap_free(c->progress, NULL);
	hashmap_free(c->tasks, task_free);
	hashmap_free(c->streams, stream_free);
	strbuf_free(&c->kbuf);
	free(c);
}
