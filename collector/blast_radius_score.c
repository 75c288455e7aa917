/* blast_radius: the metric (MBR, §4.1 of the blast-radius reference) computed from the state
 * blast_radius.c accumulated, its configuration, and the identity.blast_radius events. */
#include "collector/blast_radius_internal.h"
#include "collector/event.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const DEFAULT_NHI[] = {"svc-*",   "svc_*",	"system:serviceaccount:*",
					  "*[bot]",  "*-bot",	"bot-*",
					  "*-agent", "agent-*", NULL};

void br_config_defaults(struct br_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->window_days = 30;
	cfg->default_criticality = 1;
	cfg->max_items = 256;
	cfg->max_evidence = 5;
	cfg->max_identities = 100000;
}

void br_config_release(struct br_config *cfg)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		free(cfg->servers[i].name);
	for (size_t i = 0; i < cfg->nnhi; i++)
		free(cfg->nhi_subjects[i]);
	cfg->nservers = cfg->nnhi = 0;
}

static int config_error(char *err, size_t errlen, const char *path, const char *where,
			const char *what)
{
	snprintf(err, errlen, "%s: %s: %s", path, where, what);
	return -1;
}

static bool size_member(json_t *root, const char *key, size_t *out)
{
	json_t *v = json_object_get(root, key);
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return false;
	*out = (size_t)json_integer_value(v);
	return true;
}

int br_config_load(struct br_config *cfg, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	int rc = -1;
	json_t *root = json_load_file(path, 0, &je);
	if (!root) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	static const char *const known[] = {
		"window_days", "default_criticality", "servers",	"nhi_subjects",
		"max_items",   "max_evidence",	      "max_identities", NULL};
	const char *k;
	json_t *v;
	char where[600];
	if (!json_is_object(root)) {
		config_error(err, errlen, path, "$", "expected an object");
		goto out;
	}
	json_object_foreach(root, k, v)
	{
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			ok = ok || strcmp(k, known[i]) == 0;
		if (!ok) {
			snprintf(where, sizeof(where), "%s", k);
			config_error(err, errlen, path, where, "unknown key");
			goto out;
		}
	}
	v = json_object_get(root, "window_days");
	if (v &&
	    (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 100000)) {
		config_error(err, errlen, path, "window_days",
			     "expected a number of days > 0 (at most 100000)");
		goto out;
	}
	if (v)
		cfg->window_days = json_number_value(v);
	v = json_object_get(root, "default_criticality");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3)) {
		config_error(err, errlen, path, "default_criticality", "expected 1, 2 or 3");
		goto out;
	}
	if (v)
		cfg->default_criticality = (int)json_integer_value(v);
	if (!size_member(root, "max_items", &cfg->max_items) ||
	    !size_member(root, "max_evidence", &cfg->max_evidence) ||
	    !size_member(root, "max_identities", &cfg->max_identities)) {
		config_error(err, errlen, path, "max_items/max_evidence/max_identities",
			     "expected an integer >= 1");
		goto out;
	}
	json_t *servers = json_object_get(root, "servers");
	if (servers && !json_is_object(servers)) {
		config_error(err, errlen, path, "servers",
			     "expected an object {\"NAME\": {\"criticality\": 1..3, \"trusted\": "
			     "bool}}");
		goto out;
	}
	json_object_foreach(servers, k, v)
	{
		snprintf(where, sizeof(where), "servers.%s", k);
		if (cfg->nservers == BR_MAX_SERVERS) {
			config_error(err, errlen, path, where, "at most 64 servers");
			goto out;
		}
		json_t *c = json_object_get(v, "criticality");
		json_t *t = json_object_get(v, "trusted");
		if (!json_is_object(v) ||
		    (c && (!json_is_integer(c) || json_integer_value(c) < 1 ||
			   json_integer_value(c) > 3)) ||
		    (t && !json_is_boolean(t)) || json_object_size(v) != (size_t)(!!c + !!t)) {
			config_error(err, errlen, path, where,
				     "expected {\"criticality\": 1..3, \"trusted\": bool}");
			goto out;
		}
		struct br_server_config *s = &cfg->servers[cfg->nservers];
		s->name = strdup(k);
		s->criticality = c ? (int)json_integer_value(c) : cfg->default_criticality;
		s->trusted = json_is_true(t);
		cfg->nservers++;
	}
	json_t *nhi = json_object_get(root, "nhi_subjects");
	if (nhi && !json_is_array(nhi)) {
		config_error(err, errlen, path, "nhi_subjects", "expected an array of globs");
		goto out;
	}
	size_t i;
	json_array_foreach(nhi, i, v)
	{
		snprintf(where, sizeof(where), "nhi_subjects[%zu]", i);
		if (!json_is_string(v) || cfg->nnhi == BR_MAX_NHI_PATTERNS) {
			config_error(err, errlen, path, where, "expected a glob (at most 32)");
			goto out;
		}
		cfg->nhi_subjects[cfg->nnhi++] = strdup(json_string_value(v));
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ---- the metric ---- */

static const struct br_server_config *server_config(const struct br_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nservers; i++)
		if (strcmp(cfg->servers[i].name, name) == 0)
			return &cfg->servers[i];
	return NULL;
}

