/* Unit tests for collector/util: strbuf, base64, UTF-8 validation, JSON escaping, sizes, time. */
#include "collector/util.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- strbuf ---- */

static void test_strbuf_append_and_printf(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	assert_true(strbuf_append_str(&b, "abc"));
	assert_true(strbuf_append(&b, "\0x", 2)); /* binary safe */
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "abc\0x", 6); /* and NUL-terminated */
	strbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	/* longer than the internal 256-byte scratch buffer */
	char big[1000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(strbuf_printf(&b, "[%d|%s]", 42, big));
	assert_int_equal(b.len, 2 + 2 + 1 + 999);
	assert_memory_equal(b.data, "[42|qqq", 7);
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	assert_true(strbuf_printf(&b, "%s", "!"));
	assert_int_equal(b.data[b.len - 1], '!');
	strbuf_free(&b);
	assert_null(b.data);
	strbuf_free(&b); /* twice is harmless */
}

/* ---- base64 ---- */

static void test_base64_rfc4648_vectors(void **state)
{
	(void)state;
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",		"Zg==",	    "Zm8=",    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		struct strbuf b = STRBUF_INIT;
		assert_true(base64_encode_append(&b, (const unsigned char *)plain[i],
						 strlen(plain[i])));
		assert_string_equal(b.data ? b.data : "", coded[i]);
		strbuf_reset(&b);
		assert_true(base64_decode_append(&b, coded[i], strlen(coded[i])));
		assert_int_equal(b.len, strlen(plain[i]));
		if (b.len)
			assert_memory_equal(b.data, plain[i], b.len);
		strbuf_free(&b);
	}
}

static void test_base64_round_trip_all_bytes(void **state)
{
	(void)state;
	unsigned char bytes[256 + 2];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(255 - i % 256);
	for (size_t len = 0; len <= sizeof(bytes); len++) {
		struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
		assert_true(strbuf_append_str(&enc, "prefix:"));
		assert_true(base64_encode_append(&enc, bytes, len));
		assert_int_equal(enc.len, 7 + (len + 2) / 3 * 4);
		assert_true(strbuf_append_str(&dec, "x"));
		assert_true(base64_decode_append(&dec, enc.data + 7, enc.len - 7));
		assert_int_equal(dec.len, 1 + len);
		assert_memory_equal(dec.data + 1, bytes, len);
		strbuf_free(&enc);
		strbuf_free(&dec);
	}
}

static void test_base64_rejects_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"!!!!", "Zm9v!",	"Zm9v\n", "Z",	   "Zm9vY",
		"Zm=v", "Zm9v====Zm9v", " Zm9v",  "Zm 9v", "Zm9v\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf b = STRBUF_INIT;
		assert_true(strbuf_append_str(&b, "keep"));
		assert_false(base64_decode_append(&b, bad[i], strlen(bad[i])));
		/* what was there is kept */
		assert_int_equal(b.len, 4);
		strbuf_free(&b);
	}
}

/* ---- UTF-8 ---- */

static void test_utf8_valid(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int valid;
	} cases[] = {
		{"", 1},
		{"plain ascii", 1},
		{"caf\xc3\xa9", 1},
		{"\xe2\x82\xac", 1},	     /* U+20AC */
		{"\xf0\x9f\x98\x80", 1},     /* U+1F600, 4 bytes */
		{"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
		{"\xed\x9f\xbf", 1},	     /* U+D7FF, just below the surrogates */
		{"\xee\x80\x80", 1},	     /* U+E000, just above */
		{"\xc0\xaf", 0},	     /* overlong '/' */
		{"\xc1\xbf", 0},	     /* overlong */
		{"\xe0\x80\xaf", 0},	     /* overlong 3-byte */
		{"\xe0\x9f\xbf", 0},	     /* overlong U+07FF */
		{"\xf0\x80\x80\xaf", 0},     /* overlong 4-byte */
		{"\xf0\x8f\xbf\xbf", 0},     /* overlong U+FFFF */
		{"\xed\xa0\x80", 0},	     /* U+D800 */
		{"\xed\xbf\xbf", 0},	     /* U+DFFF */
		{"\xf4\x90\x80\x80", 0},     /* U+110000 */
		{"\xf5\x80\x80\x80", 0},     /* lead byte out of range */
		{"\xff", 0},		     /* never valid */
		{"\x80", 0},		     /* lone continuation */
		{"\xc3\x28", 0},	     /* bad continuation */
		{"\xe2\x82", 0},	     /* truncated */
		{"ok\xf0\x9f\x98", 0},	     /* truncated at the end */
		{"\xf0\x9f\x98\x80\xbf", 0}, /* stray continuation after a valid char */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (utf8_valid(cases[i].s, strlen(cases[i].s)) != (bool)cases[i].valid)
			fail_msg("utf8_valid(case %zu) should be %d", i, cases[i].valid);
	}
	/* NUL is a valid code point */
	assert_true(utf8_valid("a\0b", 3));
}

/* ---- JSON escaping ---- */

/* Escapes raw, wraps it in quotes, and parses it back with jansson. */
static json_t *escape_and_load(const char *raw, size_t len, struct strbuf *b)
{
	strbuf_reset(b);
	assert_true(strbuf_append_str(b, "\""));
	assert_true(strbuf_append_json_escaped(b, raw, len));
	assert_true(strbuf_append_str(b, "\""));
	json_error_t err;
	json_t *v = json_loadb(b->data, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!v)
		fail_msg("not valid JSON (%s): %s", err.text, b->data);
	assert_true(json_is_string(v));
	return v;
}

