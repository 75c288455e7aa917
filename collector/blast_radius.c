/* blast_radius: accumulating normalized events into per-identity state (this file; its bounded
 * containers are in blast_radius_set.c) and computing MBR from it (blast_radius_score.c). */
#include "collector/blast_radius_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static const char *str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* ---- identities ---- */

static void identity_free(void *p)
{
	struct br_identity *id = p;
	if (!id)
		return;
	free(id->key);
	free(id->subject);
	free(id->issuer);
	free(id->token_class);
	struct br_set *sets[] = {
		&id->tools,  &id->resources,	&id->scopes,	 &id->actors, &id->audiences,
		&id->became, &id->fingerprints, &id->client_ids, &id->tasks,  &id->ended_sessions};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		br_set_free(sets[i]);
	struct br_evidence *evs[] = {
		&id->seen_ev,		&id->call_ev,	&id->delegation_ev, &id->sampling_decl_ev,
		&id->sampling_tools_ev, &id->static_ev, &id->human_ev,	    &id->nhi_ev};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		br_evidence_free(evs[i]);
	free(id);
}

static void fingerprint_free(void *p)
{
	struct br_fingerprint *f = p;
	if (!f)
		return;
	free(f->first_client_id);
	br_evidence_free(&f->ev);
	free(f);
}

struct blast_radius *blast_radius_new(const struct br_config *cfg)
{
	struct blast_radius *br = calloc(1, sizeof(*br));
	if (!br)
		return NULL;
	br->cfg = cfg;
	br->identities = hashmap_new();
	br->fingerprints = hashmap_new();
	if (!br->identities || !br->fingerprints) {
		blast_radius_free(br);
		return NULL;
	}
	return br;
}

static void free_identity_entry(void *p)
{
	identity_free(p);
}

void blast_radius_free(struct blast_radius *br)
{
	if (!br)
		return;
	hashmap_free(br->identities, free_identity_entry);
	hashmap_free(br->fingerprints, fingerprint_free);
	free(br->order);
	free(br->ranked);
	free(br);
}

const struct blast_radius_stats *blast_radius_stats(const struct blast_radius *br)
{
	return &br->stats;
}

/* (issuer, subject), or the token fingerprint of an opaque token; "" when nobody is named. */
static void key_of(const char *issuer, const char *subject, const char *fingerprint, char *out,
		   size_t outlen)
{
	if (!issuer && !subject) {
		snprintf(out, outlen, "%s", fingerprint ? fingerprint : "");
		return;
	}
	snprintf(out, outlen, "%s|%s", issuer ? issuer : "", subject ? subject : "");
}

static struct br_identity *identity_get(struct blast_radius *br, const char *issuer,
					const char *subject, const char *fingerprint)
{
	char key[1024];
	key_of(issuer, subject, fingerprint, key, sizeof(key));
	if (!key[0])
		return NULL;
	struct br_identity *id = hashmap_get(br->identities, key, strlen(key));
	if (id)
		return id;
	if (hashmap_count(br->identities) >= br->cfg->max_identities) {
		br->stats.identities_dropped++;
		return NULL;
	}
	id = calloc(1, sizeof(*id));
	if (!id || !(id->key = strdup(key)))
		goto fail;
	if (subject && !(id->subject = strdup(subject)))
		goto fail;
	else if (!subject && !issuer && !(id->subject = strdup(fingerprint)))
		goto fail;
	if (issuer && !(id->issuer = strdup(issuer)))
		goto fail;
	if (!hashmap_put(br->identities, key, strlen(key), id))
		goto fail;
	if (br->norder == br->aorder) {
		size_t na = br->aorder ? br->aorder * 2 : 64;
		struct br_identity **no = realloc(br->order, na * sizeof(*no));
		if (!no) {
			hashmap_remove(br->identities, key, strlen(key));
			goto fail;
		}
		br->order = no;
		br->aorder = na;
	}
	br->order[br->norder++] = id;
	return id;
fail:
	identity_free(id);
	return NULL;
}

/* The server a session's event belongs to: its serverInfo name, else its host or command. */
static const char *server_of(json_t *ev)
{
	json_t *s = json_object_get(ev, "session");
	const char *name = str_at(json_object_get(s, "server"), "name");
	if (!name)
		name = str_at(s, "host");
	if (!name)
		name = str_at(s, "server_command");
	return name ? name : "(unknown server)";
}

