#!/usr/bin/env bash
# The file sink with rotation, zstd and the hash chain, and `mcptrail verify`: the bundled capture
# is imported into rotated, compressed, chained segments; verify passes; then every kind of
# tampering (a flipped byte, a deleted, swapped or inserted line, a removed segment, an altered
# manifest, a wrong key) fails and names the first bad place. A plain file: sink is unchanged.
# Needs the zstd CLI (Debian package zstd) to read and rewrite segments.
source "$(dirname "$0")/lib.sh" "$@"
command -v zstd >/dev/null || fail "needs the zstd command (apt-get install zstd)"
umask 022
cd "$WORK"
CAPTURE=$SRC/tests/data/demo-capture.jsonl

# ---- a plain file: sink is what -o writes, byte for byte ----
"$MCPTRAIL" import -o "$WORK/o.jsonl" "$CAPTURE" 2>/dev/null || fail "import -o"
"$MCPTRAIL" import --sink "file:$WORK/sink.jsonl" "$CAPTURE" 2>/dev/null || fail "import --sink file:"
"$MCPTRAIL" import --sink "$WORK/path.jsonl" "$CAPTURE" 2>/dev/null || fail "import --sink PATH"
cmp o.jsonl sink.jsonl || fail "file:PATH differs from -o PATH"
cmp o.jsonl path.jsonl || fail "a plain path differs from -o PATH"
grep -q '"chain"' o.jsonl && fail "a plain file got chain members"
grep -q 'mcptrail_manifest' o.jsonl && fail "a plain file got a manifest"
[ "$(stat -c %a o.jsonl)" = 640 ] || fail "plain file mode $(stat -c %a o.jsonl), expected 640"

