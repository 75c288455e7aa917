/* blast_radius: per-identity MCP Blast Radius (MBR) from normalized events.
 *
 * The metric is the one of ../shared/reference/gateways-siem-blast-radius.md §4.1; the rules
 * this implementation had to choose (what counts as used, URI prefixes, scopes) are written down
 * in README.md ("Blast radius"). The module is pure: events in (borrowed json_t objects, fed in
 * time order), a report out; no I/O, no clock. Memory per identity is bounded: every set it keeps
 * (tools, resources, scopes, tasks, ...) holds at most cfg.max_items entries and every number's
 * evidence at most cfg.max_evidence event ids; what did not fit is counted, never silently lost. */
#ifndef MCPTRAIL_BLAST_RADIUS_H
#define MCPTRAIL_BLAST_RADIUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BR_MAX_SERVERS 64
#define BR_MAX_NHI_PATTERNS 32

struct br_server_config {
	char *name;	 /* session.server.name (else host, else command) it applies to */
	int criticality; /* c(s) in 1..3 */
	bool trusted;	 /* its tool annotations are believed */
};

struct br_config {
	double window_days;	 /* window ending at the newest event (30) */
	int default_criticality; /* c(s) of servers not listed (1) */
	size_t max_items;	 /* per identity and per set (256) */
	size_t max_evidence;	 /* event ids kept per number (5) */
	size_t max_identities;	 /* identities kept; later ones are counted (100000) */
	struct br_server_config servers[BR_MAX_SERVERS];
	size_t nservers;
	/* subjects that name non-human identities (fnmatch globs); defaults when none is set */
	char *nhi_subjects[BR_MAX_NHI_PATTERNS];
	size_t nnhi;
};

void br_config_defaults(struct br_config *cfg);
/* Reads a JSON config file (see README): {"window_days": 30, "default_criticality": 1,
 * "servers": {"NAME": {"criticality": 1..3, "trusted": bool}}, "nhi_subjects": ["svc-*"],
 * "max_items": 256, "max_evidence": 5}. Errors name the file and the JSON path. */
int br_config_load(struct br_config *cfg, const char *path, char *err, size_t errlen);
/* Frees what br_config_load allocated (not cfg itself). */
void br_config_release(struct br_config *cfg);

struct blast_radius;

struct blast_radius_stats {
	uint64_t events, ignored_events, unattributed_events, identities_dropped;
	uint64_t fingerprints_dropped;
};

/* cfg must outlive the accumulator. NULL when out of memory. */
struct blast_radius *blast_radius_new(const struct br_config *cfg);
void blast_radius_free(struct blast_radius *br);
/* Feeds one normalized event (borrowed). Events without a usable time or type are counted as
 * ignored. */
void blast_radius_add(struct blast_radius *br, json_t *event);
const struct blast_radius_stats *blast_radius_stats(const struct blast_radius *br);

/* The report's head: {"window": {"start", "end", "days"}, "stats": {...}}. New reference. */
json_t *blast_radius_header(struct blast_radius *br);
/* Calls fn with the report element of each identity seen in the window, ranked by MBR (largest
 * first, ties by key); item is borrowed (freed after fn returns): memory holds one identity's
 * report at a time. Stops at fn's first non-zero return and returns it; -1 when out of memory.
 * The element's fields are documented in the schema ($defs/blast_radius) and README.md. */
int blast_radius_each(struct blast_radius *br, int (*fn)(void *ctx, json_t *item), void *ctx);
/* The whole report in memory: the header plus "identities": [elements]. New reference. */
json_t *blast_radius_report(struct blast_radius *br);

/* One identity.blast_radius event per identity of the window, handed to emit (which owns it):
 * time is the window's end; the event id derives from the identity key, that time and the
 * window's length. */
void blast_radius_events(struct blast_radius *br, void (*emit)(void *ctx, json_t *event_take),
			 void *ctx);

/* Renderings, streamed identity by identity. Return 0, -1 on a write error. */
int blast_radius_write_text(struct blast_radius *br, FILE *f);
int blast_radius_write_json(struct blast_radius *br, FILE *f);
int blast_radius_write_html(struct blast_radius *br, FILE *f);

/* `mcptrail blast-radius` (blast_radius_cli.c). */
int blast_radius_main(int argc, char **argv);

#endif
