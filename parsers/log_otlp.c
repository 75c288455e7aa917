/* OTLP logs in the OTLP/JSON encoding: one ExportLogsServiceRequest per line, as the
 * OpenTelemetry Collector's file exporter writes them (and as `mcptrail collect` receives them
 * over OTLP/HTTP).
 *
 * Sources followed: opentelemetry-proto opentelemetry/proto/logs/v1/logs.proto and
 * common/v1/common.proto with the OTLP/JSON rules of the OTLP specification (lowerCamelCase
 * names, the proto names accepted too; 64-bit integers as decimal strings; trace and span ids as
 * hex); open-telemetry/semantic-conventions docs/gen-ai/mcp.md (the MCP attributes) and
 * docs/registry/attributes (enduser.id / user.id, error.type, rpc.response.status_code,
 * client.address, user_agent.original, network.transport).
 *
 *   {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":
 *    "github-mcp"}}]},"scopeLogs":[{"scope":{...},"logRecords":[{"timeUnixNano":"1787790120..",
 *    "observedTimeUnixNano":"...","severityText":"INFO","body":{"stringValue":"..."},
 *    "attributes":[{"key":"mcp.method.name","value":{"stringValue":"tools/call"}}, ...],
 *    "traceId":"4bf9...4736","spanId":"00f0...02b7"}]}]}]}
 *
 * A log record is an MCP request when it has mcp.method.name; the others (and records of a
 * request without MCP records at all) are skipped. Per record:
 *   method mcp.method.name; tool gen_ai.tool.name (else gen_ai.prompt.name); session
 *   mcp.session.id; protocol mcp.protocol.version; resource mcp.resource.uri; rpc id
 *   jsonrpc.request.id (string or int); subject enduser.id (else user.id; source otel_attribute);
 *   target mcp.target, else the resource's service.name; src client.address; user agent
 *   user_agent.original; transport network.transport ("pipe" → stdio); trace traceId / spanId
 *   (32 / 16 hex, else attributes trace_id / span_id); time timeUnixNano, else
 *   observedTimeUnixNano; duration (ms) attribute mcp.request.duration_ms or duration_ms.
 *   Outcome: error.type "tool_error" → tool_error; a JSON-RPC code (rpc.response.status_code,
 *   rpc.jsonrpc.error_code, mcp.error.code) → rpc_error; another error.type → error; else ok.
 * One line gives one observation per MCP record: LOG_PARSE_OK when at least one was used,
 * LOG_PARSE_SKIP when none was an MCP request, LOG_PARSE_BAD when the request is malformed or
 * every MCP record in it lacked a time. Work per line is bounded: at most OTLP_MAX_RECORDS
 * records are read; a request with more yields those and is reported as a bad line ("otlp: more
 * than 100000 log records in one request; the rest were not read"). */
#include "parsers/log_otlp.h"

#include "parsers/log_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTLP_MAX_RECORDS 100000

static int otlp_detect(const char *line, size_t len)
{
	if (len < 16 || line[0] != '{')
		return 0;
	size_t head = len < 64 ? len : 64;
	if (!memmem(line, head, "\"resourceLogs\"", 14) &&
	    !memmem(line, head, "\"resource_logs\"", 15))
		return 0;
	return memmem(line, len, "mcp.method.name", 15) ? 95 : 60;
}

/* A member by its lowerCamelCase OTLP/JSON name or its proto name. */
static json_t *member(json_t *o, const char *camel, const char *snake)
{
	json_t *v = json_object_get(o, camel);
	return v ? v : json_object_get(o, snake);
}

/* An AnyValue as text: strings as they are, integers / doubles / booleans printed into buf. */
static const char *any_text(json_t *v, char *buf, size_t buflen)
{
	json_t *x;
	if ((x = member(v, "stringValue", "string_value")) && json_is_string(x))
		return json_string_value(x);
	if ((x = member(v, "intValue", "int_value"))) {
		if (json_is_string(x))
			return json_string_value(x);
		if (json_is_integer(x)) {
			snprintf(buf, buflen, "%lld", (long long)json_integer_value(x));
			return buf;
		}
	}
	if ((x = member(v, "doubleValue", "double_value")) && json_is_number(x)) {
		snprintf(buf, buflen, "%.17g", json_number_value(x));
		return buf;
	}
	if ((x = member(v, "boolValue", "bool_value")) && json_is_boolean(x))
		return json_is_true(x) ? "true" : "false";
	return NULL;
}

