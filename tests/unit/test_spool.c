/* Unit tests for collector/spool: the durable, acknowledged log between the core and the sinks.
 * Everything goes through the public API and the files on disk, as a user (or a crash) would. */
#include "collector/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- helpers ---- */

static char base_dir[256]; /* on disk, for the tests that fsync a little */
static char fast_dir[256]; /* tmpfs when there is one, for the injection loops */
static char dir[512];	   /* the spool of the running test */
static char reports[4096]; /* what the spool reported */

static void on_report(void *arg, const char *msg)
{
	(void)arg;
	size_t n = strlen(reports);
	snprintf(reports + n, sizeof(reports) - n, "%s\n", msg);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fresh_dir_in(const char *parent, const char *name)
{
	snprintf(dir, sizeof(dir), "%s/%s", parent, name);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	reports[0] = '\0';
}

static void fresh_dir(const char *name)
{
	fresh_dir_in(base_dir, name);
}

static struct spool_config config(unsigned nsinks, size_t segment, uint64_t cap)
{
	return (struct spool_config){.dir = dir,
				     .segment_bytes = segment,
				     .max_bytes = cap,
				     .full_policy = SPOOL_BLOCK,
				     .nsinks = nsinks,
				     .fsync = false,
				     .report = on_report};
}

static struct spool *open_ok(const struct spool_config *cfg)
{
	char err[512] = "";
	struct spool *sp = spool_open(cfg, err, sizeof(err));
	if (!sp)
		fail_msg("spool_open: %s", err);
	return sp;
}

static uint64_t append_str(struct spool *sp, const char *s)
{
	uint64_t id = 0;
	assert_int_equal(spool_append(sp, s, strlen(s), &id), SPOOL_OK);
	return id;
}

/* Reads the next record of sink, which must be id with payload want. */
static void expect_read(struct spool *sp, unsigned sink, uint64_t want_id, const char *want)
{
	uint64_t id;
	const void *rec;
	size_t len;
	int rc = spool_read(sp, sink, &id, &rec, &len);
	if (rc != SPOOL_OK)
		fail_msg("sink %u: read returned %d, expected id %" PRIu64, sink, rc, want_id);
	assert_int_equal(id, want_id);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(rec, want, len);
}

static void expect_empty(struct spool *sp, unsigned sink)
{
	uint64_t id;
	const void *rec;
	size_t len;
	int rc = spool_read(sp, sink, &id, &rec, &len);
	if (rc != SPOOL_EMPTY)
		fail_msg("sink %u: expected nothing, read returned %d (id %" PRIu64 ")", sink, rc,
			 rc == SPOOL_OK ? id : 0);
}

static const char *payload(unsigned i)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "event-%u", i);
	return buf;
}

/* Names in dir ending with suffix, sorted; returns how many. */
static int list_files(const char *suffix, char names[][64], int max)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	size_t sl = strlen(suffix);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l >= sl && l < 64 && strcmp(e->d_name + l - sl, suffix) == 0 && n < max)
			memcpy(names[n++], e->d_name, l + 1);
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char t[64];
			memcpy(t, names[j], 64);
			memcpy(names[j], names[j - 1], 64);
			memcpy(names[j - 1], t, 64);
		}
	return n;
}

static int count_files(const char *suffix)
{
	char names[256][64];
	return list_files(suffix, names, 256);
}

