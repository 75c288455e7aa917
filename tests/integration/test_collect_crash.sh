#!/usr/bin/env bash
# Delivery without loss: `mcptrail collect` tails a generated capture (over 100k events) into two
# sinks (a plain file and a zstd-compressed file), is killed with SIGKILL at 20 random points
# (random delays from a printed seed: MCPTRAIL_CRASH_SEED=N reproduces a run) and restarted each
# time with the same configuration and state directory; a last run goes to the end. Every
# event_id of a clean `mcptrail import` of the same capture is then in each sink at least once;
# the duplicates (at-least-once after a kill) are counted and printed. No event that import does
# not make appears.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
GEN=$(dirname "$MCPTRAIL")/tests/bench/mcptrail-bench-gen
[ -x "$GEN" ] || fail "no $GEN (built with the tests: cmake --build)"
command -v zstd >/dev/null || fail "zstd missing: run deploy/setup.sh test"
SEED=${MCPTRAIL_CRASH_SEED:-$((($(date +%s) ^ $$) % 100000))}
KILLS=${MCPTRAIL_CRASH_KILLS:-20}
echo "seed $SEED (MCPTRAIL_CRASH_SEED=$SEED reproduces the kill points), $KILLS kills"
RANDOM=$SEED

PID=
cleanup() {
	set +e
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# the capture: eight generated captures one after another (other seeds, other streams; short
# sessions, so that a restart does not replay far back); the same every run
for i in $(seq 1 8); do
	"$GEN" --frames 31000 --seed "$i" -o part.jsonl 2>/dev/null
	cat part.jsonl >>capture.jsonl
done
rm part.jsonl
SIZE=$(stat -c %s capture.jsonl)
"$MCPTRAIL" import --no-blast-radius -o ref.jsonl capture.jsonl 2>import.err || fail "import: $(cat import.err)"

# event ids (without ingest.*, which name the input) of FILE..., sorted, duplicates kept
ids() {
	$PY - "$@" <<'PY'
import re, sys
rx = re.compile(rb'"schema":"mcptrail/1","event_id":"([0-9a-f]+)","type":"([a-z_.]+)"')
out = sys.stdout.buffer
for path in sys.argv[1:]:
    for line in open(path, "rb"):
        for eid, typ in rx.findall(line):
            if not typ.startswith(b"ingest."):
                out.write(eid + b"\n")
PY
}
ids ref.jsonl | sort >ref.ids
NREF=$(wc -l <ref.ids)
[ "$NREF" -ge 100000 ] || fail "the capture makes only $NREF events (expected 100k or more)"
[ "$(uniq -d ref.ids | wc -l)" = 0 ] || fail "(test) import made duplicate ids"
echo "capture: $((SIZE / 1000000)) MB, $NREF events by import"

PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p out
cat >collect.json <<EOF
{"state_dir": "$WORK/state",
 "inputs": [{"type": "file", "path": "$WORK/capture.jsonl", "poll_ms": 50}],
 "sinks": [{"uri": "file:$WORK/out/plain.jsonl"},
           {"uri": "file:$WORK/out/zst?rotate_bytes=16M&compress=zstd"}],
 "metrics": {"listen": "127.0.0.1:$PORT"},
 "spool": {"fsync": true}}
EOF
"$MCPTRAIL" collect -c collect.json --check >/dev/null || fail "config refused"

start() {
	"$MCPTRAIL" collect -c collect.json 2>>collect.log &
	PID=$!
}

for k in $(seq 1 "$KILLS"); do
	start
	# mostly while reading and delivering, sometimes during the start-up (spool recovery)
	if ((RANDOM % 5 == 0)); then
		delay=0.$((RANDOM % 3))$((RANDOM % 10))
	else
		delay=$((RANDOM % 3 + 1)).$((RANDOM % 10))$((RANDOM % 10))
	fi
	sleep "$delay"
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
	off=$($PY -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["files"][sys.argv[2]]["delivered"]["offset"])
except Exception: print(0)' state/checkpoints.json "$WORK/capture.jsonl" 2>/dev/null)
	echo "kill $k after ${delay}s: checkpoint at byte $off of $SIZE"
done

# the last run: until the whole file is read and every spooled batch delivered to both sinks
start
done_yet() {
	local off pending
	off=$($PY -c 'import json,sys
print(json.load(open(sys.argv[1]))["files"][sys.argv[2]]["delivered"]["offset"])' \
		state/checkpoints.json "$WORK/capture.jsonl" 2>/dev/null) || return 1
	[ "$off" = "$SIZE" ] || return 1
	pending=$(curl -sf "http://127.0.0.1:$PORT/metrics" | sed -n 's/^mcptrail_spool_pending_batches //p')
	[ "$pending" = 0 ]
}
for ((i = 0; i < 1800; i++)); do
	done_yet && break
	kill -0 "$PID" 2>/dev/null || fail "collect died: $(tail -5 collect.log)"
	sleep 0.1
done
done_yet || fail "the last run did not finish within 180 s: $(tail -5 collect.log)"
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
[ "$rc" = 0 ] || fail "collect exited $rc after SIGTERM: $(tail -5 collect.log)"

ls out/zst.*.zst >/dev/null 2>&1 || fail "no zstd segments: $(ls out)"
for f in out/zst.*; do
	case $f in
	*.zst) zstd -dcq "$f" || fail "cannot decompress $f" ;;
	*) cat "$f" ;; # (a segment left open: read as it is)
	esac
done >zst.jsonl
for sink in plain zst; do
	f=out/plain.jsonl
	[ $sink = zst ] && f=zst.jsonl
	ids "$f" | sort >$sink.ids
	missing=$(comm -23 ref.ids <(uniq $sink.ids) | wc -l)
	extra=$(comm -13 ref.ids <(uniq $sink.ids) | wc -l)
	dups=$(($(wc -l <$sink.ids) - $(uniq $sink.ids | wc -l)))
	echo "sink $sink: $(wc -l <$sink.ids) events, $NREF distinct ids expected, missing $missing," \
		"not made by import $extra, delivered more than once $dups"
	[ "$missing" = 0 ] || fail "sink $sink: $missing events lost, e.g. $(comm -23 ref.ids <(uniq $sink.ids) | head -3 | tr '\n' ' ') (seed $SEED)"
	[ "$extra" = 0 ] || fail "sink $sink: $extra events import does not make (seed $SEED)"
done
head -n 3000 out/plain.jsonl >sample.jsonl # (the whole trail takes minutes to validate)
validate_events sample.jsonl
echo "PASS (seed $SEED)"
