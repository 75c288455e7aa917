#!/usr/bin/env bash
# A slow record destination never slows or alters the MCP traffic: the tap records from a bounded
# buffer, and what does not fit is counted and written as gap records, which import turns into
# capture.gap events.
source "$(dirname "$0")/lib.sh" "$@"
PEER="$PY $SRC/tests/tools/stdio_peer.py"
cd "$WORK"
mkfifo "$WORK/slow.fifo"
# the destination: reads 4 KiB every 20 ms (about 200 KiB/s)
$PY -c '
import sys, time
src = open(sys.argv[1], "rb", buffering=0)
dst = open(sys.argv[2], "wb")
while True:
    b = src.read(4096)
    if not b:
        break
    dst.write(b)
    time.sleep(0.02)
' "$WORK/slow.fifo" "$WORK/rec.jsonl" &
reader=$!

start=$(date +%s%N)
timeout 60 "$MCPTRAIL" tap --buffer 256K --out "$WORK/slow.fifo" -- $PEER flood 20000 1000 \
	</dev/null >"$WORK/traffic.out" || fail "tap failed"
ms=$((($(date +%s%N) - start) / 1000000))
lines=$(wc -l <"$WORK/traffic.out")
[ "$lines" = 20000 ] || fail "client received $lines of 20000 frames"
echo "20 MB of traffic passed in ${ms} ms while the destination takes about 200 KiB/s"
wait $reader

$PY - "$WORK/rec.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
frames = [r for r in recs if r["kind"] == "frame"]
gaps = [r for r in recs if r["kind"] == "gap"]
end = recs[-1]
check(end["kind"] == "end", "end record written after the backlog drained")
check(len(gaps) > 0 and end["dropped_frames"] > 0, f"no overflow seen: {end}")
check(sum(g["frames"] for g in gaps) == end["dropped_frames"], "gap records account for every dropped frame")
check(len(frames) + end["dropped_frames"] == 20000, f"{len(frames)} recorded + {end['dropped_frames']} dropped != 20000")
check(all(f["len"] > 1000 for f in frames), "recorded frames are whole")
print(f"recorded {len(frames)}, dropped {end['dropped_frames']} in {len(gaps)} gaps")
PY
"$MCPTRAIL" import -o "$WORK/events.jsonl" "$WORK/rec.jsonl" 2>/dev/null || fail "import failed"
validate_events "$WORK/events.jsonl" --require-types capture.gap
grep -q '"type":"capture.gap"' "$WORK/events.jsonl" || fail "no capture.gap event"
echo "PASS"