static char *path_of(const char *name)
{
	static char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static off_t file_size(const char *name)
{
	struct stat st;
	assert_int_equal(stat(path_of(name), &st), 0);
	return st.st_size;
}

static void flip_byte(const char *name, off_t off)
{
	int fd = open(path_of(name), O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* CRC-32C, bit by bit: an independent check of the on-disk format. */
static uint32_t crc32c_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
	}
	return ~c;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- behaviour ---- */

static void test_record_format_on_disk(void **state)
{
	(void)state;
	assert_int_equal(crc32c_ref((const uint8_t *)"123456789", 9), 0xe3069283u);
	fresh_dir("format");
	struct spool_config cfg = config(1, 0, 0);
	cfg.fsync = true;
	struct spool *sp = open_ok(&cfg);
	assert_int_equal(append_str(sp, "hello"), 1);
	assert_int_equal(append_str(sp, ""), 2);
	spool_close(sp);

	char names[4][64];
	assert_int_equal(list_files(".seg", names, 4), 1);
	assert_string_equal(names[0], "00000000000000000001.seg");
	uint8_t b[64];
	int fd = open(path_of(names[0]), O_RDONLY);
	assert_int_equal(read(fd, b, sizeof(b)), 2 * SPOOL_RECORD_HEADER + 5);
	close(fd);
	assert_memory_equal(b, "MTR1", 4);
	assert_int_equal(le32(b + 4), 5);
	assert_int_equal(le64(b + 8), 1);
	uint8_t crcin[12 + 5];
	memcpy(crcin, b + 4, 12);
	memcpy(crcin + 12, "hello", 5);
	assert_int_equal(le32(b + 16), crc32c_ref(crcin, sizeof(crcin)));
	assert_memory_equal(b + 20, "hello", 5);
	assert_int_equal(le64(b + 25 + 8), 2);
	assert_int_equal(le32(b + 25 + 4), 0);
	assert_int_equal(stat(path_of("checkpoint.b"), &(struct stat){0}), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_two_sinks_at_different_speeds(void **state)
{
	(void)state;
	fresh_dir("speeds");
	struct spool_config cfg = config(2, 0, 0);
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 10; i++)
		assert_int_equal(append_str(sp, payload(i)), i);
	/* the fast sink reads and acks everything */
	for (unsigned i = 1; i <= 10; i++)
		expect_read(sp, 0, i, payload(i));
	expect_empty(sp, 0);
	assert_int_equal(spool_ack(sp, 0, 10), SPOOL_OK);
	/* the slow one, three at a time */
	for (unsigned i = 1; i <= 3; i++)
		expect_read(sp, 1, i, payload(i));
	assert_int_equal(spool_ack(sp, 1, 3), SPOOL_OK);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.acked_upto, 3);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.records, 10);
	/* reading goes on from where it was; a rewind goes back to the acked position */
	expect_read(sp, 1, 4, payload(4));
	expect_read(sp, 1, 5, payload(5));
	assert_int_equal(spool_rewind(sp, 1), SPOOL_OK);
	expect_read(sp, 1, 4, payload(4));
	/* a new record is seen by both */
	assert_int_equal(append_str(sp, payload(11)), 11);
	expect_read(sp, 0, 11, payload(11));
	expect_empty(sp, 0);
	for (unsigned i = 5; i <= 11; i++)
		expect_read(sp, 1, i, payload(i));
	/* acks at or below the position are no-ops; beyond the last id they are refused */
	assert_int_equal(spool_ack(sp, 1, 2), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 1, 12), SPOOL_INVALID);
	assert_int_equal(spool_ack(sp, 2, 1), SPOOL_INVALID);
	assert_int_equal(spool_read(sp, 2, &(uint64_t){0}, &(const void *){NULL}, &(size_t){0}),
			 SPOOL_INVALID);
	spool_stats(sp, &st);
	assert_int_equal(st.acked_upto, 3);
	spool_close(sp);
	spool_close(NULL);
}

static void test_segment_deleted_only_when_every_sink_acked(void **state)
{
	(void)state;
	fresh_dir("delete");
	/* "event-N" is 7-8 bytes: 27-28 bytes a record, 3 records in a 90-byte segment */
	struct spool_config cfg = config(2, 90, 0);
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 9; i++)
		append_str(sp, payload(i));
	assert_int_equal(count_files(".seg"), 3);
	assert_int_equal(spool_ack(sp, 0, 9), SPOOL_OK);
	assert_int_equal(count_files(".seg"), 3);
	assert_int_equal(spool_ack(sp, 1, 4), SPOOL_OK);
	char names[8][64];
	assert_int_equal(list_files(".seg", names, 8), 2);
	assert_string_equal(names[0], "00000000000000000004.seg");
	/* the slow sink still gets what it has not acked */
	expect_read(sp, 1, 5, payload(5));
	assert_int_equal(spool_ack(sp, 1, 9), SPOOL_OK);
	/* the active segment stays (it is reused) until the cap needs the room */
	assert_int_equal(list_files(".seg", names, 8), 1);
	assert_string_equal(names[0], "00000000000000000007.seg");
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.segments, 1);
	assert_int_equal(st.acked_upto, 9);
	assert_int_equal(st.acked, 9);
	spool_close(sp);
	/* a restart deletes a fully acknowledged segment, and ids go on */
	sp = open_ok(&cfg);
	assert_int_equal(count_files(".seg"), 0);
	assert_int_equal(append_str(sp, payload(10)), 10);
	expect_read(sp, 0, 10, payload(10));
	expect_read(sp, 1, 10, payload(10));
	spool_close(sp);
}

