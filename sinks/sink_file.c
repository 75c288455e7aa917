/* The file sink: JSON lines, whole lines with one write() per batch (per segment), so a reader
 * never sees half a batch from a healthy writer. Files are created mode 0640 (events hold no raw
 * secrets, but they are still an audit trail). "-" writes to standard output.
 *
 * A plain "file:PATH" (or -o PATH) writes one file, truncated at open, the payloads exactly as
 * given, fsync on flush. Options in the URI query switch on the rest:
 *
 *   file:PATH?rotate_bytes=64M&rotate_seconds=3600&compress=zstd&fsync=batch&chain=1&key=K
 *
 * (a '?' starts the options only when something after it holds '=', so "-o 'odd?name'" is still
 * a file name; values may be %-encoded). The table file_options_table below is the reference.
 *
 * Rotation (rotate_bytes, rotate_seconds) or compression writes segments (file_segment.h):
 * PATH.<seq>.jsonl.active while written, then PATH.<seq>.jsonl, or PATH.<seq>.jsonl.zst with
 * compress=zstd (compressed in the writer's thread when the segment closes). A batch is split
 * between segments when it would overflow one; rotate_seconds is checked at each write and flush
 * (no timer of its own). Segments are opened when their first record arrives, never empty.
 *
 * chain=1 (json encoding only) adds a SHA-256 chain member to every line and ends every segment
 * with an HMAC-signed manifest (format in file_chain.h); `mcptrail verify` checks them. Without
 * rotation the file is one segment per run of the sink.
 *
 * mode: truncate (the default for one plain file) or append (the default with rotation or chain:
 * an audit trail survives a restart). Appending continues the segment numbers and the chain of
 * what is there; a segment a crashed writer left open (an .active file, or records after the last
 * manifest) is closed first with a manifest marked "recovered", and an incomplete last line (a
 * write cut short by the crash) is dropped. mode=truncate with rotation deletes PATH's segments.
 *
 * fsync: flush (default: on each flush from the core and when a segment closes), batch (before
 * each write returns SINK_OK), interval (at a write or flush once fsync_interval_ms have passed
 * since the last, and when a segment closes), never (weak: what the page cache holds when the
 * machine stops is lost, and a chained segment may then end without its manifest). */
#include "sinks/file_chain.h"
#include "sinks/file_segment.h"
#include "sinks/sink.h"
#include "sinks/sink_file_internal.h"

#include "collector/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum option_type { OPT_SIZE, OPT_UINT, OPT_BOOL, OPT_CHOICE, OPT_STRING };

struct file_option {
	const char *name;
	enum option_type type;
	size_t offset;
	const char *const *choices; /* OPT_CHOICE: stored as the index */
	uint64_t max;		    /* OPT_UINT */
	const char *fallback;
	const char *help;
};

static const char *const compress_names[] = {"none", "zstd", NULL};
static const char *const fsync_names[] = {"flush", "batch", "interval", "never", NULL};
static const char *const mode_names[] = {"append", "truncate", NULL};

#define OPT(field) offsetof(struct file_options, field)
static const struct file_option file_options_table[] = {
	{"rotate_bytes", OPT_SIZE, OPT(rotate_bytes), NULL, 0, "0 (off)",
	 "start a new segment before the current one would grow past this size (64M, 1G)"},
	{"rotate_seconds", OPT_UINT, OPT(rotate_seconds), NULL, 315360000, "0 (off)",
	 "start a new segment once the current one is this old"},
	{"compress", OPT_CHOICE, OPT(compress), compress_names, 0, "none",
	 "compress closed segments: none or zstd (with a content checksum)"},
	{"zstd_level", OPT_UINT, OPT(zstd_level), NULL, 19, "3", "zstd level, 1 to 19"},
	{"fsync", OPT_CHOICE, OPT(fsync), fsync_names, 0, "flush",
	 "when to fsync: flush, batch, interval or never (weak)"},
	{"fsync_interval_ms", OPT_UINT, OPT(fsync_interval_ms), NULL, 86400000, "1000",
	 "with fsync=interval: the most time between two fsyncs while writing"},
	{"chain", OPT_BOOL, OPT(chain), NULL, 0, "0",
	 "SHA-256 chain member in every line, HMAC-signed manifest ending every segment"},
	{"key", OPT_STRING, OPT(key), NULL, 0, "none",
	 "HMAC key file for chain=1; created with 32 random bytes, mode 0600, if missing"},
	{"mode", OPT_CHOICE, OPT(mode), mode_names, 0, "truncate (one plain file) or append",
	 "append to what PATH holds or truncate it"},
	{"encode", OPT_STRING, OPT(encode), NULL, 0, "json",
	 "payload encoding (applied by the core); chain=1 needs json"},
};
#define NOPTIONS (sizeof(file_options_table) / sizeof(file_options_table[0]))

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void file_sink_warn(struct sink *s, const char *what)
{
	fprintf(stderr, "mcptrail: sink %s: %s\n", s->uri, what);
}

