/* timeline rendering: one text line per entry for a terminal, or one JSON document (fields in
 * README "Timeline"). Both read the entries timeline_finish() built. */
#include "collector/timeline.h"
#include "collector/util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

static const char *kind_name(enum timeline_kind k)
{
	return k == TIMELINE_IDENTITY ? "identity" : k == TIMELINE_TASK ? "task" : "session";
}

static const char *entry_kind_name(enum timeline_entry_kind k)
{
	switch (k) {
	case TIMELINE_ENTRY_EVENT:
		return "event";
	case TIMELINE_ENTRY_POLLS:
		return "polls";
	case TIMELINE_ENTRY_TOKEN_CHANGED:
		return "token_changed";
	case TIMELINE_ENTRY_FINDING:
		return "finding";
	}
	return "event";
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_json(int64_t ns)
{
	char buf[48];
	format_rfc3339_ns(ns, buf);
	return json_string(buf);
}

static json_t *strings_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *who_json(const struct timeline_who *w)
{
	if (!w)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "subject", str_or_null(w->subject));
	json_object_set_new(o, "issuer", str_or_null(w->issuer));
	json_object_set_new(o, "client_id", str_or_null(w->client_id));
	json_object_set_new(o, "actors", strings_json(w->actors, w->nactors));
	json_object_set_new(o, "scopes", strings_json(w->scopes, w->nscopes));
	json_object_set_new(o, "token_fingerprint", str_or_null(w->fingerprint));
	json_object_set_new(o, "token_exp", w->has_exp ? json_integer(w->exp) : json_null());
	return o;
}

static int64_t first_ns(const struct timeline *tl)
{
	return timeline_summary(tl)->first_ns;
}

json_t *timeline_entry_json(const struct timeline *tl, const struct timeline_entry *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(entry_kind_name(e->kind)));
	json_object_set_new(o, "time", time_json(e->time_ns));
	json_object_set_new(o, "offset_ms", json_real((double)(e->time_ns - first_ns(tl)) / 1e6));
	json_t *ids = json_array();
	if (e->kind != TIMELINE_ENTRY_TOKEN_CHANGED) {
		json_array_append_new(ids, json_string(e->event_id));
		for (size_t i = 0; i < e->nmore; i++)
			json_array_append_new(ids, json_string(e->more_ids[i]));
	}
	json_object_set_new(o, "event_ids", ids);
	json_object_set_new(o, "type", json_string(e->type));
	json_object_set_new(o, "session", str_or_null(e->session));
	json_object_set_new(o, "identity", who_json(e->who));
	json_object_set_new(o, "as_actor", json_boolean(e->as_actor));
	json_object_set_new(o, "what", str_or_null(e->what));
	json_object_set_new(o, "task_id", str_or_null(e->task_id));
	json_object_set_new(o, "outcome", str_or_null(e->outcome));
	json_object_set_new(o, "detail", str_or_null(e->detail));
	json_object_set_new(o, "rpc_id", str_or_null(e->rpc_id));
	json_object_set_new(o, "latency_ms",
			    e->has_latency ? json_real(e->latency_ms) : json_null());
	if (e->attempts)
		json_object_set_new(o, "attempts", json_integer(e->attempts));
	if (e->auth_challenges)
		json_object_set_new(o, "auth_challenges", json_integer(e->auth_challenges));
	if (e->retry_of)
		json_object_set_new(o, "retry_of", json_string(e->retry_of));
	if (e->kind == TIMELINE_ENTRY_POLLS) {
		json_object_set_new(o, "count", json_integer((json_int_t)e->count));
		json_object_set_new(o, "last_time", time_json(e->last_ns));
	} else if (e->kind == TIMELINE_ENTRY_TOKEN_CHANGED) {
		json_object_set_new(o, "caused_by", json_string(e->event_id));
		json_object_set_new(o, "from_fingerprint", str_or_null(e->previous->fingerprint));
		json_object_set_new(o, "to_fingerprint", str_or_null(e->who->fingerprint));
		json_object_set_new(o, "from_exp",
				    e->previous->has_exp ? json_integer(e->previous->exp)
							 : json_null());
		json_object_set_new(o, "to_exp",
				    e->who->has_exp ? json_integer(e->who->exp) : json_null());
	}
	return o;
}

