#include "collector/jwt.h"

#include "collector/cimd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define JWKS_MAX_KEYS 1024
#define JWKS_MAX_FILE_BYTES (1024 * 1024)
#define RSA_MIN_BITS 2048 /* RFC 7518 §3.3 */
#define RSA_MAX_BITS 16384

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

/* ---- base64url ---- */

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Strict base64url without padding (RFC 7515 §2): only the alphabet, no length that leaves a
 * lone character, unused trailing bits zero, so every byte string has exactly one encoding.
 * *out is NUL-terminated after *outlen bytes. 0, -1 when invalid, -2 on OOM. */
static int b64url_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1)
		return -1;
	unsigned char *buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return -2;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

/* ---- keyring ---- */

enum jwk_type { JWK_RSA, JWK_EC_P256, JWK_ED25519 };

struct jwt_key {
	char *kid, *alg; /* NULL when the JWK has none */
	enum jwk_type type;
	EVP_PKEY *pkey;
};

struct jwt_keyring {
	struct jwt_key *keys;
	size_t nkeys;
	/* Unique per loaded keyring, so a cache can tell a replaced keyring from the one it
	 * verified with even when the allocator hands out the same address again. */
	uint64_t serial;
};

static atomic_uint_fast64_t keyring_serial;

void jwt_keyring_free(struct jwt_keyring *ring)
{
	if (!ring)
		return;
	for (size_t i = 0; i < ring->nkeys; i++) {
		free(ring->keys[i].kid);
		free(ring->keys[i].alg);
		EVP_PKEY_free(ring->keys[i].pkey);
	}
	free(ring->keys);
	free(ring);
}

size_t jwt_keyring_count(const struct jwt_keyring *ring)
{
	return ring ? ring->nkeys : 0;
}

/* An optional string member; -1 with err naming it when present but not a string. */
static int jwk_opt_string(const json_t *jwk, const char *name, const char *where, const char **out,
			  char *err, size_t errlen)
{
	const json_t *v = json_object_get(jwk, name);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		set_err(err, errlen, "%s.%s: expected a string, got %s", where, name,
			json_type_name(v));
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int jwk_bytes(const json_t *jwk, const char *name, const char *where, unsigned char **out,
		     size_t *outlen, char *err, size_t errlen)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s = json_string_value(v);
	int rc = s ? b64url_decode(s, strlen(s), out, outlen) : -1;
	if (rc == -2)
		set_err(err, errlen, "%s.%s: out of memory", where, name);
	else if (rc < 0 || *outlen == 0)
		set_err(err, errlen, "%s.%s: expected a non-empty base64url string", where, name);
	return rc == 0 && *outlen > 0 ? 0 : -1;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_from_jwk(const unsigned char *n, size_t nlen, const unsigned char *e,
			      size_t elen, const char *where, char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);
	if (!bld || !bn_n || !bn_e) {
		set_err(err, errlen, "%s: out of memory", where);
		goto out;
	}
	int bits = BN_num_bits(bn_n);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		set_err(err, errlen, "%s.n: a %d-bit RSA modulus; %d to %d bits are accepted",
			where, bits, RSA_MIN_BITS, RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(bn_e) || BN_num_bits(bn_e) < 2 || BN_num_bits(bn_e) > 64) {
		set_err(err, errlen, "%s.e: expected an odd public exponent like AQAB (65537)",
			where);
		goto out;
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
	    !(pkey = pkey_from_params("RSA", bld)))
		set_err(err, errlen, "%s: OpenSSL does not accept this RSA key", where);
out:
	BN_free(bn_n);
	BN_free(bn_e);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *ec_p256_from_jwk(const unsigned char x[32], const unsigned char y[32],
				  const char *where, char *err, size_t errlen)
{
	unsigned char point[65]; /* uncompressed: 04 || x || y */
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *check = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
		    1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) !=
		    1 ||
	    !(pkey = pkey_from_params("EC", bld)))
		goto bad;
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1)
		goto bad;
	goto out;
bad:
	EVP_PKEY_free(pkey);
	pkey = NULL;
	set_err(err, errlen, "%s: x, y is not a point on P-256", where);
out:
	EVP_PKEY_CTX_free(check);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* 1 when the JWK was added, 0 when it is of a kind never used for verification, -1 on error. */
