/* Docker MCP Gateway call lines and policy audit events: see log_docker_mcp.c. */
#ifndef MCPTRAIL_LOG_DOCKER_MCP_H
#define MCPTRAIL_LOG_DOCKER_MCP_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_docker_mcp;

#endif
