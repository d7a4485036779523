#!/bin/sh
# Builds JamMonitor's packages, split as OpenWrt splits a LuCI app, in both package formats:
#
#   jammonitor                   the multi-call binary (collector + CGI), procd init script,
#                                /etc/config/jammonitor (conffile), uci-defaults, sysupgrade keep list,
#                                the update signing key; architecture-specific
#   luci-app-jammonitor          LuCI menu, ACL, view and the dashboard's htdocs; arch all
#   luci-i18n-jammonitor-<lang>  one per po/<folder>/jammonitor.po, named as luci.mk names them
#                                (<lang>: zh_Hans → zh-cn, zh_Hant → zh-tw, pt_BR → pt-br, else the
#                                folder): LuCI's catalogue /usr/lib/lua/luci/i18n/jammonitor.<lang>.lmo
#                                (po2lmo) and the page's own htdocs/i18n/<code>.json; arch all
#
#   .ipk  opkg (OpenWrt 24.10): gzip'd tar of debian-binary, control.tar.gz, data.tar.gz
#   .apk  apk-tools v3 (OpenWrt 25.x): ADB built by `apk mkpkg`
#
#   scripts/mkpkg.sh [--format ipk|apk|all] [--arch ARCH] [--out DIR] [--binary FILE]
#
# --arch is the package architecture as opkg/apk name it (x86_64, aarch64_cortex-a53 …); default
# this machine's. --binary defaults to build/pkg-target/release/jammonitor-collector, built by
# `make packages` with the build paths remapped (no /work/… string inside the binary).
# Reproducible: the same inputs give the same bytes (SOURCE_DATE_EPOCH, default the last commit's
# time; sorted entries; owner root:root; gzip -n). Run as root (apk mkpkg records the files' owners).
#
# Environment (tests): PKG_VERSION (default Cargo.toml's), PKG_RELEASE (default 1), PKG_CONFFILE (a
# replacement /etc/config/jammonitor), PKG_UPDATE_KEY (a usign public key to ship instead of
# keys/jammonitor-release.pub), APK (default build/pkgtools/bin/apk), PO2LMO (default
# build/pkgtools/bin/po2lmo: LuCI's, built from tests/vendor/luci by tests/bed/build-pkgtools.sh).
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
die() { echo "mkpkg: $*" >&2; exit 1; }

format=all arch=$(uname -m) out=dist binary=build/pkg-target/release/jammonitor-collector
while [ $# -gt 0 ]; do
    case $1 in
        --format) format=$2; shift 2 ;;
        --arch) arch=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
case $format in ipk|apk|all) ;; *) die "--format ipk|apk|all" ;; esac
[ -x "$binary" ] || die "no binary at $binary (make packages builds it)"
version=${PKG_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)}
release=${PKG_RELEASE:-1}
conffile=${PKG_CONFFILE:-luci/root/etc/config/jammonitor}
updkey=${PKG_UPDATE_KEY:-keys/jammonitor-release.pub}
apk=${APK:-build/pkgtools/bin/apk}
po2lmo=${PO2LMO:-build/pkgtools/bin/po2lmo}
[ -x "$po2lmo" ] || die "no po2lmo at $po2lmo (tests/bed/build-pkgtools.sh builds it)"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
echo "$version" | grep -Eq '^[0-9]+(\.[0-9]+)*$' || die "version $version: digits and dots only"
echo "$release" | grep -Eq '^[0-9]+$' || die "release $release: a number"
[ -f "$updkey" ] || die "no update key $updkey"
umask 022
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# minify_frontend OUT: htdocs/ minified into OUT (esbuild from scripts/frontend, installed from the
# npm registry on first use; parallel callers wait for one install).
minify_frontend() {
    (
        flock 9
        [ -d scripts/frontend/node_modules/esbuild ] ||
            (cd scripts/frontend && npm ci --no-audit --no-fund --loglevel=error) >&2
    ) 9>"$repo/scripts/frontend/.install.lock" || die "cannot install the minifier (npm ci in scripts/frontend)"
    node scripts/frontend/minify.mjs htdocs "$1" >&2 || die "minifying htdocs failed"
}

# ---- staging: one tree per package ----------------------------------------------------------
stage() { mkdir -p "$work/$1/data"; echo "$work/$1/data"; }

