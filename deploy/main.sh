#!/usr/bin/env bash
# The README's main command: installs what it needs on a fresh Debian 12 (as root), builds,
# starts a private nats-server and PostgreSQL when NATS_URL / DATABASE_URL are not set, then
# paper-trades: venue-sim replays the recorded data (../shared/data or $POLYTRADE_DATA) in
# lockstep on the Poloniex protocol, the supervisor runs the trading fleet against it
# (deploy/fleet.paper.yaml), and paperrun steps the replay, prints a one-screen summary every
# simulated week and a final report. The exit code is paperrun's: 0 only when the run traded,
# protected every entry within 2 s and its equity equals venue-sim's. Ctrl-C stops everything.
#   POLYTRADE_VENUE=binance        venue-sim speaks Binance USD-M instead of Poloniex v3 (configs in
#                                  deploy/paper/binance, native stops, guardian as dead-man switch)
#   POLYTRADE__PAPERRUN__STEPS=N   stop after N bars (default: the whole replay)
#   POLYTRADE_SIM_START=ISO-8601   market time at start (default: venue-sim's, data start + 30 d)
#   POLYTRADE_PAPER_BALANCE=USDT   the paper account's balance (default 10000)
#   POLYTRADE_SIM_PORT=P           venue-sim REST P, WebSocket P+1, control P+90 (default 18100)
#   POLYTRADE_MANIFEST=path        run that manifest instead (no venue-sim, no paperrun), e.g.
#                                  deploy/fleet.local.yaml; POLYTRADE_RUN_SECONDS=N stops it
#   POLYTRADE_DATA_DIR=dir         where the private nats/postgres data live (default .data/)
#   POLYTRADE_NATS_PORT, POLYTRADE_NATS_MONITOR_PORT, POLYTRADE_PG_PORT   their ports
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
source deploy/infra.sh

# POLYTRADE_BUILD_DIR + POLYTRADE_SKIP_BUILD=1 run an already built tree (the fleet test does).
BUILD_DIR=${POLYTRADE_BUILD_DIR:-$ROOT/build/default}
if [[ "${POLYTRADE_SKIP_BUILD:-0}" != 1 ]]; then
  bash deploy/bootstrap.sh
  cmake --preset default >/dev/null
  cmake --build --preset default -j "$(nproc)" >/dev/null || cmake --build --preset default -j 1
