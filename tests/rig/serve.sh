#!/usr/bin/env bash
# A real HTTP server for the dashboard: lighttpd (CGI mode) on 127.0.0.1.
#
# usage: serve.sh start [--port N] [--host-only] [--luci]   (default port 8088)
#        serve.sh stop
#        serve.sh status
#
#   /                                   -> redirect to /luci-static/resources/jammonitor/index.html
#   /luci-static/resources/jammonitor/  -> <repo>/htdocs/
#   /cgi-bin/jammonitor[/api/…]         -> .run/www/cgi-bin/jammonitor, a generated wrapper that
#        rebuilds uhttpd's CGI environment (DESIGN §3: only uhttpd's header allowlist, fixed PATH),
#        sets JAMMONITOR_ROOT to the live root and runs target/release/jammonitor inside the
#        jm-router namespace (so it sees that namespace's /proc/net and /sys/class/net).
#
# Rig mode (root + ip netns + rig up) or host-only mode (not root, no ip netns, or --host-only):
# the CGI then runs in the host namespace against the live root and sees this machine's own
# network state; nothing is simulated.
#
# --luci: real LuCI too (tests/bed/luci-root.sh installs luci-base and the bootstrap, material and
# openwrt-2020 themes into the live root), served by uhttpd on port N+1 at /cgi-bin/luci with LuCI's
# ucode handler; Status → JamMonitor mounts the app there, whose CGI is the same wrapper. Log in as
# root / jm-admin (tests/bed/rpcd/rpcd.config). server.env then also has JM_LUCI_URL, JM_LUCI_USER,
# JM_LUCI_PASSWORD.
#
# start writes .run/server.env: JM_URL, JM_SID (read+write session), JM_SID_RO (read-only
# session), JM_ROOT (absolute live root), JM_MODE (rig|host-only), JM_NETNS (jm-router or empty).
set -Eeu
# shellcheck source=tests/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RIG_LOG_PREFIX=serve

WWW="$RUN_DIR/www"
LIVE_ROOT="$RUN_DIR/root"
ENV_FILE="$RUN_DIR/server.env"
PIDFILE="$WWW/lighttpd.pid"
CONF="$WWW/lighttpd.conf"
CGI_BIN=${JM_CGI_BIN:-$REPO/target/release/jammonitor}   # JM_CGI_BIN: override (tests of the server itself)
ENTRY=/luci-static/resources/jammonitor/index.html

trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

running() { pid_alive "$PIDFILE" "$CONF"; }

LUCI_PIDFILE="$WWW/uhttpd-luci.pid"

# start_luci PORT: uhttpd with LuCI's ucode handler in the live root (LuCI already installed there).
start_luci() {
    local lport=$1 bin=${JM_WEBSTACK_BIN:-$REPO/build/webstack/bin} code
    [ -x "$bin/uhttpd" ] || die "no $bin/uhttpd (tests/bed/build-luci.sh builds it with ucode)"
    if [ -n "$(ss -Hltn "sport = :$lport" 2>/dev/null)" ]; then die "port $lport (LuCI) is already in use"; fi
    mkdir -p "$LIVE_ROOT/www/cgi-bin"
    # the CGI wrapper, copied (uhttpd refuses a script whose real path leaves its document root)
    cp "$WWW/cgi-bin/jammonitor" "$LIVE_ROOT/www/cgi-bin/jammonitor"
    # shellcheck disable=SC2046
    (cd "$LIVE_ROOT" && exec env -i "$bin/uhttpd" -f -p "127.0.0.1:$lport" -h www $("$REPO/tests/bed/luci-root.sh" uhttpd-args "$LIVE_ROOT") \
        -x /cgi-bin -u /ubus -U var/run/ubus/ubus.sock -t 60 -T 30 -n 10 </dev/null >>"$WWW/uhttpd-luci.log" 2>&1) &
    echo $! >"$LUCI_PIDFILE"
    for _ in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lport/cgi-bin/luci/" 2>/dev/null || true)
        [ "$code" = 403 ] && break
        sleep 0.1
    done
    [ "$code" = 403 ] || die "LuCI's login page did not answer on :$lport (got $code); see $WWW/uhttpd-luci.log"
    log "LuCI on http://127.0.0.1:$lport/cgi-bin/luci (uhttpd pid $(cat "$LUCI_PIDFILE")): log in as root / jm-admin"
}

