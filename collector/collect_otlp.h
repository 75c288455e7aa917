/* collect_otlp: the OTLP/HTTP logs input of `mcptrail collect` (see collect_otlp.c). */
#ifndef MCPTRAIL_COLLECT_OTLP_H
#define MCPTRAIL_COLLECT_OTLP_H

#include <stddef.h>

struct input;

/* Binds in->cfg->listen and serves POST /v1/logs on the collector's event base. 0, or -1 with
 * why. */
int otlp_input_start(struct input *in, char *why, size_t whylen);
/* No more requests (SIGTERM): the listener closes. */
void otlp_input_stop(struct input *in);
void otlp_input_free(struct input *in);

#endif
