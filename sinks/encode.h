/* encode: one normalized event (schema mcptrail/1) as a sink payload, per encoding. The mapping
 * tables live in schemas/ (mapping documentation) and here (code). */
#ifndef MCPTRAIL_ENCODE_H
#define MCPTRAIL_ENCODE_H

#include "collector/util.h"

#include <jansson.h>

enum event_encoding {
	ENCODING_JSON = 0, /* native mcptrail/1, compact JSON */
	ENCODING_OCSF,	   /* OCSF 1.8.0 (API Activity, Authentication, Authorize Session, ...) */
	ENCODING_ECS,	   /* Elastic Common Schema */
	ENCODING_CEF,	   /* ArcSight Common Event Format */
	ENCODING_LEEF,	   /* IBM QRadar LEEF 2.0 */
};

/* "json", "ocsf", "ecs", "cef", "leef" → encoding; -1 when unknown. */
int encoding_from_name(const char *name);
const char *encoding_name(enum event_encoding e);

/* Appends the encoded event (no trailing newline) to out. Returns 0, or -1 (out unchanged) when
 * the event cannot be encoded. */
int encode_event(enum event_encoding e, const json_t *event, struct strbuf *out);

#endif
