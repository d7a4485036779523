#!/bin/sh
# Install from apt whatever `make test` needs and is missing. Quiet and fast when everything is
# present (one dpkg-query, no apt call). Debian 12 (bookworm); needs root to install.
#
#   tests/bed/install-deps.sh [--check]     --check: only list missing packages (exit 1 if any)
#
# Node dependencies for the browser tests are handled elsewhere (tests/browser).
set -eu

PACKAGES="
cmake make gcc libc6-dev pkg-config
libjson-c-dev libcrypt-dev
libclang-dev clang
meson ninja-build libjson-c-dev libssl-dev zlib1g-dev libzstd-dev
openssl
iputils-ping
nftables
conntrack
iptables
e2fsprogs
chromium
python3-venv
faketime
vnstat
hyperfine
strace
wireguard-tools
curl
procps
iproute2
python3
gettext
util-linux
prometheus
"

die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

# schemathesis (PyPI) for tests/api_schemathesis.rs: a venv in build/schemathesis from the pinned
# tests/schemathesis/requirements.txt (Debian's python3; re-made when the pins change).
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$repo/build/schemathesis
reqs=$repo/tests/schemathesis/requirements.txt
python_tools() {
    if [ -x "$venv/bin/schemathesis" ] && cmp -s "$reqs" "$venv/requirements.txt"; then return 0; fi
    if [ "${1:-}" = --check ]; then printf 'missing: schemathesis venv (%s)\n' "$venv"; return 1; fi
    printf 'install-deps: schemathesis into %s\n' "$venv" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv" || die "python3 -m venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" || die "pip install -r $reqs failed"
    cp "$reqs" "$venv/requirements.txt"
}

# shellcheck disable=SC2086
missing=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PACKAGES 2>/dev/null |
    awk '$2 == "installed" { ok[$1] = 1 } END { n = split(pkgs, p, " "); for (i = 1; i <= n; i++) if (!(p[i] in ok)) print p[i] }' \
        pkgs="$(echo $PACKAGES)")
if [ -z "$missing" ]; then
    python_tools "${1:-}"
    exit
fi
missing=$(echo $missing)

if [ "${1:-}" = --check ]; then
    printf 'missing: %s\n' "$missing"
    python_tools --check
    exit 1
fi

[ "$(id -u)" = 0 ] || die "need root to install: $missing"
command -v apt-get >/dev/null 2>&1 || die "no apt-get; install by hand: $missing"
printf 'install-deps: installing %s\n' "$missing" >&2

# Don't let package scripts start daemons (vnstatd …) in a CI container.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
cleanup() { [ "$own_policy" = 0 ] || rm -f "$policy"; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# shellcheck disable=SC2086
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "apt-get failed for: $missing"
fi
rm -f "$log"
python_tools
printf 'install-deps: done\n' >&2
