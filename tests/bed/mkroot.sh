#!/bin/sh
# Create a JamMonitor test root: an OMR-like BPI-R4 (3 WANs) configuration written with the real
# OpenWrt `uci`, program links, rpcd's logins and ACLs, the ubus fixtures (netifd stand-in), a
# dhcp.leases file and /proc + /sys. Start its bus with tests/bed/webstack.sh start <root>.
#
#   tests/bed/mkroot.sh [--live] <root>
#
#   default  fixture root: copies tests/fixtures/proc and tests/fixtures/sys (if present) into <root>
#            (env JM_FIXTURES=<dir> reads <dir>/proc and <dir>/sys instead)
#   --live   live root: <root>/proc -> /proc and <root>/sys -> /sys (a CGI run inside a network
#            namespace sees that namespace)
#
# Re-running rebuilds the root from scratch, but only if it carries the marker file .jammonitor-root
# written here (an existing non-empty directory without it is refused, never deleted).
# uci is used as `uci -c <root>/etc/config -t <root>/tmp/.uci` (NOT -P: -P turns commit into a no-op).
set -eu

die() { printf 'mkroot: error: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

live=0
if [ "${1:-}" = --live ]; then live=1; shift; fi
[ $# -eq 1 ] || die "usage: mkroot.sh [--live] <root>"
root=$1
case $root in
    ""|/) die "refusing root '$root'" ;;
esac

# --- safe (re)creation -------------------------------------------------------------------------
if [ -e "$root" ] || [ -L "$root" ]; then
    [ -d "$root" ] && [ ! -L "$root" ] || die "$root exists and is not a directory"
    if [ -f "$root/.jammonitor-root" ]; then
        real=$(cd -P "$root" && pwd)
        [ "$real" != / ] || die "refusing /"
        # never recurse into something mounted inside the root (a loop-device "USB stick", a bind)
        if awk -v r="$real/" 'index($2 "/", r) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
            die "something is mounted under $real; unmount it first"
        fi
        rm -rf -- "$real"
    elif [ -n "$(ls -A "$root")" ]; then
        die "$root is not empty and has no .jammonitor-root marker; refusing to touch it"
    fi
fi
mkdir -p "$root"
root=$(cd "$root" && pwd)
[ "$root" != / ] || die "refusing /"
printf 'jammonitor test root (%s) made by tests/bed/mkroot.sh\n' \
    "$([ $live = 1 ] && echo live || echo fixture)" >"$root/.jammonitor-root"

# --- tools -------------------------------------------------------------------------------------
"$here/build-uci.sh" >/dev/null 2>"$root/.build-uci.log" || {
    cat "$root/.build-uci.log" >&2; die "building uci failed"; }
rm -f "$root/.build-uci.log"
"$here/build-webstack.sh" >/dev/null 2>"$root/.build-webstack.log" || {
    cat "$root/.build-webstack.log" >&2; die "building the web stack failed"; }
rm -f "$root/.build-webstack.log"
uci_bin="$repo/build/uci/bin/uci"
if ! command -v ip >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq iproute2; } >/dev/null || die "cannot install iproute2"
fi
ip_bin=$(command -v ip)
ss_bin=$(command -v ss)

# --- tree --------------------------------------------------------------------------------------
mkdir -p "$root/etc/config" "$root/etc/init.d" "$root/tmp/.uci" "$root/var/run/jammonitor" \
    "$root/var/run/ubus" "$root/sbin" "$root/usr/sbin" "$root/bin" "$root/usr/bin" \
    "$root/usr/share/rpcd/acl.d" "$root/.bed"
ln -s "$uci_bin" "$root/sbin/uci"
ln -s "$ip_bin" "$root/sbin/ip"
ln -s "$ss_bin" "$root/usr/sbin/ss"
# rpcd (tests/bed/webstack.sh runs the real one in this root): logins, and the ACL groups — rpcd's
# own unauthenticated.json, the session part of luci-base, and our package's ACL file.
cp "$here/rpcd/rpcd.config" "$root/etc/config/rpcd"
cp "$repo/build/webstack/share/rpcd/acl.d/unauthenticated.json" "$here/rpcd/luci-base.json" \
    "$repo/luci/root/usr/share/rpcd/acl.d/luci-app-jammonitor.json" "$root/usr/share/rpcd/acl.d/"