static bool any_number(json_t *v, double *out)
{
	char buf[64];
	const char *s = any_text(v, buf, sizeof(buf));
	if (!s || !*s)
		return false;
	char *end;
	double d = strtod(s, &end);
	if (*end)
		return false;
	*out = d;
	return true;
}

static bool any_int(json_t *v, int64_t *out)
{
	char buf[64];
	const char *s = any_text(v, buf, sizeof(buf));
	if (!s || !*s)
		return false;
	char *end;
	long long n = strtoll(s, &end, 10);
	if (*end)
		return false;
	*out = n;
	return true;
}

/* A uint64 nanosecond time (a decimal string or a number); 0 means unset. */
static bool unix_nano(json_t *v, int64_t *ns)
{
	if (json_is_integer(v)) {
		*ns = json_integer_value(v);
		return *ns > 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > 19)
		return false;
	char *end;
	long long n = strtoll(s, &end, 10);
	if (*end || n <= 0)
		return false;
	*ns = n;
	return true;
}

static bool hex_id(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return false;
	bool nonzero = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
		nonzero |= c != '0';
	}
	return nonzero;
}

/* What one record's attributes say. */
struct record_attrs {
	const char *method, *tool, *prompt, *session, *protocol, *uri, *rpc_id, *subject, *user_id,
		*target, *client_addr, *user_agent, *transport, *error_type, *trace_id, *span_id;
	char rpc_buf[32];
	bool has_code, has_duration;
	int64_t code;
	double duration_ms;
};

static void read_attrs(json_t *attrs, struct record_attrs *a)
{
	size_t i;
	json_t *kv;
	json_array_foreach(attrs, i, kv)
	{
		const char *key = json_string_value(json_object_get(kv, "key"));
		json_t *v = json_object_get(kv, "value");
		if (!key || !json_is_object(v))
			continue;
		const char *s = json_string_value(member(v, "stringValue", "string_value"));
		if (strcmp(key, "mcp.method.name") == 0)
			a->method = s;
		else if (strcmp(key, "gen_ai.tool.name") == 0)
			a->tool = s;
		else if (strcmp(key, "gen_ai.prompt.name") == 0)
			a->prompt = s;
		else if (strcmp(key, "mcp.session.id") == 0)
			a->session = s;
		else if (strcmp(key, "mcp.protocol.version") == 0)
			a->protocol = s;
		else if (strcmp(key, "mcp.resource.uri") == 0)
			a->uri = s;
		else if (strcmp(key, "jsonrpc.request.id") == 0)
			a->rpc_id = any_text(v, a->rpc_buf, sizeof(a->rpc_buf));
		else if (strcmp(key, "enduser.id") == 0)
			a->subject = s;
		else if (strcmp(key, "user.id") == 0)
			a->user_id = s;
		else if (strcmp(key, "mcp.target") == 0)
			a->target = s;
		else if (strcmp(key, "client.address") == 0)
			a->client_addr = s;
		else if (strcmp(key, "user_agent.original") == 0)
			a->user_agent = s;
		else if (strcmp(key, "network.transport") == 0)
			a->transport = s;
		else if (strcmp(key, "error.type") == 0)
			a->error_type = s;
		else if (strcmp(key, "trace_id") == 0)
			a->trace_id = s;
		else if (strcmp(key, "span_id") == 0)
			a->span_id = s;
		else if (strcmp(key, "rpc.response.status_code") == 0 ||
			 strcmp(key, "rpc.jsonrpc.error_code") == 0 ||
			 strcmp(key, "mcp.error.code") == 0)
			a->has_code = any_int(v, &a->code) || a->has_code;
		else if (strcmp(key, "mcp.request.duration_ms") == 0 ||
			 strcmp(key, "duration_ms") == 0)
			a->has_duration = (any_number(v, &a->duration_ms) && a->duration_ms >= 0 &&
					   a->duration_ms < 1e12) ||
					  a->has_duration;
	}
}

struct otlp_run {
	const struct log_line *line;
	log_emit_fn emit;
	void *ctx;
	size_t records, used, untimed;
};

