/* Unit tests for collector/redact: a corpus of secrets (tests/data/secrets-corpus.json) goes
 * through every path that can emit tool arguments (free text, JSON values under innocuous and
 * secret-looking names, nested, redact_arguments with and without truncation, invalid JSON) and
 * no secret may come out. Then what must not be redacted, extra rules, UTF-8, and hostile sizes
 * and depths. */
#include "collector/redact.h"
#include "collector/util.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static struct redactor *R;
static json_t *corpus; /* [{"kind", "secret", "text"}] */

static const char *corpus_path(void)
{
	static char path[4096];
	const char *env = getenv("MCPTRAIL_SECRETS_CORPUS");
	if (env)
		return env;
	/* this file is tests/unit/test_redact.c; the corpus is tests/data/secrets-corpus.json */
	snprintf(path, sizeof(path), "%s", __FILE__);
	char *unit = strstr(path, "unit/test_redact.c");
	if (unit)
		snprintf(unit, sizeof(path) - (size_t)(unit - path), "data/secrets-corpus.json");
	return path;
}

static int setup(void **state)
{
	(void)state;
	char err[256];
	R = redactor_new(NULL, 0, err, sizeof(err));
	if (!R) {
		fprintf(stderr, "redactor_new: %s\n", err);
		return -1;
	}
	json_error_t jerr;
	corpus = json_load_file(corpus_path(), 0, &jerr);
	if (!corpus) {
		fprintf(stderr, "%s:%d: %s\n", corpus_path(), jerr.line, jerr.text);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	redactor_free(R);
	json_decref(corpus);
	return 0;
}

static const char *entry_str(size_t i, const char *field)
{
	return json_string_value(json_object_get(json_array_get(corpus, i), field));
}

/* Fails when secret, or its JSON-escaped form, occurs in out. */
static void assert_no_secret(const char *out, size_t len, const char *secret, const char *kind,
			     const char *where)
{
	json_t *s = json_string(secret);
	char *esc = json_dumps(s, JSON_ENCODE_ANY);
	assert_non_null(esc);
	size_t elen = strlen(esc) - 2; /* without the quotes */
	bool leaked = memmem(out, len, secret, strlen(secret)) != NULL ||
		      memmem(out, len, esc + 1, elen) != NULL;
	if (leaked)
		fail_msg("%s: secret leaked through %s: %.*s", kind, where,
			 (int)(len > 2000 ? 2000 : len), out);
	free(esc);
	json_decref(s);
}

static void assert_json_has_no_secret(json_t *v, const char *secret, const char *kind,
				      const char *where)
{
	char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(dump);
	assert_no_secret(dump, strlen(dump), secret, kind, where);
	free(dump);
}

static size_t serialized_len(json_t *v)
{
	char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(d);
	size_t n = strlen(d);
	free(d);
	return n;
}

/* ---- the corpus ---------------------------------------------------------------------------- */

static void test_corpus_is_well_formed(void **state)
{
	(void)state;
	assert_true(json_is_array(corpus));
	size_t n = json_array_size(corpus), kinds = 0;
	for (size_t i = 0; i < n; i++) {
		const char *kind = entry_str(i, "kind"), *secret = entry_str(i, "secret"),
			   *text = entry_str(i, "text");
		assert_non_null(kind);
		assert_non_null(secret);
		assert_non_null(text);
		assert_true(strlen(secret) >= 6);
		assert_non_null(strstr(text, secret));
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || !strcmp(entry_str(j, "kind"), kind);
		kinds += !seen;
	}
	printf("secrets corpus: %zu entries, %zu kinds\n", n, kinds);
	assert_true(kinds >= 30);
}

static void test_corpus_free_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < json_array_size(corpus); i++) {
		const char *kind = entry_str(i, "kind"), *secret = entry_str(i, "secret"),
			   *text = entry_str(i, "text");
		unsigned count = 0;
		size_t len;
		char *out = redact_text(R, text, strlen(text), &len, &count);
		assert_non_null(out);
		assert_int_equal(strlen(out), len);
		assert_no_secret(out, len, secret, kind, "redact_text");
		if (count == 0)
			fail_msg("%s: no redaction counted", kind);
		free(out);
	}
}

