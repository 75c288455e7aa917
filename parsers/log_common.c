#include "parsers/log_common.h"

#include "collector/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *log_json_object(const struct log_line *line, const char **reason)
{
	size_t len = line->len;
	while (len > 0 && (line->data[len - 1] == '\r' || line->data[len - 1] == ' '))
		len--;
	if (!utf8_valid(line->data, len)) {
		*reason = "invalid UTF-8";
		return NULL;
	}
	json_error_t err;
	json_t *v = json_loadb(line->data, len, 0, &err);
	if (!v) {
		*reason = "not JSON (malformed or truncated)";
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		*reason = "not a JSON object";
		return NULL;
	}
	return v;
}

json_t *log_get(json_t *obj, const char *path)
{
	if (!json_is_object(obj) || !path)
		return NULL;
	json_t *v = json_object_get(obj, path);
	if (v)
		return json_is_null(v) ? NULL : v;
	const char *dot = strchr(path, '.');
	if (!dot)
		return NULL;
	/* nested: try each split point, so "source.extra.session_id" finds source → extra →
	 * session_id and also a member literally named "source.extra" */
	for (; dot; dot = strchr(dot + 1, '.')) {
		size_t n = (size_t)(dot - path);
		json_t *head = json_object_getn(obj, path, n);
		if (json_is_object(head)) {
			json_t *r = log_get(head, dot + 1);
			if (r)
				return r;
		}
	}
	return NULL;
}

const char *log_get_str(json_t *obj, const char *path)
{
	json_t *v = log_get(obj, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *log_get_text(json_t *obj, const char *path, char *buf, size_t buflen)
{
	json_t *v = log_get(obj, path);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, buflen, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, buflen, "%.17g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v)) {
		snprintf(buf, buflen, "%s", json_is_true(v) ? "true" : "false");
		return buf;
	}
	return NULL;
}

bool log_get_int(json_t *obj, const char *path, int64_t *out)
{
	json_t *v = log_get(obj, path);
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 9e18) {
		*out = (int64_t)json_real_value(v);
		return true;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (end != s && *end == '\0' && errno == 0) {
			*out = n;
			return true;
		}
	}
	return false;
}

bool log_get_number(json_t *obj, const char *path, double *out)
{
	json_t *v = log_get(obj, path);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return isfinite(*out);
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		double d = strtod(s, &end);
		if (end != s && *end == '\0' && isfinite(d)) {
			*out = d;
			return true;
		}
	}
	return false;
}

bool log_get_bool(json_t *obj, const char *path, bool *out)
{
	json_t *v = log_get(obj, path);
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return true;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

bool log_parse_time(const char *s, int64_t *ns)
{
	if (!s)
		return false;
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	const char *p = s + 19;
	int64_t frac = 0;
	if (*p == '.' || *p == ',') {
		p++;
		int n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n < 9) {
				frac = frac * 10 + (*p - '0');
				n++;
			}
			p++;
		}
		if (n == 0)
			return false;
		for (; n < 9; n++)
			frac *= 10;
	}
	int64_t offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om = 0;
		int sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh))
			return false;
		p += 3;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p)) {
			if (!digits(p, 2, &om))
				return false;
			p += 2;
		}
		if (oh > 23 || om > 59)
			return false;
		offset_s = sign * (oh * 3600 + om * 60);
	} else if (*p == ' ' && strcmp(p, " UTC") == 0) {
		p += 4;
	}
	if (*p != '\0')
		return false;
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		       sec - offset_s;
	if (secs < 0 || secs > INT64_MAX / 1000000000 - 1)
		return false;
	*ns = secs * 1000000000 + frac;
	return true;
}

bool log_epoch_to_ns(double v, const char *unit, int64_t *ns)
{
	if (!isfinite(v) || v < 0)
		return false;
	double mult;
	if (unit == NULL) {
		/* 1e11 s is the year 5138: anything larger is a finer unit */
		mult = v < 1e11 ? 1e9 : v < 1e14 ? 1e6 : v < 1e17 ? 1e3 : 1;
	} else if (strcmp(unit, "s") == 0) {
		mult = 1e9;
	} else if (strcmp(unit, "ms") == 0) {
		mult = 1e6;
	} else if (strcmp(unit, "us") == 0) {
		mult = 1e3;
	} else if (strcmp(unit, "ns") == 0) {
		mult = 1;
	} else {
		return false;
	}
	if (v * mult >= 9.2e18)
		return false;
	/* whole units and the fraction apart: v * mult in one double loses the last digits
	 * (1787824800250 ms would be ...249999872 ns) */
	double whole = floor(v);
	*ns = (int64_t)whole * (int64_t)mult + (int64_t)llround((v - whole) * mult);
	return true;
}

