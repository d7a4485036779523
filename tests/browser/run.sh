#!/usr/bin/env bash
# Browser tests (node:test + playwright-core driving Debian's /usr/bin/chromium, headless) against
# the real server: uhttpd + rpcd + the CGI + the simulated router (tests/rig). If a server is already
# running (make run, or tests/rig/serve.sh start), its .run/server.env is used as is. Otherwise
# this script brings the rig up, starts the server and some client traffic, and stops exactly
# what it started when the tests end. Extra args go to node --test (e.g. --test-name-pattern=…, with
# the `=`); test files or folders among them run alone (default: test/).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ENV_FILE="$REPO/.run/server.env"
# The collector (live pings, history) for the Bandwidth, Diagnostics and Overview tests, sampling
# every JM_COLLECTOR_INTERVAL seconds (short, so history rows appear during the run).
COLLECTOR=${JM_COLLECTOR_BIN:-$REPO/target/release/jammonitor-collector}
COLLECTOR_INTERVAL=${JM_COLLECTOR_INTERVAL:-10}
COLLECTOR_LOG="$REPO/.run/collector-browser.log"
cd "$HERE"

if [ ! -d "$REPO/scripts/frontend/node_modules/esbuild" ]; then
    # The minifier the packages use (the static test measures the shipped size with it).
    (cd "$REPO/scripts/frontend" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
    # Pinned by package-lock.json; playwright-core downloads no browser.
    npm ci --no-audit --no-fund --loglevel=error
fi
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || {
    echo "browser tests: ${CHROMIUM:-/usr/bin/chromium} missing (apt-get install chromium)" >&2; exit 1; }

server_up() {
    [ -f "$ENV_FILE" ] || return 1
    # shellcheck disable=SC1090
    (. "$ENV_FILE" && [ "${JM_MODE:-}" = rig ] &&
        curl -fsS -m 5 -o /dev/null -H "Authorization: Bearer $JM_SID" "$JM_URL/cgi-bin/jammonitor/api/overview")
}

started=0
collector_started=0
cleanup() {
    if [ "$collector_started" = 1 ]; then
        collector_init stop || true
    fi
    if [ "$started" = 1 ]; then
        "$REPO/tests/rig/rig.sh" traffic stop >/dev/null 2>&1 || true
        "$REPO/tests/rig/serve.sh" stop || true
        "$REPO/tests/rig/rig.sh" down || true
    fi
}
trap cleanup EXIT

if ! server_up; then
    [ "$(id -u)" = 0 ] || { echo "browser tests: need root to start the simulated router (or start it first: sudo make run)" >&2; exit 1; }
    echo "browser tests: no running rig server; starting one (tests/rig/rig.sh up, serve.sh start)" >&2
    started=1
    "$REPO/tests/rig/rig.sh" up
    "$REPO/tests/rig/serve.sh" start ${JM_LUCI:+--luci} --port "${JM_TEST_PORT:-18089}"
    # Client traffic makes the throughput graphs of the screenshots move; optional.
    "$REPO/tests/rig/rig.sh" traffic --bg 300 >/dev/null 2>&1 || true
    server_up || { echo "browser tests: the server does not answer" >&2; exit 1; }
fi

set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
if [ -n "${JM_LUCI:-}" ] && [ -z "${JM_LUCI_URL:-}" ]; then
    echo "browser tests: JM_LUCI is set but the running server has no LuCI: make stop, then JM_LUCI=1 make run (or let this script start one)" >&2
    exit 1
fi

# -- the collector: lib/collector-init.sh becomes /etc/init.d/jammonitor-collector of the live root
# (so collector.start/stop work from the page, as on a router); the collector is started through
# it inside the router namespace unless one already runs (make run's), and stopped at the end only
# if started here.
collector_init() {
    ip netns exec "$JM_NETNS" /usr/bin/env JAMMONITOR_ROOT="$JM_ROOT" "$JM_ROOT/etc/init.d/jammonitor-collector" "$@"
}
collector_running() {
    local st="$JM_ROOT/var/run/jammonitor/collector.json" pid
    grep -q '"state": *"running"' "$st" 2>/dev/null || return 1
    pid=$(sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$st" | head -n1)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
if [ "${JM_MODE:-}" = rig ] && [ -x "$COLLECTOR" ]; then
    mkdir -p "$JM_ROOT/etc/init.d"
    sed -e "s|@COLLECTOR@|$COLLECTOR|" -e "s|@INTERVAL@|$COLLECTOR_INTERVAL|" -e "s|@LOG@|$COLLECTOR_LOG|" \
        lib/collector-init.sh >"$JM_ROOT/etc/init.d/jammonitor-collector"
    chmod 755 "$JM_ROOT/etc/init.d/jammonitor-collector"
    if ! collector_running; then
        collector_init start
        collector_running || {
            echo "browser tests: the collector did not start; last lines of $COLLECTOR_LOG:" >&2
            tail -n 5 "$COLLECTOR_LOG" >&2 || true
            exit 1
        }
        collector_started=1
        echo "browser tests: collector running in $JM_NETNS, a sample every $COLLECTOR_INTERVAL s (log $COLLECTOR_LOG)" >&2
    fi
else
    echo "browser tests: no collector ($COLLECTOR not built, or not rig mode): its tests will fail" >&2
fi

# Test files or folders among the arguments (`run.sh test/linkhist.test.mjs`) run alone; without
# any, every file in test/.
paths=()
for a in "$@"; do case $a in -*) ;; *) paths+=("$a") ;; esac; done
[ ${#paths[@]} -gt 0 ] || set -- "$@" test/
node --test --test-concurrency=1 --test-reporter=spec "$@"
