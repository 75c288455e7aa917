#!/usr/bin/python3
"""Generates IBM ContextForge log lines for tests/bench/log_bench.sh: audit_trails rows (half of
them tool executions, the rest administrative CRUD), SIEM envelopes, structured tool-invoke
entries and token-exchange audit events.
usage: gen_log_contextforge.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
tools = ["create_issue", "search", "read_file", "write_file", "delete_repo", "echo"]
users = ["user%d@example.com" % i for i in range(50)]
out = sys.stdout
dumps = json.JSONEncoder(separators=(",", ":")).encode
for i in range(n):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1795000000 + i // 1000)) + ".%03d000+00:00" % (i % 1000)
    user = rng.choice(users)
    ok = rng.random() < 0.93
    kind = rng.random()
    if kind < 0.55:
        execute = kind < 0.40
        rec = {"id": "%032x" % rng.getrandbits(128), "timestamp": ts, "correlation_id": "corr-%d" % i,
               "request_id": "req-%d" % i, "action": "EXECUTE" if execute else rng.choice(["CREATE", "UPDATE", "DELETE", "READ"]),
               "resource_type": "tool" if execute else rng.choice(["server", "tool", "token", "gateway"]),
               "resource_id": "%016x" % rng.getrandbits(64), "resource_name": rng.choice(tools),
               "user_id": user, "user_email": user, "team_id": "team-%d" % rng.randrange(5),
               "client_ip": "10.0.%d.%d" % (rng.randrange(256), rng.randrange(256)), "user_agent": "claude-code/1.0",
               "request_path": "/rpc", "request_method": "POST", "old_values": None, "new_values": None, "changes": None,
               "data_classification": "internal", "requires_review": False, "success": ok,
               "error_message": None if ok else "Permission denied", "context": {"gateway_name": "github"},
               "auth_method": "bearer", "acting_as": "svc-agent@example.com" if rng.random() < 0.3 else None,
               "delegation_chain": {"chain": ["orchestrator@example.com"]} if rng.random() < 0.2 else None}
    elif kind < 0.75:
        tool = rng.choice(tools)
        rec = {"schema_version": "1.0", "event_id": "evt_%012x" % rng.getrandbits(48), "timestamp": ts,
               "event_type": "audit_execute" if kind < 0.70 else "authentication_success", "severity": "LOW",
               "category": "audit", "description": "Audit action EXECUTE on tool/%s (%s)" % (i, tool),
               "source": {"service": "mcpgateway", "version": "1.0.0", "instance_id": "cf-0", "event_source": "audit"},
               "actor": {"user_id": user, "user_email": "***REDACTED***", "client_ip": "10.0.0.%d" % rng.randrange(256),
                         "user_agent": "cursor/0.5", "geo": None},
               "threat": {"score": 0.1, "failed_attempts": 0, "indicators": []},
               "context": {"action": "EXECUTE", "resource_type": "tool", "resource_id": str(i), "resource_name": tool,
                           "data_classification": "internal", "requires_review": False, "success": ok,
                           "correlation_id": "corr-%d" % i},
               "action_taken": "allowed" if ok else "denied", "_meta": {"attempt": 0}}
    elif kind < 0.95:
        rec = {"timestamp": ts, "level": "INFO" if ok else "ERROR", "component": "tool_service",
               "message": "Tool invoked", "category": "business_logic", "user_id": user, "user_email": user,
               "resource_type": "tool", "resource_id": "t-%d" % rng.randrange(100), "resource_action": "invoke",
               "duration_ms": round(rng.uniform(1, 900), 2), "custom_fields": {"tool_name": rng.choice(tools)},
               "correlation_id": "corr-%d" % i, "trace_id": "%032x" % rng.getrandbits(128),
               "span_id": "%016x" % rng.getrandbits(64), "hostname": "cf-0", "process_id": 17}
        if not ok:
            rec["error_message"] = "upstream timeout"
    else:
        rec = {"event": "token-exchange", "timestamp": ts, "user_email": user, "gateway_id": "gw-%d" % rng.randrange(10),
               "target_audience": "https://api%d.example" % rng.randrange(10), "success": ok,
               "exchanged_token_expires_in": 3600 if ok else None, "upstream": "https://idp.example/token",
               "latency_ms": rng.randrange(5, 300), "error": None if ok else "invalid_grant",
               "correlation_id": "corr-%d" % i, "request_id": None}
    out.write(dumps(rec) + "\n")
