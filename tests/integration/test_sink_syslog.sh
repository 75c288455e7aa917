#!/usr/bin/env bash
# The syslog sinks against a real rsyslog (imtcp, imtcp with the openssl stream driver, imudp),
# run unprivileged in the foreground on free ports of 127.0.0.1:
# * one import to syslog+tcp (octet counting), syslog+tls (server verified against our CA and the
#   name "localhost"), syslog+tls with a client certificate (mutual TLS) and syslog+udp, beside a
#   file sink: every receiver gets exactly the events of the file, each once, one message per
#   event (no split or merged frames), parsed by rsyslog as RFC 5424 with our MSGID, PRI and
#   structured data, whose values (with '"', '\' and ']' in them) rsyslog's mmpstrucdata reads
#   back unchanged; UDP datagrams stay within max_udp and the truncations are reported;
# * a wrong CA, a wrong server name and a missing client certificate fail with a clear error and
#   exit 2, quickly; a receiver that is down makes import exit 2 after bounded retries;
# * rsyslog restarted in the middle of an import: the sinks reconnect, nothing is lost.
# Needs the Debian packages rsyslog and rsyslog-openssl (deploy/setup.sh test installs them).
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"

command -v rsyslogd >/dev/null || fail "rsyslogd missing: install rsyslog rsyslog-openssl"
MODDIR=$(dirname "$(find /usr/lib -name imtcp.so -path '*rsyslog*' 2>/dev/null | head -1)")
[ -f "$MODDIR/lmnsd_ossl.so" ] || fail "rsyslog's openssl driver missing: install rsyslog-openssl"
[ -f "$MODDIR/mmpstrucdata.so" ] || fail "rsyslog's mmpstrucdata module missing"

RS_PID=""
IMPORT_PID=""
cleanup() {
	set +e # (under set -e a failed kill of an already gone process would skip the rest)
	if [ -n "$IMPORT_PID" ]; then kill "$IMPORT_PID" 2>/dev/null; fi
	if [ -n "$RS_PID" ]; then
		kill "$RS_PID" 2>/dev/null
		wait "$RS_PID" 2>/dev/null
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM # (so that a timeout's SIGTERM still runs cleanup)

# free ports on 127.0.0.1: four TCP (tcp, tls, mutual tls, one left unused: "down") and one UDP
read -r TCP_PORT TLS_PORT MTLS_PORT DOWN_PORT UDP_PORT < <($PY - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)] + [socket.socket(type=socket.SOCK_DGRAM)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)

