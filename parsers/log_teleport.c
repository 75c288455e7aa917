/* Teleport audit events about MCP sessions (mcp.session.*), one JSON object a line (the audit log
 * or the event handler's output).
 *
 * Sources followed: https://goteleport.com/docs/reference/audit-events/mcp-sessions/ (examples of
 * mcp.session.end TMCP002I/E and mcp.session.invalid_http_request TMCP006E) and the common event
 * metadata of teleport api/proto/teleport/legacy/types/events/events.proto: code, ei, event,
 * namespace, server_id, sid, time, uid, user, app_name, success, error; request and notification
 * events add message{jsonrpc, method, id, params} and headers.
 *
 * Mapping:
 *   mcp.session.request / mcp.session.notification → an observation: method = message.method,
 *     tool = message.params.name (tools/call, prompts/get), resource = message.params.uri,
 *     rpc_id = message.id (string or number, as text), session = sid, target = app_name,
 *     subject = user (Teleport's user name; issuer unknown).
 *     success false (or a code ending in E) is a failure: "denied" when the error says access was
 *     denied (Teleport's RBAC on tools), else "error".
 *   mcp.session.invalid_http_request → LOG_PARSE_OK without an observation for now: no JSON-RPC
 *     message was read, and the correlator's events (mcp.request needs a JSON-RPC error for a
 *     failure) cannot carry an HTTP-level refusal yet. The line is counted as understood.
 *   mcp.session.start / end / listen_sse_stream and any other Teleport event → SKIP: they say
 *     nothing about a call (a session's start is also visible as its initialize request).
 * message.params.arguments are never read: they may hold secrets. Headers are not read either. */
#include "parsers/log_teleport.h"

#include "parsers/log_common.h"

#include <string.h>

static int tp_detect(const char *line, size_t len)
{
	if (len < 20 || line[0] != '{')
		return 0;
	bool mcp_event = memmem(line, len, "\"mcp.session.", 13) != NULL;
	bool code = memmem(line, len, "\"TMCP0", 6) != NULL;
	bool teleport = memmem(line, len, "\"server_id\"", 11) || memmem(line, len, "\"ei\"", 4);
	if (mcp_event && (code || teleport))
		return 95;
	if (code && teleport)
		return 80;
	return 0;
}

static bool is_failure(json_t *o, const char *code)
{
	bool ok;
	if (log_get_bool(o, "success", &ok) && !ok)
		return true;
	size_t n = code ? strlen(code) : 0;
	return n > 0 && code[n - 1] == 'E';
}

static bool says_denied(const char *err)
{
	return err && (strcasestr(err, "access denied") || strcasestr(err, "permission denied") ||
		       strcasestr(err, "not authorized") || strcasestr(err, "forbidden"));
}

static enum log_parse_result tp_parse(void *state, const struct log_line *line, log_emit_fn emit,
				      void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	json_t *identity = NULL;
	const char *event = log_get_str(o, "event");
	if (!event) {
		*reason = "teleport: no string \"event\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	bool request = strcmp(event, "mcp.session.request") == 0 ||
		       strcmp(event, "mcp.session.notification") == 0;
	bool invalid = strcmp(event, "mcp.session.invalid_http_request") == 0;
	if (!request && !invalid)
		goto out; /* session start/end, SSE streams, other Teleport events */
	int64_t t;
	if (!log_get_time(o, "time", &t)) {
		*reason = "teleport: missing or malformed \"time\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	struct obs_gateway gw = {0};
	gw.format = "teleport";
	gw.event_kind = event;
	const char *code = log_get_str(o, "code");
	char idbuf[64];
	if (request) {
		json_t *msg = json_object_get(o, "message");
		gw.method = json_string_value(json_object_get(msg, "method"));
		if (!gw.method || !*gw.method) {
			*reason = "teleport: request event without a string message.method";
			rc = LOG_PARSE_BAD;
			goto out;
		}
		json_t *params = json_object_get(msg, "params");
		if (strcmp(gw.method, "tools/call") == 0 || strcmp(gw.method, "prompts/get") == 0)
			gw.tool = json_string_value(json_object_get(params, "name"));
		gw.resource_uri = json_string_value(json_object_get(params, "uri"));
		json_t *id = json_object_get(msg, "id");
		if (json_is_string(id) || json_is_integer(id))
			gw.rpc_id = log_get_text(msg, "id", idbuf, sizeof(idbuf));
	} else {
		gw.method = "invalid_http_request";
	}
	gw.session_id = log_get_str(o, "sid");
	gw.target = log_get_str(o, "app_name");
	gw.request_id = log_get_str(o, "uid");
	gw.transport = "http";
	const char *err = log_get_str(o, "error");
	gw.outcome_raw = code;
	if (invalid) {
		/* counted, no observation: the correlator has no event for a failed request
		 * without a JSON-RPC answer other than tools/call (see the header comment) */
		rc = LOG_PARSE_OK;
		goto out;
	} else if (is_failure(o, code) && says_denied(err)) {
		gw.outcome = "denied";
		gw.decision = "deny";
		gw.reason = err;
	} else if (is_failure(o, code)) {
		gw.outcome = "error";
		gw.error_message = err;
	} else {
		gw.outcome = "ok";
	}
	const char *user = log_get_str(o, "user");
	identity = log_identity_new(user, NULL, NULL, user ? "gateway_log" : "anonymous");

	log_emit_gateway(line, t, &gw, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	if (rc == LOG_PARSE_SKIP && (!event || strncmp(event, "mcp.", 4) != 0)) {
		const struct log_parser *other = log_parser_detect(line->data, line->len);
		if (other && other != &log_parser_teleport) {
			*reason = "teleport: a line of another format";
			rc = LOG_PARSE_BAD;
		}
	}
	json_decref(identity);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_teleport = {
	.name = "teleport",
	.description = "Teleport audit events mcp.session.* (JSON)",
	.detect = tp_detect,
	.parse = tp_parse,
};