d=$(stage jammonitor)
install -D -m 0755 "$binary" "$d/usr/sbin/jammonitor-collector"
mkdir -p "$d/www/cgi-bin"
# One multi-call binary: called as `jammonitor` it is the CGI.
ln -s ../../usr/sbin/jammonitor-collector "$d/www/cgi-bin/jammonitor"
install -D -m 0755 luci/root/etc/init.d/jammonitor-collector "$d/etc/init.d/jammonitor-collector"
install -D -m 0600 "$conffile" "$d/etc/config/jammonitor"
install -D -m 0755 luci/root/etc/uci-defaults/90-jammonitor "$d/etc/uci-defaults/90-jammonitor"
install -D -m 0644 luci/root/lib/upgrade/keep.d/jammonitor "$d/lib/upgrade/keep.d/jammonitor"
fp=$(sed -n 2p "$updkey" | base64 -d 2>/dev/null | od -An -tx1 -j2 -N8 | tr -d ' \n')
[ ${#fp} = 16 ] || die "cannot read the key fingerprint of $updkey"
install -D -m 0644 "$updkey" "$d/usr/share/jammonitor/keys/$fp"

d=$(stage luci-app-jammonitor)
install -D -m 0644 luci/root/usr/share/luci/menu.d/luci-app-jammonitor.json "$d/usr/share/luci/menu.d/luci-app-jammonitor.json"
install -D -m 0644 luci/root/usr/share/rpcd/acl.d/luci-app-jammonitor.json "$d/usr/share/rpcd/acl.d/luci-app-jammonitor.json"
mkdir -p "$d/www"
cp -R luci/htdocs/. "$d/www/"
res="$d/www/luci-static/resources/jammonitor"
mkdir -p "$res"
# JS and CSS ship minified (DESIGN §11 budget); the source stays readable modules.
minify_frontend "$work/htdocs"
cp -R "$work/htdocs/." "$res/"
# the demo host page and its boot script are for `make run` only; languages have their own packages
rm -rf "$res/index.html" "$res/standalone.js" "$res/i18n"

# The catalogues are built from po/<lang>/jammonitor.po (gettext); the .po files are the source.
# One package per po/<folder>, as luci.mk makes luci-i18n-<app>-<lang> (LuCI's language code:
# luci.mk's LUCI_LC_ALIAS for folders with a region or script, else the folder name) with LuCI's
# compiled catalogue jammonitor.<lang>.lmo, which LuCI loads for its language into window.TR (the
# page then needs no catalogue of its own), and the page's JSON catalogue (the standalone page,
# or a language other than LuCI's chosen in Settings).
python3 scripts/i18n.py catalogues
luci_lang() {
    case $1 in
        bn_BD) echo bn ;; nb_NO) echo no ;; pt_BR) echo pt-br ;; zh_Hans) echo zh-cn ;; zh_Hant) echo zh-tw ;;
        *) echo "$1" ;;
    esac
}
# LuCI's name of each language (luci.mk's LUCI_LANG.<folder>), which its translation packages
# register in /etc/config/luci (`luci.languages`) so System → Language offers it.
luci_lang_name() {
    case $1 in
        ar) echo 'العربية (Arabic)' ;; cs) echo 'Čeština (Czech)' ;; de) echo 'Deutsch (German)' ;;
        el) echo 'Ελληνικά (Greek)' ;; es) echo 'Español (Spanish)' ;; fr) echo 'Français (French)' ;;
        id) echo 'Bahasa Indonesia (Indonesian)' ;; it) echo 'Italiano (Italian)' ;;
        ja) echo '日本語 (Japanese)' ;; ko) echo '한국어 (Korean)' ;; nl) echo 'Nederlands (Dutch)' ;;
        pl) echo 'Polski (Polish)' ;; pt_BR) echo 'Português do Brasil (Brazilian Portuguese)' ;;
        ru) echo 'Русский (Russian)' ;; sv) echo 'Svenska (Swedish)' ;; th) echo 'ภาษาไทย (Thai)' ;;
        tr) echo 'Türkçe (Turkish)' ;; uk) echo 'Українська (Ukrainian)' ;;
        vi) echo 'Tiếng Việt (Vietnamese)' ;; zh_Hans) echo '简体中文 (Chinese Simplified)' ;;
        zh_Hant) echo '繁體中文 (Chinese Traditional)' ;;
        *) return 1 ;;
    esac
}
pkgs_i18n=""
for po in po/*/jammonitor.po; do
    [ -f "$po" ] || continue
    folder=$(basename "$(dirname "$po")")
    lang=$(luci_lang "$folder")
    json=htdocs/i18n/$(echo "$folder" | tr _ -).json
    [ -f "$json" ] || die "no $json for $po (scripts/i18n.py catalogues)"
    pkg=luci-i18n-jammonitor-$lang
    pkgs_i18n="$pkgs_i18n $pkg"
    d=$(stage "$pkg")
    install -D -m 0644 "$json" "$d/www/luci-static/resources/jammonitor/i18n/$(basename "$json")"
    mkdir -p "$d/usr/lib/lua/luci/i18n"
    "$po2lmo" "$po" "$d/usr/lib/lua/luci/i18n/jammonitor.$lang.lmo" || die "po2lmo $po"
    [ -s "$d/usr/lib/lua/luci/i18n/jammonitor.$lang.lmo" ] || die "po2lmo wrote an empty catalogue for $po"
    # As luci.mk's translation packages: a uci-defaults line registering the language, run at
    # once on a live router (postinst) or at first boot in an image.
    name=$(luci_lang_name "$folder") || die "no LuCI language name for po/$folder (luci_lang_name)"
    key=$(echo "$lang" | tr - _)
    mkdir -p "$d/etc/uci-defaults"
    echo "uci set luci.languages.$key='$name'; uci commit luci" >"$d/etc/uci-defaults/$pkg"
    cat >"$work/$pkg/postinst" <<SH
#!/bin/sh
[ -n "\${IPKG_INSTROOT}" ] || {
	(. /etc/uci-defaults/$pkg) && rm -f /etc/uci-defaults/$pkg
	exit 0
}
SH
done

# Normalise: directories 0755, files 0644 unless executable, every mtime the same.
for p in "$work"/*/data; do
    find "$p" -type d -exec chmod 0755 {} +
    find "$p" -type f ! -perm -u+x ! -path "*/etc/config/*" -exec chmod 0644 {} +
    find "$p" -type f -perm -u+x -exec chmod 0755 {} +
    find "$p" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
