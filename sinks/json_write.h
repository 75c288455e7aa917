/* json_write: a compact JSON serializer for jansson values, byte for byte what
 * json_dumps(value, JSON_COMPACT) writes, without its allocations (jansson builds a hash table
 * per container to detect cycles; events are trees). The hot path of every sink's native
 * encoding. */
#ifndef MCPTRAIL_JSON_WRITE_H
#define MCPTRAIL_JSON_WRITE_H

#include "collector/util.h"

#include <jansson.h>

/* Appends value to out. 0 on success; -1 when out of memory, nested deeper than 2048 levels
 * (jansson's limit), or a real is not finite (jansson refuses those too). out may hold a partial
 * value after a failure. */
int json_write_compact(const json_t *value, struct strbuf *out);

#endif
