/* timeline: selection, ordering, poll collapsing and token changes (see timeline.h). Rendering is
 * in timeline_render.c, the command line in timeline_main.c. */
#include "collector/timeline.h"
#include "collector/hashmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct timeline {
	struct timeline_selector sel;
	char *id;
	char *iss, *sub; /* ID split at its first '|' (identity), else NULL */
	const char *needle;
	size_t needle_len;
	bool needle_plain;	 /* no character a JSON writer might escape */
	struct hashmap *strings; /* interned strings: value is the copy */
	struct hashmap *whos;	 /* compact identity JSON → struct timeline_who */
	struct timeline_entry *items;
	size_t nitems, cap;
	json_t *pending; /* findings with evidence, not matched by themselves */
	struct timeline_counts counts;
	struct timeline_summary summary;
	bool finished;
};

static const char *intern(struct timeline *tl, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *v = hashmap_get(tl->strings, s, n);
	if (v)
		return v;
	v = strdup(s);
	if (!v || !hashmap_put(tl->strings, s, n, v)) {
		free(v);
		return NULL;
	}
	return v;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void who_free(void *p)
{
	struct timeline_who *w = p;
	if (!w)
		return;
	free(w->actors);
	free(w->scopes);
	free(w);
}

static bool strings_of(struct timeline *tl, json_t *arr, const char ***out, size_t *n)
{
	size_t i, k = 0;
	json_t *v;
	*out = NULL;
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return true;
	*out = calloc(json_array_size(arr), sizeof(char *));
	if (!*out)
		return false;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && ((*out)[k] = intern(tl, json_string_value(v))))
			k++;
	}
	*n = k;
	return true;
}

/* Equal identities (same members) share one interned struct. */
static const struct timeline_who *who_intern(struct timeline *tl, json_t *identity)
{
	if (!json_is_object(identity))
		return NULL;
	char *key = json_dumps(identity, JSON_COMPACT | JSON_SORT_KEYS);
	if (!key)
		return NULL;
	size_t klen = strlen(key);
	struct timeline_who *w = hashmap_get(tl->whos, key, klen);
	if (w)
		goto out;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out;
	json_t *token = json_object_get(identity, "token");
	w->subject = intern(tl, jstr(identity, "subject"));
	w->issuer = intern(tl, jstr(identity, "issuer"));
	w->client_id = intern(tl, jstr(identity, "client_id"));
	w->source = intern(tl, jstr(identity, "source"));
	w->fingerprint = intern(tl, jstr(token, "fingerprint"));
	w->token_class = intern(tl, jstr(token, "class"));
	w->jti = intern(tl, jstr(token, "jti"));
	json_t *exp = json_object_get(token, "exp");
	if (json_is_integer(exp)) {
		w->has_exp = true;
		w->exp = (int64_t)json_integer_value(exp);
	}
	if (!strings_of(tl, json_object_get(identity, "actors"), &w->actors, &w->nactors) ||
	    !strings_of(tl, json_object_get(identity, "scopes"), &w->scopes, &w->nscopes) ||
	    !hashmap_put(tl->whos, key, klen, w)) {
		who_free(w);
		w = NULL;
	}
out:
	free(key);
	return w;
}

static bool eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* 1: the identity is ID; 2: ID acts in its delegation chain; 0: neither. */
static int identity_match(const struct timeline *tl, json_t *identity)
{
	if (!json_is_object(identity))
		return 0;
	const char *sub = jstr(identity, "subject");
	const char *id = tl->id;
	if (eq(sub, id) || eq(jstr(identity, "client_id"), id) ||
	    eq(jstr(json_object_get(identity, "token"), "fingerprint"), id) ||
	    (tl->iss && eq(sub, tl->sub) && eq(jstr(identity, "issuer"), tl->iss)))
		return 1;
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(identity, "actors"), i, a)
	{
		if (eq(json_string_value(a), id))
			return 2;
	}
	return 0;
}

static bool session_match(const struct timeline *tl, json_t *session)
{
	const char *sid = jstr(session, "id");
	if (!sid)
		return false;
	if (strcmp(sid, tl->id) == 0)
		return true;
	const char *slash = strrchr(sid, '/');
	return slash && strcmp(slash + 1, tl->id) == 0;
}