done

# ---- maintainer scripts ---------------------------------------------------------------------
# jammonitor: in an image build or an offline root (IPKG_INSTROOT set) only enable the service at
# boot (what rc.common enable does) and leave uci-defaults for first boot; on the router run the
# uci-defaults now, enable and restart the collector.
cat >"$work/jammonitor/postinst" <<'SH'
#!/bin/sh
if [ -n "${IPKG_INSTROOT}" ]; then
	mkdir -p "${IPKG_INSTROOT}/etc/rc.d"
	ln -sf ../init.d/jammonitor-collector "${IPKG_INSTROOT}/etc/rc.d/S95jammonitor-collector"
	ln -sf ../init.d/jammonitor-collector "${IPKG_INSTROOT}/etc/rc.d/K10jammonitor-collector"
	exit 0
fi
if [ -f /etc/uci-defaults/90-jammonitor ]; then
	( . /etc/uci-defaults/90-jammonitor ) && rm -f /etc/uci-defaults/90-jammonitor
fi
/etc/init.d/jammonitor-collector enable
/etc/init.d/jammonitor-collector restart
exit 0
SH
cat >"$work/jammonitor/prerm" <<'SH'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] && exit 0
/etc/init.d/jammonitor-collector stop
exit 0
SH
# postrm (opkg remove / apk post-deinstall): only on a real removal, not on an upgrade's old prerm.
cat >"$work/jammonitor/postrm" <<'SH'
#!/bin/sh
rm -f "${IPKG_INSTROOT}/etc/rc.d/S95jammonitor-collector" "${IPKG_INSTROOT}/etc/rc.d/K10jammonitor-collector"
exit 0
SH
# luci-app: LuCI rebuilds its menu cache and rpcd re-reads the ACLs (users log out and back in).
cat >"$work/luci-app-jammonitor/postinst" <<'SH'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] && exit 0
rm -f /tmp/luci-indexcache* 2>/dev/null
rm -rf /tmp/luci-modulecache 2>/dev/null
/etc/init.d/rpcd reload
exit 0
SH
cp "$work/luci-app-jammonitor/postinst" "$work/luci-app-jammonitor/postrm"

