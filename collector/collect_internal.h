/* Shared by collect.c (the daemon: start-up, the spool side, checkpoints, signals, metrics) and
 * collect_inputs.c (files, standard input, TCP and UDP listeners). Not an API. */
#ifndef MCPTRAIL_COLLECT_INTERNAL_H
#define MCPTRAIL_COLLECT_INTERNAL_H

#include "collector/config.h"
#include "collector/deliver.h"
#include "collector/hashmap.h"
#include "collector/importer.h"
#include "collector/line_reader.h"
#include "collector/metrics.h"
#include "collector/spool.h"
#include "collector/tail.h"
#include "collector/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;
struct evconnlistener;
struct collector;
struct conn;
struct capture_dir;

/* A file input's checkpoint: the events of every line before `delivered` are in the spool;
 * `replay` is where reading starts again after a restart (the start record of the oldest stream
 * still open), so that the correlator's state is rebuilt; the events of lines read again before
 * `delivered` are not spooled twice. */
struct file_checkpoint {
	bool valid;
	struct tail_pos delivered, replay;
};

struct input {
	struct collector *c;
	const struct collect_input *cfg;
	size_t index;
	/* counters (metrics) */
	uint64_t lines, bytes, bad_lines, oversized, replayed, records;
	uint64_t connections_total, connections_rejected, datagrams, rotations_seen;
	unsigned connections;
	bool finished; /* stdin at its end */

	/* file */
	struct tail *tail;
	struct hashmap *open_streams; /* stream id → struct open_stream: where it started */
	uint64_t untracked_streams;
	uint64_t gen; /* of the file being read */
	uint64_t dev, ino;
	bool replaying;		       /* reading again what was delivered before the restart */
	struct file_checkpoint resume; /* from the last run */
	struct file_checkpoint saved;  /* the last position whose lines' events are all spooled */
	bool more;		       /* the last poll stopped at its byte budget */

	/* capture_dir */
	struct capture_dir *captures;
	json_t *capture_state; /* its checkpoint from the last run (owned) */

	/* stdin, udp: one stream of lines; tcp: per connection */
	struct line_reader lr;
	struct event *ev;		 /* stdin, udp: readable */
	bool stdin_polled;		 /* a regular file or /dev/null: read from the poll timer */
	int fd;				 /* udp, stdin */
	struct evconnlistener *listener; /* tcp */
	struct conn *conns;		 /* tcp */
	struct evhttp *otlp;		 /* otlp_http (collect_otlp.c) */
};

struct collector {
	struct collect_config *cfg;
	struct event_base *base;
	struct import_options iopt;
	struct import_stats istats;
	struct importer *imp;
	json_t *scope_map; /* correlator.scope_map, loaded */
	/* format mapper / regex inputs: their parsers' states, one per input (NULL otherwise) */
	void **parser_states;
	struct redactor *redactor;
	struct spool *spool;
	struct deliver **deliver;
	size_t nsinks;
	char **sink_labels; /* URIs without options or credentials, for metrics */
	struct input *inputs;
	size_t ninputs;

	/* events on their way to the spool: the batch being filled, then batches the spool could
	 * not take yet (full, or an I/O error): while there are any, the inputs are paused */
	struct strbuf batch;
	size_t batch_events;
	struct pending_batch *overflow_head, *overflow_tail;
	size_t overflow_count;
	bool paused;
	uint64_t pauses;
	bool suppress; /* the line being fed is replayed: its events were spooled before */

	uint64_t events_spooled, events_suppressed, batches_spooled, spool_full, spool_errors;
	uint64_t spool_gap_records, events_lost;
	uint64_t last_acked;
	int64_t last_progress_ns, pending_since_ns, started_ns;
	bool positions_moved;  /* file lines read since the last snapshot of the positions */
	bool checkpoint_dirty; /* a snapshot not written yet */

	int64_t blast_radius_last_ns; /* the last identity.blast_radius events */
	uint64_t blast_radius_events; /* istats.events right after them */

	uint64_t checkpoint_writes, checkpoint_failures;

	struct event *poll_timer, *tick_timer, *more_event;
	struct event *sig_term, *sig_int, *sig_hup;
	struct metrics_server *metrics;
	int lock_fd;
	bool stopping;
};

/* collect.c */
/* Feeds one line of in (source: the name its events carry; suppress: it is read again after a
 * restart and its events were spooled before). Returns the tap record kind (0: blank or bad).
 * When c->paused is set afterwards the spool takes no events now: the caller stops reading. */
int collect_feed(struct input *in, const char *source, const char *line, size_t len, bool suppress);
void collect_feed_oversized(struct input *in, const char *source, const char *prefix,
			    size_t prefix_len, uint64_t real_len, bool suppress);
/* After a line (and the caller's bookkeeping of it): spools the events batched so far when the
 * batch is big enough. false: paused, stop reading. */
bool collect_line_done(struct collector *c);
/* Hands the events batched so far to the spool (after each read). false: paused. */
bool collect_commit(struct collector *c);
void collect_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Every input ended (only standard input can): stop as on SIGTERM. */
void collect_inputs_ended(struct collector *c);

/* collect_status.c */
/* Notes when every sink last acknowledged more (from the tick and the endpoint). */
void collect_track_progress(struct collector *c, int64_t now);
/* GET /metrics and GET /health (metrics.h callbacks; ctx is the collector). /health is 503 when
 * events have waited more than health_stall_s without any being acknowledged. */
void collect_render_metrics(void *ctx, struct strbuf *out);
int collect_render_health(void *ctx, struct strbuf *out);

/* collect_inputs.c */
/* Binds listeners, opens standard input, prepares the tails (from their checkpoints). 0, or -1
 * with err naming the input. */
int inputs_start(struct collector *c, char *err, size_t errlen);
/* Reads what the files (and a polled standard input) have; true when a file has more at once. */
bool inputs_poll(struct collector *c);
/* Stop reading (back-pressure) / start again. */
void inputs_pause(struct collector *c);
void inputs_resume(struct collector *c);
/* SIGHUP. */
void inputs_reopen(struct collector *c);
/* SIGTERM: no more reading; complete lines already received on connections are fed. */
void inputs_stop(struct collector *c);
void inputs_free(struct collector *c);
/* The checkpoint of a file input now. false when it has none (not a file, nothing opened). */
bool input_checkpoint(struct input *in, struct file_checkpoint *out);

/* collect_captures.c: the capture_dir input (see there for what complete means) */
/* Prepares it from in->capture_state. 0, or -1 with err. */
int capture_dir_start(struct input *in, char *err, size_t errlen);
/* Lists the directory when due, feeds records of the file being read (a budget per call); true
 * when there is more to do at once. */
bool capture_dir_poll(struct input *in);
/* Everything fed so far is in the spool: the state to checkpoint now. */
void capture_dir_snapshot(struct input *in);
/* The last snapshot (borrowed; NULL: none). */
json_t *capture_dir_checkpoint(const struct input *in);
void capture_dir_free(struct input *in);

#endif
