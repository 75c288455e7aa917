/* Unit tests for collector/jwt: fingerprints, claims, signature verification with keys generated
 * here (RSA 2048, P-256, Ed25519) and signed by a small signer in this file, the cache, and
 * hostile tokens. */
#include "collector/jwt.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <cmocka.h>

static const unsigned char FP_KEY[32] = {0,  1,	 2,  3,	 4,  5,	 6,  7,	 8,  9,	 10,
					 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
					 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* ---- a test-only JWS signer ---- */

static char *b64url(const unsigned char *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(len / 3 * 4 + 5);
	assert_non_null(out);
	size_t n = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
		out[n++] = alphabet[v >> 18];
		out[n++] = alphabet[(v >> 12) & 63];
		out[n++] = alphabet[(v >> 6) & 63];
		out[n++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		out[n++] = alphabet[data[i] >> 2];
		out[n++] = alphabet[(data[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)data[i] << 8 | data[i + 1];
		out[n++] = alphabet[v >> 10];
		out[n++] = alphabet[(v >> 4) & 63];
		out[n++] = alphabet[(v & 15) << 2];
	}
	out[n] = '\0';
	return out;
}

static char *b64url_str(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

/* The JWS signature of input: raw r || s for ES256, as RFC 7518 §3.4 wants. */
static unsigned char *sign(EVP_PKEY *pkey, const char *alg, const char *input, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *p = NULL;
	bool eddsa = strcmp(alg, "EdDSA") == 0;
	assert_int_equal(EVP_DigestSignInit(m, &p, eddsa ? NULL : EVP_sha256(), NULL, pkey), 1);
	if (strcmp(alg, "PS256") == 0) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(p, 32), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(p, EVP_sha256()), 1);
	}
	size_t len = 0;
	assert_int_equal(EVP_DigestSign(m, NULL, &len, (const unsigned char *)input, strlen(input)),
			 1);
	unsigned char *sig = malloc(len);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(m, sig, &len, (const unsigned char *)input, strlen(input)),
			 1);
	EVP_MD_CTX_free(m);
	if (strcmp(alg, "ES256") == 0) {
		const unsigned char *der = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)len);
		assert_non_null(es);
		const BIGNUM *r, *s;
		ECDSA_SIG_get0(es, &r, &s);
		unsigned char *raw = malloc(64);
		assert_non_null(raw);
		assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
		assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
		ECDSA_SIG_free(es);
		free(sig);
		sig = raw;
		len = 64;
	}
	*siglen = len;
	return sig;
}

static char *header_json(const char *alg, const char *kid, const char *typ)
{
	json_t *h = json_object();
	json_object_set_new(h, "alg", json_string(alg));
	if (kid)
		json_object_set_new(h, "kid", json_string(kid));
	if (typ)
		json_object_set_new(h, "typ", json_string(typ));
	char *s = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	return s;
}

/* header.payload.signature from the given JSON texts and raw signature bytes. */
static char *assemble(const char *header, const char *payload, const unsigned char *sig,
		      size_t siglen)
{
	char *h = b64url_str(header), *p = b64url_str(payload), *s = b64url(sig, siglen);
	char *token = NULL;
	assert_true(asprintf(&token, "%s.%s.%s", h, p, s) > 0);
	free(h);
	free(p);
	free(s);
	return token;
}

/* A signed token; corrupt flips a byte of the signature. */
static char *make_token(EVP_PKEY *pkey, const char *alg, const char *kid, const char *typ,
			const char *payload, bool corrupt)
{
	char *header = header_json(alg, kid, typ);
	char *h = b64url_str(header), *p = b64url_str(payload), *input = NULL;
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	size_t siglen;
	unsigned char *sig = sign(pkey, alg, input, &siglen);
	if (corrupt)
		sig[siglen / 2] ^= 0x01;
	char *token = assemble(header, payload, sig, siglen);
	free(header);
	free(h);
	free(p);
	free(input);
	free(sig);
	return token;
}

/* An unsigned-looking token for claim tests (no keyring: the signature is never checked). */
static char *claims_token(const char *typ, const char *payload)
{
	char *header = header_json("RS256", "rsa1", typ);
	char *token = assemble(header, payload, (const unsigned char *)"sig", 3);
	free(header);
	return token;
}

/* ---- keys and their JWKS ---- */

struct fixture {
	EVP_PKEY *rsa, *rsa2, *ec, *ed;
	struct jwt_keyring *ring;
	char *rsa_n; /* base64url modulus of rsa, the "secret" of the HS256 attack */
};

static char *bn_param(EVP_PKEY *pkey, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
	int len = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(BN_bn2binpad(bn, buf, len), len);
	char *s = b64url(buf, (size_t)len);
	free(buf);
	BN_free(bn);
	return s;
}

static json_t *jwk_rsa(EVP_PKEY *pkey, const char *kid, const char *alg)
{
	char *n = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0),
	     *e = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
	json_t *k = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "n", n, "e", e);
	if (alg)
		json_object_set_new(k, "alg", json_string(alg));
	free(n);
	free(e);
	return k;
}

static json_t *jwk_ec(EVP_PKEY *pkey, const char *kid)
{
	char *x = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32),
	     *y = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	json_t *k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "kid",
			      kid, "x", x, "y", y, "use", "sig");
	free(x);
	free(y);
	return k;
}