/* A member of the reach: a tool or resource prefix of some server, from this identity or from
 * one it became. */
struct reach_entry {
	const struct br_item *item;
	const char *via; /* NULL: the identity itself; else the key of the identity it became */
	char server[256];
	const char *name;
	bool resource, used, believed;
	const char *cls; /* read, write, destructive, resource */
	int criticality;
	double weight;
};

struct reach {
	struct reach_entry *e;
	size_t n, alloc;
	struct hashmap *seen;
};

static void reach_add(struct reach *r, const struct br_config *cfg, const struct br_item *it,
		      bool resource, const char *via, int64_t ws)
{
	bool granted = it->granted_ns >= ws || (it->unlisted && it->used_ns >= ws);
	if (!granted)
		return;
	size_t *idx = hashmap_get(r->seen, it->key, strlen(it->key));
	if (idx) {
		/* the identity's own entry wins; a use anywhere counts */
		r->e[*idx - 1].used = r->e[*idx - 1].used || it->used_ns >= ws;
		return;
	}
	if (r->n == r->alloc) {
		size_t na = r->alloc ? r->alloc * 2 : 32;
		struct reach_entry *ne = realloc(r->e, na * sizeof(*ne));
		if (!ne)
			return;
		r->e = ne;
		r->alloc = na;
	}
	struct reach_entry *e = &r->e[r->n];
	memset(e, 0, sizeof(*e));
	e->item = it;
	e->via = via;
	const char *sep = strchr(it->key, '\x1f');
	size_t sl = sep ? (size_t)(sep - it->key) : 0;
	if (sl >= sizeof(e->server))
		sl = sizeof(e->server) - 1;
	memcpy(e->server, it->key, sl);
	e->server[sl] = '\0';
	e->name = sep ? sep + 1 : it->key;
	e->resource = resource;
	e->used = it->used_ns >= ws;
	const struct br_server_config *sc = server_config(cfg, e->server);
	e->criticality = sc ? sc->criticality : cfg->default_criticality;
	if (resource) {
		e->cls = "resource";
		e->weight = e->criticality;
		e->believed = true;
	} else {
		/* hints of an untrusted server, or of a tool never listed, are not believed: the
		 * spec's defaults (destructive, open world) apply */
		e->believed = sc && sc->trusted && !it->unlisted;
		bool ro = e->believed && it->ro == 1;
		bool destructive = !e->believed || it->destructive != 0;
		bool open_world = !e->believed || it->open_world != 0;
		double base = ro ? 1 : destructive ? 5 : 3;
		e->cls = ro ? "read" : destructive ? "destructive" : "write";
		e->weight = base * (open_world ? 2 : 1) * e->criticality;
	}
	size_t *slot = malloc(sizeof(*slot));
	if (!slot)
		return;
	*slot = r->n + 1;
	if (!hashmap_put(r->seen, it->key, strlen(it->key), slot)) {
		free(slot);
		return;
	}
	r->n++;
}

