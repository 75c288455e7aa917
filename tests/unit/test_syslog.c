/* Unit tests for the syslog sink: RFC 5424 formatting (PRI, TIMESTAMP, MSGID, SD escaping, BOM),
 * RFC 6587 framing, the URI options and their contradictions, UDP truncation on a UTF-8 boundary,
 * and the TCP transport against a local listener: reconnect after the receiver closes, backoff
 * while it is down. */
#include "sinks/sink.h"
#include "sinks/sink_syslog.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define BOM "\xEF\xBB\xBF"

static const struct syslog_header HEADER = {13, "gw01", "mcptrail", "4242"};

static json_t *event_from(const char *text)
{
	json_error_t e;
	json_t *ev = json_loads(text, 0, &e);
	if (!ev)
		fail_msg("bad test JSON: %s: %s", text, e.text);
	return ev;
}

/* The message for an event given as JSON text, with payload "{}" (or none when NULL). */
static char *format(const struct syslog_header *h, const char *event_json, const char *payload)
{
	json_t *ev = event_from(event_json);
	struct strbuf out = STRBUF_INIT;
	size_t msg = 0;
	assert_true(syslog_format_message(h, ev, payload, payload ? strlen(payload) : 0, true, &out,
					  &msg));
	json_decref(ev);
	char *s = strdup(out.data);
	strbuf_free(&out);
	return s;
}

/* ---- message format ---- */

static void test_message_fields_in_order(void **state)
{
	(void)state;
	char *m =
		format(&HEADER,
		       "{\"schema\":\"mcptrail/1\",\"event_id\":\"e1\",\"type\":\"mcp.tool_call\","
		       "\"time\":\"2026-08-27T00:22:00.789123456Z\",\"call\":{\"tool\":"
		       "\"create_issue\",\"outcome\":\"ok\"},\"identity\":{\"subject\":\"alice\","
		       "\"client_id\":\"https://c.example/m.json\"},\"session\":{\"id\":\"s1\"},"
		       "\"task\":{\"id\":\"github+786512e2\",\"status\":\"completed\"}}",
		       "{\"a\":1}");
	/* facility 13 (audit) * 8 + info (6) = 110, the example of the reference notes */
	assert_string_equal(m, "<110>1 2026-08-27T00:22:00.789123Z gw01 mcptrail 4242 TOOLCALL "
			       "[mcp@32473 type=\"mcp.tool_call\" event_id=\"e1\" "
			       "tool=\"create_issue\" outcome=\"ok\" subject=\"alice\" "
			       "client_id=\"https://c.example/m.json\" session=\"s1\" "
			       "task=\"github+786512e2\"] " BOM "{\"a\":1}");
	free(m);
}

static void test_message_without_fields_or_payload(void **state)
{
	(void)state;
	struct syslog_header h = {SYSLOG_DEFAULT_FACILITY, "-", "mcptrail", "1"};
	char *m = format(&h, "{}", NULL);
	assert_string_equal(m, "<134>1 - - mcptrail 1 - -");
	free(m);
	/* null identity fields are left out, not written as "null" */
	m = format(
		&h,
		"{\"type\":\"mcp.task\",\"time\":\"2026-01-02T03:04:05Z\",\"identity\":{"
		"\"subject\":null,\"client_id\":null},\"task\":{\"id\":\"t9\",\"tool\":\"slow\"}}",
		"x");
	assert_string_equal(m, "<134>1 2026-01-02T03:04:05Z - mcptrail 1 TASK [mcp@32473 "
			       "type=\"mcp.task\" tool=\"slow\" task=\"t9\"] " BOM "x");
	free(m);
}

