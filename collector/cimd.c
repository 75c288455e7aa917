#include "collector/cimd.h"

#include "collector/hashmap.h"
#include "collector/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HTTP_MAX_LINE 8192	  /* status line, one header, one chunk-size line */
#define HTTP_MAX_HEAD_BYTES 65536 /* all header lines of one response */
#define HTTP_MAX_HEADERS 128
#define DETAIL_MAX 320

static const char *const SECRET_AUTH_METHODS[] = {"client_secret_basic", "client_secret_post",
						  "client_secret_jwt"};

/* Copies s[0..n) into out as printable ASCII (other bytes become '?'), shortened with "..." to fit:
 * document values and server headers go into problem and detail texts, which must be valid UTF-8
 * and one line. */
static void printable_copy(char *out, size_t cap, const char *s, size_t n)
{
	if (cap == 0)
		return;
	bool cut = n > cap - 1;
	size_t keep = cut ? (cap > 4 ? cap - 4 : 0) : n, o = 0;
	for (; o < keep; o++) {
		unsigned char c = (unsigned char)s[o];
		out[o] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	while (cut && o + 1 < cap)
		out[o++] = '.';
	out[o] = '\0';
}

/* ---- URL ---- */

struct cimd_url {
	char *host;	 /* without brackets */
	char *authority; /* host[:port] as written, for the Host header */
	char *target;	 /* path and query, for the request line */
	char port[6];
	bool host_is_ip;
};

static void url_clear(struct cimd_url *u)
{
	free(u->host);
	free(u->authority);
	free(u->target);
	memset(u, 0, sizeof(*u));
}

/* ".", "..", and their %2e spellings */
static bool is_dot_segment(const char *s, size_t n)
{
	size_t dots = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '.') {
			i++;
		} else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' &&
			   (s[i + 2] == 'e' || s[i + 2] == 'E')) {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

static const char *url_parse(const char *url, struct cimd_url *out)
{
	memset(out, 0, sizeof(*out));
	if (!url || !*url)
		return "is empty";
	for (const char *q = url; *q; q++) {
		unsigned char c = (unsigned char)*q;
		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return "contains a space, a backslash, a control or a non-ASCII character";
	}
	if (strncasecmp(url, "https://", 8) != 0)
		return "is not an https URL";
	if (strchr(url, '#'))
		return "has a fragment";
	const char *authority = url + 8;
	size_t alen = strcspn(authority, "/?");
	const char *end = authority + alen;
	if (memchr(authority, '@', alen))
		return "has userinfo (user@host)";
	const char *host = authority, *rest;
	size_t hlen;
	bool bracketed = alen > 0 && authority[0] == '[';
	if (bracketed) {
		const char *close = memchr(authority, ']', alen);
		if (!close)
			return "has a malformed IPv6 literal";
		host = authority + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
	} else {
		const char *colon = memchr(authority, ':', alen);
		hlen = colon ? (size_t)(colon - authority) : alen;
		rest = authority + hlen;
	}
	if (hlen == 0)
		return "has no host";
	if (hlen > 253)
		return "has a host name longer than 253 characters";
	unsigned long port = 443;
	if (rest < end) {
		if (*rest != ':' || end - rest < 2 || end - rest > 6)
			return "has a malformed port (expected 1-65535)";
		port = 0;
		for (const char *p = rest + 1; p < end; p++) {
			if (*p < '0' || *p > '9')
				return "has a malformed port (expected 1-65535)";
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535)
			return "has a malformed port (expected 1-65535)";
	}
	char hostbuf[256];
	memcpy(hostbuf, host, hlen);
	hostbuf[hlen] = '\0';
	unsigned char addr[16];
	bool is_ip = false;
	if (bracketed) {
		if (inet_pton(AF_INET6, hostbuf, addr) != 1)
			return "has a malformed IPv6 literal";
		is_ip = true;
	} else {
		if (strspn(hostbuf,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") !=
		    hlen)
			return "has a malformed host name";
		is_ip = inet_pton(AF_INET, hostbuf, addr) == 1;
	}
	const char *path = end;
	size_t plen = strcspn(path, "?");
	if (plen < 2 || path[0] != '/')
		return "has no path (a path other than \"/\" is required)";
	for (const char *seg = path + 1; seg <= path + plen;) {
		const char *slash = memchr(seg, '/', (size_t)(path + plen - seg));
		const char *seg_end = slash ? slash : path + plen;
		if (is_dot_segment(seg, (size_t)(seg_end - seg)))
			return "has a \".\" or \"..\" path segment";
		seg = seg_end + 1;
	}
	out->host = strdup(hostbuf);
	out->authority = strndup(authority, alen);
	out->target = strdup(path);
	if (!out->host || !out->authority || !out->target) {
		url_clear(out);
		return "could not be checked (out of memory)";
	}
	snprintf(out->port, sizeof(out->port), "%lu", port);
	out->host_is_ip = is_ip;
	return NULL;
}

const char *cimd_url_problem(const char *url)
{
	struct cimd_url u;
	const char *problem = url_parse(url, &u);
	url_clear(&u);
	return problem;
}

/* ---- document validation ---- */

static bool add_problem(json_t *problems, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool add_problem(json_t *problems, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_array_append_new(problems, json_string(text)) == 0;
}

static const char *json_kind(const json_t *v)
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
	default:
		return "null";
	}
}

/* Problems of the document in body; *doc_out (may be NULL) receives the parsed object, if any. */
static json_t *validate(const char *url, const char *body, size_t len, json_t **doc_out)
{
	json_t *problems = json_array();
	json_error_t jerr;
	json_t *doc = NULL;
	char shown[120], want[120];
	if (!problems)
		goto out;
	doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr) : NULL;
	if (!doc) {
		printable_copy(shown, sizeof(shown), jerr.text, body ? strlen(jerr.text) : 0);
		add_problem(problems, "not valid JSON: %s (line %d, column %d)",
			    body ? shown : "no body", body ? jerr.line : 0, body ? jerr.column : 0);
		goto out;
	}
	if (!json_is_object(doc)) {
		add_problem(problems, "not a JSON object (%s)", json_kind(doc));
		goto out;
	}
	json_t *v = json_object_get(doc, "client_id");
	const char *url_text = url ? url : "";
	printable_copy(want, sizeof(want), url_text, strlen(url_text));
	if (!v) {
		add_problem(problems, "client_id: missing (expected \"%s\")", want);
	} else if (!json_is_string(v)) {
		add_problem(problems, "client_id: expected a string, found %s", json_kind(v));
	} else if (json_string_length(v) != strlen(url_text) ||
		   memcmp(json_string_value(v), url_text, json_string_length(v)) != 0) {
		printable_copy(shown, sizeof(shown), json_string_value(v), json_string_length(v));
		add_problem(problems, "client_id: \"%s\" is not the document URL \"%s\"", shown,
			    want);
	}
	v = json_object_get(doc, "client_name");
	if (!v)
		add_problem(problems, "client_name: missing (MCP requires it)");
	else if (!json_is_string(v))
		add_problem(problems, "client_name: expected a string, found %s", json_kind(v));
	v = json_object_get(doc, "redirect_uris");
	if (!v) {
		add_problem(problems, "redirect_uris: missing (MCP requires it)");
	} else if (!json_is_array(v) || json_array_size(v) == 0) {
		add_problem(problems,
			    "redirect_uris: expected a non-empty array of strings, found %s",
			    json_is_array(v) ? "an empty array" : json_kind(v));
	} else {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *uri = json_array_get(v, i);
			if (!json_is_string(uri)) {
				add_problem(problems,
					    "redirect_uris[%zu]: expected a string, found %s", i,
					    json_kind(uri));
				break;
			}
		}
	}
	v = json_object_get(doc, "token_endpoint_auth_method");
	if (v && !json_is_string(v)) {
		add_problem(problems, "token_endpoint_auth_method: expected a string, found %s",
			    json_kind(v));
	} else if (v) {
		for (size_t i = 0; i < sizeof(SECRET_AUTH_METHODS) / sizeof(*SECRET_AUTH_METHODS);
		     i++)
			if (strcmp(json_string_value(v), SECRET_AUTH_METHODS[i]) == 0)
				add_problem(problems,
					    "token_endpoint_auth_method: \"%s\" is a secret-based "
					    "method, not allowed in a metadata document",
					    SECRET_AUTH_METHODS[i]);
	}
	if (json_object_get(doc, "client_secret"))
		add_problem(problems, "client_secret: must not be present (a metadata document is "
				      "public; its client has no secret)");
	if (json_object_get(doc, "client_secret_expires_at"))
		add_problem(problems,
			    "client_secret_expires_at: must not be present (its client has "
			    "no secret)");
