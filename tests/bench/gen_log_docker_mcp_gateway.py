#!/usr/bin/python3
"""Generates Docker MCP Gateway lines for tests/bench/log_bench.sh: timestamped --log-calls pairs
(start + end line, as `docker logs -t` prints them) and, one line in 5, a policy AuditEvent.
usage: gen_log_docker_mcp_gateway.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo", "add"]
servers = ["github", "fs", "everything"]
actors = [f"u-{i}" for i in range(50)]
base = 1795000000
out = sys.stdout
for i in range(n):
    t = base + i * 0.001
    sec = int(t)
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%09dZ" % int((t - sec) * 1e9)
    tool = rng.choice(tools)
    if i % 5 == 4:
        denied = rng.random() < 0.1
        rec = {"actor_type": "user", "actor_id": rng.choice(actors), "org_id": "acme",
               "trigger": "invoke", "target_type": "tool", "server_name": rng.choice(servers),
               "tool_name": tool, "result": "denied" if denied else "allowed",
               "outcome_reason": "policy_rule", "client_name": "claude-ai",
               "client_version": "0.7.1", "session_id": "%024x" % rng.getrandbits(96),
               "trace_id": "%032x" % rng.getrandbits(128), "timestamp": iso}
        if denied:
            rec["reason"] = "tool blocked by org policy"
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
    elif i % 2 == 0:
        out.write(f'{iso}   - Calling tool {tool} with arguments: {{"q":"x{i}"}}\n')
    else:
        out.write(f"{iso}   > Calling tool {tool} took: {rng.randrange(1, 900000) / 1000}ms\n")