static const char *task_of(json_t *ev)
{
	const char *t = jstr(json_object_get(ev, "task"), "id");
	if (t)
		return t;
	json_t *req = json_object_get(ev, "request");
	t = jstr(req, "task_id");
	return t ? t : jstr(req, "related_task");
}

/* 0: no match; 1: match; 2: match as an actor. */
static int event_match(const struct timeline *tl, json_t *ev, bool finding)
{
	switch (tl->sel.kind) {
	case TIMELINE_IDENTITY: {
		int m = identity_match(tl, json_object_get(ev, "identity"));
		if (m == 0 && finding) {
			/* a finding about a task touched by another identity names the creator */
			int c = identity_match(
				tl, json_object_get(json_object_get(ev, "finding"), "creator"));
			m = c ? 1 : 0;
		}
		return m;
	}
	case TIMELINE_TASK:
		return eq(task_of(ev), tl->id);
	case TIMELINE_SESSION:
		return session_match(tl, json_object_get(ev, "session"));
	}
	return 0;
}

static json_t *evidence_of(json_t *ev)
{
	json_t *f = json_object_get(ev, "finding");
	json_t *e = json_object_get(f, "evidence");
	if (!json_is_array(e))
		e = json_object_get(f, "evidence_event_ids");
	if (!json_is_array(e))
		e = json_object_get(ev, "evidence");
	return json_is_array(e) && json_array_size(e) ? e : NULL;
}

