# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
# Shared definitions for the simulated OMR router (tests/rig). Sourced by rig.sh, serve.sh,
# selftest.sh, scripts/run.sh and scripts/stop.sh. Every name and address of the rig is defined
# here and nowhere else; tests/rig/README.md documents them.

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$RIG_DIR/../.." && pwd)
RUN_DIR="$REPO/.run"
RIG_RUN="$RUN_DIR/rig"

# ---- namespaces (all start with jm-) ---------------------------------------------------------
NS_ROUTER=jm-router
NS_VPS=jm-vps
NS_ISPS="jm-isp1 jm-isp2 jm-isp3"
NS_CLIENTS="jm-c1 jm-c2 jm-c3"
NS_ALL="$NS_ROUTER $NS_ISPS $NS_VPS $NS_CLIENTS"
NS_PREFIX=jm-

# ---- WANs: k = 1..3 -------------------------------------------------------------------------
#   router dev lan<k> 10.<k>.<k>.2/24  <-veth->  jm-isp<k> dev "router" 10.<k>.<k>.1/24
#   jm-isp<k> dev "vps" 100.64.<k>.1/30 <-veth-> jm-vps dev "isp<k>" 100.64.<k>.2/30
#   per-WAN table and main-table default metric = k+2 (3/4/5, as OMR's mptcp init numbers them)
WANS="1 2 3"
wan_dev()    { echo "lan$1"; }
wan_addr()   { echo "10.$1.$1.2"; }
wan_gw()     { echo "10.$1.$1.1"; }
wan_net()    { echo "10.$1.$1.0/24"; }
wan_table()  { echo $(($1 + 2)); }
wan_mac()    { echo "02:00:00:00:00:1$1"; }     # router side lan<k>
isp_ns()     { echo "jm-isp$1"; }
isp_mac()    { echo "02:00:00:00:00:2$1"; }     # isp side "router"
core_isp()   { echo "100.64.$1.1"; }            # isp side of the isp<->vps link (/30)
core_vps()   { echo "100.64.$1.2"; }            # vps side
# MPTCP endpoint flags per WAN, as /usr/bin/multipath writes them (wan1 master, wan2 on, wan3 backup)
wan_mptcp_flags() { case $1 in 3) echo "subflow backup fullmesh" ;; *) echo "subflow fullmesh" ;; esac; }
# Link shaping (tbf in the isp namespace): download = isp->router, upload = isp->vps. Distinct
# speeds make per-WAN speed tests meaningful. Format: <down> <up>
wan_rate()   { case $1 in 1) echo "100mbit 40mbit" ;; 2) echo "50mbit 10mbit" ;; 3) echo "20mbit 5mbit" ;; esac; }

# ---- LAN -----------------------------------------------------------------------------------------
LAN_DEV=wan                    # BPI-R4 OMR: the LAN device is the port named "wan"; here a bridge
LAN_ADDR=192.168.100.1
LAN_PREFIX=24
LAN_NET=192.168.100.0/24
LAN_MAC=02:00:00:00:01:01
CLIENTS="1 2 3"
client_ns()   { echo "jm-c$1"; }
client_port() { echo "cl$1"; }                   # router side veth, enslaved to the bridge "wan"
client_ip()   { echo "192.168.100.$((9 + $1))"; }
client_mac()  { case $1 in 1) echo 02:00:00:00:01:0a ;; 2) echo 02:00:00:00:01:0b ;; 3) echo 02:00:00:00:01:0c ;; esac; }
client_name() { case $1 in 1) echo anna-laptop ;; 2) echo Bens-iPhone ;; 3) echo livingroom-tv ;; esac; }

# ---- VPS, "internet", tunnel -------------------------------------------------------------------
VPS_ADDR=203.0.113.10
INET_ADDRS="1.1.1.1 8.8.8.8"   # ping targets, owned by jm-vps (on its lo: no dummy driver here)
TUN_DEV=tun0
TUN_LOCAL=10.255.255.2         # router side
TUN_PEER=10.255.255.1          # vps side
TUN_PORT=65001                 # like glorytun TCP; tunnel transport is MPTCP over the WANs
HTTP_PORT=80