out:
	if (doc_out && json_is_object(doc)) {
		*doc_out = doc;
		doc = NULL;
	}
	json_decref(doc);
	return problems;
}

json_t *cimd_validate_document(const char *url, const char *body, size_t len)
{
	return validate(url, body, len, NULL);
}

/* ---- addresses ---- */

static bool ipv4_is_private(const unsigned char a[4])
{
	static const struct {
		uint32_t net;
		unsigned bits;
	} ranges[] = {
		{0x00000000, 8},  {0x0A000000, 8},  {0x64400000, 10}, {0x7F000000, 8},
		{0xA9FE0000, 16}, {0xAC100000, 12}, {0xC0000000, 24}, {0xC0000200, 24},
		{0xC0586300, 24}, {0xC0A80000, 16}, {0xC6120000, 15}, {0xC6336400, 24},
		{0xCB007100, 24}, {0xE0000000, 4},  {0xF0000000, 4},
	};
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	for (size_t i = 0; i < sizeof(ranges) / sizeof(*ranges); i++)
		if ((v & (0xFFFFFFFFu << (32 - ranges[i].bits))) == ranges[i].net)
			return true;
	return false;
}

static bool prefix_is(const unsigned char *a, const unsigned char *prefix, unsigned bits)
{
	for (unsigned i = 0; i < bits / 8; i++)
		if (a[i] != prefix[i])
			return false;
	unsigned rem = bits % 8;
	return rem == 0 || ((a[bits / 8] ^ prefix[bits / 8]) & (0xFF << (8 - rem))) == 0;
}

