/* The configured log parsers: the JSON field mapper (log_mapper.c) and the regex parser
 * (log_regex.c). Their configuration is described in log_fields.h. */
#ifndef MCPTRAIL_LOG_MAPPER_H
#define MCPTRAIL_LOG_MAPPER_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_mapper;
extern const struct log_parser log_parser_regex;

#endif