/* ---- options ---- */

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

/* %-decodes s[0..len) into a new string; NULL on a bad escape or out of memory. */
static char *percent_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	for (size_t i = 0; out && i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
		int lo = i + 2 < len ? hex_digit(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	if (out)
		*o = '\0';
	return out;
}

static int set_option(struct file_options *o, const struct file_option *def, const char *value,
		      char *err, size_t errlen, const char *uri)
{
	char *field = (char *)o + def->offset;
	char *end;
	switch (def->type) {
	case OPT_SIZE:
		if (!parse_size(value, (size_t *)field))
			goto bad;
		return 0;
	case OPT_UINT: {
		if (*value < '0' || *value > '9')
			goto bad;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		if (*end || errno || v > def->max)
			goto bad;
		*(uint64_t *)field = v;
		return 0;
	}
	case OPT_BOOL:
		if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
			*(bool *)field = true;
		else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
			*(bool *)field = false;
		else
			goto bad;
		return 0;
	case OPT_CHOICE:
		for (int i = 0; def->choices[i]; i++) {
			if (strcmp(def->choices[i], value) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		goto bad;
	case OPT_STRING:
		if (!*value)
			goto bad;
		free(*(char **)field);
		if (!(*(char **)field = strdup(value))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
bad:;
	static const char *const expected[] = {[OPT_SIZE] = "a size like 64M",
					       [OPT_UINT] = "a whole number",
					       [OPT_BOOL] = "0 or 1",
					       [OPT_STRING] = "a value"};
	if (def->type == OPT_CHOICE) {
		char list[128] = "";
		for (int i = 0; def->choices[i]; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", def->choices[i]);
		snprintf(err, errlen, "%s: %s: expected one of %s, got '%s'", uri, def->name, list,
			 value);
	} else if (def->type == OPT_UINT) {
		snprintf(err, errlen, "%s: %s: expected a whole number up to %llu, got '%s'", uri,
			 def->name, (unsigned long long)def->max, value);
	} else {
		snprintf(err, errlen, "%s: %s: expected %s, got '%s'", uri, def->name,
			 expected[def->type], value);
	}
	return -1;
}

static int parse_options(struct file_state *st, const char *query, const char *uri, char *err,
			 size_t errlen)
{
	const char *p = query;
	while (*p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		if (n == 0) {
			p++;
			continue;
		}
		if (!eq) {
			snprintf(err, errlen,
				 "%s: expected NAME=VALUE options after '?', got '%.*s'", uri,
				 (int)n, p);
			return -1;
		}
		char *name = percent_decode(p, (size_t)(eq - p));
		char *value = percent_decode(eq + 1, n - (size_t)(eq - p) - 1);
		int rc = -1;
		size_t i = 0;
		while (name && i < NOPTIONS && strcmp(file_options_table[i].name, name) != 0)
			i++;
		if (!name || !value) {
			snprintf(err, errlen, "%s: a bad %%-escape in '%.*s'", uri, (int)n, p);
		} else if (i == NOPTIONS) {
			char list[512] = "";
			for (size_t k = 0; k < NOPTIONS; k++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 k ? ", " : "", file_options_table[k].name);
			snprintf(err, errlen, "%s: unknown option '%s' (known: %s)", uri, name,
				 list);
		} else if (set_option(&st->opt, &file_options_table[i], value, err, errlen, uri) ==
			   0) {
			st->given |= 1u << i;
			rc = 0;
		}
		free(name);
		free(value);
		if (rc != 0)
			return -1;
		p += n;
	}
	return 0;
}

static bool given(const struct file_state *st, const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(file_options_table[i].name, name) == 0)
			return st->given & (1u << i);
	return false;
}

static int check_options(struct sink *s, struct file_state *st, char *err, size_t errlen)
{
	const struct file_options *o = &st->opt;
	const char *why = NULL;
	if (o->chain && s->encoding != ENCODING_JSON)
		snprintf(err, errlen, "%s: chain=1 needs the json encoding; this sink encodes %s",
			 s->uri, encoding_name(s->encoding));
	else if (o->chain && o->encode && strcmp(o->encode, "json") != 0)
		snprintf(err, errlen, "%s: chain=1 needs the json encoding, not encode=%s", s->uri,
			 o->encode);
	else if (o->chain && !o->key)
		why = "chain=1 needs key=PATH (an HMAC key file; created with 32 random bytes if "
		      "missing)";
	else if (!o->chain && o->key)
		why = "key= is for chain=1";
	else if (given(st, "fsync_interval_ms") && o->fsync != FSYNC_INTERVAL)
		why = "fsync_interval_ms= needs fsync=interval";
	else if (o->fsync == FSYNC_INTERVAL && o->fsync_interval_ms == 0)
		why = "fsync_interval_ms: expected at least 1";
	else if (o->zstd_level == 0)
		why = "zstd_level: expected 1 to 19";
	else if (given(st, "zstd_level") && o->compress != COMPRESS_ZSTD)
		why = "zstd_level= needs compress=zstd";
	else if (st->to_stdout && (st->segmented || o->mode >= 0))
		why = "rotation, compression and mode= need a file, not standard output";
	else if (!*st->path)
		why = "empty file path";
	else if (st->segmented && st->path[strlen(st->path) - 1] == '/')
		why = "with rotation or compression PATH names the segments, not a directory";
	else
		return 0;
	if (why)
		snprintf(err, errlen, "%s: %s", s->uri, why);
	return -1;
}

/* ---- writing ---- */

static enum sink_result io_failure(struct sink *s, const char *what, const char *name)
{
	int e = errno;
	snprintf(s->last_error, sizeof(s->last_error), "%s: %s: %s", name, what, strerror(e));
	return e == ENOSPC || e == EAGAIN || e == EDQUOT ? SINK_RETRY : SINK_ERROR;
}

static const char *current_name(struct file_state *st)
{
	return st->segmented ? st->active_name.data : st->path;
}

/* Writes whole lines; a failed write is cut back so no partial line stays behind. */
static enum sink_result write_lines(struct sink *s, const char *data, size_t len)
{
	struct file_state *st = s->state;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(st->fd, data, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			if (len != left &&
			    (!st->regular || ftruncate(st->fd, (off_t)st->file_bytes) != 0))
				st->broken = true; /* a partial line we cannot take back */
			errno = e;
			return io_failure(s, "write", current_name(st));
		}
		data += w;
		left -= (size_t)w;
	}
	st->file_bytes += len;
	st->seg_bytes += len;
	st->unsynced = true;
	return SINK_OK;
}

static enum sink_result sync_now(struct sink *s)
{
	struct file_state *st = s->state;
	if (!st->unsynced || st->to_stdout || st->opt.fsync == FSYNC_NEVER)
		return SINK_OK;
	if (fsync(st->fd) != 0 && errno != EINVAL)
		return io_failure(s, "fsync", current_name(st));
	st->unsynced = false;
	st->last_sync_mono_ns = mono_ns();
	return SINK_OK;
}

static enum sink_result sync_by_policy(struct sink *s, bool flushing)
{
	struct file_state *st = s->state;
	switch ((enum fsync_policy)st->opt.fsync) {
	case FSYNC_BATCH:
		return sync_now(s);
	case FSYNC_FLUSH:
		return flushing ? sync_now(s) : SINK_OK;
	case FSYNC_INTERVAL:
		if (mono_ns() - st->last_sync_mono_ns >=
		    (int64_t)st->opt.fsync_interval_ms * 1000000)
			return sync_now(s);
		return SINK_OK;
	case FSYNC_NEVER:
		break;
	}
	return SINK_OK;
}

static void segment_start(struct file_state *st)
{
	st->seg_open = true;
	st->seq++;
	st->seg_records = st->seg_bytes = 0;
	st->seg_created_ns = clock_now_ns();
	st->seg_opened_mono_ns = mono_ns();
	st->seg_first[0] = '\0';
	memcpy(st->seg_prev_last, st->chain, sizeof(st->chain));
}

static enum sink_result segment_open(struct sink *s)
{
	struct file_state *st = s->state;
	if (!segment_name(&st->active_name, st->path, st->seq + 1, SEGMENT_ACTIVE)) {
		snprintf(s->last_error, sizeof(s->last_error), "out of memory");
		return SINK_RETRY;
	}
	st->fd = open(st->active_name.data, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		      0640);
	if (st->fd < 0)
		return io_failure(s, "cannot create", st->active_name.data);
	if (st->opt.fsync != FSYNC_NEVER)
		segment_sync_dir(st->active_name.data);
	st->file_bytes = 0;
	segment_start(st);
	return SINK_OK;
}

/* Turns a finished .active file into a closed segment; a failure leaves it complete in place
 * (reopening the sink retries) and is reported, not returned: the records are safe. */
void file_segment_finish(struct sink *s, const char *active, uint64_t seq)
{
	struct file_state *st = s->state;
	bool zstd = st->opt.compress == COMPRESS_ZSTD;
	bool sync = st->opt.fsync != FSYNC_NEVER;
	char err[512] = "";
	if (!segment_name(&st->name_buf, st->path, seq, zstd ? SEGMENT_ZSTD : SEGMENT_PLAIN))
		snprintf(err, sizeof(err), "out of memory");
	else if (zstd && segment_compress(active, st->name_buf.data, (int)st->opt.zstd_level, sync,
					  err, sizeof(err)) == 0)
		unlink(active);
	else if (!zstd && rename(active, st->name_buf.data) != 0)
		snprintf(err, sizeof(err), "%s: cannot rename: %s", active, strerror(errno));
	if (*err) {
		if (snprintf(s->last_error, sizeof(s->last_error), "closing a segment: %s", err) >=
		    (int)sizeof(s->last_error))
			s->last_error[sizeof(s->last_error) - 1] = '\0'; /* cut, still readable */
		file_sink_warn(s, s->last_error);
	}
	if (sync)
		segment_sync_dir(active);
}

bool file_manifest_line(struct file_state *st, struct chain_manifest *m, struct strbuf *out)
{
	char closed[48];
	format_rfc3339_ms(clock_now_ns(), closed);
	memcpy(m->closed, closed, sizeof(closed));
	strbuf_reset(out);
	return chain_manifest_append(out, m, st->key, st->keylen) && strbuf_append(out, "\n", 1);
}

/* Ends the current segment: its manifest (chain=1), fsync, and for segments the closed name. */
static enum sink_result segment_close(struct sink *s)
{
	struct file_state *st = s->state;
	enum sink_result r;
	if (st->opt.chain) {
		struct chain_manifest m = {.segment = st->seq, .records = st->seg_records};
		memcpy(m.first_chain, st->seg_first, sizeof(m.first_chain));
		memcpy(m.last_chain, st->chain, sizeof(m.last_chain));
		memcpy(m.prev_last_chain, st->seg_prev_last, sizeof(m.prev_last_chain));
		format_rfc3339_ms(st->seg_created_ns, m.created);
		if (!file_manifest_line(st, &m, &st->manifest_buf)) {
			snprintf(s->last_error, sizeof(s->last_error), "out of memory");
			return SINK_RETRY;
		}
		if ((r = write_lines(s, st->manifest_buf.data, st->manifest_buf.len)) != SINK_OK)
			return r;
	}
	if ((r = sync_now(s)) != SINK_OK)
		return r;
	st->seg_open = false;
	if (!st->segmented)
		return SINK_OK;
	close(st->fd);
	st->fd = -1;
	file_segment_finish(s, st->active_name.data, st->seq);
	return SINK_OK;
}

static enum sink_result rotate_if_old(struct sink *s)
{
	struct file_state *st = s->state;
	if (st->segmented && st->seg_open && st->opt.rotate_seconds &&
	    mono_ns() - st->seg_opened_mono_ns >= (int64_t)st->opt.rotate_seconds * 1000000000)
		return segment_close(s);
	return SINK_OK;
}

/* Writes the pending lines of the current segment and makes their chain values current. */
static enum sink_result commit(struct sink *s, size_t len, uint64_t records,
			       const char *first_chain, const char *last_chain)
{
	struct file_state *st = s->state;
	enum sink_result r = write_lines(s, st->line_buf.data, len);
	if (r != SINK_OK || records == 0)
		return r;
	if (st->seg_records == 0)
		memcpy(st->seg_first, first_chain, CHAIN_HEX_LEN + 1);
	st->seg_records += records;
	memcpy(st->chain, last_chain, CHAIN_HEX_LEN + 1);
	return SINK_OK;
}

static enum sink_result file_write_batch(struct sink *s, const struct sink_record *recs, size_t n)
{
	struct file_state *st = s->state;
	if (st->broken) {
		snprintf(s->last_error, sizeof(s->last_error),
			 "%s: an earlier failure left a partial line; reopen the sink", st->path);
		return SINK_ERROR;
	}
	if (st->opt.chain && s->encoding != ENCODING_JSON) {
		snprintf(s->last_error, sizeof(s->last_error),
			 "chain=1 needs the json encoding; this sink encodes %s",
			 encoding_name(s->encoding));
		return SINK_ERROR;
	}
	for (size_t i = 0; st->opt.chain && i < n; i++) {
		const char *why;
		if (!chain_payload_len(recs[i].payload, recs[i].len, &why)) {
			snprintf(s->last_error, sizeof(s->last_error),
				 "record %zu of the batch cannot carry a chain member: %s", i, why);
			return SINK_DROP;
		}
	}
	enum sink_result r = rotate_if_old(s);
	if (r != SINK_OK)
		return r;
	char pending_last[CHAIN_HEX_LEN + 1], pending_first[CHAIN_HEX_LEN + 1] = "";
	char next[CHAIN_HEX_LEN + 1] = "";
	memcpy(pending_last, st->chain, sizeof(pending_last));
	uint64_t pending = 0;
	strbuf_reset(&st->line_buf);
	for (size_t i = 0; i < n; i++) {
		if (st->segmented && !st->seg_open && (r = segment_open(s)) != SINK_OK)
			return r;
		size_t mark = st->line_buf.len;
		bool ok;
		if (st->opt.chain) {
			const char *why;
			size_t len = chain_payload_len(recs[i].payload, recs[i].len, &why);
			chain_link(pending_last, recs[i].payload, len, next);
			ok = chain_line_append(&st->line_buf, recs[i].payload, len, next);
		} else {
			ok = strbuf_append(&st->line_buf, recs[i].payload, recs[i].len);
		}
		if (!ok || !strbuf_append(&st->line_buf, "\n", 1)) {
			snprintf(s->last_error, sizeof(s->last_error), "out of memory");
			return SINK_RETRY;
		}
		if (st->segmented && st->opt.rotate_bytes && st->seg_records + pending > 0 &&
		    st->seg_bytes + st->line_buf.len > st->opt.rotate_bytes) {
			/* this line starts the next segment */
			if ((r = commit(s, mark, pending, pending_first, pending_last)) !=
				    SINK_OK ||
			    (r = segment_close(s)) != SINK_OK || (r = segment_open(s)) != SINK_OK)
				return r;
			memmove(st->line_buf.data, st->line_buf.data + mark,
				st->line_buf.len - mark);
			st->line_buf.len -= mark;
			pending = 0;
		}
		if (pending++ == 0)
			memcpy(pending_first, next, sizeof(next));
		memcpy(pending_last, next, sizeof(next));
	}
	if ((r = commit(s, st->line_buf.len, pending, pending_first, pending_last)) != SINK_OK)
		return r;
	if (st->line_buf.cap > (8u << 20))
		strbuf_free(&st->line_buf);
	return sync_by_policy(s, false);
}

static enum sink_result file_flush(struct sink *s)
{
	enum sink_result r = rotate_if_old(s);
	return r != SINK_OK ? r : sync_by_policy(s, true);
}

/* ---- open and close ---- */

static int open_file(struct sink *s, char *err, size_t errlen)
{
	struct file_state *st = s->state;
	if (st->to_stdout) {
		st->fd = STDOUT_FILENO;
	} else if (st->segmented) {
		if (file_resume_segments(s, err, errlen) != 0)
			return -1;
	} else {
		int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
		if (st->opt.mode == MODE_TRUNCATE)
			flags |= O_TRUNC;
		st->fd = open(st->path, flags, 0640);
		struct stat sb;
		if (st->fd < 0 || fstat(st->fd, &sb) != 0) {
			snprintf(err, errlen, "%s: cannot open: %s", st->path, strerror(errno));
			return -1;
		}
		st->regular = S_ISREG(sb.st_mode);
		st->file_bytes = (uint64_t)sb.st_size;
		if (st->opt.chain && st->opt.mode == MODE_APPEND && st->regular &&
		    file_resume_single(s, err, errlen) != 0)
			return -1;
		fstat(st->fd, &sb);
		st->file_bytes = (uint64_t)sb.st_size;
	}
	if (st->segmented)
		st->regular = true;
	else if (st->opt.chain)
		segment_start(st); /* one segment per run */
	return 0;
}

static void state_free(struct file_state *st)
{
	if (!st)
		return;
	if (st->fd >= 0 && st->fd != STDOUT_FILENO)
		close(st->fd);
	if (st->key)
		explicit_bzero(st->key, st->keylen);
	free(st->key);
	free(st->opt.key);
	free(st->opt.encode);
	free(st->path);
	strbuf_free(&st->line_buf);
	strbuf_free(&st->manifest_buf);
	strbuf_free(&st->active_name);
	strbuf_free(&st->name_buf);
	free(st);
}

static int file_open(struct sink *s, const char *arg, char *err, size_t errlen)
{
	struct file_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->fd = -1;
	st->opt = (struct file_options){.zstd_level = 3, .fsync_interval_ms = 1000, .mode = -1};
	memcpy(st->chain, chain_genesis, sizeof(st->chain));
	s->state = st;
	/* options only in a file: URI, and only when the query looks like one */
	const char *query = strncmp(s->uri, "file:", 5) == 0 ? strchr(arg, '?') : NULL;
	if (query && !strchr(query, '='))
		query = NULL;
	st->path = query ? strndup(arg, (size_t)(query - arg)) : strdup(arg);
	if (!st->path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	st->to_stdout = strcmp(st->path, "-") == 0;
	if (query && parse_options(st, query + 1, s->uri, err, errlen) != 0)
		goto fail;
	st->segmented =
		st->opt.rotate_bytes || st->opt.rotate_seconds || st->opt.compress == COMPRESS_ZSTD;
	if (check_options(s, st, err, errlen) != 0)
		goto fail;
	if (st->opt.mode < 0)
		st->opt.mode = st->opt.chain || st->segmented ? MODE_APPEND : MODE_TRUNCATE;
	if (st->opt.chain &&
	    chain_key_load(st->opt.key, true, &st->key, &st->keylen, err, errlen) != 0)
		goto fail;
	if (open_file(s, err, errlen) != 0)
		goto fail;
	st->last_sync_mono_ns = mono_ns();
	return 0;
fail:
	state_free(st);
	s->state = NULL;
	return -1;
}

static void file_close(struct sink *s)
{
	struct file_state *st = s->state;
	if (!st)
		return;
	enum sink_result r = SINK_OK;
	if (!st->broken) {
		if (st->seg_open)
			r = segment_close(s);
		else if (st->opt.fsync != FSYNC_FLUSH)
			r = sync_now(s); /* batch and interval: what is still unsynced */
	}
	if (r != SINK_OK) {
		s->failed_batches++; /* so sink_close() reports the failure */
		file_sink_warn(s, s->last_error);
	}
	state_free(st);
	s->state = NULL;
}

const struct sink_ops sink_file_ops = {
	.scheme = "file",
	.open = file_open,
	.write_batch = file_write_batch,
	.flush = file_flush,
	.close = file_close,
};
