/* Shared by importer.c and import_http.c. */
#ifndef MCPTRAIL_IMPORTER_INTERNAL_H
#define MCPTRAIL_IMPORTER_INTERNAL_H

#include "collector/hashmap.h"
#include "collector/importer.h"
#include "collector/jwt.h"
#include "collector/obs.h"
#include "collector/util.h"
#include "parsers/json_scan.h"
#include "parsers/tap_record.h"

struct importer {
	const struct import_options *opt;
	struct import_stats *stats;
	struct correlator *correlator;
	json_scanner *record_scanner;
	json_scanner *message_scanner;
	json_t **batch_events; /* events waiting for the sinks (owned) */
	size_t nbatch;
	struct strbuf encoded; /* a batch in one sink's encoding */
	struct strbuf decoded; /* b64 frames */
	bool *sink_failed;
	int64_t last_time_ns; /* time for events about the input itself */

	/* lines fed one at a time (importer_new): per source state, and the last record's kind and
	 * stream */
	struct hashmap *feed_sources; /* name → struct feed_source */
	int last_kind;
	struct strbuf last_stream;

	/* per input */
	const char *name;
	uint64_t line_no, offset;
	uint64_t file_lines, file_records, file_bad, file_suppressed, file_bytes;
	bool is_tap;
	bool format_known;
	const struct log_parser *log_parser; /* the input is this log format */
	void *log_state;

	/* HTTP captures (import_http.c) */
	struct hashmap *http_exchanges; /* tap stream | exchange → struct http_exchange */
	struct hashmap *http_taps;	/* tap stream → struct http_tap */
	struct hashmap *sse_seen;	/* stream | event id → (void *)1: replay detection */
	struct hashmap *identities;	/* token fingerprint → identity object */
	uint64_t file_replayed_base;	/* stats->replayed_events when this input began */
	const char *converted_from;	/* "har", "envoy_tap" when the input was converted */
	unsigned char fp_key[32];	/* for captures that hold raw tokens */
	struct token_cache *tokens;
	struct jwt_keyring *keys;
	struct cimd_cache *cimd; /* client metadata documents, when fetching is on */
	struct blast_radius *br; /* opt->blast_radius: fed every event */
	struct br_config br_defaults;
};

/* Scans the record's payload (msg or b64) and hands the message, or an invalid-frame
 * observation, to the correlator. o is a template: kind, stream, dir, seq, time and HTTP
 * context are taken from it. */
void import_observe_payload(struct importer *imp, const struct tap_record *rec, struct obs o);

/* Hands an event (owned) to the sinks, like the correlator's. */
void import_emit(struct importer *imp, json_t *event_take);

/* import_http.c: records of `mcptrail tap-http` (and of converted HAR / Envoy captures). */
void import_http_start(struct importer *imp, const struct tap_record *rec, const char *line,
		       size_t len, const char *tap_stream);
void import_http_record(struct importer *imp, const struct tap_record *rec, const char *line,
			size_t len, const char *tap_stream);
/* true when tap_stream is an HTTP tap; then its sessions are ended too */
bool import_http_end(struct importer *imp, const struct tap_record *rec, const char *tap_stream);
void import_http_free(struct importer *imp);

#endif
