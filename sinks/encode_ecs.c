/* encode_ecs: an mcptrail/1 event as an Elastic Common Schema document. The categorization fields
 * (event.kind/category/type/outcome), user.*, related.user, user_agent.* (the MCP client),
 * service.* (the MCP server), http.*, trace.id and rule.* use ECS names; everything MCP-specific
 * is kept, verbatim, in the custom namespace mcp.* (ECS leaves custom top-level namespaces to the
 * user). schemas/mapping.md explains each choice. */
#include "sinks/encode_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct ecs_class {
	const char *kind;
	const char *category; /* NULL: none fits */
	const char *type;
};

static const char *verb_type(enum api_activity verb)
{
	switch (verb) {
	case API_CREATE:
		return "creation";
	case API_UPDATE:
		return "change";
	case API_DELETE:
		return "deletion";
	default:
		return "access"; /* reads, and calls whose effect is unknown */
	}
}

static struct ecs_class ecs_classify(const struct event_view *v)
{
	switch (v->kind) {
	case EVENT_TOOL_CALL:
	case EVENT_TASK:
	case EVENT_REQUEST:
	case EVENT_SAMPLING:
	case EVENT_ELICITATION:
	case EVENT_ROOTS:
		return (struct ecs_class){"event", "api", verb_type(v->verb)};
	case EVENT_SESSION:
		if (vstr_eq(v->detail, "end"))
			return (struct ecs_class){"event", "session", "end"};
		if (vstr_eq(v->detail, "start") || vstr_eq(v->detail, "init_failed"))
			return (struct ecs_class){"event", "session", "start"};
		return (struct ecs_class){"event", "session", "info"};
	case EVENT_AUTH:
		if (vstr_eq(v->action, "auth.insufficient_scope"))
			return (struct ecs_class){"event", "api", "denied"};
		return (struct ecs_class){"event", "authentication", "start"};
	case EVENT_HTTP_ERROR:
		return (struct ecs_class){"event", "web", "error"};
	case EVENT_INVALID_MESSAGE:
		return (struct ecs_class){"event", "api", "info"};
	case EVENT_FINDING:
		return (struct ecs_class){"alert", "intrusion_detection", "info"};
	case EVENT_GRANT:
		return (struct ecs_class){"event", "authentication", "start"};
	case EVENT_CAPTURE_GAP:
	case EVENT_INGEST_ERROR:
		return (struct ecs_class){"pipeline_error", NULL, "error"};
	case EVENT_INGEST_SUMMARY:
		return (struct ecs_class){"metric", NULL, "info"};
	default:
		return (struct ecs_class){"event", NULL, "info"};
	}
}

static void ecs_list(struct json_build *b, json_t *obj, const char *key, const char *value)
{
	json_t *list = jb_set(b, obj, key, json_array());
	jb_append(b, list, json_string(value));
}

static void ecs_event(struct json_build *b, json_t *root, const struct event_view *v)
{
	struct ecs_class c = ecs_classify(v);
	json_t *event = jb_object(b, root, "event");
	jb_cstr(b, event, "kind", c.kind);
	if (c.category)
		ecs_list(b, event, "category", c.category);
	ecs_list(b, event, "type", c.type);
	jb_str(b, event, "action", v->action);
	jb_cstr(b, event, "outcome", v->outcome);
	jb_str(b, event, "id", v->event_id);
	struct strbuf dataset = STRBUF_INIT;
	if (strbuf_append_str(&dataset, "mcptrail.") &&
	    strbuf_append(&dataset, v->type.s, v->type.len))
		jb_set(b, event, "dataset", json_stringn(dataset.data, dataset.len));
	else
		b->failed = true;
	strbuf_free(&dataset);
	jb_cstr(b, event, "module", ENCODE_PRODUCT);
	jb_int(b, event, "severity", v->severity);
	if (v->has_latency && fabs(v->latency_ms) < 9e12)
		jb_int(b, event, "duration", (json_int_t)llround(v->latency_ms * 1e6));
	if (v->has_started)
		jb_str(b, event, "start", v->started_at);
	if (v->has_ended)
		jb_str(b, event, "end", v->ended_at);
}

