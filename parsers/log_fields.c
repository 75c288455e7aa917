/* log_fields: see log_fields.h. */
#include "parsers/log_fields.h"

#include "parsers/log_common.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)
#define GW(m) offsetof(struct obs_gateway, m)
#define GR(m) offsetof(struct obs_grant, m)

enum lf_type { FT_STR, FT_INT, FT_NUM, FT_BOOL, FT_TIME, FT_LIST };
enum { K_CALL = 1, K_GRANT = 2, K_ANY = 3 };
enum lf_special {
	S_NONE,
	S_SUBJECT,
	S_ISSUER,
	S_CLIENT_ID,
	S_SCOPES,
	S_ACTORS,
	S_JTI,
	S_EXP,
	S_ERROR_CODE,
	S_HTTP_STATUS,
	S_DURATION,
	S_RETRY,
	S_SUCCESS,
	S_EXPIRES,
};

struct lf_def {
	const char *name;
	enum lf_type type;
	int kinds;
	size_t gw_off, grant_off; /* const char * members */
	enum lf_special special;
};

static const struct lf_def defs[] = {
	{"subject", FT_STR, K_ANY, NONE, NONE, S_SUBJECT},
	{"issuer", FT_STR, K_ANY, NONE, NONE, S_ISSUER},
	{"client_id", FT_STR, K_ANY, NONE, NONE, S_CLIENT_ID},
	{"scopes", FT_LIST, K_ANY, NONE, NONE, S_SCOPES},
	{"actors", FT_LIST, K_ANY, NONE, NONE, S_ACTORS},
	{"jti", FT_STR, K_ANY, NONE, NONE, S_JTI},
	{"exp", FT_TIME, K_ANY, NONE, NONE, S_EXP},
	{"method", FT_STR, K_CALL, GW(method), NONE, S_NONE},
	{"tool", FT_STR, K_CALL, GW(tool), NONE, S_NONE},
	{"target", FT_STR, K_CALL, GW(target), NONE, S_NONE},
	{"resource_uri", FT_STR, K_CALL, GW(resource_uri), NONE, S_NONE},
	{"resource_type", FT_STR, K_CALL, GW(resource_type), NONE, S_NONE},
	{"session_id", FT_STR, K_ANY, GW(session_id), GR(session_id), S_NONE},
	{"upstream_session_id", FT_STR, K_CALL, GW(upstream_session_id), NONE, S_NONE},
	{"rpc_id", FT_STR, K_CALL, GW(rpc_id), NONE, S_NONE},
	{"trace_id", FT_STR, K_CALL, GW(trace_id), NONE, S_NONE},
	{"span_id", FT_STR, K_CALL, GW(span_id), NONE, S_NONE},
	{"task_id", FT_STR, K_CALL, GW(task_id), NONE, S_NONE},
	{"request_id", FT_STR, K_CALL, GW(request_id), NONE, S_NONE},
	{"outcome", FT_STR, K_CALL, GW(outcome), NONE, S_NONE},
	{"outcome_raw", FT_STR, K_CALL, GW(outcome_raw), NONE, S_NONE},
	{"error_code", FT_INT, K_CALL, NONE, NONE, S_ERROR_CODE},
	{"error_message", FT_STR, K_CALL, GW(error_message), NONE, S_NONE},
	{"http_status", FT_INT, K_CALL, NONE, NONE, S_HTTP_STATUS},
	{"duration_ms", FT_NUM, K_CALL, NONE, NONE, S_DURATION},
	{"retry_attempt", FT_INT, K_CALL, NONE, NONE, S_RETRY},
	{"decision", FT_STR, K_CALL, GW(decision), NONE, S_NONE},
	{"reason", FT_STR, K_CALL, GW(reason), NONE, S_NONE},
	{"src_addr", FT_STR, K_ANY, GW(src_addr), GR(src_addr), S_NONE},
	{"user_agent", FT_STR, K_ANY, GW(user_agent), GR(user_agent), S_NONE},
	{"client_name", FT_STR, K_CALL, GW(client_name), NONE, S_NONE},
	{"client_version", FT_STR, K_CALL, GW(client_version), NONE, S_NONE},
	{"transport", FT_STR, K_CALL, GW(transport), NONE, S_NONE},
	{"protocol_version", FT_STR, K_CALL, GW(protocol_version), NONE, S_NONE},
	{"event_kind", FT_STR, K_ANY, GW(event_kind), GR(event_kind), S_NONE},
	{"grant_type", FT_STR, K_GRANT, NONE, GR(grant_type_raw), S_NONE},
	{"requested_token_type", FT_STR, K_GRANT, NONE, GR(requested_token_type), S_NONE},
	{"issued_token_type", FT_STR, K_GRANT, NONE, GR(issued_token_type), S_NONE},
	{"audience", FT_STR, K_GRANT, NONE, GR(audience), S_NONE},
	{"token_id", FT_STR, K_GRANT, NONE, GR(token_id), S_NONE},
	{"refresh_token_id", FT_STR, K_GRANT, NONE, GR(refresh_token_id), S_NONE},
	{"subject_token_subject", FT_STR, K_GRANT, NONE, GR(subject_token_subject), S_NONE},
	{"success", FT_BOOL, K_GRANT, NONE, NONE, S_SUCCESS},
	{"error", FT_STR, K_GRANT, NONE, GR(error), S_NONE},
	{"expires", FT_TIME, K_GRANT, NONE, NONE, S_EXPIRES},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

enum lf_transform {
	T_NONE,
	T_LOWER,
	T_UPPER,
	T_LAST_SEGMENT,
	T_SPLIT_SCOPES,
	T_DURATION,
	T_DURATION_S,
	T_DURATION_US,
	T_DURATION_NS,
	T_HTTP_OUTCOME,
	T_OUTCOME,
	T_GRANT_TYPE,
};

static const struct {
	const char *name;
	enum lf_transform t;
	const char *applies; /* "str", "list", "num", or a field name */
} transforms[] = {
	{"lower", T_LOWER, "str"},
	{"upper", T_UPPER, "str"},
	{"last_segment", T_LAST_SEGMENT, "str"},
	{"split_scopes", T_SPLIT_SCOPES, "list"},
	{"duration", T_DURATION, "num"},
	{"duration_s", T_DURATION_S, "num"},
	{"duration_us", T_DURATION_US, "num"},
	{"duration_ns", T_DURATION_NS, "num"},
	{"http_outcome", T_HTTP_OUTCOME, "outcome"},
	{"outcome", T_OUTCOME, "outcome"},
	{"grant_type", T_GRANT_TYPE, "grant_type"},
};
#define NTRANSFORMS (sizeof(transforms) / sizeof(transforms[0]))

enum lf_time_format {
	TF_AUTO,
	TF_RFC3339,
	TF_EPOCH_S,
	TF_EPOCH_MS,
	TF_EPOCH_US,
	TF_EPOCH_NS,
	TF_CLF
};

struct lf_field {
	const struct lf_def *def;
	char *path;    /* NULL for a constant */
	json_t *value; /* the constant */
	json_t *map;   /* raw → canonical, or NULL */
	enum lf_transform transform;
};

struct log_fields {
	char *source;
	int kind;
	char *time_path;
	enum lf_time_format time_format;
	struct lf_field fields[NDEFS];
	size_t n;
};

static bool fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

static const char *list_names(int kind, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NDEFS && o < len; i++)
		if (defs[i].kinds & kind)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
					      defs[i].name);
	return buf;
}

