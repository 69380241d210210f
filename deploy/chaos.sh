#!/usr/bin/env bash
# The 10-minute chaos session of issue 3 for both venues: a connector and its streams against
# venue-sim with a fault every 30 s (figures in PERFORMANCE.md). Needs ../shared/data.
#   CHAOS_SECONDS=600 CHAOS_FAULT_EVERY=30 bash deploy/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export POLYTRADE_DATA=${POLYTRADE_DATA:-$(cd .. && pwd)/shared/data}
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target venue_chaos venue-sim
rc=0
for v in poloniex binance; do
  build/default/tests/venue_chaos --venue "$v" --seconds "${CHAOS_SECONDS:-600}" \
    --fault-every "${CHAOS_FAULT_EVERY:-30}" || rc=1
done
exit $rc
