/* sink_syslog_format: the pure half of the syslog sink: RFC 5424 messages, RFC 6587 framing,
 * datagram truncation and the URI options (sink_syslog.h). No I/O, so tests and the fuzzer can
 * drive all of it. */
#include "sinks/sink_syslog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SD_ID "mcp@32473"

static const char *const scheme_names[] = {"syslog+udp", "syslog+tcp", "syslog+tls"};

/* ---- formatting ---- */

static const char *const facility_names[24] = {
	"kern",	  "user",   "mail",	"daemon", "auth",   "syslog", "lpr",	"news",
	"uucp",	  "cron",   "authpriv", "ftp",	  "ntp",    "audit",  "alert",	"clock",
	"local0", "local1", "local2",	"local3", "local4", "local5", "local6", "local7",
};

int syslog_facility_from_name(const char *name)
{
	for (int i = 0; i < 24; i++)
		if (strcmp(name, facility_names[i]) == 0)
			return i;
	if (name[0] >= '0' && name[0] <= '9' && strlen(name) <= 2) {
		char *end;
		long v = strtol(name, &end, 10);
		if (!*end && v >= 0 && v <= 23)
			return (int)v;
	}
	return -1;
}

static const char *event_string(const json_t *event, const char *object, const char *key)
{
	const json_t *o = object ? json_object_get(event, object) : event;
	return json_string_value(json_object_get(o, key));
}

int syslog_severity(const json_t *event)
{
	const char *type = event_string(event, NULL, "type");
	if (type && strcmp(type, "finding") == 0) {
		static const char *const levels[] = {"critical", "high", "medium", "low", "info"};
		const char *sev = event_string(event, "finding", "severity");
		for (int i = 0; sev && i < 5; i++)
			if (strcmp(sev, levels[i]) == 0)
				return 2 + i;
		return 5; /* a finding of unknown severity is still worth a notice */
	}
	if (type && (strcmp(type, "ingest.error") == 0 || strcmp(type, "mcp.http_error") == 0))
		return 4;
	const char *outcome = event_string(event, "call", "outcome");
	if (!outcome)
		outcome = event_string(event, "request", "outcome");
	if (outcome && (strcmp(outcome, "tool_error") == 0 || strcmp(outcome, "rpc_error") == 0 ||
			strcmp(outcome, "denied") == 0))
		return 4;
	return 6;
}

void syslog_msgid(const json_t *event, char out[33])
{
	static const char *const map[][2] = {
		{"mcp.tool_call", "TOOLCALL"},
		{"mcp.task", "TASK"},
		{"mcp.session", "SESSION"},
		{"mcp.auth", "AUTH"},
		{"finding", "FINDING"},
		{"mcp.request", "REQUEST"},
		{"mcp.sampling", "SAMPLING"},
		{"mcp.elicitation", "ELICITATION"},
		{"mcp.roots", "ROOTS"},
		{"mcp.invalid_message", "INVALID"},
		{"mcp.http_error", "HTTPERROR"},
		{"capture.gap", "GAP"},
		{"identity.blast_radius", "BLASTRADIUS"},
	};
	const char *type = event_string(event, NULL, "type");
	if (!type || !*type) {
		strcpy(out, "-");
		return;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(type, map[i][0]) == 0) {
			strcpy(out, map[i][1]);
			return;
		}
	}
	if (strncmp(type, "ingest.", 7) == 0) {
		strcpy(out, "INGEST");
		return;
	}
	/* a type this version does not know: its name, upper-cased, as printable ASCII */
	size_t n = 0;
	for (const char *p = type; *p && n < 32; p++) {
		char c = *p;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			   c == '_' || c == '-'))
			c = '_';
		out[n++] = c;
	}
	out[n] = '\0';
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

