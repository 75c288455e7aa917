/* deliver: the spool → sink leg of `mcptrail collect`. One thread per sink reads the spool from
 * that sink's own position, hands batches to the sink in its encoding and acknowledges what the
 * sink took, so a slow or broken sink holds back no other.
 *
 * A spool record is a batch of events: compact mcptrail/1 JSON objects, each followed by '\n'.
 *
 * What a sink's result means is decided here, not in the sinks (STYLE.md):
 *   SINK_OK, and SINK_QUEUED followed by a successful flush: acknowledged;
 *   SINK_RETRY, SINK_NOT_CONNECTED: the same records again after a backoff (0.1 s doubling to
 *     5 s), on the same sink (which reconnects by itself);
 *   SINK_ERROR: the sink is closed and opened again after the backoff, then the same records
 *     again (a Kafka producer that lost an event fails every later flush until it is recreated);
 *   SINK_DROP: the batch can never be written: acknowledged, counted as dropped and logged.
 * Nothing is acknowledged that the sink did not take, so the spool keeps it across restarts. */
#ifndef MCPTRAIL_DELIVER_H
#define MCPTRAIL_DELIVER_H

#include "collector/spool.h"
#include "sinks/sink.h"

#include <stdbool.h>
#include <stdint.h>

struct deliver_stats {
	uint64_t events;      /* acknowledged by the sink */
	uint64_t batches;     /* written */
	uint64_t failures;    /* writes or flushes that failed (each retry counts) */
	uint64_t dropped;     /* events in batches the sink refused for good (SINK_DROP) */
	uint64_t unparsable;  /* spooled lines that were not JSON (skipped) */
	uint64_t unencodable; /* events this sink's encoding cannot carry (skipped) */
	uint64_t reopens;     /* the sink closed and opened again (SIGHUP, SINK_ERROR) */
	int64_t last_ok_ns;   /* wall clock of the last acknowledged batch (0: none yet) */
	int64_t last_failure_ns;
	bool up;	/* the last write worked (true until one fails) */
	bool caught_up; /* the spool had nothing more for this sink at the last look */
	char last_error[256];
};

struct deliver;

/* A sink URI without its options or user information (which may hold credentials), for logs and
 * metrics. NULL when out of memory. */
char *sink_uri_label(const char *uri);

/* Starts the thread for the sink numbered index in the spool. sink_take (owned from here on) is
 * the open sink; uri and encoding are kept to open it again. NULL with err when the thread
 * cannot start (sink_take is then closed). */
struct deliver *deliver_start(struct spool *sp, unsigned index, struct sink *sink_take,
			      const char *uri, enum event_encoding encoding, char *err,
			      size_t errlen);
/* Records were appended: look at the spool now rather than at the next tick. */
void deliver_wake(struct deliver *d);
/* Close and open the sink again between two batches (SIGHUP: a file sink's path is reopened). */
void deliver_reopen(struct deliver *d);
void deliver_get_stats(struct deliver *d, struct deliver_stats *out);
/* Stops the thread after the batch in hand and closes the sink. 0 when the sink closed cleanly.
 * NULL is a no-op (0). */
int deliver_stop(struct deliver *d);

#endif
