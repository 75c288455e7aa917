#!/usr/bin/env bash
# Delivery benchmark: mcptrail's sinks against rsyslog on the same events (prints figures; not part
# of the test suite).
#
# usage: tests/bench/delivery_bench.sh [BUILD_DIR]      (or: deploy/setup.sh bench-delivery)
# Environment: FRAMES (generated capture, default 480000 frames: about 200k events), SEED (1),
#   KEEP=1 keeps the temp dir, TIMEOUT (seconds one path may take, default 900).
#
# One capture is generated and imported once to events.jsonl (N normalized events). Then, each
# timed on its own:
#   mcptrail import CAPTURE -o /dev/null                  (0) baseline: no delivery
#   mcptrail import CAPTURE --sink file:P                 (a) file, plain
#   mcptrail import CAPTURE --sink file:P?compress=zstd   (b) file, zstd segments
#   mcptrail import CAPTURE --sink kafka://MOCK/bench     (c) Kafka (librdkafka mock cluster, 3
#                                                             brokers, acks=all, zstd, idempotent)
#   mcptrail import CAPTURE --sink syslog+tcp://RSYSLOG   (d) to a real rsyslogd (imtcp → omfile)
#   rsyslogd: imfile events.jsonl → mmjsonparse → omfile  (e)
#   rsyslogd: imfile events.jsonl → mmjsonparse → omkafka (f) same mock cluster (rsyslog-kafka)
# mcptrail's paths start from the capture (parse, correlate, encode, deliver); rsyslog's from the
# normalized events (read, parse JSON, re-serialize, deliver): rsyslog does less work per event,
# so the mcptrail/rsyslog ratios are conservative for mcptrail.
# Completion: an import exits once its sink acknowledged every event (Kafka delivery reports, file
# fsync); for rsyslog (and the syslog path's receiving side) the output is polled every 0.2 s
# until it holds N lines (Kafka: N messages, from the partitions' end offsets), so its wall time
# is late by at most one poll. rsyslogd's CPU time (user+sys) and peak RSS come from /proc.
set -euo pipefail

BUILD=${1:-build}
FRAMES=${FRAMES:-480000}
SEED=${SEED:-1}
TIMEOUT=${TIMEOUT:-900}
die() {
	echo "bench-delivery: $*" >&2
	exit 1
}
MCPTRAIL=$BUILD/mcptrail
GEN=$BUILD/tests/bench/mcptrail-bench-gen
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -x "$MCPTRAIL" ] || [ ! -x "$GEN" ]; then die "build first: cmake --build $BUILD"; fi
MCPTRAIL=$(readlink -f "$MCPTRAIL")
GEN=$(readlink -f "$GEN")
for t in rsyslogd kcat cc pkg-config /usr/bin/time python3; do
	command -v "$t" >/dev/null || die "$t missing (deploy/setup.sh bench-delivery installs it)"