# ubus objects of daemons that cannot run here (netifd …), served by tests/doubles/ubus-fixtures.c
cp -R "$repo/tests/fixtures/ubus/netifd" "$root/.bed/ubus"
# netifd/procd doubles (tests/doubles): the kernel side they drive (ip, ip mptcp) is real.
ln -s "$repo/tests/doubles/ifupdown" "$root/sbin/ifup"
ln -s "$repo/tests/doubles/ifupdown" "$root/sbin/ifdown"
ln -s "$repo/tests/doubles/init-mptcp" "$root/etc/init.d/mptcp"
for svc in omr-tracker network dnsmasq firewall openvpn glorytun shadowsocks-rust; do
    ln -s "$repo/tests/doubles/init-service" "$root/etc/init.d/$svc"
done
# OMR's tracker hotplug script (feeds:omr-tracker/files/etc/hotplug.d/iface/40-omr-tracker), moved
# aside by the VPS bypass: a stand-in with the real file's mode and its first lines.
mkdir -p "$root/etc/hotplug.d/iface"
cat >"$root/etc/hotplug.d/iface/40-omr-tracker" <<'EOF_HOTPLUG'
#!/bin/sh
# stand-in for OMR's omr-tracker hotplug script (restarts the tracker on interface events)
[ "$ACTION" = ifup ] || [ "$ACTION" = ifdown ] || exit 0
/etc/init.d/omr-tracker restart "$INTERFACE" >/dev/null 2>&1 &
EOF_HOTPLUG
chmod 0755 "$root/etc/hotplug.d/iface/40-omr-tracker"

if [ $live = 1 ]; then
    ln -s /proc "$root/proc"
    ln -s /sys "$root/sys"
    # the speed test's transfer (src/system/speedtest.rs)
    if command -v curl >/dev/null 2>&1; then ln -s "$(command -v curl)" "$root/usr/bin/curl"; fi
else
    fixtures=${JM_FIXTURES:-$repo/tests/fixtures}
    for d in proc sys; do
        if [ -d "$fixtures/$d" ]; then
            cp -a "$fixtures/$d" "$root/$d"
        else
            mkdir -p "$root/$d"
        fi
    done
fi

# --- configuration -----------------------------------------------------------------------------
now=$(date +%s)
configs="network openmptcprouter omr-tracker glorytun shadowsocks-rust openvpn dhcp firewall fstab jammonitor system"
for c in $configs; do : >"$root/etc/config/$c"; done