static bool compile_field(struct log_fields *f, const char *name, json_t *spec, const char *file,
			  const char *path_key, char *err, size_t errlen)
{
	const struct lf_def *def = NULL;
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			def = &defs[i];
	char names[1024];
	if (!def)
		return fail(err, errlen, "%s: fields.%s: unknown field (expected one of: %s)", file,
			    name, list_names(f->kind, names, sizeof(names)));
	if (!(def->kinds & f->kind))
		return fail(err, errlen,
			    "%s: fields.%s: not a field of kind \"%s\" (expected one of: %s)", file,
			    name, f->kind == K_CALL ? "call" : "grant",
			    list_names(f->kind, names, sizeof(names)));
	struct lf_field *fl = &f->fields[f->n++];
	fl->def = def;
	if (json_is_string(spec)) {
		fl->path = strdup(json_string_value(spec));
		return fl->path != NULL || fail(err, errlen, "out of memory");
	}
	if (!json_is_object(spec))
		return fail(err, errlen,
			    "%s: fields.%s: expected a string %s or an object {\"%s\": ..., "
			    "\"transform\": ..., \"map\": {...}}",
			    file, name, path_key, path_key);
	const char *key;
	json_t *v;
	json_object_foreach(spec, key, v)
	{
		if (strcmp(key, path_key) == 0) {
			if (!json_is_string(v) || !*json_string_value(v))
				return fail(err, errlen, "%s: fields.%s.%s: expected a string %s",
					    file, name, key, path_key);
			fl->path = strdup(json_string_value(v));
			if (!fl->path)
				return fail(err, errlen, "out of memory");
		} else if (strcmp(key, "value") == 0) {
			if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v) &&
			    !json_is_array(v))
				return fail(err, errlen,
					    "%s: fields.%s.value: expected a string, number, "
					    "boolean or array",
					    file, name);
			fl->value = json_incref(v);
		} else if (strcmp(key, "transform") == 0) {
			const char *t = json_string_value(v);
			size_t i;
			for (i = 0; t && i < NTRANSFORMS; i++)
				if (strcmp(transforms[i].name, t) == 0)
					break;
			if (!t || i == NTRANSFORMS)
				return fail(err, errlen,
					    "%s: fields.%s.transform: unknown transform%s%s%s "
					    "(expected lower, upper, last_segment, split_scopes, "
					    "duration, duration_s, duration_us, duration_ns, "
					    "http_outcome, outcome or grant_type)",
					    file, name, t ? " \"" : "", t ? t : "", t ? "\"" : "");
			const char *a = transforms[i].applies;
			bool ok = strcmp(a, name) == 0 ||
				  (strcmp(a, "str") == 0 && def->type == FT_STR) ||
				  (strcmp(a, "list") == 0 && def->type == FT_LIST) ||
				  (strcmp(a, "num") == 0 && def->type == FT_NUM) ||
				  (strcmp(a, "outcome") == 0 && strcmp(name, "success") == 0 &&
				   transforms[i].t == T_OUTCOME);
			if (!ok)
				return fail(err, errlen,
					    "%s: fields.%s.transform: \"%s\" does not apply to %s",
					    file, name, t, name);
			fl->transform = transforms[i].t;
		} else if (strcmp(key, "map") == 0) {
			const char *mk;
			json_t *mv;
			if (!json_is_object(v))
				return fail(err, errlen,
					    "%s: fields.%s.map: expected an object {RAW: VALUE}",
					    file, name);
			json_object_foreach(v, mk, mv) if (!json_is_string(mv)) return fail(
				err, errlen, "%s: fields.%s.map.%s: expected a string", file, name,
				mk);
			fl->map = json_incref(v);
		} else {
			return fail(err, errlen,
				    "%s: fields.%s.%s: unknown key (expected %s, value, transform, "
				    "map)",
				    file, name, key, path_key);
		}
	}
	if (!fl->path == !fl->value)
		return fail(err, errlen,
			    "%s: fields.%s: expected exactly one of \"%s\" and \"value\"", file,
			    name, path_key);
	return true;
}

