/* mcptrail-bench-scan: the pure-scan ceiling of `mcptrail import`.
 *
 * Reads a tap-record capture fully into memory (padded by JSON_SCAN_PADDING) and, for every line,
 * runs tap_record_parse and json_scanner_scan on the frame's msg span, exactly as the importer
 * does but without correlation or output. Repeats the pass --repeat times and reports the best.
 * --validate-only first collects the msg spans (untimed), then times json_scanner_validate on
 * them (what the tap runs on every frame it records).
 *
 * The last line of output is machine-readable: "bench-scan: key=value ...".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gmtime_r, memfd_create (the build defines it too) */
#endif
#include "parsers/json_scan.h"
#include "parsers/tap_record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct span {
	const char *ptr;
	size_t len;
};

struct counts {
	uint64_t lines, records, bad_records, frames, msg_frames, b64_frames, msg_bytes;
	uint64_t valid, invalid;
	uint64_t by_kind[5];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + JSON_SCAN_PADDING, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap - JSON_SCAN_PADDING) {
			/* the file grew (or is not a regular file) */
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - JSON_SCAN_PADDING - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf) {
		memset(buf + n, 0, JSON_SCAN_PADDING);
		*len = n;
	}
	return buf;
}

/* One pass over the capture: parse every record, scan every msg frame. When spans is not NULL,
 * the msg spans are collected instead of scanned. */
static void pass(json_scanner *rs, json_scanner *ms, const char *buf, size_t len, struct counts *c,
		 struct span **spans, size_t *nspans)
{
	memset(c, 0, sizeof(*c));
	const char *end = buf + len, *limit = end + JSON_SCAN_PADDING;
	size_t cap = 0;
	for (const char *p = buf; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;
		p += n + (nl ? 1 : 0);
		c->lines++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		struct tap_record rec;
		if (tap_record_parse(rs, line, n, (size_t)(limit - line), &rec) ==
		    TAP_RECORD_INVALID) {
			c->bad_records++;
			continue;
		}
		c->records++;
		if (rec.kind != TAP_RECORD_FRAME)
			continue;
		c->frames++;
		if (!rec.msg.ptr) {
			c->b64_frames++;
			continue;
		}
		c->msg_frames++;
		c->msg_bytes += rec.msg.len;
		if (spans) {
			if (*nspans == cap) {
				cap = cap ? cap * 2 : 1u << 16;
				struct span *ns = realloc(*spans, cap * sizeof(**spans));
				if (!ns) {
					fprintf(stderr, "mcptrail-bench-scan: out of memory\n");
					exit(2);
				}
				*spans = ns;
			}
			(*spans)[(*nspans)++] = (struct span){rec.msg.ptr, rec.msg.len};
			continue;
		}
		struct json_scan scan;
		enum json_msg_kind k = json_scanner_scan(ms, rec.msg.ptr, rec.msg.len,
							 (size_t)(limit - rec.msg.ptr), &scan);
		c->by_kind[k]++;
		if (k == JSON_MSG_INVALID)
			c->invalid++;
		else
			c->valid++;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mcptrail-bench-scan [--repeat K] [--validate-only] CAPTURE\n"
		   "  Times tap_record_parse + json_scanner_scan over every record of CAPTURE\n"
		   "  (no correlation, no output); prints the best of K runs (default 3).\n");
}

int main(int argc, char **argv)
{
	int repeat = 3;
	bool validate_only = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 1000) {
				usage(stderr);
				return 2;
			}
			repeat = (int)v;
		} else if (strcmp(argv[i], "--validate-only") == 0) {
			validate_only = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage(stderr);
			return 2;
		} else if (!path) {
			path = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	size_t len = 0;
	double t0 = now_s();
	char *buf = read_file(path, &len);
	if (!buf) {
		fprintf(stderr, "mcptrail-bench-scan: %s: %s\n", path, strerror(errno));
		return 1;
	}
	double load_s = now_s() - t0;
	json_scanner *rs = json_scanner_new(), *ms = json_scanner_new();
	if (!rs || !ms) {
		fprintf(stderr, "mcptrail-bench-scan: cannot create scanners\n");
		return 2;
	}

	struct counts c;
	struct span *spans = NULL;
	size_t nspans = 0;
	uint64_t validate_failed = 0;
	if (validate_only)
		pass(rs, NULL, buf, len, &c, &spans, &nspans);

	double best_wall = 0, best_cpu = 0;
	for (int r = 0; r < repeat; r++) {
		double w0 = now_s(), c0 = cpu_s();
		if (validate_only) {
			uint64_t failed = 0;
			for (size_t i = 0; i < nspans; i++) {
				const char *limit = buf + len + JSON_SCAN_PADDING;
				if (json_scanner_validate(ms, spans[i].ptr, spans[i].len,
							  (size_t)(limit - spans[i].ptr)))
					failed++;
			}
			validate_failed = failed;
		} else {
			pass(rs, ms, buf, len, &c, NULL, NULL);
		}
		double wall = now_s() - w0, cpu = cpu_s() - c0;
		fprintf(stderr, "  run %d: %.3f s wall, %.3f s cpu\n", r + 1, wall, cpu);
		if (r == 0 || wall < best_wall) {
			best_wall = wall;
			best_cpu = cpu;
		}
	}

	double mb = (double)len / 1e6, msg_mb = (double)c.msg_bytes / 1e6;
	const char *mode = validate_only ? "validate" : "scan";
	printf("capture:   %s (%.1f MB, loaded in %.2f s)\n", path, mb, load_s);
	printf("records:   %" PRIu64 " (%" PRIu64 " frames: %" PRIu64 " msg, %" PRIu64
	       " b64; %" PRIu64 " bad lines)\n",
	       c.records, c.frames, c.msg_frames, c.b64_frames, c.bad_records);
	if (validate_only) {
		printf("validate:  %" PRIu64 " valid, %" PRIu64 " invalid\n",
		       (uint64_t)nspans - validate_failed, validate_failed);
	} else {
		printf("scan:      %" PRIu64 " requests, %" PRIu64 " notifications, %" PRIu64
		       " results, %" PRIu64 " errors, %" PRIu64 " invalid\n",
		       c.by_kind[JSON_MSG_REQUEST], c.by_kind[JSON_MSG_NOTIFICATION],
		       c.by_kind[JSON_MSG_RESULT], c.by_kind[JSON_MSG_ERROR],
		       c.by_kind[JSON_MSG_INVALID]);
	}
	printf("best of %d (%s): %.3f s wall, %.3f s cpu, %.0f frames/s, %.1f MB/s (file), %.1f "
	       "MB/s (msg bytes)\n",
	       repeat, mode, best_wall, best_cpu, (double)c.msg_frames / best_wall, mb / best_wall,
	       msg_mb / best_wall);
	printf("bench-scan: mode=%s runs=%d frames=%" PRIu64 " bytes=%zu wall_s=%.4f cpu_s=%.4f "
	       "frames_per_s=%.0f mb_per_s=%.1f msg_mb_per_s=%.1f invalid=%" PRIu64 "\n",
	       mode, repeat, c.msg_frames, len, best_wall, best_cpu,
	       (double)c.msg_frames / best_wall, mb / best_wall, msg_mb / best_wall,
	       validate_only ? validate_failed : c.invalid);
	json_scanner_free(rs);
	json_scanner_free(ms);
	free(spans);
	free(buf);
	return 0;
}
