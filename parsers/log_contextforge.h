/* IBM ContextForge (mcp-context-forge) audit and security logs: see log_contextforge.c. */
#ifndef MCPTRAIL_LOG_CONTEXTFORGE_H
#define MCPTRAIL_LOG_CONTEXTFORGE_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_contextforge;

#endif
