#!/usr/bin/env bash
# mcptrail collect's capture_dir input: whole captures (HAR 1.2, Envoy HTTP tap traces) dropped in
# a directory are imported once each, with the events `mcptrail import` makes of the same files:
# * configuration errors name the JSON path (a path that is not a directory, an unknown format);
# * the fixtures of tests/data/captures give the import's events (schema-valid);
# * files named .*, *.tmp, *.part are never read; a file still being written (modified less
#   than settle_ms ago) waits until it is complete; a file renamed into place is read;
# * a restart (SIGTERM, then kill -9) imports nothing again; a file replaced under the same
#   name is new;
# * kill -9 in the middle of a large HAR, restart: every event delivered, few twice (the records
#   whose events were spooled before the kill are read again but not spooled again).
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK/state # the same fingerprint key for import and collect
mkdir -p "$MCPTRAIL_STATE_DIR" in
CAPS=$SRC/tests/data/captures

PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_until() { # SECONDS CMD...
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

ids() { # FILE: event ids other than ingest.* (which name the input), sorted
	$PY - "$1" <<'PY' | sort
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if not e["type"].startswith("ingest."):
        print(e["event_id"])
PY
}
count_ids() { [ -f "$1" ] && [ "$(ids "$1" | wc -l)" -ge "$2" ]; }
summaries() { [ -f "$1" ] && [ "$(grep -c '"ingest.summary"' "$1")" -ge "$2" ]; }

stop_collect() {
	local pid=$1 rc=0
	kill -TERM "$pid"
	wait_until 10 bash -c "! kill -0 $pid 2>/dev/null" || fail "collect did not stop on SIGTERM"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "collect exited $rc after SIGTERM"
}

# ---- configuration
cat >bad1.json <<EOF
{"state_dir": "$WORK/s", "inputs": [{"type": "capture_dir", "path": "$WORK/nowhere"}], "sinks": [{"uri": "file:$WORK/e"}]}
EOF
cat >bad2.json <<EOF
{"state_dir": "$WORK/s", "inputs": [{"type": "capture_dir", "path": "$WORK/in", "format": "pcap"}], "sinks": [{"uri": "file:$WORK/e"}]}
EOF
cat >bad3.json <<EOF
{"state_dir": "$WORK/s", "inputs": [{"type": "capture_dir", "path": "$WORK/in"}, {"type": "capture_dir", "path": "$WORK/in"}], "sinks": [{"uri": "file:$WORK/e"}]}
EOF
for n in 1 2 3; do
	rc=0
	"$MCPTRAIL" collect -c bad$n.json --check >check.out 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "bad$n.json: exit $rc"
	case $n in
	1) grep -qF "bad1.json: inputs[0].path: $WORK/nowhere is not a directory" check.out ;;
	2) grep -qF 'bad2.json: inputs[0].format: expected one of "auto", "har", "envoy"' check.out ;;
	3) grep -qF 'bad3.json: inputs[1]: the same input as inputs[0]' check.out ;;
	esac || fail "bad$n.json: $(cat check.out)"
done

# ---- the fixtures, and files that are not complete yet
cat >c.json <<EOF
{"state_dir": "$WORK/state",
 "inputs": [{"type": "capture_dir", "path": "$WORK/in", "settle_ms": 1500, "poll_ms": 100}],
 "sinks": [{"uri": "file:$WORK/events.jsonl"}]}