static double num(json_t *v)
{
	return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

static void fill_call(struct timeline *tl, struct timeline_entry *e, json_t *o)
{
	e->outcome = intern(tl, jstr(o, "outcome"));
	json_t *lat = json_object_get(o, "latency_ms");
	if (json_is_number(lat)) {
		e->has_latency = true;
		e->latency_ms = num(lat);
	}
	e->attempts = json_integer_value(json_object_get(o, "attempts"));
	e->auth_challenges = json_integer_value(json_object_get(o, "auth_challenges"));
	e->rpc_id = intern(tl, jstr(o, "rpc_id"));
	e->retry_of = intern(tl, jstr(json_object_get(o, "retry_of"), "rpc_id"));
	const char *err = jstr(json_object_get(o, "error"), "message");
	if (err)
		e->detail = intern(tl, err);
}

/* The compact item for one event: only what the timeline shows. */
static void fill_entry(struct timeline *tl, struct timeline_entry *e, json_t *ev)
{
	const char *type = e->type;
	json_t *task = json_object_get(ev, "task");
	e->task_id = intern(tl, task_of(ev));
	e->session = intern(tl, jstr(json_object_get(ev, "session"), "id"));
	e->who = who_intern(tl, json_object_get(ev, "identity"));
	if (strcmp(type, "mcp.tool_call") == 0) {
		json_t *call = json_object_get(ev, "call");
		e->what = intern(tl, jstr(call, "tool"));
		fill_call(tl, e, call);
	} else if (strcmp(type, "mcp.request") == 0 || strcmp(type, "mcp.sampling") == 0 ||
		   strcmp(type, "mcp.elicitation") == 0 || strcmp(type, "mcp.roots") == 0) {
		json_t *req = json_object_get(ev, "request");
		e->what = intern(tl, jstr(req, "method"));
		fill_call(tl, e, req);
		if (!e->detail)
			e->detail = intern(tl, jstr(req, "target"));
	} else if (strcmp(type, "mcp.task") == 0) {
		e->what = intern(tl, jstr(task, "status"));
		e->outcome = e->what;
		e->detail = intern(tl, jstr(task, "changed_by"));
	} else if (strcmp(type, "mcp.session") == 0) {
		json_t *s = json_object_get(ev, "session");
		e->what = intern(tl, jstr(s, "state"));
		json_t *client = json_object_get(s, "client");
		const char *name = jstr(client, "name");
		if (name) {
			char buf[256];
			const char *ver = jstr(client, "version");
			snprintf(buf, sizeof(buf), "client %s%s%s", name, ver ? " " : "",
				 ver ? ver : "");
			e->detail = intern(tl, buf);
		}
	} else if (strcmp(type, "mcp.auth") == 0 || strcmp(type, "mcp.http_error") == 0) {
		bool auth = type[4] == 'a';
		json_t *h = json_object_get(ev, auth ? "auth" : "http");
		e->what = intern(tl, jstr(h, "rpc_method"));
		char buf[512];
		json_t *ch = json_object_get(h, "challenge");
		json_t *scope = json_object_get(ch, "scope");
		char scopes[256] = "";
		size_t i, off = 0;
		json_t *v;
		json_array_foreach(scope, i, v)
		{
			if (json_is_string(v) && off < sizeof(scopes))
				off += (size_t)snprintf(scopes + off, sizeof(scopes) - off, "%s%s",
							off ? " " : "", json_string_value(v));
		}
		snprintf(buf, sizeof(buf), "HTTP %lld%s%s%s%s",
			 (long long)json_integer_value(json_object_get(h, "status")),
			 off ? " scope=" : "", scopes, jstr(h, "error") ? " " : "",
			 jstr(h, "error") ? jstr(h, "error") : "");
		e->detail = intern(tl, buf);
		e->outcome = intern(tl, auth ? jstr(h, "kind") : "http_error");
		e->rpc_id = intern(tl, jstr(h, "rpc_id"));
	} else if (strcmp(type, "finding") == 0) {
		json_t *f = json_object_get(ev, "finding");
		e->kind = TIMELINE_ENTRY_FINDING;
		e->what = intern(tl, jstr(f, "kind"));
		e->outcome = intern(tl, jstr(f, "severity"));
		e->detail = intern(tl, jstr(f, "summary"));
	} else if (strcmp(type, "mcp.invalid_message") == 0) {
		e->what = intern(tl, jstr(json_object_get(ev, "invalid"), "reason"));
	} else {
		e->what = intern(tl, type);
	}
}

static bool add_item(struct timeline *tl, json_t *ev, int64_t ns, uint64_t order, int match)
{
	if (tl->nitems == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 256;
		struct timeline_entry *n = realloc(tl->items, cap * sizeof(*n));
		if (!n)
			return false;
		tl->items = n;
		tl->cap = cap;
	}
	struct timeline_entry *e = &tl->items[tl->nitems];
	memset(e, 0, sizeof(*e));
	e->kind = TIMELINE_ENTRY_EVENT;
	e->time_ns = ns;
	e->order = order;
	e->type = intern(tl, jstr(ev, "type"));
	e->event_id = intern(tl, jstr(ev, "event_id"));
	if (!e->type || !e->event_id)
		return false;
	e->as_actor = match == 2;
	fill_entry(tl, e, ev);
	tl->nitems++;
	tl->counts.kept++;
	return true;
}

enum timeline_offer timeline_offer_take(struct timeline *tl, json_t *ev)
{
	enum timeline_offer r = TIMELINE_SKIPPED;
	uint64_t order = tl->counts.lines++;
	int64_t ns;
	const char *type = jstr(ev, "type"), *time = jstr(ev, "time");
	if (!json_is_object(ev) || json_object_get(ev, "mcptrail_manifest")) {
		/* segment manifests of the file sink are not events */
		r = json_is_object(ev) ? TIMELINE_SKIPPED : TIMELINE_BAD;
		goto out;
	}
	if (!type || !time || !jstr(ev, "event_id") ||
	    !timeline_parse_time(time, strlen(time), &ns)) {
		r = TIMELINE_BAD;
		goto out;
	}
	if (ns < tl->sel.from_ns || ns > tl->sel.to_ns)
		goto out;
	bool finding = strcmp(type, "finding") == 0;
	int m = event_match(tl, ev, finding);
	if (m) {
		r = add_item(tl, ev, ns, order, m) ? TIMELINE_KEPT : TIMELINE_NOMEM;
	} else if (finding && evidence_of(ev)) {
		/* attached at the end if its evidence was kept; the order travels with it */
		json_object_set_new(ev, "_timeline_order", json_integer((json_int_t)order));
		json_object_set_new(ev, "_timeline_ns", json_integer((json_int_t)ns));
		r = json_array_append(tl->pending, ev) == 0 ? TIMELINE_KEPT : TIMELINE_NOMEM;
		tl->counts.findings_buffered++;
	}
out:
	if (r == TIMELINE_BAD)
		tl->counts.bad_lines++;
	json_decref(ev);
	return r;
}

static bool looks_like_object(const char *s, size_t len)
{
	size_t a = 0, b = len;
	while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r'))
		b--;
	return b - a >= 2 && s[a] == '{' && s[b - 1] == '}';
}

enum timeline_offer timeline_offer_line(struct timeline *tl, const char *line, size_t len)
{
	/* The prefilter: a line in which the id does not occur cannot match, unless a writer
	 * escaped some of its characters; findings are always parsed (evidence). */
	if (tl->needle_len && !memmem(line, len, tl->needle, tl->needle_len) &&
	    (tl->needle_plain || !memchr(line, '\\', len)) &&
	    !memmem(line, len, "\"finding\"", 9)) {
		tl->counts.lines++;
		if (looks_like_object(line, len))
			return TIMELINE_SKIPPED;
		tl->counts.bad_lines++;
		return TIMELINE_BAD;
	}
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!ev) {
		tl->counts.lines++;
		tl->counts.bad_lines++;
		return TIMELINE_BAD;
	}
	return timeline_offer_take(tl, ev);
}

