#!/usr/bin/env bash
# mcptrail import on ContextForge logs (audit_trails rows, SIEM envelopes, token-exchange audit
# events, structured tool-invoke entries): auto-detected and with --format, events validate, bad
# lines counted, token exchanges become identity.grant events, and a file mixed with agentgateway
# lines keeps every call of both.
source "$(dirname "$0")/lib.sh" "$@"
LOGS=$SRC/tests/data/logs

check() { # events format calls(tool=count,...) bad grants
	$PY - "$@" <<'PY'
import json, sys, collections
path, fmt, calls, bad, grants = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ev = [json.loads(l) for l in open(path)]
got = collections.Counter(e["call"]["tool"] for e in ev if e["type"] == "mcp.tool_call")
want = collections.Counter(dict((k, int(v)) for k, v in (p.split("=") for p in calls.split(","))))
assert got == want, (got, want)
summ = [e["ingest"] for e in ev if e["type"] == "ingest.summary"]
assert fmt in [s["format"] for s in summ], summ
assert sum(s["bad_lines"] for s in summ) == bad, summ
assert sum(e["type"] == "identity.grant" for e in ev) == grants
assert "SECRET" not in open(path).read()
PY
}

"$MCPTRAIL" import -o "$WORK/cf.jsonl" "$LOGS/contextforge.jsonl" 2>/dev/null
validate_events "$WORK/cf.jsonl"
check "$WORK/cf.jsonl" contextforge create_issue=1,delete_repo=1,search=1,read_file=1 4 2
$PY - "$WORK/cf.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
calls = {e["call"]["tool"]: e for e in ev if e["type"] == "mcp.tool_call"}
c = calls["create_issue"]
assert c["identity"]["subject"] == "alice@example.com", c["identity"]
assert c["identity"]["actors"] == ["svc-triage@example.com", "orchestrator@example.com"], c["identity"]
assert c["gateway"]["format"] == "contextforge" and c["gateway"]["target"] == "github"
assert c["call"]["outcome"] == "ok"
assert calls["delete_repo"]["gateway"]["outcome"] == "denied"
assert calls["search"]["identity"]["subject"] == "carol@example.com"  # SIEM email redacted
assert calls["read_file"]["gateway"]["outcome"] == "error"
g = [e for e in ev if e["type"] == "identity.grant"]
ok = [x for x in g if x["grant"]["success"]][0]
assert ok["grant"]["grant_type"] == "token_exchange" and ok["grant"]["format"] == "contextforge"
assert ok["grant"]["audience"] == "https://api.github.example"
assert ok["grant"]["expires_at"].startswith("2026-08-27T11:00:06")
assert ok["identity"]["subject"] == "alice@example.com" and ok["identity"]["client_id"] is None
bad = [x for x in g if not x["grant"]["success"]][0]
assert bad["grant"]["error"] == "invalid_grant" and "expires_at" not in bad["grant"]
PY
"$MCPTRAIL" import --format contextforge -o "$WORK/cf2.jsonl" "$LOGS/contextforge.jsonl" 2>/dev/null
validate_events "$WORK/cf2.jsonl"
check "$WORK/cf2.jsonl" contextforge create_issue=1,delete_repo=1,search=1,read_file=1 4 2

# mixed: agentgateway lines interleaved with ContextForge lines, in both orders
$PY - "$LOGS" "$WORK" <<'PY'
import sys
d, w = sys.argv[1], sys.argv[2]
cf = [l for l in open(d + "/contextforge.jsonl").read().splitlines()[:10]]
agw = [l for l in open(d + "/agentgateway-sess42.jsonl", errors="replace").read().splitlines() if '"gen_ai.tool.name":"echo"' in l][:1]
assert agw
open(w + "/mixed-a.jsonl", "w").write("\n".join(cf[:6] + agw + cf[6:]) + "\n")
open(w + "/mixed-b.jsonl", "w").write("\n".join(agw + cf) + "\n")
PY
"$MCPTRAIL" import -o "$WORK/mixed-a-ev.jsonl" "$WORK/mixed-a.jsonl" 2>/dev/null
validate_events "$WORK/mixed-a-ev.jsonl"
check "$WORK/mixed-a-ev.jsonl" contextforge create_issue=1,delete_repo=1,search=1,read_file=1,echo=1 0 2
"$MCPTRAIL" import -o "$WORK/mixed-b-ev.jsonl" "$WORK/mixed-b.jsonl" 2>/dev/null
validate_events "$WORK/mixed-b-ev.jsonl"
check "$WORK/mixed-b-ev.jsonl" agentgateway create_issue=1,delete_repo=1,search=1,read_file=1,echo=1 0 2
echo "test_import_logs_contextforge: ok"
