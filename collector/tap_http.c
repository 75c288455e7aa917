/* `mcptrail tap-http`: a Streamable HTTP reverse proxy that records what passes (CONTRACT.md).
 *
 *   client ──HTTP(S)──▶ [evhttp server] ──▶ exchange ──▶ [evhttp client] ──HTTP(S)──▶ upstream
 *
 * One libevent loop, one upstream connection per exchange (an SSE GET can stay open for hours and
 * must not hold up POSTs). Response headers are relayed as soon as they arrive and body bytes as
 * they are read (evhttp chunk callback → evhttp_send_reply_chunk), so SSE events are never held
 * back. Every exchange is recorded through the recorder's bounded queue as http_request,
 * http_response, http_body / sse_event and http_end records. The Authorization header is never
 * recorded: only an HMAC fingerprint of the token and its decoded claims (collector/jwt.h). */
#include "collector/tap_http.h"

#include "collector/jwt.h"
#include "collector/recorder.h"
#include "collector/util.h"
#include "parsers/json_scan.h"
#include "parsers/sse.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct tap_http {
	struct event_base *base;
	struct evdns_base *dns;
	struct evhttp *http;
	struct event *sigint, *sigterm;
	SSL_CTX *upstream_ctx; /* NULL for an http upstream */
	SSL_CTX *listen_ctx;   /* NULL for a plain listener */
	char *up_host;
	int up_port;
	char *upstream_url;
	struct recorder *rec;
	json_scanner *scanner;
	unsigned char fp_key[32];
	struct jwt_keyring *keys;
	struct token_cache *tokens;
	size_t max_body, max_headers, max_event;
	int timeout_s;
	uint64_t next_exchange;
	uint64_t exchanges, upstream_errors, rejected, client_aborts;
};

struct exchange {
	struct tap_http *t;
	uint64_t id;
	struct evhttp_request *client_req;
	struct evhttp_connection *client_conn;
	struct evhttp_connection *up_conn;
	struct evhttp_request *up_req;
	bool reply_started, finished, is_sse;
	int status;
	struct sse_parser sse;
	struct strbuf body; /* non-SSE response body, up to max_body */
	bool body_cut;
	uint64_t bytes_in, bytes_out;
	int64_t start_ns;
};

/* ---- recording ---- */

static void append_json_string(struct strbuf *b, const char *s, size_t n)
{
	strbuf_append(b, "\"", 1);
	strbuf_append_json_escaped(b, s, n);
	strbuf_append(b, "\"", 1);
}

