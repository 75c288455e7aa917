/* IBM ContextForge (github IBM/mcp-context-forge) audit and security logs, one JSON object a line.
 *
 * Sources followed (mcpgateway/): services/audit_trail_service.py (log_action: the AuditTrail row,
 * AuditAction CREATE/READ/UPDATE/DELETE/EXECUTE/ACCESS/EXPORT/IMPORT, acting_as = the identity's
 * service account, delegation_chain = {"chain": [...]}, and _emit_audit_event_to_siem: event_type
 * "audit_<action>", context{action, resource_type, resource_id, resource_name, success,
 * correlation_id}, action_taken allowed/denied), services/siem_export_service.py
 * (_build_event_envelope: schema_version "1.0", event_id, timestamp, event_type, severity,
 * category, description, source{service, version, instance_id, event_source}, actor{user_id,
 * user_email, client_ip, user_agent, geo}, threat, context, action_taken, _meta; user_email is
 * redacted to
 * "***REDACTED***" by default), services/security_logger.py (authentication_success / _failure
 * events), utils/token_exchange_audit.py (event "token-exchange", user_email, gateway_id,
 * target_audience, success, exchanged_token_expires_in, upstream, latency_ms, error,
 * correlation_id, request_id; logged bare, as extra {"token_exchange": {...}} of a JSON log record,
 * or as custom_fields of a structured log entry) and services/structured_logger.py (entries with
 * level, component, message, user_id, user_email, resource_type, resource_id, resource_action,
 * duration_ms, custom_fields, correlation_id, request_id, trace_id, span_id, error_message; flat
 * as the JSON log formatter writes them, or with the resource fields under "context" as the
 * StructuredLogEntry row stores them).
 *
 * Four shapes, one parser:
 *   audit_trails rows (JSON lines export): action EXECUTE / INVOKE / CALL (any case, also
 *     "invoke_tool", "execute_tool") on resource_type "tool" → tools/call, tool = resource_name.
 *     Every other action (CRUD of servers, tools, tokens, users; READ / ACCESS / EXPORT) is
 *     administrative, not an MCP method: SKIP.
 *   SIEM envelopes: event_type "audit_execute" / "audit_invoke" with context.resource_type "tool"
 *     → tools/call, tool = context.resource_name. Authentication events, suspicious activity, data
 *     access and other audit actions → SKIP: a login is neither an MCP call nor a token grant we
 *     can describe (no grant type, no audience, no expiry).
 *   token-exchange audit events → OBS_GRANT, grant_type token_exchange, audience =
 *     target_audience, expiry = time + exchanged_token_expires_in (successes only), subject =
 *     user_email (also the subject of the exchanged token). client_id is null: gateway_id is
 *     ContextForge's id of the upstream gateway, not an OAuth client id. No token id: ContextForge
 *     never logs token material, so these grants cannot be joined to calls by jti.
 *   structured log entries with resource_action "invoke" / "execute" on resource_type "tool" →
 *     tools/call, tool = custom_fields.tool_name (or name / tool, or resource_name); other entries
 *     → SKIP.
 *
 * Identity: ContextForge keys users by email (EmailUser's primary key; user_id is usually the
 * email too), so subject = user_email, else user_id; "***REDACTED***" counts as absent;
 * "anonymous" or nothing is an anonymous identity. acting_as (a service account acting for the
 * user) is the current actor; delegation_chain.chain (or a bare array) follows, in the log's
 * order, strings or objects with sub / email / user_email / id. old_values, new_values, changes
 * and tool arguments are never read: they may hold secrets. */
#include "parsers/log_contextforge.h"

#include "parsers/log_common.h"

#include <string.h>
#include <strings.h>

#define CF "contextforge: "

static int cf_detect(const char *line, size_t len)
{
	if (len < 20 || line[0] != '{')
		return 0;
#define HAS(s) (memmem(line, len, s, sizeof(s) - 1) != NULL)
	if (HAS("\"token-exchange\"") && (HAS("\"gateway_id\"") || HAS("\"target_audience\"")))
		return 95;
	if (HAS("\"schema_version\"") && HAS("\"event_type\"") &&
	    (HAS("\"action_taken\"") || HAS("\"mcpgateway\"")))
		return 95;
	bool resource = HAS("\"resource_type\"") && HAS("\"resource_id\"");
	if (resource && HAS("\"action\"") &&
	    (HAS("\"data_classification\"") || HAS("\"requires_review\"")))
		return 90;
	if (HAS("\"resource_action\"") && HAS("\"component\""))
		return 80;
	return 0;
#undef HAS
}

static bool is_tool_invocation(const char *action)
{
	static const char *const words[] = {"execute",	    "invoke",	    "call",
					    "invoke_tool",  "execute_tool", "tool_invoke",
					    "tool_execute", "tool_call",    NULL};
	for (size_t i = 0; action && words[i]; i++)
		if (strcasecmp(action, words[i]) == 0)
			return true;
	return false;
}

