#!/usr/bin/env bash
# OTLP/JSON logs (an OTLP file exporter's output) import into one event per MCP log record,
# auto-detected and with --format; non-MCP records and requests are skipped, bad lines counted;
# a file interleaving OTLP requests and agentgateway lines gives every call.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
FIX=$SRC/tests/data/logs/otlp.jsonl
"$MCPTRAIL" import -o auto.events "$FIX" 2>auto.err || { cat auto.err; fail "auto import"; }
"$MCPTRAIL" import --format otlp -o named.events "$FIX" 2>named.err || { cat named.err; fail "--format import"; }
"$PY" "$SRC/tests/bench/gen_log_otlp.py" 20 4 >gen.jsonl
"$MCPTRAIL" import -o gen.events gen.jsonl 2>gen.err || { cat gen.err; fail "generated import"; }
"$PY" "$SRC/tests/bench/gen_log_agentgateway.py" 40 5 >agw.all
grep -v $'\t' agw.all | grep -F '"tools/call"' | sed -n 1,3p >agw.jsonl
paste -d '\n' agw.jsonl <(sed -n '1p;2p;3p' "$FIX") >mixed.log
"$MCPTRAIL" import -o mixed.events mixed.log 2>mixed.err || { cat mixed.err; fail "mixed import"; }
for f in auto.events named.events gen.events mixed.events; do validate_events "$f"; done
$PY - <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(p):
    return [json.loads(l) for l in open(p)]
for path in ("auto.events", "named.events"):
    ev = load(path)
    calls = {c["call"]["tool"]: c for c in ev if c["type"] == "mcp.tool_call"}
    check(sorted(calls) == ["create_issue", "delete_repo", "search"], f"{path}: tools {sorted(calls)}")
    ci = calls["create_issue"]
    check(ci["identity"]["subject"] == "svc-agent-7" and ci["identity"]["source"] == "otel_attribute", f"identity {ci['identity']}")
    check(ci["call"]["latency_ms"] == 12.5 and ci["call"]["rpc_id"] == "7" and ci["session"]["id"] == "sess-o1", f"call {ci['call']}")
    check(ci["gateway"]["target"] == "github-mcp" and ci["gateway"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736", "gateway")
    check(calls["search"]["call"]["outcome"] == "tool_error", "tool_error")
    check(calls["delete_repo"]["call"]["outcome"] == "rpc_error" and calls["delete_repo"]["call"]["error"]["code"] == -32602, "rpc_error")
    reads = [e for e in ev if e["type"] == "mcp.request"]
    check(len(reads) == 1 and reads[0]["identity"]["subject"] == "alice", "resources/read")
    summ = [e for e in ev if e["type"] == "ingest.summary"][0]["ingest"]
    check(summ["format"] == "otlp" and summ["bad_lines"] == 3 and summ["lines"] == 6, f"{path}: summary {summ}")
    ids = [e["event_id"] for e in ev]
    check(len(ids) == len(set(ids)), "event ids repeat")
# generated: one event per MCP record
want = 0
for l in open("gen.jsonl"):
    for rl in json.loads(l)["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for r in sl["logRecords"]:
                if any(a["key"] == "mcp.method.name" for a in r["attributes"]):
                    want += 1
ev = load("gen.events")
got = sum(1 for e in ev if e["type"] in ("mcp.tool_call", "mcp.request"))
check(got == want, f"generated: {got} events for {want} MCP records")
ev = load("mixed.events")
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
otlp = [c for c in calls if c["gateway"]["format"] == "otlp"]
agw = [c for c in calls if c["gateway"]["format"] == "agentgateway"]
check(len(otlp) == 3 and len(agw) == 3, f"mixed: {len(otlp)} otlp, {len(agw)} agentgateway calls")
print("otlp logs imported")
PY
echo "PASS"
