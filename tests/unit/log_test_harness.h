/* Unit-test helper for log parsers: runs a parser on one line and keeps what it emitted as JSON
 * (observations borrow their strings, so they are copied while the line is alive). */
#ifndef MCPTRAIL_LOG_TEST_HARNESS_H
#define MCPTRAIL_LOG_TEST_HARNESS_H

#include "parsers/log_parser.h"

#include <jansson.h>
#include <string.h>

static inline void lth_set(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_string(s));
}

/* Appends {"kind", "time_ns", "identity", members of the gateway / grant struct} to ctx (an
 * array). */
static inline void lth_collect(void *ctx, const struct obs *ob)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(ob->kind == OBS_GRANT ? "grant" : "gateway"));
	json_object_set_new(o, "time_ns", json_integer(ob->time_ns));
	if (ob->principal)
		json_object_set_new(o, "identity", json_deep_copy(ob->principal));
	const struct obs_gateway *gw = ob->gateway;
	if (gw) {
		const char *keys[] = {
			"format",	"method",	  "tool",	 "target",
			"resource_uri", "resource_type",  "session_id",	 "upstream_session_id",
			"rpc_id",	"trace_id",	  "span_id",	 "task_id",
			"request_id",	"outcome",	  "outcome_raw", "error_message",
			"decision",	"reason",	  "src_addr",	 "user_agent",
			"client_name",	"client_version", "transport",	 "protocol_version",
			"event_kind"};
		const char *vals[] = {gw->format,	gw->method,
				      gw->tool,		gw->target,
				      gw->resource_uri, gw->resource_type,
				      gw->session_id,	gw->upstream_session_id,
				      gw->rpc_id,	gw->trace_id,
				      gw->span_id,	gw->task_id,
				      gw->request_id,	gw->outcome,
				      gw->outcome_raw,	gw->error_message,
				      gw->decision,	gw->reason,
				      gw->src_addr,	gw->user_agent,
				      gw->client_name,	gw->client_version,
				      gw->transport,	gw->protocol_version,
				      gw->event_kind};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			lth_set(o, keys[i], vals[i]);
		if (gw->has_error_code)
			json_object_set_new(o, "error_code", json_integer(gw->error_code));
		if (gw->has_duration)
			json_object_set_new(o, "duration_ms", json_real(gw->duration_ms));
		if (gw->http_status)
			json_object_set_new(o, "http_status", json_integer(gw->http_status));
		if (gw->retry_attempt)
			json_object_set_new(o, "retry_attempt", json_integer(gw->retry_attempt));
	}
	const struct obs_grant *g = ob->grant;
	if (g) {
		const char *keys[] = {"format",
				      "grant_type",
				      "grant_type_raw",
				      "requested_token_type",
				      "issued_token_type",
				      "audience",
				      "token_id",
				      "refresh_token_id",
				      "session_id",
				      "subject_token_subject",
				      "src_addr",
				      "user_agent",
				      "error",
				      "event_kind"};
		const char *vals[] = {g->format,
				      g->grant_type,
				      g->grant_type_raw,
				      g->requested_token_type,
				      g->issued_token_type,
				      g->audience,
				      g->token_id,
				      g->refresh_token_id,
				      g->session_id,
				      g->subject_token_subject,
				      g->src_addr,
				      g->user_agent,
				      g->error,
				      g->event_kind};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			lth_set(o, keys[i], vals[i]);
		json_object_set_new(o, "success", json_boolean(g->success));
		if (g->has_expires)
			json_object_set_new(o, "expires_ns", json_integer(g->expires_ns));
	}
	json_array_append_new((json_t *)ctx, o);
}

/* Runs p on line; *out (caller decrefs) holds what it emitted; *reason its reason. */
static inline enum log_parse_result lth_parse(const struct log_parser *p, void *state,
					      const char *line, json_t **out, const char **reason)
{
	struct log_line ll = {line, strlen(line), "test.log", 7};
	*out = json_array();
	*reason = NULL;
	return p->parse(state, &ll, lth_collect, *out, reason);
}

/* The string at identity.KEY / KEY of the first observation. */
static inline const char *lth_str(json_t *out, const char *key)
{
	return json_string_value(json_object_get(json_array_get(out, 0), key));
}

static inline const char *lth_id(json_t *out, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(json_array_get(out, 0), "identity"), key));
}

static inline json_t *lth_id_array(json_t *out, const char *key)
{
	return json_object_get(json_object_get(json_array_get(out, 0), "identity"), key);
}

#endif
