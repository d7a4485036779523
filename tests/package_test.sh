#!/bin/sh
# Package tests (issue 17): every package in both formats is built twice (same bytes), its
# structure inspected (fields, architecture, depends, conffiles, modes, owners, no build paths,
# size budget), then installed, upgraded and removed by the real opkg (24.10) and apk-tools v3
# built from tests/vendor/:
#   1. image-build way: `opkg --offline-root` / `apk add --root … --initdb` into fresh roots with
#      IPKG_INSTROOT set (postinst enables the service at boot, runs nothing else);
#   2. router way: opkg/apk run inside a minimal chroot (sh, uci, the rc.common double standing
#      in for procd): install v1, the user edits /etc/config/jammonitor, upgrade to v2 whose
#      packaged config changed → user's file kept, the packaged one beside it (-opkg / .apk-new),
#      collector stopped and restarted; remove → nothing left but the conffiles;
#   3. the dashboard from an installed root: the installed CGI answers `overview` for a session,
#      the installed collector takes a sample, the init script's command line is the one run.
# Needs root (chroot, mknod, apk mkpkg records owners).
#   tests/package_test.sh        PKG_BINARY=<file> to test another build of the binary
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
tools=$repo/build/pkgtools/bin
. tests/package/lib.sh
[ "$(id -u)" = 0 ] || fail "needs root (chroot, apk mkpkg owners)"

tests/bed/build-pkgtools.sh 2>/dev/null || fail "building usign/opkg/apk"
tests/bed/build-uci.sh >/dev/null 2>&1 || fail "building uci"
bin=${PKG_BINARY:-build/pkg-target/release/jammonitor-collector}
[ -x "$bin" ] || fail "no $bin: run make packages (or set PKG_BINARY)"

