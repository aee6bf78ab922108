#!/usr/bin/env bash
# The suite of `npm run test:sockudo`, run by `server.sh run` once the servers are up (it sets
# the SOCKUDO_TEST_* variables): the vitest suite of test/sockudo (arguments go to vitest), then
# the end-to-end scenarios of e2e/ with pusher-js clients, this time against Sockudo.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
started=$SECONDS
# Browser.test.ts drives Debian's Chromium (installed here when missing, through apt-get).
bash test/browser/chromium.sh install
npx vitest run --config test/sockudo/vitest.config.ts "$@"
echo "test:sockudo: vitest suite done in $((SECONDS - started)) s"
if [ $# -eq 0 ]; then
  E2E_TARGET=sockudo \
    E2E_HOST="$SOCKUDO_TEST_HOST" \
    E2E_PORT="$SOCKUDO_TEST_PORT" \
    E2E_APP_ID=test-app \
    E2E_APP_KEY=test-key \
    E2E_APP_SECRET=test-secret \
    E2E_WEBHOOK_PORT="$SOCKUDO_TEST_WEBHOOK_PORT" \
    timeout 150 node e2e/scenarios.ts
fi
echo "test:sockudo: done in $((SECONDS - started)) s"