static int keyring_add_jwk(struct jwt_keyring *ring, const json_t *jwk, const char *where,
			   char *err, size_t errlen)
{
	int rc = -1;
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	EVP_PKEY *pkey = NULL;
	char *kid_copy = NULL, *alg_copy = NULL;
	const char *kid, *alg, *use, *crv;
	enum jwk_type type;

	if (!json_is_object(jwk)) {
		set_err(err, errlen, "%s: expected a JWK object, got %s", where,
			json_type_name(jwk));
		goto out;
	}
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	if (!kty) {
		set_err(err, errlen, "%s.kty: expected a string like \"RSA\", \"EC\" or \"OKP\"",
			where);
		goto out;
	}
	if (jwk_opt_string(jwk, "kid", where, &kid, err, errlen) < 0 ||
	    jwk_opt_string(jwk, "alg", where, &alg, err, errlen) < 0 ||
	    jwk_opt_string(jwk, "use", where, &use, err, errlen) < 0 ||
	    jwk_opt_string(jwk, "crv", where, &crv, err, errlen) < 0)
		goto out;
	rc = 0;
	if (use && strcmp(use, "sig") != 0)
		goto out;
	const json_t *ops = json_object_get(jwk, "key_ops");
	if (ops) {
		if (!json_is_array(ops)) {
			set_err(err, errlen, "%s.key_ops: expected an array of strings", where);
			rc = -1;
			goto out;
		}
		bool verify = false;
		for (size_t i = 0; i < json_array_size(ops); i++) {
			const char *op = json_string_value(json_array_get(ops, i));
			verify |= op && strcmp(op, "verify") == 0;
		}
		if (!verify)
			goto out;
	}
	rc = -1;
	if (strcmp(kty, "RSA") == 0) {
		type = JWK_RSA;
		if (jwk_bytes(jwk, "n", where, &a, &alen, err, errlen) < 0 ||
		    jwk_bytes(jwk, "e", where, &b, &blen, err, errlen) < 0 ||
		    !(pkey = rsa_from_jwk(a, alen, b, blen, where, err, errlen)))
			goto out;
	} else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
		bool ec = kty[0] == 'E';
		if (!crv) {
			set_err(err, errlen, "%s.crv: expected a string like \"%s\"", where,
				ec ? "P-256" : "Ed25519");
			goto out;
		}
		if (strcmp(crv, ec ? "P-256" : "Ed25519") != 0) {
			rc = 0; /* P-384, Ed448, X25519...: not supported, not an error */
			goto out;
		}
		type = ec ? JWK_EC_P256 : JWK_ED25519;
		if (jwk_bytes(jwk, "x", where, &a, &alen, err, errlen) < 0)
			goto out;
		if (alen != 32) {
			set_err(err, errlen, "%s.x: expected 32 bytes for %s, got %zu", where, crv,
				alen);
			goto out;
		}
		if (ec) {
			if (jwk_bytes(jwk, "y", where, &b, &blen, err, errlen) < 0)
				goto out;
			if (blen != 32) {
				set_err(err, errlen, "%s.y: expected 32 bytes for P-256, got %zu",
					where, blen);
				goto out;
			}
			if (!(pkey = ec_p256_from_jwk(a, b, where, err, errlen)))
				goto out;
		} else if (!(pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, 32))) {
			set_err(err, errlen, "%s.x: OpenSSL does not accept this Ed25519 key",
				where);
			goto out;
		}
	} else {
		rc = 0; /* "oct" and anything else is never used */
		goto out;
	}

	if (ring->nkeys == JWKS_MAX_KEYS) {
		set_err(err, errlen, "%s: more than %d keys", where, JWKS_MAX_KEYS);
		goto out;
	}
	struct jwt_key *grown = realloc(ring->keys, (ring->nkeys + 1) * sizeof(*grown));
	if (!grown || (kid && !(kid_copy = strdup(kid))) || (alg && !(alg_copy = strdup(alg)))) {
		if (grown)
			ring->keys = grown;
		set_err(err, errlen, "%s: out of memory", where);
		goto out;
	}
	ring->keys = grown;
	ring->keys[ring->nkeys++] =
		(struct jwt_key){.kid = kid_copy, .alg = alg_copy, .type = type, .pkey = pkey};
	kid_copy = alg_copy = NULL;
	pkey = NULL;
	rc = 1;
out:
	free(kid_copy);
	free(alg_copy);
	EVP_PKEY_free(pkey);
	free(a);
	free(b);
	ERR_clear_error();
	return rc;
}

struct jwt_keyring *jwt_keyring_load_json(const char *json, size_t len, char *err, size_t errlen)
{
	struct jwt_keyring *ring = NULL, *result = NULL;
	json_error_t jerr;
	json_t *root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_err(err, errlen, "JWKS: line %d column %d: %s", jerr.line, jerr.column,
			jerr.text);
		goto out;
	}
	if (!(ring = calloc(1, sizeof(*ring)))) {
		set_err(err, errlen, "JWKS: out of memory");
		goto out;
	}
	ring->serial = atomic_fetch_add(&keyring_serial, 1) + 1;
	const json_t *keys = json_object_get(root, "keys");
	if (json_is_object(root) && keys) {
		if (!json_is_array(keys)) {
			set_err(err, errlen, "keys: expected an array of JWKs, got %s",
				json_type_name(keys));
			goto out;
		}
		for (size_t i = 0; i < json_array_size(keys); i++) {
			char where[32];
			snprintf(where, sizeof(where), "keys[%zu]", i);
			if (keyring_add_jwk(ring, json_array_get(keys, i), where, err, errlen) < 0)
				goto out;
		}
	} else if (json_is_object(root) && json_object_get(root, "kty")) {
		if (keyring_add_jwk(ring, root, "JWK", err, errlen) < 0)
			goto out;
	} else {
		set_err(err, errlen, "JWKS: expected an object {\"keys\":[...]}, got %s",
			json_type_name(root));
		goto out;
	}
	result = ring;
	ring = NULL;
