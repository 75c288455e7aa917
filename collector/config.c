#include "collector/config.h"
#include "parsers/log_parser.h"

#include "collector/option_table.h"

#include "collector/jwt.h"
#include "collector/redact.h"
#include "sinks/encode.h"
#include "sinks/sink_kafka.h"
#include "sinks/sink_syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the option tables ---- */

static bool listen_valid(const char *value, char *why, size_t whylen);
#define LISTEN_EXPECTED "\"HOST:PORT\" with a numeric address, like \"127.0.0.1:7400\""

#define IN(m) offsetof(struct collect_input, m)
#define SK(m) offsetof(struct collect_sink, m)
#define RU(m) offsetof(struct collect_rule, m)
#define CF(m) offsetof(struct collect_config, m)

static bool format_valid(const char *value, char *why, size_t whylen)
{
	if (strcmp(value, "tap") == 0 || strcmp(value, "auto") == 0 || log_parser_find(value))
		return true;
	snprintf(why, whylen, "unknown format \"%s\"", value);
	return false;
}
static const char *const capture_formats[] = {"auto", "har", "envoy", NULL};
static const char *const start_ats[] = {"beginning", "end", NULL};
static const char *const encodings[] = {"json", "ocsf", "ecs", "cef", "leef", NULL};
static const char *const full_policies[] = {"block", "drop_oldest", NULL};

#define FORMAT_OPTION                                                                              \
	{"format",                                                                                 \
	 OPTION_STRING,                                                                            \
	 "tap",                                                                                    \
	 IN(format),                                                                               \
	 "what the lines are: tap (records as `mcptrail tap` and `mcptrail tap-http` write "       \
	 "them), auto (tap records and any gateway / IdP log a built-in parser recognises, line "  \
	 "by line), a log format (`mcptrail import --format help`), or mapper / regex with "       \
	 "parser_config",                                                                          \
	 .validate = format_valid,                                                                 \
	 .expected = "tap, auto, a log format name, mapper or regex",                              \
	 .example = "agentgateway"},                                                               \
	{                                                                                          \
		"parser_config", OPTION_STRING, NULL, IN(parser_config),                           \
			"format mapper or regex: the parser's JSON configuration file (as "        \
			"`mcptrail import "                                                        \
			"--mapper/--regex` takes), checked at start-up",                           \
			.example = "/etc/mcptrail/pomerium.mapper.json"                            \
	}
#define NAME_OPTION(what)                                                                          \
	{                                                                                          \
		"name", OPTION_STRING, NULL, IN(name),                                             \
			"names the input in metrics, logs and events (default: " what ")",         \
			.example = "gateway-tap"                                                   \
	}
#define MAX_LINE_OPTION(def)                                                                       \
	{                                                                                          \
		"max_line", OPTION_SIZE, def, IN(max_line),                                        \
			"longest line read whole; a longer one is skipped, counted and reported "  \
			"as an "                                                                   \
			"ingest.error event",                                                      \
			.min = 1024, .max = 1024.0 * 1024 * 1024                                   \
	}

static const struct option file_input_options[] = {
	{"path", OPTION_STRING, NULL, IN(path),
	 "file to follow; appends are read as they come, a rotation (rename and recreate, or "
	 "truncate) is followed, and the position is checkpointed in state_dir",
	 .flags = OPTION_REQUIRED, .example = "/var/log/mcptrail/tap.jsonl"},
	FORMAT_OPTION,
	NAME_OPTION("the path"),
	{"start_at", OPTION_ENUM, "beginning", IN(start_at),
	 "where to start in a file that has no checkpoint yet", .choices = start_ats},
	MAX_LINE_OPTION("16M"),
	{"poll_ms", OPTION_UINT, "200", IN(poll_ms), "how often the file is checked for new lines",
	 .min = 10, .max = 60000},
	{0},
};

static const struct option stdin_input_options[] = {
	FORMAT_OPTION,
	NAME_OPTION("\"stdin\""),
	MAX_LINE_OPTION("16M"),
	{0},
};

