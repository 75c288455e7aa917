/* fuzz_log_regex: the regex parser (parsers/log_regex.c) with a fixed configuration (an nginx-like
 * access log with optional captures and every transform a text log uses); the input is the line.
 * Checks: no crash or leak, a reason for every bad line. */
#include "parsers/log_mapper.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const config =
	"{\"pattern\":\"^(?<ip>\\\\S+) - (?<user>\\\\S+) \\\\[(?<ts>[^\\\\]]+)\\\\] "
	"\\\"(?<verb>[A-Z]+) "
	"(?<path>\\\\S+)[^\\\"]*\\\" (?<status>\\\\d+) (?<rt>[0-9.]+)(?: m=(?<m>\\\\S*))?(?: "
	"sc=(?<sc>[^ ]*))?(?: "
	"dur=(?<dur>\\\\S+))?\",\"kind\":\"call\",\"time\":{\"capture\":\"ts\","
	"\"format\":\"auto\"},\"fields\":{\"src_addr\":\"ip\",\"subject\":{\"capture\":\"user\","
	"\"transform\":\"lower\"},\"method\":\"m\",\"tool\":{\"capture\":\"path\",\"transform\":"
	"\"last_segment\"},\"outcome\":{\"capture\":\"status\",\"transform\":\"http_outcome\"},"
	"\"http_status\":\"status\",\"duration_ms\":{\"capture\":\"rt\",\"transform\":"
	"\"duration_s\"},\"scopes\":\"sc\",\"reason\":{\"capture\":\"dur\",\"map\":{\"1s\":"
	"\"slow\"}}}}";
static void *state;

static void check_obs(void *ctx, const struct obs *o)
{
	(void)ctx;
	if (o->kind != OBS_GATEWAY || !o->gateway || !o->principal)
		abort();
	if (o->gateway->tool)
		(void)strlen(o->gateway->tool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!state) {
		char err[512];
		json_t *c = json_loads(config, 0, NULL);
		state = log_parser_regex.state_new(c, "fuzz.json", err, sizeof(err));
		json_decref(c);
		if (!state) {
			fprintf(stderr, "fuzz_log_regex: %s\n", err);
			abort();
		}
	}
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	struct log_line ll = {line, size, "fuzz", 1};
	const char *reason = NULL;
	if (log_parser_regex.parse(state, &ll, check_obs, NULL, &reason) == LOG_PARSE_BAD &&
	    !reason)
		abort();
	free(line);
	return 0;
}
