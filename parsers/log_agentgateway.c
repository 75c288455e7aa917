/* agentgateway access logs (scope "request"), JSON or text.
 *
 * JSON: flat dotted keys, absent values dropped:
 *   {"level":"info","time":"...","scope":"request","jwt.sub":"svc-agent-7","protocol":"mcp",
 *    "mcp.method.name":"tools/call","mcp.target":"github","gen_ai.tool.name":"create_issue",
 *    "mcp.session.id":"eyJ0Ijoi...","duration":"4ms", ...}
 * Text: "TIME\tLEVEL\tSCOPE key=value key=\"quoted value\" ...".
 *
 * mcp.session.id is the gateway's own session; with the base64 session encoder it decodes to
 * {"t":"mcp","s":[{"t":TARGET,"s":UPSTREAM_SESSION}]}, which names the upstream server's session
 * (the one a tap between the gateway and that server sees). Task ids are namespaced by the
 * gateway as TARGET+TASKID. */
#include "parsers/log_agentgateway.h"

#include "collector/util.h"
#include "parsers/log_common.h"

#include <stdio.h>
#include <string.h>

static int agw_detect(const char *line, size_t len)
{
	if (len < 20)
		return 0;
	bool json = line[0] == '{';
	bool has_scope = json ? memmem(line, len, "\"scope\":\"request\"", 17) != NULL
			      : memmem(line, len, "\trequest", 8) != NULL;
	bool mcp = memmem(line, len, "mcp.method.name", 15) != NULL;
	bool agw = memmem(line, len, "route_rule", 10) || memmem(line, len, "src.addr", 8) ||
		   memmem(line, len, "http.status", 11);
	if (has_scope && mcp)
		return 95;
	if (mcp && agw)
		return 80;
	if (has_scope && agw)
		return 60;
	return 0;
}

/* "TIME\tLEVEL\tSCOPE k=v ..." → {"time":..., "level":..., "scope":..., k: v, ...} */
static json_t *text_to_object(const struct log_line *line, const char **reason)
{
	const char *p = line->data, *end = line->data + line->len;
	while (end > p && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	if (!utf8_valid(p, (size_t)(end - p))) {
		*reason = "invalid UTF-8";
		return NULL;
	}
	const char *names[3] = {"time", "level", "scope"};
	json_t *o = json_object();
	for (int i = 0; i < 3; i++) {
		const char *tab = memchr(p, i < 2 ? '\t' : ' ', (size_t)(end - p));
		if (!tab && i < 2) {
			json_decref(o);
			*reason = "agentgateway text: expected TIME<TAB>LEVEL<TAB>SCOPE";
			return NULL;
		}
		const char *stop = tab ? tab : end;
		json_object_set_new(o, names[i], json_stringn(p, (size_t)(stop - p)));
		p = tab ? tab + 1 : end;
	}
	struct strbuf val = STRBUF_INIT;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		const char *eq = p;
		while (eq < end && *eq != '=' && *eq != ' ')
			eq++;
		if (eq >= end || *eq != '=') {
			/* a bare word (a message): keep it as "message" */
			json_object_set_new(o, "message", json_stringn(p, (size_t)(eq - p)));
			p = eq;
			continue;
		}
		const char *key = p;
		size_t key_len = (size_t)(eq - p);
		p = eq + 1;
		strbuf_reset(&val);
		if (p < end && *p == '"') {
			p++;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end) {
					p++;
					char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
					strbuf_append(&val, &c, 1);
				} else {
					strbuf_append(&val, p, 1);
				}
				p++;
			}
			if (p >= end) {
				strbuf_free(&val);
				json_decref(o);
				*reason = "agentgateway text: unterminated quoted value";
				return NULL;
			}
			p++;
		} else {
			const char *s = p;
			while (p < end && *p != ' ')
				p++;
			strbuf_append(&val, s, (size_t)(p - s));
		}
		char k[128];
		if (key_len == 0 || key_len >= sizeof(k))
			continue;
		memcpy(k, key, key_len);
		k[key_len] = '\0';
		json_t *v = json_stringn(val.data ? val.data : "", val.len);
		if (v)
			json_object_set_new(o, k, v);
	}
	strbuf_free(&val);
	return o;
}

/* The upstream session of target inside a base64 session token, or NULL. */
static const char *upstream_session(const char *sid, const char *target, struct log_strings *st)
{
	size_t n = strlen(sid);
	/* base64 of a JSON object starts "ey" ('{"'): a plain session id is not decoded at all */
	if (n < 8 || n > 4096 || sid[0] != 'e' || sid[1] != 'y')
		return NULL;
	struct strbuf b64 = STRBUF_INIT, raw = STRBUF_INIT;
	const char *found = NULL;
	/* URL-safe alphabet and missing padding are accepted */
	if (!strbuf_reserve(&b64, n + 4))
		goto out;
	for (size_t i = 0; i < n; i++)
		b64.data[i] = sid[i] == '-' ? '+' : sid[i] == '_' ? '/' : sid[i];
	b64.len = n;
	while (b64.len % 4)
		b64.data[b64.len++] = '=';
	b64.data[b64.len] = '\0';
	if (!base64_decode_append(&raw, b64.data, b64.len) || raw.len == 0 || raw.data[0] != '{')
		goto out;
	json_t *doc = json_loadb(raw.data, raw.len, 0, NULL);
	json_t *list = json_object_get(doc, "s");
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *t = json_string_value(json_object_get(e, "t"));
		const char *s = json_string_value(json_object_get(e, "s"));
		if (s && (json_array_size(list) == 1 || (target && t && strcmp(t, target) == 0))) {
			found = log_strings_add(st, s, strlen(s));
			break;
		}
	}
	json_decref(doc);
