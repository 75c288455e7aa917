/* Shared by the log parser unit tests: run one line through a parser and keep what it emitted
 * (deep copies of the gateway observations as JSON, so the line's memory may go). */
#ifndef MCPTRAIL_TEST_LOG_PARSER_HARNESS_H
#define MCPTRAIL_TEST_LOG_PARSER_HARNESS_H

#include "parsers/log_parser.h"

#include <jansson.h>
#include <string.h>

struct harvest {
	json_t *obs; /* array of {time_ns, method, tool, ..., identity} */
};

static inline void harvest_set(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static inline void harvest_emit(void *ctx, const struct obs *ob)
{
	struct harvest *h = ctx;
	json_t *o = json_object();
	json_object_set_new(o, "time_ns", json_integer(ob->time_ns));
	const struct obs_gateway *g = ob->gateway;
	if (g) {
		harvest_set(o, "format", g->format);
		harvest_set(o, "method", g->method);
		harvest_set(o, "tool", g->tool);
		harvest_set(o, "target", g->target);
		harvest_set(o, "resource_uri", g->resource_uri);
		harvest_set(o, "session_id", g->session_id);
		harvest_set(o, "rpc_id", g->rpc_id);
		harvest_set(o, "trace_id", g->trace_id);
		harvest_set(o, "span_id", g->span_id);
		harvest_set(o, "request_id", g->request_id);
		harvest_set(o, "outcome", g->outcome);
		harvest_set(o, "outcome_raw", g->outcome_raw);
		harvest_set(o, "decision", g->decision);
		harvest_set(o, "reason", g->reason);
		harvest_set(o, "src_addr", g->src_addr);
		harvest_set(o, "user_agent", g->user_agent);
		harvest_set(o, "client_name", g->client_name);
		harvest_set(o, "client_version", g->client_version);
		harvest_set(o, "protocol_version", g->protocol_version);
		harvest_set(o, "error_message", g->error_message);
		harvest_set(o, "event_kind", g->event_kind);
		if (g->has_duration)
			json_object_set_new(o, "duration_ms", json_real(g->duration_ms));
		if (g->has_error_code)
			json_object_set_new(o, "error_code", json_integer(g->error_code));
		if (g->http_status)
			json_object_set_new(o, "http_status", json_integer(g->http_status));
	}
	if (ob->principal)
		json_object_set_new(o, "identity", json_deep_copy(ob->principal));
	json_array_append_new(h->obs, o);
}

/* Parses text (a NUL-terminated line) with p; returns the result, *reason on BAD. */
static inline enum log_parse_result harvest_line(const struct log_parser *p, const char *text,
						 struct harvest *h, const char **reason)
{
	if (!h->obs)
		h->obs = json_array();
	struct log_line line = {text, strlen(text), "test.log", 1};
	*reason = NULL;
	return p->parse(NULL, &line, harvest_emit, h, reason);
}

static inline const char *harvest_str(const struct harvest *h, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(h->obs, i), key));
}

static inline const char *harvest_identity(const struct harvest *h, size_t i, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(json_array_get(h->obs, i), "identity"), key));
}

static inline void harvest_reset(struct harvest *h)
{
	json_decref(h->obs);
	h->obs = json_array();
}

#endif
