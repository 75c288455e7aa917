/* oauth: a generic OAuth 2.0 token-endpoint log of mcptrail's own definition, so any identity
 * provider or authorization server can be fed through a small shim.
 *
 * One JSON object per line, one line per token request (success or failure):
 *
 *   time                  required: RFC 3339 text or epoch seconds / ms / us / ns
 *   grant_type            required: RFC 6749 names or URNs ("authorization_code",
 *                         "client_credentials", "refresh_token",
 *                         "urn:ietf:params:oauth:grant-type:token-exchange",
 *                         "urn:ietf:params:oauth:grant-type:jwt-bearer", ...)
 *   issuer                the authorization server's issuer URL
 *   client_id             the client (a CIMD URL or not)
 *   subject (or sub)      the subject of the issued token
 *   scope / scopes        granted scopes: a space-separated string / an array of strings
 *   audience / resource   audience (RFC 8707 resource) of the issued token: a string or an array
 *                         (the first is kept)
 *   requested_token_type  token exchange: urn:ietf:params:oauth:token-type:id-jag (an ID-JAG),
 *                         ...:access_token, ...
 *   issued_token_type
 *   jti                   the issued access token's jti (calls join their grant by it)
 *   exp                   its expiry: epoch seconds or RFC 3339
 *   act                   RFC 8693 actor claim, nested: {"sub": "agent", "act": {"sub": ...}}
 *                         (current actor first) — or actor: a string or an array of strings
 *   subject_token_subject token exchange: whose token was exchanged
 *   success, error        success defaults to true without an error, false with one
 *   refresh_token_jti, session_id, src_addr (or client_ip), user_agent, event (the log's own
 *                         event name)
 *
 * Example:
 *   {"time":"2026-08-27T10:00:00Z","issuer":"https://idp.example.com","grant_type":
 *    "urn:ietf:params:oauth:grant-type:token-exchange","requested_token_type":
 *    "urn:ietf:params:oauth:token-type:id-jag","client_id":"https://agent.example.com/cimd.json",
 *    "subject":"alice","scope":"tools:read","audience":"https://mcp.example.com",
 *    "jti":"t-1","exp":1787824800,"act":{"sub":"agent-7"}} */
#include "parsers/log_idp.h"

#include "parsers/log_common.h"

#include <string.h>

static int oauth_detect(const char *line, size_t len)
{
	if (len < 20 || line[0] != '{' || !memmem(line, len, "\"grant_type\"", 12))
		return 0;
	if (memmem(line, len, "\"realmId\"", 9) || memmem(line, len, "\"eventType\"", 11))
		return 0; /* Keycloak, Okta */
	bool time = memmem(line, len, "\"time\"", 6) != NULL;
	if (time && (memmem(line, len, "\"issuer\"", 8) || memmem(line, len, "\"jti\"", 5)))
		return 85;
	if (time && memmem(line, len, "\"client_id\"", 11))
		return 60;
	return 0;
}

/* The first string of a string or an array. */
static const char *first_string(json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	return json_string_value(json_array_get(v, 0));
}

static enum log_parse_result oauth_parse(void *state, const struct log_line *line, log_emit_fn emit,
					 void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_BAD;
	json_t *identity = NULL;
	int64_t t;
	if (!log_get_time(o, "time", &t)) {
		*reason = "oauth: missing or malformed \"time\"";
		goto out;
	}
	struct obs_grant g = {0};
	g.format = "oauth";
	g.grant_type_raw = log_get_str(o, "grant_type");
	if (!g.grant_type_raw) {
		*reason = "oauth: missing \"grant_type\" (a string)";
		goto out;
	}
	g.grant_type = log_grant_type_canonical(g.grant_type_raw);
	g.requested_token_type = log_get_str(o, "requested_token_type");
	g.issued_token_type = log_get_str(o, "issued_token_type");
	g.audience = first_string(log_get(o, "audience"));
	if (!g.audience)
		g.audience = first_string(log_get(o, "resource"));
	g.token_id = log_get_str(o, "jti");
	g.refresh_token_id = log_get_str(o, "refresh_token_jti");
	g.session_id = log_get_str(o, "session_id");
	g.subject_token_subject = log_get_str(o, "subject_token_subject");
	g.src_addr = log_get_str(o, "src_addr");
	if (!g.src_addr)
		g.src_addr = log_get_str(o, "client_ip");
	g.user_agent = log_get_str(o, "user_agent");
	g.event_kind = log_get_str(o, "event");
	g.error = log_get_str(o, "error");
	bool success;
	g.success = log_get_bool(o, "success", &success) ? success : g.error == NULL;
	if (!g.success && !g.error)
		g.error = "error";
	int64_t exp_ns;
	if (log_get_time(o, "exp", &exp_ns)) { /* small numbers are seconds, as JWTs say */
		g.has_expires = true;
		g.expires_ns = exp_ns;
	}

	const char *subject = log_get_str(o, "subject");
	if (!subject)
		subject = log_get_str(o, "sub");
	identity = log_identity_new(subject, log_get_str(o, "issuer"), log_get_str(o, "client_id"),
				    "idp_log");
	json_t *scopes = log_get(o, "scopes");
	log_identity_add_scope_array(identity, scopes ? scopes : log_get(o, "scope"));
	json_t *act = log_get(o, "act");
	for (int depth = 0; json_is_object(act) && depth < 32; depth++) {
		log_identity_add_actor(identity, json_string_value(json_object_get(act, "sub")));
		act = json_object_get(act, "act");
	}
	json_t *actor = log_get(o, "actor");
	if (json_is_string(actor)) {
		log_identity_add_actor(identity, json_string_value(actor));
	} else {
		size_t i;
		json_t *a;
		json_array_foreach(actor, i, a)
			log_identity_add_actor(identity, json_string_value(a));
	}
	log_identity_set_token_id(identity, g.token_id, g.has_expires,
				  g.has_expires ? g.expires_ns / 1000000000 : 0);

	log_emit_grant(line, t, &g, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_oauth = {
	.name = "oauth",
	.description = "generic OAuth token-endpoint log (mcptrail's own JSON lines, see "
		       "parsers/log_oauth.c)",
	.detect = oauth_detect,
	.parse = oauth_parse,
};
