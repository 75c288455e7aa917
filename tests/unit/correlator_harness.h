/* A harness for correlator unit tests: plays hand-written observations, collects the events.
 * Included by the correlator test files (static functions: each test binary gets its own). */
#ifndef MCPTRAIL_CORRELATOR_HARNESS_H
#define MCPTRAIL_CORRELATOR_HARNESS_H

#include "collector/correlator.h"
#include "parsers/json_scan.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1795773600000000000LL /* 2026-11-27T10:00:00Z */
#define MS(n) (T0 + (int64_t)(n)*1000000LL)
#define C2S OBS_C2S
#define S2C OBS_S2C

struct harness {
	json_scanner *scanner;
	struct correlator *c;
	json_t *events;
	uint64_t seq;
};

static inline void collect(void *ctx, json_t *event_take)
{
	struct harness *h = ctx;
	json_array_append_new(h->events, event_take);
}

static inline void h_init(struct harness *h, const struct correlator_config *cfg)
{
	memset(h, 0, sizeof(*h));
	h->scanner = json_scanner_new();
	h->events = json_array();
	h->c = correlator_new(cfg, collect, h);
	assert_non_null(h->scanner);
	assert_non_null(h->c);
}

static inline void h_free(struct harness *h)
{
	correlator_free(h->c);
	json_scanner_free(h->scanner);
	json_decref(h->events);
}

static inline struct obs obs_of(struct harness *h, enum obs_kind kind, const char *stream,
				enum obs_dir dir, int64_t t)
{
	struct obs o;
	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.stream = stream;
	o.dir = dir;
	o.time_ns = t;
	o.seq = h->seq++;
	return o;
}

static inline void h_start(struct harness *h, const char *stream, const char *transport,
			   const char *subject, int64_t t)
{
	struct obs o = obs_of(h, OBS_STREAM_START, stream, C2S, t);
	o.transport = transport;
	o.host = "ws1";
	o.server_command = "node server.js";
	o.identity.subject = subject;
	o.identity.source = "os_user";
	correlator_observe(h->c, &o);
}

/* Scans text like the importer does and observes it as one message. */
static inline void h_msg(struct harness *h, const char *stream, enum obs_dir dir, int64_t t,
			 const char *text)
{
	size_t len = strlen(text);
	char *buf = calloc(1, len + JSON_SCAN_PADDING);
	memcpy(buf, text, len);
	struct json_scan scan;
	if (json_scanner_scan(h->scanner, buf, len, len + JSON_SCAN_PADDING, &scan) ==
	    JSON_MSG_INVALID)
		fail_msg("test input is not a valid message (%s): %s", scan.invalid_reason, text);
	struct obs o = obs_of(h, OBS_MESSAGE, stream, dir, t);
	o.msg = &scan;
	o.raw = buf;
	o.raw_len = len;
	correlator_observe(h->c, &o);
	free(buf);
}

static inline void h_invalid(struct harness *h, const char *stream, enum obs_dir dir, int64_t t,
			     const char *text)
{
	size_t len = strlen(text);
	struct json_scan scan;
	assert_int_equal(json_scanner_scan(h->scanner, text, len, len, &scan), JSON_MSG_INVALID);
	struct obs o = obs_of(h, OBS_INVALID, stream, dir, t);
	o.raw = text;
	o.raw_len = len;
	o.invalid_reason = scan.invalid_reason;
	o.invalid_len = len;
	correlator_observe(h->c, &o);
}

/* An HTTP stream whose messages each carry their own identity (who, borrowed). */
static inline void h_start_as(struct harness *h, const char *stream, json_t *who, int64_t t)
{
	struct obs o = obs_of(h, OBS_STREAM_START, stream, C2S, t);
	o.transport = "http";
	o.principal = who;
	correlator_observe(h->c, &o);
}

/* A message sent by who (borrowed). */
static inline void h_msg_as(struct harness *h, const char *stream, enum obs_dir dir, int64_t t,
			    json_t *who, const char *text)
{
	size_t len = strlen(text);
	char *buf = calloc(1, len + JSON_SCAN_PADDING);
	memcpy(buf, text, len);
	struct json_scan scan;
	if (json_scanner_scan(h->scanner, buf, len, len + JSON_SCAN_PADDING, &scan) ==
	    JSON_MSG_INVALID)
		fail_msg("test input is not a valid message (%s): %s", scan.invalid_reason, text);
	struct obs o = obs_of(h, OBS_MESSAGE, stream, dir, t);
	o.msg = &scan;
	o.raw = buf;
	o.raw_len = len;
	o.principal = who;
	correlator_observe(h->c, &o);
	free(buf);
}

/* ev at a dotted path ("call.outcome"). */
static json_t *at(json_t *ev, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *v = ev;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v;
	     k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return v;
}

static const char *str_at(json_t *ev, const char *path)
{
	json_t *v = at(ev, path);
	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

static inline long long int_at(json_t *ev, const char *path)
{
	json_t *v = at(ev, path);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return (long long)json_integer_value(v);
}

static inline size_t count(struct harness *h, const char *type)
{
	size_t i, n = 0;
	json_t *ev;
	json_array_foreach(h->events, i, ev) n += strcmp(str_at(ev, "type"), type) == 0;
	return n;
}

/* The first event of a type whose string at path is value (path NULL: any); fails if none. */
static json_t *find(struct harness *h, const char *type, const char *path, const char *value)
{
	size_t i;
	json_t *ev;
	json_array_foreach(h->events, i, ev)
	{
		if (strcmp(str_at(ev, "type"), type) == 0 &&
		    (!path || strcmp(str_at(ev, path), value) == 0))
			return ev;
	}
	fail_msg("no %s event with %s = %s", type, path ? path : "-", path ? value : "-");
	return NULL;
}

#define first(h, type) find(h, type, NULL, NULL)
#define tool_call(h, tool) find(h, "mcp.tool_call", "call.tool", tool)
#define session_end(h) find(h, "mcp.session", "session.state", "end")

static inline void call_tool(struct harness *h, const char *stream, int64_t t, const char *id,
			     const char *tool, const char *extra)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"%s\",\"arguments\":{\"q\":1}%s}}",
		 id, tool, extra ? extra : "");
	h_msg(h, stream, C2S, t, text);
}

static inline void respond(struct harness *h, const char *stream, enum obs_dir dir, int64_t t,
			   const char *id, const char *result)
{
	char text[512];
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":%s}", id, result);
	h_msg(h, stream, dir, t, text);
}

#endif