bool syslog_timestamp(const char *t, char out[40])
{
	strcpy(out, "-");
	if (!t || strnlen(t, 20) < 20)
		return false;
	/* YYYY-MM-DDTHH:MM:SS */
	if (!digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' || !digits(t + 8, 2) ||
	    (t[10] != 'T' && t[10] != 't') || !digits(t + 11, 2) || t[13] != ':' ||
	    !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2))
		return false;
	int month = two_digits(t + 5), day = two_digits(t + 8), hour = two_digits(t + 11),
	    minute = two_digits(t + 14), second = two_digits(t + 17);
	/* RFC 5424 §6.2.3: no leap second (60) */
	if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
	    second > 59)
		return false;
	const char *p = t + 19;
	char frac[8] = "";
	if (*p == '.') {
		size_t n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (n < 6)
				frac[n++] = *p;
		if (n == 0)
			return false;
		frac[n] = '\0';
	}
	char zone[7];
	if (*p == 'Z' || *p == 'z') {
		strcpy(zone, "Z");
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' &&
		   digits(p + 4, 2) && two_digits(p + 1) <= 23 && two_digits(p + 4) <= 59) {
		memcpy(zone, p, 6);
		zone[6] = '\0';
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	snprintf(out, 40, "%.10sT%.8s%s%s%s", t, t + 11, frac[0] ? "." : "", frac, zone);
	return true;
}

void syslog_sanitize_name(const char *name, char *out, size_t max)
{
	size_t n = 0;
	for (const char *p = name ? name : ""; *p && n < max; p++)
		out[n++] = (*p >= 33 && *p <= 126) ? *p : '_';
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

/* Length of the valid UTF-8 sequence at s (avail bytes), 0 when there is none. */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

bool syslog_append_param_value(struct strbuf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t used = 0;
	while (used < len) {
		size_t n = utf8_sequence(u + used, len - used);
		size_t consumed = n ? n : 1;
		if (used + consumed > SYSLOG_SD_VALUE_MAX)
			break;
		bool ok;
		if (n == 0)
			ok = strbuf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD */
		else if (u[used] < 0x20 || u[used] == 0x7F)
			ok = strbuf_append(out, "?", 1);
		else if (u[used] == '"' || u[used] == '\\' || u[used] == ']')
			ok = strbuf_append(out, "\\", 1) && strbuf_append(out, s + used, 1);
		else
			ok = strbuf_append(out, s + used, n);
		if (!ok)
			return false;
		used += consumed;
	}
	return true;
}

/* Appends the SD-ELEMENT, or "-" when the event has none of its fields. */
static bool append_structured_data(struct strbuf *out, const json_t *event)
{
	static const char *const params[][3] = {
		/* PARAM-NAME, object, key */
		{"type", NULL, "type"},
		{"event_id", NULL, "event_id"},
		{"tool", "call", "tool"},
		{"tool", "task", "tool"},
		{"outcome", "call", "outcome"},
		{"outcome", "request", "outcome"},
		{"subject", "identity", "subject"},
		{"client_id", "identity", "client_id"},
		{"session", "session", "id"},
		{"task", "task", "id"},
	};
	size_t start = out->len;
	const char *last_name = "";
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (strcmp(params[i][0], last_name) == 0)
			continue; /* an earlier source already gave this parameter */
		const json_t *v = json_object_get(
			params[i][1] ? json_object_get(event, params[i][1]) : event, params[i][2]);
		if (!json_is_string(v))
			continue;
		if (out->len == start && !strbuf_append_str(out, "[" SD_ID))
			return false;
		if (!strbuf_printf(out, " %s=\"", params[i][0]) ||
		    !syslog_append_param_value(out, json_string_value(v), json_string_length(v)) ||
		    !strbuf_append(out, "\"", 1))
			return false;
		last_name = params[i][0];
	}
	return out->len == start ? strbuf_append(out, "-", 1) : strbuf_append(out, "]", 1);
}

bool syslog_format_message(const struct syslog_header *h, const json_t *event, const char *payload,
			   size_t len, bool with_sd, struct strbuf *out, size_t *msg_offset)
{
	char timestamp[40], msgid[33];
	syslog_timestamp(event_string(event, NULL, "time"), timestamp);
	syslog_msgid(event, msgid);
	int facility =
		h->facility >= 0 && h->facility <= 23 ? h->facility : SYSLOG_DEFAULT_FACILITY;
	if (!strbuf_printf(out, "<%d>1 %s %s %s %s %s ", facility * 8 + syslog_severity(event),
			   timestamp, h->hostname, h->app_name, h->procid, msgid))
		return false;
	if (with_sd ? !append_structured_data(out, event) : !strbuf_append(out, "-", 1))
		return false;
	if (len == 0) {
		if (msg_offset)
			*msg_offset = out->len;
		return true;
	}
	if (!strbuf_append(out, " ", 1))
		return false;
	if (msg_offset)
		*msg_offset = out->len;
	/* RFC 5424 §6.4: a MSG in UTF-8 starts with the BOM; anything else is MSG-ANY */
	if (utf8_valid(payload, len) && !strbuf_append(out, "\xEF\xBB\xBF", 3))
		return false;
	return strbuf_append(out, payload, len);
}

