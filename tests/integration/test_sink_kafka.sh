#!/usr/bin/env bash
# The Kafka sink against a librdkafka mock cluster (3 brokers on 127.0.0.1, in a helper process
# built from tests/tools/kafka_mock.c), read back with kcat: every event of the events file exactly
# once, with its key and headers, on the right topic; a broker taken down and Produce errors
# injected mid-stream lose nothing; an unreachable cluster fails the import (exit 2) within
# flush_timeout_ms, saying why.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
command -v kcat >/dev/null || fail "kcat missing: run deploy/setup.sh (apt-get install kcat)"
pkg-config --exists rdkafka || fail "librdkafka-dev missing: run deploy/setup.sh"
# shellcheck disable=SC2046
cc -std=c11 -O1 -Wall -Wextra -Werror -o kafka_mock "$SRC/tests/tools/kafka_mock.c" \
	$(pkg-config --cflags --libs rdkafka) || fail "cannot build kafka_mock"

MOCK_PID=
cleanup() {
	exec 3>&- 2>/dev/null || true
	if [ -n "$MOCK_PID" ]; then
		kill "$MOCK_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$MOCK_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$MOCK_PID" 2>/dev/null || true
		wait "$MOCK_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
mkfifo mock.cmd
./kafka_mock mcptrail bulk fault <mock.cmd >mock.out 2>mock.err &
MOCK_PID=$!
exec 3>mock.cmd
for _ in $(seq 100); do
	[ -s mock.out ] && break
	sleep 0.1
done
BOOT=$(head -n1 mock.out)
[[ "$BOOT" == 127.0.0.1:*,127.0.0.1:*,127.0.0.1:* ]] || fail "mock cluster did not start: $(cat mock.err)"
echo "mock cluster: $BOOT"

# mock_cmd COMMAND...: one fault-injection command, waiting for the helper's answer
mock_cmd() {
	local before
	before=$(wc -l <mock.out)
	echo "$*" >&3
	for _ in $(seq 100); do
		[ "$(wc -l <mock.out)" -gt "$before" ] && break
		sleep 0.05
	done
	tail -n1 mock.out | grep -q '^ok' || fail "kafka_mock '$*': $(tail -n1 mock.out)"
}

# check_topic EVENTS BASE_TOPIC KEY_MODE PER_TYPE ALLOW_DUPLICATES: reads the topic(s) back and
# compares with the events file the same import wrote.
check_topic() {
	$PY - "$BOOT" "$@" <<'PY'
import collections, json, re, subprocess, sys
boot, path, base, mode, per_type, allow_dups = sys.argv[1:7]
per_type, allow_dups = per_type == "1", allow_dups == "1"
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def key_of(e):
    if mode == "session":
        return (e.get("session") or {}).get("id")
    if mode == "identity":
        ident = e.get("identity") or {}
        if ident.get("subject") is not None:
            return ident["subject"] + "|" + (ident.get("issuer") or "")
        return (ident.get("token") or {}).get("fingerprint")
    return None
def topic_of(e):
    return base + "." + re.sub(r"[^A-Za-z0-9_-]", "_", e["type"]) if per_type else base
events = [json.loads(l) for l in open(path)]
check(events, f"{path}: no events")
want = collections.Counter(e["event_id"] for e in events)
by_id = {e["event_id"]: e for e in events}
got = collections.Counter()
messages = 0
for topic in sorted({topic_of(e) for e in events}):
    out = subprocess.run(["kcat", "-C", "-b", boot, "-t", topic, "-e", "-q", "-J"],
                         capture_output=True, text=True, timeout=240)
    check(out.returncode == 0, f"kcat {topic}: {out.stderr}")
    for line in out.stdout.splitlines():
        m = json.loads(line)
        messages += 1
        h = m.get("headers") or []
        headers = dict(zip(h[0::2], h[1::2]))
        payload = json.loads(m["payload"])
        eid = payload["event_id"]
        check(headers.get("schema") == "mcptrail/1", f"{topic}: schema header {headers}")
        check(headers.get("event_id") == eid, f"{topic}: event_id header {headers} vs {eid}")
        check(headers.get("event_type") == payload["type"], f"{topic}: event_type header {headers}")
        check(eid in by_id, f"{topic}: event {eid} is not in {path}")
        e = by_id[eid]
        check(payload == e, f"{topic}: payload of {eid} differs from the events file")
        check(m["key"] == key_of(e), f"{topic}: key {m['key']!r}, expected {key_of(e)!r} for {eid}")
        check(topic == topic_of(e), f"{eid} on {topic}, expected {topic_of(e)}")
        got[eid] += 1
missing = [i for i in want if got[i] < want[i]]
check(not missing, f"{len(missing)} of {len(want)} events missing from Kafka, e.g. {missing[:3]}")
dups = sum(got[i] - want[i] for i in want)
if not allow_dups:
    check(dups == 0, f"{dups} duplicates")
check(messages == len(events) + dups, f"{messages} messages for {len(events)} events")
print(f"{base}{'.*' if per_type else ''}: {len(events)} events, {messages} messages, "
      f"{dups} duplicates, every event_id present, keys ({mode}) and headers right")
PY
}

# 1. the demo capture, keyed by identity
"$MCPTRAIL" import -o demo.events --sink "kafka://$BOOT/mcptrail?key=identity" \
	"$SRC/tests/data/demo-capture.jsonl" 2>demo.err || { cat demo.err; fail "demo import"; }
grep -q 'delivered [1-9][0-9]*, failed 0' demo.err || { cat demo.err; fail "demo: no delivery summary"; }
check_topic demo.events mcptrail identity 0 0 || fail "demo capture"

# 2. one topic per event type, keyed by session
"$MCPTRAIL" import -o pertype.events --sink "kafka://$BOOT/pertype?key=session&topic_per_type=1" \
	"$SRC/tests/data/demo-capture.jsonl" 2>pertype.err || { cat pertype.err; fail "per-type import"; }
check_topic pertype.events pertype session 1 0 || fail "topic per type"

# 3. a large generated capture (~40k events)
GEN=$(dirname "$MCPTRAIL")/tests/bench/mcptrail-bench-gen
if [ ! -x "$GEN" ]; then
	cc -std=c11 -O2 -o bench-gen "$SRC/tests/bench/gen_capture.c" || fail "cannot build the capture generator"
	GEN=$WORK/bench-gen
fi
"$GEN" --frames 100000 -o big.capture 2>/dev/null || fail "capture generator"
"$MCPTRAIL" import -o bulk.events --sink "kafka://$BOOT/bulk?key=identity" big.capture 2>bulk.err ||
	{ tail bulk.err; fail "bulk import"; }
grep 'mcptrail: kafka bulk' bulk.err
check_topic bulk.events bulk identity 0 0 || fail "bulk"

# 4. faults mid-stream: a third of the capture goes through, then broker 2 goes down for 3 s and
# the next Produce requests fail (retriable errors); broker 2 leads one partition of three; a 1M
# queue makes the import wait on the way
mock_cmd leader fault 0 1
mock_cmd leader fault 1 2
mock_cmd leader fault 2 3
lines=$(wc -l <big.capture)
third=$((lines / 3))
{
	head -n "$third" big.capture
	sleep 1
	mock_cmd down 2
	mock_cmd errors 20 NOT_ENOUGH_REPLICAS
	mock_cmd errors 10 REQUEST_TIMED_OUT
	(
		sleep 3
		mock_cmd up 2
	) &
	tail -n +"$((third + 1))" big.capture
	wait
} | "$MCPTRAIL" import -o fault.events \
	--sink "kafka://$BOOT/fault?key=identity&queue_bytes=1M&flush_timeout_ms=60000" - 2>fault.err ||
	{ grep -v ': FAIL: ' fault.err | tail; fail "import with faults"; }
grep -c '^ok' mock.out | grep -qx 7 || fail "fault commands not all acknowledged: $(cat mock.out)"
grep -q '/2: .*\(Connection refused\|Disconnected\)' fault.err ||
	fail "the sink never saw broker 2 go down: $(grep -v 'FAIL' fault.err | tail -3)"
grep 'mcptrail: kafka fault' fault.err
check_topic fault.events fault identity 0 1 || fail "events lost in the fault run"

# 5. nothing listening: exit 2 within flush_timeout_ms, with the reason
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s%N)
rc=0
"$MCPTRAIL" import -o unreachable.events --sink "kafka://127.0.0.1:$port/mcptrail?flush_timeout_ms=5000" \
	"$SRC/tests/data/demo-capture.jsonl" 2>unreachable.err || rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 2 ] || { cat unreachable.err; fail "unreachable cluster: exit $rc, expected 2"; }
