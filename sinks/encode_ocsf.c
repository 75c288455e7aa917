/* encode_ocsf: an mcptrail/1 event as an OCSF 1.8.0 event. MCP operations are API Activity
 * (6003); a 401 challenge is Authentication (3002), a 403 insufficient_scope is Authorize Session
 * (3003); a finding is a Detection Finding (2004); the collector's own events (capture gaps,
 * ingest errors and summaries) are Base Events (0). Everything MCP-specific is kept, verbatim,
 * under unmapped.mcp. schemas/mapping.md explains each choice. */
#include "sinks/encode_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct ocsf_class {
	int class_uid;
	int category_uid;
	const char *class_name;
	const char *category_name;
	int activity_id;
	const char *activity_caption;
};

static const char *api_activity_caption(int activity)
{
	switch (activity) {
	case API_CREATE:
		return "Create";
	case API_READ:
		return "Read";
	case API_UPDATE:
		return "Update";
	case API_DELETE:
		return "Delete";
	default:
		return "Other";
	}
}

static bool is_insufficient_scope(const struct event_view *v)
{
	return vstr_eq(v->action, "auth.insufficient_scope");
}

static void ocsf_classify(const struct event_view *v, struct ocsf_class *c)
{
	switch (v->kind) {
	case EVENT_TOOL_CALL:
	case EVENT_TASK:
	case EVENT_REQUEST:
	case EVENT_SAMPLING:
	case EVENT_ELICITATION:
	case EVENT_ROOTS:
	case EVENT_SESSION:
	case EVENT_HTTP_ERROR:
	case EVENT_INVALID_MESSAGE:
		*c = (struct ocsf_class){6003,		 6,
					 "API Activity", "Application Activity",
					 (int)v->verb,	 api_activity_caption((int)v->verb)};
		break;
	case EVENT_AUTH:
		if (is_insufficient_scope(v))
			*c = (struct ocsf_class){3003,
						 3,
						 "Authorize Session",
						 "Identity & Access Management",
						 1,
						 "Assign Privileges"};
		else
			*c = (struct ocsf_class){
				3002, 3,      "Authentication", "Identity & Access Management",
				1,    "Logon"};
		break;
	case EVENT_FINDING:
		*c = (struct ocsf_class){2004, 2, "Detection Finding", "Findings", 1, "Create"};
		break;
	case EVENT_GRANT:
		/* an access token issued for a resource is OCSF's closest analogue of a service
		 * ticket */
		*c = (struct ocsf_class){3002,
					 3,
					 "Authentication",
					 "Identity & Access Management",
					 4,
					 "Service Ticket Request"};
		break;
	default:
		*c = (struct ocsf_class){0, 0, "Base Event", "Uncategorized", 99, "Other"};
		break;
	}
}

static const char *severity_caption(int severity)
{
	static const char *const captions[] = {"Unknown", "Informational", "Low",
					       "Medium",  "High",	   "Critical"};
	return severity >= 0 && severity <= 5 ? captions[severity] : "Other";
}

/* The user an event is attributed to. Classes that require a user (Authentication, Authorize
 * Session) get a placeholder named after the identity source when there is no subject: an
 * unauthenticated request is the usual reason for a 401. */
static void ocsf_user(struct json_build *b, json_t *parent, const struct event_view *v,
		      bool placeholder)
{
	char name[80];
	if (!v->subject.s && !placeholder)
		return;
	json_t *user = jb_object(b, parent, "user");
	if (v->subject.s) {
		jb_str(b, user, "uid", v->subject);
		jb_str(b, user, "name", v->subject);
	} else {
		const char *source = "unknown";
		int source_len = 7;
		if (v->identity_source.s &&
		    !memchr(v->identity_source.s, '\0', v->identity_source.len)) {
			source = v->identity_source.s;
			source_len = v->identity_source.len > 64 ? 64 : (int)v->identity_source.len;
		}
		snprintf(name, sizeof(name), "(%.*s)", source_len, source);
		jb_cstr(b, user, "name", name);
	}
	jb_str(b, user, "domain", v->issuer);
	jb_str(b, user, "credential_uid", v->fingerprint);
	if (vstr_eq(v->token_class, "client_credentials") ||
	    vstr_eq(v->identity_class, "service")) {
		jb_int(b, user, "type_id", 4);
		jb_cstr(b, user, "type", "Service");
	} else if (vstr_eq(v->identity_class, "human")) {
		jb_int(b, user, "type_id", 1);
		jb_cstr(b, user, "type", "User");
	} else if (vstr_eq(v->identity_class, "agent")) {
		jb_int(b, user, "type_id", 99);
		jb_cstr(b, user, "type", "AI Agent");
	}
}