static void test_cap_block_returns_full(void **state)
{
	(void)state;
	fresh_dir("block");
	struct spool_config cfg = config(2, 64, 300);
	struct spool *sp = open_ok(&cfg);
	uint64_t id = 0, n = 0;
	int rc;
	char big[400];
	memset(big, 'x', sizeof(big));
	assert_int_equal(spool_append(sp, big, 281, &id), SPOOL_TOO_BIG);
	while ((rc = spool_append(sp, "0123456789", 10, &id)) == SPOOL_OK)
		n++;
	assert_int_equal(rc, SPOOL_FULL);
	assert_int_equal(n, 300 / 30);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.bytes, 300);
	assert_int_equal(st.records, n);
	assert_int_equal(st.dropped_records, 0);
	uint64_t gr, gb;
	assert_false(spool_take_gap(sp, &gr, &gb));
	/* one sink acking everything frees nothing; both do */
	assert_int_equal(spool_ack(sp, 0, n), SPOOL_OK);
	assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_FULL);
	assert_int_equal(spool_ack(sp, 1, 2), SPOOL_OK);
	assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	assert_int_equal(id, n + 1);
	assert_int_equal(spool_ack(sp, 1, n + 1), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 0, n + 1), SPOOL_OK);
	/* everything acked: the whole cap is available again, except the acked record still in
	 * the active segment (the cap counts whole files) */
	for (unsigned i = 0; i < n - 1; i++)
		assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_FULL);
	assert_int_equal(spool_ack(sp, 0, id), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 1, id), SPOOL_OK);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	spool_close(sp);
}

static void test_cap_drop_oldest_reports_gap(void **state)
{
	(void)state;
	fresh_dir("drop");
	struct spool_config cfg = config(2, 60, 300); /* 2 records (30 bytes) a segment */
	cfg.full_policy = SPOOL_DROP_OLDEST;
	struct spool *sp = open_ok(&cfg);
	uint64_t id = 0;
	for (unsigned i = 1; i <= 10; i++)
		assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	uint64_t gr, gb;
	assert_false(spool_take_gap(sp, &gr, &gb));
	/* sink 0 has acked 3: of the oldest segment (1-2) nothing is lost for it, but sink 1
	 * has acked nothing, so both records count */
	assert_int_equal(spool_ack(sp, 0, 3), SPOOL_OK);
	for (unsigned i = 11; i <= 13; i++)
		assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	assert_int_equal(id, 13);
	assert_true(spool_take_gap(sp, &gr, &gb));
	assert_int_equal(gr, 4); /* segments 1-2 and 3-4 */
	assert_int_equal(gb, 40);
	assert_false(spool_take_gap(sp, &gr, &gb));
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_records, 4);
	assert_int_equal(st.dropped_bytes, 40);
	assert_true(st.bytes <= 300);
	/* both sinks go on from the oldest record kept */
	expect_read(sp, 1, 5, "0123456789");
	expect_read(sp, 0, 5, "0123456789");
	/* when every sink has acked part of the oldest segment, only the rest counts */
	assert_int_equal(spool_ack(sp, 0, 5), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 1, 5), SPOOL_OK);
	assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	assert_false(spool_take_gap(sp, &gr, &gb)); /* still fits */
	assert_int_equal(spool_append(sp, "0123456789", 10, &id), SPOOL_OK);
	assert_true(spool_take_gap(sp, &gr, &gb));
	assert_int_equal(gr, 1); /* record 6 */
	assert_int_equal(gb, 10);
	spool_close(sp);
	/* the drop is durable: a restart does not bring dropped records back */
	sp = open_ok(&cfg);
	expect_read(sp, 1, 7, "0123456789");
	spool_close(sp);
}

static void test_reopen_resumes_at_acked_positions(void **state)
{
	(void)state;
	fresh_dir("reopen");
	struct spool_config cfg = config(2, 100, 0);
	cfg.fsync = true;
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 10; i++)
		append_str(sp, payload(i));
	for (unsigned i = 1; i <= 9; i++)
		expect_read(sp, 0, i, payload(i));
	assert_int_equal(spool_ack(sp, 0, 7), SPOOL_OK);
	expect_read(sp, 1, 1, payload(1));
	expect_read(sp, 1, 2, payload(2));
	assert_int_equal(spool_ack(sp, 1, 2), SPOOL_OK);
	expect_read(sp, 1, 3, payload(3));
	spool_close(sp);

	sp = open_ok(&cfg);
	/* at least once, with the same ids: what was read but not acked comes again */
	for (unsigned i = 8; i <= 10; i++)
		expect_read(sp, 0, i, payload(i));
	expect_empty(sp, 0);
	for (unsigned i = 3; i <= 10; i++)
		expect_read(sp, 1, i, payload(i));
	expect_empty(sp, 1);
	assert_int_equal(append_str(sp, payload(11)), 11);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.acked_upto, 2);
	assert_int_equal(st.torn_tails, 0);
	assert_int_equal(st.quarantined_segments, 0);
	spool_close(sp);

	/* a sink the checkpoint does not know starts at the oldest record kept */
	cfg.nsinks = 3;
	sp = open_ok(&cfg);
	expect_read(sp, 2, 1, payload(1));
	expect_read(sp, 0, 8, payload(8));
	spool_close(sp);
}

