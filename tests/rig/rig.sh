#!/usr/bin/env bash
# The simulated OMR router (DESIGN §9): network namespaces jm-router, jm-isp1..3, jm-vps, jm-c1..3.
# Names and addresses: tests/rig/lib.sh and tests/rig/README.md.
#
# usage: rig.sh up            build or converge the rig (idempotent; a failed up tears down)
#        rig.sh down          remove every namespace, device, nft table and process of the rig
#        rig.sh status        print what exists; exit 1 if the rig is incomplete
#        rig.sh exec NS CMD…  run CMD inside namespace NS (jm-router or just "router")
#        rig.sh traffic [--bg] [SECONDS]   client traffic through the router (default 60 s)
#        rig.sh traffic stop  stop background traffic
#        rig.sh leases        print dnsmasq-style lease lines for the client namespaces
#
# Network safety: no rig device is ever created in (or moved to) the host namespace, and the
# host gets no route to any rig address. Every address the rig uses is owned by a jm-* namespace.
set -Eeu
# shellcheck source=tests/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RIG_LOG_PREFIX=rig
PY=""
# The rig's daemons outlive this script, so they must not inherit the caller's descriptors: under
# `flock /tmp/jm-rig.lock …` they would keep the lock held after the locked command ended.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    case $fd in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
link_exists() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }
sysctl_ns() { local ns=$1; shift; nsx "$ns" sysctl -qw "$@" >/dev/null; }

on_err() { log "failed at line $1: $2"; }

# ------------------------------------------------------------------------------------------------
ensure_ns() {
    local ns=$1
    if ! ns_exists "$ns"; then
        if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" 2>/dev/null || rm -f "/run/netns/$ns"; fi
        ip netns add "$ns"
    fi
    ip -n "$ns" link set lo up
    # OMR ships with IPv6 disabled; it also keeps the rig quiet (no RS/DAD traffic).
    sysctl_ns "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    sysctl_ns "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# ensure_veth NS1 DEV1 MAC1 NS2 DEV2 MAC2: a veth pair created directly inside the namespaces.
ensure_veth() {
    local ns1=$1 d1=$2 m1=$3 ns2=$4 d2=$5 m2=$6
    if ! { link_exists "$ns1" "$d1" && link_exists "$ns2" "$d2"; }; then
        ip -n "$ns1" link del "$d1" 2>/dev/null || true
        ip -n "$ns2" link del "$d2" 2>/dev/null || true
        ip -n "$ns1" link add "$d1" address "$m1" type veth peer name "$d2" address "$m2" netns "$ns2"
    fi
    ip -n "$ns1" link set "$d1" up
    ip -n "$ns2" link set "$d2" up
}

# ensure_addr NS DEV ADDR/PFX [peer P]: DEV carries exactly this one IPv4 address.
ensure_addr() {
    local ns=$1 dev=$2 want have
    shift 2
    want=$*
    have=$(ip -n "$ns" -4 -o addr show dev "$dev" | awk '{ $1=$2=$3=""; print }' | sed 's/ brd [^ ]*//; s/ scope .*//; s/^ *//')
    if [ "$have" != "$want" ]; then
        ip -n "$ns" -4 addr flush dev "$dev"
        # shellcheck disable=SC2086
        ip -n "$ns" addr add $want dev "$dev"
    fi
}

# ensure_rule NS ARGS…: exactly one such rule.
ensure_rule() {
    local ns=$1
    shift
    while ip -n "$ns" rule del "$@" 2>/dev/null; do :; done
    ip -n "$ns" rule add "$@"
}

ensure_tun() {
    local ns=$1
    link_exists "$ns" "$TUN_DEV" || ip -n "$ns" tuntap add dev "$TUN_DEV" mode tun
    ip -n "$ns" link set "$TUN_DEV" mtu 1500 txqueuelen 100 up
}

# start_proc NS NAME SCRIPT ARGS…: one daemon per (NS, NAME); restarted only if not running.
start_proc() {
    local ns=$1 name=$2 script=$3 pidf logf
    shift 3
    pidf="$RIG_RUN/$ns.$name.pid"
    logf="$RIG_RUN/$ns.$name.log"
    pid_alive "$pidf" "$RIG_DIR/$script" && return 0
    rm -f "$pidf"
    ip netns exec "$ns" "$PY" "$RIG_DIR/$script" "$@" --pidfile "$pidf" >>"$logf" 2>&1 </dev/null &
    for _ in $(seq 50); do [ -s "$pidf" ] && return 0; sleep 0.1; done
    die "$name in $ns did not start; see $logf"
}

wait_listen() {
    local ns=$1 port=$2
    for _ in $(seq 50); do
        [ -n "$(nsx "$ns" ss -Hltn "sport = :$port")" ] && return 0
        sleep 0.1
    done
    die "nothing listens on port $port in $ns (logs in $RIG_RUN)"
}

nft_ruleset() {
    cat <<'EOF'
table inet fw4
delete table inet fw4
table inet fw4 {
	# NAT of LAN clients out of every WAN (as OMR's fw4 zone_wan masquerading)
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname { "lan1", "lan2", "lan3" } masquerade comment "jm-rig: masquerade out of the WANs"
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
		iifname "wan" accept
		oifname "wan" ct state new drop comment "jm-rig: nothing opens connections into the LAN"
	}
}
EOF
}

