#!/usr/bin/env bash
# Import throughput benchmark: `mcptrail import` against the pure-scan ceiling and a peer baseline.
#
# usage: tests/bench/run.sh [BUILD_DIR] [CAPTURE]
#   BUILD_DIR  an already built tree (default: build); nothing is built here
#   CAPTURE    an existing tap-record capture to reuse; default: generate one with
#              mcptrail-bench-gen (FRAMES frames, default 1000000; SEED, default 1) in a temp dir
# Environment: FRAMES, SEED, REPEAT (bench-scan runs, default 3), KEEP=1 keeps the temp dir.
#
# Measures, all from the page cache (the capture is read once before timing):
#   (a) mcptrail import CAPTURE -o FILE      wall, CPU (user+sys), peak RSS, frames/s, MB/s
#   (b) mcptrail-bench-scan                  tap_record_parse + json_scanner_scan only (ceiling)
#   (c) peer: jq -c . CAPTURE >/dev/null     (python3 json.loads per line when jq is missing)
set -euo pipefail

BUILD=${1:-build}
CAPTURE_ARG=${2:-}
FRAMES=${FRAMES:-1000000}
SEED=${SEED:-1}
REPEAT=${REPEAT:-3}

die() {
	echo "bench: $*" >&2
	exit 1
}

find_bin() {
	local name=$1 p
	for p in "$BUILD/tests/bench/$name" "$BUILD/$name" "$BUILD/bin/$name"; do
		if [[ -x $p ]]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

MCPTRAIL=$(find_bin mcptrail) || die "no mcptrail in $BUILD (build it first: cmake --build $BUILD)"
GEN=$(find_bin mcptrail-bench-gen) || die "no mcptrail-bench-gen in $BUILD/tests/bench"
SCAN=$(find_bin mcptrail-bench-scan) || die "no mcptrail-bench-scan in $BUILD/tests/bench"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcptrail-bench.XXXXXX")
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# ---- timing: /usr/bin/time -v when available, else a python3 or bash fallback ----
# BENCH_TIMER=time|python|bash forces one (for testing the fallbacks).
TIME_BIN=/usr/bin/time
if [[ ! -x $TIME_BIN ]] && [[ -z ${BENCH_TIMER:-} ]] && [[ $(id -u) == 0 ]] &&
	command -v apt-get >/dev/null; then
	echo "bench: /usr/bin/time missing; installing Debian package 'time'" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1 || true
fi
TIMER=${BENCH_TIMER:-}
if [[ -z $TIMER ]]; then
	if [[ -x $TIME_BIN ]]; then
		TIMER="time"
	elif command -v python3 >/dev/null; then
		TIMER=python
	else
		TIMER=bash
	fi
fi

# measure OUT_PREFIX CMD...: runs CMD (stdout to OUT_PREFIX.out, stderr to OUT_PREFIX.err) and
# writes "wall_s user_s sys_s maxrss_kb" to OUT_PREFIX.m. A non-zero exit status is fatal.
measure() {
	local out=$1
	shift
	local rc=0
	if [[ $TIMER == time ]]; then
		"$TIME_BIN" -v -o "$out.time" "$@" >"$out.out" 2>"$out.err" || rc=$?
		awk -F': ' '
			/Elapsed \(wall clock\)/ { n = split($NF, a, ":"); w = 0
				for (i = 1; i <= n; i++) w = w * 60 + a[i] }
			/User time \(seconds\)/ { u = $NF }
			/System time \(seconds\)/ { s = $NF }
			/Maximum resident set size/ { r = $NF }
			END { printf "%s %s %s %s\n", w, u, s, r }' "$out.time" >"$out.m"
	elif [[ $TIMER == python ]]; then
		python3 - "$out" "$@" <<'EOF' || rc=$?
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
with open(out + ".out", "wb") as o, open(out + ".err", "wb") as e:
    rc = subprocess.call(cmd, stdout=o, stderr=e)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out + ".m", "w") as m:
    m.write(f"{wall:.3f} {ru.ru_utime:.3f} {ru.ru_stime:.3f} {ru.ru_maxrss}\n")
sys.exit(rc)
EOF
	else
		# bash only: wall from date, CPU from `times` in a subshell; no peak RSS
		local t0 t1
		t0=$(date +%s.%N)
		(
			"$@" >"$out.out" 2>"$out.err" || exit $?
			times >"$out.times"
		) || rc=$?
		t1=$(date +%s.%N)
		awk -v t0="$t0" -v t1="$t1" 'NR == 2 {
			split($1, u, /[ms]/); split($2, s, /[ms]/)
			printf "%.3f %.3f %.3f n/a\n", t1 - t0, u[1] * 60 + u[2], s[1] * 60 + s[2] }' \
			"$out.times" >"$out.m"
	fi
	if [[ $rc != 0 ]]; then
		echo "bench: command failed ($rc): $*" >&2
		tail -5 "$out.err" >&2 || true
		exit 1
	fi
}

field() { awk -v i="$2" '{ print $i }' "$1.m"; }

echo "== mcptrail import benchmark =="
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
	"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "binaries: $MCPTRAIL, $SCAN (timing with: $TIMER)"

# ---- the capture ----
if [[ -n $CAPTURE_ARG ]]; then
	[[ -f $CAPTURE_ARG ]] || die "no capture file $CAPTURE_ARG"
	CAPTURE=$CAPTURE_ARG
	echo "capture: reusing $CAPTURE"
else
	CAPTURE=$TMP/capture.jsonl
	echo "capture: generating $FRAMES frames (seed $SEED) into $CAPTURE"
	measure "$TMP/gen" "$GEN" --frames "$FRAMES" --seed "$SEED" -o "$CAPTURE"
	sed 's/^/  /' "$TMP/gen.err"
	echo "  generated in $(field "$TMP/gen" 1) s"
