/* verify: checks the output of the file sink written with chain=1 (format in sinks/file_chain.h):
 * every record's chain value, every segment's manifest (its counts, chain values, segment number
 * and, given the key, its HMAC), and the links between segments. It stops at the first bad place
 * and says where (file, line, record), what was expected and found, and the likely cause:
 * an altered, removed, inserted or reordered record, a missing segment, a bad manifest.
 *
 * Files may be given in any order: they are sorted by the segment number in their name
 * (PATH.<seq>.jsonl[.zst|.active]), or else by their first manifest's segment number. Plain and
 * zstd files are told apart by content. A last file named .active may lack its manifest (the
 * segment being written); any other segment must end with one. */
#ifndef MCPTRAIL_VERIFY_H
#define MCPTRAIL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct verify_options {
	const unsigned char *key; /* NULL: manifests are checked but not authenticated */
	size_t keylen;
	bool partial;	    /* the trail may start after segment 1 (retention removed older ones) */
	uint64_t max_bytes; /* per file, uncompressed; 0: no limit */
};

struct verify_result {
	bool ok;
	uint64_t files, segments, records;
	uint64_t first_segment, last_segment;
	uint64_t recovered;    /* segments closed by crash recovery (their manifests say so) */
	uint64_t open_records; /* records of a last .active segment not signed yet */
	bool authenticated;
	char key_id[17]; /* of the key given */
	/* the first bad place, when !ok */
	char file[512];
	uint64_t line;	  /* 0: the file as a whole */
	uint64_t record;  /* index in the trail, from 1; 0: not at a record */
	uint64_t segment; /* 0: unknown */
	char problem[256];
	char expected[160], found[160];
	char cause[512];
};

/* Verifies files in trail order (sorted as above). Returns 0 when the trail is intact, 1 when it
 * is not (res says where), 2 when a file cannot be read at all (res->problem says why). */
int verify_files(const char *const *paths, size_t n, const struct verify_options *opt,
		 struct verify_result *res);

/* Verifies one segment file's bytes (plain or zstd) as if it were the whole trail; name is used
 * in messages and for the segment number. Same return values. For tests and fuzzing. */
int verify_memory(const void *data, size_t len, const char *name, const struct verify_options *opt,
		  struct verify_result *res);

/* Prints the result as `mcptrail verify` does. */
void verify_print(const struct verify_result *res, FILE *out);

/* `mcptrail verify [--key PATH] [--partial] FILE...`, argv after "verify". Exit status: 0 intact,
 * 1 broken, 2 usage or unreadable input. */
int verify_main(int argc, char **argv);

#endif
