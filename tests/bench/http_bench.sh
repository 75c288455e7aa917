#!/usr/bin/env bash
# tap-http overhead: p50/p99 latency and requests/s, direct vs through the tap, same run.
#   tests/bench/http_bench.sh [BUILD_DIR] [REQUESTS] [CONCURRENCY] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
EVERYTHING=tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js
[ -f "$EVERYTHING" ] || (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d)
read -r up tap < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
PORT=$up node "$EVERYTHING" streamableHttp >"$work/server.log" 2>&1 &
server=$!
"$BUILD/mcptrail" tap-http --listen 127.0.0.1:$tap --upstream http://127.0.0.1:$up/mcp \
	--out "$work/rec.jsonl" --fingerprint-key "$work/fp.key" 2>"$work/tap.err" &
tapp=$!
trap 'kill $tapp $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$up/mcp && curl -s -o /dev/null http://127.0.0.1:$tap/mcp && break; sleep 0.1; done
echo "== tap-http overhead (server-everything, MCP ping over Streamable HTTP, loopback) =="
node tests/bench/http_latency.mjs "http://127.0.0.1:$up/mcp" "http://127.0.0.1:$tap/mcp" "${2:-2000}" "${3:-16}" "${4:-5}"
kill -TERM $tapp; wait $tapp || true
echo "recorded $(wc -l <"$work/rec.jsonl") records, $(du -h "$work/rec.jsonl" | cut -f1)"
