#!/usr/bin/python3
"""Generates Envoy JSON access-log lines with MCP metadata for tests/bench/log_bench.sh: flat
Envoy AI Gateway keys, Kuadrant x-mcp-* headers, nested dynamic metadata, and plain (non-MCP)
lines, in turn.
usage: gen_log_envoy_access.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
subs = [f"svc-agent-{i}" for i in range(50)]
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo", "add"]
methods = ["tools/call"] * 6 + ["tools/list", "resources/read"]
backends = ["github", "fs", "everything"]
base = 1795000000
out = sys.stdout
for i in range(n):
    t = base + i * 0.001
    sec = int(t)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%03dZ" % int((t - sec) * 1000)
    rec = {"start_time": iso, "method": "POST", "path": "/mcp", "protocol": "HTTP/1.1",
           "response_code": rng.choice([200] * 18 + [403, 503]), "response_flags": "-",
           "bytes_received": rng.randrange(100, 4000), "bytes_sent": rng.randrange(100, 40000),
           "duration": rng.randrange(1, 900), "upstream_host": f"10.0.0.{rng.randrange(256)}:8080",
           "downstream_remote_address": f"10.1.{rng.randrange(256)}.{rng.randrange(256)}:{rng.randrange(1024, 65535)}",
           "user_agent": "claude-code/1.0", "x-request-id": "%032x" % rng.getrandbits(128)}
    m = rng.choice(methods)
    tool = rng.choice(tools) if m == "tools/call" else None
    sid = "%024x" % rng.getrandbits(96)
    kind = i % 4
    if kind == 0:
        rec.update({"mcp.method.name": m, "mcp.provider.name": rng.choice(backends),
                    "mcp.session.id": sid, "mcp_request_id": str(rng.randrange(1, 1000)),
                    "x-mcp-verified-sub": rng.choice(subs),
                    "traceparent": "00-%032x-%016x-01" % (rng.getrandbits(128), rng.getrandbits(64))})
        if tool:
            rec["mcp.tool.name"] = tool
    elif kind == 1:
        rec.update({"x-mcp-method": m, "x-mcp-servername": rng.choice(backends),
                    "mcp-session-id": sid, "x-mcp-caller-id": rng.choice(subs)})
        if tool:
            rec["x-mcp-toolname"] = tool
    elif kind == 2:
        md = {"mcp_method": m, "mcp_backend": rng.choice(backends), "mcp_session_id": sid}
        if tool:
            md["mcp_tool_name"] = tool
        rec["dynamic_metadata"] = {"io.envoy.ai_gateway": md}
    else:
        rec.update({"method": "GET", "path": "/healthz"})
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