static void one_record(struct otlp_run *run, json_t *rec, const char *service)
{
	struct record_attrs a = {0};
	read_attrs(member(rec, "attributes", "attributes"), &a);
	if (!a.method || !*a.method)
		return; /* not an MCP request */
	int64_t t;
	if (!unix_nano(member(rec, "timeUnixNano", "time_unix_nano"), &t) &&
	    !unix_nano(member(rec, "observedTimeUnixNano", "observed_time_unix_nano"), &t)) {
		run->untimed++;
		return;
	}
	struct obs_gateway gw = {0};
	gw.format = "otlp";
	gw.method = a.method;
	gw.tool = a.tool ? a.tool : a.prompt;
	if (a.tool && strcmp(a.method, "tools/call") == 0)
		gw.resource_type = "tool";
	else if (a.prompt)
		gw.resource_type = "prompt";
	else if (a.uri)
		gw.resource_type = "resource";
	gw.resource_uri = a.uri;
	gw.session_id = a.session;
	gw.protocol_version = a.protocol;
	gw.rpc_id = a.rpc_id;
	gw.target = a.target ? a.target : service;
	gw.src_addr = a.client_addr;
	gw.user_agent = a.user_agent;
	if (a.transport)
		gw.transport = strcmp(a.transport, "pipe") == 0 ? "stdio" : "http";
	const char *tid = json_string_value(member(rec, "traceId", "trace_id"));
	const char *sid = json_string_value(member(rec, "spanId", "span_id"));
	gw.trace_id = hex_id(tid, 32) ? tid : hex_id(a.trace_id, 32) ? a.trace_id : NULL;
	gw.span_id = hex_id(sid, 16) ? sid : hex_id(a.span_id, 16) ? a.span_id : NULL;
	gw.has_duration = a.has_duration;
	gw.duration_ms = a.duration_ms;
	gw.event_kind = "otlp_log";
	if (a.error_type && strcmp(a.error_type, "tool_error") == 0) {
		gw.outcome = "tool_error";
	} else if (a.has_code) {
		gw.outcome = "rpc_error";
		gw.has_error_code = true;
		gw.error_code = a.code;
	} else if (a.error_type) {
		gw.outcome = "error";
		gw.error_message = a.error_type;
	} else {
		gw.outcome = "ok";
	}
	gw.outcome_raw = a.error_type;
	const char *sub = a.subject ? a.subject : a.user_id;
	json_t *identity = log_identity_new(sub, NULL, NULL, sub ? "otel_attribute" : "anonymous");
	struct obs ob;
	log_obs_init(&ob, OBS_GATEWAY, run->line, t);
	ob.gateway = &gw;
	ob.principal = identity;
	run->emit(run->ctx, &ob);
	json_decref(identity);
	run->used++;
}

static const char *resource_service(json_t *resource_logs)
{
	json_t *attrs = json_object_get(json_object_get(resource_logs, "resource"), "attributes");
	size_t i;
	json_t *kv;
	json_array_foreach(attrs, i, kv)
	{
		const char *key = json_string_value(json_object_get(kv, "key"));
		if (key && strcmp(key, "service.name") == 0)
			return json_string_value(member(json_object_get(kv, "value"), "stringValue",
							"string_value"));
	}
	return NULL;
}

static enum log_parse_result otlp_parse(void *state, const struct log_line *line, log_emit_fn emit,
					void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_BAD;
	json_t *rls = member(o, "resourceLogs", "resource_logs");
	if (!json_is_array(rls)) {
		*reason = "otlp: expected an ExportLogsServiceRequest ({\"resourceLogs\":[...]})";
		goto out;
	}
	struct otlp_run run = {line, emit, ctx, 0, 0, 0};
	bool capped = false;
	size_t i, j, k;
	json_t *rl, *sl, *rec;
	json_array_foreach(rls, i, rl)
	{
		const char *service = resource_service(rl);
		json_array_foreach(member(rl, "scopeLogs", "scope_logs"), j, sl)
		{
			json_array_foreach(member(sl, "logRecords", "log_records"), k, rec)
			{
				if (run.records == OTLP_MAX_RECORDS) {
					capped = true;
					goto done;
				}
				run.records++;
				if (json_is_object(rec))
					one_record(&run, rec, service);
			}
		}
	}
done:
	if (capped) {
		*reason =
			"otlp: more than 100000 log records in one request; the rest were not read";
		rc = LOG_PARSE_BAD;
	} else if (run.used) {
		rc = LOG_PARSE_OK;
	} else if (run.untimed) {
		*reason = "otlp: MCP log records without timeUnixNano or observedTimeUnixNano";
		rc = LOG_PARSE_BAD;
	} else {
		rc = LOG_PARSE_SKIP;
	}
out:
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_otlp = {
	.name = "otlp",
	.description = "OTLP/JSON logs (ExportLogsServiceRequest per line) with MCP attributes",
	.detect = otlp_detect,
	.parse = otlp_parse,
};
