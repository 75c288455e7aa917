/* What `mcptrail collect` tells about itself: /metrics (Prometheus) and /health. */
#include "collector/collect_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static bool pending_work(struct collector *c, const struct spool_stats *st)
{
	return st->acked_upto + 1 < st->next_id || c->overflow_head || c->batch.len;
}

/* Called from the tick and from /health: when the pipeline last made progress. */
void collect_track_progress(struct collector *c, int64_t now)
{
	struct spool_stats st;
	spool_stats(c->spool, &st);
	if (st.acked_upto > c->last_acked) {
		c->last_acked = st.acked_upto;
		c->last_progress_ns = now;
	}
	if (pending_work(c, &st)) {
		if (!c->pending_since_ns)
			c->pending_since_ns = now;
	} else {
		c->pending_since_ns = 0;
	}
}

int collect_render_health(void *ctx, struct strbuf *out)
{
	struct collector *c = ctx;
	int64_t now = clock_now_ns();
	collect_track_progress(c, now);
	struct spool_stats st;
	spool_stats(c->spool, &st);
	bool pending = pending_work(c, &st);
	int64_t since = c->last_progress_ns > c->pending_since_ns ? c->last_progress_ns
								  : c->pending_since_ns;
	int64_t waiting_ms = pending ? (now - since) / 1000000 : 0;
	double waiting = (double)waiting_ms / 1000;
	bool stalled = pending && waiting > c->cfg->health_stall_s;
	json_t *sinks = json_array();
	for (size_t i = 0; i < c->nsinks; i++) {
		struct deliver_stats ds;
		deliver_get_stats(c->deliver[i], &ds);
		json_t *s = json_pack("{si ss sb sI}", "sink", (int)i, "uri", c->sink_labels[i],
				      "up", ds.up, "events", (json_int_t)ds.events);
		if (!ds.up)
			json_object_set_new(s, "last_error", json_string(ds.last_error));
		json_array_append_new(sinks, s);
	}
	json_t *body = json_pack("{ss sI sI sb sI so}", "status",
				 stalled   ? "stalled"
				 : pending ? "ok"
					   : "idle",
				 "pending_batches",
				 (json_int_t)(st.next_id - 1 - st.acked_upto + c->overflow_count),
				 "events_spooled", (json_int_t)c->events_spooled, "inputs_paused",
				 c->paused, "waiting_ms", (json_int_t)waiting_ms, "sinks", sinks);
	char *text = json_dumps(body, JSON_COMPACT);
	strbuf_append_str(out, text ? text : "{}");
	strbuf_append(out, "\n", 1);
	free(text);
	json_decref(body);
	return stalled ? 503 : 200;
}

static void input_sample(struct strbuf *out, const char *name, const struct input *in,
			 uint64_t value)
{
	const char *labels[] = {"input", in->cfg->name, "type",
				config_input_type_name(in->cfg->type), NULL};
	prom_sample_u64(out, name, labels, value);
}