json_t *timeline_summary_json(const struct timeline *tl)
{
	const struct timeline_summary *s = timeline_summary(tl);
	const struct timeline_selector *sel = timeline_selector(tl);
	const struct timeline_counts *c = timeline_counts(tl);
	json_t *o = json_object();
	json_object_set_new(o, "selector",
			    json_pack("{s:s, s:s}", "kind", kind_name(sel->kind), "id", sel->id));
	json_object_set_new(o, "from",
			    sel->from_ns == INT64_MIN ? json_null() : time_json(sel->from_ns));
	json_object_set_new(o, "to", sel->to_ns == INT64_MAX ? json_null() : time_json(sel->to_ns));
	json_object_set_new(o, "subjects", strings_json(s->subjects, s->nsubjects));
	json_object_set_new(o, "issuers", strings_json(s->issuers, s->nissuers));
	json_object_set_new(o, "clients", strings_json(s->clients, s->nclients));
	json_object_set_new(o, "actors", strings_json(s->actors, s->nactors));
	json_object_set_new(o, "scopes", strings_json(s->scopes, s->nscopes));
	json_object_set_new(o, "token_fingerprints",
			    strings_json(s->fingerprints, s->nfingerprints));
	json_object_set_new(o, "sessions", strings_json(s->sessions, s->nsessions));
	json_object_set_new(o, "tasks", strings_json(s->tasks, s->ntasks));
	json_object_set_new(o, "first_seen", s->entries ? time_json(s->first_ns) : json_null());
	json_object_set_new(o, "last_seen", s->entries ? time_json(s->last_ns) : json_null());
	json_t *k = json_object();
	json_object_set_new(k, "entries", json_integer((json_int_t)s->entries));
	json_object_set_new(k, "events", json_integer((json_int_t)s->events));
	json_object_set_new(k, "tool_calls", json_integer((json_int_t)s->tool_calls));
	json_object_set_new(k, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(k, "task_changes", json_integer((json_int_t)s->task_changes));
	json_object_set_new(k, "polls", json_integer((json_int_t)s->polls));
	json_object_set_new(k, "poll_groups", json_integer((json_int_t)s->poll_groups));
	json_object_set_new(k, "token_changes", json_integer((json_int_t)s->token_changes));
	json_object_set_new(k, "findings", json_integer((json_int_t)s->findings));
	json_object_set_new(k, "as_actor", json_integer((json_int_t)s->as_actor));
	json_object_set_new(k, "auth_challenges", json_integer((json_int_t)s->auth_challenges));
	json_object_set_new(k, "retries", json_integer((json_int_t)s->retries));
	json_object_set_new(k, "failures", json_integer((json_int_t)s->failures));
	json_object_set_new(o, "counts", k);
	json_object_set_new(o, "input",
			    json_pack("{s:I, s:I}", "lines", (json_int_t)c->lines, "bad_lines",
				      (json_int_t)c->bad_lines));
	return o;
}

int timeline_write_json(const struct timeline *tl, FILE *out)
{
	json_t *summary = timeline_summary_json(tl);
	char *s = summary ? json_dumps(summary, JSON_COMPACT) : NULL;
	json_decref(summary);
	if (!s)
		return -1;
	fprintf(out, "{\"timeline\":%s,\"entries\":[", s);
	free(s);
	size_t n, written = 0;
	const struct timeline_entry *e = timeline_entries(tl, &n);
	for (size_t i = 0; i < n; i++) {
		if (e[i].dropped)
			continue;
		json_t *o = timeline_entry_json(tl, &e[i]);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!s)
			return -1;
		fprintf(out, "%s\n%s", written++ ? "," : "", s);
		free(s);
	}
	fprintf(out, "\n]}\n");
	return ferror(out) ? -1 : 0;
}

/* ---- text ---- */

