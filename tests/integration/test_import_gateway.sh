#!/usr/bin/env bash
# A gateway's access log and a tap capture of the same session, imported together, give one
# mcp.tool_call per call (enriched from both); calls only the gateway saw are events of their own;
# a line that contradicts the tap is a finding; bad lines are counted, neighbours unaffected; the
# order of the inputs on the command line does not matter.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
LOG=$SRC/tests/data/logs/agentgateway-sess42.jsonl
HAR=$SRC/tests/data/captures/mcp-session.har
"$MCPTRAIL" import -o joined.events "$HAR" "$LOG" 2>joined.err || { cat joined.err; fail "import"; }
"$MCPTRAIL" import -o reversed.events "$LOG" "$HAR" 2>/dev/null || fail "import (reversed)"
"$MCPTRAIL" import -o alone.events --format agentgateway "$LOG" 2>/dev/null || fail "import --format agentgateway"
"$MCPTRAIL" import -o contra.events "$SRC/tests/data/logs/agentgateway-contradicts.jsonl" "$HAR" 2>/dev/null || fail "import (contradiction)"
for f in joined reversed alone contra; do validate_events $f.events; done
$PY - <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(p): return [json.loads(l) for l in open(p)]
ev = load("joined.events")
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
by_tool = {}
for c in calls: by_tool.setdefault(c["call"]["tool"], []).append(c)
check(sorted(by_tool) == ["add", "create_issue", "delete_repo", "echo"], f"tools {sorted(by_tool)}")
check(all(len(v) == 1 for v in by_tool.values()), "one event per call")
echo = by_tool["echo"][0]
check(echo["sources"] == ["tap", "agentgateway"], f"echo sources {echo.get('sources')}")
check(echo["call"]["rpc_id"] == "2" and echo["call"]["outcome"] == "ok", "the tap's view of the call")
check(echo["gateway"]["target"] == "demo" and echo["gateway"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736", f"gateway {echo['gateway']}")
check(echo["gateway"]["identity"]["subject"] == "alice" and echo["identity"]["subject"] == "alice", "identity")
add = by_tool["add"][0]
check(add["sources"] == ["agentgateway"] and add["call"]["outcome"] == "rpc_error" and add["call"]["error"]["code"] == -32602, f"add {add['call']}")
check(add["call"]["error"]["message"] == 'missing "b"', "text-format quoted value")
d = by_tool["delete_repo"][0]
check(d["call"]["outcome"] == "denied" and d["call"]["attempts"] == 3 and d["identity"]["subject"] == "svc-intruder", f"delete_repo {d['call']}")
ci = by_tool["create_issue"][0]
check(ci["gateway"]["upstream_session_id"] == "upstream-9" and ci["gateway"]["task_id"] == "task-123", f"create_issue {ci['gateway']}")
check(ci["identity"]["token"]["jti"] == "tok-77", "jti kept")
check(not [e for e in ev if e["type"] == "finding"], "no finding when the log agrees")
summ = {e["ingest"]["source"].rsplit("/", 1)[-1]: e["ingest"] for e in ev if e["type"] == "ingest.summary"}
s = summ["agentgateway-sess42.jsonl"]
check(s["format"] == "agentgateway" and s["bad_lines"] == 4 and s["lines"] == 11, f"summary {s}")
errs = sorted(e["error"]["line"] for e in ev if e["type"] == "ingest.error")
check(errs == [5, 6, 7, 11], f"bad lines {errs}")
rev = load("reversed.events")
check(sorted(e["event_id"] for e in rev) == sorted(e["event_id"] for e in ev), "input order changes the events")
alone = [e for e in load("alone.events") if e["type"] == "mcp.tool_call"]
check(len(alone) == 4 and all(e["sources"] == ["agentgateway"] for e in alone), "log alone")
contra = load("contra.events")
f = sorted((e["finding"]["field"], e["finding"]["gateway_value"], e["finding"]["tap_value"]) for e in contra if e["type"] == "finding")
check(f == [("identity", "bob", "alice"), ("outcome", "error", "ok")], f"findings {f}")
check(len([e for e in contra if e["type"] == "mcp.tool_call"]) == 1, "contradicting line still merged into one call")
print("gateway log and tap: one trail")
PY