out:
	jwt_keyring_free(ring);
	json_decref(root);
	return result;
}

struct jwt_keyring *jwt_keyring_load_file(const char *path, char *err, size_t errlen)
{
	struct jwt_keyring *ring = NULL;
	char *buf = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!(buf = malloc(JWKS_MAX_FILE_BYTES + 1))) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	size_t n = fread(buf, 1, JWKS_MAX_FILE_BYTES + 1, f);
	if (ferror(f)) {
		set_err(err, errlen, "%s: read error", path);
		goto out;
	}
	if (n > JWKS_MAX_FILE_BYTES) {
		set_err(err, errlen, "%s: larger than %d bytes; not a JWKS", path,
			JWKS_MAX_FILE_BYTES);
		goto out;
	}
	char inner[256] = "";
	ring = jwt_keyring_load_json(buf, n, inner, sizeof(inner));
	if (!ring)
		set_err(err, errlen, "%s: %s", path, inner);
out:
	if (f)
		fclose(f);
	free(buf);
	return ring;
}

/* ---- fingerprints ---- */

static bool fingerprint_hex(const unsigned char key[32], const char *token, size_t len,
			    char out_hex[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (!HMAC(EVP_sha256(), key, 32, (const unsigned char *)(token ? token : ""), len, mac,
		  &maclen) ||
	    maclen != 32) {
		memset(out_hex, 0, 65);
		return false;
	}
	for (size_t i = 0; i < 32; i++) {
		out_hex[2 * i] = hex[mac[i] >> 4];
		out_hex[2 * i + 1] = hex[mac[i] & 15];
	}
	out_hex[64] = '\0';
	return true;
}

void token_fingerprint(const unsigned char key[32], const char *token, size_t len, char out_hex[65])
{
	fingerprint_hex(key, token, len, out_hex);
}

/* 0 when read, 1 when the file does not exist, -1 on error. */
static int read_key_file(const char *path, unsigned char key[32], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	unsigned char buf[33];
	size_t n = 0;
	int rc = 0;
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n != 32) {
		set_err(err, errlen, "%s: a fingerprint key is exactly 32 bytes; this file has %s",
			path, n > 32 ? "more" : "fewer");
		rc = -1;
		goto out;
	}
	memcpy(key, buf, 32);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

static void fsync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* best effort: without it a crash may lose the new key, not corrupt it
			    */
		close(fd);
	}
	free(copy);
}

int token_fingerprint_key_load(const char *path, unsigned char key[32], char *err, size_t errlen)
{
	int rc = read_key_file(path, key, err, errlen);
	if (rc <= 0)
		return rc;

	/* Missing: write a fresh key to a temporary file and link it into place, so a concurrent
	 * loader sees either no file or the whole key, and the first writer wins. */
	unsigned char fresh[32];
	char *tmp = NULL;
	int fd = -1;
	rc = -1;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot create the fingerprint key: %s", path,
			strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
		set_err(err, errlen, "%s: no random bytes for the fingerprint key", path);
		goto out;
	}
	size_t done = 0;
	while (done < sizeof(fresh)) {
		ssize_t w = write(fd, fresh + done, sizeof(fresh) - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			set_err(err, errlen, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		done += (size_t)w;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == 0) {
		memcpy(key, fresh, 32);
		fsync_parent_dir(path);
		rc = 0;
	} else if (errno == EEXIST) {
		rc = read_key_file(path, key, err, errlen) == 0 ? 0 : -1; /* another loader won */
	} else {
		set_err(err, errlen, "%s: cannot create the fingerprint key: %s", path,
			strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	return rc;
}

/* ---- the token in a header ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int extract_token(const char *v, size_t len, const char **tok, size_t *toklen, char *err,
			 size_t errlen)
{
	size_t a = 0, b = v ? len : 0;
	while (a < b && is_blank(v[a]))
		a++;
	while (b > a && is_blank(v[b - 1]))
		b--;
	if (a == b) {
		set_err(err, errlen, "empty authorization value");
		return -1;
	}
	size_t sp = a;
	while (sp < b && !is_blank(v[sp]))
		sp++;
	bool bearer = sp - a == 6 && strncasecmp(v + a, "bearer", 6) == 0;
	if (sp < b) {
		if (!bearer) {
			/* the scheme is not echoed: it may be followed by credentials */
			set_err(err, errlen, "authorization scheme is not Bearer");
			return -1;
		}
		a = sp;
		while (a < b && is_blank(v[a]))
			a++;
	} else if (bearer) {
		set_err(err, errlen, "Bearer scheme without a token");
		return -1;
	}
	for (size_t i = a; i < b; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= 0x20 || c == 0x7f) {
			set_err(err, errlen, "the token contains spaces or control characters");
			return -1;
		}
	}
	*tok = v + a;
	*toklen = b - a;
	return 0;
}

/* ---- claims ---- */

