#!/usr/bin/env bash
# The dashboard behind the router's own web stack: the real uhttpd (built from tests/vendor/openwrt
# by tests/bed/build-webstack.sh) on 127.0.0.1, started with OpenWrt's flags, with its /ubus
# JSON-RPC endpoint on the live root's real ubusd + rpcd (tests/bed/webstack.sh).
#
# usage: serve.sh start [--port N] [--host-only] [--luci]   (default port 8088)
#        serve.sh stop
#        serve.sh status
#
# The live root .run/root is the router's filesystem; uhttpd serves its www/ (-h), as on a router:
#   /                                   www/index.html: redirect to the dashboard page
#   /luci-static/resources/jammonitor/  www/luci-static/resources/jammonitor/ (a copy of htdocs/,
#                                       refreshed at every start: uhttpd refuses symlinks that
#                                       leave its docroot)
#   /cgi-bin/jammonitor[/api/…]         www/cgi-bin/jammonitor: uhttpd runs it with its wiped CGI
#        environment; it is a small wrapper that adds the one thing uhttpd cannot set
#        (JAMMONITOR_ROOT, DESIGN §3) and, in rig mode, enters the jm-router namespace, then execs
#        target/release/jammonitor
#   /ubus                               uhttpd's JSON-RPC to rpcd: session.login, session.destroy …
#
# --luci: real LuCI too, as on a router (tests/bed/luci-root.sh installs luci-base, the bootstrap,
# material and openwrt-2020 themes and our LuCI app into the live root; the web stack is built with
# ucode): uhttpd also serves /cgi-bin/luci with LuCI's ucode handler, where root / jm-admin logs in
# and Status → JamMonitor mounts the app. server.env then has JM_LUCI_URL/USER/PASSWORD too.
#
# Rig mode (root + ip netns + rig up) or host-only mode (not root, no ip netns, or --host-only):
# the CGI then runs in the host namespace against the live root and sees this machine's own
# network state; nothing is simulated.
#
# start writes .run/server.env: JM_URL, JM_SID (read+write session of the login root/jm-admin),
# JM_SID_RO (read-only session, viewer/jm-viewer), JM_USER/JM_PASS and JM_USER_RO/JM_PASS_RO (the
# logins), JM_ROOT (absolute live root), JM_MODE (rig|host-only), JM_NETNS (jm-router or empty).
set -Eeu
# shellcheck source=tests/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RIG_LOG_PREFIX=serve

WWW="$RUN_DIR/www"
LIVE_ROOT="$RUN_DIR/root"
ENV_FILE="$RUN_DIR/server.env"
PIDFILE="$WWW/uhttpd.pid"
UHTTPD="$REPO/build/webstack/bin/uhttpd"
DOCROOT="$LIVE_ROOT/www"
CGI_BIN=${JM_CGI_BIN:-$REPO/target/release/jammonitor}   # JM_CGI_BIN: override (tests of the server itself)
ENTRY=/luci-static/resources/jammonitor/index.html

trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

running() { pid_alive "$PIDFILE" "$UHTTPD"; }

# new_session RO?: a real rpcd login in the live root (root, or viewer with "ro"); prints the sid.
new_session() {
    local ro=${1:-} sid
    # shellcheck disable=SC2086
    # a day of idleness (rpcd's default is 5 min): the printed #sid= links stay usable
    sid=$(JM_SESSION_TIMEOUT=86400 "$REPO/tests/bed/session.sh" "$LIVE_ROOT" --new $ro) || die "tests/bed/session.sh (rpcd login) failed"
    sid=$(printf '%s' "$sid" | tr -d '[:space:]')
    [[ $sid =~ ^[0-9a-f]{32}$ ]] || die "session.sh printed '$sid', not a 32-hex sid"
    echo "$sid"
}

make_root() {
    # the live root's bus (ubusd, rpcd, fixtures) must not outlive the root mkroot.sh replaces
    if [ -d "$LIVE_ROOT" ]; then "$REPO/tests/bed/webstack.sh" stop "$LIVE_ROOT" || true; fi
    if [ -x "$REPO/tests/bed/mkroot.sh" ]; then
        # mkroot.sh rebuilds the root from scratch (only a root carrying its marker file)
        "$REPO/tests/bed/mkroot.sh" --live "$LIVE_ROOT" >/dev/null || die "tests/bed/mkroot.sh --live $LIVE_ROOT failed"
    else
        warn "tests/bed/mkroot.sh not found: making a bare live root (proc/sys links, no /etc/config, no doubles)"
        rm -rf --one-file-system "$LIVE_ROOT"
        mkdir -p "$LIVE_ROOT"/{etc/config,tmp,var/run,bin,sbin,usr/sbin}
        ln -s /proc "$LIVE_ROOT/proc"
        ln -s /sys "$LIVE_ROOT/sys"
        ln -s "$(command -v ip)" "$LIVE_ROOT/sbin/ip"
    fi
}

