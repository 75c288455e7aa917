/* mcptrail: the command-line entry point. Subcommands are listed in CONTRACT.md. */
#include "collector/blast_radius.h"
#include "collector/collect.h"
#include "collector/demo.h"
#include "collector/importer.h"
#include "collector/redact.h"
#include "collector/tap_http.h"
#include "collector/tap_stdio.h"
#include "collector/timeline.h"
#include "collector/util.h"
#include "collector/verify.h"
#include "parsers/log_fields.h"
#include "parsers/log_parser.h"
#include "sinks/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SINKS 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail COMMAND [ARGS]\n"
		"\n"
		"  tap [--out FILE] [--identity ID] -- CMD [ARGS...]   stdio tap around an MCP "
		"server\n"
		"  tap-http --listen HOST:PORT --upstream URL [--out FILE] [--jwks FILE]\n"
		"                                                      Streamable HTTP tap "
		"(reverse proxy)\n"
		"  import [--format FMT] [--mapper|--regex CONFIG] [-o FILE] [--sink URI]... "
		"INPUT...\n"
		"                                                      captures in, normalized "
		"events out\n"
		"  demo [-o FILE]                                      import the bundled capture\n"
		"  timeline (--identity ID | --task ID | --session ID) [--from T] [--to T]\n"
		"           [--format text|json] [-o FILE] EVENTS...   what it did, in order\n"
		"  version                                             print the version\n"
		"\n"
		"  verify [--key FILE] FILE...                         check a hash-chained "
		"file-sink trail\n"
		"\n"
		"  collect -c CONFIG [--check]                         the daemon (--help-config: "
		"every key)\n"
		"\n"
		"  blast-radius [--format text|json|html] [-o FILE] [--config FILE] [--window "
		"DAYS]\n"
		"         EVENTS...                                    per-identity blast radius "
		"(MBR)\n");
}

static void import_usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail import [--format auto|tap|har|envoy|LOG] [--encode ENC] [-o "
		"FILE]\n"
		"         [--mapper CONFIG.json | --regex CONFIG.json]\n"
		"         [--sink URI]... (ENC: json, ocsf, ecs, cef, leef; applies to the "
		"sinks after it)\n"
		"         [--max-line BYTES] [--request-timeout SEC] [--no-blast-radius]\n"
		"         [--fingerprint-key FILE] [--jwks FILE]\n"
		"         [--redact-rule NAME=PCRE2]... [--arguments-cap BYTES]\n"
		"         [--scope-map FILE] [--max-sampling-depth N]\n"
		"         [--cimd-fetch --cimd-allow HOST... [--cimd-allow-private] [--cimd-ca "
		"PEM]]\n"
		"         INPUT...\n"
		"  Reads tap records, HAR 1.2 files or Envoy HTTP tap traces (INPUT '-' is\n"
		"  stdin), correlates them and writes normalized events (JSON lines) to FILE,\n"
		"  each sink, or stdout. Sinks: file:PATH[?options], a plain path,\n"
		"  syslog+udp|tcp|tls://HOST:PORT[?options].\n"
		"  Tool arguments leave as a SHA-256 and a redacted copy capped at\n"
		"  --arguments-cap (default 4K): built-in redaction rules plus yours.\n"
		"  Gateway and IdP logs are detected per file and per line. --mapper maps\n"
		"  any JSON log's fields, --regex a text log's named captures, to calls or\n"
		"  grants (see README).\n"
		"  --cimd-fetch fetches (off by default) and validates the client metadata\n"
		"  document of https client_ids on allowlisted hosts.\n"
		"  A gateway line and a capture of the same call become one event.\n"
		"  --scope-map FILE: {\"tool\": [scopes], \"server/tool\": [scopes]} enables the\n"
		"  scope_not_granted and scopes_unused findings; --max-sampling-depth (2):\n"
		"  sampling with tools nested deeper is a finding.\n"
		"  At the end, one identity.blast_radius event per identity (MBR over the last\n"
		"  30 days of the input; --no-blast-radius: none).\n");
	fprintf(f, "  LOG formats:\n");
	for (size_t k = 0; log_parsers[k]; k++)
		fprintf(f, "    %-14s %s\n", log_parsers[k]->name, log_parsers[k]->description);
}