struct log_fields *log_fields_compile(const json_t *config, const char *source, const char *file,
				      const char *path_key, char *err, size_t errlen)
{
	struct log_fields *f = calloc(1, sizeof(*f));
	if (!f || !(f->source = strdup(source))) {
		fail(err, errlen, "out of memory");
		goto bad;
	}
	json_t *cfg = (json_t *)config;
	const char *kind = json_string_value(json_object_get(cfg, "kind"));
	if (!json_is_object(cfg) || !kind || (strcmp(kind, "call") && strcmp(kind, "grant"))) {
		fail(err, errlen, "%s: kind: expected \"call\" or \"grant\"", file);
		goto bad;
	}
	f->kind = strcmp(kind, "call") == 0 ? K_CALL : K_GRANT;
	json_t *time = json_object_get(cfg, "time");
	if (!json_is_object(time)) {
		fail(err, errlen, "%s: time: expected an object {\"%s\": ..., \"format\": ...}",
		     file, path_key);
		goto bad;
	}
	const char *tp = json_string_value(json_object_get(time, path_key));
	if (!tp || !*tp) {
		fail(err, errlen, "%s: time.%s: expected a string %s", file, path_key, path_key);
		goto bad;
	}
	f->time_path = strdup(tp);
	json_t *fmt = json_object_get(time, "format");
	static const char *const formats[] = {"auto",	  "rfc3339",  "epoch_s", "epoch_ms",
					      "epoch_us", "epoch_ns", "clf"};
	if (fmt) {
		size_t i;
		for (i = 0; json_is_string(fmt) && i < 7; i++)
			if (strcmp(formats[i], json_string_value(fmt)) == 0)
				break;
		if (!json_is_string(fmt) || i == 7) {
			fail(err, errlen,
			     "%s: time.format: expected rfc3339, epoch_s, epoch_ms, epoch_us, "
			     "epoch_ns, clf or auto",
			     file);
			goto bad;
		}
		f->time_format = (enum lf_time_format)i;
	}
	json_t *fields = json_object_get(cfg, "fields");
	if (!json_is_object(fields) || json_object_size(fields) == 0) {
		fail(err, errlen, "%s: fields: expected an object {CANONICAL_NAME: %s, ...}", file,
		     path_key);
		goto bad;
	}
	const char *name;
	json_t *spec;
	json_object_foreach(fields, name, spec) if (!compile_field(f, name, spec, file, path_key,
								   err, errlen)) goto bad;
	return f;
bad:
	log_fields_free(f);
	return NULL;
}

