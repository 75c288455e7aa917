#!/usr/bin/env bash
# Log parser throughput: for every generator tests/bench/gen_log_<FORMAT>.py, generates LINES lines
# (default 1000000) and times `mcptrail import --format FORMAT` over them; when
# tests/bench/mapper_<FORMAT>.json exists, the same file also goes through the generic JSON mapper
# (`--format mapper --mapper FILE`: without --format, detection would pick the native parser).
# Prints lines/s, MB/s, CPU seconds and peak RSS per run.
#
# usage: tests/bench/log_bench.sh [BUILD_DIR] [FORMAT...]
# Environment: LINES (1000000), SEED (1), KEEP=1 keeps the generated files.
set -euo pipefail
BUILD=${1:-build}
shift || true
HERE=$(cd "$(dirname "$0")" && pwd)
LINES=${LINES:-1000000}
SEED=${SEED:-1}
MCPTRAIL=$(cd "$BUILD" && pwd)/mcptrail
[[ -x $MCPTRAIL ]] || { echo "log_bench: build $BUILD first" >&2; exit 1; }
TMP=$(mktemp -d)
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$TMP"' EXIT

formats=("$@")
if [[ ${#formats[@]} -eq 0 ]]; then
	for g in "$HERE"/gen_log_*.py; do
		f=$(basename "$g" .py)
		formats+=("${f#gen_log_}")
	done
fi

run() { # label input args...
	local label=$1 input=$2
	shift 2
	local bytes
	bytes=$(stat -c %s "$input")
	cat "$input" >/dev/null # from the page cache
	/usr/bin/time -f '%e %U %S %M' -o "$TMP/time" "$MCPTRAIL" import "$@" -o /dev/null "$input" 2>"$TMP/err" >/dev/null ||
		{ echo "log_bench: $label failed:" >&2; cat "$TMP/err" >&2; return 1; }
	read -r wall user sys rss <"$TMP/time"
	awk -v l="$label" -v n="$LINES" -v b="$bytes" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
		if (w <= 0) w = 0.01
		printf "%-34s %9d lines %8.1f MB %7.2f s %10.0f lines/s %7.1f MB/s %7.2f CPU-s %7.1f MiB RSS\n",
			l, n, b / 1e6, w, n / w, b / 1e6 / w, u + s, r / 1024 }'
	grep -h '^mcptrail import:' "$TMP/err" | sed 's/^/    /' || true
}

echo "log_bench: $LINES lines per format, seed $SEED, $(nproc) cores"
for f in "${formats[@]}"; do
	gen=$HERE/gen_log_$f.py
	[[ -f $gen ]] || { echo "log_bench: no generator $gen" >&2; exit 1; }
	/usr/bin/python3 "$gen" "$LINES" "$SEED" >"$TMP/$f.log"
	run "$f" "$TMP/$f.log" --format "$f"
	if [[ -f $HERE/mapper_$f.json ]]; then
		run "$f via mapper" "$TMP/$f.log" --format mapper --mapper "$HERE/mapper_$f.json"
	fi
done
