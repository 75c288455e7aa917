/* Identity-provider logs: token grants as OBS_GRANT observations (log_keycloak.c, log_okta.c,
 * log_oauth.c). */
#ifndef MCPTRAIL_LOG_IDP_H
#define MCPTRAIL_LOG_IDP_H

#include "parsers/log_parser.h"

extern const struct log_parser log_parser_keycloak;
extern const struct log_parser log_parser_okta;
extern const struct log_parser log_parser_oauth;

#endif
