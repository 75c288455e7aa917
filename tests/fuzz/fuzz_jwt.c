/* fuzz_jwt: token_identity_from_header on an arbitrary Authorization header value.
 *
 * The input is the header value, decoded twice: without a keyring and with a small fixed one
 * (RSA 2048, P-256 and Ed25519 public keys with kids "rsa", "ec", "ed", so tokens naming them
 * reach every verification path), then looked up twice in a two-entry cache.
 *
 * Checks: both decodes agree on whether there is a token, its kind and fingerprint (64 lowercase
 * hex digits) and, unless malformed, its claims; without a keyring a token is never verified or
 * rejected for its signature; an opaque token keeps nothing but its fingerprint; lists respect
 * their limits and are NULL-terminated; the JSON form exists and names the same verification; the
 * cache returns the same entry for the same token.
 */
#include "collector/jwt.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char JWKS[] =
	"{\"keys\":["
	"{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\"4J8U1cxa65z58XMvufNoz8OEEwg1yGry"
	"gxhaUVpY6RAHTWn59xoSdxfPZWwMn9devZ49MliWnOUg3lnOQV9cUpRjHJknNfHOGYC2PbBkuSVAK2ghFvcnoOG2"
	"bgjvVRWOVKhWbJcvv8GR7xD5IYC5qWdUTY0oeYL4CnCI6KLpjsP6lM-pHfPIgngbMQ0nXH1qfrbcDfzlx7MszOJ1"
	"c3A2VZ7TdEuhm9Q-YWfCb4-q77yxbmnaGCP1iv42G2UIVr3LM3itCG7O9DSVhYbpQlVT53B7An_GXkhFNSnSeeqD"
	"Zte2mx43oM555cmdBKeK7L1IX0T5Jh4d3nCfn62EtaQfcQ\"},"
	"{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\","
	"\"x\":\"5AJM-NCW4kGks8ezHKkONg04tylTLSVfDfn3lt4qd58\","
	"\"y\":\"HZmQUUSton7QVEgOj75SS2uzW0xb6opl7xwQEm9sdbU\"},"
	"{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\","
	"\"x\":\"QrtQw0KzD7BAD3wG5SFOJgT52uFTv8cw1iCUFBLsj5I\"}]}";

static const unsigned char FP_KEY[32] = "fuzz_jwt fingerprint key 32 byt";

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_jwt: invariant violated: %s\n", what);
	abort();
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_list(char **list, size_t n, size_t max, const char *what)
{
	if (n > max)
		fail(what);
	if (n && list[n] != NULL)
		fail(what);
	for (size_t i = 0; i < n; i++)
		if (!list[i])
			fail(what);
}

static void check_identity(const struct token_identity *id)
{
	if (strlen(id->fingerprint) != 64 || strspn(id->fingerprint, "0123456789abcdef") != 64)
		fail("fingerprint is not 64 lowercase hex digits");
	if (!id->verification_detail)
		fail("no verification detail");
	check_list(id->scopes, id->nscopes, JWT_MAX_LIST, "scopes");
	check_list(id->audience, id->naudience, JWT_MAX_LIST, "audience");
	check_list(id->actors, id->nactors, JWT_MAX_ACT_DEPTH, "actors");
	if (id->kind == TOKEN_OPAQUE || id->verification == TOKEN_MALFORMED) {
		if (id->iss || id->sub || id->client_id || id->jti || id->alg || id->nscopes ||
		    id->naudience || id->nactors || id->exp || id->klass != TOKEN_CLASS_UNKNOWN)
			fail("an opaque or malformed token kept claims");
	}
	if (id->kind == TOKEN_OPAQUE && id->verification != TOKEN_UNVERIFIED)
		fail("an opaque token has a verification result");
	if (id->client_id_is_cimd && (!id->client_id || strncasecmp(id->client_id, "https://", 8)))
		fail("a CIMD client_id that is not an https URL");
	json_t *j = token_identity_to_json(id);
	if (!j)
		fail("no JSON");
	const char *v = json_string_value(json_object_get(j, "verification"));
	if (!v || strcmp(v, token_verification_name(id->verification)) != 0)
		fail("JSON verification differs");
	char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		fail("JSON does not serialize");
	free(text);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwt_keyring *ring;
	if (!ring) {
		char err[256];
		ring = jwt_keyring_load_json(JWKS, sizeof(JWKS) - 1, err, sizeof(err));
		if (!ring || jwt_keyring_count(ring) != 3) {
			fprintf(stderr, "fuzz_jwt: fixed JWKS: %s\n", ring ? "not 3 keys" : err);
			abort();
		}
	}
	/* an exact-size copy, so ASan sees reads past the value */
	char *value = malloc(size ? size : 1);
	if (!value)
		abort();
	memcpy(value, data, size);

	struct token_identity plain, keyed;
	char err1[256] = "", err2[256] = "";
	int rc1 = token_identity_from_header(value, size, FP_KEY, NULL, &plain, err1, sizeof(err1));
	int rc2 = token_identity_from_header(value, size, FP_KEY, ring, &keyed, err2, sizeof(err2));
	if (rc1 != rc2)
		fail("a keyring changed whether there is a token");
	if (rc1 != 0) {
		if (!err1[0])
			fail("no error text");
		goto out;
	}
	check_identity(&plain);
	check_identity(&keyed);
	if (plain.kind != keyed.kind || strcmp(plain.fingerprint, keyed.fingerprint) != 0)
		fail("a keyring changed the kind or fingerprint");
	if (plain.verification != TOKEN_UNVERIFIED && plain.verification != TOKEN_MALFORMED)
		fail("a verification result without a keyring");
	if ((plain.verification == TOKEN_MALFORMED) != (keyed.verification == TOKEN_MALFORMED))
		fail("a keyring changed whether the token is malformed");
	if (keyed.kind == TOKEN_JWT && keyed.verification == TOKEN_UNVERIFIED)
		fail("a JWT left unverified with a keyring");
	if (!same_string(plain.iss, keyed.iss) || !same_string(plain.sub, keyed.sub) ||
	    !same_string(plain.client_id, keyed.client_id) || plain.nscopes != keyed.nscopes ||
	    plain.nactors != keyed.nactors || plain.klass != keyed.klass)
		fail("a keyring changed the claims");

	struct token_cache *cache = token_cache_new(2);
	if (!cache)
		abort();
	const struct token_identity *a =
		token_cache_lookup_or_decode(cache, value, size, FP_KEY, ring);
	const struct token_identity *b =
		token_cache_lookup_or_decode(cache, value, size, FP_KEY, ring);
	if (!a || a != b || strcmp(a->fingerprint, keyed.fingerprint) != 0 ||
	    a->verification != keyed.verification)
		fail("the cache disagrees with a direct decode");
	token_cache_free(cache);
out:
	token_identity_clear(&plain);
	token_identity_clear(&keyed);
	free(value);
	return 0;
}
