/* tap_stdio: `mcptrail tap`, the stdio tap (see CONTRACT.md). */
#ifndef MCPTRAIL_TAP_STDIO_H
#define MCPTRAIL_TAP_STDIO_H

/* argv starts after "tap". Returns the process exit status. */
int tap_stdio_main(int argc, char **argv);

#endif
