#!/usr/bin/env bash
# The container fleet's configs (deploy/container/*.yaml) are accepted by the real binaries: each
# service is started with its file and an unreachable NATS, and must get past its config (exit 3:
# NATS unreachable, or 4: PostgreSQL) instead of refusing it (exit 2). Execution and the guardian
# must refuse the private venue without POLYTRADE_PAPER_PRIVATE_VENUE=1 (the live guard).
set -u
BUILD=${1:?build dir}
cd "$(dirname "$0")/.."
fail() { echo "FAIL: $*" >&2; exit 1; }
run() {  # run <service> [env...]: prints the exit code
  local svc=$1; shift
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" NATS_URL=nats://127.0.0.1:1 DATABASE_URL=postgresql://127.0.0.1:1/x "$@" \
    timeout 20 "$BUILD/services/$svc/$svc" --config "deploy/container/$svc.yaml" >"$TMP/$svc.log" 2>&1
  echo $?
}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for svc in marketdata signal risk execution guardian research; do
  rc=$(run "$svc" POLYTRADE_PAPER_PRIVATE_VENUE=1)
  [[ $rc == 3 || $rc == 4 ]] || { cat "$TMP/$svc.log" >&2; fail "$svc refused deploy/container/$svc.yaml (exit $rc)"; }
  echo "$svc: config accepted (exit $rc at the unreachable server)"
done
for svc in execution guardian; do
  rc=$(run "$svc")
  [[ $rc == 2 ]] || fail "$svc accepted a private venue without POLYTRADE_PAPER_PRIVATE_VENUE=1 (exit $rc)"
  grep -q POLYTRADE_PAPER_PRIVATE_VENUE "$TMP/$svc.log" || fail "$svc: the refusal does not name the switch"
  echo "$svc: private venue refused without the opt-in"
done
echo "container configs OK"
