#!/usr/bin/env bash
# Identity-provider logs (keycloak, okta, oauth): every grant becomes an identity.grant event, bad
# lines are counted without hurting their neighbours, and a call whose token an IdP log issued
# (matched by jti) carries `grant` and the grant's subject, client and scopes.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
LOGS=$SRC/tests/data/logs
imp() { # OUT args...
	local out=$1
	shift
	"$MCPTRAIL" import -o "$out" "$@" 2>"$out.err" || { cat "$out.err"; fail "import $*"; }
	validate_events "$out"
}
imp kc.auto "$LOGS/keycloak.jsonl"
imp kc.text "$LOGS/keycloak.log"
imp kc.named --format keycloak "$LOGS/keycloak.jsonl"
imp okta.auto "$LOGS/okta.jsonl"
imp okta.named --format okta "$LOGS/okta.jsonl"
imp oauth.auto "$LOGS/oauth.jsonl"
imp oauth.named --format oauth "$LOGS/oauth.jsonl"
# a mixed file: Keycloak, Okta and oauth lines interleaved
paste -d '\n' "$LOGS/keycloak.jsonl" "$LOGS/okta.jsonl" "$LOGS/oauth.jsonl" | grep -v '^$' >mixed.jsonl
imp mixed mixed.jsonl
# a grant and the HAR capture presenting its token; an agentgateway line naming only a jti
imp joined "$LOGS/oauth-har-grant.jsonl" "$LOGS/oauth.jsonl" "$LOGS/agentgateway-jti-only.jsonl" \
	"$SRC/tests/data/captures/mcp-session.har"
! grep -q 'eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20i' joined || fail "raw token in the events"
$PY - <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
def load(p):
    return [json.loads(l) for l in open(p)]
def grants(ev):
    return [e for e in ev if e["type"] == "identity.grant"]
def summaries(ev):
    return [e["ingest"] for e in ev if e["type"] == "ingest.summary"]
for name, fmt, ngrants, nbad in (("kc", "keycloak", 4, 2), ("okta", "okta", 4, 2), ("oauth", "oauth", 5, 2)):
    for mode in ("auto", "named"):
        ev = load(f"{name}.{mode}")
        g = grants(ev)
        check(len(g) == ngrants, f"{name}.{mode}: {len(g)} grants")
        check(all(e["grant"]["format"] == fmt for e in g), f"{name}.{mode}: format")
        s = summaries(ev)[0]
        check(s["format"] == fmt and s["bad_lines"] == nbad, f"{name}.{mode}: summary {s}")
        check(len([e for e in ev if e["type"] == "ingest.error"]) == nbad, f"{name}.{mode}: ingest.error count")
kc = load("kc.auto") + load("kc.text")
g = grants(kc)
check(len(g) == 6, f"keycloak json + text: {len(g)} grants")
by = {e["grant"].get("token_id"): e for e in g}
check(by["kc-at-1"]["identity"]["subject"] == "alice" and by["kc-at-1"]["identity"]["issuer"] == "keycloak:mcp", "kc-at-1 identity")
check(by["kc-at-1"]["identity"].get("client_id_is_cimd") is True, "CIMD client id flagged")
check(by["kc-at-2"]["grant"]["grant_type"] == "client_credentials", "kc-at-2 grant type")
check(by["kc-at-3"]["grant"]["grant_type"] == "token_exchange" and by["kc-at-3"]["grant"]["audience"] == "github-mcp", "kc-at-3")
check(by["kc-at-4"]["grant"]["grant_type"] == "refresh_token", "kc-at-4 from the text log")
fails = [e for e in g if not e["grant"]["success"]]
check(sorted(e["grant"]["error"] for e in fails) == ["invalid_client_credentials", "invalid_code"], f"keycloak failures {fails}")
ok = {e["grant"].get("token_id"): e for e in grants(load("okta.auto"))}
check(ok["AT.okta-1"]["identity"]["subject"] == "00u1alice" and ok["AT.okta-1"]["grant"]["expires_at"].startswith("2026-08-27T11:00:00"), "okta AT.okta-1")
check(ok["AT.okta-2"]["grant"]["grant_type"] == "client_credentials" and ok["AT.okta-2"]["identity"]["scopes"] == ["mcp:read"], "okta AT.okta-2")
oa = {e["grant"].get("token_id"): e for e in grants(load("oauth.auto"))}
check(oa["oa-3"]["grant"]["id_jag"] is True and oa["oa-3"]["identity"]["actors"] == ["agent-7", "orchestrator"], "oauth id-jag with actors")
check(oa["oa-4"]["grant"]["grant_type"] == "jwt_bearer", "oauth jwt-bearer")
mixed = load("mixed")
check(len(grants(mixed)) == 13, f"mixed file: {len(grants(mixed))} grants")
check(summaries(mixed)[0]["bad_lines"] == 6, f"mixed file: {summaries(mixed)[0]}")
j = load("joined")
gid = {e["grant"].get("token_id"): e["event_id"] for e in grants(j)}
check(len(gid) == 6, f"joined: every grant is an identity.grant event ({len(gid)})")
calls = [e for e in j if e["type"] == "mcp.tool_call"]
har = [c for c in calls if c["identity"].get("token", {}).get("jti") == "har-test-token-1"]
check(har, "the HAR call")
for c in har:
    check(c.get("grant", {}).get("event_id") == gid["har-test-token-1"], f"HAR call grant {c.get('grant')}")
    check(c["identity"]["subject"] == "alice", "HAR subject")
gw = [c for c in calls if c["identity"].get("token", {}).get("jti") == "oa-2"]
check(len(gw) == 1, f"the agentgateway call {len(gw)}")
i = gw[0]["identity"]
check(i["subject"] == "svc-indexer" and i["client_id"] == "svc-indexer" and i["issuer"] == "https://idp.example.com", f"gateway identity from the grant {i}")
check(i["scopes"] == ["index:write", "tools:read"], f"gateway scopes {i['scopes']}")
check(gw[0]["grant"]["event_id"] == gid["oa-2"], "gateway call grant")
print("IdP logs imported and joined")
PY
echo "PASS"
