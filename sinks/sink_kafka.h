/* sink_kafka: events to a Kafka topic through librdkafka (idempotent producer, acks=all, zstd).
 *
 * URI: kafka://HOST:PORT[,HOST:PORT]/TOPIC[?OPTION=VALUE&...] with these options:
 *   key=session|identity|none  message key (default session, so each MCP session keeps its order)
 *   topic_per_type=0|1         1: TOPIC.<event type with '.' as '_'>, e.g. mcptrail.mcp_tool_call
 *   queue_bytes=SIZE           byte cap on librdkafka's queue (default 64M; 1K minimum)
 *   compression=zstd|lz4|snappy|gzip|none   (default zstd)
 *   flush_timeout_ms=N         how long flush() waits for delivery reports (default 30000); also
 *                              how long a write waits for room in a full queue
 *   encode=json|ocsf|ecs|cef|leef           payload encoding (default json)
 *   NAME.WITH.DOTS=VALUE       any librdkafka property (security.protocol, ssl.ca.location,
 *                              sasl.mechanisms, sasl.username, linger.ms, ...), applied last
 * Names and values may be percent-encoded (%26 for '&' in a password).
 *
 * Each message carries the headers schema: mcptrail/1 (the schema of the event it encodes),
 * event_type and event_id, plus encoding: ocsf|ecs|cef|leef when the payload is not mcptrail/1
 * JSON (--encode).
 *
 * An event counts as delivered only on its delivery report. The sink keeps each payload (keyed
 * by the message's opaque) until that report, so that after a fatal producer error (e.g.
 * idempotence fencing) it can recreate the producer and produce again what was not acknowledged.
 * flush() returns SINK_OK only when every event written so far was delivered; once an event has
 * failed, the sink has lost data and every later flush() returns SINK_ERROR. */
#ifndef MCPTRAIL_SINK_KAFKA_H
#define MCPTRAIL_SINK_KAFKA_H

#include "collector/util.h"
#include "sinks/sink.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kafka_key_mode {
	KAFKA_KEY_SESSION,  /* session.id */
	KAFKA_KEY_IDENTITY, /* identity.subject "|" identity.issuer, else the token fingerprint */
	KAFKA_KEY_NONE,
};

struct kafka_property {
	char *name;
	char *value;
};

struct kafka_options {
	char *brokers; /* "host:port,host:port" */
	char *topic;
	enum kafka_key_mode key_mode;
	bool topic_per_type;
	size_t queue_bytes;
	char compression[8];
	int flush_timeout_ms;
	int encoding;			   /* enum event_encoding */
	struct kafka_property *properties; /* librdkafka pass-through, in URI order */
	size_t nproperties;
};

/* Parses the URI after "kafka:" ("//HOST:PORT/TOPIC?..."). Returns 0, or -1 with a message naming
 * the offending part in err (values of secret-looking properties are never echoed). opt is
 * always left freeable. */
int kafka_options_parse(const char *arg, struct kafka_options *opt, char *err, size_t errlen);
void kafka_options_free(struct kafka_options *opt);

/* The message key of an event under mode, appended to out. false when the event has none (the
 * message is then produced without a key). */
bool kafka_event_key(enum kafka_key_mode mode, const json_t *event, struct strbuf *out);

/* The topic of an event, appended to out: base, or base "." type (every character other than
 * letters, digits, '-' and '_' turned into '_') when per_type is set and the event has a type.
 * false (out unchanged) when the name would exceed Kafka's 249 characters. */
bool kafka_event_topic(const char *base, bool per_type, const json_t *event, struct strbuf *out);

struct kafka_sink_stats {
	uint64_t delivered;	     /* delivery report without error */
	uint64_t failed;	     /* delivery report with an error, or never reported in time */
	uint64_t possibly_persisted; /* of failed: the broker may have written them anyway */
	uint64_t retried;	    /* produce calls repeated because librdkafka's queue was full */
	uint64_t reproduced;	    /* events produced again after a fatal producer error */
	uint64_t producer_restarts; /* producers recreated after a fatal error */
	uint64_t unacknowledged;    /* held now, waiting for their delivery report */
};

/* Counters of a sink opened from a kafka: URI. */
void sink_kafka_stats(const struct sink *s, struct kafka_sink_stats *out);

/* For tests: raises a fabricated fatal error in the producer (rd_kafka_test_fatal_error), as
 * idempotence fencing would. 0 when raised. */
int sink_kafka_inject_fatal_error(struct sink *s);

#endif
