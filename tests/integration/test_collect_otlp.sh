#!/usr/bin/env bash
# mcptrail collect's OTLP/HTTP logs input: POST /v1/logs with OTLP/JSON bodies gives one event
# per MCP log record (as `mcptrail import --format otlp` of the same requests, one a line);
# (calls known from logs alone, held for a tap's view, go out at SIGTERM);
# malformed JSON is 400, a protobuf body 415, another path 404, a GET 405, a body over max_body
# 413; the daemon stops cleanly on SIGTERM.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	return 0
}
trap cleanup EXIT
read -r PORT < <($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >otlp.json <<EOF
{"state_dir": "$WORK/state",
 "inputs": [{"type": "otlp_http", "listen": "127.0.0.1:$PORT", "max_body": "64K"}],
 "sinks": [{"uri": "file:$WORK/events.jsonl"}]}
EOF
"$MCPTRAIL" collect -c otlp.json --check >check.out 2>&1 || fail "config refused: $(cat check.out)"
"$MCPTRAIL" collect -c otlp.json >collect.log 2>&1 &
PIDS+=($!)
PID=$!
up=0
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/logs" && { up=1; break; }
	sleep 0.1
done
[ $up = 1 ] || { cat collect.log; fail "collect did not listen"; }
"$PY" "$SRC/tests/bench/gen_log_otlp.py" 12 7 >reqs.jsonl
post() { # BODY-FILE CONTENT-TYPE → status
	curl -s -o resp.body -w '%{http_code}' -X POST -H "Content-Type: $2" --data-binary "@$1" "http://127.0.0.1:$PORT/v1/logs"
}
n=0
while IFS= read -r l; do
	n=$((n + 1))
	printf '%s' "$l" | $PY -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=1))' >req.json
	code=$(post req.json application/json)
	[ "$code" = 200 ] || fail "request $n: $code $(cat resp.body)"
	[ "$(cat resp.body)" = "{}" ] || fail "request $n: body $(cat resp.body)"
done <reqs.jsonl
# calls known from logs alone wait for a tap's view of them (max_hold); SIGTERM lets them out
printf '{"resourceLogs":[' >bad.json
[ "$(post bad.json application/json)" = 400 ] || fail "malformed JSON not 400"
printf '{"resourceLogs":{}}' >bad2.json
[ "$(post bad2.json 'application/json; charset=utf-8')" = 400 ] || fail "not a request: not 400"
printf '\x0a\x02\x0a\x00' >pb.bin
[ "$(post pb.bin application/x-protobuf)" = 415 ] || fail "protobuf not 415"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/logs")" = 405 ] || fail "GET not 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$PORT/v1/traces")" = 404 ] || fail "/v1/traces not 404"
head -c 70000 /dev/zero | tr '\0' ' ' >big.json
[ "$(post big.json application/json)" = 413 ] || fail "a body over max_body not 413"
kill -TERM $PID
wait $PID || fail "collect exited $? on SIGTERM: $(cat collect.log)"
"$MCPTRAIL" import --format otlp -o import.events reqs.jsonl 2>/dev/null
validate_events events.jsonl
$PY - <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def calls(p):
    out = []
    for l in open(p):
        e = json.loads(l)
        if e["type"] in ("mcp.tool_call", "mcp.request"):
            b = e.get("call") or e.get("request")
            out.append((e["type"], b.get("tool") or b.get("method"), b["rpc_id"], b["outcome"], e["identity"]["subject"]))
    return sorted(out)
got, want = calls("events.jsonl"), calls("import.events")
check(len(want) > 20, f"only {len(want)} calls generated")
check(got == want, f"collect gave {len(got)} calls, import {len(want)}")
errs = [json.loads(l) for l in open("events.jsonl") if '"ingest.error"' in l]
check(len(errs) == 1 and "ExportLogsServiceRequest" in errs[0]["error"]["reason"], f"ingest.error {errs}")
print(f"{len(got)} calls over OTLP/HTTP")
PY
echo PASS
