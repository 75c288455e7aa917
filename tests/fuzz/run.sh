#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, from its seed corpus.
#
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS] [TARGET...]
#   BUILD_DIR  a tree configured with CC=clang CXX=clang++ -DMCPTRAIL_FUZZ=ON and built
#   SECONDS    per target (default 60)
#   TARGET     fuzz_json_scan, fuzz_tap_record, fuzz_framer, fuzz_import, ... (default: every
#              fuzz_* executable in BUILD_DIR/tests/fuzz)
# Environment: FUZZ_CRASH_DIR (default /tmp/fuzz-crashes) receives crashing inputs;
#              FUZZ_ARGS adds libFuzzer flags; KEEP=1 keeps the temp dir.
#
# The repository corpus (tests/fuzz/corpus/<target>/, empty when missing) is copied to a temp dir, so new inputs
# libFuzzer finds do not modify it. Prints executions per target and any crash (with the top of
# its report); exits 1 when a target crashed, 2 on a usage error.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${1:-}
SECONDS_PER_TARGET=${2:-60}
shift 2 2>/dev/null || shift $#
if [[ -z $BUILD || ! -d $BUILD ]]; then
	echo "usage: $0 BUILD_DIR [SECONDS] [TARGET...]" >&2
	exit 2
fi
if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || ((SECONDS_PER_TARGET < 1)); then
	echo "run.sh: SECONDS must be a positive integer" >&2
	exit 2
fi
CRASH_DIR=${FUZZ_CRASH_DIR:-/tmp/fuzz-crashes}

if (($# > 0)); then
	TARGETS=("$@")
else
	# every fuzz_* executable built (new targets are picked up), else the known four
	mapfile -t TARGETS < <(find "$BUILD/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' \
		-perm -u+x -printf '%f\n' 2>/dev/null | sort)
	((${#TARGETS[@]} > 0)) || TARGETS=(fuzz_json_scan fuzz_tap_record fuzz_framer fuzz_import)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcptrail-fuzz.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "run.sh: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# A dictionary of JSON-RPC, MCP and tap-record tokens (kept here so the repo holds no extra file).
cat >"$TMP/mcp.dict" <<'EOF'
"{"
"}"
"["
"]"
":"
","
"\""
"\\"
"\\u"
"\\ud83d\\ude00"
"\\u0000"
"true"
"false"
"null"
"-0"
"1e999"
"-9223372036854775809"
"18446744073709551616"
"0.0000001"
"\"jsonrpc\":\"2.0\""
"\"jsonrpc\""
"\"2.0\""
"\"method\""
"\"params\""
"\"result\""
"\"error\""
"\"id\""
"\"code\""
"\"message\""
"\"data\""
"\"name\""
"\"arguments\""
"\"uri\""
"\"task\""
"\"taskId\""
"\"status\""
"\"ttl\""
"\"tasks\""
"\"isError\""
"\"action\""
"\"mode\""
"\"elicitationId\""
"\"requestId\""
"\"progressToken\""
"\"_meta\""
"\"traceparent\""
"\"io.modelcontextprotocol/related-task\""
"\"tools/call\""
"\"tools/list\""
"\"initialize\""
"\"notifications/initialized\""
"\"notifications/progress\""
"\"notifications/cancelled\""
"\"notifications/tasks/status\""
"\"tasks/get\""
"\"tasks/result\""
"\"tasks/cancel\""
"\"tasks/list\""
"\"resources/read\""
"\"prompts/get\""
"\"sampling/createMessage\""
"\"elicitation/create\""
"\"working\""
"\"completed\""
"\"failed\""
"\"cancelled\""
"\"input_required\""
"\"accept\""
"\"decline\""
"\"mcptrail_tap\":1"
"\"kind\""
"\"start\""
"\"frame\""
"\"gap\""
"\"end\""
"\"stream\""
"\"seq\""
"\"ts\""
"\"dir\""
"\"c2s\""
"\"s2c\""
"\"len\""
"\"msg\""
"\"b64\""
"\"crlf\""
"\"truncated\""
"\"partial\""
"\"frames\""
"\"bytes\""
"\"exit_status\""
"\"signal\""
"\"identity\""
"\"subject\""
"\"transport\""
"\"argv\""
"\x0a"
"\x0d\x0a"
EOF

# Per-target libFuzzer options: input size bound and whether the dictionary helps.
opts_for() {
	case $1 in
	fuzz_framer) echo "-max_len=4096" ;;
	fuzz_import) echo "-max_len=16384 -dict=$TMP/mcp.dict" ;;
	*) echo "-max_len=8192 -dict=$TMP/mcp.dict" ;;
	esac
}

status=0
declare -a SUMMARY
for t in "${TARGETS[@]}"; do
	exe=""
	for p in "$BUILD/tests/fuzz/$t" "$BUILD/$t"; do
		[[ -x $p ]] && exe=$p && break
	done
	if [[ -z $exe ]]; then
		echo "run.sh: $t not found in $BUILD (configure with -DMCPTRAIL_FUZZ=ON and build)" >&2
		SUMMARY+=("$(printf '%-16s %s' "$t" "MISSING")")
		status=1
		continue
	fi
	corpus=$TMP/corpus/$t
	mkdir -p "$corpus" "$TMP/artifacts/$t"
	if [[ -d $HERE/corpus/$t ]]; then
		cp -r "$HERE/corpus/$t/." "$corpus/"
	fi
	seeds=$(find "$corpus" -type f | wc -l)
	log=$TMP/$t.log
	echo "== $t: ${SECONDS_PER_TARGET}s from $seeds seeds"
	# shellcheck disable=SC2046,SC2086 # the options are words
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$exe" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$TMP/artifacts/$t/" \
		$(opts_for "$t") ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	[[ -n $execs ]] || execs=$(sed -n 's/.*Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
	[[ -n $execs ]] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	units=$(find "$corpus" -type f | wc -l)
	mapfile -t artifacts < <(find "$TMP/artifacts/$t" -type f | sort)
	if ((rc != 0 || ${#artifacts[@]} > 0)); then
		status=1
		echo "!! $t: CRASH (exit $rc) after ${execs:-?} execs"
		# the report: sanitizer summary, invariant messages and the first stack frames
		grep -E '^(==[0-9]+==ERROR|SUMMARY:|fuzz_[a-z_]+: |.*runtime error:|    #[0-9]+ )' "$log" |
			head -40 | sed 's/^/   /'
		mkdir -p "$CRASH_DIR"
		for a in "${artifacts[@]}"; do
			dest=$CRASH_DIR/$t-$(basename "$a")
			cp "$a" "$dest"
			cp "$log" "$dest.log"
			echo "   input saved: $dest ($(stat -c %s "$a") bytes; log: $dest.log)"
			echo "   first bytes: $(head -c 160 "$a" | od -An -c | tr -s ' \n' ' ' | head -c 400)"
		done
		SUMMARY+=("$(printf '%-16s CRASH  execs=%s cov=%s' "$t" "${execs:-?}" "${cov:-?}")")
	else
		echo "   ok: ${execs:-?} execs, cov ${cov:-?}, corpus $seeds -> $units units"
		SUMMARY+=("$(printf '%-16s ok     execs=%s cov=%s corpus=%s->%s' "$t" "${execs:-?}" \
			"${cov:-?}" "$seeds" "$units")")
	fi
done

echo
echo "==== fuzz summary (${SECONDS_PER_TARGET}s per target) ===="
printf '%s\n' "${SUMMARY[@]}"
exit $status
