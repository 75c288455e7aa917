#!/usr/bin/python3
"""Generates OTLP/JSON log lines (one ExportLogsServiceRequest per line, 1 to 8 log records each,
one record in 8 not an MCP request) for tests/bench/log_bench.sh. LINES counts lines (requests).
usage: gen_log_otlp.py LINES [SEED] > FILE"""
import json
import random
import sys

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
subs = [f"svc-agent-{i}" for i in range(50)]
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo", "add"]
methods = ["tools/call"] * 6 + ["tools/list", "resources/read"]
services = ["github-mcp", "fs-mcp", "everything"]
base = 1795000000 * 10**9
out = sys.stdout


def s(k, v):
    return {"key": k, "value": {"stringValue": v}}


t = base
for i in range(n):
    recs = []
    for _ in range(rng.randrange(1, 9)):
        t += 1000000
        if rng.random() < 0.125:
            recs.append({"timeUnixNano": str(t), "severityText": "INFO",
                         "body": {"stringValue": "listening"}, "attributes": [s("http.route", "/mcp")]})
            continue
        m = rng.choice(methods)
        attrs = [s("mcp.method.name", m), s("mcp.session.id", "%024x" % rng.getrandbits(96)),
                 s("mcp.protocol.version", "2025-11-25"),
                 {"key": "jsonrpc.request.id", "value": {"intValue": str(rng.randrange(1, 10000))}},
                 s("enduser.id", rng.choice(subs)), s("client.address", f"10.1.{rng.randrange(256)}.{rng.randrange(256)}"),
                 {"key": "mcp.request.duration_ms", "value": {"doubleValue": rng.randrange(1, 900000) / 1000}}]
        if m == "tools/call":
            attrs.append(s("gen_ai.tool.name", rng.choice(tools)))
            if rng.random() < 0.05:
                attrs.append(s("error.type", "tool_error"))
        elif m == "resources/read":
            attrs.append(s("mcp.resource.uri", "file:///data/%d" % rng.randrange(100)))
        recs.append({"timeUnixNano": str(t), "observedTimeUnixNano": str(t + 1000), "severityNumber": 9,
                     "severityText": "INFO", "body": {"stringValue": "mcp request"}, "attributes": attrs,
                     "traceId": "%032x" % rng.getrandbits(128), "spanId": "%016x" % rng.getrandbits(64)})
    req = {"resourceLogs": [{"resource": {"attributes": [s("service.name", rng.choice(services))]},
                             "scopeLogs": [{"scope": {"name": "mcp.server", "version": "1.0"}, "logRecords": recs}]}]}
    out.write(json.dumps(req, separators=(",", ":")) + "\n")
