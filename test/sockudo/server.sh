#!/usr/bin/env bash
# The real Sockudo server for `npm run test:sockudo`, usable by hand too.
#
#   test/sockudo/server.sh install           build sockudo from crates.io (cached), print its path
#   test/sockudo/server.sh run [--no-cluster] [--] <command...>
#                                            start everything, run <command> with SOCKUDO_TEST_*
#                                            set, stop everything (also on failure and signals)
#   test/sockudo/server.sh start [--no-cluster]   start in the background, print the environment
#   test/sockudo/server.sh stop              stop what `start` started
#
# What it starts, each on a free 127.0.0.1 port, from configuration files in ./config, with
# `env -i` (only the variables below reach the server) from an empty working directory:
#   - node:       one node with three apps (test-app, off-app, limits-app), memory backends,
#                 webhooks to SOCKUDO_TEST_WEBHOOK_PORT (the suite listens there);
#   - ratelimit:  one node with the API rate limiter on (5 requests per 2 s);
#   - smallcache: one node whose memory cache holds 200 entries (it then evicts idempotency keys);
#   - cluster:    Redis and PostgreSQL (their own processes and data directories), then two
#                 nodes sharing them (node B starts once node A is ready).
# A server is ready when `GET /up/<app>` answers `OK`. A config that failed to load makes the
# server run on defaults without its apps (`NOT_FOUND`): that fails the start, loudly.
#
# Environment: SOCKUDO_VERSION (5.0.1), SOCKUDO_FEATURES, SOCKUDO_CACHE (~/.cache/effect-sockudo),
# SOCKUDO_STATE (the state directory of start/stop; default /tmp/effect-sockudo-server).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${SOCKUDO_VERSION:-5.0.1}"
features="${SOCKUDO_FEATURES:-versioned-messages,push,monolith,push-wns,redis,postgres}"
cache="${SOCKUDO_CACHE:-$HOME/.cache/effect-sockudo}"
say() { echo "sockudo: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# install

# Debian packages: the build's (compiler, OpenSSL headers, protoc with the well-known .proto files
# of libprotobuf-dev, which metrics-exporter-tcp imports) and the cluster's services.
install_packages() {
  local packages=(build-essential pkg-config libssl-dev protobuf-compiler libprotobuf-dev libsqlite3-dev redis-server postgresql curl)
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "apt-get install ${missing[*]}"
  mkdir -p "$cache"
  if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$cache/apt.log" 2>&1; then
    tail -n 30 "$cache/apt.log" >&2
    say "apt-get failed; full log: $cache/apt.log"
    return 1
  fi
}

# The binary for this version and feature set: from the cache, else built with `cargo install`.
# Sets $bin.
install_server() {
  local key root log started
  key="sockudo-$version-$(tr ',' '\n' <<<"$features" | sort -u | paste -sd+)"
  root="$cache/$key"
  bin="$root/bin/sockudo"
  is_built() { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $version\$"; }
  if is_built; then return 0; fi
  command -v cargo >/dev/null || { say "cargo is not on PATH: the Rust toolchain is needed to build the server"; return 1; }
  mkdir -p "$cache"
  exec 9>"$cache/.install.lock" # one build at a time per cache, also across clones
  flock 9
  if is_built; then exec 9>&-; return 0; fi
  # A release build without the workspace's LTO and single codegen unit, which cost far more
  # build time on two cores than the tests and benchmarks would gain.
  export CARGO_TARGET_DIR="$cache/target"
  export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  # sockudo-metrics 5.0.1 calls Tokio's unstable runtime metrics, which exist only under this
  # cfg: the repository sets it in .cargo/config.toml, which `cargo install` does not read.
  export RUSTFLAGS="--cfg tokio_unstable"
  log="$cache/$key.build.log"
  started=$SECONDS
  say "cargo install sockudo@$version --features $features (the first build takes about 15 min on 2 cores; log: $log)"
  rm -rf "$root.partial"
  if ! cargo install sockudo --version "$version" --locked --root "$root.partial" --features "$features" >"$log" 2>&1; then
    if grep -q 'needs to be updated' "$log"; then
      say "the published Cargo.lock is out of date: building without --locked"
      cargo install sockudo --version "$version" --root "$root.partial" --features "$features" >"$log" 2>&1 ||
        { tail -n 60 "$log" >&2; say "the build failed; full log: $log"; return 1; }
    else
      tail -n 60 "$log" >&2
      say "the build failed; full log: $log"
      return 1
    fi
  fi
  rm -rf "$root"
  mv "$root.partial" "$root"
  say "built $("$bin" --version) in $((SECONDS - started)) s"
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# processes

state=""          # the state directory: logs, data directories, pids, env
pids=()           # what this invocation started, in start order
names=()

free_ports() { # free_ports N: N distinct free TCP ports on 127.0.0.1
  node -e '
    const net = require("node:net")
    const one = () => new Promise((resolve) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)) }) })
    ;(async () => { const ports = new Set(); while (ports.size < Number(process.argv[1])) ports.add(await one()); console.log([...ports].join(" ")) })()' "$1"
}

