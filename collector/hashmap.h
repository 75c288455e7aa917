/* hashmap: string-keyed hash table (chained, grows by doubling). Keys are copied; values are the
 * caller's. Not thread-safe: each owner (the correlator) uses its own. */
#ifndef MCPTRAIL_HASHMAP_H
#define MCPTRAIL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hashmap;

struct hashmap *hashmap_new(void);
/* free_value (may be NULL) is called on every remaining value. */
void hashmap_free(struct hashmap *m, void (*free_value)(void *));
void *hashmap_get(const struct hashmap *m, const char *key, size_t key_len);
/* Inserts or replaces; returns false on OOM. */
bool hashmap_put(struct hashmap *m, const char *key, size_t key_len, void *value);
/* Removes and returns the value (NULL when absent). */
void *hashmap_remove(struct hashmap *m, const char *key, size_t key_len);
size_t hashmap_count(const struct hashmap *m);
/* Calls fn for every entry; fn must not modify the map. */
void hashmap_each(const struct hashmap *m, void (*fn)(void *ctx, const char *key, void *value),
		  void *ctx);

#endif
