#include "collector/deliver.h"

#include "collector/util.h"
#include "sinks/encode.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_EVENTS 1024
#define BATCH_BYTES (1u << 20)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IDLE_WAIT_MS 500

struct deliver {
	struct spool *sp;
	unsigned index;
	struct sink *sink; /* NULL while it cannot be opened */
	char *uri;
	char *label; /* the URI as logs show it */
	enum event_encoding encoding;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, wake, reopen;
	struct deliver_stats st; /* under lock */
	unsigned backoff_ms;
	/* the batch in hand (thread only) */
	json_t **events;
	size_t nevents, cap_events;
	struct sink_record *recs;
	size_t *offsets;
	struct strbuf encoded;
	uint64_t unencodable; /* in the batch in hand */
};

char *sink_uri_label(const char *uri)
{
	char *s = strndup(uri, strcspn(uri, "?"));
	if (!s)
		return NULL;
	char *auth = strstr(s, "://");
	if (auth) {
		auth += 3;
		char *at = strchr(auth, '@');
		char *slash = strchr(auth, '/');
		if (at && (!slash || at < slash))
			memmove(auth, at + 1, strlen(at + 1) + 1);
	}
	return s;
}

static void log_line(struct deliver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(struct deliver *d, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mcptrail collect: sink %u (%s): %s\n", d->index, d->label, msg);
}

/* Waits up to ms for a wake, a stop or a reopen. */
static void wait_ms(struct deliver *d, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	while (!d->stop && !d->wake && !d->reopen)
		if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) != 0)
			break;
	d->wake = false;
	pthread_mutex_unlock(&d->lock);
}

static void release_batch(struct deliver *d)
{
	for (size_t i = 0; i < d->nevents; i++)
		json_decref(d->events[i]);
	d->nevents = 0;
	strbuf_reset(&d->encoded);
	if (d->encoded.cap > (8u << 20))
		strbuf_free(&d->encoded);
}

static bool push_event(struct deliver *d, json_t *ev)
{
	if (d->nevents == d->cap_events) {
		size_t cap = d->cap_events ? d->cap_events * 2 : BATCH_EVENTS * 2;
		json_t **ne = realloc(d->events, cap * sizeof(*ne));
		struct sink_record *nr = realloc(d->recs, cap * sizeof(*nr));
		if (ne)
			d->events = ne;
		if (nr)
			d->recs = nr;
		size_t *no = realloc(d->offsets, cap * sizeof(*no));
		if (no)
			d->offsets = no;
		if (!ne || !nr || !no)
			return false;
		d->cap_events = cap;
	}
	size_t mark = d->encoded.len;
	if (encode_event(d->encoding, ev, &d->encoded) != 0) {
		json_decref(ev);
		d->unencodable++;
		return true;
	}
	d->offsets[d->nevents] = mark;
	d->recs[d->nevents] = (struct sink_record){ev, NULL, d->encoded.len - mark};
	d->events[d->nevents++] = ev;
	return true;
}

/* Reads spool records for this sink into the batch. Returns the id of the last record read (0:
 * none). */
static uint64_t read_batch(struct deliver *d, uint64_t *unparsable)
{
	uint64_t last = 0;
	while (d->nevents < BATCH_EVENTS && d->encoded.len < BATCH_BYTES) {
		uint64_t id;
		const void *rec;
		size_t len;
		int r = spool_read(d->sp, d->index, &id, &rec, &len);
		if (r != SPOOL_OK) {
			if (r < 0) {
				char why[256];
				spool_last_error(d->sp, why, sizeof(why));
				log_line(d, "spool read failed: %s", why);
			}
			break;
		}
		last = id;
		const char *p = rec, *end = p + len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (n > 0) {
				json_t *ev = json_loadb(p, n, 0, NULL);
				if (!ev || !json_is_object(ev)) {
					json_decref(ev);
					(*unparsable)++;
				} else if (!push_event(d, ev)) {
					json_decref(ev);
					(*unparsable)++;
				}
			}
			p += n + 1;
		}
	}
	for (size_t i = 0; i < d->nevents; i++)
		d->recs[i].payload = d->encoded.data + d->offsets[i];
	return last;
}

static void set_failure(struct deliver *d, enum sink_result r)
{
	pthread_mutex_lock(&d->lock);
	bool was_up = d->st.up;
	d->st.failures++;
	d->st.up = false;
	d->st.last_failure_ns = clock_now_ns();
	snprintf(d->st.last_error, sizeof(d->st.last_error), "%s: %.230s", sink_result_name(r),
		 d->sink ? d->sink->last_error : "not open");
	pthread_mutex_unlock(&d->lock);
	if (was_up)
		log_line(d, "%s: %s (retrying; events stay in the spool)", sink_result_name(r),
			 d->sink ? d->sink->last_error : "not open");
}