static json_t *jwk_ed25519(EVP_PKEY *pkey, const char *kid)
{
	unsigned char raw[32];
	size_t len = sizeof(raw);
	assert_int_equal(
		EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, raw, len, &len), 1);
	assert_int_equal(len, 32);
	char *x = b64url(raw, len);
	json_t *k = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "kid",
			      kid, "x", x, "alg", "EdDSA");
	free(x);
	return k;
}

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f->rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!f->rsa || !f->rsa2 || !f->ec || !f->ed)
		return -1;
	f->rsa_n = bn_param(f->rsa, OSSL_PKEY_PARAM_RSA_N, 0);
	json_t *keys = json_array();
	json_array_append_new(keys, jwk_rsa(f->rsa, "rsa1", "RS256"));
	json_array_append_new(keys, jwk_rsa(f->rsa, "rsa-pss", "PS256"));
	json_array_append_new(keys, jwk_rsa(f->rsa2, "rsa2", NULL));
	json_array_append_new(keys, jwk_ec(f->ec, "ec1"));
	json_array_append_new(keys, jwk_ed25519(f->ed, "ed1"));
	/* never used: a symmetric key, an unsupported curve, an encryption key */
	json_array_append_new(
		keys, json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "hmac", "k", "c2VjcmV0"));
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-384",
					      "x", "AA", "y", "AA"));
	json_t *enc = jwk_rsa(f->rsa2, "enc1", NULL);
	json_object_set_new(enc, "use", json_string("enc"));
	json_array_append_new(keys, enc);
	json_t *root = json_pack("{s:o}", "keys", keys);
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	char err[256] = "";
	f->ring = jwt_keyring_load_json(text, strlen(text), err, sizeof(err));
	free(text);
	if (!f->ring) {
		fprintf(stderr, "JWKS: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	jwt_keyring_free(f->ring);
	EVP_PKEY_free(f->rsa);
	EVP_PKEY_free(f->rsa2);
	EVP_PKEY_free(f->ec);
	EVP_PKEY_free(f->ed);
	free(f->rsa_n);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void decode(const char *value, const struct jwt_keyring *ring, struct token_identity *id)
{
	char err[256] = "";
	int rc = token_identity_from_header(value, strlen(value), FP_KEY, ring, id, err,
					    sizeof(err));
	if (rc != 0)
		fail_msg("token_identity_from_header: %s", err);
}

static enum token_verification verify(const char *token, const struct jwt_keyring *ring)
{
	struct token_identity id;
	decode(token, ring, &id);
	enum token_verification v = id.verification;
	assert_non_null(id.verification_detail);
	token_identity_clear(&id);
	return v;
}

static const char PAYLOAD[] =
	"{\"iss\":\"https://as.example\",\"sub\":\"alice\",\"client_id\":\"https://agent.example/"
	"client.json\",\"scope\":\"files:read files:write\",\"aud\":\"https://mcp.example/mcp\","
	"\"jti\":\"j-1\",\"exp\":1900000000,\"iat\":1800000000}";

static void assert_payload_claims(const struct token_identity *id)
{
	assert_int_equal(id->kind, TOKEN_JWT);
	assert_string_equal(id->iss, "https://as.example");
	assert_string_equal(id->sub, "alice");
	assert_string_equal(id->client_id, "https://agent.example/client.json");
	assert_true(id->client_id_is_cimd);
	assert_int_equal(id->nscopes, 2);
	assert_string_equal(id->scopes[0], "files:read");
	assert_string_equal(id->scopes[1], "files:write");
	assert_null(id->scopes[2]);
	assert_int_equal(id->naudience, 1);
	assert_string_equal(id->audience[0], "https://mcp.example/mcp");
	assert_string_equal(id->jti, "j-1");
	assert_int_equal(id->exp, 1900000000);
	assert_int_equal(id->iat, 1800000000);
	assert_int_equal(id->nbf, 0);
	assert_int_equal(id->klass, TOKEN_CLASS_ACCESS);
}

static void assert_malformed(const char *value, const char *detail_part)
{
	struct token_identity id;
	decode(value, NULL, &id);
	assert_int_equal(id.kind, TOKEN_JWT);
	assert_int_equal(id.verification, TOKEN_MALFORMED);
	assert_int_equal(strlen(id.fingerprint), 64);
	if (!strstr(id.verification_detail, detail_part))
		fail_msg("detail \"%s\" does not mention \"%s\"", id.verification_detail,
			 detail_part);
	assert_null(id.iss);
	assert_null(id.sub);
	assert_null(id.alg);
	assert_int_equal(id.nscopes, 0);
	assert_int_equal(id.klass, TOKEN_CLASS_UNKNOWN);
	json_t *j = token_identity_to_json(&id);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verification")), "malformed");
	json_decref(j);
	token_identity_clear(&id);
}

static void assert_no_token(const char *value, size_t len)
{
	struct token_identity id;
	char err[256] = "";
	assert_int_equal(
		token_identity_from_header(value, len, FP_KEY, NULL, &id, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_null(id.sub);
	token_identity_clear(&id);
}

/* ---- signature verification ---- */

static void test_verified_for_each_alg(void **state)
{
	struct fixture *f = *state;
	struct {
		EVP_PKEY *key;
		const char *alg, *kid;
	} cases[] = {{f->rsa, "RS256", "rsa1"},
		     {f->rsa, "PS256", "rsa-pss"},
		     {f->ec, "ES256", "ec1"},
		     {f->ed, "EdDSA", "ed1"}};
	assert_int_equal(jwt_keyring_count(f->ring), 5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *token = make_token(cases[i].key, cases[i].alg, cases[i].kid, "at+jwt",
					 PAYLOAD, false);
		char *header = NULL;
		assert_true(asprintf(&header, "Bearer %s", token) > 0);
		struct token_identity id;
		decode(header, f->ring, &id);
		if (id.verification != TOKEN_VERIFIED)
			fail_msg("%s: %s", cases[i].alg, id.verification_detail);
		assert_string_equal(id.alg, cases[i].alg);
		assert_string_equal(id.kid, cases[i].kid);
		assert_string_equal(id.typ, "at+jwt");
		assert_payload_claims(&id);
		token_identity_clear(&id);
		free(header);
		free(token);
	}
}

static void test_verified_without_kid_tries_fitting_keys(void **state)
{
	struct fixture *f = *state;
	/* rsa1 fits RS256 but is the wrong key, rsa-pss is PS256 only, rsa2 (no alg) is right */
	char *token = make_token(f->rsa2, "RS256", NULL, NULL, PAYLOAD, false);
	assert_int_equal(verify(token, f->ring), TOKEN_VERIFIED);
	free(token);
	token = make_token(f->ed, "EdDSA", NULL, NULL, PAYLOAD, false);
	assert_int_equal(verify(token, f->ring), TOKEN_VERIFIED);
	free(token);
	token = make_token(f->ec, "ES256", NULL, NULL, PAYLOAD, false);
	assert_int_equal(verify(token, f->ring), TOKEN_VERIFIED);
	free(token);
}

static void test_bad_signature(void **state)
{
	struct fixture *f = *state;
	struct {
		EVP_PKEY *key;
		const char *alg, *kid;
	} cases[] = {{f->rsa, "RS256", "rsa1"},
		     {f->rsa, "PS256", "rsa-pss"},
		     {f->ec, "ES256", "ec1"},
		     {f->ed, "EdDSA", "ed1"},
		     {f->ed, "EdDSA", NULL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *token =
			make_token(cases[i].key, cases[i].alg, cases[i].kid, NULL, PAYLOAD, true);
		struct token_identity id;
		decode(token, f->ring, &id);
		assert_int_equal(id.verification, TOKEN_BAD_SIGNATURE);
		assert_payload_claims(&id); /* what a forged token claims is still recorded */
		json_t *j = token_identity_to_json(&id);
		assert_false(json_is_true(json_object_get(j, "verified")));
		assert_string_equal(json_string_value(json_object_get(j, "verification")),
				    "bad_signature");
		json_decref(j);
		token_identity_clear(&id);
		free(token);
	}

	/* a good signature over other claims: swap in a payload claiming another subject */
	char *token = make_token(f->ec, "ES256", "ec1", NULL, PAYLOAD, false);
	char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
	char *forged_payload = b64url_str("{\"sub\":\"admin\"}"), *forged = NULL;
	assert_true(asprintf(&forged, "%.*s.%s%s", (int)(dot1 - token), token, forged_payload,
			     dot2) > 0);
	struct token_identity id;
	decode(forged, f->ring, &id);
	assert_int_equal(id.verification, TOKEN_BAD_SIGNATURE);
	assert_string_equal(id.sub, "admin");
	token_identity_clear(&id);
	free(forged);
	free(forged_payload);

	/* an ES256 signature that is not 64 bytes */
	char *header = header_json("ES256", "ec1", NULL);
	char *short_sig = assemble(header, PAYLOAD, (const unsigned char *)"0123456789", 10);
	assert_int_equal(verify(short_sig, f->ring), TOKEN_BAD_SIGNATURE);
	free(short_sig);
	free(header);
	free(token);
}

static void test_unknown_key(void **state)
{
	struct fixture *f = *state;
	char *token = make_token(f->rsa, "RS256", "no-such-kid", NULL, PAYLOAD, false);
	struct token_identity id;
	decode(token, f->ring, &id);
	assert_int_equal(id.verification, TOKEN_UNKNOWN_KEY);
	assert_string_equal(id.sub, "alice");
	token_identity_clear(&id);
	free(token);

	/* the right key material, but the JWK says alg RS256: not used for PS256 */
	token = make_token(f->rsa, "PS256", "rsa1", NULL, PAYLOAD, false);
	assert_int_equal(verify(token, f->ring), TOKEN_UNKNOWN_KEY);
	free(token);
	/* a kid naming a key of another type */
	token = make_token(f->ed, "EdDSA", "ec1", NULL, PAYLOAD, false);
	assert_int_equal(verify(token, f->ring), TOKEN_UNKNOWN_KEY);
	free(token);
	/* skipped keys are never found */
	token = make_token(f->rsa2, "RS256", "enc1", NULL, PAYLOAD, false);
	assert_int_equal(verify(token, f->ring), TOKEN_UNKNOWN_KEY);
	free(token);

	char err[256];
	struct jwt_keyring *empty = jwt_keyring_load_json("{\"keys\":[]}", 11, err, sizeof(err));
	assert_non_null(empty);
	assert_int_equal(jwt_keyring_count(empty), 0);
	token = make_token(f->ed, "EdDSA", NULL, NULL, PAYLOAD, false);
	assert_int_equal(verify(token, empty), TOKEN_UNKNOWN_KEY);
	free(token);
	jwt_keyring_free(empty);
}

static void test_unsupported_algs(void **state)
{
	struct fixture *f = *state;
	/* alg none: an unsigned token, never verified, claims still read */
	char *header = header_json("none", "rsa1", NULL);
	char *token = assemble(header, PAYLOAD, NULL, 0);
	struct token_identity id;
	decode(token, f->ring, &id);
	assert_int_equal(id.verification, TOKEN_UNSUPPORTED_ALG);
	assert_string_equal(id.sub, "alice");
	token_identity_clear(&id);
	free(header);
	free(token);

	/* HS256 keyed with the public RSA modulus: the classic key-confusion forgery */
	header = header_json("HS256", "rsa1", NULL);
	char *h = b64url_str(header), *p = b64url_str(PAYLOAD), *input = NULL;
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	unsigned char mac[32];
	unsigned int maclen = 0;
	assert_non_null(HMAC(EVP_sha256(), f->rsa_n, (int)strlen(f->rsa_n),
			     (const unsigned char *)input, strlen(input), mac, &maclen));
	token = assemble(header, PAYLOAD, mac, maclen);
	decode(token, f->ring, &id);
	assert_int_equal(id.verification, TOKEN_UNSUPPORTED_ALG);
	assert_non_null(strstr(id.verification_detail, "HMAC"));
	token_identity_clear(&id);
	free(token);
	free(header);
	free(h);
	free(p);
	free(input);

	/* an alg we do not implement, and a crit header */
	token = make_token(f->rsa, "RS256", "rsa1", NULL, PAYLOAD, false);
	char *rs512 = NULL;
	header = b64url_str("{\"alg\":\"RS512\",\"kid\":\"rsa1\"}");
	assert_true(asprintf(&rs512, "%s%s", header, strchr(token, '.')) > 0);
	assert_int_equal(verify(rs512, f->ring), TOKEN_UNSUPPORTED_ALG);
	free(rs512);
	free(header);
	free(token);
	token = assemble("{\"alg\":\"EdDSA\",\"crit\":[\"b64\"],\"b64\":false}", PAYLOAD,
			 (const unsigned char *)"sig", 3);
	assert_int_equal(verify(token, f->ring), TOKEN_UNSUPPORTED_ALG);
	free(token);
}

static void test_no_keyring_still_decodes(void **state)
{
	struct fixture *f = *state;
	char *token = make_token(f->rsa, "RS256", "rsa1", "at+jwt", PAYLOAD, false);
	struct token_identity id;
	decode(token, NULL, &id);
	assert_int_equal(id.verification, TOKEN_UNVERIFIED);
	assert_payload_claims(&id);
	token_identity_clear(&id);
	free(token);
	/* alg none without a keyring is simply unverified too */
	token = assemble("{\"alg\":\"none\"}", PAYLOAD, NULL, 0);
	assert_int_equal(verify(token, NULL), TOKEN_UNVERIFIED);
	free(token);
}

/* ---- claims ---- */

static void test_scopes_from_scope_and_scp(void **state)
{
	(void)state;
	struct {
		const char *payload;
		size_t n;
		const char *want[4];
	} cases[] = {
		{"{\"scope\":\"read  write read\"}", 2, {"read", "write"}},
		{"{\"scp\":[\"tools.call\",\"tools.list\",\"tools.call\"]}",
		 2,
		 {"tools.call", "tools.list"}},
		{"{\"scp\":\"Files.Read User.Read\"}", 2, {"Files.Read", "User.Read"}},
		{"{\"scope\":\"a b\",\"scp\":[\"b\",\"c\"]}", 3, {"a", "b", "c"}},
		{"{\"scope\":\"\"}", 0, {NULL}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *token = claims_token(NULL, cases[i].payload);
		struct token_identity id;
		decode(token, NULL, &id);
		assert_int_equal(id.nscopes, cases[i].n);
		for (size_t k = 0; k < cases[i].n; k++)
			assert_string_equal(id.scopes[k], cases[i].want[k]);
		token_identity_clear(&id);
		free(token);
	}
}

static void test_audience_string_and_array(void **state)
{
	(void)state;
	char *token = claims_token(NULL, "{\"aud\":[\"https://mcp.example/mcp\",\"api://x\"]}");
	struct token_identity id;
	decode(token, NULL, &id);
	assert_int_equal(id.naudience, 2);
	assert_string_equal(id.audience[0], "https://mcp.example/mcp");
	assert_string_equal(id.audience[1], "api://x");
	assert_null(id.audience[2]);
	token_identity_clear(&id);
	free(token);
}

static void test_act_chain_current_actor_first(void **state)
{
	(void)state;
	char *token = claims_token(
		NULL, "{\"sub\":\"alice\",\"act\":{\"sub\":\"agent-c\",\"iss\":\"https://x\","
		      "\"act\":{\"sub\":\"agent-b\",\"act\":{\"sub\":\"agent-a\"}}}}");
	struct token_identity id;
	decode(token, NULL, &id);
	assert_string_equal(id.sub, "alice");
	assert_int_equal(id.nactors, 3);
	assert_string_equal(id.actors[0], "agent-c");
	assert_string_equal(id.actors[1], "agent-b");
	assert_string_equal(id.actors[2], "agent-a");
	assert_null(id.actors[3]);
	json_t *j = token_identity_to_json(&id);
	assert_int_equal(json_array_size(json_object_get(j, "actors")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "actors"), 0)),
			    "agent-c");
	json_decref(j);
	token_identity_clear(&id);
	free(token);

	/* an actor identified by client_id only */
	token = claims_token(NULL, "{\"sub\":\"alice\",\"act\":{\"client_id\":\"bot\"}}");
	decode(token, NULL, &id);
	assert_int_equal(id.nactors, 1);
	assert_string_equal(id.actors[0], "bot");
	token_identity_clear(&id);
	free(token);

	/* 17 nested actors is past the limit */
	char deep[1024] = "{\"act\":";
	for (int i = 0; i < 17; i++)
		strcat(deep, "{\"sub\":\"a\",\"act\":");
	strcat(deep, "null");
	for (int i = 0; i < 18; i++)
		strcat(deep, "}");
	token = claims_token(NULL, deep);
	assert_malformed(token, "act");
	free(token);
	/* 16 is fine */
	strcpy(deep, "{\"act\":");
	for (int i = 0; i < 16; i++)
		strcat(deep, "{\"sub\":\"a\",\"act\":");
	strcat(deep, "null");
	for (int i = 0; i < 17; i++)
		strcat(deep, "}");
	token = claims_token(NULL, deep);
	decode(token, NULL, &id);
	assert_int_equal(id.nactors, 16);
	token_identity_clear(&id);
	free(token);
}

static void test_client_id_fallbacks(void **state)
{
	(void)state;
	struct {
		const char *payload, *want;
	} cases[] = {
		{"{\"client_id\":\"c1\",\"azp\":\"a1\",\"appid\":\"p1\",\"cid\":\"o1\"}", "c1"},
		{"{\"azp\":\"a1\",\"appid\":\"p1\"}", "a1"},
		{"{\"appid\":\"p1\",\"cid\":\"o1\"}", "p1"},
		{"{\"cid\":\"o1\"}", "o1"},
		{"{\"client_id\":null,\"azp\":\"a1\"}", "a1"},
		{"{\"sub\":\"x\"}", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *token = claims_token(NULL, cases[i].payload);
		struct token_identity id;
		decode(token, NULL, &id);
		if (cases[i].want)
			assert_string_equal(id.client_id, cases[i].want);
		else
			assert_null(id.client_id);
		assert_false(id.client_id_is_cimd);
		token_identity_clear(&id);
		free(token);
	}
}

static bool cimd(const char *client_id)
{
	json_t *payload = json_pack("{s:s, s:s}", "sub", "alice", "client_id", client_id);
	char *text = json_dumps(payload, JSON_COMPACT);
	char *token = claims_token(NULL, text);
	struct token_identity id;
	decode(token, NULL, &id);
	assert_string_equal(id.client_id, client_id);
	bool is = id.client_id_is_cimd;
	token_identity_clear(&id);
	free(token);
	free(text);
	json_decref(payload);
	return is;
}

static void test_cimd_url_detection(void **state)
{
	(void)state;
	assert_true(cimd("https://agent.acme.example/oauth/client.json"));
	assert_true(cimd("https://agent.example:8443/client"));
	assert_true(cimd("https://agent.example/client?v=1"));
	assert_true(cimd("HTTPS://agent.example/a/b/"));
	assert_true(cimd("https://[2001:db8::1]:443/client"));
	assert_true(cimd("https://agent.example/a/.well-known/x"));

	assert_false(cimd("http://agent.example/client.json"));
	assert_false(cimd("https://agent.example"));
	assert_false(cimd("https://agent.example/"));
	assert_false(cimd("https://agent.example/?x=1"));
	assert_false(cimd("https://agent.example?x=1"));
	assert_false(cimd("https://agent.example/client.json#frag"));
	assert_false(cimd("https://user@agent.example/client.json"));
	assert_false(cimd("https://user:pw@agent.example/client.json"));
	assert_false(cimd("https://agent.example/a/./client.json"));
	assert_false(cimd("https://agent.example/a/../client.json"));
	assert_false(cimd("https://agent.example/a/%2E%2e/client.json"));
	assert_false(cimd("https://agent.example/a/.."));
	assert_false(cimd("https:///client.json"));
	assert_false(cimd("https://:443/client.json"));
	assert_false(cimd("https://agent.example:https/client.json"));
	assert_false(cimd("https://agent.example/a b"));
	assert_false(cimd("my-client-id"));
}

static enum token_class klass(const char *typ, const char *payload)
{
	char *token = claims_token(typ, payload);
	struct token_identity id;
	decode(token, NULL, &id);
	enum token_class k = id.klass;
	token_identity_clear(&id);
	free(token);
	return k;
}

static void test_classification(void **state)
{
	(void)state;
	const char *user = "{\"sub\":\"alice\",\"client_id\":\"agent\"}";
	assert_int_equal(klass("at+jwt", user), TOKEN_CLASS_ACCESS);
	assert_int_equal(klass("application/AT+JWT", user), TOKEN_CLASS_ACCESS);
	assert_int_equal(klass("JWT", user), TOKEN_CLASS_ACCESS);
	assert_int_equal(klass(NULL, user), TOKEN_CLASS_ACCESS);
	assert_int_equal(klass("oauth-id-jag+jwt", user), TOKEN_CLASS_ID_JAG);
	assert_int_equal(klass("dpop+jwt", user), TOKEN_CLASS_UNKNOWN);

	/* client credentials: no user, the client is the subject */
	assert_int_equal(klass("at+jwt", "{\"sub\":\"svc-1\",\"client_id\":\"svc-1\"}"),
			 TOKEN_CLASS_CLIENT_CREDENTIALS);
	assert_int_equal(klass(NULL, "{\"sub\":\"svc-1\",\"azp\":\"svc-1\"}"),
			 TOKEN_CLASS_CLIENT_CREDENTIALS);
	/* ... but not when someone acts through it */
	assert_int_equal(
		klass("at+jwt",
		      "{\"sub\":\"svc-1\",\"client_id\":\"svc-1\",\"act\":{\"sub\":\"x\"}}"),
		TOKEN_CLASS_ACCESS);
	/* grant markers */
	assert_int_equal(klass(NULL, "{\"sub\":\"abc@clients\",\"gty\":\"client-credentials\"}"),
			 TOKEN_CLASS_CLIENT_CREDENTIALS);
	assert_int_equal(klass(NULL, "{\"sub\":\"oid\",\"appid\":\"app\",\"idtyp\":\"app\"}"),
			 TOKEN_CLASS_CLIENT_CREDENTIALS);
	/* an ID-JAG stays an ID-JAG */
	assert_int_equal(klass("oauth-id-jag+jwt", "{\"sub\":\"c\",\"client_id\":\"c\"}"),
			 TOKEN_CLASS_ID_JAG);
}

static void test_times_and_wrong_types(void **state)
{
	(void)state;
	char *token = claims_token(NULL, "{\"exp\":1900000000.75,\"nbf\":1800000000}");
	struct token_identity id;
	decode(token, NULL, &id);
	assert_int_equal(id.exp, 1900000000);
	assert_int_equal(id.nbf, 1800000000);
	assert_int_equal(id.iat, 0);
	json_t *j = token_identity_to_json(&id);
	assert_true(json_is_null(json_object_get(j, "iat")));
	assert_int_equal(json_integer_value(json_object_get(j, "exp")), 1900000000);
	json_decref(j);
	token_identity_clear(&id);
	free(token);

	struct {
		const char *payload, *detail;
	} bad[] = {
		{"{\"sub\":42}", "\"sub\""},
		{"{\"iss\":[\"a\"]}", "\"iss\""},
		{"{\"client_id\":\"c\",\"azp\":7}", "\"azp\""},
		{"{\"exp\":\"tomorrow\"}", "\"exp\""},
		{"{\"exp\":1e300}", "\"exp\""},
		{"{\"scope\":[\"a\"]}", "\"scope\""},
		{"{\"scp\":[\"a\",1]}", "\"scp\""},
		{"{\"scp\":{}}", "\"scp\""},
		{"{\"aud\":[\"a\",null]}", "\"aud\""},
		{"{\"aud\":5}", "\"aud\""},
		{"{\"act\":\"agent\"}", "\"act\""},
		{"{\"act\":{\"iss\":\"x\"}}", "\"act\""},
		{"{\"act\":{\"sub\":1}}", "\"act\""},
		{"{\"sub\":\"a\",\"sub\":\"b\"}", "duplicate"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		token = claims_token(NULL, bad[i].payload);
		assert_malformed(token, bad[i].detail);
		free(token);
	}
}

/* ---- opaque tokens, header forms, fingerprints ---- */

static void test_opaque_token_keeps_only_fingerprint(void **state)
{
	struct fixture *f = *state;
	const char *value = "Bearer ya29.a0AfH6SMBx-opaque_token~value";
	struct token_identity id;
	decode(value, f->ring, &id);
	assert_int_equal(id.kind, TOKEN_OPAQUE);
	assert_int_equal(id.verification, TOKEN_UNVERIFIED);
	assert_int_equal(strlen(id.fingerprint), 64);
	assert_int_equal(strspn(id.fingerprint, "0123456789abcdef"), 64);
	assert_null(id.iss);
	assert_null(id.sub);
	assert_null(id.client_id);
	assert_null(id.alg);
	assert_int_equal(id.nscopes + id.naudience + id.nactors, 0);
	assert_int_equal(id.klass, TOKEN_CLASS_UNKNOWN);
	json_t *j = token_identity_to_json(&id);
	char *text = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(text, "opaque_token"));
	assert_null(strstr(text, "ya29"));
	assert_string_equal(json_string_value(json_object_get(j, "token_kind")), "opaque");
	assert_true(json_is_null(json_object_get(j, "sub")));
	assert_int_equal(strncmp(json_string_value(json_object_get(j, "fingerprint")), "tfp:", 4),
			 0);
	free(text);
	json_decref(j);
	token_identity_clear(&id);
}

static void test_header_forms_share_a_fingerprint(void **state)
{
	(void)state;
	const char *forms[] = {"tok-123", "Bearer tok-123", "bearer tok-123", "BEARER   tok-123  ",
			       "\t Bearer\ttok-123\t"};
	char first[65];
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct token_identity id;
		decode(forms[i], NULL, &id);
		if (i == 0)
			memcpy(first, id.fingerprint, 65);
		assert_string_equal(id.fingerprint, first);
		token_identity_clear(&id);
	}
	char expected[65];
	token_fingerprint(FP_KEY, "tok-123", 7, expected);
	assert_string_equal(first, expected);
}

static void test_fingerprint_known_answer_and_keys(void **state)
{
	(void)state;
	char a[65], b[65], c[65];
	/* openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f <<< "abc" (no newline) */
	token_fingerprint(FP_KEY, "abc", 3, a);
	assert_string_equal(a, "f0133729c4163dede81e21cd47839256da58171238c8a0d874397c73b14e1e47");
	token_fingerprint(FP_KEY, "abc", 3, b);
	assert_string_equal(a, b);
	unsigned char other[32];
	for (int i = 0; i < 32; i++)
		other[i] = (unsigned char)(i + 1);
	token_fingerprint(other, "abc", 3, c);
	assert_string_equal(c, "a21b1f5d4cf4f73a4dd939750f7a066a7f98cc131cb16a6692759021cfab8181");
	assert_string_not_equal(a, c);
	token_fingerprint(FP_KEY, "abd", 3, c);
	assert_string_not_equal(a, c);
}

static void test_fingerprint_key_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_jwt.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], err[256] = "";
	snprintf(path, sizeof(path), "%s/fingerprint.key", dir);

	mode_t old = umask(0); /* the key is private whatever the umask */
	unsigned char k1[32], k2[32];
	assert_int_equal(token_fingerprint_key_load(path, k1, err, sizeof(err)), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(token_fingerprint_key_load(path, k2, err, sizeof(err)), 0);
	assert_memory_equal(k1, k2, 32);
	char fa[65], fb[65];
	token_fingerprint(k1, "t", 1, fa);
	token_fingerprint(k2, "t", 1, fb);
	assert_string_equal(fa, fb);

	/* a file of another size is an error, and is left alone */
	char bad[256];
	snprintf(bad, sizeof(bad), "%s/short.key", dir);
	FILE *fp = fopen(bad, "wb");
	fputs("short", fp);
	fclose(fp);
	assert_int_equal(token_fingerprint_key_load(bad, k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "32 bytes"));
	assert_non_null(strstr(err, bad));
	assert_int_equal(stat(bad, &st), 0);
	assert_int_equal(st.st_size, 5);

	char missing[256];
	snprintf(missing, sizeof(missing), "%s/no/such/dir/key", dir);
	assert_int_equal(token_fingerprint_key_load(missing, k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, missing));

	unlink(bad);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temporary files left behind */
}

/* ---- cache ---- */

static void test_cache_same_pointer_and_lru_eviction(void **state)
{
	(void)state;
	assert_null(token_cache_new(0));
	struct token_cache *c = token_cache_new(2);
	struct token_cache_stats st;
	char *a = claims_token(NULL, "{\"sub\":\"a\"}"), *b = claims_token(NULL, "{\"sub\":\"b\"}"),
	     *d = claims_token(NULL, "{\"sub\":\"d\"}");
	char *bearer_a = NULL;
	assert_true(asprintf(&bearer_a, "Bearer %s", a) > 0);

	const struct token_identity *pa =
		token_cache_lookup_or_decode(c, a, strlen(a), FP_KEY, NULL);
	assert_non_null(pa);
	assert_string_equal(pa->sub, "a");
	assert_ptr_equal(token_cache_lookup_or_decode(c, bearer_a, strlen(bearer_a), FP_KEY, NULL),
			 pa);
	const struct token_identity *pb =
		token_cache_lookup_or_decode(c, b, strlen(b), FP_KEY, NULL);
	assert_string_equal(pb->sub, "b");
	/* a is now more recent than b, so d evicts b */
	assert_ptr_equal(token_cache_lookup_or_decode(c, a, strlen(a), FP_KEY, NULL), pa);
	const struct token_identity *pd =
		token_cache_lookup_or_decode(c, d, strlen(d), FP_KEY, NULL);
	assert_string_equal(pd->sub, "d");
	token_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.evictions, 1);
	assert_ptr_equal(token_cache_lookup_or_decode(c, a, strlen(a), FP_KEY, NULL), pa);
	assert_ptr_equal(token_cache_lookup_or_decode(c, d, strlen(d), FP_KEY, NULL), pd);
	token_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 3);
	/* b was evicted: decoding it again is a miss and evicts a (least recent) */
	pb = token_cache_lookup_or_decode(c, b, strlen(b), FP_KEY, NULL);
	assert_string_equal(pb->sub, "b");
	token_cache_get_stats(c, &st);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.entries, 2);

	/* no token: NULL, nothing cached */
	assert_null(token_cache_lookup_or_decode(c, "Bearer", 6, FP_KEY, NULL));
	assert_null(token_cache_lookup_or_decode(c, "", 0, FP_KEY, NULL));

	free(bearer_a);
	free(a);
	free(b);
	free(d);
	token_cache_free(c);
	token_cache_free(NULL);
}

