/* fuzz_syslog_format: the RFC 5424 formatting, framing and datagram truncation of the syslog sink,
 * and its URI option parser.
 *
 * The input is split at its first NUL byte: the part before is an event (JSON; when it does not
 * parse, an event whose type, time, tool, subject and session are all that text), the part after
 * is the payload. The first byte also picks a datagram size (480..2527). The whole input, as
 * text, is parsed as the URI of each scheme.
 *
 * Checks: a message is "<PRI>1 " with PRI = facility * 8 + severity, six header fields of
 * printable US-ASCII, a TIMESTAMP of RFC 3339 shape or "-", then "-" or one well-formed
 * SD-ELEMENT (params name="value" with only '"', '\' and ']' escaped, no control characters),
 * then nothing or " " + MSG, where MSG is the payload, with a BOM exactly when the payload is
 * UTF-8; an octet-counted frame carries the message's length; a datagram is at most its size, a
 * prefix of the message (or of the message without SD), UTF-8 when the message was, and marked
 * truncated exactly when it is shorter; parsed options are within their documented ranges.
 */
#include "sinks/sink_syslog.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_syslog_format: invariant violated: %s\n", what);
	abort();
}

static bool printable_ascii(char c)
{
	return c >= 33 && c <= 126;
}

/* Checks one header field at *p (up to the next SP) and moves past the SP. */
static void header_field(const char **p, const char *end, size_t max, const char *what)
{
	const char *start = *p;
	while (*p < end && **p != ' ') {
		if (!printable_ascii(**p))
			fail(what);
		(*p)++;
	}
	if (*p == start || (size_t)(*p - start) > max || *p == end)
		fail(what);
	(*p)++;
}

/* Checks the message; returns where MSG starts (end when there is none). */
static const char *check_message(const char *m, size_t len, int facility, int severity)
{
	const char *p = m, *end = m + len;
	char prefix[16];
	int n = snprintf(prefix, sizeof(prefix), "<%d>1 ", facility * 8 + severity);
	if (len < (size_t)n || memcmp(m, prefix, (size_t)n) != 0)
		fail("PRI or VERSION");
	p += n;
	const char *ts = p;
	header_field(&p, end, 32, "TIMESTAMP");
	if (!(p - ts == 2 && ts[0] == '-') && (p - ts < 21 || ts[4] != '-' || ts[10] != 'T'))
		fail("TIMESTAMP shape");
	header_field(&p, end, 255, "HOSTNAME");
	header_field(&p, end, 48, "APP-NAME");
	header_field(&p, end, 128, "PROCID");
	header_field(&p, end, 32, "MSGID");
	if (p < end && *p == '-') {
		p++;
	} else {
		static const char sd_id[] = "[mcp@32473";
		if ((size_t)(end - p) < sizeof(sd_id) - 1 || memcmp(p, sd_id, sizeof(sd_id) - 1))
			fail("SD-ID");
		p += sizeof(sd_id) - 1;
		int params = 0;
		while (p < end && *p == ' ') {
			const char *name = ++p;
			while (p < end && *p != '=') {
				if (!printable_ascii(*p) || *p == ']' || *p == '"')
					fail("SD-NAME");
				p++;
			}
			if (p == name || p - name > 32 || p + 1 >= end || p[1] != '"')
				fail("PARAM-NAME");
			p += 2;
			for (;;) {
				if (p >= end)
					fail("unterminated PARAM-VALUE");
				unsigned char c = (unsigned char)*p;
				if (c < 0x20 || c == 0x7F)
					fail("control character in PARAM-VALUE");
				if (c == ']')
					fail("unescaped ']' in PARAM-VALUE");
				if (c == '\\') {
					if (p + 1 >= end ||
					    (p[1] != '"' && p[1] != '\\' && p[1] != ']'))
						fail("a backslash escaping something else");
					p += 2;
					continue;
				}
				p++;
				if (c == '"')
					break;
			}
			params++;
		}
		if (params == 0 || p >= end || *p != ']')
			fail("SD-ELEMENT");
		p++;
	}
	if (p == end)
		return end;
	if (*p != ' ')
		fail("no SP before MSG");
	return p + 1;
}