# ---- certificates: our CA, a server cert for localhost/127.0.0.1, a client cert, another CA
mkcert() { # NAME CN CA EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$1.key" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
for ca in ca other-ca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=mcptrail test $ca" -keyout $ca.key -out $ca.pem 2>/dev/null
done
mkcert server localhost ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
mkcert client mcptrail-client ca "extendedKeyUsage=clientAuth"
if [ ! -s server.pem ] || [ ! -s client.pem ]; then fail "openssl could not make the test certificates"; fi

# ---- rsyslog: one ruleset and output file per input
cat >rsyslog.conf <<EOF
global(workDirectory="$WORK" maxMessageSize="1m")
module(load="imtcp" maxSessions="20")
module(load="imudp")
module(load="mmpstrucdata")
template(name="parsed" type="list") {
  constant(value="{")
  property(name="pri" format="jsonf") constant(value=",")
  property(name="hostname" format="jsonf") constant(value=",")
  property(name="app-name" format="jsonf" outname="app") constant(value=",")
  property(name="procid" format="jsonf") constant(value=",")
  property(name="msgid" format="jsonf") constant(value=",")
  property(name="timereported" dateFormat="rfc3339" format="jsonf" outname="time") constant(value=",")
  constant(value="\"sd\":") property(name="\$!rfc5424-sd") constant(value=",")
  property(name="rawmsg" format="jsonf") constant(value=",")
  property(name="msg" format="jsonf")
  constant(value="}\n")
}
input(type="imtcp" port="$TCP_PORT" address="127.0.0.1" ruleset="tcp")
input(type="imtcp" port="$TLS_PORT" address="127.0.0.1" ruleset="tls"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon"
      streamDriver.CAFile="$WORK/ca.pem" streamDriver.CertFile="$WORK/server.pem"
      streamDriver.KeyFile="$WORK/server.key")
input(type="imtcp" port="$MTLS_PORT" address="127.0.0.1" ruleset="mtls"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/certvalid"
      streamDriver.CAFile="$WORK/ca.pem" streamDriver.CertFile="$WORK/server.pem"
      streamDriver.KeyFile="$WORK/server.key")
# (a large receive buffer: the import sends its datagrams faster than rsyslog reads them)
input(type="imudp" port="$UDP_PORT" address="127.0.0.1" ruleset="udp" rcvbufSize="16m")
ruleset(name="tcp") { action(type="mmpstrucdata") action(type="omfile" file="$WORK/tcp.log" template="parsed") }
ruleset(name="tls") { action(type="mmpstrucdata") action(type="omfile" file="$WORK/tls.log" template="parsed") }
ruleset(name="mtls") { action(type="mmpstrucdata") action(type="omfile" file="$WORK/mtls.log" template="parsed") }
ruleset(name="udp") { action(type="mmpstrucdata") action(type="omfile" file="$WORK/udp.log" template="parsed") }
EOF

start_rsyslog() {
	# (7>&-: the restart test's FIFO writer must not live on in rsyslogd, or no EOF comes)
	rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslogd.pid" >>"$WORK/rsyslogd.out" 2>&1 7>&- &
	RS_PID=$!
	for _ in $(seq 100); do
		if $PY - "$TCP_PORT" "$TLS_PORT" "$MTLS_PORT" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
for p in sys.argv[1:]:
    socket.create_connection(("127.0.0.1", int(p)), timeout=1).close()
PY
		kill -0 "$RS_PID" 2>/dev/null || { cat "$WORK/rsyslogd.out"; fail "rsyslogd did not start"; }
		sleep 0.1
	done
	cat "$WORK/rsyslogd.out"
	fail "rsyslogd did not listen on its ports"
}

stop_rsyslog() {
	kill "$RS_PID"
	wait "$RS_PID" 2>/dev/null || true
	RS_PID=""
}

# Waits (10 s at most) until each FILE has at least N lines.
wait_lines() { # N FILE...
	local n=$1 f
	shift
	for _ in $(seq 100); do
		local short=0
		for f in "$@"; do
			[ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ] || short=1
		done
		[ $short = 0 ] && return 0
		sleep 0.1
	done
	for f in "$@"; do echo "$f: $(wc -l <"$f" 2>/dev/null) lines, want $n" >&2; done
	return 1
}

# ---- input: the bundled capture, plus a copy (other streams) whose subject needs SD escaping
$PY - "$SRC/tests/data/demo-capture.jsonl" <<'PY'
import json, sys
with open("hostile.jsonl", "w") as out:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        r["stream"] += "-hostile"
        if r.get("kind") == "start":
            r["identity"]["subject"] = 'svc "quoted" \\ back]slash ü [x=y]'
        out.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
PY

start_rsyslog

# ---- 1. every transport receives exactly the events of the file sink
rc=0
"$MCPTRAIL" import -o events.jsonl \
	--sink "syslog+tcp://127.0.0.1:$TCP_PORT" \
	--sink "syslog+tls://127.0.0.1:$TLS_PORT?ca=$WORK/ca.pem&servername=localhost&facility=local3" \
	--sink "syslog+tls://127.0.0.1:$MTLS_PORT?ca=$WORK/ca.pem&servername=localhost&cert=$WORK/client.pem&key=$WORK/client.key" \
	--sink "syslog+udp://127.0.0.1:$UDP_PORT" \
	"$SRC/tests/data/demo-capture.jsonl" hostile.jsonl 2>import.err || rc=$?
[ $rc = 0 ] || { cat import.err rsyslogd.out; fail "import to rsyslog exited $rc"; }
N=$(wc -l <events.jsonl)
[ "$N" -gt 100 ] || fail "only $N events from the demo capture"
wait_lines "$N" tcp.log tls.log mtls.log udp.log || { cat rsyslogd.out; fail "rsyslog did not receive every event"; }
sleep 0.3 # anything extra (a split frame) would arrive right behind
grep -q "truncated to max_udp=2048" import.err || { cat import.err; fail "no UDP truncation report"; }

$PY - events.jsonl tcp.log tls.log mtls.log udp.log <<'PY'
import collections, json, sys

def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)