EOF
"$MCPTRAIL" collect -c c.json --check >/dev/null || fail "good config refused"
cp "$CAPS"/* in/
# variants of the HAR (another client name and session id: other events)
variant() { sed -e "s/\"inspector\"/\"inspector-$1\"/" -e "s/sess-42/sess-$1/g" "$CAPS/mcp-session.har"; }
variant late >late.har
variant renamed >renamed.har
variant hidden >in/.hidden.har
variant part >in/x.har.part
touch -d '1 minute ago' in/*
"$MCPTRAIL" import --no-blast-radius -o ref.jsonl "$CAPS"/* 2>/dev/null
"$MCPTRAIL" import --no-blast-radius -o late.ref late.har 2>/dev/null
"$MCPTRAIL" import --no-blast-radius -o renamed.ref renamed.har 2>/dev/null
NREF=$(ids ref.jsonl | wc -l)
[ "$NREF" -ge 10 ] || fail "reference import: only $NREF events"
[ -z "$(comm -12 <(ids ref.jsonl) <(ids late.ref))" ] || fail "the HAR variant has the same event ids"

# the first half of late.har, written just now: not read before it is complete
head -c 4000 late.har >in/late.har
"$MCPTRAIL" collect -c c.json 2>collect1.log &
P1=$!
PIDS+=("$P1")
wait_until 10 summaries events.jsonl 3 || fail "the fixtures were not imported: $(cat collect1.log)"
head -c 4000 late.har | cmp -s - in/late.har || fail "(test) late.har changed"
sleep 0.3
tail -c +4001 late.har >>in/late.har # the writer finishes it
cp renamed.har in/renamed.har.tmp
sleep 0.5
mv in/renamed.har.tmp in/renamed.har
wait_until 10 summaries events.jsonl 5 || fail "late.har and renamed.har not imported: $(cat collect1.log)"
sleep 0.3
stop_collect "$P1"
grep -q '"ingest.error"' events.jsonl && fail "an incomplete file was read: $(grep ingest.error events.jsonl | head -2)"
grep -q 'inspector-hidden\|inspector-part' events.jsonl && fail "a .hidden or .part file was read"
cat ref.jsonl late.ref renamed.ref >all.ref
diff <(ids all.ref) <(ids events.jsonl) >ids.diff || fail "events differ from import's: $(head ids.diff)"
$PY - events.jsonl "$WORK/in" <<'PY' || fail "summaries"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
s = {e["ingest"]["source"]: e["ingest"] for e in ev if e["type"] == "ingest.summary"}
want = {"mcp-session.har": "har", "late.har": "har", "renamed.har": "har",
        "envoy-buffered.json": "envoy_tap", "envoy-streamed.jsonl": "envoy_tap"}
assert sorted(s) == sorted(sys.argv[2] + "/" + n for n in want), sorted(s)
for n, fmt in want.items():
    i = s[sys.argv[2] + "/" + n]
    assert i["format"] == fmt and i["bad_lines"] == 0 and i["records"] > 0, i
PY
validate_events events.jsonl
echo "capture_dir: $(ids events.jsonl | wc -l) events as import of the same 5 files; incomplete, hidden and .part files waited for or skipped"

# ---- restarts: nothing again; a replaced file is new
N1=$(wc -l <events.jsonl)
"$MCPTRAIL" collect -c c.json 2>collect2.log &
P2=$!
PIDS+=("$P2")
sleep 1
kill -9 "$P2"
wait "$P2" 2>/dev/null || true
"$MCPTRAIL" collect -c c.json 2>collect3.log &
P3=$!
PIDS+=("$P3")
sleep 1
[ "$(wc -l <events.jsonl)" = "$N1" ] || fail "files imported again after a restart: $(tail -2 events.jsonl)"
variant replaced >in/late.har.tmp
touch -d '1 minute ago' in/late.har.tmp
mv in/late.har.tmp in/late.har
wait_until 10 summaries events.jsonl 6 || fail "a replaced file was not imported: $(cat collect3.log)"
stop_collect "$P3"
[ "$(ids events.jsonl | sort | uniq -d | wc -l)" = 0 ] || fail "events delivered twice"
echo "capture_dir: restarts import nothing again; a replaced file is imported"

# ---- kill -9 while a large HAR is being fed
$PY - big.har <<'PY'
import json, sys
def entry(i, method, params, result):
    req = {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
    res = {"jsonrpc": "2.0", "id": i, "result": result}
    t = "2026-03-01T09:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000)
    return {"startedDateTime": t, "time": 1.5,
            "request": {"method": "POST", "url": "https://mcp.example.com/mcp", "httpVersion": "HTTP/1.1",
                        "cookies": [], "headers": [{"name": "Content-Type", "value": "application/json"},
                                                   {"name": "Mcp-Session-Id", "value": "big-1"}],
                        "queryString": [], "headersSize": -1, "bodySize": -1,
                        "postData": {"mimeType": "application/json", "text": json.dumps(req)}},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [{"name": "Content-Type", "value": "application/json"},
                                     {"name": "Mcp-Session-Id", "value": "big-1"}],
                         "content": {"size": -1, "mimeType": "application/json", "text": json.dumps(res)},
                         "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0.5}}
entries = [entry(0, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                   "clientInfo": {"name": "big", "version": "1"}},
                 {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "s", "version": "1"}})]
for i in range(1, 60001):
    entries.append(entry(i, "tools/call", {"name": "echo", "arguments": {"n": i}},
                         {"content": [{"type": "text", "text": "ok %d" % i}]}))
json.dump({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}},
          open(sys.argv[1], "w"))
PY
"$MCPTRAIL" import --no-blast-radius -o big.ref big.har 2>/dev/null
NBIG=$(ids big.ref | wc -l)
[ "$NBIG" -ge 60000 ] || fail "big.har: only $NBIG events"
# a syslog receiver that reads slowly while slow.flag exists: the spool (1 MiB) fills, the
# input pauses in the middle of big.har, and a checkpoint says how far its records are spooled
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
touch slow.flag
$PY - "$PORT" received.log slow.flag <<'PY' &
import os, socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(4)
out = open(sys.argv[2], "ab", buffering=0)
while True:
    conn, _ = srv.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    while True:
        data = conn.recv(65536)
        if not data:
            break
        out.write(data)
        if os.path.exists(sys.argv[3]):
            time.sleep(0.05)
    conn.close()
PY
PIDS+=("$!")
mkdir -p in2
cat >c2.json <<EOF
{"state_dir": "$WORK/state2",
 "inputs": [{"type": "capture_dir", "path": "$WORK/in2", "settle_ms": 0, "poll_ms": 100}],
 "sinks": [{"uri": "syslog+tcp://127.0.0.1:$PORT"}],
 "spool": {"max_bytes": "1M", "segment_bytes": "64K"}}
EOF
cp big.har in2/big.tmp
mv in2/big.tmp in2/big.har
"$MCPTRAIL" collect -c c2.json 2>collect4.log &
P4=$!
PIDS+=("$P4")
in_progress() { [ -f state2/checkpoints.json ] && grep -Eq '"records": [1-9]' state2/checkpoints.json; }
wait_until 60 in_progress || fail "big.har: no checkpoint in the middle of it: $(cat collect4.log)"
sleep 0.5
kill -9 "$P4"
wait "$P4" 2>/dev/null || true
sleep 0.3
cp received.log received.before
rm slow.flag
"$MCPTRAIL" collect -c c2.json 2>collect5.log &
P5=$!
PIDS+=("$P5")
all_received() { [ "$(grep -c '"ingest.summary"' received.log)" -ge 1 ]; }
wait_until 90 all_received || fail "big.har not finished after the restart: $(cat collect5.log)"
sleep 1
stop_collect "$P5"
$PY - big.ref received.log received.before <<'PY' || fail "big.har across kill -9"
import collections, json, re, sys
ids = lambda path: re.findall(rb'"event_id":"([0-9a-f]+)"', open(path, "rb").read())
want = {json.loads(l)["event_id"].encode() for l in open(sys.argv[1]) if '"ingest.' not in l}
got = collections.Counter(ids(sys.argv[2]))
before = len(ids(sys.argv[3]))
missing = [i for i in want if not got[i]]
dups = sum(got[i] - 1 for i in want if got[i] > 1)
assert not missing, f"{len(missing)} of {len(want)} events of big.har missing"
print(f"capture_dir: kill -9 in the middle of big.har ({len(want)} events, {before} received "
      f"before the kill): every event delivered, {dups} twice")
PY
# the records whose events the checkpoint said were spooled are read again (correlator state)
# but their events are not spooled again (the duplicates above are the spool's redelivery of
# batches sent but not acknowledged before the kill)
spooled=$(sed -n 's/.*stopped: .* \([0-9]*\) events spooled.*/\1/p' collect5.log)
[ -n "$spooled" ] && [ "$spooled" -lt "$NBIG" ] ||
	fail "after the restart $spooled events of big.har's $NBIG were spooled again: $(cat collect5.log)"
echo "capture_dir: after the restart $spooled events spooled (the rest were spooled before the kill)"
echo "PASS"