struct decoder {
	struct token_identity *id;
	const char *detail; /* first malformation */
	bool oom;
};

static int malformed(struct decoder *d, const char *detail)
{
	if (!d->detail)
		d->detail = detail;
	return -1;
}

/* Appends a copy of s[0..n) and keeps the array NULL-terminated. */
static int list_push(struct decoder *d, char ***list, size_t *count, const char *s, size_t n)
{
	char **grown = realloc(*list, (*count + 2) * sizeof(*grown));
	if (!grown) {
		d->oom = true;
		return -1;
	}
	*list = grown;
	if (!(grown[*count] = strndup(s, n))) {
		d->oom = true;
		return -1;
	}
	grown[++*count] = NULL;
	return 0;
}

static int add_scope(struct decoder *d, const char *s, size_t n)
{
	struct token_identity *id = d->id;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < id->nscopes; i++)
		if (strlen(id->scopes[i]) == n && memcmp(id->scopes[i], s, n) == 0)
			return 0;
	if (id->nscopes == JWT_MAX_LIST)
		return malformed(d, "more than 256 distinct scopes");
	return list_push(d, &id->scopes, &id->nscopes, s, n);
}

static int add_scope_words(struct decoder *d, const char *s)
{
	while (*s) {
		while (*s == ' ')
			s++;
		const char *start = s;
		while (*s && *s != ' ')
			s++;
		if (add_scope(d, start, (size_t)(s - start)) < 0)
			return -1;
	}
	return 0;
}

/* A null member counts as absent. */
static const json_t *member(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);
	return json_is_null(v) ? NULL : v;
}

static int claim_string(struct decoder *d, const json_t *obj, const char *name, const char *detail,
			char **out)
{
	const json_t *v = member(obj, name);
	if (!v || *out)
		return v && !json_is_string(v) ? malformed(d, detail) : 0;
	if (!json_is_string(v))
		return malformed(d, detail);
	if (!(*out = strdup(json_string_value(v)))) {
		d->oom = true;
		return -1;
	}
	return 0;
}

#define CLAIM_STRING(d, obj, name, out)                                                            \
	claim_string(d, obj, name, "claim \"" name "\": expected a string", out)

static int claim_time(struct decoder *d, const json_t *obj, const char *name, const char *detail,
		      int64_t *out)
{
	const json_t *v = member(obj, name);
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	double x = json_real_value(v);
	if (!json_is_real(v) || !(x > -9.2e18 && x < 9.2e18))
		return malformed(d, detail);
	*out = (int64_t)x;
	return 0;
}

#define CLAIM_TIME(d, obj, name, out)                                                              \
	claim_time(d, obj, name, "claim \"" name "\": expected a NumericDate (seconds)", out)

static int parse_scopes(struct decoder *d, const json_t *payload)
{
	const json_t *scope = member(payload, "scope");
	if (scope) {
		if (!json_is_string(scope))
			return malformed(d, "claim \"scope\": expected a space-separated string");
		if (add_scope_words(d, json_string_value(scope)) < 0)
			return -1;
	}
	const json_t *scp = member(payload, "scp");
	if (json_is_string(scp))
		return add_scope_words(d, json_string_value(scp));
	if (scp && !json_is_array(scp))
		return malformed(d, "claim \"scp\": expected a string or an array of strings");
	for (size_t i = 0; i < json_array_size(scp); i++) {
		const json_t *v = json_array_get(scp, i);
		if (!json_is_string(v))
			return malformed(d, "claim \"scp\": expected a string or an array of "
					    "strings");
		if (add_scope(d, json_string_value(v), json_string_length(v)) < 0)
			return -1;
	}
	return 0;
}

static int parse_audience(struct decoder *d, const json_t *payload)
{
	struct token_identity *id = d->id;
	const json_t *aud = member(payload, "aud");
	if (json_is_string(aud))
		return list_push(d, &id->audience, &id->naudience, json_string_value(aud),
				 json_string_length(aud));
	if (aud && !json_is_array(aud))
		return malformed(d, "claim \"aud\": expected a string or an array of strings");
	if (json_array_size(aud) > JWT_MAX_LIST)
		return malformed(d, "claim \"aud\": more than 256 audiences");
	for (size_t i = 0; i < json_array_size(aud); i++) {
		const json_t *v = json_array_get(aud, i);
		if (!json_is_string(v))
			return malformed(d, "claim \"aud\": expected a string or an array of "
					    "strings");
		if (list_push(d, &id->audience, &id->naudience, json_string_value(v),
			      json_string_length(v)) < 0)
			return -1;
	}
	return 0;
}

/* RFC 8693 §4.1: the outermost act is the current actor, nested ones are earlier actors. */
static int parse_actors(struct decoder *d, const json_t *payload)
{
	struct token_identity *id = d->id;
	const json_t *act = member(payload, "act");
	while (act) {
		if (!json_is_object(act))
			return malformed(d, "claim \"act\": expected an object");
		if (id->nactors == JWT_MAX_ACT_DEPTH)
			return malformed(d, "claim \"act\": nested more than 16 deep");
		const json_t *who = member(act, "sub");
		if (!who)
			who = member(act, "client_id");
		if (!json_is_string(who))
			return malformed(d, "claim \"act\": an actor needs a string sub");
		if (list_push(d, &id->actors, &id->nactors, json_string_value(who),
			      json_string_length(who)) < 0)
			return -1;
		act = member(act, "act");
	}
	return 0;
}

