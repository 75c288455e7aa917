/* sink: where normalized events go. Each sink is a small .c file behind this interface; the core,
 * not the sink, decides what to do with the outcome of a write (STYLE.md). */
#ifndef MCPTRAIL_SINK_H
#define MCPTRAIL_SINK_H

#include "sinks/encode.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum sink_result {
	SINK_OK,	    /* written and, as far as this sink can tell, durable */
	SINK_QUEUED,	    /* accepted; acknowledged later */
	SINK_RETRY,	    /* temporary failure: try the same batch again */
	SINK_NOT_CONNECTED, /* the destination is down */
	SINK_DROP,	    /* the batch cannot ever be written (e.g. too large) */
	SINK_ERROR,	    /* a failure that needs an operator */
};

struct sink;

/* One event handed to a sink: the event itself (borrowed: for keys, headers, structured data)
 * and its payload in the sink's encoding (no trailing newline). */
struct sink_record {
	const json_t *event;
	const char *payload;
	size_t len;
};

struct sink_ops {
	const char *scheme; /* "file" */
	/* arg: the URI after "scheme:". Returns 0, or -1 with a message in err. */
	int (*open)(struct sink *s, const char *arg, char *err, size_t errlen);
	/* n records, in order. A sink that acknowledges later returns SINK_QUEUED and settles
	 * in flush(). */
	enum sink_result (*write_batch)(struct sink *s, const struct sink_record *recs, size_t n);
	enum sink_result (*flush)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	void *state;
	char *uri;
	enum event_encoding encoding; /* json unless the URI or --encode says otherwise */
	uint64_t events, bytes, failed_batches;
	char last_error[256];
};

/* Opens a sink from a URI: "file:PATH", a plain path, or "-" for standard output. */
struct sink *sink_open(const char *uri, char *err, size_t errlen);
/* The same, with the payload encoding the sink will be given. */
struct sink *sink_open_encoded(const char *uri, enum event_encoding encoding, char *err,
			       size_t errlen);
enum sink_result sink_write_batch(struct sink *s, const struct sink_record *recs, size_t n);
enum sink_result sink_flush(struct sink *s);
/* Flushes and closes; 0 when everything written was acknowledged. */
int sink_close(struct sink *s);
const char *sink_result_name(enum sink_result r);

extern const struct sink_ops sink_file_ops;
extern const struct sink_ops sink_kafka_ops;
extern const struct sink_ops sink_syslog_udp_ops, sink_syslog_tcp_ops, sink_syslog_tls_ops;

#endif
