/* The inputs of `mcptrail collect`: tailed files (checkpointed, rotation-aware, replayed after a
 * restart), standard input, TCP and UDP listeners (directories of captures: collect_captures.c).
 * Each cuts its bytes into lines and feeds them through collect_feed; each stops reading when the
 * collector is paused. */
#include "collector/collect_internal.h"
#include "collector/collect_otlp.h"

#include "parsers/tap_record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_BUDGET                                                                                \
	(1u << 20) /* bytes per file per turn of the loop (checkpoints, /metrics wait for it) */
#define READ_CHUNK (64u << 10)	   /* from a socket or standard input at a time */
#define CONN_HIGH_WATER (4u << 20) /* a connection's unread bytes before it stops being read */
#define MAX_TRACKED_STREAMS 4096

struct conn {
	struct conn *next, *prev;
	struct input *in;
	struct bufferevent *bev;
	struct line_reader lr;
	char *source;
	bool eof;
};

struct open_stream {
	uint64_t gen;
	struct tail_pos start; /* the start record: its offset, and the lines before it */
};

/* ---- files ---- */

/* Whether a line of the file being read, at offset, was delivered before the restart. */
static bool file_suppress(struct input *in, uint64_t offset)
{
	if (!in->replaying)
		return false;
	const struct tail_pos *d = &in->resume.delivered;
	if (in->dev == d->dev && in->ino == d->ino) {
		if (offset < d->offset)
			return true;
		in->replaying = false;
		return false;
	}
	return true; /* the file before the delivered one */
}

static void track_stream(struct input *in, int kind, uint64_t line_no, uint64_t offset)
{
	if (kind != TAP_RECORD_START && kind != TAP_RECORD_END)
		return;
	size_t n;
	const char *id = import_last_stream(in->c->imp, &n);
	if (n == 0)
		return;
	if (kind == TAP_RECORD_END) {
		free(hashmap_remove(in->open_streams, id, n));
		return;
	}
	struct open_stream *s = hashmap_get(in->open_streams, id, n);
	if (!s) {
		if (hashmap_count(in->open_streams) >= MAX_TRACKED_STREAMS) {
			/* after a restart, this stream's calls may miss their start */
			in->untracked_streams++;
			return;
		}
		s = malloc(sizeof(*s));
		if (!s || !hashmap_put(in->open_streams, id, n, s)) {
			free(s);
			return;
		}
	}
	s->gen = in->gen;
	s->start = (struct tail_pos){in->dev, in->ino, offset, line_no - 1};
}

static bool file_line(void *ctx, const char *line, size_t len, uint64_t line_no, uint64_t offset)
{
	struct input *in = ctx;
	int kind = collect_feed(in, in->cfg->name, line, len, file_suppress(in, offset));
	track_stream(in, kind, line_no, offset);
	return collect_line_done(in->c);
}

static bool file_oversized(void *ctx, const char *prefix, size_t prefix_len, uint64_t real_len,
			   uint64_t line_no, uint64_t offset)
{
	struct input *in = ctx;
	(void)line_no;
	collect_feed_oversized(in, in->cfg->name, prefix, prefix_len, real_len,
			       file_suppress(in, offset));
	return collect_line_done(in->c);
}

struct stale_scan {
	uint64_t keep_from_gen, gen, dev, ino;
	char **keys;
	size_t n, cap;
};

static void collect_stale(void *ctx, const char *key, void *value)
{
	struct stale_scan *s = ctx;
	struct open_stream *os = value;
	/* kept: streams of the file before, unless that was this same file truncated (its
	 * content is gone) */
	bool same_file = os->start.dev == s->dev && os->start.ino == s->ino && os->gen != s->gen;
	if ((os->gen >= s->keep_from_gen && !same_file) || s->n == s->cap)
		return;
	s->keys[s->n] = strdup(key);
	if (s->keys[s->n])
		s->n++;
}