static bool says_denied(const char *err)
{
	return err && (strcasestr(err, "denied") || strcasestr(err, "forbidden") ||
		       strcasestr(err, "not authorized") || strcasestr(err, "unauthorized") ||
		       strcasestr(err, "permission"));
}

/* A usable user name: not redacted, not empty. */
static const char *usable(const char *s)
{
	if (!s || !*s || strcmp(s, "***REDACTED***") == 0)
		return NULL;
	return s;
}

static json_t *identity_of(const char *email, const char *user_id)
{
	const char *subject = usable(email) ? email : usable(user_id);
	if (subject && strcmp(subject, "anonymous") == 0)
		subject = NULL;
	return log_identity_new(subject, NULL, NULL, subject ? "gateway_log" : "anonymous");
}

static void add_actors(json_t *identity, json_t *o)
{
	const char *acting = log_get_str(o, "acting_as");
	const char *subject = json_string_value(json_object_get(identity, "subject"));
	if (usable(acting) && !(subject && strcmp(acting, subject) == 0))
		log_identity_add_actor(identity, acting);
	json_t *chain = log_get(o, "delegation_chain");
	if (json_is_object(chain))
		chain = json_object_get(chain, "chain");
	if (!json_is_array(chain))
		return;
	size_t i;
	json_t *hop;
	json_array_foreach(chain, i, hop)
	{
		const char *who = json_string_value(hop);
		static const char *const keys[] = {"sub", "email", "user_email", "id", NULL};
		for (size_t k = 0; !who && json_is_object(hop) && keys[k]; k++)
			who = json_string_value(json_object_get(hop, keys[k]));
		if (usable(who) && !(subject && strcmp(who, subject) == 0))
			log_identity_add_actor(identity, who);
	}
}

/* Outcome of a call from success + error text. */
static void set_outcome(struct obs_gateway *gw, bool ok, const char *err)
{
	gw->outcome_raw = ok ? "success" : "failure";
	if (ok) {
		gw->outcome = "ok";
	} else if (says_denied(err)) {
		gw->outcome = "denied";
		gw->decision = "deny";
		gw->reason = err;
	} else {
		gw->outcome = "error";
		gw->error_message = err;
	}
}

static const char *ip(const char *s)
{
	return s && *s && strcmp(s, "unknown") != 0 ? s : NULL;
}

static void emit_call(const struct log_line *line, int64_t t, struct obs_gateway *gw,
		      json_t *identity, log_emit_fn emit, void *ctx)
{
	gw->format = "contextforge";
	gw->method = "tools/call";
	gw->resource_type = "tool";
	log_emit_gateway(line, t, gw, identity, emit, ctx);
}

/* An audit_trails row. */
static enum log_parse_result audit_row(json_t *o, const struct log_line *line, log_emit_fn emit,
				       void *ctx, const char **reason)
{
	const char *action = log_get_str(o, "action");
	const char *rtype = log_get_str(o, "resource_type");
	if (!action || !rtype) {
		*reason = CF "audit trail row without string \"action\" and \"resource_type\"";
		return LOG_PARSE_BAD;
	}
	if (strcasecmp(rtype, "tool") != 0 || !is_tool_invocation(action))
		return LOG_PARSE_SKIP; /* administrative: CRUD, reads, exports */
	int64_t t;
	if (!log_get_time(o, "timestamp", &t)) {
		*reason = CF "missing or malformed \"timestamp\"";
		return LOG_PARSE_BAD;
	}
	struct obs_gateway gw = {0};
	gw.tool = log_get_str(o, "resource_name");
	if (!gw.tool || !*gw.tool) {
		*reason = CF "tool invocation without a string \"resource_name\"";
		return LOG_PARSE_BAD;
	}
	bool ok = true;
	if (log_get(o, "success") && !log_get_bool(o, "success", &ok)) {
		*reason = CF "\"success\" is not a boolean";
		return LOG_PARSE_BAD;
	}
	set_outcome(&gw, ok, log_get_str(o, "error_message"));
	gw.event_kind = action;
	gw.request_id = log_get_str(o, "request_id");
	if (!gw.request_id)
		gw.request_id = log_get_str(o, "correlation_id");
	gw.src_addr = ip(log_get_str(o, "client_ip"));
	gw.user_agent = log_get_str(o, "user_agent");
	gw.target = log_get_str(o, "context.gateway_name");
	gw.transport = log_get_str(o, "request_path") ? "http" : NULL;
	json_t *identity = identity_of(log_get_str(o, "user_email"), log_get_str(o, "user_id"));
	add_actors(identity, o);
	emit_call(line, t, &gw, identity, emit, ctx);
	json_decref(identity);
	return LOG_PARSE_OK;
}