static bool list_has(const json_t *list, const json_t *value)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		if (json_equal(item, value))
			return true;
	}
	return false;
}

/* user.* is the subject; related.user every identity seen on the event: the subject, the
 * delegation chain (identity.actors, kept in order in mcp.identity.actors) and, for a finding,
 * the creator of the task it is about. */
static void ecs_user(struct json_build *b, json_t *root, const struct event_view *v)
{
	if (v->subject.s) {
		json_t *user = jb_object(b, root, "user");
		jb_str(b, user, "id", v->subject);
		jb_str(b, user, "name", v->subject);
		jb_str(b, user, "domain", v->issuer);
	}
	json_t *related = json_array();
	if (v->subject.s)
		jb_append(b, related, json_stringn(v->subject.s, v->subject.len));
	size_t i;
	json_t *actor;
	json_array_foreach(v->actors, i, actor)
	{
		if (json_is_string(actor) && related && !list_has(related, actor))
			jb_append(b, related, json_deep_copy(actor));
	}
	json_t *creator = v->creator_subject.s
				  ? json_stringn(v->creator_subject.s, v->creator_subject.len)
				  : NULL;
	if (creator && related && !list_has(related, creator))
		jb_append(b, related, json_incref(creator));
	json_decref(creator);
	if (related && json_array_size(related) > 0)
		jb_set(b, jb_object(b, root, "related"), "user", related);
	else
		json_decref(related);
}

static void ecs_context(struct json_build *b, json_t *root, const struct event_view *v)
{
	if (v->client_name.s) {
		json_t *agent = jb_object(b, root, "user_agent");
		jb_str(b, agent, "name", v->client_name);
		jb_str(b, agent, "version", v->client_version);
	}
	if (v->server_name.s) {
		json_t *service = jb_object(b, root, "service");
		jb_str(b, service, "name", v->server_name);
		jb_str(b, service, "version", v->server_version);
	}
	if (v->host.s)
		jb_str(b, jb_object(b, root, "host"), "hostname", v->host);
	if (v->http_method.s || v->http_status) {
		json_t *http = jb_object(b, root, "http");
		if (v->http_method.s)
			jb_str(b, jb_object(b, http, "request"), "method", v->http_method);
		if (v->http_status)
			jb_int(b, jb_object(b, http, "response"), "status_code", v->http_status);
	}
	if (v->url.s)
		jb_str(b, jb_object(b, root, "url"), "original", v->url);
	char trace_id[33];
	if (traceparent_trace_id(v->traceparent, trace_id))
		jb_cstr(b, jb_object(b, root, "trace"), "id", trace_id);
}

int encode_ecs(const struct event_view *v, struct strbuf *out)
{
	struct json_build b = {false};
	json_t *root = json_object();
	if (!root)
		return -1;
	jb_str(&b, root, "@timestamp", v->time);
	jb_cstr(&b, jb_object(&b, root, "ecs"), "version", ENCODE_ECS_VERSION);
	ecs_event(&b, root, v);
	jb_str(&b, root, "message", v->message);
	if (v->status == STATUS_FAILURE && (v->has_error_code || v->message.s)) {
		json_t *error = jb_object(&b, root, "error");
		if (v->has_error_code) {
			char code[32];
			snprintf(code, sizeof(code), "%lld", (long long)v->error_code);
			jb_cstr(&b, error, "code", code);
		}
		jb_str(&b, error, "message", v->message);
		jb_str(&b, error, "type", v->detail);
	}
	ecs_user(&b, root, v);
	ecs_context(&b, root, v);
	if (v->kind == EVENT_FINDING) {
		json_t *rule = jb_object(&b, root, "rule");
		jb_str(&b, rule, "name", v->finding_kind);
		jb_str(&b, rule, "description", v->message);
	}
	jb_set(&b, root, "mcp", jb_mcp_members(&b, v));
	return jb_finish(&b, root, out);
}
