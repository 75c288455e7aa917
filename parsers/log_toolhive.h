/* ToolHive audit events: see log_toolhive.c. */
#ifndef MCPTRAIL_LOG_TOOLHIVE_H
#define MCPTRAIL_LOG_TOOLHIVE_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_toolhive;

#endif