static void test_cache_verifies_again_with_another_keyring(void **state)
{
	struct fixture *f = *state;
	struct token_cache *c = token_cache_new(8);
	char *token = make_token(f->ed, "EdDSA", "ed1", NULL, PAYLOAD, false);
	const struct token_identity *p =
		token_cache_lookup_or_decode(c, token, strlen(token), FP_KEY, NULL);
	assert_int_equal(p->verification, TOKEN_UNVERIFIED);
	p = token_cache_lookup_or_decode(c, token, strlen(token), FP_KEY, f->ring);
	assert_int_equal(p->verification, TOKEN_VERIFIED);
	assert_ptr_equal(token_cache_lookup_or_decode(c, token, strlen(token), FP_KEY, f->ring), p);
	struct token_cache_stats st;
	token_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	token_cache_free(c);
	free(token);
}

static void test_cache_many_tokens_stay_bounded(void **state)
{
	(void)state;
	struct token_cache *c = token_cache_new(16);
	for (int i = 0; i < 200; i++) {
		char tok[32];
		int n = snprintf(tok, sizeof(tok), "opaque-%d", i % 40);
		const struct token_identity *p =
			token_cache_lookup_or_decode(c, tok, (size_t)n, FP_KEY, NULL);
		assert_non_null(p);
		char want[65];
		token_fingerprint(FP_KEY, tok, (size_t)n, want);
		assert_string_equal(p->fingerprint, want);
	}
	struct token_cache_stats st;
	token_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 16);
	assert_int_equal(st.hits + st.misses, 200);
	assert_int_equal(st.evictions, st.misses - 16);
	token_cache_free(c);
}

