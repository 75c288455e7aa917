/* fuzz_import: the whole `mcptrail import` pipeline (tap records → scanner → correlator → events)
 * on arbitrary bytes, with no sinks.
 *
 * Even-sized inputs go through import_run_buffer (memory); odd-sized ones are written to a memfd
 * and imported with import_run from /proc/self/fd/N (the file path). The input size also picks a
 * few configurations: a short --max-line (oversized-line path) and tiny correlator bounds
 * (eviction, event suppression, timeouts). Every event is checked to be an object with a type.
 * Checks: all input bytes were read; line, record and frame counts are consistent; no event is
 * written without having been observed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* gmtime_r, memfd_create (the build defines it too) */
#endif
#include "collector/importer.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_import: invariant violated: %s\n", what);
	abort();
}

static void observe(void *ctx, json_t *event)
{
	uint64_t *n = ctx;
	(*n)++;
	if (!json_is_object(event))
		fail("event is a JSON object");
	if (!json_is_string(json_object_get(event, "type")))
		fail("event has a string type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_options opt;
	import_options_defaults(&opt);
	if (size % 3 == 1)
		opt.max_line = 1024; /* the smallest the command line accepts */
	if (size % 5 == 2) {
		opt.correlator.max_pending = 2;
		opt.correlator.invalid_events_per_stream = 1;
		opt.correlator.request_timeout_ns = 1000000; /* 1 ms */
		opt.correlator.task_timeout_ns = 2000000;    /* 2 ms */
		opt.bad_line_events_per_file = 1;
	}
	uint64_t observed = 0;
	opt.observer = observe;
	opt.observer_ctx = &observed;

	struct import_stats st;
	if (size % 2 == 0) {
		import_run_buffer(&opt, "fuzz-input", (const char *)data, size, &st);
	} else {
		int fd = memfd_create("fuzz-import", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		for (size_t off = 0; off < size;) {
			ssize_t w = write(fd, data + off, size - off);
			if (w <= 0)
				abort();
			off += (size_t)w;
		}
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		char *inputs[1] = {path};
		import_run(&opt, inputs, 1, &st);
		close(fd);
	}

	uint64_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	if (st.bytes != size)
		fail("every input byte is read");
	uint64_t input_lines = newlines + (size > 0 && data[size - 1] != '\n');
	if (st.lines > input_lines || st.bad_lines > input_lines)
		fail("lines and bad lines <= lines in the input");
	if (st.records > st.lines || st.frames > st.records)
		fail("frames <= records <= lines");
	if (st.bad_lines + st.records > input_lines)
		fail("bad lines + records <= lines in the input");
	/* every event written was first shown to the observer (an event that cannot be encoded is
	 * observed but not written) */
	if (observed < st.events)
		fail("events written <= events observed");
	return 0;
}
