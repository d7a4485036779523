#!/bin/sh
# Builds dist/jammonitor_<version>_<arch>.ipk from the release build, in the layout opkg installs
# on the router (the OpenWrt SDK Makefile in luci/openwrt/ builds the same tree for the router's
# architecture). An .ipk is a gzip'd tar of debian-binary, control.tar.gz and data.tar.gz.
#
#   scripts/mkipk.sh [arch]     default arch: this machine's (x86_64)
set -eu
cd "$(dirname "$0")/.."
arch=${1:-$(uname -m)}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
# One multi-call binary: the collector, which is also the CGI when called as `jammonitor`.
collector=target/release/jammonitor-collector
[ -x "$collector" ] || { echo "mkipk: build first (make build)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data" ctrl="$work/control"
mkdir -p "$data/www/cgi-bin" "$data/usr/sbin" "$data/www/luci-static/resources" "$ctrl"
install -m 0755 "$collector" "$data/usr/sbin/jammonitor-collector"
ln -s ../../usr/sbin/jammonitor-collector "$data/www/cgi-bin/jammonitor"
cp -R htdocs "$data/www/luci-static/resources/jammonitor"
rm -f "$data/www/luci-static/resources/jammonitor/index.html" "$data/www/luci-static/resources/jammonitor/standalone.js"
cp -R luci/htdocs/. "$data/www/"
cp -R luci/root/. "$data/"
find "$data" -type d -exec chmod 0755 {} +
find "$data" -type f ! -perm -u+x -exec chmod 0644 {} +
[ ! -d "$data/etc/init.d" ] || chmod 0755 "$data"/etc/init.d/*

size=$(du -sk "$data" | cut -f1)
cat >"$ctrl/control" <<CTRL
Package: jammonitor
Version: $version
Depends: libc, rpcd, uhttpd, luci-base, e2fsprogs, block-mount, kmod-fs-ext4, kmod-usb-storage
Source: https://github.com/madebyjamstudios/jammonitor
License: MIT
Section: luci
Architecture: $arch
Installed-Size: $((size * 1024))
Description: JamMonitor, the WAN-bonding dashboard for OpenMPTCProuter (LuCI: Status > JamMonitor)
CTRL
echo /etc/config/jammonitor >"$ctrl/conffiles"
cat >"$ctrl/postinst" <<'SH'
#!/bin/sh
[ -n "$IPKG_INSTROOT" ] && exit 0
# New menu and ACL: LuCI rebuilds its menu cache, rpcd reloads ACLs (users log in again).
rm -f /tmp/luci-indexcache* 2>/dev/null
rm -rf /tmp/luci-modulecache 2>/dev/null
/etc/init.d/rpcd reload 2>/dev/null
if [ -x /etc/init.d/jammonitor-collector ]; then
    /etc/init.d/jammonitor-collector enable
    /etc/init.d/jammonitor-collector restart
fi
exit 0
SH
cat >"$ctrl/prerm" <<'SH'
#!/bin/sh
[ -n "$IPKG_INSTROOT" ] && exit 0
[ ! -x /etc/init.d/jammonitor-collector ] || /etc/init.d/jammonitor-collector stop
exit 0
SH
chmod 0755 "$ctrl/postinst" "$ctrl/prerm"

echo 2.0 >"$work/debian-binary"
tar --owner=0 --group=0 --numeric-owner -C "$ctrl" -czf "$work/control.tar.gz" .
tar --owner=0 --group=0 --numeric-owner -C "$data" -czf "$work/data.tar.gz" .
mkdir -p dist
out="dist/jammonitor_${version}_${arch}.ipk"
tar --owner=0 --group=0 --numeric-owner -C "$work" -czf "$out" ./debian-binary ./control.tar.gz ./data.tar.gz
echo "$out $(wc -c <"$out") bytes"