struct line {
	char *buf;
	size_t len, off;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	if (l->off >= l->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->off, l->len - l->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->off += (size_t)n;
	if (l->off >= l->len)
		l->off = l->len;
}

static void pad(struct line *l, size_t col)
{
	while (l->off < col && l->off + 1 < l->len) {
		l->buf[l->off++] = ' ';
		l->buf[l->off] = '\0';
	}
	if (l->off >= col && l->off + 1 < l->len && l->off > 0 && l->buf[l->off - 1] != ' ') {
		l->buf[l->off++] = ' ';
		l->buf[l->off] = '\0';
	}
}

static void put_offset(struct line *l, int64_t ns)
{
	const char *sign = ns < 0 ? "-" : "+";
	int64_t ms = (ns < 0 ? -ns : ns) / 1000000;
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, r = ms % 1000;
	if (h)
		put(l, "%s%" PRId64 "h%02" PRId64 "m%02" PRId64 ".%03" PRId64 "s", sign, h, m, s,
		    r);
	else if (m)
		put(l, "%s%" PRId64 "m%02" PRId64 ".%03" PRId64 "s", sign, m, s, r);
	else
		put(l, "%s%" PRId64 ".%03" PRId64 "s", sign, s, r);
}

/* The last component of a session id ("har-0e49.../sess-42" → "sess-42"), at most 16 bytes. */
static void put_session(struct line *l, const char *sid)
{
	if (!sid) {
		put(l, "-");
		return;
	}
	const char *slash = strrchr(sid, '/');
	const char *s = slash && slash[1] ? slash + 1 : sid;
	put(l, "%.16s", s);
}

/* A fingerprint or id in a line: its first 12 characters after any "tfp:" prefix. */
static void put_short(struct line *l, const char *id)
{
	if (!id) {
		put(l, "-");
		return;
	}
	if (strncmp(id, "tfp:", 4) == 0)
		id += 4;
	put(l, "%.12s%s", id, strlen(id) > 12 ? "…" : "");
}

static void put_who(struct line *l, const struct timeline_who *w, bool as_actor)
{
	if (!w) {
		put(l, "-");
		return;
	}
	put(l, "%s", w->subject ? w->subject : "anonymous");
	for (size_t i = 0; i < w->nactors; i++)
		put(l, "%s%s", i ? "," : " via ", w->actors[i]);
	if (w->client_id)
		put(l, " (%s)", w->client_id);
	if (as_actor)
		put(l, " [as actor]");
}

static void put_exp(struct line *l, const struct timeline_who *w)
{
	if (!w->has_exp) {
		put(l, "no exp");
		return;
	}
	char buf[48];
	format_rfc3339_ms(w->exp * 1000000000LL, buf);
	put(l, "exp %.19sZ", buf);
}

static bool eq_ok(const char *outcome)
{
	return outcome && strcmp(outcome, "ok") == 0;
}

static void put_what(struct line *l, const struct timeline_entry *e)
{
	const char *what = e->what ? e->what : "?";
	switch (e->kind) {
	case TIMELINE_ENTRY_TOKEN_CHANGED:
		put(l, "token changed: fp ");
		put_short(l, e->previous->fingerprint);
		put(l, " → ");
		put_short(l, e->who->fingerprint);
		put(l, ", ");
		put_exp(l, e->who);
		return;
	case TIMELINE_ENTRY_FINDING:
		put(l, "FINDING %s [%s]", what, e->outcome ? e->outcome : "?");
		if (e->task_id) {
			put(l, " task ");
			put_short(l, e->task_id);
		}
		if (e->detail)
			put(l, ": %s", e->detail);
		return;
	case TIMELINE_ENTRY_POLLS: {
		char a[48], b[48];
		format_rfc3339_ms(e->time_ns, a);
		format_rfc3339_ms(e->last_ns, b);
		put(l, "tasks/get task ");
		put_short(l, e->task_id);
		put(l, " polled %" PRIu64 " times between %s and %s, %s", e->count, a + 11, b + 11,
		    e->outcome ? e->outcome : "?");
		if (e->has_latency)
			put(l, ", max %.1f ms", e->latency_ms);
		return;
	}
	case TIMELINE_ENTRY_EVENT:
		break;
	}
	const char *type = e->type;
	if (strcmp(type, "mcp.tool_call") == 0) {
		put(l, "call %s", what);
	} else if (strcmp(type, "mcp.task") == 0) {
		put(l, "task ");
		put_short(l, e->task_id);
		put(l, " → %s", what);
		if (e->detail)
			put(l, " (%s)", e->detail);
		return;
	} else if (strcmp(type, "mcp.session") == 0) {
		put(l, "session %s", what);
		if (e->detail)
			put(l, " (%s)", e->detail);
		return;
	} else if (strcmp(type, "mcp.auth") == 0) {
		put(l, "auth %s on %s: %s", e->outcome ? e->outcome : "challenge", what,
		    e->detail ? e->detail : "");
		return;
	} else if (strcmp(type, "mcp.http_error") == 0) {
		put(l, "http error on %s: %s", what, e->detail ? e->detail : "");
		return;
	} else if (e->rpc_id) {
		put(l, "%s", what);
		if (e->detail && eq_ok(e->outcome))
			put(l, " %s", e->detail); /* the target: a resource, prompt, tool */
		if (e->task_id) {
			put(l, " task ");
			put_short(l, e->task_id);
		}
	} else {
		put(l, "%s %s", type, what);
		return;
	}
	put(l, " → %s", e->outcome ? e->outcome : "?");
	if (e->has_latency)
		put(l, " %.1f ms", e->latency_ms);
	else if (e->rpc_id)
		put(l, " (no answer)");
	if (e->attempts > 1)
		put(l, ", %" PRId64 " attempts", e->attempts);
	if (e->auth_challenges)
		put(l, ", %" PRId64 " auth challenge%s", e->auth_challenges,
		    e->auth_challenges > 1 ? "s" : "");
	if (e->retry_of)
		put(l, ", retry of rpc %s", e->retry_of);
	if (strcmp(type, "mcp.tool_call") == 0 && e->task_id) {
		put(l, ", task ");
		put_short(l, e->task_id);
	}
	if (e->detail && e->outcome && !eq_ok(e->outcome))
		put(l, ": %s", e->detail);
}

void timeline_entry_text(const struct timeline *tl, const struct timeline_entry *e, char *buf,
			 size_t len)
{
	struct line l = {buf, len, 0};
	if (len)
		buf[0] = '\0';
	char t[48];
	format_rfc3339_ms(e->time_ns, t);
	put(&l, "%s", t);
	pad(&l, 26);
	put_offset(&l, e->time_ns - first_ns(tl));
	pad(&l, 40);
	put_session(&l, e->session);
	pad(&l, 58);
	put_who(&l, e->who, e->as_actor);
	pad(&l, 92);
	put_what(&l, e);
}

static void put_list(FILE *out, const char *name, const char *const *v, size_t n)
{
	if (!n)
		return;
	fprintf(out, "  %-9s", name);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : " ", v[i]);
	fputc('\n', out);
}