static void test_bom_only_for_utf8_payloads(void **state)
{
	(void)state;
	json_t *ev = event_from("{\"type\":\"mcp.session\"}");
	struct strbuf out = STRBUF_INIT;
	size_t msg;
	assert_true(syslog_format_message(&HEADER, ev, "caf\xC3\xA9", 5, true, &out, &msg));
	assert_memory_equal(out.data + msg, BOM "caf\xC3\xA9", 8);
	strbuf_reset(&out);
	/* not UTF-8: MSG-ANY, no BOM (it would claim an encoding the bytes do not have) */
	assert_true(syslog_format_message(&HEADER, ev, "caf\xE9", 4, true, &out, &msg));
	assert_int_equal(out.len - msg, 4);
	assert_memory_equal(out.data + msg, "caf\xE9", 4);
	strbuf_free(&out);
	json_decref(ev);
}

static void test_severity_and_pri(void **state)
{
	(void)state;
	static const struct {
		const char *event;
		int severity;
	} cases[] = {
		{"{\"type\":\"finding\",\"finding\":{\"severity\":\"critical\"}}", 2},
		{"{\"type\":\"finding\",\"finding\":{\"severity\":\"high\"}}", 3},
		{"{\"type\":\"finding\",\"finding\":{\"severity\":\"medium\"}}", 4},
		{"{\"type\":\"finding\",\"finding\":{\"severity\":\"low\"}}", 5},
		{"{\"type\":\"finding\",\"finding\":{\"severity\":\"info\"}}", 6},
		{"{\"type\":\"mcp.tool_call\",\"call\":{\"outcome\":\"tool_error\"}}", 4},
		{"{\"type\":\"mcp.tool_call\",\"call\":{\"outcome\":\"rpc_error\"}}", 4},
		{"{\"type\":\"mcp.tool_call\",\"call\":{\"outcome\":\"denied\"}}", 4},
		{"{\"type\":\"mcp.tool_call\",\"call\":{\"outcome\":\"ok\"}}", 6},
		{"{\"type\":\"mcp.tool_call\",\"call\":{\"outcome\":\"cancelled\"}}", 6},
		{"{\"type\":\"mcp.request\",\"request\":{\"outcome\":\"rpc_error\"}}", 4},
		{"{\"type\":\"ingest.error\"}", 4},
		{"{\"type\":\"ingest.summary\"}", 6},
		{"{\"type\":\"mcp.session\"}", 6},
		{"{}", 6},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = event_from(cases[i].event);
		assert_int_equal(syslog_severity(ev), cases[i].severity);
		json_decref(ev);
	}
	/* PRI = facility * 8 + severity: local3 (19) and a high finding */
	struct syslog_header h = {19, "h", "mcptrail", "7"};
	char *m = format(&h, "{\"type\":\"finding\",\"finding\":{\"severity\":\"high\"}}", NULL);
	assert_memory_equal(m, "<155>1 ", 7);
	assert_non_null(strstr(m, " FINDING "));
	free(m);
}

static void test_msgid_per_type(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"mcp.tool_call", "TOOLCALL"},
		{"mcp.task", "TASK"},
		{"mcp.session", "SESSION"},
		{"mcp.auth", "AUTH"},
		{"finding", "FINDING"},
		{"ingest.error", "INGEST"},
		{"ingest.summary", "INGEST"},
		{"mcp.request", "REQUEST"},
		{"identity.blast_radius", "BLASTRADIUS"},
		{"new.kind of event", "NEW.KIND_OF_EVENT"},
		{"a.very.long.event.type.name.that.goes.on.and.on",
		 "A.VERY.LONG.EVENT.TYPE.NAME.THAT"},
		{"", "-"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ev = json_pack("{ss}", "type", cases[i][0]);
		char msgid[33];
		syslog_msgid(ev, msgid);
		assert_string_equal(msgid, cases[i][1]);
		assert_true(strlen(msgid) <= 32);
		json_decref(ev);
	}
	json_t *ev = json_pack("{si}", "type", 5);
	char msgid[33];
	syslog_msgid(ev, msgid);
	assert_string_equal(msgid, "-");
	json_decref(ev);
}

