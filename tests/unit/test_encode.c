/* Unit tests for sinks/encode: the SIEM encodings (OCSF 1.8.0, ECS, CEF, LEEF 2.0) of mcptrail/1
 * events, through encode_event().
 *
 * Golden files: tests/data/golden/<set>.jsonl holds input events (events: one or more of every
 * event type, all valid against the schema; edge: envelope-only events, wrong member types, odd
 * times, and events that cannot be encoded). <set>.ocsf.jsonl, <set>.ecs.jsonl, <set>.cef and
 * <set>.leef hold the expected output, one line per input line ("(not encoded)" when
 * encode_event refuses the event), compared byte for byte. The product version in the output is
 * written as @VERSION@ in the golden files, so a version bump does not change them. After an
 * intended change of the mapping, regenerate them with
 *   MCPTRAIL_UPDATE_GOLDEN=1 build/tests/test_encode   (or ctest -R encode with that variable)
 * and review the diff. */
#include "sinks/encode.h"
#include "sinks/encode_internal.h" /* MCPTRAIL_VERSION, as the encoders see it */

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NOT_ENCODED "(not encoded)"
#define FFFD "\xEF\xBF\xBD"

static const enum event_encoding siem[] = {ENCODING_OCSF, ENCODING_ECS, ENCODING_CEF,
					   ENCODING_LEEF};
static const char *const golden_ext[] = {"ocsf.jsonl", "ecs.jsonl", "cef", "leef"};

/* ---- helpers ---- */

static void golden_path(char *out, size_t size, const char *name)
{
	/* this file is tests/unit/test_encode.c; the golden files are in tests/data/golden/ */
	const char *slash = strrchr(__FILE__, '/');
	int dir_len = slash ? (int)(slash - __FILE__) : 1;
	snprintf(out, size, "%.*s/../data/golden/%s", dir_len, slash ? __FILE__ : ".", name);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct strbuf b = STRBUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_true(strbuf_append(&b, chunk, n));
	fclose(f);
	if (!b.data)
		assert_true(strbuf_append(&b, "", 0));
	*len = b.len;
	return b.data;
}

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *ev = json_loads(text, JSON_ALLOW_NUL, &err);
	if (!ev)
		fail_msg("bad test event: %s: %s", err.text, text);
	return ev;
}

/* The encoded event as a NUL-terminated string (owned by the caller), or NULL when refused. */
static char *encode(enum event_encoding e, const json_t *ev, size_t *len)
{
	struct strbuf out = STRBUF_INIT;
	if (encode_event(e, ev, &out) != 0) {
		assert_int_equal(out.len, 0);
		strbuf_free(&out);
		return NULL;
	}
	assert_non_null(out.data);
	if (len)
		*len = out.len;
	return out.data;
}

static json_t *encode_json_doc(enum event_encoding e, const json_t *ev)
{
	size_t len = 0;
	char *text = encode(e, ev, &len);
	assert_non_null(text);
	json_error_t err;
	json_t *doc = json_loadb(text, len, JSON_ALLOW_NUL, &err);
	if (!json_is_object(doc))
		fail_msg("%s output is not a JSON object (%s): %s", encoding_name(e), err.text,
			 text);
	free(text);
	return doc;
}

static const char *path_str(const json_t *doc, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(doc, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static json_int_t path_int(const json_t *doc, const char *a, const char *b)
{
	const json_t *v = json_object_get(doc, a);
	if (b)
		v = json_object_get(v, b);
	if (!json_is_integer(v))
		fail_msg("%s%s%s is not an integer", a, b ? "." : "", b ? b : "");
	return json_integer_value(v);
}

/* Replaces every occurrence of from by to in b. */
static void replace_all(struct strbuf *b, const char *from, const char *to)
{
	struct strbuf out = STRBUF_INIT;
	size_t flen = strlen(from);
	const char *p = b->data ? b->data : "";
	const char *end = p + b->len;
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), from, flen);
		if (!hit) {
			assert_true(strbuf_append(&out, p, (size_t)(end - p)));
			break;
		}
		assert_true(strbuf_append(&out, p, (size_t)(hit - p)));
		assert_true(strbuf_append_str(&out, to));
		p = hit + flen;
	}
	if (!out.data)
		assert_true(strbuf_append(&out, "", 0));
	strbuf_free(b);
	*b = out;
}

/* Calls fn for each line of a golden input file. */
static void for_each_event(const char *set, void (*fn)(const json_t *ev, void *arg), void *arg)
{
	char path[4096], name[256];
	snprintf(name, sizeof(name), "%s.jsonl", set);
	golden_path(path, sizeof(path), name);
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		fail_msg("cannot read %s", path);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = load(line);
		fn(ev, arg);
		json_decref(ev);
	}
	free(text);
}

/* ---- golden files ---- */

struct golden_run {
	enum event_encoding e;
	struct strbuf out;
};