# Host-only mode: the CGI and collector would talk through this machine's real network, so every
# ping target of the live root's jammonitor config is pointed at loopback (DESIGN §9 safety rule).
loopback_targets() {
    local uci="$LIVE_ROOT/sbin/uci"
    [ -x "$uci" ] || return 0
    u() { "$uci" -c "$LIVE_ROOT/etc/config" -t "$LIVE_ROOT/tmp/.uci" "$@"; }
    u -q get jammonitor.main >/dev/null 2>&1 || return 0
    u -q delete jammonitor.main.ping_target || true
    u add_list jammonitor.main.ping_target='internet=127.0.0.1'
    u add_list jammonitor.main.ping_target='vps=127.0.0.1'
    u commit jammonitor
    log "host-only: jammonitor ping targets pointed at 127.0.0.1"
}

write_www() {
    local mode=$1 ipbin run
    ipbin=$(command -v ip || echo /usr/sbin/ip)
    mkdir -p "$DOCROOT/cgi-bin" "$DOCROOT/luci-static/resources"
    rm -rf "$DOCROOT/luci-static/resources/jammonitor"
    cp -R "$REPO/htdocs" "$DOCROOT/luci-static/resources/jammonitor"
    cat >"$DOCROOT/index.html" <<EOF
<!DOCTYPE html>
<html><head><meta http-equiv="refresh" content="0; URL=$ENTRY"></head>
<body><a href="$ENTRY">JamMonitor</a></body></html>
EOF
    if [ "$mode" = rig ]; then run="$ipbin netns exec $NS_ROUTER \"\$BIN\""; else run="\"\$BIN\""; fi
    cat >"$DOCROOT/cgi-bin/jammonitor.tmp" <<EOF
#!/bin/sh
# Generated by tests/rig/serve.sh ($mode mode). uhttpd has already given this CGI its wiped
# environment (DESIGN §3); this adds the test root, which uhttpd can never set (and, in rig mode,
# enters the simulated router's namespace).
BIN="$CGI_BIN"
if [ ! -x "\$BIN" ]; then
    printf 'Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n'
    printf '{"ok":false,"error":{"code":"internal","message":"CGI binary %s is not built (cargo build --release)","field":null}}\n' "\$BIN"
    exit 0
fi
export JAMMONITOR_ROOT="$LIVE_ROOT"
exec $run
EOF
    chmod 755 "$DOCROOT/cgi-bin/jammonitor.tmp"
    mv -f "$DOCROOT/cgi-bin/jammonitor.tmp" "$DOCROOT/cgi-bin/jammonitor"
}