static void reopen_sink(struct deliver *d)
{
	char err[512];
	if (d->sink)
		sink_close(d->sink);
	d->sink = sink_open_encoded(d->uri, d->encoding, err, sizeof(err));
	pthread_mutex_lock(&d->lock);
	d->st.reopens++;
	if (!d->sink) {
		d->st.up = false;
		snprintf(d->st.last_error, sizeof(d->st.last_error), "open: %.240s", err);
	}
	pthread_mutex_unlock(&d->lock);
	if (!d->sink)
		log_line(d, "cannot open it again: %s (retrying)", err);
}

static void *run(void *arg)
{
	struct deliver *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->lock);
		bool stop = d->stop, reopen = d->reopen;
		d->reopen = false;
		pthread_mutex_unlock(&d->lock);
		if (stop)
			break;
		if (reopen || !d->sink) {
			reopen_sink(d);
			if (!d->sink) {
				wait_ms(d, d->backoff_ms);
				d->backoff_ms = d->backoff_ms * 2 > BACKOFF_MAX_MS
							? BACKOFF_MAX_MS
							: d->backoff_ms * 2;
				continue;
			}
		}
		uint64_t unparsable = 0;
		uint64_t last = read_batch(d, &unparsable);
		if (last == 0) {
			pthread_mutex_lock(&d->lock);
			d->st.caught_up = true;
			pthread_mutex_unlock(&d->lock);
			wait_ms(d, IDLE_WAIT_MS);
			continue;
		}
		enum sink_result r = SINK_OK;
		if (d->nevents > 0) {
			r = sink_write_batch(d->sink, d->recs, d->nevents);
			if (r == SINK_QUEUED || r == SINK_OK)
				r = sink_flush(d->sink); /* durable (fsync, delivery reports) */
		}
		size_t n = d->nevents;
		release_batch(d);
		if (r != SINK_OK && r != SINK_DROP)
			d->unencodable = 0; /* the same records come again */
		if (r == SINK_OK || r == SINK_DROP) {
			if (spool_ack(d->sp, d->index, last) != SPOOL_OK) {
				char why[256];
				spool_last_error(d->sp, why, sizeof(why));
				log_line(d, "spool acknowledgement failed: %s", why);
			}
			pthread_mutex_lock(&d->lock);
			d->st.unparsable += unparsable;
			d->st.unencodable += d->unencodable;
			if (r == SINK_OK) {
				d->st.events += n;
				d->st.batches++;
				d->st.last_ok_ns = clock_now_ns();
				if (!d->st.up)
					fprintf(stderr,
						"mcptrail collect: sink %u (%s): delivering "
						"again\n",
						d->index, d->label);
				d->st.up = true;
			} else {
				d->st.dropped += n;
				d->st.failures++;
			}
			pthread_mutex_unlock(&d->lock);
			if (r == SINK_DROP)
				log_line(d, "dropped a batch of %zu events it can never take: %s",
					 n, d->sink->last_error);
			d->unencodable = 0;
			d->backoff_ms = BACKOFF_MIN_MS;
			continue;
		}
		/* not taken: the same records again after a pause */
		set_failure(d, r);
		spool_rewind(d->sp, d->index);
		pthread_mutex_lock(&d->lock);
		d->st.caught_up = false;
		if (r == SINK_ERROR)
			d->reopen = true;
		pthread_mutex_unlock(&d->lock);
		wait_ms(d, d->backoff_ms);
		d->backoff_ms =
			d->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d->backoff_ms * 2;
	}
	return NULL;
}

struct deliver *deliver_start(struct spool *sp, unsigned index, struct sink *sink_take,
			      const char *uri, enum event_encoding encoding, char *err,
			      size_t errlen)
{
	struct deliver *d = calloc(1, sizeof(*d));
	if (!d || !(d->uri = strdup(uri)) || !(d->label = sink_uri_label(uri))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	d->sp = sp;
	d->index = index;
	d->sink = sink_take;
	d->encoding = encoding;
	d->backoff_ms = BACKOFF_MIN_MS;
	d->st.up = true;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&d->lock, NULL);
	if (pthread_create(&d->thread, NULL, run, d) != 0) {
		snprintf(err, errlen, "cannot start a thread for %s", d->label);
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		goto fail;
	}
	return d;
fail:
	sink_close(sink_take);
	if (d) {
		free(d->uri);
		free(d->label);
	}
	free(d);
	return NULL;
}

void deliver_wake(struct deliver *d)
{
	pthread_mutex_lock(&d->lock);
	d->wake = true;
	d->st.caught_up = false;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void deliver_reopen(struct deliver *d)
{
	pthread_mutex_lock(&d->lock);
	d->reopen = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void deliver_get_stats(struct deliver *d, struct deliver_stats *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->st;
	pthread_mutex_unlock(&d->lock);
}

int deliver_stop(struct deliver *d)
{
	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	int rc = d->sink ? sink_close(d->sink) : 0;
	release_batch(d);
	strbuf_free(&d->encoded);
	free(d->events);
	free(d->recs);
	free(d->offsets);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d->uri);
	free(d->label);
	free(d);
	return rc;
}