tmp=$(mktemp -d /tmp/jm-pkgtest.XXXXXX)
dash_up=0
cleanup() {
    [ "$dash_up" = 0 ] || tests/bed/webstack.sh stop "$tmp/dash" >/dev/null 2>&1 || true
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
arch=$(uname -m)
ver=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

# ---- 1. build twice: same bytes ---------------------------------------------------------------
scripts/mkpkg.sh --binary "$bin" --out "$tmp/v1" >"$tmp/v1.list" || fail "mkpkg"
scripts/mkpkg.sh --binary "$bin" --out "$tmp/again" >/dev/null || fail "mkpkg (again)"
(cd "$tmp/v1" && sha256sum ./*) >"$tmp/s1"
(cd "$tmp/again" && sha256sum ./*) >"$tmp/s2"
cmp -s "$tmp/s1" "$tmp/s2" || { diff "$tmp/s1" "$tmp/s2" >&2; fail "two builds differ"; }
n=$(wc -l <"$tmp/s1")
# jammonitor, luci-app-jammonitor and one luci-i18n-jammonitor-<lang> per po/<lang> (21), as ipk and apk
[ "$n" = 46 ] || fail "expected 46 packages (23 × ipk, apk), got $n"
ok "46 packages, reproducible"

ipk_j=$tmp/v1/jammonitor_$ver-1_$arch.ipk
ipk_l=$tmp/v1/luci-app-jammonitor_$ver-1_all.ipk
ipk_i=$tmp/v1/luci-i18n-jammonitor-de_$ver-1_all.ipk
apk_j=$tmp/v1/jammonitor-$ver-r1_$arch.apk
apk_l=$tmp/v1/luci-app-jammonitor-$ver-r1.apk
apk_i=$tmp/v1/luci-i18n-jammonitor-de-$ver-r1.apk
for f in "$ipk_j" "$ipk_l" "$ipk_i" "$apk_j" "$apk_l" "$apk_i"; do
    [ -f "$f" ] || fail "missing $f"
    size=$(wc -c <"$f")
    [ "$size" -le 1572864 ] || fail "$(basename "$f") is $size bytes (budget 1.5 MB)"
done

# ---- 2. structure: ipk --------------------------------------------------------------------
# unipk FILE DIR: DIR/{ctrl,data} and DIR/listing (tar tv of data with numeric owners)
unipk() {
    mkdir -p "$2/ctrl" "$2/data"
    tar -xzf "$1" -C "$2"
    [ "$(cat "$2/debian-binary")" = 2.0 ] || fail "$1: debian-binary"
    tar -xzf "$2/control.tar.gz" -C "$2/ctrl"
    tar -xzf "$2/data.tar.gz" -C "$2/data"
    tar -tvzf "$2/data.tar.gz" --numeric-owner >"$2/listing"
    tar -tvzf "$2/control.tar.gz" --numeric-owner >>"$2/listing"
    ! awk '$2 != "0/0" { print; bad = 1 } END { exit !bad }' "$2/listing" >&2 || fail "$1: an entry not owned by 0/0"
}
field() { sed -n "s/^$2: //p" "$1/ctrl/control"; }
mode() { stat -c %a "$1"; }

x=$tmp/x-j
unipk "$ipk_j" "$x"
[ "$(field "$x" Package)" = jammonitor ] || fail "jammonitor: Package"
[ "$(field "$x" Version)" = "$ver-1" ] || fail "jammonitor: Version"
[ "$(field "$x" Architecture)" = "$arch" ] || fail "jammonitor: Architecture is $(field "$x" Architecture), not $arch"
[ "$(field "$x" Depends)" = "libc, rpcd, uhttpd" ] || fail "jammonitor: Depends"
[ "$(field "$x" Installed-Size)" -gt 1000000 ] || fail "jammonitor: Installed-Size"
[ "$(cat "$x/ctrl/conffiles")" = /etc/config/jammonitor ] || fail "jammonitor: conffiles"
for s in postinst prerm postrm; do [ "$(mode "$x/ctrl/$s")" = 755 ] || fail "jammonitor: $s mode"; done
[ "$(mode "$x/data/usr/sbin/jammonitor-collector")" = 755 ] || fail "binary mode"
[ "$(readlink "$x/data/www/cgi-bin/jammonitor")" = ../../usr/sbin/jammonitor-collector ] || fail "CGI link"
[ "$(mode "$x/data/etc/init.d/jammonitor-collector")" = 755 ] || fail "init mode"
[ "$(mode "$x/data/etc/config/jammonitor")" = 600 ] || fail "config mode (0600, as INSTALL_CONF)"
[ "$(mode "$x/data/etc/uci-defaults/90-jammonitor")" = 755 ] || fail "uci-defaults mode"
grep -qx /etc/config/jammonitor "$x/data/lib/upgrade/keep.d/jammonitor" || fail "keep list"
fp=$("$tools/usign" -F -p keys/jammonitor-release.pub)
cmp -s "$x/data/usr/share/jammonitor/keys/$fp" keys/jammonitor-release.pub || fail "update key /usr/share/jammonitor/keys/$fp"
[ ! -e "$x/data/usr/share/luci" ] && [ ! -e "$x/data/www/luci-static" ] || fail "LuCI files in the jammonitor package"

x=$tmp/x-l
unipk "$ipk_l" "$x"
[ "$(field "$x" Architecture)" = all ] || fail "luci-app: Architecture"
[ "$(field "$x" Depends)" = "jammonitor, luci-base" ] || fail "luci-app: Depends"
[ ! -e "$x/ctrl/conffiles" ] || fail "luci-app: conffiles"
for f in usr/share/luci/menu.d/luci-app-jammonitor.json usr/share/rpcd/acl.d/luci-app-jammonitor.json \
    www/luci-static/resources/view/jammonitor/main.js www/luci-static/resources/jammonitor/app.js \
    www/luci-static/resources/jammonitor/tabs/settings.js; do
    [ -f "$x/data/$f" ] || fail "luci-app: missing /$f"
    [ "$(mode "$x/data/$f")" = 644 ] || fail "luci-app: /$f mode"
done
for f in index.html standalone.js i18n; do
    [ ! -e "$x/data/www/luci-static/resources/jammonitor/$f" ] || fail "luci-app ships $f"
done
[ ! -e "$x/data/usr/sbin" ] || fail "luci-app ships a binary"
python3 - "$x/data" <<'PY' || fail "menu/ACL"
import json, sys
root = sys.argv[1]
acl = json.load(open(f"{root}/usr/share/rpcd/acl.d/luci-app-jammonitor.json"))
assert "luci-app-jammonitor" in acl, acl.keys()
menu = json.load(open(f"{root}/usr/share/luci/menu.d/luci-app-jammonitor.json"))
entry = menu["admin/status/jammonitor"]
assert "luci-app-jammonitor" in entry["depends"]["acl"], entry
assert entry["action"]["type"] == "view", entry
PY

x=$tmp/x-i
unipk "$ipk_i" "$x"
[ "$(field "$x" Package)" = luci-i18n-jammonitor-de ] || fail "i18n: Package"
[ "$(field "$x" Architecture)" = all ] || fail "i18n: Architecture"
[ "$(field "$x" Depends)" = luci-app-jammonitor ] || fail "i18n: Depends"
cmp -s "$x/data/www/luci-static/resources/jammonitor/i18n/de.json" htdocs/i18n/de.json || fail "i18n: de.json"
# LuCI's catalogue, compiled by LuCI's po2lmo from po/de (what luci.mk puts in luci-i18n-*-de)
"$tools/po2lmo" po/de/jammonitor.po "$tmp/de.lmo" || fail "po2lmo"
[ -s "$x/data/usr/lib/lua/luci/i18n/jammonitor.de.lmo" ] || fail "i18n: no /usr/lib/lua/luci/i18n/jammonitor.de.lmo"
cmp -s "$x/data/usr/lib/lua/luci/i18n/jammonitor.de.lmo" "$tmp/de.lmo" || fail "i18n: jammonitor.de.lmo is not po/de compiled"
# as luci.mk's translation packages: the language registered in luci.languages at install
[ "$(cat "$x/data/etc/uci-defaults/luci-i18n-jammonitor-de")" = "uci set luci.languages.de='Deutsch (German)'; uci commit luci" ] ||
    fail "i18n: uci-defaults registering the language"
grep -q '/etc/uci-defaults/luci-i18n-jammonitor-de' "$x/ctrl/postinst" || fail "i18n: postinst does not run its uci-defaults"
# every language: luci.mk's package name (zh_Hans → zh-cn, zh_Hant → zh-tw, pt_BR → pt-br), its
# .lmo (non-empty, named by that code) and its JSON catalogue (named by the page's code)
for po in po/*/jammonitor.po; do
    folder=$(basename "$(dirname "$po")")
    case $folder in zh_Hans) l=zh-cn ;; zh_Hant) l=zh-tw ;; pt_BR) l=pt-br ;; *) l=$folder ;; esac
    f=$tmp/v1/luci-i18n-jammonitor-${l}_$ver-1_all.ipk
    [ -f "$f" ] || fail "no package luci-i18n-jammonitor-$l for $po"
    tar -xzOf "$f" ./data.tar.gz | tar -tvzf - >"$tmp/il" || fail "$f: data"
    awk -v p="./usr/lib/lua/luci/i18n/jammonitor.$l.lmo" '$6 == p && $3 > 0 { found = 1 } END { exit !found }' "$tmp/il" ||
        fail "luci-i18n-jammonitor-$l: no non-empty /usr/lib/lua/luci/i18n/jammonitor.$l.lmo"
    grep -q " ./www/luci-static/resources/jammonitor/i18n/$(echo "$folder" | tr _ -).json$" "$tmp/il" ||
        fail "luci-i18n-jammonitor-$l: no JSON catalogue"