static void add_identity_reach(struct blast_radius *br, struct reach *r,
			       const struct br_identity *id, const char *via, int64_t ws, int depth,
			       const struct br_identity **visited, size_t *nvisited)
{
	for (size_t i = 0; i < *nvisited; i++)
		if (visited[i] == id)
			return;
	if (*nvisited == 16)
		return;
	visited[(*nvisited)++] = id;
	for (size_t i = 0; i < id->tools.n; i++)
		reach_add(r, br->cfg, id->tools.items[i], false, via, ws);
	for (size_t i = 0; i < id->resources.n; i++)
		reach_add(r, br->cfg, id->resources.items[i], true, via, ws);
	if (depth >= 4)
		return;
	for (size_t i = 0; i < id->became.n; i++) {
		const struct br_item *b = id->became.items[i];
		if (b->granted_ns < ws)
			continue;
		const struct br_identity *to = hashmap_get(br->identities, b->key, strlen(b->key));
		if (to)
			add_identity_reach(br, r, to, via ? via : to->key, ws, depth + 1, visited,
					   nvisited);
	}
}

static int entry_cmp(const void *a, const void *b)
{
	const struct reach_entry *x = *(const struct reach_entry *const *)a;
	const struct reach_entry *y = *(const struct reach_entry *const *)b;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	int c = strcmp(x->server, y->server);
	if (c)
		return c;
	if (x->resource != y->resource)
		return x->resource ? 1 : -1;
	return strcmp(x->name, y->name);
}

static json_t *evidence_pair(const struct br_item *it, size_t cap)
{
	return json_pack("{s:o, s:o}", "granted", br_evidence_json(&it->granted_ev, cap), "used",
			 br_evidence_json(&it->used_ev, cap));
}

static json_t *entry_json(const struct reach_entry *e, size_t cap)
{
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:f, s:b, s:I}", "kind",
			  e->resource ? "resource" : "tool", "name", e->name, "class", e->cls,
			  "weight", e->weight, "used", e->used, "uses", (json_int_t)e->item->uses);
	json_object_set_new(o, "server", json_string(e->server));
	if (!e->resource)
		json_object_set_new(o, "annotations_believed", json_boolean(e->believed));
	json_object_set_new(o, "unlisted", json_boolean(e->item->unlisted));
	json_object_set_new(o, "via", e->via ? json_string(e->via) : json_null());
	json_object_set_new(o, "evidence", evidence_pair(e->item, cap));
	return o;
}

static bool is_nhi(const struct br_config *cfg, const struct br_identity *id, const char **why)
{
	if (id->nhi_by_token) {
		*why = "client_credentials token or identity.class service/agent";
		return true;
	}
	const char *sub = id->subject ? id->subject : "";
	if (br_set_find(&id->client_ids, sub)) {
		*why = "subject is its own client_id";
		return true;
	}
	if (cfg->nnhi) {
		for (size_t i = 0; i < cfg->nnhi; i++)
			if (fnmatch(cfg->nhi_subjects[i], sub, 0) == 0) {
				*why = "subject matches nhi_subjects";
				return true;
			}
	} else {
		for (size_t i = 0; DEFAULT_NHI[i]; i++)
			if (fnmatch(DEFAULT_NHI[i], sub, 0) == 0) {
				*why = "subject matches a service-account pattern";
				return true;
			}
	}
	return false;
}

static json_t *strings_of_set(const struct br_set *s, int64_t ws)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i]->granted_ns >= ws)
			json_array_append_new(a, json_string(s->items[i]->key));
	return a;
}

static void append_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* json_array_extend that takes the second array */
static void extend_take(json_t *a, json_t *b_take)
{
	json_array_extend(a, b_take);
	json_decref(b_take);
}

