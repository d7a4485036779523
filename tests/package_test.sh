#!/bin/sh
# The .ipk holds what opkg must install, where LuCI, uhttpd and rpcd look for it, and stays
# within the size budget (DESIGN §11: ≤ 1.5 MB).
set -eu
cd "$(dirname "$0")/.."
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
out=$(scripts/mkipk.sh | cut -d' ' -f1)
size=$(wc -c <"$out")
[ "$size" -le 1572864 ] || fail "$out is $size bytes (budget 1.5 MB)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tar -xzf "$out" -C "$tmp"
[ "$(cat "$tmp/debian-binary")" = 2.0 ] || fail "debian-binary"
mkdir "$tmp/data" "$tmp/ctrl"
tar -xzf "$tmp/data.tar.gz" -C "$tmp/data"
tar -xzf "$tmp/control.tar.gz" -C "$tmp/ctrl"
for f in www/cgi-bin/jammonitor www/luci-static/resources/jammonitor/app.js \
    www/luci-static/resources/view/jammonitor/main.js usr/share/luci/menu.d/luci-app-jammonitor.json \
    usr/share/rpcd/acl.d/luci-app-jammonitor.json etc/config/jammonitor lib/upgrade/keep.d/jammonitor; do
    [ -e "$tmp/data/$f" ] || fail "missing /$f"
done
[ -x "$tmp/data/www/cgi-bin/jammonitor" ] || fail "CGI not executable"
[ -L "$tmp/data/www/cgi-bin/jammonitor" ] || fail "the CGI should be the multi-call binary's link"
[ -x "$tmp/data/usr/sbin/jammonitor-collector" ] || fail "collector missing"
[ ! -e "$tmp/data/www/luci-static/resources/jammonitor/index.html" ] || fail "the demo host page must not ship"
grep -q '^/etc/config/jammonitor$' "$tmp/ctrl/conffiles" || fail "conffiles"
grep -q '^Package: jammonitor$' "$tmp/ctrl/control" || fail "control"
# The ACL group the CGI checks exists in the ACL file, and the menu depends on it.
python3 - "$tmp/data" <<'PY'
import json, sys
root = sys.argv[1]
acl = json.load(open(f"{root}/usr/share/rpcd/acl.d/luci-app-jammonitor.json"))
assert "luci-app-jammonitor" in acl, acl.keys()
menu = json.load(open(f"{root}/usr/share/luci/menu.d/luci-app-jammonitor.json"))
entry = menu["admin/status/jammonitor"]
assert "luci-app-jammonitor" in entry["depends"]["acl"], entry
assert entry["action"]["type"] == "view", entry
PY
# The CGI in the package answers like the one tested (a request without a session → 403 JSON).
ans=$(env -i REQUEST_METHOD=GET PATH_INFO=/api/overview QUERY_STRING= "$tmp/data/www/cgi-bin/jammonitor")
echo "$ans" | head -n1 | grep -q '^Status: 403' || fail "packaged CGI: $ans"
# …and the same binary under its own name is the collector.
"$tmp/data/usr/sbin/jammonitor-collector" --help 2>&1 | grep -q -- '--once' || fail "collector name does not run the collector"
echo "package_test: ok ($out, $size bytes)"