void log_fields_free(struct log_fields *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->fields[i].path);
		json_decref(f->fields[i].value);
		json_decref(f->fields[i].map);
	}
	free(f->time_path);
	free(f->source);
	free(f);
}

bool log_fields_each_path(const struct log_fields *f, bool (*fn)(void *ctx, const char *where),
			  void *ctx)
{
	if (!fn(ctx, f->time_path))
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (f->fields[i].path && !fn(ctx, f->fields[i].path))
			return false;
	return true;
}

/* ---- one line ---- */

struct arena {
	char *items[2 * NDEFS];
	size_t n;
};

static const char *arena_add(struct arena *a, const char *s, size_t len)
{
	if (a->n == sizeof(a->items) / sizeof(a->items[0]))
		return NULL;
	char *c = malloc(len + 1);
	if (!c)
		return NULL;
	memcpy(c, s, len);
	c[len] = '\0';
	a->items[a->n++] = c;
	return c;
}

static bool json_number_of(json_t *v, double *out)
{
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

static bool json_int_of(json_t *v, int64_t *out)
{
	double d;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (!json_number_of(v, &d) || fabs(d) >= 9e18 || d != floor(d))
		return false;
	*out = (int64_t)d;
	return true;
}

/* "10/Oct/2000:13:55:36 -0700" (common log format) to ns. */
static bool parse_clf(const char *s, int64_t *ns)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4] = {0};
	int d, y, h, mi, sec, n = 0;
	char sign = '+';
	int off = 0;
	if (*s == '[')
		s++;
	if (sscanf(s, "%2d/%3c/%4d:%2d:%2d:%2d %c%4d%n", &d, mon, &y, &h, &mi, &sec, &sign, &off,
		   &n) < 8)
		return false;
	const char *m = strstr(months, mon);
	if (!m || (m - months) % 3 || (sign != '+' && sign != '-'))
		return false;
	char iso[40];
	snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y,
		 (int)((m - months) / 3 + 1), d, h, mi, sec, sign, off / 100 % 100, off % 100);
	return log_parse_time(iso, ns);
}

static bool time_of(json_t *v, enum lf_time_format fmt, int64_t *ns)
{
	static const char *const units[] = {NULL, NULL, "s", "ms", "us", "ns"};
	double d;
	const char *s = json_string_value(v);
	switch (fmt) {
	case TF_RFC3339:
		return s && log_parse_time(s, ns);
	case TF_CLF:
		return s && parse_clf(s, ns);
	case TF_AUTO:
		if (s && (log_parse_time(s, ns) || parse_clf(s, ns)))
			return true;
		return json_number_of(v, &d) && log_epoch_to_ns(d, NULL, ns);
	default:
		return json_number_of(v, &d) && log_epoch_to_ns(d, units[fmt], ns);
	}
}

