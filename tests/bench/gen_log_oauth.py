#!/usr/bin/python3
"""Generates generic OAuth token-endpoint lines (parsers/log_oauth.c) for tests/bench/log_bench.sh.
usage: gen_log_oauth.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
grants = ["authorization_code"] * 4 + ["client_credentials"] * 3 + [
    "urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:jwt-bearer"]
base = 1795000000.0
out = sys.stdout
for i in range(n):
    t = base + i * 0.001
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % (int(t * 1000) % 1000)
    g = rng.choice(grants)
    rec = {"time": stamp, "issuer": "https://idp.example.com", "grant_type": g,
           "client_id": rng.choice(["https://agent.example.com/cimd.json", "svc-indexer"]),
           "subject": f"user-{rng.randrange(200)}", "scope": "openid tools:read",
           "jti": "%032x" % rng.getrandbits(128), "exp": int(t) + 3600}
    if g.endswith("token-exchange"):
        rec["requested_token_type"] = "urn:ietf:params:oauth:token-type:id-jag"
        rec["act"] = {"sub": f"agent-{rng.randrange(10)}"}
    if rng.random() < 0.05:
        rec["error"] = "invalid_client"
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