static void test_json_escape_round_trip(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	char raw[41];
	for (int i = 0; i < 32; i++)
		raw[i] = (char)i;
	memcpy(raw + 32,
	       "\"\\/\x7f"
	       "caf\xc3\xa9",
	       9);
	json_t *v = escape_and_load(raw, 41, &b);
	assert_int_equal(json_string_length(v), 41);
	assert_memory_equal(json_string_value(v), raw, 41);
	json_decref(v);
	/* the short escapes, and no raw control byte survives */
	assert_non_null(strstr(b.data, "\\n"));
	assert_non_null(strstr(b.data, "\\r"));
	assert_non_null(strstr(b.data, "\\t"));
	assert_non_null(strstr(b.data, "\\u0000"));
	assert_non_null(strstr(b.data, "\\u001f"));
	assert_non_null(strstr(b.data, "\\\""));
	assert_non_null(strstr(b.data, "\\\\"));
	for (size_t i = 0; i < b.len; i++)
		assert_true((unsigned char)b.data[i] >= 0x20);
	strbuf_free(&b);
}

static void test_json_escape_replaces_invalid_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *raw;
		const char *want;
	} cases[] = {
		{"a\xc3\x28z", "a\xef\xbf\xbd(z"},
		{"\xff", "\xef\xbf\xbd"},
		{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd"},
		{"\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok"},
		{"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	};
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = escape_and_load(cases[i].raw, strlen(cases[i].raw), &b);
		assert_string_equal(json_string_value(v), cases[i].want);
		/* the escaped text itself is valid UTF-8 */
		assert_true(utf8_valid(b.data, b.len));
		json_decref(v);
	}
	strbuf_free(&b);
}

static void test_json_escape_appends(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	assert_true(strbuf_append_str(&b, "{\"k\":\""));
	assert_true(strbuf_append_json_escaped(&b, "v\n", 2));
	assert_true(strbuf_append_str(&b, "\"}"));
	assert_string_equal(b.data, "{\"k\":\"v\\n\"}");
	assert_true(strbuf_append_json_escaped(&b, "", 0));
	assert_int_equal(b.len, 11);
	strbuf_free(&b);
}

/* ---- sizes ---- */

static void test_parse_size_accepts(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t want;
	} cases[] = {
		{"0", 0},
		{"1024", 1024},
		{"1k", 1024},
		{"4K", 4096},
		{"64M", 64u << 20},
		{"8MiB", 8u << 20},
		{"8MB", 8u << 20},
		{"2G", (size_t)2 << 30},
		{"3GiB", (size_t)3 << 30},
		{"18446744073709551615", SIZE_MAX},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = 12345;
		if (!parse_size(cases[i].s, &got))
			fail_msg("parse_size(\"%s\") failed", cases[i].s);
		assert_int_equal(got, cases[i].want);
	}
}

static void test_parse_size_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {"",	 "M",	  "abc", "12X",		"1.5M",
					  "5Mi", "5MiBs", "1T",	 "17179869184G"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t got = 777;
		if (parse_size(bad[i], &got))
			fail_msg("parse_size(\"%s\") accepted (%zu)", bad[i], got);
		assert_int_equal(got, 777);
	}
}

static void test_parse_size_rejects_negative_and_overflow(void **state)
{
	(void)state;
	/* Regression test (was a bug, now fixed): collector/util.c parse_size(): strtoull() accepts
	 * a leading minus sign (negating the value) and saturates to ULLONG_MAX on overflow (ERANGE
	 * is not checked), so "-1", "18446744073709551616" and "99999999999999999999999" are
	 * accepted as SIZE_MAX and "-5M" as a huge value (expected: false for all). `mcptrail tap
	 * --max-frame -1` thus silently means "unlimited". */
	static const char *const bad[] = {"-1", "-5M", "18446744073709551616",
					  "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t got = 777;
		if (parse_size(bad[i], &got))
			fail_msg("parse_size(\"%s\") accepted (%zu)", bad[i], got);
	}
}

/* ---- time ---- */

static void test_format_rfc3339(void **state)
{
	(void)state;
	char out[48];
	format_rfc3339_ns(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000000000Z");
	format_rfc3339_ns(1795773600123456789LL, out);
	assert_string_equal(out, "2026-11-27T10:00:00.123456789Z");
	format_rfc3339_ns(951782400000000001LL, out);
	assert_string_equal(out, "2000-02-29T00:00:00.000000001Z");
	format_rfc3339_ns(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999999999Z");
	format_rfc3339_ms(1795773600123456789LL, out);
	assert_string_equal(out, "2026-11-27T10:00:00.123Z");
	format_rfc3339_ms(1795773600999999999LL, out);
	assert_string_equal(out, "2026-11-27T10:00:00.999Z");
	format_rfc3339_ms(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_clock_and_sha256(void **state)
{
	(void)state;
	int64_t a = clock_now_ns(), b = clock_now_ns();
	assert_true(a > 1600000000LL * 1000000000LL);
	assert_true(b >= a);
	char hex[65];
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_append_and_printf),
		cmocka_unit_test(test_base64_rfc4648_vectors),
		cmocka_unit_test(test_base64_round_trip_all_bytes),
		cmocka_unit_test(test_base64_rejects_garbage),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_json_escape_round_trip),
		cmocka_unit_test(test_json_escape_replaces_invalid_utf8),
		cmocka_unit_test(test_json_escape_appends),
		cmocka_unit_test(test_parse_size_accepts),
		cmocka_unit_test(test_parse_size_rejects),
		cmocka_unit_test(test_parse_size_rejects_negative_and_overflow),
		cmocka_unit_test(test_format_rfc3339),
		cmocka_unit_test(test_clock_and_sha256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
