/* The syslog sink: one RFC 5424 message per event over UDP, TCP or TLS (sink_syslog.h; the
 * formatting and the options are in sink_syslog_format.c).
 *
 * Delivery is at least once, as far as syslog allows (RFC 5425 and 6587 have no application
 * acknowledgement): a stream batch counts as written once the receiver's TCP has acknowledged every
 * byte of it, and a batch that fails part-way is sent again whole, so a receiver may see a message
 * twice (the event_id in the structured data tells the copies apart). UDP is best effort.
 *
 * Connections are made lazily, in write_batch, and made again there after a failure with
 * exponential backoff (100 ms doubling to 5 s); while none can be made write_batch returns
 * SINK_NOT_CONNECTED and the core decides when to call again. A server certificate that does not
 * verify gives SINK_ERROR: retrying will not fix a configuration. Only the addresses the URI's host
 * resolves to are ever contacted. */
#include "sinks/sink_syslog.h"

#include "sinks/sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define APP_NAME "mcptrail"
#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 5000u
#define CLOSE_LINGER_MS 1000

struct syslog_state {
	struct syslog_options opt;
	char where[300]; /* "HOST:PORT", for messages */
	char hostname[256];
	char procid[24];
	struct syslog_header header;
	SSL_CTX *ctx; /* TLS only */
	SSL *ssl;     /* while connected over TLS */
	int fd;	      /* -1 when not connected */
	unsigned backoff_ms;
	int64_t next_connect_ns; /* no connection attempt before this (monotonic) */
	bool permanent_failure;	 /* the last attempt failed on a certificate: config */
	bool cert_requested;	 /* the TLS server asked for a client certificate */
	bool ticket_seen;	 /* it sent a session ticket: it accepted our handshake */
	struct strbuf out, msg;
	struct syslog_stats stats;
};

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t deadline_after_ms(unsigned ms)
{
	return monotonic_ns() + (int64_t)ms * 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - monotonic_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

__attribute__((format(printf, 2, 3))) static void set_error(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
}

/* The oldest queued OpenSSL error as text (the queue is cleared), or fallback. */
static const char *ssl_error_text(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", fallback);
	ERR_clear_error();
	return buf;
}

/* 1 when fd is ready for events, 0 at the deadline, -1 on a poll error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int ms = remaining_ms(deadline);
		if (ms == 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* OpenSSL writes to the socket with write(), which raises SIGPIPE on a connection the peer reset:
 * block it in this thread while the sink works and discard one it raised (as cimd.c does). */
struct pipe_guard {
	sigset_t old;
	bool was_pending;
};

static void pipe_guard_begin(struct pipe_guard *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void pipe_guard_end(struct pipe_guard *g)
{
	if (!g->was_pending) {
		sigset_t pipe_set;
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- connections ---- */

/* Reads and discards whatever the server sent (syslog servers send nothing but TLS session
 * tickets and alerts); true when it closed the connection or the connection failed. */
static bool peer_closed(struct syslog_state *st)
{
	char buf[4096];
	for (int round = 0; round < 64; round++) {
		struct pollfd p = {.fd = st->fd, .events = POLLIN | POLLRDHUP};
		if (poll(&p, 1, 0) <= 0)
			return false;
		if (p.revents & (POLLERR | POLLNVAL))
			return true;
		if (st->ssl) {
			size_t got;
			ERR_clear_error();
			if (SSL_read_ex(st->ssl, buf, sizeof(buf), &got) == 1)
				continue;
			int e = SSL_get_error(st->ssl, 0);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return (p.revents & (POLLHUP | POLLRDHUP)) != 0;
			return true;
		}
		ssize_t r = recv(st->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0)
			return true;
		if (r < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
	}
	return false;
}

/* Closes the connection. graceful: the server has nothing of ours left unread when we go, so say
 * goodbye properly (close_notify, FIN, wait briefly for its FIN) rather than reset. */
static void disconnect(struct syslog_state *st, bool graceful)
{
	/* (peer_closed also reads what is pending: unread input would make our close a reset) */
	if (st->fd >= 0 && graceful && st->opt.transport != SYSLOG_UDP && !peer_closed(st)) {
		if (st->ssl)
			SSL_shutdown(st->ssl);
		shutdown(st->fd, SHUT_WR);
		int64_t deadline = deadline_after_ms(CLOSE_LINGER_MS);
		while (!peer_closed(st) && wait_fd(st->fd, POLLIN | POLLRDHUP, deadline) == 1)
			;
	}
	if (st->ssl)
		SSL_free(st->ssl);
	st->ssl = NULL;
	ERR_clear_error();
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

/* Connects a socket of the given type to the first address of the URI's host that answers.
 * 0, or -1 with last_error set. */
static int connect_socket(struct sink *s, int socktype, int64_t deadline)
{
	struct syslog_state *st = s->state;
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = socktype, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(st->opt.host, st->opt.port, &hints, &res);
	if (rc != 0) {
		set_error(s, "%s: cannot resolve the host: %s", st->where, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	char why[128] = "no address";
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, sizeof(why), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			int ready = wait_fd(fd, POLLOUT, deadline);
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			if (ready == 0)
				snprintf(why, sizeof(why), "timed out after connect_timeout_ms=%u",
					 st->opt.connect_timeout_ms);
			else
				snprintf(why, sizeof(why), "%s", strerror(soerr ? soerr : errno));
		} else {
			snprintf(why, sizeof(why), "%s", strerror(errno));
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		set_error(s, "connect to %s: %s", st->where, why);
		return -1;
	}
	if (socktype == SOCK_STREAM) {
		int on = 1;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	}
	st->fd = fd;
	return 0;
}

static int tls_cert_requested(SSL *ssl, void *arg)
{
	(void)arg;
	struct syslog_state *st = SSL_get_app_data(ssl);
	st->cert_requested = true;
	return 1;
}

static int tls_new_session(SSL *ssl, SSL_SESSION *session)
{
	(void)session;
	struct syslog_state *st = SSL_get_app_data(ssl);
	st->ticket_seen = true;
	return 0; /* not kept: every connection makes a full handshake */
}

/* In TLS 1.3 the client finishes its handshake before the server has checked the client's
 * certificate: a server that rejects it (or wanted one and got none) says so only afterwards,
 * and messages written meanwhile would be lost unnoticed. When the server asked for a
 * certificate, wait for its verdict: a session ticket (OpenSSL servers send them once the client
 * is accepted), an alert, or silence until the deadline (taken as acceptance). */
static int tls_client_verdict(struct sink *s, int64_t deadline)
{
	struct syslog_state *st = s->state;
	char buf[256];
	while (!st->ticket_seen) {
		int ready = wait_fd(st->fd, POLLIN, deadline);
		if (ready != 1)
			return 0;
		size_t got;
		ERR_clear_error();
		if (SSL_read_ex(st->ssl, buf, sizeof(buf), &got) == 1)
			return 0; /* application data: the server talks to us */
		int e = SSL_get_error(st->ssl, 0);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			continue;
		set_error(s,
			  "TLS with %s: the server closed the connection after the handshake: %s "
			  "(%s)",
			  st->where, ssl_error_text(buf, sizeof(buf), "without a reason"),
			  st->opt.cert ? "it rejected the client certificate given with cert="
				       : "it requires a client certificate: give cert= and key=");
		return e == SSL_ERROR_SSL ? -2 : -1;
	}
	return 0;
}

/* TLS on the connected socket, verifying the server's certificate chain and name. 0, -1 on a
 * failure worth retrying, -2 when the certificate was rejected. */
static int tls_handshake(struct sink *s, int64_t deadline)
{
	struct syslog_state *st = s->state;
	char buf[256];
	const char *name = st->opt.servername ? st->opt.servername : st->opt.host;
	st->ssl = SSL_new(st->ctx);
	st->cert_requested = st->ticket_seen = false;
	if (!st->ssl || SSL_set_fd(st->ssl, st->fd) != 1 || SSL_set_app_data(st->ssl, st) != 1) {
		set_error(s, "TLS with %s: %s", st->where,
			  ssl_error_text(buf, sizeof(buf), "setup"));
		return -1;
	}
	unsigned char addr[16];
	if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1) {
		/* an IP address is checked against the certificate's IP SANs; no SNI for it */
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(st->ssl), name);
	} else {
		SSL_set_tlsext_host_name(st->ssl, name);
		SSL_set_hostflags(st->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(st->ssl, name);
	}
	ERR_clear_error();
	int e;
	for (;;) {
		int r = SSL_connect(st->ssl);
		if (r == 1) {
			if (!st->cert_requested || SSL_version(st->ssl) < TLS1_3_VERSION)
				return 0;
			int64_t verdict = deadline_after_ms(1000);
			return tls_client_verdict(s, verdict < deadline ? verdict : deadline);
		}
		e = SSL_get_error(st->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		int ready = wait_fd(st->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (ready != 1) {
			set_error(s, "TLS handshake with %s: %s", st->where,
				  ready == 0 ? "timed out (handshake_timeout_ms)"
					     : strerror(errno));
			return -1;
		}
	}
	long verify = SSL_get_verify_result(st->ssl);
	if (verify != X509_V_OK) {
		set_error(s,
			  "TLS handshake with %s: server certificate rejected: %s (name checked: "
			  "%s; trusted CAs: %s)",
			  st->where, X509_verify_cert_error_string(verify), name,
			  st->opt.ca ? st->opt.ca : "the system store");
		ERR_clear_error();
		return -2;
	}
	set_error(s, "TLS handshake with %s failed: %s", st->where,
		  ssl_error_text(buf, sizeof(buf),
				 e == SSL_ERROR_SYSCALL ? "connection closed by the server"
							: "protocol error"));
	return -1;
}

/* Makes the connection when there is none and the backoff allows it. */
static enum sink_result ensure_connected(struct sink *s)
{
	struct syslog_state *st = s->state;
	if (st->fd >= 0)
		return SINK_OK;
	if (monotonic_ns() < st->next_connect_ns) /* last_error still says why */
		return st->permanent_failure ? SINK_ERROR : SINK_NOT_CONNECTED;
	bool udp = st->opt.transport == SYSLOG_UDP;
	int rc = connect_socket(s, udp ? SOCK_DGRAM : SOCK_STREAM,
				deadline_after_ms(st->opt.connect_timeout_ms));
	if (rc == 0 && st->opt.transport == SYSLOG_TLS)
		rc = tls_handshake(s, deadline_after_ms(st->opt.handshake_timeout_ms));
	if (rc == 0) {
		st->backoff_ms = BACKOFF_MIN_MS;
		st->permanent_failure = false;
		st->stats.connects++;
		return SINK_OK;
	}
	disconnect(st, false);
	st->stats.connect_failures++;
	st->next_connect_ns = deadline_after_ms(st->backoff_ms);
	st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : st->backoff_ms * 2;
	st->permanent_failure = rc == -2;
	return rc == -2 ? SINK_ERROR : SINK_NOT_CONNECTED;
}

/* ---- streams (TCP, TLS) ---- */

/* 0 when all of data went out, -1 when the connection broke, -2 at the deadline. */
static int send_all(struct sink *s, const char *data, size_t len, int64_t deadline)
{
	struct syslog_state *st = s->state;
	char buf[256];
	while (len > 0) {
		size_t sent = 0;
		short want = 0;
		if (st->ssl) {
			ERR_clear_error();
			if (SSL_write_ex(st->ssl, data, len, &sent) != 1) {
				int e = SSL_get_error(st->ssl, 0);
				if (e == SSL_ERROR_WANT_WRITE) {
					want = POLLOUT;
				} else if (e == SSL_ERROR_WANT_READ) {
					want = POLLIN;
				} else {
					set_error(s, "write to %s: %s", st->where,
						  e == SSL_ERROR_SYSCALL && errno
							  ? strerror(errno)
							  : ssl_error_text(buf, sizeof(buf),
									   "connection closed"));
					return -1;
				}
			}
		} else {
			ssize_t w = send(st->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					set_error(s, "write to %s: %s", st->where, strerror(errno));
					return -1;
				}
				want = POLLOUT;
			} else {
				sent = (size_t)w;
			}
		}
		data += sent;
		len -= sent;
		if (want) {
			int ready = wait_fd(st->fd, want, deadline);
			if (ready == 0) {
				set_error(s, "write to %s: not accepted within write_timeout_ms=%u",
					  st->where, st->opt.write_timeout_ms);
				return -2;
			}
			if (ready < 0) {
				set_error(s, "write to %s: %s", st->where, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/* Waits until the receiver's TCP has acknowledged everything we sent. 0, -1 when the connection
 * broke first, -2 at the deadline. */
static int wait_acknowledged(struct sink *s, int64_t deadline)
{
	struct syslog_state *st = s->state;
	int step_ms = 1;
	for (;;) {
		int queued = 0;
		if (ioctl(st->fd, SIOCOUTQ, &queued) != 0 || queued == 0)
			return 0; /* (when the kernel cannot tell, the write is all we know) */
		if (peer_closed(st)) {
			set_error(s, "%s closed the connection with %d bytes unacknowledged",
				  st->where, queued);
			return -1;
		}
		int left = remaining_ms(deadline);
		if (left == 0) {
			set_error(s, "%s: %d bytes not acknowledged within write_timeout_ms=%u",
				  st->where, queued, st->opt.write_timeout_ms);
			return -2;
		}
		poll(NULL, 0, step_ms < left ? step_ms : left);
		step_ms = step_ms * 2 > 50 ? 50 : step_ms * 2;
	}
}

static enum sink_result stream_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	struct syslog_state *st = s->state;
	strbuf_reset(&st->out);
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&st->msg);
		if (!syslog_format_message(&st->header, recs[i].event, recs[i].payload, recs[i].len,
					   true, &st->msg, NULL) ||
		    !syslog_frame(st->opt.framing, st->msg.data, st->msg.len, &st->out)) {
			set_error(s, "out of memory");
			return SINK_RETRY;
		}
	}
	if (st->fd >= 0 && peer_closed(st)) {
		disconnect(st, false); /* e.g. the receiver restarted: connect again at once */
		st->next_connect_ns = 0;
	}
	for (int attempt = 0;; attempt++) {
		enum sink_result r = ensure_connected(s);
		if (r != SINK_OK)
			return r;
		int64_t deadline = deadline_after_ms(st->opt.write_timeout_ms);
		int rc = send_all(s, st->out.data, st->out.len, deadline);
		if (rc == 0)
			rc = wait_acknowledged(s, deadline);
		if (rc == 0) {
			st->stats.messages += n;
			break;
		}
		/* the receiver may hold part of the batch: the whole batch goes again, on a new
		 * connection (a frame cut in the middle cannot be continued) */
		disconnect(st, false);
		if (rc == -2 || attempt == 1) {
			st->next_connect_ns = deadline_after_ms(st->backoff_ms);
			return rc == -2 ? SINK_RETRY : SINK_NOT_CONNECTED;
		}
		st->next_connect_ns = 0; /* a connection that worked broke: one immediate retry */
	}
	if (st->out.cap > (8u << 20))
		strbuf_free(&st->out);
	return SINK_OK;
}

/* ---- datagrams ---- */

static enum sink_result udp_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	struct syslog_state *st = s->state;
	enum sink_result r = ensure_connected(s);
	if (r != SINK_OK)
		return r;
	int64_t deadline = deadline_after_ms(st->opt.write_timeout_ms);
	for (size_t i = 0; i < n; i++) {
		bool truncated;
		if (!syslog_format_datagram(&st->header, recs[i].event, recs[i].payload,
					    recs[i].len, st->opt.max_udp, &st->msg, &truncated)) {
			set_error(s, "out of memory");
			return SINK_RETRY;
		}
		st->stats.truncated += truncated;
		for (int refused = 0;;) {
			if (send(st->fd, st->msg.data, st->msg.len, MSG_DONTWAIT | MSG_NOSIGNAL) >=
			    0)
				break;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_fd(st->fd, POLLOUT, deadline) == 1)
					continue;
				set_error(s, "send to %s: not accepted within write_timeout_ms=%u",
					  st->where, st->opt.write_timeout_ms);
				return SINK_RETRY;
			}
			if (errno == ECONNREFUSED && refused++ == 0) {
				/* an ICMP port unreachable for an earlier datagram: that one is
				 * lost (UDP), this one has not been sent yet */
				st->stats.udp_refused++;
				set_error(s, "send to %s: port unreachable (nobody listening?)",
					  st->where);
				continue;
			}
			set_error(s, "send to %s: %s", st->where, strerror(errno));
			disconnect(st, false);
			return SINK_NOT_CONNECTED;
		}
		st->stats.messages++;
	}
	return SINK_OK;
}

/* ---- the sink ---- */

static int tls_context(struct syslog_state *st, char *err, size_t errlen)
{
	char buf[256];
	const struct syslog_options *o = &st->opt;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS: %s", ssl_error_text(buf, sizeof(buf), "no context"));
		return -1;
	}
	st->ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* RFC 9662: TLS 1.2 only with ECDHE and AEAD ciphers (TLS 1.3 suites are all AEAD) */
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_cert_cb(ctx, tls_cert_requested, NULL);
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
	if (o->ca) {
		struct stat sb;
		if (stat(o->ca, &sb) != 0) {
			snprintf(err, errlen, "option 'ca': %s: %s", o->ca, strerror(errno));
			return -1;
		}
		bool dir = S_ISDIR(sb.st_mode);
		if (SSL_CTX_load_verify_locations(ctx, dir ? NULL : o->ca, dir ? o->ca : NULL) !=
		    1) {
			snprintf(err, errlen, "option 'ca': %s: no PEM certificates: %s", o->ca,
				 ssl_error_text(buf, sizeof(buf), "unreadable"));
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "TLS: cannot load the system CA store (give ca=PATH): %s",
			 ssl_error_text(buf, sizeof(buf), "unknown error"));
		return -1;
	}
	if (o->cert) {
		const char *key = o->key ? o->key : o->cert;
		const char *key_option = o->key ? "key" : "cert";
		if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
			snprintf(err, errlen, "option 'cert': %s: %s", o->cert,
				 ssl_error_text(buf, sizeof(buf), "not a PEM certificate"));
			return -1;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			snprintf(err, errlen, "option '%s': %s: no usable private key: %s",
				 key_option, key, ssl_error_text(buf, sizeof(buf), "unreadable"));
			return -1;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(err, errlen, "option '%s': %s does not match the certificate %s",
				 key_option, key, o->cert);
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

static void syslog_state_free(struct syslog_state *st)
{
	if (!st)
		return;
	disconnect(st, false);
	SSL_CTX_free(st->ctx);
	syslog_options_free(&st->opt);
	strbuf_free(&st->out);
	strbuf_free(&st->msg);
	free(st);
}

static int syslog_open(struct sink *s, enum syslog_transport t, const char *arg, char *err,
		       size_t errlen)
{
	char why[512];
	struct syslog_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->fd = -1;
	st->backoff_ms = BACKOFF_MIN_MS;
	if (syslog_options_parse(t, arg, &st->opt, why, sizeof(why)) != 0) {
		free(st); /* the options hold nothing after a failure */
		snprintf(err, errlen, "%s: %s", s->uri, why);
		return -1;
	}
	if (t == SYSLOG_TLS && tls_context(st, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", s->uri, why);
		syslog_state_free(st);
		return -1;
	}
	bool v6 = strchr(st->opt.host, ':') != NULL;
	snprintf(st->where, sizeof(st->where), "%s%s%s:%s", v6 ? "[" : "", st->opt.host,
		 v6 ? "]" : "", st->opt.port);
	if (st->opt.hostname[0]) {
		memcpy(st->hostname, st->opt.hostname, sizeof(st->hostname));
	} else {
		char local[256] = "";
		if (gethostname(local, sizeof(local) - 1) != 0)
			local[0] = '\0';
		syslog_sanitize_name(local, st->hostname, 255);
	}
	snprintf(st->procid, sizeof(st->procid), "%ld", (long)getpid());
	st->header = (struct syslog_header){st->opt.facility, st->hostname, APP_NAME, st->procid};
	s->state = st;
	return 0;
}

static int udp_open(struct sink *s, const char *arg, char *err, size_t errlen)
{
	return syslog_open(s, SYSLOG_UDP, arg, err, errlen);
}

static int tcp_open(struct sink *s, const char *arg, char *err, size_t errlen)
{
	return syslog_open(s, SYSLOG_TCP, arg, err, errlen);
}

static int tls_open(struct sink *s, const char *arg, char *err, size_t errlen)
{
	return syslog_open(s, SYSLOG_TLS, arg, err, errlen);
}

static enum sink_result syslog_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	struct syslog_state *st = s->state;
	if (n == 0)
		return SINK_OK;
	struct pipe_guard guard;
	pipe_guard_begin(&guard);
	enum sink_result r = st->opt.transport == SYSLOG_UDP ? udp_write_batch(s, recs, n)
							     : stream_write_batch(s, recs, n);
	pipe_guard_end(&guard);
	return r;
}

/* Every batch was acknowledged before write_batch returned: nothing is left to settle. */
static enum sink_result syslog_flush(struct sink *s)
{
	(void)s;
	return SINK_OK;
}

static void syslog_close(struct sink *s)
{
	struct syslog_state *st = s->state;
	if (!st)
		return;
	struct pipe_guard guard;
	pipe_guard_begin(&guard);
	disconnect(st, true);
	pipe_guard_end(&guard);
	if (st->stats.truncated || st->stats.udp_refused)
		fprintf(stderr,
			"mcptrail: sink %s: %llu of %llu messages truncated to max_udp=%zu bytes, "
			"%llu port-unreachable reports\n",
			s->uri, (unsigned long long)st->stats.truncated,
			(unsigned long long)st->stats.messages, st->opt.max_udp,
			(unsigned long long)st->stats.udp_refused);
	syslog_state_free(st);
	s->state = NULL;
}

bool syslog_sink_stats(const struct sink *s, struct syslog_stats *out)
{
	if (!s || !s->state ||
	    (s->ops != &sink_syslog_udp_ops && s->ops != &sink_syslog_tcp_ops &&
	     s->ops != &sink_syslog_tls_ops))
		return false;
	*out = ((const struct syslog_state *)s->state)->stats;
	return true;
}

const struct sink_ops sink_syslog_udp_ops = {
	.scheme = "syslog+udp",
	.open = udp_open,
	.write_batch = syslog_write_batch,
	.flush = syslog_flush,
	.close = syslog_close,
};

const struct sink_ops sink_syslog_tcp_ops = {
	.scheme = "syslog+tcp",
	.open = tcp_open,
	.write_batch = syslog_write_batch,
	.flush = syslog_flush,
	.close = syslog_close,
};

const struct sink_ops sink_syslog_tls_ops = {
	.scheme = "syslog+tls",
	.open = tls_open,
	.write_batch = syslog_write_batch,
	.flush = syslog_flush,
	.close = syslog_close,
};
