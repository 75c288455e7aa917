/* mcptrail-bench-gen: writes a synthetic but realistic tap-record capture for benchmarks.
 *
 * The output is what `mcptrail tap` would have written for several stdio sessions appended to one
 * file (parsers/tap_record.h, collector/recorder.c): per session a start record, frames in "msg"
 * form (a few invalid ones as "b64"), an end record. Sessions of several identities run at the
 * same time and their records interleave; time advances in nanoseconds and is monotone per stream
 * (and over the file). Each session: initialize/initialized, tools/list, then a random mix of
 * tools/call (arguments from ~50 B to several KB, nested JSON, escapes, unicode), results (ok,
 * isError, JSON-RPC errors), progress, task-augmented calls with their status notifications, polls,
 * tasks/result and tasks/cancel, notifications/cancelled, resources/read, prompts/get,
 * server-to-client sampling and elicitation, pings and log messages. Deterministic for a seed.
 *
 * usage: mcptrail-bench-gen [--frames N] [--seed S] [--streams K] [-o FILE]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gmtime_r, memfd_create (the build defines it too) */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- growable buffer (always NUL-terminated once allocated) ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void die(const char *msg)
{
	fprintf(stderr, "mcptrail-bench-gen: %s\n", msg);
	exit(2);
}

static void b_reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		die("out of memory");
	b->p = p;
	b->cap = cap;
}

static void b_add(struct buf *b, const char *s, size_t n)
{
	b_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void b_str(struct buf *b, const char *s)
{
	b_add(b, s, strlen(s));
}

static void b_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_fmt(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf failed");
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b_reserve(b, (size_t)n + 1);
	}
}

/* ---- deterministic PRNG (splitmix64 seeding xoshiro256**) ---- */

static uint64_t rng_s[4];

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng_s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(void)
{
	uint64_t r = rotl(rng_s[1] * 5, 7) * 9;
	uint64_t t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}

/* uniform in [0, n) */
static uint32_t rn(uint32_t n)
{
	return n ? (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32) : 0;
}

/* uniform in [lo, hi] */
static uint32_t rr(uint32_t lo, uint32_t hi)
{
	return lo + rn(hi - lo + 1);
}

/* true with probability pct per mille */
static bool chance(uint32_t per_mille)
{
	return rn(1000) < per_mille;
}

#define PICK(arr) (arr[rn((uint32_t)(sizeof(arr) / sizeof(arr[0])))])

static void hex(struct buf *b, unsigned digits)
{
	static const char h[] = "0123456789abcdef";
	b_reserve(b, digits);
	uint64_t r = rnd();
	for (unsigned i = 0; i < digits; i++) {
		if (i % 16 == 15)
			r = rnd();
		b->p[b->len++] = h[r & 15];
		r >>= 4;
	}
	b->p[b->len] = '\0';
}

static void uuid(struct buf *b)
{
	hex(b, 8);
	b_str(b, "-");
	hex(b, 4);
	b_str(b, "-4");
	hex(b, 3);
	b_str(b, "-a");
	hex(b, 3);
	b_str(b, "-");
	hex(b, 12);
}

/* ---- text: phrases already escaped as JSON string bodies ---- */

static const char *const phrases[] = {
	"The deployment finished without errors. ",
	"Rolling update: 3/3 replicas ready.\\n",
	"Résumé of the incident: the cache node ran out of memory at 03:12 UTC. ",
	"日本語のテキストも含まれています。",
	"Ünïcödé handling check — naïve café, Zürich, Øresund. ",
	"\\\"quoted\\\" words and a backslash \\\\ in a path C:\\\\Users\\\\agent ",
	"\\tcolumn_a\\tcolumn_b\\tcolumn_c\\n",
	"✅ All checks passed. ",
	"🎉 Release v2.4.1 is live. ",
	"Error budget remaining: 97.3% (SLO 99.9%). ",
	"SELECT id, name FROM users WHERE created_at > '2026-01-01' ORDER BY id LIMIT 50;\\n",
	"def handler(event, ctx):\\n    return {\\\"status\\\": 200}\\n",
	"Line with control chars \\u0001\\u001f and a form feed \\f. ",
	"Привет, мир! Это тестовое сообщение. ",
	"مرحبا بالعالم ",
	"Emoji sequence: 👩‍💻 🚀 🔒 ",
	"The quick brown fox jumps over the lazy dog. ",
	"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ",
	"{\\\"nested\\\": {\\\"json\\\": [1, 2, 3]}} embedded as text. ",
	"https://example.com/search?q=mcp+audit&lang=en#results ",
	"\\r\\nWindows line ending inside a string.\\r\\n",
	"Surrogate pair escape: \\ud83d\\ude00 and BMP escape \\u00e9. ",
	"## Heading\\n\\n- item one\\n- item two\\n\\n",
	"Numbers: 3.14159, -0.0, 6.02e23, 1e-9. ",
};

static void text(struct buf *b, size_t target)
{
	size_t start = b->len;
	while (b->len - start < target)
		b_str(b, PICK(phrases));
}

/* A size drawn from a skewed distribution: mostly small, sometimes several KB. */
static size_t text_size(void)
{
	uint32_t r = rn(100);
	if (r < 55)
		return rr(16, 120);
	if (r < 85)
		return rr(120, 600);
	if (r < 97)
		return rr(600, 3000);
	return rr(3000, 9000);
}

static void rfc3339(struct buf *b, int64_t ns, bool ms)
{
	time_t sec = (time_t)(ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&sec, &tm);
	if (ms)
		b_fmt(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		      (int)((ns % 1000000000LL) / 1000000));
	else
		b_fmt(b, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns % 1000000000LL));
}