bool syslog_frame(enum syslog_framing framing, const char *msg, size_t len, struct strbuf *out)
{
	if (framing == SYSLOG_FRAMING_OCTET)
		return strbuf_printf(out, "%zu ", len) && strbuf_append(out, msg, len);
	size_t start = out->len;
	if (!strbuf_append(out, msg, len) || !strbuf_append(out, "\n", 1))
		return false;
	for (size_t i = start; i < start + len; i++)
		if (out->data[i] == '\n' || out->data[i] == '\r')
			out->data[i] = ' ';
	return true;
}

size_t syslog_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t cut = max;
	/* back up over continuation bytes (at most 3: longer runs are not UTF-8 anyway) */
	for (int i = 0; i < 3 && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80; i++)
		cut--;
	if (((unsigned char)s[cut] & 0xC0) == 0x80)
		cut = max;
	return cut;
}

bool syslog_format_datagram(const struct syslog_header *h, const json_t *event, const char *payload,
			    size_t len, size_t max, struct strbuf *out, bool *truncated)
{
	*truncated = false;
	size_t msg;
	strbuf_reset(out);
	if (!syslog_format_message(h, event, payload, len, true, out, &msg))
		return false;
	if (out->len <= max)
		return true;
	*truncated = true;
	size_t header_end = msg < out->len ? msg - 1 : out->len;
	if (header_end > max) {
		strbuf_reset(out);
		if (!syslog_format_message(h, event, payload, len, false, out, &msg))
			return false;
		if (out->len <= max)
			return true;
	}
	size_t cut = syslog_utf8_cut(out->data, out->len, max);
	if (msg < out->len) {
		size_t bom = out->len - msg >= 3 && memcmp(out->data + msg, "\xEF\xBB\xBF", 3) == 0;
		if (cut < msg + 3 * bom && msg - 1 <= max)
			cut = msg - 1; /* no room for any of MSG: drop the SP and BOM too */
	}
	out->len = cut;
	out->data[cut] = '\0';
	return true;
}

/* ---- options ---- */

enum option_id {
	OPT_FACILITY,
	OPT_HOSTNAME,
	OPT_WRITE_TIMEOUT,
	OPT_FRAMING,
	OPT_CONNECT_TIMEOUT,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_CA,
	OPT_CERT,
	OPT_KEY,
	OPT_SERVERNAME,
	OPT_MAX_UDP,
	OPT_COUNT,
};

#define FOR_UDP (1u << SYSLOG_UDP)
#define FOR_TCP (1u << SYSLOG_TCP)
#define FOR_TLS (1u << SYSLOG_TLS)