/* Redacts a copy of doc and checks it. */
static void check_json(json_t *doc, const char *secret, const char *kind, const char *where)
{
	json_t *copy = json_deep_copy(doc);
	assert_non_null(copy);
	unsigned count = redact_json(R, copy);
	if (count == 0)
		fail_msg("%s: no redaction counted in %s", kind, where);
	assert_json_has_no_secret(copy, secret, kind, where);
	json_decref(copy);
}

static void test_corpus_json_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < json_array_size(corpus); i++) {
		const char *kind = entry_str(i, "kind"), *secret = entry_str(i, "secret"),
			   *text = entry_str(i, "text");
		json_t *doc;

		doc = json_pack("{s:s}", "command", text);
		check_json(doc, secret, kind, "{\"command\": text}");
		json_decref(doc);

		doc = json_pack("{s:s, s:s}", "githubToken", text, "DB_PASSWORD", secret);
		check_json(doc, secret, kind, "secret-looking names");
		json_decref(doc);

		doc = json_pack("{s:[s, {s:{s:s}}, [[s]]], s:{s:{s:[s]}}}", "args", "run", "env",
				"X", text, text, "options", "nested", "notes", text);
		check_json(doc, secret, kind, "nested arrays and objects");
		json_decref(doc);

		doc = json_string(text);
		check_json(doc, secret, kind, "a top-level string");
		json_decref(doc);

		/* a secret in a member name */
		doc = json_object();
		json_object_set_new(doc, text, json_true());
		check_json(doc, secret, kind, "a member name");
		json_decref(doc);
	}
}

static void check_arguments(const char *raw, size_t len, size_t cap, const char *secret,
			    const char *kind, const char *where)
{
	json_t *ev = redact_arguments(R, raw, len, cap);
	assert_non_null(ev);
	char digest[65];
	sha256_hex(raw, len, digest);
	assert_string_equal(json_string_value(json_object_get(ev, "sha256")), digest);
	assert_int_equal(json_integer_value(json_object_get(ev, "bytes")), len);
	if (json_integer_value(json_object_get(ev, "redactions")) <= 0)
		fail_msg("%s: no redaction counted in %s (cap %zu)", kind, where, cap);
	assert_true(json_is_boolean(json_object_get(ev, "truncated")));
	json_t *red = json_object_get(ev, "redacted");
	assert_non_null(red);
	assert_true(serialized_len(red) <= (cap > 2 ? cap : 2));
	if (json_is_true(json_object_get(ev, "truncated")))
		assert_true(json_is_string(red));
	assert_json_has_no_secret(ev, secret, kind, where);
	json_decref(ev);
}

static void test_corpus_arguments(void **state)
{
	(void)state;
	for (size_t i = 0; i < json_array_size(corpus); i++) {
		const char *kind = entry_str(i, "kind"), *secret = entry_str(i, "secret"),
			   *text = entry_str(i, "text");
		json_t *args = json_pack("{s:s, s:{s:[s, i]}, s:b}", "command", text, "opts",
					 "list", text, 3, "dryRun", 0);
		char *raw = json_dumps(args, JSON_COMPACT);
		size_t len = strlen(raw);
		static const size_t caps[] = {0, 24, 64, 256, 1 << 20};
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			check_arguments(raw, len, caps[c], secret, kind, "valid JSON");
			/* cut short: not JSON any more, the structure is followed by hand */
			check_arguments(raw, len - 1, caps[c], secret, kind, "truncated JSON");
			check_arguments(raw, len / 2 + strlen(text) / 2, caps[c], secret, kind,
					"JSON cut in the middle");
			check_arguments(text, strlen(text), caps[c], secret, kind, "free text");
		}
		/* under a secret-looking name, whatever the value */
		json_t *named =
			json_pack("{s:s, s:{s:s}}", "password", secret, "auth", "user", text);
		char *raw2 = json_dumps(named, JSON_COMPACT);
		check_arguments(raw2, strlen(raw2), 1 << 20, secret, kind, "secret-looking names");
		check_arguments(raw2, strlen(raw2) - 2, 1 << 20, secret, kind,
				"secret-looking names, truncated");
		free(raw2);
		json_decref(named);
		free(raw);
		json_decref(args);
	}
}

/* ---- what must stay ------------------------------------------------------------------------ */

