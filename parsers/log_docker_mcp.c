/* Docker MCP Gateway: `--log-calls` call lines (text, stderr) and policy AuditEvent JSON.
 *
 * Sources followed: docker/mcp-gateway pkg/interceptors/log_calls.go (the call lines),
 * pkg/gateway/handlers.go (the DOCKER_MCP_TELEMETRY_DEBUG line), pkg/policy/audit.go and
 * pkg/policy/policy.go (AuditEvent, its result / trigger words).
 *
 * Text. The gateway prints, for tools/call only:
 *   "  - Calling tool NAME with arguments: SUMMARY"       before the call
 *   "  - Calling tool (unknown) with method: tools/call"  before a call without a name
 *   "  > Calling tool NAME took: 1.234567ms"              after a call that returned no error
 * A failed call prints the start line and nothing else. Built-in parsers have no state, so the
 * two lines cannot be paired: the end line is the observation (tool, duration, outcome ok) and
 * the start lines are LOG_PARSE_SKIP. A call that failed therefore leaves no event from this log
 * (a tap or the policy audit must say it). The lines carry no server, session or client, and no
 * time: a leading timestamp is required, as `docker logs -t`, journald exports or log shippers
 * add it ("2026-08-27T00:22:00.123456789Z  > Calling tool ..." or Go's "2026/08/27 00:22:00 ");
 * an end line without one is LOG_PARSE_BAD. Every other text line is LOG_PARSE_SKIP.
 *
 * JSON. One AuditEvent per line, as the gateway POSTs it to Docker Desktop:
 *   {"actor_type":"user","actor_id":"u-123","org_id":"acme","trigger":"invoke",
 *    "target_type":"tool","server_name":"github","tool_name":"create_issue","result":"denied",
 *    "outcome_reason":"policy_rule","reason":"...","client_name":"claude-ai",
 *    "client_version":"0.1","session_id":"...","trace_id":"...","timestamp":"RFC 3339"}
 * trigger "invoke" (or absent) with a tool_name → tools/call; "prompt" with prompt_name (or
 * tool_name) → prompts/get; "load" and events naming no tool or prompt → LOG_PARSE_SKIP.
 * result allowed → decision allow, outcome ok; denied → deny, denied; outcome_reason
 * policy_error → outcome error. Also accepted: "decision" (allow/deny) and "allowed" (bool) in
 * place of "result", "time" in place of "timestamp". Identity: subject actor_id (else
 * actor_name), source "gateway_policy"; org_id has no place in the event schema and is dropped. */
#include "parsers/log_docker_mcp.h"

#include "collector/util.h"
#include "parsers/log_common.h"

#include <stdio.h>
#include <string.h>

#define DMCP_END "> Calling tool "
#define DMCP_START "- Calling tool "
#define DMCP_TOOK " took: "
#define DMCP_HANDLER "[MCP-HANDLER] "

static int dmcp_detect(const char *line, size_t len)
{
	if (len < 16)
		return 0;
	if (line[0] == '{') {
		bool server = memmem(line, len, "\"server_name\"", 13) != NULL;
		bool audit = memmem(line, len, "\"target_type\"", 13) ||
			     memmem(line, len, "\"trigger\"", 9);
		bool result =
			memmem(line, len, "\"result\"", 8) || memmem(line, len, "\"actor_id\"", 10);
		return server && audit && result ? 90 : 0;
	}
	if (memmem(line, len, DMCP_END, strlen(DMCP_END)) &&
	    memmem(line, len, DMCP_TOOK, strlen(DMCP_TOOK)))
		return 90;
	if (memmem(line, len, DMCP_START, strlen(DMCP_START)) &&
	    (memmem(line, len, " with arguments: ", 17) || memmem(line, len, " with method: ", 14)))
		return 70;
	if (memmem(line, len, DMCP_HANDLER "Tool call received: ", 34))
		return 70;
	return 0;
}

/* A leading timestamp: RFC 3339 (one token) or Go's log "YYYY/MM/DD HH:MM:SS[.frac]" (two). On
 * success *rest points past it and the blanks after it. */
