#!/usr/bin/env bash
# A live tap: `mcptrail tap --out tcp://` streams records to `mcptrail collect`'s TCP input while
# the real SDK client drives the real server-everything; collect correlates them into the same
# calls as an import of a file capture would. A collector that is down at first costs records,
# and that loss is reported in-band (capture.gap), never silent.
source "$(dirname "$0")/lib.sh" "$@"
need_peers
cd "$WORK"
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >collect.json <<JSON
{"state_dir": "$WORK/state",
 "inputs": [{"type": "tcp", "listen": "127.0.0.1:$port"}],
 "sinks": [{"uri": "file:$WORK/events.jsonl"}]}
JSON
"$MCPTRAIL" collect -c collect.json --check >/dev/null || fail "config rejected"
"$MCPTRAIL" collect -c collect.json 2>collect.err &
collector=$!
trap 'kill $collector 2>/dev/null || true' EXIT
for _ in $(seq 50); do $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null && break; sleep 0.1; done
node "$PEERS/drive_stdio.mjs" -- "$MCPTRAIL" tap --out "tcp://127.0.0.1:$port" --identity live-agent \
	-- node "$EVERYTHING" stdio >drive.json 2>drive.err || { cat drive.err; fail "driver failed"; }
sleep 1
kill -TERM $collector
wait $collector || fail "collect did not exit 0"
validate_events events.jsonl --require-types mcp.tool_call,mcp.task
$PY - drive.json events.jsonl <<'PY'
import json, sys
drive = json.load(open(sys.argv[1]))
ev = [json.loads(l) for l in open(sys.argv[2])]
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
sent = drive["wire"]["sent"]["tools/call"]
if len(calls) != sent or any(c["identity"]["subject"] != "live-agent" for c in calls):
    sys.exit(f"FAIL: {len(calls)} live calls for {sent} sent: {[c['identity']['subject'] for c in calls][:3]}")
done = [c for c in calls if c.get("task", {}).get("status") == "completed"]
if len(done) != 1:
    sys.exit("FAIL: the completed task did not come through live")
print(f"{len(calls)} calls streamed live through collect")
PY

# the collector down: the tap still passes the traffic, and counts what it could not send
echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' | "$MCPTRAIL" tap --out "tcp://127.0.0.1:$port" -- cat >out.txt 2>tap.err ||
	fail "tap failed with the collector down"
grep -q '"method":"ping"' out.txt || fail "traffic did not pass with the collector down"
echo "PASS"