static double round2(double v)
{
	return round(v * 100) / 100;
}

double br_score(double mbr)
{
	double s = 25 * log10(1 + mbr);
	return s > 100 ? 100 : s;
}

static json_t *identity_report(struct blast_radius *br, const struct br_identity *id, int64_t ws)
{
	const struct br_config *cfg = br->cfg;
	size_t cap = cfg->max_evidence;
	struct reach r = {0};
	r.seen = hashmap_new();
	const struct br_identity *visited[16];
	size_t nvisited = 0;
	add_identity_reach(br, &r, id, NULL, ws, 0, visited, &nvisited);
	struct reach_entry **sorted = calloc(r.n + 1, sizeof(*sorted));
	for (size_t i = 0; sorted && i < r.n; i++)
		sorted[i] = &r.e[i];
	if (sorted)
		qsort(sorted, r.n, sizeof(*sorted), entry_cmp);

	/* capability and use */
	double C = 0, Cu = 0;
	unsigned nread = 0, nwrite = 0, ndestr = 0, ntools = 0, ntools_used = 0, nres = 0,
		 nres_used = 0, nbelieved = 0;
	json_t *servers = json_object(); /* name → {criticality, trusted, entries} */
	json_t *reach_ev = json_array();
	for (size_t i = 0; sorted && i < r.n; i++) {
		const struct reach_entry *e = sorted[i];
		C += e->weight;
		if (e->used)
			Cu += e->weight;
		if (e->resource) {
			nres++;
			nres_used += e->used;
		} else {
			ntools++;
			ntools_used += e->used;
			nbelieved += e->believed;
			nread += strcmp(e->cls, "read") == 0;
			nwrite += strcmp(e->cls, "write") == 0;
			ndestr += strcmp(e->cls, "destructive") == 0;
		}
		json_t *s = json_object_get(servers, e->server);
		if (!s) {
			const struct br_server_config *sc = server_config(cfg, e->server);
			s = json_pack("{s:s, s:i, s:b, s:[], s:[]}", "name", e->server,
				      "criticality", e->criticality, "trusted", sc && sc->trusted,
				      "tools", "resources");
			json_object_set_new(servers, e->server, s);
		}
		json_array_append_new(json_object_get(s, e->resource ? "resources" : "tools"),
				      entry_json(e, cap));
		if (json_array_size(reach_ev) < cap) {
			json_t *ids = br_evidence_json(&e->item->granted_ev, cap);
			json_t *v;
			size_t k;
			json_array_foreach(ids, k, v)
			{
				bool dup = false;
				for (size_t m = 0; m < json_array_size(reach_ev); m++)
					dup = dup || json_equal(json_array_get(reach_ev, m), v);
				if (!dup && json_array_size(reach_ev) < cap)
					json_array_append(reach_ev, v);
			}
			json_decref(ids);
		}
	}
	double U = C > 0 ? Cu / C : 0;
	json_t *server_list = json_array();
	const char *sk;
	json_t *sv;
	json_object_foreach(servers, sk, sv) json_array_append(server_list, sv);
	json_decref(servers);
	json_t *top = json_array();
	for (size_t i = 0; sorted && i < r.n && i < 5; i++)
		json_array_append_new(top, entry_json(sorted[i], cap));

	/* amplifiers */
	int hops_beyond =
		id->delegation_ns >= ws && id->max_act_hops > 1 ? id->max_act_hops - 1 : 0;
	json_t *auds = strings_of_set(&id->audiences, ws);
	json_t *aud_ev = json_array();
	for (size_t i = 0; i < id->audiences.n; i++)
		if (id->audiences.items[i]->granted_ns >= ws)
			extend_take(aud_ev,
				    br_evidence_json(&id->audiences.items[i]->granted_ev, cap));
	double D = 1 + 0.5 * hops_beyond + 0.5 * (double)json_array_size(auds);
	json_t *d_ev =
		id->delegation_ns >= ws ? br_evidence_json(&id->delegation_ev, cap) : json_array();
	json_array_extend(d_ev, aud_ev);
	json_decref(aud_ev);

	bool s_decl = id->sampling_decl_ns >= ws && id->sampling_decl_ns > 0;
	bool s_tools = id->sampling_tools_ns >= ws && id->sampling_tools_ns > 0;
	double S = s_decl && s_tools ? 1.5 : 1;
	json_t *s_ev = json_array();
	if (s_decl)
		extend_take(s_ev, br_evidence_json(&id->sampling_decl_ev, cap));
	if (s_tools)
		extend_take(s_ev, br_evidence_json(&id->sampling_tools_ev, cap));

	unsigned ntasks = 0, noutlived = 0, nout_token = 0, nout_session = 0;
	json_t *p_ev = json_array();
	for (size_t i = 0; i < id->tasks.n; i++) {
		const struct br_item *t = id->tasks.items[i];
		if ((t->used_ns > t->granted_ns ? t->used_ns : t->granted_ns) < ws)
			continue;
		ntasks++;
		if (t->outlived) {
			noutlived++;
			if (strcmp(t->outlived_reason, "token_exp") == 0)
				nout_token++;
			else
				nout_session++;
			json_t *ids = br_evidence_json(&t->used_ev, cap);
			if (json_array_size(p_ev) < cap)
				json_array_append(p_ev,
						  json_array_get(ids, json_array_size(ids) - 1));
			json_decref(ids);
		}
	}
	double P = 1 + 0.5 * (ntasks ? (double)noutlived / ntasks : 0);
	if (P > 1.5)
		P = 1.5;

	bool is_static = id->static_ns >= ws && id->static_ns > 0;
	json_t *l_ev = is_static ? br_evidence_json(&id->static_ev, cap) : json_array();
	json_t *shared = json_array();
	for (size_t i = 0; i < id->fingerprints.n; i++) {
		const char *fp = id->fingerprints.items[i]->key;
		const struct br_fingerprint *g = hashmap_get(br->fingerprints, fp, strlen(fp));
		if (g && g->shared_ns >= ws && g->shared_ns > 0) {
			json_array_append_new(shared, json_string(fp));
			extend_take(l_ev, br_evidence_json(&g->ev, cap));
		}
	}
	double L = is_static || json_array_size(shared) ? 1.25 : 1;

	double mbr = C * D * S * P * L;
	double score = br_score(mbr);

	/* scopes */
	json_t *granted = json_array(), *used = json_array(), *unused = json_array(),
	       *challenged = json_array(), *scope_ev = json_object();
	for (size_t i = 0; i < id->scopes.n; i++) {
		const struct br_item *s = id->scopes.items[i];
		bool g = s->granted_ns >= ws && s->granted_ns > 0;
		bool u = s->used_ns >= ws && s->used_ns > 0;
		if (g)
			json_array_append_new(granted, json_string(s->key));
		if (u)
			json_array_append_new(used, json_string(s->key));
		if (g && !u)
			json_array_append_new(unused, json_string(s->key));
		if (s->challenged)
			json_array_append_new(challenged, json_string(s->key));
		if (g || s->challenged)
			json_object_set_new(scope_ev, s->key, evidence_pair(s, cap));
	}

	const char *nhi_why = NULL;
	bool nhi = is_nhi(cfg, id, &nhi_why);
	bool interactive = nhi && id->human_ns >= ws && id->human_ns > 0;
	bool orphan = id->last_call_ns < ws || id->last_call_ns == 0;

	/* the readout line */
	char readout[1024] = "";
	unsigned nservers = (unsigned)json_array_size(server_list);
	append_fmt(readout, sizeof(readout), "%s: C=%.0f (%u read, %u write, %u destructive",
		   id->subject ? id->subject : "?", C, nread, nwrite, ndestr);
	if (nres)
		append_fmt(readout, sizeof(readout), ", %u resource prefix%s", nres,
			   nres == 1 ? "" : "es");
	append_fmt(readout, sizeof(readout), "; %u server%s)", nservers, nservers == 1 ? "" : "s");
	append_fmt(readout, sizeof(readout), " D=%g", D);
	if (hops_beyond || json_array_size(auds)) {
		append_fmt(readout, sizeof(readout), " (");
		if (hops_beyond)
			append_fmt(readout, sizeof(readout), "%d-hop act", id->max_act_hops);
		if (json_array_size(auds))
			append_fmt(readout, sizeof(readout), "%s%zu exchange audience%s",
				   hops_beyond ? ", " : "", json_array_size(auds),
				   json_array_size(auds) == 1 ? "" : "s");
		append_fmt(readout, sizeof(readout), ")");
	}
	append_fmt(readout, sizeof(readout),
		   " S=%g P=%g L=%g → MBR=%.0f → %.0f/100; %u/%u tools unused", S, round2(P), L,
		   mbr, score, ntools - ntools_used, ntools);
	size_t nunused = json_array_size(unused);
	for (size_t i = 0; i < nunused && i < 3; i++)
		append_fmt(readout, sizeof(readout), "%s%s", i ? ", " : "; scope ",
			   json_string_value(json_array_get(unused, i)));
	if (nunused > 3)
		append_fmt(readout, sizeof(readout), " (+%zu)", nunused - 3);
	if (nunused)
		append_fmt(readout, sizeof(readout), " unused");
	if (orphan)
		append_fmt(readout, sizeof(readout), "; orphan (no calls in the window)");
	if (interactive)
		append_fmt(readout, sizeof(readout), "; interactive use of a non-human identity");
	append_fmt(readout, sizeof(readout), ".");

	json_t *o = json_object();
	json_t *ident = json_pack("{s:s, s:o, s:o, s:o, s:b, s:o}", "key", id->key, "subject",
				  id->subject ? json_string(id->subject) : json_null(), "issuer",
				  id->issuer ? json_string(id->issuer) : json_null(), "client_ids",
				  strings_of_set(&id->client_ids, 0), "nhi", nhi, "nhi_reason",
				  nhi_why ? json_string(nhi_why) : json_null());
	json_object_set_new(ident, "token_class",
			    id->token_class ? json_string(id->token_class) : json_null());
	json_object_set_new(ident, "actors", strings_of_set(&id->actors, ws));
	json_object_set_new(ident, "became", strings_of_set(&id->became, ws));
	json_object_set_new(ident, "first_seen", event_time(id->first_ns));
	json_object_set_new(ident, "last_seen", event_time(id->last_ns));
	json_object_set_new(ident, "evidence", br_evidence_json(&id->seen_ev, cap));
	json_object_set_new(o, "identity", ident);
	json_object_set_new(o, "score", json_real(round2(score)));
	json_object_set_new(o, "mbr", json_real(round2(mbr)));
	json_object_set_new(o, "readout", json_string(readout));
	json_t *capj = json_object();
	json_object_set_new(capj, "C", json_real(C));
	json_object_set_new(capj, "C_used", json_real(Cu));
	json_object_set_new(capj, "U", json_real(round2(U * 10000) / 10000));
	json_object_set_new(capj, "unused_privilege", json_real(round2((1 - U) * 10000) / 10000));
	json_object_set_new(capj, "tools_granted", json_integer(ntools));
	json_object_set_new(capj, "tools_used", json_integer(ntools_used));
	json_object_set_new(capj, "tools_annotations_believed", json_integer(nbelieved));
	json_object_set_new(capj, "resources_granted", json_integer(nres));
	json_object_set_new(capj, "resources_used", json_integer(nres_used));
	json_object_set_new(capj, "read", json_integer(nread));
	json_object_set_new(capj, "write", json_integer(nwrite));
	json_object_set_new(capj, "destructive", json_integer(ndestr));
	json_object_set_new(capj, "servers", json_integer(nservers));
	json_object_set_new(capj, "evidence", reach_ev);
	json_object_set_new(o, "capability", capj);
	json_t *amp = json_object();
	json_object_set_new(amp, "D",
			    json_pack("{s:f, s:i, s:i, s:o, s:o}", "value", D, "act_hops",
				      id->delegation_ns >= ws ? id->max_act_hops : 0,
				      "act_hops_beyond_one", hops_beyond, "exchange_audiences",
				      auds, "evidence", d_ev));
	json_object_set_new(amp, "S",
			    json_pack("{s:f, s:b, s:b, s:o}", "value", S, "client_sampling_tools",
				      s_decl, "server_sent_tools", s_tools, "evidence", s_ev));
	json_object_set_new(amp, "P",
			    json_pack("{s:f, s:i, s:i, s:i, s:i, s:o}", "value",
				      round2(P * 100) / 100, "tasks", ntasks, "outlived", noutlived,
				      "outlived_token", nout_token, "outlived_session",
				      nout_session, "evidence", p_ev));
	json_object_set_new(amp, "L",
			    json_pack("{s:f, s:b, s:o, s:o}", "value", L, "static", is_static,
				      "shared_fingerprints", shared, "evidence", l_ev));
	json_object_set_new(o, "amplifiers", amp);
	json_object_set_new(o, "scopes",
			    json_pack("{s:o, s:o, s:o, s:o, s:o}", "granted", granted, "used", used,
				      "unused", unused, "challenged", challenged, "evidence",
				      scope_ev));
	json_object_set_new(o, "top_contributors", top);
	json_object_set_new(o, "orphan",
			    json_pack("{s:b, s:o, s:o}", "value", orphan, "last_call",
				      id->last_call_ns ? event_time(id->last_call_ns) : json_null(),
				      "evidence",
				      orphan ? br_evidence_json(&id->seen_ev, cap)
					     : br_evidence_json(&id->call_ev, cap)));
	json_object_set_new(
		o, "interactive_nhi",
		json_pack("{s:b, s:o, s:o}", "value", interactive, "reason",
			  interactive ? json_string(id->human_reason) : json_null(), "evidence",
			  interactive ? br_evidence_json(&id->human_ev, cap) : json_array()));
	json_object_set_new(o, "reach", server_list);
	json_t *dropped = json_object();
	const struct br_set *sets[] = {&id->tools,	  &id->resources,  &id->scopes,
				       &id->actors,	  &id->audiences,  &id->became,
				       &id->fingerprints, &id->client_ids, &id->tasks};
	static const char *const names[] = {"tools",	    "resources",  "scopes",
					    "actors",	    "audiences",  "became",
					    "fingerprints", "client_ids", "tasks"};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		json_object_set_new(dropped, names[i], json_integer((json_int_t)sets[i]->dropped));
	json_object_set_new(o, "dropped", dropped);
	free(sorted);
	free(r.e);
	hashmap_free(r.seen, free);
	return o;
}