/* The field's value as text (a string, or a number / boolean printed), transformed and mapped. */
static const char *text_of(const struct lf_field *fl, json_t *v, struct arena *a)
{
	char buf[64];
	const char *s = NULL;
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		s = arena_add(a, buf, strlen(buf));
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		s = arena_add(a, buf, strlen(buf));
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
	}
	if (!s || !*s)
		return NULL; /* an empty value (a capture that matched nothing) says nothing */
	switch (fl->transform) {
	case T_LOWER:
	case T_UPPER: {
		char *c = (char *)arena_add(a, s, strlen(s));
		for (char *p = c; p && *p; p++)
			*p = (char)(fl->transform == T_LOWER ? tolower((unsigned char)*p)
							     : toupper((unsigned char)*p));
		s = c;
		break;
	}
	case T_LAST_SEGMENT: {
		const char *slash = strrchr(s, '/');
		if (slash && slash[1])
			s = slash + 1;
		break;
	}
	case T_HTTP_OUTCOME: {
		int64_t st;
		s = json_int_of(v, &st) && st > 0 && st < 1000 ? log_outcome_from_http((int)st)
							       : NULL;
		break;
	}
	case T_OUTCOME:
		s = log_outcome_canonical(s);
		break;
	case T_GRANT_TYPE:
		s = log_grant_type_canonical(s);
		break;
	default:
		break;
	}
	if (s && fl->map) {
		const char *m = json_string_value(json_object_get(fl->map, s));
		if (m)
			s = m;
	}
	return s;
}

static bool duration_of(const struct lf_field *fl, json_t *v, double *ms)
{
	double d;
	static const double mult[] = {
		[T_DURATION_S] = 1e3, [T_DURATION_US] = 1e-3, [T_DURATION_NS] = 1e-6};
	if (fl->transform >= T_DURATION_S && fl->transform <= T_DURATION_NS) {
		if (!json_number_of(v, &d) || d < 0)
			return false;
		*ms = d * mult[fl->transform];
		return true;
	}
	if (json_is_string(v) && log_parse_duration_ms(json_string_value(v), ms))
		return true;
	return json_number_of(v, &d) && d >= 0 && (*ms = d, true);
}

static void add_list(json_t *identity, const char *key, json_t *v)
{
	if (strcmp(key, "scopes") == 0) {
		log_identity_add_scope_array(identity, v);
		return;
	}
	if (json_is_string(v)) {
		/* a list of actors in one string: space or comma separated */
		json_t *tmp = log_identity_new(NULL, NULL, NULL, NULL);
		log_identity_add_scopes(tmp, json_string_value(v));
		add_list(identity, key, json_object_get(tmp, "scopes"));
		json_decref(tmp);
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) log_identity_add_actor(identity, json_string_value(e));
}

static bool canonical_outcome(const char *s)
{
	static const char *const words[] = {"ok",     "tool_error", "rpc_error",
					    "denied", "error",	    "cancelled"};
	for (size_t i = 0; s && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i], s) == 0)
			return true;
	return false;
}

