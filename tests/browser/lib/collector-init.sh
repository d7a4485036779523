#!/bin/sh
# Double of /etc/init.d/jammonitor-collector (procd's contract, reduced), installed into the live
# root by tests/browser/run.sh, which fills in the @…@ values. The CGI runs it for collector.start
# and collector.stop, exactly as it runs the real init script on a router.
#   start: launch the collector detached (in the caller's namespace), return once it runs;
#   stop:  SIGTERM the pid of the status file, return once it is gone;
#   reload: SIGHUP to that pid (procd's reload of a service without reload_service).
root=${JAMMONITOR_ROOT:?JAMMONITOR_ROOT is not set}
st="$root/var/run/jammonitor/collector.json"
pid=$(sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$st" 2>/dev/null | head -n1)
case "$1" in
start)
    setsid "@COLLECTOR@" --root "$root" --foreground --interval @INTERVAL@ </dev/null >>"@LOG@" 2>&1 &
    i=0
    while [ $i -lt 50 ] && ! grep -q '"state": *"running"' "$st" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    ;;
stop)
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
    i=0
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    ;;
reload)
    # procd sends the service SIGHUP on reload; the collector re-reads its config then.
    [ -n "$pid" ] && kill -HUP "$pid" 2>/dev/null
    ;;
esac
exit 0