track() { # track NAME PID
  names+=("$1")
  pids+=("$2")
  echo "$2 $1" >>"$state/pids"
}

alive() { kill -0 "$1" 2>/dev/null; }

# stop_group "PID NAME"...: SIGTERM to all at once, SIGKILL to those still running after 20 s
# (a cluster node takes about 7 s: it announces its departure and waits for its peers)
stop_group() {
  local entry i left
  for entry in "$@"; do kill -TERM "${entry%% *}" 2>/dev/null || true; done
  for i in $(seq 1 200); do
    left=0
    for entry in "$@"; do alive "${entry%% *}" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  for entry in "$@"; do
    if alive "${entry%% *}"; then
      say "${entry#* } (pid ${entry%% *}) did not stop within 20 s: SIGKILL"
      kill -KILL "${entry%% *}" 2>/dev/null || true
    fi
  done
}

# The nodes first (they still talk to Redis and PostgreSQL while they shut down), then those.
stop_all() {
  [ -f "$state/pids" ] || return 0
  local nodes=() services=() entry
  while read -r entry; do
    case "${entry#* }" in
      redis | postgres) services+=("$entry") ;;
      *) nodes+=("$entry") ;;
    esac
  done <"$state/pids"
  [ "${#nodes[@]}" -eq 0 ] || stop_group "${nodes[@]}"
  [ "${#services[@]}" -eq 0 ] || stop_group "${services[@]}"
  rm -f "$state/pids"
}

# wait_up NAME PORT APP LOG: until GET /up/APP answers OK; fails at once on NOT_FOUND or exit
wait_up() {
  local name=$1 port=$2 app=$3 log=$4 pid=$5 body i
  for i in $(seq 1 240); do
    if ! alive "$pid"; then
      say "$name exited during start-up; last lines of $log:"
      tail -n 30 "$log" >&2
      return 1
    fi
    if grep -q 'explicit configuration load failed' "$log"; then
      say "$name did not load its configuration (it would run on defaults); last lines of $log:"
      grep -m1 'explicit configuration load failed' "$log" >&2
      return 1
    fi
    body="$(curl -s --max-time 2 "http://127.0.0.1:$port/up/$app" || true)"
    case "$body" in
      OK) return 0 ;;
      NOT_FOUND)
        say "$name answers NOT_FOUND for app '$app': its configuration was not applied; last lines of $log:"
        tail -n 30 "$log" >&2
        return 1 ;;
    esac
    sleep 0.25
  done
  say "$name did not answer OK on /up/$app within 60 s (last answer: '${body:-none}'); last lines of $log:"
  tail -n 30 "$log" >&2
  return 1
}

# start_node NAME CONFIG PORT [VAR=VALUE...]: the server, in a clean environment
start_node() {
  local name=$1 config=$2 port=$3
  shift 3
  local dir="$state/$name" log="$state/$name.log"
  mkdir -p "$dir"
  (
    cd "$dir"
    exec env -i PATH="/usr/bin:/bin" HOME="$dir" ES_PORT="$port" "$@" \
      "$bin" --config "$here/config/$config"
  ) >"$log" 2>&1 &
  track "$name" $!
  wait_up "$name" "$port" test-app "$log" $!
  say "$name ready on 127.0.0.1:$port"
}

start_redis() {
  local port=$1
  command -v redis-server >/dev/null || { say "redis-server is missing (server.sh install adds it)"; return 1; }
  mkdir -p "$state/redis"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$state/redis" --save '' --appendonly no \
    --daemonize no >"$state/redis.log" 2>&1 &
  track redis $!
  local i
  for i in $(seq 1 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && { say "redis ready on 127.0.0.1:$port"; return 0; }
    alive "${pids[-1]}" || break
    sleep 0.1
  done
  say "redis did not start; log:"
  cat "$state/redis.log" >&2
  return 1
}

start_postgres() {
  local port=$1 bindir data="$state/postgres" as=()
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -x "$bindir/initdb" ] || { say "PostgreSQL is missing (server.sh install adds it)"; return 1; }
  mkdir -p "$data"
  if [ "$(id -u)" -eq 0 ]; then # PostgreSQL refuses to run as root
    chown postgres "$data" "$state"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bindir/initdb" -D "$data/db" -U postgres --auth=trust -E UTF8 --no-instructions >"$state/postgres.log" 2>&1 ||
    { cat "$state/postgres.log" >&2; return 1; }
  "${as[@]}" "$bindir/postgres" -D "$data/db" -p "$port" -k "$data" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off >>"$state/postgres.log" 2>&1 &
  track postgres $!
  local i
  for i in $(seq 1 100); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE ROLE sockudo LOGIN PASSWORD 'sockudo'" -c "CREATE DATABASE sockudo OWNER sockudo" >/dev/null
      say "postgres ready on 127.0.0.1:$port"
      return 0
    fi
    alive "${pids[-1]}" || break
    sleep 0.1
  done
  say "postgres did not start; log:"
  tail -n 30 "$state/postgres.log" >&2
  return 1
}