static void golden_line(const json_t *ev, void *arg)
{
	struct golden_run *run = arg;
	size_t len;
	char *text = encode(run->e, ev, &len);
	if (text) {
		assert_null(memchr(text, '\n', len));
		assert_true(strbuf_append(&run->out, text, len));
	} else {
		assert_true(strbuf_append_str(&run->out, NOT_ENCODED));
	}
	assert_true(strbuf_append(&run->out, "\n", 1));
	free(text);
}

static void check_golden(const char *set)
{
	const char *update = getenv("MCPTRAIL_UPDATE_GOLDEN");
	for (size_t i = 0; i < sizeof(siem) / sizeof(siem[0]); i++) {
		struct golden_run run = {siem[i], STRBUF_INIT};
		for_each_event(set, golden_line, &run);
		replace_all(&run.out, "|" MCPTRAIL_VERSION "|", "|@VERSION@|");
		replace_all(&run.out, "\"version\":\"" MCPTRAIL_VERSION "\"",
			    "\"version\":\"@VERSION@\"");
		char path[4096], name[256];
		snprintf(name, sizeof(name), "%s.%s", set, golden_ext[i]);
		golden_path(path, sizeof(path), name);
		if (update && *update && strcmp(update, "0") != 0) {
			FILE *f = fopen(path, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(run.out.data, 1, run.out.len, f), run.out.len);
			assert_int_equal(fclose(f), 0);
			fprintf(stderr, "test_encode: rewrote %s\n", path);
		}
		size_t len;
		char *expected = read_file(path, &len);
		if (!expected)
			fail_msg("cannot read %s (MCPTRAIL_UPDATE_GOLDEN=1 creates it)", path);
		if (len != run.out.len || memcmp(expected, run.out.data, len) != 0) {
			/* name the first line that differs */
			size_t line = 1, k = 0;
			while (k < len && k < run.out.len && expected[k] == run.out.data[k])
				line += expected[k++] == '\n';
			size_t a = k, b = k;
			while (a > 0 && expected[a - 1] != '\n')
				a--;
			while (b < run.out.len && run.out.data[b] != '\n')
				b++;
			size_t c = k;
			while (c < len && expected[c] != '\n')
				c++;
			fprintf(stderr, "expected: %.*s\n     got: %.*s\n", (int)(c - a),
				expected + a, (int)(b - a), run.out.data + a);
			fail_msg("%s: line %zu differs (MCPTRAIL_UPDATE_GOLDEN=1 regenerates)",
				 path, line);
		}
		free(expected);
		strbuf_free(&run.out);
	}
}

static void test_golden_events(void **state)
{
	(void)state;
	check_golden("events");
}

static void test_golden_edge_cases(void **state)
{
	(void)state;
	check_golden("edge");
}

/* ---- names ---- */

static void test_encoding_names(void **state)
{
	(void)state;
	static const char *const names[] = {"json", "ocsf", "ecs", "cef", "leef"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(encoding_from_name(names[i]), i);
		assert_string_equal(encoding_name((enum event_encoding)i), names[i]);
	}
	assert_int_equal(encoding_from_name("CEF"), -1);
	assert_int_equal(encoding_from_name("syslog"), -1);
	assert_string_equal(encoding_name((enum event_encoding)42), "unknown");
}

/* ---- OCSF ---- */

/* The class each event type maps to, and the base attributes OCSF requires of every event. */
static void ocsf_checks(const json_t *ev, void *arg)
{
	bool *skip_refused = arg;
	if (skip_refused && *skip_refused) {
		char *text = encode(ENCODING_OCSF, ev, NULL);
		free(text);
		if (!text)
			return;
	}
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *doc = encode_json_doc(ENCODING_OCSF, ev);
	json_int_t cls = path_int(doc, "class_uid", NULL);
	json_int_t activity = path_int(doc, "activity_id", NULL);
	assert_int_equal(path_int(doc, "type_uid", NULL), cls * 100 + activity);
	json_int_t category = path_int(doc, "category_uid", NULL);
	assert_int_equal(category, cls / 1000);
	json_int_t sev = path_int(doc, "severity_id", NULL);
	assert_true(sev >= 0 && sev <= 5);
	assert_true(path_int(doc, "time", NULL) >= 0);
	assert_string_equal(path_str(doc, "metadata", "version", NULL), "1.8.0");
	assert_string_equal(path_str(doc, "metadata", "product", "name"), "mcptrail");
	assert_string_equal(path_str(doc, "metadata", "product", "vendor_name"), "mcptrail");
	assert_string_equal(path_str(doc, "metadata", "uid", NULL),
			    json_string_value(json_object_get(ev, "event_id")));
	assert_string_equal(path_str(doc, "metadata", "original_time", NULL),
			    json_string_value(json_object_get(ev, "time")));
	assert_string_equal(path_str(doc, "metadata", "event_code", NULL), type);
	assert_non_null(json_object_get(json_object_get(doc, "unmapped"), "mcp"));

	json_int_t want;
	if (strcmp(type, "mcp.auth") == 0)
		want = json_integer_value(json_object_get(json_object_get(ev, "auth"), "status")) ==
				       403
			       ? 3003
			       : 3002;
	else if (strcmp(type, "finding") == 0)
		want = 2004;
	else if (strcmp(type, "identity.grant") == 0)
		want = 3002; /* Authentication: Service Ticket Request */
	else if (strncmp(type, "mcp.", 4) == 0)
		want = 6003;
	else
		want = 0; /* capture.gap, ingest.*, identity.blast_radius */
	if (cls != want)
		fail_msg("%s: class_uid %lld, expected %lld", type, (long long)cls,
			 (long long)want);
	/* each class's required attributes */
	if (cls == 6003) {
		assert_non_null(path_str(doc, "api", "operation", NULL));
		assert_true(json_object_size(json_object_get(doc, "actor")) > 0);
		assert_non_null(path_str(doc, "src_endpoint", "name", NULL));
	} else if (cls == 3002 || cls == 3003) {
		assert_true(json_object_size(json_object_get(doc, "user")) > 0);
		assert_non_null(json_object_get(doc, "dst_endpoint"));
		if (cls == 3003)
			assert_true(json_is_array(json_object_get(doc, "privileges")));
	} else if (cls == 2004) {
		assert_string_equal(path_str(doc, "finding_info", "uid", NULL),
				    json_string_value(json_object_get(ev, "event_id")));
		assert_non_null(path_str(doc, "finding_info", "title", NULL));
	}
	json_decref(doc);
}

