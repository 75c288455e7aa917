/* Envoy JSON access logs that carry MCP metadata (Envoy AI Gateway, Kuadrant mcp-gateway, Istio).
 *
 * Sources followed: envoyproxy/ai-gateway#1302 (the upstream MCP listener's JSON log: mcp_backend,
 * mcp_method, mcp_request_id, mcp_session_id), #2059 / #2067 (mcp.tool.name from
 * %DYNAMIC_METADATA(io.envoy.ai_gateway:mcp_tool_name)%), #2481 (mcp_resource_uri, the dotted
 * names mcp.method.name / mcp.provider.name / mcp.resource.uri used in the EnvoyProxy access log
 * format); Kuadrant/mcp-gateway#914 and #994 (router headers x-mcp-method, x-mcp-toolname,
 * x-mcp-servername, mcp-session-id logged through Istio's JSON access log, caller identity as
 * x-mcp-caller-id / x-mcp-verified-sub / x-auth-identity, W3C traceparent); Envoy's default
 * access log operators (start_time, method, path, response_code, response_flags, duration,
 * x-request-id / request_id, upstream_host, user_agent, downstream_remote_address,
 * x_forwarded_for).
 *
 * Keys are looked up in the line itself and in these metadata objects, in order:
 * dynamic_metadata, dynamic_metadata["io.envoy.ai_gateway"], dynamic_metadata.mcp,
 * dynamic_metadata["envoy.filters.http.mcp"], metadata, metadata.mcp; the first key of each list
 * that is present (and not "-", Envoy's empty value) wins:
 *   method    mcp.method.name mcp_method x-mcp-method mcp-method mcp.method (in a metadata
 *             object also: method)
 *   tool      mcp.tool.name mcp_tool_name x-mcp-toolname gen_ai.tool.name (metadata: tool,
 *             tool_name)
 *   target    mcp.provider.name mcp_backend x-mcp-servername mcp.target (metadata: backend,
 *             server, server_name)
 *   session   mcp.session.id mcp_session_id mcp-session-id x-mcp-session-id (metadata:
 *             session_id)
 *   rpc id    jsonrpc.request.id mcp_request_id (metadata: request_id, id)
 *   resource  mcp.resource.uri mcp_resource_uri (metadata: resource_uri)
 *   protocol  mcp.protocol.version mcp-protocol-version mcp_protocol_version
 *   subject   x-mcp-verified-sub jwt.sub jwt_sub jwt_subject (source gateway_jwt), else
 *             x-mcp-caller-id x-auth-identity (source gateway_header: the caller says so)
 *   client id jwt.client_id jwt.azp; issuer jwt.iss
 *   trace     traceparent (W3C, trace and span id), else trace_id trace.id x-b3-traceid
 *   request   x-request-id request_id x_request_id
 *   time      start_time (RFC 3339; required), plus duration (ms) makes the end of the request
 *   status    response_code; outcome from mcp.error.code / mcp_error_code (rpc_error), else the
 *             HTTP status (401/403 denied, other 4xx/5xx error), else ok
 *   others    downstream_remote_address (else the first x_forwarded_for / x-forwarded-for),
 *             user_agent / user-agent, response_flags (kept as the outcome's raw word when the
 *             request failed)
 * A line without an MCP method is plain Envoy traffic: LOG_PARSE_SKIP. Envoy tap traces are not
 * access logs (parsers/http_capture.c reads them): detect() gives them 0. */
#include "parsers/log_envoy_access.h"

#include "parsers/http_capture.h"
#include "parsers/log_common.h"

#include <stdio.h>
#include <string.h>

static int envoy_detect(const char *line, size_t len)
{
	if (len < 16 || line[0] != '{' || envoy_tap_detect(line, len))
		return 0;
	bool envoy = memmem(line, len, "\"response_code\"", 15) ||
		     memmem(line, len, "\"upstream_host\"", 15) ||
		     memmem(line, len, "\"downstream_remote_address\"", 27) ||
		     memmem(line, len, "\"response_flags\"", 16);
	if (!envoy)
		return 0;
	bool mcp =
		memmem(line, len, "mcp.method.name", 15) || memmem(line, len, "mcp_method", 10) ||
		memmem(line, len, "x-mcp-method", 12) || memmem(line, len, "x-mcp-toolname", 14) ||
		memmem(line, len, "mcp-session-id", 14) || memmem(line, len, "mcp_session_id", 14);
	/* plain Envoy lines: this format still, each one skipped */
	return mcp ? 85 : 55;
}