static int import_main(int argc, char **argv)
{
	struct import_options opt;
	import_options_defaults(&opt);
	opt.blast_radius = true; /* identity.blast_radius events at the end */
	const char *sink_uris[MAX_SINKS];
	enum event_encoding sink_encodings[MAX_SINKS];
	enum event_encoding encoding = ENCODING_JSON;
	size_t nsinks = 0;
	char **inputs = calloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs = 0;
	int rc = 2;
	struct sink *sinks[MAX_SINKS] = {0};
	struct redact_rule_spec rules[64];
	size_t nrules = 0;
	struct redactor *redactor = NULL;
	json_t *scope_map = NULL;
	const char *allow[64];
	size_t nallow = 0;
	if (!inputs)
		return 2;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
			if (nsinks == MAX_SINKS)
				goto too_many;
			static char file_uri[MAX_SINKS][4096];
			snprintf(file_uri[nsinks], sizeof(file_uri[nsinks]), "file:%s", argv[++i]);
			sink_uris[nsinks] = file_uri[nsinks];
			sink_encodings[nsinks] = encoding;
			nsinks++;
		} else if (strcmp(a, "--sink") == 0 && has_value) {
			if (nsinks == MAX_SINKS)
				goto too_many;
			sink_encodings[nsinks] = encoding;
			sink_uris[nsinks++] = argv[++i];
		} else if (strcmp(a, "--format") == 0 && has_value) {
			opt.format = argv[++i];
			if (strcmp(opt.format, "help") == 0) {
				printf("capture formats: tap (mcptrail tap records), har (HAR "
				       "1.2), "
				       "envoy (Envoy HTTP tap traces)\nlog formats:\n");
				for (size_t k = 0; log_parsers[k]; k++)
					printf("  %-20s %s\n", log_parsers[k]->name,
					       log_parsers[k]->description);
				rc = 0;
				goto out;
			}
			const struct log_parser *lp = log_parser_find(opt.format);
			if (strcmp(opt.format, "auto") != 0 && strcmp(opt.format, "tap") != 0 &&
			    strcmp(opt.format, "har") != 0 && strcmp(opt.format, "envoy") != 0 &&
			    !lp) {
				fprintf(stderr,
					"mcptrail import: --format: expected auto, tap, har, envoy "
					"or a log format (");
				for (size_t k = 0; log_parsers[k]; k++)
					fprintf(stderr, "%s%s", k ? ", " : "",
						log_parsers[k]->name);
				fprintf(stderr, "), got '%s'\n", opt.format);
				goto out;
			}
		} else if ((strcmp(a, "--mapper") == 0 || strcmp(a, "--regex") == 0) && has_value) {
			/* a configured parser: its JSON config is checked now, not at the first
			 * line */
			if (opt.log_parser) {
				fprintf(stderr, "mcptrail import: give one --mapper or --regex\n");
				goto out;
			}
			const struct log_parser *lp = log_parser_find(a + 2);
			char perr[1024];
			opt.log_state =
				lp ? log_fields_load_config(lp, argv[++i], perr, sizeof(perr))
				   : NULL;
			if (!opt.log_state) {
				fprintf(stderr, "mcptrail import: %s %s\n", a, perr);
				goto out;
			}
			opt.log_parser = lp;
		} else if (strcmp(a, "--no-blast-radius") == 0) {
			opt.blast_radius = false;
		} else if (strcmp(a, "--fingerprint-key") == 0 && has_value) {
			opt.fingerprint_key = argv[++i];
		} else if (strcmp(a, "--cimd-fetch") == 0) {
			opt.cimd.enabled = true;
		} else if (strcmp(a, "--cimd-allow-private") == 0) {
			opt.cimd.allow_private = true;
		} else if (strcmp(a, "--cimd-allow") == 0 && has_value) {
			if (nallow == sizeof(allow) / sizeof(allow[0])) {
				fprintf(stderr, "mcptrail import: at most 64 --cimd-allow hosts\n");
				goto out;
			}
			allow[nallow++] = argv[++i];
		} else if (strcmp(a, "--cimd-ca") == 0 && has_value) {
			opt.cimd.ca_file = argv[++i];
		} else if (strcmp(a, "--jwks") == 0 && has_value) {
			opt.jwks = argv[++i];
		} else if (strcmp(a, "--redact-rule") == 0 && has_value) {
			/* NAME=PCRE2 pattern, in addition to the built-in rules */
			char *spec = argv[++i];
			char *eq = strchr(spec, '=');
			if (!eq || eq == spec || nrules == sizeof(rules) / sizeof(rules[0])) {
				fprintf(stderr,
					"mcptrail import: --redact-rule: expected NAME=PATTERN (at "
					"most "
					"64), got '%s'\n",
					spec);
				goto out;
			}
			*eq = '\0';
			rules[nrules++] = (struct redact_rule_spec){spec, eq + 1, NULL};
		} else if (strcmp(a, "--scope-map") == 0 && has_value) {
			json_error_t jerr;
			json_decref(scope_map);
			scope_map = json_load_file(argv[++i], 0, &jerr);
			if (!json_is_object(scope_map)) {
				fprintf(stderr,
					"mcptrail import: --scope-map %s: expected a JSON object "
					"{\"tool\": [\"scope\", ...], \"server/tool\": "
					"[...]}%s%s\n",
					argv[i], scope_map ? "" : ": ", scope_map ? "" : jerr.text);
				goto out;
			}
			opt.correlator.scope_map = scope_map;
		} else if (strcmp(a, "--max-sampling-depth") == 0 && has_value) {
			char *end;
			unsigned long d = strtoul(argv[++i], &end, 10);
			if (*end || d < 1 || d > 1000) {
				fprintf(stderr, "mcptrail import: --max-sampling-depth: expected "
						"1..1000\n");
				goto out;
			}
			opt.correlator.max_sampling_depth = (unsigned)d;
		} else if (strcmp(a, "--arguments-cap") == 0 && has_value) {
			if (!parse_size(argv[++i], &opt.correlator.arguments_cap)) {
				fprintf(stderr,
					"mcptrail import: --arguments-cap: expected a size\n");
				goto out;
			}
		} else if (strcmp(a, "--encode") == 0 && has_value) {
			/* applies to the sinks that follow it (and to stdout when none is given) */
			int enc = encoding_from_name(argv[++i]);
			if (enc < 0) {
				fprintf(stderr,
					"mcptrail import: --encode: expected json, ocsf, ecs, cef "
					"or "
					"leef, got '%s'\n",
					argv[i]);
				goto out;
			}
			encoding = (enum event_encoding)enc;
		} else if (strcmp(a, "--max-line") == 0 && has_value) {
			if (!parse_size(argv[++i], &opt.max_line) || opt.max_line < 1024) {
				fprintf(stderr,
					"mcptrail import: --max-line: expected a size like 48M\n");
				goto out;
			}
		} else if (strcmp(a, "--request-timeout") == 0 && has_value) {
			char *end;
			double sec = strtod(argv[++i], &end);
			if (*end || sec <= 0) {
				fprintf(stderr, "mcptrail import: --request-timeout: expected "
						"seconds > 0\n");
				goto out;
			}
			opt.correlator.request_timeout_ns = (int64_t)(sec * 1e9);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			import_usage(stdout);
			rc = 0;
			goto out;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "mcptrail import: unknown option '%s'\n", a);
			goto out;
		} else {
			inputs[ninputs++] = argv[i];
		}
	}
	if (opt.format) {
		const struct log_parser *lp = log_parser_find(opt.format);
		if (lp && lp->state_new && lp != opt.log_parser) {
			fprintf(stderr, "mcptrail import: --format %s needs --%s FILE\n",
				opt.format, opt.format);
			goto out;
		}
	}
	if (ninputs == 0) {
		fprintf(stderr, "mcptrail import: no INPUT given (use '-' for standard input)\n");
		goto out;
	}
	opt.cimd.allow_hosts = allow;
	opt.cimd.nallow = nallow;
	char rerr[512];
	redactor = redactor_new(rules, nrules, rerr, sizeof(rerr));
	if (!redactor) {
		fprintf(stderr, "mcptrail import: %s\n", rerr);
		goto out;
	}
	opt.correlator.redactor = redactor;
	if (nsinks == 0) {
		sink_encodings[nsinks] = encoding;
		sink_uris[nsinks++] = "-";
	}
	for (size_t i = 0; i < nsinks; i++) {
		char err[512];
		sinks[i] = sink_open_encoded(sink_uris[i], sink_encodings[i], err, sizeof(err));
		if (!sinks[i]) {
			fprintf(stderr, "mcptrail import: --sink %s\n", err);
			goto out;
		}
	}
	opt.sinks = sinks;
	opt.nsinks = nsinks;
	struct import_stats st;
	rc = import_run(&opt, inputs, ninputs, &st);
	for (size_t i = 0; i < nsinks; i++) {
		if (sink_close(sinks[i]) != 0 && rc == 0)
			rc = 2;
		sinks[i] = NULL;
	}
	fprintf(stderr,
		"mcptrail import: %llu files, %llu records, %llu frames, %llu events, %llu bad "
		"lines (%llu oversized)%s\n",
		(unsigned long long)st.files, (unsigned long long)st.records,
		(unsigned long long)st.frames, (unsigned long long)st.events,
		(unsigned long long)st.bad_lines, (unsigned long long)st.oversized_lines,
		rc == 1	  ? "; nothing could be read"
		: rc == 2 ? "; a sink failed"
			  : "");
	goto out;
