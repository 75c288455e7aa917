#!/usr/bin/env bash
# `mcptrail demo`: the bundled capture (recorded by our tap from the real server-everything) is
# imported into an events file with the default file sink, and the summary names what happened.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
"$MCPTRAIL" demo >"$WORK/demo.out" 2>"$WORK/demo.err" || { cat "$WORK/demo.err"; fail "demo failed"; }
cat "$WORK/demo.out"
[ -s "$WORK/mcptrail-demo-events.jsonl" ] || fail "no events file in the working directory"
validate_events "$WORK/mcptrail-demo-events.jsonl" --require-types mcp.session,mcp.tool_call,mcp.task
grep -q '^Sessions: 2$' demo.out || fail "summary: sessions"
grep -q 'identity svc-release-agent (configured)' demo.out || fail "summary: identity"
grep -Eq '^  simulate-research-query +.*ok=2.*cancelled=2|^  simulate-research-query +.*cancelled=2.*ok=2' demo.out ||
	fail "summary: task tool outcomes"
grep -Eq '^  no-such-tool +tool_error=2$' demo.out || fail "summary: unknown tool"
[ "$(grep -c 'final status completed' demo.out)" = 2 ] || fail "summary: completed tasks"
[ "$(grep -c 'final status cancelled' demo.out)" = 2 ] || fail "summary: cancelled tasks"
# the demo is the import of the bundled capture, nothing else
"$MCPTRAIL" import -o "$WORK/direct.jsonl" "$SRC/tests/data/demo-capture.jsonl" 2>/dev/null
diff <(grep -v '"ingest.summary"' "$WORK/direct.jsonl") <(grep -v '"ingest.summary"' "$WORK/mcptrail-demo-events.jsonl") >/dev/null ||
	fail "demo events differ from importing the bundled capture"
"$MCPTRAIL" demo -o "$WORK/other.jsonl" >/dev/null || fail "demo -o"
[ -s "$WORK/other.jsonl" ] || fail "demo -o wrote nothing"
echo "PASS"