static void test_timestamp_rfc5424(void **state)
{
	(void)state;
	static const char *const good[][2] = {
		{"2026-11-27T15:14:05.608302985Z", "2026-11-27T15:14:05.608302Z"},
		{"2026-11-27T15:14:05.6Z", "2026-11-27T15:14:05.6Z"},
		{"2026-11-27T15:14:05Z", "2026-11-27T15:14:05Z"},
		{"2026-11-27t15:14:05.123z", "2026-11-27T15:14:05.123Z"},
		{"2026-11-27T15:14:05.123456+02:00", "2026-11-27T15:14:05.123456+02:00"},
		{"2026-11-27T15:14:05-07:30", "2026-11-27T15:14:05-07:30"},
	};
	char out[40];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(syslog_timestamp(good[i][0], out));
		assert_string_equal(out, good[i][1]);
	}
	static const char *const bad[] = {
		"",
		"yesterday",
		"2026-11-27 15:14:05Z",	      /* space instead of T */
		"2026-13-27T15:14:05Z",	      /* month */
		"2026-11-27T15:14:60Z",	      /* leap second: not in RFC 5424 */
		"2026-11-27T15:14:05",	      /* no zone */
		"2026-11-27T15:14:05.Z",      /* empty fraction */
		"2026-11-27T15:14:05Z junk",  /* trailing bytes */
		"2026-11-27T15:14:05+0200",   /* offset without colon */
		"2026-11-27T15:14:05.1+24:00" /* offset hour */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(syslog_timestamp(bad[i], out));
		assert_string_equal(out, "-");
	}
	assert_false(syslog_timestamp(NULL, out));
	/* a message of an event with a bad time carries the NILVALUE */
	char *m = format(&HEADER, "{\"type\":\"mcp.session\",\"time\":\"soon\"}", NULL);
	assert_memory_equal(m, "<110>1 - gw01 ", 14);
	free(m);
}

static void test_sd_param_value_escaping(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	/* RFC 5424 §6.3.3: '"', '\' and ']' take a backslash; '=', ' ' and '[' do not */
	const char *v = "a\"b\\c]d=e f[g";
	assert_true(syslog_append_param_value(&b, v, strlen(v)));
	assert_string_equal(b.data, "a\\\"b\\\\c\\]d=e f[g");
	strbuf_reset(&b);
	/* control characters become '?', invalid UTF-8 U+FFFD, valid UTF-8 stays */
	assert_true(syslog_append_param_value(&b, "x\ny\x01z\x7F\xFF\xC3\xA9", 9));
	assert_string_equal(b.data, "x?y?z?\xEF\xBF\xBD\xC3\xA9");
	strbuf_reset(&b);
	/* capped at SYSLOG_SD_VALUE_MAX bytes of input, on a character boundary */
	char big[600];
	big[0] = 'a';
	for (size_t i = 1; i + 1 < sizeof(big); i += 2)
		memcpy(big + i, "\xC3\xA9", 2);
	assert_true(syslog_append_param_value(&b, big, sizeof(big) - 1));
	assert_int_equal(b.len, 255); /* 'a' + 127 two-byte characters: 256 would split one */
	assert_true(utf8_valid(b.data, b.len));
	strbuf_free(&b);

	/* inside a whole message */
	char *m = format(&HEADER,
			 "{\"type\":\"mcp.tool_call\",\"identity\":{\"subject\":\"svc \\\"q\\\" "
			 "\\\\ x]\"},\"call\":{\"tool\":\"t]\"}}",
			 NULL);
	assert_non_null(strstr(m, "tool=\"t\\]\""));
	assert_non_null(strstr(m, "subject=\"svc \\\"q\\\" \\\\ x\\]\"]"));
	free(m);
}

/* ---- framing ---- */