static bool ipv6_is_private(const unsigned char a[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const unsigned char sixto4[2] = {0x20, 0x02};
	if (prefix_is(a, mapped, 96) || prefix_is(a, nat64, 96))
		return ipv4_is_private(a + 12);
	if (prefix_is(a, sixto4, 16))
		return ipv4_is_private(a + 2);
	static const struct {
		unsigned char prefix[16];
		unsigned bits;
	} ranges[] = {
		{{0}, 96},			      /* ::, ::1, IPv4-compatible */
		{{0x01, 0x00}, 64},		      /* discard */
		{{0x20, 0x01, 0x00, 0x00}, 23},	      /* IETF protocol assignments, Teredo */
		{{0x20, 0x01, 0x0d, 0xb8}, 32},	      /* documentation */
		{{0x3f, 0xff}, 20},		      /* documentation */
		{{0x00, 0x64, 0xff, 0x9b, 0, 1}, 48}, /* local-use NAT64 */
		{{0xfc}, 7},			      /* unique local */
		{{0xfe, 0x80}, 10},		      /* link-local */
		{{0xfe, 0xc0}, 10},		      /* site-local (deprecated) */
		{{0xff}, 8},			      /* multicast */
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(*ranges); i++)
		if (prefix_is(a, ranges[i].prefix, ranges[i].bits))
			return true;
	return false;
}

bool cimd_address_is_private(const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return ipv4_is_private((const unsigned char *)&in->sin_addr);
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return ipv6_is_private(in6->sin6_addr.s6_addr);
	}
	return true;
}

int cimd_ip_literal_is_private(const char *ip)
{
	unsigned char a[16];
	if (ip && inet_pton(AF_INET, ip, a) == 1)
		return ipv4_is_private(a);
	if (ip && inet_pton(AF_INET6, ip, a) == 1)
		return ipv6_is_private(a);
	return -1;
}

