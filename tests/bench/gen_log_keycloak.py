#!/usr/bin/python3
"""Generates Keycloak event lines (JSON log, one REST representation in 4, one text line in 10) for
tests/bench/log_bench.sh.
usage: gen_log_keycloak.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
users = [f"user-{i}" for i in range(200)]
clients = ["https://agent.example.com/cimd.json", "svc-indexer", "mcp-gateway", "cli"]
kinds = [("CODE_TO_TOKEN", "authorization_code")] * 4 + [("CLIENT_LOGIN", "client_credentials")] * 3 + \
    [("REFRESH_TOKEN", "refresh_token")] * 2 + [("TOKEN_EXCHANGE", "urn:ietf:params:oauth:grant-type:token-exchange"),
                                                 ("LOGIN", None), ("CLIENT_LOGIN_ERROR", "client_credentials")]
base = 1795000000.0
out = sys.stdout
for i in range(n):
    t = base + i * 0.001
    ms = int(t * 1000)
    typ, gt = rng.choice(kinds)
    f = {"realmId": "mcp", "clientId": rng.choice(clients), "userId": rng.choice(users),
         "sessionId": "%016x" % rng.getrandbits(64), "ipAddress": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"}
    d = {}
    if gt:
        d["grant_type"] = gt
    if typ.endswith("_ERROR"):
        f["error"] = "invalid_client_credentials"
    elif gt:
        d["token_id"] = "%032x" % rng.getrandbits(128)
        d["scope"] = "openid tools:read"
    r = i % 10
    if r == 9:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(t))) + ",%03d" % (ms % 1000)
        msg = ", ".join(f'{k}="{v}"' for k, v in [("type", typ)] + list(f.items()) + list(d.items()))
        out.write(f"{stamp} DEBUG [org.keycloak.events] (executor-thread-1) {msg}\n")
    elif r % 4 == 0:
        out.write(json.dumps({"time": ms, "type": typ, **f, "details": d}, separators=(",", ":")) + "\n")
    else:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % (ms % 1000)
        msg = ", ".join(f'{k}="{v}"' for k, v in [("type", typ)] + list(f.items()) + list(d.items()))
        out.write(json.dumps({"timestamp": stamp, "sequence": i, "loggerClassName": "org.jboss.logging.Logger",
                              "loggerName": "org.keycloak.events", "level": "DEBUG", "message": msg,
                              "threadName": "executor-thread-1", "hostName": "kc-0"}, separators=(",", ":")) + "\n")
