/* Okta System Log events about token grants, as OBS_GRANT observations.
 *
 * Source followed: Okta's System Log API (developer.okta.com "System Log" LogEvent object and its
 * event types catalogue): one LogEvent per line as the API returns them (or a log-streaming
 * sink forwards them): {"uuid", "published": RFC 3339, "eventType", "outcome": {"result",
 * "reason"}, "actor": {"id", "type", "alternateId", "displayName"}, "client": {"userAgent":
 * {"rawUserAgent"}, "ipAddress"}, "authenticationContext": {"externalSessionId"},
 * "debugContext": {"debugData": {"grantType", "requestUri", "clientId", "grantedScopes",
 * "requestedScopes", "audience", "requestedTokenType", ...}}, "target": [{"id", "type",
 * "alternateId", "displayName", "detailEntry": {...}}]}.
 *
 * Grant events: app.oauth2.as.token.grant.* (custom authorization servers) and
 * app.oauth2.token.grant.* (the org server), the suffix naming the issued token (access_token,
 * id_token, refresh_token, ...). The access token is the target of type "access_token": its id
 * is the token's jti ("AT.…"), detailEntry.expires its expiry and detailEntry.subject its
 * subject. The actor is the client application; a client-credentials token's subject is the
 * client id, as Okta issues it. The issuer is the AuthorizationServer target's alternateId when it
 * is a URL, else debugData.issuer, else "okta:<authorization server id>" or "okta". */
#include "parsers/log_idp.h"

#include "parsers/log_common.h"

#include <stdio.h>
#include <string.h>

static int okta_detect(const char *line, size_t len)
{
	if (len < 20 || line[0] != '{')
		return 0;
	bool event_type = memmem(line, len, "\"eventType\"", 11) != NULL;
	bool published = memmem(line, len, "\"published\"", 11) != NULL;
	if (event_type && memmem(line, len, "app.oauth2.", 11))
		return 95;
	if (event_type && published &&
	    (memmem(line, len, "\"debugContext\"", 14) || memmem(line, len, "\"actor\"", 7)))
		return 70;
	return 0;
}

/* The first target of type, or NULL. */
static json_t *target_of(json_t *o, const char *type)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(o, "target"), i, t)
	{
		const char *tt = json_string_value(json_object_get(t, "type"));
		if (tt && strcasecmp(tt, type) == 0)
			return t;
	}
	return NULL;
}

static enum log_parse_result okta_parse(void *state, const struct log_line *line, log_emit_fn emit,
					void *ctx, const char **reason)
{
	(void)state;
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	json_t *identity = NULL;
	const char *type = log_get_str(o, "eventType");
	if (!type) {
		*reason = "okta: missing \"eventType\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	const char *grant = NULL;
	if (strncmp(type, "app.oauth2.as.token.grant", 25) == 0)
		grant = type + 25;
	else if (strncmp(type, "app.oauth2.token.grant", 22) == 0)
		grant = type + 22;
	if (!grant)
		goto out; /* sign-ins, admin changes, ... */
	const char *token_kind = *grant == '.' ? grant + 1 : "access_token";
	int64_t t;
	if (!log_get_time(o, "published", &t)) {
		*reason = "okta: missing or malformed \"published\"";
		rc = LOG_PARSE_BAD;
		goto out;
	}
	json_t *dbg = log_get(o, "debugContext.debugData");
	struct obs_grant g = {0};
	g.format = "okta";
	g.event_kind = type;
	g.grant_type_raw = log_get_str(dbg, "grantType");
	g.grant_type = g.grant_type_raw ? log_grant_type_canonical(g.grant_type_raw) : "other";
	char kind_urn[96];
	snprintf(kind_urn, sizeof(kind_urn), "urn:ietf:params:oauth:token-type:%s",
		 strcmp(token_kind, "id_jag") == 0 ? "id-jag" : token_kind);
	g.issued_token_type = kind_urn;
	g.requested_token_type = log_get_str(dbg, "requestedTokenType");
	if (!g.requested_token_type && strcmp(token_kind, "id_jag") == 0)
		g.requested_token_type = kind_urn;
	g.audience = log_get_str(dbg, "audience");
	g.session_id = log_get_str(o, "authenticationContext.externalSessionId");
	g.src_addr = log_get_str(o, "client.ipAddress");
	g.user_agent = log_get_str(o, "client.userAgent.rawUserAgent");
	const char *result = log_get_str(o, "outcome.result");
	g.success = result && strcasecmp(result, "SUCCESS") == 0;
	if (!g.success) {
		g.error = log_get_str(o, "outcome.reason");
		if (!g.error)
			g.error = result ? result : "no outcome";
	}
	json_t *token = target_of(o, token_kind);
	if (!token && strcmp(token_kind, "id_jag") == 0)
		token = target_of(o, "id-jag");
	const char *token_id = json_string_value(json_object_get(token, "id"));
	if (strcmp(token_kind, "refresh_token") == 0)
		g.refresh_token_id = token_id;
	else
		g.token_id = token_id;
	json_t *entry = json_object_get(token, "detailEntry");
	int64_t exp_ns;
	if (log_get_time(entry, "expires", &exp_ns)) {
		g.has_expires = true;
		g.expires_ns = exp_ns;
	}

	const char *actor_type = log_get_str(o, "actor.type");
	bool actor_is_user = actor_type && strcasecmp(actor_type, "User") == 0;
	const char *client = log_get_str(dbg, "clientId");
	if (!client && actor_type && !actor_is_user)
		client = log_get_str(o, "actor.id");
	if (!client) {
		json_t *app = target_of(o, "PublicClientApp");
		if (!app)
			app = target_of(o, "AppInstance");
		client = json_string_value(json_object_get(app, "id"));
	}
	const char *subject = log_get_str(entry, "subject");
	if (!subject && actor_is_user)
		subject = log_get_str(o, "actor.alternateId");
	if (!subject && strcmp(g.grant_type, "client_credentials") == 0)
		subject = client;
	json_t *as = target_of(o, "AuthorizationServer");
	const char *issuer = json_string_value(json_object_get(as, "alternateId"));
	char issuer_buf[300];
	if (!issuer || strncmp(issuer, "https://", 8) != 0) {
		issuer = log_get_str(dbg, "issuer");
		const char *as_id = json_string_value(json_object_get(as, "id"));
		if (!issuer) {
			snprintf(issuer_buf, sizeof(issuer_buf), "okta%s%s", as_id ? ":" : "",
				 as_id ? as_id : "");
			issuer = issuer_buf;
		}
	}
	identity = log_identity_new(subject, issuer, client, "idp_log");
	json_t *scopes = log_get(dbg, "grantedScopes");
	if (!scopes)
		scopes = json_object_get(entry, "scopes");
	if (!scopes)
		scopes = log_get(dbg, "requestedScopes");
	log_identity_add_scope_array(identity, scopes);
	log_identity_set_token_id(identity, g.token_id, g.has_expires,
				  g.has_expires ? g.expires_ns / 1000000000 : 0);

	log_emit_grant(line, t, &g, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_okta = {
	.name = "okta",
	.description = "Okta System Log events (app.oauth2.*token.grant.*)",
	.detect = okta_detect,
	.parse = okta_parse,
};