static bool sensitive_header(const char *name)
{
	static const char *const names[] = {"proxy-authorization", "cookie",  "set-cookie",
					    "x-api-key",	   "api-key", "x-auth-token",
					    "x-access-token"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* Headers as a JSON object with lower-case names. Authorization is left out (it goes into "auth");
 * other credential-bearing headers are replaced by a fingerprint. */
static void append_headers(struct strbuf *b, struct tap_http *t, struct evkeyvalq *headers)
{
	strbuf_append_str(b, "\"headers\":{");
	unsigned n = 0;
	for (struct evkeyval *h = headers->tqh_first; h && n < 100; h = h->next.tqe_next) {
		if (strcasecmp(h->key, "authorization") == 0)
			continue;
		char lower[128];
		size_t kl = strlen(h->key);
		if (kl >= sizeof(lower))
			kl = sizeof(lower) - 1;
		for (size_t i = 0; i < kl; i++)
			lower[i] = (char)((h->key[i] >= 'A' && h->key[i] <= 'Z') ? h->key[i] + 32
										 : h->key[i]);
		if (n++)
			strbuf_append(b, ",", 1);
		append_json_string(b, lower, kl);
		strbuf_append(b, ":", 1);
		if (sensitive_header(h->key)) {
			char fp[65];
			token_fingerprint(t->fp_key, h->value, strlen(h->value), fp);
			strbuf_printf(b, "\"tfp:%s\"", fp);
		} else {
			size_t vl = strlen(h->value);
			append_json_string(b, h->value, vl < 4096 ? vl : 4096);
		}
	}
	strbuf_append(b, "}", 1);
}

static void append_auth(struct strbuf *b, struct tap_http *t, struct evkeyvalq *headers)
{
	const char *auth = evhttp_find_header(headers, "Authorization");
	if (!auth) {
		strbuf_append_str(b, ",\"auth\":null");
		return;
	}
	const struct token_identity *id =
		token_cache_lookup_or_decode(t->tokens, auth, strlen(auth), t->fp_key, t->keys);
	strbuf_append_str(b, ",\"auth\":");
	json_t *j = id ? token_identity_to_json(id) : json_pack("{s:s}", "error", "undecodable");
	char *txt = json_dumps(j, JSON_COMPACT);
	strbuf_append_str(b, txt ? txt : "null");
	free(txt);
	json_decref(j);
}

static void record(struct tap_http *t, int dir, struct strbuf *members)
{
	recorder_line(t->rec, dir, clock_now_ns(), members->data, members->len);
}

static void record_payload(struct strbuf *b, struct tap_http *t, const char *data, size_t len,
			   bool cut)
{
	/* the scanner needs padding after the data */
	struct strbuf padded = STRBUF_INIT;
	strbuf_append(&padded, data, len);
	strbuf_reserve(&padded, JSON_SCAN_PADDING);
	memset(padded.data + len, 0, JSON_SCAN_PADDING);
	strbuf_printf(b, ",\"len\":%zu", len);
	if (len > 0)
		recorder_append_payload(b, t->scanner, padded.data ? padded.data : "", len, cut);
	strbuf_free(&padded);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "OTHER";
	}
}

static void record_end(struct exchange *ex, const char *outcome, const char *error)
{
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b,
		      "\"kind\":\"http_end\",\"dir\":\"s2c\",\"exchange\":%llu,\"outcome\":\"%s\","
		      "\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f",
		      (unsigned long long)ex->id, outcome, ex->status,
		      (unsigned long long)ex->bytes_in, (unsigned long long)ex->bytes_out,
		      (double)(clock_now_ns() - ex->start_ns) / 1e6);
	if (error) {
		strbuf_append_str(&b, ",\"error\":");
		append_json_string(&b, error, strlen(error));
	}
	record(ex->t, 1, &b);
	strbuf_free(&b);
}

/* ---- exchange lifetime ---- */

static void free_connection_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evhttp_connection_free(arg);
}

/* Frees the exchange. The upstream connection is freed by libevent after a completed request
 * (autofree) or, after a failure, from the loop once the failing callback has returned. */
static void exchange_free(struct exchange *ex, bool upstream_failed)
{
	if (!ex)
		return;
	if (ex->client_conn)
		evhttp_connection_set_closecb(ex->client_conn, NULL, NULL);
	(void)upstream_failed;
	/* Never from inside libevent's callbacks, and never by libevent's autofree too: its
	 * failure paths differ between versions. The loop frees it right after this callback. */
	if (ex->up_conn)
		event_base_once(ex->t->base, -1, EV_TIMEOUT, free_connection_later, ex->up_conn,
				NULL);
	sse_parser_free(&ex->sse);
	strbuf_free(&ex->body);
	free(ex);
}

static void on_sse_event(void *ctx, const struct sse_event *ev)
{
	struct exchange *ex = ctx;
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "\"kind\":\"sse_event\",\"dir\":\"s2c\",\"exchange\":%llu,\"event_id\":",
		      (unsigned long long)ex->id);
	if (ev->id)
		append_json_string(&b, ev->id, strlen(ev->id));
	else
		strbuf_append_str(&b, "null");
	strbuf_append_str(&b, ",\"event\":");
	append_json_string(&b, ev->event, strlen(ev->event));
	if (ev->retry_ms >= 0)
		strbuf_printf(&b, ",\"retry_ms\":%ld", ev->retry_ms);
	if (ev->truncated)
		strbuf_append_str(&b, ",\"truncated\":true");
	record_payload(&b, ex->t, ev->data, ev->data_len, ev->truncated);
	record(ex->t, 1, &b);
	strbuf_free(&b);
}

static void finish_body_record(struct exchange *ex)
{
	if (ex->is_sse || ex->body.len == 0)
		return;
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "\"kind\":\"http_body\",\"dir\":\"s2c\",\"exchange\":%llu",
		      (unsigned long long)ex->id);
	if (ex->body_cut)
		strbuf_append_str(&b, ",\"truncated\":true");
	record_payload(&b, ex->t, ex->body.data, ex->body.len, ex->body_cut);
	record(ex->t, 1, &b);
	strbuf_free(&b);
}

