#!/usr/bin/env bash
# Docker MCP Gateway logs: timestamped --log-calls lines and policy AuditEvent JSON import into
# standalone mcp.tool_call / mcp.request events, auto-detected and with --format; bad lines are
# counted and reported without hurting their neighbours; a file interleaving them with
# agentgateway lines still gives every call.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
FIX=$SRC/tests/data/logs/docker_mcp_gateway.log
"$MCPTRAIL" import -o auto.events "$FIX" 2>auto.err || { cat auto.err; fail "auto import"; }
"$MCPTRAIL" import --format docker_mcp_gateway -o named.events "$FIX" 2>named.err || { cat named.err; fail "--format import"; }
# a file of two formats, line by line
"$PY" "$SRC/tests/bench/gen_log_agentgateway.py" 40 3 >agw.all
grep -v $'\t' agw.all | grep -F '"tools/call"' | sed -n 1,3p >agw.jsonl
paste -d '\n' agw.jsonl <(sed -n '3p;5p;12p' "$FIX") >mixed.log
"$MCPTRAIL" import -o mixed.events mixed.log 2>mixed.err || { cat mixed.err; fail "mixed import"; }
for f in auto.events named.events mixed.events; do validate_events "$f"; done
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
    check(sorted(by_tool) == ["create_issue", "delete_repo", "read_file", "search"], f"{path}: tools {sorted(by_tool)}")
    check(len(by_tool["create_issue"]) == 2 and len(by_tool["search"]) == 1, f"{path}: counts")
    s = by_tool["search"][0]
    check(s["call"]["latency_ms"] == 1250 and s["call"]["outcome"] == "ok", f"search {s['call']}")
    check(s["gateway"]["format"] == "docker_mcp_gateway" and s["gateway"]["event_kind"] == "log_calls", "gateway block")
    d = by_tool["delete_repo"][0]
    check(d["call"]["outcome"] == "denied" and d["gateway"]["decision"] == "deny", f"denied {d['call']}")
    check(d["identity"]["subject"] == "u-123" and d["identity"]["source"] == "gateway_policy", f"identity {d['identity']}")
    check(d["gateway"]["target"] == "github" and d["gateway"]["client_name"] == "claude-ai", "audit fields")
    check(d["session"]["id"] == "s-42", f"session {d['session']}")
    prompts = [e for e in ev if e["type"] == "mcp.request" and e["request"]["method"] == "prompts/get"]
    check(len(prompts) == 1, "prompt audit")
    summ = [e for e in ev if e["type"] == "ingest.summary"][0]["ingest"]
    check(summ["format"] == "docker_mcp_gateway" and summ["bad_lines"] == 5, f"{path}: summary {summ}")
    errs = [e for e in ev if e["type"] == "ingest.error"]
    check(len(errs) == 5, f"{path}: {len(errs)} ingest.error")
ev = load("mixed.events")
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
fmts = {c["gateway"]["format"] for c in calls}
docker = [c for c in calls if c["gateway"]["format"] == "docker_mcp_gateway"]
check(len(docker) == 3, f"mixed: docker calls {len(docker)}")
check("agentgateway" in fmts, f"mixed: formats {fmts}")
agw_calls = sum(1 for l in open("agw.jsonl") if '"tools/call"' in l)
check(len(calls) - len(docker) == agw_calls, f"mixed: agentgateway calls {len(calls) - len(docker)} != {agw_calls}")
check(all(e["ingest"]["bad_lines"] == 0 for e in ev if e["type"] == "ingest.summary"), "mixed: bad lines")
print("docker_mcp_gateway logs imported")
PY
echo "PASS"