struct timeline *timeline_new(const struct timeline_selector *sel)
{
	struct timeline *tl = calloc(1, sizeof(*tl));
	if (!tl)
		return NULL;
	tl->sel = *sel;
	tl->id = strdup(sel->id ? sel->id : "");
	tl->strings = hashmap_new();
	tl->whos = hashmap_new();
	tl->pending = json_array();
	if (!tl->id || !tl->strings || !tl->whos || !tl->pending) {
		timeline_free(tl);
		return NULL;
	}
	tl->sel.id = tl->id;
	char *bar = strchr(tl->id, '|');
	if (sel->kind == TIMELINE_IDENTITY && bar && bar > tl->id && bar[1]) {
		tl->iss = strndup(tl->id, (size_t)(bar - tl->id));
		tl->sub = strdup(bar + 1);
		if (!tl->iss || !tl->sub) {
			timeline_free(tl);
			return NULL;
		}
	}
	/* an "ISSUER|SUBJECT" id occurs in the line as its subject */
	tl->needle = tl->sub ? tl->sub : tl->id;
	tl->needle_len = strlen(tl->needle);
	tl->needle_plain = true;
	for (const unsigned char *p = (const unsigned char *)tl->needle; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\' || *p == '/')
			tl->needle_plain = false;
	return tl;
}

void timeline_free(struct timeline *tl)
{
	if (!tl)
		return;
	for (size_t i = 0; i < tl->nitems; i++)
		free(tl->items[i].more_ids);
	free(tl->items);
	hashmap_free(tl->whos, who_free);
	hashmap_free(tl->strings, free);
	json_decref(tl->pending);
	struct timeline_summary *s = &tl->summary;
	free(s->subjects);
	free(s->issuers);
	free(s->clients);
	free(s->actors);
	free(s->scopes);
	free(s->sessions);
	free(s->tasks);
	free(s->fingerprints);
	free(tl->iss);
	free(tl->sub);
	free(tl->id);
	free(tl);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct timeline_entry *x = a, *y = b;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool evidence_kept(struct hashmap *ids, json_t *evidence)
{
	size_t i;
	json_t *v;
	json_array_foreach(evidence, i, v)
	{
		const char *id = json_is_string(v) ? json_string_value(v) : jstr(v, "event_id");
		if (id && hashmap_get(ids, id, strlen(id)))
			return true;
	}
	return false;
}

static bool attach_findings(struct timeline *tl)
{
	if (json_array_size(tl->pending) == 0)
		return true;
	struct hashmap *ids = hashmap_new();
	bool ok = ids != NULL;
	for (size_t i = 0; ok && i < tl->nitems; i++)
		ok = hashmap_put(ids, tl->items[i].event_id, strlen(tl->items[i].event_id),
				 (void *)tl->items[i].event_id);
	size_t i;
	json_t *f;
	json_array_foreach(tl->pending, i, f)
	{
		if (!ok)
			break;
		if (evidence_kept(ids, evidence_of(f)))
			ok = add_item(
				tl, f, json_integer_value(json_object_get(f, "_timeline_ns")),
				(uint64_t)json_integer_value(json_object_get(f, "_timeline_order")),
				1);
	}
	hashmap_free(ids, NULL);
	json_array_clear(tl->pending);
	return ok;
}

/* A subject seen with a token fingerprint it has not used before: a line before the first event
 * with it. Going back to an older token (two tokens in use at once, or the session end event,
 * which carries the session's first identity) is not a change. */
static bool insert_token_changes(struct timeline *tl)
{
	struct hashmap *last = hashmap_new();
	struct timeline_entry *out = NULL;
	size_t n = 0, cap = tl->nitems + 16;
	bool ok = last && (out = malloc(cap * sizeof(*out)));
	for (size_t i = 0; ok && i < tl->nitems; i++) {
		struct timeline_entry *e = &tl->items[i];
		const struct timeline_who *w = e->who;
		if (e->kind == TIMELINE_ENTRY_EVENT && w && w->subject && w->fingerprint) {
			char key[1024];
			snprintf(key, sizeof(key), "%s|%s", w->issuer ? w->issuer : "", w->subject);
			const struct timeline_who *prev = hashmap_get(last, key, strlen(key));
			char fkey[1200];
			snprintf(fkey, sizeof(fkey), "%s\x1f%s", key, w->fingerprint);
			bool known = hashmap_get(last, fkey, strlen(fkey)) != NULL;
			if (!known)
				ok = ok && hashmap_put(last, fkey, strlen(fkey), (void *)w);
			if (prev && prev->fingerprint != w->fingerprint && !known) {
				if (n + 2 > cap) {
					struct timeline_entry *o =
						realloc(out, (cap *= 2) * sizeof(*out));
					if (!o) {
						ok = false;
						break;
					}
					out = o;
				}
				struct timeline_entry *t = &out[n++];
				memset(t, 0, sizeof(*t));
				t->kind = TIMELINE_ENTRY_TOKEN_CHANGED;
				t->time_ns = e->time_ns;
				t->order = e->order;
				t->type = "token.changed";
				t->event_id = e->event_id;
				t->session = e->session;
				t->who = w;
				t->previous = prev;
			}
			if (prev != w && !known)
				ok = ok && hashmap_put(last, key, strlen(key), (void *)w);
		}
		if (n + 1 > cap) {
			struct timeline_entry *o = realloc(out, (cap *= 2) * sizeof(*out));
			if (!o) {
				ok = false;
				break;
			}
			out = o;
		}
		out[n++] = *e;
	}
	hashmap_free(last, NULL);
	if (!ok) {
		free(out);
		return false;
	}
	free(tl->items);
	tl->items = out;
	tl->nitems = n;
	tl->cap = cap;
	return true;
}

static bool is_poll(const struct timeline_entry *e)
{
	return e->kind == TIMELINE_ENTRY_EVENT && e->task_id && eq(e->type, "mcp.request") &&
	       eq(e->what, "tasks/get");
}

/* Consecutive tasks/get of one task by the same identity in the same session with the same
 * outcome become one entry; anything else about the task (a status change, the call, a result
 * fetch, a finding) ends every run of it. Other work in between, and polls of the task from
 * another session or identity (shown on their own), do not. */
static bool collapse_polls(struct timeline *tl)
{
	struct hashmap *open = hashmap_new(); /* task, session, who → 1 + index of the run */
	struct hashmap *runs = hashmap_new(); /* task → newest run key (to end them all) */
	bool ok = open && runs;
	uint64_t epoch = 0;
	for (size_t i = 0; ok && i < tl->nitems; i++) {
		struct timeline_entry *e = &tl->items[i];
		if (!e->task_id)
			continue;
		size_t tlen = strlen(e->task_id);
		if (!is_poll(e)) {
			/* a new epoch for the task: runs opened before it are closed */
			ok = hashmap_put(runs, e->task_id, tlen, (void *)(uintptr_t)++epoch);
			continue;
		}
		char key[1024];
		int klen = snprintf(
			key, sizeof(key), "%s\x1f%s\x1f%p\x1f%s\x1f%llu", e->task_id,
			e->session ? e->session : "", (const void *)e->who,
			e->outcome ? e->outcome : "",
			(unsigned long long)(uintptr_t)hashmap_get(runs, e->task_id, tlen));
		if (klen < 0 || (size_t)klen >= sizeof(key))
			continue;
		size_t gi = (size_t)(uintptr_t)hashmap_get(open, key, (size_t)klen);
		if (gi) {
			struct timeline_entry *g = &tl->items[gi - 1];
			if (g->nmore == g->more_cap) {
				size_t c = g->more_cap ? g->more_cap * 2 : 8;
				const char **m = realloc(g->more_ids, c * sizeof(*m));
				if (!m) {
					ok = false;
					break;
				}
				g->more_ids = m;
				g->more_cap = c;
			}
			g->more_ids[g->nmore++] = e->event_id;
			g->count++;
			g->last_ns = e->time_ns;
			if (e->has_latency) {
				g->latency_ms = g->has_latency && g->latency_ms > e->latency_ms
							? g->latency_ms
							: e->latency_ms;
				g->has_latency = true;
			}
			e->dropped = true;
		} else {
			e->kind = TIMELINE_ENTRY_POLLS;
			e->count = 1;
			e->last_ns = e->time_ns;
			ok = hashmap_put(open, key, (size_t)klen, (void *)(uintptr_t)(i + 1));
		}
	}
	hashmap_free(open, NULL);
	hashmap_free(runs, NULL);
	for (size_t i = 0; i < tl->nitems; i++)
		if (tl->items[i].kind == TIMELINE_ENTRY_POLLS && tl->items[i].count == 1)
			tl->items[i].kind = TIMELINE_ENTRY_EVENT;
	return ok;
}

/* A set of strings seen, in first-seen order. */
struct seen {
	struct hashmap *map;
	const char ***arr;
	size_t *n, cap;
	bool ok;
};

static void seen_add(struct seen *s, const char *v)
{
	if (!v || !s->ok || hashmap_get(s->map, v, strlen(v)))
		return;
	if (*s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 8;
		const char **a = realloc(*s->arr, c * sizeof(*a));
		if (!a) {
			s->ok = false;
			return;
		}
		*s->arr = a;
		s->cap = c;
	}
	(*s->arr)[(*s->n)++] = v;
	s->ok = hashmap_put(s->map, v, strlen(v), (void *)v);
}

static bool summarize(struct timeline *tl)
{
	struct timeline_summary *S = &tl->summary;
	enum { SUBJ, ISS, CLI, ACT, SCO, SES, TSK, FP, NSEEN };
	struct seen seen[NSEEN] = {
		{NULL, &S->subjects, &S->nsubjects, 0, true},
		{NULL, &S->issuers, &S->nissuers, 0, true},
		{NULL, &S->clients, &S->nclients, 0, true},
		{NULL, &S->actors, &S->nactors, 0, true},
		{NULL, &S->scopes, &S->nscopes, 0, true},
		{NULL, &S->sessions, &S->nsessions, 0, true},
		{NULL, &S->tasks, &S->ntasks, 0, true},
		{NULL, &S->fingerprints, &S->nfingerprints, 0, true},
	};
	bool ok = true;
	for (int k = 0; k < NSEEN; k++)
		ok = ok && (seen[k].map = hashmap_new()) != NULL;
	for (size_t i = 0; ok && i < tl->nitems; i++) {
		const struct timeline_entry *e = &tl->items[i];
		if (e->dropped)
			continue;
		S->entries++;
		if (S->entries == 1)
			S->first_ns = e->time_ns;
		int64_t end = e->kind == TIMELINE_ENTRY_POLLS ? e->last_ns : e->time_ns;
		if (end > S->last_ns)
			S->last_ns = end;
		if (e->kind == TIMELINE_ENTRY_TOKEN_CHANGED) {
			S->token_changes++;
			continue;
		}
		S->events += e->kind == TIMELINE_ENTRY_POLLS ? e->count : 1;
		S->findings += e->kind == TIMELINE_ENTRY_FINDING;
		S->tool_calls += eq(e->type, "mcp.tool_call");
		S->task_changes += eq(e->type, "mcp.task");
		if (e->kind == TIMELINE_ENTRY_POLLS) {
			S->polls += e->count;
			S->poll_groups++;
		} else if (is_poll(e)) {
			S->polls++;
		}
		S->requests += eq(e->type, "mcp.request") || eq(e->type, "mcp.sampling") ||
			       eq(e->type, "mcp.elicitation") || eq(e->type, "mcp.roots");
		S->as_actor += e->as_actor;
		S->auth_challenges += eq(e->type, "mcp.auth") ? 1 : 0;
		S->retries += e->attempts > 1 || e->retry_of;
		S->failures += e->outcome && !eq(e->outcome, "ok") && e->rpc_id &&
			       (eq(e->type, "mcp.tool_call") || e->attempts > 0);
		seen_add(&seen[SES], e->session);
		seen_add(&seen[TSK], e->task_id);
		const struct timeline_who *w = e->who;
		if (!w || e->kind == TIMELINE_ENTRY_FINDING)
			continue;
		seen_add(&seen[SUBJ], w->subject);
		seen_add(&seen[ISS], w->issuer);
		seen_add(&seen[CLI], w->client_id);
		seen_add(&seen[FP], w->fingerprint);
		for (size_t k = 0; k < w->nactors; k++)
			seen_add(&seen[ACT], w->actors[k]);
		for (size_t k = 0; k < w->nscopes; k++)
			seen_add(&seen[SCO], w->scopes[k]);
	}
	for (int k = 0; k < NSEEN; k++) {
		ok = ok && seen[k].ok;
		hashmap_free(seen[k].map, NULL);
	}
	return ok;
}

bool timeline_finish(struct timeline *tl)
{
	if (tl->finished)
		return true;
	tl->finished = true;
	if (!attach_findings(tl))
		return false;
	if (tl->nitems > 1)
		qsort(tl->items, tl->nitems, sizeof(*tl->items), entry_cmp);
	return insert_token_changes(tl) && collapse_polls(tl) && summarize(tl);
}

const struct timeline_selector *timeline_selector(const struct timeline *tl)
{
	return &tl->sel;
}

const struct timeline_counts *timeline_counts(const struct timeline *tl)
{
	return &tl->counts;
}

const struct timeline_entry *timeline_entries(const struct timeline *tl, size_t *n)
{
	*n = tl->nitems;
	return tl->items;
}

const struct timeline_summary *timeline_summary(const struct timeline *tl)
{
	return &tl->summary;
}

static bool digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
	int v = 0;
	if (at + n > len)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[at + i] < '0' || s[at + i] > '9')
			return false;
		v = v * 10 + (s[at + i] - '0');
	}
	*out = v;
	return true;
}

bool timeline_parse_time(const char *s, size_t len, int64_t *ns)
{
	int Y, M, D, h, m, sec;
	if (!digits(s, len, 0, 4, &Y) || len < 19 || s[4] != '-' || !digits(s, len, 5, 2, &M) ||
	    s[7] != '-' || !digits(s, len, 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, len, 11, 2, &h) ||
	    s[13] != ':' || !digits(s, len, 14, 2, &m) || s[16] != ':' ||
	    !digits(s, len, 17, 2, &sec))
		return false;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return false;
	size_t i = 19;
	int64_t frac = 0;
	if (i < len && s[i] == '.') {
		int64_t scale = 100000000;
		if (++i >= len || s[i] < '0' || s[i] > '9')
			return false;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	int64_t offset = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		if (!digits(s, len, i + 1, 2, &oh) || i + 3 >= len || s[i + 3] != ':' ||
		    !digits(s, len, i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		offset = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return false;
	}
	if (i != len)
		return false;
	struct tm tm = {0};
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	int64_t t = (int64_t)timegm(&tm) - offset;
	*ns = t * 1000000000LL + frac;
	return true;
}