# ---- rotated, compressed, chained ----
mkdir out
"$MCPTRAIL" import --sink "file:$WORK/out/events?rotate_bytes=20K&compress=zstd&chain=1&key=$WORK/k" \
	"$CAPTURE" 2>import.err || {
	cat import.err
	fail "import into a rotating, chained file sink"
}
mapfile -t SEGS < <(ls out/events.*.jsonl.zst | sort)
N=${#SEGS[@]}
[ "$N" -ge 3 ] || fail "rotate_bytes=20K made $N segment(s) of $(wc -c <o.jsonl) bytes of events"
[ "$(ls out | grep -cv '\.jsonl\.zst$')" = 0 ] || fail "files other than closed segments: $(ls out)"
for f in "${SEGS[@]}"; do
	[ "$(stat -c %a "$f")" = 640 ] || fail "$f: mode $(stat -c %a "$f"), expected 640"
done
[ "$(stat -c %a k)" = 600 ] || fail "key file mode $(stat -c %a k), expected 600"
[ "$(stat -c %s k)" = 32 ] || fail "key file: $(stat -c %s k) bytes, expected 32"
zstd -qt "${SEGS[@]}" || fail "zstd -t: a closed segment is not valid zstd"

# the events are those of the plain file, with a chain member each, and a manifest per segment
zstd -qdc "${SEGS[@]}" >all.jsonl
[ "$(grep -c '^{"mcptrail_manifest":' all.jsonl)" = "$N" ] || fail "not one manifest per segment"
grep -v '^{"mcptrail_manifest":' all.jsonl | sed -E 's/,"chain":"[0-9a-f]{64}"\}$/}/' >unchained.jsonl
cmp o.jsonl unchained.jsonl || fail "chained records are not the plain events plus a chain member"

# the chain and manifests recomputed from their definition (sinks/file_chain.h), independently
$PY - "$WORK/k" "${SEGS[@]}" <<'EOF' || fail "chain or manifest differs from its definition"
import hashlib, hmac, json, subprocess, sys
key = open(sys.argv[1], "rb").read()
prev, seq = "0" * 64, 0
for path in sys.argv[2:]:
    lines = subprocess.run(["zstd", "-qdc", path], capture_output=True, check=True).stdout
    lines = lines.decode().split("\n")
    assert lines[-1] == "", path
    records, man = lines[:-2], lines[-2]
    seq += 1
    seg_prev, first = prev, None
    for line in records:
        suffix = line[-(len('"chain":"') + 66):]
        assert suffix.startswith('"chain":"') and suffix.endswith('"}'), line[-80:]
        rest = line[: -len(suffix)]
        payload = (rest[:-1] if rest.endswith(",") else rest) + "}"
        value = hashlib.sha256((prev + payload).encode()).hexdigest()
        assert value == suffix[9:73], (path, line[:60])
        first = first or value
        prev = value
    m = json.loads(man)
    assert (m["mcptrail_manifest"], m["segment"], m["records"]) == (1, seq, len(records)), man
    assert (m["first_chain"], m["last_chain"], m["prev_last_chain"]) == (first, prev, seg_prev)
    signed = man[: man.rindex(',"hmac":')] + "}"
    assert m["hmac"] == hmac.new(key, signed.encode(), hashlib.sha256).hexdigest(), man
    assert m["key_id"] == hashlib.sha256(key).hexdigest()[:16]
print("chain and manifests recomputed:", seq, "segments")
EOF

# ---- verify: intact ----
TOTAL=$(wc -l <o.jsonl)
"$MCPTRAIL" verify --key k "${SEGS[@]}" >verify.out || {
	cat verify.out
	fail "verify of an intact trail"
}
cat verify.out
grep -q "^mcptrail verify: OK: $TOTAL records in $N segments (1 to $N) in $N files" verify.out ||
	fail "verify: counts"
grep -q "authenticated with key id $(sha256sum k | cut -c1-16)" verify.out || fail "verify: key id"
# in any order, and without the key (not authenticated, but still checked)
"$MCPTRAIL" verify --key k $(printf '%s\n' "${SEGS[@]}" | sort -r) >/dev/null || fail "verify: reversed order"
"$MCPTRAIL" verify "${SEGS[@]}" >nokey.out || fail "verify without --key"
grep -q "NOT authenticated" nokey.out || fail "verify without --key must say so"

# ---- verify: tampering ----
R1=$(($(zstd -qdc "${SEGS[0]}" | wc -l) - 1)) # records of segment 1
L2=$(zstd -qdc "${SEGS[1]}" | wc -l)          # lines of segment 2, its manifest included
S2=t/$(basename "${SEGS[1]}")

# copies the trail to t/, applies a Python edit to segment 2's list of lines L, recompresses it
tamper() {
	rm -rf t
	cp -r out t
	zstd -qdc "${SEGS[1]}" >seg.jsonl
	$PY - seg.jsonl "$1" <<'EOF'
import sys
path, edit = sys.argv[1], sys.argv[2]
L = open(path).read().split("\n")[:-1]
exec(edit)
open(path, "w").write("".join(x + "\n" for x in L))
EOF
	zstd -qf seg.jsonl -o "$S2"
}

# expects verify to fail (exit 1) with these lines in its report
expect_failure() {
	local what=$1
	shift
	local rc=0
	"$MCPTRAIL" verify "$@" >bad.out 2>&1 || rc=$?
	[ "$rc" = 1 ] || {
		cat bad.out
		fail "$what: verify exited $rc, expected 1"
	}
	echo "--- $what"
	cat bad.out
}
expect_line() { # PATTERN: a fixed string the report must hold
	grep -qF -- "$1" bad.out || fail "report lacks: $1"
}

tamper 'L[2] = L[2].replace("\"schema\":\"mcptrail/1\"", "\"schema\":\"mcptrail/2\"", 1)'
expect_failure "one byte flipped in record 3 of segment 2" --key k t/*
expect_line "FAILED at $S2:3: record $((R1 + 3)) (segment 2): chain mismatch"
expect_line "cause:    the record was altered after it was written"

tamper 'del L[4]'
expect_failure "line 5 of segment 2 deleted" --key k t/*
expect_line "FAILED at $S2:5: record $((R1 + 5)) (segment 2): chain mismatch"
expect_line "1 record(s) removed just before this line"

tamper 'L[3], L[4] = L[4], L[3]'
expect_failure "lines 4 and 5 of segment 2 swapped" --key k t/*
expect_line "FAILED at $S2:4: record $((R1 + 4)) (segment 2): chain mismatch"
expect_line "records out of order: in the chain this record comes right after the record on line 5"

tamper 'L.insert(5, L[5][:-68] + "\"chain\":\"" + "ab" * 32 + "\"}")'
expect_failure "a line inserted before line 6 of segment 2" --key k t/*
expect_line "FAILED at $S2:6: record $((R1 + 6)) (segment 2): chain mismatch"
expect_line "this line does not belong in the chain"

tamper 'L.insert(5, L[1])'
expect_failure "line 2 of segment 2 replayed as line 6" --key k t/*
expect_line "FAILED at $S2:6: record $((R1 + 6)) (segment 2): chain mismatch"
expect_line "repeats the chain value of the record on line 2"

tamper 'del L[-2]'
expect_failure "the last record of segment 2 deleted" --key k t/*
expect_line "FAILED at $S2:$((L2 - 1)) (segment 2): record count"

tamper 'L[-1] = L[-1][:-3] + ("0" if L[-1][-3] != "0" else "1") + L[-1][-2:]'
expect_failure "the hmac of segment 2's manifest altered" --key k t/*
expect_line "FAILED at $S2:$L2 (segment 2): the manifest does not authenticate (hmac mismatch)"
expect_line "the manifest was altered after it was signed"

tamper 'L[-1] = L[-1].replace("\"records\":", "\"records\":1", 1)'
expect_failure "the record count of segment 2's manifest altered, no key" t/*
expect_line "FAILED at $S2:$L2 (segment 2): record count"

tamper 'del L[-1]'
expect_failure "the manifest of segment 2 removed" --key k t/*
expect_line "FAILED at $S2 (segment 2): the file ends without a manifest"

rm -rf t
cp -r out t
rm "$S2"
expect_failure "segment 2 removed" --key k t/*
expect_line "FAILED at t/$(basename "${SEGS[2]}"):1: record $((R1 + 1)) (segment 3): chain mismatch"
expect_line "segment 2 is missing"

rm -rf t
cp -r out t
rm "t/$(basename "${SEGS[0]}")"
expect_failure "segment 1 removed" --key k t/*
expect_line "FAILED at t/$(basename "${SEGS[1]}") (segment 2): the trail does not start at segment 1"
expect_line "segment 1 is missing (pass --partial when retention removed it)"
"$MCPTRAIL" verify --partial --key k t/* >/dev/null || fail "verify --partial after retention"

rm -rf t
cp -r out t
$PY -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$S2"
expect_failure "one byte of compressed segment 2 flipped" --key k t/*
expect_line "FAILED at $S2"

head -c 32 /dev/urandom >wrong.key
expect_failure "a wrong key" --key wrong.key "${SEGS[@]}"
expect_line "FAILED at ${SEGS[0]}:$((R1 + 1)) (segment 1): the manifest does not authenticate"
expect_line "signed with another key"

expect_failure "a plain, unchained file" o.jsonl
expect_line "FAILED at o.jsonl:1: record 1 (segment 1): not a chained record"

echo "PASS"
