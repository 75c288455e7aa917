#include "collector/collect.h"
#include "collector/collect_internal.h"
#include "parsers/log_parser.h"

#include "collector/event.h"
#include "collector/jwt.h"
#include "collector/redact.h"
#include "sinks/encode.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (256u << 10) /* events per spool record, at most */
#define BATCH_EVENTS 1024
#define TICK_MS 1000
#define CHECKPOINT_FILE "checkpoints.json"

struct pending_batch {
	struct pending_batch *next;
	size_t len, events;
	char data[];
};

void collect_log(const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mcptrail collect: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail collect -c CONFIG [--check]\n"
		"       mcptrail collect --help-config\n"
		"  Runs the collector daemon: the inputs, correlation, the durable spool and the\n"
		"  sinks of CONFIG (JSON). --check validates CONFIG and exits: 0 when it is "
		"usable,\n"
		"  2 with one line per problem (file, JSON path, what was expected).\n"
		"  --help-config prints every configuration key with its type, default and "
		"meaning.\n"
		"  Signals: SIGHUP reopens input files and sinks; SIGTERM/SIGINT stop (exit 0).\n");
}

/* ---- events to the spool ---- */

/* 0: stored; 1: not now (full, I/O error): keep it; 2: can never be stored (dropped). */
static int spool_put(struct collector *c, const char *data, size_t len, size_t events)
{
	uint64_t id;
	int r = spool_append(c->spool, data, len, &id);
	if (r == SPOOL_OK) {
		c->events_spooled += events;
		c->batches_spooled++;
		for (size_t i = 0; i < c->nsinks; i++)
			deliver_wake(c->deliver[i]);
		return 0;
	}
	if (r == SPOOL_FULL) {
		c->spool_full++;
		return 1;
	}
	char why[256];
	spool_last_error(c->spool, why, sizeof(why));
	if (r == SPOOL_TOO_BIG) {
		c->events_lost += events;
		collect_log(
			"spool: a batch of %zu events (%zu bytes) can never fit (spool.max_bytes "
			"too small?): dropped",
			events, len);
		return 2;
	}
	if (c->spool_errors++ % 100 == 0)
		collect_log("spool: append failed: %s (inputs paused, retrying)", why);
	return 1;
}

static void push_overflow(struct collector *c, const char *data, size_t len, size_t events)
{
	struct pending_batch *b = malloc(sizeof(*b) + len);
	if (!b) {
		c->events_lost += events;
		collect_log("out of memory: %zu events lost", events);
		return;
	}
	b->next = NULL;
	b->len = len;
	b->events = events;
	memcpy(b->data, data, len);
	if (c->overflow_tail)
		c->overflow_tail->next = b;
	else
		c->overflow_head = b;
	c->overflow_tail = b;
	c->overflow_count++;
}

/* Every file input's position now counts as delivered: all events of the lines read so far are
 * in the spool (called only between lines, with nothing waiting for the spool). */
static void snapshot_positions(struct collector *c)
{
	if (!c->positions_moved)
		return;
	c->positions_moved = false;
	for (size_t i = 0; i < c->ninputs; i++) {
		struct file_checkpoint cp;
		if (c->inputs[i].cfg->type == COLLECT_INPUT_CAPTURE_DIR) {
			capture_dir_snapshot(&c->inputs[i]);
			c->checkpoint_dirty = true;
		} else if (input_checkpoint(&c->inputs[i], &cp)) {
			c->inputs[i].saved = cp;
			c->checkpoint_dirty = true;
		}
	}
}

bool collect_commit(struct collector *c)
{
	importer_flush(c->imp); /* frees the importer's copies (it has no sinks of its own) */
	/* the batch goes in records of about BATCH_BYTES, cut between events */
	const char *p = c->batch.data, *end = p + c->batch.len;
	while (p < end) {
		const char *cut = p;
		size_t events = 0;
		while (cut < end && (events == 0 || (size_t)(cut - p) < BATCH_BYTES)) {
			const char *nl = memchr(cut, '\n', (size_t)(end - cut));
			cut = nl ? nl + 1 : end;
			events++;
		}
		if (c->overflow_head || spool_put(c, p, (size_t)(cut - p), events) == 1)
			push_overflow(c, p, (size_t)(cut - p), events);
		p = cut;
	}
	strbuf_reset(&c->batch);
	c->batch_events = 0;
	if (c->batch.cap > (8u << 20))
		strbuf_free(&c->batch);
	if (!c->overflow_head) {
		snapshot_positions(c);
		return true;
	}
	if (!c->paused) {
		c->paused = true;
		c->pauses++;
		inputs_pause(c);
		if (c->pauses == 1 || c->pauses % 1000 == 0)
			collect_log(
				"the spool takes no more events for now: inputs paused (%llu times "
				"so far; see mcptrail_inputs_paused)",
				(unsigned long long)c->pauses);
	}
	return false;
}