done
MODDIR=$(dirname "$(find /usr/lib -name imfile.so -path '*rsyslog*' 2>/dev/null | head -1)")
[ -f "$MODDIR/mmjsonparse.so" ] || die "rsyslog's mmjsonparse module missing"
HAVE_OMKAFKA=0
[ -f "$MODDIR/omkafka.so" ] && HAVE_OMKAFKA=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcptrail-delivery.XXXXXX")
MOCK_PID=
RS_PID=
cleanup() {
	set +e
	exec 3>&- 2>/dev/null
	[ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null && wait "$RS_PID" 2>/dev/null
	[ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "bench-delivery: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$TMP"

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- results: one line per path: name events wall cpu rss_kb note
: >results
record() { echo "$*" >>results; }

# timed PREFIX CMD...: runs CMD under /usr/bin/time; PREFIX.m holds "wall user sys maxrss_kb"
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$out.m" "$@" >"$out.out" 2>"$out.err" ||
		{ tail -5 "$out.err" >&2; die "failed: $*"; }
}
m() { awk -v i="$2" '{ print $i }' "$1.m"; }

echo "== mcptrail delivery benchmark vs rsyslog =="
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "rsyslog $(rsyslogd -v | head -1 | awk '{ print $2 }' | tr -d ,), omkafka: $([ $HAVE_OMKAFKA = 1 ] && echo yes || echo 'no (apt-get install rsyslog-kafka)')"

"$GEN" --frames "$FRAMES" --seed "$SEED" -o capture.jsonl 2>/dev/null
"$MCPTRAIL" import -o events.jsonl capture.jsonl 2>/dev/null
N=$(wc -l <events.jsonl)
EVB=$(stat -c %s events.jsonl)
echo "capture: $FRAMES frames, $(calc %.0f "$(stat -c %s capture.jsonl) / 1e6") MB; events: $N, $(calc %.0f "$EVB / 1e6") MB of JSON lines"
cat capture.jsonl events.jsonl >/dev/null # page cache

# ---- the Kafka mock cluster
# shellcheck disable=SC2046
cc -std=c11 -O2 -o kafka_mock "$SRC/tests/tools/kafka_mock.c" $(pkg-config --cflags --libs rdkafka) ||
	die "cannot build kafka_mock"
mkfifo mock.cmd
./kafka_mock bench rsyslog <mock.cmd >mock.out 2>mock.err &
MOCK_PID=$!
exec 3>mock.cmd
for _ in $(seq 100); do
	[ -s mock.out ] && break
	sleep 0.1
done
BOOT=$(head -n1 mock.out)
[[ $BOOT == 127.0.0.1:* ]] || die "kafka mock did not start: $(cat mock.err)"

# messages in TOPIC: the sum of its partitions' end offsets
topic_count() {
	kcat -Q -b "$BOOT" -t "$1:0:-1" -t "$1:1:-1" -t "$1:2:-1" 2>/dev/null |
		awk '/offset/ { for (i = 1; i <= NF; i++) if ($i == "offset") s += $(i + 1) } END { print s + 0 }'
}

# rsyslogd with CONFIG until CHECK (a command printing a count) reaches N; records the path
rsyslog_path() {
	local name=$1 conf=$2 check=$3
	rm -rf rs-work && mkdir rs-work
	local t0 t1 c=0
	t0=$(now)
	rsyslogd -n -f "$TMP/$conf" -i "$TMP/rsyslogd.pid" >rsyslogd.out 2>&1 &
	RS_PID=$!
	local deadline=$((SECONDS + TIMEOUT))
	while [ "$SECONDS" -lt "$deadline" ]; do
		c=$($check)
		[ "$c" -ge "$N" ] && break
		kill -0 "$RS_PID" 2>/dev/null || die "rsyslogd ended: $(cat rsyslogd.out)"
		sleep 0.2
	done
	t1=$(now)
	[ "$c" -ge "$N" ] || die "$name: rsyslog delivered $c of $N within $TIMEOUT s"
	rs_cpu_rss "$RS_PID" >rs.m
	kill "$RS_PID"
	wait "$RS_PID" 2>/dev/null || true
	RS_PID=
	record "$name" "$N" "$(calc %.3f "$t1 - $t0")" "$(awk '{ print $1 }' rs.m)" "$(awk '{ print $2 }' rs.m)" "rsyslog"
}
rs_cpu_rss() { # PID → "cpu_s rss_kb" (all threads)
	local tck
	tck=$(getconf CLK_TCK)
	awk -v t="$tck" '{ printf "%.2f ", ($14 + $15) / t }' "/proc/$1/stat"
	awk '/VmHWM/ { print $2 }' "/proc/$1/status"
}
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# ---- mcptrail paths
echo "(0) mcptrail import -o /dev/null (no delivery: parse, correlate, encode) ..."
timed z "$MCPTRAIL" import -o /dev/null capture.jsonl
record "mcptrail→/dev/null" "$N" "$(m z 1)" "$(calc %.2f "$(m z 2) + $(m z 3)")" "$(m z 4)" "import"
echo "(a) mcptrail → file ..."
timed a "$MCPTRAIL" import --sink "file:$TMP/a.jsonl" capture.jsonl
record "mcptrail→file" "$N" "$(m a 1)" "$(calc %.2f "$(m a 2) + $(m a 3)")" "$(m a 4)" "import"
rm -f a.jsonl
echo "(b) mcptrail → file (zstd) ..."
timed b "$MCPTRAIL" import --sink "file:$TMP/b?compress=zstd&rotate_bytes=64M" capture.jsonl
record "mcptrail→file.zst" "$N" "$(m b 1)" "$(calc %.2f "$(m b 2) + $(m b 3)")" "$(m b 4)" "import"
echo "    zstd segments: $(calc %.1f "$(cat b.* | wc -c) / 1e6") MB"
rm -f b.*
echo "(c) mcptrail → kafka ..."
timed c "$MCPTRAIL" import --sink "kafka://$BOOT/bench" capture.jsonl
got=$(topic_count bench)
[ "$got" -ge "$N" ] || die "kafka: $got messages for $N events"
record "mcptrail→kafka" "$N" "$(m c 1)" "$(calc %.2f "$(m c 2) + $(m c 3)")" "$(m c 4)" "import"

# ---- mcptrail → syslog TCP → rsyslog (imtcp → omfile)
TCP_PORT=$(free_port)
cat >rs-tcp.conf <<EOF
global(workDirectory="$TMP/rs-work" maxMessageSize="1m")
module(load="imtcp")
template(name="msgonly" type="string" string="%msg%\n")
input(type="imtcp" port="$TCP_PORT" address="127.0.0.1" ruleset="tcp")
ruleset(name="tcp") { action(type="omfile" file="$TMP/d.log" template="msgonly" asyncWriting="on" ioBufferSize="256k") }
EOF
echo "(d) mcptrail → syslog+tcp → rsyslogd (imtcp → omfile) ..."
rm -rf rs-work && mkdir rs-work
rsyslogd -n -f "$TMP/rs-tcp.conf" -i "$TMP/rsyslogd.pid" >rsyslogd.out 2>&1 &
RS_PID=$!
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $TCP_PORT), timeout=1).close()" 2>/dev/null && break
	sleep 0.1
