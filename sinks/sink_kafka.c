/* The Kafka sink (URI and delivery contract in sink_kafka.h).
 *
 * Every event written is copied into a kafka_record on a list, in write order, and stays there
 * until librdkafka's delivery report for it arrives (the record is the message's opaque). A
 * record is either handed to the current producer or waiting to be (the waiting ones are always
 * a suffix of the list, starting at `unproduced`): waiting ones exist when librdkafka's queue was
 * full, and after a fatal producer error, when every record still held is produced again by a new
 * producer. All librdkafka callbacks run on the caller's thread, inside rd_kafka_poll() or
 * rd_kafka_flush(), so the list needs no lock. */
#include "sinks/sink_kafka.h"

#include <librdkafka/rdkafka.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_QUEUE_BYTES ((size_t)64 << 20)
#define DEFAULT_FLUSH_TIMEOUT_MS 30000
#define MAX_TOPIC_LEN 249
#define MAX_RESTARTS_WITHOUT_DELIVERY 5
#define DRAIN_TIMEOUT_MS 5000

/* ---- options ---- */

enum option_type { OPT_KEY, OPT_BOOL, OPT_SIZE, OPT_COMPRESSION, OPT_MS };

static const struct option_spec {
	const char *name;
	enum option_type type;
	size_t offset;
	const char *expected;
} option_table[] = {
	{"key", OPT_KEY, offsetof(struct kafka_options, key_mode), "session, identity or none"},
	{"topic_per_type", OPT_BOOL, offsetof(struct kafka_options, topic_per_type), "0 or 1"},
	{"queue_bytes", OPT_SIZE, offsetof(struct kafka_options, queue_bytes),
	 "a size of at least 1K, like 64M"},
	{"compression", OPT_COMPRESSION, offsetof(struct kafka_options, compression),
	 "zstd, lz4, snappy, gzip or none"},
	{"flush_timeout_ms", OPT_MS, offsetof(struct kafka_options, flush_timeout_ms),
	 "milliseconds from 1 to 86400000"},
};