done
ok "ipk structure (21 luci-i18n packages named as luci.mk names them, each with its .lmo)"

# ---- 2b. structure: apk -------------------------------------------------------------------
dump() { "$tools/apk" adbdump "$1"; }
dump "$apk_j" >"$tmp/dj"
grep -q '^  name: jammonitor$' "$tmp/dj" || fail "apk jammonitor: name"
grep -q "^  version: $ver-r1$" "$tmp/dj" || fail "apk jammonitor: version"
grep -q "^  arch: $arch$" "$tmp/dj" || fail "apk jammonitor: arch"
[ "$(sed -n '/^  depends:/,/^  [a-z]/p' "$tmp/dj" | grep -c '^    - ')" = 3 ] || fail "apk jammonitor: depends"
for s in post-install post-upgrade pre-deinstall post-deinstall; do
    grep -q "^  $s: " "$tmp/dj" || fail "apk jammonitor: script $s"
done
! grep -q 'user: [^r]\|group: [^r]' "$tmp/dj" || fail "apk jammonitor: owner not root"
dump "$apk_l" >"$tmp/dl"
grep -q '^  arch: noarch$' "$tmp/dl" || fail "apk luci-app: arch"
grep -q '^    - jammonitor$' "$tmp/dl" || fail "apk luci-app: depends"
dump "$apk_i" >"$tmp/di"
grep -q '^    - luci-app-jammonitor$' "$tmp/di" || fail "apk i18n: depends"
for p in j l i; do
    eval f=\$apk_$p
    mkdir -p "$tmp/ax-$p"
    "$tools/apk" extract --allow-untrusted --destination "$tmp/ax-$p" "$f" || fail "apk extract $f"