enum log_parse_result log_fields_emit(const struct log_fields *f, json_t *obj,
				      const struct log_line *line, log_emit_fn emit, void *ctx,
				      const char **reason)
{
	int64_t t;
	json_t *tv = log_get(obj, f->time_path);
	if (!tv) {
		*reason = "configured parser: the line has no time";
		return LOG_PARSE_BAD;
	}
	if (!time_of(tv, f->time_format, &t)) {
		*reason = "configured parser: the time is not in the configured format";
		return LOG_PARSE_BAD;
	}
	struct arena a = {0};
	struct obs_gateway gw = {0};
	struct obs_grant g = {0};
	const char *id[3] = {NULL, NULL, NULL}; /* subject, issuer, client_id */
	const char *jti = NULL;
	bool has_exp = false, has_success = false;
	int64_t exp_ns = 0;
	json_t *lists[2] = {NULL, NULL};
	for (size_t i = 0; i < f->n; i++) {
		const struct lf_field *fl = &f->fields[i];
		const struct lf_def *d = fl->def;
		json_t *v = fl->value ? fl->value : log_get(obj, fl->path);
		if (!v)
			continue;
		int64_t n;
		switch (d->type) {
		case FT_STR: {
			const char *s = text_of(fl, v, &a);
			if (!s)
				break;
			if (d->special >= S_SUBJECT && d->special <= S_CLIENT_ID)
				id[d->special - S_SUBJECT] = s;
			else if (d->special == S_JTI)
				jti = s;
			else if (f->kind == K_CALL && d->gw_off != NONE)
				*(const char **)((char *)&gw + d->gw_off) = s;
			else if (f->kind == K_GRANT && d->grant_off != NONE)
				*(const char **)((char *)&g + d->grant_off) = s;
			break;
		}
		case FT_INT:
			if (!json_int_of(v, &n))
				break;
			if (d->special == S_ERROR_CODE) {
				gw.has_error_code = true;
				gw.error_code = n;
			} else if (d->special == S_HTTP_STATUS && n > 0 && n < 1000) {
				gw.http_status = (int)n;
			} else if (d->special == S_RETRY && n >= 0 && n < 1000000) {
				gw.retry_attempt = (int)n;
			}
			break;
		case FT_NUM:
			gw.has_duration = duration_of(fl, v, &gw.duration_ms);
			break;
		case FT_BOOL: {
			bool b = false;
			const char *s = text_of(fl, v, &a);
			if (json_is_boolean(v)) {
				b = json_is_true(v);
			} else if (s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)) {
				b = true;
			} else if (s && (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)) {
				b = false;
			} else {
				const char *o = s ? log_outcome_canonical(s) : NULL;
				if (!o)
					break;
				b = strcmp(o, "ok") == 0;
			}
			has_success = true;
			g.success = b;
			break;
		}
		case FT_TIME: {
			int64_t ns;
			if (!time_of(v, TF_AUTO, &ns))
				break;
			if (d->special == S_EXP) {
				has_exp = true;
				exp_ns = ns;
			} else {
				g.has_expires = true;
				g.expires_ns = ns;
			}
			break;
		}
		case FT_LIST:
			lists[d->special == S_SCOPES ? 0 : 1] = v;
			break;
		}
	}
	enum log_parse_result rc = LOG_PARSE_OK;
	json_t *identity = log_identity_new(id[0], id[1], id[2],
					    f->kind == K_CALL ? "gateway_log" : "idp_log");
	if (lists[0])
		add_list(identity, "scopes", lists[0]);
	if (lists[1])
		add_list(identity, "actors", lists[1]);
	struct obs ob;
	if (f->kind == K_CALL) {
		if (!gw.method && !gw.tool) {
			rc = LOG_PARSE_SKIP; /* not an MCP request */
			goto out;
		}
		if (!gw.method)
			gw.method = "tools/call";
		gw.format = f->source;
		if (gw.outcome && !canonical_outcome(gw.outcome)) {
			if (!gw.outcome_raw)
				gw.outcome_raw = gw.outcome;
			gw.outcome = log_outcome_canonical(gw.outcome);
		}
		if (!gw.outcome) {
			if (gw.has_error_code)
				gw.outcome = "rpc_error";
			else if (gw.http_status >= 400)
				gw.outcome = log_outcome_from_http(gw.http_status);
			else if (gw.error_message)
				gw.outcome = "error";
			else
				gw.outcome = "ok";
		}
		if (has_exp || jti)
			log_identity_set_token_id(identity, jti, has_exp, exp_ns / 1000000000);
		log_obs_init(&ob, OBS_GATEWAY, line, t);
		ob.gateway = &gw;
	} else {
		g.format = f->source;
		if (!g.grant_type_raw) {
			*reason = "configured parser: a grant line without a grant_type";
			rc = LOG_PARSE_BAD;
			goto out;
		}
		g.grant_type = log_grant_type_canonical(g.grant_type_raw);
		if (!has_success)
			g.success = g.error == NULL;
		if (!g.success && !g.error)
			g.error = "error";
		if (!jti)
			jti = g.token_id;
		if (!g.token_id)
			g.token_id = jti;
		if (!has_exp && g.has_expires) {
			has_exp = true;
			exp_ns = g.expires_ns;
		} else if (has_exp && !g.has_expires) {
			g.has_expires = true;
			g.expires_ns = exp_ns;
		}
		if (has_exp || jti)
			log_identity_set_token_id(identity, jti, has_exp, exp_ns / 1000000000);
		log_obs_init(&ob, OBS_GRANT, line, t);
		ob.grant = &g;
	}
	ob.principal = identity;
	emit(ctx, &ob);
out:
	json_decref(identity);
	for (size_t i = 0; i < a.n; i++)
		free(a.items[i]);
	return rc;
}

void *log_fields_load_config(const struct log_parser *p, const char *file, char *err, size_t errlen)
{
	json_error_t je;
	json_t *config = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!config) {
		snprintf(err, errlen, "%s: line %d: %s", file, je.line, je.text);
		return NULL;
	}
	void *state = p->state_new(config, file, err, errlen);
	json_decref(config);
	return state;
}