/* Values of these librdkafka properties are never echoed in an error message. */
static bool is_secret_name(const char *name)
{
	return strstr(name, "password") || strstr(name, "secret") || strstr(name, "ssl.key") ||
	       strstr(name, "oauthbearer") || strstr(name, "jaas") || strstr(name, "keystore");
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A new NUL-terminated copy of s[0..len) with %XX decoded; NULL when malformed (then *bad) or
 * out of memory. */
static char *percent_decode(const char *s, size_t len, bool *bad)
{
	char *out = malloc(len + 1);
	size_t o = 0;
	*bad = false;
	for (size_t i = 0; out && i < len; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
		int lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			*bad = true;
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	if (out)
		out[o] = '\0';
	return out;
}

static bool valid_broker(const char *b, size_t len)
{
	const char *colon = NULL;
	for (size_t i = 0; i < len; i++)
		if (b[i] == ':')
			colon = b + i;
	if (!colon || colon == b || (size_t)(colon - b) + 1 >= len)
		return false;
	long port = 0;
	for (const char *p = colon + 1; p < b + len; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return false;
		port = port * 10 + (*p - '0');
	}
	for (const char *p = b; p < colon; p++)
		if (*p == '/' || *p == '?' || *p == '@' || *p == ' ')
			return false;
	return port >= 1 && port <= 65535;
}

static bool valid_topic(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > MAX_TOPIC_LEN || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return false;
	for (const char *p = t; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool set_option(struct kafka_options *opt, const struct option_spec *spec, const char *value)
{
	void *field = (char *)opt + spec->offset;
	char *end;
	switch (spec->type) {
	case OPT_KEY:
		if (strcmp(value, "session") == 0)
			*(enum kafka_key_mode *)field = KAFKA_KEY_SESSION;
		else if (strcmp(value, "identity") == 0)
			*(enum kafka_key_mode *)field = KAFKA_KEY_IDENTITY;
		else if (strcmp(value, "none") == 0)
			*(enum kafka_key_mode *)field = KAFKA_KEY_NONE;
		else
			return false;
		return true;
	case OPT_BOOL:
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
			*(bool *)field = false;
		else
			return false;
		return true;
	case OPT_SIZE: {
		size_t v;
		if (!parse_size(value, &v) || v < 1024 || v / 1024 > INT_MAX)
			return false;
		*(size_t *)field = v;
		return true;
	}
	case OPT_COMPRESSION:
		if (strcmp(value, "zstd") != 0 && strcmp(value, "lz4") != 0 &&
		    strcmp(value, "snappy") != 0 && strcmp(value, "gzip") != 0 &&
		    strcmp(value, "none") != 0)
			return false;
		snprintf(field, sizeof(opt->compression), "%s", value);
		return true;
	case OPT_MS: {
		long v = strtol(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || v < 1 || v > 86400000)
			return false;
		*(int *)field = (int)v;
		return true;
	}
	}
	return false;
}

/* One query parameter NAME=VALUE (still percent-encoded). */
static int parse_parameter(struct kafka_options *opt, const char *p, size_t len, char *err,
			   size_t errlen)
{
	int rc = -1;
	bool bad = false;
	char *name = NULL, *value = NULL;
	const char *eq = memchr(p, '=', len);
	if (!eq || eq == p) {
		snprintf(err, errlen, "kafka sink: option '%.*s': expected NAME=VALUE", (int)len,
			 p);
		goto out;
	}
	name = percent_decode(p, (size_t)(eq - p), &bad);
	if (name)
		value = percent_decode(eq + 1, len - (size_t)(eq - p) - 1, &bad);
	if (!name || !value) {
		if (bad)
			snprintf(err, errlen, "kafka sink: option '%s': malformed %%-escape",
				 name ? name : "?");
		else
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(option_table) / sizeof(option_table[0]); i++) {
		if (strcmp(name, option_table[i].name) != 0)
			continue;
		if (!set_option(opt, &option_table[i], value)) {
			snprintf(err, errlen, "kafka sink: option '%s': expected %s, got '%s'",
				 name, option_table[i].expected, value);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!strchr(name, '.')) {
		snprintf(err, errlen,
			 "kafka sink: unknown option '%s' (options: key, topic_per_type, "
			 "queue_bytes, compression, flush_timeout_ms; librdkafka properties have a "
			 "dot, like linger.ms)",
			 name);
		goto out;
	}
	if (strcmp(name, "bootstrap.servers") == 0 || strcmp(name, "metadata.broker.list") == 0) {
		snprintf(err, errlen,
			 "kafka sink: option '%s': give the brokers in the URI, "
			 "kafka://HOST:PORT,HOST:PORT/TOPIC",
			 name);
		goto out;
	}
	struct kafka_property *grown =
		realloc(opt->properties, (opt->nproperties + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	opt->properties = grown;
	opt->properties[opt->nproperties++] = (struct kafka_property){name, value};
	name = value = NULL;
	rc = 0;
out:
	free(name);
	free(value);
	return rc;
}

int kafka_options_parse(const char *arg, struct kafka_options *opt, char *err, size_t errlen)
{
	bool bad = false;
	memset(opt, 0, sizeof(*opt));
	opt->key_mode = KAFKA_KEY_SESSION;
	opt->queue_bytes = DEFAULT_QUEUE_BYTES;
	snprintf(opt->compression, sizeof(opt->compression), "zstd");
	opt->flush_timeout_ms = DEFAULT_FLUSH_TIMEOUT_MS;
	if (strncmp(arg, "//", 2) != 0) {
		snprintf(err, errlen, "kafka sink: expected kafka://HOST:PORT[,HOST:PORT]/TOPIC");
		return -1;
	}
	const char *authority = arg + 2;
	size_t alen = strcspn(authority, "/?");
	if (authority[alen] != '/') {
		snprintf(err, errlen, "kafka sink: no topic: expected kafka://HOST:PORT/TOPIC");
		return -1;
	}
	if (alen == 0) {
		snprintf(err, errlen, "kafka sink: no broker: expected kafka://HOST:PORT/TOPIC");
		return -1;
	}
	for (const char *b = authority;; b++) {
		size_t blen = strcspn(b, ",/");
		if (!valid_broker(b, blen)) {
			snprintf(err, errlen, "kafka sink: broker '%.*s': expected HOST:PORT",
				 (int)blen, b);
			return -1;
		}
		b += blen;
		if (*b != ',')
			break;
	}
	opt->brokers = strndup(authority, alen);
	const char *topic = authority + alen + 1;
	size_t tlen = strcspn(topic, "?");
	opt->topic = percent_decode(topic, tlen, &bad);
	if (!opt->brokers || !opt->topic) {
		snprintf(err, errlen,
			 bad ? "kafka sink: topic: malformed %%-escape" : "out of memory");
		goto fail;
	}
	if (!valid_topic(opt->topic)) {
		snprintf(err, errlen,
			 "kafka sink: topic '%s': expected 1 to %d characters from a-z A-Z 0-9 . _ "
			 "-",
			 opt->topic, MAX_TOPIC_LEN);
		goto fail;
	}
	for (const char *p = topic[tlen] == '?' ? topic + tlen + 1 : topic + tlen; *p;) {
		size_t plen = strcspn(p, "&");
		if (plen > 0 && parse_parameter(opt, p, plen, err, errlen) != 0)
			goto fail;
		p += plen + (p[plen] == '&');
	}
	return 0;
fail:
	kafka_options_free(opt);
	return -1;
}

void kafka_options_free(struct kafka_options *opt)
{
	if (!opt)
		return;
	for (size_t i = 0; i < opt->nproperties; i++) {
		free(opt->properties[i].name);
		free(opt->properties[i].value);
	}
	free(opt->properties);
	free(opt->brokers);
	free(opt->topic);
	opt->properties = NULL;
	opt->nproperties = 0;
	opt->brokers = opt->topic = NULL;
}

/* ---- what goes on the wire besides the payload ---- */

bool kafka_event_key(enum kafka_key_mode mode, const json_t *event, struct strbuf *out)
{
	switch (mode) {
	case KAFKA_KEY_SESSION: {
		const char *id =
			json_string_value(json_object_get(json_object_get(event, "session"), "id"));
		return id && strbuf_append_str(out, id);
	}
	case KAFKA_KEY_IDENTITY: {
		const json_t *identity = json_object_get(event, "identity");
		const char *subject = json_string_value(json_object_get(identity, "subject"));
		if (subject) {
			const char *issuer = json_string_value(json_object_get(identity, "issuer"));
			return strbuf_append_str(out, subject) && strbuf_append(out, "|", 1) &&
			       strbuf_append_str(out, issuer ? issuer : "");
		}
		const char *fingerprint = json_string_value(
			json_object_get(json_object_get(identity, "token"), "fingerprint"));
		return fingerprint && strbuf_append_str(out, fingerprint);
	}
	case KAFKA_KEY_NONE:
		break;
	}
	return false;
}

bool kafka_event_topic(const char *base, bool per_type, const json_t *event, struct strbuf *out)
{
	const char *type = per_type ? json_string_value(json_object_get(event, "type")) : NULL;
	size_t blen = strlen(base), tlen = type ? strlen(type) : 0;
	if (blen + (tlen ? tlen + 1 : 0) > MAX_TOPIC_LEN || !strbuf_reserve(out, blen + tlen + 1))
		return false;
	strbuf_append(out, base, blen);
	if (tlen) {
		strbuf_append(out, ".", 1);
		for (size_t i = 0; i < tlen; i++) {
			char c = type[i];
			bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || c == '-' || c == '_';
			strbuf_append(out, keep ? &c : "_", 1);
		}
	}
	return true;
}

/* ---- the sink ---- */

/* One event held from write until its delivery report; it is the message's opaque. */
struct kafka_record {
	struct kafka_record *prev, *next;
	size_t topic; /* index into kafka_state.topics */
	char *key;    /* NULL: no key */
	size_t key_len;
	const char *type, *id; /* NULL when the event has none */
	size_t len;
	char payload[]; /* then key, type and id */
};

struct kafka_topic {
	char *name;
	rd_kafka_topic_t *handle; /* of the current producer, made on first use */
};

struct kafka_state {
	struct kafka_options opt;
	const char *encoding; /* header value; NULL for mcptrail/1 JSON */
	char label[160];      /* "topic@brokers", for messages (the URI may hold secrets) */
	rd_kafka_conf_t *conf_template;
	rd_kafka_t *rk;
	struct kafka_topic *topics;
	size_t ntopics;
	struct kafka_record *head, *tail, *unproduced;
	size_t held;
	bool fatal;	 /* the producer raised a fatal error: recreate it */
	bool recovering; /* draining a fatal producer: failures are not final */
	unsigned restarts_without_delivery;
	struct kafka_sink_stats stats;
	char client_error[200]; /* last error_cb reason */
	char failure[200];	/* why the last event failed */
	struct strbuf scratch;
};

/* Messages are cut to fit last_error; the counts come first so they survive. */
__attribute__((format(printf, 2, 3))) static void set_last_error(struct sink *s, const char *fmt,
								 ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void record_remove(struct kafka_state *st, struct kafka_record *r)
{
	if (st->unproduced == r)
		st->unproduced = r->next;
	if (r->prev)
		r->prev->next = r->next;
	else
		st->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		st->tail = r->prev;
	st->held--;
	free(r);
}

static bool producer_is_fatal(rd_kafka_t *rk)
{
	char reason[8];
	return rd_kafka_fatal_error(rk, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Delivery report: the only place an event counts as delivered. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_state *st = opaque;
	struct kafka_record *r = m->_private;
	if (!r)
		return;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		st->stats.delivered++;
		st->restarts_without_delivery = 0;
		record_remove(st, r);
		return;
	}
	if (st->recovering || m->err == RD_KAFKA_RESP_ERR__FATAL || producer_is_fatal(rk)) {
		/* not this event's fault: the next producer produces it again */
		if (!st->recovering)
			st->fatal = true;
		return;
	}
	st->stats.failed++;
	if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
		st->stats.possibly_persisted++;
	snprintf(st->failure, sizeof(st->failure), "%s: %s", rd_kafka_topic_name(m->rkt),
		 rd_kafka_err2str(m->err));
	record_remove(st, r);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_state *st = opaque;
	(void)rk;
	snprintf(st->client_error, sizeof(st->client_error), "%s", reason);
	if (err == RD_KAFKA_RESP_ERR__FATAL)
		st->fatal = true;
}

/* librdkafka's own threads log here: warnings and errors only, one line each. */
static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *line)
{
	(void)rk;
	if (level <= 4)
		fprintf(stderr, "mcptrail: kafka: %s: %s\n", facility, line);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		    size_t errlen)
{
	char why[512];
	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return 0;
	if (is_secret_name(name))
		snprintf(err, errlen,
			 "kafka sink: option '%s': rejected by librdkafka (value "
			 "not shown)",
			 name);
	else
		snprintf(err, errlen, "kafka sink: option '%s': %s", name, why);
	return -1;
}

/* The producer configuration: our defaults, then the URI's librdkafka properties. */
static rd_kafka_conf_t *conf_new(struct kafka_state *st, char *err, size_t errlen)
{
	const struct kafka_options *opt = &st->opt;
	char kbytes[24];
	snprintf(kbytes, sizeof(kbytes), "%zu", (opt->queue_bytes + 1023) / 1024);
	const char *const defaults[][2] = {
		{"bootstrap.servers", opt->brokers},
		{"client.id", "mcptrail"},
		{"enable.idempotence", "true"},
		{"acks", "all"},
		{"compression.codec", opt->compression},
		{"queue.buffering.max.kbytes", kbytes},
		/* the byte cap is the one that should bind */
		{"queue.buffering.max.messages", "10000000"},
		/* a key lands on the same partition as with the Java client */
		{"partitioner", "murmur2_random"},
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (conf_set(conf, defaults[i][0], defaults[i][1], err, errlen) != 0)
			goto fail;
	for (size_t i = 0; i < opt->nproperties; i++)
		if (conf_set(conf, opt->properties[i].name, opt->properties[i].value, err,
			     errlen) != 0)
			goto fail;
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rd_kafka_conf_set_opaque(conf, st);
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int producer_create(struct kafka_state *st, char *err, size_t errlen)
{
	char why[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_dup(st->conf_template);
	st->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (!st->rk) {
		rd_kafka_conf_destroy(conf);
		/* a long reason is cut: the message stays readable */
		if (snprintf(err, errlen, "kafka sink %s: cannot create the producer: %s",
			     st->label, why) >= (int)errlen &&
		    errlen > 0)
			err[errlen - 1] = '\0';
		return -1;
	}
	return 0;
}

static void producer_destroy(struct kafka_state *st)
{
	for (size_t i = 0; i < st->ntopics; i++) {
		if (st->topics[i].handle)
			rd_kafka_topic_destroy(st->topics[i].handle);
		st->topics[i].handle = NULL;
	}
	if (st->rk)
		rd_kafka_destroy(st->rk);
	st->rk = NULL;
}

/* Withdraws everything from the producer and serves the resulting delivery reports. */
static void producer_drain(struct kafka_state *st)
{
	if (!st->rk)
		return;
	rd_kafka_purge(st->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	int64_t until = now_ms() + DRAIN_TIMEOUT_MS;
	while (rd_kafka_outq_len(st->rk) > 0 && now_ms() < until)
		rd_kafka_poll(st->rk, 50);
	rd_kafka_poll(st->rk, 0);
}

/* After a fatal error (idempotence fencing, an unrecoverable sequence gap): a new producer,
 * and every event not yet acknowledged produced again, in the original order. */
static int producer_recover(struct sink *s, struct kafka_state *st)
{
	char reason[256] = "";
	if (st->rk && rd_kafka_fatal_error(st->rk, reason, sizeof(reason)) == 0)
		snprintf(reason, sizeof(reason), "%s", st->client_error);
	if (++st->restarts_without_delivery > MAX_RESTARTS_WITHOUT_DELIVERY) {
		set_last_error(s, "kafka: fatal producer errors keep recurring: %s", reason);
		return -1;
	}
	st->recovering = true;
	producer_drain(st);
	producer_destroy(st);
	st->recovering = false;
	st->fatal = false;
	st->stats.reproduced += st->held;
	st->unproduced = st->head;
	st->stats.producer_restarts++;
	fprintf(stderr,
		"mcptrail: kafka %s: fatal producer error (%s); recreating the producer, %zu "
		"unacknowledged events will be produced again\n",
		st->label, reason, st->held);
	return producer_create(st, s->last_error, sizeof(s->last_error));
}

static rd_kafka_topic_t *topic_handle(struct kafka_state *st, size_t i)
{
	if (!st->topics[i].handle)
		st->topics[i].handle = rd_kafka_topic_new(st->rk, st->topics[i].name, NULL);
	return st->topics[i].handle;
}

/* Index of the topic called name, added if new; SIZE_MAX when out of memory. */
static size_t topic_index(struct kafka_state *st, const char *name)
{
	for (size_t i = 0; i < st->ntopics; i++)
		if (strcmp(st->topics[i].name, name) == 0)
			return i;
	struct kafka_topic *grown = realloc(st->topics, (st->ntopics + 1) * sizeof(*grown));
	if (!grown)
		return SIZE_MAX;
	st->topics = grown;
	st->topics[st->ntopics].name = strdup(name);
	st->topics[st->ntopics].handle = NULL;
	return st->topics[st->ntopics].name ? st->ntopics++ : SIZE_MAX;
}

static rd_kafka_resp_err_t produce(struct kafka_state *st, struct kafka_record *r)
{
	rd_kafka_topic_t *rkt = topic_handle(st, r->topic);
	if (!rkt)
		return rd_kafka_last_error();
	rd_kafka_headers_t *headers = rd_kafka_headers_new(4);
	rd_kafka_header_add(headers, "schema", -1, "mcptrail/1", -1);
	if (st->encoding)
		rd_kafka_header_add(headers, "encoding", -1, st->encoding, -1);
	if (r->type)
		rd_kafka_header_add(headers, "event_type", -1, r->type, -1);
	if (r->id)
		rd_kafka_header_add(headers, "event_id", -1, r->id, -1);
	/* No RD_KAFKA_MSG_F_COPY: the record keeps the payload until the delivery report in any
	 * case (to produce it again after a fatal error), so librdkafka reads it from there rather
	 * than from a second copy; queue_bytes then bounds the memory once, not twice. */
	rd_kafka_resp_err_t err = rd_kafka_producev(
		st->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
		RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_VALUE(r->payload, r->len),
		RD_KAFKA_V_KEY(r->key, r->key_len), RD_KAFKA_V_HEADERS(headers),
		RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
	if (err)
		rd_kafka_headers_destroy(headers);
	return err;
}

/* Hands the waiting records to the producer in order; while librdkafka's queue is full, serves
 * delivery reports (which make room) with a growing pause, until deadline. Returns 0 when
 * nothing waits any more, 1 when the queue stayed full, -1 when no producer can be made. */
static int pump(struct sink *s, struct kafka_state *st, int64_t deadline)
{
	int pause_ms = 1;
	bool waited = false;
	while (st->unproduced || st->fatal) {
		if (st->fatal && producer_recover(s, st) != 0)
			return -1;
		struct kafka_record *r = st->unproduced;
		if (!r)
			break;
		rd_kafka_resp_err_t err = produce(st, r);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			st->unproduced = r->next;
			pause_ms = 1;
			waited = false;
		} else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 1;
			if (!waited)
				st->stats.retried++;
			waited = true;
			rd_kafka_poll(st->rk, (int)(left < pause_ms ? left : pause_ms));
			pause_ms = pause_ms < 64 ? pause_ms * 2 : 100;
		} else if (err == RD_KAFKA_RESP_ERR__FATAL || producer_is_fatal(st->rk)) {
			st->fatal = true;
		} else {
			/* this event can never be produced (too large, invalid topic) */
			st->stats.failed++;
			snprintf(st->failure, sizeof(st->failure), "%s: %s",
				 st->topics[r->topic].name, rd_kafka_err2str(err));
			record_remove(st, r);
		}
	}
	return 0;
}

static struct kafka_record *record_new(struct kafka_state *st, const struct sink_record *rec)
{
	const json_t *ev = rec->event;
	size_t topic = 0;
	if (st->opt.topic_per_type) {
		strbuf_reset(&st->scratch);
		/* a name past Kafka's limit keeps the event on the base topic */
		if (kafka_event_topic(st->opt.topic, true, ev, &st->scratch))
			topic = topic_index(st, st->scratch.data);
		if (topic == SIZE_MAX)
			return NULL;
	}
	strbuf_reset(&st->scratch);
	bool has_key = kafka_event_key(st->opt.key_mode, ev, &st->scratch);
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *id = json_string_value(json_object_get(ev, "event_id"));
	size_t key_len = has_key ? st->scratch.len : 0;
	size_t type_len = type ? strlen(type) + 1 : 0, id_len = id ? strlen(id) + 1 : 0;
	struct kafka_record *r = malloc(sizeof(*r) + rec->len + key_len + type_len + id_len);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->topic = topic;
	r->len = rec->len;
	memcpy(r->payload, rec->payload, rec->len);
	char *p = r->payload + rec->len;
	if (has_key) {
		r->key = memcpy(p, st->scratch.data, key_len);
		r->key_len = key_len;
		p += key_len;
	}
	if (type) {
		r->type = memcpy(p, type, type_len);
		p += type_len;
	}
	if (id)
		r->id = memcpy(p, id, id_len);
	return r;
}

static enum sink_result kafka_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	struct kafka_state *st = s->state;
	if (!st->rk && producer_create(st, s->last_error, sizeof(s->last_error)) != 0)
		return SINK_ERROR;
	rd_kafka_poll(st->rk, 0);
	int64_t deadline = now_ms() + st->opt.flush_timeout_ms;
	int waiting = pump(s, st, deadline);
	if (waiting < 0)
		return SINK_ERROR;
	if (waiting > 0) {
		set_last_error(
			s, "kafka: librdkafka's queue (queue_bytes=%zu) stayed full for %d ms: %s",
			st->opt.queue_bytes, st->opt.flush_timeout_ms,
			st->client_error[0] ? st->client_error : "brokers slow or unreachable");
		return SINK_NOT_CONNECTED;
	}
	struct kafka_record *first = NULL;
	for (size_t i = 0; i < n; i++) {
		struct kafka_record *r = record_new(st, &recs[i]);
		if (!r) {
			/* take all or nothing: drop what this call added, none of it produced */
			while (first) {
				struct kafka_record *next = first->next;
				record_remove(st, first);
				first = next;
			}
			set_last_error(s, "out of memory");
			return SINK_RETRY;
		}
		r->prev = st->tail;
		if (st->tail)
			st->tail->next = r;
		else
			st->head = r;
		st->tail = r;
		st->held++;
		if (!first)
			first = r;
	}
	if (!st->unproduced)
		st->unproduced = first;
	if (pump(s, st, deadline) < 0)
		return SINK_ERROR;
	return SINK_QUEUED;
}

/* Everything still held is given up: withdrawn from the producer and counted as failed. */
static void abandon_held(struct kafka_state *st, const char *why)
{
	size_t held = st->held;
	producer_drain(st);
	while (st->head) {
		st->stats.failed++;
		record_remove(st, st->head);
	}
	snprintf(st->failure, sizeof(st->failure), "%zu events %s", held, why);
}

static enum sink_result kafka_flush(struct sink *s)
{
	struct kafka_state *st = s->state;
	int64_t deadline = now_ms() + st->opt.flush_timeout_ms;
	bool no_producer = false;
	while (st->head || st->fatal) {
		if (!st->rk && producer_create(st, s->last_error, sizeof(s->last_error)) != 0) {
			no_producer = true;
			break;
		}
		rd_kafka_poll(st->rk, 0);
		if (pump(s, st, deadline) < 0) {
			no_producer = true;
			break;
		}
		int64_t left = deadline - now_ms();
		if (!st->head || left <= 0)
			break;
		rd_kafka_flush(st->rk, (int)(left < 100 ? left : 100));
	}
	if (st->head) {
		char why[64];
		snprintf(why, sizeof(why), "without a delivery report within flush_timeout_ms=%d",
			 st->opt.flush_timeout_ms);
		abandon_held(st, no_producer ? "lost with the producer" : why);
	}
	if (st->stats.failed == 0)
		return SINK_OK;
	uint64_t total = st->stats.delivered + st->stats.failed;
	set_last_error(
		s,
		"kafka: %llu of %llu events not delivered (delivered %llu, retried %llu): %s%s%s",
		(unsigned long long)st->stats.failed, (unsigned long long)total,
		(unsigned long long)st->stats.delivered, (unsigned long long)st->stats.retried,
		st->failure, st->client_error[0] ? "; last client error: " : "", st->client_error);
	return SINK_ERROR;
}

static void kafka_state_free(struct kafka_state *st)
{
	if (!st)
		return;
	producer_destroy(st);
	while (st->head)
		record_remove(st, st->head);
	for (size_t i = 0; i < st->ntopics; i++)
		free(st->topics[i].name);
	free(st->topics);
	if (st->conf_template)
		rd_kafka_conf_destroy(st->conf_template);
	kafka_options_free(&st->opt);
	strbuf_free(&st->scratch);
	free(st);
}

static int kafka_open(struct sink *s, const char *arg, char *err, size_t errlen)
{
	struct kafka_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (kafka_options_parse(arg, &st->opt, err, errlen) != 0)
		goto fail;
	snprintf(st->label, sizeof(st->label), "%s@%s", st->opt.topic, st->opt.brokers);
	st->encoding = s->encoding == ENCODING_JSON ? NULL : encoding_name(s->encoding);
	st->conf_template = conf_new(st, err, errlen);
	if (!st->conf_template)
		goto fail;
	if (topic_index(st, st->opt.topic) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (producer_create(st, err, errlen) != 0)
		goto fail;
	s->state = st;
	return 0;
fail:
	kafka_state_free(st);
	return -1;
}

static void kafka_close(struct sink *s)
{
	struct kafka_state *st = s->state;
	if (!st)
		return;
	if (st->head)
		abandon_held(st, "still unacknowledged at close");
	const struct kafka_sink_stats *c = &st->stats;
	fprintf(stderr,
		"mcptrail: kafka %s: delivered %llu, failed %llu (possibly persisted %llu), "
		"retried %llu, produced again %llu (producer restarts %llu)%s%s%s%s\n",
		st->label, (unsigned long long)c->delivered, (unsigned long long)c->failed,
		(unsigned long long)c->possibly_persisted, (unsigned long long)c->retried,
		(unsigned long long)c->reproduced, (unsigned long long)c->producer_restarts,
		c->failed ? "; last failure: " : "", c->failed ? st->failure : "",
		c->failed && st->client_error[0] ? "; last client error: " : "",
		c->failed ? st->client_error : "");
	kafka_state_free(st);
	s->state = NULL;
}

void sink_kafka_stats(const struct sink *s, struct kafka_sink_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || s->ops != &sink_kafka_ops || !s->state)
		return;
	const struct kafka_state *st = s->state;
	*out = st->stats;
	out->unacknowledged = st->held;
}

int sink_kafka_inject_fatal_error(struct sink *s)
{
	if (!s || s->ops != &sink_kafka_ops || !s->state)
		return -1;
	struct kafka_state *st = s->state;
	if (!st->rk)
		return -1;
	return rd_kafka_test_fatal_error(st->rk, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
					 "injected by a test") == RD_KAFKA_RESP_ERR_NO_ERROR
		       ? 0
		       : -1;
}

const struct sink_ops sink_kafka_ops = {
	.scheme = "kafka",
	.open = kafka_open,
	.write_batch = kafka_write_batch,
	.flush = kafka_flush,
	.close = kafka_close,
};
