/* Unit tests for sinks/sink_kafka: URI options and their errors, message keys and topics derived
 * from events, and, against an in-process librdkafka mock cluster, the delivery contract: events
 * count as delivered only on their delivery report, a full queue is waited out, a fatal producer
 * error loses nothing, and an unreachable cluster fails flush() within its timeout. */
#include "sinks/sink_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <netinet/in.h>
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

/* ---- options ---- */

static void test_parse_defaults(void **state)
{
	(void)state;
	struct kafka_options o;
	char err[256] = "";
	assert_int_equal(kafka_options_parse("//broker:9092/mcptrail", &o, err, sizeof(err)), 0);
	assert_string_equal(o.brokers, "broker:9092");
	assert_string_equal(o.topic, "mcptrail");
	assert_int_equal(o.key_mode, KAFKA_KEY_SESSION);
	assert_false(o.topic_per_type);
	assert_int_equal(o.queue_bytes, (size_t)64 << 20);
	assert_string_equal(o.compression, "zstd");
	assert_int_equal(o.flush_timeout_ms, 30000);
	assert_int_equal(o.nproperties, 0);
	kafka_options_free(&o);
	kafka_options_free(&o); /* freeing twice is harmless */
}

static void test_parse_every_option(void **state)
{
	(void)state;
	struct kafka_options o;
	char err[256] = "";
	int rc = kafka_options_parse(
		"//k1.example:9093,10.0.0.2:9094,[::1]:9095/audit.events-1?key=identity&"
		"topic_per_type=1&queue_bytes=2M&compression=lz4&flush_timeout_ms=5000&"
		"security.protocol=SASL_SSL&ssl.ca.location=/etc/"
		"ca.pem&sasl.mechanisms=SCRAM-SHA-256&"
		"sasl.username=collector&sasl.password=p%26ss%3Dw%25rd&&linger.ms=50",
		&o, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(o.brokers, "k1.example:9093,10.0.0.2:9094,[::1]:9095");
	assert_string_equal(o.topic, "audit.events-1");
	assert_int_equal(o.key_mode, KAFKA_KEY_IDENTITY);
	assert_true(o.topic_per_type);
	assert_int_equal(o.queue_bytes, 2u << 20);
	assert_string_equal(o.compression, "lz4");
	assert_int_equal(o.flush_timeout_ms, 5000);
	assert_int_equal(o.nproperties, 6);
	assert_string_equal(o.properties[0].name, "security.protocol");
	assert_string_equal(o.properties[0].value, "SASL_SSL");
	assert_string_equal(o.properties[4].name, "sasl.password");
	assert_string_equal(o.properties[4].value, "p&ss=w%rd"); /* percent-decoded */
	assert_string_equal(o.properties[5].name, "linger.ms");
	kafka_options_free(&o);

	assert_int_equal(
		kafka_options_parse("//h:1/t?key=none&topic_per_type=0", &o, err, sizeof(err)), 0);
	assert_int_equal(o.key_mode, KAFKA_KEY_NONE);
	assert_false(o.topic_per_type);
	kafka_options_free(&o);
}

static void test_parse_errors_name_the_problem(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"broker:9092/t", "expected kafka://HOST:PORT"},
		{"//broker:9092", "no topic"},
		{"//broker:9092?key=none", "no topic"},
		{"///t", "no broker"},
		{"//broker/t", "broker 'broker': expected HOST:PORT"},
		{"//broker:0/t", "broker 'broker:0'"},
		{"//broker:70000/t", "broker 'broker:70000'"},
		{"//a:1,,b:2/t", "broker ''"},
		{"//a:1,/t", "broker ''"},
		{"//:9092/t", "broker ':9092'"},
		{"//h:1/", "topic ''"},
		{"//h:1/bad topic", "topic 'bad topic'"},
		{"//h:1/a%2Fb", "topic 'a/b'"},
		{"//h:1/..", "topic '..'"},
		{"//h:1/t?key=user",
		 "option 'key': expected session, identity or none, got 'user'"},
		{"//h:1/t?topic_per_type=yes", "option 'topic_per_type': expected 0 or 1"},
		{"//h:1/t?queue_bytes=10", "option 'queue_bytes'"},
		{"//h:1/t?queue_bytes=lots", "option 'queue_bytes'"},
		{"//h:1/t?compression=brotli", "option 'compression'"},
		{"//h:1/t?flush_timeout_ms=0", "option 'flush_timeout_ms'"},
		{"//h:1/t?flush_timeout_ms=5s", "option 'flush_timeout_ms'"},
		{"//h:1/t?acks=1", "unknown option 'acks'"},
		{"//h:1/t?key", "option 'key': expected NAME=VALUE"},
		{"//h:1/t?=x", "expected NAME=VALUE"},
		{"//h:1/t?sasl.password=%zz", "option 'sasl.password': malformed %-escape"},
		{"//h:1/t?bootstrap.servers=x:1", "option 'bootstrap.servers': give the brokers"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kafka_options o;
		char err[256] = "";
		int rc = kafka_options_parse(cases[i][0], &o, err, sizeof(err));
		if (rc != -1 || !strstr(err, cases[i][1]))
			fail_msg("'%s': rc %d, error '%s', expected '%s'", cases[i][0], rc, err,
				 cases[i][1]);
		kafka_options_free(&o);
	}
}