static void address_text(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
	if (getnameinfo(sa, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, cap, "(address family %d)", sa->sa_family);
}

/* ---- cache ---- */

struct cimd_entry {
	char *url;
	int64_t fetched_at;
	char sha256[65]; /* of the last document fetched, "" when none yet */
	json_t *result;	 /* the last fetch's result */
};

struct cimd_cache {
	struct cimd_config cfg; /* allow_hosts and ca_file point at the copies below */
	char **hosts;
	char *ca_file;
	SSL_CTX *ssl_ctx;
	struct hashmap *entries; /* url -> struct cimd_entry */
};

void cimd_config_defaults(struct cimd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_bytes = CIMD_DEFAULT_MAX_BYTES;
	cfg->timeout_ms = CIMD_DEFAULT_TIMEOUT_MS;
	cfg->cache_ttl_s = CIMD_DEFAULT_CACHE_TTL_S;
}

static void entry_free(void *p)
{
	struct cimd_entry *e = p;
	if (!e)
		return;
	json_decref(e->result);
	free(e->url);
	free(e);
}

struct cimd_cache *cimd_cache_new(const struct cimd_config *cfg)
{
	struct cimd_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	else
		cimd_config_defaults(&c->cfg);
	if (c->cfg.max_bytes == 0)
		c->cfg.max_bytes = CIMD_DEFAULT_MAX_BYTES;
	if (c->cfg.timeout_ms <= 0)
		c->cfg.timeout_ms = CIMD_DEFAULT_TIMEOUT_MS;
	if (c->cfg.cache_ttl_s < 0)
		c->cfg.cache_ttl_s = 0;
	if (!c->cfg.allow_hosts)
		c->cfg.nallow = 0;
	c->hosts = calloc(c->cfg.nallow + 1, sizeof(char *));
	c->entries = hashmap_new();
	if (!c->hosts || !c->entries)
		goto fail;
	for (size_t i = 0; i < c->cfg.nallow; i++) {
		const char *h = c->cfg.allow_hosts[i] ? c->cfg.allow_hosts[i] : "";
		size_t n = strlen(h);
		if (n >= 2 && h[0] == '[' && h[n - 1] == ']') /* "[::1]" as written in a URL */
			c->hosts[i] = strndup(h + 1, n - 2);
		else
			c->hosts[i] = strdup(h);
		if (!c->hosts[i])
			goto fail;
	}
	c->cfg.allow_hosts = (const char *const *)c->hosts;
	if (c->cfg.ca_file && !(c->ca_file = strdup(c->cfg.ca_file)))
		goto fail;
	c->cfg.ca_file = c->ca_file;
	return c;
fail:
	cimd_cache_free(c);
	return NULL;
}

void cimd_cache_free(struct cimd_cache *c)
{
	if (!c)
		return;
	if (c->hosts)
		for (size_t i = 0; i < c->cfg.nallow; i++)
			free(c->hosts[i]);
	free(c->hosts);
	free(c->ca_file);
	SSL_CTX_free(c->ssl_ctx);
	if (c->entries)
		hashmap_free(c->entries, entry_free);
	free(c);
}

static bool host_allowed(const struct cimd_cache *c, const char *host)
{
	for (size_t i = 0; i < c->cfg.nallow; i++)
		if (strcasecmp(c->hosts[i], host) == 0)
			return true;
	return false;
}

struct oldest {
	struct cimd_entry *entry;
};

static void find_oldest(void *ctx, const char *key, void *value)
{
	(void)key;
	struct oldest *o = ctx;
	struct cimd_entry *e = value;
	if (!o->entry || e->fetched_at < o->entry->fetched_at)
		o->entry = e;
}

/* ---- fetch ---- */

struct fetch {
	struct cimd_cache *cache;
	const struct cimd_url *url;
	int64_t deadline_ms;
	const char *status; /* NULL until there is an outcome other than "ok" */
	char detail[DETAIL_MAX];
	int http_status; /* 0 when no response head was read */
	struct strbuf body;
};

static void fetch_fail(struct fetch *f, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fetch_fail(struct fetch *f, const char *status, const char *fmt, ...)
{
	if (f->status)
		return; /* the first cause is the one to report */
	f->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events; false when the deadline passed (outcome: timeout) or poll
 * failed. POLLERR and POLLHUP count as ready: the next call on the socket reports them. */
static bool wait_ready(struct fetch *f, int fd, short events, const char *phase)
{
	for (;;) {
		int64_t left = f->deadline_ms - monotonic_ms();
		if (left <= 0) {
			fetch_fail(f, "timeout", "no answer within %d ms (during %s)",
				   f->cache->cfg.timeout_ms, phase);
			return false;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR) {
			fetch_fail(f, "fetch_failed", "poll: %s", strerror(errno));
			return false;
		}
	}
}

static int connect_to(struct fetch *f, const struct addrinfo *ai, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 8];
	address_text(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", addr, strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	int soerr = errno;
	if (soerr == EINPROGRESS) {
		if (!wait_ready(f, fd, POLLOUT, "the connect")) {
			close(fd);
			return -1;
		}
		socklen_t sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == 0)
			return fd;
	}
	snprintf(err, errlen, "connect to %s port %s: %s", addr, f->url->port, strerror(soerr));
	close(fd);
	return -1;
}

/* Describes a failed SSL call (e from SSL_get_error) and clears OpenSSL's error queue. */
static void tls_fail(struct fetch *f, SSL *ssl, int e, const char *phase)
{
	unsigned long err = ERR_peek_last_error();
	long verify = SSL_get_verify_result(ssl);
	if (e == SSL_ERROR_SSL && verify != X509_V_OK) {
		fetch_fail(f, "fetch_failed", "TLS certificate of %s not accepted: %s",
			   f->url->host, X509_verify_cert_error_string(verify));
	} else if ((e == SSL_ERROR_SYSCALL && errno == 0) ||
		   (e == SSL_ERROR_SSL &&
		    ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		fetch_fail(f, "fetch_failed", "connection closed by the server during %s", phase);
	} else if (e == SSL_ERROR_SYSCALL) {
		fetch_fail(f, "fetch_failed", "%s: %s", phase, strerror(errno));
	} else {
		char text[200];
		ERR_error_string_n(err, text, sizeof(text));
		fetch_fail(f, "fetch_failed", "TLS error during %s: %s", phase, text);
	}
	ERR_clear_error();
}

/* After an SSL call returned rc <= 0: true once the socket is ready for the retry, false when the
 * fetch failed (outcome set). */
static bool tls_retry(struct fetch *f, SSL *ssl, int fd, int rc, const char *phase)
{
	int e = SSL_get_error(ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return wait_ready(f, fd, POLLIN, phase);
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_ready(f, fd, POLLOUT, phase);
	tls_fail(f, ssl, e, phase);
	return false;
}

static bool ensure_ssl_ctx(struct fetch *f)
{
	struct cimd_cache *c = f->cache;
	if (c->ssl_ctx)
		return true;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char text[200] = "";
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (c->cfg.ca_file) { /* OpenSSL's "system lib" says less than errno */
		FILE *fp = fopen(c->cfg.ca_file, "r");
		if (!fp) {
			snprintf(text, sizeof(text), "%s", strerror(errno));
			goto fail_text;
		}
		fclose(fp);
	}
	if (c->cfg.ca_file ? !SSL_CTX_load_verify_locations(ctx, c->cfg.ca_file, NULL)
			   : !SSL_CTX_set_default_verify_paths(ctx))
		goto fail;
	c->ssl_ctx = ctx;
	return true;
fail:
	ERR_error_string_n(ERR_peek_last_error(), text, sizeof(text));
fail_text:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	if (c->cfg.ca_file)
		fetch_fail(f, "fetch_failed", "ca_file %s: cannot load trust anchors: %s",
			   c->cfg.ca_file, text);
	else
		fetch_fail(f, "fetch_failed", "cannot set up TLS: %s", text);
	return false;
}

/* A buffered reader over the TLS stream. */
struct reader {
	struct fetch *f;
	SSL *ssl;
	int fd;
	bool clean_eof; /* the stream ended with a TLS close_notify */
	size_t start, end;
	char buf[16384];
};

/* Reads more bytes after end: 1 when some arrived, 0 at the end of the stream, -1 when the fetch
 * failed (outcome set). */
static int reader_fill(struct reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	for (;;) {
		/* also checked here, not only while waiting: a fast server must not keep us busy */
		if (monotonic_ms() >= r->f->deadline_ms) {
			fetch_fail(r->f, "timeout", "no complete response within %d ms",
				   r->f->cache->cfg.timeout_ms);
			return -1;
		}
		ERR_clear_error();
		errno = 0;
		int n = SSL_read(r->ssl, r->buf + r->end, (int)(sizeof(r->buf) - r->end));
		if (n > 0) {
			r->end += (size_t)n;
			return 1;
		}
		int e = SSL_get_error(r->ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN) {
			r->clean_eof = true;
			return 0;
		}
		if ((e == SSL_ERROR_SYSCALL && errno == 0) ||
		    (e == SSL_ERROR_SSL &&
		     ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
			ERR_clear_error();
			return 0;
		}
		if (!tls_retry(r->f, r->ssl, r->fd, n, "reading the response"))
			return -1;
	}
}

/* The next line without its CRLF (or bare LF), NUL-terminated, at most cap - 1 bytes. */
static bool read_line(struct reader *r, char *line, size_t cap, const char *what)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl) {
			size_t n = (size_t)(nl - (r->buf + r->start));
			size_t consumed = n + 1;
			if (n > 0 && nl[-1] == '\r')
				n--;
			if (n >= cap)
				break;
			memcpy(line, r->buf + r->start, n);
			line[n] = '\0';
			r->start += consumed;
			return true;
		}
		if (r->end - r->start >= cap)
			break;
		int rc = reader_fill(r);
		if (rc < 0)
			return false;
		if (rc == 0) {
			fetch_fail(r->f, "fetch_failed", "connection closed in the middle of %s",
				   what);
			return false;
		}
	}
	fetch_fail(r->f, "fetch_failed", "%s longer than %zu bytes", what, cap - 1);
	return false;
}

/* Appends exactly n body bytes. */
static bool read_exact(struct reader *r, size_t n)
{
	while (n > 0) {
		size_t take = r->end - r->start < n ? r->end - r->start : n;
		if (take > 0) {
			if (!strbuf_append(&r->f->body, r->buf + r->start, take)) {
				fetch_fail(r->f, "fetch_failed", "out of memory");
				return false;
			}
			r->start += take;
			n -= take;
			continue;
		}
		int rc = reader_fill(r);
		if (rc < 0)
			return false;
		if (rc == 0) {
			fetch_fail(r->f, "fetch_failed",
				   "connection closed %zu bytes before the end of the body", n);
			return false;
		}
	}
	return true;
}

static bool too_large(struct fetch *f, uint64_t size, const char *how)
{
	if (size <= f->cache->cfg.max_bytes)
		return false;
	fetch_fail(f, "too_large", "%s exceeds the limit of %zu bytes", how,
		   f->cache->cfg.max_bytes);
	return true;
}

struct http_head {
	bool chunked;
	bool has_length;
	uint64_t length;
	char location[160];
};

static bool parse_length(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return false;
	*out = strtoull(s, NULL, 10);
	return true;
}

/* Reads the status line and headers (skipping 1xx interim responses). */
static bool read_head(struct reader *r, struct http_head *h)
{
	char line[HTTP_MAX_LINE];
	size_t head_bytes = 0, nheaders = 0;
	for (;;) {
		memset(h, 0, sizeof(*h));
		if (!read_line(r, line, sizeof(line), "the status line"))
			return false;
		head_bytes += strlen(line) + 2; /* interim 1xx heads count too */
		if (strncmp(line, "HTTP/1.", 7) != 0 || !(line[7] == '0' || line[7] == '1') ||
		    line[8] != ' ' || strspn(line + 9, "0123456789") != 3 ||
		    (line[12] != ' ' && line[12] != '\0')) {
			char shown[80];
			printable_copy(shown, sizeof(shown), line, strlen(line));
			fetch_fail(r->f, "fetch_failed", "not an HTTP/1.x status line: \"%s\"",
				   shown);
			return false;
		}
		int status = atoi(line + 9);
		for (;;) {
			if (!read_line(r, line, sizeof(line), "a header line"))
				return false;
			if (!line[0])
				break;
			head_bytes += strlen(line) + 2;
			if (++nheaders > HTTP_MAX_HEADERS || head_bytes > HTTP_MAX_HEAD_BYTES) {
				fetch_fail(r->f, "fetch_failed", "response headers over the limit");
				return false;
			}
			char *colon = strchr(line, ':');
			if (!colon || colon == line) {
				fetch_fail(r->f, "fetch_failed", "malformed header line");
				return false;
			}
			*colon = '\0';
			char *value = colon + 1;
			value += strspn(value, " \t");
			size_t vlen = strlen(value);
			while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
				value[--vlen] = '\0';
			if (strcasecmp(line, "Content-Length") == 0) {
				uint64_t len;
				if (!parse_length(value, &len) ||
				    (h->has_length && len != h->length)) {
					fetch_fail(r->f, "fetch_failed",
						   "malformed Content-Length");
					return false;
				}
				h->has_length = true;
				h->length = len;
			} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
				if (strcasecmp(value, "chunked") == 0) {
					h->chunked = true;
				} else if (strcasecmp(value, "identity") != 0) {
					fetch_fail(r->f, "fetch_failed",
						   "unsupported Transfer-Encoding");
					return false;
				}
			} else if (strcasecmp(line, "Content-Encoding") == 0 &&
				   strcasecmp(value, "identity") != 0) {
				fetch_fail(r->f, "fetch_failed",
					   "unsupported Content-Encoding (none was accepted)");
				return false;
			} else if (strcasecmp(line, "Location") == 0) {
				printable_copy(h->location, sizeof(h->location), value, vlen);
			}
		}
		if (status >= 200 || status == 101) {
			r->f->http_status = status;
			return true;
		}
	}
}

static bool read_chunked(struct reader *r)
{
	char line[HTTP_MAX_LINE];
	for (;;) {
		if (!read_line(r, line, sizeof(line), "a chunk size line"))
			return false;
		size_t digits = strspn(line, "0123456789abcdefABCDEF");
		if (digits == 0 || digits > 15 ||
		    (line[digits] != '\0' && line[digits] != ';' && line[digits] != ' ' &&
		     line[digits] != '\t')) {
			fetch_fail(r->f, "fetch_failed", "malformed chunk size");
			return false;
		}
		uint64_t size = strtoull(line, NULL, 16);
		if (size == 0)
			break;
		if (too_large(r->f, r->f->body.len + size, "the chunked body"))
			return false;
		if (!read_exact(r, (size_t)size))
			return false;
		if (!read_line(r, line, sizeof(line), "the end of a chunk"))
			return false;
		if (line[0]) {
			fetch_fail(r->f, "fetch_failed", "chunk longer than its size");
			return false;
		}
	}
	for (size_t n = 0;; n++) { /* trailer fields, ignored */
		if (!read_line(r, line, sizeof(line), "the chunked trailer"))
			return false;
		if (!line[0])
			return true;
		if (n >= HTTP_MAX_HEADERS) {
			fetch_fail(r->f, "fetch_failed", "chunked trailer over the limit");
			return false;
		}
	}
}

static bool read_to_close(struct reader *r)
{
	for (;;) {
		size_t avail = r->end - r->start;
		if (too_large(r->f, (uint64_t)r->f->body.len + avail, "the body"))
			return false;
		if (avail && !strbuf_append(&r->f->body, r->buf + r->start, avail)) {
			fetch_fail(r->f, "fetch_failed", "out of memory");
			return false;
		}
		r->start = r->end = 0;
		int rc = reader_fill(r);
		if (rc < 0)
			return false;
		if (rc == 0)
			break;
	}
	if (!r->clean_eof) {
		fetch_fail(
			r->f, "fetch_failed",
			"connection closed without a TLS close_notify (the body may be truncated)");
		return false;
	}
	return true;
}

static bool exchange(struct fetch *f, SSL *ssl, int fd)
{
	const struct cimd_url *u = f->url;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_connect(ssl);
		if (rc == 1)
			break;
		if (!tls_retry(f, ssl, fd, rc, "the TLS handshake"))
			return false;
	}
	char request[HTTP_MAX_LINE + 512];
	int len = snprintf(request, sizeof(request),
			   "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
			   "User-Agent: mcptrail-cimd/1\r\nConnection: close\r\n\r\n",
			   u->target, u->authority);
	if (len < 0 || (size_t)len >= sizeof(request)) {
		fetch_fail(f, "fetch_failed", "URL too long for a request line");
		return false;
	}
	for (int sent = 0; sent < len;) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_write(ssl, request + sent, len - sent);
		if (rc > 0)
			sent += rc;
		else if (!tls_retry(f, ssl, fd, rc, "sending the request"))
			return false;
	}
	struct reader *r = calloc(1, sizeof(*r));
	struct http_head head;
	bool ok = false;
	if (!r) {
		fetch_fail(f, "fetch_failed", "out of memory");
		return false;
	}
	r->f = f;
	r->ssl = ssl;
	r->fd = fd;
	if (!read_head(r, &head))
		goto out;
	if (f->http_status >= 300 && f->http_status < 400) {
		fetch_fail(f, "fetch_failed", "HTTP %d redirect%s%s is not followed",
			   f->http_status, head.location[0] ? " to " : "", head.location);
		goto out;
	}
	if (f->http_status != 200) {
		fetch_fail(f, "fetch_failed", "HTTP %d (only 200 is accepted)", f->http_status);
		goto out;
	}
	if (head.chunked) {
		ok = read_chunked(r);
	} else if (head.has_length) {
		char how[64];
		snprintf(how, sizeof(how), "Content-Length %llu", (unsigned long long)head.length);
		ok = !too_large(f, head.length, how) && read_exact(r, (size_t)head.length);
	} else {
		ok = read_to_close(r);
	}
