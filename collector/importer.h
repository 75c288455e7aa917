/* importer: `mcptrail import`: captures and logs in, normalized events out, through the
 * correlator and the sinks. */
#ifndef MCPTRAIL_IMPORTER_H
#define MCPTRAIL_IMPORTER_H

#include "collector/blast_radius.h"
#include "collector/cimd.h"
#include "collector/correlator.h"
#include "collector/util.h"
#include "parsers/log_parser.h"
#include "sinks/sink.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct import_stats {
	uint64_t files, unreadable_files, bytes, lines, records, frames, bad_lines, oversized_lines;
	uint64_t events, sink_failures, unencodable_events;
	uint64_t http_records, orphan_http_records, replayed_events;
	uint64_t log_lines, log_skipped; /* gateway / IdP log lines understood, and those that said
					    nothing about MCP or tokens */
};

/* Sees every event before it is written (borrowed). */
typedef void (*import_observer_fn)(void *ctx, json_t *event);

struct import_options {
	const char *format; /* NULL/"auto", "tap", "har", "envoy" or a log parser's name */
	/* a configured log parser (the JSON mapper, the regex parser) and its state: used for
	 * inputs that format names, or that nothing else recognises */
	const struct log_parser *log_parser;
	void *log_state;
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
	/* every event also feeds a blast-radius accumulator; at the end of the input (and at each
	 * importer_emit_blast_radius) one identity.blast_radius event per identity goes out */
	bool blast_radius;
	const struct br_config *blast_radius_config; /* NULL: defaults */
};

void import_options_defaults(struct import_options *opt);
/* Imports every input ("-" is standard input). Returns 0 on success, 1 when nothing could be read,
 * 2 when a sink failed. */
int import_run(const struct import_options *opt, char *const *inputs, size_t ninputs,
	       struct import_stats *stats);
/* The same for a capture held in memory (used by `mcptrail demo`). */
int import_run_buffer(const struct import_options *opt, const char *name, const char *data,
		      size_t len, struct import_stats *stats);

/* ---- a long-lived importer fed one line at a time (`mcptrail collect`) ----
 *
 * Lines are tap records (no format detection). Each source (a file, a connection) is named; its
 * lines are numbered and its bad lines counted on their own, whatever the order lines of
 * different sources arrive in. Events go, as with import_run, to opt->observer and the sinks;
 * they are handed out while the line that caused them is being fed. opt and stats must outlive
 * the importer. */
struct importer;

/* NULL when out of memory. stats is zeroed. */
struct importer *importer_new(const struct import_options *opt, struct import_stats *stats);
/* Feeds one line (len bytes, without its '\n'; a trailing '\r' is ignored) of source_name. Returns
 * the tap record kind it held (enum tap_record_kind from parsers/tap_record.h), 0 for a blank or
 * bad line, -1 when out of memory. */
int import_feed_line(struct importer *imp, const char *line, size_t len, const char *source_name);
/* Lines of source_name are in format: "tap" (the default), "auto" (tap records and any log the
 * built-in parsers recognise, line by line) or a log parser's name. -1 for an unknown format. */
int import_source_format(struct importer *imp, const char *source_name, const char *format);
/* Lines of source_name are read by lp with its state (a configured parser: mapper, regex). */
int import_source_parser(struct importer *imp, const char *source_name, const struct log_parser *lp,
			 void *state);
/* Converts a whole HAR 1.2 file or Envoy HTTP tap trace held in memory (format NULL/"auto", "har"
 * or "envoy") into tap records, appended to records one per line, as import_run does with such a
 * file (the same stream ids, so the same event ids); the caller then feeds them with
 * import_feed_line under the same source_name. The capture's bytes count for source_name, whose
 * ingest.summary then names the format. Entries that could not be converted, and a capture that
 * is not one at all, are ingest.error events of source_name. Returns the number of exchanges, or
 * -1 when nothing could be converted. */
long import_convert_capture(struct importer *imp, const char *source_name, const char *format,
			    const char *data, size_t len, struct strbuf *records);
/* source_name could not be used (unreadable, too large): an ingest.error event of source_name with
 * reason and a digest of the first len bytes (of real_len). */
void import_source_error(struct importer *imp, const char *source_name, const char *reason,
			 const char *bytes, size_t len, uint64_t real_len);
/* The stream member of the last record fed (not NUL-terminated; valid until the next feed). */
const char *import_last_stream(const struct importer *imp, size_t *len);
/* A line of source_name too long to be read (real_len bytes; the first prefix_len in prefix): it is
 * counted and reported like a bad line. */
void import_feed_oversized(struct importer *imp, const char *prefix, size_t prefix_len,
			   uint64_t real_len, const char *source_name);
/* The next line of source_name is line line_no + 1, at byte offset (a restart, a new file). */
void import_source_seek(struct importer *imp, const char *source_name, uint64_t line_no,
			uint64_t offset);
/* source_name ended (a rotated file read to its end, a closed connection): its ingest.summary
 * event goes out and its counters are forgotten. No-op for a source never fed. */
void import_source_end(struct importer *imp, const char *source_name, bool readable);
/* A daemon's wall clock, about once a second (correlator_tick). */
void importer_tick(struct importer *imp, int64_t wall_ns);
/* What the correlator holds back waiting for another view of a call goes out now (a daemon
 * stopping: its input checkpoints are past those lines). */
void importer_release_held(struct importer *imp);
/* Hands the events batched for opt->sinks to them now. */
void importer_flush(struct importer *imp);
/* End of all input: what the correlator still holds goes out (no_response, session ends), the
 * sinks are flushed, and the importer is freed. Returns like import_run. */
int importer_finish(struct importer *imp);
/* One identity.blast_radius event per identity seen so far (opt->blast_radius), to the observer
 * and the sinks like any event (the daemon's schedule). */
void importer_emit_blast_radius(struct importer *imp);
/* Frees without finishing: what the correlator still holds is dropped, not emitted (a daemon
 * that stops and will rebuild it by reading the input again). NULL is a no-op. */
void importer_free(struct importer *imp);

#endif
