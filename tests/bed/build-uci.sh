#!/bin/sh
# Build the real OpenWrt `uci` CLI from the C sources vendored in the crates.io crate libuci-sys.
#
#   tests/bed/build-uci.sh [outdir]        (default: <repo>/build/uci)
#
# Result: <outdir>/bin/uci, linked statically against libuci and libubox (only glibc is dynamic),
# so it runs from anywhere. Idempotent: if <outdir>/bin/uci exists and passes the self-check, nothing
# is rebuilt (set UCI_REBUILD=1 to force). Needs cargo (to fetch the crate from crates.io), cmake, make
# and a C compiler; missing apt tools are installed (apt-get update && apt-get install -y).
#
# Notes for callers (read from uci/cli.c of the vendored sources, checked by the self-check below):
#   * `-P <dir>` turns `uci commit` into a silent no-op (CLI_FLAG_NOCOMMIT, exit 0). To write into a
#     test root use `-c <root>/etc/config -t <root>/tmp/.uci` (-t only moves the save dir).
#   * The compiled-in default save dir /tmp/.uci stays in the delta search path whatever -t/-P say.
set -eu

LIBUCI_SYS_VERSION=1.0.5

die() { printf 'build-uci: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-uci: %s\n' "$*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
outdir=${1:-$repo/build/uci}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
uci="$outdir/bin/uci"

# verify_uci BIN: exercises set/add_list/get/show/commit/batch against a scratch config dir.
verify_uci() {
    bin=$1
    [ -x "$bin" ] || return 1
    t=$(mktemp -d) || return 1
    mkdir -p "$t/config" "$t/save"
    : >"$t/config/probe"
    ok=0
    (
        set -e
        u() { "$bin" -c "$t/config" -t "$t/save" "$@"; }
        u set probe.main=probe
        u set probe.main.opt='a b'
        u add_list probe.main.l=x
        u add_list probe.main.l=y
        u commit probe
        grep -q "option opt 'a b'" "$t/config/probe"
        [ "$(u get probe.main.opt)" = "a b" ]
        [ "$(u get probe.main.l)" = "x y" ]
        printf 'set probe.other=thing\nset probe.other.v=1\ncommit probe\n' | u batch
        [ "$(u -q show probe.other.v)" = "probe.other.v='1'" ]
        # -P must not commit (documented above); if this changes, the notes are wrong.
        "$bin" -c "$t/config" -P "$t/save2" set probe.other.v=2
        "$bin" -c "$t/config" -P "$t/save2" commit probe
        grep -q "option v '1'" "$t/config/probe"
    ) >/dev/null 2>&1 || ok=1
    rm -rf "$t"
    return $ok
}

if [ -z "${UCI_REBUILD:-}" ] && verify_uci "$uci"; then
    log "up to date: $uci"
    exit 0
fi

# --- tools ---------------------------------------------------------------------------------------
need_apt=
command -v cmake >/dev/null 2>&1 || need_apt="$need_apt cmake"
command -v make >/dev/null 2>&1 || need_apt="$need_apt make"
{ command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; } || need_apt="$need_apt gcc libc6-dev"
if [ -n "$need_apt" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing tools:$need_apt (and no apt-get)"
    log "installing:$need_apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    # shellcheck disable=SC2086
    apt-get install -y -qq $need_apt >/dev/null || die "apt-get install$need_apt failed"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found (needed to fetch libuci-sys from crates.io)"

# --- fetch the crate ------------------------------------------------------------------------------
fetch="$outdir/fetch"
mkdir -p "$fetch/src"
cat >"$fetch/Cargo.toml" <<EOF
[package]
name = "uci-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
libuci-sys = "=$LIBUCI_SYS_VERSION"

[workspace]
EOF
[ -f "$fetch/src/lib.rs" ] || : >"$fetch/src/lib.rs"
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
log "fetching libuci-sys $LIBUCI_SYS_VERSION with cargo"
(cd "$fetch" && cargo fetch -q ${host:+--target "$host"}) || die "cargo fetch of libuci-sys failed (crates.io reachable?)"
manifest=$(cd "$fetch" && cargo metadata -q --offline ${host:+--filter-platform "$host"} \
    --format-version 1 2>/dev/null |
    grep -o '"manifest_path":"[^"]*/libuci-sys-[^"/]*/Cargo.toml"' | head -n 1 |
    sed 's/^"manifest_path":"//; s/"$//') || true
if [ -z "$manifest" ]; then # fall back to the registry's extracted sources
    manifest=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 3 -path \
        "*/libuci-sys-$LIBUCI_SYS_VERSION/Cargo.toml" 2>/dev/null | head -n 1) || true
fi
[ -n "$manifest" ] || die "cannot locate libuci-sys sources (cargo metadata)"
crate=$(dirname "$manifest")
[ -f "$crate/uci/cli.c" ] && [ -f "$crate/libubox/blobmsg.c" ] || die "no uci/libubox sources in $crate"
log "sources: $crate"

# --- build ----------------------------------------------------------------------------------------
# Copy the sources: uci's CMakeLists writes uci_config.h into its source dir.
rm -rf "$outdir/src" "$outdir/obj" "$outdir/include" "$outdir/lib" "$outdir/bin"
mkdir -p "$outdir/src" "$outdir/obj" "$outdir/include/libubox" "$outdir/lib" "$outdir/bin"
cp -R "$crate/libubox" "$crate/uci" "$outdir/src/"
jobs=$(nproc 2>/dev/null || echo 2)
cmlog="$outdir/obj/build.log"
cmake_common="-DCMAKE_BUILD_TYPE=Release -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DBUILD_LUA=OFF -Wno-dev"

log "building libubox (static, no lua/json)"
# shellcheck disable=SC2086
cmake -S "$outdir/src/libubox" -B "$outdir/obj/libubox" $cmake_common -DBUILD_EXAMPLES=OFF \
    >>"$cmlog" 2>&1 || die "cmake libubox failed, see $cmlog"
cmake --build "$outdir/obj/libubox" --target ubox-static -j "$jobs" >>"$cmlog" 2>&1 ||
    die "libubox build failed, see $cmlog"
cp "$outdir/obj/libubox/libubox.a" "$outdir/lib/"
cp "$outdir/src/libubox/"*.h "$outdir/include/libubox/"

log "building uci (static libuci + libubox)"
# shellcheck disable=SC2086
cmake -S "$outdir/src/uci" -B "$outdir/obj/uci" $cmake_common -DBUILD_STATIC=ON \
    -DCMAKE_INSTALL_PREFIX="$outdir" -Dubox_include_dir="$outdir/include" \
    -Dubox="$outdir/lib/libubox.a" -Dubox-static="$outdir/lib/libubox.a" \
    >>"$cmlog" 2>&1 || die "cmake uci failed, see $cmlog"
cmake --build "$outdir/obj/uci" --target cli -j "$jobs" >>"$cmlog" 2>&1 ||
    die "uci build failed, see $cmlog"
cp "$outdir/obj/uci/uci" "$outdir/bin/uci"
cp "$outdir/src/uci/uci.h" "$outdir/src/uci/uci_config.h" "$outdir/src/uci/uci_blob.h" "$outdir/include/"
strip "$outdir/bin/uci" 2>/dev/null || true

verify_uci "$uci" || die "built $uci but it fails the self-check"
log "built $uci"