/* ---- ranking, and reports one identity at a time ---- */

struct br_ranked {
	const struct br_identity *id;
	double mbr;
};

static int ranked_cmp(const void *a, const void *b)
{
	const struct br_ranked *x = a, *y = b;
	if (x->mbr != y->mbr)
		return x->mbr > y->mbr ? -1 : 1;
	return strcmp(x->id->key, y->id->key);
}

static int64_t window_start(const struct blast_radius *br)
{
	return br->newest_ns - (int64_t)(br->cfg->window_days * 86400.0 * 1e9);
}

/* The identities of the window by MBR (largest first, ties by key). Each report is built and
 * dropped: memory holds one at a time. The ranking is kept until an event comes in. */
static const struct br_ranked *rank_identities(struct blast_radius *br, size_t *n)
{
	if (br->ranked && br->ranked_events == br->stats.events &&
	    br->ranked_window_days == br->cfg->window_days) {
		*n = br->nranked;
		return br->ranked;
	}
	free(br->ranked);
	br->ranked = NULL;
	int64_t ws = window_start(br);
	struct br_ranked *r = calloc(br->norder + 1, sizeof(*r));
	*n = 0;
	for (size_t i = 0; r && i < br->norder; i++) {
		const struct br_identity *id = br->order[i];
		if (id->last_ns < ws)
			continue;
		json_t *rep = identity_report(br, id, ws);
		r[*n].id = id;
		r[*n].mbr = json_number_value(json_object_get(rep, "mbr"));
		(*n)++;
		json_decref(rep);
	}
	if (r)
		qsort(r, *n, sizeof(*r), ranked_cmp);
	br->ranked = r;
	br->nranked = *n;
	br->ranked_events = br->stats.events;
	br->ranked_window_days = br->cfg->window_days;
	return r;
}

