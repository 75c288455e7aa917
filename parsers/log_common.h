/* log_common: helpers every log parser shares: JSON lines, dotted paths, timestamps, durations,
 * identities, and the canonical words for outcomes and grant types. */
#ifndef MCPTRAIL_LOG_COMMON_H
#define MCPTRAIL_LOG_COMMON_H

#include "parsers/log_parser.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The line as a JSON object (caller owns), or NULL with *reason ("not JSON", "not an object",
 * "invalid UTF-8"). */
json_t *log_json_object(const struct log_line *line, const char **reason);

/* The value at path in obj: a member literally named path first ("mcp.method.name" as
 * agentgateway writes it), else the dotted path through nested objects ("subjects.user"). NULL when
 * absent or null. */
json_t *log_get(json_t *obj, const char *path);
/* The string at path; NULL when absent or not a string. */
const char *log_get_str(json_t *obj, const char *path);
/* The string at path, or a number / boolean there printed into buf (for ids that arrive as either);
 * NULL otherwise. */
const char *log_get_text(json_t *obj, const char *path, char *buf, size_t buflen);
/* An integer at path (a JSON integer, or a string of digits). */
bool log_get_int(json_t *obj, const char *path, int64_t *out);
/* A number at path (integer, real, or a numeric string). */
bool log_get_number(json_t *obj, const char *path, double *out);
/* A boolean at path (true/false, "true"/"false", 1/0). */
bool log_get_bool(json_t *obj, const char *path, bool *out);

/* RFC 3339 / ISO 8601 text ("2026-08-27T00:22:00.789058Z", "+02:00" offsets, a space for the
 * 'T', no zone = UTC) to ns since the epoch. */
bool log_parse_time(const char *s, int64_t *ns);
/* A number of seconds, milliseconds, microseconds or nanoseconds since the epoch (unit guessed
 * from the magnitude when unit is NULL, else "s", "ms", "us", "ns") to ns. */
bool log_epoch_to_ns(double v, const char *unit, int64_t *ns);
/* The time at path: RFC 3339 text or an epoch number. */
bool log_get_time(json_t *obj, const char *path, int64_t *ns);
/* Go / Rust style durations: "4ms", "1.5s", "250µs", "250us", "100ns", "1m2.5s", "2h"; a bare
 * number is milliseconds. */
bool log_parse_duration_ms(const char *s, double *ms);

/* An identity object as events carry it (schema $defs/identity): subject, issuer, client_id
 * (NULL → null), empty scopes and actors, source, verified false. */
json_t *log_identity_new(const char *subject, const char *issuer, const char *client_id,
			 const char *source);
/* Adds the scopes of a space- or comma-separated string (or a JSON array of strings), without
 * duplicates. */
void log_identity_add_scopes(json_t *identity, const char *scopes);
void log_identity_add_scope_array(json_t *identity, json_t *array);
/* Appends an actor subject (act chain, current actor first). */
void log_identity_add_actor(json_t *identity, const char *actor);
/* Sets member key to s; no-op for a NULL s. */
void log_identity_set(json_t *identity, const char *key, const char *s);
/* The log names the token only by its jti (and maybe its expiry): identity.token gets
 * {fingerprint: null, kind: null, class: null, verification: null, jti, exp}. */
void log_identity_set_token_id(json_t *identity, const char *jti, bool has_exp, int64_t exp_s);

/* Canonical outcome of a log's word: "success"/"ok"/"allow" → ok, "denied"/"forbidden" → denied,
 * "application_error"/"tool_error" → tool_error, "failure"/"error" → error, ... NULL when
 * unknown. */
const char *log_outcome_canonical(const char *raw);
/* Outcome from an HTTP status when the log has no word for it. */
const char *log_outcome_from_http(int status);
/* Canonical grant type: "authorization_code", "client_credentials", "refresh_token",
 * "token_exchange", "jwt_bearer", "device_code", "password", "implicit", or "other". Accepts the
 * RFC URNs and the IdPs' spellings. */
const char *log_grant_type_canonical(const char *raw);

/* Strings a parser makes for one line (decoded ids, printed numbers): freed together. */
struct log_strings {
	char *items[32];
	size_t n;
};
/* A copy of s[0..len) owned by st; NULL when full or out of memory. */
const char *log_strings_add(struct log_strings *st, const char *s, size_t len);
void log_strings_free(struct log_strings *st);

/* Emits one gateway (or grant) observation of line at time_ns, with identity as its principal. */
void log_emit_gateway(const struct log_line *line, int64_t time_ns, const struct obs_gateway *gw,
		      json_t *identity, log_emit_fn emit, void *ctx);
void log_emit_grant(const struct log_line *line, int64_t time_ns, const struct obs_grant *grant,
		    json_t *identity, log_emit_fn emit, void *ctx);
/* An observation template for a line: kind, time, provenance (source_name, source_line). */
void log_obs_init(struct obs *o, enum obs_kind kind, const struct log_line *line, int64_t time_ns);

#endif
