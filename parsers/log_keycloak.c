/* Keycloak events: token grants (CODE_TO_TOKEN, CLIENT_LOGIN, TOKEN_EXCHANGE, REFRESH_TOKEN and
 * their *_ERROR variants) as OBS_GRANT observations.
 *
 * Sources followed: keycloak/keycloak server-spi-private org.keycloak.events.EventType (type
 * names), Details (detail keys: grant_type, token_id, refresh_token_id, scope,
 * client_auth_method, audience, requested_token_type, requested_issuer, subject_token_client_id,
 * username) and the jboss-logging event listener, which writes one line per event on the logger
 * "org.keycloak.events" with a message "type=\"CODE_TO_TOKEN\", realmId=\"...\", clientId=...,
 * userId=..., sessionId=..., ipAddress=..., error=..., DETAIL=VALUE, ..." (values quoted since
 * Keycloak 24, bare before). Three shapes are read:
 *   - the JSON console/file log (quarkus.log.console.json): {"timestamp":..., "loggerName":
 *     "org.keycloak.events", "message":"type=..."}
 *   - the text log: "2026-08-27 10:00:00,123 DEBUG [org.keycloak.events] (thread) type=..."
 *     (time without a zone is taken as UTC)
 *   - the admin REST representation (GET /admin/realms/R/events, or an event-listener SPI that
 *     writes it): {"time": EPOCH_MS, "type", "realmId", "clientId", "userId", "sessionId",
 *     "ipAddress", "error", "details": {...}}
 *
 * Issuer: Keycloak's events carry the realm, not the server URL, so the issuer is
 * "keycloak:<realm>" (realmName when logged, else realmId). A call is joined to its grant by the
 * token's jti (details.token_id), which does not need the issuer; the correlator fills a call's
 * issuer from the grant only when the call has none. */
#include "parsers/log_idp.h"

#include "parsers/log_common.h"

#include <stdio.h>
#include <string.h>

static int keycloak_detect(const char *line, size_t len)
{
	if (len < 20)
		return 0;
	bool events_logger = memmem(line, len, "org.keycloak.events", 19) != NULL;
	bool type = memmem(line, len, "type=", 5) != NULL || memmem(line, len, "\"type\"", 6);
	bool realm = memmem(line, len, "realmId", 7) != NULL;
	if (events_logger && type)
		return 95;
	if (line[0] == '{' && realm && type && memmem(line, len, "\"clientId\"", 10))
		return 90;
	return 0;
}

/* "k=v, k=\"v\", ..." → members of obj */
static void message_pairs(json_t *obj, const char *p, const char *end)
{
	char key[64], val[1024];
	while (p < end) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		const char *k = p;
		while (p < end && *p != '=' && *p != ',' && *p != ' ')
			p++;
		if (p >= end || *p != '=') {
			continue; /* a word without a value: skip it */
		}
		size_t kn = (size_t)(p - k);
		p++;
		size_t vn = 0;
		if (p < end && *p == '"') {
			p++;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (vn < sizeof(val) - 1)
					val[vn++] = *p;
				p++;
			}
			if (p < end)
				p++;
		} else {
			while (p < end && *p != ',') {
				if (vn < sizeof(val) - 1)
					val[vn++] = *p;
				p++;
			}
		}
		if (kn == 0 || kn >= sizeof(key))
			continue;
		memcpy(key, k, kn);
		key[kn] = '\0';
		json_t *v = json_stringn(val, vn); /* NULL when the cut split a UTF-8 sequence */
		if (v)
			json_object_set_new(obj, key, v);
	}
}

/* The event as a flat object (message members at the top), or NULL with *reason. */
static json_t *keycloak_event(const struct log_line *line, int64_t *t, const char **reason)
{
	json_t *o;
	if (line->len && line->data[0] == '{') {
		o = log_json_object(line, reason);
		if (!o)
			return NULL;
		const char *msg = log_get_str(o, "message");
		if (msg && !json_object_get(o, "type"))
			message_pairs(o, msg, msg + strlen(msg));
		if (!log_get_time(o, "time", t) && !log_get_time(o, "timestamp", t) &&
		    !log_get_time(o, "@timestamp", t)) {
			*reason = "keycloak: missing or malformed \"time\"/\"timestamp\"";
			json_decref(o);
			return NULL;
		}
		return o;
	}
	const char *at = memmem(line->data, line->len, "[org.keycloak.events]", 21);
	if (!at && memmem(line->data, line->len, "[org.keycloak.", 14)) {
		*t = 0;
		return json_object(); /* another Keycloak logger: no "type", skipped */
	}
	if (!at || line->len < 23) {
		*reason = "keycloak: not an org.keycloak.events line";
		return NULL;
	}
	char ts[32];
	memcpy(ts, line->data, 23);
	ts[23] = '\0';
	if (!log_parse_time(ts, t)) {
		*reason = "keycloak: expected a \"YYYY-MM-DD HH:MM:SS,mmm\" time";
		return NULL;
	}
	const char *p = at + 21, *end = line->data + line->len;
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '(') { /* the thread name */
		const char *close = memchr(p, ')', (size_t)(end - p));
		p = close ? close + 1 : p;
	}
	o = json_object();
	message_pairs(o, p, end);
	return o;
}