# ---- per-package metadata -------------------------------------------------------------------
# meta PKG FIELD: Architecture / Depends / Description (ipk spelling; apk derives from it).
meta() {
    case $1:$2 in
        jammonitor:arch) echo "$arch" ;;
        jammonitor:depends) echo "libc, rpcd, uhttpd" ;;
        jammonitor:desc) echo "JamMonitor: WAN-bonding dashboard backend (CGI and collector) for OpenMPTCProuter" ;;
        luci-app-jammonitor:arch) echo all ;;
        luci-app-jammonitor:depends) echo "jammonitor, luci-base" ;;
        luci-app-jammonitor:desc) echo "LuCI support for JamMonitor (Status > JamMonitor)" ;;
        luci-i18n-jammonitor-*:arch) echo all ;;
        luci-i18n-jammonitor-*:depends) echo "luci-app-jammonitor" ;;
        luci-i18n-jammonitor-*:desc) echo "Translation for luci-app-jammonitor - ${1#luci-i18n-jammonitor-}" ;;
    esac
}
pkgs="jammonitor luci-app-jammonitor$pkgs_i18n"

# Reproducible gzip'd tar of the current directory's entries, sorted, owner root.
rtar() {
    tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
        -cf - "$@" | gzip -9n
}

for pkg in $pkgs; do
    w=$work/$pkg
    data=$w/data
    a=$(meta "$pkg" arch)
    isize=$(find "$data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    conffiles=""
    [ "$pkg" != jammonitor ] || conffiles="/etc/config/jammonitor"

    if [ "$format" != apk ]; then
        c=$w/ipk-control
        mkdir -p "$c"
        {
            echo "Package: $pkg"
            echo "Version: $version-$release"
            echo "Depends: $(meta "$pkg" depends)"
            echo "Source: feeds/jammonitor/$pkg"
            echo "SourceName: $pkg"
            echo "License: MIT"
            echo "Section: luci"
            echo "URL: https://github.com/madebyjamstudios/jammonitor"
            echo "Maintainer: JamMonitor developers"
            echo "Architecture: $a"
            echo "Installed-Size: $isize"
            echo "Description: $(meta "$pkg" desc)"
        } >"$c/control"
        [ -z "$conffiles" ] || echo "$conffiles" >"$c/conffiles"
        for s in postinst prerm postrm; do
            [ ! -f "$w/$s" ] || install -m 0755 "$w/$s" "$c/$s"
        done
        find "$c" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
        (cd "$data" && rtar .) >"$w/data.tar.gz"
        (cd "$c" && rtar .) >"$w/control.tar.gz"
        echo 2.0 >"$w/debian-binary"
        touch -d "@$SOURCE_DATE_EPOCH" "$w/debian-binary" "$w/data.tar.gz" "$w/control.tar.gz"
        f="$out/${pkg}_$version-${release}_$a.ipk"
        (cd "$w" && rtar ./debian-binary ./data.tar.gz ./control.tar.gz) >"$f"
        echo "$f $(wc -c <"$f") $isize"
    fi

    if [ "$format" != ipk ]; then
        [ -x "$apk" ] || die "no apk at $apk (tests/bed/build-pkgtools.sh builds it)"
        # OpenWrt 25 ships the conffile list inside the data (include/package-pack.mk).
        ad=$w/apk-data
        rm -rf "$ad"
        cp -a "$data" "$ad"
        if [ -n "$conffiles" ]; then
            mkdir -p "$ad/lib/apk/packages"
            echo "$conffiles" >"$ad/lib/apk/packages/$pkg.conffiles"
            for cf in $conffiles; do
                echo "$cf $(sha256sum "$ad$cf" | cut -d' ' -f1)"
            done >"$ad/lib/apk/packages/$pkg.conffiles_static"
            chmod 0644 "$ad/lib/apk/packages/"*
        fi
        find "$ad" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
        set -- --info "name:$pkg" --info "version:$version-r$release" --info "arch:$(
            [ "$a" = all ] && echo noarch || echo "$a")" \
            --info "description:$(meta "$pkg" desc)" --info license:MIT --info "origin:$pkg" \
            --info url:https://github.com/madebyjamstudios/jammonitor \
            --info "maintainer:JamMonitor developers"
        deps=$(meta "$pkg" depends | tr -d ',')
        set -- "$@" --info "depends:$deps"
        [ ! -f "$w/postinst" ] || set -- "$@" --script "post-install:$w/postinst" --script "post-upgrade:$w/postinst"
        [ ! -f "$w/prerm" ] || set -- "$@" --script "pre-deinstall:$w/prerm" --script "pre-upgrade:$w/prerm"
        [ ! -f "$w/postrm" ] || set -- "$@" --script "post-deinstall:$w/postrm"
        f="$out/$pkg-$version-r$release.apk"
        [ "$a" = all ] || f="$out/$pkg-$version-r${release}_$a.apk"
        "$apk" mkpkg "$@" --files "$ad" --output "$f" >/dev/null
        echo "$f $(wc -c <"$f") $isize"
    fi
done
