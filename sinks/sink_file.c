/* The file sink: JSON lines appended with one write() per batch, so a reader never sees half a
 * batch from a healthy writer. Files are created mode 0640 (events hold no raw secrets, but they
 * are still an audit trail). "-" writes to standard output. */
#include "sinks/sink.h"

#include "collector/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct file_state {
	int fd;
	bool owned;
	bool sync_on_flush;
	struct strbuf line_buf;
};

static int file_open(struct sink *s, const char *path, char *err, size_t errlen)
{
	struct file_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strcmp(path, "-") == 0) {
		st->fd = STDOUT_FILENO;
	} else {
		if (!*path) {
			snprintf(err, errlen, "%s: empty file path", s->uri);
			free(st);
			return -1;
		}
		st->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
		if (st->fd < 0) {
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
			free(st);
			return -1;
		}
		st->owned = true;
		st->sync_on_flush = true;
	}
	s->state = st;
	return 0;
}

static enum sink_result file_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	struct file_state *st = s->state;
	/* whole lines, one write() per batch */
	strbuf_reset(&st->line_buf);
	for (size_t i = 0; i < n; i++) {
		if (!strbuf_append(&st->line_buf, recs[i].payload, recs[i].len) ||
		    !strbuf_append(&st->line_buf, "\n", 1)) {
			snprintf(s->last_error, sizeof(s->last_error), "out of memory");
			return SINK_RETRY;
		}
	}
	const char *data = st->line_buf.data;
	size_t len = st->line_buf.len;
	while (len > 0) {
		ssize_t w = write(st->fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(s->last_error, sizeof(s->last_error), "write: %s",
				 strerror(errno));
			return errno == ENOSPC || errno == EAGAIN ? SINK_RETRY : SINK_ERROR;
		}
		data += w;
		len -= (size_t)w;
	}
	if (st->line_buf.cap > (8u << 20))
		strbuf_free(&st->line_buf);
	return SINK_OK;
}

static enum sink_result file_flush(struct sink *s)
{
	struct file_state *st = s->state;
	if (st->sync_on_flush && fsync(st->fd) != 0 && errno != EINVAL) {
		snprintf(s->last_error, sizeof(s->last_error), "fsync: %s", strerror(errno));
		return SINK_ERROR;
	}
	return SINK_OK;
}

static void file_close(struct sink *s)
{
	struct file_state *st = s->state;
	if (st && st->owned)
		close(st->fd);
	if (st)
		strbuf_free(&st->line_buf);
	free(st);
	s->state = NULL;
}

const struct sink_ops sink_file_ops = {
	.scheme = "file",
	.open = file_open,
	.write_batch = file_write_batch,
	.flush = file_flush,
	.close = file_close,
};
