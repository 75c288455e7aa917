/* OTLP/JSON logs with MCP attributes: see log_otlp.c. */
#ifndef MCPTRAIL_LOG_OTLP_H
#define MCPTRAIL_LOG_OTLP_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_otlp;

#endif
