#!/usr/bin/env bash
# The real SDK Streamable HTTP client drives the real server-everything through `mcptrail
# tap-http` as two identities with signed bearer JWTs (keys made here by openssl, verified by the
# tap against the JWKS): every call is attributed to the right identity, scopes, actors and
# client_id; a request posted twice is one call with two attempts; SSE is streamed, not buffered;
# no token ever reaches the record or the events.
source "$(dirname "$0")/lib.sh" "$@"
need_peers
cd "$WORK"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
node "$PEERS/make_tokens.mjs" rsa.pem ec.pem "$WORK"
read -r up_port tap_port < <($PY -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')

PORT=$up_port node "$EVERYTHING" streamableHttp >server.log 2>&1 &
server=$!
"$MCPTRAIL" tap-http --listen 127.0.0.1:$tap_port --upstream http://127.0.0.1:$up_port/mcp \
	--out rec.jsonl --jwks jwks.json --fingerprint-key fp.key 2>tap.err &
tap=$!
cleanup() { kill $tap $server 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$up_port/mcp" && curl -s -o /dev/null "http://127.0.0.1:$tap_port/mcp" && break
	sleep 0.1
done

node "$PEERS/drive_http.mjs" "http://127.0.0.1:$tap_port/mcp" "$(cat alice.jwt)" "$(cat agent.jwt)" \
	>drive.json 2>drive.err || { cat drive.err drive.json tap.err >&2; fail "SDK HTTP driver failed"; }

# an unreachable upstream answers 502 and is recorded
dead_port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MCPTRAIL" tap-http --listen 127.0.0.1:$dead_port --upstream http://127.0.0.1:1/mcp --out dead.jsonl \
	--fingerprint-key fp.key 2>/dev/null &
dead=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$dead_port/mcp && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}' http://127.0.0.1:$dead_port/mcp)
[ "$code" = 502 ] || fail "unreachable upstream answered $code, expected 502"
kill -TERM $tap
wait $tap || fail "tap-http did not exit 0 on SIGTERM"
[ "$(stat -c %a rec.jsonl)" = 600 ] || fail "record file is not 0600"
for tok in alice.jwt agent.jwt; do
	sig=$(cut -d. -f3 <$tok)
	! grep -qF "$sig" rec.jsonl || fail "a raw token reached the record file"
done

"$MCPTRAIL" import -o events.jsonl rec.jsonl 2>import.err || { cat import.err; fail "import failed"; }
for tok in alice.jwt agent.jwt; do
	! grep -qF "$(cut -d. -f3 <$tok)" events.jsonl || fail "a raw token reached the events"
done
validate_events events.jsonl --require-types mcp.session,mcp.tool_call,mcp.task,mcp.request

$PY - drive.json events.jsonl rec.jsonl <<'PY'
import json, sys
drive = json.load(open(sys.argv[1]))
events = [json.loads(l) for l in open(sys.argv[2])]
records = [json.loads(l) for l in open(sys.argv[3])]
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
calls = [e for e in events if e["type"] == "mcp.tool_call"]
by_session = {}
for c in calls:
    by_session.setdefault(c["session"]["id"].split("/", 1)[1], []).append(c)
alice = by_session[drive["session_alice"]]
agent = by_session[drive["session_agent"]]
for c in alice:
    i = c["identity"]
    check(i["subject"] == "alice" and i["issuer"] == "https://idp.example.test", f"alice identity {i}")
    check(i["client_id"] == "desktop-app" and i["client_id_is_cimd"] is False, "alice client_id")
    check(i["scopes"] == ["tools:read", "tools:call"] and i["actors"] == [], f"alice scopes/actors {i}")
    check(i["verified"] is True and i["token"]["verification"] == "verified", f"alice verified {i}")
    check(c["session"]["transport"] == "http", "transport http")
for c in agent:
    i = c["identity"]
    check(i["subject"] == "alice", "agent acts for alice")
    check(i["client_id"] == "https://agent.example.test/oauth/client.json" and i["client_id_is_cimd"] is True,
          f"CIMD client id {i}")
    check(i["actors"] == ["release-agent", "ci-orchestrator"], f"act chain {i['actors']}")
    check(i["scopes"] == ["tools:call"] and i["verified"] is True, f"agent scopes {i}")
check(sorted(c["call"]["tool"] for c in agent) == ["echo", "no-such-tool"], "agent calls")
check([c["call"]["outcome"] for c in agent if c["call"]["tool"] == "no-such-tool"] == ["tool_error"], "unknown tool")

dup = [c for c in calls if c["call"]["rpc_id"] == "retry-1"]
check(len(dup) == 1 and dup[0]["call"]["attempts"] == 2, f"duplicate post: {[d['call'] for d in dup]}")

task = [c for c in alice if c.get("task")]
check(len(task) == 1 and task[0]["task"]["id"] == drive["steps"]["task"]["taskId"] and
      task[0]["task"]["status"] == "completed" and task[0]["call"]["outcome"] == "ok", f"task {task}")

lro = [c for c in alice if c["call"]["tool"] == "trigger-long-running-operation" and c["call"]["rpc_id"] != "retry-1"]
check(len(lro) == 1 and lro[0]["call"]["progress_notifications"] == 4, f"progress {lro}")
# streaming: the client saw progress long before the result...
p = drive["steps"]["long_running"]
check(len(p["progress_ms"]) >= 3 and p["progress_ms"][0] < p["result_ms"] - 1000, f"client timing {p}")
# ...and so did the tap: SSE events recorded as they passed, not at the end
exch = {}
for r in records:
    if r["kind"] == "sse_event" and isinstance(r.get("msg"), dict):
        exch.setdefault(r["exchange"], []).append(r)
streamed = [evs for evs in exch.values()
            if sum(1 for e in evs if e["msg"].get("method") == "notifications/progress") == 4]
check(streamed, "no exchange with 4 progress events")
evs = streamed[0]
check((evs[-1]["ts"] - evs[0]["ts"]) / 1e6 > 1000, "SSE events spread over the call's life")

sessions = [e for e in events if e["type"] == "mcp.session"]
agent_end = [s for s in sessions if s["session"]["state"] == "end" and drive["session_agent"] in s["session"]["id"]]
check(len(agent_end) == 1, "agent session ended by DELETE")
print(f"ok: {len(calls)} calls over HTTP, alice {len(alice)}, agent {len(agent)}")
PY

kill -TERM $dead 2>/dev/null || true
wait $dead || true
grep -q '"outcome":"upstream_error"' dead.jsonl || fail "the 502 was not recorded"
"$MCPTRAIL" import -o dead-events.jsonl dead.jsonl 2>/dev/null || fail "import of the 502 capture"
grep -q '"type":"mcp.http_error"' dead-events.jsonl || fail "no mcp.http_error for the 502"
grep -q '"outcome":"no_response"' dead-events.jsonl || fail "the call that met a 502 is not no_response"

# SSE events replayed after a Last-Event-ID resumption count once: replay every sse_event of the
# capture in a second exchange (a GET with Last-Event-ID) and import again
$PY - rec.jsonl replayed.jsonl <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
out = [r for r in recs if r["kind"] != "end"]
sse = [r for r in recs if r["kind"] == "sse_event" and r.get("event_id")]
first = next(r for r in recs if r["kind"] == "http_request" and r["headers"].get("mcp-session-id") and r["method"] == "POST")
seq, ts, x = 10**6, recs[-1]["ts"], 10**6
req = dict(first, exchange=x, seq=seq, ts=ts, method="GET", len=0)
req.pop("msg", None); req.pop("b64", None)
req["headers"] = dict(first["headers"], **{"last-event-id": sse[0]["event_id"]})
out.append(req)
out.append({"mcptrail_tap": 1, "stream": first["stream"], "seq": seq + 1, "ts": ts, "kind": "http_response", "dir": "s2c",
            "exchange": x, "status": 200, "headers": {"content-type": "text/event-stream"}})
for i, e in enumerate(sse):
    out.append(dict(e, exchange=x, seq=seq + 2 + i, ts=ts))
out.append({"mcptrail_tap": 1, "stream": first["stream"], "seq": seq + 2 + len(sse), "ts": ts, "kind": "http_end", "dir": "s2c",
            "exchange": x, "outcome": "complete", "status": 200, "bytes_in": 0, "bytes_out": 0, "duration_ms": 1})
out.append(recs[-1])
with open(sys.argv[2], "w") as f:
    for r in out:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
"$MCPTRAIL" import -o replayed-events.jsonl replayed.jsonl 2>/dev/null || fail "import of the replayed capture"
for f in events.jsonl replayed-events.jsonl; do
	grep '"type":"mcp.tool_call"' $f | $PY -c 'import json,sys; print(sorted((e["call"]["rpc_id"], e["call"]["outcome"], e["call"]["attempts"]) for e in map(json.loads, sys.stdin)))'
done >calls.txt
[ "$(sed -n 1p calls.txt)" = "$(sed -n 2p calls.txt)" ] || { cat calls.txt; fail "replayed SSE events changed the calls"; }
$PY - replayed.jsonl events.jsonl replayed-events.jsonl <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
session = {r["exchange"]: r["headers"].get("mcp-session-id") for r in recs if r["kind"] == "http_request"}
resp_session = {r["exchange"]: r["headers"].get("mcp-session-id") for r in recs if r["kind"] == "http_response"}
seen, expected = set(), 0
for r in recs:
    if r["kind"] != "sse_event" or not r.get("event_id") or not r.get("len"):
        continue
    key = (session.get(r["exchange"]) or resp_session.get(r["exchange"]), r["event_id"])
    expected += key in seen
    seen.add(key)
summ = lambda p: [json.loads(l) for l in open(p) if '"ingest.summary"' in l][0]["ingest"]
check = lambda c, m: c or sys.exit("FAIL: " + m)
check(summ(sys.argv[2])["sse_replayed"] == 0, "replays counted in the original capture")
got = summ(sys.argv[3])["sse_replayed"]
check(expected > 0 and got == expected, f"{got} replays counted, {expected} replayed")
PY
echo "PASS"
