#include "collector/recorder.h"

#include "collector/framer.h"
#include "collector/util.h"
#include "parsers/json_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct recorder {
	int fd;
	/* tcp://HOST:PORT destinations (a collector's TCP input): reconnected from the writer
	 * thread; records lost while disconnected are reported by a gap record on reconnect */
	bool tcp;
	char tcp_host[256], tcp_port[16];
	int64_t next_connect_ns;
	uint64_t lost_frames, lost_bytes;
	struct strbuf start_line;
	char stream[48];
	struct record_queue queue;
	pthread_t writer;
	bool writer_started;
	json_scanner *scanner;
	uint64_t write_errors;
	int64_t started_ns;
};

static const char *const dir_names[2] = {"c2s", "s2c"};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void tcp_connect(struct recorder *r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	r->next_connect_ns = clock_now_ns() + 1000000000LL; /* at most one attempt a second */
	if (getaddrinfo(r->tcp_host, r->tcp_port, &hints, &res) != 0)
		return;
	for (struct addrinfo *a = res; a && r->fd < 0; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			r->fd = fd;
		else
			close(fd);
	}
	freeaddrinfo(res);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes a chunk of records to the destination. For tcp, a broken connection is reopened (not
 * more than once a second); a chunk that cannot be sent is counted as lost and reported by a gap
 * record after the start record on the next connection. */
static int dest_write(struct recorder *r, const char *p, size_t n, uint64_t frames)
{
	if (!r->tcp)
		return write_all(r->fd, p, n);
	if (r->fd < 0 && clock_now_ns() >= r->next_connect_ns) {
		tcp_connect(r);
		if (r->fd >= 0 && r->start_line.len &&
		    send_all(r->fd, r->start_line.data, r->start_line.len) != 0) {
			close(r->fd);
			r->fd = -1;
		}
		if (r->fd >= 0 && r->lost_frames) {
			char gap[512];
			int g = snprintf(
				gap, sizeof(gap),
				"{\"mcptrail_tap\":1,\"kind\":\"gap\",\"stream\":\"%s\",\"seq\":0,"
				"\"ts\":%lld,\"dir\":\"c2s\",\"frames\":%llu,\"bytes\":%llu}\n",
				r->stream, (long long)clock_now_ns(),
				(unsigned long long)r->lost_frames,
				(unsigned long long)r->lost_bytes);
			if (send_all(r->fd, gap, (size_t)g) == 0)
				r->lost_frames = r->lost_bytes = 0;
		}
	}
	if (r->fd >= 0 && send_all(r->fd, p, n) == 0)
		return 0;
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	r->lost_frames += frames;
	r->lost_bytes += n;
	return 0; /* lost records are reported in-band, not as a write error */
}

struct recorder *recorder_open(const char *path, const char *stream_prefix, size_t queue_cap_bytes,
			       const char **err)
{
	struct recorder *r = calloc(1, sizeof(*r));
	if (!r) {
		*err = "out of memory";
		return NULL;
	}
	r->fd = -1;
	if (strncmp(path, "tcp://", 6) == 0) {
		const char *hp = path + 6;
		const char *colon = strrchr(hp, ':');
		if (!colon || colon == hp || (size_t)(colon - hp) >= sizeof(r->tcp_host) ||
		    strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(r->tcp_port)) {
			*err = "expected tcp://HOST:PORT";
			goto fail;
		}
		r->tcp = true;
		memcpy(r->tcp_host, hp, (size_t)(colon - hp));
		snprintf(r->tcp_port, sizeof(r->tcp_port), "%s", colon + 1);
		tcp_connect(
			r); /* a collector that is not up yet is retried; traffic flows anyway */
	} else {
		r->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
		if (r->fd < 0) {
			*err = strerror(errno);
			goto fail;
		}
		/* An existing file keeps its content but not looser permissions. */
		if (fchmod(r->fd, 0600) != 0) {
			*err = strerror(errno);
			goto fail;
		}
	}
	if (record_queue_init(&r->queue, queue_cap_bytes) != 0) {
		*err = "cannot initialise the record queue";
		goto fail;
	}
	r->scanner = json_scanner_new();
	if (!r->scanner) {
		*err = "out of memory";
		record_queue_destroy(&r->queue);
		goto fail;
	}
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		uint64_t fallback = (uint64_t)clock_now_ns() ^ ((uint64_t)getpid() << 32);
		memcpy(rnd, &fallback, sizeof(rnd));
	}
	int n = snprintf(r->stream, sizeof(r->stream), "%s-", stream_prefix);
	for (size_t i = 0; i < sizeof(rnd); i++)
		n += snprintf(r->stream + n, sizeof(r->stream) - (size_t)n, "%02x", rnd[i]);
	return r;
fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return NULL;
}

