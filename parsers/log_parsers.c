/* The registry of built-in log parsers. A new format is one parsers/log_*.c file and one line
 * here. */
#include "parsers/log_parser.h"

#include "parsers/log_agentgateway.h"
#include "parsers/log_contextforge.h"
#include "parsers/log_docker_mcp.h"
#include "parsers/log_envoy_access.h"
#include "parsers/log_idp.h"
#include "parsers/log_mapper.h"
#include "parsers/log_otlp.h"
#include "parsers/log_teleport.h"
#include "parsers/log_toolhive.h"

#include <string.h>

const struct log_parser *const log_parsers[] = {
	/* clang-format off */
	&log_parser_agentgateway,
	&log_parser_toolhive,
	&log_parser_teleport,
	&log_parser_contextforge,
	&log_parser_keycloak,
	&log_parser_okta,
	&log_parser_oauth,
	&log_parser_mapper,
	&log_parser_regex,
	&log_parser_docker_mcp,
	&log_parser_envoy_access,
	&log_parser_otlp,
	NULL,
	/* clang-format on */
};

const struct log_parser *log_parser_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; log_parsers[i]; i++)
		if (strcmp(log_parsers[i]->name, name) == 0)
			return log_parsers[i];
	return NULL;
}

const struct log_parser *log_parser_detect(const char *line, size_t len)
{
	const struct log_parser *best = NULL;
	int best_score = 49;
	for (size_t i = 0; log_parsers[i]; i++) {
		if (!log_parsers[i]->detect)
			continue;
		int s = log_parsers[i]->detect(line, len);
		if (s > best_score) {
			best_score = s;
			best = log_parsers[i];
		}
	}
	return best;
}