static void test_ocsf_classes_and_required_fields(void **state)
{
	(void)state;
	bool skip_refused = false;
	for_each_event("events", ocsf_checks, &skip_refused);
	skip_refused = true;
	for_each_event("edge", ocsf_checks, &skip_refused);
}

/* ---- ECS ---- */

static bool list_contains(const json_t *list, const char *s)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		if (json_is_string(item) && strcmp(json_string_value(item), s) == 0)
			return true;
	}
	return false;
}

static void ecs_checks(const json_t *ev, void *arg)
{
	(void)arg;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *doc = encode_json_doc(ENCODING_ECS, ev);
	assert_string_equal(path_str(doc, "@timestamp", NULL, NULL),
			    json_string_value(json_object_get(ev, "time")));
	assert_string_equal(path_str(doc, "event", "id", NULL),
			    json_string_value(json_object_get(ev, "event_id")));
	char dataset[128];
	snprintf(dataset, sizeof(dataset), "mcptrail.%s", type);
	assert_string_equal(path_str(doc, "event", "dataset", NULL), dataset);
	const char *kind = path_str(doc, "event", "kind", NULL);
	assert_non_null(kind);
	assert_non_null(strstr(" event alert metric pipeline_error ", kind));
	const char *outcome = path_str(doc, "event", "outcome", NULL);
	assert_non_null(outcome);
	assert_true(strcmp(outcome, "success") == 0 || strcmp(outcome, "failure") == 0 ||
		    strcmp(outcome, "unknown") == 0);
	assert_true(json_is_array(json_object_get(json_object_get(doc, "event"), "type")));
	assert_string_equal(path_str(doc, "ecs", "version", NULL), "8.17.0");
	/* everything but the envelope, as it was (tool arguments as a JSON string) */
	json_t *mcp = json_object_get(doc, "mcp");
	assert_non_null(mcp);
	assert_true(json_equal(json_object_get(mcp, "identity"), json_object_get(ev, "identity")) ||
		    !json_object_get(ev, "identity"));
	const json_t *redacted = json_object_get(
		json_object_get(json_object_get(mcp, "call"), "arguments"), "redacted");
	assert_true(!redacted || json_is_string(redacted));
	const json_t *identity = json_object_get(ev, "identity");
	const char *subject = json_string_value(json_object_get(identity, "subject"));
	const json_t *related = json_object_get(json_object_get(doc, "related"), "user");
	if (subject) {
		assert_string_equal(path_str(doc, "user", "id", NULL), subject);
		assert_true(list_contains(related, subject));
	} else {
		assert_null(json_object_get(doc, "user"));
	}
	size_t i;
	json_t *actor;
	json_array_foreach(json_object_get(identity, "actors"), i, actor)
	{
		assert_true(list_contains(related, json_string_value(actor)));
	}
	json_decref(doc);
}

static void test_ecs_fields(void **state)
{
	(void)state;
	for_each_event("events", ecs_checks, NULL);
}

/* ---- identity and event_id survive every encoding ---- */

#define RICH_SUBJECT "alice@example.com"
#define RICH_CLIENT "https://client.example/cimd.json"
#define RICH_IDENTITY                                                                              \
	"{\"subject\":\"" RICH_SUBJECT "\",\"issuer\":\"https://idp.example.com\","                \
	"\"client_id\":\"" RICH_CLIENT "\",\"client_id_is_cimd\":true,"                            \
	"\"scopes\":[\"tools:read\",\"files:write\"],\"actors\":[\"agent-7\",\"orchestrator\"],"   \
	"\"source\":\"bearer_jwt\",\"verified\":false,\"token\":{\"fingerprint\":\"tfp:"           \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"kind\":\"jwt\","     \
	"\"class\":\"access\",\"verification\":\"unverified\"}}"

