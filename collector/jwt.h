/* jwt: identity from a bearer token, for the audit trail.
 *
 * A token is fingerprinted with a per-installation HMAC key (the raw token is never kept), then,
 * when it is a JWS compact JWT, its header and claims are decoded (iss, sub, client_id, scopes,
 * aud, the act delegation chain, jti, exp/iat/nbf, typ) and, when a JWKS keyring is configured,
 * its signature is checked (RS256, PS256, ES256, EdDSA). Nothing here enforces anything: an
 * expired or badly signed token is still described, with verified = false and the reason, because
 * the audit log records what was presented. exp and nbf are reported, never checked.
 *
 * Limits (a token over a limit is TOKEN_MALFORMED, never a crash): JWT_MAX_TOKEN_BYTES for the
 * whole token, JWT_MAX_CLAIMS members in the payload, JWT_MAX_LIST scopes or audiences,
 * JWT_MAX_ACT_DEPTH nested act claims.
 *
 * Thread safety: a keyring is immutable once loaded and may be shared by threads; a token_identity
 * is plain data; a token_cache belongs to one thread.
 */
#ifndef MCPTRAIL_JWT_H
#define MCPTRAIL_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_TOKEN_BYTES 16384
#define JWT_MAX_CLAIMS 256
#define JWT_MAX_LIST 256
#define JWT_MAX_ACT_DEPTH 16

/* ---- keyring ---- */

/* A JWKS: public keys by kid, each with its kty/crv and optional alg. Usable keys are RSA (2048
 * to 16384 bits), EC P-256 and OKP Ed25519 with "use" absent or "sig" and "key_ops" absent or
 * holding "verify". Other keys (oct, other curves, encryption keys) are skipped, never used: a
 * symmetric key next to public keys is how the HS256-with-a-public-key attack starts. A key of a
 * usable type with bad parameters fails the load, naming it ("keys[2].n: ..."). */
struct jwt_keyring;

/* Reads a JWKS JSON file ({"keys":[...]}, or a single JWK object). NULL with err on failure;
 * err names the file. */
struct jwt_keyring *jwt_keyring_load_file(const char *path, char *err, size_t errlen);
struct jwt_keyring *jwt_keyring_load_json(const char *json, size_t len, char *err, size_t errlen);
/* Number of usable keys (skipped keys are not counted). */
size_t jwt_keyring_count(const struct jwt_keyring *keys);
void jwt_keyring_free(struct jwt_keyring *keys);

/* ---- fingerprints ---- */

/* Per-installation fingerprint key: read from path (exactly 32 raw bytes), or, when path does not
 * exist, 32 random bytes are written there with mode 0600 (atomically: a concurrent loader reads
 * the same key). 0 on success, -1 with err. */
int token_fingerprint_key_load(const char *path, unsigned char key[32], char *err, size_t errlen);
/* HMAC-SHA256(key, token) as 64 lowercase hex digits plus NUL ("tfp:" prefix not included). The
 * token is the bare token (no "Bearer "), so a token has one fingerprint however it was sent. */
void token_fingerprint(const unsigned char key[32], const char *token, size_t len,
		       char out_hex[65]);

/* ---- identity ---- */

enum token_kind { TOKEN_OPAQUE, TOKEN_JWT };

enum token_class {
	TOKEN_CLASS_UNKNOWN, /* opaque, malformed, or a typ that is not an access token */
	TOKEN_CLASS_ACCESS,  /* typ at+jwt (RFC 9068), JWT or absent */
	TOKEN_CLASS_ID_JAG,  /* typ oauth-id-jag+jwt (enterprise-managed authorization) */
	TOKEN_CLASS_CLIENT_CREDENTIALS, /* an access token with no user: sub == client_id and no
					   act, or gty / grant_type client_credentials, or
					   idtyp "app" (Entra) */
};

