/* blast_radius_set: the bounded containers behind blast_radius.c's per-identity state: a set of
 * members capped at a size (what does not fit is counted), and rings of the newest event ids
 * behind a number. Plus the RFC 3339 reader the accumulator needs. */
#include "collector/blast_radius_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t br_parse_time(const char *s)
{
	/* RFC 3339: 2026-11-27T10:00:00.123456789Z or an offset */
	if (!s)
		return INT64_MIN;
	struct tm tm = {0};
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return INT64_MIN;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t ns = 0;
	const char *p = s + n;
	if (*p == '.') {
		int64_t scale = 100000000;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	int64_t secs = (int64_t)timegm(&tm);
	if (*p == '+' || *p == '-') {
		int oh = 0, om = 0;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
			secs -= (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	}
	/* years ~1843 to ~2255: nanoseconds, and a window before them, fit in an int64_t */
	if (secs < -4000000000LL || secs > 9000000000LL)
		return INT64_MIN;
	return secs * 1000000000LL + ns;
}

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* mcptrail's event ids are 32 lowercase hex digits: kept as 16 bytes (true); any other id (events
 * from elsewhere) is not (false). */
static bool evid_hex(const char *id, unsigned char bin[16])
{
	for (size_t i = 0; i < 16; i++) {
		int hi = nibble(id[2 * i]), lo = hi < 0 ? -1 : nibble(id[2 * i + 1]);
		if (lo < 0)
			return false;
		bin[i] = (unsigned char)(hi << 4 | lo);
	}
	return id[32] == '\0';
}

static bool evid_same(const struct br_evid *e, const char *id)
{
	unsigned char bin[16];
	if (e->str)
		return strncmp(e->str, id, 128) == 0;
	return evid_hex(id, bin) && memcmp(bin, e->bin, 16) == 0;
}

/* any other id is kept as a copy cut at 128 bytes */
static bool evid_set(struct br_evid *e, const char *id)
{
	free(e->str);
	e->str = NULL;
	if (evid_hex(id, e->bin))
		return true;
	e->str = strndup(id, 128);
	return e->str != NULL;
}

static void evid_text(const struct br_evid *e, char out[129])
{
	if (e->str) {
		snprintf(out, 129, "%s", e->str);
		return;
	}
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = digits[e->bin[i] >> 4];
		out[2 * i + 1] = digits[e->bin[i] & 15];
	}
	out[32] = '\0';
}

void br_evidence_add(struct br_evidence *ev, const char *id, size_t cap)
{
	if (!id || cap == 0)
		return;
	/* the same event named twice in a row adds nothing */
	if (ev->n && evid_same(&ev->ids[(ev->next + cap - 1) % cap], id))
		return;
	ev->total++;
	if (ev->n < cap && ev->n == ev->alloc) {
		/* most numbers have one or two ids: grow up to cap, then reuse as a ring */
		size_t na = ev->alloc ? ev->alloc * 2 : 1;
		if (na > cap)
			na = cap;
		struct br_evid *ni = realloc(ev->ids, na * sizeof(*ni));
		if (!ni)
			return;
		memset(ni + ev->alloc, 0, (na - ev->alloc) * sizeof(*ni));
		ev->ids = ni;
		ev->alloc = na;
	}
	/* the newest ids win: the window ends at the newest event */
	if (!evid_set(&ev->ids[ev->next], id))
		return;
	ev->next = (ev->next + 1) % cap;
	if (ev->n < cap)
		ev->n++;
}

void br_evidence_free(struct br_evidence *ev)
{
	for (size_t i = 0; i < ev->alloc; i++)
		free(ev->ids[i].str);
	free(ev->ids);
	ev->ids = NULL;
	ev->n = ev->next = ev->alloc = 0;
}

json_t *br_evidence_json(const struct br_evidence *ev, size_t cap)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ev->n; i++) {
		size_t at = (ev->next + cap - ev->n + i) % cap;
		char id[129];
		evid_text(&ev->ids[at], id);
		json_array_append_new(a, json_string(id));
	}
	return a;
}

static void item_free(void *p)
{
	struct br_item *it = p;
	if (!it)
		return;
	free(it->key);
	free(it->aux);
	br_evidence_free(&it->granted_ev);
	br_evidence_free(&it->used_ev);
	free(it);
}

void br_set_free(struct br_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		item_free(s->items[i]);
	free(s->items);
	hashmap_free(s->index, NULL);
	memset(s, 0, sizeof(*s));
}

/* Small sets are searched in order; a set that grows past this many members gets an index. */
#define BR_SET_INDEX_AT 32

struct br_item *br_set_find(const struct br_set *s, const char *key)
{
	if (s->index)
		return hashmap_get(s->index, key, strlen(key));
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i]->key, key) == 0)
			return s->items[i];
	return NULL;
}

/* The item for key, created when absent; NULL when the set is full (counted in dropped). */
struct br_item *br_set_get(struct br_set *s, const char *key, size_t limit)
{
	struct br_item *it = br_set_find(s, key);
	if (it)
		return it;
	if (s->n >= limit) {
		s->dropped++;
		return NULL;
	}
	if (!s->index && s->n >= BR_SET_INDEX_AT) {
		if (!(s->index = hashmap_new()))
			return NULL;
		for (size_t i = 0; i < s->n; i++)
			if (!hashmap_put(s->index, s->items[i]->key, strlen(s->items[i]->key),
					 s->items[i])) {
				hashmap_free(s->index, NULL);
				s->index = NULL;
				return NULL;
			}
	}
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 4;
		struct br_item **ni = realloc(s->items, na * sizeof(*ni));
		if (!ni)
			return NULL;
		s->items = ni;
		s->alloc = na;
	}
	it = calloc(1, sizeof(*it));
	if (!it || !(it->key = strdup(key)) ||
	    (s->index && !hashmap_put(s->index, key, strlen(key), it))) {
		item_free(it);
		return NULL;
	}
	it->ro = it->destructive = it->open_world = -1;
	s->items[s->n++] = it;
	return it;
}