const char *recorder_stream_id(const struct recorder *r)
{
	return r->stream;
}

static void append_json_string(struct strbuf *b, const char *s)
{
	strbuf_append(b, "\"", 1);
	strbuf_append_json_escaped(b, s, strlen(s));
	strbuf_append(b, "\"", 1);
}

/* Arguments that follow a flag named like a secret, or KEY=VALUE pairs with such a key, are
 * recorded as "***": a command line is not a safe place for a secret, but it happens. */
static bool looks_secret_name(const char *s, size_t n)
{
	static const char *const words[] = {"token",   "secret",  "password",	"passwd", "apikey",
					    "api-key", "api_key", "credential", "auth"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);
		for (size_t j = 0; j + wl <= n; j++)
			if (strncasecmp(s + j, words[i], wl) == 0)
				return true;
	}
	return false;
}

static void append_masked_argv(struct strbuf *b, int argc, char *const *argv)
{
	strbuf_append_str(b, "[");
	bool mask_next = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i)
			strbuf_append_str(b, ",");
		const char *eq = strchr(a, '=');
		if (mask_next) {
			append_json_string(b, "***");
			mask_next = false;
		} else if (eq && looks_secret_name(a, (size_t)(eq - a))) {
			strbuf_append_str(b, "\"");
			strbuf_append_json_escaped(b, a, (size_t)(eq - a) + 1);
			strbuf_append_str(b, "***\"");
		} else {
			append_json_string(b, a);
			if (a[0] == '-' && !eq && looks_secret_name(a, strlen(a)))
				mask_next = true;
		}
	}
	strbuf_append_str(b, "]");
}

void recorder_append_payload(struct strbuf *out, json_scanner *scanner, const char *data,
			     size_t len, bool cut)
{
	/* One valid JSON value is stored verbatim (byte-exact, readable, and the importer scans
	 * it in place); anything else as base64 of the exact bytes. data must be padded. */
	/* a valid but pretty-printed value would break the record line: those go as base64 */
	if (!cut && !memchr(data, '\n', len) && !memchr(data, '\r', len) &&
	    json_scanner_validate(scanner, data, len, len + JSON_SCAN_PADDING) == NULL) {
		strbuf_append_str(out, ",\"msg\":");
		strbuf_append(out, data, len);
	} else {
		strbuf_append_str(out, ",\"b64\":\"");
		base64_encode_append(out, (const unsigned char *)data, len);
		strbuf_append_str(out, "\"");
	}
}

void recorder_format_item(struct strbuf *out, json_scanner *scanner, const char *stream,
			  const struct record_item *it)
{
	if (it->kind == RECORD_LINE) {
		strbuf_printf(out,
			      "{\"mcptrail_tap\":1,\"stream\":\"%s\",\"seq\":%llu,\"ts\":%lld,",
			      stream, (unsigned long long)it->seq, (long long)it->ts_ns);
		strbuf_append(out, it->data, it->len);
		strbuf_append_str(out, "}\n");
		return;
	}
	strbuf_printf(out,
		      "{\"mcptrail_tap\":1,\"kind\":\"%s\",\"stream\":\"%s\",\"seq\":%llu,"
		      "\"ts\":%lld,\"dir\":\"%s\"",
		      it->kind == RECORD_GAP ? "gap" : "frame", stream, (unsigned long long)it->seq,
		      (long long)it->ts_ns, dir_names[it->dir & 1]);
	if (it->kind == RECORD_GAP) {
		strbuf_printf(out, ",\"frames\":%llu,\"bytes\":%llu}\n",
			      (unsigned long long)it->gap_frames,
			      (unsigned long long)it->gap_bytes);
		return;
	}
	strbuf_printf(out, ",\"len\":%zu", it->total);
	if (it->flags & FRAME_CRLF)
		strbuf_append_str(out, ",\"crlf\":true");
	if (it->flags & FRAME_TRUNCATED)
		strbuf_append_str(out, ",\"truncated\":true");
	if (it->flags & FRAME_PARTIAL)
		strbuf_append_str(out, ",\"partial\":true");
	recorder_append_payload(out, scanner, it->data, it->len, it->flags & FRAME_TRUNCATED);
	strbuf_append_str(out, "}\n");
}