/* A SIEM export envelope. */
static enum log_parse_result siem_event(json_t *o, const struct log_line *line, log_emit_fn emit,
					void *ctx, const char **reason)
{
	const char *type = log_get_str(o, "event_type");
	if (!type) {
		*reason = CF "SIEM event without a string \"event_type\"";
		return LOG_PARSE_BAD;
	}
	if (strncmp(type, "audit_", 6) != 0 || !is_tool_invocation(type + 6))
		return LOG_PARSE_SKIP; /* authentication, suspicious activity, other audit */
	json_t *c = json_object_get(o, "context");
	const char *rtype = json_string_value(json_object_get(c, "resource_type"));
	if (!rtype || strcasecmp(rtype, "tool") != 0)
		return LOG_PARSE_SKIP;
	int64_t t;
	if (!log_get_time(o, "timestamp", &t)) {
		*reason = CF "missing or malformed \"timestamp\"";
		return LOG_PARSE_BAD;
	}
	struct obs_gateway gw = {0};
	gw.tool = json_string_value(json_object_get(c, "resource_name"));
	if (!gw.tool || !*gw.tool) {
		*reason = CF "SIEM tool event without a string context.resource_name";
		return LOG_PARSE_BAD;
	}
	bool ok = true;
	json_t *success = json_object_get(c, "success");
	const char *taken = log_get_str(o, "action_taken");
	if (json_is_boolean(success))
		ok = json_is_true(success);
	else if (taken)
		ok = strcasecmp(taken, "denied") != 0 && strcasecmp(taken, "blocked") != 0;
	/* action_taken is "denied" for every failed audit action: the description (which
	 * carries the error message) tells a refusal from a failure */
	set_outcome(&gw, ok, ok ? NULL : log_get_str(o, "description"));
	if (taken)
		gw.outcome_raw = taken;
	gw.event_kind = type;
	gw.request_id = json_string_value(json_object_get(c, "correlation_id"));
	gw.src_addr = ip(log_get_str(o, "actor.client_ip"));
	gw.user_agent = log_get_str(o, "actor.user_agent");
	json_t *identity =
		identity_of(log_get_str(o, "actor.user_email"), log_get_str(o, "actor.user_id"));
	emit_call(line, t, &gw, identity, emit, ctx);
	json_decref(identity);
	return LOG_PARSE_OK;
}

/* A token-exchange audit event ev; o is the whole line (its time when ev has none). */
static enum log_parse_result token_exchange(json_t *o, json_t *ev, const struct log_line *line,
					    log_emit_fn emit, void *ctx, const char **reason)
{
	int64_t t;
	static const char *const time_keys[] = {"timestamp", "time", "@timestamp", "ts", NULL};
	bool have_time = false;
	for (size_t i = 0; !have_time && time_keys[i]; i++)
		have_time = log_get_time(ev, time_keys[i], &t) || log_get_time(o, time_keys[i], &t);
	if (!have_time) {
		*reason = CF "token-exchange event without a \"timestamp\"";
		return LOG_PARSE_BAD;
	}
	json_t *s = json_object_get(ev, "success");
	if (!json_is_boolean(s)) {
		*reason = CF "token-exchange event without a boolean \"success\"";
		return LOG_PARSE_BAD;
	}
	json_t *email = json_object_get(ev, "user_email");
	if (email && !json_is_string(email) && !json_is_null(email)) {
		*reason = CF "token-exchange \"user_email\" is not a string";
		return LOG_PARSE_BAD;
	}
	struct obs_grant g = {0};
	g.format = "contextforge";
	g.grant_type = "token_exchange";
	g.event_kind = "token-exchange";
	g.success = json_is_true(s);
	g.audience = json_string_value(json_object_get(ev, "target_audience"));
	g.error = json_string_value(json_object_get(ev, "error"));
	g.target = json_string_value(json_object_get(ev, "upstream"));
	if (!g.target)
		g.target = json_string_value(json_object_get(ev, "gateway_id"));
	g.request_id = json_string_value(json_object_get(ev, "correlation_id"));
	const char *user = usable(json_string_value(email));
	g.subject_token_subject = user;
	int64_t exp_s;
	if (g.success && log_get_int(ev, "exchanged_token_expires_in", &exp_s) && exp_s >= 0 &&
	    exp_s < 10LL * 365 * 86400) {
		g.has_expires = true;
		g.expires_ns = t + exp_s * 1000000000LL;
	}
	json_t *identity = identity_of(user, NULL);
	log_emit_grant(line, t, &g, identity, emit, ctx);
	json_decref(identity);
	return LOG_PARSE_OK;
}