static void client_closed(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	struct exchange *ex = arg;
	ex->client_conn = NULL; /* libevent frees the client side */
	if (ex->finished)
		return;
	ex->finished = true;
	ex->t->client_aborts++;
	finish_body_record(ex);
	record_end(ex, "client_closed", NULL);
	/* libevent detaches a request the user has not finished from a failed connection and
	 * leaves it to us: ending the reply on a detached request frees it */
	if (evhttp_request_get_connection(ex->client_req) == NULL)
		evhttp_send_reply_end(ex->client_req);
	ex->client_req = NULL;
	/* stop the upstream side too; the error callback (cancelled) frees the exchange */
	if (ex->up_req)
		evhttp_cancel_request(ex->up_req);
	else
		exchange_free(ex, false);
}

static bool hop_by_hop(const char *name)
{
	static const char *const names[] = {"connection", "keep-alive",	    "proxy-connection",
					    "te",	  "trailer",	    "transfer-encoding",
					    "upgrade",	  "content-length", "host"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

static int on_upstream_headers(struct evhttp_request *up, void *arg)
{
	struct exchange *ex = arg;
	if (ex->finished)
		return -1;
	ex->status = evhttp_request_get_response_code(up);
	struct evkeyvalq *in = evhttp_request_get_input_headers(up);
	struct evkeyvalq *out = evhttp_request_get_output_headers(ex->client_req);
	for (struct evkeyval *h = in->tqh_first; h; h = h->next.tqe_next)
		if (!hop_by_hop(h->key))
			evhttp_add_header(out, h->key, h->value);
	const char *ct = evhttp_find_header(in, "Content-Type");
	ex->is_sse = ct && strncasecmp(ct, "text/event-stream", 17) == 0;
	if (ex->is_sse)
		sse_parser_init(&ex->sse, ex->t->max_event);

	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b,
		      "\"kind\":\"http_response\",\"dir\":\"s2c\",\"exchange\":%llu,\"status\":%d,",
		      (unsigned long long)ex->id, ex->status);
	append_headers(&b, ex->t, in);
	record(ex->t, 1, &b);
	strbuf_free(&b);

	const char *reason = evhttp_request_get_response_code_line(up);
	evhttp_send_reply_start(ex->client_req, ex->status, reason && *reason ? reason : "OK");
	ex->reply_started = true;
	return 0;
}

static void on_upstream_chunk(struct evhttp_request *up, void *arg)
{
	struct exchange *ex = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(up);
	size_t n = evbuffer_get_length(in);
	if (n == 0 || ex->finished)
		return;
	ex->bytes_out += n;
	/* record from a copy, then hand the bytes to the client without waiting for more */
	const char *data = (const char *)evbuffer_pullup(in, -1);
	if (ex->is_sse) {
		sse_parser_feed(&ex->sse, data, n, on_sse_event, ex);
	} else {
		size_t room = ex->t->max_body > ex->body.len ? ex->t->max_body - ex->body.len : 0;
		strbuf_append(&ex->body, data, n < room ? n : room);
		if (n > room)
			ex->body_cut = true;
	}
	struct evbuffer *chunk = evbuffer_new();
	evbuffer_add_buffer(chunk, in);
	evhttp_send_reply_chunk(ex->client_req, chunk);
	evbuffer_free(chunk);
}

/* libevent calls this on failure, then the done callback with NULL, except for a cancel, after
 * which nothing else is called. The request is already freed. */
static void on_upstream_error(enum evhttp_request_error err, void *arg)
{
	struct exchange *ex = arg;
	ex->up_req = NULL;
	if (err == EVREQ_HTTP_REQUEST_CANCEL) {
		exchange_free(ex, true);
		return;
	}
	static const char *const names[] = {"upstream timeout", "upstream closed the connection",
					    "upstream sent an invalid response",
					    "request cancelled", "upstream data too long"};
	const char *what = (unsigned)err < 5 ? names[err] : "upstream error";
	if (ex->finished)
		return;
	ex->finished = true;
	ex->t->upstream_errors++;
	if (!ex->reply_started) {
		ex->status = err == EVREQ_HTTP_TIMEOUT ? 504 : 502;
		evhttp_send_error(ex->client_req, ex->status, what);
	} else {
		evhttp_send_reply_end(ex->client_req);
	}
	finish_body_record(ex);
	record_end(ex, "upstream_error", what);
}

static void on_upstream_done(struct evhttp_request *up, void *arg)
{
	struct exchange *ex = arg;
	if (!up) {
		/* after on_upstream_error: everything is recorded and answered */
		exchange_free(ex, true);
		return;
	}
	ex->up_req = NULL;
	if (ex->finished) {
		exchange_free(ex, false);
		return;
	}
	ex->finished = true;
	if (!ex->reply_started) {
		/* no header callback ran: answer with what we have */
		ex->status = evhttp_request_get_response_code(up);
		if (ex->status == 0) {
			/* libevent gave up connecting (refused, unreachable) */
			ex->status = 502;
			ex->t->upstream_errors++;
			evhttp_send_error(ex->client_req, 502, "upstream unreachable");
			record_end(ex, "upstream_error", "upstream unreachable");
			exchange_free(ex, true);
			return;
		}
		evhttp_send_reply(ex->client_req, ex->status, "OK", NULL);
	} else {
		evhttp_send_reply_end(ex->client_req);
	}
	finish_body_record(ex);
	record_end(ex, "complete", NULL);
	exchange_free(ex, false);
}

static struct bufferevent *upstream_bufferevent(struct tap_http *t)
{
	if (!t->upstream_ctx)
		return bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE);
	SSL *ssl = SSL_new(t->upstream_ctx);
	if (!ssl)
		return NULL;
	SSL_set_tlsext_host_name(ssl, t->up_host);
	SSL_set1_host(ssl, t->up_host); /* certificate must name the upstream host */
	return bufferevent_openssl_socket_new(t->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					      BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
}

static void reject(struct tap_http *t, struct evhttp_request *req, uint64_t id, int status,
		   const char *why)
{
	t->rejected++;
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(
		&b,
		"\"kind\":\"http_end\",\"dir\":\"s2c\",\"exchange\":%llu,\"outcome\":\"rejected\","
		"\"status\":%d,\"error\":",
		(unsigned long long)id, status);
	append_json_string(&b, why, strlen(why));
	record(t, 1, &b);
	strbuf_free(&b);
	evhttp_send_error(req, status, why);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct tap_http *t = arg;
	uint64_t id = t->next_exchange++;
	t->exchanges++;
	struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t body_len = evbuffer_get_length(body);
	const char *uri = evhttp_request_get_uri(req);
	char *peer = NULL;
	ev_uint16_t peer_port = 0;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	evhttp_connection_get_peer(conn, &peer, &peer_port);

	/* the request record comes first, even for requests we refuse */
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "\"kind\":\"http_request\",\"dir\":\"c2s\",\"exchange\":%llu,\"conn\":",
		      (unsigned long long)id);
	char peer_buf[300];
	snprintf(peer_buf, sizeof(peer_buf), "%s:%u", peer ? peer : "?", peer_port);
	append_json_string(&b, peer_buf, strlen(peer_buf));
	strbuf_printf(&b,
		      ",\"method\":\"%s\",\"uri\":", method_name(evhttp_request_get_command(req)));
	size_t ul = strlen(uri);
	append_json_string(&b, uri, ul < 4096 ? ul : 4096);
	strbuf_append(&b, ",", 1);
	append_headers(&b, t, headers);
	append_auth(&b, t, headers);
	size_t header_bytes = 0;
	for (struct evkeyval *h = headers->tqh_first; h; h = h->next.tqe_next)
		header_bytes += strlen(h->key) + strlen(h->value) + 4;
	bool body_too_big = body_len > t->max_body;
	const char *data = body_len ? (const char *)evbuffer_pullup(body, -1) : "";
	record_payload(&b, t, data, body_too_big ? t->max_body : body_len, body_too_big);
	record(t, 0, &b);
	strbuf_free(&b);

	if (header_bytes > t->max_headers) {
		reject(t, req, id, 431, "request headers too large");
		return;
	}
	if (body_too_big) {
		reject(t, req, id, 413, "request body too large");
		return;
	}
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_DELETE &&
	    cmd != EVHTTP_REQ_OPTIONS) {
		reject(t, req, id, 405, "method not allowed by the MCP tap");
		return;
	}

	struct exchange *ex = calloc(1, sizeof(*ex));
	if (!ex) {
		reject(t, req, id, 503, "out of memory");
		return;
	}
	ex->t = t;
	ex->id = id;
	ex->client_req = req;
	ex->client_conn = conn;
	ex->start_ns = clock_now_ns();
	ex->bytes_in = body_len;
	struct bufferevent *bev = upstream_bufferevent(t);
	ex->up_conn = bev ? evhttp_connection_base_bufferevent_new(t->base, t->dns, bev, t->up_host,
								   (ev_uint16_t)t->up_port)
			  : NULL;
	if (!ex->up_conn) {
		free(ex);
		reject(t, req, id, 502, "cannot create the upstream connection");
		return;
	}
	evhttp_connection_set_timeout(ex->up_conn, t->timeout_s);
	evhttp_connection_set_retries(ex->up_conn, 0);
	ex->up_req = evhttp_request_new(on_upstream_done, ex);
	evhttp_request_set_header_cb(ex->up_req, on_upstream_headers);
	evhttp_request_set_chunked_cb(ex->up_req, on_upstream_chunk);
	evhttp_request_set_error_cb(ex->up_req, on_upstream_error);
	struct evkeyvalq *out = evhttp_request_get_output_headers(ex->up_req);
	for (struct evkeyval *h = headers->tqh_first; h; h = h->next.tqe_next)
		if (!hop_by_hop(h->key))
			evhttp_add_header(out, h->key, h->value);
	char host[300];
	snprintf(host, sizeof(host), "%s:%d", t->up_host, t->up_port);
	evhttp_add_header(out, "Host", host);
	evhttp_add_header(out, "X-Forwarded-For", peer ? peer : "unknown");
	/* one upstream connection per exchange: closed after it, so libevent frees it */
	evhttp_add_header(out, "Connection", "close");
	if (body_len)
		evbuffer_add_buffer(evhttp_request_get_output_buffer(ex->up_req), body);
	evhttp_connection_set_closecb(conn, client_closed, ex);
	if (evhttp_make_request(ex->up_conn, ex->up_req, cmd, uri) != 0) {
		/* libevent freed up_req */
		ex->up_req = NULL;
		ex->finished = true;
		ex->status = 502;
		evhttp_send_error(req, 502, "cannot send to the upstream");
		record_end(ex, "upstream_error", "cannot send to the upstream");
		exchange_free(ex, true);
	}
}

