/* sink_file_resume: the file sink picking up after an earlier run. Appending continues the
 * segment numbers and the chain of what is there; a segment a crashed writer left open is closed
 * first (see sink_file.c). */
#include "sinks/file_chain.h"
#include "sinks/file_segment.h"
#include "sinks/sink.h"
#include "sinks/sink_file_internal.h"

#include "collector/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scan {
	bool have_manifest;
	struct chain_manifest last;   /* the last manifest */
	uint64_t lines, tail_records; /* records after the last manifest */
	char tail_first[CHAIN_HEX_LEN + 1], tail_last[CHAIN_HEX_LEN + 1];
	bool tail_unchained; /* a record without a chain member among them */
	uint64_t good_bytes; /* up to the end of the last complete line */
	bool torn;	     /* the file ends in an incomplete line */
};

static int scan_file(const char *path, struct scan *sc, char *err, size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	struct segment_reader *r = segment_reader_open(path, err, errlen);
	if (!r)
		return -1;
	struct strbuf payload = STRBUF_INIT;
	const char *line;
	size_t len;
	bool terminated;
	int got, rc = -1;
	while ((got = segment_reader_next(r, &line, &len, &terminated)) == 1) {
		if (!terminated) {
			sc->torn = true;
			break;
		}
		sc->lines++;
		sc->good_bytes = segment_reader_offset(r);
		char chain[CHAIN_HEX_LEN + 1], why[200];
		if (chain_line_is_manifest(line, len)) {
			if (chain_manifest_parse(line, len, &sc->last, why, sizeof(why)) != 0) {
				snprintf(err, errlen,
					 "%s:%llu: a damaged manifest (%s); see mcptrail verify",
					 path, (unsigned long long)sc->lines, why);
				goto out;
			}
			sc->have_manifest = true;
			sc->tail_records = 0;
			sc->tail_unchained = false;
		} else if (!chain_line_split(line, len, &payload, chain)) {
			sc->tail_unchained = true;
			sc->tail_records++;
		} else {
			if (sc->tail_records++ == 0)
				memcpy(sc->tail_first, chain, sizeof(chain));
			memcpy(sc->tail_last, chain, sizeof(chain));
		}
	}
	if (got < 0) {
		snprintf(err, errlen, "%s: %s", path, segment_reader_error(r));
		goto out;
	}
	rc = 0;
out:
	strbuf_free(&payload);
	segment_reader_free(r);
	return rc;
}

/* Closes records a crashed writer left after the last manifest with a recovered manifest,
 * written through fd. *seq and chain are the segment number and chain value before them, and
 * after them on return. */
static int close_tail(struct sink *s, int fd, const char *name, const struct scan *sc,
		      uint64_t *seq, char chain[CHAIN_HEX_LEN + 1], char *err, size_t errlen)
{
	struct file_state *st = s->state;
	if (sc->tail_unchained) {
		snprintf(err, errlen,
			 "%s: holds records without a chain member (written without chain=1?): its "
			 "chain cannot be continued; use mode=truncate or another PATH",
			 name);
		return -1;
	}
	struct chain_manifest m = {
		.segment = *seq + 1, .records = sc->tail_records, .recovered = true};
	memcpy(m.first_chain, sc->tail_first, sizeof(m.first_chain));
	memcpy(m.last_chain, sc->tail_last, sizeof(m.last_chain));
	memcpy(m.prev_last_chain, chain, sizeof(m.prev_last_chain));
	format_rfc3339_ms(clock_now_ns(), m.created);
	struct strbuf line = STRBUF_INIT;
	int rc = -1;
	if (!file_manifest_line(st, &m, &line))
		snprintf(err, errlen, "out of memory");
	else if (write(fd, line.data, line.len) != (ssize_t)line.len ||
		 (st->opt.fsync != FSYNC_NEVER && fsync(fd) != 0))
		snprintf(err, errlen, "%s: cannot write a manifest: %s", name, strerror(errno));
	else
		rc = 0;
	strbuf_free(&line);
	if (rc == 0) {
		char note[512];
		snprintf(note, sizeof(note),
			 "%s: closed %llu record(s) a crashed writer left without a manifest "
			 "(segment %llu, marked recovered)",
			 name, (unsigned long long)sc->tail_records, (unsigned long long)m.segment);
		file_sink_warn(s, note);
		*seq = m.segment;
		memcpy(chain, sc->tail_last, CHAIN_HEX_LEN + 1);
	}
	return rc;
}

static int drop_torn_line(struct sink *s, int fd, const char *name, uint64_t good_bytes, char *err,
			  size_t errlen)
{
	if (ftruncate(fd, (off_t)good_bytes) != 0) {
		snprintf(err, errlen, "%s: cannot drop an incomplete last line: %s", name,
			 strerror(errno));
		return -1;
	}
	char note[512];
	snprintf(note, sizeof(note), "%s: dropped an incomplete last line (a write cut short)",
		 name);
	file_sink_warn(s, note);
	return 0;
}

/* One plain file, chained, appended to: continue after its last segment. */
int file_resume_single(struct sink *s, char *err, size_t errlen)
{
	struct file_state *st = s->state;
	struct scan sc;
	if (scan_file(st->path, &sc, err, errlen) != 0)
		return -1;
	if (sc.torn && drop_torn_line(s, st->fd, st->path, sc.good_bytes, err, errlen) != 0)
		return -1;
	st->seq = sc.have_manifest ? sc.last.segment : 0;
	if (sc.have_manifest)
		memcpy(st->chain, sc.last.last_chain, sizeof(st->chain));
	if (sc.tail_records &&
	    close_tail(s, st->fd, st->path, &sc, &st->seq, st->chain, err, errlen) != 0)
		return -1;
	return 0;
}