done
t0=$(now)
timed d "$MCPTRAIL" import --sink "syslog+tcp://127.0.0.1:$TCP_PORT" capture.jsonl
deadline=$((SECONDS + TIMEOUT))
while [ "$(lines_of d.log)" -lt "$N" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
t1=$(now)
[ "$(lines_of d.log)" -ge "$N" ] || die "syslog: rsyslog wrote $(lines_of d.log) of $N"
rs_cpu_rss "$RS_PID" >rs.m
kill "$RS_PID"
wait "$RS_PID" 2>/dev/null || true
RS_PID=
record "mcptrail→syslog-tcp" "$N" "$(calc %.3f "$t1 - $t0")" "$(calc %.2f "$(m d 2) + $(m d 3)")" "$(m d 4)" \
	"import; wall until rsyslog wrote all; rsyslogd itself: $(awk '{ print $1 }' rs.m) cpu-s, $(calc %.0f "$(awk '{ print $2 }' rs.m) / 1024") MiB"
rm -f d.log

# ---- rsyslog on the normalized events
cat >rs-file.conf <<EOF
global(workDirectory="$TMP/rs-work" maxMessageSize="1m")
module(load="imfile")
module(load="mmjsonparse")
template(name="json" type="list") { property(name="\$!all-json") constant(value="\n") }
input(type="imfile" file="$TMP/events.jsonl" tag="mcptrail" ruleset="events")
ruleset(name="events") {
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  action(type="omfile" file="$TMP/e.jsonl" template="json" asyncWriting="on" ioBufferSize="256k")
}
EOF
echo "(e) rsyslogd: imfile → mmjsonparse → omfile ..."
check_e() { lines_of "$TMP/e.jsonl"; }
rsyslog_path "rsyslog→file" rs-file.conf check_e
head -c 300 e.jsonl | grep -q '"event_id"' || die "rsyslog's output is not the parsed events: $(head -c 300 e.jsonl)"
rm -f e.jsonl

if [ $HAVE_OMKAFKA = 1 ]; then
	brokers=$(tr ',' '\n' <<<"$BOOT" | sed 's/.*/"&"/' | paste -sd,)
	cat >rs-kafka.conf <<EOF
global(workDirectory="$TMP/rs-work" maxMessageSize="1m")
module(load="imfile")
module(load="mmjsonparse")
module(load="omkafka")
template(name="json" type="list") { property(name="\$!all-json") }
input(type="imfile" file="$TMP/events.jsonl" tag="mcptrail" ruleset="events")
ruleset(name="events") {
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  action(type="omkafka" broker=[$brokers] topic="rsyslog" template="json"
         confParam=["compression.codec=zstd", "acks=all", "enable.idempotence=true"])
}
EOF
	echo "(f) rsyslogd: imfile → mmjsonparse → omkafka ..."
	check_f() { topic_count rsyslog; }
	rsyslog_path "rsyslog→kafka" rs-kafka.conf check_f
fi

# ---- figures
echo
echo "============================== figures =============================="
printf '%-20s %9s %8s %10s %8s %8s %9s\n' path events wall_s events/s MB/s cpu_s rss_MiB
while read -r name n wall cpu rss _; do
	printf '%-20s %9s %8.2f %10.0f %8.1f %8.2f %9.1f\n' "$name" "$n" "$wall" \
		"$(calc %.3f "$n / $wall")" "$(calc %.3f "$EVB / 1e6 / $wall")" "$cpu" "$(calc %.3f "$rss / 1024")"
done <results
grep -F 'syslog-tcp' results | sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* /  (d) /'
ratio() { # NAME_A NAME_B
	local a b
	a=$(grep "^$1 " results) || return 0
	b=$(grep "^$2 " results) || return 0
	read -r _ _ wa ca _ <<<"$a"
	read -r _ _ wb cb _ <<<"$b"
	printf '%-34s events/s %.2fx, cpu per event %.2fx (cpu: >1 means mcptrail uses more)\n' \
		"$1 / $2:" "$(calc %.4f "$wb / $wa")" "$(calc %.4f "$ca / $cb")"
}
ratio "mcptrail→file" "rsyslog→file"
ratio "mcptrail→kafka" "rsyslog→kafka"
echo "MB/s: MB of normalized JSON events per second (the same volume on every path)."
echo "mcptrail starts from the capture (parse + correlate + encode + deliver); rsyslog from the events."
echo "====================================================================="
