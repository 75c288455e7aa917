/* file_segment: segment names, a plain-or-zstd line reader, compression of closed segments. */
#include "sinks/file_segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

static const char *const kind_suffix[] = {
	[SEGMENT_ACTIVE] = ".jsonl.active",
	[SEGMENT_PLAIN] = ".jsonl",
	[SEGMENT_ZSTD] = ".jsonl.zst",
	[SEGMENT_ZSTD_TMP] = ".jsonl.zst.tmp",
};

bool segment_name(struct strbuf *out, const char *base, uint64_t seq, enum segment_kind kind)
{
	strbuf_reset(out);
	return strbuf_printf(out, "%s.%06llu%s", base, (unsigned long long)seq, kind_suffix[kind]);
}

bool segment_name_parse(const char *name, uint64_t *seq, enum segment_kind *kind, size_t *base_len)
{
	static const enum segment_kind longest_first[] = {SEGMENT_ZSTD_TMP, SEGMENT_ACTIVE,
							  SEGMENT_ZSTD, SEGMENT_PLAIN};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(longest_first) / sizeof(longest_first[0]); i++) {
		const char *suffix = kind_suffix[longest_first[i]];
		size_t sl = strlen(suffix);
		if (n < sl || strcmp(name + n - sl, suffix) != 0)
			continue;
		size_t end = n - sl, start = end;
		while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9')
			start--;
		if (end - start < 6 || end - start > 19 || start < 2 || name[start - 1] != '.')
			return false;
		uint64_t v = 0;
		for (size_t k = start; k < end; k++)
			v = v * 10 + (uint64_t)(name[k] - '0');
		/* only the spelling segment_name() writes: "audit.2024.jsonl" is no segment */
		char canonical[24];
		int n = snprintf(canonical, sizeof(canonical), "%06llu", (unsigned long long)v);
		if (v == 0 || (size_t)n != end - start ||
		    memcmp(canonical, name + start, end - start))
			return false;
		*seq = v;
		*kind = longest_first[i];
		*base_len = start - 1;
		return true;
	}
	return false;
}

/* ---- reading ---- */

struct segment_reader {
	int fd; /* -1: reading memory */
	unsigned char *inbuf;
	size_t in_cap;
	ZSTD_inBuffer in;
	bool in_eof;
	bool detected, compressed;
	ZSTD_DCtx *dctx;
	bool frame_open; /* the last zstd frame has not ended yet */
	bool out_full;	 /* zstd may hold more output for the same input */
	struct strbuf buf;
	size_t pos;  /* start of the next line in buf */
	size_t scan; /* buf before this holds no '\n' after pos */
	uint64_t line_no, offset, total, limit;
	bool failed;
	char err[256];
};

static struct segment_reader *reader_new(void)
{
	struct segment_reader *r = calloc(1, sizeof(*r));
	if (r)
		r->fd = -1;
	return r;
}

struct segment_reader *segment_reader_open(const char *path, char *err, size_t errlen)
{
	struct segment_reader *r = reader_new();
	if (!r || !(r->inbuf = malloc(r->in_cap = 1u << 16))) {
		snprintf(err, errlen, "out of memory");
		segment_reader_free(r);
		return NULL;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		segment_reader_free(r);
		return NULL;
	}
	return r;
}

struct segment_reader *segment_reader_memory(const void *data, size_t len)
{
	struct segment_reader *r = reader_new();
	if (!r)
		return NULL;
	r->in = (ZSTD_inBuffer){data, len, 0};
	r->in_eof = true;
	return r;
}

void segment_reader_set_limit(struct segment_reader *r, uint64_t max_bytes)
{
	r->limit = max_bytes;
}

static int reader_fail(struct segment_reader *r, const char *fmt, const char *detail)
{
	snprintf(r->err, sizeof(r->err), fmt, detail);
	r->failed = true;
	return -1;
}

