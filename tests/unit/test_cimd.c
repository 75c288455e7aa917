/* Unit tests for collector/cimd: URL rules, document validation, the private-address rule, and the
 * lookups that must never touch the network (disabled, bad URL, host not allowed, private literal).
 *
 * The fetch tests at the end run only when tests/integration/test_cimd_fetch.sh has started its
 * HTTPS server on 127.0.0.1 and set the environment below; otherwise they are skipped:
 *   MCPTRAIL_CIMD_TEST_URL        https://localhost:PORT, the server (certificate for localhost)
 *   MCPTRAIL_CIMD_TEST_CA         the CA that signed its certificate
 *   MCPTRAIL_CIMD_TEST_WRONG_CA   an unrelated CA
 *   MCPTRAIL_CIMD_TEST_MISMATCH_URL  https://localhost:PORT2, a certificate for other.example
 *   MCPTRAIL_CIMD_TEST_SILENT_PORT   a port on 127.0.0.1 that accepts and never answers
 * Only 127.0.0.1 and localhost are ever contacted. */
#include "collector/cimd.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static const char URL[] = "https://agent.acme.example/oauth/client.json";

/* ---- URL rules ---- */

static void test_url_problem(void **state)
{
	(void)state;
	static const char *const good[] = {
		"https://agent.acme.example/oauth/client.json",
		"https://agent.example:8443/client",
		"https://agent.example/client?v=1",
		"HTTPS://agent.example/a/b/",
		"https://[2001:db8::1]:443/client",
		"https://127.0.0.1/client",
		"https://agent.example/a/.well-known/x",
		"https://agent.example/a/...",
		"https://agent.example/%2e%2e%2e/x",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		const char *p = cimd_url_problem(good[i]);
		if (p)
			fail_msg("%s: %s", good[i], p);
	}
	static const struct {
		const char *url, *reason;
	} bad[] = {
		{"", "empty"},
		{"http://agent.example/client.json", "https"},
		{"my-client-id", "https"},
		{"https://agent.example", "path"},
		{"https://agent.example/", "path"},
		{"https://agent.example/?x=1", "path"},
		{"https://agent.example?x=1", "path"},
		{"https://agent.example/client.json#frag", "fragment"},
		{"https://agent.example/client.json#", "fragment"},
		{"https://user@agent.example/client.json", "userinfo"},
		{"https://user:pw@agent.example/client.json", "userinfo"},
		{"https://agent.example/a/./client.json", "segment"},
		{"https://agent.example/a/../client.json", "segment"},
		{"https://agent.example/a/%2E%2e/client.json", "segment"},
		{"https://agent.example/a/%2e/client.json", "segment"},
		{"https://agent.example/a/..", "segment"},
		{"https://agent.example/./", "segment"},
		{"https:///client.json", "host"},
		{"https://:443/client.json", "host"},
		{"https://agent.example:https/client.json", "port"},
		{"https://agent.example:0/client.json", "port"},
		{"https://agent.example:65536/client.json", "port"},
		{"https://agent.example:/client.json", "port"},
		{"https://[::1/client.json", "IPv6"},
		{"https://[not-ip]/client.json", "IPv6"},
		{"https://[::1]x/client.json", "port"},
		{"https://agent%2eexample/client.json", "host name"},
		{"https://agent.example/a b", "space"},
		{"https://agent.example/a\\b", "backslash"},
		{"https://agent.example/caf\xc3\xa9", "non-ASCII"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const char *p = cimd_url_problem(bad[i].url);
		if (!p)
			fail_msg("%s: accepted", bad[i].url);
		if (!strstr(p, bad[i].reason))
			fail_msg("%s: \"%s\" does not say %s", bad[i].url, p, bad[i].reason);
	}
	assert_non_null(cimd_url_problem(NULL));
}

/* ---- document validation ---- */

/* The problems for body as one string joined by " | ", for assertions; "" when valid. */
static char *problems_of(const char *url, const char *body, size_t len)
{
	json_t *problems = cimd_validate_document(url, body, len);
	assert_non_null(problems);
	assert_true(json_is_array(problems));
	size_t total = 1;
	for (size_t i = 0; i < json_array_size(problems); i++) {
		assert_true(json_is_string(json_array_get(problems, i)));
		total += json_string_length(json_array_get(problems, i)) + 3;
	}
	char *out = calloc(1, total);
	assert_non_null(out);
	for (size_t i = 0; i < json_array_size(problems); i++) {
		if (i)
			strcat(out, " | ");
		strcat(out, json_string_value(json_array_get(problems, i)));
	}
	json_decref(problems);
	return out;
}

static char *problems_of_str(const char *url, const char *body)
{
	return problems_of(url, body, strlen(body));
}

/* A valid document for URL with one member replaced (value NULL: removed), as text. */
static char *document_with(const char *name, json_t *value)
{
	json_t *doc =
		json_pack("{s:s, s:s, s:[s], s:[s], s:s}", "client_id", URL, "client_name",
			  "Acme Agent", "redirect_uris", "http://127.0.0.1:33418/cb", "grant_types",
			  "authorization_code", "token_endpoint_auth_method", "none");
	assert_non_null(doc);
	if (name && value)
		json_object_set_new(doc, name, value);
	else if (name)
		json_object_del(doc, name);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

static void assert_problems(const char *name, json_t *value, const char *want)
{
	char *doc = document_with(name, value);
	char *p = problems_of_str(URL, doc);
	if (want == NULL && p[0])
		fail_msg("%s: unexpected problems: %s", doc, p);
	if (want && !strstr(p, want))
		fail_msg("%s: problems \"%s\" do not mention \"%s\"", doc, p, want);
	free(p);
	free(doc);
}

static void test_validate_valid(void **state)
{
	(void)state;
	assert_problems(NULL, NULL, NULL);
	/* the example from the reference, verbatim */
	char *p = problems_of_str(
		URL,
		"{\"client_id\":\"https://agent.acme.example/oauth/client.json\","
		"\"client_name\":\"Acme Agent\",\"redirect_uris\":[\"http://127.0.0.1:33418/cb\"],"
		"\"grant_types\":[\"authorization_code\"],\"token_endpoint_auth_method\":"
		"\"none\"}");
	assert_string_equal(p, "");
	free(p);
	assert_problems("token_endpoint_auth_method", json_string("private_key_jwt"), NULL);
	assert_problems("token_endpoint_auth_method", NULL, NULL);
	assert_problems("jwks_uri", json_string("https://agent.acme.example/jwks.json"), NULL);
}

static void test_validate_client_id(void **state)
{
	(void)state;
	assert_problems("client_id", json_string("https://agent.acme.example/oauth/client.json/"),
			"client_id: \"https://agent.acme.example/oauth/client.json/\" is not the "
			"document URL");
	assert_problems("client_id", json_string("https://other.example/oauth/client.json"),
			"client_id:");
	assert_problems("client_id", json_string("HTTPS://agent.acme.example/oauth/client.json"),
			"client_id:");
	assert_problems("client_id", json_string("https://agent.acme.example/oauth/client.jso"),
			"client_id:");
	assert_problems("client_id", NULL, "client_id: missing");
	assert_problems("client_id", json_integer(7),
			"client_id: expected a string, found a number");
	/* the same document checked against another URL */
	char *doc = document_with(NULL, NULL);
	char *p = problems_of_str("https://agent.acme.example/oauth/client.json?v=2", doc);
	assert_non_null(strstr(p, "client_id:"));
	free(p);
	free(doc);
}

static void test_validate_secret_auth_methods(void **state)
{
	(void)state;
	static const char *const methods[] = {"client_secret_basic", "client_secret_post",
					      "client_secret_jwt"};
	for (size_t i = 0; i < 3; i++) {
		char want[128];
		snprintf(want, sizeof(want), "token_endpoint_auth_method: \"%s\" is a secret-based",
			 methods[i]);
		assert_problems("token_endpoint_auth_method", json_string(methods[i]), want);
	}
	assert_problems("token_endpoint_auth_method", json_true(),
			"token_endpoint_auth_method: expected a string");
}

static void test_validate_client_secret(void **state)
{
	(void)state;
	assert_problems("client_secret", json_string("s3cret"),
			"client_secret: must not be present");
	assert_problems("client_secret", json_null(), "client_secret: must not be present");
	assert_problems("client_secret_expires_at", json_integer(0),
			"client_secret_expires_at: must not be present");
}

static void test_validate_required_members(void **state)
{
	(void)state;
	assert_problems("redirect_uris", NULL, "redirect_uris: missing");
	assert_problems("redirect_uris", json_array(), "redirect_uris: expected a non-empty array");
	assert_problems("redirect_uris", json_string("http://127.0.0.1/cb"),
			"redirect_uris: expected a non-empty array of strings, found a string");
	assert_problems("redirect_uris", json_pack("[s, i]", "http://127.0.0.1/cb", 3),
			"redirect_uris[1]: expected a string");
	assert_problems("client_name", NULL, "client_name: missing");
	assert_problems("client_name", json_object(), "client_name: expected a string");
}

static void test_validate_not_an_object(void **state)
{
	(void)state;
	static const struct {
		const char *body, *want;
	} cases[] = {
		{"[]", "not a JSON object (an array)"},
		{"\"https://agent.acme.example/oauth/client.json\"",
		 "not a JSON object (a string)"},
		{"null", "not a JSON object (null)"},
		{"42", "not a JSON object (a number)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *p = problems_of_str(URL, cases[i].body);
		assert_string_equal(p, cases[i].want);
		free(p);
	}
}

static void test_validate_invalid_json(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"",
		"{",
		"{\"client_id\":",
		"<html>not found</html>",
		"{\"client_id\":\"a\",\"client_id\":\"b\"}", /* duplicates could hide a member */
		"{\"client_name\":\"\xff\"}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		char *p = problems_of_str(URL, bodies[i]);
		if (strncmp(p, "not valid JSON: ", 16) != 0)
			fail_msg("%s: %s", bodies[i], p);
		free(p);
	}
	/* an embedded NUL ends nothing early: the length is the body */
	char *p = problems_of(URL, "{}\0{}", 5);
	assert_non_null(strstr(p, "not valid JSON"));
	free(p);
	p = problems_of(URL, NULL, 0);
	assert_non_null(strstr(p, "not valid JSON"));
	free(p);
}

/* ---- the private-address rule (classification only: nothing here connects) ---- */

static void test_private_addresses(void **state)
{
	(void)state;
	static const char *const private_ips[] = {
		"127.0.0.1",
		"127.255.255.254",
		"::1",
		"10.0.0.1",
		"10.255.255.255",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"169.254.169.254",
		"100.64.0.1",
		"100.127.255.254",
		"0.0.0.0",
		"0.1.2.3",
		"::",
		"fc00::1",
		"fd12:3456::1",
		"fe80::1",
		"febf::1",
		"::ffff:127.0.0.1",
		"::ffff:10.1.2.3",
		"::ffff:169.254.169.254",
		"64:ff9b::7f00:1",
		"2002:7f00:1::1",
		"224.0.0.1",
		"255.255.255.255",
		"192.0.2.1",
		"2001:db8::1",
		"ff02::1",
		"::127.0.0.1",
		"198.18.0.1",
		"2001::1",
	};
	for (size_t i = 0; i < sizeof(private_ips) / sizeof(*private_ips); i++)
		if (cimd_ip_literal_is_private(private_ips[i]) != 1)
			fail_msg("%s: not classified private", private_ips[i]);
	static const char *const public_ips[] = {
		"8.8.8.8",	   "1.1.1.1",	      "172.15.255.255",
		"172.32.0.1",	   "100.63.255.255",  "100.128.0.1",
		"169.253.0.1",	   "192.169.0.1",     "2001:4860:4860::8888",
		"::ffff:8.8.8.8",  "2606:4700::1111", "64:ff9b::808:808",
		"2002:808:808::1",
	};
	for (size_t i = 0; i < sizeof(public_ips) / sizeof(*public_ips); i++)
		if (cimd_ip_literal_is_private(public_ips[i]) != 0)
			fail_msg("%s: not classified public", public_ips[i]);
	assert_int_equal(cimd_ip_literal_is_private("localhost"), -1);
	assert_int_equal(cimd_ip_literal_is_private("[::1]"), -1);
	assert_int_equal(cimd_ip_literal_is_private(""), -1);
	assert_int_equal(cimd_ip_literal_is_private(NULL), -1);

	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	assert_true(cimd_address_is_private((struct sockaddr *)&in));
	inet_pton(AF_INET, "8.8.8.8", &in.sin_addr);
	assert_false(cimd_address_is_private((struct sockaddr *)&in));
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:192.168.0.1", &in6.sin6_addr);
	assert_true(cimd_address_is_private((struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2001:4860:4860::8888", &in6.sin6_addr);
	assert_false(cimd_address_is_private((struct sockaddr *)&in6));
	struct sockaddr other = {.sa_family = AF_UNIX};
	assert_true(cimd_address_is_private(&other));
}

/* ---- lookups that never reach the network ---- */

static const char *status_of(const json_t *result)
{
	return json_string_value(json_object_get(result, "status"));
}

static void assert_result_shape(const json_t *r)
{
	static const char *const members[] = {
		"url",	       "fetched",  "status",	  "detail",  "sha256",
		"http_status", "problems", "client_name", "changed", "previous_sha256"};
	assert_true(json_is_object(r));
	for (size_t i = 0; i < sizeof(members) / sizeof(*members); i++)
		if (!json_object_get(r, members[i]))
			fail_msg("result has no %s", members[i]);
	assert_int_equal(json_object_size(r), sizeof(members) / sizeof(*members));
	assert_true(json_is_string(json_object_get(r, "detail")));
	assert_true(json_is_array(json_object_get(r, "problems")));
	char *text = json_dumps(r, JSON_COMPACT);
	assert_non_null(text);
	free(text);
}

/* A result that did not fetch: no hash, no status code, nothing changed. */
static void assert_no_fetch(const json_t *r, const char *status)
{
	assert_result_shape(r);
	assert_string_equal(status_of(r), status);
	assert_false(json_is_true(json_object_get(r, "fetched")));
	assert_true(json_is_null(json_object_get(r, "sha256")));
	assert_true(json_is_null(json_object_get(r, "http_status")));
	assert_true(json_is_null(json_object_get(r, "previous_sha256")));
	assert_false(json_is_true(json_object_get(r, "changed")));
	assert_int_equal(json_array_size(json_object_get(r, "problems")), 0);
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct cimd_config cfg;
	memset(&cfg, 0xab, sizeof(cfg));
	cimd_config_defaults(&cfg);
	assert_false(cfg.enabled);
	assert_null(cfg.allow_hosts);
	assert_int_equal(cfg.nallow, 0);
	assert_false(cfg.allow_private);
	assert_int_equal(cfg.max_bytes, 64 * 1024);
	assert_int_equal(cfg.timeout_ms, 5000);
	assert_null(cfg.ca_file);
	assert_int_equal(cfg.cache_ttl_s, 3600);
	cimd_cache_free(NULL);
}

static void test_disabled_never_fetches(void **state)
{
	(void)state;
	/* .invalid never resolves (RFC 6761): a fetch attempt would give fetch_failed */
	static const char *const hosts[] = {"cimd-unit.invalid"};
	struct cimd_config cfg;
	cimd_config_defaults(&cfg);
	cfg.allow_hosts = hosts;
	cfg.nallow = 1;
	struct cimd_cache *cache = cimd_cache_new(&cfg);
	assert_non_null(cache);
	json_t *r = cimd_lookup(cache, "https://cimd-unit.invalid/client.json", 100);
	assert_no_fetch(r, "disabled");
	assert_string_equal(json_string_value(json_object_get(r, "url")),
			    "https://cimd-unit.invalid/client.json");
	json_decref(r);
	/* the URL is still checked, with its reason */
	r = cimd_lookup(cache, "https://cimd-unit.invalid/client.json#x", 100);
	assert_no_fetch(r, "bad_url");
	assert_non_null(strstr(json_string_value(json_object_get(r, "detail")), "fragment"));
	json_decref(r);
	cimd_cache_free(cache);

	cache = cimd_cache_new(NULL); /* the defaults: off */
	r = cimd_lookup(cache, URL, 100);
	assert_no_fetch(r, "disabled");
	json_decref(r);
	assert_null(cimd_lookup(cache, NULL, 0));
	assert_null(cimd_lookup(NULL, URL, 0));
	cimd_cache_free(cache);
}

static void test_not_allowed_never_fetches(void **state)
{
	(void)state;
	static const char *const hosts[] = {"agent.acme.example", "[FE80::1]"};
	struct cimd_config cfg;
	cimd_config_defaults(&cfg);
	cfg.enabled = true;
	cfg.allow_hosts = hosts;
	cfg.nallow = 2;
	struct cimd_cache *cache = cimd_cache_new(&cfg);
	assert_non_null(cache);
	static const char *const urls[] = {
		"https://cimd-unit.invalid/client.json",
		"https://agent.acme.example.invalid/client.json",
		"https://acme.example/client.json",
		"https://127.0.0.1/client.json",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
		json_t *r = cimd_lookup(cache, urls[i], 100);
		assert_no_fetch(r, "not_allowed");
		assert_non_null(strstr(json_string_value(json_object_get(r, "detail")),
				       "not on the allowlist"));
		json_decref(r);
	}
	/* a non-UTF-8 URL is refused and still gives a result that serializes */
	json_t *r = cimd_lookup(cache, "https://agent.acme.example/\xff", 100);
	assert_no_fetch(r, "bad_url");
	json_decref(r);

	/* on the allowlist (case-insensitively, brackets or not) but a link-local literal: stopped
	 * by the address rule before any connection */
	r = cimd_lookup(cache, "https://[fe80::1]:9/client.json", 100);
	assert_result_shape(r);
	assert_string_equal(status_of(r), "private_address");
	assert_true(json_is_true(json_object_get(r, "fetched")));
	assert_true(json_is_null(json_object_get(r, "http_status")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "detail")), "fe80::1"));
	json_decref(r);
	cimd_cache_free(cache);
}

static void test_private_literal_never_connects(void **state)
{
	(void)state;
	static const char *const hosts[] = {"127.0.0.1", "10.1.2.3"};
	struct cimd_config cfg;
	cimd_config_defaults(&cfg);
	cfg.enabled = true;
	cfg.allow_hosts = hosts;
	cfg.nallow = 2;
	cfg.timeout_ms = 60000; /* a connection attempt to 10.1.2.3 would hang the test */
	cfg.cache_ttl_s = 10;
	struct cimd_cache *cache = cimd_cache_new(&cfg);
	assert_non_null(cache);
	for (int i = 0; i < 2; i++) {
		json_t *r = cimd_lookup(cache,
					i ? "https://10.1.2.3/client.json"
					  : "https://127.0.0.1:9/client.json",
					100);
		assert_result_shape(r);
		assert_string_equal(status_of(r), "private_address");
		assert_non_null(strstr(json_string_value(json_object_get(r, "detail")),
				       "allow_private is off"));
		json_decref(r);
	}
	/* cached within the TTL, then tried again */
	json_t *r = cimd_lookup(cache, "https://127.0.0.1:9/client.json", 105);
	assert_string_equal(status_of(r), "private_address");
	assert_false(json_is_true(json_object_get(r, "fetched")));
	json_decref(r);
	r = cimd_lookup(cache, "https://127.0.0.1:9/client.json", 110);
	assert_true(json_is_true(json_object_get(r, "fetched")));
	json_decref(r);
	cimd_cache_free(cache);
}

/* ---- fetches against the integration test's server on 127.0.0.1 ---- */

static const char *fetch_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static bool fetch_env_ready(void)
{
	return fetch_env("MCPTRAIL_CIMD_TEST_URL") && fetch_env("MCPTRAIL_CIMD_TEST_CA") &&
	       fetch_env("MCPTRAIL_CIMD_TEST_WRONG_CA") &&
	       fetch_env("MCPTRAIL_CIMD_TEST_MISMATCH_URL") &&
	       fetch_env("MCPTRAIL_CIMD_TEST_SILENT_PORT");
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!fetch_env_ready())                                                            \
			skip();                                                                    \
	} while (0)

static const char *const TEST_HOSTS[] = {"localhost", "127.0.0.1"};

static struct cimd_cache *test_cache(bool allow_private, const char *ca_env, size_t max_bytes,
				     int timeout_ms)
{
	struct cimd_config cfg;
	cimd_config_defaults(&cfg);
	cfg.enabled = true;
	cfg.allow_hosts = TEST_HOSTS;
	cfg.nallow = 2;
	cfg.allow_private = allow_private;
	cfg.ca_file = fetch_env(ca_env);
	cfg.cache_ttl_s = 60;
	if (max_bytes)
		cfg.max_bytes = max_bytes;
	if (timeout_ms)
		cfg.timeout_ms = timeout_ms;
	struct cimd_cache *cache = cimd_cache_new(&cfg);
	assert_non_null(cache);
	return cache;
}

static char *server_url(const char *base_env, const char *path)
{
	char *url = NULL;
	assert_true(asprintf(&url, "%s%s", fetch_env(base_env), path) > 0);
	return url;
}

static json_t *lookup_path(struct cimd_cache *cache, const char *path, int64_t now_s)
{
	char *url = server_url("MCPTRAIL_CIMD_TEST_URL", path);
	json_t *r = cimd_lookup(cache, url, now_s);
	assert_result_shape(r);
	print_message("%s -> %s: %s\n", url, status_of(r),
		      json_string_value(json_object_get(r, "detail")));
	free(url);
	return r;
}

static void assert_detail_has(const json_t *r, const char *want)
{
	const char *detail = json_string_value(json_object_get(r, "detail"));
	if (!strstr(detail, want))
		fail_msg("detail \"%s\" does not mention \"%s\"", detail, want);
}

static bool is_sha256(const json_t *v)
{
	const char *s = json_string_value(v);
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void assert_document(const json_t *r, const char *status)
{
	assert_string_equal(status_of(r), status);
	assert_true(json_is_true(json_object_get(r, "fetched")));
	assert_true(is_sha256(json_object_get(r, "sha256")));
	assert_int_equal(json_integer_value(json_object_get(r, "http_status")), 200);
}

static void test_fetch_valid(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 0, 0);
	json_t *r = lookup_path(cache, "/good.json", 1000);
	assert_document(r, "ok");
	assert_string_equal(json_string_value(json_object_get(r, "client_name")), "Good Agent");
	assert_false(json_is_true(json_object_get(r, "changed")));
	assert_true(json_is_null(json_object_get(r, "previous_sha256")));
	assert_int_equal(json_array_size(json_object_get(r, "problems")), 0);
	char sha[65];
	strcpy(sha, json_string_value(json_object_get(r, "sha256")));
	json_decref(r);

	/* within the TTL: from the cache */
	r = lookup_path(cache, "/good.json", 1059);
	assert_string_equal(status_of(r), "ok");
	assert_false(json_is_true(json_object_get(r, "fetched")));
	assert_string_equal(json_string_value(json_object_get(r, "sha256")), sha);
	json_decref(r);

	/* after it: fetched again, the same document, unchanged */
	r = lookup_path(cache, "/good.json", 1060);
	assert_document(r, "ok");
	assert_false(json_is_true(json_object_get(r, "changed")));
	assert_string_equal(json_string_value(json_object_get(r, "sha256")), sha);
	assert_string_equal(json_string_value(json_object_get(r, "previous_sha256")), sha);
	json_decref(r);

	/* chunked and close-delimited (with close_notify) bodies */
	r = lookup_path(cache, "/chunked.json", 1000);
	assert_document(r, "ok");
	json_decref(r);
	r = lookup_path(cache, "/close.json", 1000);
	assert_document(r, "ok");
	json_decref(r);
	cimd_cache_free(cache);
}

static void test_fetch_changed(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 0, 0);
	json_t *first = lookup_path(cache, "/changing.json", 2000);
	assert_document(first, "ok");
	assert_false(json_is_true(json_object_get(first, "changed")));
	const char *sha1 = json_string_value(json_object_get(first, "sha256"));

	json_t *cached = lookup_path(cache, "/changing.json", 2030);
	assert_false(json_is_true(json_object_get(cached, "fetched")));
	assert_false(json_is_true(json_object_get(cached, "changed")));
	assert_string_equal(json_string_value(json_object_get(cached, "sha256")), sha1);

	json_t *second = lookup_path(cache, "/changing.json", 2060);
	assert_document(second, "ok");
	assert_true(json_is_true(json_object_get(second, "changed")));
	assert_string_equal(json_string_value(json_object_get(second, "previous_sha256")), sha1);
	assert_string_not_equal(json_string_value(json_object_get(second, "sha256")), sha1);
	assert_string_not_equal(json_string_value(json_object_get(second, "client_name")),
				json_string_value(json_object_get(first, "client_name")));

	/* the change is reported once: the cached answer does not repeat it */
	json_t *again = lookup_path(cache, "/changing.json", 2061);
	assert_false(json_is_true(json_object_get(again, "changed")));
	json_decref(first);
	json_decref(cached);
	json_decref(second);
	json_decref(again);
	cimd_cache_free(cache);
}

static void test_fetch_invalid(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 0, 0);
	json_t *r = lookup_path(cache, "/invalid.json", 1000);
	assert_document(r, "invalid");
	json_t *problems = json_object_get(r, "problems");
	assert_int_equal(json_array_size(problems), 3);
	assert_non_null(strstr(json_string_value(json_array_get(problems, 0)), "client_id:"));
	assert_non_null(
		strstr(json_string_value(json_array_get(problems, 1)), "client_secret_basic"));
	assert_non_null(strstr(json_string_value(json_array_get(problems, 2)), "client_secret:"));
	assert_string_equal(json_string_value(json_object_get(r, "client_name")), "Bad Agent");
	json_decref(r);
	cimd_cache_free(cache);
}