static const struct option tcp_input_options[] = {
	{"listen", OPTION_STRING, NULL, IN(listen),
	 "address to accept connections on; each sends tap record lines (`mcptrail tap --out "
	 "tcp://HOST:PORT`)",
	 .flags = OPTION_REQUIRED, .validate = listen_valid, .expected = LISTEN_EXPECTED},
	FORMAT_OPTION,
	NAME_OPTION("\"tcp://LISTEN\""),
	MAX_LINE_OPTION("16M"),
	{"max_connections", OPTION_UINT, "64", IN(max_connections),
	 "connections at once; more are closed at once", .min = 1, .max = 10000},
	{0},
};

static const struct option udp_input_options[] = {
	{"listen", OPTION_STRING, NULL, IN(listen),
	 "address to receive datagrams on; each holds one or more tap record lines (UDP may lose "
	 "datagrams: prefer tcp)",
	 .flags = OPTION_REQUIRED, .validate = listen_valid, .expected = LISTEN_EXPECTED},
	FORMAT_OPTION,
	NAME_OPTION("\"udp://LISTEN\""),
	MAX_LINE_OPTION("64K"),
	{0},
};

static const struct option capture_dir_input_options[] = {
	{"path", OPTION_STRING, NULL, IN(path),
	 "directory other programs put whole captures in (HAR 1.2 files, Envoy HTTP tap traces); "
	 "each file is imported once, when complete: names starting with '.' or ending in .tmp, "
	 ".part or ~ are skipped (write there, then rename into place), and a file is taken only "
	 "once its size and modification time have not changed for settle_ms",
	 .flags = OPTION_REQUIRED, .example = "/var/spool/mcptrail/captures"},
	{"format", OPTION_ENUM, "auto", IN(capture_format),
	 "capture format: auto (detected per file), har or envoy", .choices = capture_formats},
	NAME_OPTION("the path"),
	{"pattern", OPTION_STRING, "*", IN(pattern),
	 "only file names matching this shell pattern (fnmatch) are read", .example = "*.har"},
	{"settle_ms", OPTION_UINT, "1000", IN(settle_ms),
	 "a file is complete once unchanged (size, modification time) for this long", .min = 0,
	 .max = 3600000},
	{"poll_ms", OPTION_UINT, "1000", IN(poll_ms), "how often the directory is listed",
	 .min = 10, .max = 60000},
	{"max_bytes", OPTION_SIZE, "512M", IN(max_capture),
	 "largest capture read; a larger file is reported as an ingest.error event and skipped",
	 .min = 1024, .max = 16.0 * 1024 * 1024 * 1024},
	{0},
};

static const struct option otlp_http_input_options[] = {
	{"listen", OPTION_STRING, NULL, IN(listen),
	 "address to serve OTLP/HTTP on: POST /v1/logs, JSON encoding (application/json); each "
	 "request's log records are read as the otlp log format",
	 .flags = OPTION_REQUIRED, .validate = listen_valid, .expected = LISTEN_EXPECTED},
	NAME_OPTION("\"otlp_http://LISTEN\""),
	{"max_body", OPTION_SIZE, "4M", IN(max_line),
	 "largest request body; a larger one is refused with 413", .min = 1024,
	 .max = 256.0 * 1024 * 1024},
	{0},
};

static void check_input(struct option_context *c, void *base);

static const struct option_variant input_variants[] = {
	{"file", file_input_options, "a file another program appends tap records to"},
	{"stdin", stdin_input_options, "standard input (the daemon stops when it ends)"},
	{"tcp", tcp_input_options, "a TCP listener for live taps"},
	{"udp", udp_input_options, "a UDP socket"},
	{"capture_dir", capture_dir_input_options,
	 "a directory of whole HAR / Envoy tap captures, each imported once (checkpointed)"},
	{"otlp_http", otlp_http_input_options, "an OTLP/HTTP receiver of logs (JSON encoding)"},
	{NULL, NULL, NULL},
};

static const struct option_section input_section = {
	.elem_size = sizeof(struct collect_input),
	.variant_key = "type",
	.variant_offset = IN(type),
	.variants = input_variants,
	.check = check_input,
};

static void check_sink(struct option_context *c, void *base);

static const struct option sink_options[] = {
	{"uri", OPTION_STRING, NULL, SK(uri),
	 "where events go: file:PATH[?options] (appends unless mode=truncate), "
	 "syslog+udp|tcp|tls://HOST:PORT[?options], kafka://HOST:PORT[,HOST:PORT]/TOPIC[?options]",
	 .flags = OPTION_REQUIRED, .example = "file:/var/log/mcptrail/events.jsonl"},
	{"encode", OPTION_ENUM, "json", SK(encode), "payload encoding", .choices = encodings},
	{0},
};

