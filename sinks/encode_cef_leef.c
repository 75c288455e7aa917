/* encode_cef_leef: an mcptrail/1 event as one ArcSight CEF line or one IBM QRadar LEEF 2.0 line.
 * Both carry the same fields (one table, below) under each format's own keys; schemas/mapping.md
 * lists them.
 *
 * Escaping, the part that decides whether a hostile tool name can forge a field:
 *  - CEF header: `\` → `\\`, `|` → `\|`. Extension values: `\` → `\\`, `=` → `\=`, LF → `\n`,
 *    CR → `\r` (the CEF rules). Other control characters, which CEF has no escape for, become
 *    U+FFFD; a tab is kept (it cannot start a key: every `=` in a value is escaped).
 *  - LEEF has no escape mechanism at all: the attribute delimiter (`^`), every control character
 *    (tab, CR, LF, NUL, ...) and, in the header, `|` become U+FFFD. `=` stays as it is: LEEF
 *    splits attributes at the delimiter first and a pair at its first `=`, so an `=` inside a
 *    value cannot start an attribute, and a backslash would be kept by QRadar as part of the
 *    value.
 * The output never holds a raw CR or LF. */
#include "sinks/encode_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEEF_DELIMITER '^'
#define LEEF_TIME_FORMAT "yyyy-MM-dd'T'HH:mm:ss.SSSX"
#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* One field: its CEF key (with a label for the custom keys cs1.., cn1.., cfp1, flexString1..)
 * and its LEEF key; either may be NULL when the format has no use for it. */
struct field {
	const char *cef;
	const char *cef_label;
	const char *leef;
	struct vstr value;
	struct vstr leef_value; /* when the LEEF form differs (times) */
};

#define MAX_FIELDS 48
#define MAX_NUMBERS 12

struct field_list {
	struct field f[MAX_FIELDS];
	size_t n;
	char numbers[MAX_NUMBERS][48];
	size_t nnumbers;
	struct strbuf scopes, actors, client;
	bool failed;
};

static void add(struct field_list *l, const char *cef, const char *label, const char *leef,
		struct vstr value)
{
	if (!value.s || value.len == 0 || l->n == MAX_FIELDS)
		return;
	l->f[l->n++] = (struct field){cef, label, leef, value, {NULL, 0}};
}

/* Room for a number's or a time's text in the list's own storage; NULL when full. */
static char *scratch(struct field_list *l)
{
	return l->nnumbers < MAX_NUMBERS ? l->numbers[l->nnumbers++] : NULL;
}

static struct vstr number(struct field_list *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct vstr number(struct field_list *l, const char *fmt, ...)
{
	char *buf = scratch(l);
	if (!buf)
		return (struct vstr){NULL, 0};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(l->numbers[0]), fmt, ap);
	va_end(ap);
	return vstr_c(buf);
}

static struct vstr decimal(struct field_list *l, double x)
{
	if (!(fabs(x) < 1e15))
		return number(l, "%.17g", x);
	struct vstr v = number(l, "%.6f", x);
	char *s = (char *)v.s;
	if (!s)
		return v;
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '0')
		s[--n] = '\0';
	if (n > 1 && s[n - 1] == '.')
		s[--n] = '\0';
	return (struct vstr){s, n};
}

static void add_time(struct field_list *l, const char *cef, const char *leef, int64_t ms)
{
	if (l->n == MAX_FIELDS)
		return;
	struct vstr epoch = number(l, "%lld", (long long)ms);
	char *text = scratch(l);
	if (!epoch.s || !text)
		return;
	format_ms_rfc3339(ms, text);
	l->f[l->n++] = (struct field){cef, NULL, leef, epoch, vstr_c(text)};
}

static struct vstr joined_scopes(struct field_list *l, const json_t *scopes)
{
	size_t i;
	json_t *scope;
	json_array_foreach(scopes, i, scope)
	{
		if (!json_is_string(scope))
			continue;
		if ((l->scopes.len && !strbuf_append(&l->scopes, " ", 1)) ||
		    !strbuf_append(&l->scopes, json_string_value(scope), json_string_length(scope)))
			l->failed = true;
	}
	return (struct vstr){l->scopes.data, l->scopes.len};
}

/* The delegation chain as a JSON array: actor names may hold any character. */
static struct vstr actor_chain(struct field_list *l, const json_t *actors)
{
	if (json_array_size(actors) == 0)
		return (struct vstr){NULL, 0};
	char *text = json_dumps(actors, JSON_COMPACT);
	if (!text || !strbuf_append_str(&l->actors, text))
		l->failed = true;
	free(text);
	return (struct vstr){l->actors.data, l->actors.len};
}