static void file_begin(void *ctx, const struct tail_pos *at, uint64_t gen)
{
	struct input *in = ctx;
	in->gen = gen;
	in->dev = at->dev;
	in->ino = at->ino;
	const struct file_checkpoint *r = &in->resume;
	bool known = (at->dev == r->delivered.dev && at->ino == r->delivered.ino) ||
		     (at->dev == r->replay.dev && at->ino == r->replay.ino);
	if (in->replaying && !known)
		in->replaying = false; /* a file that came after the checkpoint: all new */
	/* streams that began two files back are no longer followed (see tail.h) */
	struct stale_scan scan = {gen > 1 ? gen - 1 : 0, gen, at->dev, at->ino, NULL, 0, 0};
	scan.cap = hashmap_count(in->open_streams);
	if (scan.cap && (scan.keys = calloc(scan.cap, sizeof(char *)))) {
		hashmap_each(in->open_streams, collect_stale, &scan);
		for (size_t i = 0; i < scan.n; i++) {
			free(hashmap_remove(in->open_streams, scan.keys[i], strlen(scan.keys[i])));
			free(scan.keys[i]);
			in->untracked_streams++;
		}
		free(scan.keys);
	}
	import_source_seek(in->c->imp, in->cfg->name, at->line, at->offset);
	in->c->positions_moved = true;
}

static void file_end(void *ctx, const struct tail_pos *end, uint64_t gen)
{
	struct input *in = ctx;
	(void)end;
	(void)gen;
	const struct tail_pos *d = &in->resume.delivered;
	bool delivered_file = in->dev == d->dev && in->ino == d->ino;
	/* the summary of a file finished before the restart went out then */
	in->c->suppress = in->replaying && !delivered_file;
	import_source_end(in->c->imp, in->cfg->name, true);
	in->c->suppress = false;
	if (delivered_file)
		in->replaying = false;
	in->rotations_seen++;
	in->c->positions_moved = true;
}

static void file_notice(void *ctx, const char *message)
{
	struct input *in = ctx;
	collect_log("input %s: %s", in->cfg->name, message);
}

static const struct tail_callbacks file_callbacks = {
	.lines = {.line = file_line, .oversized = file_oversized},
	.file_begin = file_begin,
	.file_end = file_end,
	.notice = file_notice,
};

struct min_scan {
	bool found;
	uint64_t gen;
	struct tail_pos pos;
};

static void find_oldest(void *ctx, const char *key, void *value)
{
	struct min_scan *m = ctx;
	struct open_stream *os = value;
	(void)key;
	if (!m->found || os->gen < m->gen ||
	    (os->gen == m->gen && os->start.offset < m->pos.offset)) {
		m->found = true;
		m->gen = os->gen;
		m->pos = os->start;
	}
}

bool input_checkpoint(struct input *in, struct file_checkpoint *out)
{
	if (in->cfg->type != COLLECT_INPUT_FILE || !in->tail)
		return false;
	if (in->replaying) {
		/* not back where the last run was yet: what it wrote still holds */
		*out = in->resume;
		return out->valid;
	}
	struct tail_pos now;
	tail_position(in->tail, &now);
	if (now.dev == 0 && now.ino == 0)
		return false;
	struct min_scan m = {0};
	hashmap_each(in->open_streams, find_oldest, &m);
	out->valid = true;
	out->delivered = now;
	out->replay = m.found ? m.pos : now;
	if (out->replay.dev == now.dev && out->replay.ino == now.ino &&
	    out->replay.offset > now.offset)
		out->replay = now; /* (cannot happen: a replay never starts after the end) */
	return true;
}

/* ---- lines from standard input, UDP and connections ---- */

static bool stream_line(void *ctx, const char *line, size_t len, uint64_t line_no, uint64_t offset)
{
	struct input *in = ctx;
	(void)line_no;
	(void)offset;
	collect_feed(in, in->cfg->name, line, len, false);
	return collect_line_done(in->c);
}

static bool stream_oversized(void *ctx, const char *prefix, size_t prefix_len, uint64_t real_len,
			     uint64_t line_no, uint64_t offset)
{
	struct input *in = ctx;
	(void)line_no;
	(void)offset;
	collect_feed_oversized(in, in->cfg->name, prefix, prefix_len, real_len, false);
	return collect_line_done(in->c);
}

static const struct line_reader_callbacks stream_callbacks = {stream_line, stream_oversized};

static bool conn_line(void *ctx, const char *line, size_t len, uint64_t line_no, uint64_t offset)
{
	struct conn *k = ctx;
	(void)line_no;
	(void)offset;
	collect_feed(k->in, k->source, line, len, false);
	return collect_line_done(k->in->c);
}

static bool conn_oversized(void *ctx, const char *prefix, size_t prefix_len, uint64_t real_len,
			   uint64_t line_no, uint64_t offset)
{
	struct conn *k = ctx;
	(void)line_no;
	(void)offset;
	collect_feed_oversized(k->in, k->source, prefix, prefix_len, real_len, false);
	return collect_line_done(k->in->c);
}