void collect_render_metrics(void *ctx, struct strbuf *out)
{
	struct collector *c = ctx;
	enum {
		ALL = (1 << (COLLECT_INPUT_OTLP_HTTP + 1)) - 1, /* every input type */
		FILE_ONLY = 1 << COLLECT_INPUT_FILE,
		DIR_ONLY = 1 << COLLECT_INPUT_CAPTURE_DIR,
		TCP_ONLY = 1 << COLLECT_INPUT_TCP,
		UDP_ONLY = 1 << COLLECT_INPUT_UDP,
	};
	static const struct {
		const char *name, *help;
		size_t offset;
		unsigned types;
	} input_counters[] = {
		{"mcptrail_input_lines_total", "Lines read (replayed ones included).",
		 offsetof(struct input, lines), ALL},
		{"mcptrail_input_bytes_total", "Bytes of the lines read.",
		 offsetof(struct input, bytes), ALL},
		{"mcptrail_input_records_total", "Tap records read.",
		 offsetof(struct input, records), ALL},
		{"mcptrail_input_bad_lines_total",
		 "Lines that were not tap records (oversized ones included).",
		 offsetof(struct input, bad_lines), ALL},
		{"mcptrail_input_oversized_lines_total", "Lines longer than max_line.",
		 offsetof(struct input, oversized), ALL},
		{"mcptrail_input_replayed_lines_total",
		 "Lines read again after a restart to rebuild the correlator's state.",
		 offsetof(struct input, replayed), FILE_ONLY | DIR_ONLY},
		{"mcptrail_input_files_finished_total",
		 "Files read to their end after a rotation (or truncation); captures of a "
		 "capture_dir fed to their end.",
		 offsetof(struct input, rotations_seen), FILE_ONLY | DIR_ONLY},
		{"mcptrail_input_connections_total", "TCP connections accepted.",
		 offsetof(struct input, connections_total), TCP_ONLY},
		{"mcptrail_input_connections_rejected_total",
		 "TCP connections refused (max_connections).",
		 offsetof(struct input, connections_rejected), TCP_ONLY},
		{"mcptrail_input_datagrams_total", "UDP datagrams received.",
		 offsetof(struct input, datagrams), UDP_ONLY},
	};
	prom_family(out, "mcptrail_up", "gauge", "1 while the collector runs.");
	prom_sample(out, "mcptrail_up", NULL, 1);
	prom_family(out, "mcptrail_start_time_seconds", "gauge", "When the collector started.");
	prom_sample(out, "mcptrail_start_time_seconds", NULL, (double)c->started_ns / 1e9);
	for (size_t k = 0; k < sizeof(input_counters) / sizeof(input_counters[0]); k++) {
		prom_family(out, input_counters[k].name, "counter", input_counters[k].help);
		for (size_t i = 0; i < c->ninputs; i++) {
			const struct input *in = &c->inputs[i];
			if (!(input_counters[k].types & (1u << in->cfg->type)))
				continue;
			input_sample(
				out, input_counters[k].name, in,
				*(const uint64_t *)((const char *)in + input_counters[k].offset));
		}
	}
	prom_family(out, "mcptrail_input_connections", "gauge", "TCP connections open.");
	for (size_t i = 0; i < c->ninputs; i++)
		if (c->inputs[i].cfg->type == COLLECT_INPUT_TCP)
			input_sample(out, "mcptrail_input_connections", &c->inputs[i],
				     c->inputs[i].connections);
	prom_family(out, "mcptrail_inputs_paused", "gauge",
		    "1 while the inputs wait for the spool to take events (back-pressure).");
	prom_sample(out, "mcptrail_inputs_paused", NULL, c->paused);
	prom_family(out, "mcptrail_input_pauses_total", "counter",
		    "Times the inputs paused because the spool took no more events.");
	prom_sample_u64(out, "mcptrail_input_pauses_total", NULL, c->pauses);

	prom_family(out, "mcptrail_events_total", "counter",
		    "Events made by the correlator (replayed ones included).");
	prom_sample_u64(out, "mcptrail_events_total", NULL, c->istats.events);
	prom_family(out, "mcptrail_events_spooled_total", "counter", "Events put in the spool.");
	prom_sample_u64(out, "mcptrail_events_spooled_total", NULL, c->events_spooled);
	prom_family(out, "mcptrail_events_replay_suppressed_total", "counter",
		    "Events made again while replaying after a restart, not spooled twice.");
	prom_sample_u64(out, "mcptrail_events_replay_suppressed_total", NULL, c->events_suppressed);
	prom_family(out, "mcptrail_events_lost_total", "counter",
		    "Events that could not be spooled at all (see the log).");
	prom_sample_u64(out, "mcptrail_events_lost_total", NULL, c->events_lost);

	static const char *const sink_families[][3] = {
		{"mcptrail_sink_events_total", "counter", "Events the sink acknowledged."},
		{"mcptrail_sink_failures_total", "counter",
		 "Writes or flushes that failed (each retry counts)."},
		{"mcptrail_sink_dropped_events_total", "counter",
		 "Events in batches the sink refused for good."},
		{"mcptrail_sink_unencodable_events_total", "counter",
		 "Events the sink's encoding cannot carry (skipped)."},
		{"mcptrail_sink_up", "gauge", "1 when the sink's last write worked."},
		{"mcptrail_sink_last_success_timestamp_seconds", "gauge",
		 "When the sink last acknowledged a batch (0: never)."},
	};
	for (size_t k = 0; k < sizeof(sink_families) / sizeof(sink_families[0]); k++) {
		prom_family(out, sink_families[k][0], sink_families[k][1], sink_families[k][2]);
		for (size_t i = 0; i < c->nsinks; i++) {
			struct deliver_stats ds;
			deliver_get_stats(c->deliver[i], &ds);
			char idx[24];
			snprintf(idx, sizeof(idx), "%zu", i);
			const char *labels[] = {"sink", idx, "uri", c->sink_labels[i], NULL};
			double v = k == 0   ? (double)ds.events
				   : k == 1 ? (double)ds.failures
				   : k == 2 ? (double)ds.dropped
				   : k == 3 ? (double)ds.unencodable
				   : k == 4 ? (double)ds.up
					    : (double)ds.last_ok_ns / 1e9;
			prom_sample(out, sink_families[k][0], labels, v);
		}
	}

	struct spool_stats st;
	spool_stats(c->spool, &st);
	prom_family(out, "mcptrail_spool_bytes", "gauge", "Bytes in the spool's segment files.");
	prom_sample_u64(out, "mcptrail_spool_bytes", NULL, st.bytes);
	prom_family(out, "mcptrail_spool_segments", "gauge", "Spool segment files.");
	prom_sample_u64(out, "mcptrail_spool_segments", NULL, st.segments);
	prom_family(out, "mcptrail_spool_pending_batches", "gauge",
		    "Spooled event batches not yet acknowledged by every sink.");
	prom_sample_u64(out, "mcptrail_spool_pending_batches", NULL,
			st.next_id - 1 - st.acked_upto);
	prom_family(out, "mcptrail_spool_dropped_batches_total", "counter",
		    "Spooled batches lost (full_policy drop_oldest, corrupt segments).");
	prom_sample_u64(out, "mcptrail_spool_dropped_batches_total", NULL, st.dropped_records);
	prom_family(out, "mcptrail_spool_full_total", "counter",
		    "Appends refused because the spool was at max_bytes.");
	prom_sample_u64(out, "mcptrail_spool_full_total", NULL, c->spool_full);
	prom_family(out, "mcptrail_spool_errors_total", "counter", "Appends that failed (I/O).");
	prom_sample_u64(out, "mcptrail_spool_errors_total", NULL, c->spool_errors);

	collect_track_progress(c, clock_now_ns());
	prom_family(out, "mcptrail_last_progress_timestamp_seconds", "gauge",
		    "When every sink last acknowledged more events (0: not yet in this run).");
	prom_sample(out, "mcptrail_last_progress_timestamp_seconds", NULL,
		    (double)c->last_progress_ns / 1e9);
	prom_family(out, "mcptrail_checkpoint_writes_total", "counter",
		    "Input checkpoints written.");
	prom_sample_u64(out, "mcptrail_checkpoint_writes_total", NULL, c->checkpoint_writes);
	prom_family(out, "mcptrail_checkpoint_failures_total", "counter",
		    "Input checkpoints that could not be written.");
	prom_sample_u64(out, "mcptrail_checkpoint_failures_total", NULL, c->checkpoint_failures);
}