static const struct {
	const char *name;
	unsigned schemes;
	const char *elsewhere; /* why it does not apply to the other schemes */
} option_table[OPT_COUNT] = {
	[OPT_FACILITY] = {"facility", FOR_UDP | FOR_TCP | FOR_TLS, ""},
	[OPT_HOSTNAME] = {"hostname", FOR_UDP | FOR_TCP | FOR_TLS, ""},
	[OPT_WRITE_TIMEOUT] = {"write_timeout_ms", FOR_UDP | FOR_TCP | FOR_TLS, ""},
	[OPT_FRAMING] = {"framing", FOR_TCP | FOR_TLS,
			 "syslog+udp sends one message per datagram, unframed"},
	[OPT_CONNECT_TIMEOUT] = {"connect_timeout_ms", FOR_TCP | FOR_TLS,
				 "syslog+udp makes no connection"},
	[OPT_HANDSHAKE_TIMEOUT] = {"handshake_timeout_ms", FOR_TLS, "a TLS option: use syslog+tls"},
	[OPT_CA] = {"ca", FOR_TLS, "a TLS option: use syslog+tls"},
	[OPT_CERT] = {"cert", FOR_TLS, "a TLS option: use syslog+tls"},
	[OPT_KEY] = {"key", FOR_TLS, "a TLS option: use syslog+tls"},
	[OPT_SERVERNAME] = {"servername", FOR_TLS, "a TLS option: use syslog+tls"},
	[OPT_MAX_UDP] = {"max_udp", FOR_UDP, "only datagrams have a size cap"},
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) into a new string; NULL on a bad escape, a NUL byte or OOM. */
static char *percent_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
			int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || hi * 16 + lo == 0) {
				free(out);
				return NULL;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

static bool parse_ms(const char *v, unsigned *out)
{
	if (!digits(v, 1) || strlen(v) > 7)
		return false;
	unsigned long ms = strtoul(v, NULL, 10);
	if (!digits(v, (int)strlen(v)) || ms < 1 || ms > 600000)
		return false;
	*out = (unsigned)ms;
	return true;
}

/* Parses "//HOST[:PORT][/]" up to the '?' (or the end); returns the rest or NULL. */
static const char *parse_authority(enum syslog_transport t, const char *arg,
				   struct syslog_options *opt, char *err, size_t errlen)
{
	const char *usage = "expected //HOST:PORT after the scheme";
	if (strncmp(arg, "//", 2) != 0) {
		snprintf(err, errlen, "%s", usage);
		return NULL;
	}
	const char *p = arg + 2, *host = p, *host_end;
	if (*p == '[') {
		host = ++p;
		host_end = strchr(p, ']');
		if (!host_end) {
			snprintf(err, errlen, "IPv6 address without its closing ']'");
			return NULL;
		}
		p = host_end + 1;
	} else {
		host_end = p + strcspn(p, ":/?");
		p = host_end;
	}
	size_t host_len = (size_t)(host_end - host);
	if (host_len == 0 || host_len >= sizeof(opt->host)) {
		snprintf(err, errlen, "%s", host_len ? "host name too long" : usage);
		return NULL;
	}
	for (const char *c = host; c < host_end; c++) {
		if (*c <= ' ' || *c >= 127 || *c == '@' || *c == '%' || *c == '[') {
			snprintf(err, errlen, "bad character in host '%.*s'", (int)host_len, host);
			return NULL;
		}
	}
	memcpy(opt->host, host, host_len);
	opt->host[host_len] = '\0';
	strcpy(opt->port, t == SYSLOG_TLS ? "6514" : "514");
	if (*p == ':') {
		const char *port = ++p;
		size_t port_len = strcspn(p, "/?");
		unsigned long v = digits(port, 1) && port_len <= 5 && digits(port, (int)port_len)
					  ? strtoul(port, NULL, 10)
					  : 0;
		if (v < 1 || v > 65535) {
			snprintf(err, errlen, "port: expected 1..65535, got '%.*s'", (int)port_len,
				 port);
			return NULL;
		}
		snprintf(opt->port, sizeof(opt->port), "%lu", v);
		p += port_len;
	}
	if (*p == '/')
		p++;
	if (*p && *p != '?') {
		snprintf(err, errlen, "unexpected path '%s' (options go after '?')", p);
		return NULL;
	}
	return p;
}

static int apply_option(enum syslog_transport t, enum option_id id, char *value,
			struct syslog_options *opt, char *err, size_t errlen)
{
	const char *name = option_table[id].name;
	switch (id) {
	case OPT_FACILITY:
		opt->facility = syslog_facility_from_name(value);
		if (opt->facility < 0) {
			snprintf(err, errlen,
				 "facility: expected a name (kern, user, ..., local0..local7) or "
				 "0..23, got '%s'",
				 value);
			return -1;
		}
		break;
	case OPT_HOSTNAME:
		if (strlen(value) > 255) {
			snprintf(err, errlen, "hostname: longer than 255 bytes");
			return -1;
		}
		syslog_sanitize_name(value, opt->hostname, 255);
		break;
	case OPT_FRAMING:
		if (strcmp(value, "octet") == 0) {
			opt->framing = SYSLOG_FRAMING_OCTET;
		} else if (strcmp(value, "newline") == 0) {
			if (t == SYSLOG_TLS) {
				snprintf(err, errlen,
					 "framing=newline: RFC 5425 requires octet counting on "
					 "syslog+tls");
				return -1;
			}
			opt->framing = SYSLOG_FRAMING_NEWLINE;
		} else {
			snprintf(err, errlen, "framing: expected octet or newline, got '%s'",
				 value);
			return -1;
		}
		break;
	case OPT_WRITE_TIMEOUT:
	case OPT_CONNECT_TIMEOUT:
	case OPT_HANDSHAKE_TIMEOUT: {
		unsigned *slot = id == OPT_WRITE_TIMEOUT     ? &opt->write_timeout_ms
				 : id == OPT_CONNECT_TIMEOUT ? &opt->connect_timeout_ms
							     : &opt->handshake_timeout_ms;
		if (!parse_ms(value, slot)) {
			snprintf(err, errlen, "%s: expected milliseconds 1..600000, got '%s'", name,
				 value);
			return -1;
		}
		break;
	}
	case OPT_MAX_UDP: {
		size_t v = 0;
		if (!parse_size(value, &v) || v < 480 || v > 65507) {
			snprintf(err, errlen, "max_udp: expected 480..65507 bytes, got '%s'",
				 value);
			return -1;
		}
		opt->max_udp = v;
		break;
	}
	case OPT_CA:
	case OPT_CERT:
	case OPT_KEY:
	case OPT_SERVERNAME: {
		char **slot = id == OPT_CA     ? &opt->ca
			      : id == OPT_CERT ? &opt->cert
			      : id == OPT_KEY  ? &opt->key
					       : &opt->servername;
		*slot = strdup(value);
		if (!*slot) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		break;
	}
	case OPT_COUNT:
		break;
	}
	return 0;
}

int syslog_options_parse(enum syslog_transport t, const char *arg, struct syslog_options *opt,
			 char *err, size_t errlen)
{
	memset(opt, 0, sizeof(*opt));
	opt->transport = t;
	opt->facility = SYSLOG_DEFAULT_FACILITY;
	opt->framing = SYSLOG_FRAMING_OCTET;
	opt->connect_timeout_ms = 5000;
	opt->write_timeout_ms = 5000;
	opt->max_udp = SYSLOG_DEFAULT_MAX_UDP;
	bool seen[OPT_COUNT] = {false};
	const char *p = parse_authority(t, arg, opt, err, errlen);
	if (!p)
		goto fail;
	if (*p == '?')
		p++;
	while (*p) {
		size_t item_len = strcspn(p, "&");
		const char *eq = memchr(p, '=', item_len);
		size_t key_len = eq ? (size_t)(eq - p) : item_len;
		int id = -1;
		for (int i = 0; i < OPT_COUNT; i++)
			if (strlen(option_table[i].name) == key_len &&
			    strncmp(option_table[i].name, p, key_len) == 0)
				id = i;
		if (id < 0) {
			snprintf(err, errlen,
				 "unknown option '%.*s' (known: facility, hostname, framing, "
				 "connect_timeout_ms, handshake_timeout_ms, write_timeout_ms, ca, "
				 "cert, "
				 "key, servername, max_udp)",
				 (int)key_len, p);
			goto fail;
		}
		const char *name = option_table[id].name;
		if (!(option_table[id].schemes & (1u << t))) {
			snprintf(err, errlen, "option '%s' does not apply to %s: %s", name,
				 scheme_names[t], option_table[id].elsewhere);
			goto fail;
		}
		if (seen[id]) {
			snprintf(err, errlen, "option '%s' given twice", name);
			goto fail;
		}
		seen[id] = true;
		char *value = eq ? percent_decode(eq + 1, item_len - key_len - 1) : NULL;
		if (!value || !*value) {
			snprintf(err, errlen, "option '%s': %s", name,
				 !eq || (value && !*value) ? "needs a value"
							   : "bad %-escape in its value");
			free(value);
			goto fail;
		}
		int rc = apply_option(t, (enum option_id)id, value, opt, err, errlen);
		free(value);
		if (rc != 0)
			goto fail;
		p += item_len;
		if (*p == '&')
			p++;
	}
	if (opt->key && !opt->cert) {
		snprintf(err, errlen, "option 'key' needs 'cert' (the client certificate)");
		goto fail;
	}
	if (!seen[OPT_HANDSHAKE_TIMEOUT])
		opt->handshake_timeout_ms = opt->connect_timeout_ms;
	return 0;
fail:
	syslog_options_free(opt);
	return -1;
}

void syslog_options_free(struct syslog_options *opt)
{
	free(opt->ca);
	free(opt->cert);
	free(opt->key);
	free(opt->servername);
	opt->ca = opt->cert = opt->key = opt->servername = NULL;
}