done
cmp -s "$tmp/ax-j/usr/sbin/jammonitor-collector" "$tmp/x-j/data/usr/sbin/jammonitor-collector" || fail "apk and ipk binaries differ"
[ "$(cat "$tmp/ax-j/lib/apk/packages/jammonitor.conffiles")" = /etc/config/jammonitor ] || fail "apk conffiles list"
[ "$(mode "$tmp/ax-j/usr/sbin/jammonitor-collector")" = 755 ] || fail "apk binary mode"
diff -r "$tmp/ax-l" "$tmp/x-l/data" >/dev/null || fail "apk and ipk luci-app trees differ"
diff -r "$tmp/ax-i" "$tmp/x-i/data" >/dev/null || fail "apk and ipk luci-i18n-jammonitor-de trees differ"
ok "apk structure"

# No build path anywhere (repo, cargo home, temp dirs), in any package's files or scripts.
for d in "$tmp"/x-* "$tmp"/ax-* "$tmp/dj" "$tmp/dl" "$tmp/di"; do
    for s in "$repo" "${CARGO_HOME:-$HOME/.cargo}" "$tmp" /tmp/tmp. "$HOME/"; do
        ! grep -rqaF "$s" "$d" || fail "build path $s inside $(basename "$d"): $(grep -rlaF "$s" "$d" | head -3)"
    done
done
ok "no build paths"

# ---- 2c. the SDK Makefiles install the same trees ---------------------------------------------
# (run through tests/package/sdk-stub, a stand-in of the SDK's make functions: no SDK here)
stub=$repo/tests/package/sdk-stub
mkdir -p "$tmp/sdk-inst/bin"
cp "$bin" "$tmp/sdk-inst/bin/jammonitor-collector"
[ "$(sed -n 's/^JAMMONITOR_KEY_FP:=//p' luci/openwrt/jammonitor/Makefile)" = "$fp" ] || fail "SDK Makefile: JAMMONITOR_KEY_FP is not the key's fingerprint $fp"
for p in jammonitor luci-app-jammonitor; do
    PATH=$tools:$PATH make -s -C "luci/openwrt/$p" TOPDIR="$stub" SDK_OUT="$tmp/sdk" PKG_BUILD_DIR="$tmp/sdk-build/$p" \
        PKG_INSTALL_DIR="$tmp/sdk-inst" sdk-prepare sdk-install >"$tmp/sdk.log" 2>&1 || { cat "$tmp/sdk.log" >&2; fail "SDK Makefile $p"; }
done
tree() { (cd "$1" && find . -mindepth 1 \( -type l -printf '%p -> %l\n' \) -o \( ! -type l -printf '%p %y %m\n' \) | sort); }
for p in jammonitor:x-j luci-app-jammonitor:x-l luci-i18n-jammonitor-de:x-i; do
    tree "$tmp/sdk/${p%%:*}" >"$tmp/t-sdk"
    tree "$tmp/${p#*:}/data" >"$tmp/t-pkg"
    diff "$tmp/t-sdk" "$tmp/t-pkg" >&2 || fail "SDK Makefile and mkpkg.sh differ for ${p%%:*} (< SDK, > package)"
