/* tap_http: `mcptrail tap-http`, the Streamable HTTP tap (see CONTRACT.md). */
#ifndef MCPTRAIL_TAP_HTTP_H
#define MCPTRAIL_TAP_HTTP_H

/* argv starts after "tap-http". Returns the process exit status. */
int tap_http_main(int argc, char **argv);

#endif
