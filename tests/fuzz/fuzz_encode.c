/* fuzz_encode: encode_event on an arbitrary JSON object, in every encoding.
 *
 * The input is parsed as JSON (NUL bytes in strings allowed, as the collector's own events may
 * hold them); anything but an object is skipped. Seeds: the lines of the golden inputs
 * (tests/data/golden/events.jsonl and edge.jsonl), one file each.
 *
 * Checks: the four SIEM encodings agree on whether the event can be encoded (they share one
 * reading of it), and a refused event leaves the output buffer as it was; OCSF and ECS output
 * is one JSON object that keeps the event_id (metadata.uid, event.id) and OCSF's type_uid is
 * class_uid * 100 + activity_id; CEF and LEEF output is one line (no CR or LF anywhere), starts
 * with its header, and its attributes parse back to distinct alphanumeric keys, so no value can
 * forge a field; no output holds a raw CR or LF; json_write_compact writes what jansson's
 * json_dumps(JSON_COMPACT) writes.
 */
#include "sinks/encode.h"
#include "sinks/json_write.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const char *text, size_t len)
{
	fprintf(stderr, "fuzz_encode: invariant violated: %s\n%.*s\n", what,
		(int)(len > 2000 ? 2000 : len), text ? text : "");
	abort();
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Records key [k, k+len) in keys; fails on a repeat or a non-alphanumeric key. */
static void key_seen(char keys[][48], int *n, const char *k, size_t len, const char *text,
		     size_t text_len)
{
	if (len == 0 || len >= 48 || *n >= 64)
		fail("an attribute key of a bad length", text, text_len);
	for (size_t i = 0; i < len; i++)
		if (!is_key_char(k[i]))
			fail("an attribute key that is not alphanumeric", text, text_len);
	for (int i = 0; i < *n; i++)
		if (strlen(keys[i]) == len && memcmp(keys[i], k, len) == 0)
			fail("an attribute key twice (a forged field)", text, text_len);
	memcpy(keys[*n], k, len);
	keys[(*n)++][len] = '\0';
}

static void check_cef(const char *s, size_t len)
{
	if (len < 6 || memcmp(s, "CEF:0|", 6) != 0)
		fail("CEF output without its header", s, len);
	size_t i = 0;
	for (int pipes = 0; pipes < 7; i++) {
		if (i >= len)
			fail("a CEF header with fewer than 7 fields", s, len);
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '|')
			pipes++;
	}
	char keys[64][48];
	int n = 0;
	size_t start = i;
	for (; i < len; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= len || !strchr("\\=nr", s[i + 1]))
				fail("a CEF extension with a bad escape", s, len);
			i++;
			continue;
		}
		if (s[i] != '=')
			continue;
		size_t k = i;
		while (k > start && s[k - 1] != ' ')
			k--;
		key_seen(keys, &n, s + k, i - k, s, len);
	}
	if (n == 0)
		fail("a CEF extension without keys", s, len);
}

static void check_leef(const char *s, size_t len)
{
	if (len < 9 || memcmp(s, "LEEF:2.0|", 9) != 0)
		fail("LEEF output without its header", s, len);
	const char *attrs = memmem(s, len, "|^|", 3);
	if (!attrs)
		fail("a LEEF header without its delimiter field", s, len);
	size_t header_pipes = 0;
	for (const char *p = s; p < attrs; p++)
		header_pipes += *p == '|';
	if (header_pipes != 4)
		fail("a LEEF header with a '|' inside a field", s, len);
	const char *p = attrs + 3, *end = s + len;
	char keys[64][48];
	int n = 0;
	while (p < end) {
		const char *next = memchr(p, '^', (size_t)(end - p));
		if (!next)
			next = end;
		const char *eq = memchr(p, '=', (size_t)(next - p));
		if (!eq)
			fail("a LEEF attribute without '='", s, len);
		key_seen(keys, &n, p, (size_t)(eq - p), s, len);
		p = next < end ? next + 1 : end;
	}
}

static json_t *check_json(const char *s, size_t len, const char *what)
{
	json_error_t err;
	json_t *doc = json_loadb(s, len, JSON_ALLOW_NUL, &err);
	if (!json_is_object(doc))
		fail(what, s, len);
	return doc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *ev = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &err);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return 0;
	}
	/* the native encoding's writer is byte for byte jansson's compact dump */
	{
		char *want = json_dumps(ev, JSON_COMPACT);
		struct strbuf got = STRBUF_INIT;
		int rc = json_write_compact(ev, &got);
		if (want && (rc != 0 || got.len != strlen(want) || memcmp(got.data, want, got.len)))
			fail("json_write_compact differs from json_dumps", got.data, got.len);
		free(want);
		strbuf_free(&got);
	}
	const json_t *event_id = json_object_get(ev, "event_id");
	int encoded = -1;
	for (int e = ENCODING_JSON; e <= ENCODING_LEEF; e++) {
		struct strbuf out = STRBUF_INIT;
		if (!strbuf_append_str(&out, "#"))
			abort();
		int rc = encode_event((enum event_encoding)e, ev, &out);
		if (rc != 0) {
			if (out.len != 1 || out.data[0] != '#' || out.data[1] != '\0')
				fail("a refused event changed the output", out.data, out.len);
		}
		if (e != ENCODING_JSON) {
			if (encoded != -1 && (rc == 0) != encoded)
				fail("the encodings disagree on whether the event can be encoded",
				     NULL, 0);
			encoded = rc == 0;
		}
		if (rc != 0) {
			strbuf_free(&out);
			continue;
		}
		const char *s = out.data + 1;
		size_t len = out.len - 1;
		if (memchr(s, '\n', len) || memchr(s, '\r', len))
			fail("a raw CR or LF in the output", s, len);
		json_t *doc = NULL;
		switch (e) {
		case ENCODING_OCSF: {
			doc = check_json(s, len, "OCSF output is not a JSON object");
			json_t *md = json_object_get(doc, "metadata");
			if (!json_equal(json_object_get(md, "uid"), event_id))
				fail("OCSF lost the event_id", s, len);
			json_int_t cls = json_integer_value(json_object_get(doc, "class_uid"));
			json_int_t act = json_integer_value(json_object_get(doc, "activity_id"));
			if (json_integer_value(json_object_get(doc, "type_uid")) != cls * 100 + act)
				fail("OCSF type_uid is not class_uid * 100 + activity_id", s, len);
			break;
		}
		case ENCODING_ECS:
			doc = check_json(s, len, "ECS output is not a JSON object");
			if (!json_equal(json_object_get(json_object_get(doc, "event"), "id"),
					event_id))
				fail("ECS lost the event_id", s, len);
			break;
		case ENCODING_CEF:
			check_cef(s, len);
			break;
		case ENCODING_LEEF:
			check_leef(s, len);
			break;
		default:
			break;
		}
		json_decref(doc);
		strbuf_free(&out);
	}
	json_decref(ev);
	return 0;
}
