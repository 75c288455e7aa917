#!/usr/bin/env bash
# tap-http under hostile input, and over TLS: oversized headers and bodies get a clear 4xx,
# garbage requests and broken tokens never crash it, everything refused is still recorded; TLS on
# the listener and a verified https upstream work, an unverifiable upstream gives 502.
source "$(dirname "$0")/lib.sh" "$@"
need_peers
cd "$WORK"
read -r up tap tls tapb tapc < <($PY -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
PORT=$up node "$EVERYTHING" streamableHttp >server.log 2>&1 &
pids=$!
"$MCPTRAIL" tap-http --listen 127.0.0.1:$tap --upstream http://127.0.0.1:$up/mcp --out rec.jsonl \
	--fingerprint-key fp.key --max-body 1M 2>tap.err &
tap_pid=$!
pids="$pids $tap_pid"
trap 'kill $pids 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$up/mcp && curl -s -o /dev/null http://127.0.0.1:$tap/mcp && break; sleep 0.1; done

$PY - $tap <<'PY'
import json, socket, sys, urllib.request, urllib.error
port = int(sys.argv[1])
url = f"http://127.0.0.1:{port}/mcp"
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def post(body, headers=None, method="POST"):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=body, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
init = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "hostile", "version": "1"}}}).encode()
st, _ = post(init, {"X-Huge": "h" * 100_000})
check(st == 431, f"huge header gave {st}, expected 431")
st, _ = post(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"p" * (2 << 20) + b'"}}')
check(st == 413, f"huge body gave {st}, expected 413")
st, _ = post(b"{not json", {"Authorization": "Bearer a.b.c"})
check(400 <= st < 500, f"invalid JSON body gave {st}")
st, _ = post(init, {"Authorization": "Bearer " + "x" * 20000})
check(st in (200, 400, 431), f"huge opaque token gave {st}")  # node itself caps headers at 16 KiB
st, _ = post(b'{"jsonrpc":"2.0","id":2,"method":"ping"}', method="PUT")
check(st == 405, f"PUT gave {st}, expected 405")
# raw garbage, a truncated request, invalid UTF-8 in a header value
for raw in (b"\x00\x01GARBAGE\r\n\r\n", b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"",
            b"POST /mcp HTTP/1.1\r\nHost: x\r\nX-Bad: \xff\xfe\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    s.shutdown(socket.SHUT_WR)
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
# still alive and working
st, body = post(init, {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ."})
check(st == 200 and b'"protocolVersion"' in body, f"after the abuse, initialize gave {st}")
print("hostile requests answered as expected")
PY

kill -TERM $tap_pid
wait $tap_pid || fail "tap-http did not exit 0"
$PY - rec.jsonl <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]   # every line is valid JSON, even with \xff headers
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
ends = [r for r in recs if r["kind"] == "http_end"]
rejected = sorted(r["status"] for r in ends if r["outcome"] == "rejected")
check(rejected == [405, 413, 431], f"rejected exchanges recorded: {rejected}")
auth = [r["auth"] for r in recs if r["kind"] == "http_request" and r.get("auth")]
check(any(a.get("verification") == "malformed" or a.get("token_kind") == "opaque" for a in auth), f"broken tokens recorded as such: {auth}")
check(all("x" * 100 not in json.dumps(a) for a in auth), "the raw opaque token leaked")
check(any(r["kind"] == "http_request" and "\ufffd" in json.dumps(r.get("headers", {}), ensure_ascii=False) for r in recs),
      "invalid UTF-8 header value recorded as U+FFFD")
print(f"{len(recs)} records, rejections {rejected}")
PY
"$MCPTRAIL" import -o events.jsonl rec.jsonl 2>/dev/null || fail "import failed"
validate_events events.jsonl --require-types mcp.http_error,mcp.invalid_message

# --- TLS: client → tap B (http) → tap A (https listener) → server; B verifies A with our CA ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=mcptrail test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile san.ext 2>/dev/null
"$MCPTRAIL" tap-http --listen 127.0.0.1:$tls --upstream http://127.0.0.1:$up/mcp --out rec-tls.jsonl \
	--fingerprint-key fp.key --tls-cert srv.pem --tls-key srv.key 2>/dev/null &
pids="$pids $!"
"$MCPTRAIL" tap-http --listen 127.0.0.1:$tapb --upstream https://localhost:$tls/mcp --upstream-ca ca.pem \
	--out rec-b.jsonl --fingerprint-key fp.key 2>/dev/null &
pids="$pids $!"
"$MCPTRAIL" tap-http --listen 127.0.0.1:$tapc --upstream https://localhost:$tls/mcp \
	--out rec-c.jsonl --fingerprint-key fp.key 2>/dev/null &
pids="$pids $!"
sleep 1
body='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"tls","version":"1"}}}'
hdrs=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
out=$(curl -s --cacert ca.pem "${hdrs[@]}" -d "$body" https://localhost:$tls/mcp) || fail "TLS listener refused a verified client"
grep -q protocolVersion <<<"$out" || fail "no initialize result over TLS"
out=$(curl -s "${hdrs[@]}" -d "$body" http://127.0.0.1:$tapb/mcp) || fail "chain through the https upstream failed"
grep -q protocolVersion <<<"$out" || fail "no initialize result through the verified https upstream"
code=$(curl -s -o /dev/null -w '%{http_code}' "${hdrs[@]}" -d "$body" http://127.0.0.1:$tapc/mcp)
[ "$code" = 502 ] || fail "an upstream with an unverifiable certificate gave $code, expected 502"
echo "PASS"
