/* file_chain: the tamper-evidence format of the file sink, shared by the writer (sink_file.c) and
 * the verifier (collector/verify.c). Everything here is defined on bytes, so a reader can
 * recompute it with any SHA-256 tool.
 *
 * Chain. Records are numbered 1, 2, ... across the whole trail (every segment). With P_n the
 * record's payload (the encoded JSON object exactly as the sink received it, trailing whitespace
 * removed) and chain values written as 64 lowercase hex digits:
 *
 *     chain_0 = "0000...0000"                       (64 '0': the genesis value)
 *     chain_n = hex(SHA-256(chain_{n-1} || P_n))    (chain_{n-1} as its 64 ASCII hex digits)
 *
 * so `printf '%s%s' "$prev" "$payload" | sha256sum` recomputes one link. The line written is P_n
 * with a last member added, textually (the payload is never re-serialized):
 *
 *     P_n without its final '}'  +  ","  +  "\"chain\":\"" chain_n "\"}"
 *
 * (no "," when P_n is an empty object). To get P_n back from a line: remove the trailing
 * "\"chain\":\"<64 hex>\"}", then one ',' if the rest ends with one, then append '}'.
 *
 * Manifest. Each segment ends with one line, members in exactly this order, no whitespace:
 *
 *     {"mcptrail_manifest":1,"segment":N,"records":K,"first_chain":"<hex>","last_chain":"<hex>",
 *      "prev_last_chain":"<hex>","created":"<RFC 3339>","closed":"<RFC 3339>",
 *      ["recovered":true,]"key_id":"<16 hex>","hmac":"<64 hex>"}
 *
 * Segments are numbered from 1. first_chain/last_chain are the chain values of the segment's
 * first and last record (first_chain is null and last_chain equals prev_last_chain when K is 0);
 * prev_last_chain is the chain value the segment continues from (the previous segment's
 * last_chain, or the genesis value for segment 1), so a removed segment breaks the chain.
 * "recovered" marks a segment that a crashed writer left open and a later open of the sink
 * closed: its records were signed after the fact. key_id = the first 16 hex digits of
 * SHA-256(key) names the key without revealing it. hmac = hex(HMAC-SHA256(key, M)) where M is
 * the line without its final member (M ends in ...,"key_id":"<16 hex>"}).
 *
 * A line is a manifest when it starts with {"mcptrail_manifest": (the writer refuses payloads
 * that do). */
#ifndef MCPTRAIL_FILE_CHAIN_H
#define MCPTRAIL_FILE_CHAIN_H

#include "collector/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAIN_HEX_LEN 64
#define CHAIN_KEY_ID_LEN 16
#define CHAIN_MANIFEST_PREFIX "{\"mcptrail_manifest\":"

extern const char chain_genesis[CHAIN_HEX_LEN + 1];

/* out = hex(SHA-256(prev || payload)). */
void chain_link(const char prev[CHAIN_HEX_LEN + 1], const char *payload, size_t len,
		char out[CHAIN_HEX_LEN + 1]);

/* The length of payload once trailing whitespace is removed, or 0 when it cannot carry a chain
 * member: not a JSON object text ({...}), a line break inside, or a manifest look-alike. why
 * says which (static text). */
size_t chain_payload_len(const char *payload, size_t len, const char **why);

/* Appends the line for a payload (chain_payload_len() bytes of it) with its chain member; no
 * newline. false on out of memory. */
bool chain_line_append(struct strbuf *out, const char *payload, size_t len,
		       const char chain[CHAIN_HEX_LEN + 1]);

/* Splits a written line into its payload (replacing the contents of payload) and its chain
 * value. false when the line does not end with a chain member. */
bool chain_line_split(const char *line, size_t len, struct strbuf *payload,
		      char chain[CHAIN_HEX_LEN + 1]);

bool chain_line_is_manifest(const char *line, size_t len);

struct chain_manifest {
	uint64_t segment;
	uint64_t records;
	char first_chain[CHAIN_HEX_LEN + 1]; /* "" when records is 0 (null in the line) */
	char last_chain[CHAIN_HEX_LEN + 1];
	char prev_last_chain[CHAIN_HEX_LEN + 1];
	char created[48], closed[48];
	bool recovered;
	char key_id[CHAIN_KEY_ID_LEN + 1];
	char hmac[CHAIN_HEX_LEN + 1];
};

/* Appends the manifest line (no newline), computing m->key_id and m->hmac with key. false on out
 * of memory. */
bool chain_manifest_append(struct strbuf *out, struct chain_manifest *m, const unsigned char *key,
			   size_t keylen);

/* Parses a manifest line; it must be in the exact form chain_manifest_append() writes. Returns
 * 0, or -1 with the reason in err. The hmac is not checked here. */
int chain_manifest_parse(const char *line, size_t len, struct chain_manifest *m, char *err,
			 size_t errlen);

/* The hmac a manifest line should carry under key. false when the line has no final hmac
 * member. */
bool chain_manifest_hmac(const char *line, size_t len, const unsigned char *key, size_t keylen,
			 char out[CHAIN_HEX_LEN + 1]);

void chain_key_id(const unsigned char *key, size_t keylen, char out[CHAIN_KEY_ID_LEN + 1]);

/* Reads an HMAC key: the file's bytes, exactly (16 bytes to 4 KiB). With create, a missing file
 * is created with 32 random bytes, mode 0600. The caller frees *key. Returns 0, or -1 with a
 * message in err. */
int chain_key_load(const char *path, bool create, unsigned char **key, size_t *keylen, char *err,
		   size_t errlen);

#endif