#define MAX_SPACES 7

struct spaces {
	json_t *o[MAX_SPACES];
	size_t n;
	size_t meta_from; /* o[meta_from..] are metadata objects (bare names allowed there) */
};

static void add_space(struct spaces *s, json_t *o)
{
	if (json_is_object(o) && s->n < MAX_SPACES)
		s->o[s->n++] = o;
}

static bool present(const char *v)
{
	return v && v[0] && strcmp(v, "-") != 0;
}

/* The first present string among keys (in every space) then meta_keys (metadata spaces only). */
static const char *field(const struct spaces *s, const char *const *keys,
			 const char *const *meta_keys)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; keys && keys[k]; k++) {
			const char *v = log_get_str(s->o[i], keys[k]);
			if (present(v))
				return v;
		}
	for (size_t i = s->meta_from; i < s->n; i++)
		for (size_t k = 0; meta_keys && meta_keys[k]; k++) {
			const char *v = log_get_str(s->o[i], meta_keys[k]);
			if (present(v))
				return v;
		}
	return NULL;
}

/* A text id among keys, numbers printed into buf. */
static const char *field_text(const struct spaces *s, const char *const *keys,
			      const char *const *meta_keys, char *buf, size_t buflen)
{
	for (size_t pass = 0; pass < 2; pass++) {
		const char *const *list = pass ? meta_keys : keys;
		for (size_t i = pass ? s->meta_from : 0; i < s->n; i++)
			for (size_t k = 0; list && list[k]; k++) {
				const char *v = log_get_text(s->o[i], list[k], buf, buflen);
				if (present(v))
					return v;
			}
	}
	return NULL;
}

static bool hex_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static const char *const K_METHOD[] = {"mcp.method.name", "mcp_method", "x-mcp-method",
				       "mcp-method",	  "mcp.method", NULL};
static const char *const M_METHOD[] = {"method", NULL};
static const char *const K_TOOL[] = {"mcp.tool.name", "mcp_tool_name", "x-mcp-toolname",
				     "gen_ai.tool.name", NULL};
static const char *const M_TOOL[] = {"tool", "tool_name", NULL};
static const char *const K_TARGET[] = {"mcp.provider.name", "mcp_backend", "x-mcp-servername",
				       "mcp.target", NULL};
static const char *const M_TARGET[] = {"backend", "server", "server_name", NULL};
static const char *const K_SESSION[] = {"mcp.session.id", "mcp_session_id", "mcp-session-id",
					"x-mcp-session-id", NULL};
static const char *const M_SESSION[] = {"session_id", NULL};
static const char *const K_RPC[] = {"jsonrpc.request.id", "mcp_request_id", NULL};
static const char *const M_RPC[] = {"request_id", "id", NULL};
static const char *const K_URI[] = {"mcp.resource.uri", "mcp_resource_uri", NULL};
static const char *const M_URI[] = {"resource_uri", NULL};
static const char *const K_PROTO[] = {"mcp.protocol.version", "mcp-protocol-version",
				      "mcp_protocol_version", NULL};
static const char *const K_SUB_JWT[] = {"x-mcp-verified-sub", "jwt.sub", "jwt_sub", "jwt_subject",
					NULL};
static const char *const K_SUB_HDR[] = {"x-mcp-caller-id", "x-auth-identity", NULL};
static const char *const K_CLIENT[] = {"jwt.client_id", "jwt.azp", NULL};
static const char *const K_ISS[] = {"jwt.iss", NULL};
static const char *const K_TRACE[] = {"trace_id", "trace.id", "x-b3-traceid", NULL};
static const char *const K_REQID[] = {"x-request-id", "request_id", "x_request_id", NULL};
static const char *const K_UA[] = {"user_agent", "user-agent", NULL};
static const char *const K_XFF[] = {"x_forwarded_for", "x-forwarded-for", NULL};
static const char *const K_ERRCODE[] = {"mcp.error.code", "mcp_error_code", NULL};