/* More input from the file. -1 on a read error. */
static int refill_input(struct segment_reader *r)
{
	if (r->in_eof || r->in.pos < r->in.size)
		return 0;
	for (;;) {
		ssize_t n = read(r->fd, r->inbuf, r->in_cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return reader_fail(r, "read: %s", strerror(errno));
		r->in = (ZSTD_inBuffer){r->inbuf, (size_t)n, 0};
		r->in_eof = n == 0;
		return 0;
	}
}

static int detect(struct segment_reader *r)
{
	static const unsigned char magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
	/* the first read of a regular file returns at least 4 bytes unless it is shorter */
	if (refill_input(r) != 0)
		return -1;
	r->detected = true;
	if (r->in.size - r->in.pos >= 4 &&
	    memcmp((const unsigned char *)r->in.src + r->in.pos, magic, 4) == 0) {
		r->compressed = true;
		r->dctx = ZSTD_createDCtx();
		if (!r->dctx)
			return reader_fail(r, "%s", "out of memory");
	}
	return 0;
}

/* Appends decoded bytes to buf: 1, or 0 at the end, or -1. */
static int fill(struct segment_reader *r)
{
	if (!r->detected && detect(r) != 0)
		return -1;
	for (;;) {
		if (r->in.pos == r->in.size && !r->in_eof && !r->out_full) {
			if (refill_input(r) != 0)
				return -1;
			continue;
		}
		if (!r->compressed) {
			if (r->in.pos == r->in.size)
				return 0;
			size_t n = r->in.size - r->in.pos;
			if (!strbuf_append(&r->buf, (const char *)r->in.src + r->in.pos, n))
				return reader_fail(r, "%s", "out of memory");
			r->in.pos = r->in.size;
			r->total += n;
			return 1;
		}
		if (r->in.pos == r->in.size && r->in_eof && !r->out_full) {
			if (r->frame_open)
				return reader_fail(r, "%s", "truncated zstd data");
			return 0;
		}
		size_t chunk = ZSTD_DStreamOutSize();
		if (!strbuf_reserve(&r->buf, chunk))
			return reader_fail(r, "%s", "out of memory");
		ZSTD_outBuffer out = {r->buf.data + r->buf.len, chunk, 0};
		size_t in_before = r->in.pos;
		size_t ret = ZSTD_decompressStream(r->dctx, &out, &r->in);
		if (ZSTD_isError(ret))
			return reader_fail(r, "corrupt zstd data: %s", ZSTD_getErrorName(ret));
		r->buf.len += out.pos;
		r->total += out.pos;
		r->out_full = out.pos == out.size;
		r->frame_open = ret != 0;
		if (out.pos > 0)
			return 1;
		if (r->in.pos == in_before && !r->out_full)
			return reader_fail(r, "%s", "zstd data makes no progress");
	}
}

int segment_reader_next(struct segment_reader *r, const char **line, size_t *len, bool *terminated)
{
	if (r->failed)
		return -1;
	for (;;) {
		size_t from = r->scan > r->pos ? r->scan : r->pos;
		char *nl = from < r->buf.len ? memchr(r->buf.data + from, '\n', r->buf.len - from)
					     : NULL;
		if (nl) {
			*line = r->buf.data + r->pos;
			*len = (size_t)(nl - *line);
			*terminated = true;
			r->pos = r->scan = (size_t)(nl - r->buf.data) + 1;
			r->line_no++;
			r->offset += *len + 1;
			return 1;
		}
		r->scan = r->buf.len;
		if (r->buf.len - r->pos > SEGMENT_MAX_LINE)
			return reader_fail(r, "%s", "a line longer than 64 MiB");
		if (r->pos > 0) {
			memmove(r->buf.data, r->buf.data + r->pos, r->buf.len - r->pos);
			r->buf.len -= r->pos;
			r->scan -= r->pos;
			r->pos = 0;
		}
		int got = fill(r);
		if (got < 0)
			return -1;
		if (r->limit && r->total > r->limit)
			return reader_fail(r, "%s", "more data than the reader's limit");
		if (got == 0) {
			if (r->pos == r->buf.len)
				return 0;
			*line = r->buf.data + r->pos;
			*len = r->buf.len - r->pos;
			*terminated = false;
			r->pos = r->scan = r->buf.len;
			r->line_no++;
			r->offset += *len;
			return 1;
		}
	}
}

const char *segment_reader_error(const struct segment_reader *r)
{
	return r->err;
}

uint64_t segment_reader_line(const struct segment_reader *r)
{
	return r->line_no;
}

uint64_t segment_reader_offset(const struct segment_reader *r)
{
	return r->offset;
}

bool segment_reader_compressed(const struct segment_reader *r)
{
	return r->compressed;
}

void segment_reader_free(struct segment_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	free(r->inbuf);
	strbuf_free(&r->buf);
	free(r);
}

/* ---- writing ---- */

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int segment_compress(const char *src, const char *dst, int level, bool sync, char *err,
		     size_t errlen)
{
	int rc = -1, in = -1, out = -1;
	struct strbuf tmp = STRBUF_INIT;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t in_cap = ZSTD_CStreamInSize(), out_cap = ZSTD_CStreamOutSize();
	char *inbuf = malloc(in_cap), *outbuf = malloc(out_cap);
	if (!cctx || !inbuf || !outbuf || !strbuf_printf(&tmp, "%s.tmp", dst)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))) {
		snprintf(err, errlen, "zstd: compression level %d refused", level);
		goto out;
	}
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", src, strerror(errno));
		goto out;
	}
	out = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", tmp.data, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, inbuf, in_cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: read: %s", src, strerror(errno));
			goto out;
		}
		bool last = n == 0;
		ZSTD_inBuffer input = {inbuf, (size_t)n, 0};
		bool done;
		do {
			ZSTD_outBuffer o = {outbuf, out_cap, 0};
			size_t left = ZSTD_compressStream2(cctx, &o, &input,
							   last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left)) {
				snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(left));
				goto out;
			}
			if (write_all(out, outbuf, o.pos) != 0) {
				snprintf(err, errlen, "%s: write: %s", tmp.data, strerror(errno));
				goto out;
			}
			done = last ? left == 0 : input.pos == input.size;
		} while (!done);
		if (last)
			break;
	}
	if (sync && fsync(out) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp.data, strerror(errno));
		goto out;
	}
	int fd = out;
	out = -1;
	if (close(fd) != 0) {
		snprintf(err, errlen, "%s: close: %s", tmp.data, strerror(errno));
		goto out;
	}
	if (rename(tmp.data, dst) != 0) {
		snprintf(err, errlen, "%s: cannot rename to %s: %s", tmp.data, dst,
			 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (rc != 0 && tmp.data)
		unlink(tmp.data);
	if (in >= 0)
		close(in);
	strbuf_free(&tmp);
	ZSTD_freeCCtx(cctx);
	free(inbuf);
	free(outbuf);
	return rc;
}

int segment_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}
