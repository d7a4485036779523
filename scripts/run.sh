#!/usr/bin/env bash
# `make run` (after the build): start the simulated OMR router, the dashboard server, some client
# traffic and the collector, then print the dashboard URL.
#
# usage: scripts/run.sh [--port N] [--host-only] [--no-traffic] [--traffic-seconds N]
#
# As root (with `ip netns`): rig mode. tests/rig/rig.sh up builds namespaces jm-router, jm-isp1..3,
# jm-vps and jm-c1..3; the CGI and the collector run inside jm-router. Otherwise host-only mode: the
# CGI runs against a live root in this machine's own namespace, nothing is simulated, and the
# collector is not started (see the message). Stop everything with scripts/stop.sh (make stop).
set -Eeu
# shellcheck source=tests/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/rig/lib.sh"
RIG_LOG_PREFIX=run

port=8088 host_only=0 traffic=1 traffic_secs=${JM_TRAFFIC_SECONDS:-900}
while [ $# -gt 0 ]; do
    case $1 in
        --port) [ $# -ge 2 ] || die "--port needs a value"; port=$2; shift ;;
        --port=*) port=${1#--port=} ;;
        --host-only) host_only=1 ;;
        --no-traffic) traffic=0 ;;
        --traffic-seconds) [ $# -ge 2 ] || die "--traffic-seconds needs a value"; traffic_secs=$2; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (scripts/run.sh --help)" ;;
    esac
    shift
done

COLLECTOR=${JM_COLLECTOR_BIN:-$REPO/target/release/jammonitor-collector}   # override: tests of this script
COL_PID="$RUN_DIR/collector.pid"
COL_LOG="$RUN_DIR/collector.log"
mkdir -p "$RUN_DIR"

mode=rig
if [ "$host_only" = 1 ]; then
    mode=host-only
    log "host-only mode requested"
elif ! is_root; then
    mode=host-only
    warn "not running as root: HOST-ONLY mode. Without root there are no network namespaces, so no"
    warn "simulated router (WAN links, clients, MPTCP, tunnel), no client traffic and no collector."
    warn "Run 'sudo make run' for the full simulated router."
elif ! netns_usable; then
    mode=host-only
    warn "'ip netns' does not work on this machine: HOST-ONLY mode (no simulated router, no collector)"
fi

# -- tools (installs what is missing when root; tests/bed/install-deps.sh first if present)
# shellcheck disable=SC2086
if [ "$mode" = rig ]; then need_tools $RIG_TOOLS; else need_tools curl; fi

# -- rig, server, traffic, collector
if [ "$mode" = rig ]; then
    "$REPO/tests/rig/rig.sh" up
    "$REPO/tests/rig/serve.sh" start ${JM_LUCI:+--luci} --port "$port"
    if [ "$traffic" = 1 ]; then "$REPO/tests/rig/rig.sh" traffic --bg "$traffic_secs"; fi
else
    "$REPO/tests/rig/serve.sh" start --host-only ${JM_LUCI:+--luci} --port "$port"
fi
# shellcheck disable=SC1090,SC1091
. "$RUN_DIR/server.env"

collector_msg="not built yet (target/release/jammonitor-collector): live ping graphs and history stay empty"
if [ -x "$COLLECTOR" ]; then
    stop_pid "$COL_PID" "$COLLECTOR"
    if [ "$mode" = rig ]; then
        # inside jm-router: its pings go to rig addresses only (1.1.1.1 and the VPS live in jm-vps)
        ip netns exec "$NS_ROUTER" /usr/bin/env JAMMONITOR_ROOT="$JM_ROOT" setsid "$COLLECTOR" --foreground \
            >>"$COL_LOG" 2>&1 </dev/null &
        echo $! >"$COL_PID"
        sleep 0.5
        if pid_alive "$COL_PID" "$COLLECTOR"; then
            collector_msg="running in $NS_ROUTER (pid $(cat "$COL_PID"), log $COL_LOG)"
        else
            collector_msg="FAILED to start; last lines of $COL_LOG:"$'\n'"$(tail -n 5 "$COL_LOG" 2>/dev/null)"
            rm -f "$COL_PID"
        fi
    else
        collector_msg="not started in host-only mode: outside the rig its pings would leave this machine"
    fi
fi

base="$JM_URL/luci-static/resources/jammonitor/index.html"
cat <<EOF

JamMonitor is running — $([ "$mode" = rig ] && echo "rig mode: a simulated OMR router in network namespaces jm-*" || echo "HOST-ONLY mode: no simulated router")

  Dashboard:            $base
  Log in as             $JM_USER / $JM_PASS  (read + write)
                  or    $JM_USER_RO / $JM_PASS_RO  (read-only)
  Already logged in:    $base#sid=$JM_SID
                        $base#sid=$JM_SID_RO  (read-only)
  Inside real LuCI:     $([ -n "${JM_LUCI_URL:-}" ] && echo "$JM_LUCI_URL/cgi-bin/luci/admin/status/jammonitor (themes, language: tests/bed/luci-root.sh theme|lang .run/root …)" || echo "start with JM_LUCI=1 make run")

  The #sid=… part is a real rpcd session, logged in just now on the live root's own ubusd + rpcd
  (built from tests/vendor/openwrt; logins root / jm-admin and viewer / jm-viewer). On a router it
  is LuCI's login session. The page moves it into sessionStorage and removes it from the address
  bar. Without it, or with an unknown one, the dashboard is refused (HTTP 403).

  Server:    uhttpd (OpenWrt's flags, /ubus JSON-RPC) on $JM_URL (127.0.0.1 only), log .run/www/uhttpd.log;
             ubusd + rpcd of the live root (logs in $JM_ROOT/.bed/), built from tests/vendor/openwrt
  CGI:       target/release/jammonitor$([ "$mode" = rig ] && echo ", run inside $NS_ROUTER")
  Collector: $collector_msg
EOF
if [ "$mode" = rig ]; then
    cat <<EOF
  Traffic:   $([ "$traffic" = 1 ] && echo "client flows from jm-c1..c3 for $traffic_secs s (tests/rig/rig.sh traffic --bg N for more)" || echo "off (tests/rig/rig.sh traffic --bg N)")
  Rig:       WANs lan1..lan3 (10.1.1.2, 10.2.2.2, 10.3.3.2), LAN bridge 'wan' 192.168.100.1/24,
             tun0 10.255.255.2 -> VPS 203.0.113.10; tests/rig/rig.sh status | exec router CMD…
EOF
else
    cat <<EOF
  Host-only: the CGI reads this machine's own /proc and /sys; the jammonitor ping targets of the
             live root point at 127.0.0.1. For the simulated router run as root: sudo make run
EOF
fi
cat <<EOF
  Session variables for tests and curl: .run/server.env
  Stop everything: make stop (scripts/stop.sh)

EOF
