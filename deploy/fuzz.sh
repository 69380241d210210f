#!/usr/bin/env bash
# Builds the fuzz tree (preset `fuzz`: clang-14, libFuzzer + ASan + UBSan, core and venue only)
# and runs every fuzz target for a while, starting from the committed seed corpora.
#   POLYTRADE_FUZZ_SECONDS=N   seconds per target (default 30)
# New inputs go to build/fuzz/corpus/<target> (the committed seeds stay untouched); a crash
# leaves its input in build/fuzz/artifacts/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${POLYTRADE_FUZZ_SECONDS:-30}
targets=(fuzz_poloniex_wire fuzz_binance_wire)

bash deploy/bootstrap.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

mkdir -p build/fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  mkdir -p "$work"
  printf '\n=== %s for %ss\n' "$t" "$seconds"
  if ! build/fuzz/libs/venue/fuzz/"$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t-" \
      "$work" "libs/venue/fuzz/corpus/$t"; then
    echo "fuzz: $t failed; reproduce with build/fuzz/libs/venue/fuzz/$t build/fuzz/artifacts/$t-*" >&2
    status=1
  fi
done
exit $status