static int parse_claims(struct decoder *d, const json_t *payload)
{
	struct token_identity *id = d->id;
	if (CLAIM_STRING(d, payload, "iss", &id->iss) < 0 ||
	    CLAIM_STRING(d, payload, "sub", &id->sub) < 0 ||
	    CLAIM_STRING(d, payload, "jti", &id->jti) < 0 ||
	    /* RFC 9068 client_id, then vendor spellings: the first present wins */
	    CLAIM_STRING(d, payload, "client_id", &id->client_id) < 0 ||
	    CLAIM_STRING(d, payload, "azp", &id->client_id) < 0 ||
	    CLAIM_STRING(d, payload, "appid", &id->client_id) < 0 ||
	    CLAIM_STRING(d, payload, "cid", &id->client_id) < 0 ||
	    CLAIM_TIME(d, payload, "exp", &id->exp) < 0 ||
	    CLAIM_TIME(d, payload, "iat", &id->iat) < 0 ||
	    CLAIM_TIME(d, payload, "nbf", &id->nbf) < 0 || parse_scopes(d, payload) < 0 ||
	    parse_audience(d, payload) < 0 || parse_actors(d, payload) < 0)
		return -1;
	return 0;
}

/* The CIMD URL rules live in one place (collector/cimd.c). */
static bool is_cimd_url(const char *s)
{
	return cimd_url_problem(s) == NULL;
}

/* typ is a media type: case-insensitive, "application/" may be left out (RFC 7515 §4.1.9). */
static bool typ_is(const char *typ, const char *want)
{
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return strcasecmp(typ, want) == 0;
}

static bool string_member_is(const json_t *obj, const char *name, const char *want)
{
	const char *v = json_string_value(json_object_get(obj, name));
	return v && strcmp(v, want) == 0;
}

static enum token_class classify(const struct token_identity *id, const json_t *payload)
{
	if (id->typ && typ_is(id->typ, "oauth-id-jag+jwt"))
		return TOKEN_CLASS_ID_JAG;
	if (id->typ && !typ_is(id->typ, "at+jwt") && !typ_is(id->typ, "jwt"))
		return TOKEN_CLASS_UNKNOWN;
	bool no_user =
		id->sub && id->client_id && strcmp(id->sub, id->client_id) == 0 && id->nactors == 0;
	/* Vendor grant markers: Auth0 gty, some ASes grant_type, Entra idtyp "app". */
	if (no_user || string_member_is(payload, "gty", "client-credentials") ||
	    string_member_is(payload, "gty", "client_credentials") ||
	    string_member_is(payload, "grant_type", "client_credentials") ||
	    string_member_is(payload, "idtyp", "app"))
		return TOKEN_CLASS_CLIENT_CREDENTIALS;
	return TOKEN_CLASS_ACCESS;
}

/* ---- signatures ---- */

static int alg_key_type(const char *alg)
{
	if (strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0)
		return JWK_RSA;
	if (strcmp(alg, "ES256") == 0)
		return JWK_EC_P256;
	if (strcmp(alg, "EdDSA") == 0 || strcmp(alg, "Ed25519") == 0)
		return JWK_ED25519;
	return -1;
}

static bool verify_with_key(const struct jwt_key *k, const char *alg, const char *input,
			    size_t inlen, const unsigned char *sig, size_t siglen)
{
	bool ok = false;
	EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	ECDSA_SIG *ecdsa = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	if (!mctx)
		goto out;
	if (k->type == JWK_ED25519) {
		if (EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, k->pkey) != 1)
			goto out;
	} else {
		if (EVP_DigestVerifyInit(mctx, &pctx, EVP_sha256(), NULL, k->pkey) != 1)
			goto out;
		/* RS256 is PKCS#1 v1.5, OpenSSL's default; PS256 is PSS with SHA-256 MGF1 and a
		 * salt as long as the hash (RFC 7518 §3.5). */
		if (strcmp(alg, "PS256") == 0 &&
		    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 ||
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
			goto out;
	}
	if (k->type == JWK_EC_P256) {
		/* JWS carries r || s (RFC 7518 §3.4); OpenSSL wants a DER ECDSA-Sig-Value */
		if (siglen != 64)
			goto out;
		if (!(ecdsa = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, 32, NULL)) ||
		    !(s = BN_bin2bn(sig + 32, 32, NULL)) || ECDSA_SIG_set0(ecdsa, r, s) != 1)
			goto out;
		r = s = NULL;
		int derlen = i2d_ECDSA_SIG(ecdsa, &der);
		if (derlen <= 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	}
	ok = EVP_DigestVerify(mctx, sig, siglen, (const unsigned char *)input, inlen) == 1;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(ecdsa);
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return ok;
}