static void assert_contains(const char *text, const char *needle, const char *what)
{
	if (!strstr(text, needle))
		fail_msg("%s lost %s: %s", what, needle, text);
}

static void identity_checks(const json_t *original, void *arg)
{
	(void)arg;
	json_t *ev = json_deep_copy(original);
	bool has_identity = json_object_get(ev, "identity") != NULL;
	if (has_identity)
		json_object_set_new(ev, "identity", load(RICH_IDENTITY));
	const char *id = json_string_value(json_object_get(ev, "event_id"));
	char needle[256];

	char *cef = encode(ENCODING_CEF, ev, NULL);
	char *leef = encode(ENCODING_LEEF, ev, NULL);
	assert_non_null(cef);
	assert_non_null(leef);
	snprintf(needle, sizeof(needle), "externalId=%s", id);
	assert_contains(cef, needle, "CEF");
	snprintf(needle, sizeof(needle), "mcpEventId=%s", id);
	assert_contains(leef, needle, "LEEF");
	json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
	json_t *ecs = encode_json_doc(ENCODING_ECS, ev);
	assert_string_equal(path_str(ocsf, "metadata", "uid", NULL), id);
	assert_string_equal(path_str(ecs, "event", "id", NULL), id);
	if (has_identity) {
		assert_contains(cef, "suser=" RICH_SUBJECT, "CEF");
		assert_contains(cef, "cs2=" RICH_CLIENT, "CEF");
		assert_contains(cef, "spriv=tools:read files:write", "CEF");
		assert_contains(cef, "cs4=[\"agent-7\",\"orchestrator\"]", "CEF");
		assert_contains(leef, "usrName=" RICH_SUBJECT, "LEEF");
		assert_contains(leef, "oauthClientId=" RICH_CLIENT, "LEEF");
		assert_contains(leef, "oauthScopes=tools:read files:write", "LEEF");
		assert_contains(leef, "actorChain=[\"agent-7\",\"orchestrator\"]", "LEEF");
		json_t *want = json_object_get(ev, "identity");
		assert_true(json_equal(
			json_object_get(json_object_get(json_object_get(ocsf, "unmapped"), "mcp"),
					"identity"),
			want));
		assert_true(
			json_equal(json_object_get(json_object_get(ecs, "mcp"), "identity"), want));
		assert_string_equal(path_str(ecs, "user", "id", NULL), RICH_SUBJECT);
		/* the mapped OCSF user: the actor's, or the class's own */
		const char *uid = path_str(ocsf, "actor", "user", "uid");
		if (!uid)
			uid = path_str(ocsf, "user", "uid", NULL);
		json_int_t cls = path_int(ocsf, "class_uid", NULL);
		if (cls != 0 && cls != 2004)
			assert_string_equal(uid, RICH_SUBJECT);
		if (cls == 6003)
			assert_string_equal(path_str(ocsf, "actor", "app_uid", NULL), RICH_CLIENT);
	}
	free(cef);
	free(leef);
	json_decref(ocsf);
	json_decref(ecs);
	json_decref(ev);
}

static void test_identity_and_event_id_kept(void **state)
{
	(void)state;
	for_each_event("events", identity_checks, NULL);
}

/* ---- escaping ---- */

/* The keys of a CEF extension: the word before each unescaped '='. Fails on a duplicate, which
 * is what a forged "key=value" inside a value would produce. Returns how many. */
static int cef_unique_keys(const char *cef)
{
	const char *p = cef;
	for (int pipes = 0; *p && pipes < 7; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '|')
			pipes++;
	}
	char keys[64][48];
	int n = 0;
	for (const char *q = p; *q; q++) {
		if (*q == '\\' && q[1]) {
			q++;
			continue;
		}
		if (*q != '=')
			continue;
		const char *k = q;
		while (k > p && k[-1] != ' ')
			k--;
		int len = (int)(q - k);
		assert_true(len > 0 && len < 48 && n < 64);
		for (int i = 0; i < n; i++)
			if ((int)strlen(keys[i]) == len && memcmp(keys[i], k, (size_t)len) == 0)
				fail_msg("CEF key %.*s twice: %s", len, k, cef);
		memcpy(keys[n], k, (size_t)len);
		keys[n++][len] = '\0';
	}
	return n;
}