json_t *blast_radius_header(struct blast_radius *br)
{
	int64_t end = br->newest_ns, ws = window_start(br);
	size_t inside = 0;
	for (size_t i = 0; i < br->norder; i++)
		inside += br->order[i]->last_ns >= ws;
	json_t *rep = json_object();
	json_object_set_new(rep, "window",
			    json_pack("{s:o, s:o, s:f}", "start", event_time(ws > 0 ? ws : 0),
				      "end", event_time(end), "days", br->cfg->window_days));
	json_object_set_new(rep, "stats",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "events",
				      (json_int_t)br->stats.events, "ignored_events",
				      (json_int_t)br->stats.ignored_events, "unattributed_events",
				      (json_int_t)br->stats.unattributed_events, "identities",
				      (json_int_t)inside, "identities_outside_window",
				      (json_int_t)(br->norder - inside), "identities_dropped",
				      (json_int_t)br->stats.identities_dropped,
				      "fingerprints_dropped",
				      (json_int_t)br->stats.fingerprints_dropped));
	return rep;
}

int blast_radius_each(struct blast_radius *br, int (*fn)(void *ctx, json_t *item), void *ctx)
{
	size_t n;
	const struct br_ranked *r = rank_identities(br, &n);
	if (!r)
		return -1;
	int64_t ws = window_start(br);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *item = identity_report(br, r[i].id, ws);
		json_object_set_new(item, "rank", json_integer((json_int_t)i + 1));
		rc = fn(ctx, item);
		json_decref(item);
	}
	return rc;
}