static void test_second_open_refused(void **state)
{
	(void)state;
	fresh_dir("lock");
	struct spool_config cfg = config(1, 0, 0);
	struct spool *sp = open_ok(&cfg);
	char err[256] = "";
	assert_null(spool_open(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	spool_close(sp);
	cfg.nsinks = 0;
	assert_null(spool_open(&cfg, err, sizeof(err)));
	assert_null(spool_open(NULL, err, sizeof(err)));
}

static void test_torn_tail_truncated(void **state)
{
	(void)state;
	fresh_dir("torn");
	struct spool_config cfg = config(1, 0, 0);
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 5; i++)
		append_str(sp, payload(i));
	spool_close(sp);
	const char *seg = "00000000000000000001.seg";
	off_t size = file_size(seg);
	/* a crash in the middle of record 5 */
	assert_int_equal(truncate(path_of(seg), size - 4), 0);
	sp = open_ok(&cfg);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.torn_tails, 1);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.quarantined_segments, 0);
	assert_non_null(strstr(reports, "torn tail"));
	for (unsigned i = 1; i <= 4; i++)
		expect_read(sp, 0, i, payload(i));
	expect_empty(sp, 0);
	/* appends go to a new segment, after known-good bytes only */
	uint64_t id = append_str(sp, payload(99));
	assert_int_equal(id, 5);
	expect_read(sp, 0, 5, payload(99));
	spool_close(sp);
	assert_int_equal(file_size(seg), size - (off_t)(SPOOL_RECORD_HEADER + strlen(payload(5))));

	/* a tail of zeros (size extended, data never written) and a header cut short */
	int fd = open(path_of("00000000000000000005.seg"), O_WRONLY | O_APPEND);
	static const char zeros[100];
	assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
	close(fd);
	fd = open(path_of(seg), O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "MTR1\x05", 5), 5);
	close(fd);
	sp = open_ok(&cfg);
	spool_stats(sp, &st);
	assert_int_equal(st.torn_tails, 2);
	assert_int_equal(st.records, 5);
	for (unsigned i = 1; i <= 4; i++)
		expect_read(sp, 0, i, payload(i));
	expect_read(sp, 0, 5, payload(99));
	expect_empty(sp, 0);
	spool_close(sp);
}

static void test_corrupt_middle_record_quarantines_segment(void **state)
{
	(void)state;
	fresh_dir("corrupt");
	struct spool_config cfg = config(2, 90, 0); /* 3 records a segment */
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 12; i++)
		append_str(sp, payload(i));
	assert_int_equal(spool_ack(sp, 0, 12), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 1, 1), SPOOL_OK);
	spool_close(sp);
	/* a flipped bit in the payload of record 5, the middle of segment 4-6 */
	const char *seg = "00000000000000000004.seg";
	flip_byte(seg, SPOOL_RECORD_HEADER + 7 + SPOOL_RECORD_HEADER + 3);

	sp = open_ok(&cfg);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.quarantined_segments, 1);
	assert_int_equal(st.torn_tails, 0);
	assert_non_null(strstr(reports, "quarantined"));
	assert_int_equal(count_files(".seg.corrupt"), 1);
	assert_int_equal(stat(path_of("00000000000000000004.seg.corrupt"), &(struct stat){0}), 0);
	uint64_t gr, gb;
	assert_true(spool_take_gap(sp, &gr, &gb));
	assert_int_equal(gr, 3);
	assert_true(gb > 0);
	/* the spool keeps working with the other segments */
	for (unsigned i = 2; i <= 3; i++)
		expect_read(sp, 1, i, payload(i));
	for (unsigned i = 7; i <= 12; i++)
		expect_read(sp, 1, i, payload(i));
	expect_empty(sp, 1);
	expect_empty(sp, 0);
	assert_int_equal(append_str(sp, payload(13)), 13);
	expect_read(sp, 0, 13, payload(13));
	assert_int_equal(spool_ack(sp, 1, 13), SPOOL_OK);
	spool_close(sp);
	/* and it is not found again */
	reports[0] = '\0';
	sp = open_ok(&cfg);
	spool_stats(sp, &st);
	assert_int_equal(st.quarantined_segments, 0);
	assert_string_equal(reports, "");
	spool_close(sp);
}

static void test_corruption_found_while_reading(void **state)
{
	(void)state;
	fresh_dir("runtime");
	struct spool_config cfg = config(1, 90, 0);
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 6; i++)
		append_str(sp, payload(i));
	/* the active segment, 4-6, goes bad under the spool */
	flip_byte("00000000000000000004.seg", SPOOL_RECORD_HEADER + 2);
	for (unsigned i = 1; i <= 3; i++)
		expect_read(sp, 0, i, payload(i));
	expect_empty(sp, 0);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.quarantined_segments, 1);
	uint64_t gr, gb;
	assert_true(spool_take_gap(sp, &gr, &gb));
	assert_int_equal(gr, 3);
	assert_int_equal(count_files(".seg.corrupt"), 1);
	spool_close(sp);
	/* the lost ids are never handed out again */
	sp = open_ok(&cfg);
	assert_int_equal(append_str(sp, "x"), 7);
	spool_close(sp);
}