bool log_get_time(json_t *obj, const char *path, int64_t *ns)
{
	json_t *v = log_get(obj, path);
	if (json_is_string(v)) {
		if (log_parse_time(json_string_value(v), ns))
			return true;
		char *end;
		const char *s = json_string_value(v);
		double d = strtod(s, &end);
		return end != s && *end == '\0' && log_epoch_to_ns(d, NULL, ns);
	}
	if (json_is_number(v))
		return log_epoch_to_ns(json_number_value(v), NULL, ns);
	return false;
}

bool log_parse_duration_ms(const char *s, double *ms)
{
	if (!s || !*s)
		return false;
	double total = 0;
	const char *p = s;
	bool any = false;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || !isfinite(v) || v < 0)
			return false;
		p = end;
		double mult;
		if (*p == '\0') {
			if (any)
				return false; /* "1m5" */
			mult = 1;	      /* bare number: milliseconds */
		} else if (strncmp(p, "ns", 2) == 0) {
			mult = 1e-6;
			p += 2;
		} else if (strncmp(p, "us", 2) == 0) {
			mult = 1e-3;
			p += 2;
		} else if (strncmp(p, "\xc2\xb5s", 3) == 0 || strncmp(p, "\xce\xbcs", 3) == 0) {
			mult = 1e-3; /* µs (micro sign or Greek mu) */
			p += 3;
		} else if (strncmp(p, "ms", 2) == 0) {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			mult = 1e3;
			p++;
		} else if (*p == 'm') {
			mult = 60e3;
			p++;
		} else if (*p == 'h') {
			mult = 3600e3;
			p++;
		} else {
			return false;
		}
		total += v * mult;
		any = true;
	}
	if (!isfinite(total))
		return false;
	*ms = total;
	return true;
}

json_t *log_identity_new(const char *subject, const char *issuer, const char *client_id,
			 const char *source)
{
	json_t *id = json_object();
	json_object_set_new(id, "subject", subject ? json_string(subject) : json_null());
	json_object_set_new(id, "issuer", issuer ? json_string(issuer) : json_null());
	json_object_set_new(id, "client_id", client_id ? json_string(client_id) : json_null());
	json_object_set_new(id, "scopes", json_array());
	json_object_set_new(id, "actors", json_array());
	json_object_set_new(id, "source", json_string(source ? source : "gateway_log"));
	json_object_set_new(id, "verified", json_false());
	/* json_string returns NULL on invalid UTF-8; parsers checked the line, but be safe */
	const char *keys[] = {"subject", "issuer", "client_id"};
	for (size_t i = 0; i < 3; i++)
		if (!json_object_get(id, keys[i]))
			json_object_set_new(id, keys[i], json_null());
	return id;
}

static void add_unique(json_t *arr, const char *s, size_t n)
{
	if (n == 0 || n > 512)
		return;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *e = json_string_value(v);
		if (e && strlen(e) == n && memcmp(e, s, n) == 0)
			return;
	}
	if (json_array_size(arr) < 256)
		json_array_append_new(arr, json_stringn(s, n));
}

void log_identity_add_scopes(json_t *identity, const char *scopes)
{
	json_t *arr = json_object_get(identity, "scopes");
	if (!arr || !scopes)
		return;
	const char *p = scopes;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ' ' && *p != ',' && *p != '\t')
			p++;
		add_unique(arr, start, (size_t)(p - start));
	}
}

void log_identity_add_scope_array(json_t *identity, json_t *array)
{
	size_t i;
	json_t *v;
	if (json_is_string(array)) {
		log_identity_add_scopes(identity, json_string_value(array));
		return;
	}
	json_array_foreach(array, i, v) if (json_is_string(v))
		log_identity_add_scopes(identity, json_string_value(v));
}

void log_identity_add_actor(json_t *identity, const char *actor)
{
	json_t *arr = json_object_get(identity, "actors");
	if (arr && actor && *actor && json_array_size(arr) < 32)
		json_array_append_new(arr, json_string(actor));
}

void log_identity_set(json_t *identity, const char *key, const char *s)
{
	if (s)
		json_object_set_new(identity, key, json_string(s));
}