out:
	free(r);
	return ok;
}

static void fetch_document(struct fetch *f)
{
	const struct cimd_url *u = f->url;
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	SSL *ssl = NULL;
	int fd = -1;
	int gai = getaddrinfo(u->host, u->port, &hints, &res);
	if (gai != 0) {
		fetch_fail(f, "fetch_failed", "cannot resolve %s: %s", u->host,
			   gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		goto out;
	}
	for (const struct addrinfo *ai = res; ai && !f->cache->cfg.allow_private;
	     ai = ai->ai_next) {
		if (cimd_address_is_private(ai->ai_addr)) {
			char addr[INET6_ADDRSTRLEN + 8];
			address_text(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
			fetch_fail(f, "private_address",
				   "%s resolves to %s, a loopback, private or otherwise non-public "
				   "address (allow_private is off); nothing was fetched",
				   u->host, addr);
			goto out;
		}
	}
	if (!ensure_ssl_ctx(f))
		goto out;
	f->deadline_ms = monotonic_ms() + f->cache->cfg.timeout_ms;
	char err[DETAIL_MAX] = "no address";
	for (const struct addrinfo *ai = res; ai && fd < 0 && !f->status; ai = ai->ai_next)
		fd = connect_to(f, ai, err, sizeof(err));
	if (fd < 0) {
		fetch_fail(f, "fetch_failed", "%s", err);
		goto out;
	}
	ssl = SSL_new(f->cache->ssl_ctx);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		fetch_fail(f, "fetch_failed", "cannot set up TLS");
		goto out;
	}
	if (u->host_is_ip || strchr(u->host, ':')) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host);
	} else {
		SSL_set_tlsext_host_name(ssl, u->host);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(ssl, u->host);
	}
	exchange(f, ssl, fd);
