#!/usr/bin/env bash
# `mcptrail timeline` over about a million events: wall time, CPU and peak RSS per selector.
# Not part of ctest.
#
# usage: tests/bench/timeline_bench.sh [BUILD_DIR] [EVENTS]
#   BUILD_DIR  an already built tree (default: build)
#   EVENTS     normalized events to reuse; default: mcptrail-bench-gen (FRAMES frames, default
#              2450000, which import turns into ~1M events) then `mcptrail import`, in a temp dir
# Environment: FRAMES, SEED (default 1), KEEP=1 keeps the temp dir.
set -euo pipefail
BUILD=${1:-build}
EVENTS=${2:-}
FRAMES=${FRAMES:-2450000}
SEED=${SEED:-1}
MCPTRAIL=$BUILD/mcptrail
GEN=$BUILD/tests/bench/mcptrail-bench-gen
[[ -x $MCPTRAIL ]] || {
	echo "bench: no $MCPTRAIL (build first)" >&2
	exit 1
}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcptrail-tlbench.XXXXXX")
trap '[[ ${KEEP:-0} == 1 ]] && echo "bench: kept $TMP" >&2 || rm -rf "$TMP"' EXIT
export MCPTRAIL_STATE_DIR=$TMP

if [[ -z $EVENTS ]]; then
	echo "generating $FRAMES frames (seed $SEED) and importing them ..."
	"$GEN" --frames "$FRAMES" --seed "$SEED" -o "$TMP/capture.jsonl" 2>/dev/null
	"$MCPTRAIL" import -o "$TMP/events.jsonl" "$TMP/capture.jsonl" 2>&1 | sed 's/^/  /'
	rm -f "$TMP/capture.jsonl"
	EVENTS=$TMP/events.jsonl
fi
LINES=$(wc -l <"$EVENTS")
BYTES=$(stat -c %s "$EVENTS")
cat "$EVENTS" >/dev/null # page cache
# a task and a session that occur in the events, and the busiest subject
read -r TASK SESSION SUBJECT < <(head -200000 "$EVENTS" | python3 -c '
import json, sys, collections
task = session = None
subjects = collections.Counter()
for line in sys.stdin:
    e = json.loads(line)
    if not task and e["type"] == "mcp.task":
        task = e["task"]["id"]
    if not session and e.get("session"):
        session = e["session"]["id"]
    s = (e.get("identity") or {}).get("subject")
    if s:
        subjects[s] += 1
print(task, session, subjects.most_common(1)[0][0])')

echo "events: $EVENTS: $LINES lines, $(awk -v b="$BYTES" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
printf '%-44s %8s %8s %10s %9s\n' "command" "wall s" "cpu s" "peak RSS" "entries"
run() {
	local name=$1
	shift
	python3 - "$TMP/out" "$@" <<'EOF' >"$TMP/m"
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
with open(out, "wb") as o:
    rc = subprocess.call(cmd, stdout=o, stderr=subprocess.DEVNULL)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.2f} {ru.ru_utime + ru.ru_stime:.2f} {ru.ru_maxrss / 1024:.1f}MiB {rc}")
EOF
	read -r wall cpu rss rc <"$TMP/m"
	local n
	n=$(grep -ao '[0-9]* entries for' "$TMP/out" | tail -1 | cut -d' ' -f1 || true)
	[[ -n $n ]] || n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timeline"]["counts"]["entries"])' "$TMP/out" 2>/dev/null || echo "?")
	printf '%-44s %8s %8s %10s %9s%s\n' "$name" "$wall" "$cpu" "$rss" "$n" "$([[ $rc == 0 ]] || echo " (exit $rc)")"
}
run "--identity $SUBJECT (text)" "$MCPTRAIL" timeline --identity "$SUBJECT" "$EVENTS"
run "--identity $SUBJECT --format json" "$MCPTRAIL" timeline --identity "$SUBJECT" --format json "$EVENTS"
run "--task ${TASK:0:12}…" "$MCPTRAIL" timeline --task "$TASK" "$EVENTS"
run "--session ${SESSION:0:12}…" "$MCPTRAIL" timeline --session "$SESSION" "$EVENTS"
run "--identity nobody (nothing matches)" "$MCPTRAIL" timeline --identity nobody "$EVENTS"
run "--identity stdio (every line parsed)" "$MCPTRAIL" timeline --identity stdio "$EVENTS"
