#!/usr/bin/env bash
# `make stop`: stop what scripts/run.sh started — collector, client traffic, uhttpd, ubusd, rpcd —
# and take the simulated router down; then verify that nothing of ours is left.
set -Eu
# shellcheck source=tests/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/rig/lib.sh"
RIG_LOG_PREFIX=stop

COLLECTOR=${JM_COLLECTOR_BIN:-$REPO/target/release/jammonitor-collector}   # override: tests of this script
DOCROOT="$RUN_DIR/root/www"

rc=0
if pid_alive "$RUN_DIR/collector.pid" "$COLLECTOR"; then
    stop_pid "$RUN_DIR/collector.pid" "$COLLECTOR"
    log "collector stopped"
fi
rm -f "$RUN_DIR/collector.pid"

"$RIG_DIR/serve.sh" stop || rc=1

if netns_usable; then
    "$RIG_DIR/rig.sh" traffic stop >/dev/null 2>&1 || true
    "$RIG_DIR/rig.sh" down || rc=1
elif ip netns list 2>/dev/null | grep -q "^$NS_PREFIX"; then
    warn "jm-* namespaces exist but this user cannot remove them: run 'sudo make stop'"
    rc=1
fi

# -- verification ---------------------------------------------------------------------------------
left=()
ns=$(ns_present | tr '\n' ' ')
[ -n "${ns// /}" ] && left+=("namespaces: $ns")
p=$(pids_with "$DOCROOT" | tr '\n' ' ')
[ -n "${p// /}" ] && left+=("uhttpd of ours: pid $p")
p=$(pids_with "$RUN_DIR/root/var/run/ubus/ubus.sock" | tr '\n' ' ')
[ -n "${p// /}" ] && left+=("ubusd/rpcd/fixtures of the live root: pid $p")
p=$(pids_with "$COLLECTOR" | tr '\n' ' ')
[ -n "${p// /}" ] && left+=("collector: pid $p")
p=$( (pids_with "$RIG_DIR/httpd.py"; pids_with "$RIG_DIR/tund.py"; pids_with "rig.sh traffic-run") | sort -u | tr '\n' ' ')
[ -n "${p// /}" ] && left+=("rig processes (traffic, tunnel, HTTP servers): pid $p")
if [ ${#left[@]} -eq 0 ]; then
    log "everything stopped: no jm-* namespace, no uhttpd, ubusd, rpcd, collector or rig process of ours is left"
else
    for l in "${left[@]}"; do warn "still present — $l"; done
    rc=1
fi
exit $rc