static const char *const innocent[] = {
	"123e4567-e89b-12d3-a456-426614174000",
	"commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (HEAD -> main)",
	"git checkout 3f786850e387550fdab836ed7e6dc881de23001b",
	"The quick brown fox jumps over the lazy dog. Tokens are counted per request.",
	"The author of the session notes asked for a password reset policy review.",
	"See https://example.com/docs/api?page=2&sort=asc#section-3 for details",
	"https://user@example.com/path and ssh://git@github.com:22/acme/repo.git",
	"http://localhost:8080/health and https://[::1]:8443/metrics",
	"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAGXRFWHRTb2Z0d2FyZQBB"
	"ZG9iZSBJbWFnZVJlYWR5ccllPAAAAWJJREFUeNqkU81KAkEQ/mZ3dV0jKCIiKKJDUFAHT0V0iG7RE3TrFXqBrvUI"
	"vULvEPQAQYcOdYkOQYc0SSMtbd3d+ZqZ3VUN8tLAzM58M9/33/8BIxeIVKvB6gZoAT5P3vkXTw8P8fb6xvPpNMnz",
	"max_tokens=1024 temperature=0.2 top_p=0.9 token_count=17",
	"ls -la /home/user/projects && cd src && make -j4",
	"docker run -u 1000:1000 -p 8080:80 nginx:1.27",
	"SELECT id, name FROM users WHERE created_at > '2026-01-01' LIMIT 10;",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"Bearer tokens are described in RFC 6750; basic authentication in RFC 7617.",
	"mkdir -p build && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release",
	"price: 12.50 EUR, qty: 3, sku: ABC-12345-XYZ",
	"Héllo wörld, こんにちは, 🎉 emoji and ünïcödé text",
	/* code that names secrets without holding one */
	"const token = await getToken(); if (!token) return null;",
	"export PASSWORD=$DB_PASSWORD; password: ${{ secrets.DB_PASSWORD }}",
	"{\"token\": null, \"auth\": true, \"session\": {\"id\": 3}}",
	"pass the --token-file ~/.config/tok and --password-stdin flags",
};

static void test_innocent_text_is_unchanged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(innocent) / sizeof(innocent[0]); i++) {
		unsigned count = 0;
		size_t len;
		char *out = redact_text(R, innocent[i], strlen(innocent[i]), &len, &count);
		assert_non_null(out);
		if (count != 0 || strcmp(out, innocent[i]))
			fail_msg("over-redacted: %s\n          -> %s", innocent[i], out);
		free(out);
	}
}

static void test_innocent_arguments_are_unchanged(void **state)
{
	(void)state;
	const char *raw =
		"{\"max_tokens\":100,\"author\":\"Ada\",\"token_count\":5,"
		"\"sessionId\":\"abc-123\",\"path\":\"/tmp/x\",\"tokenizer\":\"bpe\","
		"\"password_file\":\"/run/secrets/db\",\"url\":\"https://example.com/a?b=c\","
		"\"query\":\"SELECT 1\",\"keys\":[\"Enter\",\"Tab\"],\"key\":\"ArrowUp\"}";
	json_t *ev = redact_arguments(R, raw, strlen(raw), 4096);
	assert_non_null(ev);
	assert_int_equal(json_integer_value(json_object_get(ev, "redactions")), 0);
	assert_false(json_is_true(json_object_get(ev, "truncated")));
	json_t *orig = json_loads(raw, 0, NULL);
	assert_true(json_equal(orig, json_object_get(ev, "redacted")));
	json_decref(orig);
	json_decref(ev);
}

static void test_secret_key_names(void **state)
{
	(void)state;
	static const char *const secret[] = {"token",
					     "githubToken",
					     "DB_PASSWORD",
					     "x-api-key",
					     "apiKey",
					     "api_key",
					     "APIKey",
					     "access_key",
					     "privateKey",
					     "client_secret",
					     "Authorization",
					     "cookie",
					     "Set-Cookie",
					     "session",
					     "credentials",
					     "credential",
					     "auth",
					     "X-Auth-Token",
					     "passwd",
					     "secret",
					     "refresh_token",
					     "githubtoken",
					     "AWS_SECRET_ACCESS_KEY",
					     "passphrase",
					     "jwt",
					     "mysql_root_password",
					     "oauth2Token",
					     "secrets"};
	static const char *const not_secret[] = {
		"max_tokens",	"author",	 "authority",	"tokenizer",   "token_count",
		"tokenType",	"password_file", "sessionId",	"session_id",  "auth_url",
		"key",		"keys",		 "monkey",	"description", "secretary",
		"passwordless", "tokens",	 "authored_by", "cookie_name", "token_limit",
		"api",		"access",	 "private",	"sessions"};
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!redact_key_looks_secret(secret[i], strlen(secret[i])))
			fail_msg("%s should look secret", secret[i]);
	for (size_t i = 0; i < sizeof(not_secret) / sizeof(not_secret[0]); i++)
		if (redact_key_looks_secret(not_secret[i], strlen(not_secret[i])))
			fail_msg("%s should not look secret", not_secret[i]);
}