batch_err="$root/tmp/.mkroot-uci.err"
"$uci_bin" -c "$root/etc/config" -t "$root/tmp/.uci" batch >/dev/null 2>"$batch_err" <<EOF
set network.loopback=interface
set network.loopback.device='lo'
set network.loopback.proto='static'
set network.loopback.ipaddr='127.0.0.1'
set network.loopback.netmask='255.0.0.0'
set network.loopback.multipath='off'
set network.loopback.metric='1'
set network.loopback.ip4table='1'
set network.globals=globals
set network.globals.ula_prefix='fd42:7a3b:19c4::/48'
set network.globals.packet_steering='0'
set network.globals.multipath='enable'
set network.globals.mptcp_path_manager='fullmesh'
set network.globals.mptcp_scheduler='blest'
set network.globals.congestion='bbr'
set network.globals.mptcp_checksum='0'
set network.globals.mptcp_debug='0'
set network.globals.mptcp_syn_retries='4'
set network.globals.mptcp_subflows='8'
set network.globals.mptcp_add_addr_accepted='8'
set network.globals.mptcp_add_addr_timeout='120'
set network.globals.mptcp_pm_type='0'
set network.globals.mptcp_disable_initial_config='0'
set network.globals.mptcp_force_multipath='1'
set network.globals.mptcpd_enable='0'
set network.lan=interface
set network.lan.device='wan'
set network.lan.ifname='wan'
set network.lan.proto='static'
set network.lan.ipaddr='192.168.100.1'
set network.lan.netmask='255.255.255.0'
set network.lan.ipv6='0'
set network.lan.delegate='0'
set network.lan.addlatency='0'
set network.lan.txqueuelen='2000'
set network.lan.multipath='off'
set network.lan.ip4table='9999'
set network.lan.metric='9999'
set network.lan_rule=rule
set network.lan_rule.lookup='lan'
set network.lan_rule.priority='100'
set network.wan1_dev=device
set network.wan1_dev.name='lan1'
set network.wan1_dev.txqueuelen='1000'
set network.wan2_dev=device
set network.wan2_dev.name='lan2'
set network.wan2_dev.txqueuelen='1000'
set network.wan2_dev.mtu='1492'
set network.wan3_dev=device
set network.wan3_dev.name='lan3'
set network.wan3_dev.txqueuelen='1000'
set network.wan1=interface
set network.wan1.device='lan1'
set network.wan1.proto='static'
set network.wan1.ipaddr='10.1.1.2'
set network.wan1.netmask='255.255.255.0'
set network.wan1.gateway='10.1.1.1'
set network.wan1.multipath='master'
set network.wan1.defaultroute='0'
set network.wan1.peerdns='0'
set network.wan1.delegate='0'
set network.wan1.addlatency='0'
set network.wan1.ip4table='3'
set network.wan1.ip6table='63'
set network.wan1.metric='3'
set network.wan1.label='Fiber'
set network.wan2=interface
set network.wan2.device='lan2'
set network.wan2.proto='static'
set network.wan2.ipaddr='10.2.2.2'
set network.wan2.netmask='255.255.255.0'
set network.wan2.gateway='10.2.2.1'
set network.wan2.multipath='on'
set network.wan2.defaultroute='0'
set network.wan2.peerdns='0'
set network.wan2.delegate='0'
set network.wan2.addlatency='0'
set network.wan2.ip4table='4'
set network.wan2.ip6table='64'
set network.wan2.metric='4'
set network.wan2.label='DSL'
set network.wan3=interface
set network.wan3.device='lan3'
set network.wan3.proto='static'
set network.wan3.ipaddr='10.3.3.2'
set network.wan3.netmask='255.255.255.0'
set network.wan3.gateway='10.3.3.1'
set network.wan3.multipath='backup'
set network.wan3.defaultroute='0'
set network.wan3.peerdns='0'
set network.wan3.delegate='0'
set network.wan3.addlatency='0'
set network.wan3.ip4table='5'
set network.wan3.ip6table='65'
set network.wan3.metric='5'
set network.wan3.label='5G'
set network.tun0=device
set network.tun0.name='tun0'
set network.tun0.mtu='1500'
set network.omrvpn=interface
set network.omrvpn.device='tun0'
set network.omrvpn.proto='none'
set network.omrvpn.type='tunnel'
set network.omrvpn.multipath='off'
set network.omrvpn.leasetime='12h'
set network.omrvpn.txqueuelen='100'
set network.omrvpn.ip4table='1500'
set network.omrvpn.metric='1500'
set openmptcprouter.settings=settings
set openmptcprouter.settings.enabled='1'
set openmptcprouter.settings.version='0.64-6.12'
set openmptcprouter.settings.master='balancing'
set openmptcprouter.settings.disable_ipv6='1'
set openmptcprouter.settings.check_ipv4_website='http://ip.openmptcprouter.com'
set openmptcprouter.settings.status_vps_timeout='10'
set openmptcprouter.settings.status_getip_timeout='1'
set openmptcprouter.settings.status_whois_timeout='2'
set openmptcprouter.settings.enable_nodelay='1'
set openmptcprouter.settings.scaling_governor='performance'
set openmptcprouter.settings.menu='OpenMPTCProuter'
set openmptcprouter.settings.disableintfrename='1'
set openmptcprouter.settings.tracebox='0'
set openmptcprouter.settings.vpn='openvpn'
set openmptcprouter.settings.proxy='shadowsocks-rust'
set openmptcprouter.settings.defaultgw='1'
set openmptcprouter.vps=server
set openmptcprouter.vps.username='openmptcprouter'
set openmptcprouter.vps.password='Vps-Secret-Key-7f3a9c1e5b2d4f60'
set openmptcprouter.vps.port='65500'
add_list openmptcprouter.vps.ip='203.0.113.10'
set openmptcprouter.vps.master='1'
set openmptcprouter.vps.backup='0'
set openmptcprouter.vps.disabled='0'
set openmptcprouter.vps.current='1'
set openmptcprouter.vps.token='eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoib3Blbm1wdGNwcm91dGVyIn0.c2lnbmF0dXJlLXRlc3Qtb25seS1ub3QtcmVhbA'
set openmptcprouter.omr=router
set openmptcprouter.omr.vpn='up'
set openmptcprouter.omr.detected_ss_ipv4='203.0.113.10'
set openmptcprouter.loopback=interface
set openmptcprouter.loopback.multipath='off'
set openmptcprouter.loopback.metric='1'
set openmptcprouter.lan=interface
set openmptcprouter.lan.multipath='off'
set openmptcprouter.lan.metric='9999'
set openmptcprouter.wan1=interface
set openmptcprouter.wan1.multipath='master'
set openmptcprouter.wan1.metric='3'
set openmptcprouter.wan1.state='up'
set openmptcprouter.wan1.publicip='198.51.100.11'
set openmptcprouter.wan1.asn='EXAMPLE-FIBER'
set openmptcprouter.wan1.latency='12'
set openmptcprouter.wan1.mptcp_status='MPTCP enabled'
set openmptcprouter.wan1.lc='$((now - 42))'
set openmptcprouter.wan2=interface
set openmptcprouter.wan2.multipath='on'
set openmptcprouter.wan2.metric='4'
set openmptcprouter.wan2.state='up'
set openmptcprouter.wan2.publicip='198.51.100.12'
set openmptcprouter.wan2.asn='EXAMPLE-DSL'
set openmptcprouter.wan2.latency='25'
set openmptcprouter.wan2.mptcp_status='MPTCP enabled'
set openmptcprouter.wan2.lc='$((now - 60))'
set openmptcprouter.wan3=interface
set openmptcprouter.wan3.multipath='backup'
set openmptcprouter.wan3.metric='5'
set openmptcprouter.wan3.state='up'
set openmptcprouter.wan3.publicip='198.51.100.13'
set openmptcprouter.wan3.asn='EXAMPLE-5G'
set openmptcprouter.wan3.latency='48'
set openmptcprouter.wan3.mptcp_status='MPTCP enabled'
set openmptcprouter.wan3.lc='$((now - 3700))'
set openmptcprouter.omrvpn=interface
set openmptcprouter.omrvpn.multipath='off'
set openmptcprouter.omrvpn.metric='1500'
set omr-tracker.defaults=defaults
set omr-tracker.defaults.enabled='1'
set omr-tracker.defaults.type='ping'
set omr-tracker.defaults.family='ipv4'
set omr-tracker.defaults.timeout='1'
set omr-tracker.defaults.count='1'
set omr-tracker.defaults.tries='2'
set omr-tracker.defaults.interval='1'
set omr-tracker.defaults.failure_interval='2'
set omr-tracker.defaults.tries_up='2'
add_list omr-tracker.defaults.hosts='1.1.1.1'
set glorytun.vpn=glorytun
set glorytun.vpn.enable='0'
set glorytun.vpn.host='203.0.113.10'
set glorytun.vpn.port='65001'
set glorytun.vpn.dev='tun0'
set glorytun.vpn.proto='tcp'
set glorytun.vpn.mptcp='1'
set glorytun.vpn.localip='10.255.255.2'
set glorytun.vpn.remoteip='10.255.255.1'
set glorytun.vpn.key='0c9f4e7a2b1d8e3f5a6c7b9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f'
set shadowsocks-rust.sss0=server
set shadowsocks-rust.sss0.server='203.0.113.10'
set shadowsocks-rust.sss0.server_port='65280'
set shadowsocks-rust.sss0.method='2022-blake3-aes-256-gcm'
set shadowsocks-rust.sss0.password='c2hhZG93c29ja3MtdGVzdC1rZXktMzJieXRlcy1fXw=='
set shadowsocks-rust.sss0.disabled='0'
set shadowsocks-rust.hi1=ss_redir
set shadowsocks-rust.hi1.server='sss0'
set shadowsocks-rust.hi1.local_address='0.0.0.0'
set shadowsocks-rust.hi1.local_port='1100'
set shadowsocks-rust.hi1.mptcp='1'
set openvpn.omr=openvpn
set openvpn.omr.enabled='1'
set openvpn.omr.dev='tun0'
set openvpn.omr.port='65301'
set openvpn.omr.proto='tcp-client'
set openvpn.omr.remote='203.0.113.10'
set openvpn.omr.client='1'
set openvpn.omr.cipher='AES-256-GCM'
set openvpn.omr.disable_dco='1'
set openvpn.omr.tun_mtu='1420'
add dhcp dnsmasq
set dhcp.@dnsmasq[-1].domainneeded='1'
set dhcp.@dnsmasq[-1].localise_queries='1'
set dhcp.@dnsmasq[-1].local='/lan/'
set dhcp.@dnsmasq[-1].domain='lan'
set dhcp.@dnsmasq[-1].expandhosts='1'
set dhcp.@dnsmasq[-1].authoritative='1'
set dhcp.@dnsmasq[-1].readethers='1'
set dhcp.@dnsmasq[-1].leasefile='/tmp/dhcp.leases'
set dhcp.@dnsmasq[-1].noresolv='1'
set dhcp.@dnsmasq[-1].quietdhcp='1'
set dhcp.@dnsmasq[-1].dnsforwardmax='1500'
add_list dhcp.@dnsmasq[-1].server='127.0.0.1#5353'
add_list dhcp.@dnsmasq[-1].rebind_domain='plex.direct'
set dhcp.lan=dhcp
set dhcp.lan.interface='lan'
set dhcp.lan.start='100'
set dhcp.lan.limit='150'
set dhcp.lan.leasetime='12h'
set dhcp.lan.force='1'
set dhcp.lan.dhcpv4='server'
add dhcp host
set dhcp.@host[-1].name='printer'
set dhcp.@host[-1].mac='02:00:00:00:01:0c'
set dhcp.@host[-1].ip='192.168.100.12'
set dhcp.@host[-1].dns='1'
add firewall defaults
set firewall.@defaults[-1].input='ACCEPT'
set firewall.@defaults[-1].output='ACCEPT'
set firewall.@defaults[-1].forward='REJECT'
set firewall.@defaults[-1].syn_flood='1'
set firewall.zone_lan=zone
set firewall.zone_lan.name='lan'
add_list firewall.zone_lan.network='lan'
set firewall.zone_lan.input='ACCEPT'
set firewall.zone_lan.output='ACCEPT'
set firewall.zone_lan.forward='ACCEPT'
set firewall.zone_wan=zone
set firewall.zone_wan.name='wan'
add_list firewall.zone_wan.network='wan1'
add_list firewall.zone_wan.network='wan2'
add_list firewall.zone_wan.network='wan3'
set firewall.zone_wan.input='REJECT'
set firewall.zone_wan.output='ACCEPT'
set firewall.zone_wan.forward='REJECT'
set firewall.zone_wan.masq='1'
set firewall.zone_wan.mtu_fix='1'
set firewall.zone_vpn=zone
set firewall.zone_vpn.name='vpn'
add_list firewall.zone_vpn.network='omrvpn'
set firewall.zone_vpn.input='REJECT'
set firewall.zone_vpn.output='ACCEPT'
set firewall.zone_vpn.forward='REJECT'
set firewall.zone_vpn.masq='1'
set firewall.zone_vpn.mtu_fix='1'
add fstab global
set fstab.@global[-1].anon_swap='0'
set fstab.@global[-1].anon_mount='0'
set fstab.@global[-1].auto_swap='1'
set fstab.@global[-1].auto_mount='1'
set fstab.@global[-1].delay_root='5'
set fstab.@global[-1].check_fs='0'
set jammonitor.main=jammonitor
set jammonitor.main.interval='60'
set jammonitor.main.ping_interval='3'
set jammonitor.main.db_path='/mnt/data/jammonitor/history.db'
set jammonitor.main.checkpoint_hours='4'
add_list jammonitor.main.ping_target='internet=1.1.1.1'
add_list jammonitor.main.ping_target='vps=203.0.113.10'
add_list jammonitor.main.ping_target='tunnel=auto'
set jammonitor.main.minutes_hours='48'
set jammonitor.main.hourly_days='30'
set jammonitor.main.daily_days='365'
set jammonitor.cloudflare=speedtest_server
set jammonitor.cloudflare.label='Cloudflare (rig VPS)'
set jammonitor.cloudflare.download='http://203.0.113.10/__down?bytes={bytes}'
set jammonitor.cloudflare.upload='http://203.0.113.10/__up'
set jammonitor.cloudflare.referer='http://203.0.113.10/'
add_list jammonitor.cloudflare.size='2'
add_list jammonitor.cloudflare.size='5'
add_list jammonitor.cloudflare.size='10'
add_list jammonitor.cloudflare.size='25'
add_list jammonitor.cloudflare.size='100'
set jammonitor.cachefly=speedtest_server
set jammonitor.cachefly.label='CacheFly (rig)'
set jammonitor.cachefly.download='http://8.8.8.8/{mb}mb.test'
add_list jammonitor.cachefly.size='2'
add_list jammonitor.cachefly.size='5'
add_list jammonitor.cachefly.size='10'
add_list jammonitor.cachefly.size='100'
add system system
set system.@system[-1].hostname='OMR-BPI-R4'
set system.@system[-1].zonename='UTC'
set system.@system[-1].timezone='UTC'
set system.@system[-1].log_size='64'
set system.@system[-1].ttylogin='0'
commit
EOF
if [ -s "$batch_err" ]; then
    cat "$batch_err" >&2
    die "uci batch reported errors (uci batch itself always exits 0)"