done
# The language names live in two tables (mkpkg.sh's luci_lang_name, the SDK Makefile's
# JM_LANG_NAME): every language registers the same line both ways.
for po in po/*/jammonitor.po; do
    folder=$(basename "$(dirname "$po")")
    case $folder in zh_Hans) l=zh-cn ;; zh_Hant) l=zh-tw ;; pt_BR) l=pt-br ;; *) l=$folder ;; esac
    u=./etc/uci-defaults/luci-i18n-jammonitor-$l
    pkg_line=$(tar -xzOf "$tmp/v1/luci-i18n-jammonitor-${l}_$ver-1_all.ipk" ./data.tar.gz | tar -xzOf - "$u") ||
        fail "luci-i18n-jammonitor-$l: no $u"
    sdk_line=$(cat "$tmp/sdk/luci-i18n-jammonitor-$l/$u") || fail "SDK luci-i18n-jammonitor-$l: no $u"
    [ "$pkg_line" = "$sdk_line" ] || fail "luci-i18n-jammonitor-$l registers '$pkg_line' in the package, '$sdk_line' in the SDK"
    case $pkg_line in "uci set luci.languages.$(echo "$l" | tr - _)='"?*"'; uci commit luci") ;;
        *) fail "luci-i18n-jammonitor-$l: uci-defaults line '$pkg_line'" ;; esac
done
ok "SDK Makefiles install the same files, modes and links as the packages"

# ---- 2d. a release channel of these packages: signed index, both formats, every package ---------
"$tools/usign" -G -s "$tmp/rel.sec" -p "$tmp/rel.pub" -c test
scripts/mkrelease.sh --key "$tmp/rel.sec" --channel stable --out "$tmp/rel" "$tmp/v1" >/dev/null || fail "mkrelease"
"$tools/usign" -V -q -m "$tmp/rel/stable.json" -p "$tmp/rel.pub" || fail "release index signature"
python3 - "$tmp/rel" "$arch" "$ver-1" <<'PY' || fail "release index content"
import json, sys, hashlib, os
d, arch, ver = sys.argv[1:]
ix = json.load(open(f"{d}/stable.json"))
assert ix["format"] == 1 and ix["version"] == ver, ix
for fmt in ("ipk", "apk"):
    lst = ix["packages"][arch][fmt]
    names = [p["name"] for p in lst]
    # one luci-i18n-jammonitor-<lang> per po/<lang> (21), after the app
    assert names[:2] == ["jammonitor", "luci-app-jammonitor"], names
    assert len(names) == 23 and all(n.startswith("luci-i18n-jammonitor-") for n in names[2:]), names
    assert "luci-i18n-jammonitor-de" in names and "luci-i18n-jammonitor-zh-cn" in names, names
    for p in lst:
        b = open(os.path.join(d, p["url"]), "rb").read()
        assert hashlib.sha256(b).hexdigest() == p["sha256"] and len(b) == p["size"], p
PY
ok "release index: signed, both formats, sizes and sha256"

# ---- 3. image-build installs (offline roots, IPKG_INSTROOT) ---------------------------------
stub_pkgs "$tmp/stubs"
R=$tmp/opkg-root
mkdir -p "$R/var/lock" "$R/tmp"
IPKG_NO_SCRIPT=1 IPKG_INSTROOT=$R TMPDIR=$R/tmp "$tools/opkg" --offline-root "$R" --force-postinstall \
    --add-dest root:/ --add-arch all:100 --add-arch "$arch:200" \
    install "$tmp"/stubs/*.ipk "$ipk_j" "$ipk_l" "$ipk_i" "$tmp/v1/luci-i18n-jammonitor-zh-cn_$ver-1_all.ipk" \
    >"$tmp/o.log" 2>&1 || { cat "$tmp/o.log" >&2; fail "opkg offline install"; }
for p in jammonitor luci-app-jammonitor luci-i18n-jammonitor-de; do
    grep -q "^Package: $p$" "$R/usr/lib/opkg/status" || fail "opkg status lacks $p"
done
[ -x "$R/usr/sbin/jammonitor-collector" ] && [ -f "$R/usr/share/luci/menu.d/luci-app-jammonitor.json" ] &&
    [ -f "$R/www/luci-static/resources/jammonitor/i18n/de.json" ] || fail "opkg offline: files"
[ "$(readlink "$R/etc/rc.d/S95jammonitor-collector")" = ../init.d/jammonitor-collector ] || fail "opkg offline: postinst did not enable the service"
[ -f "$R/etc/uci-defaults/90-jammonitor" ] || fail "opkg offline: uci-defaults must wait for first boot"
[ -s "$R/usr/lib/lua/luci/i18n/jammonitor.de.lmo" ] && [ -s "$R/usr/lib/lua/luci/i18n/jammonitor.zh-cn.lmo" ] ||
    fail "opkg offline: LuCI catalogues jammonitor.de.lmo, jammonitor.zh-cn.lmo not installed"
grep -q "luci.languages.zh_cn='简体中文 (Chinese Simplified)'" "$R/etc/uci-defaults/luci-i18n-jammonitor-zh-cn" ||
    fail "opkg offline: the zh-cn language registration must wait for first boot"
ok "opkg --offline-root install (postinst under IPKG_INSTROOT)"

A=$tmp/apk-root
mkdir -p "$A"
IPKG_INSTROOT=$A "$tools/apk" add --root "$A" --initdb --allow-untrusted --no-network --force-no-chroot \
    --preserve-env --arch "$arch" "$tmp"/stubs/*.apk "$apk_j" "$apk_l" "$apk_i" >"$tmp/a.log" 2>&1 || { cat "$tmp/a.log" >&2; fail "apk offline install"; }
"$tools/apk" --root "$A" info 2>/dev/null | grep -qx jammonitor || fail "apk info lacks jammonitor"
[ -x "$A/usr/sbin/jammonitor-collector" ] && [ -f "$A/usr/share/rpcd/acl.d/luci-app-jammonitor.json" ] || fail "apk offline: files"
[ "$(readlink "$A/etc/rc.d/S95jammonitor-collector")" = ../init.d/jammonitor-collector ] || fail "apk offline: post-install did not enable the service"
[ -s "$A/usr/lib/lua/luci/i18n/jammonitor.de.lmo" ] || fail "apk offline: LuCI catalogue jammonitor.de.lmo not installed"
ok "apk add --root --initdb install (post-install under IPKG_INSTROOT)"

# ---- 4. on the router: upgrade with a changed conffile, remove --------------------------------
sed 's/^\toption interval .*/\toption interval '"'"'30'"'"'/' luci/root/etc/config/jammonitor >"$tmp/conf-v2"
cmp -s "$tmp/conf-v2" luci/root/etc/config/jammonitor && fail "v2 config did not change"
PKG_VERSION="$ver.1" PKG_CONFFILE=$tmp/conf-v2 scripts/mkpkg.sh --binary "$bin" --out "$tmp/v2" >/dev/null || fail "mkpkg v2"

