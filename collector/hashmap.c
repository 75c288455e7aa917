#include "collector/hashmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	uint64_t hash;
	void *value;
	size_t key_len;
	char key[]; /* key_len bytes + NUL */
};

struct hashmap {
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

struct hashmap *hashmap_new(void)
{
	struct hashmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nbuckets = 64;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	return m;
}

void hashmap_free(struct hashmap *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i];
		while (e) {
			struct entry *next = e->next;
			if (free_value)
				free_value(e->value);
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **find(const struct hashmap *m, const char *key, size_t key_len, uint64_t h)
{
	struct entry **pp = &m->buckets[h & (m->nbuckets - 1)];
	while (*pp) {
		struct entry *e = *pp;
		if (e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
			return pp;
		pp = &e->next;
	}
	return pp;
}

void *hashmap_get(const struct hashmap *m, const char *key, size_t key_len)
{
	struct entry **pp = find(m, key, key_len, hash_bytes(key, key_len));
	return *pp ? (*pp)->value : NULL;
}

static void grow(struct hashmap *m)
{
	size_t n = m->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i];
		while (e) {
			struct entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

bool hashmap_put(struct hashmap *m, const char *key, size_t key_len, void *value)
{
	uint64_t h = hash_bytes(key, key_len);
	struct entry **pp = find(m, key, key_len, h);
	if (*pp) {
		(*pp)->value = value;
		return true;
	}
	struct entry *e = malloc(sizeof(*e) + key_len + 1);
	if (!e)
		return false;
	e->next = NULL;
	e->hash = h;
	e->value = value;
	e->key_len = key_len;
	memcpy(e->key, key, key_len);
	e->key[key_len] = '\0';
	*pp = e;
	if (++m->count > m->nbuckets)
		grow(m);
	return true;
}

void *hashmap_remove(struct hashmap *m, const char *key, size_t key_len)
{
	struct entry **pp = find(m, key, key_len, hash_bytes(key, key_len));
	struct entry *e = *pp;
	if (!e)
		return NULL;
	*pp = e->next;
	void *v = e->value;
	free(e);
	m->count--;
	return v;
}

size_t hashmap_count(const struct hashmap *m)
{
	return m->count;
}

void hashmap_each(const struct hashmap *m, void (*fn)(void *ctx, const char *key, void *value),
		  void *ctx)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct entry *e = m->buckets[i]; e; e = e->next)
			fn(ctx, e->key, e->value);
}