fi
rm -f "$batch_err"

u() { "$uci_bin" -c "$root/etc/config" -t "$root/tmp/.uci" "$@"; }
[ "$(u get network.wan1.multipath)" = master ] || die "uci self-check failed (network.wan1.multipath)"
[ "$(u get jammonitor.main.ping_target)" = "internet=1.1.1.1 vps=203.0.113.10 tunnel=auto" ] ||
    die "uci self-check failed (jammonitor.main.ping_target)"
# commit leaves empty delta files behind (real uci behaviour); any content means uncommitted changes
[ -z "$(find "$root/tmp/.uci" -type f -size +0)" ] || die "uncommitted uci changes left in $root/tmp/.uci"
if [ -d /tmp/.uci ] && [ -n "$(find /tmp/.uci -type f -size +0 2>/dev/null)" ]; then
    printf 'mkroot: warning: host /tmp/.uci holds uci deltas; uci always reads them too (compiled-in save dir)\n' >&2
fi

# --- dhcp leases (dnsmasq format: expiry mac ip hostname|* clientid|*) ----------------------------
cat >"$root/tmp/dhcp.leases" <<EOF
$((now + 43000)) 02:00:00:00:01:0a 192.168.100.10 laptop 01:02:00:00:00:01:0a
$((now + 42000)) 02:00:00:00:01:0b 192.168.100.11 <svg/onload=alert(1)>&amp;"x' *
$((now + 41000)) 02:00:00:00:01:0c 192.168.100.12 * *
EOF

printf '%s\n' "$root"