static void set_verification(struct token_identity *id, enum token_verification v,
			     const char *detail)
{
	id->verification = v;
	id->verification_detail = detail;
}

static void verify_token(struct token_identity *id, const struct jwt_keyring *keys, bool crit,
			 const char *input, size_t inlen, const unsigned char *sig, size_t siglen)
{
	const char *alg = id->alg;
	if (!keys) {
		set_verification(id, TOKEN_UNVERIFIED, "no keyring configured: claims unverified");
		return;
	}
	if (strcmp(alg, "none") == 0) {
		set_verification(id, TOKEN_UNSUPPORTED_ALG,
				 "alg none (unsigned) is never accepted");
		return;
	}
	if (strncmp(alg, "HS", 2) == 0) {
		/* with a public JWKS, an HMAC "secret" would be a public key anyone can use */
		set_verification(id, TOKEN_UNSUPPORTED_ALG,
				 "HMAC algs (HS256/384/512) are never accepted");
		return;
	}
	int type = alg_key_type(alg);
	if (type < 0) {
		set_verification(id, TOKEN_UNSUPPORTED_ALG,
				 "alg is not one of RS256, PS256, ES256, EdDSA");
		return;
	}
	if (crit) {
		set_verification(id, TOKEN_UNSUPPORTED_ALG, "header crit extensions not supported");
		return;
	}
	size_t with_kid = 0, fitting = 0;
	for (size_t i = 0; i < keys->nkeys; i++) {
		const struct jwt_key *k = &keys->keys[i];
		if (id->kid) {
			if (!k->kid || strcmp(k->kid, id->kid) != 0)
				continue;
			with_kid++;
		}
		if ((int)k->type != type || (k->alg && strcmp(k->alg, alg) != 0))
			continue;
		fitting++;
		if (verify_with_key(k, alg, input, inlen, sig, siglen)) {
			set_verification(id, TOKEN_VERIFIED, "signature verified");
			return;
		}
	}
	if (id->kid && with_kid == 0)
		set_verification(id, TOKEN_UNKNOWN_KEY,
				 "no key in the keyring has the token's kid");
	else if (fitting == 0)
		set_verification(id, TOKEN_UNKNOWN_KEY, "no key in the keyring fits the alg");
	else
		set_verification(id, TOKEN_BAD_SIGNATURE, "the signature does not verify");
}

/* ---- decoding ---- */

struct segment_text {
	const char *not_base64url, *not_json, *duplicate, *not_object, *too_many;
};

static const struct segment_text header_text = {
	"header is not valid base64url", "header is not valid JSON",
	"header has a duplicate member", "header is not a JSON object",
	"header has more than 256 members"};
static const struct segment_text payload_text = {
	"payload is not valid base64url", "payload is not valid JSON",
	"payload has a duplicate claim", "payload is not a JSON object",
	"payload has more than 256 claims"};

static json_t *decode_segment(struct decoder *d, const char *s, size_t n,
			      const struct segment_text *text)
{
	unsigned char *raw;
	size_t rawlen;
	int rc = b64url_decode(s, n, &raw, &rawlen);
	if (rc == -2)
		d->oom = true;
	if (rc < 0) {
		malformed(d, text->not_base64url);
		return NULL;
	}
	json_error_t jerr;
	json_t *v = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (!v) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			d->oom = true;
		malformed(d, json_error_code(&jerr) == json_error_duplicate_key ? text->duplicate
										: text->not_json);
		return NULL;
	}
	if (!json_is_object(v) || json_object_size(v) > JWT_MAX_CLAIMS) {
		malformed(d, json_is_object(v) ? text->too_many : text->not_object);
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Two dots, a non-empty header and payload, and only base64url characters otherwise. */
static bool jwt_shaped(const char *t, size_t n, size_t *dot1, size_t *dot2)
{
	size_t dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '.') {
			if (dots == 0)
				*dot1 = i;
			else if (dots == 1)
				*dot2 = i;
			if (++dots > 2)
				return false;
		} else if (b64url_value((unsigned char)t[i]) < 0) {
			return false;
		}
	}
	return dots == 2 && *dot1 > 0 && *dot2 > *dot1 + 1;
}

/* id->fingerprint is set; fills the rest. 0, or -1 on OOM. */
static int decode_token(const char *tok, size_t n, const struct jwt_keyring *keys,
			struct token_identity *id)
{
	struct decoder d = {.id = id};
	json_t *header = NULL, *payload = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0, dot1 = 0, dot2 = 0;