static void ocsf_session(struct json_build *b, json_t *parent, const struct event_view *v)
{
	if (!v->session_id.s)
		return;
	json_t *session = jb_object(b, parent, "session");
	jb_str(b, session, "uid", v->session_id);
	jb_str(b, session, "issuer", v->issuer);
}

static void ocsf_actor(struct json_build *b, json_t *parent, const struct event_view *v,
		       bool with_user)
{
	json_t *actor = jb_object(b, parent, "actor");
	if (with_user)
		ocsf_user(b, actor, v, false);
	jb_str(b, actor, "app_name", v->client_name);
	jb_str(b, actor, "app_uid", v->client_id);
	ocsf_session(b, actor, v);
	if (actor && json_object_size(actor) == 0)
		ocsf_user(b, actor, v, true); /* the actor needs at least one member */
}

/* The MCP client and server as network endpoints. No addresses are captured, so they are named
 * after the peers' self-declared implementation names (or their role). */
static void ocsf_endpoints(struct json_build *b, json_t *root, const struct event_view *v,
			   bool with_src)
{
	bool from_server = vstr_eq(v->direction, "server_to_client");
	json_t *client = json_object(), *server = json_object();
	jb_str(b, client, "name", v->client_name.s ? v->client_name : vstr_c("mcp-client"));
	jb_str(b, server, "name", v->server_name.s ? v->server_name : vstr_c("mcp-server"));
	jb_cstr(b, server, "svc_name", "mcp");
	if (with_src)
		jb_set(b, root, "src_endpoint",
		       from_server ? json_incref(server) : json_incref(client));
	jb_set(b, root, "dst_endpoint", from_server ? json_incref(client) : json_incref(server));
	json_decref(client);
	json_decref(server);
}

/* The WWW-Authenticate scheme as an OCSF auth_protocol_id. */
static void ocsf_auth_protocol(struct json_build *b, json_t *root, struct vstr scheme)
{
	static const struct {
		const char *scheme;
		int id;
		const char *caption;
	} protocols[] = {{"bearer", 6, "OAUTH 2.0"},
			 {"basic", 11, "Basic Authentication"},
			 {"digest", 3, "Digest"},
			 {"ntlm", 1, "NTLM"}};
	if (!scheme.s) {
		jb_int(b, root, "auth_protocol_id", 0);
		jb_cstr(b, root, "auth_protocol", "Unknown");
		return;
	}
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (scheme.len == strlen(protocols[i].scheme) &&
		    strncasecmp(scheme.s, protocols[i].scheme, scheme.len) == 0) {
			jb_int(b, root, "auth_protocol_id", protocols[i].id);
			jb_cstr(b, root, "auth_protocol", protocols[i].caption);
			return;
		}
	jb_int(b, root, "auth_protocol_id", 99);
	jb_str(b, root, "auth_protocol", scheme);
}

static void ocsf_http(struct json_build *b, json_t *root, const struct event_view *v)
{
	if (v->http_method.s)
		jb_str(b, jb_object(b, root, "http_request"), "http_method", v->http_method);
	if (v->http_status && v->kind != EVENT_AUTH)
		jb_int(b, jb_object(b, root, "http_response"), "code", v->http_status);
}

static json_t *ocsf_resource(struct json_build *b, json_t **resources, json_t *root,
			     const char *key, struct vstr value, const char *type)
{
	if (!value.s)
		return NULL;
	if (!*resources)
		*resources = jb_set(b, root, "resources", json_array());
	json_t *r = json_object();
	jb_str(b, r, key, value);
	jb_cstr(b, r, "type", type);
	jb_append(b, *resources, r);
	return b->failed ? NULL : r;
}

