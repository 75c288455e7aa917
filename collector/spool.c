/* spool: see spool.h for the contract and the on-disk format. */
#include "collector/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR SPOOL_RECORD_HEADER
#define RECORD_MAGIC 0x3152544du     /* "MTR1" read little-endian */
#define CHECKPOINT_MAGIC 0x4b43544du /* "MTCK" */
#define CHECKPOINT_VERSION 1u
#define CHECKPOINT_HEADER 32u
#define CHECKPOINT_MAX (CHECKPOINT_HEADER + 8u * SPOOL_MAX_SINKS + 4u)
#define WINDOW_BYTES (256u << 10)
#define MAX_ID (UINT64_C(1) << 62) /* ids and names at or above it are not ours: no overflow */
#define NAME_LEN 40		   /* "<20 digits>.seg.corrupt" and NUL */

static const char *const CHECKPOINT_NAME[2] = {"checkpoint.a", "checkpoint.b"};

/* ---- CRC-32C (Castagnoli), slicing by 8 ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
		crc_table[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = crc ^ get32(p), hi = get32(p + 4);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

/* ---- state ---- */

struct segment {
	struct segment *prev, *next;
	uint64_t first_id; /* from its name */
	uint64_t last_id;  /* first_id - 1 while empty */
	uint64_t size;	   /* committed bytes: whole, verified records only */
	uint64_t records, payload_bytes;
};

/* A read-ahead buffer over one segment file. Only bytes below a caller-given limit (a
 * segment's committed size) are ever loaded, so what it holds never changes under it. */
struct window {
	int fd;
	const struct segment *seg;
	uint8_t *buf;
	size_t cap, have;
	uint64_t base;
};

struct sink_state {
	uint64_t acked;	     /* persisted in the checkpoint */
	uint64_t read_upto;  /* the last id spool_read returned */
	struct segment *seg; /* read cursor; NULL: find it from acked/read_upto */
	uint64_t off;
	struct window win;
};

struct spool {
	pthread_mutex_t lock;
	struct spool_io io;
	char *dir;
	int dirfd, lockfd, wfd;
	int ckpt_fd[2];
	bool ckpt_dirsync[2]; /* the slot file is new in this run: sync the directory once */
	uint64_t ckpt_seq;
	uint8_t ckpt_buf[CHECKPOINT_MAX];
	uint64_t segment_bytes, max_bytes;
	enum spool_full_policy policy;
	bool fsync;
	void (*report)(void *arg, const char *message);
	void *report_arg;
	unsigned nsinks;
	struct sink_state sinks[SPOOL_MAX_SINKS];
	struct segment *head, *tail, *active;
	uint64_t next_id, bytes, records, nsegments;
	uint64_t appended, acked, dropped_records, dropped_bytes, quarantined, torn_tails;
	uint64_t gap_records, gap_bytes;
	struct window scan;
	uint8_t *wbuf;
	size_t wcap;
	char errmsg[512];
};

static void resolve_io(struct spool_io *out, const struct spool_io *in)
{
	out->write = in && in->write ? in->write : write;
	out->fsync = in && in->fsync ? in->fsync : fsync;
	out->rename = in && in->rename ? in->rename : rename;
	out->malloc = in && in->malloc ? in->malloc : malloc;
}

/* "spool DIR: " and the message, into errmsg; errno is left alone. */
static void format_message(struct spool *sp, const char *fmt, va_list ap)
{
	int saved = errno;
	int n = snprintf(sp->errmsg, sizeof(sp->errmsg), "spool %s: ", sp->dir);
	if (n < 0 || (size_t)n >= sizeof(sp->errmsg))
		n = 0; /* a directory name too long to quote: the message matters more */
	vsnprintf(sp->errmsg + n, sizeof(sp->errmsg) - (size_t)n, fmt, ap);
	errno = saved;
}

static void set_error(struct spool *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct spool *sp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format_message(sp, fmt, ap);
	va_end(ap);
}

/* A recovery event worth an operator's attention: kept as the last error and reported. */
static void report(struct spool *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct spool *sp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format_message(sp, fmt, ap);
	va_end(ap);
	int saved = errno;
	if (sp->report)
		sp->report(sp->report_arg, sp->errmsg);
	else
		fprintf(stderr, "mcptrail: %s\n", sp->errmsg);
	errno = saved;
}

static void segment_name(char out[NAME_LEN], uint64_t first_id, bool corrupt)
{
	snprintf(out, NAME_LEN, "%020" PRIu64 ".seg%s", first_id, corrupt ? ".corrupt" : "");
}