static const struct line_reader_callbacks conn_callbacks = {conn_line, conn_oversized};

/* ---- standard input ---- */

static void stdin_ended(struct input *in)
{
	struct collector *c = in->c;
	line_reader_finish(&in->lr, &stream_callbacks, in);
	import_source_end(c->imp, in->cfg->name, true);
	collect_commit(c);
	in->finished = true;
	if (in->ev)
		event_del(in->ev);
	bool all = true;
	for (size_t i = 0; i < c->ninputs; i++)
		all = all && c->inputs[i].finished;
	if (all)
		collect_inputs_ended(c);
}

/* Reads up to budget bytes. */
static void stdin_read(struct input *in, size_t budget)
{
	struct collector *c = in->c;
	while (budget > 0 && !c->paused && !in->finished) {
		if (!line_reader_drain(&in->lr, &stream_callbacks, in))
			break;
		size_t room;
		char *dst = line_reader_space(&in->lr, READ_CHUNK, &room);
		if (!dst)
			break;
		ssize_t n = read(in->fd, dst, room < READ_CHUNK ? room : READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			if (n < 0)
				collect_log("input %s: read error: %s", in->cfg->name,
					    strerror(errno));
			if (line_reader_drain(&in->lr, &stream_callbacks, in))
				stdin_ended(in);
			break;
		}
		line_reader_commit(&in->lr, (size_t)n);
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if (!in->stdin_polled) {
			line_reader_drain(&in->lr, &stream_callbacks, in);
			break; /* one read per readiness event */
		}
	}
	collect_commit(c);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stdin_read(arg, READ_CHUNK);
}

static int stdin_start(struct input *in, char *err, size_t errlen)
{
	struct stat sb;
	in->fd = STDIN_FILENO;
	line_reader_init(&in->lr, in->cfg->max_line, 0, 0);
	if (fstat(in->fd, &sb) != 0) {
		snprintf(err, errlen, "standard input: %s", strerror(errno));
		return -1;
	}
	/* epoll cannot wait on regular files (or /dev/null): they never block, read them from the
	 * poll timer */
	if (S_ISREG(sb.st_mode) || (S_ISCHR(sb.st_mode) && !isatty(in->fd))) {
		in->stdin_polled = true;
		return 0;
	}
	in->ev = event_new(in->c->base, in->fd, EV_READ | EV_PERSIST, on_stdin, in);
	if (!in->ev || event_add(in->ev, NULL) != 0) {
		if (in->ev)
			event_free(in->ev);
		in->ev = NULL;
		in->stdin_polled = true;
	}
	return 0;
}

/* ---- UDP ---- */

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct input *in = arg;
	struct collector *c = in->c;
	(void)what;
	static char buf[65536];
	for (int i = 0; i < 1024 && !c->paused; i++) {
		if (!line_reader_drain(&in->lr, &stream_callbacks, in))
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			break;
		in->datagrams++;
		if (n == 0)
			continue;
		line_reader_append(&in->lr, buf, (size_t)n);
		if (buf[n - 1] != '\n')
			line_reader_append(&in->lr, "\n", 1); /* a datagram ends its last line */
	}
	line_reader_drain(&in->lr, &stream_callbacks, in);
	collect_commit(c);
}

