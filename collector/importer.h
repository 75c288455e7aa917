/* importer: `mcptrail import`: captures and logs in, normalized events out, through the
 * correlator and the sinks. */
#ifndef MCPTRAIL_IMPORTER_H
#define MCPTRAIL_IMPORTER_H

#include "collector/cimd.h"
#include "collector/correlator.h"
#include "sinks/sink.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct import_stats {
	uint64_t files, unreadable_files, bytes, lines, records, frames, bad_lines, oversized_lines;
	uint64_t events, sink_failures, unencodable_events;
	uint64_t http_records, orphan_http_records, replayed_events;
};

/* Sees every event before it is written (borrowed). */
typedef void (*import_observer_fn)(void *ctx, json_t *event);

struct import_options {
	const char *format; /* NULL/"auto", "tap", "har" or "envoy" */
	size_t max_capture; /* largest whole-document capture (HAR, Envoy) read (512 MiB) */
	const char *fingerprint_key;	   /* for captures holding raw tokens (default
					    * $MCPTRAIL_STATE_DIR/fingerprint.key or ./fingerprint.key) */
	struct cimd_config cimd;	   /* client metadata document fetch (off by default) */
	const char *jwks;		   /* verify their JWTs against this JWKS file */
	size_t max_line;		   /* longest input line read whole (default 48 MiB) */
	unsigned bad_line_events_per_file; /* in-band events per file before only counting (100) */
	struct sink **sinks;
	size_t nsinks;
	struct correlator_config correlator;
	import_observer_fn observer;
	void *observer_ctx;
};

void import_options_defaults(struct import_options *opt);
/* Imports every input ("-" is standard input). Returns 0 on success, 1 when nothing could be read,
 * 2 when a sink failed. */
int import_run(const struct import_options *opt, char *const *inputs, size_t ninputs,
	       struct import_stats *stats);
/* The same for a capture held in memory (used by `mcptrail demo`). */
int import_run_buffer(const struct import_options *opt, const char *name, const char *data,
		      size_t len, struct import_stats *stats);

#endif
