#!/usr/bin/python3
"""Generates ToolHive audit events (slog JSON) for tests/bench/log_bench.sh.
usage: gen_log_toolhive.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
types = [("mcp_tool_call", "tools/call")] * 6 + [("mcp_tools_list", "tools/list"), ("mcp_resource_read", "resources/read")]
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo"]
out = sys.stdout
for i in range(n):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1795000000 + i // 1000)) + ".%03dZ" % (i % 1000)
    typ, method = rng.choice(types)
    target = {"type": "tool", "name": rng.choice(tools), "method": method} if method == "tools/call" else {"method": method, "uri": "file:///x"}
    rec = {"time": ts, "level": "AUDIT", "msg": "audit_event", "audit_id": "%032x" % rng.getrandbits(128),
           "type": typ, "logged_at": ts, "outcome": rng.choice(["success"] * 18 + ["denied", "failure"]),
           "component": rng.choice(["github", "fs"]),
           "source": {"type": "network", "value": "10.0.%d.%d" % (rng.randrange(256), rng.randrange(256)),
                      "extra": {"user_agent": "claude-code/1.0", "request_id": "r%d" % i, "session_id": "s%d" % rng.randrange(1000)}},
           "subjects": {"user": "User %d" % rng.randrange(50), "user_id": "sub-%d" % rng.randrange(50), "client_name": "claude-code", "client_version": "1.0"},
           "target": target, "metadata": {"extra": {"mcp_version": "2025-06-18", "transport": "streamable-http", "duration_ms": rng.randrange(1, 900)}}}
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