struct found {
	uint64_t seq;
	enum segment_kind kind;
};

static int by_seq(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : (int)x->kind - (int)y->kind;
}

/* The existing file of a segment, closed or not; NULL when there is none. */
static const char *segment_file(struct file_state *st, uint64_t seq)
{
	static const enum segment_kind order[] = {SEGMENT_ZSTD, SEGMENT_PLAIN, SEGMENT_ACTIVE};
	for (size_t i = 0; i < 3; i++)
		if (segment_name(&st->name_buf, st->path, seq, order[i]) &&
		    access(st->name_buf.data, F_OK) == 0)
			return st->name_buf.data;
	return NULL;
}

/* The chain value segment seq ends with (genesis for 0). */
static int segment_last_chain(struct file_state *st, uint64_t seq, char out[CHAIN_HEX_LEN + 1],
			      char *err, size_t errlen)
{
	if (seq == 0) {
		memcpy(out, chain_genesis, CHAIN_HEX_LEN + 1);
		return 0;
	}
	const char *name = segment_file(st, seq);
	struct scan sc;
	if (!name) {
		snprintf(err, errlen, "%s: segment %llu is missing: its chain cannot be continued",
			 st->path, (unsigned long long)seq);
		return -1;
	}
	char *copy = strdup(name);
	int rc = copy ? scan_file(copy, &sc, err, errlen) : -1;
	if (rc == 0 && (!sc.have_manifest || sc.tail_records)) {
		snprintf(err, errlen,
			 "%s: no manifest at its end (written without chain=1?): its chain cannot "
			 "be continued; use mode=truncate or another PATH",
			 copy);
		rc = -1;
	}
	if (rc == 0)
		memcpy(out, sc.last.last_chain, CHAIN_HEX_LEN + 1);
	free(copy);
	return rc;
}

/* An .active segment left by an earlier run: complete it and give it its closed name. */
static int recover_active(struct sink *s, uint64_t seq, char *err, size_t errlen)
{
	struct file_state *st = s->state;
	char *name = segment_name(&st->name_buf, st->path, seq, SEGMENT_ACTIVE)
			     ? strdup(st->name_buf.data)
			     : NULL;
	struct scan sc;
	int fd = -1, rc = -1;
	if (!name || scan_file(name, &sc, err, errlen) != 0)
		goto out;
	if (sc.lines == 0) { /* created, never written to */
		unlink(name);
		rc = 0;
		goto out;
	}
	fd = open(name, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", name, strerror(errno));
		goto out;
	}
	if (sc.torn && drop_torn_line(s, fd, name, sc.good_bytes, err, errlen) != 0)
		goto out;
	if (sc.tail_records && st->opt.chain) {
		char chain[CHAIN_HEX_LEN + 1];
		uint64_t before = seq - 1;
		if (segment_last_chain(st, before, chain, err, errlen) != 0 ||
		    close_tail(s, fd, name, &sc, &before, chain, err, errlen) != 0)
			goto out;
	}
	close(fd);
	fd = -1;
	file_segment_finish(s, name, seq);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(name);
	return rc;
}

/* Rotating: find PATH's segments, delete them (truncate) or close what a crash left open. */
int file_resume_segments(struct sink *s, char *err, size_t errlen)
{
	struct file_state *st = s->state;
	const char *slash = strrchr(st->path, '/');
	const char *base = slash ? slash + 1 : st->path;
	char *dir = slash ? strndup(st->path, slash == st->path ? 1 : (size_t)(slash - st->path))
			  : strdup(".");
	struct found *found = NULL;
	size_t nfound = 0, cap = 0;
	int rc = -1;
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		snprintf(err, errlen, "%s: cannot list the directory: %s", st->path,
			 dir ? strerror(errno) : "out of memory");
		goto out;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		struct found f;
		size_t base_len;
		if (!segment_name_parse(e->d_name, &f.seq, &f.kind, &base_len) ||
		    base_len != strlen(base) || strncmp(e->d_name, base, base_len) != 0)
			continue;
		if (nfound == cap) {
			struct found *grown =
				realloc(found, (cap = cap ? 2 * cap : 16) * sizeof(f));
			if (!grown) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			found = grown;
		}
		found[nfound++] = f;
	}
	if (nfound)
		qsort(found, nfound, sizeof(*found), by_seq);
	for (size_t i = 0; i < nfound; i++) {
		bool closed_too = i + 1 < nfound && found[i + 1].seq == found[i].seq &&
				  found[i + 1].kind != SEGMENT_ZSTD_TMP;
		bool drop = st->opt.mode == MODE_TRUNCATE || found[i].kind == SEGMENT_ZSTD_TMP ||
			    (found[i].kind == SEGMENT_ACTIVE && closed_too);
		if (!segment_name(&st->name_buf, st->path, found[i].seq, found[i].kind)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (drop) {
			if (unlink(st->name_buf.data) != 0 && errno != ENOENT) {
				snprintf(err, errlen, "%s: cannot remove: %s", st->name_buf.data,
					 strerror(errno));
				goto out;
			}
			continue;
		}
		if (found[i].kind == SEGMENT_ACTIVE &&
		    recover_active(s, found[i].seq, err, errlen) != 0)
			goto out;
		if (segment_file(st, found[i].seq))
			st->seq = found[i].seq;
	}
	if (st->opt.chain && segment_last_chain(st, st->seq, st->chain, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (d)
		closedir(d);
	free(dir);
	free(found);
	return rc;
}
