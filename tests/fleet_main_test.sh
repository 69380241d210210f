#!/usr/bin/env bash
# Runs the README's main command (deploy/main.sh) against an already built tree on free ports
# and checks what it promises: nats and postgres up, the supervisor reporting the example as
# running, the ledger healthy, and a clean stop that leaves no process behind.
set -uo pipefail

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}
export POLYTRADE_NATS_PORT=$(free_port) POLYTRADE_NATS_MONITOR_PORT=$(free_port) POLYTRADE_PG_PORT=$(free_port)
rm -rf "${POLYTRADE_DATA_DIR:?}"

out=$(bash deploy/main.sh 2>&1)
rc=$?
fail() { printf 'FAIL: %s\n--- output ---\n%s\n' "$1" "$out" | grep -v '^{"' ; exit 1; }

((rc == 0)) || fail "main.sh exited with $rc"
grep -q "^nats        ok  nats://127.0.0.1:$POLYTRADE_NATS_PORT" <<<"$out" || fail "nats not reported ok"
grep -q "^postgresql  ok  127.0.0.1:$POLYTRADE_PG_PORT/polytrade" <<<"$out" || fail "postgres not reported ok"
grep -q '^ledger: {"healthy":true' <<<"$out" || fail "ledger not reported healthy"
grep -Eq "^false +[0-9]+ +[0-9T:.Z-]+ +example +[0-9]+ +0 +0 +running" <<<"$out" || fail "example not running in ptctl status"
grep -q '"msg":"up: first heartbeat' <<<"$out" || fail "supervisor never saw the example heartbeat"
grep -q "\[infra\] stopped cleanly" <<<"$out" || fail "no clean stop"
for port in "$POLYTRADE_NATS_PORT" "$POLYTRADE_PG_PORT"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "port $port still open after the stop"
done
echo "main command OK: nats :$POLYTRADE_NATS_PORT, postgres :$POLYTRADE_PG_PORT, example running, clean stop"
rm -rf "${POLYTRADE_DATA_DIR:?}"