/* The same for LEEF: attributes split at '^', each key before its first '='. */
static int leef_unique_keys(const char *leef)
{
	const char *p = strstr(leef, "|^|");
	assert_non_null(p);
	p += 3;
	char keys[64][48];
	int n = 0;
	while (*p) {
		const char *end = strchr(p, '^');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (!eq)
			fail_msg("LEEF attribute without '=': %s", p);
		int len = (int)(eq - p);
		assert_true(len > 0 && len < 48 && n < 64);
		for (int i = 0; i < len; i++)
			assert_true((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'));
		for (int i = 0; i < n; i++)
			if ((int)strlen(keys[i]) == len && memcmp(keys[i], p, (size_t)len) == 0)
				fail_msg("LEEF key %.*s twice: %s", len, p, leef);
		memcpy(keys[n], p, (size_t)len);
		keys[n++][len] = '\0';
		p = *end ? end + 1 : end;
	}
	return n;
}

#define HOSTILE_EVENT                                                                              \
	"{\"schema\":\"mcptrail/1\",\"event_id\":\"0123456789abcdef0123456789abcdef\","            \
	"\"type\":\"mcp.tool_call\",\"time\":\"2026-01-02T03:04:05.678Z\","                        \
	"\"call\":{\"tool\":\"a=b\\nc\\rd\\te\\\\f|g^h \\u00fc \\ud83d\\ude80\","                  \
	"\"rpc_id\":\"1\",\"outcome\":\"rpc_error\",\"error\":{\"code\":-1,"                       \
	"\"message\":\"m\\u0001n\\u007fo act=forged\"}},"                                          \
	"\"session\":{\"id\":\"s^1|2\",\"transport\":\"stdio\",\"client\":{\"name\":\"x\"}},"      \
	"\"identity\":{\"subject\":\"eve suser=root act=forged\",\"scopes\":[\"a^b\",\"c=d\"],"    \
	"\"actors\":[],\"source\":\"configured\",\"verified\":false}}"

static void test_cef_escaping(void **state)
{
	(void)state;
	json_t *ev = load(HOSTILE_EVENT);
	size_t len;
	char *cef = encode(ENCODING_CEF, ev, &len);
	assert_non_null(cef);
	assert_null(memchr(cef, '\n', len));
	assert_null(memchr(cef, '\r', len));
	assert_contains(cef, "|MCP tool call|3|rt=1767323045678 ", "CEF");
	/* \ = LF CR escaped, tab and | kept, other controls replaced, UTF-8 as is */
	assert_contains(cef, " request=a\\=b\\nc\\rd\te\\\\f|g^h \xC3\xBC \xF0\x9F\x9A\x80 ",
			"CEF");
	assert_contains(cef, " msg=m" FFFD "n" FFFD "o act\\=forged", "CEF");
	assert_contains(cef, " suser=eve suser\\=root act\\=forged ", "CEF");
	assert_contains(cef, " spriv=a^b c\\=d ", "CEF");
	assert_contains(cef, " cs1=s^1|2 ", "CEF");
	assert_true(cef_unique_keys(cef) > 10);
	free(cef);
	json_decref(ev);

	/* the header: \ and | escaped, = kept, controls replaced */
	ev = load("{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"time\":\"2026-01-02T03:"
		  "04:05Z\",\"type\":\"we|ird\\\\ty=pe\\n\"}");
	cef = encode(ENCODING_CEF, ev, &len);
	assert_non_null(cef);
	assert_contains(cef, "|we\\|ird\\\\ty=pe" FFFD "|mcptrail event|1|", "CEF");
	assert_null(memchr(cef, '\n', len));
	cef_unique_keys(cef);
	free(cef);
	json_decref(ev);
}

static void test_leef_escaping(void **state)
{
	(void)state;
	json_t *ev = load(HOSTILE_EVENT);
	size_t len;
	char *leef = encode(ENCODING_LEEF, ev, &len);
	assert_non_null(leef);
	assert_null(memchr(leef, '\n', len));
	assert_null(memchr(leef, '\r', len));
	assert_null(memchr(leef, '\t', len));
	assert_true(strncmp(leef, "LEEF:2.0|mcptrail|mcptrail|", 27) == 0);
	assert_contains(leef, "|mcp.tool_call|^|devTime=2026-01-02T03:04:05.678Z^", "LEEF");
	assert_contains(leef, "^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX^sev=3^", "LEEF");
	/* the delimiter and control characters replaced; = | \ and UTF-8 kept */
	assert_contains(leef,
			"^resource=a=b" FFFD "c" FFFD "d" FFFD "e\\f|g" FFFD
			"h \xC3\xBC \xF0\x9F\x9A\x80^",
			"LEEF");
	assert_contains(leef, "^usrName=eve suser=root act=forged^", "LEEF");
	assert_contains(leef, "^oauthScopes=a" FFFD "b c=d^", "LEEF");
	assert_contains(leef, "^mcpSessionId=s" FFFD "1|2^", "LEEF");
	assert_contains(leef, "^msg=m" FFFD "n" FFFD "o act=forged", "LEEF");
	assert_true(leef_unique_keys(leef) > 10);
	free(leef);
	json_decref(ev);

	/* the header has no escapes either: | and ^ in the event id field are replaced */
	ev = load("{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"time\":\"2026-01-02T03:"
		  "04:05Z\",\"type\":\"we|ird^type\\t\"}");
	leef = encode(ENCODING_LEEF, ev, &len);
	assert_non_null(leef);
	assert_contains(leef, "|we" FFFD "ird" FFFD "type" FFFD "|^|devTime=", "LEEF");
	leef_unique_keys(leef);
	free(leef);
	json_decref(ev);
}

/* A NUL inside a JSON string must not cut an identity short (admin\0evil is not admin). */
static void test_nul_does_not_truncate(void **state)
{
	(void)state;
	json_t *ev =
		load("{\"schema\":\"mcptrail/1\",\"event_id\":\"0123456789abcdef0123456789abcdef\","
		     "\"type\":\"mcp.tool_call\",\"time\":\"2026-01-02T03:04:05Z\","
		     "\"call\":{\"tool\":\"t\",\"outcome\":\"ok\"},"
		     "\"identity\":{\"subject\":\"admin\\u0000evil\",\"scopes\":[],"
		     "\"actors\":[]}}");
	char *cef = encode(ENCODING_CEF, ev, NULL);
	char *leef = encode(ENCODING_LEEF, ev, NULL);
	assert_contains(cef, " suser=admin" FFFD "evil ", "CEF");
	assert_contains(leef, "^usrName=admin" FFFD "evil^", "LEEF");
	json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
	json_t *uid =
		json_object_get(json_object_get(json_object_get(ocsf, "actor"), "user"), "uid");
	assert_int_equal(json_string_length(uid), 10);
	assert_memory_equal(json_string_value(uid), "admin\0evil", 10);
	json_t *ecs = encode_json_doc(ENCODING_ECS, ev);
	assert_int_equal(json_string_length(json_object_get(json_object_get(ecs, "user"), "id")),
			 10);
	free(cef);
	free(leef);
	json_decref(ocsf);
	json_decref(ecs);
	json_decref(ev);
}

/* ---- what is not encoded, and what is missing ---- */

static void test_refused_events_leave_output_unchanged(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"type\":\"mcp.tool_call\",\"time\":\"2026-01-02T03:04:05Z\"}",
		"{\"event_id\":\"x\",\"type\":\"mcp.tool_call\"}",
		"{\"event_id\":\"x\",\"type\":\"mcp.tool_call\",\"time\":1767323045}",
		"{\"event_id\":\"x\",\"type\":null,\"time\":\"2026-01-02T03:04:05Z\"}",
		"{\"event_id\":7,\"type\":\"finding\",\"time\":\"2026-01-02T03:04:05Z\"}",
		"{\"event_id\":\"x\",\"type\":\"finding\",\"time\":\"2026-13-02T03:04:05Z\"}",
		"{\"event_id\":\"x\",\"type\":\"finding\",\"time\":\"2023-02-29T03:04:05Z\"}",
		"{\"event_id\":\"x\",\"type\":\"finding\",\"time\":\"2026-01-02 03:04:05Z\"}",
		"{\"event_id\":\"x\",\"type\":\"finding\",\"time\":\"2026-01-02T03:04:05\"}",
		"{\"event_id\":\"x\",\"type\":\"finding\",\"time\":\"2026-01-02T03:04:05.Z\"}",
		"{\"event_id\":\"x\",\"type\":\"finding\",\"time\":\"2026-01-02T03:04:05+1:00\"}",
		"[\"not\",\"an\",\"object\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *ev = load(bad[i]);
		for (size_t k = 0; k < sizeof(siem) / sizeof(siem[0]); k++) {
			struct strbuf out = STRBUF_INIT;
			assert_true(strbuf_append_str(&out, "keep|"));
			if (encode_event(siem[k], ev, &out) != -1)
				fail_msg("%s encoded %s", encoding_name(siem[k]), bad[i]);
			assert_int_equal(out.len, 5);
			assert_string_equal(out.data, "keep|");
			strbuf_free(&out);
		}
		json_decref(ev);
	}
}

/* An event of each type with nothing but its envelope still encodes, with the fields each
 * format requires. */
static void test_missing_optional_fields(void **state)
{
	(void)state;
	static const char *const types[] = {
		"mcp.tool_call",       "mcp.task",	  "mcp.request",
		"mcp.sampling",	       "mcp.elicitation", "mcp.roots",
		"mcp.session",	       "mcp.auth",	  "mcp.http_error",
		"mcp.invalid_message", "capture.gap",	  "finding",
		"ingest.error",	       "ingest.summary",  "identity.blast_radius"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		json_t *ev =
			json_pack("{s:s, s:s, s:s}", "event_id", "0123456789abcdef0123456789abcdef",
				  "type", types[i], "time", "2026-01-02T03:04:05Z");
		for (size_t k = 0; k < sizeof(siem) / sizeof(siem[0]); k++) {
			char *text = encode(siem[k], ev, NULL);
			if (!text)
				fail_msg("%s refused an envelope-only %s", encoding_name(siem[k]),
					 types[i]);
			free(text);
		}
		json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
		json_int_t cls = path_int(ocsf, "class_uid", NULL);
		if (cls == 6003) /* an actor needs one member: a placeholder user */
			assert_string_equal(path_str(ocsf, "actor", "user", "name"), "(unknown)");
		if (cls == 3002)
			assert_string_equal(path_str(ocsf, "user", "name", NULL), "(unknown)");
		json_decref(ocsf);
		json_decref(ev);
	}
}

/* ---- classification ---- */

static void test_call_outcomes(void **state)
{
	(void)state;
	static const struct {
		const char *outcome;
		int status_id;
		const char *ecs;
	} cases[] = {
		{"ok", 1, "success"},
		{"tool_error", 2, "failure"},
		{"rpc_error", 2, "failure"},
		{"denied", 2, "failure"},
		{"cancelled", 99, "unknown"},
		{"no_response", 0, "unknown"},
		{"something_new", 0, "unknown"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "event_id", "e", "type",
				       "mcp.tool_call", "time", "2026-01-02T03:04:05Z", "call",
				       "tool", "t", "outcome", cases[i].outcome);
		json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
		json_t *ecs = encode_json_doc(ENCODING_ECS, ev);
		assert_int_equal(path_int(ocsf, "status_id", NULL), cases[i].status_id);
		assert_string_equal(path_str(ecs, "event", "outcome", NULL), cases[i].ecs);
		char *cef = encode(ENCODING_CEF, ev, NULL);
		char needle[64];
		snprintf(needle, sizeof(needle), " outcome=%s", cases[i].ecs);
		assert_contains(cef, needle, "CEF");
		free(cef);
		json_decref(ocsf);
		json_decref(ecs);
		json_decref(ev);
	}
}

static void test_request_verbs(void **state)
{
	(void)state;
	static const struct {
		const char *type, *method;
		int activity;
		const char *ecs_type;
	} cases[] = {
		{"mcp.request", "tools/list", 2, "access"},
		{"mcp.request", "resources/read", 2, "access"},
		{"mcp.request", "prompts/get", 2, "access"},
		{"mcp.request", "tasks/result", 2, "access"},
		{"mcp.request", "tasks/cancel", 3, "change"},
		{"mcp.request", "logging/setLevel", 3, "change"},
		{"mcp.request", "resources/unsubscribe", 3, "change"},
		{"mcp.request", "vendor/delete", 4, "deletion"},
		{"mcp.request", "vendor/createThing", 1, "creation"},
		{"mcp.request", "vendor/frobnicate", 99, "access"},
		{"mcp.request", "list", 2, "access"},
		{"mcp.sampling", "sampling/createMessage", 1, "creation"},
		{"mcp.elicitation", "elicitation/create", 1, "creation"},
		{"mcp.roots", "roots/list", 2, "access"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "event_id", "e", "type",
				       cases[i].type, "time", "2026-01-02T03:04:05Z", "request",
				       "method", cases[i].method, "outcome", "ok");
		json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
		json_t *ecs = encode_json_doc(ENCODING_ECS, ev);
		if (path_int(ocsf, "activity_id", NULL) != cases[i].activity)
			fail_msg("%s: activity %lld", cases[i].method,
				 (long long)path_int(ocsf, "activity_id", NULL));
		assert_string_equal(path_str(ocsf, "api", "operation", NULL), cases[i].method);
		if (cases[i].activity == 99)
			assert_string_equal(path_str(ocsf, "activity_name", NULL, NULL),
					    cases[i].method);
		const json_t *types = json_object_get(json_object_get(ecs, "event"), "type");
		assert_string_equal(json_string_value(json_array_get(types, 0)), cases[i].ecs_type);
		assert_string_equal(path_str(ecs, "event", "action", NULL), cases[i].method);
		json_decref(ocsf);
		json_decref(ecs);
		json_decref(ev);
	}
}

static void test_finding_severity_scales(void **state)
{
	(void)state;
	static const char *const levels[] = {"info", "low", "medium", "high", "critical"};
	static const int cef[] = {1, 3, 5, 8, 10};
	for (int i = 0; i < 5; i++) {
		json_t *ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "event_id", "e",
				       "type", "finding", "time", "2026-01-02T03:04:05Z", "finding",
				       "kind", "task_cross_identity", "severity", levels[i],
				       "summary", "a task was touched | by someone else");
		json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
		json_t *ecs = encode_json_doc(ENCODING_ECS, ev);
		assert_int_equal(path_int(ocsf, "severity_id", NULL), i + 1);
		assert_int_equal(path_int(ocsf, "status_id", NULL), 1); /* New */
		assert_int_equal(path_int(ecs, "event", "severity"), i + 1);
		assert_string_equal(path_str(ecs, "event", "kind", NULL), "alert");
		assert_string_equal(path_str(ecs, "rule", "name", NULL), "task_cross_identity");
		char *c = encode(ENCODING_CEF, ev, NULL);
		char *l = encode(ENCODING_LEEF, ev, NULL);
		char needle[96];
		snprintf(needle, sizeof(needle),
			 "|finding|a task was touched \\| by someone else|%d|", cef[i]);
		assert_contains(c, needle, "CEF");
		snprintf(needle, sizeof(needle), "^sev=%d^", cef[i]);
		assert_contains(l, needle, "LEEF");
		free(c);
		free(l);
		json_decref(ocsf);
		json_decref(ecs);
		json_decref(ev);
	}
}

