#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo available):
#
#   deploy/setup.sh demo    install build packages, build, run `mcptrail demo`
#   deploy/setup.sh test    install build and test packages (Debian + npm peers), build the
#                           normal and the ASan/UBSan variants, check formatting, run every test
#   deploy/setup.sh build   install build packages and build only
#   deploy/setup.sh bench   build, then run the benchmark (prints figures)
#   deploy/setup.sh bench-delivery   build, then the delivery benchmark: file, zstd, Kafka and
#                           syslog sinks against rsyslog on the same events (prints figures)
#   deploy/setup.sh fuzz [SECONDS]   build the libFuzzer targets with clang and run each
#
# Installs only what is missing, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

BUILD_PACKAGES=(cmake make gcc g++ pkg-config libsimdjson-dev libjansson-dev libssl-dev
	libpcre2-dev libzstd-dev libevent-dev libcmocka-dev librdkafka-dev)
TEST_PACKAGES=(clang-format python3 python3-jsonschema zstd rsyslog rsyslog-openssl kcat curl openssl chromium)
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
BENCH_DELIVERY_PACKAGES=(time python3 rsyslog rsyslog-kafka kcat zstd)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "setup.sh: need root to run: $*" >&2
		return 1
	fi
}

apt_updated=0
ensure_packages() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup.sh: installing ${missing[*]}" >&2
	if [ $apt_updated -eq 0 ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		ensure_packages nodejs npm
	fi
	# The MCP test peers: the reference SDK and server-everything, pinned by package-lock.json.
	if [ ! -d tests/peers/node_modules/@modelcontextprotocol/server-everything ] ||
		[ tests/peers/package-lock.json -nt tests/peers/node_modules/.package-lock.json ]; then
		(cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
	fi
}

build() { # build DIR [cmake args...]
	local dir=$1
	shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$JOBS"
}

cmd=${1:-demo}
case "$cmd" in
build)
	ensure_packages "${BUILD_PACKAGES[@]}"
	build build
	;;
demo)
	ensure_packages "${BUILD_PACKAGES[@]}"
	build build >/dev/null
	exec build/mcptrail demo
	;;
test)
	ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	ensure_node
	build build
	echo "== format check (clang-format) =="
	cmake --build build --target format-check
	echo "== tests: release build =="
	(cd build && ctest --output-on-failure -j"$JOBS" --timeout 600)
	echo "== tests: ASan/UBSan build =="
	build build-asan -DMCPTRAIL_SANITIZE=ON
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j"$JOBS" --timeout 900)
	echo "== fuzz smoke: every target builds with clang and runs ${MCPTRAIL_FUZZ_SECONDS:-10} s =="
	ensure_packages "${FUZZ_PACKAGES[@]}"
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCPTRAIL_FUZZ=ON -DMCPTRAIL_TESTS=OFF >/dev/null
	cmake --build build-fuzz -j"$JOBS"
	bash tests/fuzz/run.sh build-fuzz "${MCPTRAIL_FUZZ_SECONDS:-10}"
	;;
bench)
	ensure_packages "${BUILD_PACKAGES[@]}"
	build build
	bash tests/bench/run.sh build "${2:-}"
	;;
bench-delivery)
	ensure_packages "${BUILD_PACKAGES[@]}" "${BENCH_DELIVERY_PACKAGES[@]}"
	build build
	bash tests/bench/delivery_bench.sh build
	;;
fuzz)
	ensure_packages "${BUILD_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCPTRAIL_FUZZ=ON -DMCPTRAIL_TESTS=OFF >/dev/null
	cmake --build build-fuzz -j"$JOBS"
	bash tests/fuzz/run.sh build-fuzz "${2:-60}"
	;;
*)
	echo "usage: deploy/setup.sh demo|test|build|bench|bench-delivery|fuzz [ARGS]" >&2
	exit 2
	;;
esac