mptcp_wanted() {
    local k
    for k in $WANS; do
        printf '%s id %s %s dev %s\n' "$(wan_addr "$k")" "$k" "$(wan_mptcp_flags "$k")" "$(wan_dev "$k")"
    done
}

# ------------------------------------------------------------------------------------------------
cmd_up() {
    need_root "rig.sh up"
    # shellcheck disable=SC2086
    need_tools $RIG_TOOLS
    PY=$(python_bin)
    [ -c /dev/net/tun ] || die "/dev/net/tun is missing: the tunnel stand-in needs the tun driver"
    mkdir -p "$RIG_RUN"
    local t0 k ns dev down up
    t0=$(date +%s.%N)
    UP_DONE=0
    trap 'rc=$?; if [ "$UP_DONE" != 1 ]; then log "up failed (exit $rc): tearing the partial rig down"; cmd_down >&2 || true; fi' EXIT
    trap 'exit 130' INT TERM
    trap 'on_err $LINENO "$BASH_COMMAND"' ERR

    for ns in $NS_ALL; do ensure_ns "$ns"; done

    # -- sysctls: forwarding, conntrack accounting (bytes= in /proc/net/nf_conntrack), MPTCP like OMR
    sysctl_ns "$NS_ROUTER" net.ipv4.ip_forward=1 net.netfilter.nf_conntrack_acct=1 net.mptcp.enabled=1
    sysctl_ns "$NS_ROUTER" net.mptcp.add_addr_timeout=120 net.mptcp.checksum_enabled=0 \
        net.mptcp.allow_join_initial_addr_port=1 net.mptcp.pm_type=0
    nsx "$NS_ROUTER" sysctl -qw net.mptcp.stale_loss_cnt=4 >/dev/null 2>&1 || true
    sysctl_ns "$NS_VPS" net.mptcp.enabled=1 net.netfilter.nf_conntrack_acct=1
    for k in $WANS; do sysctl_ns "$(isp_ns "$k")" net.ipv4.ip_forward=1; done

    # -- WAN links router <-> isp<k>, isp<k> <-> vps, shaping
    for k in $WANS; do
        ns=$(isp_ns "$k")
        dev=$(wan_dev "$k")
        ensure_veth "$NS_ROUTER" "$dev" "$(wan_mac "$k")" "$ns" router "$(isp_mac "$k")"
        ensure_veth "$ns" vps "02:00:00:00:00:3$k" "$NS_VPS" "isp$k" "02:00:00:00:00:4$k"
        ensure_addr "$NS_ROUTER" "$dev" "$(wan_addr "$k")/24"
        ensure_addr "$ns" router "$(wan_gw "$k")/24"
        ensure_addr "$ns" vps "$(core_isp "$k")/30"
        ensure_addr "$NS_VPS" "isp$k" "$(core_vps "$k")/30"
        # isp: everything it does not know is "the internet", i.e. the VPS namespace
        ip -n "$ns" route replace default via "$(core_vps "$k")" dev vps
        ip -n "$NS_VPS" route replace "$(wan_net "$k")" via "$(core_isp "$k")" dev "isp$k"
        read -r down up <<<"$(wan_rate "$k")"
        tc -n "$ns" qdisc replace dev router root tbf rate "$down" burst 64k latency 100ms
        tc -n "$ns" qdisc replace dev vps root tbf rate "$up" burst 64k latency 100ms
    done

    # -- VPS and the "internet" addresses (no dummy driver on this kernel: they live on lo)
    local addr
    for addr in 127.0.0.1/8 "$VPS_ADDR/32" $INET_ADDRS; do
        case $addr in */*) ;; *) addr="$addr/32" ;; esac
        ip -n "$NS_VPS" addr replace "$addr" dev lo
    done

    # -- router routing like OMR's mptcp init: per-WAN tables 3/4/5, from/oif rules, main defaults
    for k in $WANS; do
        dev=$(wan_dev "$k")
        ip -n "$NS_ROUTER" route replace "$(wan_net "$k")" dev "$dev" scope link src "$(wan_addr "$k")" table "$(wan_table "$k")"
        ip -n "$NS_ROUTER" route replace default via "$(wan_gw "$k")" dev "$dev" table "$(wan_table "$k")"
        ensure_rule "$NS_ROUTER" from "$(wan_addr "$k")" table "$(wan_table "$k")" pref 0
        ensure_rule "$NS_ROUTER" oif "$dev" table "$(wan_table "$k")" pref 0
        ip -n "$NS_ROUTER" route replace default via "$(wan_gw "$k")" dev "$dev" metric "$(wan_table "$k")"
    done

    # -- LAN bridge "wan" and the clients
    link_exists "$NS_ROUTER" "$LAN_DEV" || ip -n "$NS_ROUTER" link add "$LAN_DEV" address "$LAN_MAC" type bridge
    ip -n "$NS_ROUTER" link set "$LAN_DEV" type bridge stp_state 0 forward_delay 0
    ip -n "$NS_ROUTER" link set "$LAN_DEV" up
    ensure_addr "$NS_ROUTER" "$LAN_DEV" "$LAN_ADDR/$LAN_PREFIX"
    for k in $CLIENTS; do
        ns=$(client_ns "$k")
        ensure_veth "$ns" eth0 "$(client_mac "$k")" "$NS_ROUTER" "$(client_port "$k")" "02:00:00:00:02:0$k"
        ip -n "$NS_ROUTER" link set "$(client_port "$k")" master "$LAN_DEV"
        ensure_addr "$ns" eth0 "$(client_ip "$k")/$LAN_PREFIX"
        ip -n "$ns" route replace default via "$LAN_ADDR" dev eth0
    done

    # -- NAT (atomic replace of our one table)
    nft_ruleset | nsx "$NS_ROUTER" nft -f -

    # -- kernel MPTCP endpoints and limits like OMR (/usr/bin/multipath + init.d/mptcp)
    if [ "$(nsx "$NS_ROUTER" ip mptcp endpoint show | sed 's/ *$//')" != "$(mptcp_wanted)" ]; then
        nsx "$NS_ROUTER" ip mptcp endpoint flush
        for k in $WANS; do
            # shellcheck disable=SC2046
            nsx "$NS_ROUTER" ip mptcp endpoint add "$(wan_addr "$k")" dev "$(wan_dev "$k")" id "$k" $(wan_mptcp_flags "$k")
        done
    fi
    nsx "$NS_ROUTER" ip mptcp limits set add_addr_accepted 8 subflows 8
    nsx "$NS_VPS" ip mptcp limits set add_addr_accepted 8 subflows 8

    # -- tunnel tun0 (OMR's omrvpn): tun devices + the tun-over-MPTCP daemon
    ensure_tun "$NS_ROUTER"
    ensure_tun "$NS_VPS"
    ensure_addr "$NS_ROUTER" "$TUN_DEV" "$TUN_LOCAL peer $TUN_PEER/32"
    ensure_addr "$NS_VPS" "$TUN_DEV" "$TUN_PEER peer $TUN_LOCAL/32"

    # -- processes
    start_proc "$NS_VPS" httpd httpd.py --port "$HTTP_PORT" --name "vps $VPS_ADDR"
    for k in $WANS; do start_proc "$(isp_ns "$k")" httpd httpd.py --port "$HTTP_PORT" --name "isp$k"; done
    start_proc "$NS_VPS" tund tund.py server --tun "$TUN_DEV" --listen "$VPS_ADDR:$TUN_PORT"
    wait_listen "$NS_VPS" "$TUN_PORT"
    start_proc "$NS_ROUTER" tund tund.py client --tun "$TUN_DEV" --connect "$VPS_ADDR:$TUN_PORT"
    wait_listen "$NS_VPS" "$HTTP_PORT"
    for k in $WANS; do wait_listen "$(isp_ns "$k")" "$HTTP_PORT"; done
    local ok=0
    for _ in $(seq 50); do
        if nsx "$NS_ROUTER" ping -q -n -c1 -W1 "$TUN_PEER" >/dev/null 2>&1; then ok=1; break; fi
        sleep 0.2
    done
    [ "$ok" = 1 ] || die "tunnel $TUN_DEV does not answer ping $TUN_PEER (see $RIG_RUN/$NS_ROUTER.tund.log)"

    UP_DONE=1
    trap - EXIT ERR INT TERM
    log "up: rig ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
}

# ------------------------------------------------------------------------------------------------
kill_ns_procs() {
    local ns=$1 pids
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [ -z "${pids// /}" ] && return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 30); do
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    if [ -n "${pids// /}" ]; then kill -KILL $pids 2>/dev/null || true; fi
    sleep 0.1
}

cmd_down() {
    need_root "rig.sh down"
    local t0 ns f left rc=0
    t0=$(date +%s.%N)
    stop_traffic
    # our daemons by pid file (only if the command line is ours), then anything still inside a
    # jm-* namespace (a CGI or collector started into jm-router, a client's curl, …)
    for f in "$RIG_RUN"/*.pid; do [ -e "$f" ] && stop_pid "$f" "$RIG_DIR/"; done
    for ns in $(ns_present); do kill_ns_procs "$ns"; done
    # Deleting a namespace destroys its veths (and their peers), the bridge, tun devices, routes,
    # rules, nft tables, conntrack entries and MPTCP endpoints with it.
    for ns in $(ns_present); do
        ip netns del "$ns" 2>/dev/null || { rm -f "/run/netns/$ns" 2>/dev/null || true; }
    done
    rm -f "$RIG_RUN"/*.pid
    left=$(ns_present | tr '\n' ' ')
    if [ -n "${left// /}" ]; then warn "namespaces still present: $left"; rc=1; fi
    log "down: done in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
    return $rc
}

# ------------------------------------------------------------------------------------------------
FAILS=0
check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then printf '  ok    %s\n' "$desc"; else printf '  MISS  %s\n' "$desc"; FAILS=$((FAILS + 1)); fi
}
has_addr() { ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null | grep -q " $3[ /]"; }
link_up() { ip -n "$1" link show dev "$2" 2>/dev/null | grep -q 'LOWER_UP'; }
has_route() { local ns=$1; shift; [ -n "$(ip -n "$ns" route show "$@" 2>/dev/null)" ]; }
has_rule() { ip -n "$1" rule show 2>/dev/null | grep -q "$2"; }
proc_ok() { pid_alive "$RIG_RUN/$1.$2.pid" "$RIG_DIR/"; }
listens() { [ -n "$(nsx "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ]; }
sysctl_is() { [ "$(nsx "$1" sysctl -n "$2" 2>/dev/null)" = "$3" ]; }
nft_has() { nsx "$NS_ROUTER" nft list table inet fw4 2>/dev/null | grep -q masquerade; }
mptcp_count() { [ "$(nsx "$NS_ROUTER" ip mptcp endpoint show 2>/dev/null | grep -c .)" = "$1" ]; }
pings() { nsx "$1" ping -q -n -c1 -W1 "$2"; }

cmd_status() {
    need_root "rig.sh status"
    local k ns present
    present=$(ns_present | tr '\n' ' ')
    echo "namespaces: ${present:-none}"
    for ns in $NS_ALL; do check "namespace $ns" ns_exists "$ns"; done
    if ! ns_exists "$NS_ROUTER"; then
        echo "rig: INCOMPLETE ($FAILS missing)"
        return 1
    fi
    echo "router ($NS_ROUTER):"
    for k in $WANS; do
        check "wan$k: $(wan_dev "$k") $(wan_addr "$k")/24 up" has_addr "$NS_ROUTER" "$(wan_dev "$k")" "$(wan_addr "$k")"
        check "wan$k: table $(wan_table "$k") default via $(wan_gw "$k")" has_route "$NS_ROUTER" default via "$(wan_gw "$k")" table "$(wan_table "$k")"
        check "wan$k: rule from $(wan_addr "$k") lookup $(wan_table "$k")" has_rule "$NS_ROUTER" "from $(wan_addr "$k") lookup $(wan_table "$k")"
        check "wan$k: main default via $(wan_gw "$k") metric $(wan_table "$k")" has_route "$NS_ROUTER" default via "$(wan_gw "$k")" metric "$(wan_table "$k")"
        check "wan$k: gateway $(wan_gw "$k") answers" pings "$NS_ROUTER" "$(wan_gw "$k")"
    done
    check "LAN bridge $LAN_DEV $LAN_ADDR/$LAN_PREFIX" has_addr "$NS_ROUTER" "$LAN_DEV" "$LAN_ADDR"
    for k in $CLIENTS; do
        check "client $(client_ns "$k") $(client_ip "$k") $(client_mac "$k") on $LAN_DEV" \
            has_addr "$(client_ns "$k")" eth0 "$(client_ip "$k")"
    done
    check "nft table inet fw4 (masquerade out of lan1..lan3)" nft_has
    check "net.netfilter.nf_conntrack_acct=1" sysctl_is "$NS_ROUTER" net.netfilter.nf_conntrack_acct 1
    check "ip_forward=1" sysctl_is "$NS_ROUTER" net.ipv4.ip_forward 1
    check "3 MPTCP endpoints" mptcp_count 3
    check "tun0 $TUN_LOCAL peer $TUN_PEER, carrier" link_up "$NS_ROUTER" "$TUN_DEV"
    check "tunnel peer $TUN_PEER answers" pings "$NS_ROUTER" "$TUN_PEER"
    check "tunnel daemon (client)" proc_ok "$NS_ROUTER" tund
    echo "vps ($NS_VPS):"
    for a in "$VPS_ADDR" $INET_ADDRS; do check "$a reachable from the router" pings "$NS_ROUTER" "$a"; done
    check "tunnel daemon (server) on $VPS_ADDR:$TUN_PORT" proc_ok "$NS_VPS" tund
    check "HTTP server :$HTTP_PORT" listens "$NS_VPS" "$HTTP_PORT"
    for k in $WANS; do check "HTTP server in $(isp_ns "$k") :$HTTP_PORT" listens "$(isp_ns "$k")" "$HTTP_PORT"; done
    if pid_alive "$RIG_RUN/traffic.pid"; then echo "traffic: running (pid $(cat "$RIG_RUN/traffic.pid"))"; else echo "traffic: not running"; fi
    echo "MPTCP endpoints:"
    nsx "$NS_ROUTER" ip mptcp endpoint show 2>/dev/null | sed 's/^/  /'
    echo "MPTCP connections: $(nsx "$NS_ROUTER" ss -HMn 2>/dev/null | grep -c . || true)," \
        "subflows: $(nsx "$NS_ROUTER" ss -Hnti 2>/dev/null | grep -c 'tcp-ulp-mptcp' || true)"
    if [ "$FAILS" = 0 ]; then echo "rig: complete"; else echo "rig: INCOMPLETE ($FAILS missing)"; return 1; fi
}

# ------------------------------------------------------------------------------------------------
stop_traffic() {
    local f="$RIG_RUN/traffic.pid" pid pgid
    pid_alive "$f" rig.sh || { rm -f "$f"; return 0; }
    pid=$(cat "$f")
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    if [ "$pgid" = "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    for _ in $(seq 30); do proc_running "$pid" || break; sleep 0.1; done
    if [ "$pgid" = "$pid" ]; then kill -KILL -- "-$pid" 2>/dev/null || true
    elif proc_running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$f"
}

cmd_traffic() {
    need_root "rig.sh traffic"
    local bg=0 secs=60 pid
    while [ $# -gt 0 ]; do
        case $1 in
            --bg) bg=1 ;;
            stop) stop_traffic; log "traffic stopped"; return 0 ;;
            *[!0-9]*|'') die "traffic: bad argument '$1' (usage: traffic [--bg] [SECONDS] | traffic stop)" ;;
            *) secs=$1 ;;
        esac
        shift
    done
    for ns in $NS_ROUTER $NS_VPS $NS_CLIENTS; do ns_exists "$ns" || die "rig is not up ($ns missing): run rig.sh up"; done
    need_tools curl ping setsid
    mkdir -p "$RIG_RUN"
    stop_traffic
    # its own session, so that stopping it stops every curl/ping it started
    setsid "$0" traffic-run "$secs" >>"$RIG_RUN/traffic.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$RIG_RUN/traffic.pid"
    if [ "$bg" = 1 ]; then
        log "traffic: running in the background for $secs s (pid $pid, log $RIG_RUN/traffic.log)"
        return 0
    fi
    log "traffic: $secs s of client flows (Ctrl-C stops)"
    trap 'stop_traffic; exit 130' INT TERM
    wait "$pid" || true
    rm -f "$RIG_RUN/traffic.pid"
}

# traffic-run SECONDS (internal; runs as its own session leader)
cmd_traffic_run() {
    local secs=$1 end
    end=$(($(date +%s) + secs))
    trap 'trap - TERM; kill -TERM 0 2>/dev/null; exit 0' TERM INT
    left() { local l=$((end - $(date +%s))); [ "$l" -gt 0 ] && echo "$l" || echo 0; }
    # curl_loop NS MAXRATE CURL-ARGS…: repeat one transfer until the end time
    curl_loop() {
        local ns=$1 rate=$2 l
        shift 2
        while l=$(left) && [ "$l" -gt 0 ]; do
            [ "$l" -gt 40 ] && l=40
            ip netns exec "$ns" curl -s -o /dev/null --max-time "$l" --limit-rate "$rate" "$@" || sleep 1
        done
    }
    ping_loop() {
        local l
        l=$(left)
        if [ "$l" -gt 0 ]; then ip netns exec "$1" ping -q -n -i "$2" -w "$l" "$3" >/dev/null 2>&1 || true; fi
    }
    local up="$RIG_RUN/upload.bin"
    [ -s "$up" ] || head -c 2000000 /dev/zero >"$up"
    local vps="http://$VPS_ADDR:$HTTP_PORT"
    # jm-c1: a steady download from the "internet" + pings to 1.1.1.1
    curl_loop jm-c1 300k "$vps/__down?bytes=8000000&rate=300000" &
    ping_loop jm-c1 1 1.1.1.1 &
    # jm-c2: uploads to the VPS, small requests to 8.8.8.8, a download from ISP2's server (via lan2)
    curl_loop jm-c2 80k -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$up" "$vps/__up" &
    curl_loop jm-c2 200k "http://$(wan_gw 2):$HTTP_PORT/__down?bytes=3000000&rate=200000" &
    (while [ "$(left)" -gt 0 ]; do ip netns exec jm-c2 curl -s -o /dev/null --max-time 3 "http://8.8.8.8/ip" || true; sleep 5; done) &
    # jm-c3: a "TV stream" from ISP3's server (via lan3) + pings to 8.8.8.8
    curl_loop jm-c3 120k "http://$(wan_gw 3):$HTTP_PORT/__down?bytes=3000000&rate=120000" &
    ping_loop jm-c3 2 8.8.8.8 &
    # the router itself: traffic through the tunnel (MPTCP subflows over lan1/lan2)
    curl_loop "$NS_ROUTER" 150k "http://$TUN_PEER:$HTTP_PORT/__down?bytes=6000000&rate=150000" &
    wait
    [ "$(cat "$RIG_RUN/traffic.pid" 2>/dev/null)" = "$$" ] && rm -f "$RIG_RUN/traffic.pid"
    return 0
}

cmd_leases() {
    local k exp
    exp=$(($(date +%s) + 43200))
    for k in $CLIENTS; do
        printf '%s %s %s %s 01:%s\n' "$exp" "$(client_mac "$k")" "$(client_ip "$k")" "$(client_name "$k")" "$(client_mac "$k")"
    done
}

cmd_exec() {
    [ $# -ge 2 ] || die "usage: rig.sh exec NS CMD…"
    need_root "rig.sh exec"
    local ns=$1
    shift
    case $ns in jm-*) ;; *) ns="jm-$ns" ;; esac
    ns_exists "$ns" || die "namespace $ns does not exist (rig.sh up?)"
    exec ip netns exec "$ns" "$@"
}

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    exec) shift; cmd_exec "$@" ;;
    traffic) shift; cmd_traffic "$@" ;;
    traffic-run) cmd_traffic_run "$2" ;;
    leases) cmd_leases ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
