#!/usr/bin/env bash
# ccxt judges venue-sim: starts venue-sim (lockstep, loopback, a throwaway account), runs
# judge.js against both protocols, stops venue-sim. Exit status is the judge's.
#   run_judge.sh <venue-sim binary> <repo root>
set -euo pipefail
bin=$1
root=$2
data=${POLYTRADE_DATA:-$root/../shared/data}
here=$root/tests/ccxt
if [[ ! -d $here/node_modules/ccxt ]]; then
  echo "ccxt is not installed: run 'npm ci --prefix tests/ccxt' (deploy/test.sh does)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
key=judge-key-$RANDOM
secret=judge-secret-$RANDOM$RANDOM
VENUE_SIM_ACCOUNTS="$key:$secret:10000" POLYTRADE_DATA=$data \
  "$bin" --catalog "$root/docs/markets" --pace lockstep --ready-file "$work/ready" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do
  [[ -s $work/ready ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "venue-sim exited early:" >&2; cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
[[ -s $work/ready ]] || { echo "venue-sim did not get ready" >&2; cat "$work/err" >&2; exit 1; }
port() { node -e "console.log(JSON.parse(require('fs').readFileSync('$work/ready','utf8'))['$1'])"; }
node "$here/judge.js" "$(port poloniex)" "$(port binance)" "$key" "$secret" "$data"
