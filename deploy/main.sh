#!/usr/bin/env bash
# The README's main command: installs what it needs on a fresh Debian 12 (as root), builds,
# starts a private nats-server and PostgreSQL when NATS_URL / DATABASE_URL are not set, runs
# the fleet under the supervisor and prints its health. Ctrl-C stops everything it started.
#   POLYTRADE_RUN_SECONDS=N   stop by itself after N seconds (demos, CI smoke)
#   POLYTRADE_MANIFEST=path   another fleet manifest (default deploy/fleet.local.yaml)
#   POLYTRADE_DATA_DIR=dir    where the private nats/postgres data live (default .data/)
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

NATS_PID="" PG_DIR="" SUP_PID=""
cleanup() {
  trap - INT TERM EXIT
  if [[ -n "$SUP_PID" ]] && kill -0 "$SUP_PID" 2>/dev/null; then
    infra_log "stopping the fleet"
    kill -TERM "$SUP_PID" 2>/dev/null || true
    wait "$SUP_PID" 2>/dev/null || true
  fi
  [[ -n "$PG_DIR" ]] && infra_stop_pg "$PG_DIR"
  infra_stop_nats "$NATS_PID"
  infra_log "stopped cleanly"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATA_DIR=$(infra_pick_data_dir "${POLYTRADE_DATA_DIR:-$ROOT/.data}")
if [[ -z "${NATS_URL:-}" ]]; then
  port=${POLYTRADE_NATS_PORT:-14222}
  infra_start_nats "$DATA_DIR/nats" "$port" "${POLYTRADE_NATS_MONITOR_PORT:-18222}"
  export NATS_URL="nats://127.0.0.1:$port"
else
  infra_log "using NATS at $NATS_URL"
fi
if [[ -z "${DATABASE_URL:-}" ]]; then
  port=${POLYTRADE_PG_PORT:-15432}
  PG_DIR="$DATA_DIR/pg"
  infra_start_pg "$PG_DIR" "$port"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/polytrade"
else
  infra_log "using the PostgreSQL given in DATABASE_URL"
fi

MANIFEST=${POLYTRADE_MANIFEST:-deploy/fleet.local.yaml}
"$BIN/supervisor/supervisor" --manifest "$MANIFEST" &
SUP_PID=$!

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
