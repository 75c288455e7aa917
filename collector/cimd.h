/* cimd: Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP SEP-991).
 *
 * A client_id that is an https URL names the client's metadata document. This module checks such a
 * URL, validates a document against it and, when configured, fetches the document, so the audit
 * trail can say what a client claimed to be and notice when that claim changes.
 *
 * Fetching is off by default: it makes the collector connect to hosts named by the traffic it
 * records, which is a server-side request forgery vector. When it is on:
 *   - only hosts on an exact allowlist are fetched;
 *   - the host name is resolved once (getaddrinfo) and EVERY resolved address must be a public
 *     unicast address unless allow_private is set; the connection then goes to one of those
 *     checked addresses, never to a second resolution (no DNS rebinding between check and use);
 *   - TLS 1.2+ with the certificate chain and the host name (or IP literal) verified, SNI sent;
 *   - one `GET <path>?<query> HTTP/1.1` with Host and `Accept: application/json`; only a 200 is
 *     accepted (a redirect is a failure, never followed); Content-Length, chunked and
 *     close-delimited bodies (the last only with a TLS close_notify, so truncation is noticed);
 *     no content codings;
 *   - the body is limited to max_bytes, connect + TLS + request + response to timeout_ms in total.
 *     Name resolution is bounded by the resolver's own settings (resolv.conf), not by timeout_ms.
 * Results are cached per URL with the document's SHA-256; a later fetch that finds a different
 * document reports changed = true, which the caller turns into a finding.
 *
 * Thread safety: a cimd_cache belongs to one thread. The fetch is synchronous (the importer is a
 * batch job). SIGPIPE is blocked in the calling thread during a fetch and a SIGPIPE raised by it is
 * discarded, so a server closing early cannot kill the process.
 */
#ifndef MCPTRAIL_CIMD_H
#define MCPTRAIL_CIMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIMD_DEFAULT_MAX_BYTES (64 * 1024)
#define CIMD_DEFAULT_TIMEOUT_MS 5000
#define CIMD_DEFAULT_CACHE_TTL_S 3600
/* URLs remembered by one cache; when full, the entry fetched longest ago is forgotten (a change of
 * that document is then not noticed on its next fetch). */
#define CIMD_CACHE_MAX_ENTRIES 4096

struct cimd_config {
	bool enabled;			/* off by default */
	const char *const *allow_hosts; /* exact host names or IP literals (IPv6 with or without
					   brackets), case-insensitive; empty = none allowed */
	size_t nallow;
	bool allow_private;  /* allow loopback/private/link-local/ULA/CGNAT and other non-public
				addresses (for tests and internal IdPs) */
	size_t max_bytes;    /* body limit; 0 means the default, 64 KiB */
	int timeout_ms;	     /* connect + TLS + request + response, in total; <= 0: default 5000 */
	const char *ca_file; /* PEM trust anchors; NULL: the system CA store */
	int64_t cache_ttl_s; /* how long a fetch result (document or failure) is reused before the
				next fetch; default 3600; negative is taken as 0 (always refetch) */
};

/* Fetching off, no hosts, no private addresses, the default limits, the system CA store. */
void cimd_config_defaults(struct cimd_config *cfg);

struct cimd_cache;

/* Copies cfg (allow_hosts and ca_file too: the caller's strings need not outlive the call). cfg
 * NULL means the defaults. NULL on OOM. The TLS context is created at the first fetch, so a bad
 * ca_file shows up as a fetch_failed result naming it. */
struct cimd_cache *cimd_cache_new(const struct cimd_config *cfg);
/* cimd_cache_free(NULL) is a no-op. */
void cimd_cache_free(struct cimd_cache *cache);

/* URL syntax check per the CIMD rules: https (scheme case-insensitive), a host (a name of letters,
 * digits, '-', '.', '_', or an IP literal), an optional port 1-65535, a path other than "/", no
 * fragment, no userinfo, no "." or ".." segments (also percent-encoded as %2e). A query is allowed
 * (the draft discourages it). Spaces, backslashes, control and non-ASCII bytes are refused.
 * Returns NULL if OK, else a static reason such as "has a fragment". */
