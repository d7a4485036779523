#!/usr/bin/env bash
# Browser tests (node:test + playwright-core driving Debian's /usr/bin/chromium, headless) against
# the real server: lighttpd + the CGI + the simulated router (tests/rig). If a server is already
# running (make run, or tests/rig/serve.sh start), its .run/server.env is used as is. Otherwise
# this script brings the rig up, starts the server and some client traffic, and stops exactly
# what it started when the tests end. Extra args go to node --test (e.g. --test-name-pattern=…).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ENV_FILE="$REPO/.run/server.env"
cd "$HERE"

if [ ! -d node_modules/playwright-core ]; then
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
cleanup() {
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
    "$REPO/tests/rig/serve.sh" start --port "${JM_TEST_PORT:-18089}"
    # Client traffic makes the throughput graphs of the screenshots move; optional.
    "$REPO/tests/rig/rig.sh" traffic --bg 300 >/dev/null 2>&1 || true
    server_up || { echo "browser tests: the server does not answer" >&2; exit 1; }
fi

set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

node --test --test-concurrency=1 --test-reporter=spec "$@" test/
