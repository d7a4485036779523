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
"

die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

# shellcheck disable=SC2086
missing=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PACKAGES 2>/dev/null |
    awk '$2 == "installed" { ok[$1] = 1 } END { n = split(pkgs, p, " "); for (i = 1; i <= n; i++) if (!(p[i] in ok)) print p[i] }' \
        pkgs="$(echo $PACKAGES)")
[ -n "$missing" ] || exit 0
missing=$(echo $missing)

if [ "${1:-}" = --check ]; then
    printf 'missing: %s\n' "$missing"
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
printf 'install-deps: done\n' >&2
