#!/usr/bin/env bash
# Envoy JSON access logs with MCP metadata (Envoy AI Gateway flat keys, Kuadrant x-mcp-* headers,
# nested dynamic metadata) import into mcp.tool_call / mcp.request events, auto-detected and with
# --format; plain Envoy lines are skipped, bad lines counted; Envoy tap traces still go to the
# capture reader; a file interleaving access-log and agentgateway lines gives every call.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
FIX=$SRC/tests/data/logs/envoy_access.jsonl
"$MCPTRAIL" import -o auto.events "$FIX" 2>auto.err || { cat auto.err; fail "auto import"; }
"$MCPTRAIL" import --format envoy_access -o named.events "$FIX" 2>named.err || { cat named.err; fail "--format import"; }
"$MCPTRAIL" import -o tap.events "$SRC/tests/data/captures/envoy-streamed.jsonl" 2>tap.err || { cat tap.err; fail "tap import"; }
"$PY" "$SRC/tests/bench/gen_log_agentgateway.py" 40 5 >agw.all
grep -v $'\t' agw.all | grep -F '"tools/call"' | sed -n 1,4p >agw.jsonl
paste -d '\n' agw.jsonl <(sed -n '1p;3p;4p;6p' "$FIX") >mixed.log
"$MCPTRAIL" import -o mixed.events mixed.log 2>mixed.err || { cat mixed.err; fail "mixed import"; }
for f in auto.events named.events tap.events mixed.events; do validate_events "$f"; done
$PY - <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(p):
    return [json.loads(l) for l in open(p)]
for path in ("auto.events", "named.events"):
    ev = load(path)
    calls = [e for e in ev if e["type"] == "mcp.tool_call"]
    by_tool = {}
    for c in calls:
        by_tool.setdefault(c["call"]["tool"], []).append(c)
    check(sorted(by_tool) == ["create_issue", "delete_repo", "search"], f"{path}: tools {sorted(by_tool)}")
    check(len(by_tool["search"]) == 2, f"{path}: search calls")
    ci = by_tool["create_issue"][0]
    check(ci["identity"]["subject"] == "svc-agent-7" and ci["identity"]["source"] == "gateway_jwt", f"identity {ci['identity']}")
    check(ci["gateway"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and ci["gateway"]["target"] == "github", "trace/target")
    check(ci["call"]["latency_ms"] == 12 and ci["call"]["outcome"] == "ok" and ci["session"]["id"] == "sess-a1", f"call {ci['call']}")
    check(ci["call"]["started_at"].startswith("2026-08-27T00:22:00.1"), f"started_at {ci['call']['started_at']}")
    d = by_tool["delete_repo"][0]
    check(d["call"]["outcome"] == "denied" and d["identity"]["subject"] == "agent-42" and d["identity"]["source"] == "gateway_header", f"denied {d['call']} {d['identity']}")
    check(sorted(c["call"]["outcome"] for c in by_tool["search"]) == ["no_response", "ok"], "search outcomes")
    reads = [e for e in ev if e["type"] == "mcp.request" and e["request"]["method"] == "resources/read"]
    check(len(reads) == 1 and reads[0]["gateway"]["resource_uri"] == "file:///etc/motd", "resources/read")
    summ = [e for e in ev if e["type"] == "ingest.summary"][0]["ingest"]
    check(summ["format"] == "envoy_access" and summ["bad_lines"] == 3, f"{path}: summary {summ}")
    check(sum(1 for e in ev if e["type"] == "ingest.error") == 3, f"{path}: ingest.error count")
tap = [e for e in load("tap.events") if e["type"] == "ingest.summary"][0]["ingest"]
check(tap["format"] == "envoy_tap", f"the tap trace was taken for {tap['format']}")
ev = load("mixed.events")
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
env = [c for c in calls if c["gateway"]["format"] == "envoy_access"]
agw = [c for c in calls if c["gateway"]["format"] == "agentgateway"]
check(len(env) == 3 and len(agw) == 4, f"mixed: {len(env)} envoy, {len(agw)} agentgateway calls")
check(all(e["ingest"]["bad_lines"] == 0 for e in ev if e["type"] == "ingest.summary"), "mixed: bad lines")
print("envoy_access logs imported")
PY
echo "PASS"
