#!/usr/bin/env bash
# Client ID Metadata Documents through import: a bearer token whose client_id is an https URL on
# an allowlisted host gets its document fetched (HTTPS, our CA, 127.0.0.1 allowed explicitly),
# validated and attached to the identity; when the document changes between two fetches, and when
# it breaks the CIMD rules, a finding says so. Off by default: nothing is fetched without
# --cimd-fetch.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=cimd CA" \
	-keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
	-keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem 2>/dev/null
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="https://localhost:$port/oauth/client.json"
# the document: valid the first time, then changed, and its client_id no longer matches the URL
$PY - "$port" "$url" >server.log 2>&1 <<'PY' &
import http.server, json, ssl, sys
port, url = int(sys.argv[1]), sys.argv[2]
served = [0]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        served[0] += 1
        doc = {"client_id": url if served[0] == 1 else url + "x", "client_name": f"Agent v{served[0]}",
               "redirect_uris": ["http://127.0.0.1:1/cb"], "token_endpoint_auth_method": "none"}
        body = json.dumps(doc).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
srv = http.server.HTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain("srv.pem", "srv.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
# a HAR with two calls two hours apart (past the one-hour document cache), same token
$PY - "$url" >two-calls.har <<'PY'
import base64, json, sys
url = sys.argv[1]
b64 = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")
tok = b64({"alg": "none", "typ": "at+jwt"}) + "." + b64({"iss": "https://idp.test", "sub": "alice", "client_id": url, "scope": "tools:call"}) + "."
def entry(t, rid):
    req = {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}
    res = {"jsonrpc": "2.0", "id": rid, "result": {"content": []}}
    return {"startedDateTime": t, "time": 5,
            "request": {"method": "POST", "url": "https://mcp.test/mcp", "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "Authorization", "value": "Bearer " + tok}, {"name": "Mcp-Session-Id", "value": "s1"}],
                        "postData": {"mimeType": "application/json", "text": json.dumps(req)}},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Content-Type", "value": "application/json"}],
                         "content": {"size": 0, "mimeType": "application/json", "text": json.dumps(res)}}}
print(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                          "entries": [entry("2026-11-27T10:00:00.000Z", 1), entry("2026-11-27T12:00:00.000Z", 2)]}}))
PY
for _ in $(seq 50); do curl -s --cacert ca.pem -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
# the probe above took version 1; restart the count by importing twice: first without fetching
"$MCPTRAIL" import -o off.jsonl two-calls.har 2>/dev/null || fail "import without --cimd-fetch"
! grep -q client_metadata off.jsonl || fail "fetched without --cimd-fetch"
"$MCPTRAIL" import -o on.jsonl --cimd-fetch --cimd-allow localhost --cimd-allow-private --cimd-ca ca.pem \
	two-calls.har 2>import.err || { cat import.err; fail "import with --cimd-fetch"; }
validate_events on.jsonl --require-types finding,mcp.tool_call
$PY - on.jsonl <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
calls = [e for e in ev if e["type"] == "mcp.tool_call"]
meta = calls[0]["identity"].get("client_metadata")
check(meta and meta["sha256"] and meta["status"] in ("ok", "invalid"), f"client metadata on the identity: {meta}")
kinds = sorted(e["finding"]["kind"] for e in ev if e["type"] == "finding")
check("client_metadata_changed" in kinds and "client_metadata_invalid" in kinds, f"findings {kinds}")
print("CIMD findings:", kinds)
PY
echo "PASS"
