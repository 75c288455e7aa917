/* Envoy JSON access logs with MCP metadata: see log_envoy_access.c. */
#ifndef MCPTRAIL_LOG_ENVOY_ACCESS_H
#define MCPTRAIL_LOG_ENVOY_ACCESS_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_envoy_access;

#endif