# router_check FMT ROOT: after v1 install and a user edit, upgrade to v2, then remove.
router_cycle() {
    fmt=$1 cr=$2
    log=$cr/var/log/rc.common.log
    grep -q '^jammonitor-collector enable$' "$log" && grep -q '^jammonitor-collector restart$' "$log" ||
        fail "$fmt: postinst did not enable+restart ($(cat "$log"))"
    grep -qx 'jammonitor-collector command /usr/sbin/jammonitor-collector --foreground' "$log" ||
        fail "$fmt: init command line"
    [ ! -e "$cr/etc/uci-defaults/90-jammonitor" ] || fail "$fmt: uci-defaults not run on the router"
    [ -s "$cr/usr/lib/lua/luci/i18n/jammonitor.de.lmo" ] || fail "$fmt: LuCI catalogue jammonitor.de.lmo not installed"
    [ "$(in_router "$cr" /sbin/uci -q get luci.languages.de)" = "Deutsch (German)" ] &&
        [ ! -e "$cr/etc/uci-defaults/luci-i18n-jammonitor-de" ] || fail "$fmt: German not registered in luci.languages"
    in_router "$cr" /sbin/uci get jammonitor.update.channel >/dev/null || fail "$fmt: config unreadable"
    # the user's change
    in_router "$cr" /sbin/uci set jammonitor.main.interval=120
    in_router "$cr" /sbin/uci commit jammonitor
    : >"$log"
    case $fmt in
        opkg) in_router "$cr" /bin/opkg install /pkgs/v2/jammonitor_"$ver".1-1_"$arch".ipk \
                /pkgs/v2/luci-app-jammonitor_"$ver".1-1_all.ipk /pkgs/v2/luci-i18n-jammonitor-de_"$ver".1-1_all.ipk \
                >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; fail "opkg upgrade"; }
              new=$cr/etc/config/jammonitor-opkg
              in_router "$cr" /bin/opkg status jammonitor | grep -q "^Version: $ver.1-1$" || fail "opkg: version after upgrade" ;;
        apk) in_router "$cr" /usr/bin/apk add --allow-untrusted --no-network /pkgs/v2/jammonitor-"$ver".1-r1_"$arch".apk \
                /pkgs/v2/luci-app-jammonitor-"$ver".1-r1.apk /pkgs/v2/luci-i18n-jammonitor-de-"$ver".1-r1.apk \
                >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; fail "apk upgrade"; }
             new=$cr/etc/config/jammonitor.apk-new
             in_router "$cr" /usr/bin/apk info -v 2>/dev/null | grep -qx "jammonitor-$ver.1-r1" || fail "apk: version after upgrade" ;;
    esac
    grep -q "option interval '120'" "$cr/etc/config/jammonitor" || fail "$fmt: the user's config was replaced"
    cmp -s "$new" "$tmp/conf-v2" || fail "$fmt: the packaged config is not beside it as $(basename "$new")"
    grep -q '^jammonitor-collector stop$' "$log" || fail "$fmt: upgrade did not stop the old collector"
    grep -q '^jammonitor-collector restart$' "$log" || fail "$fmt: upgrade did not restart the collector"
    # remove everything: only the conffiles stay
    case $fmt in
        opkg) in_router "$cr" /bin/opkg remove luci-i18n-jammonitor-de luci-app-jammonitor jammonitor >"$tmp/rm.log" 2>&1 ||
                { cat "$tmp/rm.log" >&2; fail "opkg remove"; } ;;
        apk) in_router "$cr" /usr/bin/apk del --no-network luci-i18n-jammonitor-de luci-app-jammonitor jammonitor >"$tmp/rm.log" 2>&1 ||
                { cat "$tmp/rm.log" >&2; fail "apk remove"; } ;;
    esac
    left=$(cd "$cr" && find etc/config etc/init.d etc/rc.d etc/uci-defaults usr/sbin usr/share usr/lib/lua www lib/upgrade \
        -type f -o -type l 2>/dev/null | grep -v -e '^etc/config/jammonitor$' -e '^etc/config/jammonitor-opkg$' \
        -e '^etc/rc.common$' | grep -i 'jammonitor' || true)
    [ -z "$left" ] || fail "$fmt: left after remove: $left"
    [ -f "$cr/etc/config/jammonitor" ] || fail "$fmt: the user's conffile was removed"
    grep -q '^jammonitor-collector stop$' "$log" || fail "$fmt: remove did not stop the collector"
}