/* ---- what the output looks like ----------------------------------------------------------- */

static void expect_text(const char *in, const char *want, unsigned want_count)
{
	unsigned count = 0;
	char *out = redact_text(R, in, strlen(in), NULL, &count);
	assert_non_null(out);
	if (strcmp(out, want) || count != want_count)
		fail_msg("redact_text(%s)\n  got  [%u] %s\n  want [%u] %s", in, count, out,
			 want_count, want);
	free(out);
}

static void test_context_is_kept(void **state)
{
	(void)state;
	expect_text("postgres://admin:pw0rd@db:5432/app",
		    "postgres://admin:[REDACTED:database-url-password]@db:5432/app", 1);
	expect_text("https://deploy:s3cret@example.com/x",
		    "https://deploy:[REDACTED:url-password]@example.com/x", 1);
	expect_text("password=hunter2 user=bob", "password=[REDACTED:secret-assignment] user=bob",
		    1);
	expect_text("{\"api_key\": \"abc def\"}", "{\"api_key\": \"[REDACTED:secret-assignment]\"}",
		    1);
	expect_text("Authorization: Bearer abcdef0123456789",
		    "Authorization: Bearer [REDACTED:authorization-header]", 1);
	expect_text("a AKIAIOSFODNN7EXAMPLE b AKIAIOSFODNN7EXAMPLE",
		    "a [REDACTED:aws-access-key-id] b [REDACTED:aws-access-key-id]", 2);
	expect_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
		    "-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----",
		    1);
	/* one placeholder per secret even when several rules see it */
	expect_text("GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz",
		    "GITHUB_TOKEN=[REDACTED:github-token]", 1);
	/* a (*MARK) names the placeholder */
	expect_text("key pul-0123456789abcdef0123456789abcdef01234567",
		    "key [REDACTED:pulumi-token]", 1);
	/* count adds up */
	unsigned count = 5;
	char *out = redact_text(R, "token=a token=b", 15, NULL, &count);
	assert_int_equal(count, 7);
	free(out);
}

static void test_json_redaction_shape(void **state)
{
	(void)state;
	json_t *doc = json_loads("{\"env\":{\"API_TOKEN\":{\"a\":1},\"HOME\":\"/root\"},"
				 "\"argv\":[\"--password\",\"pw1234\",\"AKIAIOSFODNN7EXAMPLE\"],"
				 "\"AKIAIOSFODNN7EXAMPLE\":1,\"[REDACTED:aws-access-key-id]\":2}",
				 0, NULL);
	assert_non_null(doc);
	unsigned n = redact_json(R, doc);
	assert_int_equal(n, 3);
	json_t *want = json_loads(
		"{\"env\":{\"API_TOKEN\":\"[REDACTED:key]\",\"HOME\":\"/root\"},"
		"\"argv\":[\"--password\",\"pw1234\",\"[REDACTED:aws-access-key-id]\"],"
		"\"[REDACTED:aws-access-key-id]~2\":1,\"[REDACTED:aws-access-key-id]\":2}",
		0, NULL);
	if (!json_equal(doc, want)) {
		char *got = json_dumps(doc, JSON_COMPACT);
		fail_msg("got %s", got);
	}
	json_decref(want);
	json_decref(doc);

	/* name/value pairs: HTTP headers, Kubernetes env */
	doc = json_loads("{\"headers\":[{\"name\":\"X-Api-Key\",\"value\":\"k-123\"},"
			 "{\"name\":\"Accept\",\"value\":\"text/html\"}],"
			 "\"env\":[{\"key\":\"DB_PASSWORD\",\"value\":{\"secretRef\":\"x\"}}]}",
			 0, NULL);
	assert_non_null(doc);
	assert_int_equal(redact_json(R, doc), 2);
	want = json_loads("{\"headers\":[{\"name\":\"X-Api-Key\",\"value\":\"[REDACTED:key]\"},"
			  "{\"name\":\"Accept\",\"value\":\"text/html\"}],"
			  "\"env\":[{\"key\":\"DB_PASSWORD\",\"value\":\"[REDACTED:key]\"}]}",
			  0, NULL);
	assert_true(json_equal(doc, want));
	json_decref(want);
	json_decref(doc);
}

