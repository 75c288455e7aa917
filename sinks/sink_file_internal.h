/* sink_file_internal: what the file sink's two files share (sink_file.c: options, writing,
 * open and close; sink_file_resume.c: picking up what an earlier run left behind). Not an API. */
#ifndef MCPTRAIL_SINK_FILE_INTERNAL_H
#define MCPTRAIL_SINK_FILE_INTERNAL_H

#include "collector/util.h"
#include "sinks/file_chain.h"
#include "sinks/sink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fsync_policy { FSYNC_FLUSH, FSYNC_BATCH, FSYNC_INTERVAL, FSYNC_NEVER };
enum { COMPRESS_NONE, COMPRESS_ZSTD };
enum { MODE_APPEND, MODE_TRUNCATE };

struct file_options {
	size_t rotate_bytes;
	uint64_t rotate_seconds;
	int compress;
	uint64_t zstd_level;
	int fsync;
	uint64_t fsync_interval_ms;
	bool chain;
	char *key;
	int mode;     /* -1: by kind (see sink_file.c) */
	char *encode; /* accepted for the core's sake; with chain=1 it must be json */
};

struct file_state {
	struct file_options opt;
	uint32_t given; /* bit i: option i of the table was in the URI */
	char *path;
	bool to_stdout, regular, segmented;
	int fd;
	unsigned char *key;
	size_t keylen;
	/* the segment being written; one plain file is one segment per run */
	bool seg_open;
	uint64_t seq; /* the current segment's number, or the last closed one's */
	uint64_t seg_records, seg_bytes, file_bytes;
	int64_t seg_created_ns, seg_opened_mono_ns;
	char seg_first[CHAIN_HEX_LEN + 1], seg_prev_last[CHAIN_HEX_LEN + 1];
	char chain[CHAIN_HEX_LEN + 1]; /* the last record's chain value */
	bool unsynced;
	int64_t last_sync_mono_ns;
	bool broken;
	struct strbuf line_buf, manifest_buf, active_name, name_buf;
};

/* Reports on standard error what nobody else would see (recoveries, a failed compression). */
void file_sink_warn(struct sink *s, const char *what);
/* Turns a finished .active file into closed segment seq (renamed, or compressed); a failure
 * leaves it complete in place and is reported, not returned: the records are safe. */
void file_segment_finish(struct sink *s, const char *active, uint64_t seq);
/* A signed manifest line (with its newline) for m, closed now. false on out of memory. */
bool file_manifest_line(struct file_state *st, struct chain_manifest *m, struct strbuf *out);

/* One plain chained file appended to: its last segment number and chain value into the state;
 * records a crash left after the last manifest are closed with a recovered manifest, an
 * incomplete last line is dropped. The file is open (st->fd). Returns 0, or -1 with err. */
int file_resume_single(struct sink *s, char *err, size_t errlen);
/* Rotating: PATH's segments are deleted (mode=truncate), or a crash's leftovers completed and
 * the last segment number and chain value taken. Returns 0, or -1 with err. */
int file_resume_segments(struct sink *s, char *err, size_t errlen);

#endif
