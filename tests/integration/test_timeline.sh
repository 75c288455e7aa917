#!/usr/bin/env bash
# mcptrail timeline over imported captures: the demo capture (two identities, tasks polled over
# stdio) and an HTTP incident (tests/tools/incident_har.py: act chain, CIMD client, a 403 step-up
# retried with a refreshed token, a task polled to completion, another identity reading the task).
# Asserts the timeline of an identity, a task and a session in text and JSON, --from/--to, the
# zstd and stdin inputs, bad lines and the exit statuses.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
export MCPTRAIL_STATE_DIR=$WORK

"$MCPTRAIL" import -o demo.events "$SRC/tests/data/demo-capture.jsonl" 2>/dev/null || fail "import demo"
$PY "$SRC/tests/tools/incident_har.py" >incident.har
"$MCPTRAIL" import -o incident.events incident.har 2>/dev/null || fail "import incident"
validate_events incident.events

tl() { "$MCPTRAIL" timeline "$@"; }

# ---- identity, text: the act chain, the step-up retry, the token change, polls collapsed, the finding
tl --identity alice incident.events >alice.txt 2>alice.err || fail "timeline alice: $(cat alice.err)"
cat alice.txt
grep -q '^timeline of identity alice$' alice.txt || fail "header"
grep -q '^  actors    agent-7, orchestrator$' alice.txt || fail "actors in the header"
grep -q '^  clients   https://agents.example.com/oauth/release-agent.json$' alice.txt || fail "CIMD client"
grep -q '^  scopes    mcp:tools, mcp:deploy$' alice.txt || fail "scopes"
grep -q 'sess-a .*alice via agent-7,orchestrator (https://agents.example.com/oauth/release-agent.json) call deploy → ok 1020.0 ms, 2 attempts, 1 auth challenge' alice.txt ||
	fail "the retried call"
grep -q 'auth insufficient_scope on tools/call: HTTP 403 scope=mcp:deploy' alice.txt || fail "the 403"
grep -qE 'token changed: fp [0-9a-f]{12}… → [0-9a-f]{12}…, exp 2026-03-02T11:00:00Z' alice.txt || fail "token change"
grep -q 'tasks/get task task-77 polled 4 times between 10:02:04.000Z and 10:02:07.000Z' alice.txt || fail "polls"
grep -q 'bob (mcp-inspector) .*FINDING task_cross_identity \[high\] task task-77' alice.txt || fail "finding inline"
# in time order: the token change comes before the first event with the new token
awk '/token changed/ { t = NR } /call build/ { b = NR } END { exit !(t && b == t + 1) }' alice.txt ||
	fail "token change not right before the call that used the new token"
grep -q '^11 entries for 13 events: 2 tool calls (0 failed, 1 retried), 2 requests, 2 task changes, 4 polls in 1 runs, 1 auth challenges, 1 token changes, 0 as actor, 1 findings$' alice.txt ||
	fail "footer"

# ---- identity, JSON
tl --identity alice --format json -o alice.json incident.events || fail "timeline alice json"
$PY - alice.json incident.events <<'PY'
import json, sys
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
doc = json.load(open(sys.argv[1]))
ids = {json.loads(l)["event_id"]: json.loads(l) for l in open(sys.argv[2])}
s, entries = doc["timeline"], doc["entries"]
check(s["selector"] == {"kind": "identity", "id": "alice"}, s["selector"])
check(s["subjects"] == ["alice"] and s["actors"] == ["agent-7", "orchestrator"], s)
check(len(s["token_fingerprints"]) == 2 and s["counts"]["token_changes"] == 1, s)
check(s["counts"]["entries"] == len(entries) == 11 and s["counts"]["events"] == 13, s["counts"])
check(s["first_seen"] == "2026-03-02T10:02:00.020000000Z", s["first_seen"])
times = [e["time"] for e in entries]
check(times == sorted(times), "entries in time order")
for e in entries:
    for i in e["event_ids"]:
        check(i in ids, f"unknown event id {i}")
kinds = [e["kind"] for e in entries]
check(kinds.count("polls") == 1 and kinds.count("token_changed") == 1 and kinds.count("finding") == 1, kinds)
p = next(e for e in entries if e["kind"] == "polls")
check(p["count"] == 4 and len(p["event_ids"]) == 4 and p["task_id"] == "task-77", p)
check(all(ids[i]["request"]["method"] == "tasks/get" for i in p["event_ids"]), "polls are tasks/get")
t = next(e for e in entries if e["kind"] == "token_changed")
check(t["from_fingerprint"] != t["to_fingerprint"] and t["to_exp"] == 1772449200, t)
check(t["caused_by"] in ids and ids[t["caused_by"]]["identity"]["token"]["fingerprint"] == t["to_fingerprint"], t)
c = next(e for e in entries if e["what"] == "deploy")
check(c["attempts"] == 2 and c["auth_challenges"] == 1 and c["outcome"] == "ok", c)
check(c["identity"]["actors"] == ["agent-7", "orchestrator"] and c["as_actor"] is False, c)
f = next(e for e in entries if e["kind"] == "finding")
check(f["what"] == "task_cross_identity" and f["identity"]["subject"] == "bob", f)
print("identity JSON ok")
PY

# ---- as actor, by client id, by ISSUER|SUBJECT, by fingerprint
tl --identity agent-7 incident.events >actor.txt || fail "timeline agent-7"
grep -q '\[as actor\] call deploy' actor.txt || fail "as actor mark"
grep -q ' 9 as actor, ' actor.txt || fail "as actor count"
tl --identity https://agents.example.com/oauth/release-agent.json incident.events | grep -q '^11 entries' || fail "by CIMD client id"
tl --identity 'https://idp.example.com|alice' incident.events | grep -q '^11 entries' || fail "by ISSUER|SUBJECT"
fp=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["timeline"]["token_fingerprints"][0])' alice.json)
tl --identity "$fp" incident.events >fp.txt || fail "by fingerprint"
grep -q 'call deploy' fp.txt && ! grep -q 'call build' fp.txt || fail "fingerprint selects one token"

