#!/bin/sh
# Build the router's web stack from the sources vendored in tests/vendor/openwrt/: libubox, uci
# (the library rpcd links), ubus (ubusd, the `ubus` CLI, libubus), rpcd and uhttpd (with its ubus
# plugin) — plus the test bed's ubus fixture server (tests/doubles/ubus-fixtures.c, the netifd/iwinfo
# stand-in) linked against that libubus.
#
#   tests/bed/build-webstack.sh [outdir]        (default: <repo>/build/webstack)
#
# Result: <outdir>/bin/{ubusd,ubus,rpcd,uhttpd,ubus-fixtures}, <outdir>/lib/*.so (libubox, libubus,
# libuci, libblobmsg_json, uhttpd_ubus.so). Every binary carries an rpath to <outdir>/lib, so it runs
# under uhttpd's wiped environment (no LD_LIBRARY_PATH reaches a CGI or anything it starts).
#
# Compile-time paths are re-pointed for the test build (see tests/vendor/openwrt/README.md): every
# absolute path these programs would read or write on their own — /etc/config (uci), /tmp/.uci,
# /var/run/uci, /usr/share/rpcd/acl.d, /var/run/rpcd/*, rpcd's plugin dirs, /usr/share/acl.d (ubusd)
# and the default socket /var/run/ubus/ubus.sock — becomes the same path WITHOUT its leading slash.
# The bed starts each daemon with its working directory at a test root, so each root has its own
# rpcd logins, ACLs and sessions, and nothing can reach the host's /etc or /var/run.
#
# WEBSTACK_UCODE=1 (tests/bed/build-luci.sh sets it, for real LuCI in the bed): also ucode from
# tests/vendor/luci/ (with ubus, uci and uloop support), rpcd with its ucode plugin and uhttpd with its
# ucode handler (uhttpd_ucode.so). ucode's module search path is relative to the importing script
# (../../../../usr/share/ucode/*.uc and deeper) and to the working directory, so LuCI's modules are
# found inside whichever root the daemons run in. A build with ucode also serves requests without it.
#
# Idempotent: skipped when <outdir>/.stamp matches the archives and this script and every binary
# is present (the fixture server alone is rebuilt when its source is newer). WEBSTACK_REBUILD=1 forces a rebuild. About 45 s
# on 2 cores. Needs cmake, make, a C compiler, pkg-config, libjson-c-dev, libcrypt-dev
# (tests/bed/install-deps.sh installs them).
set -eu

