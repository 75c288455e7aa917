#!/usr/bin/env bash
# Configured parsers: the JSON field mapper (--mapper) and the regex parser (--regex) with the
# shipped example configs (deploy/log-parsers/) over fixtures; the mapper's agentgateway config
# gives the same calls as the native parser; bad configs are refused at start-up with the JSON path.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
LOGS=$SRC/tests/data/logs
CFG=$SRC/deploy/log-parsers
imp() { # OUT args...
	local out=$1
	shift
	"$MCPTRAIL" import -o "$out" "$@" 2>"$out.err" || { cat "$out.err"; fail "import $*"; }
	validate_events "$out"
}
imp pomerium --mapper "$CFG/pomerium.mapper.json" "$LOGS/pomerium.jsonl"
imp apim --format mapper --mapper "$CFG/azure-apim.mapper.json" "$LOGS/azure-apim.jsonl"
imp nginx --regex "$CFG/nginx-mcp.regex.json" "$LOGS/nginx-mcp.log"
imp nginx.named --format regex --regex "$CFG/nginx-mcp.regex.json" "$LOGS/nginx-mcp.log"
# a mixed file: configured-format lines and agentgateway lines interleaved
python3 "$SRC/tests/bench/gen_log_agentgateway.py" 4 3 | grep '^{' >agw.jsonl
paste -d '\n' "$LOGS/pomerium.jsonl" agw.jsonl | grep -v '^$' >mixed.jsonl
imp mixed --format mapper --mapper "$CFG/pomerium.mapper.json" mixed.jsonl
# the native agentgateway parser and the mapper's config for it
python3 "$SRC/tests/bench/gen_log_agentgateway.py" 300 5 | grep '^{' >agw300.jsonl
imp native --format agentgateway agw300.jsonl
imp mapped --format mapper --mapper "$SRC/tests/bench/mapper_agentgateway.json" agw300.jsonl
$PY - <<'PY'
import json, sys, collections
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(p):
    return [json.loads(l) for l in open(p)]
def calls(ev):
    return [e for e in ev if e["type"] == "mcp.tool_call"]
def summary(ev):
    return [e["ingest"] for e in ev if e["type"] == "ingest.summary"][0]
p = load("pomerium")
c = calls(p)
check(collections.Counter(x["call"]["tool"] for x in c) == {"create_issue": 2, "admin_delete_repo": 1}, f"pomerium tools {[x['call']['tool'] for x in c]}")
check(sorted(x["call"]["outcome"] for x in c) == ["denied", "ok", "ok"], "pomerium outcomes")
check(all(x["gateway"]["format"] == "pomerium" for x in c), "pomerium format name")
check({x["identity"]["subject"] for x in c} == {"alice@example.com", "bob@example.com"}, "pomerium subjects")
check(len([e for e in p if e["type"] == "mcp.request"]) == 1, "pomerium tools/list")
s = summary(p)
check(s["format"] == "mapper" and s["bad_lines"] == 1, f"pomerium summary {s}")
a = calls(load("apim"))
check(len(a) == 3 and {x["call"]["tool"] for x in a} == {"get_forecast", "get_alerts"}, f"apim calls {len(a)}")
check(sorted(x["call"]["outcome"] for x in a) == ["denied", "no_response", "ok"], f"apim outcomes {[x['call']['outcome'] for x in a]}")
check(sorted(x["gateway"]["outcome"] for x in a) == ["denied", "error", "ok"], "apim: the log's own outcomes kept in gateway")
check([x["identity"]["client_id"] for x in a if x["identity"]["subject"] == "alice"] == ["sub-agent-1"], "apim identity")
for name in ("nginx", "nginx.named"):
    ev = load(name)
    n = calls(ev)
    check(sorted(x["call"]["tool"] for x in n) == ["delete", "search"], f"{name} tools")
    check({x["call"]["tool"]: x["call"]["outcome"] for x in n} == {"search": "ok", "delete": "denied"}, f"{name} outcomes")
    check(summary(ev)["format"] == "regex" and summary(ev)["bad_lines"] == 2, f"{name} summary {summary(ev)}")
    check(len([e for e in ev if e["type"] == "ingest.error"]) == 2, f"{name} errors")
m = load("mixed")
mc = calls(m)
check(len([x for x in mc if x["gateway"]["format"] == "pomerium"]) == 3, "mixed: pomerium calls")
agw_calls = sum(1 for l in open("agw.jsonl") if '"tools/call"' in l)
check(len([x for x in mc if x["gateway"]["format"] == "agentgateway"]) == agw_calls, f"mixed: agentgateway calls {agw_calls}")
def key(x):
    return (x["call"]["tool"], x["call"]["outcome"], x["identity"]["subject"], x["session"]["id"], x["time"], x["call"].get("latency_ms"))
nat, mapd = calls(load("native")), calls(load("mapped"))
check(len(nat) == len(mapd) and sorted(map(key, nat)) == sorted(map(key, mapd)), f"native vs mapper: {len(nat)} vs {len(mapd)}")
print("configured parsers imported")
PY
# bad configs: refused before reading anything, the path named
bad() { # CONFIG_JSON OPTION EXPECTED
	printf '%s' "$1" >bad.json
	if "$MCPTRAIL" import "$2" bad.json "$LOGS/pomerium.jsonl" >/dev/null 2>bad.err; then fail "accepted $1"; fi
	grep -qF "$3" bad.err || { cat bad.err; fail "expected '$3'"; }
}
bad '{"kind":"call","time":{"path":"t"},"fields":{"subject":7}}' --mapper 'bad.json: fields.subject: expected a string path'
bad '{"kind":"call","time":{"path":"t"},"fields":{"tool":{"path":"x","transform":"rot13"}}}' --mapper 'bad.json: fields.tool.transform: unknown transform "rot13"'
bad '{"kind":"call","fields":{"tool":"x"}}' --mapper 'bad.json: time: expected an object'
bad '{"kind":"call",' --mapper 'bad.json: line 1'
bad '{"pattern":"(?<time>x","kind":"call","time_format":"auto","fields":{"tool":"time"}}' --regex 'bad.json: pattern: error at offset 9'
bad '{"pattern":"(?<time>x)","kind":"call","time_format":"auto","fields":{"tool":"name"}}' --regex 'no capture named "name"'
"$MCPTRAIL" import --format mapper "$LOGS/pomerium.jsonl" >/dev/null 2>err.txt && fail "--format mapper without --mapper accepted"
grep -q 'needs --mapper' err.txt || fail "--format mapper without --mapper: $(cat err.txt)"
"$MCPTRAIL" import --help | grep -q -- '--mapper' || fail "--help does not mention --mapper"
echo "PASS"
