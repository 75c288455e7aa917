/* fuzz_cimd: cimd_url_problem, cimd_validate_document and the no-network paths of cimd_lookup.
 *
 * The input is split at its first newline: the part before is a URL, the part after a document
 * body (an input without a newline is both). The URL is checked; the body is validated against it
 * and against a fixed valid URL; the URL is looked up in a cache with fetching off and in one with
 * fetching on and an empty allowlist, neither of which may touch the network.
 *
 * Checks: a URL accepted by cimd_url_problem starts with https://, has no '#', no '@' before its
 * path and a path other than "/"; problems are an array of non-empty strings; a document without
 * problems is an object whose client_id equals the URL and which has no secret; lookups give
 * "bad_url" exactly when the URL has a problem, else "disabled" / "not_allowed", never a fetch.
 */
#include "collector/cimd.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char FIXED_URL[] = "https://agent.acme.example/oauth/client.json";

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_cimd: invariant violated: %s\n", what);
	abort();
}

static void check_accepted_url(const char *url)
{
	if (strncasecmp(url, "https://", 8) != 0)
		fail("an accepted URL that is not https");
	if (strchr(url, '#'))
		fail("an accepted URL with a fragment");
	const char *path = url + 8 + strcspn(url + 8, "/?");
	if (memchr(url + 8, '@', (size_t)(path - (url + 8))))
		fail("an accepted URL with userinfo");
	if (path[0] != '/' || path[1] == '\0' || path[1] == '?')
		fail("an accepted URL without a path");
}

static void check_problems(const char *url, const char *body, size_t len)
{
	json_t *problems = cimd_validate_document(url, body, len);
	if (!json_is_array(problems))
		fail("problems are not an array");
	for (size_t i = 0; i < json_array_size(problems); i++) {
		json_t *p = json_array_get(problems, i);
		if (!json_is_string(p) || json_string_length(p) == 0)
			fail("a problem that is not a non-empty string");
	}
	if (json_array_size(problems) == 0) {
		json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		const char *id = json_string_value(json_object_get(doc, "client_id"));
		if (!json_is_object(doc) || !id || strcmp(id, url) != 0 ||
		    json_string_length(json_object_get(doc, "client_id")) != strlen(url))
			fail("a valid document whose client_id is not the URL");
		if (json_object_get(doc, "client_secret") ||
		    json_object_get(doc, "client_secret_expires_at"))
			fail("a valid document with a secret");
		json_decref(doc);
	}
	json_decref(problems);
}

static void check_lookup(struct cimd_cache *cache, const char *url, const char *want)
{
	json_t *r = cimd_lookup(cache, url, 0);
	const char *status = json_string_value(json_object_get(r, "status"));
	if (!status)
		fail("a lookup without a status");
	bool bad = cimd_url_problem(url) != NULL;
	if (strcmp(status, bad ? "bad_url" : want) != 0)
		fail("a lookup status that does not follow the URL check and configuration");
	if (json_is_true(json_object_get(r, "fetched")))
		fail("a lookup fetched without being allowed to");
	char *text = json_dumps(r, JSON_COMPACT);
	if (!text)
		fail("a lookup result that does not serialize");
	free(text);
	json_decref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cimd_cache *off, *none_allowed;
	if (!off) {
		struct cimd_config cfg;
		cimd_config_defaults(&cfg);
		off = cimd_cache_new(&cfg);
		cfg.enabled = true;
		none_allowed = cimd_cache_new(&cfg);
		if (!off || !none_allowed)
			abort();
	}
	const uint8_t *nl = memchr(data, '\n', size);
	size_t url_len = nl ? (size_t)(nl - data) : size;
	char *url = malloc(url_len + 1);
	/* an exact-size copy of the body, so ASan sees reads past it */
	size_t body_len = nl ? size - url_len - 1 : size;
	char *body = malloc(body_len ? body_len : 1);
	if (!url || !body)
		abort();
	memcpy(url, data, url_len);
	url[url_len] = '\0';
	memcpy(body, nl ? nl + 1 : data, body_len);

	if (!cimd_url_problem(url))
		check_accepted_url(url);
	check_problems(url, body, body_len);
	check_problems(FIXED_URL, body, body_len);
	check_lookup(off, url, "disabled");
	check_lookup(none_allowed, url, "not_allowed");
	free(url);
	free(body);
	return 0;
}