static struct vstr client_application(struct field_list *l, const struct event_view *v)
{
	if (!v->client_name.s)
		return (struct vstr){NULL, 0};
	if (!strbuf_append(&l->client, v->client_name.s, v->client_name.len) ||
	    (v->client_version.s &&
	     (!strbuf_append(&l->client, "/", 1) ||
	      !strbuf_append(&l->client, v->client_version.s, v->client_version.len))))
		l->failed = true;
	return (struct vstr){l->client.data, l->client.len};
}

static void fields_build(struct field_list *l, const struct event_view *v)
{
	add(l, "externalId", NULL, "mcpEventId", v->event_id);
	add(l, "cat", NULL, "cat", v->detail.s ? v->detail : v->type);
	add(l, "act", NULL, "action", v->action);
	add(l, "outcome", NULL, "outcome", vstr_c(v->outcome));
	/* identity */
	add(l, "suser", NULL, "usrName", v->subject);
	add(l, "cs6", "identityIssuer", "identityIssuer", v->issuer);
	add(l, "cs2", "oauthClientId", "oauthClientId", v->client_id);
	add(l, "spriv", NULL, "oauthScopes", joined_scopes(l, v->scopes));
	add(l, "cs4", "actorChain", "actorChain", actor_chain(l, v->actors));
	add(l, "cs3", "identitySource", "identitySource", v->identity_source);
	if (v->verified >= 0)
		add(l, "cn2", "identityVerified", "identityVerified",
		    vstr_c(v->verified ? "1" : "0"));
	add(l, "flexString2", "tokenFingerprint", "tokenFingerprint", v->fingerprint);
	add(l, "duser", NULL, "taskCreator", v->creator_subject);
	/* session */
	add(l, "cs1", "mcpSessionId", "mcpSessionId", v->session_id);
	add(l, "app", NULL, "mcpTransport", v->transport);
	add(l, "requestClientApplication", NULL, "mcpClient", client_application(l, v));
	add(l, "destinationServiceName", NULL, "mcpServer", v->server_name);
	add(l, "dvchost", NULL, "tapHost", v->host);
	/* the request */
	add(l, "flexString1", "rpcId", "rpcId", v->rpc_id);
	add(l, NULL, NULL, "rpcMethod", v->method);
	struct vstr what = v->tool.s ? v->tool : v->target.s ? v->target : v->url;
	if (!what.s && (v->kind == EVENT_AUTH || v->kind == EVENT_HTTP_ERROR))
		what = v->method;
	add(l, "request", NULL, "resource", what);
	add(l, NULL, NULL, "url", v->url);
	add(l, "cs5", "mcpTaskId", "mcpTaskId", v->task_id);
	if (v->attempts > 0)
		add(l, "cnt", NULL, "attempts", number(l, "%lld", (long long)v->attempts));
	if (v->frames_lost >= 0)
		add(l, "cnt", NULL, "framesLost", number(l, "%lld", (long long)v->frames_lost));
	if (v->has_error_code)
		add(l, "cn1", "rpcErrorCode", "rpcErrorCode",
		    number(l, "%lld", (long long)v->error_code));
	if (v->http_status)
		add(l, "cn3", "httpStatus", "httpStatus",
		    number(l, "%lld", (long long)v->http_status));
	add(l, "requestMethod", NULL, "httpMethod", v->http_method);
	if (v->has_latency)
		add(l, "cfp1", "latencyMs", "latencyMs", decimal(l, v->latency_ms));
	if (v->has_started)
		add_time(l, "start", "startTime", v->started_ms);
	if (v->has_ended)
		add_time(l, "end", "endTime", v->ended_ms);
	add(l, "msg", NULL, "msg", v->message);
	add(l, "fname", NULL, "fileName", v->source_name);
}

static void fields_free(struct field_list *l)
{
	strbuf_free(&l->scopes);
	strbuf_free(&l->actors);
	strbuf_free(&l->client);
}

/* ---- writing ---- */

struct writer {
	struct strbuf *out;
	bool failed;
};

static void put(struct writer *w, const char *s, size_t n)
{
	if (!w->failed && !strbuf_append(w->out, s, n))
		w->failed = true;
}