	if (!jwt_shaped(tok, n, &dot1, &dot2)) {
		id->kind = TOKEN_OPAQUE;
		set_verification(id, TOKEN_UNVERIFIED,
				 "opaque token: only the fingerprint is kept");
		return 0;
	}
	id->kind = TOKEN_JWT;
	if (n > JWT_MAX_TOKEN_BYTES) {
		malformed(&d, "token is larger than 16 KiB");
		goto out;
	}
	if (!(header = decode_segment(&d, tok, dot1, &header_text)))
		goto out;
	const json_t *alg = json_object_get(header, "alg");
	if (!json_is_string(alg)) {
		malformed(&d, "header alg is missing or not a string");
		goto out;
	}
	if (!(id->alg = strdup(json_string_value(alg)))) {
		d.oom = true;
		goto out;
	}
	if (claim_string(&d, header, "typ", "header typ is not a string", &id->typ) < 0 ||
	    claim_string(&d, header, "kid", "header kid is not a string", &id->kid) < 0)
		goto out;
	if (!(payload = decode_segment(&d, tok + dot1 + 1, dot2 - dot1 - 1, &payload_text)))
		goto out;
	if (parse_claims(&d, payload) < 0)
		goto out;
	int rc = b64url_decode(tok + dot2 + 1, n - dot2 - 1, &sig, &siglen);
	if (rc < 0) {
		d.oom = rc == -2;
		malformed(&d, "signature is not valid base64url");
		goto out;
	}
	id->client_id_is_cimd = id->client_id && is_cimd_url(id->client_id);
	id->klass = classify(id, payload);
	/* header parameters we do not implement ("jku", "jwk", "x5u": keys from the token itself)
	 * are ignored: only the configured keyring is trusted */
	verify_token(id, keys, json_object_get(header, "crit") != NULL, tok, dot2, sig, siglen);
out:
	json_decref(header);
	json_decref(payload);
	free(sig);
	if (d.oom)
		return -1;
	if (d.detail) {
		char fingerprint[65];
		memcpy(fingerprint, id->fingerprint, sizeof(fingerprint));
		token_identity_clear(id);
		memcpy(id->fingerprint, fingerprint, sizeof(fingerprint));
		id->kind = TOKEN_JWT;
		set_verification(id, TOKEN_MALFORMED, d.detail);
	}
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void token_identity_clear(struct token_identity *id)
{
	if (!id)
		return;
	free(id->iss);
	free(id->sub);
	free(id->client_id);
	free(id->jti);
	free(id->typ);
	free(id->alg);
	free(id->kid);
	free_list(id->scopes, id->nscopes);
	free_list(id->audience, id->naudience);
	free_list(id->actors, id->nactors);
	memset(id, 0, sizeof(*id));
}

/* Decodes a token already taken out of its header; 0, or -1 on OOM (out cleared). */
static int identity_from_token(const char *tok, size_t n, const char fingerprint[65],
			       const struct jwt_keyring *keys, struct token_identity *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->fingerprint, fingerprint, 65);
	if (decode_token(tok, n, keys, out) < 0) {
		token_identity_clear(out);
		return -1;
	}
	return 0;
}

