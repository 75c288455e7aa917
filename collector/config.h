/* config: the configuration of `mcptrail collect`, one JSON file.
 *
 * Every key is described once, in the option tables of config.c (name, type, default, where it
 * goes, help): the same tables validate the file, fill struct collect_config with defaults and
 * print the reference (`mcptrail collect --help-config`). Validation is strict: an unknown key,
 * a wrong type, a value out of range or not among the choices, a duplicate input, a sink URI
 * its sink would refuse, a redaction pattern that does not compile, an unreadable JWKS are all
 * errors, each reported on its own line with the file and the JSON path:
 *
 *   collect.json: sinks[1].uri: syslog+tcp://h:99999: port: expected 1..65535
 *   collect.json: inputs[0]: unknown key "paht" (expected one of: type, path, format, ...)
 *
 * Nothing here opens a socket, creates a file or starts a thread. */
#ifndef MCPTRAIL_CONFIG_H
#define MCPTRAIL_CONFIG_H

#include "collector/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum collect_input_type {
	COLLECT_INPUT_FILE,  /* a file being appended to (and rotated), tailed with a checkpoint */
	COLLECT_INPUT_STDIN, /* standard input */
	COLLECT_INPUT_TCP,   /* a TCP listener: every connection sends tap record lines */
	COLLECT_INPUT_UDP,   /* a UDP socket: every datagram holds one or more lines */
	COLLECT_INPUT_CAPTURE_DIR, /* a directory of whole captures (HAR, Envoy tap traces) */
	COLLECT_INPUT_OTLP_HTTP,   /* an OTLP/HTTP logs receiver, JSON (collect_otlp.c) */
};

enum collect_capture_format { COLLECT_CAPTURE_AUTO, COLLECT_CAPTURE_HAR, COLLECT_CAPTURE_ENVOY };

enum collect_start_at { COLLECT_START_BEGINNING, COLLECT_START_END };
enum collect_full_policy { COLLECT_FULL_BLOCK, COLLECT_FULL_DROP_OLDEST };

struct collect_input {
	int type;   /* enum collect_input_type */
	char *name; /* in metrics, logs and events; default: path, "stdin", "tcp://LISTEN", ... */
	char *path;
	char *format;	     /* "tap", "auto", a log parser's name, "mapper", "regex" */
	char *parser_config; /* mapper / regex: the parser's JSON configuration */
	int start_at;	     /* enum collect_start_at: a file first seen (no checkpoint) */
	char *listen;	     /* HOST:PORT */
	size_t max_line;     /* otlp_http: the largest request body */
	uint64_t max_connections;
	uint64_t poll_ms;
	/* capture_dir */
	int capture_format; /* enum collect_capture_format */
	char *pattern;	    /* fnmatch(3) on file names */
	uint64_t settle_ms; /* unchanged for this long: complete */
	size_t max_capture;
};

struct collect_sink {
	char *uri;
	int encode; /* enum event_encoding */
};

struct collect_rule {
	char *name, *pattern, *replacement;
};

struct collect_config {
	char *source; /* the file's name, for messages */
	char *state_dir;
	struct collect_input *inputs;
	size_t ninputs;
	struct collect_sink *sinks;
	size_t nsinks;
	struct collect_rule *rules;
	size_t nrules;
	size_t arguments_cap;
	char *fingerprint_key; /* default STATE_DIR/fingerprint.key */
	char *jwks;
	double request_timeout_s, task_timeout_s;
	uint64_t max_pending, invalid_events_per_stream;
	uint64_t merge_window_ms, max_sampling_depth;
	double max_hold_s, max_wait_s;
	char *scope_map;      /* a file */
	char *metrics_listen; /* NULL: no metrics endpoint */
	double health_stall_s;
	char *spool_dir; /* default STATE_DIR/spool */
	size_t spool_max_bytes, spool_segment_bytes;
	int spool_full_policy; /* enum collect_full_policy */
	bool spool_fsync;
	double shutdown_drain_s;

	double blast_radius_interval_s; /* 0: no identity.blast_radius events */
};

/* Parses and validates text (the contents of the file called source). NULL when anything is
 * wrong: errors then holds one line per problem ("SOURCE: PATH: what was expected"). */
struct collect_config *config_parse(const char *text, size_t len, const char *source,
				    struct strbuf *errors);
/* The same for a file. */
struct collect_config *config_load_file(const char *path, struct strbuf *errors);
void config_free(struct collect_config *cfg);

/* The reference of every key (from the option tables), for --help-config and the docs. */
void config_write_reference(FILE *out);

const char *config_input_type_name(int type);

/* "127.0.0.1:7400" or "[::1]:7400" → host (numeric) and port (1..65535). 0, or -1 with why. */
int config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, char *why,
			size_t whylen);

#endif