void log_identity_set_token_id(json_t *identity, const char *jti, bool has_exp, int64_t exp_s)
{
	if (!jti && !has_exp)
		return;
	json_t *t = json_object();
	json_object_set_new(t, "fingerprint", json_null());
	json_object_set_new(t, "kind", json_null());
	json_object_set_new(t, "class", json_null());
	json_object_set_new(t, "verification", json_null());
	if (jti)
		json_object_set_new(t, "jti", json_string(jti));
	if (has_exp)
		json_object_set_new(t, "exp", json_integer((json_int_t)exp_s));
	json_object_set_new(identity, "token", t);
}

struct word {
	const char *raw, *canonical;
};

static const char *lookup(const struct word *w, const char *raw)
{
	if (!raw)
		return NULL;
	for (; w->raw; w++)
		if (strcasecmp(w->raw, raw) == 0)
			return w->canonical;
	return NULL;
}

const char *log_outcome_canonical(const char *raw)
{
	static const struct word words[] = {
		{"success", "ok"},
		{"succeeded", "ok"},
		{"ok", "ok"},
		{"allow", "ok"},
		{"allowed", "ok"},
		{"true", "ok"},
		{"completed", "ok"},
		{"denied", "denied"},
		{"deny", "denied"},
		{"forbidden", "denied"},
		{"unauthorized", "denied"},
		{"blocked", "denied"},
		{"rejected", "denied"},
		{"application_error", "tool_error"},
		{"tool_error", "tool_error"},
		{"rpc_error", "rpc_error"},
		{"failure", "error"},
		{"failed", "error"},
		{"error", "error"},
		{"false", "error"},
		{"timeout", "error"},
		{"cancelled", "cancelled"},
		{"canceled", "cancelled"},
		{NULL, NULL},
	};
	return lookup(words, raw);
}

const char *log_outcome_from_http(int status)
{
	if (status <= 0)
		return NULL;
	if (status < 400)
		return "ok";
	if (status == 401 || status == 403)
		return "denied";
	return "error";
}

const char *log_grant_type_canonical(const char *raw)
{
	static const struct word words[] = {
		{"authorization_code", "authorization_code"},
		{"code", "authorization_code"},
		{"CODE_TO_TOKEN", "authorization_code"},
		{"client_credentials", "client_credentials"},
		{"CLIENT_LOGIN", "client_credentials"},
		{"refresh_token", "refresh_token"},
		{"REFRESH_TOKEN", "refresh_token"},
		{"urn:ietf:params:oauth:grant-type:token-exchange", "token_exchange"},
		{"token-exchange", "token_exchange"},
		{"token_exchange", "token_exchange"},
		{"TOKEN_EXCHANGE", "token_exchange"},
		{"urn:ietf:params:oauth:grant-type:jwt-bearer", "jwt_bearer"},
		{"jwt-bearer", "jwt_bearer"},
		{"jwt_bearer", "jwt_bearer"},
		{"urn:ietf:params:oauth:grant-type:device_code", "device_code"},
		{"device_code", "device_code"},
		{"password", "password"},
		{"implicit", "implicit"},
		{NULL, NULL},
	};
	if (!raw)
		return NULL;
	const char *c = lookup(words, raw);
	return c ? c : "other";
}

const char *log_strings_add(struct log_strings *st, const char *s, size_t len)
{
	if (st->n == sizeof(st->items) / sizeof(st->items[0]))
		return NULL;
	char *copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	st->items[st->n++] = copy;
	return copy;
}

void log_strings_free(struct log_strings *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->items[i]);
	st->n = 0;
}

void log_obs_init(struct obs *o, enum obs_kind kind, const struct log_line *line, int64_t time_ns)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->time_ns = time_ns;
	o->stream = line->source_name;
	o->source_name = line->source_name;
	o->source_line = line->line_no;
}

void log_emit_gateway(const struct log_line *line, int64_t time_ns, const struct obs_gateway *gw,
		      json_t *identity, log_emit_fn emit, void *ctx)
{
	struct obs o;
	log_obs_init(&o, OBS_GATEWAY, line, time_ns);
	o.gateway = gw;
	o.principal = identity;
	emit(ctx, &o);
}

void log_emit_grant(const struct log_line *line, int64_t time_ns, const struct obs_grant *grant,
		    json_t *identity, log_emit_fn emit, void *ctx)
{
	struct obs o;
	log_obs_init(&o, OBS_GRANT, line, time_ns);
	o.grant = grant;
	o.principal = identity;
	emit(ctx, &o);
}