static void test_octet_counting_framing(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	assert_true(syslog_frame(SYSLOG_FRAMING_OCTET, "abc", 3, &b));
	assert_true(syslog_frame(SYSLOG_FRAMING_OCTET, BOM "caf\xC3\xA9\nx", 10, &b));
	/* MSG-LEN counts octets, not characters; an embedded LF is harmless */
	assert_string_equal(b.data, "3 abc10 " BOM "caf\xC3\xA9\nx");
	strbuf_reset(&b);
	assert_true(syslog_frame(SYSLOG_FRAMING_NEWLINE, "a\nb\rc", 5, &b));
	assert_string_equal(b.data, "a b c\n");
	strbuf_free(&b);
}

/* ---- options ---- */

static void parse_ok(enum syslog_transport t, const char *arg, struct syslog_options *o)
{
	char err[512] = "";
	if (syslog_options_parse(t, arg, o, err, sizeof(err)) != 0)
		fail_msg("%s: %s", arg, err);
}

/* Parsing fails with a message containing each of the words. */
static void parse_fails(enum syslog_transport t, const char *arg, const char *word,
			const char *word2)
{
	struct syslog_options o;
	char err[512] = "";
	assert_int_equal(syslog_options_parse(t, arg, &o, err, sizeof(err)), -1);
	if (!strstr(err, word) || (word2 && !strstr(err, word2)))
		fail_msg("%s: error '%s' does not mention '%s'%s%s", arg, err, word,
			 word2 ? " and " : "", word2 ? word2 : "");
	assert_null(o.ca);
	assert_null(o.cert);
}

static void test_options_defaults_and_values(void **state)
{
	(void)state;
	struct syslog_options o;
	parse_ok(SYSLOG_TCP, "//127.0.0.1:5514", &o);
	assert_string_equal(o.host, "127.0.0.1");
	assert_string_equal(o.port, "5514");
	assert_int_equal(o.facility, 16);
	assert_int_equal(o.framing, SYSLOG_FRAMING_OCTET);
	assert_int_equal(o.connect_timeout_ms, 5000);
	assert_int_equal(o.handshake_timeout_ms, 5000);
	assert_int_equal(o.write_timeout_ms, 5000);
	assert_null(o.ca);
	syslog_options_free(&o);

	parse_ok(SYSLOG_UDP, "//collector.example?facility=local3&max_udp=1200&hostname=gw%2001",
		 &o);
	assert_string_equal(o.host, "collector.example");
	assert_string_equal(o.port, "514");
	assert_int_equal(o.facility, 19);
	assert_int_equal(o.max_udp, 1200);
	assert_string_equal(o.hostname, "gw_01"); /* HOSTNAME is printable ASCII without SP */
	syslog_options_free(&o);

	parse_ok(SYSLOG_TCP, "//[::1]:601/?framing=newline&facility=13&connect_timeout_ms=250", &o);
	assert_string_equal(o.host, "::1");
	assert_string_equal(o.port, "601");
	assert_int_equal(o.framing, SYSLOG_FRAMING_NEWLINE);
	assert_int_equal(o.facility, 13);
	assert_int_equal(o.handshake_timeout_ms, 250);
	syslog_options_free(&o);

	parse_ok(SYSLOG_TLS,
		 "//localhost?ca=/etc/my%26ca.pem&cert=/c.pem&key=/k.pem&servername=logs.example&"
		 "handshake_timeout_ms=900&framing=octet",
		 &o);
	assert_string_equal(o.port, "6514");
	assert_string_equal(o.ca, "/etc/my&ca.pem");
	assert_string_equal(o.cert, "/c.pem");
	assert_string_equal(o.key, "/k.pem");
	assert_string_equal(o.servername, "logs.example");
	assert_int_equal(o.handshake_timeout_ms, 900);
	syslog_options_free(&o);

	assert_int_equal(syslog_facility_from_name("kern"), 0);
	assert_int_equal(syslog_facility_from_name("local7"), 23);
	assert_int_equal(syslog_facility_from_name("23"), 23);
	assert_int_equal(syslog_facility_from_name("24"), -1);
	assert_int_equal(syslog_facility_from_name("local8"), -1);
	assert_int_equal(syslog_facility_from_name(""), -1);
}