too_many:
	fprintf(stderr, "mcptrail import: at most %d sinks\n", MAX_SINKS);
out:
	for (size_t i = 0; i < MAX_SINKS; i++)
		if (sinks[i])
			sink_close(sinks[i]);
	redactor_free(redactor);
	json_decref(scope_map);
	if (opt.log_parser && opt.log_parser->state_free)
		opt.log_parser->state_free(opt.log_state);
	free(inputs);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "tap") == 0)
		return tap_stdio_main(argc - 2, argv + 2);
	if (strcmp(cmd, "tap-http") == 0)
		return tap_http_main(argc - 2, argv + 2);
	if (strcmp(cmd, "import") == 0)
		return import_main(argc - 2, argv + 2);
	if (strcmp(cmd, "collect") == 0)
		return collect_main(argc - 2, argv + 2);
	if (strcmp(cmd, "verify") == 0)
		return verify_main(argc - 2, argv + 2);
	if (strcmp(cmd, "blast-radius") == 0)
		return blast_radius_main(argc - 2, argv + 2);
	if (strcmp(cmd, "demo") == 0)
		return demo_main(argc - 2, argv + 2);
	if (strcmp(cmd, "timeline") == 0)
		return timeline_main(argc - 2, argv + 2);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("mcptrail %s (schema mcptrail/1)\n", MCPTRAIL_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "mcptrail: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