fi
BIN=$BUILD_DIR/services
export POLYTRADE_BIN="$BIN"
# The manifest names services by binary name, looked up on PATH, as in the containers.
for d in "$BIN"/*/; do PATH="${d%/}:$PATH"; done
export PATH
export POLYTRADE_DATA=${POLYTRADE_DATA:-$(cd .. && pwd)/shared/data}
PAPER=1
[[ -n "${POLYTRADE_MANIFEST:-}" ]] && PAPER=0

NATS_PID="" PG_DIR="" SUP_PID="" SIM_PID=""
cleanup() {
  trap - INT TERM EXIT
  if [[ -n "$SUP_PID" ]] && kill -0 "$SUP_PID" 2>/dev/null; then
    infra_log "stopping the fleet"
    kill -TERM "$SUP_PID" 2>/dev/null || true
    wait "$SUP_PID" 2>/dev/null || true
  fi
  if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
    kill -TERM "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    infra_log "venue-sim stopped"
  fi
  [[ -n "$PG_DIR" ]] && infra_stop_pg "$PG_DIR"
  infra_stop_nats "$NATS_PID"
  infra_log "stopped cleanly"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATA_DIR=$(infra_pick_data_dir "${POLYTRADE_DATA_DIR:-$ROOT/.data}")
if ((PAPER)); then
  # A paper run is reproducible: it starts from an empty ledger, empty streams and no guardian
  # state. Each run keeps its own folder (the last one stays for a look after the run).
  RUN_DIR="$DATA_DIR/paper"
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR"
  NATS_DATA="$RUN_DIR/nats" PG_DATA="$RUN_DIR/pg"
else
  NATS_DATA="$DATA_DIR/nats" PG_DATA="$DATA_DIR/pg"
fi
if [[ -z "${NATS_URL:-}" ]]; then
  port=${POLYTRADE_NATS_PORT:-14222}
  infra_start_nats "$NATS_DATA" "$port" "${POLYTRADE_NATS_MONITOR_PORT:-18222}"
  export NATS_URL="nats://127.0.0.1:$port"
else
  infra_log "using NATS at $NATS_URL"
fi
if [[ -z "${DATABASE_URL:-}" ]]; then
  port=${POLYTRADE_PG_PORT:-15432}
  PG_DIR="$PG_DATA"
  infra_start_pg "$PG_DIR" "$port"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/polytrade"
else
  infra_log "using the PostgreSQL given in DATABASE_URL"
fi

# Health of the infrastructure, then of the fleet (the supervisor answers ctl.supervisor.status).
print_health() {
  printf '\n=== health %s\n' "$(date -u +%FT%TZ)"
  if [[ -n "$NATS_PID" ]]; then
    curl -sf "http://127.0.0.1:${POLYTRADE_NATS_MONITOR_PORT:-18222}/healthz" >/dev/null \
      && echo "nats        ok  $NATS_URL (JetStream on)" || echo "nats        DOWN  $NATS_URL"
  fi
  if [[ -n "$PG_DIR" ]]; then
    "$PG_BIN/pg_isready" -q -U postgres -h 127.0.0.1 -p "${POLYTRADE_PG_PORT:-15432}" \
      && echo "postgresql  ok  127.0.0.1:${POLYTRADE_PG_PORT:-15432}/polytrade" || echo "postgresql  DOWN"
  fi
  "$BIN/ptctl/ptctl" status --wait "${1:-2s}" || echo "supervisor  no answer to ctl.supervisor.status"
  echo
}

if ((!PAPER)); then
  "$BIN/supervisor/supervisor" --manifest "$POLYTRADE_MANIFEST" &
  SUP_PID=$!
  sleep 2
  print_health 10s
  infra_log "fleet running; Ctrl-C stops everything"
  if [[ -n "${POLYTRADE_RUN_SECONDS:-}" ]]; then
    end=$((SECONDS + POLYTRADE_RUN_SECONDS))
    while ((SECONDS < end)) && kill -0 "$SUP_PID" 2>/dev/null; do sleep 1; done
    print_health
  else
    while kill -0 "$SUP_PID" 2>/dev/null; do
      sleep "${POLYTRADE_HEALTH_EVERY:-60}" &
      wait $! || true
      kill -0 "$SUP_PID" 2>/dev/null && print_health
    done
  fi
  exit 0
fi

# ---- paper trading against venue-sim ----------------------------------------------------------
# The recording, or (run by a user without it, never in CI or tests) a year of public candles and
# funding fetched once from Binance USD-M's public REST endpoints (no key) into .data/fetched/.
SIM_SOURCE=freqtrade_marketlab
if [[ ! -d "$POLYTRADE_DATA/freqtrade_marketlab" ]]; then
  [[ -n "${CI:-}" || -n "${POLYTRADE_NO_FETCH:-}" ]] &&
    infra_die "no recorded data in $POLYTRADE_DATA (set POLYTRADE_DATA); CI and POLYTRADE_NO_FETCH never fetch from a venue"
  FETCHED="$ROOT/.data/fetched"
  if [[ ! -s "$FETCHED/venue_public/BTCUSDT_1h.csv" || ! -s "$FETCHED/venue_public/ETHUSDT_funding_rate.csv" ]]; then
    infra_log "no recorded data in $POLYTRADE_DATA: fetching a year of PUBLIC 1h candles and funding for BTC and ETH"
    infra_log "from Binance USD-M (fapi.binance.com, public endpoints, no key) into $FETCHED"
    "$BIN/fetchdata/fetchdata" --venue binance --symbols BTC,ETH --timeframes 1h --days 365 --out "$FETCHED" ||
      infra_die "fetching public candles failed (no route to the venue?); set POLYTRADE_DATA to recorded data"
  else
    infra_log "no recorded data in $POLYTRADE_DATA: replaying the public candles fetched earlier in $FETCHED"
  fi
  export POLYTRADE_DATA="$FETCHED"
  SIM_SOURCE=venue_public
fi

# Which protocol venue-sim speaks: Poloniex v3 (default) or Binance USD-M.
VENUE=${POLYTRADE_VENUE:-poloniex}
case "$VENUE" in
  poloniex) PAPER_DIR=deploy/paper MANIFEST=deploy/fleet.paper.yaml VENUE_NAME="Poloniex v3" WS_PUBLIC=/ws/v3/public WS_PRIVATE=/ws/v3/private ;;
  binance) PAPER_DIR=deploy/paper/binance MANIFEST=deploy/fleet.paper.binance.yaml VENUE_NAME="Binance USD-M" WS_PUBLIC="" WS_PRIVATE="" ;;
  *) infra_die "POLYTRADE_VENUE must be poloniex or binance, not '$VENUE'" ;;
esac

# Paper keys are venue-sim's own: real keys in this environment never reach the simulator.
export POLONIEX_API_KEY=venue-sim-key POLONIEX_API_SECRET=venue-sim-secret
export BINANCE_API_KEY=venue-sim-key BINANCE_API_SECRET=venue-sim-secret
export VENUE_SIM_ACCOUNTS="venue-sim-key:venue-sim-secret:${POLYTRADE_PAPER_BALANCE:-10000}"
unset POLYTRADE_LIVE
if [[ -z "${POLYTRADE_CTL_TOKEN:-}" ]]; then
  POLYTRADE_CTL_TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  export POLYTRADE_CTL_TOKEN
  infra_log "POLYTRADE_CTL_TOKEN not set: made a random operator token for this run (not shown)"
fi

SIM_PORT=${POLYTRADE_SIM_PORT:-18100}
SIM_WS=$((SIM_PORT + 1)) SIM_CONTROL=$((SIM_PORT + 90))
for p in "$SIM_PORT" "$SIM_WS" "$SIM_CONTROL"; do
  infra_port_busy "$p" && infra_die "port $p is already in use: cannot start venue-sim (POLYTRADE_SIM_PORT moves it)"
done
# The configs in deploy/paper name the default ports; these overrides follow POLYTRADE_SIM_PORT.
for svc in MARKETDATA GUARDIAN EXECUTION; do export "POLYTRADE__${svc}__REST_URL=http://127.0.0.1:$SIM_PORT"; done
export POLYTRADE__MARKETDATA__WS_URL="ws://127.0.0.1:$SIM_WS$WS_PUBLIC"
export POLYTRADE__GUARDIAN__WS_URL="ws://127.0.0.1:$SIM_WS$WS_PUBLIC"
export POLYTRADE__EXECUTION__WS_URL="ws://127.0.0.1:$SIM_WS$WS_PRIVATE"
export POLYTRADE__PAPERRUN__CONTROL_URL="http://127.0.0.1:$SIM_CONTROL"
export POLYTRADE__GUARDIAN__STATE_FILE="$RUN_DIR/guardian-state.json"
export POLYTRADE__PAPERRUN__REPORT_FILE="$RUN_DIR/report.json"

sim_args=(--protocols "$VENUE" --"$VENUE"-port "$SIM_PORT" --"$VENUE"-ws-port "$SIM_WS" --control-port "$SIM_CONTROL"
  --symbols BTC,ETH --timeframe 1h --pace lockstep --data "$POLYTRADE_DATA" --source "$SIM_SOURCE"
  --ready-file "$RUN_DIR/venue-sim.json"
  # A step is an hour of market time in ~30 ms: the venue's per-minute request budget, which the
  # connectors pace themselves by, scaled to match (Binance publishes it; Poloniex's are per second).
  --rate-limit-scale 100)
[[ -n "${POLYTRADE_SIM_START:-}" ]] && sim_args+=(--start "$POLYTRADE_SIM_START")
"$BIN/venue-sim/venue-sim" "${sim_args[@]}" >"$RUN_DIR/venue-sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 300); do
  [[ -s "$RUN_DIR/venue-sim.json" ]] && break
  kill -0 "$SIM_PID" 2>/dev/null || { tail -5 "$RUN_DIR/venue-sim.log" >&2; infra_die "venue-sim exited at start"; }
  sleep 0.1
done
[[ -s "$RUN_DIR/venue-sim.json" ]] || infra_die "venue-sim not ready within 30 s; see $RUN_DIR/venue-sim.log"
infra_log "venue-sim up ($VENUE_NAME on 127.0.0.1:$SIM_PORT, ws :$SIM_WS, control :$SIM_CONTROL, lockstep): $(cat "$RUN_DIR/venue-sim.json")"

# The fleet's JSON logs go to a file; the terminal shows paperrun's summaries.
"$BIN/supervisor/supervisor" --manifest "$MANIFEST" >"$RUN_DIR/fleet.log" 2>&1 &
SUP_PID=$!
infra_log "fleet starting under the supervisor (logs: $RUN_DIR/fleet.log)"
sleep 1
rc=0
"$BIN/paperrun/paperrun" --config "$PAPER_DIR/paperrun.yaml" 2> >(grep -v '^{.*"level":"\(info\|debug\)"' >&2) || rc=$?
print_health
if ((rc != 0)); then
  infra_log "paper run FAILED (paperrun exit $rc); the fleet's last errors:"
  grep '"level":"\(error\|fatal\)"' "$RUN_DIR/fleet.log" | tail -20 >&2 || true
else
  infra_log "paper run passed; report: $RUN_DIR/report.json"
fi
exit "$rc"
