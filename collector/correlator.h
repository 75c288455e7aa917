/* correlator: turns observations into normalized events (ARCHITECTURE §4).
 *
 * Pure: no I/O, no clock. Time comes from the observations, so the same input always gives the
 * same events (and the same event ids). Events are handed to the emit callback as jansson
 * objects, which the callback owns. */
#ifndef MCPTRAIL_CORRELATOR_H
#define MCPTRAIL_CORRELATOR_H

#include "collector/obs.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*correlator_emit_fn)(void *ctx, json_t *event_take);

struct correlator_config {
	int64_t request_timeout_ns; /* pending request → no_response (default 5 min) */
	int64_t task_timeout_ns; /* non-terminal task without news → no_response (default: ttl or 1
				    h) */
	unsigned invalid_events_per_stream; /* in-band events per stream before only counting (100)
					     */
	size_t max_pending;
	/* redaction before anything leaves the core (collector/redact.h); NULL: arguments are
	 * emitted as a digest only */
	const struct redactor *redactor;
	size_t arguments_cap; /* bytes of redacted arguments kept per call (4096) */
	/* gateway logs and taps (collector/correlator_gateway.c): how far apart in time a gateway
	 * line and a tap's view of the same call may be (5 s); how long either waits for the other
	 * at most, in its own clock (60 s); how many of each wait (100000); true when every log
	 * line is in before any capture (`mcptrail import`): lines then wait until the end. */
	int64_t merge_window_ns;
	int64_t max_hold_ns;
	int64_t max_wait_ns; /* a daemon: the same in wall-clock time (correlator_tick; 60 s) */
	size_t max_held;
	bool hold_gateway_until_finish;
	/* findings (collector/correlator_findings.c): required scopes per tool ({"tool": [scopes],
	 * "server/tool": [scopes]}, borrowed; NULL: no scope findings), and how deep sampling with
	 * tools may nest on one session before it is a finding (2) */
	json_t *scope_map;
	unsigned max_sampling_depth;
};

struct correlator_stats {
	uint64_t observations, messages, invalid, gaps, gap_frames;
	uint64_t events, tool_calls, tasks, sessions;
	uint64_t unmatched_responses, orphan_progress, duplicate_requests, evicted;
	uint64_t unknown_task_status;
	uint64_t gateway_lines, gateway_merged, gateway_only, gateway_unmapped, grants;
};

struct correlator;
struct redactor;

void correlator_config_defaults(struct correlator_config *cfg);
struct correlator *correlator_new(const struct correlator_config *cfg, correlator_emit_fn emit,
				  void *ctx);
void correlator_observe(struct correlator *c, const struct obs *o);
/* A daemon's wall clock (an import never calls it): what waits for the other view of a call (a
 * gateway line for the tap's, or the reverse) goes out after max_hold of wall-clock time too. */
void correlator_tick(struct correlator *c, int64_t wall_ns);
/* Emits everything waiting for the other view of a call now (a daemon stopping). Open requests
 * and sessions are kept. */
void correlator_release_held(struct correlator *c);
/* End of input: everything still open is emitted (requests as no_response, sessions ended). */
void correlator_finish(struct correlator *c);
const struct correlator_stats *correlator_stats(const struct correlator *c);
void correlator_free(struct correlator *c);

#endif