/* The checkpoint slot holding the highest sequence number. */
static const char *newest_checkpoint(void)
{
	static const char *names[2] = {"checkpoint.a", "checkpoint.b"};
	uint64_t best = 0;
	const char *newest = NULL;
	for (int i = 0; i < 2; i++) {
		uint8_t b[16];
		int fd = open(path_of(names[i]), O_RDONLY);
		if (fd < 0)
			continue;
		if (read(fd, b, sizeof(b)) == (ssize_t)sizeof(b) && le64(b + 8) >= best) {
			best = le64(b + 8);
			newest = names[i];
		}
		close(fd);
	}
	assert_non_null(newest);
	return newest;
}

static void test_checkpoint_falls_back_to_older_slot(void **state)
{
	(void)state;
	fresh_dir("checkpoint");
	struct spool_config cfg = config(1, 0, 0);
	cfg.fsync = true;
	struct spool *sp = open_ok(&cfg);
	for (unsigned i = 1; i <= 10; i++)
		append_str(sp, payload(i));
	assert_int_equal(spool_ack(sp, 0, 3), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 0, 6), SPOOL_OK);
	spool_close(sp);

	/* the newest slot torn: the older one (acked 3) is used */
	const char *newest = newest_checkpoint();
	assert_int_equal(truncate(path_of(newest), 20), 0);
	sp = open_ok(&cfg);
	expect_read(sp, 0, 4, payload(4));
	assert_int_equal(spool_ack(sp, 0, 5), SPOOL_OK);
	spool_close(sp);

	/* the newest slot (acked 5) with a flipped bit: the older one, written when the spool
	 * opened (acked 3), is used */
	newest = newest_checkpoint();
	flip_byte(newest, 33);
	sp = open_ok(&cfg);
	expect_read(sp, 0, 4, payload(4));
	spool_close(sp);

	/* both unreadable: reported, and everything kept is delivered again */
	reports[0] = '\0';
	flip_byte("checkpoint.a", 33);
	flip_byte("checkpoint.b", 33);
	sp = open_ok(&cfg);
	assert_non_null(strstr(reports, "no valid checkpoint"));
	expect_read(sp, 0, 1, payload(1));
	assert_int_equal(append_str(sp, "x"), 11);
	spool_close(sp);
}

/* ---- injected failures ---- */

static struct injection {
	long calls, fail_at;
	bool persistent;
} inj;

static bool inj_fail(void)
{
	inj.calls++;
	return inj.fail_at > 0 &&
	       (inj.calls == inj.fail_at || (inj.persistent && inj.calls > inj.fail_at));
}

static ssize_t inj_write(int fd, const void *buf, size_t len)
{
	if (inj_fail()) {
		/* a torn write: half of it reaches the file, then the disk is full */
		if (len > 1 && write(fd, buf, len / 2) < 0)
			return -1;
		errno = ENOSPC;
		return -1;
	}
	return write(fd, buf, len);
}

static int inj_fsync(int fd)
{
	if (inj_fail()) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

static int inj_rename(const char *from, const char *to)
{
	if (inj_fail()) {
		errno = EIO;
		return -1;
	}
	return rename(from, to);
}

static void *inj_malloc(size_t n)
{
	if (inj_fail())
		return NULL;
	return malloc(n);
}

static const struct spool_io inj_io = {inj_write, inj_fsync, inj_rename, inj_malloc};

struct model_record {
	uint64_t id;
	char data[64];
	size_t len;
};

/* What the caller was told: stored records, and per sink the acks that succeeded (acked) and
 * the highest one attempted (tried: a failed checkpoint write may still have reached the disk). */
struct model {
	struct model_record recs[128];
	size_t n;
	uint64_t acked[2], tried[2], last_read[2];
	unsigned fulls, errors; /* appends refused at the cap, failed */
	uint64_t gap_records;	/* reported by spool_take_gap */
};

static const struct model_record *model_find(const struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->recs[i].id == id)
			return &m->recs[i];
	return NULL;
}

/* Reads up to max records of sink (all when 0), each of which must be a stored record, in order;
 * acks the last one. */