/* A detail: details.KEY (REST representation) or KEY (log message). */
static const char *detail(json_t *o, const char *key)
{
	json_t *d = json_object_get(o, "details");
	const char *s = json_string_value(json_object_get(d, key));
	return s ? s : log_get_str(o, key);
}

static const char *const grant_types[] = {
	"CODE_TO_TOKEN",
	"CLIENT_LOGIN",
	"TOKEN_EXCHANGE",
	"REFRESH_TOKEN",
	"AUTHREQID_TO_TOKEN",
	"OAUTH2_DEVICE_CODE_TO_TOKEN",
	"PERMISSION_TOKEN",
	"RESOURCE_OWNER_PASSWORD_CREDENTIALS",
	NULL,
};

static enum log_parse_result keycloak_parse(void *state, const struct log_line *line,
					    log_emit_fn emit, void *ctx, const char **reason)
{
	(void)state;
	int64_t t = 0;
	json_t *o = keycloak_event(line, &t, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	json_t *identity = NULL;
	const char *type = log_get_str(o, "type");
	if (!type && !log_get_str(o, "loggerName") && !log_get_str(o, "realmId") &&
	    json_object_size(o) > 0) {
		*reason = "keycloak: neither an event nor a Keycloak log line";
		rc = LOG_PARSE_BAD; /* another format's line in a mixed file */
		goto out;
	}
	if (!type)
		goto out; /* another Keycloak log line */
	size_t tn = strlen(type);
	bool error_type = tn > 6 && strcmp(type + tn - 6, "_ERROR") == 0;
	size_t base_len = error_type ? tn - 6 : tn;
	const char *base = NULL;
	for (size_t i = 0; grant_types[i]; i++)
		if (strlen(grant_types[i]) == base_len &&
		    strncmp(grant_types[i], type, base_len) == 0)
			base = grant_types[i];
	if (!base)
		goto out; /* LOGIN, LOGOUT, admin events: not token grants */
	struct obs_grant g = {0};
	g.format = "keycloak";
	g.event_kind = type;
	g.grant_type_raw = detail(o, "grant_type");
	if (!g.grant_type_raw)
		g.grant_type_raw = base;
	g.grant_type = log_grant_type_canonical(g.grant_type_raw);
	if (strcmp(g.grant_type, "other") == 0) {
		const char *from_type = log_grant_type_canonical(base);
		if (strcmp(from_type, "other") != 0)
			g.grant_type = from_type;
	}
	g.token_id = detail(o, "token_id");
	g.refresh_token_id = detail(o, "refresh_token_id");
	g.requested_token_type = detail(o, "requested_token_type");
	g.audience = detail(o, "audience");
	g.session_id = log_get_str(o, "sessionId");
	g.src_addr = log_get_str(o, "ipAddress");
	g.error = log_get_str(o, "error");
	g.success = !error_type && !g.error;
	if (!g.success && !g.error)
		g.error = "error";

	char issuer[300];
	const char *realm = log_get_str(o, "realmName");
	if (!realm)
		realm = log_get_str(o, "realmId");
	if (realm)
		snprintf(issuer, sizeof(issuer), "keycloak:%s", realm);
	const char *user = log_get_str(o, "userId");
	if (user && strcmp(user, "null") == 0)
		user = NULL; /* the text log prints a missing user as null */
	identity = log_identity_new(user, realm ? issuer : NULL, log_get_str(o, "clientId"),
				    "idp_log");
	log_identity_add_scopes(identity, detail(o, "scope"));
	log_identity_set_token_id(identity, g.token_id, false, 0);

	log_emit_grant(line, t, &g, identity, emit, ctx);
	rc = LOG_PARSE_OK;
out:
	json_decref(identity);
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_keycloak = {
	.name = "keycloak",
	.description = "Keycloak token events (JSON or text org.keycloak.events log, admin REST "
		       "representation)",
	.detect = keycloak_detect,
	.parse = keycloak_parse,
};
