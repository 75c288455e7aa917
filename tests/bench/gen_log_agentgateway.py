#!/usr/bin/python3
"""Generates agentgateway access-log lines (JSON, with one text line in 10) for tests/bench/log_bench.sh.
usage: gen_log_agentgateway.py LINES [SEED] > FILE"""
import json
import random
import sys

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
subs = [f"svc-agent-{i}" for i in range(50)]
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo", "add"]
methods = ["tools/call"] * 6 + ["tools/list", "resources/read", "initialize"]
base = 1795000000.0
out = sys.stdout
for i in range(n):
    t = base + i * 0.001
    ts = f"{t:.6f}"
    sec, frac = ts.split(".")
    import time as _t
    iso = _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(int(sec))) + "." + frac + "Z"
    m = rng.choice(methods)
    rec = {"level": "info", "time": iso, "scope": "request", "route": "default/route0",
           "src.addr": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}:{rng.randrange(1024, 65535)}",
           "http.method": "POST", "http.path": "/mcp", "http.status": rng.choice([200] * 18 + [403, 500]),
           "trace.id": "%032x" % rng.getrandbits(128), "span.id": "%016x" % rng.getrandbits(64),
           "jwt.sub": rng.choice(subs), "protocol": "mcp", "mcp.method.name": m,
           "mcp.target": rng.choice(["github", "fs", "everything"]),
           "mcp.session.id": "%024x" % rng.getrandbits(96), "duration": f"{rng.randrange(1, 900)}ms"}
    if m == "tools/call":
        rec["mcp.resource.type"] = "tool"
        rec["gen_ai.tool.name"] = rng.choice(tools)
        if rng.random() < 0.05:
            rec["mcp.error.code"] = -32602
            rec["mcp.error.message"] = "invalid params"
    if i % 10 == 9:
        kv = " ".join(f"{k}={json.dumps(v) if isinstance(v, str) and ' ' in v else v}"
                      for k, v in rec.items() if k not in ("time", "level", "scope"))
        out.write(f"{iso}\tinfo\trequest {kv}\n")
    else:
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