fi
BYTES=$(stat -c %s "$CAPTURE")
cat "$CAPTURE" >/dev/null # into the page cache: every run below reads from memory

# ---- (a) mcptrail import ----
echo "(a) mcptrail import ..."
measure "$TMP/import" "$MCPTRAIL" import "$CAPTURE" -o "$TMP/events.jsonl"
IMPORT_SUMMARY=$(grep 'mcptrail import:' "$TMP/import.err" | tail -1)
echo "  $IMPORT_SUMMARY"
IMPORT_FRAMES=$(sed -n 's/.* \([0-9][0-9]*\) frames.*/\1/p' <<<"$IMPORT_SUMMARY")
IMPORT_EVENTS=$(sed -n 's/.* \([0-9][0-9]*\) events.*/\1/p' <<<"$IMPORT_SUMMARY")
[[ -n $IMPORT_FRAMES ]] || die "cannot read the frame count from: $IMPORT_SUMMARY"
EVENTS_BYTES=$(stat -c %s "$TMP/events.jsonl")
rm -f "$TMP/events.jsonl"

# ---- (b) the scan ceiling ----
echo "(b) mcptrail-bench-scan (best of $REPEAT) ..."
measure "$TMP/scan" "$SCAN" --repeat "$REPEAT" "$CAPTURE"
sed 's/^/  /' "$TMP/scan.out" | grep -v '^  bench-scan:'
SCAN_LINE=$(grep '^bench-scan:' "$TMP/scan.out")
measure "$TMP/validate" "$SCAN" --repeat "$REPEAT" --validate-only "$CAPTURE"
VALIDATE_LINE=$(grep '^bench-scan:' "$TMP/validate.out")
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# ---- (c) the peer baseline ----
if command -v jq >/dev/null; then
	PEER="jq -c . ($(jq --version 2>&1))"
	echo "(c) peer: $PEER ..."
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	measure "$TMP/peer" bash -c 'exec jq -c . "$1" >/dev/null' jq "$CAPTURE"
elif command -v python3 >/dev/null; then
	PEER="python3 json.loads per line ($(python3 --version 2>&1))"
	echo "(c) peer: $PEER ..."
	measure "$TMP/peer" python3 -c '
import json, sys
with open(sys.argv[1], "rb") as f:
    for line in f:
        json.loads(line)' "$CAPTURE"
else
	PEER=""
	echo "(c) peer: neither jq nor python3 found; skipped"
fi

# ---- figures ----
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
mib() { if [[ $1 == n/a ]]; then echo n/a; else calc "%.1f MiB" "$1 / 1024"; fi; }
IW=$(field "$TMP/import" 1)
IU=$(field "$TMP/import" 2)
IS=$(field "$TMP/import" 3)
IR=$(field "$TMP/import" 4)
MB=$(calc "%.1f" "$BYTES / 1e6")
echo
echo "==================== figures ===================="
printf '%-22s %s\n' "capture" "$CAPTURE"
printf '%-22s %s MB, %s frames, %s events out (%s MB)\n' "size" "$MB" "$IMPORT_FRAMES" \
	"$IMPORT_EVENTS" "$(calc "%.1f" "$EVENTS_BYTES / 1e6")"
printf '%-22s wall %.2f s | cpu %.2f s (user %.2f + sys %.2f) | peak RSS %s\n' \
	"(a) mcptrail import" "$IW" "$(calc "%.3f" "$IU + $IS")" "$IU" "$IS" \
	"$(mib "$IR")"
printf '%-22s %s frames/s | %s MB/s | %s cpu-s per GB\n' "" \
	"$(calc "%.0f" "$IMPORT_FRAMES / $IW")" "$(calc "%.1f" "$BYTES / 1e6 / $IW")" \
	"$(calc "%.2f" "($IU + $IS) / ($BYTES / 1e9)")"
SW=$(kv "$SCAN_LINE" wall_s)
printf '%-22s wall %.3f s | cpu %.3f s | %s frames/s | %s MB/s (import runs at %s%% of it)\n' \
	"(b) scan ceiling" "$SW" "$(kv "$SCAN_LINE" cpu_s)" "$(kv "$SCAN_LINE" frames_per_s)" \
	"$(kv "$SCAN_LINE" mb_per_s)" "$(calc "%.0f" "100 * $SW / $IW")"
printf '%-22s wall %.3f s | %s frames/s | %s MB/s\n' "    validate only" \
	"$(kv "$VALIDATE_LINE" wall_s)" "$(kv "$VALIDATE_LINE" frames_per_s)" \
	"$(kv "$VALIDATE_LINE" mb_per_s)"
if [[ -n $PEER ]]; then
	PW=$(field "$TMP/peer" 1)
	PU=$(field "$TMP/peer" 2)
	PS=$(field "$TMP/peer" 3)
	PR=$(field "$TMP/peer" 4)
	printf '%-22s %s\n' "(c) peer" "$PEER"
	printf '%-22s wall %.2f s | cpu %.2f s | peak RSS %s | %s MB/s\n' "" "$PW" \
		"$(calc "%.3f" "$PU + $PS")" \
		"$(mib "$PR")" \
		"$(calc "%.1f" "$BYTES / 1e6 / $PW")"
	printf '%-22s %sx by wall time, %sx by CPU time (>1: import is faster)\n' \
		"import/peer ratio" "$(calc "%.2f" "$PW / $IW")" \
		"$(calc "%.2f" "($PU + $PS) / ($IU + $IS)")"
fi
echo "================================================="
