/* file_segment: the files of a rotating file sink. Names, a line reader for a segment whether it
 * is plain or zstd-compressed (told apart by the zstd magic number, not by the name), and the
 * compression of a closed segment.
 *
 * Names, for a sink writing to PATH:
 *     PATH.<seq>.jsonl.active     the segment being written (at most one per sink)
 *     PATH.<seq>.jsonl            a closed segment (compress=none)
 *     PATH.<seq>.jsonl.zst        a closed segment (compress=zstd)
 *     PATH.<seq>.jsonl.zst.tmp    a compression in progress (removed when found at open)
 * seq counts from 1, written with at least 6 digits (000001) so names sort in order. */
#ifndef MCPTRAIL_FILE_SEGMENT_H
#define MCPTRAIL_FILE_SEGMENT_H

#include "collector/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum segment_kind {
	SEGMENT_ACTIVE,
	SEGMENT_PLAIN,
	SEGMENT_ZSTD,
	SEGMENT_ZSTD_TMP,
};

/* Replaces out with the name of segment seq of base. false on out of memory. */
bool segment_name(struct strbuf *out, const char *base, uint64_t seq, enum segment_kind kind);

/* Parses the end of a file name, ".<seq>.jsonl" plus the kind's suffix, seq spelt as
 * segment_name() writes it (zero-padded to at least 6 digits, so "audit.2024.jsonl" is not a
 * segment). *base_len is the length of what precedes it. false when the name is not a
 * segment's. */
bool segment_name_parse(const char *name, uint64_t *seq, enum segment_kind *kind, size_t *base_len);

/* Longest line a reader accepts. */
#define SEGMENT_MAX_LINE (64u << 20)

struct segment_reader;

/* NULL with a message in err when the file cannot be opened. */
struct segment_reader *segment_reader_open(const char *path, char *err, size_t errlen);
/* Reads from memory (not copied: it must outlive the reader). */
struct segment_reader *segment_reader_memory(const void *data, size_t len);
/* Stops with an error past this many uncompressed bytes (0: no limit). */
void segment_reader_set_limit(struct segment_reader *r, uint64_t max_bytes);
/* 1: the next line in *line and *len, without its '\n' (valid until the next call); *terminated is
 * false for a last line that no '\n' ended. 0: the end. -1: an error (segment_reader_error()):
 * unreadable, corrupt or truncated zstd data, a line over SEGMENT_MAX_LINE. */
int segment_reader_next(struct segment_reader *r, const char **line, size_t *len, bool *terminated);
const char *segment_reader_error(const struct segment_reader *r);
/* The number of the last line returned, from 1. */
uint64_t segment_reader_line(const struct segment_reader *r);
/* Uncompressed bytes up to the end of the last line returned (its '\n' included). */
uint64_t segment_reader_offset(const struct segment_reader *r);
bool segment_reader_compressed(const struct segment_reader *r);
void segment_reader_free(struct segment_reader *r);

/* Compresses src into dst: writes dst.tmp (mode 0640), fsyncs it when sync, renames it to dst.
 * src is left in place. Returns 0, or -1 with a message in err. */
int segment_compress(const char *src, const char *dst, int level, bool sync, char *err,
		     size_t errlen);

/* fsync of the directory holding path, so a created or renamed name survives a crash. */
int segment_sync_dir(const char *path);

#endif
