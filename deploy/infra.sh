# shellcheck shell=bash
# Private local infrastructure for the main command and manual runs: a loopback nats-server
# (JetStream on) and a loopback PostgreSQL 15 cluster run by a non-root user. Sourced by
# deploy/main.sh; every function logs what it does and fails with one clear line.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
NATS_SERVER=${NATS_SERVER:-/usr/sbin/nats-server}

infra_log() { printf '[infra] %s\n' "$*" >&2; }
infra_die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

# A folder the non-root postgres user can enter: under the repo when every parent is
# traversable, otherwise under /var/tmp (e.g. a clone under /root, which is mode 0700).
infra_pick_data_dir() {
  local repo_data=$1
  mkdir -p "$repo_data"
  if [[ $(id -u) -ne 0 ]] || runuser -u postgres -- test -x "$repo_data" 2>/dev/null; then
    echo "$repo_data"
  else
    local alt="/var/tmp/polytrade-$(printf '%s' "$repo_data" | md5sum | cut -c1-8)"
    mkdir -p "$alt"
    infra_log "$repo_data is not reachable by user postgres; keeping the cluster in $alt"
    echo "$alt"
  fi
}

# Runs a command as the cluster owner: postgres when we are root, ourselves otherwise.
infra_as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

infra_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_nats DIR PORT MONITOR_PORT -> sets NATS_PID
infra_start_nats() {
  local dir=$1 port=$2 mport=$3
  mkdir -p "$dir/js"
  infra_port_busy "$port" && infra_die "port $port is already in use: cannot start nats-server (set NATS_URL to use a running one)"
  "$NATS_SERVER" -a 127.0.0.1 -p "$port" -m "$mport" -js -sd "$dir/js" -l "$dir/nats.log" -P "$dir/nats.pid" &
  NATS_PID=$!
  for _ in $(seq 1 500); do
    curl -sf "http://127.0.0.1:$mport/healthz" >/dev/null 2>&1 && { infra_log "nats-server up on 127.0.0.1:$port (JetStream on, store $dir/js)"; return 0; }
    kill -0 "$NATS_PID" 2>/dev/null || infra_die "nats-server exited at start; see $dir/nats.log"
    sleep 0.02
  done
  infra_die "nats-server not healthy within 10 s; see $dir/nats.log"
}

# start_pg DIR PORT -> cluster in DIR/data, database polytrade
infra_start_pg() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir" && chmod 0700 "$dir"
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    infra_as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || infra_die "initdb failed; see $dir/initdb.log"
  fi
  infra_port_busy "$port" && infra_die "port $port is already in use: cannot start PostgreSQL (set DATABASE_URL to use a running one)"
  infra_as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir" start >/dev/null \
    || infra_die "PostgreSQL did not start; see $dir/server.log"
  infra_as_pg "$PG_BIN/psql" -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname='polytrade'" | grep -q 1 \
    || infra_as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres polytrade
  infra_log "PostgreSQL 15 up on 127.0.0.1:$port (cluster $dir/data, owner $( [[ $(id -u) -eq 0 ]] && echo postgres || id -un))"
}

infra_stop_pg() {
  local dir=$1
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  infra_as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 && infra_log "PostgreSQL stopped"
}

infra_stop_nats() {
  local pid=$1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 250); do kill -0 "$pid" 2>/dev/null || { infra_log "nats-server stopped"; return 0; }; sleep 0.02; done
  kill -9 "$pid" 2>/dev/null
}