die() { printf 'build-webstack: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-webstack: %s\n' "$*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vendor="$repo/tests/vendor/openwrt"
fixsrc="$repo/tests/doubles/ubus-fixtures.c"
outdir=${1:-$repo/build/webstack}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
BINS="ubusd ubus rpcd uhttpd"

archive() { # NAME -> path of its vendored archive (exactly one)
    set -- "$vendor/$1"-*.tar.gz
    [ $# -eq 1 ] && [ -f "$1" ] || die "no single $vendor/$1-*.tar.gz"
    echo "$1"
}

stamp_now() {
    # shellcheck disable=SC2046
    cat $(for n in libubox uci ubus rpcd uhttpd; do archive "$n"; done) "$repo"/tests/vendor/luci/ucode-*.tar.gz "$0" |
        sha256sum | cut -d' ' -f1
}
stamp=$(stamp_now)
# ucode when asked for, or when the existing build has it (a shared build is never downgraded)
ucode=OFF
if [ -n "${WEBSTACK_UCODE:-}" ] || [ -f "$outdir/lib/uhttpd_ucode.so" ]; then ucode=ON; fi

up_to_date() {
    [ "$(cat "$outdir/.stamp" 2>/dev/null)" = "$stamp" ] || return 1
    for b in $BINS; do [ -x "$outdir/bin/$b" ] || return 1; done
    [ -f "$outdir/lib/uhttpd_ubus.so" ] && [ -f "$outdir/share/rpcd/acl.d/unauthenticated.json" ] || return 1
    [ $ucode = OFF ] || { [ -f "$outdir/lib/uhttpd_ucode.so" ] && [ -f "$outdir/lib/rpcd/ucode.so" ]; }
}

# the bed's ubus fixture server: rebuilt alone when its source is newer than the binary
build_fixtures() {
    f="$outdir/bin/ubus-fixtures"
    if [ -x "$f" ] && [ ! "$fixsrc" -nt "$f" ] && [ -z "${WEBSTACK_REBUILD:-}" ]; then return 0; fi
    log "building ubus-fixtures"
    # shellcheck disable=SC2046
    cc -Os -Wall -Wextra -Werror -Wno-format-truncation -std=gnu99 -I"$outdir/include" $(pkg-config --cflags json-c) \
        -o "$f.tmp" "$fixsrc" \
        -L"$outdir/lib" -Wl,-rpath,"$outdir/lib" -lubus -lblobmsg_json -lubox $(pkg-config --libs json-c) ||
        die "ubus-fixtures failed"
    mv -f "$f.tmp" "$f"
}

if [ -z "${WEBSTACK_REBUILD:-}" ] && up_to_date; then
    build_fixtures
    log "up to date: $outdir/bin"
    exit 0
fi

for t in cmake make pkg-config; do command -v "$t" >/dev/null 2>&1 || die "$t missing (tests/bed/install-deps.sh)"; done
{ command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; } || die "no C compiler (tests/bed/install-deps.sh)"
pkg-config --exists json-c || die "json-c headers missing: apt-get install libjson-c-dev (tests/bed/install-deps.sh)"
[ -e /usr/include/crypt.h ] || die "crypt.h missing: apt-get install libcrypt-dev (tests/bed/install-deps.sh)"

src="$outdir/src"
obj="$outdir/obj"
rm -rf "$src" "$obj" "$outdir/bin" "$outdir/lib" "$outdir/include" "$outdir/share" "$outdir/sbin" "$outdir/.stamp"
mkdir -p "$src" "$obj"

unpack() { # NAME -> prints the unpacked source dir
    mkdir -p "$src/$1"
    tar -xzf "$(archive "$1")" -C "$src/$1" || die "cannot unpack $1"
    d=$(find "$src/$1" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    [ -f "$d/CMakeLists.txt" ] || die "$1: no CMakeLists.txt in the archive"
    echo "$d"
}

# relative FILE 'PATTERN' ...: turns each absolute path given into a relative one, and checks it did.
relative() {
    f=$1; shift
    for p in "$@"; do
        grep -q "\"$p" "$f" || die "re-pointing paths: \"$p not found in $f (sources changed?)"
        sed -i "s|\"$p|\"${p#/}|g" "$f"
    done
}

cm() { # NAME SRCDIR [cmake args...]
    n=$1 s=$2; shift 2
    mkdir -p "$obj/$n"
    log "building $n"
    (
        cd "$obj/$n"
        cmake "$s" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$outdir" \
            -DCMAKE_PREFIX_PATH="$outdir" -DCMAKE_INSTALL_RPATH="$outdir/lib" \
            -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=ON \
            -DCMAKE_C_FLAGS="-I$outdir/include" -DCMAKE_EXE_LINKER_FLAGS="-L$outdir/lib" \
            -DCMAKE_SHARED_LINKER_FLAGS="-L$outdir/lib" -DCMAKE_MODULE_LINKER_FLAGS="-L$outdir/lib" \
            "$@" >"$obj/$n.log" 2>&1 &&
            make -j"${CARGO_BUILD_JOBS:-2}" >>"$obj/$n.log" 2>&1 &&
            make install >>"$obj/$n.log" 2>&1
    ) || { tail -n 30 "$obj/$n.log" >&2; die "$n failed (full log: $obj/$n.log)"; }
}

# libubox: the library everything links (blob/blobmsg, uloop, ustream)
d=$(unpack libubox)
cm libubox "$d" -DBUILD_LUA=OFF -DBUILD_EXAMPLES=OFF

# uci (for rpcd's logins: /etc/config/rpcd): config dir, save dir, conf2 dir relative
d=$(unpack uci)
relative "$d/uci.h" /etc/config /tmp/.uci /var/run/uci
cm uci "$d" -DBUILD_LUA=OFF

# ubus: default socket and ubusd's ACL dir relative (the bed always passes -s SOCK anyway)
d=$(unpack ubus)
sed -i 's|SET(UBUS_UNIX_SOCKET "/var/run/ubus/ubus.sock")|SET(UBUS_UNIX_SOCKET "var/run/ubus/ubus.sock")|' "$d/CMakeLists.txt"
grep -q 'SET(UBUS_UNIX_SOCKET "var/run/ubus/ubus.sock")' "$d/CMakeLists.txt" || die "ubus: socket path not re-pointed"
relative "$d/ubusd_acl.c" /usr/share/acl.d
cm ubus "$d" -DBUILD_LUA=OFF -DBUILD_EXAMPLES=OFF

# ucode (LuCI's language; rpcd's ucode plugin and uhttpd's ucode handler link it)
if [ $ucode = ON ]; then
    mkdir -p "$src/ucode"
    tar -xzf "$repo"/tests/vendor/luci/ucode-*.tar.gz -C "$src/ucode" || die "cannot unpack ucode"
    d=$(find "$src/ucode" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    sp="$outdir/lib/ucode/*.so:usr/lib/ucode/*.so:usr/share/ucode/*.uc"
    for up in ../../../../ ../../../../../ ../../../../../../ ../../../../../../../; do
        sp="$sp:${up}usr/lib/ucode/*.so:${up}usr/share/ucode/*.uc"
    done
    cm ucode "$d" -DUBUS_SUPPORT=ON -DUCI_SUPPORT=ON -DULOOP_SUPPORT=ON -DNL80211_SUPPORT=OFF -DRTNL_SUPPORT=OFF \
        -DZLIB_SUPPORT=OFF -DDIGEST_SUPPORT=OFF -DDIGEST_SUPPORT_EXTENDED=OFF -DLIB_SEARCH_PATH="$sp"
fi

# rpcd: session/ACL/uci-state/plugin dirs relative
d=$(unpack rpcd)
relative "$d/include/rpcd/session.h" /var/run/rpcd/sessions
sed -i 's|INSTALL_PREFIX "/share/rpcd/acl.d"|"usr/share/rpcd/acl.d"|; s|INSTALL_PREFIX "/libexec/rpcd"|"usr/libexec/rpcd"|; s|INSTALL_PREFIX "/lib/rpcd"|"usr/lib/rpcd"|' \
    "$d/include/rpcd/session.h" "$d/include/rpcd/plugin.h"
grep -q '"usr/share/rpcd/acl.d"' "$d/include/rpcd/session.h" || die "rpcd: ACL dir not re-pointed"
grep -q '"usr/libexec/rpcd"' "$d/include/rpcd/plugin.h" || die "rpcd: plugin dir not re-pointed"
relative "$d/include/rpcd/uci.h" /var/run/rpcd /etc/config/
relative "$d/uci.c" /tmp/.uci /var/state
relative "$d/rc.c" /etc/init.d /etc/rc.d
# its ucode plugin's script dir too (LuCI's `luci` object is usr/share/rpcd/ucode/luci)
sed -i 's|INSTALL_PREFIX "/share/rpcd/ucode"|"usr/share/rpcd/ucode"|' "$d/ucode.c"
grep -q '"usr/share/rpcd/ucode"' "$d/ucode.c" || die "rpcd: ucode script dir not re-pointed"
# _GNU_SOURCE defined empty, as plugin.h does: ucode's headers need it before plugin.h is read
cm rpcd "$d" -DFILE_SUPPORT=OFF -DIWINFO_SUPPORT=OFF -DRPCSYS_SUPPORT=OFF -DUCODE_SUPPORT=$ucode \
    -DCMAKE_C_FLAGS="-I$outdir/include -D_GNU_SOURCE="
# rpcd's own ACL for logged-out callers (grants session access + login); test roots copy it
mkdir -p "$outdir/share/rpcd/acl.d"
cp "$d/unauthenticated.json" "$outdir/share/rpcd/acl.d/unauthenticated.json"

# uhttpd: gcc 12+ flags client.c with stringop-overread under plain -Werror (upstream builds with
# an older gcc): drop -Werror, keep the warnings.
d=$(unpack uhttpd)
sed -i 's/ -Werror / /' "$d/CMakeLists.txt"
cm uhttpd "$d" -DUBUS_SUPPORT=ON -DLUA_SUPPORT=OFF -DUCODE_SUPPORT=$ucode -DTLS_SUPPORT=OFF \
    -DCMAKE_C_FLAGS="-I$outdir/include -D_GNU_SOURCE"

# cmake installs the daemons under sbin/, the CLI under bin/: one bin/ for the bed
for b in ubusd rpcd uhttpd; do
    if [ -x "$outdir/sbin/$b" ]; then mv -f "$outdir/sbin/$b" "$outdir/bin/$b"; fi
done
# uci built here has relative paths (for rpcd): no CLI of it may be used by mistake
rm -f "$outdir/bin/uci" "$outdir/bin/jshn"
for b in $BINS; do [ -x "$outdir/bin/$b" ] || die "$b was not built"; done
[ -f "$outdir/lib/uhttpd_ubus.so" ] || die "uhttpd_ubus.so was not built"
if [ $ucode = ON ]; then
    [ -f "$outdir/lib/uhttpd_ucode.so" ] || die "uhttpd_ucode.so was not built"
    [ -f "$outdir/lib/rpcd/ucode.so" ] || die "rpcd's ucode plugin was not built"
fi
if env -i ldd "$outdir/bin/rpcd" "$outdir/bin/uhttpd" "$outdir/bin/ubus" | grep 'not found'; then
    die "a library does not resolve without LD_LIBRARY_PATH"
fi
echo "$stamp" >"$outdir/.stamp"
build_fixtures
rm -rf "$src" "$obj"
log "built $outdir/bin: $BINS"