# ---- task: its call, transitions, polls collapsed, the other identity's access and the finding
tl --task task-77 incident.events >task.txt || fail "timeline task"
cat task.txt
grep -q 'call build → ok 4020.0 ms, task task-77' task.txt || fail "task call"
grep -q 'task task-77 → working (created)' task.txt || fail "task created"
grep -q 'task task-77 → completed (tasks/get)' task.txt || fail "task completed"
grep -q 'polled 4 times' task.txt || fail "task polls"
grep -q 'sess-b .*bob (mcp-inspector) .*tasks/get task task-77 → ok' task.txt || fail "bob's access"
grep -q 'FINDING task_cross_identity' task.txt || fail "task finding"
tl --task task-77 --format json incident.events | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["timeline"]["tasks"] == ["task-77"], d["timeline"]
assert d["timeline"]["subjects"] == ["alice", "bob"], d["timeline"]["subjects"]
assert [e["kind"] for e in d["entries"]] == ["event", "event", "polls", "event", "event", "finding", "event"], [e["kind"] for e in d["entries"]]
' || fail "task JSON"

# ---- session: by its Mcp-Session-Id, with the 403 and the retry
tl --session sess-a --format json incident.events >sess.json || fail "timeline session"
$PY - sess.json <<'PY' || fail "session JSON"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["timeline"]
assert s["sessions"][0].endswith("/sess-a"), s["sessions"]
types = [e["type"] for e in d["entries"]]
assert types[0] == "mcp.session", types
assert "mcp.auth" in types, types
# the cross-identity finding names the call of this session that created the task (evidence)
f = [e for e in d["entries"] if e["type"] == "finding"]
assert len(f) == 1 and f[0]["what"] == "task_cross_identity", f
assert s["counts"]["retries"] == 1 and s["counts"]["auth_challenges"] == 1, s["counts"]
PY

# ---- the demo capture: two identities over stdio, polls collapsed, --from/--to
tl --identity alice demo.events >demo-alice.txt || fail "demo alice"
! grep -q svc-release-agent demo-alice.txt || fail "the other identity leaked into alice's timeline"
grep -q 'polled 4 times between' demo-alice.txt || fail "demo polls"
grep -q '^  sessions  stdio-' demo-alice.txt || fail "demo session"
grep -q '^31 entries for 35 events: 10 tool calls (2 failed, 0 retried), 15 requests, 4 task changes, 7 polls in 2 runs' demo-alice.txt || fail "demo footer: $(tail -1 demo-alice.txt)"
first=$(tl --identity alice --format json demo.events | $PY -c 'import json,sys; print(json.load(sys.stdin)["timeline"]["first_seen"])')
tl --identity svc-release-agent --session x demo.events 2>/dev/null && fail "two selectors accepted"
# both files at once, two identities' sessions do not mix; a window keeps only what is inside it
tl --identity alice --from "$first" --to "$first" demo.events incident.events >window.txt || fail "window"
grep -q '^1 entries for 1 events' window.txt || fail "window: $(tail -1 window.txt)"
grep -q ' from .* to ' window.txt || fail "window in the header"

# ---- inputs: stdin, zstd, bad lines, nothing matched, unreadable file, bad usage
# file-sink segments: rotated, zstd-compressed, hash-chained
mkdir trail
"$MCPTRAIL" import --sink "file:trail/t?rotate_bytes=4K&compress=zstd&chain=1&key=$WORK/chain.key" incident.har 2>/dev/null ||
	fail "import to segments"
[ "$(ls trail/t.*.jsonl.zst | wc -l)" -gt 1 ] || fail "expected several segments"
tl --identity alice trail/t.* 2>seg.err | grep -q '^11 entries' || fail "timeline over segments: $(cat seg.err)"
[ ! -s seg.err ] || fail "segments: $(cat seg.err)"
if command -v zstd >/dev/null; then
	zstd -q -c incident.events >incident.events.zst
	tl --identity alice incident.events.zst | grep -q '^11 entries' || fail "zstd input"
fi
{
	cat incident.events
	echo '{"type":"mcp.tool_call","identity":{"subject":"alice"'
	echo '[1,2,3]'
	echo 'garbage'
	echo '{"event_id":"x","type":"mcp.tool_call","identity":{"subject":"alice"}}'
} | tl --identity alice - >stdin.txt 2>stdin.err || fail "stdin with bad lines"
grep -q '^11 entries' stdin.txt || fail "stdin timeline"
grep -q '4 of 25 input lines were not events' stdin.err || fail "bad lines not reported: $(cat stdin.err)"
rc=0
tl --identity nobody incident.events >none.txt 2>none.err || rc=$?
[ "$rc" = 0 ] || fail "nothing matched gave exit $rc"
grep -q 'no events matched' none.err || fail "nothing matched not said"
rc=0
tl --identity alice incident.events does-not-exist.events >partial.txt 2>partial.err || rc=$?
[ "$rc" = 1 ] || fail "unreadable input gave exit $rc"
grep -q 'does-not-exist.events: cannot open' partial.err || fail "unreadable input not named"
grep -q '^11 entries' partial.txt || fail "the readable input was not shown"
rc=0
tl --task t --from yesterday incident.events 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad --from gave exit $rc"
rc=0
tl incident.events 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "no selector gave exit $rc"
"$MCPTRAIL" --help | grep -q 'timeline (--identity ID | --task ID | --session ID)' || fail "--help"
echo "PASS"