/* Properties go to librdkafka when the sink opens; what it rejects is named, and the values of
 * secrets are not echoed. */
static void test_open_rejects_librdkafka_properties_by_name(void **state)
{
	(void)state;
	char err[512] = "";
	struct sink *s =
		sink_open("kafka://127.0.0.1:9/t?ssl.ca.locaton=/etc/ca.pem", err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "option 'ssl.ca.locaton'"));
	assert_non_null(strstr(err, "No such configuration property"));

	s = sink_open("kafka://127.0.0.1:9/t?linger.ms=-5", err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "option 'linger.ms'"));

	s = sink_open("kafka://127.0.0.1:9/t?ssl.keystore.password.x=hunter2", err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "ssl.keystore.password.x"));
	assert_null(strstr(err, "hunter2"));

	s = sink_open("kafka://127.0.0.1:9/t?sasl.mechanisms=NOPE&security.protocol=SASL_PLAINTEXT",
		      err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "cannot create the producer: Unsupported SASL mechanism"));
}

/* TLS and SASL settings pass through: the producer is made (nothing connects before a write). */
static void test_open_passes_tls_and_sasl_through(void **state)
{
	(void)state;
	char err[512] = "";
	struct sink *s = sink_open(
		"kafka://127.0.0.1:9/t?security.protocol=SASL_SSL&sasl.mechanisms=SCRAM-SHA-512&"
		"sasl.username=collector&sasl.password=secret&enable.ssl.certificate.verification="
		"true",
		err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	assert_int_equal(sink_close(s), 0); /* nothing written, nothing owed */
}

/* ---- keys and topics ---- */

static json_t *event_json(const char *text)
{
	json_error_t e;
	json_t *ev = json_loads(text, 0, &e);
	if (!ev)
		fail_msg("bad test JSON: %s", e.text);
	return ev;
}

static void assert_key(enum kafka_key_mode mode, const char *event, const char *expected)
{
	json_t *ev = event_json(event);
	struct strbuf b = STRBUF_INIT;
	bool has = kafka_event_key(mode, ev, &b);
	if (expected) {
		assert_true(has);
		assert_int_equal(b.len, strlen(expected));
		assert_memory_equal(b.data, expected, b.len);
	} else {
		assert_false(has);
	}
	strbuf_free(&b);
	json_decref(ev);
}

static void test_key_derivation(void **state)
{
	(void)state;
	const char *jwt = "{\"type\":\"mcp.tool_call\",\"session\":{\"id\":\"http-1/2\"},"
			  "\"identity\":{\"subject\":\"alice\",\"issuer\":\"https://idp\","
			  "\"token\":{\"fingerprint\":\"tfp:ab\"}}}";
	assert_key(KAFKA_KEY_IDENTITY, jwt, "alice|https://idp");
	assert_key(KAFKA_KEY_SESSION, jwt, "http-1/2");
	assert_key(KAFKA_KEY_NONE, jwt, NULL);
	/* stdio: no issuer */
	assert_key(KAFKA_KEY_IDENTITY, "{\"identity\":{\"subject\":\"svc\",\"issuer\":null}}",
		   "svc|");
	/* an opaque token: no subject, its fingerprint */
	assert_key(KAFKA_KEY_IDENTITY,
		   "{\"identity\":{\"subject\":null,\"issuer\":null,"
		   "\"token\":{\"fingerprint\":\"tfp:0123\"}}}",
		   "tfp:0123");
	/* nobody, or no session: no key */
	assert_key(KAFKA_KEY_IDENTITY,
		   "{\"identity\":{\"subject\":null,\"issuer\":\"x\",\"token\":{\"fingerprint\":"
		   "null}}}",
		   NULL);
	assert_key(KAFKA_KEY_IDENTITY, "{\"type\":\"ingest.summary\"}", NULL);
	assert_key(KAFKA_KEY_SESSION, "{\"type\":\"ingest.summary\"}", NULL);
}

static void assert_topic(bool per_type, const char *base, const char *event, const char *expected)
{
	json_t *ev = event_json(event);
	struct strbuf b = STRBUF_INIT;
	bool ok = kafka_event_topic(base, per_type, ev, &b);
	if (expected) {
		assert_true(ok);
		assert_string_equal(b.data, expected);
	} else {
		assert_false(ok);
		assert_int_equal(b.len, 0);
	}
	strbuf_free(&b);
	json_decref(ev);
}

static void test_topic_derivation(void **state)
{
	(void)state;
	assert_topic(false, "mcptrail", "{\"type\":\"mcp.tool_call\"}", "mcptrail");
	assert_topic(true, "mcptrail", "{\"type\":\"mcp.tool_call\"}", "mcptrail.mcp_tool_call");
	assert_topic(true, "a.b", "{\"type\":\"identity.blast_radius\"}",
		     "a.b.identity_blast_radius");
	assert_topic(true, "t", "{\"type\":\"we!rd type/x\"}", "t.we_rd_type_x");
	assert_topic(true, "mcptrail", "{\"schema\":\"mcptrail/1\"}", "mcptrail");
	char base[250];
	memset(base, 'x', 240);
	base[240] = '\0';
	assert_topic(true, base, "{\"type\":\"mcp.tool_call\"}", NULL);
	assert_topic(false, base, "{\"type\":\"mcp.tool_call\"}", base);
}

/* ---- against a mock cluster ---- */

struct cluster {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	char bootstraps[256];
};

static int cluster_setup(void **state)
{
	char errstr[256];
	struct cluster *c = calloc(1, sizeof(*c));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
	c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	assert_non_null(c->rk);
	c->mc = rd_kafka_mock_cluster_new(c->rk, 3);
	assert_non_null(c->mc);
	snprintf(c->bootstraps, sizeof(c->bootstraps), "%s",
		 rd_kafka_mock_cluster_bootstraps(c->mc));
	*state = c;
	return 0;
}

static int cluster_teardown(void **state)
{
	struct cluster *c = *state;
	rd_kafka_mock_cluster_destroy(c->mc);
	rd_kafka_destroy(c->rk);
	free(c);
	return 0;
}

struct batch {
	json_t *events[64];
	char *payloads[64];
	struct sink_record recs[64];
	size_t n;
};

/* Events "<prefix>-<i>" for i in [first, first + n), each with a payload of pad bytes. */
static void batch_make(struct batch *b, const char *prefix, int first, size_t n, size_t pad)
{
	char *filler = malloc(pad + 1);
	memset(filler, 'p', pad);
	filler[pad] = '\0';
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		char id[64], session[32];
		snprintf(id, sizeof(id), "%s-%d", prefix, first + (int)i);
		snprintf(session, sizeof(session), "s%d", (first + (int)i) % 7);
		b->events[i] = json_pack("{s:s, s:s, s:s, s:{s:s}, s:s}", "schema", "mcptrail/1",
					 "event_id", id, "type", "mcp.tool_call", "session", "id",
					 session, "pad", filler);
		b->payloads[i] = json_dumps(b->events[i], JSON_COMPACT);
		b->recs[i] =
			(struct sink_record){b->events[i], b->payloads[i], strlen(b->payloads[i])};
	}
	free(filler);
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		json_decref(b->events[i]);
		free(b->payloads[i]);
	}
	b->n = 0;
}

