/* collect_otlp: an OTLP/HTTP receiver of logs, JSON encoding only.
 *
 * POST /v1/logs with Content-Type application/json and an ExportLogsServiceRequest body (at most
 * the input's max_body bytes; libevent answers 413 beyond). The body is parsed, written again as
 * one compact JSON line and fed to the importer as a line of the "otlp" log format
 * (parsers/log_otlp.c), under the input's name. Answers, as the OTLP/HTTP specification has them:
 *   200 {}                  accepted (also when no record in it was an MCP request)
 *   400 {"code":3,...}      not JSON, not an object, or not an ExportLogsServiceRequest
 *   404 / 405               another path / another method
 *   415                     a protobuf body (application/x-protobuf) or any other content type,
 *                           or a Content-Encoding: this receiver reads uncompressed JSON only
 *   503 + Retry-After: 1    the spool takes no events now (back-pressure) or the daemon stops;
 *                           the sender retries
 * Sources followed: the OTLP specification (docs/specification.md, "OTLP/HTTP": paths, content
 * types, status codes, JSON encoding). */
#include "collector/collect_otlp.h"

#include "collector/collect_internal.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void answer(struct evhttp_request *req, int status, const char *reason, const char *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json");
	if (status == 503)
		evhttp_add_header(h, "Retry-After", "1");
	if (status == 405)
		evhttp_add_header(h, "Allow", "POST");
	struct evbuffer *buf = evbuffer_new();
	if (buf && body)
		evbuffer_add(buf, body, strlen(body));
	evhttp_send_reply(req, status, reason, buf);
	if (buf)
		evbuffer_free(buf);
}

/* {"code":3,"message":MESSAGE}: a google.rpc.Status, INVALID_ARGUMENT */
static void answer_bad(struct evhttp_request *req, const char *message)
{
	json_t *st = json_pack("{s:i, s:s}", "code", 3, "message", message);
	char *s = st ? json_dumps(st, JSON_COMPACT) : NULL;
	answer(req, 400, "Bad Request", s ? s : "{\"code\":3}");
	free(s);
	json_decref(st);
}

static bool json_content_type(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strlen("application/json");
	return strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct input *in = arg;
	struct collector *c = in->c;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!path || strcmp(path, "/v1/logs") != 0) {
		answer(req, 404, "Not Found",
		       "{\"code\":5,\"message\":\"only /v1/logs is served\"}");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		answer(req, 405, "Method Not Allowed", NULL);
		return;
	}
	struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
	const char *encoding = evhttp_find_header(headers, "Content-Encoding");
	if (!json_content_type(evhttp_find_header(headers, "Content-Type")) ||
	    (encoding && strcasecmp(encoding, "identity") != 0)) {
		answer(req, 415, "Unsupported Media Type",
		       "{\"code\":3,\"message\":\"only uncompressed application/json (OTLP/JSON) "
		       "is "
		       "accepted\"}");
		return;
	}
	if (c->paused || c->stopping) {
		answer(req, 503, "Service Unavailable",
		       "{\"code\":14,\"message\":\"busy: retry later\"}");
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	const char *data = len ? (const char *)evbuffer_pullup(body, -1) : "";
	json_error_t jerr;
	json_t *doc = json_loadb(data, len, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		answer_bad(req, doc ? "expected a JSON object (ExportLogsServiceRequest)"
				    : "malformed JSON");
		return;
	}
	char *line = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!line) {
		answer(req, 503, "Service Unavailable",
		       "{\"code\":14,\"message\":\"out of memory\"}");
		return;
	}
	uint64_t bad = in->bad_lines;
	collect_feed(in, in->cfg->name, line, strlen(line), false);
	free(line);
	collect_line_done(c);
	collect_commit(c);
	if (in->bad_lines != bad)
		answer_bad(req,
			   "not an ExportLogsServiceRequest (reported as an ingest.error event)");
	else
		answer(req, 200, "OK", "{}");
}

int otlp_input_start(struct input *in, char *why, size_t whylen)
{
	char host[64], reason[128];
	unsigned port;
	if (config_parse_listen(in->cfg->listen, host, sizeof(host), &port, reason,
				sizeof(reason)) != 0) {
		snprintf(why, whylen, "%s", reason);
		return -1;
	}
	if (import_source_format(in->c->imp, in->cfg->name, "otlp") != 0) {
		snprintf(why, whylen, "the otlp log parser is not available");
		return -1;
	}
	struct evhttp *http = evhttp_new(in->c->base);
	if (!http) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_timeout(http, 30);
	evhttp_set_max_headers_size(http, 16384);
	evhttp_set_max_body_size(http, (ev_ssize_t)in->cfg->max_line);
	evhttp_set_gencb(http, on_request, in);
	if (!evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port)) {
		snprintf(why, whylen, "cannot listen on %s", in->cfg->listen);
		evhttp_free(http);
		return -1;
	}
	in->otlp = http;
	return 0;
}

void otlp_input_stop(struct input *in)
{
	if (in->otlp) {
		evhttp_free(in->otlp);
		in->otlp = NULL;
	}
}

void otlp_input_free(struct input *in)
{
	otlp_input_stop(in);
}
