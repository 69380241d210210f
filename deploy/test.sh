#!/usr/bin/env bash
# The README's test command: installs what it needs on a fresh Debian 12 (as root), builds
# the normal and the ASan+UBSan trees, and runs every test in both against real nats-server
# and PostgreSQL processes the tests start themselves (loopback, private data folders).
#   POLYTRADE_SKIP_ASAN=1  run only the normal tree (quick local loop)
#   POLYTRADE_SKIP_FUZZ=1  skip the libFuzzer run of the venue parsers (POLYTRADE_FUZZ_SECONDS=N)
set -euo pipefail
cd "$(dirname "$0")/.."
export POLYTRADE_DATA=${POLYTRADE_DATA:-$(cd .. && pwd)/shared/data}

bash deploy/bootstrap.sh
# ccxt, pinned by tests/ccxt/package-lock.json, for the venue-sim judge test.
[[ -d tests/ccxt/node_modules/ccxt ]] || npm ci --prefix tests/ccxt --no-audit --no-fund
jobs=$(nproc)
t0=$SECONDS

step() { printf '\n=== %s (%ds elapsed)\n' "$*" $((SECONDS - t0)); }

step "build (RelWithDebInfo, -Wall -Wextra)"
cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs"
step "tests (normal build)"
ctest --preset default -j "$jobs" --timeout 300

if [[ "${POLYTRADE_SKIP_ASAN:-0}" != 1 ]]; then
  step "build (AddressSanitizer + UBSan)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  step "tests (AddressSanitizer + UBSan)"
  # detect_leaks stays on: a leak in our code fails the run.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ctest --preset asan -j "$jobs" --timeout 600
fi
if [[ "${POLYTRADE_SKIP_FUZZ:-0}" != 1 ]]; then
  step "fuzz the venue wire parsers (clang libFuzzer, ${POLYTRADE_FUZZ_SECONDS:-30}s per target)"
  POLYTRADE_FUZZ_SECONDS=${POLYTRADE_FUZZ_SECONDS:-30} bash deploy/fuzz.sh
fi
step "all tests passed"