MSGID = {"mcp.tool_call": "TOOLCALL", "mcp.task": "TASK", "mcp.session": "SESSION",
         "mcp.auth": "AUTH", "finding": "FINDING", "mcp.request": "REQUEST",
         "mcp.sampling": "SAMPLING", "mcp.elicitation": "ELICITATION", "mcp.roots": "ROOTS",
         "identity.blast_radius": "BLASTRADIUS"}

def severity(e):
    if e["type"] == "finding":
        return {"critical": 2, "high": 3, "medium": 4, "low": 5}.get(e["finding"].get("severity"), 6)
    if e["type"] in ("ingest.error", "mcp.http_error"):
        return 4
    outcome = (e.get("call") or e.get("request") or {}).get("outcome")
    return 4 if outcome in ("tool_error", "rpc_error", "denied") else 6

lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
events = {json.loads(l)["event_id"]: (json.loads(l), l) for l in lines}
check(len(events) == len(lines), "event ids in the file sink are not unique")
check(any('back]slash' in l for l in lines), "the hostile subject did not reach the events")

for path, facility, stream in ((sys.argv[2], 16, True), (sys.argv[3], 19, True),
                               (sys.argv[4], 16, True), (sys.argv[5], 16, False)):
    got = [json.loads(l) for l in open(path, encoding="utf-8")]
    ids = collections.Counter()
    for m in got:
        check(m["app"] == "mcptrail" and m["procid"].isdigit(), f"{path}: header {m}")
        sd = (m.get("sd") or {}).get("mcp@32473")
        check(sd and "event_id" in sd, f"{path}: no structured data in {m['rawmsg'][:200]}")
        eid = sd["event_id"]
        ids[eid] += 1
        check(eid in events, f"{path}: unknown event {eid}")
        ev, line = events[eid]
        check(m["msgid"] == MSGID.get(ev["type"], "INGEST" if ev["type"].startswith("ingest.") else "?"),
              f"{path}: msgid {m['msgid']} for {ev['type']}")
        check(int(m["pri"]) == facility * 8 + severity(ev), f"{path}: pri {m['pri']} for {ev['type']}")
        check(sd["type"] == ev["type"], f"{path}: SD type")
        ident = ev.get("identity") or {}
        if ident.get("subject") is not None:
            check(sd.get("subject") == ident["subject"],
                  f"{path}: SD subject {sd.get('subject')!r} != {ident['subject']!r}")
        if ev.get("session"):
            check(sd.get("session") == ev["session"]["id"], f"{path}: SD session")
        if ev.get("call"):
            check(sd.get("tool") == ev["call"]["tool"] and sd.get("outcome") == ev["call"]["outcome"],
                  f"{path}: SD tool/outcome")
        check(m["time"][:19] == ev["time"][:19], f"{path}: timestamp {m['time']} for {ev['time']}")
        msg = m["msg"]
        check(msg.startswith("\ufeff"), f"{path}: MSG without BOM: {msg[:40]!r}")
        if stream:
            check(msg[1:] == line, f"{path}: MSG is not the event of {eid} (split or merged?)")
        else:
            raw = m["rawmsg"].encode("utf-8")
            check(len(raw) <= 2048, f"{path}: datagram of {len(raw)} bytes")
            check(line.startswith(msg[1:]), f"{path}: datagram MSG is not a prefix of the event")
    dup = [i for i, c in ids.items() if c != 1]
    check(not dup, f"{path}: events received more than once: {dup[:5]}")
    missing = set(events) - set(ids)
    check(not missing, f"{path}: {len(missing)} events missing, e.g. {sorted(missing)[:3]}")
    check(len(got) == len(events), f"{path}: {len(got)} messages for {len(events)} events")
    print(f"{path}: {len(got)} messages, one per event")
PY