int token_identity_from_header(const char *header_value, size_t len, const unsigned char fp_key[32],
			       const struct jwt_keyring *keys, struct token_identity *out,
			       char *err, size_t errlen)
{
	const char *tok;
	size_t n;
	char fingerprint[65];
	memset(out, 0, sizeof(*out));
	if (extract_token(header_value, len, &tok, &n, err, errlen) < 0)
		return -1;
	if (!fingerprint_hex(fp_key, tok, n, fingerprint) ||
	    identity_from_token(tok, n, fingerprint, keys, out) < 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- events ---- */

const char *token_kind_name(enum token_kind kind)
{
	return kind == TOKEN_JWT ? "jwt" : "opaque";
}

const char *token_class_name(enum token_class klass)
{
	switch (klass) {
	case TOKEN_CLASS_ACCESS:
		return "access";
	case TOKEN_CLASS_ID_JAG:
		return "id_jag";
	case TOKEN_CLASS_CLIENT_CREDENTIALS:
		return "client_credentials";
	case TOKEN_CLASS_UNKNOWN:
	default:
		return "unknown";
	}
}

const char *token_verification_name(enum token_verification verification)
{
	switch (verification) {
	case TOKEN_VERIFIED:
		return "verified";
	case TOKEN_BAD_SIGNATURE:
		return "bad_signature";
	case TOKEN_UNKNOWN_KEY:
		return "unknown_key";
	case TOKEN_UNSUPPORTED_ALG:
		return "unsupported_alg";
	case TOKEN_MALFORMED:
		return "malformed";
	case TOKEN_UNVERIFIED:
	default:
		return "unverified";
	}
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t t)
{
	return t ? json_integer((json_int_t)t) : json_null();
}

static json_t *string_array(char *const *list, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(list[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

json_t *token_identity_to_json(const struct token_identity *id)
{
	char fingerprint[70];
	snprintf(fingerprint, sizeof(fingerprint), "tfp:%s", id->fingerprint);
	json_t *o = json_object();
	struct {
		const char *key;
		json_t *value;
	} members[] = {
		{"fingerprint", id->fingerprint[0] ? json_string(fingerprint) : json_null()},
		{"iss", string_or_null(id->iss)},
		{"sub", string_or_null(id->sub)},
		{"client_id", string_or_null(id->client_id)},
		{"client_id_is_cimd", json_boolean(id->client_id_is_cimd)},
		{"scopes", string_array(id->scopes, id->nscopes)},
		{"aud", string_array(id->audience, id->naudience)},
		{"actors", string_array(id->actors, id->nactors)},
		{"jti", string_or_null(id->jti)},
		{"exp", time_or_null(id->exp)},
		{"iat", time_or_null(id->iat)},
		{"nbf", time_or_null(id->nbf)},
		{"typ", string_or_null(id->typ)},
		{"alg", string_or_null(id->alg)},
		{"kid", string_or_null(id->kid)},
		{"token_kind", json_string(token_kind_name(id->kind))},
		{"token_class", json_string(token_class_name(id->klass))},
		{"verified", json_boolean(id->verification == TOKEN_VERIFIED)},
		{"verification", json_string(token_verification_name(id->verification))},
		{"verification_detail", string_or_null(id->verification_detail)},
	};
	bool ok = o != NULL;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		/* set_new takes the value even when it fails, and fails on a NULL value */
		ok &= json_object_set_new(o, members[i].key, members[i].value) == 0;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- cache ---- */

struct cache_entry {
	struct cache_entry *chain;	 /* next in the bucket */
	struct cache_entry *prev, *next; /* recency list, most recent first */
	uint64_t keyring_serial;	 /* 0: decoded without a keyring */
	struct token_identity id;
};

struct token_cache {
	struct cache_entry **buckets;
	size_t mask;
	struct cache_entry *head, *tail;
	size_t max;
	struct token_cache_stats stats;
};

struct token_cache *token_cache_new(size_t max_entries)
{
	if (max_entries == 0)
		return NULL;
	struct token_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t nbuckets = 1;
	while (nbuckets < max_entries && nbuckets < ((size_t)1 << 20))
		nbuckets <<= 1;
	if (!(c->buckets = calloc(nbuckets, sizeof(*c->buckets)))) {
		free(c);
		return NULL;
	}
	c->mask = nbuckets - 1;
	c->max = max_entries;
	return c;
}

/* A fingerprint is an HMAC: its leading hex digits are already evenly spread. */
static struct cache_entry **bucket_of(const struct token_cache *c, const char *fingerprint)
{
	size_t h = 0;
	for (size_t i = 0; i < 2 * sizeof(size_t); i++) {
		char x = fingerprint[i];
		h = h << 4 | (size_t)(x <= '9' ? x - '0' : x - 'a' + 10);
	}
	return &c->buckets[h & c->mask];
}

static void recency_unlink(struct token_cache *c, struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void recency_push_front(struct token_cache *c, struct cache_entry *e)
{
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void cache_remove(struct token_cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = bucket_of(c, e->id.fingerprint);
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	recency_unlink(c, e);
	token_identity_clear(&e->id);
	free(e);
	c->stats.entries--;
}

const struct token_identity *token_cache_lookup_or_decode(struct token_cache *c,
							  const char *header_value, size_t len,
							  const unsigned char fp_key[32],
							  const struct jwt_keyring *keys)
{
	const char *tok;
	size_t n;
	char fingerprint[65];
	if (!c || extract_token(header_value, len, &tok, &n, NULL, 0) < 0 ||
	    !fingerprint_hex(fp_key, tok, n, fingerprint))
		return NULL;
	uint64_t serial = keys ? keys->serial : 0;
	struct cache_entry **bucket = bucket_of(c, fingerprint);
	struct cache_entry *e = *bucket;
	while (e && memcmp(e->id.fingerprint, fingerprint, 64) != 0)
		e = e->chain;
	if (e && e->keyring_serial == serial) {
		c->stats.hits++;
		recency_unlink(c, e);
		recency_push_front(c, e);
		return &e->id;
	}
	c->stats.misses++;
	if (e) {
		/* decoded against another keyring: verify again */
		token_identity_clear(&e->id);
		if (identity_from_token(tok, n, fingerprint, keys, &e->id) < 0) {
			memcpy(e->id.fingerprint, fingerprint,
			       65); /* cache_remove finds it by it */
			cache_remove(c, e);
			return NULL;
		}
		e->keyring_serial = serial;
		recency_unlink(c, e);
		recency_push_front(c, e);
		return &e->id;
	}
	if (c->stats.entries == c->max) {
		cache_remove(c, c->tail);
		c->stats.evictions++;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return NULL;
	if (identity_from_token(tok, n, fingerprint, keys, &e->id) < 0) {
		free(e);
		return NULL;
	}
	e->keyring_serial = serial;
	e->chain = *bucket;
	*bucket = e;
	recency_push_front(c, e);
	c->stats.entries++;
	return &e->id;
}

void token_cache_get_stats(const struct token_cache *c, struct token_cache_stats *out)
{
	if (c)
		*out = c->stats;
	else
		memset(out, 0, sizeof(*out));
}

void token_cache_free(struct token_cache *c)
{
	if (!c)
		return;
	for (struct cache_entry *e = c->head, *next; e; e = next) {
		next = e->next;
		token_identity_clear(&e->id);
		free(e);
	}
	free(c->buckets);
	free(c);
}
