/* fuzz_log_parsers: every built-in gateway / IdP log parser (parsers/log_parsers.c) on one line.
 *
 * Input layout: byte 0 picks the parser (modulo their number; 255: detection picks it, as import
 * does); the rest is the line. Checks: no crash or leak; every observation the parser emits is a
 * gateway or grant observation with its detail struct and a time; detection never picks a parser
 * that then crashes. Configured parsers (mapper, regex) have their own targets. */
#include "parsers/log_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_obs(void *ctx, const struct obs *o)
{
	unsigned long *n = ctx;
	if (o->kind == OBS_GATEWAY && !o->gateway)
		abort();
	if (o->kind == OBS_GRANT && !o->grant)
		abort();
	if (o->kind != OBS_GATEWAY && o->kind != OBS_GRANT) {
		fprintf(stderr, "fuzz_log_parsers: unexpected observation kind %d\n", o->kind);
		abort();
	}
	/* every borrowed string must be readable */
	if (o->gateway && o->gateway->method)
		(void)strlen(o->gateway->method);
	if (o->grant && o->grant->grant_type)
		(void)strlen(o->grant->grant_type);
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t count = 0;
	while (log_parsers[count])
		count++;
	char *line = malloc(size); /* size - 1 bytes and a NUL */
	if (!line)
		return 0;
	memcpy(line, data + 1, size - 1);
	line[size - 1] = '\0';
	const struct log_parser *p =
		data[0] == 255 ? log_parser_detect(line, size - 1) : log_parsers[data[0] % count];
	if (p && !p->state_new) {
		struct log_line ll = {line, size - 1, "fuzz", 1};
		unsigned long n = 0;
		const char *reason = NULL;
		enum log_parse_result r = p->parse(NULL, &ll, check_obs, &n, &reason);
		if (r == LOG_PARSE_BAD && !reason) {
			fprintf(stderr, "fuzz_log_parsers: %s: bad line without a reason\n",
				p->name);
			abort();
		}
	}
	free(line);
	return 0;
}