static void test_auth_classes(void **state)
{
	(void)state;
	/* 401 without a token: Authentication, a failed logon of nobody in particular */
	json_t *ev =
		load("{\"event_id\":\"e\",\"type\":\"mcp.auth\",\"time\":\"2026-01-02T03:04:05Z\","
		     "\"auth\":{\"status\":401,\"method\":\"POST\",\"outcome\":\"complete\","
		     "\"kind\":\"challenge\",\"challenge\":{\"scheme\":\"Bearer\"}},"
		     "\"identity\":{\"subject\":null,\"source\":\"anonymous\",\"scopes\":[],"
		     "\"actors\":[]}}");
	json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
	assert_int_equal(path_int(ocsf, "type_uid", NULL), 300201);
	assert_int_equal(path_int(ocsf, "status_id", NULL), 2);
	assert_int_equal(path_int(ocsf, "auth_protocol_id", NULL), 6);
	assert_string_equal(path_str(ocsf, "user", "name", NULL), "(anonymous)");
	assert_string_equal(path_str(ocsf, "status_code", NULL, NULL), "401");
	assert_string_equal(path_str(ocsf, "http_request", "http_method", NULL), "POST");
	json_t *ecs = encode_json_doc(ENCODING_ECS, ev);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(ecs, "event"), "category"), 0)),
			    "authentication");
	assert_int_equal(path_int(json_object_get(ecs, "http"), "response", "status_code"), 401);
	json_decref(ocsf);
	json_decref(ecs);
	json_decref(ev);

	/* 403 insufficient_scope: Authorize Session, the privileges the step-up asks for */
	ev = load("{\"event_id\":\"e\",\"type\":\"mcp.auth\",\"time\":\"2026-01-02T03:04:05Z\","
		  "\"auth\":{\"status\":403,\"method\":\"POST\",\"outcome\":\"complete\","
		  "\"kind\":\"insufficient_scope\",\"challenge\":{\"scheme\":\"Bearer\","
		  "\"error\":\"insufficient_scope\",\"scope\":[\"repo:write\"]}},"
		  "\"identity\":{\"subject\":\"bob\",\"scopes\":[\"repo:read\"],\"actors\":[]}}");
	ocsf = encode_json_doc(ENCODING_OCSF, ev);
	assert_int_equal(path_int(ocsf, "type_uid", NULL), 300301);
	assert_string_equal(path_str(ocsf, "user", "uid", NULL), "bob");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(ocsf, "privileges"), 0)),
		"repo:write");
	assert_string_equal(path_str(ocsf, "status_detail", NULL, NULL), "insufficient_scope");
	assert_int_equal(path_int(ocsf, "severity_id", NULL), 3);
	json_decref(ocsf);
	json_decref(ev);
}

