#!/usr/bin/env bash
# Captures made by other tools: a HAR 1.2 file and Envoy HTTP tap traces (buffered and streamed)
# import into the same events as tap-http records; the bearer token in them is decoded, never
# copied; a 401 becomes an mcp.auth event.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK
for f in mcp-session.har envoy-buffered.json envoy-streamed.jsonl; do
	"$MCPTRAIL" import -o "$f.events" "$SRC/tests/data/captures/$f" 2>"$f.err" || { cat "$f.err"; fail "import of $f"; }
	validate_events "$f.events"
	# the raw JWT payload segment of the fixtures never reaches the events
	! grep -q 'eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20i' "$f.events" || fail "$f: raw token in the events"
done
[ "$(stat -c %a fingerprint.key)" = 600 ] || fail "fingerprint key not created 0600"
$PY - mcp-session.har.events envoy-streamed.jsonl.events <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
for path, fmt in ((sys.argv[1], "har"), (sys.argv[2], "envoy_tap")):
    ev = [json.loads(l) for l in open(path)]
    calls = [e for e in ev if e["type"] == "mcp.tool_call"]
    check(calls, f"{path}: no tool call")
    for c in calls:
        check(c["identity"]["subject"] == "alice" and c["identity"]["source"] == "bearer_jwt", f"{path}: identity {c['identity']}")
        check(c["identity"]["verified"] is False, "no JWKS given: unverified")
        check(c["session"]["transport"] == "http", "transport")
    summ = [e for e in ev if e["type"] == "ingest.summary"][0]["ingest"]
    check(summ["format"] == fmt and summ["bad_lines"] == 0, f"{path}: summary {summ}")
har = [json.loads(l) for l in open(sys.argv[1])]
auth = [e for e in har if e["type"] == "mcp.auth"]
check(len(auth) == 1 and auth[0]["auth"]["status"] == 401 and auth[0]["auth"]["challenge"].get("resource_metadata"), f"401 {auth}")
print("HAR and Envoy captures imported")
PY
# a broken HAR: reported, not fatal for its neighbours
printf '{"log":{"version":"1.2","entries":[{"request":' >broken.har
rc=0
"$MCPTRAIL" import -o mixed.events broken.har "$SRC/tests/data/captures/envoy-buffered.json" 2>/dev/null || rc=$?
[ "$rc" = 0 ] || fail "a broken HAR beside a good capture gave exit $rc"
grep -q '"ingest.error"' mixed.events || fail "the broken HAR was not reported"
grep -q '"mcp.request"' mixed.events || fail "the good capture beside it was lost"
echo "PASS"