static void check_options(const char *text)
{
	for (int t = SYSLOG_UDP; t <= SYSLOG_TLS; t++) {
		struct syslog_options o;
		char err[256];
		err[0] = '\0';
		if (syslog_options_parse((enum syslog_transport)t, text, &o, err, sizeof(err)) !=
		    0) {
			if (!err[0])
				fail("an option error without a message");
			continue;
		}
		if (!o.host[0] || o.facility < 0 || o.facility > 23 || o.max_udp < 480 ||
		    o.max_udp > 65507 || o.write_timeout_ms < 1 || o.connect_timeout_ms < 1 ||
		    o.handshake_timeout_ms < 1 || strtoul(o.port, NULL, 10) < 1)
			fail("accepted options out of range");
		if (t != SYSLOG_TLS && (o.ca || o.cert || o.key || o.servername))
			fail("TLS options accepted on a scheme without TLS");
		if (t == SYSLOG_TLS && o.framing != SYSLOG_FRAMING_OCTET)
			fail("syslog+tls without octet counting");
		if (o.key && !o.cert)
			fail("a key without a certificate");
		syslog_options_free(&o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t event_len = nul ? (size_t)(nul - text) : size;
	const char *payload = nul ? nul + 1 : "";
	size_t payload_len = nul ? size - event_len - 1 : 0;

	json_t *event = json_loadb(text, event_len, JSON_DECODE_ANY, NULL);
	if (!event) {
		json_t *s = json_stringn_nocheck(text, event_len);
		event = json_pack("{sO sO s{sO sO} s{sO} s{sO}}", "type", s, "time", s, "call",
				  "tool", s, "outcome", s, "identity", "subject", s, "session",
				  "id", s);
		json_decref(s);
	}
	if (!event)
		return 0;
	int facility = size ? data[0] % 24 : 16;
	struct syslog_header h = {facility, "fuzz-host", "mcptrail", "4242"};
	int severity = syslog_severity(event);
	if (severity < 0 || severity > 7)
		fail("severity out of range");

	struct strbuf m = STRBUF_INIT, framed = STRBUF_INIT, d = STRBUF_INIT, bare = STRBUF_INIT;
	size_t msg_offset;
	if (!syslog_format_message(&h, event, payload, payload_len, true, &m, &msg_offset))
		fail("format failed");
	const char *msg = check_message(m.data, m.len, facility, severity);
	if ((size_t)(msg - m.data) != msg_offset)
		fail("msg_offset is not where MSG starts");
	bool utf8 = utf8_valid(payload, payload_len);
	size_t bom = payload_len && utf8 ? 3 : 0;
	if (m.len - msg_offset != payload_len + bom ||
	    (bom && memcmp(msg, "\xEF\xBB\xBF", 3) != 0) ||
	    memcmp(msg + bom, payload, payload_len) != 0)
		fail("MSG is not the payload with a BOM exactly when UTF-8");

	if (!syslog_frame(SYSLOG_FRAMING_OCTET, m.data, m.len, &framed))
		fail("frame failed");
	char *space;
	unsigned long frame_len = strtoul(framed.data, &space, 10);
	if (*space != ' ' || frame_len != m.len || framed.data[0] == '0' ||
	    memcmp(space + 1, m.data, m.len) != 0)
		fail("octet counting");
	strbuf_reset(&framed);
	if (!syslog_frame(SYSLOG_FRAMING_NEWLINE, m.data, m.len, &framed) ||
	    framed.len != m.len + 1 || memchr(framed.data, '\n', m.len) ||
	    framed.data[m.len] != '\n')
		fail("newline framing");

	size_t max = 480 + (size ? data[size - 1] : 0) * 8u;
	bool truncated;
	if (!syslog_format_datagram(&h, event, payload, payload_len, max, &d, &truncated) ||
	    !syslog_format_message(&h, event, payload, payload_len, false, &bare, NULL))
		fail("datagram failed");
	if (d.len > max || truncated != (d.len < m.len) ||
	    (memcmp(d.data, m.data, d.len) != 0 && memcmp(d.data, bare.data, d.len) != 0))
		fail("datagram is not a bounded prefix");
	if (utf8_valid(m.data, m.len) && !utf8_valid(d.data, d.len))
		fail("datagram cut inside a UTF-8 character");
	if (!truncated && (d.len != m.len || memcmp(d.data, m.data, m.len) != 0))
		fail("untruncated datagram differs from the message");

	char *uri = strndup(text, size);
	if (uri) {
		check_options(uri);
		free(uri);
	}
	strbuf_free(&m);
	strbuf_free(&framed);
	strbuf_free(&d);
	strbuf_free(&bare);
	json_decref(event);
	return 0;
}