static void test_options_contradictions_refused(void **state)
{
	(void)state;
	/* TLS options on udp or tcp */
	parse_fails(SYSLOG_TCP, "//h:1?ca=/ca.pem", "'ca'", "syslog+tls");
	parse_fails(SYSLOG_UDP, "//h:1?cert=/c.pem", "'cert'", "syslog+tls");
	parse_fails(SYSLOG_TCP, "//h:1?servername=x", "'servername'", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?handshake_timeout_ms=5", "'handshake_timeout_ms'", NULL);
	/* framing on udp; newline framing on tls (RFC 5425 mandates octet counting) */
	parse_fails(SYSLOG_UDP, "//h:1?framing=octet", "'framing'", "syslog+udp");
	parse_fails(SYSLOG_TLS, "//h:1?framing=newline", "framing=newline", "RFC 5425");
	/* datagram and connection options where they mean nothing */
	parse_fails(SYSLOG_TCP, "//h:1?max_udp=1000", "'max_udp'", NULL);
	parse_fails(SYSLOG_UDP, "//h:1?connect_timeout_ms=10", "'connect_timeout_ms'", NULL);
	/* a key without its certificate */
	parse_fails(SYSLOG_TLS, "//h:1?key=/k.pem", "'key'", "'cert'");
	/* and the options are freed on the way out */
	parse_fails(SYSLOG_TLS, "//h:1?ca=/a&cert=/c&framing=newline", "framing", NULL);
}

static void test_options_malformed_refused(void **state)
{
	(void)state;
	parse_fails(SYSLOG_TCP, "127.0.0.1:514", "//HOST:PORT", NULL);
	parse_fails(SYSLOG_TCP, "//:514", "//HOST:PORT", NULL);
	parse_fails(SYSLOG_TCP, "//h:0", "port", NULL);
	parse_fails(SYSLOG_TCP, "//h:65536", "port", NULL);
	parse_fails(SYSLOG_TCP, "//h:12x", "port", NULL);
	parse_fails(SYSLOG_TCP, "//[::1:514", "]", NULL);
	parse_fails(SYSLOG_TCP, "//h:514/path", "path", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?facility=local9", "facility", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?framing=lf", "framing", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?write_timeout_ms=0", "write_timeout_ms", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?connect_timeout_ms=fast", "connect_timeout_ms", NULL);
	parse_fails(SYSLOG_UDP, "//h:1?max_udp=100", "max_udp", NULL);
	parse_fails(SYSLOG_UDP, "//h:1?max_udp=70000", "max_udp", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?nosuch=1", "unknown option 'nosuch'", NULL);
	parse_fails(SYSLOG_TCP, "//h:1?facility=user&facility=kern", "'facility' given twice",
		    NULL);
	parse_fails(SYSLOG_TCP, "//h:1?facility", "'facility'", "needs a value");
	parse_fails(SYSLOG_TCP, "//h:1?facility=", "'facility'", "needs a value");
	parse_fails(SYSLOG_TLS, "//h:1?ca=%zz", "'ca'", "escape");
	parse_fails(SYSLOG_TLS, "//h:1?ca=a%00b", "'ca'", "escape");
}

static void test_sink_open_by_scheme(void **state)
{
	(void)state;
	char err[512] = "";
	struct sink *s = sink_open("syslog+tcp://127.0.0.1:9?facility=local3", err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(s->ops->scheme, "syslog+tcp");
	struct syslog_stats st;
	assert_true(syslog_sink_stats(s, &st));
	assert_int_equal(st.connects, 0); /* connections are made on the first write */
	assert_int_equal(sink_close(s), 0);
	s = sink_open("syslog+udp://127.0.0.1:9", err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(s->ops->scheme, "syslog+udp");
	assert_int_equal(sink_close(s), 0);
	/* the error names the URI and the option */
	assert_null(sink_open("syslog+tcp://127.0.0.1:9?ca=/x.pem", err, sizeof(err)));
	assert_non_null(strstr(err, "syslog+tcp://127.0.0.1:9?ca=/x.pem: option 'ca'"));
	assert_null(sink_open("syslog+tls://127.0.0.1:9?ca=/no/such/ca.pem", err, sizeof(err)));
	assert_non_null(strstr(err, "option 'ca': /no/such/ca.pem"));
	s = sink_open("file:/dev/null", err, sizeof(err));
	assert_false(syslog_sink_stats(s, &st));
	sink_close(s);
}

/* ---- UDP truncation ---- */

static void test_utf8_cut(void **state)
{
	(void)state;
	const char *s = "ab\xC3\xA9"
			"c\xE2\x82\xAC"
			"d\xF0\x9F\x98\x80";
	size_t len = strlen(s);
	assert_int_equal(syslog_utf8_cut(s, len, 100), len);
	assert_int_equal(syslog_utf8_cut(s, len, 3), 2); /* not inside é */
	assert_int_equal(syslog_utf8_cut(s, len, 4), 4);
	assert_int_equal(syslog_utf8_cut(s, len, 6), 5); /* not inside € */
	assert_int_equal(syslog_utf8_cut(s, len, 7), 5);
	assert_int_equal(syslog_utf8_cut(s, len, 11), 9); /* not inside the emoji */
	assert_int_equal(syslog_utf8_cut(s, len, 0), 0);
}

static void test_datagram_truncated_on_utf8_boundary(void **state)
{
	(void)state;
	json_t *ev = event_from("{\"type\":\"mcp.tool_call\",\"event_id\":\"e7\","
				"\"time\":\"2026-11-27T10:00:00.000Z\"}");
	char payload[3000];
	for (size_t i = 0; i < sizeof(payload); i += 3)
		memcpy(payload + i, "\xE2\x82\xAC", 3); /* € */
	struct strbuf full = STRBUF_INIT, d = STRBUF_INIT;
	assert_true(
		syslog_format_message(&HEADER, ev, payload, sizeof(payload), true, &full, NULL));
	for (size_t max = 480; max <= 2100; max += 1) {
		bool truncated;
		assert_true(syslog_format_datagram(&HEADER, ev, payload, sizeof(payload), max, &d,
						   &truncated));
		assert_true(truncated);
		assert_true(d.len <= max);
		assert_true(d.len + 3 > max); /* no more than one character short */
		assert_true(utf8_valid(d.data, d.len));
		assert_memory_equal(d.data, full.data, d.len); /* a prefix: header and SD intact */
	}
	bool truncated;
	assert_true(syslog_format_datagram(&HEADER, ev, "{}", 2, 2048, &d, &truncated));
	assert_false(truncated);
	assert_non_null(
		strstr(d.data, "[mcp@32473 type=\"mcp.tool_call\" event_id=\"e7\"] " BOM "{}"));
	json_decref(ev);

	/* an SD too long for the datagram is dropped rather than cut */
	char subject[300];
	memset(subject, ']', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	ev = json_pack("{ss ss s{ss} s{ss}}", "type", "mcp.tool_call", "event_id", "e8", "identity",
		       "subject", subject, "session", "id", subject);
	assert_true(syslog_format_datagram(&HEADER, ev, "{\"k\":1}", 7, 480, &d, &truncated));
	assert_true(truncated);
	assert_string_equal(d.data, "<110>1 - gw01 mcptrail 4242 TOOLCALL - " BOM "{\"k\":1}");
	json_decref(ev);
	strbuf_free(&full);
	strbuf_free(&d);
}

/* ---- transports against local sockets ---- */

static int listener(int type, bool listening, int *port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Reads from fd until want bytes arrived (2 s at most). */
static size_t read_all(int fd, char *buf, size_t want)
{
	size_t got = 0;
	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 2000) != 1)
			break;
		ssize_t n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static size_t receive_datagram(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 2000) != 1)
		return 0;
	ssize_t n = recv(fd, buf, cap, 0);
	return n > 0 ? (size_t)n : 0;
}

static void records(json_t *events[2], struct sink_record recs[2], const char *id0, const char *id1)
{
	events[0] = json_pack("{ss ss ss}", "type", "mcp.session", "event_id", id0, "time",
			      "2026-11-27T10:00:00Z");
	events[1] = json_pack("{ss ss ss}", "type", "mcp.task", "event_id", id1, "time",
			      "2026-11-27T10:00:01Z");
	recs[0] = (struct sink_record){events[0], "{\"n\":0}", 7};
	recs[1] = (struct sink_record){events[1], "{\"n\":1}", 7};
}

/* Splits octet-counted frames; returns how many, checks each is complete. */
static size_t count_frames(const char *buf, size_t len, const char *must_contain)
{
	size_t frames = 0, pos = 0;
	while (pos < len) {
		char *end;
		unsigned long n = strtoul(buf + pos, &end, 10);
		assert_true(end > buf + pos && *end == ' ');
		pos = (size_t)(end - buf) + 1 + n;
		assert_true(pos <= len);
		assert_memory_equal(end + 1, "<134>1 ", 7);
		frames++;
	}
	if (must_contain)
		assert_non_null(memmem(buf, len, must_contain, strlen(must_contain)));
	return frames;
}

static void test_tcp_reconnects_after_receiver_closes(void **state)
{
	(void)state;
	int port;
	int lfd = listener(SOCK_STREAM, true, &port);
	char uri[128], err[512];
	snprintf(uri, sizeof(uri), "syslog+tcp://127.0.0.1:%d?write_timeout_ms=2000", port);
	struct sink *s = sink_open(uri, err, sizeof(err));
	assert_non_null(s);
	json_t *ev[2];
	struct sink_record recs[2];
	records(ev, recs, "first-0", "first-1");
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_OK);
	int c1 = accept(lfd, NULL, NULL);
	assert_true(c1 >= 0);
	char buf[4096];
	size_t got = read_all(c1, buf, 1);
	struct pollfd p = {.fd = c1, .events = POLLIN};
	while (poll(&p, 1, 100) == 1) {
		ssize_t n = read(c1, buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	assert_int_equal(count_frames(buf, got, "event_id=\"first-1\""), 2);
	close(c1); /* the receiver goes away (e.g. restarts) */
	json_decref(ev[0]);
	json_decref(ev[1]);

	records(ev, recs, "second-0", "second-1");
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_OK);
	int c2 = accept(lfd, NULL, NULL);
	assert_true(c2 >= 0);
	got = read_all(c2, buf, 1);
	p.fd = c2;
	while (poll(&p, 1, 100) == 1) {
		ssize_t n = read(c2, buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	assert_int_equal(count_frames(buf, got, "event_id=\"second-0\""), 2);
	assert_null(memmem(buf, got, "first-", 6)); /* nothing sent twice */
	struct syslog_stats st;
	assert_true(syslog_sink_stats(s, &st));
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.messages, 4);
	close(c2); /* (first: the sink waits for the receiver's FIN when it closes) */
	assert_int_equal(sink_close(s), 0);
	json_decref(ev[0]);
	json_decref(ev[1]);
	close(lfd);
}

static void test_tcp_receiver_down_backs_off_then_connects(void **state)
{
	(void)state;
	int port;
	int lfd = listener(SOCK_STREAM, false, &port); /* bound, not listening: refused */
	char uri[128], err[512];
	snprintf(uri, sizeof(uri), "syslog+tcp://127.0.0.1:%d?framing=newline", port);
	struct sink *s = sink_open(uri, err, sizeof(err));
	assert_non_null(s);
	json_t *ev[2];
	struct sink_record recs[2];
	records(ev, recs, "a", "b");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_NOT_CONNECTED);
	assert_non_null(strstr(s->last_error, "refused"));
	/* within the backoff no new attempt is made */
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_NOT_CONNECTED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	struct syslog_stats st;
	assert_true(syslog_sink_stats(s, &st));
	assert_int_equal(st.connect_failures, 1);
	/* the receiver comes up; after the backoff the batch goes through */
	assert_int_equal(listen(lfd, 4), 0);
	struct timespec wait = {0, 150 * 1000000L};
	nanosleep(&wait, NULL);
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_OK);
	int c = accept(lfd, NULL, NULL);
	char buf[2048];
	size_t got = read_all(c, buf, 1);
	struct pollfd p = {.fd = c, .events = POLLIN};
	while (poll(&p, 1, 100) == 1) {
		ssize_t n = read(c, buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	/* newline framing: two lines */
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_non_null(strchr(nl + 1, '\n'));
	assert_int_equal(buf[got - 1], '\n');
	assert_memory_equal(buf, "<134>1 2026-11-27T10:00:00Z ", 28);
	/* (sink_close reports the batches that failed on the way: not asserted here) */
	close(c);
	sink_close(s);
	json_decref(ev[0]);
	json_decref(ev[1]);
	close(lfd);
}

static void test_udp_datagrams_and_truncation_count(void **state)
{
	(void)state;
	int port;
	int rfd = listener(SOCK_DGRAM, false, &port);
	char uri[128], err[512];
	snprintf(uri, sizeof(uri), "syslog+udp://127.0.0.1:%d?max_udp=600&facility=local1", port);
	struct sink *s = sink_open(uri, err, sizeof(err));
	assert_non_null(s);
	json_t *ev = json_pack("{ss ss}", "type", "mcp.tool_call", "event_id", "u1");
	char payload[1500];
	for (size_t i = 0; i < sizeof(payload); i += 2)
		memcpy(payload + i, "\xC3\xA9", 2);
	struct sink_record recs[2] = {{ev, payload, sizeof(payload)}, {ev, "{}", 2}};
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_OK);
	char buf[70000];
	size_t got = receive_datagram(rfd, buf, sizeof(buf) - 1);
	assert_true(got > 0 && got <= 600);
	assert_true(utf8_valid(buf, got));
	assert_memory_equal(buf, "<142>1 - ", 9); /* local1 (17) * 8 + info */
	got = receive_datagram(rfd, buf, sizeof(buf) - 1);
	buf[got] = '\0';
	assert_non_null(strstr(buf, "event_id=\"u1\"] " BOM "{}"));
	struct syslog_stats st;
	assert_true(syslog_sink_stats(s, &st));
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.messages, 2);
	assert_int_equal(sink_close(s), 0);
	json_decref(ev);
	close(rfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_fields_in_order),
		cmocka_unit_test(test_message_without_fields_or_payload),
		cmocka_unit_test(test_bom_only_for_utf8_payloads),
		cmocka_unit_test(test_severity_and_pri),
		cmocka_unit_test(test_msgid_per_type),
		cmocka_unit_test(test_timestamp_rfc5424),
		cmocka_unit_test(test_sd_param_value_escaping),
		cmocka_unit_test(test_octet_counting_framing),
		cmocka_unit_test(test_options_defaults_and_values),
		cmocka_unit_test(test_options_contradictions_refused),
		cmocka_unit_test(test_options_malformed_refused),
		cmocka_unit_test(test_sink_open_by_scheme),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_datagram_truncated_on_utf8_boundary),
		cmocka_unit_test(test_tcp_reconnects_after_receiver_closes),
		cmocka_unit_test(test_tcp_receiver_down_backs_off_then_connects),
		cmocka_unit_test(test_udp_datagrams_and_truncation_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