[ "$elapsed_ms" -lt 15000 ] || fail "unreachable cluster: took ${elapsed_ms} ms with flush_timeout_ms=5000"
grep -q 'failed [1-9][0-9]* .*without a delivery report within flush_timeout_ms=5000' unreachable.err ||
	{ cat unreachable.err; fail "unreachable cluster: no clear error"; }
grep -q 'Connection refused' unreachable.err || fail "unreachable cluster: the cause is not named"
echo "unreachable cluster: exit 2 after ${elapsed_ms} ms: $(grep 'mcptrail: kafka mcptrail' unreachable.err)"

# 6. bad options are refused before anything is read, naming the option
rc=0
"$MCPTRAIL" import --sink "kafka://$BOOT/mcptrail?acks=1" "$SRC/tests/data/demo-capture.jsonl" \
	>/dev/null 2>badopt.err || rc=$?
[ "$rc" = 2 ] && grep -q "unknown option 'acks'" badopt.err || fail "acks=1: exit $rc, $(cat badopt.err)"
rc=0
"$MCPTRAIL" import --sink "kafka://$BOOT/mcptrail?ssl.ca.locaton=/etc/ssl/ca.pem" \
	"$SRC/tests/data/demo-capture.jsonl" >/dev/null 2>badprop.err || rc=$?
[ "$rc" = 2 ] && grep -q "option 'ssl.ca.locaton': No such configuration property" badprop.err ||
	fail "misspelt librdkafka property: exit $rc, $(cat badprop.err)"
echo "PASS"