static void test_invalid_json_arguments(void **state)
{
	(void)state;
	const char *raw =
		"{\"password\": \"hunter2\", \"auth\": {\"user\": \"a\", \"pass\": \"xyzzy\"},"
		" \"note\": \"ok\", \"cfg\": \"{\\\"token\\\": \\\"tok-9876\\\"}\", \"x\": \"";
	json_t *ev = redact_arguments(R, raw, strlen(raw), 4096);
	assert_non_null(ev);
	const char *red = json_string_value(json_object_get(ev, "redacted"));
	assert_non_null(red);
	assert_null(strstr(red, "hunter2"));
	assert_null(strstr(red, "xyzzy"));
	assert_null(strstr(red, "tok-9876"));
	assert_non_null(strstr(red, "\"note\": \"ok\""));
	assert_non_null(strstr(red, "\"password\": \"[REDACTED:key]\""));
	assert_int_equal(json_integer_value(json_object_get(ev, "redactions")), 3);
	assert_false(json_is_true(json_object_get(ev, "truncated")));
	json_decref(ev);

	/* empty and NULL arguments */
	ev = redact_arguments(R, "", 0, 64);
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "redacted")), "");
	assert_string_equal(json_string_value(json_object_get(ev, "sha256")),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	json_decref(ev);
}

/* ---- extra rules ---------------------------------------------------------------------------- */

static void test_extra_rules(void **state)
{
	(void)state;
	char err[256];
	struct redact_rule_spec bad[] = {
		{"employee-id", "EMP-[0-9]{6}", NULL},
		{"acme", "acme_(unclosed[a-z]+", NULL},
	};
	assert_null(redactor_new(bad, 2, err, sizeof(err)));
	printf("invalid rule: %s\n", err);
	assert_non_null(strstr(err, "\"acme\""));
	assert_non_null(strstr(err, "extra[1]"));
	assert_non_null(strstr(err, "offset"));
	assert_non_null(strstr(err, "missing closing parenthesis"));

	struct redact_rule_spec badname[] = {{"has space", "x", NULL}};
	assert_null(redactor_new(badname, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "name must be"));
	struct redact_rule_spec nopattern[] = {{"empty", "", NULL}};
	assert_null(redactor_new(nopattern, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "pattern is missing"));

	struct redact_rule_spec good[] = {
		{"employee-id", "EMP-[0-9]{6}", NULL},
		{"ticket", "(?i)ticket #\\K[0-9]+", "#"},
		{"empty-matcher", "x*", NULL}, /* empty matches are skipped, not looped on */
		/* (*MARK:label) names the placeholder after the branch that matched */
		{"vendor-keys", "(?:(*MARK:acme-key)acme_[0-9]{8}|(*MARK:globex-key)gx-[a-z]{6})",
		 NULL},
	};
	struct redactor *r = redactor_new(good, 4, err, sizeof(err));
	assert_non_null(r);
	unsigned count = 0;
	const char *in = "EMP-123456 filed Ticket #42 with AKIAIOSFODNN7EXAMPLE, acme_12345678 "
			 "and gx-abcdef";
	char *out = redact_text(r, in, strlen(in), NULL, &count);
	assert_string_equal(out, "[REDACTED:employee-id] filed Ticket ## with "
				 "[REDACTED:aws-access-key-id], [REDACTED:acme-key] and "
				 "[REDACTED:globex-key]");
	assert_int_equal(count, 5);
	free(out);
	redactor_free(r);
	redactor_free(NULL);
}

/* ---- UTF-8 ------------------------------------------------------------------------------------
 */

