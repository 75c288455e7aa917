#!/usr/bin/env bash
# The spool survives kill -9: a driver appends records (fsync on) and two consumers in it read
# and ack them in batches, while this script kills it at random points 20 times and restarts
# it. At the end a drain reads what is left. Every record whose append returned 0 is delivered
# to both consumers at least once, with the id and payload it was stored with; nothing acked is
# delivered again; ids only grow across restarts; a kill never leaves a corrupt segment.
#
# The driver is compiled here from collector/spool.c alone (the spool needs only libc and
# pthreads), so the test does not depend on the core library's link line.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
CC=${CC:-cc}
command -v "$CC" >/dev/null || fail "no C compiler ($CC) to build the driver"

cat >driver.c <<'EOF'
#include "collector/spool.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One line per fact, written with a single write(2) so a kill cannot interleave them. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(1, line, (size_t)n) != n)
		exit(3);
}

static void report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "REPORT %s\n", msg);
}

/* Reads up to max records for sink and prints them; acks the last one when ack (else they stay
 * read but unacknowledged until a later ack, or come again after a kill). */
static void consume(struct spool *sp, unsigned sink, unsigned max, int ack)
{
	uint64_t id, last = 0;
	const void *rec;
	size_t len;
	for (unsigned k = 0; (!max || k < max) && spool_read(sp, sink, &id, &rec, &len) == 0; k++) {
		say("D %u %" PRIu64 " %.*s\n", sink, id, (int)len, (const char *)rec);
		last = id;
	}
	if (last && ack && spool_ack(sp, sink, last) == 0)
		say("A %u %" PRIu64 "\n", sink, last);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct spool_config cfg = {.dir = argv[2], .segment_bytes = 4096, .nsinks = 2,
				   .fsync = true, .report = report};
	char err[512];
	struct spool *sp = spool_open(&cfg, err, sizeof(err));
	if (!sp) {
		fprintf(stderr, "driver: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "drain") == 0) {
		consume(sp, 0, 0, 1);
		consume(sp, 1, 0, 1);
		struct spool_stats st;
		spool_stats(sp, &st);
		say("STATS %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", st.records, st.acked_upto,
		    st.next_id);
		spool_close(sp);
		return 0;
	}
	unsigned run = (unsigned)atoi(argv[3]);
	srand(run);
	for (unsigned i = 0;; i++) {
		char payload[64];
		int len = snprintf(payload, sizeof(payload), "run%u-rec%u-%.*s", run, i,
				   rand() % 32, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		uint64_t id;
		int rc = spool_append(sp, payload, (size_t)len, &id);
		if (rc == 0)
			say("S %" PRIu64 " %s\n", id, payload);
		else if (rc != SPOOL_FULL)
			fprintf(stderr, "driver: append returned %d\n", rc);
		if (rand() % 8 == 0)
			consume(sp, 0, 1 + (unsigned)rand() % 16, rand() % 2);
		if (rand() % 20 == 0)
			consume(sp, 1, 1 + (unsigned)rand() % 40, rand() % 3 == 0);
	}
}
EOF
$CC -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -I"$SRC" -o driver driver.c \
	"$SRC/collector/spool.c" -lpthread || fail "the driver does not build"

SPOOL=$WORK/spool
: >log
: >stderr
for i in $(seq 1 20); do
	./driver run "$SPOOL" "$i" >>log 2>>stderr &
	pid=$!
	# mostly mid-stream, sometimes during recovery right after the start
	if ((RANDOM % 5 == 0)); then
		sleep "0.0$((RANDOM % 10))"
	else
		sleep "0.$((RANDOM % 4 + 1))$((RANDOM % 10))"
	fi
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
./driver drain "$SPOOL" >>log 2>>stderr || fail "drain failed: $(tail -3 stderr)"
# a second drain finds nothing left
./driver drain "$SPOOL" >drain2 2>>stderr || fail "second drain failed"
grep -q '^D ' drain2 && fail "records delivered again after everything was acked"

if grep -q 'quarantine' stderr; then
	fail "a kill -9 made a segment look corrupt: $(grep quarantine stderr | head -3)"
fi
if grep -q '^driver:' stderr; then
	fail "driver errors: $(grep '^driver:' stderr | head -3)"
fi

$PY - log <<'PY'
import sys
stored = {}          # id -> payload
delivered = [{}, {}]  # per sink: id -> payload (first seen)
dups = [0, 0]
acked = [0, 0]
last_stored = 0
bad = []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="replace"), 1):
    f = line.rstrip("\n").split(" ")
    if f[0] == "S" and len(f) == 3:
        i = int(f[1])
        if i <= last_stored:
            bad.append(f"line {n}: stored id {i} after {last_stored}: ids must only grow")
        last_stored = i
        stored[i] = f[2]
    elif f[0] == "D" and len(f) == 4:
        s, i, p = int(f[1]), int(f[2]), f[3]
        if i <= acked[s]:
            bad.append(f"line {n}: sink {s} got id {i} again after acking {acked[s]}")
        if i in delivered[s]:
            dups[s] += 1
            if delivered[s][i] != p:
                bad.append(f"line {n}: id {i} came back with another payload")
        else:
            delivered[s][i] = p
    elif f[0] == "A" and len(f) == 3:
        acked[int(f[1])] = max(acked[int(f[1])], int(f[2]))
for s in (0, 1):
    for i, p in stored.items():
        if i not in delivered[s]:
            bad.append(f"sink {s}: stored id {i} never delivered")
        elif delivered[s][i] != p:
            bad.append(f"sink {s}: id {i} delivered as {delivered[s][i]!r}, stored as {p!r}")
if len(stored) < 200:
    bad.append(f"only {len(stored)} records stored: the driver barely ran")
if bad:
    print("\n".join(bad[:20]), file=sys.stderr)
    sys.exit(1)
print(f"spool crash: {len(stored)} records stored over 20 kills, all delivered to both sinks "
      f"(redelivered after restarts: {dups[0]} and {dups[1]})")
PY
echo "torn tails repaired: $(grep -c 'torn tail' stderr || true)"
echo "ok"