/* ---- times ---- */

static void test_times(void **state)
{
	(void)state;
	static const struct {
		const char *time;
		long long ms;
		const char *leef;
	} cases[] = {
		{"1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00.000Z"},
		{"2026-11-27T15:09:59.571335087Z", 1795792199571LL, "2026-11-27T15:09:59.571Z"},
		{"2026-11-27t16:09:59.5719+01:00", 1795792199571LL, "2026-11-27T15:09:59.571Z"},
		{"2026-11-27T14:39:59.571-00:30", 1795792199571LL, "2026-11-27T15:09:59.571Z"},
		{"1969-12-31T23:59:59.999Z", -1, "1969-12-31T23:59:59.999Z"},
		{"2024-02-29T00:00:00.5z", 1709164800500LL, "2024-02-29T00:00:00.500Z"},
		{"9999-12-31T23:59:59.999Z", 253402300799999LL, "9999-12-31T23:59:59.999Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = json_pack("{s:s, s:s, s:s}", "event_id", "e", "type", "ingest.summary",
				       "time", cases[i].time);
		json_t *ocsf = encode_json_doc(ENCODING_OCSF, ev);
		if (path_int(ocsf, "time", NULL) != cases[i].ms)
			fail_msg("%s: %lld ms", cases[i].time,
				 (long long)path_int(ocsf, "time", NULL));
		char *cef = encode(ENCODING_CEF, ev, NULL);
		char *leef = encode(ENCODING_LEEF, ev, NULL);
		char needle[96];
		snprintf(needle, sizeof(needle), "|rt=%lld ", cases[i].ms);
		assert_contains(cef, needle, "CEF");
		snprintf(needle, sizeof(needle), "|^|devTime=%s^", cases[i].leef);
		assert_contains(leef, needle, "LEEF");
		free(cef);
		free(leef);
		json_decref(ocsf);
		json_decref(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_names),
		cmocka_unit_test(test_golden_events),
		cmocka_unit_test(test_golden_edge_cases),
		cmocka_unit_test(test_ocsf_classes_and_required_fields),
		cmocka_unit_test(test_ecs_fields),
		cmocka_unit_test(test_identity_and_event_id_kept),
		cmocka_unit_test(test_cef_escaping),
		cmocka_unit_test(test_leef_escaping),
		cmocka_unit_test(test_nul_does_not_truncate),
		cmocka_unit_test(test_refused_events_leave_output_unchanged),
		cmocka_unit_test(test_missing_optional_fields),
		cmocka_unit_test(test_call_outcomes),
		cmocka_unit_test(test_request_verbs),
		cmocka_unit_test(test_finding_severity_scales),
		cmocka_unit_test(test_auth_classes),
		cmocka_unit_test(test_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