static void test_utf8_around_secrets(void **state)
{
	(void)state;
	const char *in = "clé: ☃ ghp_0123456789abcdefghijklmnopqrstuvwxyz→日本 "
			 "mot_de_passe=été password=pässwörd🎉 fin";
	unsigned count = 0;
	size_t len;
	char *out = redact_text(R, in, strlen(in), &len, &count);
	assert_non_null(out);
	assert_true(utf8_valid(out, len));
	assert_string_equal(out, "clé: ☃ [REDACTED:github-token]→日本 mot_de_passe=été "
				 "password=[REDACTED:secret-assignment] fin");
	free(out);

	/* invalid input bytes stay as they are, secrets next to them still go */
	const char bad[] = "\xff\xfe token=abc\xc3 AKIAIOSFODNN7EXAMPLE\x80";
	out = redact_text(R, bad, sizeof(bad) - 1, &len, &count);
	assert_non_null(out);
	assert_null(memmem(out, len, "AKIAIOSFODNN7EXAMPLE", 20));
	assert_null(memmem(out, len, "abc", 3));
	free(out);

	/* previews never cut a character, whatever the cap */
	json_t *args = json_pack("{s:s}", "text",
				 "日本語のテキスト🎉🎉 ghp_0123456789abcdefghijklmnopqrstuvwxyz ëëë");
	char *raw = json_dumps(args, JSON_COMPACT);
	for (size_t cap = 0; cap < 140; cap++) {
		json_t *ev = redact_arguments(R, raw, strlen(raw), cap);
		assert_non_null(ev);
		json_t *red = json_object_get(ev, "redacted");
		assert_true(serialized_len(red) <= (cap > 2 ? cap : 2));
		if (json_is_string(red))
			assert_true(utf8_valid(json_string_value(red), json_string_length(red)));
		assert_json_has_no_secret(ev, "ghp_0123456789abcdefghijklmnopqrstuvwxyz", "utf8",
					  "preview");
		json_decref(ev);
	}
	/* and invalid UTF-8 in invalid JSON becomes U+FFFD */
	const char rawbad[] = "{\"a\": \"\xff\xc3(\"";
	json_t *ev = redact_arguments(R, rawbad, sizeof(rawbad) - 1, 100);
	assert_non_null(ev);
	json_t *red = json_object_get(ev, "redacted");
	assert_string_equal(json_string_value(red), "{\"a\": \"\xEF\xBF\xBD\xEF\xBF\xBD(\"");
	json_decref(ev);
	free(raw);
	json_decref(args);
}

/* ---- size and depth ------------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_huge_input(void **state)
{
	(void)state;
	static const char *const filler[] = {
		"2026-01-01T10:00:00Z INFO request served in 12ms path=/api/v1/items status=200\n",
		"The tool lists files in the workspace, then reads README.md and summarizes it.\n",
		"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/"
		"call\",\"params\":{\"name\":\"ls\"}}\n",
		"commit 9fceb02d0ae598e95dc970b74767f19372d61af8 Merge branch 'main' of github\n",
		"see https://example.com/docs?page=2 and 123e4567-e89b-12d3-a456-426614174000\n",
		"    for (size_t i = 0; i < n; i++) total += weights[i] * values[i];\n",
		"Grüße aus Köln — 東京タワー 🗼 naïve café résumé\n",
	};
	const size_t target = 10u << 20;
	struct strbuf text = STRBUF_INIT;
	size_t line = 0, planted = 0;
	while (text.len < target) {
		if (line % 64 == 63) { /* a secret every ~4.5 KB */
			size_t e = planted++ % json_array_size(corpus);
			assert_true(strbuf_append_str(&text, entry_str(e, "text")));
			assert_true(strbuf_append_str(&text, "\n"));
		} else {
			assert_true(strbuf_append_str(&text, filler[line % 7]));
		}
		line++;
	}
	unsigned count = 0;
	size_t len;
	double t0 = now_s();
	char *out = redact_text(R, text.data, text.len, &len, &count);
	double dt = now_s() - t0;
	assert_non_null(out);
	printf("redact_text throughput: %.1f MB in %.3f s = %.1f MB/s (%u redactions, %zu secrets "
	       "planted)\n",
	       (double)text.len / 1e6, dt, (double)text.len / 1e6 / dt, count, planted);
	assert_true(count >= planted);
	assert_true(len > text.len / 2); /* nothing failed closed on the whole text */
	for (size_t e = 0; e < json_array_size(corpus) && e < planted; e++)
		assert_no_secret(out, len, entry_str(e, "secret"), entry_str(e, "kind"),
				 "10 MB of text");
	free(out);

	/* the same text as one huge JSON string argument, valid and cut short */
	json_t *args = json_pack("{s:s%}", "blob", text.data, text.len);
	char *raw = json_dumps(args, JSON_COMPACT);
	assert_non_null(raw);
	t0 = now_s();
	json_t *ev = redact_arguments(R, raw, strlen(raw), 4096);
	printf("redact_arguments on %.1f MB of JSON: %.3f s\n", (double)strlen(raw) / 1e6,
	       now_s() - t0);
	assert_non_null(ev);
	assert_true(json_is_true(json_object_get(ev, "truncated")));
	assert_true(serialized_len(json_object_get(ev, "redacted")) <= 4096);
	json_decref(ev);
	ev = redact_arguments(R, raw, strlen(raw) - 10, 4096);
	assert_non_null(ev);
	assert_true(json_integer_value(json_object_get(ev, "redactions")) >= (json_int_t)planted);
	json_decref(ev);
	free(raw);
	json_decref(args);

	/* one 10 MB token-like run: the rules must not blow their stacks on it */
	memset(text.data, 'a', text.len);
	memcpy(text.data, "password=\"", 10);
	count = 0;
	out = redact_text(R, text.data, text.len, &len, &count);
	assert_non_null(out);
	assert_int_equal(count, 1);
	assert_string_equal(out, "password=\"[REDACTED:secret-assignment]");
	free(out);
	strbuf_free(&text);
}