static void model_consume(struct spool *sp, struct model *m, unsigned sink, unsigned max)
{
	uint64_t id, last = 0;
	const void *rec;
	size_t len;
	for (unsigned k = 0; (max == 0 || k < max) && spool_read(sp, sink, &id, &rec, &len) == 0;
	     k++) {
		const struct model_record *r = model_find(m, id);
		if (!r || r->len != len || memcmp(r->data, rec, len) != 0)
			fail_msg("k=%ld: sink %u read id %" PRIu64
				 ", which was never stored as such",
				 inj.fail_at, sink, id);
		if (id <= m->acked[sink] || id <= m->last_read[sink])
			fail_msg("k=%ld: sink %u read id %" PRIu64 " out of order", inj.fail_at,
				 sink, id);
		m->last_read[sink] = last = id;
	}
	if (last) {
		if (spool_ack(sp, sink, last) == SPOOL_OK)
			m->acked[sink] = last;
		if (last > m->tried[sink])
			m->tried[sink] = last;
	}
}

static void model_rewind(struct spool *sp, struct model *m, unsigned sink)
{
	spool_rewind(sp, sink);
	m->last_read[sink] = 0;
}

/* The scripted workload, with whatever inj says. */
static void workload(struct spool_config *cfg, struct model *m)
{
	char err[512];
	struct spool *sp = spool_open(cfg, err, sizeof(err));
	if (!sp)
		return;
	for (unsigned i = 0; i < 30; i++) {
		char data[64];
		size_t len = 4 + (i * 7) % 40;
		for (size_t k = 0; k < len; k++)
			data[k] = (char)('a' + (i + k) % 26);
		data[0] = (char)('0' + i % 10);
		uint64_t id = 0;
		int rc = spool_append(sp, data, len, &id);
		if (rc == SPOOL_OK) {
			if (m->n && id <= m->recs[m->n - 1].id)
				fail_msg("k=%ld: id %" PRIu64 " after %" PRIu64, inj.fail_at, id,
					 m->recs[m->n - 1].id);
			struct model_record *r = &m->recs[m->n++];
			r->id = id;
			r->len = len;
			memcpy(r->data, data, len);
		} else if (rc == SPOOL_FULL) {
			m->fulls++;
		} else if (rc == SPOOL_ERROR) {
			m->errors++;
		} else {
			fail_msg("k=%ld: append returned %d", inj.fail_at, rc);
		}
		uint64_t gap_records, gap_bytes;
		if (spool_take_gap(sp, &gap_records, &gap_bytes))
			m->gap_records += gap_records;
		if (i % 4 == 3)
			model_consume(sp, m, 0, 0);
		if (i % 3 == 2)
			model_consume(sp, m, 1, 2);
		if (i % 10 == 9)
			model_rewind(sp, m, 1);
	}
	spool_close(sp);
}

/* After a reopen without failures: every sink reads exactly the stored records after some
 * position between its last successful ack and its last attempted one, once, in order. */
static void check_after_reopen(struct spool_config cfg, const struct model *m, bool suffix_only)
{
	cfg.io = NULL;
	struct spool *sp = open_ok(&cfg);
	for (unsigned s = 0; s < cfg.nsinks; s++) {
		uint64_t id, prev = 0;
		const void *rec;
		size_t len, j = 0;
		bool first = true;
		while (spool_read(sp, s, &id, &rec, &len) == SPOOL_OK) {
			const struct model_record *r = model_find(m, id);
			if (!r || r->len != len || memcmp(r->data, rec, len) != 0)
				fail_msg("k=%ld: after reopen sink %u read id %" PRIu64
					 ", never stored as such",
					 inj.fail_at, s, id);
			if (id <= m->acked[s] || id <= prev)
				fail_msg("k=%ld: after reopen sink %u read id %" PRIu64
					 " (acked %" PRIu64 ", previous %" PRIu64 ")",
					 inj.fail_at, s, id, m->acked[s], prev);
			if (first) {
				/* everything stored before this one must have been acked */
				for (j = 0; j < m->n && m->recs[j].id < id; j++)
					if (m->recs[j].id > m->tried[s] && !suffix_only)
						fail_msg("k=%ld: sink %u lost id %" PRIu64,
							 inj.fail_at, s, m->recs[j].id);
				first = false;
			} else if (j >= m->n || m->recs[j].id != id) {
				fail_msg("k=%ld: sink %u: id %" PRIu64 " missing before %" PRIu64,
					 inj.fail_at, s, j < m->n ? m->recs[j].id : 0, id);
			}
			j++;
			prev = id;
		}
		if (first) {
			/* nothing read: all stored must be acked (or, with drops, none was stored
			 * after the last drop, which the newest record proves) */
			if (m->n && m->recs[m->n - 1].id > m->tried[s])
				fail_msg("k=%ld: sink %u lost everything up to %" PRIu64,
					 inj.fail_at, s, m->recs[m->n - 1].id);
		} else if (j != m->n) {
			fail_msg("k=%ld: sink %u stopped at id %" PRIu64
				 ", %zu stored records unread",
				 inj.fail_at, s, prev, m->n - j);
		}
	}
	/* later appends work (once everything is acked: the cap may be reached) and ids grow */
	struct spool_stats st;
	spool_stats(sp, &st);
	for (unsigned s = 0; s < cfg.nsinks && st.next_id > 1; s++)
		assert_int_equal(spool_ack(sp, s, st.next_id - 1), SPOOL_OK);
	uint64_t id = 0;
	if (spool_append(sp, "after", 5, &id) != SPOOL_OK) {
		char msg[512];
		spool_last_error(sp, msg, sizeof(msg));
		fail_msg("k=%ld: append after reopen: %s", inj.fail_at, msg);
	}
	if (m->n && id <= m->recs[m->n - 1].id)
		fail_msg("k=%ld: id %" PRIu64 " reused", inj.fail_at, id);
	spool_close(sp);
}

