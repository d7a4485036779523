#!/bin/sh
# Smoke test of the test bed: builds uci, makes a fixture root and a live root in a temp dir, checks
# configuration values with the real uci and the ubus double's answers. Exits non-zero on a mismatch.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fails=0
checks=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); printf 'FAIL: %s\n' "$*" >&2; }
# eq DESCRIPTION EXPECTED ACTUAL
eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: expected [$2] got [$3]"; fi; }

tmp=$(mktemp -d /tmp/jm-bed-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$here/build-uci.sh" || { echo "FAIL: build-uci.sh" >&2; exit 1; }
"$here/mkroot.sh" "$tmp/fixture" >/dev/null || { echo "FAIL: mkroot.sh fixture" >&2; exit 1; }
"$here/mkroot.sh" --live "$tmp/live" >/dev/null || { echo "FAIL: mkroot.sh --live" >&2; exit 1; }
# idempotent re-run
"$here/mkroot.sh" "$tmp/fixture" >/dev/null || bad "mkroot.sh re-run on an existing root"

for r in "$tmp/fixture" "$tmp/live"; do
    u() { "$r/sbin/uci" -q -c "$r/etc/config" -t "$r/tmp/.uci" "$@"; }
    eq "wan1 multipath" master "$(u get network.wan1.multipath)"
    eq "wan2 multipath" on "$(u get network.wan2.multipath)"
    eq "wan3 multipath" backup "$(u get network.wan3.multipath)"
    eq "wan3 label" 5G "$(u get network.wan3.label)"
    eq "wan2_dev mtu" 1492 "$(u get network.wan2_dev.mtu)"
    eq "lan device" wan "$(u get network.lan.device)"
    eq "omrvpn ip4table" 1500 "$(u get network.omrvpn.ip4table)"
    eq "mptcp scheduler" blest "$(u get network.globals.mptcp_scheduler)"
    eq "vps ip list" 203.0.113.10 "$(u get openmptcprouter.vps.ip)"
    eq "vps type" server "$(u get openmptcprouter.vps)"
    eq "wan2 asn" EXAMPLE-DSL "$(u get openmptcprouter.wan2.asn)"
    eq "wan1 mptcp_status" "MPTCP enabled" "$(u get openmptcprouter.wan1.mptcp_status)"
    lc=$(u get openmptcprouter.wan3.lc)
    age=$(( $(date +%s) - ${lc:-0} ))
    if [ "$age" -ge 3700 ] && [ "$age" -lt 3800 ]; then ok; else bad "wan3 lc age $age"; fi
    eq "tracker hosts" 1.1.1.1 "$(u get omr-tracker.defaults.hosts)"
    eq "tracker tries_up" 2 "$(u get omr-tracker.defaults.tries_up)"
    eq "glorytun enable" 0 "$(u get glorytun.vpn.enable)"
    eq "ss-rust disabled" 0 "$(u get shadowsocks-rust.sss0.disabled)"
    eq "openvpn enabled" 1 "$(u get openvpn.omr.enabled)"
    eq "dhcp host mac" 02:00:00:00:01:0c "$(u get 'dhcp.@host[0].mac')"
    eq "dhcp lan limit" 150 "$(u get dhcp.lan.limit)"
    eq "wan zone" "wan1 wan2 wan3" "$(u get firewall.zone_wan.network)"
    eq "zone[1] is wan" wan "$(u get 'firewall.@zone[1].name')"
    eq "fstab global" global "$(u get 'fstab.@global[0]')"
    eq "jammonitor interval" 60 "$(u get jammonitor.main.interval)"
    eq "jammonitor type" jammonitor "$(u get jammonitor.main)"
    eq "hostname" OMR-BPI-R4 "$(u get 'system.@system[0].hostname')"
    # several configs through one uci process
    n=$(printf 'show network\nshow jammonitor\n' | u batch | grep -c -e '^network\.' -e '^jammonitor\.')
    if [ "$n" -gt 50 ]; then ok; else bad "uci batch show of two configs gave $n lines"; fi
    # write path: set + commit through -t lands in the file
    u set jammonitor.main.interval=30 && u commit jammonitor
    grep -q "option interval '30'" "$r/etc/config/jammonitor" && ok || bad "uci commit via -t"
    # program links
    "$r/sbin/ip" -V >/dev/null 2>&1 && ok || bad "sbin/ip"
    "$r/usr/sbin/ss" -V >/dev/null 2>&1 && ok || bad "usr/sbin/ss"
    [ -d "$r/var/run/jammonitor" ] && [ -d "$r/etc/init.d" ] && [ -f "$r/etc/config/rpcd" ] &&
        [ -f "$r/usr/share/rpcd/acl.d/luci-app-jammonitor.json" ] && [ -d "$r/.bed/ubus/network.interface" ] &&
        ok || bad "dirs in $r"
    eq "leases" 3 "$(awk 'NF == 5' "$r/tmp/dhcp.leases" | wc -l)"
    grep -q '<svg' "$r/tmp/dhcp.leases" && ok || bad "hostile lease hostname"
done

[ -L "$tmp/live/proc" ] && [ -r "$tmp/live/proc/loadavg" ] && [ -d "$tmp/live/sys/class/net/lo" ] &&
    ok || bad "live proc/sys links"
[ -d "$tmp/fixture/proc" ] && [ ! -L "$tmp/fixture/proc" ] && ok || bad "fixture proc dir"

# mkroot must refuse a non-empty directory without its marker
mkdir -p "$tmp/foreign" && : >"$tmp/foreign/keep"
if "$here/mkroot.sh" "$tmp/foreign" >/dev/null 2>&1; then bad "mkroot accepted a foreign dir"; else ok; fi
[ -f "$tmp/foreign/keep" ] && ok || bad "mkroot touched a foreign dir"

# the real bus (ubusd + rpcd + fixtures): unknown -> Not found, root -> true/true, viewer -> true/false
r=$tmp/fixture
"$here/webstack.sh" start "$r" && ok || bad "webstack start"
rw=$("$here/session.sh" "$r" --new)
ro=$("$here/session.sh" "$r" --new ro)
q() { printf '{"ubus_rpc_session":"%s","scope":"access-group","object":"luci-app-jammonitor","function":"%s"}' "$1" "$2"; }
call() { "$here/webstack.sh" call "$r" session access "$(q "$1" "$2")" | tr -d ' \t\n'; }
out=$(call 0123456789abcdef0123456789abcdef read 2>/dev/null); rc=$?
eq "unknown sid output" "" "$out"
eq "rw read" '{"access":true}' "$(call "$rw" read)"
eq "rw write" '{"access":true}' "$(call "$rw" write)"
eq "ro read" '{"access":true}' "$(call "$ro" read)"
eq "ro write" '{"access":false}' "$(call "$ro" write)"
"$here/session.sh" "$r" --delete "$rw" && ok || bad "logout"
eq "logged out" "" "$(call "$rw" read 2>/dev/null)"
eq "fixture netifd omrvpn uptime" 7260 "$("$here/webstack.sh" call "$r" network.interface.omrvpn status | sed -n 's/.*"uptime": \([0-9]*\).*/\1/p')"
"$here/webstack.sh" stop "$r" && ok || bad "webstack stop"
[ ! -e "$r/var/run/ubus/ubus.sock" ] && ok || bad "socket left after stop"
for n in ubusd rpcd fixtures; do [ ! -f "$r/.bed/$n.pid" ] && ok || bad "$n pid file left"; done
[ ! -e /var/run/rpcd ] && [ ! -e /usr/share/rpcd ] && ok || bad "something wrote to the host's /var/run/rpcd or /usr/share/rpcd"

if [ "$fails" -eq 0 ]; then
    printf 'bed selftest: %d checks passed\n' "$checks"
else
    printf 'bed selftest: %d of %d checks FAILED\n' "$fails" "$checks" >&2
    exit 1
fi
