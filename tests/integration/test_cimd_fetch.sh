#!/usr/bin/env bash
# CIMD fetches against a real HTTPS server on 127.0.0.1: a CA and certificates made here with
# openssl, a small Python server with one path per case, and the fetch tests of the test_cimd unit
# binary (skipped when run without this environment). Cases: a valid document (Content-Length,
# chunked, close-delimited), a document that changes after the cache TTL, an invalid one, the wrong
# CA, a certificate for another name, 127.0.0.1 without allow_private (never contacted), bodies over
# the limit, a server that never answers and one that stalls mid-body, a redirect, a 404, a
# truncated and a short body. Nothing but 127.0.0.1 / localhost is contacted.
source "$(dirname "$0")/lib.sh" "$@"
BUILD=$(dirname "$MCPTRAIL")
TEST_BIN=$BUILD/tests/test_cimd
[ -x "$TEST_BIN" ] || fail "$TEST_BIN missing (build the unit tests)"
command -v openssl >/dev/null || fail "openssl command missing"
cd "$WORK"

# --- certificates: a CA, a server certificate for localhost / 127.0.0.1, one for another name
# signed by the same CA, and an unrelated CA ---
make_ca() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=mcptrail cimd test $1" -keyout "$1.key" -out "$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>>openssl.log
}
make_leaf() { # NAME SAN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>>openssl.log
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem" 2>>openssl.log
}
make_ca ca || fail "CA: $(cat openssl.log)"
make_ca wrong-ca || fail "second CA: $(cat openssl.log)"
make_leaf localhost "DNS:localhost,IP:127.0.0.1" || fail "server certificate: $(cat openssl.log)"
make_leaf other.example "DNS:other.example" || fail "mismatch certificate: $(cat openssl.log)"

# --- the server ---
cat >server.py <<'PY'
import http.server, json, os, socket, ssl, sys, threading, time

ready_file, log_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
changes = 0

def document(url, name, **extra):
    doc = {"client_id": url, "client_name": name, "redirect_uris": ["http://127.0.0.1:33418/cb"],
           "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none"}
    doc.update(extra)
    return json.dumps(doc).encode()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    clean_close = True

    def log_message(self, *args):
        pass

    def head(self, status=200, length=None, chunked=False, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in extra:
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", str(length))
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
        self.end_headers()

    def send_body(self, body, mode="length"):
        if mode == "length":
            self.head(length=len(body))
            self.wfile.write(body)
        elif mode == "chunked":
            self.head(chunked=True)
            for i in range(0, len(body), 100):
                part = body[i:i + 100]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:  # close-delimited
            self.head()
            self.wfile.write(body)
            self.close_connection = True
        self.wfile.flush()

    def do_GET(self):
        global changes
        with lock, open(log_file, "a") as f:
            f.write(self.path + "\n")
        url = "https://" + self.headers.get("Host", "") + self.path
        if self.headers.get("Accept") != "application/json":
            self.send_error(406)
            return
        p = self.path
        pad = "x" * 4096
        if p == "/good.json":
            self.send_body(document(url, "Good Agent"))
        elif p == "/chunked.json":
            self.send_body(document(url, "Chunked Agent"), "chunked")
        elif p == "/close.json":
            self.send_body(document(url, "Close Agent"), "close")
        elif p == "/changing.json":
            with lock:
                changes += 1
                n = changes
            self.send_body(document(url, "Agent v%d" % n))
        elif p == "/invalid.json":
            self.send_body(document(url + "/", "Bad Agent", token_endpoint_auth_method="client_secret_basic",
                                    client_secret="s3cret"))
        elif p == "/big.json":
            self.send_body(document(url, "Big Agent", pad=pad))
        elif p == "/big-chunked.json":
            self.send_body(document(url, "Big Agent", pad=pad), "chunked")
        elif p == "/big-close.json":
            self.send_body(document(url, "Big Agent", pad=pad), "close")
        elif p == "/truncated.json":
            self.clean_close = False
            self.send_body(document(url, "Truncated Agent"), "close")
        elif p == "/short.json":
            self.clean_close = False
            body = document(url, "Short Agent")
            self.head(length=len(body) + 100)
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
        elif p == "/stall.json":
            body = document(url, "Stalling Agent")
            self.head(length=len(body))
            self.wfile.write(body[:10])
            self.wfile.flush()
            time.sleep(5)
            self.close_connection = True
        elif p == "/redirect.json":
            self.head(302, length=0, extra=[("Location", "/good.json")])
        else:
            self.head(404, length=0)

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ctx):
        self.ctx = ctx
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        # TLS per connection, in the connection's thread
        try:
            request.settimeout(10)
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            h = self.RequestHandlerClass(conn, client_address, self)
            if h.clean_close:
                conn.unwrap()  # close_notify
        except (ssl.SSLError, OSError, ValueError):
            pass
        finally:
            conn.close()

def context(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(name + ".pem", name + ".key")
    return ctx

main = Server(context("localhost"))
mismatch = Server(context("other.example"))
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(16)  # never accepted: the handshake waits forever
for s in (main, mismatch):
    threading.Thread(target=s.serve_forever, daemon=True).start()
with open(ready_file + ".tmp", "w") as f:
    json.dump({"port": main.server_address[1], "mismatch": mismatch.server_address[1],
               "silent": silent.getsockname()[1]}, f)
os.rename(ready_file + ".tmp", ready_file)
while True:
    time.sleep(3600)
PY

: >requests.log
$PY server.py ready.json requests.log 2>server.err &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	[ -f ready.json ] && break
	kill -0 $SERVER_PID 2>/dev/null || fail "server exited: $(cat server.err)"
	sleep 0.1
done
[ -f ready.json ] || fail "server did not start"
port() { $PY -c 'import json,sys; print(json.load(open("ready.json"))[sys.argv[1]])' "$1"; }

export MCPTRAIL_CIMD_TEST_URL="https://localhost:$(port port)"
export MCPTRAIL_CIMD_TEST_MISMATCH_URL="https://localhost:$(port mismatch)"
export MCPTRAIL_CIMD_TEST_SILENT_PORT="$(port silent)"
export MCPTRAIL_CIMD_TEST_CA="$WORK/ca.pem"
export MCPTRAIL_CIMD_TEST_WRONG_CA="$WORK/wrong-ca.pem"

"$TEST_BIN" >test.out 2>&1 || {
	cat test.out >&2
	fail "test_cimd fetch tests failed"
}
cat test.out
grep -q "SKIPPED" test.out && fail "fetch tests were skipped"
grep -q "test_fetch_timeout" test.out || fail "fetch tests did not run"
grep -qx "/good.json" requests.log || fail "the server never served /good.json"
grep -q "/private.json" requests.log && fail "a private address was contacted"
echo "PASS: cimd fetch"