static void base64(struct buf *b, const unsigned char *d, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	b_reserve(b, (n + 2) / 3 * 4);
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		b->p[b->len++] = t[v >> 18];
		b->p[b->len++] = t[(v >> 12) & 63];
		b->p[b->len++] = t[(v >> 6) & 63];
		b->p[b->len++] = t[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		b->p[b->len++] = t[v >> 18];
		b->p[b->len++] = t[(v >> 12) & 63];
		b->p[b->len++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		b->p[b->len++] = '=';
	}
	b->p[b->len] = '\0';
}

/* ---- sessions and episodes ---- */

enum fkind { F_MSG, F_MSG_CRLF, F_B64 };

struct frame {
	uint8_t dir; /* 0 c2s, 1 s2c */
	uint8_t kind;
	size_t off, len; /* in the episode's data */
};

struct episode {
	struct buf data;
	struct frame *fr;
	size_t n, cap, next;
};

#define MAX_ACTIVE 4

struct slot {
	const char *subject, *source, *client, *client_version;
	unsigned index;
	bool string_ids;
	bool live;     /* a session is open */
	bool finished; /* no more sessions */
	char stream[40];
	uint64_t seq, frames[2];
	uint64_t budget, emitted;
	int64_t req_id, srv_id;
	struct episode ep[MAX_ACTIVE];
	int nactive;
	bool initializing;
	int concurrency;
};

static struct {
	struct buf out;
	FILE *f;
	int64_t now;
	uint64_t frames, streams, records, bytes;
	uint64_t target;
} g;

static void ep_reset(struct episode *e)
{
	e->data.len = 0;
	e->n = e->next = 0;
}

/* Starts a frame: returns the buffer to write its JSON into; ep_end() closes it. */
static struct buf *ep_begin(struct episode *e, int dir, enum fkind kind)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->fr = realloc(e->fr, e->cap * sizeof(*e->fr));
		if (!e->fr)
			die("out of memory");
	}
	struct frame *f = &e->fr[e->n];
	f->dir = (uint8_t)dir;
	f->kind = (uint8_t)kind;
	f->off = e->data.len;
	return &e->data;
}

static void ep_end(struct episode *e)
{
	struct frame *f = &e->fr[e->n++];
	f->len = e->data.len - f->off;
}

static void write_out(void)
{
	if (g.out.len && fwrite(g.out.p, 1, g.out.len, g.f) != g.out.len)
		die(strerror(errno));
	g.bytes += g.out.len;
	g.out.len = 0;
}

static void maybe_flush(void)
{
	if (g.out.len >= (4u << 20))
		write_out();
}

/* ---- message builders (field order as the TypeScript SDK writes them) ---- */

static void id_json(struct buf *b, const struct slot *s, int64_t id)
{
	if (s->string_ids)
		b_fmt(b, "\"%s-%06" PRId64 "\"", s->subject, id);
	else
		b_fmt(b, "%" PRId64, id);
}

static void req_tail(struct buf *b, const struct slot *s, int64_t id)
{
	b_str(b, ",\"jsonrpc\":\"2.0\",\"id\":");
	id_json(b, s, id);
	b_str(b, "}");
}

/* server-to-client request ids are always numbers (the SDK's own counter) */
static void srv_tail(struct buf *b, int64_t id)
{
	b_fmt(b, ",\"jsonrpc\":\"2.0\",\"id\":%" PRId64 "}", id);
}

static void rpc_error(struct episode *e, int dir, const struct slot *s, int64_t id, bool srv,
		      int code, const char *message, bool with_data)
{
	struct buf *b = ep_begin(e, dir, F_MSG);
	b_str(b, "{\"jsonrpc\":\"2.0\",\"id\":");
	if (srv)
		b_fmt(b, "%" PRId64, id);
	else
		id_json(b, s, id);
	b_fmt(b, ",\"error\":{\"code\":%d,\"message\":\"%s\"", code, message);
	if (with_data) {
		b_str(b, ",\"data\":{\"detail\":\"");
		text(b, rr(20, 200));
		b_str(b, "\"}");
	}
	b_str(b, "}}");
	ep_end(e);
}

