/* fuzz_spool_recover: spool_open on a directory holding arbitrary bytes.
 *
 * The first input byte picks what the rest becomes: (0) one segment file; (1) checkpoint.a next
 * to a segment of three valid records; (2) two segment files, the second byte saying where the
 * first ends. The spool is opened with two sinks and must come up (recovery truncates or
 * quarantines, never fails on content).
 *
 * Checks: each sink reads strictly increasing ids, never at or below what it acknowledged; a
 * new record gets an id above all of them and reads back intact; a second open finds nothing
 * to repair (recovery leaves a clean directory) and delivers the same records again.
 */
#include "collector/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SEEN 4096

static char dir[256];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_spool_recover: invariant violated: %s\n", what);
	abort();
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void empty_dir(void)
{
	DIR *d = opendir(dir);
	if (!d)
		abort();
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static void remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

static void put(const char *name, const uint8_t *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len))
		abort();
	close(fd);
}

/* The ids a sink reads, in order (up to MAX_SEEN). */
static size_t read_all(struct spool *sp, unsigned sink, uint64_t acked, uint64_t *ids)
{
	size_t n = 0;
	uint64_t id, prev = 0;
	const void *rec;
	size_t len;
	while (spool_read(sp, sink, &id, &rec, &len) == SPOOL_OK) {
		if (id <= prev || id <= acked)
			fail("ids out of order or at/below the acked position");
		if (len && !rec)
			fail("no record bytes");
		if (n < MAX_SEEN)
			ids[n++] = id;
		prev = id;
	}
	return n;
}

/* A valid segment of records 1..3 (the format from spool.h), built by a spool. */
static void valid_segment(void)
{
	struct spool_config cfg = {.dir = dir, .nsinks = 1, .report = quiet};
	char err[256];
	struct spool *sp = spool_open(&cfg, err, sizeof(err));
	if (!sp)
		fail(err);
	uint64_t id;
	for (int i = 0; i < 3; i++)
		if (spool_append(sp, "seed", 4, &id) != SPOOL_OK)
			fail("seed append");
	spool_close(sp);
	char path[512];
	snprintf(path, sizeof(path), "%s/checkpoint.a", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/checkpoint.b", dir);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/fuzz_spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	empty_dir();
	if (size == 0)
		return 0;
	const uint8_t *rest = data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0:
		put("00000000000000000001.seg", rest, n);
		break;
	case 1:
		valid_segment();
		put("checkpoint.a", rest, n);
		break;
	default: {
		size_t split = n ? rest[0] % n : 0; /* then n - 1 bytes to split */
		if (n) {
			rest++;
			n--;
		}
		put("00000000000000000001.seg", rest, split);
		put("00000000000000000100.seg", rest + split, n - split);
		break;
	}
	}

	struct spool_config cfg = {.dir = dir, .nsinks = 2, .report = quiet};
	char err[256];
	struct spool *sp = spool_open(&cfg, err, sizeof(err));
	if (!sp)
		fail(err);
	struct spool_stats st;
	spool_stats(sp, &st);
	uint64_t acked = st.acked_upto;
	static uint64_t ids0[MAX_SEEN], ids1[MAX_SEEN], again[MAX_SEEN];
	size_t n0 = read_all(sp, 0, acked, ids0);
	size_t n1 = read_all(sp, 1, acked, ids1);
	uint64_t max = 0;
	for (size_t i = 0; i < n0; i++)
		max = ids0[i] > max ? ids0[i] : max;
	for (size_t i = 0; i < n1; i++)
		max = ids1[i] > max ? ids1[i] : max;
	uint64_t id;
	const void *rec;
	size_t len;
	if (spool_append(sp, "new record", 10, &id) != SPOOL_OK)
		fail("append after recovery");
	if (id <= max || id != st.next_id)
		fail("the new id is not above every id kept");
	if (spool_read(sp, 0, &(uint64_t){0}, &rec, &len) != SPOOL_OK || len != 10 ||
	    memcmp(rec, "new record", 10) != 0)
		fail("the new record does not read back");
	spool_close(sp);

	sp = spool_open(&cfg, err, sizeof(err));
	if (!sp)
		fail(err);
	spool_stats(sp, &st);
	if (st.torn_tails || st.quarantined_segments)
		fail("a second recovery found something to repair");
	size_t m = read_all(sp, 0, 0, again);
	if (m != n0 + 1 || (n0 && memcmp(again, ids0, n0 * sizeof(*ids0)) != 0) || again[n0] != id)
		fail("a second open delivers different records");
	spool_close(sp);
	return 0;
}