int timeline_write_text(const struct timeline *tl, FILE *out)
{
	const struct timeline_summary *s = timeline_summary(tl);
	const struct timeline_selector *sel = timeline_selector(tl);
	char a[48], b[48];
	fprintf(out, "timeline of %s %s", kind_name(sel->kind), sel->id);
	if (sel->from_ns != INT64_MIN || sel->to_ns != INT64_MAX) {
		format_rfc3339_ms(sel->from_ns == INT64_MIN ? 0 : sel->from_ns, a);
		format_rfc3339_ms(sel->to_ns == INT64_MAX ? 0 : sel->to_ns, b);
		fprintf(out, " from %s to %s", sel->from_ns == INT64_MIN ? "start" : a,
			sel->to_ns == INT64_MAX ? "end" : b);
	}
	fputc('\n', out);
	put_list(out, "subjects", s->subjects, s->nsubjects);
	put_list(out, "issuers", s->issuers, s->nissuers);
	put_list(out, "clients", s->clients, s->nclients);
	put_list(out, "actors", s->actors, s->nactors);
	put_list(out, "scopes", s->scopes, s->nscopes);
	put_list(out, "tokens", s->fingerprints, s->nfingerprints);
	put_list(out, "sessions", s->sessions, s->nsessions);
	put_list(out, "tasks", s->tasks, s->ntasks);
	if (s->entries) {
		format_rfc3339_ms(s->first_ns, a);
		format_rfc3339_ms(s->last_ns, b);
		fprintf(out, "  seen      %s .. %s\n", a, b);
	}
	fputc('\n', out);
	size_t n;
	const struct timeline_entry *e = timeline_entries(tl, &n);
	char line[2048];
	for (size_t i = 0; i < n; i++) {
		if (e[i].dropped)
			continue;
		timeline_entry_text(tl, &e[i], line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	fprintf(out,
		"\n%" PRIu64 " entries for %" PRIu64 " events: %" PRIu64 " tool calls (%" PRIu64
		" failed, %" PRIu64 " retried), %" PRIu64 " requests, %" PRIu64
		" task changes, %" PRIu64 " polls in %" PRIu64 " runs, %" PRIu64
		" auth challenges, %" PRIu64 " token changes, %" PRIu64 " as actor, %" PRIu64
		" findings\n",
		s->entries, s->events, s->tool_calls, s->failures, s->retries, s->requests,
		s->task_changes, s->polls, s->poll_groups, s->auth_challenges, s->token_changes,
		s->as_actor, s->findings);
	return ferror(out) ? -1 : 0;
}
