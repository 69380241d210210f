#!/usr/bin/env bash
# Benchmark (issue 5): the same sweep on one research worker and on two, over a private
# nats-server and PostgreSQL (deploy/infra.sh), timed by the sweep's own wall clock (publish to
# last row). Prints both times, the speed-up and whether the results hashes are equal.
# Usage: services/research/sweep_bench.sh [BUILD_DIR] [GRID_STEPS]   (default 6: 6^3 = 216 jobs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/default}
steps=${2:-6}
# shellcheck source=../../deploy/infra.sh
source "$root/deploy/infra.sh"
work=$(mktemp -d /var/tmp/pt-sweep-bench.XXXXXX)
chmod 0755 "$work"
nport=${BENCH_NATS_PORT:-14522}; mport=${BENCH_NATS_MONITOR_PORT:-18522}; pport=${BENCH_PG_PORT:-15732}
NATS_PID=""; workers=()
cleanup() {
  for p in "${workers[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ ${#workers[@]} -gt 0 ]] && wait "${workers[@]}" 2>/dev/null || true
  infra_stop_pg "$work/pg"; infra_stop_nats "$NATS_PID"
  rm -rf "$work"
}
trap cleanup EXIT
infra_start_nats "$work/nats" "$nport" "$mport"
infra_start_pg "$work/pg" "$pport"
export NATS_URL="nats://127.0.0.1:$nport" DATABASE_URL="postgresql://postgres@127.0.0.1:$pport/polytrade"
study=$here/studies/trend_following_1h.json
sets=(--set search.method=grid --set "search.budget=$steps")
run() {  # run N ID
  local n=$1 id=$2
  workers=()
  for i in $(seq 1 "$n"); do
    "$build/services/research/research" --name "bench-$id-$i" > "$work/worker-$id-$i.log" 2>&1 &
    workers+=($!)
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 1 200); do grep -q 'research worker ready' "$work/worker-$id-$i.log" && break; sleep 0.05; done
  done
  "$build/services/research/polytrade" sweep "$study" "${sets[@]}" --sweep-id "$id" --out "$work/out-$id" \
    > "$work/out-$id.json" 2> "$work/out-$id.err"
  for p in "${workers[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${workers[@]}" 2>/dev/null || true
  workers=()
}
run 1 one
run 2 two
python3 - "$work" <<'PYEOF'
import json, sys
w = sys.argv[1]
a = json.load(open(w + "/out-one.json")); b = json.load(open(w + "/out-two.json"))
print("jobs %d | 1 worker %.1f s (%.1f jobs/s) | 2 workers %.1f s (%.1f jobs/s) | speed-up %.2fx | jobs per worker %s | results equal: %s"
      % (a["jobs"], a["wall_seconds"], a["jobs"] / a["wall_seconds"], b["wall_seconds"], b["jobs"] / b["wall_seconds"],
         a["wall_seconds"] / b["wall_seconds"], b["workers"], a["results_hash"] == b["results_hash"]))
PYEOF