/* ---- keyring loading ---- */

static void assert_jwks_error(const char *json, const char *detail_part)
{
	char err[256] = "";
	struct jwt_keyring *ring = jwt_keyring_load_json(json, strlen(json), err, sizeof(err));
	if (ring)
		fail_msg("loaded: %s", json);
	if (!strstr(err, detail_part))
		fail_msg("error \"%s\" does not mention \"%s\"", err, detail_part);
}

static void test_jwks_errors_name_the_key(void **state)
{
	(void)state;
	assert_jwks_error("not json", "JWKS");
	assert_jwks_error("[]", "expected an object");
	assert_jwks_error("{\"keys\":{}}", "keys: expected an array");
	assert_jwks_error("{\"keys\":[1]}", "keys[0]: expected a JWK object");
	assert_jwks_error("{\"keys\":[{\"kid\":\"a\"}]}", "keys[0].kty");
	assert_jwks_error("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}]}",
			  "keys[0].x: expected 32 bytes");
	assert_jwks_error("{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}", "keys[0].n");
	assert_jwks_error("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"kid\":1}]}",
			  "keys[0].kid: expected a string");
	assert_jwks_error("{\"keys\":[{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}]}", "keys[0].crv");
	/* not a point on the curve */
	assert_jwks_error("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
			  "\"x\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\","
			  "\"y\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"}]}",
			  "not a point on P-256");
	/* a 1024-bit modulus */
	char n[200];
	memset(n, '_', 170); /* 128 bytes of 0xff */
	n[170] = 'w';
	n[171] = '\0';
	char *weak = NULL;
	assert_true(asprintf(&weak, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
			     n) > 0);
	assert_jwks_error(weak, "1024-bit");
	free(weak);
	assert_jwks_error("{\"keys\":[],\"keys\":[]}", "duplicate");
}

