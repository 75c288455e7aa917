/* Teleport mcp.session.* audit events: see log_teleport.c. */
#ifndef MCPTRAIL_LOG_TELEPORT_H
#define MCPTRAIL_LOG_TELEPORT_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_teleport;

#endif