/* ---- set-up ---- */

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(((struct tap_http *)arg)->base, NULL);
}

static struct bufferevent *listener_bev(struct event_base *base, void *arg)
{
	struct tap_http *t = arg;
	SSL *ssl = SSL_new(t->listen_ctx);
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail tap-http --listen HOST:PORT --upstream URL [--out FILE]\n"
		"         [--jwks FILE] [--fingerprint-key FILE] [--tls-cert PEM --tls-key PEM]\n"
		"         [--upstream-ca PEM] [--max-body BYTES] [--max-headers BYTES]\n"
		"         [--timeout SECONDS] [--buffer BYTES]\n"
		"  A Streamable HTTP reverse proxy that forwards POST/GET/DELETE to URL's origin,\n"
		"  streams responses (SSE included) as they arrive and records every exchange to "
		"FILE\n"
		"  (default mcptrail-tap-http.jsonl, mode 0600). Bearer tokens are recorded only "
		"as an\n"
		"  HMAC fingerprint (key in --fingerprint-key, created if missing) and decoded "
		"claims,\n"
		"  verified against --jwks when given. Runs until SIGINT/SIGTERM, then flushes.\n");
}

static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return -1;
	size_t n = (size_t)(colon - s);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

int tap_http_main(int argc, char **argv)
{
	const char *listen = NULL, *upstream = NULL, *out_path = "mcptrail-tap-http.jsonl";
	const char *jwks = NULL, *fp_key_path = NULL, *tls_cert = NULL, *tls_key = NULL;
	const char *upstream_ca = NULL;
	size_t buffer_cap = 64u << 20;
	struct tap_http t = {.max_body = 8u << 20, .max_headers = 64u << 10, .timeout_s = 3600};
	t.max_event = t.max_body;
	int rc = 2;
	for (int i = 0; i < argc; i += 2) { /* options all take a value */
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (!v) {
			ok = false;
		} else if (strcmp(a, "--listen") == 0) {
			listen = v;
		} else if (strcmp(a, "--upstream") == 0) {
			upstream = v;
		} else if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) {
			out_path = v;
		} else if (strcmp(a, "--jwks") == 0) {
			jwks = v;
		} else if (strcmp(a, "--fingerprint-key") == 0) {
			fp_key_path = v;
		} else if (strcmp(a, "--tls-cert") == 0) {
			tls_cert = v;
		} else if (strcmp(a, "--tls-key") == 0) {
			tls_key = v;
		} else if (strcmp(a, "--upstream-ca") == 0) {
			upstream_ca = v;
		} else if (strcmp(a, "--max-body") == 0) {
			ok = parse_size(v, &t.max_body) && t.max_body > 0;
			t.max_event = t.max_body;
		} else if (strcmp(a, "--max-headers") == 0) {
			ok = parse_size(v, &t.max_headers) && t.max_headers >= 1024;
		} else if (strcmp(a, "--buffer") == 0) {
			ok = parse_size(v, &buffer_cap) && buffer_cap >= 4096;
		} else if (strcmp(a, "--timeout") == 0) {
			char *end;
			long s = strtol(v, &end, 10);
			ok = !*end && s > 0 && s < 86400 * 7;
			t.timeout_s = (int)s;
		} else {
			fprintf(stderr, "mcptrail tap-http: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "mcptrail tap-http: %s: missing or invalid value\n", a);
			return 2;
		}
	}
	if (!listen || !upstream) {
		fprintf(stderr, "mcptrail tap-http: --listen and --upstream are required\n");
		usage(stderr);
		return 2;
	}
	if (!!tls_cert != !!tls_key) {
		fprintf(stderr, "mcptrail tap-http: --tls-cert and --tls-key go together\n");
		return 2;
	}
	char listen_host[256];
	int listen_port;
	if (parse_listen(listen, listen_host, sizeof(listen_host), &listen_port) != 0) {
		fprintf(stderr, "mcptrail tap-http: --listen: expected HOST:PORT, got '%s'\n",
			listen);
		return 2;
	}
	struct evhttp_uri *u = evhttp_uri_parse(upstream);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	const char *uhost = u ? evhttp_uri_get_host(u) : NULL;
	if (!scheme || !uhost || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		fprintf(stderr,
			"mcptrail tap-http: --upstream: expected http(s)://HOST[:PORT][/PATH], "
			"got '%s'\n",
			upstream);
		if (u)
			evhttp_uri_free(u);
		return 2;
	}
	bool tls_up = strcmp(scheme, "https") == 0;
	t.up_host = strdup(uhost);
	t.up_port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : tls_up ? 443 : 80;
	t.upstream_url = strdup(upstream);
	evhttp_uri_free(u);

	char err[512];
	char default_key[4096];
	if (!fp_key_path) {
		const char *dir = getenv("MCPTRAIL_STATE_DIR");
		snprintf(default_key, sizeof(default_key), "%s/fingerprint.key", dir ? dir : ".");
		fp_key_path = default_key;
	}
	if (token_fingerprint_key_load(fp_key_path, t.fp_key, err, sizeof(err)) != 0) {
		fprintf(stderr, "mcptrail tap-http: --fingerprint-key: %s\n", err);
		goto out;
	}
	if (jwks && !(t.keys = jwt_keyring_load_file(jwks, err, sizeof(err)))) {
		fprintf(stderr, "mcptrail tap-http: --jwks: %s\n", err);
		goto out;
	}
	t.tokens = token_cache_new(4096);
	t.scanner = json_scanner_new();
	if (tls_up) {
		t.upstream_ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(t.upstream_ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_min_proto_version(t.upstream_ctx, TLS1_2_VERSION);
		if ((upstream_ca ? SSL_CTX_load_verify_locations(t.upstream_ctx, upstream_ca, NULL)
				 : SSL_CTX_set_default_verify_paths(t.upstream_ctx)) != 1) {
			fprintf(stderr, "mcptrail tap-http: cannot load CA certificates%s%s\n",
				upstream_ca ? " from " : "", upstream_ca ? upstream_ca : "");
			goto out;
		}
	}
	if (tls_cert) {
		t.listen_ctx = SSL_CTX_new(TLS_server_method());
		SSL_CTX_set_min_proto_version(t.listen_ctx, TLS1_2_VERSION);
		if (SSL_CTX_use_certificate_chain_file(t.listen_ctx, tls_cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(t.listen_ctx, tls_key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(t.listen_ctx) != 1) {
			fprintf(stderr, "mcptrail tap-http: cannot use --tls-cert/--tls-key: %s\n",
				ERR_reason_error_string(ERR_get_error()));
			goto out;
		}
	}
	const char *rec_err = NULL;
	t.rec = recorder_open(out_path, "http", buffer_cap, &rec_err);
	if (!t.rec) {
		fprintf(stderr, "mcptrail tap-http: cannot open record file '%s': %s\n", out_path,
			rec_err);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	t.base = event_base_new();
	t.dns = evdns_base_new(t.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	t.http = evhttp_new(t.base);
	if (!t.base || !t.http) {
		fprintf(stderr, "mcptrail tap-http: cannot initialise libevent\n");
		goto out;
	}
	/* libevent's own limits are a hard backstop; ours, checked per request, are recorded */
	evhttp_set_max_headers_size(t.http, (ev_ssize_t)t.max_headers * 4);
	evhttp_set_max_body_size(t.http, (ev_ssize_t)t.max_body * 4);
	evhttp_set_timeout(t.http, t.timeout_s);
	evhttp_set_allowed_methods(t.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						   EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD |
						   EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(t.http, on_request, &t);
	if (t.listen_ctx)
		evhttp_set_bevcb(t.http, listener_bev, &t);
	if (!evhttp_bind_socket_with_handle(t.http, listen_host, (ev_uint16_t)listen_port)) {
		fprintf(stderr, "mcptrail tap-http: cannot listen on %s: %s\n", listen,
			strerror(errno));
		goto out;
	}
	char extra[1024];
	struct strbuf ub = STRBUF_INIT;
	append_json_string(&ub, upstream, strlen(upstream));
	snprintf(extra, sizeof(extra), "\"upstream\":%s,\"listen\":\"%s\",\"tls\":%s", ub.data,
		 listen, t.listen_ctx ? "true" : "false");
	strbuf_free(&ub);
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	struct recorder_stream_info info = {
		.transport = "http",
		.identity = "bearer",
		.identity_source = "bearer_token",
		.host = host,
		.tap_pid = (long)getpid(),
		.child_pid = 0,
		.argc = 0,
		.argv = NULL,
		.extra_members = extra,
	};
	if (recorder_start(t.rec, &info) != 0) {
		fprintf(stderr, "mcptrail tap-http: cannot start the recorder\n");
		goto out;
	}
	t.sigint = evsignal_new(t.base, SIGINT, on_signal, &t);
	t.sigterm = evsignal_new(t.base, SIGTERM, on_signal, &t);
	event_add(t.sigint, NULL);
	event_add(t.sigterm, NULL);
	fprintf(stderr, "mcptrail tap-http: listening on %s, forwarding to %s, recording to %s\n",
		listen, upstream, out_path);
	event_base_dispatch(t.base);
	rc = 0;
	/* close the client connections: exchanges still streaming are recorded as client_closed,
	 * their upstream requests cancelled; then let the loop run the frees that scheduled */
	evhttp_free(t.http);
	t.http = NULL;
	for (int i = 0; i < 3; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	fprintf(stderr,
		"mcptrail tap-http: %llu exchanges, %llu upstream errors, %llu rejected, %llu "
		"client "
		"aborts\n",
		(unsigned long long)t.exchanges, (unsigned long long)t.upstream_errors,
		(unsigned long long)t.rejected, (unsigned long long)t.client_aborts);
out:
	if (t.http)
		evhttp_free(t.http);
	if (t.rec) {
		if (recorder_close(t.rec, 0, 0) != 0 && rc == 0) {
			fprintf(stderr, "mcptrail tap-http: the record file is incomplete\n");
			rc = 1;
		}
		recorder_free(t.rec);
	}
	if (t.sigint)
		event_free(t.sigint);
	if (t.sigterm)
		event_free(t.sigterm);
	if (t.dns)
		evdns_base_free(t.dns, 0);
	if (t.base)
		event_base_free(t.base);
	SSL_CTX_free(t.upstream_ctx);
	SSL_CTX_free(t.listen_ctx);
	json_scanner_free(t.scanner);
	token_cache_free(t.tokens);
	jwt_keyring_free(t.keys);
	free(t.up_host);
	free(t.upstream_url);
	return rc;
}
