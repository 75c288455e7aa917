/* sink_syslog: events as RFC 5424 syslog messages over UDP (RFC 5426), TCP (RFC 6587 octet
 * counting or LF framing) or TLS (RFC 5425, octet counting).
 *
 * URIs: syslog+udp://HOST[:PORT][?OPTIONS], syslog+tcp://..., syslog+tls://...; OPTIONS are
 * key=value pairs joined by '&' (values may be %XX-encoded):
 *   facility=NAME|0..23        all   default local0 (16)
 *   hostname=NAME              all   HOSTNAME field; default: this host's name
 *   write_timeout_ms=N         all   default 5000
 *   framing=octet|newline      tcp   default octet; tls allows only octet (RFC 5425)
 *   connect_timeout_ms=N       tcp, tls  default 5000
 *   handshake_timeout_ms=N     tls   default: connect_timeout_ms
 *   ca=PATH                    tls   CA file or directory; default: the system store
 *   cert=PATH, key=PATH        tls   client certificate (PEM chain) and key (default: in cert)
 *   servername=NAME            tls   name to verify and send as SNI; default: HOST
 *   max_udp=N                  udp   datagram size cap, 480..65507, default 2048
 * An option that does not apply to the scheme is refused, naming it.
 *
 * The formatting functions below are pure and exposed for tests and fuzzing. */
#ifndef MCPTRAIL_SINK_SYSLOG_H
#define MCPTRAIL_SINK_SYSLOG_H

#include "collector/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

enum syslog_transport {
	SYSLOG_UDP,
	SYSLOG_TCP,
	SYSLOG_TLS,
};

enum syslog_framing {
	SYSLOG_FRAMING_OCTET,	/* RFC 6587 §3.4.1: "MSG-LEN SP SYSLOG-MSG" */
	SYSLOG_FRAMING_NEWLINE, /* RFC 6587 §3.4.2: "SYSLOG-MSG LF" */
};

#define SYSLOG_DEFAULT_FACILITY 16 /* local0 */
#define SYSLOG_DEFAULT_MAX_UDP 2048
#define SYSLOG_SD_VALUE_MAX 256 /* bytes of one PARAM-VALUE before escaping */

struct syslog_options {
	enum syslog_transport transport;
	char host[256]; /* without IPv6 brackets */
	char port[6];
	int facility;
	enum syslog_framing framing;
	char hostname[256];		    /* empty: this host's name */
	char *ca, *cert, *key, *servername; /* owned; NULL when not given */
	unsigned connect_timeout_ms, handshake_timeout_ms, write_timeout_ms;
	size_t max_udp;
};

/* Parses arg, the URI after "syslog+udp:" / "syslog+tcp:" / "syslog+tls:" ("//HOST:PORT?..."),
 * into opt (which it initialises). Returns 0, or -1 with a message naming the bad option in err
 * (opt then holds nothing to free). */
int syslog_options_parse(enum syslog_transport t, const char *arg, struct syslog_options *opt,
			 char *err, size_t errlen);
void syslog_options_free(struct syslog_options *opt);

/* "local3" → 19, "16" → 16; -1 when unknown. */
int syslog_facility_from_name(const char *name);

/* The fixed header fields of every message. */
struct syslog_header {
	int facility;
	const char *hostname; /* printable US-ASCII, ≤255 (see syslog_sanitize_name) */
	const char *app_name; /* ≤48 */
	const char *procid;   /* ≤128 */
};

/* RFC 5424 severity of an event: finding severity critical 2, high 3, medium 4, low 5; outcomes
 * tool_error, rpc_error and denied, ingest.error and mcp.http_error 4 (warning); else 6 (info). */
int syslog_severity(const json_t *event);
/* MSGID for the event type (TOOLCALL, TASK, SESSION, AUTH, FINDING, INGEST, ...): 1..32
 * printable US-ASCII, or "-" when the event has no type. */
void syslog_msgid(const json_t *event, char out[33]);
/* RFC 3339 time → RFC 5424 TIMESTAMP (upper-case T/Z, at most 6 fraction digits). false (out =
 * "-") when the text is not an RFC 3339 date-time. */
bool syslog_timestamp(const char *rfc3339, char out[40]);
/* Copies name as a header field: bytes outside printable US-ASCII become '_', at most max bytes;
 * "-" when empty. out holds max + 1 bytes. */
void syslog_sanitize_name(const char *name, char *out, size_t max);
/* Appends a PARAM-VALUE body (no quotes): '"', '\' and ']' escaped with '\' (RFC 5424 §6.3.3),
 * control characters as '?', invalid UTF-8 as U+FFFD, at most SYSLOG_SD_VALUE_MAX input bytes (cut
 * on a character boundary). */
bool syslog_append_param_value(struct strbuf *out, const char *s, size_t len);

/* Appends one RFC 5424 message: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD" and, when len
 * > 0, " " + MSG, where MSG is the payload with a UTF-8 BOM in front when it is valid UTF-8. With
 * with_sd false the SD is "-". *msg_offset (may be NULL) receives where MSG starts in out (out->len
 * when there is none). false on OOM (out may hold part of the message). */
bool syslog_format_message(const struct syslog_header *h, const json_t *event, const char *payload,
			   size_t len, bool with_sd, struct strbuf *out, size_t *msg_offset);

/* Appends msg framed for a stream: octet counting "LEN SP MSG", or "MSG LF" with any LF or CR
 * inside msg replaced by a space (they would split it). */
bool syslog_frame(enum syslog_framing framing, const char *msg, size_t len, struct strbuf *out);

/* The longest prefix of s[0..len) no longer than max that does not end inside a UTF-8 sequence. */
size_t syslog_utf8_cut(const char *s, size_t len, size_t max);

/* Formats the message for one datagram of at most max bytes into out (reset first). A longer
 * message is cut on a UTF-8 boundary inside MSG; when even the header and SD do not fit, the SD
 * is dropped first. Sets *truncated. false on OOM. */
bool syslog_format_datagram(const struct syslog_header *h, const json_t *event, const char *payload,
			    size_t len, size_t max, struct strbuf *out, bool *truncated);

/* Counters of an open syslog sink (for tests and the closing report). */
struct syslog_stats {
	uint64_t messages, truncated, connects, connect_failures, udp_refused;
};
/* false when s is not a syslog sink. */
bool syslog_sink_stats(const struct sink *s, struct syslog_stats *out);

#endif