stop_luci() {
    local p
    p=$(cat "$LUCI_PIDFILE" 2>/dev/null) || return 0
    case $p in '' | *[!0-9]*) ;; *)
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q uhttpd; then kill "$p" 2>/dev/null || true; fi ;;
    esac
    rm -f "$LUCI_PIDFILE"
}

# new_session RO?: a real rpcd login in the live root (root, or viewer with "ro"); prints the sid.
new_session() {
    local ro=${1:-} sid
    # shellcheck disable=SC2086
    sid=$("$REPO/tests/bed/session.sh" "$LIVE_ROOT" --new $ro) || die "tests/bed/session.sh (rpcd login) failed"
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

write_wrapper() {
    local mode=$1 ipbin run
    ipbin=$(command -v ip || echo /usr/sbin/ip)
    mkdir -p "$WWW/cgi-bin"
    if [ "$mode" = rig ]; then run="\"$ipbin\" netns exec $NS_ROUTER \"\$BIN\""; else run="\"\$BIN\""; fi
    cat >"$WWW/cgi-bin/jammonitor.tmp" <<EOF
#!/bin/sh
# Generated by tests/rig/serve.sh ($mode mode). Rebuilds the CGI environment uhttpd gives a CGI
# (DESIGN §3): a cleared environment, PATH=/sbin:/usr/sbin:/bin:/usr/bin, the CGI variables, and
# only uhttpd's allowlist of request headers (a custom header such as X-CSRF-Token is dropped, as
# on the router). QUERY_STRING is always set; PATH_INFO is absent when empty.
BIN="$CGI_BIN"
if [ ! -x "\$BIN" ]; then
    printf 'Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n'
    printf '{"ok":false,"error":{"code":"internal","message":"CGI binary %s is not built (cargo build --release)","field":null}}\n' "\$BIN"
    exit 0
fi
[ -n "\${PATH_INFO:-}" ] || unset PATH_INFO
# uhttpd sets CONTENT_LENGTH only when the request has a body; lighttpd always sets it
case "\${REQUEST_METHOD:-}:\${CONTENT_LENGTH:-}" in GET:0|HEAD:0) unset CONTENT_LENGTH ;; esac
: "\${QUERY_STRING:=}"
set --
for n in SERVER_SOFTWARE SERVER_NAME SERVER_ADDR SERVER_PORT SERVER_PROTOCOL GATEWAY_INTERFACE \\
         REQUEST_METHOD REQUEST_URI SCRIPT_NAME SCRIPT_FILENAME DOCUMENT_ROOT QUERY_STRING PATH_INFO \\
         REMOTE_ADDR REMOTE_PORT REDIRECT_STATUS CONTENT_TYPE CONTENT_LENGTH HTTPS \\
         HTTP_ACCEPT HTTP_ACCEPT_CHARSET HTTP_ACCEPT_ENCODING HTTP_ACCEPT_LANGUAGE HTTP_AUTHORIZATION \\
         HTTP_CONNECTION HTTP_COOKIE HTTP_HOST HTTP_ORIGIN HTTP_REFERER HTTP_USER_AGENT \\
         HTTP_X_HTTP_METHOD_OVERRIDE; do
    eval "[ -n \"\\\${\$n+x}\" ]" && eval "set -- \"\\\$@\" \"\$n=\\\${\$n}\""
done
exec /usr/bin/env -i "\$@" PATH=/sbin:/usr/sbin:/bin:/usr/bin JAMMONITOR_ROOT="$LIVE_ROOT" $run
EOF
    chmod 755 "$WWW/cgi-bin/jammonitor.tmp"
    mv -f "$WWW/cgi-bin/jammonitor.tmp" "$WWW/cgi-bin/jammonitor"
}