static void ocsf_resources(struct json_build *b, json_t *root, const struct event_view *v)
{
	json_t *resources = NULL;
	const char *target_type = "mcp.target";
	if (v->method.s && v->method.len > 10 && memcmp(v->method.s, "resources/", 10) == 0)
		target_type = "mcp.resource";
	else if (v->method.s && v->method.len > 8 && memcmp(v->method.s, "prompts/", 8) == 0)
		target_type = "mcp.prompt";
	ocsf_resource(b, &resources, root, "name", v->tool, "mcp.tool");
	ocsf_resource(b, &resources, root, "name", v->target, target_type);
	json_t *task = ocsf_resource(b, &resources, root, "uid", v->task_id, "mcp.task");
	if (task && v->creator_subject.s) { /* a finding about someone else's task */
		json_t *owner = jb_object(b, task, "owner");
		jb_str(b, owner, "uid", v->creator_subject);
		jb_str(b, owner, "name", v->creator_subject);
		jb_str(b, owner, "domain", v->creator_issuer);
	}
	ocsf_resource(b, &resources, root, "name", v->url,
		      v->kind == EVENT_FINDING ? "mcp.client_metadata" : "url");
}

static void ocsf_api(struct json_build *b, json_t *root, const struct event_view *v)
{
	json_t *api = jb_object(b, root, "api");
	jb_str(b, api, "operation", v->operation.s ? v->operation : v->action);
	if (v->rpc_id.s)
		jb_str(b, jb_object(b, api, "request"), "uid", v->rpc_id);
	json_t *response = json_object();
	if (v->has_error_code)
		jb_int(b, response, "code", v->error_code);
	else if (v->http_status)
		jb_int(b, response, "code", v->http_status);
	if (v->status == STATUS_FAILURE) {
		jb_str(b, response, "error", v->detail.s ? v->detail : v->action);
		jb_str(b, response, "error_message", v->message);
	} else {
		jb_str(b, response, "message", v->message);
	}
	if (response && json_object_size(response) > 0)
		jb_set(b, api, "response", response);
	else
		json_decref(response);
	if (v->server_name.s) {
		json_t *service = jb_object(b, api, "service");
		jb_str(b, service, "name", v->server_name);
		jb_str(b, service, "version", v->server_version);
	}
	jb_str(b, api, "version", v->protocol_version);
}

static void ocsf_finding(struct json_build *b, json_t *root, const struct event_view *v)
{
	json_t *info = jb_object(b, root, "finding_info");
	jb_str(b, info, "uid", v->event_id);
	jb_str(b, info, "title", v->message.s ? v->message : v->action);
	jb_str(b, info, "desc", v->message);
	if (v->finding_kind.s) {
		json_t *types = jb_set(b, info, "types", json_array());
		jb_append(b, types, json_stringn(v->finding_kind.s, v->finding_kind.len));
		json_t *analytic = jb_object(b, info, "analytic");
		jb_str(b, analytic, "name", v->finding_kind);
		jb_int(b, analytic, "type_id", 1);
		jb_cstr(b, analytic, "type", "Rule");
	}
	jb_int(b, info, "created_time", v->time_ms);
	jb_bool(b, root, "is_alert", true);
	/* the activity that triggered the finding: who did what */
	json_t *evidences = jb_set(b, root, "evidences", json_array());
	json_t *evidence = json_object();
	ocsf_actor(b, evidence, v, true);
	if (v->finding_action.s && v->finding_action.len > 6 &&
	    memcmp(v->finding_action.s, "tasks/", 6) == 0)
		jb_str(b, jb_object(b, evidence, "api"), "operation", v->finding_action);
	jb_append(b, evidences, evidence);
	ocsf_resources(b, root, v);
}

static void ocsf_status(struct json_build *b, json_t *root, const struct event_view *v)
{
	static const char *const captions[] = {"Unknown", "Success", "Failure"};
	if (v->kind == EVENT_FINDING) { /* a finding's status is its triage state */
		jb_int(b, root, "status_id", 1);
		jb_cstr(b, root, "status", "New");
		return;
	}
	jb_int(b, root, "status_id", (json_int_t)v->status);
	if (v->status == STATUS_OTHER)
		jb_str(b, root, "status", v->detail.s ? v->detail : vstr_c("Other"));
	else
		jb_cstr(b, root, "status", captions[v->status]);
	char code[32];
	if (v->http_status && (v->kind == EVENT_AUTH || v->kind == EVENT_HTTP_ERROR)) {
		snprintf(code, sizeof(code), "%lld", (long long)v->http_status);
		jb_cstr(b, root, "status_code", code);
	} else if (v->has_error_code) {
		snprintf(code, sizeof(code), "%lld", (long long)v->error_code);
		jb_cstr(b, root, "status_code", code);
	}
	if (v->kind == EVENT_AUTH && v->challenge_error.s)
		jb_str(b, root, "status_detail", v->challenge_error);
	else
		jb_str(b, root, "status_detail", v->detail);
}