/* A spool with a history: records 1-4 and 9 stored, 5-8 in a segment corrupt in the middle,
 * sink 0 acked 2, sink 1 acked 1. */
static void prepare_history(struct model *m, struct spool_config *cfg)
{
	memset(m, 0, sizeof(*m));
	struct spool *sp = open_ok(cfg);
	for (unsigned i = 1; i <= 9; i++) {
		char data[16];
		snprintf(data, sizeof(data), "pre-%u", i);
		uint64_t id = append_str(sp, data);
		if (i <= 4 || i == 9) {
			struct model_record *r = &m->recs[m->n++];
			r->id = id;
			r->len = strlen(data);
			memcpy(r->data, data, r->len);
		}
	}
	assert_int_equal(count_files(".seg"), 3);
	assert_int_equal(spool_ack(sp, 0, 2), SPOOL_OK);
	assert_int_equal(spool_ack(sp, 1, 1), SPOOL_OK);
	spool_close(sp);
	m->acked[0] = m->tried[0] = 2;
	m->acked[1] = m->tried[1] = 1;
	flip_byte("00000000000000000005.seg", 25 + SPOOL_RECORD_HEADER + 2);
}

static void injection_loop(enum spool_full_policy policy, uint64_t cap, bool history)
{
	struct spool_config cfg = config(2, 120, cap);
	cfg.full_policy = policy;
	cfg.report = NULL;
	struct model m;
	long total = 0;
	for (int persistent = 0; persistent < 2; persistent++) {
		for (long k = 0;; k++) {
			fresh_dir_in(fast_dir, "inject");
			cfg.io = NULL;
			cfg.fsync = false;
			cfg.report = on_report;
			if (history) {
				prepare_history(&m, &cfg);
			} else {
				memset(&m, 0, sizeof(m));
			}
			reports[0] = '\0';
			inj = (struct injection){.fail_at = k, .persistent = persistent};
			cfg.io = &inj_io;
			cfg.fsync = true;
			workload(&cfg, &m);
			if (k == 0) {
				total = inj.calls; /* the clean run: how many calls to fail */
				print_message(
					"%s: %ld injectable calls, %zu records stored, %u refused "
					"at the cap, %" PRIu64 " dropped\n",
					history ? "block" : "drop", total, m.n, m.fulls,
					m.gap_records);
				if (policy == SPOOL_BLOCK)
					assert_true(m.fulls > 0);
				else
					assert_true(m.gap_records > 0);
				assert_true(total > 50);
				assert_true(m.n > 10);
			}
			check_after_reopen(cfg, &m, policy == SPOOL_DROP_OLDEST);
			if (history) {
				char names[8][64];
				int n = list_files(".corrupt", names, 8);
				if (n != 1)
					fail_msg("k=%ld: %d quarantined segments (%s, %s); "
						 "reports: %s",
						 k, n, names[0], n > 1 ? names[1] : "", reports);
				assert_int_equal(stat(path_of("00000000000000000005.seg"),
						      &(struct stat){0}),
						 -1);
			}
			if (k >= total)
				break;
		}
	}
}

static void test_injected_failures_never_lose_stored_data(void **state)
{
	(void)state;
	injection_loop(SPOOL_BLOCK, 600, true);
}

static void test_injected_failures_with_drop_oldest(void **state)
{
	(void)state;
	injection_loop(SPOOL_DROP_OLDEST, 360, false);
}