const char *cimd_url_problem(const char *url);

/* Validates a fetched document body against its URL: a JSON object (duplicate member names
 * refused); client_id a string equal to url exactly (no normalization: a trailing slash differs);
 * client_name a string and redirect_uris a non-empty array of strings (MCP requires both);
 * token_endpoint_auth_method not client_secret_basic/client_secret_post/client_secret_jwt; no
 * client_secret or client_secret_expires_at. Returns a new jansson array of problem strings, each
 * naming the member ("client_id: ..."), empty when valid; NULL on OOM. */
json_t *cimd_validate_document(const char *url, const char *body, size_t len);

/* Looks up (fetching if enabled, allowed and due) the document for url at time now_s (seconds;
 * passed in so callers and tests control time). Returns a new JSON object (the caller's to modify;
 * the cache keeps its own copy), NULL only on OOM or a NULL argument. Every member is present:
 *   "url":             the URL looked up
 *   "fetched":         true when this call went to the network (resolution, and a connection when
 *                      the addresses passed); false when answered from the cache or stopped by
 *                      the URL or the configuration
 *   "status":          "ok"              document fetched and valid
 *                      "invalid"         document fetched, see problems
 *                      "disabled"        fetching is off (no network)
 *                      "not_allowed"     host not on the allowlist (no network)
 *                      "bad_url"         cimd_url_problem() refused the URL (no network)
 *                      "private_address" the host resolves to a non-public address and
 *                                        allow_private is off (no connection made)
 *                      "fetch_failed"    resolution, connection, TLS (e.g. certificate), a
 *                                        status other than 200 (redirects too) or bad HTTP
 *                      "too_large"       the body exceeds max_bytes
 *                      "timeout"         timeout_ms elapsed
 *   "detail":          one line of text saying why (the URL problem, the TLS error, ...)
 *   "sha256":          hex SHA-256 of the document body (ok and invalid), else null
 *   "http_status":     the response status when a response head was read, else null
 *   "problems":        cimd_validate_document() problems (empty unless invalid)
 *   "client_name":     the document's client_name when a string, else null
 *   "changed":         true when this call fetched a document whose SHA-256 differs from the
 *                      previous document cached for this URL (reported once, on that fetch)
 *   "previous_sha256": the SHA-256 of the document cached for this URL before the fetch that
 *                      produced this result (null when there was none), also when unchanged
 * A cached result (fetched within cache_ttl_s of now_s, by the clock of earlier calls) is returned
 * with fetched and changed false. Failures are cached too, so a batch with many records naming an
 * unreachable URL waits for it once per TTL; a failure keeps the last document's hash, so a change
 * across a failed fetch is still noticed. A now_s earlier than the cached fetch counts as due. */
json_t *cimd_lookup(struct cimd_cache *cache, const char *url, int64_t now_s);

/* The address rule of the fetch: true when sa is not a public unicast address. IPv4: 0/8, 10/8,
 * 100.64/10 (CGNAT), 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24,
 * 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4 and 240/4 (multicast, reserved,
 * broadcast). IPv6: ::/96 (unspecified, loopback, IPv4-compatible), 100::/64, 2001::/23,
 * 2001:db8::/32, 3fff::/20, 64:ff9b:1::/48, fc00::/7 (ULA), fe80::/10, fec0::/10, ff00::/8; the
 * IPv4 address inside ::ffff:0:0/96 (mapped), 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) is judged
 * by the IPv4 rule. Any other address family counts as private. */
bool cimd_address_is_private(const struct sockaddr *sa);
/* Same for a numeric IPv4 (dotted quad) or IPv6 literal (no brackets): 1 private, 0 public, -1 when
 * ip is not such a literal. */
int cimd_ip_literal_is_private(const char *ip);

#endif
