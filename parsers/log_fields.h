/* log_fields: the canonical field names, transforms and observation building shared by the
 * configured parsers (the JSON field mapper, log_mapper.c, and the regex parser, log_regex.c).
 *
 * A configuration maps canonical names to where the value is in a line: a dotted path into the
 * JSON object (mapper) or a named capture (regex; the captures become a flat object first, so the
 * same code reads both):
 *
 *   "kind": "call" | "grant"
 *   "time": {"path": P, "format": "rfc3339" | "epoch_s" | "epoch_ms" | "epoch_us" | "epoch_ns" |
 *            "clf" | "auto"}           (the regex parser also takes "capture" for "path")
 *   "fields": {NAME: P, or NAME: {"path": P, "transform": T, "map": {RAW: VALUE}},
 *              or NAME: {"value": CONSTANT}}
 *
 * Names, for every kind: subject, issuer, client_id, scopes, actors, jti, exp (the identity).
 * kind "call" (struct obs_gateway): method, tool, target, resource_uri, resource_type,
 * session_id, upstream_session_id, rpc_id, trace_id, span_id, task_id, request_id, outcome,
 * outcome_raw, error_code, error_message, http_status, duration_ms, retry_attempt, decision,
 * reason, src_addr, user_agent, client_name, client_version, transport, protocol_version,
 * event_kind. kind "grant" (struct obs_grant): grant_type, requested_token_type,
 * issued_token_type, audience, token_id, refresh_token_id, session_id, subject_token_subject,
 * src_addr, user_agent, success, error, expires, event_kind.
 *
 * Transforms: lower, upper, last_segment (after the last '/'), split_scopes (a space- or
 * comma-separated string into a list), duration (Go-style "4ms" / "1.5s" or a number of ms),
 * duration_s, duration_us, duration_ns (a number in that unit, into ms), http_outcome (an HTTP
 * status into an outcome), outcome (the log's word into a canonical outcome), grant_type (into a
 * canonical grant type). "map" rewrites a value after its transform (unmapped values are kept).
 *
 * Values are taken as logged, then made canonical where the observation needs it: an outcome
 * that is not a canonical word goes through log_outcome_canonical (and is derived from the error
 * code, HTTP status or error message when the log has none), a grant type through
 * log_grant_type_canonical. A call line with neither a method nor a tool is skipped; a tool alone
 * means tools/call. */
#ifndef MCPTRAIL_LOG_FIELDS_H
#define MCPTRAIL_LOG_FIELDS_H

#include "parsers/log_parser.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct log_fields;

/* Compiles the "kind", "time" and "fields" members of config. source: the parser's name ("mapper",
 * "regex") for observations; file: the config's name for errors ("mapper.json: fields.subject:
 * expected a string path"); path_key: "path" or "capture", the key that names where a value is.
 * NULL with err filled when config is wrong. */
struct log_fields *log_fields_compile(const json_t *config, const char *source, const char *file,
				      const char *path_key, char *err, size_t errlen);
void log_fields_free(struct log_fields *f);

/* Calls fn(ctx, where) for every path / capture name the configuration reads (the regex parser
 * checks them against its pattern); stops and returns false when fn does. */
bool log_fields_each_path(const struct log_fields *f, bool (*fn)(void *ctx, const char *where),
			  void *ctx);

/* Builds the observation of one line from obj and emits it. */
enum log_parse_result log_fields_emit(const struct log_fields *f, json_t *obj,
				      const struct log_line *line, log_emit_fn emit, void *ctx,
				      const char **reason);

/* Loads a configured parser's JSON config file and builds its state with p->state_new. NULL with
 * err filled ("FILE: ...") when the file cannot be read or the config is wrong. */
void *log_fields_load_config(const struct log_parser *p, const char *file, char *err,
			     size_t errlen);

#endif
