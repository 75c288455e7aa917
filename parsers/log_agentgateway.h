/* agentgateway access logs: see log_agentgateway.c. */
#ifndef MCPTRAIL_LOG_AGENTGATEWAY_H
#define MCPTRAIL_LOG_AGENTGATEWAY_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_agentgateway;

#endif