static void *writer_main(void *arg)
{
	struct recorder *r = arg;
	struct strbuf out = STRBUF_INIT;
	uint64_t batch_frames = 0;
	for (;;) {
		struct record_item *list = record_queue_take_all(&r->queue);
		if (!list)
			break;
		while (list) {
			struct record_item *it = list;
			list = it->next;
			if (it->ts_ns == 0)
				it->ts_ns = clock_now_ns();
			recorder_format_item(&out, r->scanner, r->stream, it);
			batch_frames++;
			record_queue_release(&r->queue, it);
			free(it);
			if (out.len >= (1u << 20) || !list) {
				if (dest_write(r, out.data, out.len, batch_frames) != 0)
					r->write_errors++;
				batch_frames = 0;
				strbuf_reset(&out);
			}
		}
		if (out.cap > (4u << 20))
			strbuf_free(&out);
	}
	strbuf_free(&out);
	return NULL;
}

int recorder_start(struct recorder *r, const struct recorder_stream_info *info)
{
	struct strbuf b = STRBUF_INIT;
	r->started_ns = clock_now_ns();
	char when[48];
	format_rfc3339_ns(r->started_ns, when);
	strbuf_printf(&b,
		      "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"%s\",\"ts\":%lld,"
		      "\"time\":\"%s\",\"transport\":",
		      r->stream, (long long)r->started_ns, when);
	append_json_string(&b, info->transport);
	strbuf_append_str(&b, ",\"identity\":{\"subject\":");
	append_json_string(&b, info->identity);
	strbuf_append_str(&b, ",\"source\":");
	append_json_string(&b, info->identity_source);
	strbuf_append_str(&b, "},\"host\":");
	append_json_string(&b, info->host);
	strbuf_printf(&b, ",\"tap_pid\":%ld,\"server_pid\":%ld,\"argv\":", info->tap_pid,
		      info->child_pid);
	append_masked_argv(&b, info->argc, info->argv);
	if (info->extra_members) {
		strbuf_append_str(&b, ",");
		strbuf_append_str(&b, info->extra_members);
	}
	strbuf_append_str(&b, "}\n");
	strbuf_reset(&r->start_line);
	strbuf_append(&r->start_line, b.data, b.len); /* sent again on every reconnect */
	int rc = dest_write(r, b.data, b.len, 0);
	strbuf_free(&b);
	if (rc != 0)
		r->write_errors++;
	if (pthread_create(&r->writer, NULL, writer_main, r) != 0)
		return -1;
	r->writer_started = true;
	return 0;
}

void recorder_line(struct recorder *r, int dir, int64_t ts_ns, const char *members, size_t len)
{
	record_queue_push_line(&r->queue, dir, ts_ns, members, len);
}

void recorder_frame(struct recorder *r, int dir, int64_t ts_ns, const char *data, size_t len,
		    size_t total, unsigned flags)
{
	record_queue_push_frame(&r->queue, dir, ts_ns, data, len, total, flags);
}

int recorder_close(struct recorder *r, int exit_status, int term_signal)
{
	record_queue_close(&r->queue);
	if (r->writer_started) {
		pthread_join(r->writer, NULL);
		r->writer_started = false;
	}
	struct record_queue *q = &r->queue;
	struct strbuf b = STRBUF_INIT;
	int64_t now = clock_now_ns();
	strbuf_printf(&b,
		      "{\"mcptrail_tap\":1,\"kind\":\"end\",\"stream\":\"%s\",\"seq\":%llu,"
		      "\"ts\":%lld,",
		      r->stream, (unsigned long long)q->next_seq, (long long)now);
	if (term_signal)
		strbuf_printf(&b, "\"signal\":%d,", term_signal);
	else
		strbuf_printf(&b, "\"exit_status\":%d,", exit_status);
	strbuf_printf(&b,
		      "\"frames\":{\"c2s\":%llu,\"s2c\":%llu},\"gaps\":%llu,"
		      "\"dropped_frames\":%llu,\"dropped_bytes\":%llu,\"write_errors\":%llu}\n",
		      (unsigned long long)q->frames[0], (unsigned long long)q->frames[1],
		      (unsigned long long)q->gaps,
		      (unsigned long long)(q->dropped_frames + r->lost_frames),
		      (unsigned long long)(q->dropped_bytes + r->lost_bytes),
		      (unsigned long long)r->write_errors);
	int rc = dest_write(r, b.data, b.len, 0);
	strbuf_free(&b);
	if (!r->tcp && fsync(r->fd) != 0 && errno != EINVAL)
		rc = -1;
	if (r->fd >= 0 && close(r->fd) != 0)
		rc = -1;
	r->fd = -1;
	return rc == 0 && r->write_errors == 0 ? 0 : -1;
}

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	if (r->writer_started) {
		record_queue_close(&r->queue);
		pthread_join(r->writer, NULL);
	}
	if (r->fd >= 0)
		close(r->fd);
	strbuf_free(&r->start_line);
	record_queue_destroy(&r->queue);
	json_scanner_free(r->scanner);
	free(r);
}
