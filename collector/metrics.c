#include "collector/metrics.h"

#include "collector/config.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics_server {
	struct evhttp *http;
	metrics_render_fn render;
	metrics_health_fn health;
	void *ctx;
};

static void append_escaped(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_append(out, "\\\\", 2);
		else if (*s == '"')
			strbuf_append(out, "\\\"", 2);
		else if (*s == '\n')
			strbuf_append(out, "\\n", 2);
		else
			strbuf_append(out, s, 1);
	}
}

void prom_family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_head(struct strbuf *out, const char *name, const char *const *labels)
{
	strbuf_append_str(out, name);
	if (!labels || !labels[0])
		return;
	strbuf_append(out, "{", 1);
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		if (i)
			strbuf_append(out, ",", 1);
		strbuf_printf(out, "%s=\"", labels[i]);
		append_escaped(out, labels[i + 1]);
		strbuf_append(out, "\"", 1);
	}
	strbuf_append(out, "}", 1);
}

void prom_sample(struct strbuf *out, const char *name, const char *const *labels, double value)
{
	sample_head(out, name, labels);
	strbuf_printf(out, " %.17g\n", value);
}

void prom_sample_u64(struct strbuf *out, const char *name, const char *const *labels,
		     uint64_t value)
{
	sample_head(out, name, labels);
	strbuf_printf(out, " %llu\n", (unsigned long long)value);
}

static void reply(struct evhttp_request *req, int status, const char *reason,
		  const char *content_type, const struct strbuf *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	struct evbuffer *buf = evbuffer_new();
	if (buf && body && body->len)
		evbuffer_add(buf, body->data, body->len);
	evhttp_send_reply(req, status, reason, buf);
	if (buf)
		evbuffer_free(buf);
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evhttp_uri *parsed = uri ? evhttp_uri_parse(uri) : NULL;
	const char *path = parsed ? evhttp_uri_get_path(parsed) : NULL;
	struct strbuf body = STRBUF_INIT;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		strbuf_append_str(&body, "GET only\n");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply(req, 405, "Method Not Allowed", "text/plain; charset=utf-8", &body);
	} else if (path && strcmp(path, "/metrics") == 0) {
		m->render(m->ctx, &body);
		reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &body);
	} else if (path && strcmp(path, "/health") == 0) {
		int status = m->health(m->ctx, &body);
		reply(req, status, status == 200 ? "OK" : "Service Unavailable", "application/json",
		      &body);
	} else {
		strbuf_append_str(&body, "not found: try /metrics or /health\n");
		reply(req, 404, "Not Found", "text/plain; charset=utf-8", &body);
	}
	strbuf_free(&body);
	if (parsed)
		evhttp_uri_free(parsed);
}

struct metrics_server *metrics_start(struct event_base *base, const char *listen,
				     metrics_render_fn render, metrics_health_fn health, void *ctx,
				     char *err, size_t errlen)
{
	char host[64], why[128];
	unsigned port;
	if (config_parse_listen(listen, host, sizeof(host), &port, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", listen, why);
		return NULL;
	}
	struct metrics_server *m = calloc(1, sizeof(*m));
	if (!m || !(m->http = evhttp_new(base))) {
		snprintf(err, errlen, "out of memory");
		free(m);
		return NULL;
	}
	m->render = render;
	m->health = health;
	m->ctx = ctx;
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_max_headers_size(m->http, 16384);
	evhttp_set_max_body_size(m->http, 4096);
	evhttp_set_gencb(m->http, handle, m);
	if (!evhttp_bind_socket_with_handle(m->http, host, (ev_uint16_t)port)) {
		snprintf(err, errlen, "cannot listen on %s (in use?)", listen);
		evhttp_free(m->http);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_stop(struct metrics_server *m)
{
	if (!m)
		return;
	evhttp_free(m->http);
	free(m);
}
