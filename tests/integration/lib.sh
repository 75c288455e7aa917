# Sourced by the integration tests: arguments, scratch dir, helpers.
# usage in a test: source "$(dirname "$0")/lib.sh" "$@"
set -euo pipefail
MCPTRAIL=$(readlink -f "$1")
SRC=$(readlink -f "$2")
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(readlink -f "$WORK")
PY=/usr/bin/python3
PEERS=$SRC/tests/peers
EVERYTHING=$PEERS/node_modules/@modelcontextprotocol/server-everything/dist/index.js

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# validate_events FILE [--require-types a,b]
validate_events() {
	[ -n "${MCPTRAIL_SKIP_SCHEMA:-}" ] && return 0
	$PY "$SRC/tests/tools/validate_events.py" --schema "$SRC/schemas/mcptrail-event.v1.schema.json" "$@"
}

need_peers() {
	[ -f "$EVERYTHING" ] || fail "MCP peers missing: run deploy/setup.sh test (npm ci in tests/peers)"
}