static int append_item(void *ctx, json_t *item)
{
	return json_array_append(ctx, item);
}

json_t *blast_radius_report(struct blast_radius *br)
{
	json_t *rep = blast_radius_header(br);
	json_t *list = json_array();
	blast_radius_each(br, append_item, list);
	json_object_set_new(rep, "identities", list);
	return rep;
}

struct events_ctx {
	json_t *window;
	int64_t end;
	void (*emit)(void *ctx, json_t *event_take);
	void *ctx;
};

static int emit_item(void *ctx, json_t *item)
{
	struct events_ctx *e = ctx;
	const char *key =
		json_string_value(json_object_get(json_object_get(item, "identity"), "key"));
	char seed[1200];
	snprintf(seed, sizeof(seed), "blast_radius|%s|%s|%g", key ? key : "",
		 json_string_value(json_object_get(e->window, "end")),
		 json_number_value(json_object_get(e->window, "days")));
	json_t *ev = event_envelope("identity.blast_radius", e->end, seed);
	json_object_set(item, "window", e->window);
	json_object_set(ev, "blast_radius", item);
	e->emit(e->ctx, ev);
	return 0;
}

void blast_radius_events(struct blast_radius *br, void (*emit)(void *ctx, json_t *event_take),
			 void *ctx)
{
	json_t *header = blast_radius_header(br);
	struct events_ctx e = {json_object_get(header, "window"), br->newest_ns, emit, ctx};
	blast_radius_each(br, emit_item, &e);
	json_decref(header);
}
