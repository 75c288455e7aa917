#!/usr/bin/env bash
# mcptrail collect, the daemon, from the outside:
# * configuration: every bad configuration of a matrix makes --check exit 2 with an error that
#   names the file and the JSON path; a good one exits 0;
# * file tail: a capture appended in pieces while collect runs gives the same events as
#   `mcptrail import` of the whole capture; SIGTERM exits 0; appends while it is stopped and a
#   rotation (rename, the writer finishes the old file, a new file) after the restart: still the
#   same events, none twice, none lost (checkpoint + replay of open streams);
# * TCP listener: a capture streamed over TCP in odd pieces gives the import's events; SIGHUP
#   reopens the file sink; /metrics and /health answer;
# * /health goes 503 when the only sink (syslog over TCP) has no receiver while lines arrive.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
CAP=$SRC/tests/data/demo-capture.jsonl
NLINES=$(wc -l <"$CAP")

PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

read -r TCP_PORT METRICS_PORT TCP2_PORT METRICS2_PORT DOWN_PORT METRICS3_PORT < <($PY - <<'PY'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)

# until CMD succeeds, for at most SECONDS (tenths of a second between tries)
wait_until() {
	local seconds=$1
	shift
	local i
	for ((i = 0; i < seconds * 10; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

# the event ids of FILE other than ingest.* (which name the input), one per line, sorted
ids() {
	$PY - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if not e["type"].startswith("ingest."):
        print(e["event_id"])
PY
}

count_events() { # FILE N: FILE holds at least N events other than ingest.*
	[ -f "$1" ] && [ "$(ids "$1" | wc -l)" -ge "$2" ]
}

# stops PID with SIGTERM, expects exit 0 within 10 s
stop_collect() {
	local pid=$1 i
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "collect did not stop within 10 s of SIGTERM"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "collect exited $rc after SIGTERM (expected 0)"
}

# (the daemon emits identity.blast_radius only on its schedule, off by default)
"$MCPTRAIL" import --no-blast-radius -o ref.jsonl "$CAP" 2>/dev/null
ids ref.jsonl >ref.ids
NREF=$(wc -l <ref.ids)
[ "$NREF" -gt 20 ] || fail "reference import made only $NREF events"

# ---- 1. configuration matrix
mkdir -p cfg
good='{"state_dir": "'$WORK'/state0", "inputs": [{"type": "file", "path": "'$WORK'/x.jsonl"}],
  "sinks": [{"uri": "file:'$WORK'/x-events.jsonl"}]}'
echo "$good" >cfg/good.json
"$MCPTRAIL" collect -c cfg/good.json --check >check.out 2>&1 || fail "good config refused: $(cat check.out)"

n=0
while IFS='|' read -r expect json; do
	[ -z "$expect" ] && continue
	n=$((n + 1))
	f=cfg/bad$n.json
	printf '%s\n' "$json" >"$f"
	rc=0
	"$MCPTRAIL" collect -c "$f" --check >check.out 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "bad config $n ($json): exit $rc, expected 2"
	if [ "$expect" = "invalid JSON" ]; then # FILE:LINE:COLUMN: invalid JSON: ...
		grep -Eq -- "^$f:[0-9]+:[0-9]+: invalid JSON" check.out || fail "bad config $n: $(cat check.out)"
	else
		grep -qF -- "$f: $expect" check.out || fail "bad config $n: expected '$f: $expect' in: $(cat check.out)"
	fi
done <<EOF
state_dir: expected a string|{"state_dir": 5, "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}]}
state_dir: missing (required)|{"inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}]}
unknown key "extra"|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "extra": 1}
inputs[0]: unknown key "paht"|{"state_dir": "$WORK/s", "inputs": [{"type":"file","paht":"/x"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].path: missing (required)|{"state_dir": "$WORK/s", "inputs": [{"type":"file"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].type: expected one of "file", "stdin", "tcp", "udp", "capture_dir", "otlp_http", got "kafka"|{"state_dir": "$WORK/s", "inputs": [{"type":"kafka"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].type: missing|{"state_dir": "$WORK/s", "inputs": [{"path":"/x"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs: expected at least 1 entries|{"state_dir": "$WORK/s", "inputs": [], "sinks": [{"uri":"file:$WORK/e"}]}
inputs: expected an array|{"state_dir": "$WORK/s", "inputs": {"type":"stdin"}, "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].listen: expected "HOST:PORT"|{"state_dir": "$WORK/s", "inputs": [{"type":"tcp","listen":"127.0.0.1:70000"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].listen: expected "HOST:PORT"|{"state_dir": "$WORK/s", "inputs": [{"type":"udp","listen":"localhost:7000"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].format: expected tap, auto, a log format name, mapper or regex, got "har"|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin","format":"har"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].max_line: expected a size|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin","max_line":"huge"}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[0].max_connections: expected an integer from 1 to 10000|{"state_dir": "$WORK/s", "inputs": [{"type":"tcp","listen":"127.0.0.1:7000","max_connections":0}], "sinks": [{"uri":"file:$WORK/e"}]}
inputs[1]: the same input as inputs[0]|{"state_dir": "$WORK/s", "inputs": [{"type":"file","path":"/x"},{"type":"file","path":"/x"}], "sinks": [{"uri":"file:$WORK/e"}]}
sinks: expected 1 to 64 entries|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": []}
sinks[0].uri: expected a sink URI|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"ftp://x"}]}
sinks[0].uri: port|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"syslog+tcp://127.0.0.1:99999"}]}
sinks[0].uri: unknown option 'colour'|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"syslog+udp://127.0.0.1:514?colour=red"}]}
sinks[0].uri: file:/nonexistent-dir/e: directory /nonexistent-dir does not exist|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:/nonexistent-dir/e"}]}
sinks[0].encode: expected one of "json", "ocsf", "ecs", "cef", "leef", got "xml"|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e","encode":"xml"}]}
sinks[0].uri: kafka sink|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"kafka://broker:9092"}]}
redaction.rules[0]: redaction rule "acme": pattern error|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "redaction": {"rules": [{"name":"acme","pattern":"(unclosed"}]}}
redaction.rules[0].pattern: missing (required)|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "redaction": {"rules": [{"name":"acme"}]}}
redaction.arguments_cap: expected a size|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "redaction": {"arguments_cap": -5}}
identity.jwks: |{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "identity": {"jwks": "$WORK/no-such-jwks.json"}}
correlator.request_timeout_s: expected a number of seconds from 1 to 604800, got 0|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "correlator": {"request_timeout_s": 0}}
correlator: expected an object|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "correlator": 300}
metrics.listen: expected "HOST:PORT"|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "metrics": {"listen": 9100}}
spool.full_policy: expected one of "block", "drop_oldest"|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "spool": {"full_policy": "pray"}}
spool.fsync: expected true or false|{"state_dir": "$WORK/s", "inputs": [{"type":"stdin"}], "sinks": [{"uri":"file:$WORK/e"}], "spool": {"fsync": "yes"}}
invalid JSON|{"state_dir": "$WORK/s", "inputs": [
EOF
[ "$n" -ge 30 ] || fail "config matrix ran only $n cases"
rc=0
"$MCPTRAIL" collect -c "$WORK/cfg/none.json" --check >check.out 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "none.json" check.out || fail "a missing config file: exit $rc: $(cat check.out)"
echo "config matrix: $n bad configurations refused with their JSON path"

# ---- 2. file tail: pieces, SIGTERM, appends while stopped, restart, rotation
TAP=$WORK/tap.jsonl
cat >file.json <<EOF
{"state_dir": "$WORK/state1",
 "inputs": [{"type": "file", "path": "$TAP", "poll_ms": 50}],
 "sinks": [{"uri": "file:$WORK/events.jsonl"}],
 "metrics": {"listen": "127.0.0.1:$METRICS_PORT", "health_stall_s": 5}}
EOF
: >"$TAP"
"$MCPTRAIL" collect -c file.json 2>collect1.log &
P1=$!
PIDS+=("$P1")
piece() { sed -n "$1,$2p" "$CAP" >>"${3:-$TAP}"; }
piece 1 30
sleep 0.3
piece 31 55
sleep 0.3
piece 56 90
# the demo capture's first stream ends at line 80: its events are all out
wait_until 10 count_events events.jsonl 20 || fail "no events from the tailed file: $(cat collect1.log)"
sleep 0.5
stop_collect "$P1"
grep -q '"line": 90' state1/checkpoints.json || fail "checkpoint not at line 90: $(cat state1/checkpoints.json)"
piece 91 120 # while collect is stopped

"$MCPTRAIL" collect -c file.json 2>collect2.log &
P2=$!
PIDS+=("$P2")
sleep 0.5
# rotation: the file is renamed, its writer still appends to it, then a new file takes over
mv "$TAP" "$TAP.1"
piece 121 130 "$TAP.1"
piece 131 "$NLINES" "$TAP"
wait_until 15 count_events events.jsonl "$NREF" || fail "after restart and rotation: $(ids events.jsonl | wc -l) of $NREF events: $(cat collect2.log)"
sleep 0.5
ids events.jsonl >got.ids
dups=$(sort got.ids | uniq -d | wc -l)
[ "$dups" = 0 ] || fail "$dups events delivered twice after restart/rotation"
diff <(sort ref.ids) <(sort got.ids) >ids.diff || fail "tailed events differ from import's: $(head ids.diff)"
$PY - events.jsonl "$TAP" <<'PY' || fail "no ingest.summary for the rotated file"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
s = [e for e in s if e["type"] == "ingest.summary" and e["ingest"]["source"] == sys.argv[2]]
assert s and s[0]["ingest"]["bad_lines"] == 0, s
PY
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >metrics1.txt || fail "/metrics did not answer"
grep -Eq '^mcptrail_input_replayed_lines_total\{input="'"$TAP"'",type="file"\} [1-9]' metrics1.txt ||
	fail "no lines replayed after the restart: $(grep replayed metrics1.txt)"
grep -Eq '^mcptrail_input_files_finished_total\{input="'"$TAP"'",type="file"\} 1$' metrics1.txt ||
	fail "the rotation was not seen: $(grep files_finished metrics1.txt)"
code=$(curl -s -o health1.json -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/health")
[ "$code" = 200 ] || fail "/health answered $code: $(cat health1.json)"
stop_collect "$P2"
validate_events events.jsonl
echo "file tail: $NREF events as import, across SIGTERM, appends while stopped and a rotation"

# ---- 3. TCP listener, metrics, SIGHUP
cat >tcp.json <<EOF
{"state_dir": "$WORK/state2",
 "inputs": [{"type": "tcp", "listen": "127.0.0.1:$TCP_PORT"}],
 "sinks": [{"uri": "file:$WORK/tcp-events.jsonl"}],
 "metrics": {"listen": "127.0.0.1:$METRICS2_PORT"}}
EOF
"$MCPTRAIL" collect -c tcp.json 2>collect3.log &
P3=$!
PIDS+=("$P3")
wait_until 5 curl -sf -o /dev/null "http://127.0.0.1:$METRICS2_PORT/health" || fail "collect did not come up: $(cat collect3.log)"
send_tcp() { # FILE [SED]: the lines of FILE over one connection, in pieces that cut lines
	$PY - "$TCP_PORT" "$1" "${2:-}" <<'PY'
import socket, sys, time
data = open(sys.argv[2], "rb").read()
if sys.argv[3]:
    old, new = sys.argv[3].split("=")
    data = data.replace(old.encode(), new.encode())
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(0, len(data), 7919):
    s.sendall(data[i:i + 7919])
    time.sleep(0.005)
s.close()
PY
}
send_tcp "$CAP"
wait_until 10 count_events tcp-events.jsonl "$NREF" || fail "TCP: $(ids tcp-events.jsonl | wc -l) of $NREF events: $(cat collect3.log)"
diff <(sort ref.ids) <(ids tcp-events.jsonl | sort) >tcp.diff || fail "TCP events differ from import's: $(head tcp.diff)"
curl -sf "http://127.0.0.1:$METRICS2_PORT/metrics" >metrics2.txt
grep -Eq "^mcptrail_input_lines_total\{input=\"tcp://127.0.0.1:$TCP_PORT\",type=\"tcp\"\} $NLINES\$" metrics2.txt ||
	fail "TCP lines not counted: $(grep lines_total metrics2.txt)"
grep -Eq '^mcptrail_sink_events_total\{sink="0",uri="file:'"$WORK"'/tcp-events.jsonl"\} [1-9]' metrics2.txt ||
	fail "sink events not counted: $(grep sink_events metrics2.txt)"
grep -q '^mcptrail_last_progress_timestamp_seconds [1-9]' metrics2.txt || fail "no progress timestamp"
grep -q '^# TYPE mcptrail_input_bad_lines_total counter' metrics2.txt || fail "metrics lack TYPE lines"
# SIGHUP: the file sink is reopened (a renamed trail is left alone, a new one is started)
mv tcp-events.jsonl tcp-events.old
kill -HUP "$P3"
sleep 0.5
send_tcp "$CAP" "stdio-=hup-"
wait_until 10 count_events tcp-events.jsonl "$NREF" || fail "after SIGHUP no events in the reopened sink file: $(cat collect3.log)"
[ "$(ids tcp-events.old | wc -l)" = "$NREF" ] || fail "the renamed sink file changed after SIGHUP"
stop_collect "$P3"
echo "tcp: $NREF events as import; metrics; SIGHUP reopened the sink"

# ---- 4. health: the only sink is down while lines arrive
cat >down.json <<EOF
{"state_dir": "$WORK/state3",
 "inputs": [{"type": "file", "path": "$WORK/tap-down.jsonl", "poll_ms": 50}],
 "sinks": [{"uri": "syslog+tcp://127.0.0.1:$DOWN_PORT?connect_timeout_ms=200"}],
 "metrics": {"listen": "127.0.0.1:$METRICS3_PORT", "health_stall_s": 1},
 "shutdown_drain_s": 1}
EOF
: >tap-down.jsonl
"$MCPTRAIL" collect -c down.json 2>collect4.log &
P4=$!
PIDS+=("$P4")
health_is() { [ "$(curl -s -o health.json -w '%{http_code}' "http://127.0.0.1:$METRICS3_PORT/health")" = "$1" ]; }
wait_until 5 health_is 200 || fail "/health not 200 while idle: $(cat health.json) $(cat collect4.log)"
piece 1 40 "$WORK/tap-down.jsonl"
sleep 0.3
piece 41 80 "$WORK/tap-down.jsonl"
wait_until 8 health_is 503 || fail "/health did not go 503 with the sink down: $(cat health.json)"
grep -q '"status":"stalled"' health.json || fail "503 body: $(cat health.json)"
grep -q 'Connection refused' health.json || fail "503 body does not say why: $(cat health.json)"
curl -sf "http://127.0.0.1:$METRICS3_PORT/metrics" >metrics3.txt
grep -Eq '^mcptrail_sink_up\{sink="0",[^}]*\} 0$' metrics3.txt || fail "sink_up not 0: $(grep sink_up metrics3.txt)"
grep -Eq '^mcptrail_sink_failures_total\{sink="0",[^}]*\} [1-9]' metrics3.txt || fail "no sink failures counted"
grep -Eq '^mcptrail_spool_pending_batches [1-9]' metrics3.txt || fail "nothing pending in the spool"
stop_collect "$P4"
echo "health: 503 while the only sink is down"
echo "PASS"
