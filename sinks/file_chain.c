/* file_chain: chain values, chained lines, signed manifests and HMAC keys (format in the
 * header). */
#include "sinks/file_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const char chain_genesis[CHAIN_HEX_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static const char CHAIN_MEMBER[] = "\"chain\":\"";
#define CHAIN_MEMBER_LEN (sizeof(CHAIN_MEMBER) - 1)
/* "chain":"<64 hex>"} */
#define CHAIN_SUFFIX_LEN (CHAIN_MEMBER_LEN + CHAIN_HEX_LEN + 2)
static const char HMAC_MEMBER[] = ",\"hmac\":\"";
#define HMAC_MEMBER_LEN (sizeof(HMAC_MEMBER) - 1)
/* ,"hmac":"<64 hex>"} */
#define HMAC_SUFFIX_LEN (HMAC_MEMBER_LEN + CHAIN_HEX_LEN + 2)

static void to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void chain_link(const char prev[CHAIN_HEX_LEN + 1], const char *payload, size_t len,
		char out[CHAIN_HEX_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, prev, CHAIN_HEX_LEN) || !EVP_DigestUpdate(ctx, payload, len) ||
	    !EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		/* only out of memory gets here: a value that can never match */
		memset(out, 'x', CHAIN_HEX_LEN);
		out[CHAIN_HEX_LEN] = '\0';
		EVP_MD_CTX_free(ctx);
		return;
	}
	EVP_MD_CTX_free(ctx);
	to_hex(md, 32, out);
}

size_t chain_payload_len(const char *payload, size_t len, const char **why)
{
	while (len > 0 && is_space(payload[len - 1]))
		len--;
	if (len < 2 || payload[0] != '{' || payload[len - 1] != '}') {
		*why = "the payload is not a JSON object";
		return 0;
	}
	if (memchr(payload, '\n', len)) {
		*why = "the payload holds a line break";
		return 0;
	}
	if (chain_line_is_manifest(payload, len)) {
		*why = "the payload looks like a manifest";
		return 0;
	}
	*why = NULL;
	return len;
}

bool chain_line_append(struct strbuf *out, const char *payload, size_t len,
		       const char chain[CHAIN_HEX_LEN + 1])
{
	size_t body = len - 1; /* without the final '}' */
	size_t k = body;
	while (k > 0 && is_space(payload[k - 1]))
		k--;
	bool empty_object = k == 1; /* only "{" and whitespace before the '}' */
	return strbuf_reserve(out, body + 1 + CHAIN_SUFFIX_LEN) &&
	       strbuf_append(out, payload, body) && (empty_object || strbuf_append(out, ",", 1)) &&
	       strbuf_append(out, CHAIN_MEMBER, CHAIN_MEMBER_LEN) &&
	       strbuf_append(out, chain, CHAIN_HEX_LEN) && strbuf_append(out, "\"}", 2);
}

bool chain_line_split(const char *line, size_t len, struct strbuf *payload,
		      char chain[CHAIN_HEX_LEN + 1])
{
	if (len < 1 + CHAIN_SUFFIX_LEN || line[0] != '{')
		return false;
	const char *suffix = line + len - CHAIN_SUFFIX_LEN;
	const char *hex = suffix + CHAIN_MEMBER_LEN;
	if (memcmp(suffix, CHAIN_MEMBER, CHAIN_MEMBER_LEN) != 0 || !is_hex(hex, CHAIN_HEX_LEN) ||
	    memcmp(hex + CHAIN_HEX_LEN, "\"}", 2) != 0)
		return false;
	size_t rest = len - CHAIN_SUFFIX_LEN;
	if (line[rest - 1] == ',')
		rest--;
	strbuf_reset(payload);
	if (!strbuf_append(payload, line, rest) || !strbuf_append(payload, "}", 1))
		return false;
	memcpy(chain, hex, CHAIN_HEX_LEN);
	chain[CHAIN_HEX_LEN] = '\0';
	return true;
}

bool chain_line_is_manifest(const char *line, size_t len)
{
	size_t n = sizeof(CHAIN_MANIFEST_PREFIX) - 1;
	return len >= n && memcmp(line, CHAIN_MANIFEST_PREFIX, n) == 0;
}