/* A structured log entry (JSON log formatter or StructuredLogEntry row). */
static enum log_parse_result structured(json_t *o, const struct log_line *line, log_emit_fn emit,
					void *ctx, const char **reason)
{
	json_t *c = json_object_get(o, "context");
	const char *raction = log_get_str(o, "resource_action");
	const char *rtype = log_get_str(o, "resource_type");
	if (!raction && json_is_object(c)) {
		raction = json_string_value(json_object_get(c, "resource_action"));
		rtype = json_string_value(json_object_get(c, "resource_type"));
	}
	if (!raction || !rtype || strcasecmp(rtype, "tool") != 0 || !is_tool_invocation(raction))
		return LOG_PARSE_SKIP;
	int64_t t;
	if (!log_get_time(o, "timestamp", &t) && !log_get_time(o, "time", &t)) {
		*reason = CF "missing or malformed \"timestamp\"";
		return LOG_PARSE_BAD;
	}
	struct obs_gateway gw = {0};
	json_t *cf = log_get(o, "custom_fields");
	if (!cf && json_is_object(c))
		cf = json_object_get(c, "custom_fields");
	static const char *const name_keys[] = {"tool_name", "name", "tool", NULL};
	for (size_t i = 0; !gw.tool && name_keys[i]; i++)
		gw.tool = json_string_value(json_object_get(cf, name_keys[i]));
	if (!gw.tool)
		gw.tool = log_get_str(o, "tool_name");
	if (!gw.tool)
		gw.tool = log_get_str(o, "resource_name");
	if (!gw.tool || !*gw.tool) {
		*reason = CF "tool invoke entry without a tool name";
		return LOG_PARSE_BAD;
	}
	const char *level = log_get_str(o, "level");
	const char *err = log_get_str(o, "error_message");
	if (!err)
		err = log_get_str(o, "error_details.error_message");
	bool ok =
		!err &&
		!(level && (strcasecmp(level, "ERROR") == 0 || strcasecmp(level, "CRITICAL") == 0));
	bool flag;
	if (json_is_object(cf) && log_get_bool(cf, "success", &flag) && !flag)
		ok = false;
	set_outcome(&gw, ok, err);
	double ms;
	if (log_get_number(o, "duration_ms", &ms) && ms >= 0 && ms < 1e12) {
		gw.has_duration = true;
		gw.duration_ms = ms;
	}
	gw.event_kind = raction;
	gw.target = json_string_value(json_object_get(cf, "gateway_name"));
	gw.request_id = log_get_str(o, "request_id");
	if (!gw.request_id)
		gw.request_id = log_get_str(o, "correlation_id");
	const char *trace = log_get_str(o, "trace_id");
	if (trace && strlen(trace) == 32)
		gw.trace_id = trace;
	gw.span_id = log_get_str(o, "span_id");
	gw.src_addr = ip(log_get_str(o, "client_ip"));
	gw.user_agent = log_get_str(o, "user_agent");
	json_t *identity = identity_of(log_get_str(o, "user_email"), log_get_str(o, "user_id"));
	emit_call(line, t, &gw, identity, emit, ctx);
	json_decref(identity);
	return LOG_PARSE_OK;
}

/* The token-exchange event the line carries (bare, under "token_exchange", or as a structured
 * entry's custom_fields), NULL when none. */
static json_t *token_exchange_event(json_t *o)
{
	json_t *cands[] = {o, json_object_get(o, "token_exchange"),
			   json_object_get(o, "custom_fields"),
			   json_object_get(json_object_get(o, "context"), "custom_fields")};
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		const char *e = json_string_value(json_object_get(cands[i], "event"));
		if (e && strcmp(e, "token-exchange") == 0)
			return cands[i];
	}
	return NULL;
}

static enum log_parse_result cf_parse(void *state, const struct log_line *line, log_emit_fn emit,
				      void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc;
	json_t *tx = token_exchange_event(o);
	if (tx)
		rc = token_exchange(o, tx, line, emit, ctx, reason);
	else if (log_get(o, "schema_version") && log_get(o, "event_type"))
		rc = siem_event(o, line, emit, ctx, reason);
	else if (log_get(o, "resource_type") && log_get(o, "action") &&
		 (log_get(o, "resource_id") || log_get(o, "correlation_id")))
		rc = audit_row(o, line, emit, ctx, reason);
	else if (log_get(o, "resource_action") || log_get(o, "context.resource_action") ||
		 log_get(o, "component"))
		rc = structured(o, line, emit, ctx, reason);
	else {
		*reason = CF "not an audit trail row, SIEM event, token-exchange event or "
			     "structured log entry";
		rc = LOG_PARSE_BAD;
	}
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_contextforge = {
	.name = "contextforge",
	.description = "IBM ContextForge audit trails, SIEM events, token-exchange audit (JSON)",
	.detect = cf_detect,
	.parse = cf_parse,
};
