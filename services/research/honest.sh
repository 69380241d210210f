#!/usr/bin/env bash
# The honest answer (issue 5, item 9): every shipped strategy through walk-forward on every
# recorded data set in ../shared/data, one symbol at a time, out-of-sample results judged by
# the promotion gate. Writes research-out/honest/<set>/<strategy>/<symbol>/ (the walkforward
# command's files) and research-out/honest/summary.md (the table the README quotes).
# Usage: services/research/honest.sh [BUILD_DIR]   (needs python3 for the table)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/default}
bin=$build/services/research/polytrade
out=${HONEST_OUT:-$root/research-out/honest}
mkdir -p "$out"
strategies=(trend_following breakout mean_reversion multi_factor funding_bias)
# set | source | timeframe | symbols | extra overrides
sets=(
  "2025_1h|freqtrade_marketlab|1h|BTCUSDT ETHUSDT SOLUSDT|"
  "2023_24_1h|freqtrade_cyft_trader|1h|BTCUSDT ETHUSDT|"
  "2025_1m|freqtrade_1m_two_sources|1m|BTCUSDT ETHUSDT SOLUSDT|walkforward.train_days=14 walkforward.test_days=7 walkforward.warmup_days=7 search.budget=10"
)
for s in "${sets[@]}"; do
  IFS='|' read -r name source tf symbols extra <<<"$s"
  for strat in "${strategies[@]}"; do
    for sym in $symbols; do
      dir=$out/$name/$strat/$sym
      args=(--set "data.source=$source" --set "timeframe=$tf" --set "symbols=[\"$sym\"]" --set "name=${strat}_${name}_${sym}")
      for e in $extra; do args+=(--set "$e"); done
      mkdir -p "$(dirname "$dir")"
      start=$(date +%s%N)
      if "$bin" walkforward "$here/studies/${strat}_1h.json" --out "$dir" --models "$out/models" "${args[@]}" \
           > "$dir.json" 2> "$dir.err"; then
        printf '%-12s %-16s %-8s %6d ms\n' "$name" "$strat" "$sym" $(( ($(date +%s%N) - start) / 1000000 ))
      else
        echo "$name $strat $sym FAILED: $(tail -1 "$dir.err")"
      fi
    done
  done
done
python3 - "$out" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
rows = []
for setname in sorted(os.listdir(out)):
    p = os.path.join(out, setname)
    if not os.path.isdir(p) or setname == "models": continue
    for strat in sorted(os.listdir(p)):
        for sym in sorted(os.listdir(os.path.join(p, strat))):
            f = os.path.join(p, strat, sym, "metrics.json")
            if not os.path.exists(f): continue
            m = json.load(open(f))
            o = m.get("oos_metrics") or {}
            def num(k, fmt):
                v = o.get(k)
                return "n/a" if v is None else fmt % float(v)
            period = "%s .. %s" % (o.get("start_time", "")[:10], o.get("end_time", "")[:10]) if o else "n/a"
            rows.append("| %s | %s | %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                setname, strat, sym, len(m["folds"]), period, m["oos_trades"],
                num("total_return", "%+.2f %%") if o.get("total_return") is None else "%+.2f %%" % (100 * o["total_return"]),
                num("sharpe", "%.2f"), num("profit_factor", "%.2f"),
                "n/a" if o.get("max_drawdown") is None else "%.2f %%" % (100 * o["max_drawdown"]),
                "n/a" if o.get("win_rate") is None else "%.0f %%" % (100 * o["win_rate"]),
                o.get("fees_paid", "n/a") if o else "n/a",
                "yes" if m["promotion"]["promotable"] else "no"))
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("| data | strategy | symbol | folds | out-of-sample window | trades | return | Sharpe | PF | max DD | win rate | fees | promotable |\n")
    f.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n")
print(open(os.path.join(out, "summary.md")).read())
PYEOF