void chain_key_id(const unsigned char *key, size_t keylen, char out[CHAIN_KEY_ID_LEN + 1])
{
	char full[CHAIN_HEX_LEN + 1];
	sha256_hex(key, keylen, full);
	memcpy(out, full, CHAIN_KEY_ID_LEN);
	out[CHAIN_KEY_ID_LEN] = '\0';
}

/* M: the manifest up to and including key_id, closed with '}'. */
static bool manifest_unsigned_append(struct strbuf *out, const struct chain_manifest *m)
{
	bool ok = strbuf_printf(out, CHAIN_MANIFEST_PREFIX "1,\"segment\":%llu,\"records\":%llu,",
				(unsigned long long)m->segment, (unsigned long long)m->records);
	if (m->records == 0)
		ok = ok && strbuf_append_str(out, "\"first_chain\":null,");
	else
		ok = ok && strbuf_printf(out, "\"first_chain\":\"%s\",", m->first_chain);
	ok = ok &&
	     strbuf_printf(out,
			   "\"last_chain\":\"%s\",\"prev_last_chain\":\"%s\",\"created\":\"%s\","
			   "\"closed\":\"%s\",",
			   m->last_chain, m->prev_last_chain, m->created, m->closed);
	if (m->recovered)
		ok = ok && strbuf_append_str(out, "\"recovered\":true,");
	return ok && strbuf_printf(out, "\"key_id\":\"%s\"}", m->key_id);
}

static void hmac_hex(const unsigned char *key, size_t keylen, const void *data, size_t len,
		     char out[CHAIN_HEX_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen) || maclen != 32) {
		memset(out, 'x', CHAIN_HEX_LEN); /* never matches */
		out[CHAIN_HEX_LEN] = '\0';
		return;
	}
	to_hex(mac, 32, out);
}

bool chain_manifest_append(struct strbuf *out, struct chain_manifest *m, const unsigned char *key,
			   size_t keylen)
{
	chain_key_id(key, keylen, m->key_id);
	size_t start = out->len;
	if (!manifest_unsigned_append(out, m))
		return false;
	hmac_hex(key, keylen, out->data + start, out->len - start, m->hmac);
	out->len--; /* the '}' of M */
	return strbuf_printf(out, "%s%s\"}", HMAC_MEMBER, m->hmac);
}

bool chain_manifest_hmac(const char *line, size_t len, const unsigned char *key, size_t keylen,
			 char out[CHAIN_HEX_LEN + 1])
{
	if (len < 2 + HMAC_SUFFIX_LEN ||
	    memcmp(line + len - HMAC_SUFFIX_LEN, HMAC_MEMBER, HMAC_MEMBER_LEN) != 0)
		return false;
	struct strbuf m = STRBUF_INIT;
	size_t mlen = len - HMAC_SUFFIX_LEN;
	if (!strbuf_append(&m, line, mlen) || !strbuf_append(&m, "}", 1)) {
		strbuf_free(&m);
		return false;
	}
	hmac_hex(key, keylen, m.data, m.len, out);
	strbuf_free(&m);
	return true;
}

static bool copy_hex(json_t *v, size_t n, char *out)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != n || !is_hex(s, n))
		return false;
	memcpy(out, s, n + 1);
	return true;
}

static bool copy_time(json_t *v, char out[48])
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= 48 || strspn(s, "0123456789TZ:.+-") != n)
		return false;
	memcpy(out, s, n + 1);
	return true;
}