out:
	strbuf_free(&b64);
	strbuf_free(&raw);
	return found;
}

static enum log_parse_result agw_parse(void *state, const struct log_line *line, log_emit_fn emit,
				       void *ctx, const char **reason)
{
	(void)state;
	json_t *o = line->len && line->data[0] == '{' ? log_json_object(line, reason)
						      : text_to_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	struct log_strings st = {0};
	json_t *identity = NULL;
	const char *scope = log_get_str(o, "scope");
	const char *method = log_get_str(o, "mcp.method.name");
	if (!method && log_get(o, "mcp.method.name")) {
		*reason = "agentgateway: \"mcp.method.name\" is not a string";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	if ((scope && strcmp(scope, "request") != 0) || !method) {
		/* not an MCP request line (startup, config, plain HTTP); a line another parser
		 * knows is refused so that the importer hands it over (mixed files) */
		const struct log_parser *other = log_parser_detect(line->data, line->len);
		if (other && other != &log_parser_agentgateway) {
			*reason = "agentgateway: a line of another format";
			rc = LOG_PARSE_BAD;
		}
		goto out;
	}
	int64_t t;
	if (!log_get_time(o, "time", &t)) {
		*reason = "agentgateway: missing or malformed \"time\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	struct obs_gateway gw = {0};
	gw.format = "agentgateway";
	gw.method = method;
	gw.target = log_get_str(o, "mcp.target");
	gw.tool = log_get_str(o, "gen_ai.tool.name");
	if (!gw.tool)
		gw.tool = log_get_str(o, "gen_ai.prompt.name");
	gw.resource_type = log_get_str(o, "mcp.resource.type");
	gw.resource_uri = log_get_str(o, "mcp.resource.uri");
	gw.session_id = log_get_str(o, "mcp.session.id");
	if (gw.session_id)
		gw.upstream_session_id = upstream_session(gw.session_id, gw.target, &st);
	char idbuf[64];
	gw.rpc_id = log_get_text(o, "jsonrpc.request.id", idbuf, sizeof(idbuf));
	gw.trace_id = log_get_str(o, "trace.id");
	gw.span_id = log_get_str(o, "span.id");
	gw.request_id = log_get_str(o, "request.id");
	gw.src_addr = log_get_str(o, "src.addr");
	gw.user_agent = log_get_str(o, "http.user_agent");
	if (!gw.user_agent)
		gw.user_agent = log_get_str(o, "user_agent.original");
	gw.transport = "http";
	gw.event_kind = "request";
	/* tasks: the gateway names them TARGET+TASKID */
	const char *task = log_get_str(o, "mcp.task.name");
	if (!task && gw.resource_type && strcmp(gw.resource_type, "task") == 0)
		task = gw.resource_uri;
	if (task) {
		const char *plus = strchr(task, '+');
		if (plus && gw.target && (size_t)(plus - task) == strlen(gw.target) &&
		    strncmp(task, gw.target, (size_t)(plus - task)) == 0)
			task = plus + 1;
		gw.task_id = task;
	}
	int64_t n;
	if (log_get_int(o, "http.status", &n) && n > 0 && n < 1000)
		gw.http_status = (int)n;
	if (log_get_int(o, "retry.attempt", &n) && n >= 0 && n < 1000000)
		gw.retry_attempt = (int)n;
	const char *dur = log_get_str(o, "duration");
	double ms;
	if (dur && log_parse_duration_ms(dur, &ms)) {
		gw.has_duration = true;
		gw.duration_ms = ms;
	} else if (log_get_number(o, "duration", &ms)) {
		gw.has_duration = true;
		gw.duration_ms = ms;
	}
	if (log_get_int(o, "mcp.error.code", &n)) {
		gw.has_error_code = true;
		gw.error_code = n;
	}
	gw.error_message = log_get_str(o, "mcp.error.message");
	const char *err = log_get_str(o, "error");
	gw.reason = log_get_str(o, "reason");
	if (gw.has_error_code) {
		gw.outcome = "rpc_error";
	} else if (gw.http_status >= 400) {
		gw.outcome = log_outcome_from_http(gw.http_status);
		if (!gw.error_message)
			gw.error_message = err;
	} else if (err) {
		gw.outcome = "error";
		gw.error_message = err;
	} else {
		gw.outcome = "ok";
	}
	gw.outcome_raw = gw.has_error_code ? "mcp.error" : err ? "error" : NULL;

	const char *sub = log_get_str(o, "jwt.sub");
	const char *source = "gateway_jwt";
	if (!sub) {
		sub = log_get_str(o, "src.identity");
		source = sub ? "gateway_mtls" : "anonymous";
	}
	const char *client = log_get_str(o, "jwt.client_id");
	if (!client)
		client = log_get_str(o, "jwt.azp");
	identity = log_identity_new(sub, log_get_str(o, "jwt.iss"), client, source);
	log_identity_add_scope_array(identity, log_get(o, "jwt.scope"));
	log_identity_add_scope_array(identity, log_get(o, "jwt.scp"));
	int64_t exp;
	bool has_exp = log_get_int(o, "jwt.exp", &exp);
	log_identity_set_token_id(identity, log_get_str(o, "jwt.jti"), has_exp, exp);

	log_emit_gateway(line, t, &gw, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	log_strings_free(&st);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_agentgateway = {
	.name = "agentgateway",
	.description = "agentgateway access log (JSON or text), scope \"request\"",
	.detect = agw_detect,
	.parse = agw_parse,
};
