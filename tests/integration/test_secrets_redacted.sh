#!/usr/bin/env bash
# Redaction before anything leaves the core: every kind of secret in the corpus (66 kinds) is sent
# through the real server-everything's echo tool as tool arguments; the capture holds them (it is
# the raw, 0600 record), but no event, in any sink, carries any of them, and each such call
# counts its redactions.
source "$(dirname "$0")/lib.sh" "$@"
need_peers
cd "$WORK"
CORPUS=$SRC/tests/data/secrets-corpus.json
node "$PEERS/drive_secrets.mjs" "$CORPUS" -- "$MCPTRAIL" tap --out rec.jsonl -- node "$EVERYTHING" stdio \
	>drive.json 2>drive.err || { cat drive.err; fail "driver failed"; }
"$MCPTRAIL" import -o events.jsonl --sink file:events2.jsonl rec.jsonl >stdout.jsonl 2>import.err ||
	fail "import failed"
"$MCPTRAIL" import rec.jsonl >stdout.jsonl 2>/dev/null || fail "import to stdout failed"
validate_events events.jsonl --require-types mcp.tool_call
$PY - "$CORPUS" rec.jsonl events.jsonl events2.jsonl stdout.jsonl <<'PY'
import json, sys
corpus = json.load(open(sys.argv[1]))
record = open(sys.argv[2], encoding="utf-8").read()
outputs = {p: open(p, encoding="utf-8").read() for p in sys.argv[3:]}
def check(c, m):
    if not c:
        print("FAIL:", m, file=sys.stderr); sys.exit(1)
kinds = {e["kind"] for e in corpus}
check(len(kinds) >= 30, f"only {len(kinds)} kinds of secrets")
leaks = []
for e in corpus:
    escaped = json.dumps(e["secret"])[1:-1]
    check(e["secret"] in record or escaped in record, f"{e['kind']}: not even in the capture; the test proves nothing")
    for path, text in outputs.items():
        if e["secret"] in text or escaped in text:
            leaks.append((e["kind"], path))
check(not leaks, f"secrets reached the output: {leaks}")
events = [json.loads(l) for l in outputs[sys.argv[3]].splitlines()]
calls = [ev for ev in events if ev["type"] == "mcp.tool_call" and ev["call"]["tool"] == "echo"]
check(len(calls) == 2 * len(corpus), f"{len(calls)} echo calls for {2 * len(corpus)} sent")
quiet = [c["call"]["arguments"]["redacted"] for c in calls if c["redactions"] < 1]
check(not quiet, f"calls that counted no redaction: {quiet[:3]}")
print(f"{len(corpus)} secrets of {len(kinds)} kinds, {len(calls)} calls, none in {len(outputs)} outputs")
PY
echo "PASS"