static void test_failed_append_is_invisible_and_later_appends_work(void **state)
{
	(void)state;
	fresh_dir("failed_append");
	struct spool_config cfg = config(1, 0, 0);
	cfg.fsync = true;
	struct spool *sp = open_ok(&cfg);
	append_str(sp, "one");
	inj = (struct injection){.fail_at = 1};
	spool_set_io(sp, &inj_io);
	uint64_t id = 0;
	assert_int_equal(spool_append(sp, "torn write", 10, &id), SPOOL_ERROR);
	char msg[256];
	spool_last_error(sp, msg, sizeof(msg));
	assert_non_null(strstr(msg, "write"));
	/* a new segment (malloc, directory fsync), then the write, then its fsync fails */
	inj = (struct injection){.fail_at = 4};
	assert_int_equal(spool_append(sp, "failed fsync", 12, &id), SPOOL_ERROR);
	spool_last_error(sp, msg, sizeof(msg));
	assert_non_null(strstr(msg, "fsync"));
	spool_set_io(sp, NULL);
	assert_int_equal(append_str(sp, "two"), 2);
	expect_read(sp, 0, 1, "one");
	expect_read(sp, 0, 2, "two");
	expect_empty(sp, 0);
	spool_close(sp);
	sp = open_ok(&cfg);
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.torn_tails, 0);
	expect_read(sp, 0, 1, "one");
	expect_read(sp, 0, 2, "two");
	expect_empty(sp, 0);
	spool_close(sp);
}

/* ---- threads: the core appends while each sink thread reads and acks ---- */

#define THREADED_RECORDS 3000

struct sink_thread {
	struct spool *sp;
	unsigned sink, batch;
	uint64_t received;
	bool in_order;
};

static void *sink_main(void *arg)
{
	struct sink_thread *t = arg;
	uint64_t expect = 1, id;
	const void *rec;
	size_t len;
	t->in_order = true;
	while (expect <= THREADED_RECORDS) {
		unsigned n = 0;
		while (n < t->batch && spool_read(t->sp, t->sink, &id, &rec, &len) == SPOOL_OK) {
			char want[32];
			int wl = snprintf(want, sizeof(want), "r%" PRIu64, id);
			if (id != expect || len != (size_t)wl || memcmp(rec, want, len) != 0)
				t->in_order = false;
			expect = id + 1;
			n++;
		}
		if (n)
			spool_ack(t->sp, t->sink, expect - 1);
		else
			usleep(100);
	}
	t->received = expect - 1;
	return NULL;
}

static void test_threads_append_read_ack(void **state)
{
	(void)state;
	fresh_dir("threads");
	struct spool_config cfg = config(2, 4096, 64 * 1024);
	struct spool *sp = open_ok(&cfg);
	struct sink_thread t[2] = {{.sp = sp, .sink = 0, .batch = 7},
				   {.sp = sp, .sink = 1, .batch = 100}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, sink_main, &t[i]), 0);
	for (uint64_t i = 1; i <= THREADED_RECORDS;) {
		char rec[32];
		int len = snprintf(rec, sizeof(rec), "r%" PRIu64, i);
		uint64_t id;
		int rc = spool_append(sp, rec, (size_t)len, &id);
		if (rc == SPOOL_FULL) { /* the inputs pause until the sinks catch up */
			usleep(100);
			continue;
		}
		assert_int_equal(rc, SPOOL_OK);
		assert_int_equal(id, i);
		i++;
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_true(t[i].in_order);
		assert_int_equal(t[i].received, THREADED_RECORDS);
	}
	struct spool_stats st;
	spool_stats(sp, &st);
	assert_int_equal(st.acked_upto, THREADED_RECORDS);
	assert_true(st.segments <= 1);
	spool_close(sp);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(base_dir, sizeof(base_dir), "%s/test_spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base_dir))
		return -1;
	snprintf(fast_dir, sizeof(fast_dir), "/dev/shm/test_spool.XXXXXX");
	if (!mkdtemp(fast_dir))
		snprintf(fast_dir, sizeof(fast_dir), "%s", base_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(fast_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_format_on_disk),
		cmocka_unit_test(test_two_sinks_at_different_speeds),
		cmocka_unit_test(test_segment_deleted_only_when_every_sink_acked),
		cmocka_unit_test(test_cap_block_returns_full),
		cmocka_unit_test(test_cap_drop_oldest_reports_gap),
		cmocka_unit_test(test_reopen_resumes_at_acked_positions),
		cmocka_unit_test(test_second_open_refused),
		cmocka_unit_test(test_torn_tail_truncated),
		cmocka_unit_test(test_corrupt_middle_record_quarantines_segment),
		cmocka_unit_test(test_corruption_found_while_reading),
		cmocka_unit_test(test_checkpoint_falls_back_to_older_slot),
		cmocka_unit_test(test_failed_append_is_invisible_and_later_appends_work),
		cmocka_unit_test(test_threads_append_read_ack),
		cmocka_unit_test(test_injected_failures_never_lose_stored_data),
		cmocka_unit_test(test_injected_failures_with_drop_oldest),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