write_conf() {
    local port=$1
    mkdir -p "$WWW/docroot" "$WWW/tmp"
    cat >"$CONF" <<EOF
# Generated by tests/rig/serve.sh — dashboard dev server (127.0.0.1 only)
server.modules = ( "mod_access", "mod_alias", "mod_redirect", "mod_setenv", "mod_indexfile", "mod_cgi", "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$WWW/docroot"
server.pid-file = "$PIDFILE"
server.errorlog = "$WWW/error.log"
accesslog.filename = "$WWW/access.log"
server.upload-dirs = ( "$WWW/tmp" )
server.tag = "jm-rig-lighttpd"
index-file.names = ( "index.html" )
url.redirect = ( "^/(\\?.*)?\$" => "$ENTRY",
                 "^/luci-static/resources/jammonitor/?\$" => "$ENTRY" )
alias.url = ( "/luci-static/resources/jammonitor/" => "$REPO/htdocs/",
              "/cgi-bin/" => "$WWW/cgi-bin/" )
\$HTTP["url"] =~ "^/cgi-bin/" {
    cgi.assign = ( "" => "" )
    cgi.execute-x-only = "enable"
}
\$HTTP["url"] =~ "^/luci-static/" {
    setenv.add-response-header = ( "Cache-Control" => "no-cache" )
}
mimetype.assign = (
    ".html" => "text/html; charset=utf-8", ".htm" => "text/html; charset=utf-8",
    ".js" => "text/javascript; charset=utf-8", ".mjs" => "text/javascript; charset=utf-8",
    ".css" => "text/css; charset=utf-8", ".json" => "application/json; charset=utf-8",
    ".svg" => "image/svg+xml", ".png" => "image/png", ".ico" => "image/x-icon",
    ".woff2" => "font/woff2", ".woff" => "font/woff", ".txt" => "text/plain; charset=utf-8",
    ".map" => "application/json", ".gz" => "application/gzip", "" => "application/octet-stream"
)
EOF
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
    need_tools lighttpd curl
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
    if [ "$luci" = 1 ]; then "$REPO/tests/bed/luci-root.sh" install "$LIVE_ROOT" || die "installing LuCI into $LIVE_ROOT failed"; fi
    "$REPO/tests/bed/webstack.sh" start "$LIVE_ROOT" || die "the live root's ubusd/rpcd did not start (logs: $LIVE_ROOT/.bed/)"
    sid=$(new_session)
    sid_ro=$(new_session ro)

    write_wrapper "$mode"
    write_conf "$port"
    lighttpd -tt -f "$CONF" >&2 || die "lighttpd rejected $CONF"
    lighttpd -f "$CONF" || die "lighttpd did not start; see $WWW/error.log"
    for _ in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null || true)
        [ "$code" != 000 ] && [ -n "$code" ] && break
        sleep 0.1
    done
    running || die "lighttpd is not running; see $WWW/error.log"
    if [ "$luci" = 1 ]; then start_luci $((port + 1)); fi

    {
        echo "JM_URL=http://127.0.0.1:$port"
        echo "JM_SID=$sid"
        echo "JM_SID_RO=$sid_ro"
        echo "JM_ROOT=$LIVE_ROOT"
        echo "JM_MODE=$mode"
        if [ "$mode" = rig ]; then echo "JM_NETNS=$NS_ROUTER"; else echo "JM_NETNS="; fi
        if [ "$luci" = 1 ]; then
            echo "JM_LUCI_URL=http://127.0.0.1:$((port + 1))"
            echo "JM_LUCI_USER=root"
            echo "JM_LUCI_PASSWORD=jm-admin"
        fi
    } >"$ENV_FILE.tmp"
    mv -f "$ENV_FILE.tmp" "$ENV_FILE"

    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $sid" \
        "http://127.0.0.1:$port/cgi-bin/jammonitor/api/overview" || true)
    log "lighttpd on http://127.0.0.1:$port (pid $(cat "$PIDFILE"), $mode mode); GET /api/overview -> HTTP $code"
    [ -x "$CGI_BIN" ] || warn "$CGI_BIN is not built yet: the CGI answers 500 until it is"
    if [ "$mode" = host-only ]; then
        warn "HOST-ONLY mode: the CGI runs in this machine's own network namespace against $LIVE_ROOT;" \
            "there are no WAN links, clients, MPTCP endpoints or tunnel to show"
    fi
    log "wrote $ENV_FILE"
}

cmd_stop() {
    local p
    stop_luci
    if running; then
        stop_pid "$PIDFILE" "$CONF"
        log "lighttpd stopped"
    else
        rm -f "$PIDFILE"
        log "lighttpd was not running"
    fi
    # a lighttpd started with our config whose pid file was lost: stop it by its pid
    for p in $(pids_with "$CONF"); do
        echo "$p" >"$PIDFILE.stray"
        stop_pid "$PIDFILE.stray" "$CONF"
        log "stopped a stray lighttpd (pid $p) running $CONF"
    done
    if [ -d "$LIVE_ROOT/.bed" ]; then "$REPO/tests/bed/webstack.sh" stop "$LIVE_ROOT" || true; fi
    rm -f "$ENV_FILE"
}

cmd_status() {
    if running; then
        echo "lighttpd: running (pid $(cat "$PIDFILE"))"
        [ -f "$ENV_FILE" ] && sed 's/^/  /' "$ENV_FILE"
    else
        echo "lighttpd: not running"
        return 1
    fi
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
