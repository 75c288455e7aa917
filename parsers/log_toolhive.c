/* ToolHive (and its virtual MCP server) audit events, one JSON object a line.
 *
 * Sources followed: stacklok/toolhive-core audit/event.go (AuditEvent, LogTo), audit/mcp_events.go
 * (event types, target/subject/source/metadata keys), audit/delegation.go (DelegationChain);
 * docs.stacklok.com/toolhive/guides-vmcp/audit-logging.
 *
 * Two spellings of the same event reach us:
 *   slog (LogTo): {"time":..., "level":"AUDIT", "msg":"audit_event", "audit_id":..., "type":...,
 *                  "logged_at":..., "outcome":..., "component":..., "source":{type,value,extra},
 *                  "subjects":{...}, "target":{...}, "metadata":{"extra":{...}},
 * "delegation":{...}} struct JSON:  {"metadata":{"auditId":..., "extra":{...}}, "type":...,
 * "loggedAt":..., ...} Both are accepted. The level is "AUDIT" when the handler names the custom
 * level, else slog's default "INFO+2"; neither is required.
 *
 * Identity: subjects.user_id is the OIDC sub and becomes identity.subject; subjects.user is the
 * display name (name / email claim, or "anonymous") and is used only when user_id is missing.
 * "anonymous" without a user_id is an anonymous identity. client_name / client_version are the
 * self-declared MCP client (initialize clientInfo).
 *
 * delegation.chain is outermost-first: chain[0] is the current actor, later entries are earlier
 * actors, and the on-behalf-of user is not in the chain (it is the subject). That is our actors
 * order, so the chain's sub values are copied as they come.
 *
 * The event carries no JSON-RPC id; request data (opt-in "data") is never read: it may hold tool
 * arguments. */
#include "parsers/log_toolhive.h"

#include "parsers/log_common.h"

#include <string.h>

static int th_detect(const char *line, size_t len)
{
	if (len < 20 || line[0] != '{')
		return 0;
	bool msg = memmem(line, len, "\"audit_event\"", 13) != NULL;
	bool id = memmem(line, len, "\"audit_id\"", 10) || memmem(line, len, "\"auditId\"", 9);
	bool at = memmem(line, len, "\"logged_at\"", 11) || memmem(line, len, "\"loggedAt\"", 10);
	bool subjects = memmem(line, len, "\"subjects\"", 10) != NULL;
	if (msg && (id || at))
		return 95;
	if (id && at && subjects)
		return 90;
	return 0;
}

/* ToolHive's event type to an MCP method; NULL: take target.method. */
static const char *method_of_type(const char *type)
{
	static const struct {
		const char *type, *method;
	} map[] = {
		{"mcp_tool_call", "tools/call"},
		{"mcp_tools_list", "tools/list"},
		{"mcp_resource_read", "resources/read"},
		{"mcp_resources_list", "resources/list"},
		{"mcp_prompt_get", "prompts/get"},
		{"mcp_prompts_list", "prompts/list"},
		{"mcp_initialize", "initialize"},
		{"mcp_ping", "ping"},
		{"mcp_logging", "logging/setLevel"},
		{"mcp_completion", "completion/complete"},
		{"mcp_roots_list_changed", "notifications/roots/list_changed"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].type, type) == 0)
			return map[i].method;
	return NULL;
}