# ---- 2. configuration errors fail clearly and quickly
expect_exit2() { # NAME PATTERN SECONDS ARGS...
	local name=$1 pattern=$2 limit=$3 rc=0
	shift 3
	local t0=$SECONDS
	timeout 60 "$MCPTRAIL" import -o "$name.events" "$@" "$SRC/tests/data/demo-capture.jsonl" \
		2>"$name.err" || rc=$?
	[ $rc = 2 ] || { cat "$name.err"; fail "$name: exit $rc, expected 2"; }
	grep -q -- "$pattern" "$name.err" || { cat "$name.err"; fail "$name: no '$pattern' in the error"; }
	[ $((SECONDS - t0)) -le "$limit" ] || fail "$name: took $((SECONDS - t0)) s"
	echo "$name: exit 2: $(grep -m1 -- "$pattern" "$name.err")"
}
expect_exit2 wrong-ca "server certificate rejected: self-signed certificate in certificate chain" 10 \
	--sink "syslog+tls://127.0.0.1:$TLS_PORT?ca=$WORK/other-ca.pem&servername=localhost"
expect_exit2 wrong-name "certificate rejected: hostname mismatch" 10 \
	--sink "syslog+tls://127.0.0.1:$TLS_PORT?ca=$WORK/ca.pem&servername=logs.example.org"
expect_exit2 no-client-cert "requires a client certificate" 10 \
	--sink "syslog+tls://127.0.0.1:$MTLS_PORT?ca=$WORK/ca.pem&servername=localhost"
expect_exit2 receiver-down "connect to 127.0.0.1:$DOWN_PORT: Connection refused" 15 \
	--sink "syslog+tcp://127.0.0.1:$DOWN_PORT"
expect_exit2 tls-on-tcp "option 'ca' does not apply to syslog+tcp" 2 \
	--sink "syslog+tcp://127.0.0.1:$TCP_PORT?ca=$WORK/ca.pem"
expect_exit2 newline-on-tls "RFC 5425 requires octet counting" 2 \
	--sink "syslog+tls://127.0.0.1:$TLS_PORT?framing=newline"
# the refused events went nowhere: the receivers got nothing more
sleep 0.5
[ "$(wc -l <tls.log)" = "$N" ] || fail "an import with a wrong CA or name still delivered messages"
[ "$(wc -l <mtls.log)" = "$N" ] || fail "an import without client certificate delivered messages"

# ---- 3. rsyslog restarts in the middle of an import: the sinks reconnect, nothing is lost
# 16 copies of the capture (other streams) through a FIFO; the importer writes a batch every 1024
# events, so after 15 copies the first batch is out; then rsyslog restarts and the rest follows.
$PY - "$SRC/tests/data/demo-capture.jsonl" <<'PY'
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
for k in range(16):
    with open(f"copy{k:02d}.jsonl", "w") as out:
        for r in src:
            r = dict(r, stream=f"{r['stream']}-copy{k}")
            out.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
: >tcp.log
: >tls.log
mkfifo capture.fifo
"$MCPTRAIL" import --format tap -o restart.events \
	--sink "syslog+tcp://127.0.0.1:$TCP_PORT" \
	--sink "syslog+tls://127.0.0.1:$TLS_PORT?ca=$WORK/ca.pem&servername=localhost" \
	- <capture.fifo 2>restart.err &
IMPORT_PID=$!
exec 7>capture.fifo
cat copy0[0-9].jsonl copy1[0-4].jsonl >&7
wait_lines 1024 tcp.log tls.log || { cat restart.err; fail "the first batch did not arrive"; }
[ "$(wc -l <tcp.log)" = 1024 ] || fail "more than the first batch arrived early"
stop_rsyslog
start_rsyslog
cat copy15.jsonl >&7
exec 7>&-
rc=0
wait "$IMPORT_PID" || rc=$?
IMPORT_PID=""
[ $rc = 0 ] || { cat restart.err; fail "import across the restart exited $rc"; }
M=$(wc -l <restart.events)
wait_lines "$M" tcp.log tls.log || { cat restart.err rsyslogd.out; fail "events lost across the restart"; }
$PY - restart.events tcp.log tls.log <<'PY'
import collections, json, sys
want = {json.loads(l)["event_id"] for l in open(sys.argv[1])}
for path in sys.argv[2:]:
    ids = collections.Counter(json.loads(l)["sd"]["mcp@32473"]["event_id"] for l in open(path))
    if set(ids) != want or any(c != 1 for c in ids.values()):
        print(f"FAIL: {path}: {len(ids)} distinct of {len(want)}, "
              f"{sum(c > 1 for c in ids.values())} duplicated", file=sys.stderr)
        sys.exit(1)
    print(f"{path}: all {len(want)} events across the restart, each once")
PY

stop_rsyslog
echo "PASS"
