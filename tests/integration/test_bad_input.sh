#!/usr/bin/env bash
# Hostile input never crashes, hangs or loses neighbours: bad frames in the traffic (through the
# tap) and bad lines in the capture (at import) each give a count and an in-band event, and the
# valid messages around them are still correlated.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"

# --- bad frames on the wire: a server that interleaves garbage with its answers ---
$PY - "$MCPTRAIL" "$SRC/tests/tools/stdio_peer.py" "$WORK/rec.jsonl" <<'PY'
import json, subprocess, sys
mcptrail, peer, rec = sys.argv[1:4]
p = subprocess.Popen([mcptrail, "tap", "--out", rec, "--", "/usr/bin/python3", peer, "hostile"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def send(obj):
    p.stdin.write(json.dumps(obj).encode() + b"\n"); p.stdin.flush()
def answer(want):
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("FAIL: server output ended early")
        try:
            msg = json.loads(line)
        except Exception:
            continue   # the client skips garbage, as an SDK would
        if isinstance(msg, dict) and msg.get("id") == want:
            return msg
send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25",
      "capabilities": {}, "clientInfo": {"name": "hostile-test", "version": "1"}}})
answer(0)
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
for i in range(1, 11):
    send({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "t%d" % i, "arguments": {"i": i}}})
    answer(i)
p.stdin.close()
rest = p.stdout.read()
rc = p.wait(timeout=60)
if rc != 0:
    raise SystemExit(f"FAIL: tap exit {rc}")
PY

"$MCPTRAIL" import -o "$WORK/events.jsonl" "$WORK/rec.jsonl" 2>"$WORK/import.err" || fail "import failed"
validate_events "$WORK/events.jsonl" --require-types mcp.invalid_message,mcp.tool_call
$PY - "$WORK/events.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
check(sorted(c["call"]["tool"] for c in calls) == sorted("t%d" % i for i in range(1, 11)), "all ten calls")
check(all(c["call"]["outcome"] == "ok" for c in calls), "valid neighbours still correlated")
inv = [e["invalid"] for e in ev if e["type"] == "mcp.invalid_message"]
reasons = [i["reason"] for i in inv]
print("invalid reasons:", reasons)
check(len(inv) == 8, f"{len(inv)} invalid events, expected 8")
for want in ("truncated JSON", "invalid UTF-8", "NUL byte in frame", "nesting too deep",
             "frame longer than the tap's limit (recorded truncated)", "stream ended inside a frame"):
    check(want in reasons, f"missing reason {want!r}")
big = [i for i in inv if i["truncated"] and i["bytes"] > 64 << 20]
check(len(big) == 1, "the 64 MiB frame is reported with its real size")
end = [e for e in ev if e["type"] == "mcp.session" and e["session"]["state"] == "end"][0]
check(end["session"]["counters"]["invalid_frames"] == 8, "session counts invalid frames")
PY

# --- bad lines in the capture itself ---
$PY - "$WORK/rec.jsonl" "$WORK/bad-rec.jsonl" "$WORK/binary.bin" <<'PY'
import random, sys
good = open(sys.argv[1], "rb").read().split(b"\n")
bad = [
    b'{"mcptrail_tap":1,"kind":"frame","stream":"x","seq":1,"ts":1,"dir":"c2s","len":3,"msg":{"a"',  # truncated
    b'this is not json at all',
    b'{"mcptrail_tap":1,"kind":"frame","stream":"\xc3\x28","seq":1}',                              # bad UTF-8
    b'{"mcptrail_tap":1,"kind":"frame","stream":"x","seq":1,"ts":1,"dir":"c2s","len":1,"msg":' + b"[" * 100000,
    b'{"mcptrail_tap":1,"kind":"gap"\x00,"stream":"x"}',                                            # NUL
    b'{"mcptrail_tap":1,"kind":"frame","stream":"x","data":"' + b"Z" * (64 << 20) + b'"}',          # 64 MiB line
    b'{"mcptrail_tap":2,"kind":"frame"}',
]
out = []
for i, line in enumerate(good):
    out.append(line)
    if bad and i % 7 == 3:
        out.append(bad.pop(0))
out += bad
data = b"\n".join(out)
# and the file ends in the middle of a record
data += b'\n{"mcptrail_tap":1,"kind":"frame","stream":"cut'
open(sys.argv[2], "wb").write(data)
r = random.Random(5)
open(sys.argv[3], "wb").write(bytes(r.randrange(256) for _ in range(200000)))
PY
rc=0
"$MCPTRAIL" import -o "$WORK/events-bad.jsonl" "$WORK/bad-rec.jsonl" "$WORK/binary.bin" 2>"$WORK/import-bad.err" || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/import-bad.err" >&2; fail "import exit $rc on partly bad input"; }
validate_events "$WORK/events-bad.jsonl" --require-types ingest.error,ingest.summary,mcp.tool_call
$PY - "$WORK/events.jsonl" "$WORK/events-bad.jsonl" <<'PY'
import json, sys
clean = [json.loads(l) for l in open(sys.argv[1])]
dirty = [json.loads(l) for l in open(sys.argv[2])]
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
key = lambda e: e["event_id"]
core = lambda evs: sorted(key(e) for e in evs if e["type"].startswith("mcp."))
check(core(clean) == core(dirty), "bad record lines changed the events of the good ones")
errors = [e["error"] for e in dirty if e["type"] == "ingest.error"]
summ = {e["ingest"]["source"].rsplit("/", 1)[-1]: e["ingest"] for e in dirty if e["type"] == "ingest.summary"}
rec = [e for e in errors if e["source"].endswith("bad-rec.jsonl")]
print("record errors:", [(e["line"], e["reason"]) for e in rec])
check(len(rec) == 8, f"{len(rec)} errors for the 8 bad record lines")
check(any(e["reason"] == "line longer than --max-line" and e["bytes"] > 64 << 20 for e in rec), "oversized line")
check(summ["bad-rec.jsonl"]["bad_lines"] == 8, f"summary {summ['bad-rec.jsonl']}")
binary = summ["binary.bin"]
check(binary["bad_lines"] > 0 and binary["records"] == 0 and binary["format"] == "unknown", f"binary {binary}")
check(binary["bad_lines"] == binary["bad_line_events_suppressed"] + len([e for e in errors if e["source"].endswith("binary.bin")]),
      "binary: every bad line is either an event or counted as suppressed")
PY

# --- nothing readable at all: a clear non-zero exit ---
rc=0
"$MCPTRAIL" import -o "$WORK/none.jsonl" "$WORK/binary.bin" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "import of only garbage exited $rc, expected 1"
rc=0
"$MCPTRAIL" import -o "$WORK/none.jsonl" "$WORK/does-not-exist" 2>"$WORK/nx.err" || rc=$?
[ "$rc" = 1 ] && grep -q "No such file" "$WORK/nx.err" || fail "missing input: exit $rc"
echo "PASS"
