#!/usr/bin/env bash
# mcptrail collect with gateway logs beside captures: a file input in a log format
# (agentgateway) and a capture_dir input for the HAR of the same session give one event per call
# (the tap's, enriched with the gateway's line); calls only the log saw go out on their own after
# max_wait of wall-clock time even when no more input comes; a mapper input (Pomerium) works
# with its parser_config; bad formats and missing parser configs are refused with their path.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
trap cleanup EXIT
LOGS=$SRC/tests/data/logs
mkdir -p caps state
cp "$LOGS/agentgateway-sess42.jsonl" gw.log
cp "$LOGS/pomerium.jsonl" pomerium.log
cat >logs.json <<CFG
{"state_dir": "$WORK/state",
 "inputs": [{"type": "file", "path": "$WORK/gw.log", "format": "agentgateway"},
            {"type": "capture_dir", "path": "$WORK/caps", "settle_ms": 300, "poll_ms": 100}],
 "correlator": {"max_wait_s": 3},
 "sinks": [{"uri": "file:$WORK/events.jsonl"}]}
CFG
"$MCPTRAIL" collect -c logs.json --check >check.out 2>&1 || fail "config refused: $(cat check.out)"
"$MCPTRAIL" collect -c logs.json >collect.log 2>&1 &
PID=$!
PIDS+=($PID)
sleep 1 # the log lines are read (and held: no tap has spoken yet)
cp "$SRC/tests/data/captures/mcp-session.har" caps/.incoming && mv caps/.incoming caps/session.har
# no more input from here: what only the logs saw must still go out (max_wait_s 3, wall clock)
ok=0
for _ in $(seq 150); do
	if [ -f events.jsonl ] && grep -q '"create_issue"' events.jsonl && grep -q '"echo"' events.jsonl &&
		grep -q '"delete_repo"' events.jsonl && grep -q '"add"' events.jsonl; then
		ok=1
		break
	fi
	sleep 0.1
done
[ $ok = 1 ] || { cat collect.log; fail "the calls did not all come out before SIGTERM"; }
kill -TERM $PID
wait $PID || fail "collect exited $? on SIGTERM: $(cat collect.log)"
validate_events events.jsonl
$PY - <<'CHECK'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
ev = [json.loads(l) for l in open("events.jsonl")]
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
agw = {}
for c in calls:
    if "agentgateway" in c.get("sources", []) or c["session"]["stream"].startswith("har-"):
        agw.setdefault(c["call"]["tool"], []).append(c)
check(sorted(agw) == ["add", "create_issue", "delete_repo", "echo"], f"tools {sorted(agw)}")
check(all(len(v) == 1 for v in agw.values()), f"one event per call: { {k: len(v) for k, v in agw.items()} }")
check(agw["echo"][0]["sources"] == ["tap", "agentgateway"], f"echo {agw['echo'][0].get('sources')}")
check(agw["add"][0]["sources"] == ["agentgateway"], "add: the log alone")
print(f"collect: {len(calls)} calls, echo merged, log-only calls released by the wall clock")
CHECK
# a mapper input: its calls come out at SIGTERM at the latest
cat >mapper.json <<CFG
{"state_dir": "$WORK/state-mapper",
 "inputs": [{"type": "file", "path": "$WORK/pomerium.log", "format": "mapper",
             "parser_config": "$SRC/deploy/log-parsers/pomerium.mapper.json"}],
 "sinks": [{"uri": "file:$WORK/mapper.events"}]}
CFG
"$MCPTRAIL" collect -c mapper.json >mapper.log 2>&1 &
PID=$!
PIDS+=($PID)
for _ in $(seq 50); do
	grep -q 'lines' mapper.log 2>/dev/null && [ -f mapper.events ] && break
	sleep 0.1
done
sleep 0.5
kill -TERM $PID
wait $PID || fail "collect (mapper) exited $?: $(cat mapper.log)"
validate_events mapper.events
"$MCPTRAIL" import --mapper "$SRC/deploy/log-parsers/pomerium.mapper.json" -o mapper.import "$WORK/pomerium.log" 2>/dev/null
[ "$(grep -c '"mcp.tool_call"' mapper.events)" = "$(grep -c '"mcp.tool_call"' mapper.import)" ] ||
	fail "mapper: collect $(grep -c '"mcp.tool_call"' mapper.events) calls, import $(grep -c '"mcp.tool_call"' mapper.import)"
[ "$(grep -c '"mcp.tool_call"' mapper.events)" -ge 2 ] || fail "mapper: no calls"
# bad configurations name the key
bad() { # NAME INPUTS-JSON EXTRA-JSON EXPECTED-REGEX
	printf '{"state_dir": "%s/s2", "inputs": [%s]%s, "sinks": [{"uri": "file:%s/e"}]}\n' "$WORK" "$2" "$3" "$WORK" >"$1.json"
	"$MCPTRAIL" collect -c "$1.json" --check >"$1.out" 2>&1 && fail "$1: accepted"
	grep -q "$4" "$1.out" || fail "$1: $(cat "$1.out")"
}
bad unknown "{\"type\": \"file\", \"path\": \"$WORK/gw.log\", \"format\": \"nope\"}" "" 'inputs\[0\].format'
bad noconfig "{\"type\": \"file\", \"path\": \"$WORK/gw.log\", \"format\": \"mapper\"}" "" 'inputs\[0\].parser_config: format mapper needs its configuration file'
echo '{"kind":"call"}' >badmap.json
bad badmap "{\"type\": \"file\", \"path\": \"$WORK/gw.log\", \"format\": \"mapper\", \"parser_config\": \"$WORK/badmap.json\"}" "" 'inputs\[0\].parser_config: .*badmap.json'
bad stray "{\"type\": \"file\", \"path\": \"$WORK/gw.log\", \"parser_config\": \"$WORK/badmap.json\"}" "" 'inputs\[0\].parser_config: only for format mapper or regex'
echo '[1]' >scopemap.json
bad scopes '{"type": "stdin"}' ", \"correlator\": {\"scope_map\": \"$WORK/scopemap.json\"}" 'correlator.scope_map'
echo "collect with gateway logs: ok"
