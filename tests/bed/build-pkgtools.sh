#!/bin/sh
# Build the package tools the tests install with, from the archives in tests/vendor/{openwrt,alpine}/:
# usign (OpenWrt's signatures), opkg-lede (opkg of OpenWrt 24.10, needs libubox), apk-tools v3
# (OpenWrt 25.x) and LuCI's po2lmo (tests/vendor/luci: the .lmo catalogues of luci-i18n packages).
# How they build and behave: tests/vendor/README.md.
#
#   tests/bed/build-pkgtools.sh [outdir]        (default: <repo>/build/pkgtools)
#
# Result: <outdir>/bin/{usign,opkg,apk,po2lmo}. Idempotent: a tool is rebuilt only when its archive
# changed (a stamp holds the archive's sha256) or the binary is missing (PKGTOOLS_REBUILD=1 forces).
# Needs cmake, meson, ninja, a C compiler, libjson-c-dev (libubox), libssl-dev zlib1g-dev
# libzstd-dev (apk): tests/bed/install-deps.sh installs them.
set -eu

die() { printf 'build-pkgtools: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-pkgtools: %s\n' "$*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vendor=$repo/tests/vendor
outdir=${1:-$repo/build/pkgtools}
mkdir -p "$outdir/bin" "$outdir/src" "$outdir/prefix" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
# Tests run in parallel and each may call this script: one build at a time, the others wait
# and then find the tools fresh.
exec 9>"$outdir/.build.lock"
flock 9
jobs=${CARGO_BUILD_JOBS:-2}

# archive NAME: the one vendored archive of NAME (tests/vendor/openwrt/ or tests/vendor/alpine/).
archive() {
    set -- "$vendor"/*/"$1"-20*.tar.gz
    [ -f "$1" ] || die "no archive for $1 in $vendor"
    [ $# = 1 ] || die "several archives match: $*"
    echo "$1"
}

# fresh NAME BIN: true when BIN exists and was built from the current archive of NAME.
fresh() {
    [ -z "${PKGTOOLS_REBUILD:-}" ] || return 1
    [ -e "$2" ] || return 1
    [ "$(cat "$outdir/src/$1.stamp" 2>/dev/null)" = "$(sha256sum "$(archive "$1")" | cut -d' ' -f1)" ]
}

# unpack NAME: fresh source tree in $outdir/src/NAME, prints its path.
unpack() {
    a=$(archive "$1")
    rm -rf "$outdir/src/$1"
    mkdir -p "$outdir/src/$1"
    tar -xzf "$a" -C "$outdir/src/$1" --strip-components=1
    echo "$outdir/src/$1"
}

stamp() { sha256sum "$(archive "$1")" | cut -d' ' -f1 >"$outdir/src/$1.stamp"; }

quiet() {
    l=$(mktemp)
    if ! "$@" >"$l" 2>&1; then
        tail -n 40 "$l" >&2
        rm -f "$l"
        die "failed: $*"
    fi
    rm -f "$l"
}

# usign: cmake, static except libc.
if fresh usign "$outdir/bin/usign"; then
    log "up to date: usign"
else
    log "building usign"
    s=$(unpack usign)
    quiet cmake -S "$s" -B "$s/build" -DCMAKE_BUILD_TYPE=Release
    quiet make -C "$s/build" -j"$jobs"
    install -m 0755 "$s/build/usign" "$outdir/bin/usign"
    stamp usign
fi

# libubox (static, for opkg; only the library is used).
if fresh libubox "$outdir/prefix/lib/libubox.a"; then
    log "up to date: libubox"
else
    log "building libubox"
    s=$(unpack libubox)
    quiet cmake -S "$s" -B "$s/build" -DBUILD_LUA=OFF -DBUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$outdir/prefix"
    quiet make -C "$s/build" -j"$jobs" install
    stamp libubox
    rm -f "$outdir/src/opkg-lede.stamp" # opkg links it statically
fi

# opkg-lede: the binary is opkg-cl (OpenWrt installs it as /bin/opkg). CMake never adds the
# libubox include dir, and VERSION comes from git (absent in a tarball): both passed here.
if fresh opkg-lede "$outdir/bin/opkg"; then
    log "up to date: opkg"
else
    log "building opkg"
    s=$(unpack opkg-lede)
    ver=$(basename "$(archive opkg-lede)" .tar.gz | sed 's/.*-//')
    quiet cmake -S "$s" -B "$s/build" -DCMAKE_C_FLAGS="-I$outdir/prefix/include" \
        -DCMAKE_PREFIX_PATH="$outdir/prefix" -DSTATIC_UBOX=ON -DBUILD_TESTS=OFF -DVERSION="$ver"
    quiet make -C "$s/build" -j"$jobs"
    install -m 0755 "$s/build/src/opkg-cl" "$outdir/bin/opkg"
    stamp opkg-lede
fi

# apk-tools v3: one static-libapk binary, no lua/help/docs/python.
if fresh apk-tools "$outdir/bin/apk"; then
    log "up to date: apk"
else
    log "building apk"
    s=$(unpack apk-tools)
    quiet meson setup "$s/build" "$s" -Dlua=disabled -Ddocs=disabled -Dhelp=disabled -Dpython=disabled \
        -Dtests=disabled -Dzstd=enabled -Ddefault_library=static
    quiet ninja -C "$s/build" -j"$jobs"
    install -m 0755 "$s/build/src/apk" "$outdir/bin/apk"
    stamp apk-tools
fi

# po2lmo: LuCI's .po → .lmo compiler (luci-base/src, what luci.mk runs for luci-i18n-* packages;
# needs nothing but libc), from the LuCI archive in tests/vendor/luci/.
if fresh luci "$outdir/bin/po2lmo"; then
    log "up to date: po2lmo"
else
    log "building po2lmo"
    s=$(unpack luci)
    quiet make -C "$s/modules/luci-base/src" CC="${CC:-cc}" CFLAGS=-O2 po2lmo
    install -m 0755 "$s/modules/luci-base/src/po2lmo" "$outdir/bin/po2lmo"
    stamp luci
    rm -rf "$s"
fi

# Self-check: each tool answers.
"$outdir/bin/usign" 2>&1 | grep -q 'Usage' || die "usign does not run"
"$outdir/bin/opkg" --version 2>&1 | grep -qi 'opkg' || die "opkg does not run"
"$outdir/bin/apk" --version 2>&1 | grep -q 'apk-tools 3' || die "apk does not run"
po=$(mktemp)
printf 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Disabled"\nmsgstr "Deaktiviert"\n' >"$po"
"$outdir/bin/po2lmo" "$po" "$po.lmo" && [ -s "$po.lmo" ] || { rm -f "$po" "$po.lmo"; die "po2lmo does not run"; }
rm -f "$po" "$po.lmo"
log "ok: $outdir/bin/{usign,opkg,apk,po2lmo}"
