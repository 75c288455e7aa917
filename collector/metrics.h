/* metrics: the HTTP endpoint of `mcptrail collect`, on the daemon's event loop:
 *
 *   GET /metrics   Prometheus text exposition format 0.0.4
 *   GET /health    200 or 503 with a small JSON body saying why
 *
 * What they say comes from the caller's callbacks; this file does the HTTP and the exposition
 * format (escaping of label values, HELP and TYPE lines). */
#ifndef MCPTRAIL_METRICS_H
#define MCPTRAIL_METRICS_H

#include "collector/util.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct metrics_server;

/* Appends every metric family to out. */
typedef void (*metrics_render_fn)(void *ctx, struct strbuf *out);
/* Appends the health body (JSON) to out; returns the HTTP status (200 or 503). */
typedef int (*metrics_health_fn)(void *ctx, struct strbuf *out);

/* Listens on listen ("HOST:PORT", numeric). NULL with err when it cannot. */
struct metrics_server *metrics_start(struct event_base *base, const char *listen,
				     metrics_render_fn render, metrics_health_fn health, void *ctx,
				     char *err, size_t errlen);
/* NULL is a no-op. */
void metrics_stop(struct metrics_server *m);

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge). */
void prom_family(struct strbuf *out, const char *name, const char *type, const char *help);
/* One sample: name{l1="v1",l2="v2"} value. labels: name, value, name, value, ..., NULL (or NULL
 * for none); values are escaped. */
void prom_sample(struct strbuf *out, const char *name, const char *const *labels, double value);
void prom_sample_u64(struct strbuf *out, const char *name, const char *const *labels,
		     uint64_t value);

#endif