cmd_start() {
    local port=8088 force_host=0 luci=0 mode sid sid_ro code
    while [ $# -gt 0 ]; do
        case $1 in
            --port) [ $# -ge 2 ] || die "--port needs a value"; port=$2; shift ;;
            --port=*) port=${1#--port=} ;;
            --host-only) force_host=1 ;;
            --luci) luci=1 ;;
            *) die "start: unknown argument '$1' (usage: serve.sh start [--port N] [--host-only] [--luci])" ;;
        esac
        shift
    done
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then die "bad port '$port'"; fi

    mode=rig
    if [ "$force_host" = 1 ]; then
        mode=host-only
    elif ! is_root; then
        mode=host-only
        warn "not root: HOST-ONLY mode (no simulated router)"
    elif ! netns_usable; then
        mode=host-only
        warn "'ip netns' does not work here: HOST-ONLY mode (no simulated router)"
    elif ! ns_exists "$NS_ROUTER"; then
        die "the rig is not up ($NS_ROUTER missing): run tests/rig/rig.sh up first, or serve.sh start --host-only"
    fi
    need_tools curl
    if [ "$luci" = 1 ]; then export WEBSTACK_UCODE=1; fi
    "$REPO/tests/bed/build-webstack.sh" >&2 || die "building the web stack (tests/bed/build-webstack.sh) failed"
    mkdir -p "$WWW"

    if running; then log "stopping the previous server"; cmd_stop; fi
    if [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
        die "port $port on this machine is already in use by another program: use --port N"
    fi

    make_root
    if [ "$mode" = rig ] && [ ! -s "$LIVE_ROOT/tmp/dhcp.leases" ]; then
        mkdir -p "$LIVE_ROOT/tmp"
        "$RIG_DIR/rig.sh" leases >"$LIVE_ROOT/tmp/dhcp.leases"
    fi
    if [ "$mode" = host-only ]; then loopback_targets; fi
    # LuCI before the bus: rpcd loads LuCI's ucode objects when it starts
    if [ "$luci" = 1 ]; then "$REPO/tests/bed/luci-root.sh" install "$LIVE_ROOT" >&2 || die "installing LuCI into $LIVE_ROOT failed"; fi
    "$REPO/tests/bed/webstack.sh" start "$LIVE_ROOT" || die "the live root's ubusd/rpcd did not start (logs: $LIVE_ROOT/.bed/)"
    sid=$(new_session)
    sid_ro=$(new_session ro)

    write_www "$mode"
    : >"$WWW/httpd.conf"   # -c: an empty file, so no basic-auth realm applies (as on OpenWrt)
    # OpenWrt's flags (/etc/init.d/uhttpd): at most 3 CGIs at once (-n 3), script timeout 60 s,
    # network timeout 30 s, keep-alive 20 s, /ubus on the live root's bus.
    # --luci: LuCI's ucode handler too; uhttpd runs in the live root (LuCI's paths are relative to it)
    local luci_args=()
    # shellcheck disable=SC2207
    if [ "$luci" = 1 ]; then luci_args=($("$REPO/tests/bed/luci-root.sh" uhttpd-args "$LIVE_ROOT")); fi
    (cd "$LIVE_ROOT" && exec setsid "$UHTTPD" -f -p "127.0.0.1:$port" -h "$DOCROOT" -r OpenWrt -x /cgi-bin -u /ubus \
        -U "$LIVE_ROOT/var/run/ubus/ubus.sock" -t 60 -T 30 -k 20 -A 1 -n 3 -N 100 -R "${luci_args[@]}" \
        -c "$WWW/httpd.conf" </dev/null >>"$WWW/uhttpd.log" 2>&1) &
    echo $! >"$PIDFILE"
    for _ in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null || true)
        [ "$code" != 000 ] && [ -n "$code" ] && break
        sleep 0.1
    done
    running || die "uhttpd is not running; see $WWW/uhttpd.log"

    {
        echo "JM_URL=http://127.0.0.1:$port"
        echo "JM_SID=$sid"
        echo "JM_SID_RO=$sid_ro"
        echo "JM_USER=root"
        echo "JM_PASS=jm-admin"
        echo "JM_USER_RO=viewer"
        echo "JM_PASS_RO=jm-viewer"
        echo "JM_ROOT=$LIVE_ROOT"
        echo "JM_MODE=$mode"
        if [ "$mode" = rig ]; then echo "JM_NETNS=$NS_ROUTER"; else echo "JM_NETNS="; fi
        if [ "$luci" = 1 ]; then
            echo "JM_LUCI_URL=http://127.0.0.1:$port"
            echo "JM_LUCI_USER=root"
            echo "JM_LUCI_PASSWORD=jm-admin"
        fi
    } >"$ENV_FILE.tmp"
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"

    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $sid" \
        "http://127.0.0.1:$port/cgi-bin/jammonitor/api/overview" || true)
    log "uhttpd on http://127.0.0.1:$port (pid $(cat "$PIDFILE"), $mode mode); GET /api/overview -> HTTP $code"
    [ -x "$CGI_BIN" ] || warn "$CGI_BIN is not built yet: the CGI answers 500 until it is"
    if [ "$mode" = host-only ]; then
        warn "HOST-ONLY mode: the CGI runs in this machine's own network namespace against $LIVE_ROOT;" \
            "there are no WAN links, clients, MPTCP endpoints or tunnel to show"
    fi
    log "wrote $ENV_FILE"
}

cmd_stop() {
    local p
    if running; then
        stop_pid "$PIDFILE" "$UHTTPD"
        log "uhttpd stopped"
    else
        rm -f "$PIDFILE"
        log "uhttpd was not running"
    fi
    # a uhttpd serving our live root whose pid file was lost: stop it by its pid
    for p in $(pids_with "$DOCROOT"); do
        echo "$p" >"$PIDFILE.stray"
        stop_pid "$PIDFILE.stray" "$UHTTPD"
        log "stopped a stray uhttpd (pid $p) serving $DOCROOT"
    done
    if [ -d "$LIVE_ROOT/.bed" ]; then "$REPO/tests/bed/webstack.sh" stop "$LIVE_ROOT" || true; fi
    rm -f "$ENV_FILE"
}

cmd_status() {
    if running; then
        echo "uhttpd: running (pid $(cat "$PIDFILE"))"
        [ -f "$ENV_FILE" ] && sed 's/^/  /' "$ENV_FILE"
    else
        echo "uhttpd: not running"
        return 1
    fi
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