static void puts_c(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Copies s, passing runs of ordinary bytes through and handing each special byte to the
 * format's escape. */
static void put_escaped(struct writer *w, struct vstr s, const char *(*escape)(unsigned char c))
{
	size_t run = 0;
	for (size_t i = 0; i < s.len; i++) {
		const char *e = escape((unsigned char)s.s[i]);
		if (!e)
			continue;
		put(w, s.s + run, i - run);
		puts_c(w, e);
		run = i + 1;
	}
	put(w, s.s + run, s.len - run);
}

static const char *cef_header_escape(unsigned char c)
{
	if (c == '\\')
		return "\\\\";
	if (c == '|')
		return "\\|";
	return is_control(c) ? REPLACEMENT : NULL;
}

static const char *cef_value_escape(unsigned char c)
{
	switch (c) {
	case '\\':
		return "\\\\";
	case '=':
		return "\\=";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return NULL;
	default:
		return is_control(c) ? REPLACEMENT : NULL;
	}
}

static const char *leef_header_scrub(unsigned char c)
{
	return c == '|' || c == LEEF_DELIMITER || is_control(c) ? REPLACEMENT : NULL;
}

static const char *leef_value_scrub(unsigned char c)
{
	return c == LEEF_DELIMITER || is_control(c) ? REPLACEMENT : NULL;
}

/* OCSF severity_id (0..5) on the 0..10 scale of CEF and the 1..10 scale of LEEF. */
static int severity_0_10(int severity)
{
	static const int scale[] = {0, 1, 3, 5, 8, 10};
	return severity >= 0 && severity <= 5 ? scale[severity] : 5;
}

static int finish(struct writer *w, struct field_list *l)
{
	bool failed = w->failed || l->failed;
	fields_free(l);
	return failed ? -1 : 0;
}

int encode_cef(const struct event_view *v, struct strbuf *out)
{
	struct field_list l = {.scopes = STRBUF_INIT, .actors = STRBUF_INIT, .client = STRBUF_INIT};
	struct writer w = {out, false};
	char text[64];
	fields_build(&l, v);
	puts_c(&w, "CEF:0|" ENCODE_PRODUCT "|" ENCODE_PRODUCT "|");
	put_escaped(&w, vstr_c(MCPTRAIL_VERSION), cef_header_escape);
	puts_c(&w, "|");
	put_escaped(&w, v->type, cef_header_escape);
	puts_c(&w, "|");
	put_escaped(&w, vstr_c(v->name), cef_header_escape);
	snprintf(text, sizeof(text), "|%d|rt=%lld", severity_0_10(v->severity),
		 (long long)v->time_ms);
	puts_c(&w, text);
	for (size_t i = 0; i < l.n; i++) {
		const struct field *f = &l.f[i];
		if (!f->cef)
			continue;
		if (f->cef_label) {
			snprintf(text, sizeof(text), " %sLabel=%s", f->cef, f->cef_label);
			puts_c(&w, text);
		}
		puts_c(&w, " ");
		puts_c(&w, f->cef);
		puts_c(&w, "=");
		put_escaped(&w, f->value, cef_value_escape);
	}
	return finish(&w, &l);
}

int encode_leef(const struct event_view *v, struct strbuf *out)
{
	struct field_list l = {.scopes = STRBUF_INIT, .actors = STRBUF_INIT, .client = STRBUF_INIT};
	struct writer w = {out, false};
	char text[160], time[40];
	fields_build(&l, v);
	puts_c(&w, "LEEF:2.0|" ENCODE_PRODUCT "|" ENCODE_PRODUCT "|");
	put_escaped(&w, vstr_c(MCPTRAIL_VERSION), leef_header_scrub);
	puts_c(&w, "|");
	put_escaped(&w, v->type, leef_header_scrub);
	format_ms_rfc3339(v->time_ms, time);
	int sev = severity_0_10(v->severity);
	snprintf(text, sizeof(text), "|%c|devTime=%s%cdevTimeFormat=%s%csev=%d", LEEF_DELIMITER,
		 time, LEEF_DELIMITER, LEEF_TIME_FORMAT, LEEF_DELIMITER, sev < 1 ? 1 : sev);
	puts_c(&w, text);
	for (size_t i = 0; i < l.n; i++) {
		const struct field *f = &l.f[i];
		if (!f->leef)
			continue;
		put(&w, (const char[]){LEEF_DELIMITER}, 1);
		puts_c(&w, f->leef);
		puts_c(&w, "=");
		put_escaped(&w, f->leef_value.s ? f->leef_value : f->value, leef_value_scrub);
	}
	return finish(&w, &l);
}