static enum log_parse_result th_parse(void *state, const struct log_line *line, log_emit_fn emit,
				      void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	json_t *identity = NULL;
	const char *msg = log_get_str(o, "msg");
	json_t *type_v = json_object_get(o, "type");
	bool audit_shape = log_get(o, "audit_id") || log_get(o, "metadata.auditId") ||
			   log_get(o, "logged_at") || log_get(o, "loggedAt");
	if ((msg && strcmp(msg, "audit_event") != 0) || (!msg && !audit_shape)) {
		/* ToolHive's own application log lines are skipped; a line another parser knows
		 * is refused so that the importer hands it over (mixed files) */
		const struct log_parser *other = log_parser_detect(line->data, line->len);
		if ((other && other != &log_parser_toolhive) || (!msg && !log_get(o, "level"))) {
			*reason = "toolhive: not a ToolHive log line";
			rc = LOG_PARSE_BAD;
		}
		goto out;
	}
	if (!json_is_string(type_v)) {
		*reason = "toolhive: audit event without a string \"type\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	const char *type = json_string_value(type_v);
	int64_t t;
	const char *at_key = log_get(o, "logged_at")  ? "logged_at"
			     : log_get(o, "loggedAt") ? "loggedAt"
						      : "time";
	if (!log_get_time(o, at_key, &t)) {
		*reason = "toolhive: missing or malformed \"logged_at\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	const char *method = method_of_type(type);
	if (!method)
		method = log_get_str(o, "target.method");
	if (!method || !*method)
		goto out; /* SSE connections, workflow steps, plain HTTP: no MCP request */

	struct obs_gateway gw = {0};
	gw.format = "toolhive";
	gw.event_kind = type;
	gw.method = method;
	gw.resource_type = log_get_str(o, "target.type");
	const char *name = log_get_str(o, "target.name");
	if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0)
		gw.tool = name;
	if (strcmp(method, "resources/read") == 0) {
		gw.resource_uri = log_get_str(o, "target.uri");
		if (!gw.resource_uri)
			gw.resource_uri = name;
	}
	gw.target = log_get_str(o, "component");
	gw.session_id = log_get_str(o, "source.extra.session_id");
	gw.request_id = log_get_str(o, "source.extra.request_id");
	if (!gw.request_id)
		gw.request_id = log_get_str(o, "audit_id");
	if (!gw.request_id)
		gw.request_id = log_get_str(o, "metadata.auditId");
	gw.user_agent = log_get_str(o, "source.extra.user_agent");
	const char *src_type = log_get_str(o, "source.type");
	if (!src_type || strcmp(src_type, "network") == 0)
		gw.src_addr = log_get_str(o, "source.value");
	gw.protocol_version = log_get_str(o, "metadata.extra.mcp_version");
	gw.transport = log_get_str(o, "metadata.extra.transport");
	double ms;
	if (log_get_number(o, "metadata.extra.duration_ms", &ms) && ms >= 0 && ms < 1e12) {
		gw.has_duration = true;
		gw.duration_ms = ms;
	}
	int64_t n;
	if (log_get_int(o, "metadata.extra.retry_count", &n) && n >= 0 && n < 1000000)
		gw.retry_attempt = (int)n;
	gw.client_name = log_get_str(o, "subjects.client_name");
	gw.client_version = log_get_str(o, "subjects.client_version");
	gw.outcome_raw = log_get_str(o, "outcome");
	gw.outcome = log_outcome_canonical(gw.outcome_raw);
	if (!gw.outcome)
		gw.outcome = gw.outcome_raw ? "error" : "ok";

	const char *user_id = log_get_str(o, "subjects.user_id");
	const char *user = log_get_str(o, "subjects.user");
	const char *subject = user_id && *user_id ? user_id : user;
	const char *source = "gateway_log";
	if (!subject || !*subject || (!user_id && strcmp(subject, "anonymous") == 0)) {
		subject = NULL;
		source = "anonymous";
	}
	identity = log_identity_new(subject, NULL, NULL, source);
	json_t *chain = log_get(o, "delegation.chain");
	size_t i;
	json_t *hop;
	json_array_foreach(chain, i, hop)
	{
		const char *sub = json_string_value(json_object_get(hop, "sub"));
		if (sub)
			log_identity_add_actor(identity, sub);
	}

	log_emit_gateway(line, t, &gw, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_toolhive = {
	.name = "toolhive",
	.description = "ToolHive / vMCP audit events (slog JSON, msg \"audit_event\")",
	.detect = th_detect,
	.parse = th_parse,
};
