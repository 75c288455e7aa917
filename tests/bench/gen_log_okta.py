#!/usr/bin/python3
"""Generates Okta System Log token-grant events (and some sign-ins) for tests/bench/log_bench.sh.
usage: gen_log_okta.py LINES [SEED] > FILE"""
import json
import random
import sys
import time

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
apps = [f"0oa{i:05d}" for i in range(20)]
users = [f"00u{i:05d}" for i in range(200)]
base = 1795000000.0
out = sys.stdout
for i in range(n):
    t = base + i * 0.001
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % (int(t * 1000) % 1000)
    app = rng.choice(apps)
    gt = rng.choice(["authorization_code", "authorization_code", "client_credentials", "refresh_token"])
    kind = rng.choice(["access_token"] * 3 + ["id_token"])
    ok = rng.random() > 0.05
    ev = {"uuid": "%032x" % rng.getrandbits(128), "published": stamp,
          "eventType": f"app.oauth2.as.token.grant.{kind}" if i % 10 else "user.session.start",
          "version": "0", "severity": "INFO", "displayMessage": "OAuth2 token is granted",
          "actor": {"id": app, "type": "PublicClientApp", "alternateId": app, "displayName": "App"},
          "client": {"userAgent": {"rawUserAgent": "python-httpx/0.27"}, "ipAddress": f"198.51.100.{rng.randrange(256)}"},
          "outcome": {"result": "SUCCESS" if ok else "FAILURE", "reason": None if ok else "invalid_client"},
          "debugContext": {"debugData": {"grantType": gt, "grantedScopes": "openid mcp:tools"}},
          "target": [{"id": "AT.%022x" % rng.getrandbits(88), "type": kind,
                      "detailEntry": {"expires": stamp, "subject": rng.choice(users)}},
                     {"id": "aus1mcp", "type": "AuthorizationServer", "alternateId": "https://example.okta.com/oauth2/aus1mcp"}]}
    out.write(json.dumps(ev, separators=(",", ":")) + "\n")