static void test_jwks_single_key_file_and_skips(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/test_jwt.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], err[256] = "";
	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	json_t *k = jwk_ed25519(f->ed, "ed1");
	assert_int_equal(json_dump_file(k, path, 0), 0);
	json_decref(k);
	struct jwt_keyring *ring = jwt_keyring_load_file(path, err, sizeof(err));
	assert_non_null(ring);
	assert_int_equal(jwt_keyring_count(ring), 1);
	char *token = make_token(f->ed, "EdDSA", "ed1", NULL, PAYLOAD, false);
	assert_int_equal(verify(token, ring), TOKEN_VERIFIED);
	free(token);
	jwt_keyring_free(ring);
	jwt_keyring_free(NULL);
	unlink(path);

	assert_null(jwt_keyring_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_int_equal(rmdir(dir), 0);

	/* keys that are never used for verification are skipped, not errors */
	const char *skips = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
			    "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"},"
			    "{\"kty\":\"EC\",\"crv\":\"P-384\"},"
			    "{\"kty\":\"RSA\",\"use\":\"enc\"},"
			    "{\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"]}]}";
	ring = jwt_keyring_load_json(skips, strlen(skips), err, sizeof(err));
	assert_non_null(ring);
	assert_int_equal(jwt_keyring_count(ring), 0);
	jwt_keyring_free(ring);
}