static int write_all(struct spool *sp, int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = sp->io.write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t acked_upto(const struct spool *sp)
{
	uint64_t m = sp->sinks[0].acked;
	for (unsigned i = 1; i < sp->nsinks; i++)
		if (sp->sinks[i].acked < m)
			m = sp->sinks[i].acked;
	return m;
}

/* ---- reading records ---- */

static void window_detach(struct window *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->seg = NULL;
	w->have = 0;
}

/* Points *out at bytes [off, off+n) of the file. 0; 1 when they are not all below limit or the
 * file is shorter; -1 on a read or allocation failure (errno). Invalidates earlier pointers. */
static int window_get(struct spool *sp, struct window *w, uint64_t off, size_t n, uint64_t limit,
		      const uint8_t **out)
{
	if (off > limit || n > limit - off)
		return 1;
	if (w->have && off >= w->base && off - w->base + n <= w->have) {
		*out = w->buf + (off - w->base);
		return 0;
	}
	size_t want = n > WINDOW_BYTES ? n : WINDOW_BYTES;
	if (want > limit - off)
		want = (size_t)(limit - off);
	if (w->cap < want) {
		uint8_t *nb = sp->io.malloc(want);
		if (!nb) {
			errno = ENOMEM;
			return -1;
		}
		free(w->buf);
		w->buf = nb;
		w->cap = want;
	}
	w->have = 0;
	w->base = off;
	while (w->have < want) {
		ssize_t r = pread(w->fd, w->buf + w->have, want - w->have, (off_t)(off + w->have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			w->have = 0;
			return -1;
		}
		if (r == 0)
			break;
		w->have += (size_t)r;
	}
	if (w->have < n)
		return 1;
	*out = w->buf;
	return 0;
}

struct record {
	uint32_t len, crc;
	uint64_t id;
	const uint8_t *payload;
};

/* The record at off: 0 when whole and its CRC matches (with verify), 1 when torn or corrupt,
 * -1 on a read failure. With verify false only the header is loaded (payload is NULL). */
static int record_at(struct spool *sp, struct window *w, uint64_t off, uint64_t limit, bool verify,
		     struct record *r)
{
	const uint8_t *p;
	int rc = window_get(sp, w, off, HDR, limit, &p);
	if (rc)
		return rc;
	if (get32(p) != RECORD_MAGIC || get32(p + 4) > SPOOL_MAX_RECORD)
		return 1;
	r->len = get32(p + 4);
	r->id = get64(p + 8);
	r->crc = get32(p + 16);
	r->payload = NULL;
	if (HDR + (uint64_t)r->len > limit - off || r->id == 0 || r->id >= MAX_ID)
		return 1;
	if (!verify)
		return 0;
	if ((rc = window_get(sp, w, off, HDR + r->len, limit, &p)))
		return rc;
	if (crc32c(crc32c(0, p + 4, 12), p + HDR, r->len) != r->crc)
		return 1;
	r->payload = p + HDR;
	return 0;
}

/* ---- the checkpoint ---- */

static int checkpoint_write(struct spool *sp)
{
	uint64_t seq = sp->ckpt_seq + 1;
	int slot = (int)(seq & 1);
	size_t len = CHECKPOINT_HEADER + 8u * sp->nsinks;
	uint8_t *b = sp->ckpt_buf;
	put32(b, CHECKPOINT_MAGIC);
	put32(b + 4, CHECKPOINT_VERSION);
	put64(b + 8, seq);
	put64(b + 16, sp->next_id);
	put32(b + 24, sp->nsinks);
	put32(b + 28, 0);
	for (unsigned i = 0; i < sp->nsinks; i++)
		put64(b + CHECKPOINT_HEADER + 8u * i, sp->sinks[i].acked);
	put32(b + len, crc32c(0, b, len));
	len += 4;

	int fd = sp->ckpt_fd[slot];
	if (fd < 0) {
		fd = openat(sp->dirfd, CHECKPOINT_NAME[slot], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			set_error(sp, "open %s: %s", CHECKPOINT_NAME[slot], strerror(errno));
			return -1;
		}
		sp->ckpt_fd[slot] = fd;
		sp->ckpt_dirsync[slot] = true;
	}
	const char *op = "write";
	struct stat st;
	if (lseek(fd, 0, SEEK_SET) != 0 || write_all(sp, fd, b, len) != 0)
		goto fail;
	op = "truncate";
	if (fstat(fd, &st) != 0 || ((uint64_t)st.st_size > len && ftruncate(fd, (off_t)len) != 0))
		goto fail;
	op = "fsync";
	if (sp->fsync && sp->io.fsync(fd) != 0)
		goto fail;
	if (sp->fsync && sp->ckpt_dirsync[slot]) {
		op = "fsync of the directory after creating";
		if (sp->io.fsync(sp->dirfd) != 0)
			goto fail;
	}
	sp->ckpt_dirsync[slot] = false;
	sp->ckpt_seq = seq;
	return 0;
fail:
	set_error(sp, "%s %s: %s (the previous checkpoint stays current)", op,
		  CHECKPOINT_NAME[slot], strerror(errno));
	return -1;
}

/* Loads the newest valid slot into the sinks and *next_id. 1 when no slot was valid although
 * one existed, else 0. */
static int checkpoint_load(struct spool *sp, uint64_t *next_id)
{
	uint8_t b[CHECKPOINT_MAX];
	bool exists = false, found = false;
	for (int slot = 0; slot < 2; slot++) {
		int fd = openat(sp->dirfd, CHECKPOINT_NAME[slot], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = pread(fd, b, sizeof(b), 0);
		close(fd);
		exists = exists || n > 0;
		if (n < (ssize_t)CHECKPOINT_HEADER + 4 || get32(b) != CHECKPOINT_MAGIC ||
		    get32(b + 4) != CHECKPOINT_VERSION)
			continue;
		uint64_t seq = get64(b + 8);
		uint32_t nsinks = get32(b + 24);
		size_t len = CHECKPOINT_HEADER + 8u * (size_t)nsinks;
		if (nsinks == 0 || nsinks > SPOOL_MAX_SINKS || (size_t)n < len + 4 ||
		    crc32c(0, b, len) != get32(b + len) || (seq & 1) != (uint64_t)slot)
			continue;
		uint64_t next = get64(b + 16);
		bool sane = next >= 1 && next <= MAX_ID;
		for (unsigned i = 0; i < nsinks; i++)
			sane = sane && get64(b + CHECKPOINT_HEADER + 8u * i) < next;
		if (!sane)
			continue;
		if (found && seq <= sp->ckpt_seq)
			continue;
		found = true;
		sp->ckpt_seq = seq;
		*next_id = next;
		for (unsigned i = 0; i < sp->nsinks; i++)
			sp->sinks[i].acked = i < nsinks ? get64(b + CHECKPOINT_HEADER + 8u * i) : 0;
	}
	return exists && !found;
}

/* ---- segments ---- */

static void segment_link(struct spool *sp, struct segment *seg)
{
	seg->prev = sp->tail;
	seg->next = NULL;
	if (sp->tail)
		sp->tail->next = seg;
	else
		sp->head = seg;
	sp->tail = seg;
	sp->nsegments++;
	sp->bytes += seg->size;
	sp->records += seg->records;
}

/* Forgets seg (the file is the caller's business): cursors move to the next segment. */
static void segment_forget(struct spool *sp, struct segment *seg)
{
	for (unsigned i = 0; i < sp->nsinks; i++) {
		struct sink_state *s = &sp->sinks[i];
		if (s->seg == seg) {
			s->seg = seg->next;
			s->off = 0;
		}
		if (s->win.seg == seg)
			window_detach(&s->win);
	}
	if (sp->scan.seg == seg)
		window_detach(&sp->scan);
	if (sp->active == seg) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->active = NULL;
	}
	if (seg->prev)
		seg->prev->next = seg->next;
	else
		sp->head = seg->next;
	if (seg->next)
		seg->next->prev = seg->prev;
	else
		sp->tail = seg->prev;
	sp->nsegments--;
	sp->bytes -= seg->size;
	sp->records -= seg->records;
	free(seg);
}

static void segment_delete(struct spool *sp, struct segment *seg)
{
	char name[NAME_LEN];
	segment_name(name, seg->first_id, false);
	/* A file left behind is fully acknowledged: the next open deletes it. */
	if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
		report(sp, "unlink %s: %s", name, strerror(errno));
	segment_forget(sp, seg);
}

/* Renames the file to *.corrupt; false (reported) when that fails. */
static bool quarantine_file(struct spool *sp, uint64_t first_id, const char *why)
{
	char name[NAME_LEN], to[NAME_LEN];
	segment_name(name, first_id, false);
	segment_name(to, first_id, true);
	char from_path[PATH_MAX + NAME_LEN], to_path[PATH_MAX + NAME_LEN];
	snprintf(from_path, sizeof(from_path), "%s/%s", sp->dir, name);
	snprintf(to_path, sizeof(to_path), "%s/%s", sp->dir, to);
	sp->quarantined++;
	if (sp->io.rename(from_path, to_path) != 0) {
		report(sp,
		       "%s: %s; quarantine (rename to %s) failed: %s; it is skipped and "
		       "examined again at the next start",
		       name, why, to, strerror(errno));
		return false;
	}
	/* best effort: a rename the disk loses is redone at the next start */
	if (sp->fsync)
		sp->io.fsync(sp->dirfd);
	report(sp, "%s: %s; quarantined as %s", name, why, to);
	return true;
}

static void count_loss(struct spool *sp, uint64_t records, uint64_t bytes)
{
	sp->dropped_records += records;
	sp->dropped_bytes += bytes;
	sp->gap_records += records;
	sp->gap_bytes += bytes;
}

/* A segment found corrupt while running: quarantined, its unacknowledged records reported. */
static void segment_quarantine(struct spool *sp, struct segment *seg, uint64_t off)
{
	uint64_t lower = acked_upto(sp), lost = 0, bytes = 0;
	if (lower < seg->first_id - 1)
		lower = seg->first_id - 1;
	if (seg->last_id > lower && seg->records) {
		lost = seg->last_id - lower;
		bytes = seg->payload_bytes / seg->records * lost; /* an estimate: it is corrupt */
	}
	count_loss(sp, lost, bytes);
	char why[96];
	snprintf(why, sizeof(why), "bad record at offset %" PRIu64 " (%" PRIu64 " records lost)",
		 off, lost);
	quarantine_file(sp, seg->first_id, why);
	segment_forget(sp, seg);
	/* Persist next_id, so the lost ids are never handed out again. */
	checkpoint_write(sp);
}

/* Deletes segments every sink has acknowledged; the active one only when asked (it is reused
 * otherwise). true when something was deleted. */
static bool delete_acked(struct spool *sp, bool include_active)
{
	uint64_t upto = acked_upto(sp);
	bool any = false;
	while (sp->head && (sp->head != sp->active || include_active) &&
	       (sp->head->records ? sp->head->last_id <= upto : sp->head != sp->active)) {
		segment_delete(sp, sp->head);
		any = true;
	}
	return any;
}

/* SPOOL_DROP_OLDEST: removes the oldest segment after a checkpoint that counts it acknowledged
 * by every sink. */
static int drop_oldest(struct spool *sp)
{
	struct segment *seg = sp->head;
	uint64_t upto = acked_upto(sp), lost = 0, bytes = 0;
	if (upto < seg->first_id) {
		lost = seg->records;
		bytes = seg->payload_bytes;
	} else {
		/* partly acknowledged: count exactly from the headers, else estimate */
		bool exact = false;
		char name[NAME_LEN];
		segment_name(name, seg->first_id, false);
		window_detach(&sp->scan);
		sp->scan.fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (sp->scan.fd >= 0) {
			struct record r;
			uint64_t off = 0;
			while (off < seg->size &&
			       record_at(sp, &sp->scan, off, seg->size, false, &r) == 0) {
				if (r.id > upto) {
					lost++;
					bytes += r.len;
				}
				off += HDR + r.len;
			}
			exact = off == seg->size;
		}
		window_detach(&sp->scan);
		if (!exact) {
			lost = seg->last_id > upto ? seg->last_id - upto : 0;
			bytes = seg->records ? seg->payload_bytes * lost / seg->records : 0;
		}
	}
	uint64_t old[SPOOL_MAX_SINKS];
	for (unsigned i = 0; i < sp->nsinks; i++) {
		old[i] = sp->sinks[i].acked;
		if (sp->sinks[i].acked < seg->last_id)
			sp->sinks[i].acked = seg->last_id;
	}
	if (checkpoint_write(sp) != 0) {
		for (unsigned i = 0; i < sp->nsinks; i++)
			sp->sinks[i].acked = old[i];
		return SPOOL_ERROR;
	}
	count_loss(sp, lost, bytes);
	segment_delete(sp, seg);
	return SPOOL_OK;
}

/* ---- recovery ---- */

struct scan_result {
	uint64_t good_end, records, payload_bytes, last_id;
	bool bad;	  /* a bad record at good_end */
	bool middle;	  /* ...and a valid record after it: corruption, not a torn tail */
	uint64_t max_id;  /* highest id of any valid record, after the bad one included */
	bool read_failed; /* an I/O error: treated as corruption */
	bool no_memory;	  /* an allocation failed: nothing is known */
};

static void scan_segment(struct spool *sp, uint64_t size, uint64_t name_id, uint64_t prev_id,
			 struct scan_result *res)
{
	struct window *w = &sp->scan;
	struct record r;
	uint64_t off = 0;
	memset(res, 0, sizeof(*res));
	while (off < size) {
		int rc = record_at(sp, w, off, size, true, &r);
		if (rc == 0 && r.id >= name_id && r.id > prev_id) {
			res->records++;
			res->payload_bytes += r.len;
			res->last_id = res->max_id = prev_id = r.id;
			off += HDR + r.len;
			continue;
		}
		res->bad = true;
		res->middle = rc == 0; /* whole and intact but out of order: not a torn write */
		res->read_failed = rc < 0;
		res->no_memory = rc < 0 && errno == ENOMEM;
		break;
	}
	res->good_end = off;
	if (!res->bad || res->read_failed)
		return;
	/* Any intact record after the bad one means the damage is in the middle. */
	for (uint64_t q = off + 1; q + HDR <= size;) {
		const uint8_t *p;
		int rc = window_get(sp, w, q, 4, size, &p);
		if (rc < 0) {
			res->read_failed = true;
			res->no_memory = errno == ENOMEM;
			return;
		}
		if (rc == 0 && get32(p) == RECORD_MAGIC &&
		    record_at(sp, w, q, size, true, &r) == 0) {
			res->middle = true;
			if (r.id > res->max_id)
				res->max_id = r.id;
			q += HDR + r.len;
		} else {
			q++;
		}
	}
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The first ids of the segment files in dir, sorted. */
static int list_segments(struct spool *sp, uint64_t **out, size_t *n)
{
	int fd = dup(sp->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		set_error(sp, "opendir: %s", strerror(errno));
		return -1;
	}
	size_t cap = 0;
	uint64_t *ids = NULL;
	struct dirent *e;
	*n = 0;
	while ((e = readdir(d))) {
		const char *s = e->d_name;
		if (strlen(s) != 24 || strcmp(s + 20, ".seg") != 0 || strspn(s, "0123456789") != 20)
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			uint64_t *nids = sp->io.malloc(ncap * sizeof(*nids));
			if (!nids) {
				free(ids);
				closedir(d);
				set_error(sp, "out of memory listing segments");
				return -1;
			}
			if (*n)
				memcpy(nids, ids, *n * sizeof(*nids));
			free(ids);
			ids = nids;
			cap = ncap;
		}
		uint64_t id = strtoull(s, NULL, 10);
		if (id == 0 || id >= MAX_ID) {
			report(sp, "%s: not a segment name this spool writes; ignored", s);
			continue;
		}
		ids[(*n)++] = id;
	}
	closedir(d);
	if (*n)
		qsort(ids, *n, sizeof(*ids), compare_u64);
	*out = ids;
	return 0;
}

/* Reads every segment, truncating torn tails and quarantining corrupt ones. */
static int recover_segments(struct spool *sp, uint64_t *max_id)
{
	uint64_t *ids = NULL, prev_id = 0, upto = acked_upto(sp);
	size_t n = 0;
	int rc = -1;
	if (list_segments(sp, &ids, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char name[NAME_LEN];
		segment_name(name, ids[i], false);
		if (ids[i] - 1 > *max_id && ids[i] > 0)
			*max_id = ids[i] - 1; /* it was named after the next id of its time */
		int fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			set_error(sp, "open %s: %s", name, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		window_detach(&sp->scan);
		sp->scan.fd = fd; /* closed by window_detach */
		struct scan_result res;
		scan_segment(sp, (uint64_t)st.st_size, ids[i], prev_id, &res);
		if (res.no_memory) {
			window_detach(&sp->scan);
			set_error(sp, "out of memory reading %s", name);
			goto out;
		}
		if (res.max_id > *max_id)
			*max_id = res.max_id;
		if (res.max_id > prev_id)
			prev_id = res.max_id;
		if (res.bad && (res.middle || res.read_failed)) {
			window_detach(&sp->scan);
			/* the records it held, as far as can be told, that some sink still needs */
			uint64_t hi = i + 1 < n ? ids[i + 1] - 1 : res.max_id;
			uint64_t lo = upto > ids[i] - 1 ? upto : ids[i] - 1;
			uint64_t lost = hi > lo ? hi - lo : 0;
			count_loss(sp, lost, lost ? (uint64_t)st.st_size : 0);
			char why[128];
			snprintf(why, sizeof(why),
				 "%s at offset %" PRIu64 " (about %" PRIu64 " records lost)",
				 res.read_failed ? "read error" : "corrupt record", res.good_end,
				 lost);
			quarantine_file(sp, ids[i], why);
			continue;
		}
		if (res.bad) {
			sp->torn_tails++;
			if (ftruncate(fd, (off_t)res.good_end) != 0 ||
			    (sp->fsync && sp->io.fsync(fd) != 0))
				report(sp, "%s: torn tail at offset %" PRIu64 " not truncated: %s",
				       name, res.good_end, strerror(errno));
			else
				report(sp,
				       "%s: torn tail of %" PRIu64 " bytes at offset %" PRIu64
				       " truncated",
				       name, (uint64_t)st.st_size - res.good_end, res.good_end);
		}
		window_detach(&sp->scan);
		if (res.records == 0) {
			/* nothing in it (a crash or failure before its first record): the first
			 * append of this run starts a segment of its own, maybe of this name */
			if (unlinkat(sp->dirfd, name, 0) != 0) {
				set_error(sp, "unlink empty %s: %s", name, strerror(errno));
				goto out;
			}
			continue;
		}
		struct segment *seg = sp->io.malloc(sizeof(*seg));
		if (!seg) {
			set_error(sp, "out of memory recovering %s", name);
			goto out;
		}
		memset(seg, 0, sizeof(*seg));
		seg->first_id = ids[i];
		seg->last_id = res.records ? res.last_id : ids[i] - 1;
		seg->size = res.good_end;
		seg->records = res.records;
		seg->payload_bytes = res.payload_bytes;
		segment_link(sp, seg);
	}
	rc = 0;
out:
	free(ids);
	return rc;
}

/* ---- the API ---- */

static void spool_free(struct spool *sp)
{
	while (sp->head)
		segment_forget(sp, sp->head);
	for (unsigned i = 0; i < sp->nsinks; i++) {
		window_detach(&sp->sinks[i].win);
		free(sp->sinks[i].win.buf);
	}
	window_detach(&sp->scan);
	free(sp->scan.buf);
	for (int i = 0; i < 2; i++)
		if (sp->ckpt_fd[i] >= 0)
			close(sp->ckpt_fd[i]);
	if (sp->wfd >= 0)
		close(sp->wfd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* releases the flock */
	pthread_mutex_destroy(&sp->lock);
	free(sp->wbuf);
	free(sp->dir);
	free(sp);
}

struct spool *spool_open(const struct spool_config *cfg, char *err, size_t errlen)
{
	struct spool_io io;
	resolve_io(&io, cfg ? cfg->io : NULL);
	pthread_once(&crc_once, crc_init);
	if (!cfg || !cfg->dir || !cfg->dir[0] || cfg->nsinks == 0 ||
	    cfg->nsinks > SPOOL_MAX_SINKS) {
		snprintf(err, errlen, "spool: a directory and 1 to %u sinks are required",
			 SPOOL_MAX_SINKS);
		return NULL;
	}
	struct spool *sp = io.malloc(sizeof(*sp));
	size_t dl = strlen(cfg->dir);
	char *dir = io.malloc(dl + 1);
	if (sp)
		memset(sp, 0, sizeof(*sp));
	if (!sp || !dir || pthread_mutex_init(&sp->lock, NULL) != 0) {
		snprintf(err, errlen, "spool %s: out of memory", cfg->dir);
		free(sp);
		free(dir);
		return NULL;
	}
	memcpy(dir, cfg->dir, dl + 1);
	sp->dir = dir;
	sp->io = io;
	sp->dirfd = sp->lockfd = sp->wfd = sp->ckpt_fd[0] = sp->ckpt_fd[1] = sp->scan.fd = -1;
	sp->nsinks = cfg->nsinks;
	for (unsigned i = 0; i < SPOOL_MAX_SINKS; i++)
		sp->sinks[i].win.fd = -1;
	sp->max_bytes = cfg->max_bytes ? cfg->max_bytes : SPOOL_DEFAULT_MAX;
	sp->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : SPOOL_DEFAULT_SEGMENT;
	if (sp->segment_bytes > sp->max_bytes / 4)
		sp->segment_bytes = sp->max_bytes / 4 ? sp->max_bytes / 4 : 1;
	sp->policy = cfg->full_policy;
	sp->fsync = cfg->fsync;
	sp->report = cfg->report;
	sp->report_arg = cfg->report_arg;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		set_error(sp, "cannot create the directory: %s", strerror(errno));
		goto fail;
	}
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		set_error(sp, "not a usable directory: %s", strerror(errno));
		goto fail;
	}
	char *absolute = realpath(dir, NULL); /* rename() paths must not depend on the cwd */
	if (absolute) {
		free(sp->dir);
		sp->dir = absolute;
	}
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
		set_error(sp, "%s",
			  errno == EWOULDBLOCK ? "in use by another process (lock held)"
					       : strerror(errno));
		goto fail;
	}
	uint64_t ckpt_next = 1, max_id = 0;
	if (checkpoint_load(sp, &ckpt_next))
		report(sp, "no valid checkpoint (checkpoint.a and .b are both torn or corrupt): "
			   "every record kept is delivered again");
	if (recover_segments(sp, &max_id) != 0)
		goto fail;
	sp->next_id = ckpt_next > max_id + 1 ? ckpt_next : max_id + 1;
	for (unsigned i = 0; i < sp->nsinks; i++) {
		if (sp->sinks[i].acked >= sp->next_id)
			sp->next_id = sp->sinks[i].acked + 1;
		sp->sinks[i].read_upto = sp->sinks[i].acked;
	}
	delete_acked(sp, true);
	/* next_id and the sinks as recovered are durable before anything new happens. */
	if (checkpoint_write(sp) != 0)
		goto fail;
	free(sp->scan.buf);
	sp->scan.buf = NULL;
	sp->scan.cap = 0;
	return sp;
fail:
	snprintf(err, errlen, "%s", sp->errmsg);
	spool_free(sp);
	return NULL;
}

void spool_close(struct spool *sp)
{
	if (sp)
		spool_free(sp);
}

/* A write or fsync of an append failed: cut the partial record off, so it is never seen. */
static int append_failed(struct spool *sp, const char *op)
{
	int saved = errno;
	struct segment *seg = sp->active;
	bool cut = ftruncate(sp->wfd, (off_t)seg->size) == 0;
	if (!cut)
		sp->next_id++; /* that id may be on disk: never hand it out again */
	if (!cut || seg->size > 0) {
		/* the next append starts a new segment, after known-good bytes only */
		close(sp->wfd);
		sp->wfd = -1;
		sp->active = NULL;
	}
	char name[NAME_LEN];
	segment_name(name, seg->first_id, false);
	errno = saved;
	set_error(sp, "append to %s: %s: %s%s", name, op, strerror(saved),
		  cut ? "" : " (and the partial record could not be truncated off)");
	return SPOOL_ERROR;
}

static int append_locked(struct spool *sp, const void *rec, size_t len, uint64_t *out_id)
{
	uint64_t need = HDR + (uint64_t)len;
	if (len > SPOOL_MAX_RECORD || need > sp->max_bytes) {
		set_error(sp, "a record of %zu bytes can never fit (cap %" PRIu64 ")", len,
			  sp->max_bytes);
		return SPOOL_TOO_BIG;
	}
	if (sp->next_id >= MAX_ID) {
		set_error(sp, "ids exhausted");
		return SPOOL_ERROR;
	}
	while (sp->bytes + need > sp->max_bytes) {
		if (delete_acked(sp, true))
			continue;
		if (sp->policy != SPOOL_DROP_OLDEST)
			return SPOOL_FULL;
		if (drop_oldest(sp) != SPOOL_OK)
			return SPOOL_ERROR;
	}
	if (sp->active && sp->active->size > 0 && sp->active->size + need > sp->segment_bytes) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->active = NULL;
	}
	if (!sp->active) {
		char name[NAME_LEN];
		segment_name(name, sp->next_id, false);
		struct segment *seg = sp->io.malloc(sizeof(*seg));
		if (!seg) {
			set_error(sp, "out of memory for a new segment");
			return SPOOL_ERROR;
		}
		memset(seg, 0, sizeof(*seg));
		seg->first_id = sp->next_id;
		seg->last_id = sp->next_id - 1;
		int fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
				0600);
		if (fd < 0 || (sp->fsync && sp->io.fsync(sp->dirfd) != 0)) {
			set_error(sp, "create %s: %s", name, strerror(errno));
			if (fd >= 0) {
				close(fd);
				unlinkat(sp->dirfd, name, 0);
			}
			free(seg);
			return SPOOL_ERROR;
		}
		segment_link(sp, seg);
		sp->active = seg;
		sp->wfd = fd;
	}
	if (sp->wcap < need) {
		size_t ncap = need > 4096 ? (size_t)need : 4096;
		uint8_t *nb = sp->io.malloc(ncap);
		if (!nb) {
			set_error(sp, "out of memory for a record of %zu bytes", len);
			return SPOOL_ERROR;
		}
		free(sp->wbuf);
		sp->wbuf = nb;
		sp->wcap = ncap;
	}
	uint64_t id = sp->next_id;
	uint8_t *b = sp->wbuf;
	put32(b, RECORD_MAGIC);
	put32(b + 4, (uint32_t)len);
	put64(b + 8, id);
	if (len)
		memcpy(b + HDR, rec, len);
	put32(b + 16, crc32c(crc32c(0, b + 4, 12), b + HDR, len));
	if (write_all(sp, sp->wfd, b, (size_t)need) != 0)
		return append_failed(sp, "write");
	if (sp->fsync && sp->io.fsync(sp->wfd) != 0)
		return append_failed(sp, "fsync");
	struct segment *seg = sp->active;
	seg->size += need;
	seg->records++;
	seg->payload_bytes += len;
	seg->last_id = id;
	sp->bytes += need;
	sp->records++;
	sp->next_id++;
	sp->appended++;
	*out_id = id;
	return SPOOL_OK;
}

