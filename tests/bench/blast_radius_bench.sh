#!/usr/bin/env bash
# Blast-radius benchmark: time and peak RSS of `mcptrail blast-radius` over EVENTS normalized
# events (default 1000000), in each output format. Prints figures; asserts nothing.
#
# usage: tests/bench/blast_radius_bench.sh [BUILD_DIR] [EVENTS_FILE]
#   BUILD_DIR    an already built tree (default: build); nothing is built here
#   EVENTS_FILE  normalized events to reuse; default: mcptrail-bench-gen writes a capture (FRAMES
#                frames, default 2500000, which gives about 1M events; STREAMS identities,
#                default 16), `mcptrail import` turns it into events, cut to EVENTS lines
#                With IDENTITIES=N, a synthetic generator writes EVENTS events of N bearer-token
#                identities instead (each lists 20 tools on 2 servers, then calls them): memory
#                per identity.
# Environment: EVENTS, FRAMES, STREAMS, SEED, IDENTITIES, KEEP=1 keeps the temp dir.
set -euo pipefail

BUILD=${1:-build}
EVENTS_ARG=${2:-}
EVENTS=${EVENTS:-1000000}
FRAMES=${FRAMES:-2500000}
STREAMS=${STREAMS:-16}
SEED=${SEED:-1}

die() {
	echo "bench: $*" >&2
	exit 1
}
MCPTRAIL=$BUILD/mcptrail
GEN=$BUILD/tests/bench/mcptrail-bench-gen
[[ -x $MCPTRAIL ]] || die "no $MCPTRAIL (build it first: cmake --build $BUILD)"
[[ -x /usr/bin/time ]] || die "needs /usr/bin/time (Debian package time)"

TMP=$(mktemp -d)
if [[ ${KEEP:-} == 1 ]]; then
	echo "bench: keeping $TMP"
else
	trap 'rm -rf "$TMP"' EXIT
fi
export MCPTRAIL_STATE_DIR=$TMP

if [[ -n $EVENTS_ARG ]]; then
	head -n "$EVENTS" "$EVENTS_ARG" >"$TMP/events.jsonl"
elif [[ -n ${IDENTITIES:-} ]]; then
	python3 - "$EVENTS" "$IDENTITIES" >"$TMP/events.jsonl" <<'PY'
import json, sys, random
n, k = int(sys.argv[1]), int(sys.argv[2])
random.seed(1)
tools = [{"name": f"tool-{t}", "annotations": {"readOnlyHint": t % 3 == 0}} for t in range(20)]
out = sys.stdout
for i in range(n):
    who = i % k
    ident = {"subject": f"svc-{who}", "issuer": "https://idp.example", "client_id": f"client-{who % 997}",
             "scopes": ["mcp:tools", f"team:{who % 7}"], "actors": [],
             "token": {"fingerprint": f"tfp:{who:064x}", "kind": "jwt", "class": "access", "exp": 1900000000}}
    sess = {"id": f"s-{who}", "transport": "http", "server": {"name": f"server-{who % 2}"}}
    t = f"2026-11-{1 + (i * 27) // n:02d}T10:00:00.{i % 1000:03d}Z"
    ev = {"schema": "mcptrail/1", "event_id": f"{i:032x}", "time": t, "identity": ident, "session": sess}
    if i < k or i % 50 == 0:
        ev.update(type="mcp.request", request={"method": "tools/list", "outcome": "ok"}, tools=tools)
    else:
        ev.update(type="mcp.tool_call", call={"tool": f"tool-{random.randrange(20)}", "outcome": "ok"})
    out.write(json.dumps(ev, separators=(",", ":")) + "\n")
PY
else
	[[ -x $GEN ]] || die "no $GEN"
	"$GEN" --frames "$FRAMES" --streams "$STREAMS" --seed "$SEED" -o "$TMP/capture.jsonl"
	/usr/bin/time -f 'import: %e s wall, %U+%S s CPU, %M KiB peak RSS' \
		"$MCPTRAIL" import -o "$TMP/all.jsonl" "$TMP/capture.jsonl"
	rm -f "$TMP/capture.jsonl"
	head -n "$EVENTS" "$TMP/all.jsonl" >"$TMP/events.jsonl"
	rm -f "$TMP/all.jsonl"
fi
n=$(wc -l <"$TMP/events.jsonl")
bytes=$(stat -c %s "$TMP/events.jsonl")
cat "$TMP/events.jsonl" >/dev/null # into the page cache
echo "bench: $n events, $((bytes / 1000000)) MB, $(nproc) CPUs"
for fmt in text json html; do
	/usr/bin/time -f "%e %U %S %M" -o "$TMP/time.$fmt" \
		"$MCPTRAIL" blast-radius --format "$fmt" -o "$TMP/report.$fmt" "$TMP/events.jsonl" \
		2>"$TMP/err.$fmt" || die "blast-radius --format $fmt: $(cat "$TMP/err.$fmt")"
	read -r wall user sys rss <"$TMP/time.$fmt"
	awk -v f="$fmt" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v n="$n" -v b="$bytes" \
		-v o="$(stat -c %s "$TMP/report.$fmt")" 'BEGIN {
		printf "blast-radius --format %-4s  %6.2f s wall  %6.2f s CPU  %7.0f events/s  %6.1f MB/s  peak RSS %6.1f MiB  output %d KB\n",
			f, w, u + s, n / w, b / w / 1e6, r / 1024, o / 1000 }'
done
tail -1 "$TMP/err.text"
grep -E '^ +[0-9]+  ' "$TMP/report.text" | head -5