for fmt in opkg apk; do
    cr=$tmp/router-$fmt
    mkrouter "$cr"
    cp -R "$tmp/v1" "$tmp/v2" "$tmp/stubs" "$cr/pkgs/"
    case $fmt in
        opkg) in_router "$cr" /bin/opkg install /pkgs/stubs/libc_1-1_all.ipk /pkgs/stubs/rpcd_1-1_all.ipk \
                /pkgs/stubs/uhttpd_1-1_all.ipk /pkgs/stubs/luci-base_1-1_all.ipk \
                "/pkgs/v1/$(basename "$ipk_j")" "/pkgs/v1/$(basename "$ipk_l")" "/pkgs/v1/$(basename "$ipk_i")" \
                >"$tmp/in.log" 2>&1 || { cat "$tmp/in.log" >&2; fail "opkg install on the router"; } ;;
        apk) in_router "$cr" /usr/bin/apk add --initdb --allow-untrusted --no-network --arch "$arch" \
                /pkgs/stubs/libc-1-r0.apk /pkgs/stubs/rpcd-1-r0.apk /pkgs/stubs/uhttpd-1-r0.apk /pkgs/stubs/luci-base-1-r0.apk \
                "/pkgs/v1/$(basename "$apk_j")" "/pkgs/v1/$(basename "$apk_l")" "/pkgs/v1/$(basename "$apk_i")" \
                >"$tmp/in.log" 2>&1 || { cat "$tmp/in.log" >&2; fail "apk add on the router"; } ;;
    esac
    router_cycle "$fmt" "$cr"
    ok "$fmt on the router: install, upgrade v1 → v2 keeping the user's config, remove"