out:
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
}

/* Runs the fetch with SIGPIPE blocked in this thread; a SIGPIPE it raised is discarded. */
static void fetch_guarded(struct fetch *f)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE) == 1;
	fetch_document(f);
	if (!was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- lookup ---- */

static json_t *url_json(const char *url)
{
	if (utf8_valid(url, strlen(url)))
		return json_string(url);
	char copy[2048];
	printable_copy(copy, sizeof(copy), url, strlen(url));
	return json_string(copy);
}

static json_t *make_result(const char *url, bool fetched, const char *status, const char *detail,
			   const char *sha256, int http_status, json_t *problems,
			   const char *client_name, bool changed, const char *previous_sha256)
{
	if (!problems)
		problems = json_array();
	return json_pack(
		"{s:o, s:b, s:s, s:s, s:s?, s:o?, s:o, s:s?, s:b, s:s?}", "url", url_json(url),
		"fetched", fetched, "status", status, "detail", detail, "sha256", sha256,
		"http_status", http_status ? json_integer(http_status) : NULL, "problems", problems,
		"client_name", client_name, "changed", changed, "previous_sha256", previous_sha256);
}

/* The result of a finished fetch; updates entry's hash when a document arrived. */
static json_t *fetch_result(const char *url, struct fetch *f, struct cimd_entry *entry)
{
	const char *previous = entry->sha256[0] ? entry->sha256 : NULL;
	if (f->status)
		return make_result(url, true, f->status, f->detail, NULL, f->http_status, NULL,
				   NULL, false, previous);
	char sha[65], prev_copy[65], detail[64];
	sha256_hex(f->body.data ? f->body.data : "", f->body.len, sha);
	json_t *doc = NULL;
	json_t *problems = validate(url, f->body.data ? f->body.data : "", f->body.len, &doc);
	if (!problems)
		return NULL;
	size_t n = json_array_size(problems);
	if (n)
		snprintf(detail, sizeof(detail), "%zu problem%s in the document", n,
			 n == 1 ? "" : "s");
	else
		snprintf(detail, sizeof(detail), "valid client metadata document");
	bool changed = previous && strcmp(previous, sha) != 0;
	if (previous)
		memcpy(prev_copy, previous, sizeof(prev_copy));
	memcpy(entry->sha256, sha, sizeof(sha));
	const char *name = json_string_value(json_object_get(doc, "client_name"));
	json_t *result = make_result(url, true, n ? "invalid" : "ok", detail, sha, f->http_status,
				     problems, name, changed, previous ? prev_copy : NULL);
	json_decref(doc);
	return result;
}

static struct cimd_entry *entry_for(struct cimd_cache *c, const char *url)
{
	struct cimd_entry *e = hashmap_get(c->entries, url, strlen(url));
	if (e)
		return e;
	if (hashmap_count(c->entries) >= CIMD_CACHE_MAX_ENTRIES) {
		struct oldest o = {NULL};
		hashmap_each(c->entries, find_oldest, &o);
		if (o.entry)
			entry_free(hashmap_remove(c->entries, o.entry->url, strlen(o.entry->url)));
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->url = strdup(url)) || !hashmap_put(c->entries, e->url, strlen(url), e)) {
		entry_free(e);
		return NULL;
	}
	return e;
}

