#!/bin/sh
# Baseline for the overview benchmark: the predecessor's command pipelines for the same data
# (network_info + mptcp_status + vpn_status, docs/predecessor.md §1a), each run through /bin/sh
# as its popen() did, here against the bench namespace. Lua start-up is NOT included, so the
# baseline flatters the predecessor. Commands are the documented facts, not its code.
sh -c 'ip -br link' >/dev/null
sh -c 'ip -br addr' >/dev/null
sh -c 'ip route' >/dev/null
sh -c 'cat /proc/net/dev' >/dev/null
sh -c 'ls /sys/class/ieee80211/ 2>/dev/null' >/dev/null
sh -c "\"$JAMMONITOR_ROOT/sbin/uci\" -c \"$JAMMONITOR_ROOT/etc/config\" show wireless 2>/dev/null | grep -E '=wifi-device|\\.disabled='" >/dev/null
sh -c "ip -br link | awk '{print \$1}' | grep -vE '^lo\$|^docker|^veth'" >/dev/null
sh -c 'ip mptcp endpoint show' >/dev/null
sh -c 'ip mptcp limits' >/dev/null
sh -c 'ss -M | grep -c ESTAB' >/dev/null
sh -c "ip mptcp endpoint show | grep -oE 'dev [a-z0-9]+' | cut -d' ' -f2 | sort -u | tr '\\n' ' '" >/dev/null
sh -c 'ip mptcp endpoint show | wc -l' >/dev/null
sh -c 'ip addr show dev tun0' >/dev/null
sh -c "ip route show dev tun0 | grep -oE 'via [0-9.]+' | head -1 | cut -d' ' -f2" >/dev/null
sh -c "\"$JAMMONITOR_ROOT/sbin/uci\" -c \"$JAMMONITOR_ROOT/etc/config\" -q get openmptcprouter.vps.ip" >/dev/null
