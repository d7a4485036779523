#!/bin/sh
# Build LuCI's native parts from tests/vendor/luci/ for the test bed, against the ucode that
# build-webstack.sh builds with WEBSTACK_UCODE=1 (so rpcd and uhttpd run LuCI's ucode):
#   luci.core (core.so: lmo catalogues, plural formulas, hashing), the html module (html.so),
#   lucihttp (library + its ucode module), po2lmo (our po/ → .lmo, what luci-i18n packages carry),
#   and LuCI's sources unpacked (luci-base, the three themes) for tests/bed/luci-root.sh.
#
#   tests/bed/build-luci.sh [webstack-outdir] [outdir]
#       defaults: <repo>/build/webstack, <repo>/build/luci
#
# Result: <outdir>/lib/ucode/{luci/core.so,html.so,lucihttp.so}, <outdir>/lib/liblucihttp.so*,
# <outdir>/bin/po2lmo, <outdir>/src/luci (sources). Idempotent (a stamp of the archives and this
# script). Test tools only: nothing here is shipped.
set -eu

die() { printf 'build-luci: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'build-luci: %s\n' "$*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vendor="$repo/tests/vendor/luci"
ws=${1:-$repo/build/webstack}
outdir=${2:-$repo/build/luci}

if [ ! -f "$ws/include/ucode/module.h" ]; then
    log "building the web stack with ucode (WEBSTACK_UCODE=1)"
    WEBSTACK_UCODE=1 "$here/build-webstack.sh" "$ws" >&2 || die "build-webstack.sh failed"
fi
[ -f "$ws/include/ucode/module.h" ] || die "$ws has no ucode (build it with WEBSTACK_UCODE=1 tests/bed/build-webstack.sh)"
ws=$(cd "$ws" && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

stamp=$(cat "$vendor"/*.tar.gz "$0" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$outdir/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$outdir/bin/po2lmo" ] &&
    [ -f "$outdir/lib/ucode/luci/core.so" ] && [ -f "$outdir/lib/ucode/html.so" ] && [ -f "$outdir/lib/ucode/lucihttp.so" ]; then
    log "up to date: $outdir"
    exit 0
fi

rm -rf "$outdir/src" "$outdir/obj" "$outdir/lib" "$outdir/bin" "$outdir/.stamp"
mkdir -p "$outdir/src" "$outdir/obj" "$outdir/lib/ucode/luci" "$outdir/bin"
for a in luci lucihttp; do
    tar -xzf "$vendor"/$a-*.tar.gz -C "$outdir/src" || die "cannot unpack $a"
done
luci=$(find "$outdir/src" -mindepth 1 -maxdepth 1 -type d -name 'luci-*' | head -n 1)
lh=$(find "$outdir/src" -mindepth 1 -maxdepth 1 -type d -name 'lucihttp-*' | head -n 1)
mv "$luci" "$outdir/src/luci"
luci="$outdir/src/luci"

# luci.core and po2lmo (luci-base/src/Makefile)
log "building luci.core, po2lmo"
(
    cd "$luci/modules/luci-base/src"
    make CC="${CC:-cc}" CPPFLAGS="-I$ws/include" CFLAGS="-O2" FPIC=-fPIC LDFLAGS="-L$ws/lib" \
        LUCI_VERSION=test LUCI_GITBRANCH=test core.so version.uc po2lmo >"$outdir/obj/luci-base.log" 2>&1
) || { tail -n 20 "$outdir/obj/luci-base.log" >&2; die "luci-base native parts failed"; }
cp "$luci/modules/luci-base/src/core.so" "$outdir/lib/ucode/luci/core.so"
cp "$luci/modules/luci-base/src/po2lmo" "$outdir/bin/po2lmo"
cp "$luci/modules/luci-base/src/version.uc" "$outdir/version.uc"

# the html module (ucode-mod-html)
log "building html"
${CC:-cc} -O2 -fPIC -shared -I"$ws/include" -o "$outdir/lib/ucode/html.so" \
    "$luci/contrib/package/ucode-mod-html/src/html.c" || die "html.so failed"

# lucihttp and its ucode module (upstream's -Werror trips on gcc 12: warnings stay warnings)
log "building lucihttp"
sed -i 's/ -Werror / /' "$lh/CMakeLists.txt"
mkdir -p "$outdir/obj/lucihttp"
(
    cd "$outdir/obj/lucihttp"
    cmake "$lh" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$outdir/inst" -DBUILD_LUA=OFF -DBUILD_UCODE=ON \
        -DCMAKE_C_FLAGS="-D_GNU_SOURCE -I$ws/include" -DCMAKE_SHARED_LINKER_FLAGS="-L$ws/lib" \
        -DCMAKE_INSTALL_RPATH="$outdir/lib;$ws/lib" -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
        -DCMAKE_MODULE_LINKER_FLAGS="-L$ws/lib -L$outdir/obj/lucihttp -Wl,-rpath,$outdir/lib" >"$outdir/obj/lucihttp.log" 2>&1 &&
        make -j"${CARGO_BUILD_JOBS:-2}" >>"$outdir/obj/lucihttp.log" 2>&1 && make install >>"$outdir/obj/lucihttp.log" 2>&1
) || { tail -n 20 "$outdir/obj/lucihttp.log" >&2; die "lucihttp failed"; }
cp -P "$outdir"/inst/lib/liblucihttp.so* "$outdir/lib/"
cp "$outdir/inst/lib/ucode/lucihttp.so" "$outdir/lib/ucode/lucihttp.so"
rm -rf "$outdir/inst" "$outdir/obj" "$lh"

echo "$stamp" >"$outdir/.stamp"
log "built $outdir"
