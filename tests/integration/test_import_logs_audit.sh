#!/usr/bin/env bash
# mcptrail import on ToolHive and Teleport audit logs: auto-detected and with --format, events
# validate, bad lines counted, and a mixed file (agentgateway + toolhive + teleport) keeps every call.
source "$(dirname "$0")/lib.sh" "$@"
LOGS=$SRC/tests/data/logs

check() { # events format calls(tool=count,...) bad
	$PY - "$@" <<'PY'
import json, sys, collections
path, fmt, calls, bad = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ev = [json.loads(l) for l in open(path)]
got = collections.Counter(e["call"]["tool"] for e in ev if e["type"] == "mcp.tool_call")
want = collections.Counter(dict((k, int(v)) for k, v in (p.split("=") for p in calls.split(","))))
assert got == want, (got, want)
summ = [e["ingest"] for e in ev if e["type"] == "ingest.summary"]
assert fmt in [s["format"] for s in summ], summ
assert sum(s["bad_lines"] for s in summ) == bad, summ
assert "SECRET" not in open(path).read()
PY
}

"$MCPTRAIL" import -o "$WORK/th.jsonl" "$LOGS/toolhive.jsonl" 2>/dev/null
validate_events "$WORK/th.jsonl"
check "$WORK/th.jsonl" toolhive create_issue=1,delete_repo=1,read_file=1 3
$PY - "$WORK/th.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
calls = {e["call"]["tool"]: e for e in ev if e["type"] == "mcp.tool_call"}
c = calls["create_issue"]
assert c["identity"]["subject"] == "alice-sub-123" and c["identity"]["actors"] == ["agent-7", "orchestrator-1"]
assert c["gateway"]["client_name"] == "claude-code" and c["gateway"]["session_id"] == "sess-a"
assert calls["delete_repo"]["call"]["outcome"] == "denied"
assert calls["read_file"]["call"]["outcome"] == "tool_error"
PY
"$MCPTRAIL" import --format toolhive -o "$WORK/th2.jsonl" "$LOGS/toolhive.jsonl" 2>/dev/null
check "$WORK/th2.jsonl" toolhive create_issue=1,delete_repo=1,read_file=1 3

"$MCPTRAIL" import -o "$WORK/tp.jsonl" "$LOGS/teleport.jsonl" 2>/dev/null
validate_events "$WORK/tp.jsonl"
check "$WORK/tp.jsonl" teleport echo=1,delete_repo=1,search=1 3
"$MCPTRAIL" import --format teleport -o "$WORK/tp2.jsonl" "$LOGS/teleport.jsonl" 2>/dev/null
check "$WORK/tp2.jsonl" teleport echo=1,delete_repo=1,search=1 3

# mixed: lines of three formats interleaved; every call survives whichever parser the file gets
$PY - "$LOGS" "$WORK/mixed.jsonl" <<'PY'
import sys, itertools
d = sys.argv[1]
agw = '{"level":"info","time":"2026-08-27T09:00:00.000Z","scope":"request","src.addr":"10.0.0.1:5000","http.status":200,"jwt.sub":"svc-1","protocol":"mcp","mcp.method.name":"tools/call","mcp.target":"github","gen_ai.tool.name":"agw_tool","mcp.session.id":"s-agw","duration":"4ms"}'
th = [l for l in open(d + "/toolhive.jsonl").read().splitlines()[:7]]
tp = [l for l in open(d + "/teleport.jsonl").read().splitlines()[:6]]
out = [agw]
for a, b in itertools.zip_longest(th, tp):
    out += [x for x in (a, b) if x]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
"$MCPTRAIL" import -o "$WORK/mixed-ev.jsonl" "$WORK/mixed.jsonl" 2>/dev/null
validate_events "$WORK/mixed-ev.jsonl"
check "$WORK/mixed-ev.jsonl" agentgateway agw_tool=1,create_issue=1,delete_repo=2,read_file=1,echo=1 0
echo "test_import_logs_audit: ok"