/* ---- hostile input ---- */

static void test_no_token_is_an_error(void **state)
{
	(void)state;
	assert_no_token("", 0);
	assert_no_token(NULL, 0);
	assert_no_token("   \t ", 5);
	assert_no_token("Bearer", 6);
	assert_no_token("bearer   ", 9);
	assert_no_token("Basic dXNlcjpwYXNz", 18);
	assert_no_token("Bearer a b", 10);
	assert_no_token("Bearer a\x01", 9);
	assert_no_token("Bearer ab\0cd", 12);
}

static void test_hostile_tokens(void **state)
{
	struct fixture *f = *state;
	struct token_identity id;
	/* not JWT-shaped: opaque */
	const char *opaque[] = {"...", "a.b.c.d", ".a.b", "a..b", "eyJ!.eyJ.sig", "Bearer Bearer"};
	for (size_t i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		decode(opaque[i], f->ring, &id);
		assert_int_equal(id.kind, TOKEN_OPAQUE);
		token_identity_clear(&id);
	}

	/* JWT-shaped but broken */
	assert_malformed("a.b.c", "header is not valid base64url");
	assert_malformed("e30.e30.", "alg");			     /* {} . {} */
	assert_malformed("W10.e30.", "header is not a JSON object"); /* [] */
	assert_malformed("eyJhbGciOiJub25lIn0.W10.", "payload is not a JSON object");
	assert_malformed("eyJhbGciOiJub25lIn0.eyJ.", "payload is not valid base64url");
	assert_malformed("eyJhbGciOiJub25lIn0.e30x.", "payload is not valid JSON");
	/* "e31" decodes to {} with a non-zero unused bit: not canonical */
	assert_malformed("eyJhbGciOiJub25lIn0.e31.", "payload is not valid base64url");
	assert_malformed("eyJhbGciOiJub25lIn0.e30.a", "signature is not valid base64url");
	assert_malformed("eyJhbGciOjF9.e30.", "alg"); /* {"alg":1} */
	char *token = assemble("{\"alg\":\"RS256\",\"kid\":7}", "{}", NULL, 0);
	assert_malformed(token, "kid");
	free(token);
	token = assemble("{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}", NULL, 0);
	assert_malformed(token, "duplicate");
	free(token);
	/* invalid UTF-8 in a claim */
	token = assemble("{\"alg\":\"RS256\"}", "{\"sub\":\"\xff\xfe\"}", NULL, 0);
	assert_malformed(token, "payload is not valid JSON");
	free(token);
	/* \u0000 inside a string */
	token = assemble("{\"alg\":\"RS256\"}", "{\"sub\":\"a\\u0000b\"}", NULL, 0);
	assert_malformed(token, "payload is not valid JSON");
	free(token);

	/* limits */
	char *big = malloc(20001);
	memcpy(big, "eyJhbGciOiJub25lIn0.", 20);
	memset(big + 20, 'A', 19980);
	big[19990] = '.';
	big[20000] = '\0';
	assert_malformed(big, "16 KiB");
	free(big);
	struct strbuf_like {
		char buf[8192];
		size_t len;
	} *s = malloc(sizeof(*s));
	strcpy(s->buf, "{\"scope\":\"");
	for (int i = 0; i < 300; i++)
		sprintf(s->buf + strlen(s->buf), "s%d ", i);
	strcat(s->buf, "\"}");
	token = claims_token(NULL, s->buf);
	assert_malformed(token, "256");
	free(token);
	strcpy(s->buf, "{");
	for (int i = 0; i < 300; i++)
		sprintf(s->buf + strlen(s->buf), "%s\"c%d\":1", i ? "," : "", i);
	strcat(s->buf, "}");
	token = claims_token(NULL, s->buf);
	assert_malformed(token, "more than 256 claims");
	free(token);
	/* deep nesting inside a claim we do not read */
	strcpy(s->buf, "{\"x\":");
	for (int i = 0; i < 3000; i++)
		strcat(s->buf, "[");
	for (int i = 0; i < 3000; i++)
		strcat(s->buf, "]");
	strcat(s->buf, "}");
	token = claims_token(NULL, s->buf);
	assert_malformed(token, "payload is not valid JSON");
	free(token);
	free(s);
}

