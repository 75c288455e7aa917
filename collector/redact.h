/* redact: removes secrets from text and JSON before anything leaves the core.
 *
 * A redactor is a list of PCRE2 rules (compiled once, JIT when available): the built-in set
 * (bearer and basic credentials, JWTs, cloud provider keys, SaaS token formats, private keys,
 * passwords in URLs and connection strings, values assigned to secret-looking names) followed by
 * rules from configuration. Every rule runs over the original text; the byte ranges they match
 * are merged and each merged range is replaced whole by one placeholder, "[REDACTED:<name>]" by
 * default, so no rule can hide part of a secret from another and every redaction is counted once.
 *
 * A rule that wants to keep context (the user in scheme://user:pass@host, the key in
 * "password=...") uses \K and lookarounds so that its match is only the secret. A rule whose
 * pattern passes (*MARK:label) names its placeholder after the label of the branch that matched.
 * Patterns are compiled in UTF mode with PCRE2_MATCH_INVALID_UTF: matches never split a UTF-8
 * character and invalid input bytes are left as they are (never matched).
 *
 * Fails closed: when a rule cannot finish (match limit, JIT stack), the rest of the text from
 * where it was searching is redacted; a JSON value deeper than REDACT_JSON_MAX_DEPTH is replaced
 * by "[REDACTED:depth]".
 *
 * A redactor is immutable once built: any number of threads may use one concurrently.
 */
#ifndef MCPTRAIL_REDACT_H
#define MCPTRAIL_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Containers nested deeper than this (the top-level value is depth 0) are not walked: the whole
 * subtree is replaced by "[REDACTED:depth]". jansson's parser stops at 2048 levels anyway. */
#define REDACT_JSON_MAX_DEPTH 256

struct redactor;

struct redact_rule_spec {
	/* Names the rule in errors and in the default placeholder: 1 to 64 of [A-Za-z0-9_.-]. */
	const char *name;
	/* PCRE2 syntax (UTF mode). Everything the match spans (from \K to its end) is replaced. */
	const char *pattern;
	/* NULL for the default "[REDACTED:<name>]". */
	const char *replacement;
};

/* Builds a redactor from the built-in rules plus nextra rules from configuration (extra may be
 * NULL when nextra is 0). A rule from configuration that is malformed returns NULL and writes to
 * err (when errlen > 0) a message naming the rule and, for a bad pattern, the PCRE2 error and its
 * offset: `redaction rule "acme" (extra[2]): pattern error at offset 5: missing closing
 * parenthesis`. NULL with "out of memory" when an allocation fails. */
struct redactor *redactor_new(const struct redact_rule_spec *extra, size_t nextra, char *err,
			      size_t errlen);
/* NULL is a no-op. */
void redactor_free(struct redactor *r);

/* Redacts s[0..len) (which may hold NULs and invalid UTF-8). Returns a newly allocated,
 * NUL-terminated string for the caller to free(), stores its length in *out_len (when not NULL)
 * and adds the number of redactions to *count (when not NULL). NULL when out of memory. */
char *redact_text(const struct redactor *r, const char *s, size_t len, size_t *out_len,
		  unsigned *count);

/* True when an object member of this name holds a secret whatever its value: the name contains,
 * as a word part (split at punctuation and camelCase, case-insensitive), one of token, secret,
 * password, passwd, passphrase, api_key/apikey/api-key, access_key, private_key, client_secret,
 * authorization, cookie, session, credential(s), auth, jwt; or a lowercase run ending in token,
 * secret, password, apikey ("githubtoken"). Not when the last word says the value is about the
 * secret rather than the secret: "token_count", "tokenType", "password_file", "sessionId",
 * "auth_url". "max_tokens" and "author" are not secret (word parts must match exactly). */
bool redact_key_looks_secret(const char *name, size_t len);

/* Redacts a JSON value in place: every string (and member name) goes through the text rules,
 * and the whole value of a member whose name redact_key_looks_secret() is replaced by
 * "[REDACTED:key]", whatever its type; so is the "value" of an object whose "name" (or "key")
 * looks secret: {"name": "X-Api-Key", "value": ...}. A member name that holds a secret is
 * replaced by its redacted form (with a ~2, ~3 ... suffix if that name is taken). Containers
 * deeper than REDACT_JSON_MAX_DEPTH become "[REDACTED:depth]". Returns the number of
 * redactions. */
unsigned redact_json(const struct redactor *r, json_t *value);

/* The event form of tool arguments. raw[0..len) is the raw JSON text of the arguments (it may be
 * invalid, truncated or huge). Returns a new object:
 *   {"sha256": hex digest of the raw bytes, "bytes": len,
 *    "redacted": the parsed value after redact_json(), or a string preview,
 *    "redactions": count, "truncated": bool}
 * When raw is not valid JSON, "redacted" is the text itself (invalid UTF-8 replaced by U+FFFD),
 * run through the text rules and, as far as its structure can be followed, with the value of
 * every secret-looking member removed. When the serialized redacted value is longer than
 * cap_bytes, "redacted" is a string preview of it instead, cut at a UTF-8 character boundary so
 * that its own serialized form (quotes and escapes included) is at most max(cap_bytes, 2) bytes,
 * and "truncated" is true. Redaction always happens before truncation. NULL when out of
 * memory. */
json_t *redact_arguments(const struct redactor *r, const char *raw, size_t len, size_t cap_bytes);

#endif
