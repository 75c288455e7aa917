/* event: the normalized event envelope (schema mcptrail/1, see schemas/ and CONTRACT.md). */
#ifndef MCPTRAIL_EVENT_H
#define MCPTRAIL_EVENT_H

#include <jansson.h>
#include <stdint.h>

#define EVENT_SCHEMA "mcptrail/1"

/* A new event object with schema, event_id, type and time set. The id is derived from type and
 * id_seed only, so the same input always yields the same id. */
/* The event id an event of type with this seed gets (32 hex digits and a NUL). */
void event_id_for(const char *type, const char *id_seed, char out[33]);
json_t *event_envelope(const char *type, int64_t time_ns, const char *id_seed);

/* "2026-11-27T10:00:00.123456789Z" as a new jansson string. */
json_t *event_time(int64_t ns);

/* A JSON string of s, with bytes that are not valid UTF-8 replaced by '?'. */
json_t *event_string_lossy(const char *s);

/* An `ingest.error` event: input that could not be read as its format (a bad record line, an
 * unreadable file). Carries a digest of the bad bytes, never the bytes. */
json_t *event_ingest_error(const char *source, uint64_t line, uint64_t offset, const char *reason,
			   const void *bytes, size_t len, uint64_t real_len, int64_t time_ns);

#endif