enum token_verification {
	TOKEN_UNVERIFIED,      /* no keyring, or an opaque token */
	TOKEN_VERIFIED,	       /* the signature verifies with a key of the keyring */
	TOKEN_BAD_SIGNATURE,   /* keys fit, none verifies */
	TOKEN_UNKNOWN_KEY,     /* no key with the kid, or none that fits the alg */
	TOKEN_UNSUPPORTED_ALG, /* none, HS*, anything but RS256/PS256/ES256/EdDSA, or crit */
	TOKEN_MALFORMED,       /* shaped like a JWT but not a valid one; no claims are kept */
};

/* All strings are owned by the struct (NULL when absent); arrays have counts. */
struct token_identity {
	enum token_kind kind;
	char fingerprint[65];
	char *iss, *sub;
	char *client_id; /* client_id claim, else azp, else appid, else cid */
	char *jti, *typ, *alg, *kid;
	char **scopes; /* "scope" (space-separated) then "scp" (string or array); deduplicated */
	size_t nscopes;
	char **audience; /* aud string or array */
	size_t naudience;
	char **actors; /* act chain, current actor first: act.sub, act.act.sub, ... (an act with no
			  sub gives its client_id) */
	size_t nactors;
	int64_t exp, iat, nbf;	/* 0 when absent; fractional seconds are dropped */
	bool client_id_is_cimd; /* client_id is a Client ID Metadata Document URL: https, a path
				   other than "/", no fragment, userinfo or dot segments */
	enum token_class klass;
	enum token_verification verification;
	const char *verification_detail; /* static text */
};

/* Fills out from an Authorization header value ("Bearer xxx": scheme case-insensitive,
 * surrounding spaces and tabs ignored) or a bare token. keys may be NULL (no verification).
 * Returns 0 when there was a token, whatever it holds: an opaque token (only the fingerprint),
 * a JWT, or a malformed one (verification TOKEN_MALFORMED with a detail). Returns -1 with err when
 * there is no token to describe: empty, "Bearer" alone, another scheme ("Basic ..."), spaces or
 * control characters inside the token, or out of memory; out is then cleared. out is overwritten,
 * not freed: clear it before reuse. */
int token_identity_from_header(const char *header_value, size_t len, const unsigned char fp_key[32],
			       const struct jwt_keyring *keys, struct token_identity *out,
			       char *err, size_t errlen);
/* Frees the strings and zeroes the struct; harmless on a cleared one. */
void token_identity_clear(struct token_identity *id);
/* The claims for events, never the raw token or signature. Every member is present; absent
 * strings and times are null:
 * {"fingerprint":"tfp:<hex>","iss","sub","client_id","client_id_is_cimd":bool,"scopes":[],
 *  "aud":[],"actors":[],"jti","exp","iat","nbf","typ","alg","kid","token_kind":"opaque|jwt",
 *  "token_class":"unknown|access|id_jag|client_credentials","verified":bool,
 *  "verification":"unverified|verified|bad_signature|unknown_key|unsupported_alg|malformed",
 *  "verification_detail":"..."}. NULL on OOM. */
json_t *token_identity_to_json(const struct token_identity *id);

const char *token_kind_name(enum token_kind kind);
const char *token_class_name(enum token_class klass);
const char *token_verification_name(enum token_verification verification);

/* ---- cache ---- */

/* Identities by fingerprint, so a JWT is decoded and verified once per distinct token. Holds at
 * most max_entries (least recently used evicted first). An entry remembers the keyring it was
 * verified with and is decoded again when looked up with another one. */
struct token_cache;

struct token_cache_stats {
	size_t entries, hits, misses, evictions;
};

/* NULL when max_entries is 0 or on OOM. */
struct token_cache *token_cache_new(size_t max_entries);
/* The identity for the token in header_value (see token_identity_from_header), or NULL when there
 * is no token (or OOM). The pointer is owned by the cache and stays valid until the next lookup on
 * this cache (which may evict it) or token_cache_free. */
const struct token_identity *token_cache_lookup_or_decode(struct token_cache *cache,
							  const char *header_value, size_t len,
							  const unsigned char fp_key[32],
							  const struct jwt_keyring *keys);
void token_cache_get_stats(const struct token_cache *cache, struct token_cache_stats *out);
void token_cache_free(struct token_cache *cache);

#endif