static void item_key(char *out, size_t outlen, const char *server, const char *name)
{
	snprintf(out, outlen, "%s\x1f%s", server, name);
}

/* Resources weigh 1 per URI prefix: the URI up to its last '/' (its "directory"), query and
 * fragment removed; a URI without a path keeps its scheme and authority. */
void br_uri_prefix(const char *uri, char *out, size_t outlen)
{
	size_t n = strcspn(uri, "?#");
	const char *scheme_end = strstr(uri, "://");
	size_t path_start =
		scheme_end && (size_t)(scheme_end - uri) < n ? (size_t)(scheme_end - uri) + 3 : 0;
	size_t last = 0;
	for (size_t i = path_start; i < n; i++)
		if (uri[i] == '/')
			last = i + 1;
	if (last == 0)
		last = n;
	if (last >= outlen)
		last = outlen - 1;
	memcpy(out, uri, last);
	out[last] = '\0';
}

static bool ok_outcome(const char *o)
{
	return o && (strcmp(o, "ok") == 0 || strcmp(o, "cancelled") == 0);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Methods that act (as opposed to discovery): a token presented on one that succeeded used its
 * scopes. */
static const char *const ACTING_METHODS[] = {"resources/read", "prompts/get", "tasks/result",
					     "completion/complete", NULL};

static void note_scopes_used(struct blast_radius *br, struct br_identity *id, json_t *identity,
			     int64_t t, const char *eid)
{
	json_t *scopes = json_object_get(identity, "scopes");
	size_t i;
	json_t *sc;
	json_array_foreach(scopes, i, sc)
	{
		if (!json_is_string(sc))
			continue;
		struct br_item *it =
			br_set_get(&id->scopes, json_string_value(sc), br->cfg->max_items);
		if (!it)
			continue;
		it->used_ns = t;
		it->uses++;
		br_evidence_add(&it->used_ev, eid, br->cfg->max_evidence);
	}
}

static void note_tool_listing(struct blast_radius *br, struct br_identity *id, json_t *ev,
			      int64_t t, const char *eid)
{
	const char *server = server_of(ev);
	json_t *tools = json_object_get(ev, "tools");
	size_t i;
	json_t *tool;
	json_array_foreach(tools, i, tool)
	{
		const char *name = str_at(tool, "name");
		if (!name)
			continue;
		char key[1024];
		item_key(key, sizeof(key), server, name);
		struct br_item *it = br_set_get(&id->tools, key, br->cfg->max_items);
		if (!it)
			continue;
		it->granted_ns = t;
		br_evidence_add(&it->granted_ev, eid, br->cfg->max_evidence);
		/* the latest listing's hints win; an absent hint takes the spec default later */
		json_t *ann = json_object_get(tool, "annotations");
		json_t *ro = json_object_get(ann, "readOnlyHint");
		json_t *de = json_object_get(ann, "destructiveHint");
		json_t *ow = json_object_get(ann, "openWorldHint");
		it->ro = json_is_boolean(ro) ? json_is_true(ro) : -1;
		it->destructive = json_is_boolean(de) ? json_is_true(de) : -1;
		it->open_world = json_is_boolean(ow) ? json_is_true(ow) : -1;
	}
}

static void note_resource_listing(struct blast_radius *br, struct br_identity *id, json_t *ev,
				  int64_t t, const char *eid)
{
	const char *server = server_of(ev);
	json_t *res = json_object_get(ev, "resources");
	size_t i;
	json_t *r;
	json_array_foreach(res, i, r)
	{
		const char *uri = str_at(r, "uri");
		if (!uri)
			uri = str_at(r, "uri_template");
		if (!uri)
			continue;
		char prefix[512], key[1024];
		br_uri_prefix(uri, prefix, sizeof(prefix));
		item_key(key, sizeof(key), server, prefix);
		struct br_item *it = br_set_get(&id->resources, key, br->cfg->max_items);
		if (!it)
			continue;
		it->granted_ns = t;
		br_evidence_add(&it->granted_ev, eid, br->cfg->max_evidence);
	}
}

static void note_tool_call(struct blast_radius *br, struct br_identity *id, json_t *ev,
			   json_t *identity, int64_t t, const char *eid)
{
	json_t *call = json_object_get(ev, "call");
	const char *tool = str_at(call, "tool");
	const char *outcome = str_at(call, "outcome");
	id->last_call_ns = t;
	br_evidence_add(&id->call_ev, eid, br->cfg->max_evidence);
	if (!tool)
		return;
	char key[1024];
	item_key(key, sizeof(key), server_of(ev), tool);
	/* a call of a tool never listed to the identity is reach only when it worked */
	struct br_item *it = ok_outcome(outcome) || (outcome && strcmp(outcome, "tool_error") == 0)
				     ? br_set_find(&id->tools, key)
				     : NULL;
	if (!it && ok_outcome(outcome)) {
		it = br_set_get(&id->tools, key, br->cfg->max_items);
		if (it && !it->granted_ns)
			it->unlisted = true;
	}
	if (it) {
		it->used_ns = t;
		it->uses++;
		br_evidence_add(&it->used_ev, eid, br->cfg->max_evidence);
	}
	if (ok_outcome(outcome))
		note_scopes_used(br, id, identity, t, eid);
}

static void note_request(struct blast_radius *br, struct br_identity *id, json_t *ev,
			 json_t *identity, int64_t t, const char *eid)
{
	json_t *req = json_object_get(ev, "request");
	const char *method = str_at(req, "method");
	const char *outcome = str_at(req, "outcome");
	if (!method)
		return;
	if (strcmp(method, "tools/list") == 0 && json_is_array(json_object_get(ev, "tools")))
		note_tool_listing(br, id, ev, t, eid);
	if ((strcmp(method, "resources/list") == 0 ||
	     strcmp(method, "resources/templates/list") == 0) &&
	    json_is_array(json_object_get(ev, "resources")))
		note_resource_listing(br, id, ev, t, eid);
	if (strcmp(method, "resources/read") == 0 && ok_outcome(outcome)) {
		const char *uri = str_at(req, "target");
		if (uri) {
			char prefix[512], key[1024];
			br_uri_prefix(uri, prefix, sizeof(prefix));
			item_key(key, sizeof(key), server_of(ev), prefix);
			/* a read of a prefix never listed is reach shown by use */
			struct br_item *it = br_set_get(&id->resources, key, br->cfg->max_items);
			if (it) {
				if (!it->granted_ns)
					it->unlisted = true;
				it->used_ns = t;
				it->uses++;
				br_evidence_add(&it->used_ev, eid, br->cfg->max_evidence);
			}
		}
	}
	if (ok_outcome(outcome) && in_list(method, ACTING_METHODS))
		note_scopes_used(br, id, identity, t, eid);
}

static struct br_item *task_item(struct blast_radius *br, struct br_identity *id,
				 const char *task_id)
{
	return task_id ? br_set_get(&id->tasks, task_id, br->cfg->max_items) : NULL;
}

static void mark_outlived(struct blast_radius *br, struct br_item *task, const char *why,
			  const char *eid)
{
	if (!task->outlived) {
		task->outlived = true;
		task->outlived_reason = why;
	}
	br_evidence_add(&task->used_ev, eid, br->cfg->max_evidence);
}

static void note_task(struct blast_radius *br, struct br_identity *id, json_t *ev, json_t *identity,
		      int64_t t, const char *eid)
{
	json_t *task = json_object_get(ev, "task");
	struct br_item *it = task_item(br, id, str_at(task, "id"));
	if (!it)
		return;
	const char *session = str_at(json_object_get(ev, "session"), "id");
	json_t *exp = json_object_get(json_object_get(identity, "token"), "exp");
	if (!it->granted_ns) {
		it->granted_ns = t;
		br_evidence_add(&it->granted_ev, eid, br->cfg->max_evidence);
		it->aux = session ? strdup(session) : NULL;
		json_int_t e = json_is_integer(exp) ? json_integer_value(exp) : 0;
		/* exp comes from a token: anything past year ~2255 is "never" */
		it->aux_ns = e > 0 && e < 9000000000LL ? e * 1000000000LL : 0;
		return;
	}
	it->used_ns = t; /* last status change */
	if (it->aux_ns && t > it->aux_ns)
		mark_outlived(br, it, "token_exp", eid);
	else if (session && it->aux && strcmp(session, it->aux) != 0)
		mark_outlived(br, it, "session", eid);
	else if (it->aux) {
		struct br_item *end = br_set_find(&id->ended_sessions, it->aux);
		if (end && t > end->granted_ns)
			mark_outlived(br, it, "session", eid);
	}
}

static void note_finding(struct blast_radius *br, json_t *ev, int64_t t, const char *eid)
{
	json_t *f = json_object_get(ev, "finding");
	if (!str_at(f, "kind") || strcmp(str_at(f, "kind"), "task_outlived_token") != 0)
		return;
	json_t *creator = json_object_get(f, "creator");
	struct br_identity *id =
		identity_get(br, str_at(creator, "issuer"), str_at(creator, "subject"),
			     str_at(json_object_get(creator, "token"), "fingerprint"));
	if (!id)
		return;
	struct br_item *it = task_item(br, id, str_at(json_object_get(ev, "task"), "id"));
	if (!it)
		return;
	if (!it->granted_ns)
		it->granted_ns = t;
	it->used_ns = t;
	mark_outlived(br, it, "token_exp", eid);
}

/* An identity.grant event (an IdP's log of a token exchange / ID-JAG / jwt-bearer grant): the
 * requesting identity became grant.subject at grant.audience. */
static void note_grant(struct blast_radius *br, json_t *ev, int64_t t, const char *eid)
{
	json_t *g = json_object_get(ev, "grant");
	json_t *identity = json_object_get(ev, "identity");
	const char *from_sub = str_at(g, "actor");
	const char *from_iss = str_at(g, "issuer");
	if (!from_sub) {
		from_sub = str_at(identity, "subject");
		from_iss = str_at(identity, "issuer");
	}
	if (!from_sub)
		from_sub = str_at(g, "client_id");
	struct br_identity *from = identity_get(br, from_iss, from_sub, NULL);
	if (!from)
		return;
	if (!from->first_ns)
		from->first_ns = t;
	from->last_ns = t;
	br_evidence_add(&from->seen_ev, eid, br->cfg->max_evidence);
	const char *aud = str_at(g, "audience");
	if (!aud && json_is_array(json_object_get(g, "audience")))
		aud = json_string_value(json_array_get(json_object_get(g, "audience"), 0));
	if (aud) {
		struct br_item *a = br_set_get(&from->audiences, aud, br->cfg->max_items);
		if (a) {
			a->granted_ns = t;
			br_evidence_add(&a->granted_ev, eid, br->cfg->max_evidence);
		}
	}
	const char *to_sub = str_at(g, "subject");
	const char *to_iss = str_at(g, "issued_token_issuer");
	if (!to_iss)
		to_iss = aud;
	if (to_sub) {
		char key[1024];
		key_of(to_iss, to_sub, NULL, key, sizeof(key));
		if (strcmp(key, from->key) != 0) {
			struct br_item *b = br_set_get(&from->became, key, br->cfg->max_items);
			if (b) {
				b->granted_ns = t;
				br_evidence_add(&b->granted_ev, eid, br->cfg->max_evidence);
			}
		}
	}
	json_t *scopes = json_object_get(g, "scopes");
	size_t i;
	json_t *sc;
	json_array_foreach(scopes, i, sc)
	{
		struct br_item *s = json_is_string(sc)
					    ? br_set_get(&from->scopes, json_string_value(sc),
							 br->cfg->max_items)
					    : NULL;
		if (s) {
			s->granted_ns = t;
			br_evidence_add(&s->granted_ev, eid, br->cfg->max_evidence);
		}
	}
}

/* What every attributed event says about its identity: token, scopes, actors, client id. */
static void note_identity(struct blast_radius *br, struct br_identity *id, json_t *identity,
			  int64_t t, const char *eid)
{
	size_t max = br->cfg->max_items, mev = br->cfg->max_evidence;
	if (!id->first_ns || t < id->first_ns)
		id->first_ns = t;
	if (t > id->last_ns)
		id->last_ns = t;
	br_evidence_add(&id->seen_ev, eid, mev);
	const char *client_id = str_at(identity, "client_id");
	if (client_id) {
		struct br_item *c = br_set_get(&id->client_ids, client_id, max);
		if (c) {
			c->granted_ns = t;
			br_evidence_add(&c->granted_ev, eid, mev);
		}
	}
	json_t *scopes = json_object_get(identity, "scopes");
	size_t i;
	json_t *sc;
	json_array_foreach(scopes, i, sc)
	{
		struct br_item *s = json_is_string(sc)
					    ? br_set_get(&id->scopes, json_string_value(sc), max)
					    : NULL;
		if (s && s->granted_ns != t) {
			s->granted_ns = t;
			br_evidence_add(&s->granted_ev, eid, mev);
		}
	}
	json_t *actors = json_object_get(identity, "actors");
	size_t nact = json_array_size(actors);
	if (nact > 0) {
		if ((int)nact >= id->max_act_hops) {
			id->max_act_hops = (int)nact;
			id->delegation_ns = t;
			br_evidence_add(&id->delegation_ev, eid, mev);
		}
		json_t *a;
		json_array_foreach(actors, i, a)
		{
			struct br_item *it =
				json_is_string(a)
					? br_set_get(&id->actors, json_string_value(a), max)
					: NULL;
			if (it) {
				it->granted_ns = t;
				br_evidence_add(&it->granted_ev, eid, mev);
			}
		}
		/* the current actor acts as this identity: it became it (its reach is the
		 * actor's too) */
		const char *actor = json_string_value(json_array_get(actors, 0));
		if (actor) {
			struct br_identity *act =
				identity_get(br, str_at(identity, "issuer"), actor, NULL);
			if (act && act != id) {
				struct br_item *b = br_set_get(&act->became, id->key, max);
				if (b) {
					b->granted_ns = t;
					br_evidence_add(&b->granted_ev, eid, mev);
				}
				if (t > act->last_ns)
					act->last_ns = t;
				if (!act->first_ns)
					act->first_ns = t;
				br_evidence_add(&act->seen_ev, eid, mev);
			}
		}
	}
	json_t *token = json_object_get(identity, "token");
	if (!json_is_object(token))
		return;
	const char *cls = str_at(token, "class");
	if (cls && (!id->token_class || strcmp(cls, id->token_class) != 0)) {
		free(id->token_class);
		id->token_class = strdup(cls);
	}
	/* an exchanged token (act claim) or an ID-JAG names the audience it was exchanged for */
	if ((cls && strcmp(cls, "id_jag") == 0) || nact > 0) {
		json_t *aud = json_object_get(token, "aud");
		json_t *a;
		json_array_foreach(aud, i, a)
		{
			struct br_item *it =
				json_is_string(a)
					? br_set_get(&id->audiences, json_string_value(a), max)
					: NULL;
			if (it && it->granted_ns != t) {
				it->granted_ns = t;
				br_evidence_add(&it->granted_ev, eid, mev);
			}
		}
	}
	/* the correlator's classification (identity.class) counts as well as the token's class */
	const char *klass = str_at(identity, "class");
	bool nhi_class = klass && (strcmp(klass, "service") == 0 || strcmp(klass, "agent") == 0);
	if (((cls && strcmp(cls, "client_credentials") == 0) || nhi_class) && !id->nhi_by_token) {
		id->nhi_by_token = true;
		br_evidence_add(&id->nhi_ev, eid, mev);
	}
	const char *fp = str_at(token, "fingerprint");
	if (!json_is_integer(json_object_get(token, "exp"))) {
		id->static_ns = t;
		br_evidence_add(&id->static_ev, eid, mev);
	}
	if (fp) {
		struct br_item *f = br_set_get(&id->fingerprints, fp, max);
		if (f)
			f->granted_ns = t;
		struct br_fingerprint *g = hashmap_get(br->fingerprints, fp, strlen(fp));
		if (!g && hashmap_count(br->fingerprints) < br->cfg->max_identities * 4) {
			g = calloc(1, sizeof(*g));
			if (g && (!client_id || (g->first_client_id = strdup(client_id))) &&
			    hashmap_put(br->fingerprints, fp, strlen(fp), g))
				; /* kept */
			else {
				fingerprint_free(g);
				g = NULL;
			}
		} else if (!g) {
			br->stats.fingerprints_dropped++;
		}
		if (g && client_id) {
			if (!g->first_client_id)
				g->first_client_id = strdup(client_id);
			else if (strcmp(g->first_client_id, client_id) != 0) {
				g->shared_ns = t;
				br_evidence_add(&g->ev, eid, mev);
			}
		}
	}
}

/* A person in the loop on this identity's session: a browser-like user agent, or an elicitation
 * a user answered. */
static void note_human(struct blast_radius *br, struct br_identity *id, json_t *ev, int64_t t,
		       const char *eid)
{
	const char *reason = NULL;
	json_t *s = json_object_get(ev, "session");
	const char *ua = str_at(json_object_get(ev, "call"), "user_agent");
	if (!ua)
		ua = str_at(json_object_get(ev, "request"), "user_agent");
	if (!ua)
		ua = str_at(s, "user_agent");
	if (ua && strstr(ua, "Mozilla/"))
		reason = "browser user agent";
	const char *type = str_at(ev, "type");
	if (type && strcmp(type, "mcp.elicitation") == 0) {
		const char *action = str_at(json_object_get(ev, "elicitation"), "action");
		if (action && (strcmp(action, "accept") == 0 || strcmp(action, "decline") == 0))
			reason = "elicitation answered by a user";
	}
	if (!reason)
		return;
	id->human_ns = t;
	id->human_reason = reason;
	br_evidence_add(&id->human_ev, eid, br->cfg->max_evidence);
}

void blast_radius_add(struct blast_radius *br, json_t *ev)
{
	br->stats.events++;
	const char *type = str_at(ev, "type");
	const char *eid = str_at(ev, "event_id");
	int64_t t = br_parse_time(str_at(ev, "time"));
	if (!type || !eid || t == INT64_MIN) {
		br->stats.ignored_events++;
		return;
	}
	if (strcmp(type, "identity.blast_radius") == 0)
		return; /* our own output read back */
	if (t > br->newest_ns)
		br->newest_ns = t;
	if (strcmp(type, "identity.grant") == 0) {
		note_grant(br, ev, t, eid);
		return;
	}
	if (strcmp(type, "finding") == 0)
		note_finding(br, ev, t, eid);
	json_t *identity = json_object_get(ev, "identity");
	const char *fp = str_at(json_object_get(identity, "token"), "fingerprint");
	struct br_identity *id = json_is_object(identity)
					 ? identity_get(br, str_at(identity, "issuer"),
							str_at(identity, "subject"), fp)
					 : NULL;
	if (!id) {
		br->stats.unattributed_events++;
		return;
	}
	note_identity(br, id, identity, t, eid);
	note_human(br, id, ev, t, eid);
	size_t mev = br->cfg->max_evidence;
	if (strcmp(type, "mcp.tool_call") == 0) {
		note_tool_call(br, id, ev, identity, t, eid);
	} else if (strcmp(type, "mcp.request") == 0) {
		note_request(br, id, ev, identity, t, eid);
	} else if (strcmp(type, "mcp.task") == 0) {
		note_task(br, id, ev, identity, t, eid);
	} else if (strcmp(type, "mcp.sampling") == 0) {
		json_t *tools = json_object_get(json_object_get(ev, "sampling"), "tools");
		if (json_array_size(tools) > 0) {
			id->sampling_tools_ns = t;
			br_evidence_add(&id->sampling_tools_ev, eid, mev);
		}
	} else if (strcmp(type, "mcp.session") == 0) {
		json_t *s = json_object_get(ev, "session");
		json_t *caps = json_object_get(s, "client_capabilities");
		if (json_is_true(json_object_get(caps, "sampling_tools"))) {
			id->sampling_decl_ns = t;
			br_evidence_add(&id->sampling_decl_ev, eid, mev);
		}
		const char *state = str_at(s, "state");
		const char *sid = str_at(s, "id");
		if (state && sid && strcmp(state, "end") == 0) {
			struct br_item *e =
				br_set_get(&id->ended_sessions, sid, br->cfg->max_items);
			if (e)
				e->granted_ns = t;
		}
	} else if (strcmp(type, "mcp.auth") == 0) {
		/* scopes a 403 insufficient_scope challenge asked for: needed, not granted */
		const char *scope =
			str_at(json_object_get(json_object_get(ev, "auth"), "challenge"), "scope");
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s", scope ? scope : "");
		for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			struct br_item *it = br_set_get(&id->scopes, tok, br->cfg->max_items);
			if (it) {
				it->challenged = true;
				br_evidence_add(&it->used_ev, eid, mev);
			}
		}
	}
}
