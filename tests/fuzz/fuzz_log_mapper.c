/* fuzz_log_mapper: the JSON field mapper (parsers/log_mapper.c) with a fixed configuration that
 * uses every kind of field, transform and map; the input is the line. Checks: no crash or leak,
 * a reason for every bad line, observations with their detail struct. */
#include "parsers/log_mapper.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const configs[] = {
	"{\"name\":\"fz\",\"detect\":{\"path\":\"k\",\"matches\":\"^(mcp|call)\"},\"kind\":"
	"\"call\","
	"\"time\":{\"path\":\"t\",\"format\":\"auto\"},\"fields\":{\"method\":\"m\",\"tool\":{"
	"\"path\":\"x.tool\",\"transform\":\"last_segment\"},\"target\":{\"path\":\"tg\","
	"\"transform\":\"lower\"},\"duration_ms\":{\"path\":\"d\",\"transform\":\"duration\"},"
	"\"outcome\":{\"path\":\"st\",\"transform\":\"http_outcome\"},\"http_status\":\"st\","
	"\"error_code\":\"ec\",\"retry_attempt\":\"r\",\"decision\":{\"path\":\"v\",\"map\":{"
	"\"A\":\"allow\"}},\"subject\":\"u.sub\",\"scopes\":{\"path\":\"sc\",\"transform\":"
	"\"split_scopes\"},\"actors\":\"act\",\"jti\":\"j\",\"exp\":\"e\",\"rpc_id\":\"id\","
	"\"transport\":{\"value\":\"http\"}}}",
	"{\"kind\":\"grant\",\"time\":{\"path\":\"t\",\"format\":\"epoch_ms\"},\"fields\":{"
	"\"grant_type\":{\"path\":\"g\",\"transform\":\"grant_type\"},\"token_id\":\"j\","
	"\"success\":{\"path\":\"ok\",\"transform\":\"outcome\"},\"expires\":\"e\",\"error\":"
	"\"err\",\"subject\":\"s\",\"client_id\":\"c\",\"scopes\":\"sc\",\"actors\":\"a\"}}",
};
static void *states[2];

static void check_obs(void *ctx, const struct obs *o)
{
	(void)ctx;
	if ((o->kind == OBS_GATEWAY && !o->gateway) || (o->kind == OBS_GRANT && !o->grant) ||
	    !o->principal)
		abort();
	if (o->gateway && o->gateway->method)
		(void)strlen(o->gateway->method);
	if (o->grant && o->grant->grant_type)
		(void)strlen(o->grant->grant_type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!states[0]) {
		for (int i = 0; i < 2; i++) {
			char err[512];
			json_t *c = json_loads(configs[i], 0, NULL);
			states[i] = log_parser_mapper.state_new(c, "fuzz.json", err, sizeof(err));
			json_decref(c);
			if (!states[i]) {
				fprintf(stderr, "fuzz_log_mapper: %s\n", err);
				abort();
			}
		}
	}
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	struct log_line ll = {line, size, "fuzz", 1};
	for (int i = 0; i < 2; i++) {
		const char *reason = NULL;
		if (log_parser_mapper.parse(states[i], &ll, check_obs, NULL, &reason) ==
			    LOG_PARSE_BAD &&
		    !reason)
			abort();
	}
	free(line);
	return 0;
}