/* A bound socket (TCP: libevent's listener calls listen()). */
static int bind_socket(const char *address, int type, char *err, size_t errlen)
{
	char host[64], why[128];
	unsigned port;
	if (config_parse_listen(address, host, sizeof(host), &port, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &a->sin6_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &a->sin_addr);
		sl = sizeof(*a);
	}
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		int rcvbuf = 8 << 20; /* bursts of datagrams wait here (capped by rmem_max) */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", address, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- TCP ---- */

static void conn_free(struct conn *k)
{
	struct input *in = k->in;
	if (k->prev)
		k->prev->next = k->next;
	else
		in->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	bufferevent_free(k->bev);
	line_reader_free(&k->lr);
	free(k->source);
	free(k);
	in->connections--;
}

/* Feeds what the connection has; finishes it after its end. */
static void conn_process(struct conn *k)
{
	struct collector *c = k->in->c;
	struct evbuffer *buf = bufferevent_get_input(k->bev);
	bool complete = false;
	while (!c->paused) {
		if (!line_reader_drain(&k->lr, &conn_callbacks, k))
			break;
		size_t avail = evbuffer_get_length(buf);
		if (avail == 0) {
			complete = true;
			break;
		}
		size_t room;
		char *dst =
			line_reader_space(&k->lr, avail < READ_CHUNK ? avail : READ_CHUNK, &room);
		if (!dst)
			break;
		int n = evbuffer_remove(buf, dst, avail < room ? avail : room);
		if (n <= 0)
			break;
		line_reader_commit(&k->lr, (size_t)n);
	}
	collect_commit(c);
	if (k->eof && complete && !c->paused) {
		line_reader_finish(&k->lr, &conn_callbacks, k); /* a last line cut short */
		import_source_end(c->imp, k->source, true);
		collect_commit(c);
		conn_free(k);
	}
}

static void on_conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void on_conn_event(struct bufferevent *bev, short events, void *arg)
{
	(void)bev;
	struct conn *k = arg;
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		k->eof = true;
		conn_process(k);
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct input *in = arg;
	struct collector *c = in->c;
	(void)l;
	(void)salen;
	if (in->connections >= in->cfg->max_connections) {
		in->connections_rejected++;
		if (in->connections_rejected == 1 || in->connections_rejected % 1000 == 0)
			collect_log("input %s: connection refused: max_connections (%llu) reached",
				    in->cfg->name, (unsigned long long)in->cfg->max_connections);
		evutil_closesocket(fd);
		return;
	}
	char peer[INET6_ADDRSTRLEN + 8] = "?";
	char addr[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
		snprintf(peer, sizeof(peer), "%s:%u", addr, ntohs(a->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
		snprintf(peer, sizeof(peer), "[%s]:%u", addr, ntohs(a->sin6_port));
	}
	struct conn *k = calloc(1, sizeof(*k));
	if (!k || asprintf(&k->source, "%s from %s", in->cfg->name, peer) < 0 ||
	    !(k->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		if (k && k->source)
			free(k->source);
		free(k);
		evutil_closesocket(fd);
		return;
	}
	k->in = in;
	line_reader_init(&k->lr, in->cfg->max_line, 0, 0);
	k->next = in->conns;
	if (in->conns)
		in->conns->prev = k;
	in->conns = k;
	in->connections++;
	in->connections_total++;
	bufferevent_setcb(k->bev, on_conn_read, NULL, on_conn_event, k);
	bufferevent_setwatermark(k->bev, EV_READ, 0, CONN_HIGH_WATER);
	if (!c->paused)
		bufferevent_enable(k->bev, EV_READ);
}

/* ---- all inputs ---- */

static int file_start(struct input *in, const struct file_checkpoint *cp)
{
	in->tail = tail_new(in->cfg->path, in->cfg->max_line);
	in->open_streams = hashmap_new();
	if (!in->tail || !in->open_streams)
		return -1;
	if (cp && cp->valid) {
		in->resume = *cp;
		in->replaying = true;
		tail_start(in->tail, &cp->replay, false);
	} else {
		tail_start(in->tail, NULL, in->cfg->start_at == COLLECT_START_END);
	}
	return 0;
}

int inputs_start(struct collector *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->ninputs; i++) {
		struct input *in = &c->inputs[i];
		char why[512] = "out of memory";
		int rc = 0;
		in->fd = -1;
		switch (in->cfg->type) {
		case COLLECT_INPUT_FILE:
			rc = file_start(in, &in->resume);
			break;
		case COLLECT_INPUT_STDIN:
			rc = stdin_start(in, why, sizeof(why));
			break;
		case COLLECT_INPUT_TCP: {
			int fd = bind_socket(in->cfg->listen, SOCK_STREAM, why, sizeof(why));
			if (fd < 0) {
				rc = -1;
				break;
			}
			in->listener = evconnlistener_new(
				c->base, on_accept, in,
				LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
			if (!in->listener) {
				close(fd);
				rc = -1;
			}
			break;
		}
		case COLLECT_INPUT_CAPTURE_DIR:
			rc = capture_dir_start(in, why, sizeof(why));
			break;
		case COLLECT_INPUT_OTLP_HTTP:
			rc = otlp_input_start(in, why, sizeof(why));
			break;
		case COLLECT_INPUT_UDP:
			line_reader_init(&in->lr, in->cfg->max_line, 0, 0);
			in->fd = bind_socket(in->cfg->listen, SOCK_DGRAM, why, sizeof(why));
			if (in->fd < 0) {
				rc = -1;
				break;
			}
			in->ev = event_new(c->base, in->fd, EV_READ | EV_PERSIST, on_udp, in);
			if (!in->ev || event_add(in->ev, NULL) != 0)
				rc = -1;
			break;
		}
		if (rc != 0) {
			snprintf(err, errlen, "inputs[%zu] (%s): %s", i, in->cfg->name, why);
			return -1;
		}
	}
	return 0;
}

bool inputs_poll(struct collector *c)
{
	bool more = false;
	for (size_t i = 0; i < c->ninputs && !c->paused; i++) {
		struct input *in = &c->inputs[i];
		if (in->tail) {
			enum tail_status st = tail_poll(in->tail, POLL_BUDGET, &file_callbacks, in);
			in->more = st == TAIL_MORE;
			more = more || in->more;
			collect_commit(c);
		} else if (in->cfg->type == COLLECT_INPUT_CAPTURE_DIR) {
			in->more = capture_dir_poll(in);
			more = more || in->more;
		} else if (in->stdin_polled && !in->finished) {
			stdin_read(in, POLL_BUDGET);
			more = more || !in->finished;
		}
	}
	return more && !c->paused;
}

void inputs_pause(struct collector *c)
{
	for (size_t i = 0; i < c->ninputs; i++) {
		struct input *in = &c->inputs[i];
		for (struct conn *k = in->conns; k; k = k->next)
			bufferevent_disable(k->bev, EV_READ);
		if (in->ev)
			event_del(in->ev);
	}
}

void inputs_resume(struct collector *c)
{
	for (size_t i = 0; i < c->ninputs && !c->paused; i++) {
		struct input *in = &c->inputs[i];
		struct conn *next;
		for (struct conn *k = in->conns; k && !c->paused; k = next) {
			next = k->next;
			bufferevent_enable(k->bev, EV_READ);
			conn_process(k); /* what arrived meanwhile (may free k) */
		}
		if (in->cfg->type == COLLECT_INPUT_UDP || in->cfg->type == COLLECT_INPUT_STDIN) {
			line_reader_drain(&in->lr, &stream_callbacks, in);
			collect_commit(c);
			if (in->ev && !in->finished && !c->paused)
				event_add(in->ev, NULL);
		}
	}
}

void inputs_reopen(struct collector *c)
{
	for (size_t i = 0; i < c->ninputs; i++)
		if (c->inputs[i].tail)
			tail_reopen(c->inputs[i].tail);
}

void inputs_stop(struct collector *c)
{
	for (size_t i = 0; i < c->ninputs; i++) {
		struct input *in = &c->inputs[i];
		if (in->listener) {
			evconnlistener_free(in->listener);
			in->listener = NULL;
		}
		otlp_input_stop(in);
		uint64_t lost = 0;
		while (in->conns) {
			struct conn *k = in->conns;
			if (!c->paused)
				line_reader_drain(&k->lr, &conn_callbacks, k);
			lost += line_reader_pending(&k->lr) +
				evbuffer_get_length(bufferevent_get_input(k->bev));
			conn_free(k);
		}
		if (in->ev) {
			event_free(in->ev);
			in->ev = NULL;
		}
		if (in->cfg->type == COLLECT_INPUT_UDP || in->cfg->type == COLLECT_INPUT_STDIN) {
			if (!c->paused)
				line_reader_drain(&in->lr, &stream_callbacks, in);
			lost += line_reader_pending(&in->lr);
		}
		if (lost)
			collect_log("input %s: %llu bytes received but not read at the stop (a "
				    "line cut short, or paused)",
				    in->cfg->name, (unsigned long long)lost);
	}
	collect_commit(c);
}

void inputs_free(struct collector *c)
{
	for (size_t i = 0; i < c->ninputs; i++) {
		struct input *in = &c->inputs[i];
		if (in->listener)
			evconnlistener_free(in->listener);
		otlp_input_free(in);
		while (in->conns)
			conn_free(in->conns);
		if (in->ev)
			event_free(in->ev);
		if (in->fd >= 0 && in->cfg->type == COLLECT_INPUT_UDP)
			close(in->fd);
		tail_free(in->tail);
		hashmap_free(in->open_streams, free);
		line_reader_free(&in->lr);
		capture_dir_free(in);
	}
}