static void test_fetch_certificate(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_WRONG_CA", 0, 0);
	json_t *r = lookup_path(cache, "/good.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_detail_has(r, "certificate");
	assert_true(json_is_null(json_object_get(r, "sha256")));
	assert_true(json_is_null(json_object_get(r, "http_status")));
	json_decref(r);
	cimd_cache_free(cache);

	/* a certificate from the right CA for another name */
	cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 0, 0);
	char *url = server_url("MCPTRAIL_CIMD_TEST_MISMATCH_URL", "/good.json");
	r = cimd_lookup(cache, url, 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_detail_has(r, "certificate");
	print_message("%s -> %s\n", url, json_string_value(json_object_get(r, "detail")));
	json_decref(r);
	free(url);
	cimd_cache_free(cache);

	/* a ca_file that is not there */
	struct cimd_config cfg;
	cimd_config_defaults(&cfg);
	cfg.enabled = true;
	cfg.allow_hosts = TEST_HOSTS;
	cfg.nallow = 2;
	cfg.allow_private = true;
	cfg.ca_file = "/nonexistent/cimd-ca.pem";
	cache = cimd_cache_new(&cfg);
	r = lookup_path(cache, "/good.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_detail_has(r, "/nonexistent/cimd-ca.pem");
	json_decref(r);
	cimd_cache_free(cache);
}

static void test_fetch_private_address(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(false, "MCPTRAIL_CIMD_TEST_CA", 0, 0);
	/* by name (localhost resolves to loopback) and by literal; the script checks that the
	 * server never saw /private.json */
	json_t *r = lookup_path(cache, "/private.json", 1000);
	assert_string_equal(status_of(r), "private_address");
	assert_true(json_is_null(json_object_get(r, "http_status")));
	json_decref(r);
	const char *base = fetch_env("MCPTRAIL_CIMD_TEST_URL");
	const char *port = strrchr(base, ':');
	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1%s/private.json", port);
	r = cimd_lookup(cache, url, 1000);
	assert_string_equal(status_of(r), "private_address");
	assert_detail_has(r, "127.0.0.1");
	json_decref(r);
	cimd_cache_free(cache);
}

static void test_fetch_too_large(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 1024, 0);
	static const char *const paths[] = {"/big.json", "/big-chunked.json", "/big-close.json"};
	for (size_t i = 0; i < 3; i++) {
		json_t *r = lookup_path(cache, paths[i], 1000);
		assert_string_equal(status_of(r), "too_large");
		assert_detail_has(r, "1024 bytes");
		assert_true(json_is_null(json_object_get(r, "sha256")));
		assert_int_equal(json_integer_value(json_object_get(r, "http_status")), 200);
		json_decref(r);
	}
	/* the valid document is under the limit */
	json_t *r = lookup_path(cache, "/good.json", 1000);
	assert_string_equal(status_of(r), "ok");
	json_decref(r);
	cimd_cache_free(cache);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_fetch_timeout(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 0, 1000);
	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%s/client.json",
		 fetch_env("MCPTRAIL_CIMD_TEST_SILENT_PORT"));
	int64_t start = monotonic_ms();
	json_t *r = cimd_lookup(cache, url, 1000);
	int64_t took = monotonic_ms() - start;
	print_message("%s -> %s in %lld ms: %s\n", url, status_of(r), (long long)took,
		      json_string_value(json_object_get(r, "detail")));
	assert_string_equal(status_of(r), "timeout");
	assert_detail_has(r, "1000 ms");
	assert_true(took >= 900 && took < 2500);
	json_decref(r);

	/* a server that sends its head and then stalls in the body */
	start = monotonic_ms();
	r = lookup_path(cache, "/stall.json", 1000);
	took = monotonic_ms() - start;
	assert_string_equal(status_of(r), "timeout");
	assert_true(took >= 900 && took < 2500);
	json_decref(r);
	cimd_cache_free(cache);
}