static bool get_count(json_t *v, uint64_t min, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

int chain_manifest_parse(const char *line, size_t len, struct chain_manifest *m, char *err,
			 size_t errlen)
{
	int rc = -1;
	struct strbuf again = STRBUF_INIT;
	memset(m, 0, sizeof(*m));
	json_error_t jerr;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		snprintf(err, errlen, "not a JSON object: %s",
			 j ? "another JSON value" : jerr.text);
		goto out;
	}
	json_t *version = json_object_get(j, "mcptrail_manifest");
	if (!json_is_integer(version) || json_integer_value(version) != 1) {
		snprintf(err, errlen, "mcptrail_manifest: expected version 1");
		goto out;
	}
	const char *what = NULL;
	json_t *first = json_object_get(j, "first_chain");
	json_t *recovered = json_object_get(j, "recovered");
	if (!get_count(json_object_get(j, "segment"), 1, &m->segment))
		what = "segment: expected an integer >= 1";
	else if (!get_count(json_object_get(j, "records"), 0, &m->records))
		what = "records: expected an integer >= 0";
	else if (m->records == 0 ? !json_is_null(first)
				 : !copy_hex(first, CHAIN_HEX_LEN, m->first_chain))
		what = "first_chain: expected 64 hex digits (null when records is 0)";
	else if (!copy_hex(json_object_get(j, "last_chain"), CHAIN_HEX_LEN, m->last_chain))
		what = "last_chain: expected 64 hex digits";
	else if (!copy_hex(json_object_get(j, "prev_last_chain"), CHAIN_HEX_LEN,
			   m->prev_last_chain))
		what = "prev_last_chain: expected 64 hex digits";
	else if (!copy_time(json_object_get(j, "created"), m->created))
		what = "created: expected an RFC 3339 time";
	else if (!copy_time(json_object_get(j, "closed"), m->closed))
		what = "closed: expected an RFC 3339 time";
	else if (recovered && !json_is_true(recovered))
		what = "recovered: expected true when present";
	else if (!copy_hex(json_object_get(j, "key_id"), CHAIN_KEY_ID_LEN, m->key_id))
		what = "key_id: expected 16 hex digits";
	else if (!copy_hex(json_object_get(j, "hmac"), CHAIN_HEX_LEN, m->hmac))
		what = "hmac: expected 64 hex digits";
	if (what) {
		snprintf(err, errlen, "%s", what);
		goto out;
	}
	m->recovered = recovered != NULL;
	/* one spelling only: members in order, no whitespace, nothing else */
	if (!manifest_unsigned_append(&again, m)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	again.len--;
	if (!strbuf_printf(&again, "%s%s\"}", HMAC_MEMBER, m->hmac)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (again.len != len || memcmp(again.data, line, len) != 0) {
		snprintf(err, errlen,
			 "not in the canonical form (members in order, no whitespace, no others)");
		goto out;
	}
	rc = 0;
out:
	strbuf_free(&again);
	json_decref(j);
	return rc;
}

static int key_create(const char *path, char *err, size_t errlen)
{
	unsigned char key[32];
	size_t got = 0;
	while (got < sizeof(key)) {
		ssize_t r = getrandom(key + got, sizeof(key) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: getrandom: %s", path, strerror(errno));
			return -1;
		}
		got += (size_t)r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0; /* created meanwhile by someone else: use theirs */
		snprintf(err, errlen, "%s: cannot create the HMAC key: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write the HMAC key: %s", path, strerror(errno));
		unlink(path);
		rc = -1;
	}
	close(fd);
	explicit_bzero(key, sizeof(key));
	return rc;
}

int chain_key_load(const char *path, bool create, unsigned char **key, size_t *keylen, char *err,
		   size_t errlen)
{
	enum { KEY_MIN = 16, KEY_MAX = 4096 };
	*key = NULL;
	*keylen = 0;
	if (create && access(path, F_OK) != 0 && errno == ENOENT &&
	    key_create(path, err, errlen) != 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot read the HMAC key: %s", path, strerror(errno));
		return -1;
	}
	unsigned char *buf = malloc(KEY_MAX + 1);
	size_t len = 0;
	int rc = -1;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, KEY_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read the HMAC key: %s", path,
				 strerror(errno));
			goto out;
		}
		if (r == 0 || (len += (size_t)r) > KEY_MAX)
			break;
	}
	if (len < KEY_MIN || len > KEY_MAX) {
		snprintf(err, errlen, "%s: an HMAC key file holds 16 to 4096 bytes, this one %s",
			 path, len < KEY_MIN ? "fewer" : "more");
		goto out;
	}
	*key = buf;
	*keylen = len;
	buf = NULL;
	rc = 0;
out:
	if (buf)
		explicit_bzero(buf, KEY_MAX + 1);
	free(buf);
	close(fd);
	return rc;
}