# ---- helpers ---------------------------------------------------------------------------------------
RIG_LOG_PREFIX=${RIG_LOG_PREFIX:-rig}
log()  { printf '%s: %s\n' "$RIG_LOG_PREFIX" "$*" >&2; }
warn() { printf '%s: WARNING: %s\n' "$RIG_LOG_PREFIX" "$*" >&2; }
die()  { printf '%s: ERROR: %s\n' "$RIG_LOG_PREFIX" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
need_root() { is_root || die "$1 needs root (network namespaces); run it with sudo"; }
netns_usable() { is_root && ip netns list >/dev/null 2>&1; }

# A python3 that exists on a plain Debian box; prefer the system one.
python_bin() {
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# Map a command to the Debian package that provides it.
pkg_for() {
    case $1 in
        ip|tc|ss) echo iproute2 ;;
        nft) echo nftables ;;
        conntrack) echo conntrack ;;
        ping) echo iputils-ping ;;
        curl) echo curl ;;
        python3) echo python3-minimal ;;
        sysctl|pgrep) echo procps ;;
        setsid|flock) echo util-linux ;;
        timeout) echo coreutils ;;
        *) echo "$1" ;;
    esac
}

# need_tools CMD...: make sure every command exists. Missing ones are installed by
# tests/bed/install-deps.sh when it exists, then by apt-get directly (as root) for whatever is
# still missing. Dies with a clear message if they cannot be installed.
need_tools() {
    local missing=() c pkgs=()
    for c in "$@"; do
        if [ "$c" = python3 ]; then [ -n "$(python_bin)" ] || missing+=("$c"); continue; fi
        command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    is_root || die "missing tools: ${missing[*]} (install them, or run as root so they are installed)"
    if [ -x "$REPO/tests/bed/install-deps.sh" ]; then
        log "missing ${missing[*]}: running tests/bed/install-deps.sh"
        "$REPO/tests/bed/install-deps.sh" >&2 || warn "tests/bed/install-deps.sh failed; trying apt-get"
    fi
    for c in "${missing[@]}"; do
        if [ "$c" = python3 ]; then [ -n "$(python_bin)" ] && continue
        else command -v "$c" >/dev/null 2>&1 && continue; fi
        pkgs+=("$(pkg_for "$c")")
    done
    [ ${#pkgs[@]} -eq 0 ] && return 0
    log "installing with apt-get: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >&2; then
        apt-get update >&2 || true
        apt-get install -y --no-install-recommends "${pkgs[@]}" >&2 ||
            die "could not install ${pkgs[*]} with apt-get"
    fi
    for c in "${missing[@]}"; do
        if [ "$c" = python3 ]; then [ -n "$(python_bin)" ] || die "python3 still missing"
        else command -v "$c" >/dev/null 2>&1 || die "$c still missing after installing $(pkg_for "$c")"; fi
    done
}

RIG_TOOLS="ip tc ss nft python3 ping curl sysctl setsid timeout"

ns_exists() { [ -e "/run/netns/$1" ] && ip netns exec "$1" true 2>/dev/null; }
# All rig namespaces that exist now (our fixed list plus any other jm-* left by older versions).
# Not the tests' own namespaces (tests/common `Netns::new`, now jmt<pid>-…; older: jm-t<pid>-…): no rig
# lock, so a `rig.sh down` elsewhere must not kill their processes or delete them mid-test.
ns_present() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX" | grep -v "^${NS_PREFIX}t[0-9]" || true; }

# proc_running PID: the process exists and is not a zombie (our daemons are reparented to pid 1,
# which may reap them late; kill -0 succeeds on a zombie).
proc_running() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid_alive PIDFILE [PATTERN]: the pid in PIDFILE runs and its command line contains PATTERN.
pid_alive() {
    local f=$1 pat=${2:-} pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    case $pid in ''|*[!0-9]*) return 1 ;; esac
    proc_running "$pid" || return 1
    [ -z "$pat" ] && return 0
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$pat"
}

# stop_pid PIDFILE [PATTERN] [group]: TERM the process (or its process group), wait up to 3 s,
# then KILL. Only a pid whose command line matches PATTERN is touched.
stop_pid() {
    local f=$1 pat=${2:-} grp=${3:-} pid target
    if pid_alive "$f" "$pat"; then
        pid=$(cat "$f")
        target=$pid
        [ -n "$grp" ] && target="-$pid"
        kill -TERM -- "$target" 2>/dev/null || true
        for _ in $(seq 30); do proc_running "$pid" || break; sleep 0.1; done
        if proc_running "$pid"; then kill -KILL -- "$target" 2>/dev/null || true; fi
    fi
    rm -f "$f"
}

# pids_with TEXT: running processes whose command line contains TEXT (a path unique to this
# checkout, such as our live root's www/). Used to find strays whose pid file was lost.
pids_with() {
    local p cmd
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ $cmd == *"$1"* ]] || continue
        [ "${p#/proc/}" = "$$" ] && continue
        proc_running "${p#/proc/}" && echo "${p#/proc/}"
    done
    return 0
}
