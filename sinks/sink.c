#include "sinks/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sink_ops *const registry[] = {
	&sink_file_ops,	      &sink_kafka_ops,	    &sink_syslog_udp_ops,
	&sink_syslog_tcp_ops, &sink_syslog_tls_ops,
};

const char *sink_result_name(enum sink_result r)
{
	static const char *const names[] = {"ok",   "queued", "retry", "not_connected",
					    "drop", "error"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

struct sink *sink_open(const char *uri, char *err, size_t errlen)
{
	return sink_open_encoded(uri, ENCODING_JSON, err, errlen);
}

struct sink *sink_open_encoded(const char *uri, enum event_encoding encoding, char *err,
			       size_t errlen)
{
	const struct sink_ops *ops = NULL;
	const char *arg = uri;
	const char *colon = strchr(uri, ':');
	if (colon && colon != uri) {
		size_t n = (size_t)(colon - uri);
		for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
			if (strlen(registry[i]->scheme) == n &&
			    strncmp(registry[i]->scheme, uri, n) == 0) {
				ops = registry[i];
				arg = colon + 1;
			}
		}
		if (!ops && strstr(uri, "://")) {
			snprintf(err, errlen, "%s: unknown or not yet supported sink scheme '%.*s'",
				 uri, (int)n, uri);
			return NULL;
		}
	}
	if (!ops)
		ops = &sink_file_ops; /* a plain path */
	struct sink *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ops = ops;
	s->encoding = encoding; /* before open: a sink may refuse an encoding it cannot carry */
	s->uri = strdup(uri);
	if (!s->uri || ops->open(s, arg, err, errlen) != 0) {
		free(s->uri);
		free(s);
		return NULL;
	}
	return s;
}

enum sink_result sink_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	enum sink_result r = s->ops->write_batch(s, recs, n);
	if (r == SINK_OK || r == SINK_QUEUED) {
		s->events += n;
		for (size_t i = 0; i < n; i++)
			s->bytes += recs[i].len;
	} else if (r == SINK_DROP || r == SINK_ERROR)
		s->failed_batches++; /* final; a transient failure counts only if retries give up */
	return r;
}

enum sink_result sink_flush(struct sink *s)
{
	return s->ops->flush ? s->ops->flush(s) : SINK_OK;
}

int sink_close(struct sink *s)
{
	if (!s)
		return 0;
	enum sink_result r = sink_flush(s);
	s->ops->close(s);
	int rc = (r == SINK_OK && s->failed_batches == 0) ? 0 : -1;
	free(s->uri);
	free(s);
	return rc;
}