static const struct option_section sink_section = {
	.options = sink_options,
	.elem_size = sizeof(struct collect_sink),
	.check = check_sink,
};

static const struct option rule_options[] = {
	{"name", OPTION_STRING, NULL, RU(name),
	 "names the rule in errors and in the placeholder [REDACTED:name]: 1 to 64 of "
	 "[A-Za-z0-9_.-]",
	 .flags = OPTION_REQUIRED, .example = "acme-key"},
	{"pattern", OPTION_STRING, NULL, RU(pattern),
	 "PCRE2 pattern (UTF mode); what it matches (from \\K) is replaced",
	 .flags = OPTION_REQUIRED, .example = "acme_[A-Za-z0-9]{32}"},
	{"replacement", OPTION_STRING, NULL, RU(replacement),
	 "placeholder instead of [REDACTED:name]", .example = "[ACME KEY]"},
	{0},
};

static const struct option_section rule_section = {
	.options = rule_options,
	.elem_size = sizeof(struct collect_rule),
};

static const struct option redaction_options[] = {
	{"rules", OPTION_ARRAY, NULL, CF(rules),
	 "redaction rules applied after the built-in ones (credentials, JWTs, cloud and SaaS "
	 "keys, private keys, ...)",
	 .section = &rule_section, .count_offset = CF(nrules)},
	{"arguments_cap", OPTION_SIZE, "4K", CF(arguments_cap),
	 "bytes of redacted tool arguments kept per call (always with their SHA-256)", .min = 0,
	 .max = 1024.0 * 1024},
	{0},
};

static const struct option identity_options[] = {
	{"fingerprint_key", OPTION_STRING, NULL, CF(fingerprint_key),
	 "HMAC key for token fingerprints (created when missing; default "
	 "STATE_DIR/fingerprint.key)",
	 .example = "/var/lib/mcptrail/fingerprint.key"},
	{"jwks", OPTION_STRING, NULL, CF(jwks),
	 "JWKS file to verify JWT signatures against (checked at start-up)",
	 .example = "/etc/mcptrail/idp-jwks.json"},
	{0},
};

static const struct option correlator_options[] = {
	{"request_timeout_s", OPTION_SECONDS, "300", CF(request_timeout_s),
	 "a request without an answer for this long (in the traffic's own time) becomes "
	 "outcome no_response",
	 .min = 1, .max = 604800},
	{"task_timeout_s", OPTION_SECONDS, "3600", CF(task_timeout_s),
	 "a task without news for this long (when it has no ttl) becomes no_response", .min = 1,
	 .max = 2592000},
	{"max_pending", OPTION_UINT, "1000000", CF(max_pending),
	 "open requests held at most; the oldest become no_response", .min = 1, .max = 1e8},
	{"invalid_events_per_stream", OPTION_UINT, "100", CF(invalid_events_per_stream),
	 "mcp.invalid_message events per stream before they are only counted", .min = 0,
	 .max = 1e6},
	{"merge_window_ms", OPTION_UINT, "5000", CF(merge_window_ms),
	 "a gateway log line and a tap's view of the same call may be this far apart (event time)",
	 .min = 0, .max = 3600000},
	{"max_hold_s", OPTION_SECONDS, "60", CF(max_hold_s),
	 "a gateway line (or a tap event) waits for the other view of its call until its own "
	 "input's clock (event time) is this far past it",
	 .min = 0, .max = 86400},
	{"max_wait_s", OPTION_SECONDS, "60", CF(max_wait_s),
	 "... and at most this long in wall-clock time (a quiet input does not hold it back)",
	 .min = 0, .max = 86400},
	{"scope_map", OPTION_STRING, NULL, CF(scope_map),
	 "JSON file {\"tool\": [scopes], \"server/tool\": [scopes]}: enables the "
	 "scope_not_granted and scopes_unused findings",
	 .example = "/etc/mcptrail/scopes.json"},
	{"max_sampling_depth", OPTION_UINT, "2", CF(max_sampling_depth),
	 "sampling-with-tools requests nested deeper than this on one session are a finding",
	 .min = 1, .max = 1000},
	{"blast_radius_interval_s", OPTION_SECONDS, "0", CF(blast_radius_interval_s),
	 "every this many seconds, one identity.blast_radius event per identity (MBR over the last "
	 "30 days of what this run read); 0: none",
	 .min = 0, .max = 86400 * 30},
	{0},
};