static bool leading_time(const char *p, const char *end, int64_t *ns, const char **rest)
{
	if (p >= end || *p < '0' || *p > '9')
		return false;
	char buf[64];
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	const char *stop = sp ? sp : end;
	bool go_log = stop - p == 10 && p[4] == '/' && p[7] == '/';
	if (go_log && sp) {
		const char *sp2 = memchr(sp + 1, ' ', (size_t)(end - sp - 1));
		stop = sp2 ? sp2 : end;
	}
	size_t n = (size_t)(stop - p);
	if (n < 19 || n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (go_log) {
		buf[4] = '-';
		buf[7] = '-';
	}
	if (!log_parse_time(buf, ns))
		return false;
	while (stop < end && (*stop == ' ' || *stop == '\t'))
		stop++;
	*rest = stop;
	return true;
}

static enum log_parse_result parse_text(const struct log_line *line, log_emit_fn emit, void *ctx,
					const char **reason)
{
	const char *p = line->data, *end = line->data + line->len;
	while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (!utf8_valid(p, (size_t)(end - p))) {
		*reason = "invalid UTF-8";
		return LOG_PARSE_BAD;
	}
	int64_t t = 0;
	bool has_time = leading_time(p, end, &t, &p);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	size_t endlen = strlen(DMCP_END);
	if ((size_t)(end - p) < endlen || memcmp(p, DMCP_END, endlen) != 0)
		return LOG_PARSE_SKIP; /* start lines, debug lines, everything else */
	const char *name = p + endlen;
	/* the last " took: " (a tool name could contain the words) */
	const char *took = NULL;
	for (const char *s = name; s < end;) {
		const char *f = memmem(s, (size_t)(end - s), DMCP_TOOK, strlen(DMCP_TOOK));
		if (!f)
			break;
		took = f;
		s = f + 1;
	}
	if (!took) {
		*reason = "docker_mcp_gateway: call end line without \" took: DURATION\"";
		return LOG_PARSE_BAD;
	}
	if (!has_time) {
		*reason = "docker_mcp_gateway: call line without a leading timestamp (capture the "
			  "gateway's stderr with timestamps, e.g. docker logs -t)";
		return LOG_PARSE_BAD;
	}
	char tool[512], dur[64];
	size_t tool_len = (size_t)(took - name);
	const char *ds = took + strlen(DMCP_TOOK);
	size_t dur_len = (size_t)(end - ds);
	if (tool_len >= sizeof(tool) || dur_len >= sizeof(dur)) {
		*reason = "docker_mcp_gateway: tool name or duration too long";
		return LOG_PARSE_BAD;
	}
	memcpy(tool, name, tool_len);
	tool[tool_len] = '\0';
	memcpy(dur, ds, dur_len);
	dur[dur_len] = '\0';
	double ms;
	if (!log_parse_duration_ms(dur, &ms) || ms < 0) {
		*reason = "docker_mcp_gateway: malformed duration after \"took:\"";
		return LOG_PARSE_BAD;
	}
	struct obs_gateway gw = {0};
	gw.format = "docker_mcp_gateway";
	gw.method = "tools/call";
	/* the gateway prints an empty name when it could not read one */
	gw.tool = tool_len ? tool : NULL;
	gw.resource_type = "tool";
	gw.has_duration = true;
	gw.duration_ms = ms;
	gw.outcome = "ok";
	gw.event_kind = "log_calls";
	json_t *identity = log_identity_new(NULL, NULL, NULL, "anonymous");
	log_emit_gateway(line, t, &gw, identity, emit, ctx);
	json_decref(identity);
	return LOG_PARSE_OK;
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static enum log_parse_result parse_audit(const struct log_line *line, log_emit_fn emit, void *ctx,
					 const char **reason)
{
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	json_t *identity = NULL;
	const char *server = log_get_str(o, "server_name");
	const char *trigger = log_get_str(o, "trigger");
	const char *tool = log_get_str(o, "tool_name");
	const char *prompt = log_get_str(o, "prompt_name");
	const char *method = NULL, *name = NULL, *rtype = NULL;
	if ((!trigger || eq(trigger, "") || eq(trigger, "invoke")) && tool) {
		method = "tools/call";
		name = tool;
		rtype = "tool";
	} else if (eq(trigger, "prompt") && (prompt || tool)) {
		method = "prompts/get";
		name = prompt ? prompt : tool;
		rtype = "prompt";
	}
	if (!method)
		goto out; /* catalog loads, server-level checks, other JSON */
	int64_t t;
	if (!log_get_time(o, "timestamp", &t) && !log_get_time(o, "time", &t)) {
		*reason = "docker_mcp_gateway: audit event without a valid \"timestamp\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	const char *result = log_get_str(o, "result");
	const char *decision = log_get_str(o, "decision");
	bool allowed_flag;
	bool has_allowed = log_get_bool(o, "allowed", &allowed_flag);
	int allowed = -1;
	if (eq(result, "allowed") || eq(decision, "allow") || eq(decision, "allowed"))
		allowed = 1;
	else if (eq(result, "denied") || eq(decision, "deny") || eq(decision, "denied"))
		allowed = 0;
	else if (has_allowed)
		allowed = allowed_flag ? 1 : 0;
	if (allowed < 0) {
		*reason = "docker_mcp_gateway: audit event without \"result\" allowed|denied";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	const char *outcome_reason = log_get_str(o, "outcome_reason");
	struct obs_gateway gw = {0};
	gw.format = "docker_mcp_gateway";
	gw.method = method;
	gw.tool = name;
	gw.resource_type = rtype;
	gw.target = server;
	gw.session_id = log_get_str(o, "session_id");
	gw.trace_id = log_get_str(o, "trace_id");
	gw.client_name = log_get_str(o, "client_name");
	gw.client_version = log_get_str(o, "client_version");
	gw.decision = allowed ? "allow" : "deny";
	gw.reason = log_get_str(o, "reason");
	gw.outcome = eq(outcome_reason, "policy_error") ? "error" : allowed ? "ok" : "denied";
	gw.outcome_raw = result ? result : decision ? decision : allowed ? "allowed" : "denied";
	gw.event_kind = "policy_audit";
	if (!allowed || eq(outcome_reason, "policy_error"))
		gw.error_message = gw.reason;
	const char *sub = log_get_str(o, "actor_id");
	if (!sub)
		sub = log_get_str(o, "actor_name");
	identity = log_identity_new(sub, NULL, NULL, sub ? "gateway_policy" : "anonymous");
	log_emit_gateway(line, t, &gw, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	json_decref(o);
	return rc;
}

static enum log_parse_result dmcp_parse(void *state, const struct log_line *line, log_emit_fn emit,
					void *ctx, const char **reason)
{
	(void)state;
	const char *p = line->data, *end = line->data + line->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '{')
		return parse_audit(line, emit, ctx, reason);
	return parse_text(line, emit, ctx, reason);
}

const struct log_parser log_parser_docker_mcp = {
	.name = "docker_mcp_gateway",
	.description =
		"Docker MCP Gateway --log-calls lines (timestamped) and policy AuditEvent JSON",
	.detect = dmcp_detect,
	.parse = dmcp_parse,
};