json_t *cimd_lookup(struct cimd_cache *cache, const char *url, int64_t now_s)
{
	json_t *result = NULL;
	struct cimd_url u;
	char detail[DETAIL_MAX];
	if (!cache || !url)
		return NULL;
	const char *problem = url_parse(url, &u);
	if (problem) {
		snprintf(detail, sizeof(detail), "the client_id URL %s", problem);
		result = make_result(url, false, "bad_url", detail, NULL, 0, NULL, NULL, false,
				     NULL);
		goto out;
	}
	if (!cache->cfg.enabled) {
		result = make_result(url, false, "disabled",
				     "fetching client metadata documents is off", NULL, 0, NULL,
				     NULL, false, NULL);
		goto out;
	}
	if (!host_allowed(cache, u.host)) {
		snprintf(detail, sizeof(detail), "host %s is not on the allowlist", u.host);
		result = make_result(url, false, "not_allowed", detail, NULL, 0, NULL, NULL, false,
				     NULL);
		goto out;
	}
	struct cimd_entry *entry = entry_for(cache, url);
	if (!entry)
		goto out;
	if (entry->result && now_s >= entry->fetched_at &&
	    now_s - entry->fetched_at < cache->cfg.cache_ttl_s) {
		result = json_deep_copy(entry->result);
		if (result && (json_object_set_new(result, "fetched", json_false()) ||
			       json_object_set_new(result, "changed", json_false()))) {
			json_decref(result);
			result = NULL;
		}
		goto out;
	}
	struct fetch f = {.cache = cache, .url = &u};
	fetch_guarded(&f);
	result = fetch_result(url, &f, entry);
	strbuf_free(&f.body);
	json_t *kept = result ? json_deep_copy(result) : NULL;
	if (kept) {
		json_decref(entry->result);
		entry->result = kept;
		entry->fetched_at = now_s;
	}
out:
	url_clear(&u);
	return result;
}