static const struct option metrics_options[] = {
	{"listen", OPTION_STRING, NULL, CF(metrics_listen),
	 "address of the HTTP endpoint: GET /metrics (Prometheus text) and GET /health",
	 .validate = listen_valid, .expected = LISTEN_EXPECTED},
	{"health_stall_s", OPTION_SECONDS, "60", CF(health_stall_s),
	 "/health answers 503 when events have waited this long without any being delivered",
	 .min = 1, .max = 86400},
	{0},
};

static const struct option spool_options[] = {
	{"dir", OPTION_STRING, NULL, CF(spool_dir),
	 "directory of the durable spool between the correlator and the sinks (default "
	 "STATE_DIR/spool)",
	 .example = "/var/lib/mcptrail/spool"},
	{"max_bytes", OPTION_SIZE, "1G", CF(spool_max_bytes),
	 "cap on the spool's files; at the cap full_policy applies", .min = 1024.0 * 1024,
	 .max = 1024.0 * 1024 * 1024 * 1024},
	{"segment_bytes", OPTION_SIZE, "8M", CF(spool_segment_bytes),
	 "size of one spool segment file", .min = 64.0 * 1024, .max = 1024.0 * 1024 * 1024},
	{"full_policy", OPTION_ENUM, "block", CF(spool_full_policy),
	 "block: inputs pause until the sinks catch up (files wait, TCP stops reading); "
	 "drop_oldest: the oldest events are dropped and an ingest.error event says how many",
	 .choices = full_policies},
	{"fsync", OPTION_BOOL, "false", CF(spool_fsync),
	 "fsync every spool append and checkpoint (survives power loss, costs an fsync per batch)",
	 .flags = 0},
	{0},
};

static const struct option_section redaction_section = {.options = redaction_options};
static const struct option_section identity_section = {.options = identity_options};
static const struct option_section correlator_section = {.options = correlator_options};
static const struct option_section metrics_section = {.options = metrics_options};
static const struct option_section spool_section = {.options = spool_options};

static void check_config(struct option_context *c, void *base);

static const struct option top_options[] = {
	{"state_dir", OPTION_STRING, NULL, CF(state_dir),
	 "directory for input checkpoints, the spool and the fingerprint key (created 0700)",
	 .flags = OPTION_REQUIRED, .example = "/var/lib/mcptrail"},
	{"inputs", OPTION_ARRAY, NULL, CF(inputs), "where tap records come from (at least one)",
	 .flags = OPTION_REQUIRED, .min = 1, .section = &input_section,
	 .count_offset = CF(ninputs)},
	{"sinks", OPTION_ARRAY, NULL, CF(sinks), "where events go (at least one, at most 64)",
	 .flags = OPTION_REQUIRED, .min = 1, .max = 64, .section = &sink_section,
	 .count_offset = CF(nsinks)},
	{"redaction", OPTION_OBJECT, NULL, 0, "secrets removed before anything leaves the core",
	 .section = &redaction_section},
	{"identity", OPTION_OBJECT, NULL, 0, "token fingerprints and signature checks",
	 .section = &identity_section},
	{"correlator", OPTION_OBJECT, NULL, 0, "how calls are put together",
	 .section = &correlator_section},
	{"metrics", OPTION_OBJECT, NULL, 0, "the HTTP endpoint for Prometheus and health checks",
	 .section = &metrics_section},
	{"spool", OPTION_OBJECT, NULL, 0, "the durable queue between the correlator and the sinks",
	 .section = &spool_section},
	{"shutdown_drain_s", OPTION_SECONDS, "5", CF(shutdown_drain_s),
	 "at SIGTERM, how long the sinks may take to deliver what is spooled (the rest is "
	 "delivered after the next start)",
	 .min = 0, .max = 3600},
	{0},
};

static const struct option_section top_section = {.options = top_options, .check = check_config};

/* ---- listen addresses ---- */