static void test_deep_json(void **state)
{
	(void)state;
	const char *secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
	const int depth = 10000;
	/* built from the inside out: [[[ ... ["ghp_..."] ... ]]] and objects in between */
	json_t *v = json_pack("[s]", secret);
	for (int i = 1; i < depth; i++) {
		json_t *outer = (i % 2) ? json_pack("{s:o}", "d", v) : json_pack("[o]", v);
		assert_non_null(outer);
		v = outer;
	}
	unsigned n = redact_json(R, v);
	assert_true(n >= 1);
	assert_json_has_no_secret(v, secret, "deep", "redact_json");
	json_decref(v);

	/* the same as raw text, valid for nothing (jansson stops at 2048 levels) */
	struct strbuf raw = STRBUF_INIT;
	for (int i = 0; i < depth; i++)
		assert_true(strbuf_append_str(&raw, i % 2 ? "{\"k\":" : "["));
	assert_true(strbuf_printf(&raw, "\"%s\"", secret));
	for (int i = depth - 1; i >= 0; i--)
		assert_true(strbuf_append_str(&raw, i % 2 ? "}" : "]"));
	check_arguments(raw.data, raw.len, 1 << 20, secret, "deep", "raw deep JSON");
	check_arguments(raw.data, raw.len, 100, secret, "deep", "raw deep JSON, small cap");
	/* 300 levels parse: the part below REDACT_JSON_MAX_DEPTH is replaced */
	strbuf_reset(&raw);
	for (int i = 0; i < 300; i++)
		assert_true(strbuf_append_str(&raw, "["));
	assert_true(strbuf_append_str(&raw, "\"innocent\""));
	for (int i = 0; i < 300; i++)
		assert_true(strbuf_append_str(&raw, "]"));
	json_t *ev = redact_arguments(R, raw.data, raw.len, 1 << 20);
	assert_non_null(ev);
	assert_int_equal(json_integer_value(json_object_get(ev, "redactions")), 1);
	char *dump = json_dumps(ev, JSON_COMPACT);
	assert_non_null(strstr(dump, "\"[REDACTED:depth]\""));
	free(dump);
	json_decref(ev);
	strbuf_free(&raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_is_well_formed),
		cmocka_unit_test(test_corpus_free_text),
		cmocka_unit_test(test_corpus_json_values),
		cmocka_unit_test(test_corpus_arguments),
		cmocka_unit_test(test_innocent_text_is_unchanged),
		cmocka_unit_test(test_innocent_arguments_are_unchanged),
		cmocka_unit_test(test_secret_key_names),
		cmocka_unit_test(test_context_is_kept),
		cmocka_unit_test(test_json_redaction_shape),
		cmocka_unit_test(test_invalid_json_arguments),
		cmocka_unit_test(test_extra_rules),
		cmocka_unit_test(test_utf8_around_secrets),
		cmocka_unit_test(test_huge_input),
		cmocka_unit_test(test_deep_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