/* Batches the spool refused, again, in order; the inputs go on once they are all in. */
static void retry_overflow(struct collector *c)
{
	while (c->overflow_head) {
		struct pending_batch *b = c->overflow_head;
		if (spool_put(c, b->data, b->len, b->events) == 1)
			return;
		c->overflow_head = b->next;
		if (!c->overflow_head)
			c->overflow_tail = NULL;
		c->overflow_count--;
		free(b);
	}
	if (c->paused && !c->stopping) {
		snapshot_positions(c);
		c->paused = false;
		if (c->pauses == 1)
			collect_log("the spool takes events again: inputs resumed");
		inputs_resume(c);
	}
}

/* The importer's observer: every event, while the line that caused it is being fed. */
static void on_event(void *ctx, json_t *ev)
{
	struct collector *c = ctx;
	if (c->suppress) {
		c->events_suppressed++;
		return;
	}
	size_t mark = c->batch.len;
	if (encode_event(ENCODING_JSON, ev, &c->batch) != 0 || !strbuf_append(&c->batch, "\n", 1)) {
		c->batch.len = mark;
		c->events_lost++;
		return;
	}
	c->batch_events++; /* spooled after the line (collect_feed): checkpoints fall between lines
			    */
}

int collect_feed(struct input *in, const char *source, const char *line, size_t len, bool suppress)
{
	struct collector *c = in->c;
	uint64_t bad = c->istats.bad_lines, records = c->istats.records;
	c->suppress = suppress;
	const char *format = in->cfg->format;
	if (format && strcmp(format, "tap") != 0) {
		const struct log_parser *lp = log_parser_find(format);
		if (lp && lp->state_new)
			import_source_parser(c->imp, source, lp,
					     c->parser_states[in->cfg - c->cfg->inputs]);
		else
			import_source_format(c->imp, source, format);
	}
	int kind = import_feed_line(c->imp, line, len, source);
	c->suppress = false;
	in->lines++;
	in->bytes += len + 1;
	in->bad_lines += c->istats.bad_lines - bad;
	in->records += c->istats.records - records;
	if (suppress)
		in->replayed++;
	if (in->cfg->type == COLLECT_INPUT_FILE)
		c->positions_moved = true;
	return kind < 0 ? 0 : kind;
}

void collect_feed_oversized(struct input *in, const char *source, const char *prefix,
			    size_t prefix_len, uint64_t real_len, bool suppress)
{
	struct collector *c = in->c;
	c->suppress = suppress;
	import_feed_oversized(c->imp, prefix, prefix_len, real_len, source);
	c->suppress = false;
	in->lines++;
	in->bytes += real_len + 1;
	in->bad_lines++;
	in->oversized++;
	if (suppress)
		in->replayed++;
	if (in->cfg->type == COLLECT_INPUT_FILE)
		c->positions_moved = true;
}

bool collect_line_done(struct collector *c)
{
	if (c->batch.len >= BATCH_BYTES || c->batch_events >= BATCH_EVENTS)
		collect_commit(c);
	return !c->paused;
}

/* Events the spool dropped (full_policy drop_oldest, a corrupt segment) become an in-band
 * ingest.error event. */
static void report_spool_gap(struct collector *c)
{
	uint64_t records, bytes;
	if (!spool_take_gap(c->spool, &records, &bytes))
		return;
	c->spool_gap_records += records;
	char reason[256], source[600];
	snprintf(reason, sizeof(reason),
		 "spool lost %llu batches of events (%llu bytes) before every sink had them",
		 (unsigned long long)records, (unsigned long long)bytes);
	snprintf(source, sizeof(source), "spool:%s", c->cfg->spool_dir);
	collect_log("%s", reason);
	json_t *ev = event_ingest_error(source, 0, c->spool_gap_records, reason, "", 0, bytes,
					clock_now_ns());
	on_event(c, ev);
	json_decref(ev);
	collect_commit(c);
}