done

# ---- 5. the dashboard from an installed root ------------------------------------------------
D=$tmp/dash
tests/bed/mkroot.sh "$D" >/dev/null 2>&1 || fail "mkroot"
# the dashboard's own files come from the packages alone (mkroot puts the repository's ACL there)
rm -f "$D/etc/config/jammonitor" "$D/usr/share/rpcd/acl.d/luci-app-jammonitor.json"
mkdir -p "$D/var/lock"
IPKG_INSTROOT=$D TMPDIR=$D/tmp "$tools/opkg" --offline-root "$D" --force-postinstall --add-dest root:/ \
    --add-arch all:100 --add-arch "$arch:200" install "$tmp"/stubs/*.ipk "$ipk_j" "$ipk_l" "$ipk_i" \
    >"$tmp/d.log" 2>&1 || { cat "$tmp/d.log" >&2; fail "opkg install into the dashboard root"; }
# the router's real bus (ubusd + rpcd from tests/vendor/openwrt), reading the ACL the luci-app
# package installed: the session check below goes through it
tests/bed/build-webstack.sh >/dev/null 2>&1 || fail "building the web stack"
tests/bed/webstack.sh start "$D" >/dev/null || fail "webstack start"
dash_up=1
sid=$(tests/bed/session.sh "$D" --new)
ans=$(env -i JAMMONITOR_ROOT="$D" REQUEST_METHOD=GET PATH_INFO=/api/overview QUERY_STRING= \
    HTTP_AUTHORIZATION="Bearer $sid" "$D/www/cgi-bin/jammonitor")
echo "$ans" | head -n1 | grep -q '^Status: 200' || fail "installed CGI: $(echo "$ans" | head -n3)"
echo "$ans" | grep -q '"system"' || fail "installed CGI: no overview body"
ans=$(env -i JAMMONITOR_ROOT="$D" REQUEST_METHOD=GET PATH_INFO=/api/overview QUERY_STRING= "$D/www/cgi-bin/jammonitor")
echo "$ans" | head -n1 | grep -q '^Status: 403' || fail "installed CGI without a session: $(echo "$ans" | head -n1)"
# the init script's command line, as procd would get it (rc.common double outside a chroot)
RC_ROOT=$D sh tests/doubles/rc.common "$D/etc/init.d/jammonitor-collector" start
cmd=$(sed -n 's/^jammonitor-collector command //p' "$D/var/log/rc.common.log")
[ "$cmd" = "/usr/sbin/jammonitor-collector --foreground" ] || fail "init command line: $cmd"
# …run from the installed root, it takes a sample and says so in its status file
# shellcheck disable=SC2086
set -- $cmd
JAMMONITOR_ROOT=$D timeout 20 "$D$1" --once >"$tmp/c.log" 2>&1 || { cat "$tmp/c.log" >&2; fail "installed collector --once"; }
grep -q "\"samples\": 1," "$D/var/run/jammonitor/collector.json" && [ -s "$D/tmp/jammonitor/history.db" ] || fail "installed collector wrote no status or history"
ok "dashboard from the installed root: CGI answers, collector samples, init command line"

echo "package_test: ok"
while read -r f s i; do printf "  %-44s %9d bytes, installed %9d\n" "$(basename "$f")" "$s" "$i"; done <"$tmp/v1.list"