static void test_fetch_http_failures(void **state)
{
	(void)state;
	NEED_SERVER();
	struct cimd_cache *cache = test_cache(true, "MCPTRAIL_CIMD_TEST_CA", 0, 0);
	json_t *r = lookup_path(cache, "/redirect.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_int_equal(json_integer_value(json_object_get(r, "http_status")), 302);
	assert_detail_has(r, "redirect to /good.json is not followed");
	json_decref(r);

	r = lookup_path(cache, "/missing.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_int_equal(json_integer_value(json_object_get(r, "http_status")), 404);
	json_decref(r);

	/* close-delimited without close_notify: possibly truncated, not accepted */
	r = lookup_path(cache, "/truncated.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_detail_has(r, "close_notify");
	json_decref(r);

	/* a Content-Length longer than what is sent */
	r = lookup_path(cache, "/short.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_detail_has(r, "before the end of the body");
	json_decref(r);

	/* a refused connection: nothing listens on 127.0.0.1 port 9 (discard) here */
	struct cimd_config cfg;
	cimd_config_defaults(&cfg);
	cfg.enabled = true;
	cfg.allow_hosts = TEST_HOSTS;
	cfg.nallow = 2;
	cfg.allow_private = true;
	struct cimd_cache *plain = cimd_cache_new(&cfg);
	r = cimd_lookup(plain, "https://127.0.0.1:9/client.json", 1000);
	assert_string_equal(status_of(r), "fetch_failed");
	assert_detail_has(r, "connect to 127.0.0.1 port 9");
	json_decref(r);
	cimd_cache_free(plain);
	cimd_cache_free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_problem),
		cmocka_unit_test(test_validate_valid),
		cmocka_unit_test(test_validate_client_id),
		cmocka_unit_test(test_validate_secret_auth_methods),
		cmocka_unit_test(test_validate_client_secret),
		cmocka_unit_test(test_validate_required_members),
		cmocka_unit_test(test_validate_not_an_object),
		cmocka_unit_test(test_validate_invalid_json),
		cmocka_unit_test(test_private_addresses),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_disabled_never_fetches),
		cmocka_unit_test(test_not_allowed_never_fetches),
		cmocka_unit_test(test_private_literal_never_connects),
		cmocka_unit_test(test_fetch_valid),
		cmocka_unit_test(test_fetch_changed),
		cmocka_unit_test(test_fetch_invalid),
		cmocka_unit_test(test_fetch_certificate),
		cmocka_unit_test(test_fetch_private_address),
		cmocka_unit_test(test_fetch_too_large),
		cmocka_unit_test(test_fetch_timeout),
		cmocka_unit_test(test_fetch_http_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
