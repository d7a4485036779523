# Shared by the shell doubles: the test root, the real uci on it, the call log, failure injection.
# A double fails (exit 1, message on stderr) when its name is a line of
# $JAMMONITOR_ROOT/var/run/doubles/fail — that is how tests inject a failure between commit and apply.
ROOT=${JAMMONITOR_ROOT:?the doubles only run under a test root}
STATE="$ROOT/var/run/doubles"
mkdir -p "$STATE"
uci() { "$ROOT/sbin/uci" -c "$ROOT/etc/config" -t "$ROOT/tmp/.uci" "$@"; }
log_call() { printf '%s\n' "$*" >>"$STATE/calls.log"; }
maybe_fail() {
    if [ -f "$STATE/fail" ] && grep -qx "$1" "$STATE/fail"; then
        echo "$1: injected failure" >&2
        exit 1
    fi
}
# Kernel MPTCP endpoints of one device follow its mode, as OMR's /usr/bin/multipath does on 6.x:
# drop the device's endpoint ids, then one endpoint per global IPv4 address
# (on/master: subflow fullmesh; backup: subflow backup fullmesh; off: none).
multipath() {
    dev=$1 mode=$2
    ip mptcp endpoint show | while read -r line; do
        case "$line" in
        *" dev $dev "* | *" dev $dev") ip mptcp endpoint delete id "$(echo "$line" | sed -n 's/.* id \([0-9]*\) .*/\1/p')" ;;
        esac
    done
    case "$mode" in
    on | master) flags="subflow fullmesh" ;;
    backup) flags="subflow backup fullmesh" ;;
    *) return 0 ;;
    esac
    for a in $(ip -4 -o addr show dev "$dev" scope global | awk '{print $4}'); do
        # shellcheck disable=SC2086
        ip mptcp endpoint add "${a%/*}" dev "$dev" $flags
    done
}
# The UCI interface whose device is $1 (first match in config order, devices resolved like netifd).
iface_of_dev() {
    for i in $(uci -q show network | sed -n "s/^network\.\([^.=]*\)=interface$/\1/p"); do
        [ "$(iface_device "$i")" = "$1" ] && { echo "$i"; return 0; }
    done
    return 0
}
# The kernel device of UCI interface $1, as netifd resolves it (see tests/doubles/ifupdown).
iface_device() {
    i=$1 n=0
    while [ $n -lt 4 ]; do
        if [ "$(uci -q get "network.$i.type")" = bridge ]; then
            echo "br-$i"
            return 0
        fi
        v=$(uci -q get "network.$i.device") || v=$(uci -q get "network.$i.ifname") || return 1
        case "$v" in
        @*) i=${v#@} n=$((n + 1)) ;;
        *) echo "${v%% *}"; return 0 ;;
        esac
    done
    return 1
}
# The `device` section configuring netdev $1 (found by its `name` option).
device_section() {
    uci -q show network | sed -n "s/^network\.\([^.]*\)\.name='$1'$/\1/p" | while read -r s; do
        [ "$(uci -q get "network.$s")" = device ] && { echo "$s"; break; }
    done
}
