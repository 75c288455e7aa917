/* log_parser: the interface every gateway, proxy and identity-provider log parser implements.
 *
 * A parser reads one line (a JSON object or a text line) and reduces it to observations
 * (collector/obs.h): OBS_GATEWAY for "identity I made request R with outcome O", OBS_GRANT for
 * "the IdP issued a token to client C for subject S with scopes Q". It hands each observation to
 * the emit callback while the line's memory is alive: observations borrow their strings.
 *
 * Built-in parsers need no configuration; configured ones (the JSON field mapper, the regex
 * parser) build their state from a JSON object at start-up and refuse a bad one with an error that
 * names the path. The importer picks a parser per input by detect() over the first lines, or by
 * name (`--format agentgateway`, a collect input's "format"). */
#ifndef MCPTRAIL_LOG_PARSER_H
#define MCPTRAIL_LOG_PARSER_H

#include "collector/obs.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*log_emit_fn)(void *ctx, const struct obs *o);

/* One input line and where it came from. data[len] is readable and is a NUL byte. */
struct log_line {
	const char *data;
	size_t len;
	const char *source_name;
	uint64_t line_no;
};

enum log_parse_result {
	LOG_PARSE_OK,	/* the line was understood (it may have produced no observation) */
	LOG_PARSE_SKIP, /* a valid line of the format that says nothing about MCP or tokens */
	LOG_PARSE_BAD,	/* malformed, wrong types, missing required fields: *reason says why */
	LOG_PARSE_NOMEM,
};

struct log_parser {
	const char *name; /* "agentgateway", "toolhive", ..., used by --format */
	const char *description;
	/* 0 (not this format) to 100 (certainly this format), from one line alone. */
	int (*detect)(const char *line, size_t len);
	/* Configured parsers only (NULL otherwise): builds the parser's state from config; NULL
	 * with err filled ("mapper.fields.subject: expected a string path") when it is wrong. */
	void *(*state_new)(const json_t *config, const char *path, char *err, size_t errlen);
	void (*state_free)(void *state);
	/* Parses one line; calls emit zero or more times. *reason (static text) on LOG_PARSE_BAD.
	 */
	enum log_parse_result (*parse)(void *state, const struct log_line *line, log_emit_fn emit,
				       void *ctx, const char **reason);
};

/* The built-in parsers, NULL-terminated. */
extern const struct log_parser *const log_parsers[];

/* The parser called name, NULL when there is none. */
const struct log_parser *log_parser_find(const char *name);
/* The built-in parser that recognises this line best (score >= 50), NULL when none does. */
const struct log_parser *log_parser_detect(const char *line, size_t len);

#endif