static void test_to_json_has_claims_not_token(void **state)
{
	struct fixture *f = *state;
	char *token = make_token(
		f->ec, "ES256", "ec1", "at+jwt",
		"{\"iss\":\"https://as.example\",\"sub\":\"alice\",\"azp\":\"https://agent.example/"
		"c.json\",\"scp\":[\"tools.call\"],\"aud\":[\"https://mcp.example/mcp\"],\"act\":{"
		"\"sub\":\"agent\"},\"jti\":\"j-9\",\"exp\":1900000000,\"iat\":1800000000}",
		false);
	struct token_identity id;
	decode(token, f->ring, &id);
	json_t *j = token_identity_to_json(&id);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	const char *sig = strrchr(token, '.') + 1;
	assert_null(strstr(text, sig));
	assert_null(strstr(text, token));
	char fingerprint[70];
	snprintf(fingerprint, sizeof(fingerprint), "tfp:%s", id.fingerprint);
	char *expected = NULL;
	assert_true(
		asprintf(
			&expected,
			"{\"actors\":[\"agent\"],\"alg\":\"ES256\",\"aud\":[\"https://mcp.example/"
			"mcp\"],\"client_id\":\"https://agent.example/"
			"c.json\",\"client_id_is_cimd\":"
			"true,\"exp\":1900000000,\"fingerprint\":\"%s\",\"iat\":1800000000,\"iss\":"
			"\"https://as.example\",\"jti\":\"j-9\",\"kid\":\"ec1\",\"nbf\":null,"
			"\"scopes\":[\"tools.call\"],\"sub\":\"alice\",\"token_class\":\"access\","
			"\"token_kind\":\"jwt\",\"typ\":\"at+jwt\",\"verification\":\"verified\","
			"\"verification_detail\":\"signature verified\",\"verified\":true}",
			fingerprint) > 0);
	assert_string_equal(text, expected);
	free(expected);
	free(text);
	json_decref(j);
	token_identity_clear(&id);
	token_identity_clear(&id); /* twice is harmless */
	free(token);
	assert_string_equal(token_verification_name(TOKEN_UNKNOWN_KEY), "unknown_key");
	assert_string_equal(token_class_name(TOKEN_CLASS_ID_JAG), "id_jag");
	assert_string_equal(token_kind_name(TOKEN_OPAQUE), "opaque");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verified_for_each_alg),
		cmocka_unit_test(test_verified_without_kid_tries_fitting_keys),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unsupported_algs),
		cmocka_unit_test(test_no_keyring_still_decodes),
		cmocka_unit_test(test_scopes_from_scope_and_scp),
		cmocka_unit_test(test_audience_string_and_array),
		cmocka_unit_test(test_act_chain_current_actor_first),
		cmocka_unit_test(test_client_id_fallbacks),
		cmocka_unit_test(test_cimd_url_detection),
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_times_and_wrong_types),
		cmocka_unit_test(test_opaque_token_keeps_only_fingerprint),
		cmocka_unit_test(test_header_forms_share_a_fingerprint),
		cmocka_unit_test(test_fingerprint_known_answer_and_keys),
		cmocka_unit_test(test_fingerprint_key_file),
		cmocka_unit_test(test_cache_same_pointer_and_lru_eviction),
		cmocka_unit_test(test_cache_verifies_again_with_another_keyring),
		cmocka_unit_test(test_cache_many_tokens_stay_bounded),
		cmocka_unit_test(test_jwks_errors_name_the_key),
		cmocka_unit_test(test_jwks_single_key_file_and_skips),
		cmocka_unit_test(test_no_token_is_an_error),
		cmocka_unit_test(test_hostile_tokens),
		cmocka_unit_test(test_to_json_has_claims_not_token),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
