#!/usr/bin/env bash
# Headless Chromium for the browser tests (test/browser/, test/sockudo/Browser.test.ts), from
# Debian's `chromium` package: playwright-core drives it through `executablePath`, so nothing is
# downloaded at test time (`npx playwright install` cannot download here).
#
#   test/browser/chromium.sh install   install it with apt-get (as root or with sudo) unless present
#   test/browser/chromium.sh path      print the executable the tests use
#
# CHROMIUM_PATH overrides the executable (default /usr/bin/chromium). `.ci/run` runs `install`
# before `npm test`; `npm test` itself installs nothing and fails the browser test, saying how to
# install, when Chromium is missing.
set -euo pipefail
executable="${CHROMIUM_PATH:-/usr/bin/chromium}"
say() { echo "chromium: $*" >&2; }

case "${1:-}" in
  install)
    if [ -x "$executable" ]; then
      say "present: $("$executable" --version 2>/dev/null || echo "$executable")"
      exit 0
    fi
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log="${TMPDIR:-/tmp}/effect-sockudo-chromium-apt.log"
    started=$SECONDS
    say "apt-get install chromium (log: $log)"
    if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      say "apt-get failed; full log: $log"
      exit 1
    fi
    [ -x "$executable" ] || { say "installed, but $executable is not there: set CHROMIUM_PATH"; exit 1; }
    say "installed $("$executable" --version) in $((SECONDS - started)) s"
    ;;
  path)
    echo "$executable"
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
