#!/usr/bin/env bash
# The stdio tap is invisible to the traffic: bytes pass unchanged both ways (an 8 MiB frame, frames
# split across many reads, CRLF, binary, stderr), the exit status and signals are the server's,
# and it exits promptly when either side ends. Every frame is recorded with its flags.
source "$(dirname "$0")/lib.sh" "$@"
PEER="$PY $SRC/tests/tools/stdio_peer.py"
cd "$WORK"

# --- byte-exact pass-through, both directions ---
$PY - "$WORK/input.bin" <<'PY'
import json, random, sys
r = random.Random(11)
with open(sys.argv[1], "wb") as f:
    f.write(b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n')
    big = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "upload", "arguments": {"blob": "B" * (8 << 20)}}}).encode()
    f.write(big + b"\n")                                   # an 8 MiB frame
    f.write(b'{"jsonrpc":"2.0","id":3,"method":"ping"}\r\n')  # CRLF
    f.write(b'{"jsonrpc":"2.0","id":"s\\u00e9","method":"ping"}\r\n')
    f.write(bytes(r.randrange(256) for _ in range(5000)).replace(b"\n", b"") + b"\n")  # binary
    f.write(b"\n")                                          # an empty line
    for i in range(200):
        f.write(b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":%d,"progress":1}}\n' % i)
    f.write(b'{"jsonrpc":"2.0","id":4,"method":"ping"}')   # no newline at the end
PY
$PEER feed "$WORK/input.bin" | "$MCPTRAIL" tap --out "$WORK/rec.jsonl" -- $PEER echo 5 \
	>"$WORK/output.bin" 2>"$WORK/stderr.bin" && rc=0 || rc=$?
[ "$rc" = 5 ] || fail "tap exit status $rc, expected the server's 5"
cmp "$WORK/input.bin" "$WORK/output.bin" || fail "pass-through altered the bytes"
printf 'stderr-marker: \xff raw bytes on stderr\r\n' | cmp - "$WORK/stderr.bin" || fail "stderr altered"

$PY - "$WORK/rec.jsonl" "$WORK/input.bin" <<'PY'
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
data = open(sys.argv[2], "rb").read()
lines = data.split(b"\n")
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
frames = [r for r in recs if r["kind"] == "frame"]
for d in ("c2s", "s2c"):
    got = [r for r in frames if r["dir"] == d]
    check(len(got) == len(lines), f"{d}: {len(got)} frames recorded for {len(lines)} lines")
    for rec, line in zip(got, lines):
        crlf = line.endswith(b"\r")
        body = line[:-1] if crlf else line
        check(rec.get("crlf", False) == crlf, f"crlf flag on {body[:40]!r}")
        check(rec["len"] == len(body), f"len {rec['len']} != {len(body)}")
        if "msg" in rec:
            raw = json.dumps(rec["msg"], separators=(",", ":"), ensure_ascii=False).encode()
            check(json.loads(body) == rec["msg"], "msg content")
        else:
            check(base64.b64decode(rec["b64"]) == body, f"b64 exact bytes for {body[:40]!r}")
    check(got[-1].get("partial") is True, "last frame without newline is partial")
big = [r for r in frames if r["len"] > 8 << 20]
check(len(big) == 2 and all("msg" in r and not r.get("truncated") for r in big), "8 MiB frame recorded whole")
# the recorded msg is the exact bytes: compare the raw record line
check(b'"msg":' + lines[1] + b"}" in open(sys.argv[1], "rb").read(), "verbatim 8 MiB frame inside the record")
end = recs[-1]
check(end["kind"] == "end" and end["exit_status"] == 5, f"end record {end}")
print("records ok:", len(frames), "frames")
PY

# --- a frame longer than --max-frame is cut in the record, never in the traffic ---
head -c 300000 /dev/zero | tr '\0' 'x' >"$WORK/long.bin"
echo >>"$WORK/long.bin"
"$MCPTRAIL" tap --max-frame 1000 --out "$WORK/rec-cut.jsonl" -- $PEER echo <"$WORK/long.bin" >"$WORK/long.out" 2>/dev/null
cmp "$WORK/long.bin" "$WORK/long.out" || fail "long frame altered"
grep -q '"truncated":true' "$WORK/rec-cut.jsonl" || fail "cut frame not flagged truncated"
grep -q '"len":300000' "$WORK/rec-cut.jsonl" || fail "cut frame lost its real length"

# --- exits promptly when the client closes stdin and the server then exits ---
start=$(date +%s%N)
echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' | timeout 10 "$MCPTRAIL" tap --out "$WORK/r2.jsonl" -- cat >/dev/null ||
	fail "tap did not end after stdin closed"
ms=$((($(date +%s%N) - start) / 1000000))
[ $ms -lt 5000 ] || fail "tap took ${ms} ms to exit after stdin closed"

# --- exits promptly when the server exits while the client keeps stdin open ---
rc=0
sleep 30 | timeout 10 "$MCPTRAIL" tap --out "$WORK/r3.jsonl" -- sh -c 'exit 3' || rc=$?
[ "$rc" = 3 ] || fail "tap returned $rc when the server exited with 3 (124 means it hung)"

# --- a server killed by a signal: the tap dies the same way ---
rc=0
timeout 10 "$MCPTRAIL" tap --out "$WORK/r4.jsonl" -- sh -c 'kill -9 $$' </dev/null || rc=$?
[ "$rc" = 137 ] || fail "tap returned $rc for a server killed by SIGKILL, expected 137"
grep -q '"signal":9' "$WORK/r4.jsonl" || fail "end record lacks the signal"

# --- SIGTERM to the tap reaches the server; the tap returns its status ---
mkfifo "$WORK/stdin.fifo"
sleep 30 >"$WORK/stdin.fifo" &
holder=$!
"$MCPTRAIL" tap --out "$WORK/r5.jsonl" -- $PEER sigwait <"$WORK/stdin.fifo" 2>"$WORK/sig.err" &
tap=$!
for _ in $(seq 100); do grep -q ready "$WORK/sig.err" 2>/dev/null && break; sleep 0.05; done
kill -TERM $tap
rc=0
wait $tap || rc=$?
kill $holder 2>/dev/null || true
[ "$rc" = 42 ] || fail "tap returned $rc after SIGTERM, expected the server's 42"
grep -q "got SIGTERM" "$WORK/sig.err" || fail "SIGTERM was not forwarded to the server"

# --- a server that cannot be started ---
rc=0
"$MCPTRAIL" tap --out "$WORK/r6.jsonl" -- /nonexistent/server </dev/null 2>"$WORK/nx.err" || rc=$?
[ "$rc" = 127 ] || fail "missing server gave $rc, expected 127"
grep -q "cannot run" "$WORK/nx.err" || fail "no clear error for a missing server"
echo "PASS"