int config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, char *why,
			size_t whylen)
{
	const char *colon;
	const char *h = s;
	size_t hlen;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			snprintf(why, whylen, "an IPv6 address goes in brackets: \"[::1]:7400\"");
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(why, whylen, "no port");
			return -1;
		}
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostlen || hlen >= 64) {
		snprintf(why, whylen, "no host");
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	unsigned char addr[16];
	if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, host, addr) != 1) {
		snprintf(why, whylen, "'%s' is not a numeric IP address", host);
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || errno || p < 1 || p > 65535) {
		snprintf(why, whylen, "port: expected 1..65535");
		return -1;
	}
	*port = (unsigned)p;
	return 0;
}

static bool listen_valid(const char *value, char *why, size_t whylen)
{
	char host[64];
	unsigned port;
	return config_parse_listen(value, host, sizeof(host), &port, why, whylen) == 0;
}

/* ---- rules between members ---- */

#define ERR(c, ...) option_error((c), NULL, __VA_ARGS__)

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

const char *config_input_type_name(int type)
{
	return type >= 0 && type <= COLLECT_INPUT_OTLP_HTTP ? input_variants[type].value : "?";
}

static void check_input(struct option_context *c, void *base)
{
	struct collect_input *in = base;
	struct stat sb;
	const struct log_parser *lp = in->format ? log_parser_find(in->format) : NULL;
	if (lp && lp->state_new && !in->parser_config) {
		size_t mark = option_path_push(c, "parser_config");
		option_error(c, NULL, "format %s needs its configuration file", in->format);
		option_path_pop(c, mark);
	} else if (in->parser_config && !(lp && lp->state_new)) {
		size_t mark = option_path_push(c, "parser_config");
		option_error(c, NULL, "only for format mapper or regex");
		option_path_pop(c, mark);
	} else if (lp && lp->state_new) {
		/* built once here to check it; collect builds its own */
		size_t mark = option_path_push(c, "parser_config");
		json_error_t jerr;
		json_t *doc = json_load_file(in->parser_config, 0, &jerr);
		char err[512] = "";
		void *state = doc ? lp->state_new(doc, in->parser_config, err, sizeof(err)) : NULL;
		if (!doc)
			option_error(c, NULL, "%s: %s", in->parser_config, jerr.text);
		else if (!state)
			option_error(c, NULL, "%s", err);
		if (state && lp->state_free)
			lp->state_free(state);
		json_decref(doc);
		option_path_pop(c, mark);
	}
	if (in->type == COLLECT_INPUT_CAPTURE_DIR && in->path &&
	    (stat(in->path, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
		size_t mark = option_path_push(c, "path");
		option_error(c, NULL, "%s is not a directory", in->path);
		option_path_pop(c, mark);
	}
	if (in->name)
		return;
	switch (in->type) {
	case COLLECT_INPUT_FILE:
	case COLLECT_INPUT_CAPTURE_DIR:
		in->name = in->path ? strdup(in->path) : NULL;
		break;
	case COLLECT_INPUT_STDIN:
		in->name = strdup("stdin");
		break;
	case COLLECT_INPUT_TCP:
	case COLLECT_INPUT_UDP:
	case COLLECT_INPUT_OTLP_HTTP:
		if (in->listen)
			in->name =
				dup_printf("%s://%s", config_input_type_name(in->type), in->listen);
		break;
	}
}

/* The directory a file path is in must exist. */
static void check_parent_dir(struct option_context *c, const char *what, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	char *slash = strrchr(copy, '/');
	const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		ERR(c, "%s: directory %s does not exist", what, dir);
	free(copy);
}

static void check_sink(struct option_context *c, void *base)
{
	struct collect_sink *s = base;
	if (!s->uri)
		return;
	size_t mark = option_path_push(c, "uri");
	char why[512];
	const char *u = s->uri;
	if (strcmp(u, "-") == 0 || strcmp(u, "file:-") == 0) {
		/* standard output */
	} else if (strncmp(u, "file:", 5) == 0) {
		const char *q = strchr(u + 5, '?');
		char *path =
			q && strchr(q, '=') ? strndup(u + 5, (size_t)(q - (u + 5))) : strdup(u + 5);
		if (path && !*path)
			ERR(c, "expected a path after \"file:\", like "
			       "\"file:/var/log/mcptrail/events.jsonl\"");
		else if (path)
			check_parent_dir(c, u, path);
		free(path);
	} else if (strncmp(u, "syslog+", 7) == 0) {
		static const struct {
			const char *scheme;
			enum syslog_transport t;
		} schemes[] = {{"syslog+udp:", SYSLOG_UDP},
			       {"syslog+tcp:", SYSLOG_TCP},
			       {"syslog+tls:", SYSLOG_TLS}};
		bool known = false;
		for (size_t i = 0; i < 3; i++) {
			size_t n = strlen(schemes[i].scheme);
			if (strncmp(u, schemes[i].scheme, n) != 0)
				continue;
			known = true;
			struct syslog_options opt;
			if (syslog_options_parse(schemes[i].t, u + n, &opt, why, sizeof(why)) != 0)
				ERR(c, "%s", why);
			else
				syslog_options_free(&opt);
		}
		if (!known)
			ERR(c,
			    "unknown syslog transport in \"%s\": expected syslog+udp://, "
			    "syslog+tcp:// or syslog+tls://",
			    u);
	} else if (strncmp(u, "kafka:", 6) == 0) {
		struct kafka_options opt;
		if (kafka_options_parse(u + 6, &opt, why, sizeof(why)) != 0)
			ERR(c, "%s", why);
		kafka_options_free(&opt);
	} else {
		ERR(c,
		    "expected a sink URI: file:PATH, syslog+udp://HOST:PORT, "
		    "syslog+tcp://HOST:PORT, "
		    "syslog+tls://HOST:PORT or kafka://HOST:PORT/TOPIC, got \"%.200s\"",
		    u);
	}
	option_path_pop(c, mark);
}

/* A redactor's message names a rule "(extra[N])" among those it was given: one at a time here. */
static void check_rules(struct option_context *c, struct collect_config *cfg)
{
	struct redact_rule_spec spec;
	for (size_t i = 0; i < cfg->nrules; i++) {
		struct collect_rule *r = &cfg->rules[i];
		if (!r->name || !r->pattern)
			continue;
		spec = (struct redact_rule_spec){r->name, r->pattern, r->replacement};
		char why[512];
		struct redactor *red = redactor_new(&spec, 1, why, sizeof(why));
		if (red) {
			redactor_free(red);
			continue;
		}
		char *extra = strstr(why, " (extra[0])");
		if (extra)
			memmove(extra, extra + 11, strlen(extra + 11) + 1);
		char path[64];
		snprintf(path, sizeof(path), "redaction.rules[%zu]", i);
		option_error(c, path, "%s", why);
	}
}

static void duplicate(struct option_context *c, const char *what, const char *value, size_t a,
		      size_t b)
{
	char path[64];
	snprintf(path, sizeof(path), "%s[%zu]", what, b);
	if (strcmp(what, "sinks") == 0) /* (a URI may hold credentials: not repeated) */
		option_error(c, path, "the same uri as %s[%zu]", what, a);
	else
		option_error(c, path, "the same input as %s[%zu] (\"%.200s\")", what, a, value);
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void check_config(struct option_context *c, void *base)
{
	struct collect_config *cfg = base;
	if (cfg->scope_map) {
		json_error_t jerr;
		json_t *doc = json_load_file(cfg->scope_map, 0, &jerr);
		if (!json_is_object(doc))
			option_error(c, "correlator.scope_map", "%s: %s", cfg->scope_map,
				     doc ? "expected an object {\"tool\": [scopes], ...}"
					 : jerr.text);
		json_decref(doc);
	}
	size_t stdin_at = SIZE_MAX;
	for (size_t i = 0; i < cfg->ninputs; i++) {
		struct collect_input *in = &cfg->inputs[i];
		if (in->type == COLLECT_INPUT_STDIN) {
			if (stdin_at != SIZE_MAX)
				duplicate(c, "inputs", "stdin", stdin_at, i);
			stdin_at = i;
		}
		for (size_t j = 0; j < i; j++) {
			struct collect_input *o = &cfg->inputs[j];
			if (in->type == o->type && in->path && same(in->path, o->path))
				duplicate(c, "inputs", in->path, j, i);
			else if (in->type == o->type && in->listen && same(in->listen, o->listen))
				duplicate(c, "inputs", in->listen, j, i);
			else if (same(in->name, o->name)) {
				char path[64];
				snprintf(path, sizeof(path), "inputs[%zu].name", i);
				option_error(c, path, "\"%.200s\" names inputs[%zu] already",
					     in->name, j);
			}
		}
		if ((in->type == COLLECT_INPUT_TCP || in->type == COLLECT_INPUT_OTLP_HTTP) &&
		    same(in->listen, cfg->metrics_listen)) {
			char path[64];
			snprintf(path, sizeof(path), "inputs[%zu].listen", i);
			option_error(c, path, "the same address as metrics.listen");
		}
	}
	for (size_t i = 0; i < cfg->nsinks; i++)
		for (size_t j = 0; j < i; j++)
			if (same(cfg->sinks[i].uri, cfg->sinks[j].uri))
				duplicate(c, "sinks", cfg->sinks[i].uri, j, i);
	check_rules(c, cfg);
	if (cfg->jwks) {
		char why[512];
		struct jwt_keyring *keys = jwt_keyring_load_file(cfg->jwks, why, sizeof(why));
		if (!keys)
			option_error(c, "identity.jwks", "%s", why);
		jwt_keyring_free(keys);
	}
	if (cfg->spool_segment_bytes > cfg->spool_max_bytes)
		option_error(c, "spool.segment_bytes", "larger than spool.max_bytes");
	if (cfg->state_dir) {
		if (!cfg->fingerprint_key)
			cfg->fingerprint_key = dup_printf("%s/fingerprint.key", cfg->state_dir);
		if (!cfg->spool_dir)
			cfg->spool_dir = dup_printf("%s/spool", cfg->state_dir);
	}
}

/* ---- loading ---- */

void config_free(struct collect_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->ninputs; i++) {
		free(cfg->inputs[i].name);
		free(cfg->inputs[i].path);
		free(cfg->inputs[i].listen);
		free(cfg->inputs[i].pattern);
		free(cfg->inputs[i].format);
		free(cfg->inputs[i].parser_config);
	}
	free(cfg->inputs);
	for (size_t i = 0; i < cfg->nsinks; i++)
		free(cfg->sinks[i].uri);
	free(cfg->sinks);
	for (size_t i = 0; i < cfg->nrules; i++) {
		free(cfg->rules[i].name);
		free(cfg->rules[i].pattern);
		free(cfg->rules[i].replacement);
	}
	free(cfg->rules);
	free(cfg->source);
	free(cfg->state_dir);
	free(cfg->fingerprint_key);
	free(cfg->jwks);
	free(cfg->metrics_listen);
	free(cfg->spool_dir);
	free(cfg->scope_map);
	free(cfg);
}

struct collect_config *config_parse(const char *text, size_t len, const char *source,
				    struct strbuf *errors)
{
	struct option_context c = {.source = source, .errors = errors};
	struct collect_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->source = strdup(source))) {
		strbuf_printf(errors, "%s: out of memory\n", source);
		free(cfg);
		return NULL;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		strbuf_printf(errors, "%s:%d:%d: invalid JSON: %s\n", source, jerr.line,
			      jerr.column, jerr.text);
		config_free(cfg);
		return NULL;
	}
	option_table_defaults(top_options, cfg);
	option_table_parse(&c, &top_section, root, cfg);
	json_decref(root);
	strbuf_free(&c.path);
	if (c.nerrors) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct collect_config *config_load_file(const char *path, struct strbuf *errors)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		strbuf_printf(errors, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct strbuf text = STRBUF_INIT;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (text.len + n > (16u << 20)) {
			strbuf_printf(errors, "%s: larger than 16 MiB: not a configuration file\n",
				      path);
			fclose(f);
			strbuf_free(&text);
			return NULL;
		}
		strbuf_append(&text, buf, n);
	}
	bool failed = ferror(f);
	fclose(f);
	if (failed) {
		strbuf_printf(errors, "%s: read error\n", path);
		strbuf_free(&text);
		return NULL;
	}
	struct collect_config *cfg =
		config_parse(text.data ? text.data : "", text.len, path, errors);
	strbuf_free(&text);
	return cfg;
}

/* ---- the reference ---- */

void config_write_reference(FILE *out)
{
	fprintf(out,
		"mcptrail collect configuration (one JSON object; unknown keys are errors; sizes "
		"are bytes or strings like \"64M\")\n\n");
	option_table_reference(out, "", top_options);
}
