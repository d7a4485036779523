#!/bin/sh
# The router's bus in a test root: the real ubusd + rpcd built from tests/vendor/openwrt (by
# build-webstack.sh), and the ubus fixture server (tests/doubles/ubus-fixtures.c) standing in for
# netifd & co. Used by tests/common (every TestRoot), tests/rig/serve.sh (make run) and session.sh.
#
#   tests/bed/webstack.sh start <root>      start ubusd, rpcd, ubus-fixtures (if <root>/.bed/ubus has
#                                           objects; calls logged to <root>/.bed/ubus-calls.log);
#                                           returns when all answer on the bus
#   tests/bed/webstack.sh stop <root>       stop them (by the pids recorded at start)
#   tests/bed/webstack.sh restart-fixtures <root>   re-read <root>/.bed/ubus (new objects/methods)
#   tests/bed/webstack.sh login <root> <user> <password> [timeout-s]   prints the new session id
#                                           (32 hex); rpcd's default timeout is 300 s of idleness
#   tests/bed/webstack.sh logout <root> <sid>              session destroy
#   tests/bed/webstack.sh call <root> <object> <method> [json]   the real `ubus call`
#
# Socket: <root>/var/run/ubus/ubus.sock (where the CGI looks). Each daemon runs with an empty
# environment and its working directory at <root>: the test build resolves its compile-time paths
# (etc/config/rpcd, usr/share/rpcd/acl.d, var/run/rpcd …) relative to it (tests/vendor/openwrt/
# README.md). Pids and logs: <root>/.bed/{ubusd,rpcd,fixtures}.{pid,log}. Nothing here needs root.
set -eu

die() { printf 'webstack: error: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${JM_WEBSTACK_BIN:-$repo/build/webstack/bin}

[ $# -ge 2 ] || die "usage: webstack.sh start|stop|restart-fixtures|login|logout|call <root> …"
cmd=$1 root=$2
shift 2
[ -d "$root" ] || die "no root $root"
root=$(cd "$root" && pwd)
sock="$root/var/run/ubus/ubus.sock"
bed="$root/.bed"

running() { # PID: exists and is not a zombie (our daemons are reparented; their reaper may be late)
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

alive() { # NAME: the recorded pid runs our binary
    p=$(cat "$bed/$1.pid" 2>/dev/null) || return 1
    case $p in '' | *[!0-9]*) return 1 ;; esac
    [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF "$bin/"
}

stop_one() {
    if alive "$1"; then
        p=$(cat "$bed/$1.pid")
        kill -TERM "$p" 2>/dev/null || true
        i=0
        while running "$p" && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
        if running "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
    fi
    rm -f "$bed/$1.pid"
}

spawn() { # NAME ARGS...: runs a daemon in <root> with an empty environment, records its pid
    n=$1; shift
    (cd "$root" && exec env -i "$@" </dev/null >>"$bed/$n.log" 2>&1) &
    echo $! >"$bed/$n.pid"
}

wait_for() { # WHAT CMD...: polls CMD for up to 5 s
    what=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 250 ] || die "$what did not come up in 5 s (logs: $bed/)"
        sleep 0.02
    done
}

ubus() { "$bin/ubus" -t 2 -s "$sock" "$@"; }

fixture_objects() { # the object dirs of <root>/.bed/ubus
    [ -d "$bed/ubus" ] || return 0
    for d in "$bed/ubus"/*/; do [ -d "$d" ] && basename "$d"; done
    return 0
}

start_fixtures() {
    objs=$(fixture_objects)
    [ -n "$objs" ] || return 0
    spawn fixtures "$bin/ubus-fixtures" -s "$sock" -l "$bed/ubus-calls.log" "$bed/ubus"
    for o in $objs; do wait_for "ubus-fixtures ($o)" ubus list "$o"; done
}

case $cmd in
    start)
        [ -x "$bin/ubusd" ] && [ -x "$bin/rpcd" ] || "$here/build-webstack.sh" >&2 || die "building the web stack failed"
        [ ${#sock} -lt 108 ] || die "socket path too long for a unix socket (${#sock} ≥ 108): $sock"
        mkdir -p "$bed" "$root/var/run/ubus"
        for n in fixtures rpcd ubusd; do stop_one "$n"; done
        rm -f "$sock"
        spawn ubusd "$bin/ubusd" -s "$sock"
        wait_for ubusd ubus list   # connectable (the socket file exists before listen())
        spawn rpcd "$bin/rpcd" -s "$sock"
        wait_for rpcd ubus list session
        start_fixtures
        ;;
    stop)
        for n in fixtures rpcd ubusd; do stop_one "$n"; done
        rm -f "$sock"
        ;;
    restart-fixtures)
        stop_one fixtures
        start_fixtures
        ;;
    login)
        [ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: webstack.sh login <root> <user> <password> [timeout]"
        t=${3:+,\"timeout\":$3}
        out=$(ubus call session login "{\"username\":\"$1\",\"password\":\"$2\"$t}") || die "login of '$1' refused"
        sid=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"ubus_rpc_session": "\([0-9a-f]\{32\}\)".*/\1/p')
        [ -n "$sid" ] || die "login of '$1': no session id in: $out"
        echo "$sid"
        ;;
    logout)
        [ $# -eq 1 ] || die "usage: webstack.sh logout <root> <sid>"
        ubus call session destroy "{\"ubus_rpc_session\":\"$1\"}" >/dev/null
        ;;
    call)
        ubus call "$@"
        ;;
    *) die "unknown command '$cmd'" ;;
esac