/* ---- checkpoints ---- */

static json_t *pos_to_json(const struct tail_pos *p)
{
	return json_pack("{sI sI sI sI}", "dev", (json_int_t)p->dev, "ino", (json_int_t)p->ino,
			 "offset", (json_int_t)p->offset, "line", (json_int_t)p->line);
}

static bool pos_from_json(json_t *o, struct tail_pos *p)
{
	json_int_t dev, ino, offset, line;
	if (!o ||
	    json_unpack(o, "{sI sI sI sI}", "dev", &dev, "ino", &ino, "offset", &offset, "line",
			&line) != 0 ||
	    dev < 0 || ino < 0 || offset < 0 || line < 0)
		return false;
	*p = (struct tail_pos){(uint64_t)dev, (uint64_t)ino, (uint64_t)offset, (uint64_t)line};
	return true;
}

static void load_checkpoints(struct collector *c)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", c->cfg->state_dir, CHECKPOINT_FILE);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) == 0)
			collect_log("%s: unreadable (%s): files are read from their start", path,
				    jerr.text);
		return;
	}
	json_t *files = json_object_get(root, "files");
	json_t *captures = json_object_get(root, "capture_dirs");
	for (size_t i = 0; i < c->ninputs; i++) {
		struct input *in = &c->inputs[i];
		if (in->cfg->type == COLLECT_INPUT_CAPTURE_DIR) {
			json_t *st = json_object_get(captures, in->cfg->path);
			in->capture_state = json_is_object(st) ? json_incref(st) : NULL;
			continue;
		}
		if (in->cfg->type != COLLECT_INPUT_FILE)
			continue;
		json_t *f = json_object_get(files, in->cfg->path);
		struct file_checkpoint cp = {0};
		if (!f)
			continue;
		if (!pos_from_json(json_object_get(f, "delivered"), &cp.delivered) ||
		    !pos_from_json(json_object_get(f, "replay"), &cp.replay)) {
			collect_log("%s: the checkpoint of %s is malformed: read from its start",
				    path, in->cfg->path);
			continue;
		}
		cp.valid = true;
		in->resume = cp;
		in->saved = cp;
	}
	json_decref(root);
}