static void text_result(struct episode *e, const struct slot *s, int64_t id, size_t size,
			bool is_error, const char *related_task)
{
	struct buf *b = ep_begin(e, 1, F_MSG);
	b_str(b, "{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"");
	text(b, size);
	b_str(b, "\"}");
	if (!is_error && chance(150)) {
		b_str(b, ",{\"type\":\"resource_link\",\"uri\":\"file:///srv/app/out/");
		hex(b, 8);
		b_str(b, ".json\",\"name\":\"output\",\"mimeType\":\"application/json\"}");
	}
	b_str(b, "]");
	if (!is_error && chance(200)) {
		b_fmt(b,
		      ",\"structuredContent\":{\"rows\":%u,\"elapsed_ms\":%u.%03u,\"ok\":true,"
		      "\"items\":[",
		      rr(0, 500), rr(0, 900), rr(0, 999));
		unsigned n = rr(1, 6);
		for (unsigned i = 0; i < n; i++)
			b_fmt(b,
			      "%s{\"id\":%u,\"score\":0.%03u,\"tags\":[\"a\",\"b\"],\"owner\":"
			      "null}",
			      i ? "," : "", rr(1, 99999), rr(0, 999));
		b_str(b, "]}");
	}
	if (is_error)
		b_str(b, ",\"isError\":true");
	if (related_task)
		b_fmt(b,
		      ",\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"%s\"}}",
		      related_task);
	b_str(b, "}");
	req_tail(b, s, id);
	ep_end(e);
}

static const char *const tools[] = {"search_docs",   "read_file",      "write_file",
				    "run_query",     "deploy_service", "send_email",
				    "create_ticket", "summarize",      "http_fetch"};

static void arguments(struct buf *b, const char *tool)
{
	if (strcmp(tool, "search_docs") == 0) {
		b_str(b, "{\"query\":\"");
		text(b, rr(10, 80));
		b_fmt(b,
		      "\",\"limit\":%u,\"filters\":{\"lang\":\"%s\",\"tags\":[\"runbook\",\"prod\"]"
		      ","
		      "\"since\":\"2026-0%u-1%uT00:00:00Z\"}}",
		      rr(5, 50), chance(500) ? "en" : "de", rr(1, 9), rr(0, 9));
	} else if (strcmp(tool, "read_file") == 0) {
		b_fmt(b, "{\"path\":\"/srv/app/src/module_%u.py\"}", rr(1, 999));
	} else if (strcmp(tool, "write_file") == 0) {
		b_fmt(b, "{\"path\":\"/srv/app/docs/notes-%u.md\",\"content\":\"", rr(1, 999));
		text(b, text_size() + 100);
		b_str(b, "\",\"mode\":\"0644\",\"createDirs\":true}");
	} else if (strcmp(tool, "run_query") == 0) {
		b_fmt(b,
		      "{\"sql\":\"SELECT id, name, note FROM incidents WHERE sev <= %u AND note "
		      "LIKE '%%\\\"disk\\\"%%' ORDER BY ts DESC LIMIT %u\",\"params\":[%u,\"two\","
		      "3.5,null,true],\"timeout_ms\":%u}",
		      rr(1, 4), rr(10, 500), rr(1, 100), rr(1000, 30000));
	} else if (strcmp(tool, "deploy_service") == 0) {
		b_fmt(b,
		      "{\"service\":\"svc-%u\",\"env\":\"%s\",\"config\":{\"replicas\":%u,"
		      "\"resources\":{\"cpu\":\"%um\",\"memory\":\"%uMi\"},\"env\":[",
		      rr(1, 40), chance(300) ? "prod" : "staging", rr(1, 12), rr(100, 4000),
		      rr(128, 8192));
		unsigned n = chance(100) ? rr(20, 60) : rr(1, 8);
		for (unsigned i = 0; i < n; i++)
			b_fmt(b, "%s{\"name\":\"VAR_%u\",\"value\":\"value-%u \\u00e9\\\"x\\\"\"}",
			      i ? "," : "", i, rr(0, 1u << 30));
		b_str(b, "],\"labels\":{\"team\":\"platform\",\"cost-center\":\"cc-42\"},"
			 "\"probes\":{\"liveness\":{\"path\":\"/healthz\",\"periodSeconds\":10},"
			 "\"readiness\":{\"path\":\"/ready\",\"thresholds\":[1,3,5]}}},"
			 "\"dryRun\":");
		b_str(b, chance(200) ? "true}" : "false}");
	} else if (strcmp(tool, "send_email") == 0) {
		b_fmt(b,
		      "{\"to\":[\"ops-%u@example.com\",\"oncall@example.org\"],\"cc\":[],"
		      "\"subject\":\"Ünïcödé – weekly report ✅ #%u\",\"body\":\"",
		      rr(1, 99), rr(1, 52));
		text(b, rr(100, 800));
		b_str(b, "\",\"html\":false}");
	} else if (strcmp(tool, "create_ticket") == 0) {
		b_str(b, "{\"title\":\"");
		text(b, rr(20, 60));
		b_str(b, "\",\"description\":\"");
		text(b, rr(50, 600));
		b_fmt(b,
		      "\",\"priority\":\"%s\",\"labels\":[\"agent\",\"auto\"],\"metadata\":{"
		      "\"source\":\"agent\",\"trace\":{\"id\":\"",
		      chance(300) ? "high" : "normal");
		hex(b, 32);
		b_str(b, "\",\"parent\":null},\"attempt\":1}}");
	} else if (strcmp(tool, "summarize") == 0) {
		b_str(b, "{\"text\":\"");
		text(b, chance(100) ? rr(2000, 6000) : rr(200, 1000));
		b_fmt(b, "\",\"max_words\":%u,\"style\":\"bullet\"}", rr(50, 300));
	} else {
		b_fmt(b,
		      "{\"url\":\"https://api.example.com/v1/items/%u?expand=owner&fields=a,b\","
		      "\"method\":\"GET\",\"headers\":{\"Accept\":\"application/json\","
		      "\"User-Agent\":\"mcptrail-bench/1.0\"}}",
		      rr(1, 1000000));
	}
}

/* Writes a tools/call request; with progress, its progressToken (as JSON) goes to token. */
static void call_request(struct episode *e, struct slot *s, int64_t id, const char *tool,
			 const char *task_json, bool progress, struct buf *token)
{
	struct buf *b = ep_begin(e, 0, F_MSG);
	b_fmt(b, "{\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":", tool);
	arguments(b, tool);
	if (task_json)
		b_fmt(b, ",\"task\":%s", task_json);
	if (progress || chance(100)) {
		b_str(b, ",\"_meta\":{");
		if (progress) {
			token->len = 0;
			if (s->string_ids) {
				b_str(token, "\"");
				uuid(token);
				b_str(token, "\"");
			} else {
				b_fmt(token, "%" PRId64, id);
			}
			b_str(b, "\"progressToken\":");
			b_add(b, token->p, token->len);
		}
		if (!progress || chance(300)) {
			b_str(b, progress ? ",\"traceparent\":\"00-" : "\"traceparent\":\"00-");
			hex(b, 32);
			b_str(b, "-");
			hex(b, 16);
			b_str(b, "-01\"");
		}
		b_str(b, "}");
	}
	b_str(b, "}");
	req_tail(b, s, id);
	ep_end(e);
}

static void progress(struct episode *e, const char *token, unsigned k, unsigned n)
{
	struct buf *b = ep_begin(e, 1, F_MSG);
	b_fmt(b,
	      "{\"method\":\"notifications/progress\",\"params\":{\"progressToken\":%s,"
	      "\"progress\":%u,\"total\":%u,\"message\":\"step %u of %u\"},\"jsonrpc\":\"2.0\"}",
	      token, k, n, k, n);
	ep_end(e);
}

static void task_fields(struct buf *b, const char *task_id, const char *status, int64_t created,
			int64_t updated, const char *msg)
{
	b_fmt(b, "\"taskId\":\"%s\",\"status\":\"%s\",\"ttl\":60000,\"createdAt\":\"", task_id,
	      status);
	rfc3339(b, created, true);
	b_str(b, "\",\"lastUpdatedAt\":\"");
	rfc3339(b, updated, true);
	b_str(b, "\",\"pollInterval\":1000");
	if (msg)
		b_fmt(b, ",\"statusMessage\":\"%s\"", msg);
}

static const char *const stage_msgs[] = {"Queued", "Gathering sources...", "Analyzing content...",
					 "Synthesizing findings…", "Generating report — 90%"};

static void ep_tool_call(struct slot *s, struct episode *e)
{
	const char *tool = PICK(tools);
	int64_t id = s->req_id++;
	bool with_progress = chance(150);
	struct buf tok = {0};
	call_request(e, s, id, tool, NULL, with_progress, &tok);
	if (with_progress) {
		unsigned n = rr(2, 8);
		for (unsigned k = 1; k <= n; k++)
			progress(e, tok.p, k, n);
	}
	free(tok.p);
	uint32_t r = rn(1000);
	if (r < 60) {
		text_result(e, s, id, rr(30, 200), true, NULL);
	} else if (r < 85) {
		rpc_error(e, 1, s, id, false, -32602,
			  "Invalid params: missing required property \\\"path\\\"", chance(500));
	} else if (r < 100) {
		rpc_error(e, 1, s, id, false, -32603, "Internal error", chance(500));
	} else {
		text_result(e, s, id, text_size(), false, NULL);
	}
}

static void ep_cancelled(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	call_request(e, s, id, chance(500) ? "summarize" : "http_fetch", NULL, false, NULL);
	struct buf *b = ep_begin(e, 0, F_MSG);
	b_str(b, "{\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":");
	id_json(b, s, id);
	b_str(b, ",\"reason\":\"User requested cancellation\"},\"jsonrpc\":\"2.0\"}");
	ep_end(e);
	if (chance(200)) /* the response raced the cancellation */
		text_result(e, s, id, rr(20, 100), false, NULL);
}

static void ep_task(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	int64_t created = g.now;
	call_request(e, s, id, chance(500) ? "summarize" : "deploy_service", "{\"ttl\":60000}",
		     false, NULL);
	struct buf tid = {0};
	hex(&tid, 32);
	/* CreateTaskResult */
	struct buf *b = ep_begin(e, 1, F_MSG);
	b_str(b, "{\"result\":{\"task\":{");
	task_fields(b, tid.p, "working", created, created, NULL);
	b_str(b, "}}");
	b_str(b, ",\"jsonrpc\":\"2.0\",\"id\":");
	id_json(b, s, id);
	b_str(b, "}");
	ep_end(e);

	uint32_t r = rn(100);
	const char *final = r < 75 ? "completed" : r < 90 ? "failed" : "cancelled";
	unsigned polls = rr(1, 4);
	int64_t t = created;
	for (unsigned i = 0; i < polls; i++) {
		t += (int64_t)rr(1, 1500) * 1000000LL;
		const char *msg = stage_msgs[i % 5];
		b = ep_begin(e, 1, F_MSG);
		b_str(b, "{\"method\":\"notifications/tasks/status\",\"params\":{");
		task_fields(b, tid.p, "working", created, t, msg);
		b_str(b, "},\"jsonrpc\":\"2.0\"}");
		ep_end(e);
		int64_t pid = s->req_id++;
		b = ep_begin(e, 0, F_MSG);
		b_fmt(b, "{\"method\":\"tasks/get\",\"params\":{\"taskId\":\"%s\"}", tid.p);
		req_tail(b, s, pid);
		ep_end(e);
		b = ep_begin(e, 1, F_MSG);
		b_str(b, "{\"result\":{");
		task_fields(b, tid.p, "working", created, t, msg);
		b_str(b, "},\"jsonrpc\":\"2.0\",\"id\":");
		id_json(b, s, pid);
		b_str(b, "}");
		ep_end(e);
	}
	t += (int64_t)rr(1, 1500) * 1000000LL;
	if (strcmp(final, "cancelled") == 0) {
		int64_t cid = s->req_id++;
		b = ep_begin(e, 0, F_MSG);
		b_fmt(b, "{\"method\":\"tasks/cancel\",\"params\":{\"taskId\":\"%s\"}", tid.p);
		req_tail(b, s, cid);
		ep_end(e);
		b = ep_begin(e, 1, F_MSG);
		b_str(b, "{\"result\":{\"_meta\":{},");
		task_fields(b, tid.p, "cancelled", created, t, "Client cancelled task execution.");
		b_str(b, "},\"jsonrpc\":\"2.0\",\"id\":");
		id_json(b, s, cid);
		b_str(b, "}");
		ep_end(e);
	}
	b = ep_begin(e, 1, F_MSG);
	b_str(b, "{\"method\":\"notifications/tasks/status\",\"params\":{");
	task_fields(b, tid.p, final, created, t,
		    strcmp(final, "failed") == 0 ? "Upstream returned HTTP 503" : NULL);
	b_str(b, "},\"jsonrpc\":\"2.0\"}");
	ep_end(e);
	if (strcmp(final, "cancelled") != 0) {
		int64_t rid = s->req_id++;
		b = ep_begin(e, 0, F_MSG);
		b_fmt(b, "{\"method\":\"tasks/result\",\"params\":{\"taskId\":\"%s\"}", tid.p);
		req_tail(b, s, rid);
		ep_end(e);
		if (strcmp(final, "failed") == 0 && chance(500))
			rpc_error(e, 1, s, rid, false, -32603, "Task failed: upstream unavailable",
				  true);
		else
			text_result(e, s, rid, strcmp(final, "failed") == 0 ? 80 : text_size(),
				    strcmp(final, "failed") == 0, tid.p);
	}
	free(tid.p);
}

static void ep_resource(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	bool blob = chance(100);
	unsigned doc = rr(1, 300);
	struct buf *b = ep_begin(e, 0, F_MSG);
	b_fmt(b,
	      "{\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///srv/app/docs/"
	      "%s-%u.%s\"}",
	      blob ? "diagram" : "guide", doc, blob ? "png" : "md");
	req_tail(b, s, id);
	ep_end(e);
	if (chance(40)) {
		rpc_error(e, 1, s, id, false, -32002, "Resource not found", false);
		return;
	}
	b = ep_begin(e, 1, F_MSG);
	b_fmt(b, "{\"result\":{\"contents\":[{\"uri\":\"file:///srv/app/docs/%s-%u.%s\",",
	      blob ? "diagram" : "guide", doc, blob ? "png" : "md");
	if (blob) {
		unsigned char raw[3000];
		size_t n = rr(300, sizeof(raw));
		for (size_t i = 0; i < n; i++)
			raw[i] = (unsigned char)rnd();
		b_str(b, "\"mimeType\":\"image/png\",\"blob\":\"");
		base64(b, raw, n);
	} else {
		b_str(b, "\"mimeType\":\"text/markdown\",\"text\":\"");
		text(b, text_size() + 200);
	}
	b_str(b, "\"}]},\"jsonrpc\":\"2.0\",\"id\":");
	id_json(b, s, id);
	b_str(b, "}");
	ep_end(e);
}

static void ep_prompt(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	struct buf *b = ep_begin(e, 0, F_MSG);
	b_str(b, "{\"method\":\"prompts/get\",\"params\":{\"name\":\"code_review\",\"arguments\":{"
		 "\"language\":\"c\",\"code\":\"");
	text(b, rr(50, 800));
	b_str(b, "\"}}");
	req_tail(b, s, id);
	ep_end(e);
	b = ep_begin(e, 1, F_MSG);
	b_str(b, "{\"result\":{\"description\":\"Code review prompt\",\"messages\":[{\"role\":"
		 "\"user\",\"content\":{\"type\":\"text\",\"text\":\"Please review this code:\\n");
	text(b, rr(50, 800));
	b_str(b, "\"}}]},\"jsonrpc\":\"2.0\",\"id\":");
	id_json(b, s, id);
	b_str(b, "}");
	ep_end(e);
}

static void ep_sampling(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	call_request(e, s, id, "summarize", NULL, false, NULL);
	int64_t sid = s->srv_id++;
	struct buf *b = ep_begin(e, 1, F_MSG);
	b_str(b, "{\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[{\"role\":"
		 "\"user\",\"content\":{\"type\":\"text\",\"text\":\"");
	text(b, rr(100, 1500));
	b_fmt(b,
	      "\"}}],\"systemPrompt\":\"You are a concise assistant.\",\"modelPreferences\":{"
	      "\"hints\":[{\"name\":\"claude\"}],\"intelligencePriority\":0.8},\"maxTokens\":%u,"
	      "\"temperature\":0.2}",
	      rr(64, 1024));
	srv_tail(b, sid);
	ep_end(e);
	if (chance(100)) {
		rpc_error(e, 0, s, sid, true, -1, "User rejected sampling request", false);
		text_result(e, s, id, 60, true, NULL);
		return;
	}
	b = ep_begin(e, 0, F_MSG);
	b_str(b, "{\"result\":{\"model\":\"claude-sonnet-4-5\",\"stopReason\":\"endTurn\",\"role\":"
		 "\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"");
	text(b, rr(50, 1200));
	b_str(b, "\"}}");
	srv_tail(b, sid);
	ep_end(e);
	text_result(e, s, id, rr(50, 1200), false, NULL);
}

static void ep_elicitation(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	call_request(e, s, id, "deploy_service", NULL, false, NULL);
	int64_t sid = s->srv_id++;
	struct buf *b = ep_begin(e, 1, F_MSG);
	bool url = chance(250);
	if (url) {
		b_str(b, "{\"method\":\"elicitation/create\",\"params\":{\"mode\":\"url\",\"url\":"
			 "\"https://auth.example.com/authorize?state=");
		hex(b, 16);
		b_str(b,
		      "\",\"message\":\"Sign in to continue the deployment\",\"elicitationId\":\"");
		uuid(b);
		b_str(b, "\"}");
	} else {
		b_str(b, "{\"method\":\"elicitation/"
			 "create\",\"params\":{\"mode\":\"form\",\"message\":"
			 "\"Confirm deployment to prod?\",\"requestedSchema\":{\"type\":\"object\","
			 "\"properties\":{\"confirm\":{\"type\":\"boolean\",\"title\":\"Confirm\"},"
			 "\"reason\":{\"type\":\"string\",\"maxLength\":200},\"window\":{\"type\":"
			 "\"string\",\"enum\":[\"now\",\"tonight\",\"weekend\"]}},\"required\":["
			 "\"confirm\"]}}");
	}
	srv_tail(b, sid);
	ep_end(e);
	uint32_t r = rn(100);
	const char *action = r < 70 ? "accept" : r < 90 ? "decline" : "cancel";
	b = ep_begin(e, 0, F_MSG);
	b_fmt(b, "{\"result\":{\"action\":\"%s\"", action);
	if (!url && strcmp(action, "accept") == 0)
		b_str(b, ",\"content\":{\"confirm\":true,\"reason\":\"Approved — change #4711 ✅\","
			 "\"window\":\"tonight\"}");
	b_str(b, "}");
	srv_tail(b, sid);
	ep_end(e);
	text_result(e, s, id, rr(40, 300), strcmp(action, "accept") != 0, NULL);
}

static void ep_small(struct slot *s, struct episode *e)
{
	uint32_t r = rn(100);
	struct buf *b;
	if (r < 40) {
		int64_t id = s->req_id++;
		b = ep_begin(e, 0, F_MSG);
		b_str(b, "{\"method\":\"ping\"");
		req_tail(b, s, id);
		ep_end(e);
		b = ep_begin(e, 1, F_MSG);
		b_str(b, "{\"result\":{},\"jsonrpc\":\"2.0\",\"id\":");
		id_json(b, s, id);
		b_str(b, "}");
		ep_end(e);
	} else if (r < 85) {
		static const char *const levels[] = {"debug", "info", "info", "warning", "error"};
		b = ep_begin(e, 1, F_MSG);
		b_fmt(b,
		      "{\"method\":\"notifications/message\",\"params\":{\"level\":\"%s\","
		      "\"logger\":\"app\",\"data\":\"",
		      PICK(levels));
		text(b, rr(20, 200));
		b_str(b, "\"},\"jsonrpc\":\"2.0\"}");
		ep_end(e);
	} else if (r < 92) {
		int64_t id = s->req_id++;
		b = ep_begin(e, 0, F_MSG);
		b_str(b, "{\"method\":\"resources/list\"");
		req_tail(b, s, id);
		ep_end(e);
		b = ep_begin(e, 1, F_MSG);
		b_str(b, "{\"result\":{\"resources\":[");
		for (unsigned i = 0; i < 6; i++)
			b_fmt(b,
			      "%s{\"uri\":\"file:///srv/app/docs/"
			      "guide-%u.md\",\"name\":\"guide-%u.md\","
			      "\"mimeType\":\"text/markdown\"}",
			      i ? "," : "", i, i);
		b_str(b, "],\"nextCursor\":\"eyJwYWdlIjoyfQ==\"},\"jsonrpc\":\"2.0\",\"id\":");
		id_json(b, s, id);
		b_str(b, "}");
		ep_end(e);
	} else {
		b = ep_begin(e, 1, F_MSG);
		b_str(b, chance(500)
				 ? "{\"method\":\"notifications/tools/list_changed\",\"jsonrpc\":"
				   "\"2.0\"}"
				 : "{\"method\":\"notifications/resources/updated\",\"params\":{"
				   "\"uri\":\"file:///srv/app/docs/"
				   "guide-1.md\"},\"jsonrpc\":\"2.0\"}");
		ep_end(e);
	}
}

/* Frames the tap could not store verbatim (b64), and a few odd but valid JSON ones. */
static void ep_invalid(struct slot *s, struct episode *e)
{
	(void)s;
	struct buf *b;
	switch (rn(6)) {
	case 0:
		b = ep_begin(e, 1, F_B64);
		b_fmt(b, "[INFO] server ready on stdio (pid %u)", rr(100, 60000));
		break;
	case 1:
		b = ep_begin(e, 1, F_B64);
		b_str(b,
		      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"da");
		break;
	case 2:
		b = ep_begin(e, 0, F_B64);
		b_str(b, "{\"jsonrpc\":\"2.0\",\"method\":\"x\xff\xfe\",\"id\":1}");
		break;
	case 3:
		b = ep_begin(e, 1, F_MSG);
		b_str(b, "[{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":99}]");
		break;
	case 4:
		b = ep_begin(e, 0, F_MSG);
		b_str(b, "{\"jsonrpc\":\"1.0\",\"method\":\"ping\",\"id\":7}");
		break;
	default:
		b = ep_begin(e, 0, F_MSG_CRLF);
		b_str(b, "{\"method\":\"notifications/roots/list_changed\",\"jsonrpc\":\"2.0\"}");
		break;
	}
	ep_end(e);
}

static const char tools_list_result[] =
	"{\"result\":{\"tools\":["
	"{\"name\":\"search_docs\",\"title\":\"Search documentation\",\"description\":\"Full-text "
	"search over the runbooks and design docs.\",\"inputSchema\":{\"type\":\"object\","
	"\"properties\":{\"query\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\","
	"\"minimum\":1,"
	"\"maximum\":100},\"filters\":{\"type\":\"object\",\"properties\":{\"lang\":{\"type\":"
	"\"string\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}},\"required\":"
	"["
	"\"query\"]}},"
	"{\"name\":\"read_file\",\"description\":\"Reads a file below /srv/app.\",\"inputSchema\":{"
	"\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},\"required\":["
	"\"path\"]},"
	"\"annotations\":{\"readOnlyHint\":true}},"
	"{\"name\":\"write_file\",\"description\":\"Writes a file below "
	"/srv/app.\",\"inputSchema\":{"
	"\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"content\":{\"type\":"
	"\"string\"},\"mode\":{\"type\":\"string\"},\"createDirs\":{\"type\":\"boolean\"}},"
	"\"required\":[\"path\",\"content\"]},\"annotations\":{\"destructiveHint\":true}},"
	"{\"name\":\"run_query\",\"description\":\"Runs a read-only SQL query.\",\"inputSchema\":{"
	"\"type\":\"object\",\"properties\":{\"sql\":{\"type\":\"string\"},\"params\":{\"type\":"
	"\"array\"},\"timeout_ms\":{\"type\":\"integer\"}},\"required\":[\"sql\"]}},"
	"{\"name\":\"deploy_service\",\"description\":\"Deploys a service (asks for confirmation "
	"in "
	"prod).\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"service\":{\"type\":"
	"\"string\"},\"env\":{\"type\":\"string\",\"enum\":[\"staging\",\"prod\"]},\"config\":{"
	"\"type\":\"object\"},\"dryRun\":{\"type\":\"boolean\"}},\"required\":[\"service\",\"env\"]"
	"},"
	"\"execution\":{\"taskSupport\":\"optional\"}},"
	"{\"name\":\"send_email\",\"description\":\"Sends an e-mail.\",\"inputSchema\":{\"type\":"
	"\"object\",\"properties\":{\"to\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"subject\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"}},\"required\":[\"to\","
	"\"subject\",\"body\"]},\"annotations\":{\"openWorldHint\":true}},"
	"{\"name\":\"create_ticket\",\"description\":\"Opens a ticket.\",\"inputSchema\":{\"type\":"
	"\"object\",\"properties\":{\"title\":{\"type\":\"string\"},\"description\":{\"type\":"
	"\"string\"},\"priority\":{\"type\":\"string\"}},\"required\":[\"title\"]}},"
	"{\"name\":\"summarize\",\"description\":\"Summarizes text with the client's model "
	"(sampling).\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	"\"string\"},\"max_words\":{\"type\":\"integer\"}},\"required\":[\"text\"]},\"execution\":{"
	"\"taskSupport\":\"optional\"}},"
	"{\"name\":\"http_fetch\",\"description\":\"Fetches a URL.\",\"inputSchema\":{\"type\":"
	"\"object\",\"properties\":{\"url\":{\"type\":\"string\",\"format\":\"uri\"},\"method\":{"
	"\"type\":\"string\"},\"headers\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
	"\"string\"}}},\"required\":[\"url\"]}}"
	"]}";

static void ep_init(struct slot *s, struct episode *e)
{
	int64_t id = s->req_id++;
	struct buf *b = ep_begin(e, 0, F_MSG);
	b_fmt(b,
	      "{\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
	      "\"capabilities\":{\"roots\":{\"listChanged\":true},\"sampling\":{},\"elicitation\":{"
	      "\"form\":{},\"url\":{}},\"tasks\":{\"list\":{},\"cancel\":{},\"requests\":{"
	      "\"sampling\":{\"createMessage\":{}},\"elicitation\":{\"create\":{}}}}},"
	      "\"clientInfo\":{\"name\":\"%s\",\"version\":\"%s\"}}",
	      s->client, s->client_version);
	req_tail(b, s, id);
	ep_end(e);
	b = ep_begin(e, 1, F_MSG);
	b_str(b, "{\"result\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"tools\":{"
		 "\"listChanged\":true},\"prompts\":{\"listChanged\":true},\"resources\":{"
		 "\"subscribe\":true,\"listChanged\":true},\"logging\":{},\"tasks\":{\"list\":{},"
		 "\"cancel\":{},\"requests\":{\"tools\":{\"call\":{}}}},\"completions\":{}},"
		 "\"serverInfo\":{\"name\":\"acme-ops\",\"title\":\"ACME Ops Server\",\"version\":"
		 "\"3.2.0\"},\"instructions\":\"# ACME Ops – Server Instructions\\n\\n");
	text(b, 700);
	b_str(b, "\"}");
	b_str(b, ",\"jsonrpc\":\"2.0\",\"id\":");
	id_json(b, s, id);
	b_str(b, "}");
	ep_end(e);
	b = ep_begin(e, 0, F_MSG);
	b_str(b, "{\"method\":\"notifications/initialized\",\"jsonrpc\":\"2.0\"}");
	ep_end(e);
	id = s->req_id++;
	b = ep_begin(e, 0, F_MSG);
	b_str(b, "{\"method\":\"tools/list\"");
	req_tail(b, s, id);
	ep_end(e);
	b = ep_begin(e, 1, F_MSG);
	b_str(b, tools_list_result);
	b_str(b, ",\"jsonrpc\":\"2.0\",\"id\":");
	id_json(b, s, id);
	b_str(b, "}");
	ep_end(e);
}

static void new_episode(struct slot *s, struct episode *e)
{
	ep_reset(e);
	uint32_t r = rn(1000);
	if (r < 1)
		ep_invalid(s, e);
	else if (r < 500)
		ep_tool_call(s, e);
	else if (r < 580)
		ep_task(s, e);
	else if (r < 610)
		ep_cancelled(s, e);
	else if (r < 720)
		ep_resource(s, e);
	else if (r < 770)
		ep_prompt(s, e);
	else if (r < 810)
		ep_sampling(s, e);
	else if (r < 840)
		ep_elicitation(s, e);
	else
		ep_small(s, e);
}

/* ---- records ---- */

static void session_start(struct slot *s, int session_no)
{
	snprintf(s->stream, sizeof(s->stream), "stdio-%016" PRIx64, rnd());
	s->seq = 0;
	s->frames[0] = s->frames[1] = 0;
	s->emitted = 0;
	uint64_t lo = g.target / 40, hi = g.target / 10;
	if (lo < 50)
		lo = 50;
	if (hi < lo)
		hi = lo;
	s->budget = lo + rnd() % (hi - lo + 1);
	s->req_id = 0;
	s->srv_id = 0;
	s->nactive = 0;
	s->initializing = true;
	s->concurrency = (int)rr(1, MAX_ACTIVE);
	s->live = true;
	g.now += rr(1000, 200000);
	unsigned tap_pid = rr(1000, 4000000);
	b_fmt(&g.out,
	      "{\"mcptrail_tap\":1,\"kind\":\"start\",\"stream\":\"%s\",\"ts\":%" PRId64
	      ",\"time\":\"",
	      s->stream, g.now);
	rfc3339(&g.out, g.now, false);
	b_fmt(&g.out,
	      "\",\"transport\":\"stdio\",\"identity\":{\"subject\":\"%s\",\"source\":\"%s\"},"
	      "\"host\":\"worker-%u.prod.internal\",\"tap_pid\":%u,\"server_pid\":%u,\"argv\":["
	      "\"node\",\"/opt/acme-ops/dist/index.js\",\"--session\",\"%d\",\"--api-token\","
	      "\"***\"]}\n",
	      s->subject, s->source, s->index % 7, tap_pid, tap_pid + 1, session_no);
	g.streams++;
	g.records++;
	ep_reset(&s->ep[0]);
	ep_init(s, &s->ep[0]);
	s->nactive = 1;
}

static void session_end(struct slot *s)
{
	g.now += rr(1000, 3000000);
	b_fmt(&g.out,
	      "{\"mcptrail_tap\":1,\"kind\":\"end\",\"stream\":\"%s\",\"seq\":%" PRIu64
	      ",\"ts\":%" PRId64 ",",
	      s->stream, s->seq, g.now);
	if (chance(850))
		b_str(&g.out, "\"exit_status\":0,");
	else if (chance(500))
		b_str(&g.out, "\"signal\":15,");
	else
		b_str(&g.out, "\"exit_status\":1,");
	b_fmt(&g.out,
	      "\"frames\":{\"c2s\":%" PRIu64 ",\"s2c\":%" PRIu64 "},\"gaps\":0,"
	      "\"dropped_frames\":0,\"dropped_bytes\":0,\"write_errors\":0}\n",
	      s->frames[0], s->frames[1]);
	g.records++;
	s->live = false;
}

static void emit_frame(struct slot *s, const struct episode *e, const struct frame *f)
{
	/* mostly sub-millisecond gaps, sometimes a slow tool */
	uint32_t r = rn(100);
	g.now += r < 80	  ? rr(2000, 400000)
		 : r < 98 ? rr(400000, 20000000)
			  : rr(20000000, 900000000);
	const char *data = e->data.p + f->off;
	b_fmt(&g.out,
	      "{\"mcptrail_tap\":1,\"kind\":\"frame\",\"stream\":\"%s\",\"seq\":%" PRIu64
	      ",\"ts\":%" PRId64 ",\"dir\":\"%s\",\"len\":%zu",
	      s->stream, s->seq, g.now, f->dir ? "s2c" : "c2s", f->len);
	if (f->kind == F_MSG_CRLF)
		b_str(&g.out, ",\"crlf\":true");
	if (f->kind == F_B64) {
		b_str(&g.out, ",\"b64\":\"");
		base64(&g.out, (const unsigned char *)data, f->len);
		b_str(&g.out, "\"}\n");
	} else {
		b_str(&g.out, ",\"msg\":");
		b_add(&g.out, data, f->len);
		b_str(&g.out, "}\n");
	}
	s->seq++;
	s->frames[f->dir]++;
	s->emitted++;
	g.frames++;
	g.records++;
	maybe_flush();
}

/* One step of a slot: emits one frame (or a start/end record). Returns false when done. */
static bool step(struct slot *s, int *session_no)
{
	if (s->finished)
		return false;
	if (!s->live) {
		if (g.frames >= g.target) {
			s->finished = true;
			return false;
		}
		session_start(s, ++*session_no);
		return true;
	}
	bool accepting = !s->initializing && s->emitted < s->budget && g.frames < g.target;
	while (accepting && s->nactive < s->concurrency) {
		new_episode(s, &s->ep[s->nactive]);
		s->nactive++;
	}
	if (s->nactive == 0) {
		session_end(s);
		return true;
	}
	int i = s->initializing ? 0 : (int)rn((uint32_t)s->nactive);
	struct episode *e = &s->ep[i];
	emit_frame(s, e, &e->fr[e->next++]);
	if (e->next == e->n) {
		/* retire: swap the last active episode into this place */
		s->initializing = false;
		s->nactive--;
		if (i != s->nactive) {
			struct episode tmp = s->ep[i];
			s->ep[i] = s->ep[s->nactive];
			s->ep[s->nactive] = tmp;
		}
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail-bench-gen [--frames N] [--seed S] [--streams K] [-o FILE]\n"
		"  Writes a synthetic tap-record capture of at least N frames (default 1000000)\n"
		"  from K concurrent identities (default 8, at most 16) to FILE (default "
		"stdout).\n");
}

int main(int argc, char **argv)
{
	uint64_t frames = 1000000, seed = 1;
	unsigned nslots = 8;
	const char *path = "-";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		char *end;
		if (strcmp(a, "--frames") == 0 && has) {
			frames = strtoull(argv[++i], &end, 10);
			if (*end || frames == 0) {
				usage(stderr);
				return 2;
			}
		} else if (strcmp(a, "--seed") == 0 && has) {
			seed = strtoull(argv[++i], &end, 0);
			if (*end) {
				usage(stderr);
				return 2;
			}
		} else if (strcmp(a, "--streams") == 0 && has) {
			nslots = (unsigned)strtoul(argv[++i], &end, 10);
			if (*end || nslots == 0 || nslots > 16) {
				usage(stderr);
				return 2;
			}
		} else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has) {
			path = argv[++i];
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	static const char *const subjects[16][4] = {
		{"svc-deploy", "flag", "deploy-bot", "2.1.0"},
		{"agent-42", "flag", "claude-code", "1.0.88"},
		{"alice@example.com", "oidc", "claude-desktop", "0.12.4"},
		{"ci-runner", "os_user", "github-actions-mcp", "0.4.2"},
		{"bob", "os_user", "cursor", "1.5.3"},
		{"batch-etl", "flag", "etl-orchestrator", "5.0.1"},
		{"ops-oncall", "os_user", "mcp-inspector", "0.16.5"},
		{"svc-billing", "flag", "billing-agent", "1.3.0"},
		{"carol@example.com", "oidc", "vscode-copilot", "1.104.0"},
		{"agent-7", "flag", "langgraph-agent", "0.6.2"},
		{"dave", "os_user", "zed", "0.201.5"},
		{"svc-search", "flag", "search-indexer", "2.0.0"},
		{"erin@example.com", "oidc", "claude-desktop", "0.12.4"},
		{"nightly-report", "flag", "cron-agent", "1.0.0"},
		{"svc-support", "flag", "support-bot", "3.4.1"},
		{"frank", "os_user", "goose", "1.7.0"},
	};
	rng_seed(seed);
	memset(&g, 0, sizeof(g));
	g.target = frames;
	g.now = 1795792199000000000LL + (int64_t)(seed % 1000) * 86400000000000LL;
	if (strcmp(path, "-") == 0) {
		g.f = stdout;
	} else {
		g.f = fopen(path, "wb");
		if (!g.f) {
			fprintf(stderr, "mcptrail-bench-gen: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	struct slot *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		die("out of memory");
	for (unsigned i = 0; i < nslots; i++) {
		slots[i].subject = subjects[i][0];
		slots[i].source = subjects[i][1];
		slots[i].client = subjects[i][2];
		slots[i].client_version = subjects[i][3];
		slots[i].index = i;
		slots[i].string_ids = i % 4 == 1;
	}
	int session_no = 0;
	unsigned live = nslots;
	while (live > 0) {
		struct slot *s = &slots[rn(nslots)];
		if (!step(s, &session_no)) {
			live = 0;
			for (unsigned i = 0; i < nslots; i++)
				live += !slots[i].finished;
		}
	}
	write_out();
	if (g.f != stdout ? fclose(g.f) != 0 : fflush(g.f) != 0)
		die(strerror(errno));
	fprintf(stderr,
		"mcptrail-bench-gen: %" PRIu64 " frames, %" PRIu64 " records, %" PRIu64
		" bytes (%.1f MB), %" PRIu64 " streams, %u identities, seed %" PRIu64 "\n",
		g.frames, g.records, g.bytes, (double)g.bytes / 1e6, g.streams, nslots, seed);
	for (unsigned i = 0; i < nslots; i++) {
		for (int k = 0; k < MAX_ACTIVE; k++) {
			free(slots[i].ep[k].data.p);
			free(slots[i].ep[k].fr);
		}
	}
	free(slots);
	free(g.out.p);
	return 0;
}