int spool_append(struct spool *sp, const void *rec, size_t len, uint64_t *out_id)
{
	if (!sp || (!rec && len) || !out_id)
		return SPOOL_INVALID;
	pthread_mutex_lock(&sp->lock);
	int rc = append_locked(sp, rec, len, out_id);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

static int read_locked(struct spool *sp, struct sink_state *s, uint64_t *id, const void **rec,
		       size_t *len)
{
	for (;;) {
		uint64_t after = s->acked > s->read_upto ? s->acked : s->read_upto;
		if (!s->seg) {
			struct segment *g = sp->head;
			while (g && (g->records == 0 || g->last_id <= after))
				g = g->next;
			if (!g)
				return SPOOL_EMPTY;
			s->seg = g;
			s->off = 0;
		}
		struct segment *seg = s->seg;
		if (s->off >= seg->size) {
			if (!seg->next)
				return SPOOL_EMPTY; /* stay here: the active segment may grow */
			s->seg = seg->next;
			s->off = 0;
			continue;
		}
		if (s->win.seg != seg) {
			char name[NAME_LEN];
			segment_name(name, seg->first_id, false);
			window_detach(&s->win);
			if ((s->win.fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
				set_error(sp, "open %s: %s", name, strerror(errno));
				return SPOOL_ERROR;
			}
			s->win.seg = seg;
		}
		struct record r;
		int rc = record_at(sp, &s->win, s->off, seg->size, false, &r);
		if (rc == 0 && r.id <= after) { /* acknowledged or already read: skip it */
			s->off += HDR + r.len;
			continue;
		}
		if (rc == 0)
			rc = record_at(sp, &s->win, s->off, seg->size, true, &r);
		if (rc < 0) {
			set_error(sp, "read: %s", strerror(errno));
			return SPOOL_ERROR;
		}
		if (rc > 0) {
			segment_quarantine(sp, seg, s->off);
			continue;
		}
		s->off += HDR + r.len;
		s->read_upto = r.id;
		*id = r.id;
		*rec = r.payload;
		*len = r.len;
		return SPOOL_OK;
	}
}

int spool_read(struct spool *sp, unsigned sink, uint64_t *id, const void **rec, size_t *len)
{
	if (!sp || sink >= sp->nsinks || !id || !rec || !len)
		return SPOOL_INVALID;
	pthread_mutex_lock(&sp->lock);
	int rc = read_locked(sp, &sp->sinks[sink], id, rec, len);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int spool_ack(struct spool *sp, unsigned sink, uint64_t upto_id)
{
	if (!sp || sink >= sp->nsinks)
		return SPOOL_INVALID;
	pthread_mutex_lock(&sp->lock);
	int rc = SPOOL_OK;
	struct sink_state *s = &sp->sinks[sink];
	if (upto_id >= sp->next_id) {
		set_error(sp, "sink %u acked id %" PRIu64 ", beyond the last id %" PRIu64, sink,
			  upto_id, sp->next_id - 1);
		rc = SPOOL_INVALID;
	} else if (upto_id > s->acked) {
		uint64_t old = s->acked, old_upto = acked_upto(sp);
		s->acked = upto_id;
		if (checkpoint_write(sp) != 0) {
			s->acked = old;
			rc = SPOOL_ERROR;
		} else {
			sp->acked += acked_upto(sp) - old_upto;
			delete_acked(sp, false);
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int spool_rewind(struct spool *sp, unsigned sink)
{
	if (!sp || sink >= sp->nsinks)
		return SPOOL_INVALID;
	pthread_mutex_lock(&sp->lock);
	struct sink_state *s = &sp->sinks[sink];
	s->read_upto = s->acked;
	s->seg = NULL;
	s->off = 0;
	pthread_mutex_unlock(&sp->lock);
	return SPOOL_OK;
}

bool spool_take_gap(struct spool *sp, uint64_t *records, uint64_t *bytes)
{
	pthread_mutex_lock(&sp->lock);
	bool any = sp->gap_records || sp->gap_bytes;
	*records = sp->gap_records;
	*bytes = sp->gap_bytes;
	sp->gap_records = sp->gap_bytes = 0;
	pthread_mutex_unlock(&sp->lock);
	return any;
}

void spool_stats(const struct spool *csp, struct spool_stats *out)
{
	struct spool *sp = (struct spool *)csp; /* only to take the lock */
	pthread_mutex_lock(&sp->lock);
	*out = (struct spool_stats){
		.bytes = sp->bytes,
		.records = sp->records,
		.segments = sp->nsegments,
		.appended = sp->appended,
		.acked = sp->acked,
		.dropped_records = sp->dropped_records,
		.dropped_bytes = sp->dropped_bytes,
		.quarantined_segments = sp->quarantined,
		.torn_tails = sp->torn_tails,
		.next_id = sp->next_id,
		.acked_upto = acked_upto(sp),
	};
	pthread_mutex_unlock(&sp->lock);
}

void spool_last_error(struct spool *sp, char *buf, size_t buflen)
{
	pthread_mutex_lock(&sp->lock);
	snprintf(buf, buflen, "%s", sp->errmsg);
	pthread_mutex_unlock(&sp->lock);
}

void spool_set_io(struct spool *sp, const struct spool_io *io)
{
	pthread_mutex_lock(&sp->lock);
	resolve_io(&sp->io, io);
	pthread_mutex_unlock(&sp->lock);
}
