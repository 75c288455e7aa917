#!/usr/bin/python3
"""Generates Teleport audit events about MCP sessions (mcp.session.*) for tests/bench/log_bench.sh:
mostly mcp.session.request events (tools/call, tools/list, resources/read), some notifications,
session start/end and invalid HTTP requests, a few access denials.
usage: gen_log_teleport.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo"]
users = ["user-%d" % i for i in range(50)]
sids = ["%08x-0000-4000-8000-%012x" % (rng.getrandbits(32), rng.getrandbits(48)) for _ in range(500)]
server = "a0518380-0d53-4188-ac8b-8ddd8103e45b"
out = sys.stdout
dumps = json.JSONEncoder(separators=(",", ":")).encode
for i in range(n):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1795000000 + i // 1000)) + ".%03dZ" % (i % 1000)
    rec = {"ei": i, "namespace": "default", "server_id": server, "sid": rng.choice(sids), "time": ts,
           "uid": "u-%d" % i, "user": rng.choice(users), "app_name": rng.choice(["mcp-everything", "github"])}
    kind = rng.random()
    if kind < 0.80:
        method = rng.choice(["tools/call"] * 6 + ["tools/list", "resources/read"])
        params = {"name": rng.choice(tools), "arguments": {"q": "x"}} if method == "tools/call" else \
            {"uri": "file:///x"} if method == "resources/read" else {}
        denied = method == "tools/call" and rng.random() < 0.05
        rec.update({"event": "mcp.session.request", "code": "TMCP003E" if denied else "TMCP003I",
                    "success": not denied,
                    "message": {"jsonrpc": "2.0", "method": method, "id": rng.choice([i, str(i)]), "params": params}})
        if denied:
            rec["error"] = "access denied to MCP tool %s" % json.dumps(params["name"])
    elif kind < 0.88:
        rec.update({"event": "mcp.session.notification", "code": "TMCP004I", "success": True,
                    "message": {"jsonrpc": "2.0", "method": "notifications/initialized"}})
    elif kind < 0.96:
        start = kind < 0.92
        rec.update({"event": "mcp.session.start" if start else "mcp.session.end",
                    "code": "TMCP001I" if start else "TMCP002I", "success": True})
    else:
        rec.update({"event": "mcp.session.invalid_http_request", "code": "TMCP006E", "success": False,
                    "error": "invalid request", "path": "/mcp", "method": "GET"})
    out.write(dumps(rec) + "\n")