static enum sink_result write_events(struct sink *s, const char *prefix, int first, size_t n,
				     size_t pad)
{
	struct batch b;
	batch_make(&b, prefix, first, n, pad);
	enum sink_result r = sink_write_batch(s, b.recs, b.n);
	batch_free(&b);
	return r;
}

/* Reads the whole topic back; counts[i] = how often "<prefix>-<i>" arrived (via its event_id
 * header). Every message has the schema and event_type headers, and an encoding header exactly
 * when encoding is not NULL. Returns the number of messages. */
static size_t consume_counts(const struct cluster *c, const char *topic, int partitions,
			     const char *prefix, unsigned *counts, size_t ncounts,
			     const char *encoding)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstraps, errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "group.id", "test_kafka", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
	rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	assert_non_null(consumer);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
	for (int p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(consumer, parts), 0);
	rd_kafka_topic_partition_list_destroy(parts);
	size_t messages = 0;
	int eofs = 0;
	size_t plen = strlen(prefix);
	for (int idle = 0; eofs < partitions && idle < 100;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);
		if (!m) {
			idle++;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			eofs++;
		} else if (!m->err) {
			messages++;
			rd_kafka_headers_t *h = NULL;
			const void *v = NULL;
			size_t vlen = 0;
			assert_int_equal(rd_kafka_message_headers(m, &h), 0);
			assert_int_equal(rd_kafka_header_get_last(h, "schema", &v, &vlen), 0);
			assert_memory_equal(v, "mcptrail/1", vlen);
			assert_int_equal(rd_kafka_header_get_last(h, "event_type", &v, &vlen), 0);
			assert_memory_equal(v, "mcp.tool_call", vlen);
			if (encoding) {
				assert_int_equal(rd_kafka_header_get_last(h, "encoding", &v, &vlen),
						 0);
				assert_int_equal(vlen, strlen(encoding));
				assert_memory_equal(v, encoding, vlen);
			} else {
				assert_int_not_equal(
					rd_kafka_header_get_last(h, "encoding", &v, &vlen), 0);
			}
			assert_int_equal(rd_kafka_header_get_last(h, "event_id", &v, &vlen), 0);
			assert_true(vlen > plen + 1 && memcmp(v, prefix, plen) == 0);
			char idx[16] = "";
			memcpy(idx, (const char *)v + plen + 1,
			       vlen - plen - 1 < sizeof(idx) - 1 ? vlen - plen - 1
								 : sizeof(idx) - 1);
			size_t i = strtoul(idx, NULL, 10);
			assert_true(i < ncounts);
			counts[i]++;
			/* the key is the session of the event */
			char key[8];
			snprintf(key, sizeof(key), "s%zu", i % 7);
			assert_int_equal(m->key_len, strlen(key));
			assert_memory_equal(m->key, key, m->key_len);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(consumer);
	rd_kafka_destroy(consumer);
	return messages;
}

