#!/usr/bin/env bash
# deploy/ matches what the program accepts: every example config (and the one inside the
# Kubernetes manifest) passes `mcptrail collect --check` once its paths point into a scratch dir,
# and the systemd unit keeps the hardening it promises.
source "$(dirname "$0")/lib.sh" "$@"
cd "$WORK"
mkdir -p etc
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test" \
	-keyout etc/client.key -out etc/client.pem 2>/dev/null
cp etc/client.pem etc/siem-ca.pem
cp etc/client.pem etc/kafka-ca.pem
echo '{"keys":[]}' >etc/idp-jwks.json
# the ConfigMap's collect.json, as a file
$PY - "$SRC/deploy/kubernetes/mcptrail-collect.yaml" >k8s.json <<'PY'
import sys
text = open(sys.argv[1]).read()
block = text.split("collect.json: |", 1)[1].split("\n---", 1)[0]
print("\n".join(l[4:] for l in block.splitlines() if l.strip()))
PY
n=0
for cfg in "$SRC"/deploy/config/*.json k8s.json; do
	n=$((n + 1))
	state=$WORK/state$n
	mkdir -p "$state/taps" "$state/trail" "$state/captures"
	sed -e "s#/var/lib/mcptrail#$state#g" -e "s#/etc/mcptrail#$WORK/etc#g" "$cfg" >cfg$n.json
	"$MCPTRAIL" collect -c cfg$n.json --check >check$n.out 2>&1 || { cat check$n.out; fail "$(basename "$cfg") does not pass --check"; }
done
[ $n -ge 4 ] || fail "expected at least 3 example configs and the Kubernetes one, found $n"
# a broken copy is refused with the JSON path named
sed 's/"full_policy": "block"/"full_policy": "sometimes"/' cfg1.json >bad.json
rc=0
"$MCPTRAIL" collect -c bad.json --check >bad.out 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "spool.full_policy" bad.out || { cat bad.out; fail "a bad config was not refused by path"; }
unit=$SRC/deploy/mcptrail-collect.service
for d in "User=mcptrail" "NoNewPrivileges=yes" "ProtectSystem=strict" "StateDirectory=mcptrail" \
	"CapabilityBoundingSet=" "PrivateTmp=yes" "ProtectHome=yes"; do
	grep -qx "$d" "$unit" || fail "systemd unit lacks $d"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$unit" 2>&1 | grep -v -e "mcptrail: No such file" -e "Command .* is not executable" \
		-e "not found" >analyze.out || true
fi
grep -q 'readOnlyRootFilesystem: true' "$SRC/deploy/kubernetes/mcptrail-collect.yaml" || fail "k8s manifest not read-only"
echo "PASS"