static enum log_parse_result envoy_parse(void *state, const struct log_line *line, log_emit_fn emit,
					 void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	struct log_strings st = {0};
	json_t *identity = NULL;
	struct spaces sp = {0};
	add_space(&sp, o);
	sp.meta_from = sp.n;
	json_t *dm = json_object_get(o, "dynamic_metadata");
	add_space(&sp, dm);
	add_space(&sp, json_object_get(dm, "io.envoy.ai_gateway"));
	add_space(&sp, json_object_get(dm, "mcp"));
	add_space(&sp, json_object_get(dm, "envoy.filters.http.mcp"));
	json_t *md = json_object_get(o, "metadata");
	add_space(&sp, md);
	add_space(&sp, json_object_get(md, "mcp"));

	const char *method = field(&sp, K_METHOD, M_METHOD);
	if (!method)
		goto out; /* plain HTTP through Envoy */
	int64_t t;
	if (!log_get_time(o, "start_time", &t)) {
		*reason = "envoy_access: missing or malformed \"start_time\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	struct obs_gateway gw = {0};
	gw.format = "envoy_access";
	gw.method = method;
	gw.tool = field(&sp, K_TOOL, M_TOOL);
	gw.target = field(&sp, K_TARGET, M_TARGET);
	gw.session_id = field(&sp, K_SESSION, M_SESSION);
	gw.resource_uri = field(&sp, K_URI, M_URI);
	if (gw.tool && strcmp(method, "tools/call") == 0)
		gw.resource_type = "tool";
	else if (gw.resource_uri)
		gw.resource_type = "resource";
	gw.protocol_version = field(&sp, K_PROTO, NULL);
	char rpcbuf[64];
	gw.rpc_id = field_text(&sp, K_RPC, M_RPC, rpcbuf, sizeof(rpcbuf));
	gw.request_id = field(&sp, K_REQID, NULL);
	gw.user_agent = field(&sp, K_UA, NULL);
	gw.src_addr = field(&sp, (const char *const[]){"downstream_remote_address", NULL}, NULL);
	if (!gw.src_addr) {
		const char *xff = field(&sp, K_XFF, NULL);
		if (xff) {
			const char *comma = strchr(xff, ',');
			gw.src_addr =
				comma ? log_strings_add(&st, xff, (size_t)(comma - xff)) : xff;
		}
	}
	const char *tp = field(&sp, (const char *const[]){"traceparent", NULL}, NULL);
	if (tp && strlen(tp) >= 55 && tp[2] == '-' && tp[35] == '-' && hex_n(tp + 3, 32) &&
	    hex_n(tp + 36, 16)) {
		gw.trace_id = log_strings_add(&st, tp + 3, 32);
		gw.span_id = log_strings_add(&st, tp + 36, 16);
	} else {
		gw.trace_id = field(&sp, K_TRACE, NULL);
	}
	gw.transport = "http";
	gw.event_kind = "access_log";
	double ms;
	if (log_get_number(o, "duration", &ms) && ms >= 0 && ms < 1e12) {
		gw.has_duration = true;
		gw.duration_ms = ms;
		t += (int64_t)(ms * 1e6); /* the observation stamps the end of the request */
	}
	int64_t n;
	if (log_get_int(o, "response_code", &n) && n > 0 && n < 1000)
		gw.http_status = (int)n;
	for (size_t i = 0; i < sp.n && !gw.has_error_code; i++)
		for (size_t k = 0; K_ERRCODE[k]; k++)
			if (log_get_int(sp.o[i], K_ERRCODE[k], &n)) {
				gw.has_error_code = true;
				gw.error_code = n;
				break;
			}
	const char *flags = log_get_str(o, "response_flags");
	if (gw.has_error_code) {
		gw.outcome = "rpc_error";
		gw.outcome_raw = "mcp.error";
	} else if (gw.http_status >= 400) {
		gw.outcome = log_outcome_from_http(gw.http_status);
		gw.outcome_raw = present(flags) ? flags : NULL;
		gw.error_message = log_get_str(o, "response_code_details");
	} else if (gw.http_status == 0 && present(flags)) {
		gw.outcome = "error"; /* no response at all: UF, UT, DC, ... */
		gw.outcome_raw = flags;
	} else {
		gw.outcome = "ok";
	}
	const char *sub = field(&sp, K_SUB_JWT, NULL);
	const char *source = "gateway_jwt";
	if (!sub) {
		sub = field(&sp, K_SUB_HDR, NULL);
		source = sub ? "gateway_header" : "anonymous";
	}
	identity =
		log_identity_new(sub, field(&sp, K_ISS, NULL), field(&sp, K_CLIENT, NULL), source);
	log_emit_gateway(line, t, &gw, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	log_strings_free(&st);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_envoy_access = {
	.name = "envoy_access",
	.description = "Envoy JSON access log with MCP metadata (Envoy AI Gateway, Kuadrant)",
	.detect = envoy_detect,
	.parse = envoy_parse,
};