# start_all CLUSTER: everything, writing $state/env
start_all() {
  local cluster=$1 port ratelimit_port smallcache_port webhook_port a b redis_port pg_port
  read -r port ratelimit_port smallcache_port webhook_port a b redis_port pg_port < <(free_ports 8)
  local push=(PUSH_WNS_PROVIDER_TOKEN=test-token PUSH_ALLOW_LOCAL_WEB_PUSH_ENDPOINTS=true PUSH_CREDENTIAL_ENCRYPTION_KEY=test-key)
  {
    echo "SOCKUDO_TEST_VERSION=$version"
    echo "SOCKUDO_TEST_HOST=127.0.0.1"
    echo "SOCKUDO_TEST_PORT=$port"
    echo "SOCKUDO_TEST_WEBHOOK_PORT=$webhook_port"
    echo "SOCKUDO_TEST_RATELIMIT_PORT=$ratelimit_port"
    echo "SOCKUDO_TEST_SMALLCACHE_PORT=$smallcache_port"
    echo "SOCKUDO_TEST_LOGS=$state"
  } >"$state/env"
  start_node node node.toml "$port" ES_WEBHOOK_PORT="$webhook_port" "${push[@]}"
  start_node ratelimit ratelimit.toml "$ratelimit_port"
  start_node smallcache smallcache.toml "$smallcache_port"
  if [ "$cluster" = 1 ]; then
    start_redis "$redis_port"
    start_postgres "$pg_port"
    start_node cluster-a cluster.toml "$a" ES_REDIS_PORT="$redis_port" ES_PG_PORT="$pg_port"
    start_node cluster-b cluster.toml "$b" ES_REDIS_PORT="$redis_port" ES_PG_PORT="$pg_port"
    echo "SOCKUDO_TEST_CLUSTER_PORTS=$a,$b" >>"$state/env"
    echo "SOCKUDO_TEST_REDIS_PORT=$redis_port" >>"$state/env"
  fi
}

# ---------------------------------------------------------------------------------------------

cmd="${1:-}"
[ $# -gt 0 ] && shift
cluster=1
if [ "${1:-}" = "--no-cluster" ]; then cluster=0; shift; fi
[ "${1:-}" = "--" ] && shift

case "$cmd" in
  install)
    install_packages
    install_server
    echo "$bin"
    ;;
  run)
    [ $# -gt 0 ] || { say "usage: server.sh run [--no-cluster] [--] <command...>"; exit 2; }
    install_packages
    install_server
    state="$(mktemp -d "${TMPDIR:-/tmp}/effect-sockudo-server.XXXXXX")"
    child=""
    finish() {
      local status=$?
      trap - EXIT INT TERM
      if [ -n "$child" ] && alive "$child"; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
      stop_all
      if [ "$status" -ne 0 ]; then
        say "failed (exit $status); server logs kept in $state"
      else
        rm -rf "$state"
      fi
      exit "$status"
    }
    trap finish EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    started=$SECONDS
    start_all "$cluster"
    say "started in $((SECONDS - started)) s"
    set -a
    . "$state/env"
    set +a
    # In the background, so that a signal reaches the traps at once.
    "$@" &
    child=$!
    wait "$child"
    ;;
  start)
    install_packages
    install_server
    state="${SOCKUDO_STATE:-${TMPDIR:-/tmp}/effect-sockudo-server}"
    if [ -f "$state/pids" ]; then say "already started (state in $state): run server.sh stop first"; exit 1; fi
    rm -rf "$state" && mkdir -p "$state"
    trap 'status=$?; [ "$status" -eq 0 ] || stop_all' EXIT
    start_all "$cluster"
    sed 's/^/export /' "$state/env"
    ;;
  stop)
    state="${SOCKUDO_STATE:-${TMPDIR:-/tmp}/effect-sockudo-server}"
    stop_all
    ;;
  *)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