static void ocsf_times(struct json_build *b, json_t *root, const struct event_view *v)
{
	jb_int(b, root, "time", v->time_ms);
	if (v->has_started)
		jb_int(b, root, "start_time", v->started_ms);
	if (v->has_ended)
		jb_int(b, root, "end_time", v->ended_ms);
	if (v->has_latency && fabs(v->latency_ms) < 9e15)
		jb_int(b, root, "duration", (json_int_t)llround(v->latency_ms));
}

static void ocsf_metadata(struct json_build *b, json_t *root, const struct event_view *v)
{
	json_t *md = jb_object(b, root, "metadata");
	jb_cstr(b, md, "version", ENCODE_OCSF_VERSION);
	json_t *product = jb_object(b, md, "product");
	jb_cstr(b, product, "name", ENCODE_PRODUCT);
	jb_cstr(b, product, "vendor_name", ENCODE_PRODUCT);
	jb_cstr(b, product, "version", MCPTRAIL_VERSION);
	jb_str(b, md, "uid", v->event_id);
	jb_str(b, md, "original_time", v->time);
	jb_str(b, md, "event_code", v->type);
	const json_t *schema = json_object_get(v->event, "schema");
	if (json_is_string(schema))
		jb_copy(b, md, "log_version", schema);
	char trace_id[33];
	if (traceparent_trace_id(v->traceparent, trace_id))
		jb_cstr(b, md, "correlation_uid", trace_id);
}

int encode_ocsf(const struct event_view *v, struct strbuf *out)
{
	struct json_build b = {false};
	struct ocsf_class c;
	char type_name[96];
	ocsf_classify(v, &c);
	json_t *root = json_object();
	if (!root)
		return -1;
	jb_int(&b, root, "activity_id", c.activity_id);
	if (c.activity_id == 99)
		jb_str(&b, root, "activity_name", v->operation.s ? v->operation : v->action);
	else
		jb_cstr(&b, root, "activity_name", c.activity_caption);
	jb_int(&b, root, "category_uid", c.category_uid);
	jb_cstr(&b, root, "category_name", c.category_name);
	jb_int(&b, root, "class_uid", c.class_uid);
	jb_cstr(&b, root, "class_name", c.class_name);
	jb_int(&b, root, "type_uid", (json_int_t)c.class_uid * 100 + c.activity_id);
	snprintf(type_name, sizeof(type_name), "%s: %s", c.class_name, c.activity_caption);
	jb_cstr(&b, root, "type_name", type_name);
	jb_int(&b, root, "severity_id", v->severity);
	jb_cstr(&b, root, "severity", severity_caption(v->severity));
	ocsf_status(&b, root, v);
	ocsf_times(&b, root, v);
	jb_str(&b, root, "message", v->message);
	ocsf_metadata(&b, root, v);

	switch (c.class_uid) {
	case 6003:
		ocsf_actor(&b, root, v, true);
		ocsf_api(&b, root, v);
		ocsf_resources(&b, root, v);
		ocsf_endpoints(&b, root, v, true);
		ocsf_http(&b, root, v);
		break;
	case 3002:
	case 3003:
		ocsf_user(&b, root, v, true);
		ocsf_session(&b, root, v);
		ocsf_endpoints(&b, root, v, c.class_uid == 3002);
		if (c.class_uid == 3002) {
			json_t *actor = jb_object(&b, root, "actor");
			jb_str(&b, actor, "app_name", v->client_name);
			jb_str(&b, actor, "app_uid", v->client_id);
			ocsf_session(&b, actor, v);
			if (actor && json_object_size(actor) == 0)
				json_object_del(root, "actor");
			ocsf_auth_protocol(&b, root,
					   v->kind == EVENT_GRANT ? vstr_c("bearer")
								  : v->challenge_scheme);
			jb_bool(&b, root, "is_remote", vstr_eq(v->transport, "http"));
			ocsf_http(&b, root, v);
		} else {
			/* the scopes the server asks for: the privileges the step-up would assign
			 */
			if (v->challenge_scope)
				jb_copy(&b, root, "privileges", v->challenge_scope);
			else
				jb_set(&b, root, "privileges", json_array());
		}
		break;
	case 2004:
		ocsf_finding(&b, root, v);
		break;
	default:
		break;
	}
	json_t *unmapped = jb_object(&b, root, "unmapped");
	jb_set(&b, unmapped, "mcp", jb_mcp_members(&b, v));
	return jb_finish(&b, root, out);
}