static void test_delivered_only_on_reports(void **state)
{
	struct cluster *c = *state;
	enum { N = 300 };
	unsigned counts[N] = {0};
	assert_int_equal(rd_kafka_mock_topic_create(c->mc, "plain", 3, 3), 0);
	char uri[512], err[512];
	snprintf(uri, sizeof(uri), "kafka://%s/plain?key=session", c->bootstraps);
	struct sink *s = sink_open(uri, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	for (int i = 0; i < N; i += 50)
		assert_int_equal(write_events(s, "plain", i, 50, 100), SINK_QUEUED);
	struct kafka_sink_stats st;
	assert_int_equal(sink_flush(s), SINK_OK);
	sink_kafka_stats(s, &st);
	assert_int_equal(st.delivered, N);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.unacknowledged, 0);
	assert_int_equal(consume_counts(c, "plain", 3, "plain", counts, N, NULL), N);
	for (int i = 0; i < N; i++)
		assert_int_equal(counts[i], 1);
	assert_int_equal(sink_close(s), 0);
}

/* A queue capped at 1K holds a few events: the write waits for delivery reports to make room. */
static void test_full_queue_is_waited_out(void **state)
{
	struct cluster *c = *state;
	enum { N = 200 };
	unsigned counts[N] = {0};
	assert_int_equal(rd_kafka_mock_topic_create(c->mc, "small", 3, 3), 0);
	char uri[512], err[512];
	snprintf(uri, sizeof(uri), "kafka://%s/small?queue_bytes=1K&linger.ms=1", c->bootstraps);
	struct sink *s = sink_open(uri, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	for (int i = 0; i < N; i += 50)
		assert_int_equal(write_events(s, "small", i, 50, 300), SINK_QUEUED);
	assert_int_equal(sink_flush(s), SINK_OK);
	struct kafka_sink_stats st;
	sink_kafka_stats(s, &st);
	assert_int_equal(st.delivered, N);
	assert_true(st.retried > 0);
	assert_int_equal(consume_counts(c, "small", 3, "small", counts, N, NULL), N);
	for (int i = 0; i < N; i++)
		assert_int_equal(counts[i], 1);
	assert_int_equal(sink_close(s), 0);
}

/* A fatal error (as idempotence fencing raises) mid-stream: the producer is recreated and what
 * was not acknowledged is produced again; every event arrives. */
static void test_fatal_error_loses_nothing(void **state)
{
	struct cluster *c = *state;
	enum { N = 400 };
	unsigned counts[N] = {0};
	assert_int_equal(rd_kafka_mock_topic_create(c->mc, "fatal", 3, 3), 0);
	/* slow brokers, so that events are still in flight when the error comes */
	for (int b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_rtt(c->mc, b, 200);
	char uri[512], err[512];
	snprintf(uri, sizeof(uri), "kafka://%s/fatal?key=session", c->bootstraps);
	struct sink *s = sink_open(uri, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	for (int i = 0; i < N / 2; i += 50)
		assert_int_equal(write_events(s, "fatal", i, 50, 100), SINK_QUEUED);
	assert_int_equal(sink_kafka_inject_fatal_error(s), 0);
	for (int i = N / 2; i < N; i += 50)
		assert_int_equal(write_events(s, "fatal", i, 50, 100), SINK_QUEUED);
	assert_int_equal(sink_flush(s), SINK_OK);
	for (int b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_rtt(c->mc, b, 0);
	struct kafka_sink_stats st;
	sink_kafka_stats(s, &st);
	assert_int_equal(st.delivered, N);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.producer_restarts, 1);
	assert_true(st.reproduced > 0);
	size_t got = consume_counts(c, "fatal", 3, "fatal", counts, N, NULL);
	size_t dups = 0;
	for (int i = 0; i < N; i++) {
		assert_true(counts[i] >= 1);
		dups += counts[i] - 1;
	}
	assert_int_equal(got, N + dups);
	print_message("fatal error: %llu events produced again, %zu duplicates\n",
		      (unsigned long long)st.reproduced, dups);
	assert_int_equal(sink_close(s), 0);
}

/* A payload in another encoding (--encode) says so in a header. */
static void test_encoding_header(void **state)
{
	struct cluster *c = *state;
	enum { N = 20 };
	unsigned counts[N] = {0};
	assert_int_equal(rd_kafka_mock_topic_create(c->mc, "ocsf", 3, 3), 0);
	char uri[512], err[512];
	snprintf(uri, sizeof(uri), "kafka://%s/ocsf", c->bootstraps);
	struct sink *s = sink_open_encoded(uri, ENCODING_OCSF, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	assert_int_equal(write_events(s, "ocsf", 0, N, 10), SINK_QUEUED);
	assert_int_equal(sink_flush(s), SINK_OK);
	assert_int_equal(consume_counts(c, "ocsf", 3, "ocsf", counts, N, "ocsf"), N);
	assert_int_equal(sink_close(s), 0);
}

static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_unreachable_cluster_fails_within_timeout(void **state)
{
	(void)state;
	char uri[256], err[512];
	snprintf(uri, sizeof(uri), "kafka://127.0.0.1:%d/t?flush_timeout_ms=1000", closed_port());
	struct sink *s = sink_open(uri, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	assert_int_equal(write_events(s, "lost", 0, 10, 10), SINK_QUEUED);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sink_flush(s), SINK_ERROR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.9 && secs < 4.0);
	assert_non_null(strstr(s->last_error, "10 of 10 events not delivered"));
	assert_non_null(strstr(s->last_error, "flush_timeout_ms=1000"));
	struct kafka_sink_stats st;
	sink_kafka_stats(s, &st);
	assert_int_equal(st.failed, 10);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.unacknowledged, 0);
	/* the loss stays reported */
	assert_int_equal(sink_flush(s), SINK_ERROR);
	assert_int_equal(sink_close(s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_every_option),
		cmocka_unit_test(test_parse_errors_name_the_problem),
		cmocka_unit_test(test_open_rejects_librdkafka_properties_by_name),
		cmocka_unit_test(test_open_passes_tls_and_sasl_through),
		cmocka_unit_test(test_key_derivation),
		cmocka_unit_test(test_topic_derivation),
		cmocka_unit_test(test_unreachable_cluster_fails_within_timeout),
	};
	const struct CMUnitTest cluster_tests[] = {
		cmocka_unit_test(test_delivered_only_on_reports),
		cmocka_unit_test(test_full_queue_is_waited_out),
		cmocka_unit_test(test_fatal_error_loses_nothing),
		cmocka_unit_test(test_encoding_header),
	};
	int failed = cmocka_run_group_tests_name("kafka", tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("kafka_mock_cluster", cluster_tests, cluster_setup,
					      cluster_teardown);
	return failed;
}