/* Writes the file inputs' last snapshots (positions whose lines' events are all spooled). */
static void save_checkpoints(struct collector *c)
{
	json_t *files = json_object(), *captures = json_object();
	for (size_t i = 0; i < c->ninputs; i++) {
		const struct file_checkpoint *cp = &c->inputs[i].saved;
		json_t *dir = c->inputs[i].cfg->type == COLLECT_INPUT_CAPTURE_DIR
				      ? capture_dir_checkpoint(&c->inputs[i])
				      : NULL;
		if (dir)
			json_object_set(captures, c->inputs[i].cfg->path, dir);
		if (c->inputs[i].cfg->type != COLLECT_INPUT_FILE || !cp->valid)
			continue;
		json_object_set_new(files, c->inputs[i].cfg->path,
				    json_pack("{so so}", "delivered", pos_to_json(&cp->delivered),
					      "replay", pos_to_json(&cp->replay)));
	}
	json_t *root =
		json_pack("{si so so}", "version", 1, "files", files, "capture_dirs", captures);
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", c->cfg->state_dir, CHECKPOINT_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	bool ok = false;
	int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	if (fd >= 0) {
		size_t len = strlen(text), done = 0;
		while (done < len) {
			ssize_t w = write(fd, text + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			done += (size_t)w;
		}
		ok = done == len && (!c->cfg->spool_fsync || fsync(fd) == 0);
		ok = close(fd) == 0 && ok;
		ok = ok && rename(tmp, path) == 0;
		if (ok && c->cfg->spool_fsync) {
			int dfd = open(c->cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	free(text);
	if (ok) {
		c->checkpoint_writes++;
		c->checkpoint_dirty = false;
	} else if (c->checkpoint_failures++ % 60 == 0) {
		collect_log("%s: cannot write the checkpoints: %s", path, strerror(errno));
	}
}

/* ---- the loop ---- */

static void begin_stop(struct collector *c, const char *why)
{
	if (c->stopping)
		return;
	c->stopping = true;
	collect_log("%s: stopping", why);
	event_base_loopbreak(c->base);
}

void collect_inputs_ended(struct collector *c)
{
	begin_stop(c, "every input ended");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct collector *c = arg;
	(void)what;
	if (sig == SIGHUP) {
		collect_log("SIGHUP: reopening input files and sinks");
		inputs_reopen(c);
		for (size_t i = 0; i < c->nsinks; i++)
			deliver_reopen(c->deliver[i]);
		return;
	}
	begin_stop(c, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	(void)fd;
	(void)what;
	if (c->stopping)
		return;
	retry_overflow(c);
	if (!c->paused && inputs_poll(c)) {
		/* more at once, but after a turn of the loop: a zero timeout, not event_active(),
		 * which runs it again before timers and sockets (the tick, its checkpoints and
		 * /metrics would wait until the whole backlog is read) */
		static const struct timeval now = {0, 0};
		event_add(c->more_event, &now);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	(void)fd;
	(void)what;
	retry_overflow(c);
	report_spool_gap(c);
	if (!c->stopping) {
		importer_tick(c->imp, clock_now_ns()); /* gateway lines that waited too long */
		if (c->batch_events)
			collect_commit(c);
	}
	int64_t now = clock_now_ns();
	collect_track_progress(c, now);
	double every = c->cfg->blast_radius_interval_s;
	if (every > 0 && !c->paused) {
		if (!c->blast_radius_last_ns)
			c->blast_radius_last_ns = now;
		else if (now - c->blast_radius_last_ns >= (int64_t)(every * 1e9) &&
			 c->istats.events > c->blast_radius_events) {
			/* only when something new came in: the same input gives the same events */
			c->blast_radius_last_ns = now;
			importer_emit_blast_radius(c->imp);
			c->blast_radius_events = c->istats.events;
			collect_commit(c);
		}
	}
	if (c->checkpoint_dirty)
		save_checkpoints(c);
}

/* ---- start and stop ---- */

/* file: sinks append in the daemon (a restart must not wipe the trail) unless told otherwise. */
static char *daemon_sink_uri(const char *uri)
{
	if (strncmp(uri, "file:", 5) != 0 || strcmp(uri, "file:-") == 0)
		return strdup(uri);
	const char *q = strchr(uri + 5, '?');
	bool query = q && strchr(q, '=');
	if (q && !query)
		return strdup(uri); /* a '?' in the file name: leave it alone */
	if (query && (strstr(q, "?mode=") || strstr(q, "&mode=")))
		return strdup(uri);
	char *s = NULL;
	if (asprintf(&s, "%s%smode=append", uri, query ? "&" : "?") < 0)
		return NULL;
	return s;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int rc = mkdir(copy, mode) != 0 && errno != EEXIST ? -1 : 0;
	free(copy);
	return rc;
}

static void spool_report(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "mcptrail collect: spool: %s\n", message);
}

/* Everything up to the loop. 0, or -1 after saying why (with the configuration path). */
static int start(struct collector *c)
{
	const struct collect_config *cfg = c->cfg;
	char err[1024];
	if (mkdir_p(cfg->state_dir, 0700) != 0) {
		collect_log("%s: state_dir: cannot create %s: %s", cfg->source, cfg->state_dir,
			    strerror(errno));
		return -1;
	}
	char lock_path[4200];
	snprintf(lock_path, sizeof(lock_path), "%s/collect.lock", cfg->state_dir);
	c->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		collect_log("%s: state_dir: %s is in use by another mcptrail collect (%s)",
			    cfg->source, cfg->state_dir, strerror(errno));
		return -1;
	}
	unsigned char key[32];
	if (token_fingerprint_key_load(cfg->fingerprint_key, key, err, sizeof(err)) != 0) {
		collect_log("%s: identity.fingerprint_key: %s", cfg->source, err);
		return -1;
	}
	explicit_bzero(key, sizeof(key));
	struct redact_rule_spec *rules = calloc(cfg->nrules + 1, sizeof(*rules));
	if (!rules)
		return -1;
	for (size_t i = 0; i < cfg->nrules; i++)
		rules[i] = (struct redact_rule_spec){cfg->rules[i].name, cfg->rules[i].pattern,
						     cfg->rules[i].replacement};
	c->redactor = redactor_new(rules, cfg->nrules, err, sizeof(err));
	free(rules);
	if (!c->redactor) {
		collect_log("%s: redaction.rules: %s", cfg->source, err);
		return -1;
	}

	struct spool_config sc = {
		.dir = cfg->spool_dir,
		.segment_bytes = cfg->spool_segment_bytes,
		.max_bytes = cfg->spool_max_bytes,
		.full_policy = cfg->spool_full_policy == COLLECT_FULL_DROP_OLDEST
				       ? SPOOL_DROP_OLDEST
				       : SPOOL_BLOCK,
		.nsinks = (unsigned)cfg->nsinks,
		.fsync = cfg->spool_fsync,
		.report = spool_report,
	};
	c->spool = spool_open(&sc, err, sizeof(err));
	if (!c->spool) {
		collect_log("%s: spool.dir: %s", cfg->source, err);
		return -1;
	}
	struct spool_stats st;
	spool_stats(c->spool, &st);
	c->last_acked = st.acked_upto;
	if (st.acked_upto + 1 < st.next_id)
		collect_log("spool: %llu batches from the last run to deliver",
			    (unsigned long long)(st.next_id - 1 - st.acked_upto));

	c->deliver = calloc(cfg->nsinks, sizeof(*c->deliver));
	c->sink_labels = calloc(cfg->nsinks, sizeof(*c->sink_labels));
	if (!c->deliver || !c->sink_labels)
		return -1;
	for (size_t i = 0; i < cfg->nsinks; i++) {
		char *uri = daemon_sink_uri(cfg->sinks[i].uri);
		c->sink_labels[i] = sink_uri_label(cfg->sinks[i].uri);
		struct sink *s =
			uri ? sink_open_encoded(uri, (enum event_encoding)cfg->sinks[i].encode, err,
						sizeof(err))
			    : NULL;
		if (!s) {
			/* the sink names the URI it was given: name the configured one */
			size_t n = uri ? strlen(uri) : 0;
			bool renamed = uri && strncmp(err, uri, n) == 0;
			collect_log("%s: sinks[%zu].uri: %s%s", cfg->source, i,
				    renamed ? cfg->sinks[i].uri : "",
				    !uri      ? "out of memory"
				    : renamed ? err + n
					      : err);
			free(uri);
			return -1;
		}
		c->deliver[i] =
			deliver_start(c->spool, (unsigned)i, s, uri,
				      (enum event_encoding)cfg->sinks[i].encode, err, sizeof(err));
		free(uri);
		if (!c->deliver[i]) {
			collect_log("sinks[%zu]: %s", i, err);
			return -1;
		}
		c->nsinks++;
	}

	import_options_defaults(&c->iopt);
	c->iopt.format = "tap";
	c->iopt.fingerprint_key = cfg->fingerprint_key;
	c->iopt.jwks = cfg->jwks;
	c->iopt.observer = on_event;
	c->iopt.observer_ctx = c;
	c->iopt.correlator.request_timeout_ns = (int64_t)(cfg->request_timeout_s * 1e9);
	c->iopt.correlator.task_timeout_ns = (int64_t)(cfg->task_timeout_s * 1e9);
	c->iopt.correlator.max_pending = cfg->max_pending;
	c->iopt.correlator.invalid_events_per_stream = (unsigned)cfg->invalid_events_per_stream;
	c->iopt.correlator.redactor = c->redactor;
	c->iopt.correlator.arguments_cap = cfg->arguments_cap;
	c->iopt.correlator.merge_window_ns = (int64_t)cfg->merge_window_ms * 1000000;
	c->iopt.correlator.max_hold_ns = (int64_t)(cfg->max_hold_s * 1e9);
	c->iopt.correlator.max_wait_ns = (int64_t)(cfg->max_wait_s * 1e9);
	c->iopt.correlator.max_sampling_depth = (unsigned)cfg->max_sampling_depth;
	if (cfg->scope_map) {
		json_error_t jerr;
		c->scope_map = json_load_file(cfg->scope_map, 0, &jerr);
		if (!json_is_object(c->scope_map)) {
			collect_log("%s: correlator.scope_map: %s: %s", cfg->source, cfg->scope_map,
				    jerr.text);
			return -1;
		}
		c->iopt.correlator.scope_map = c->scope_map;
	}
	c->iopt.blast_radius = cfg->blast_radius_interval_s > 0;
	c->imp = importer_new(&c->iopt, &c->istats);
	if (!c->imp)
		return -1;
	c->parser_states = calloc(cfg->ninputs + 1, sizeof(void *));
	if (!c->parser_states)
		return -1;
	for (size_t i = 0; i < cfg->ninputs; i++) {
		const struct collect_input *in = &cfg->inputs[i];
		const struct log_parser *lp = in->format ? log_parser_find(in->format) : NULL;
		if (!lp || !lp->state_new)
			continue;
		json_error_t jerr;
		json_t *doc = json_load_file(in->parser_config, 0, &jerr);
		char perr[512] = "";
		c->parser_states[i] =
			doc ? lp->state_new(doc, in->parser_config, perr, sizeof(perr)) : NULL;
		json_decref(doc);
		if (!c->parser_states[i]) {
			collect_log("%s: inputs[%zu].parser_config: %s", cfg->source, i,
				    doc ? perr : jerr.text);
			return -1;
		}
	}

	c->base = event_base_new();
	if (!c->base)
		return -1;
	c->inputs = calloc(cfg->ninputs, sizeof(*c->inputs));
	if (!c->inputs)
		return -1;
	c->ninputs = cfg->ninputs;
	for (size_t i = 0; i < cfg->ninputs; i++)
		c->inputs[i] = (struct input){.c = c, .cfg = &cfg->inputs[i], .index = i, .fd = -1};
	load_checkpoints(c);
	if (inputs_start(c, err, sizeof(err)) != 0) {
		collect_log("%s: %s", cfg->source, err);
		return -1;
	}
	if (cfg->metrics_listen &&
	    !(c->metrics = metrics_start(c->base, cfg->metrics_listen, collect_render_metrics,
					 collect_render_health, c, err, sizeof(err)))) {
		collect_log("%s: metrics.listen: %s", cfg->source, err);
		return -1;
	}

	uint64_t poll_ms = 1000;
	for (size_t i = 0; i < cfg->ninputs; i++)
		if ((cfg->inputs[i].type == COLLECT_INPUT_FILE ||
		     cfg->inputs[i].type == COLLECT_INPUT_CAPTURE_DIR) &&
		    cfg->inputs[i].poll_ms < poll_ms)
			poll_ms = cfg->inputs[i].poll_ms;
	struct timeval poll_tv = {(time_t)(poll_ms / 1000), (suseconds_t)(poll_ms % 1000) * 1000};
	struct timeval tick_tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};
	c->poll_timer = event_new(c->base, -1, EV_PERSIST, on_poll, c);
	c->more_event = event_new(c->base, -1, 0, on_poll, c);
	c->tick_timer = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	c->sig_term = evsignal_new(c->base, SIGTERM, on_signal, c);
	c->sig_int = evsignal_new(c->base, SIGINT, on_signal, c);
	c->sig_hup = evsignal_new(c->base, SIGHUP, on_signal, c);
	if (!c->poll_timer || !c->more_event || !c->tick_timer || !c->sig_term || !c->sig_int ||
	    !c->sig_hup || event_add(c->poll_timer, &poll_tv) != 0 ||
	    event_add(c->tick_timer, &tick_tv) != 0 || event_add(c->sig_term, NULL) != 0 ||
	    event_add(c->sig_int, NULL) != 0 || event_add(c->sig_hup, NULL) != 0)
		return -1;
	event_active(c->more_event, EV_TIMEOUT, 0); /* read the files at once */
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* After the loop: spool what was read, checkpoint, let the sinks deliver for a while. */
static void drain(struct collector *c)
{
	inputs_stop(c);
	importer_release_held(c->imp); /* gateway lines past which the checkpoints are */
	collect_commit(c);
	int64_t deadline = clock_now_ns() + (int64_t)(c->cfg->shutdown_drain_s * 1e9);
	c->paused = true; /* no resume from here on */
	while (c->overflow_head && clock_now_ns() < deadline) {
		retry_overflow(c);
		if (c->overflow_head)
			sleep_ms(50);
	}
	report_spool_gap(c);
	if (c->overflow_head)
		collect_log("%zu batches of events could not be spooled before the stop: their "
			    "file lines are read again at the next start",
			    c->overflow_count);
	else
		snapshot_positions(c);
	save_checkpoints(c);
	struct spool_stats st;
	for (;;) {
		spool_stats(c->spool, &st);
		if (st.acked_upto + 1 >= st.next_id || clock_now_ns() >= deadline)
			break;
		sleep_ms(20);
	}
	if (st.acked_upto + 1 < st.next_id)
		collect_log("%llu spooled batches not delivered to every sink yet: they are "
			    "delivered after the next start",
			    (unsigned long long)(st.next_id - 1 - st.acked_upto));
}

static int stop(struct collector *c)
{
	int rc = 0;
	for (size_t i = 0; i < c->nsinks; i++)
		if (deliver_stop(c->deliver[i]) != 0)
			collect_log("sink %zu (%s): did not close cleanly", i, c->sink_labels[i]);
	free(c->deliver);
	metrics_stop(c->metrics);
	importer_free(c->imp); /* what the correlator holds is rebuilt at the next start */
	for (size_t i = 0; c->parser_states && i < c->cfg->ninputs; i++) {
		const struct log_parser *lp = log_parser_find(c->cfg->inputs[i].format);
		if (c->parser_states[i] && lp && lp->state_free)
			lp->state_free(c->parser_states[i]);
	}
	free(c->parser_states);
	json_decref(c->scope_map);
	if (c->inputs)
		inputs_free(c);
	free(c->inputs);
	while (c->overflow_head) {
		struct pending_batch *b = c->overflow_head;
		c->overflow_head = b->next;
		free(b);
	}
	strbuf_free(&c->batch);
	spool_close(c->spool);
	struct event *evs[] = {c->poll_timer, c->more_event, c->tick_timer,
			       c->sig_term,   c->sig_int,    c->sig_hup};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (c->base)
		event_base_free(c->base);
	redactor_free(c->redactor);
	for (size_t i = 0; c->sink_labels && i < c->cfg->nsinks; i++)
		free(c->sink_labels[i]);
	free(c->sink_labels);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	return rc;
}

int collect_main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool check = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "mcptrail collect: %s needs a file\n", argv[i]);
				return 2;
			}
			config_path = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "--help-config") == 0) {
			config_write_reference(stdout);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "mcptrail collect: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!config_path) {
		fprintf(stderr, "mcptrail collect: -c CONFIG is required\n");
		usage(stderr);
		return 2;
	}
	struct strbuf errors = STRBUF_INIT;
	struct collect_config *cfg = config_load_file(config_path, &errors);
	if (!cfg) {
		fputs(errors.data ? errors.data : "mcptrail collect: bad configuration\n", stderr);
		strbuf_free(&errors);
		return 2;
	}
	strbuf_free(&errors);
	if (check) {
		printf("%s: ok (%zu inputs, %zu sinks)\n", config_path, cfg->ninputs, cfg->nsinks);
		config_free(cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	struct collector c = {.cfg = cfg, .lock_fd = -1};
	c.started_ns = clock_now_ns();
	int rc = 0;
	if (start(&c) != 0) {
		rc = 2;
	} else {
		collect_log("running: %zu inputs, %zu sinks, state in %s", cfg->ninputs,
			    cfg->nsinks, cfg->state_dir);
		event_base_dispatch(c.base);
		c.stopping = true;
		drain(&c);
		collect_log(
			"stopped: %llu lines, %llu records, %llu events spooled, %llu bad lines",
			(unsigned long long)c.istats.lines, (unsigned long long)c.istats.records,
			(unsigned long long)c.events_spooled,
			(unsigned long long)c.istats.bad_lines);
	}
	if (stop(&c) != 0 && rc == 0)
		rc = 1;
	config_free(cfg);
	return rc;
}
