#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || bad" is intended: ok always succeeds
# Self-test of the simulated router and the dev server (root). Brings the rig up, checks it for
# real (NAT + conntrack bytes, MPTCP endpoints and subflows, tunnel, isolation from the host
# network, HTTP servers, the CGI URL behind uhttpd), checks that `up` converges after damage and
# that a failed `up` leaves nothing, then takes everything down and checks that nothing remains.
#
# usage: tests/rig/selftest.sh [--force]     (--force: run even while `make run` is active)
# env:   JM_SELFTEST_PORT (default 18088) — the port for the test server
set -Eu
# shellcheck source=tests/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RIG_LOG_PREFIX=selftest
RIG="$RIG_DIR/rig.sh"
SERVE="$RIG_DIR/serve.sh"
PORT=${JM_SELFTEST_PORT:-18088}
PY=$(python_bin)

need_root "tests/rig/selftest.sh"
if [ "${1:-}" != --force ] && pid_alive "$RUN_DIR/www/uhttpd.pid" "$REPO/build/webstack/bin/uhttpd"; then
    die "the dev server is running (make run?): the selftest would take it down. 'make stop' first, or --force"
fi

PASS=0 FAIL=0
ok()   { PASS=$((PASS + 1)); printf '  ok    %s\n' "$1"; }
bad()  { FAIL=$((FAIL + 1)); printf '  FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/        /'; return 0; }
t()    { local d=$1; shift; local out; if out=$("$@" 2>&1); then ok "$d"; else bad "$d" "$(printf '%s' "$out" | tail -n 5)"; fi; }
nsx()  { local ns=$1; shift; ip netns exec "$ns" "$@"; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

cleanup() { "$SERVE" stop >/dev/null 2>&1 || true; "$RIG" down >/dev/null 2>&1 || true; }
trap 'cleanup; exit 130' INT TERM

echo "== rig up"
t0=$(now)
if "$RIG" up; then ok "rig.sh up ($(since "$t0") s)"; else bad "rig.sh up"; cleanup; exit 1; fi
t "rig.sh status reports a complete rig" "$RIG" status

echo "== client -> internet through the router (NAT, conntrack)"
t "jm-c1 pings 1.1.1.1" nsx jm-c1 ping -n -c 3 -i 0.2 -W 1 1.1.1.1
ttl=$(nsx jm-c1 ping -n -c1 -W1 1.1.1.1 2>/dev/null | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')
# 64 at the VPS, -1 in jm-isp1, -1 in jm-router: the reply came through the router and the ISP
[ "$ttl" = 62 ] && ok "reply TTL 62: two routed hops (jm-isp1, jm-router)" || bad "reply TTL is '$ttl', expected 62"
ct=$(nsx "$NS_ROUTER" cat /proc/net/nf_conntrack)
line=$(printf '%s\n' "$ct" | grep 'icmp' | grep 'src=192.168.100.10 dst=1.1.1.1 ' | head -n1)
if [ -n "$line" ] && printf '%s' "$line" | grep -q 'bytes=[1-9]' && printf '%s' "$line" | grep -q 'dst=10.1.1.2 '; then
    ok "conntrack in jm-router: 192.168.100.10 -> 1.1.1.1, NATed to 10.1.1.2, with bytes="
else
    bad "no NATed ICMP flow with bytes= in jm-router's /proc/net/nf_conntrack" "$(printf '%s\n' "$ct" | head -n 5)"
fi
t "jm-c2 downloads 1 MB from the VPS over HTTP" nsx jm-c2 curl -sf -o /dev/null --max-time 10 "http://$VPS_ADDR/__down?bytes=1000000"
line=$(nsx "$NS_ROUTER" cat /proc/net/nf_conntrack | grep 'tcp' | grep 'src=192.168.100.11 dst=203.0.113.10 ' | grep 'dport=80 ' | tail -n1)
if printf '%s' "$line" | grep -Eq 'bytes=[0-9]{7,}'; then ok "conntrack: client TCP flow with its byte count (>= 1 MB)"
else bad "client TCP flow not in conntrack with its bytes" "$line"; fi
if command -v conntrack >/dev/null; then
    t "conntrack -L (conntrack-tools) in jm-router lists the client flow" \
        sh -c "ip netns exec $NS_ROUTER conntrack -L -s 192.168.100.11 2>/dev/null | grep -q 'bytes='"
fi
t "net.netfilter.nf_conntrack_acct=1 in jm-router" test "$(nsx "$NS_ROUTER" sysctl -n net.netfilter.nf_conntrack_acct)" = 1
t "masquerade out of lan1..lan3 (nft table inet fw4)" sh -c "ip netns exec $NS_ROUTER nft list table inet fw4 | grep -q masquerade"

echo "== WANs, routing tables, MPTCP"
eps=$(ip -n "$NS_ROUTER" mptcp endpoint show)
[ "$(printf '%s\n' "$eps" | grep -c .)" = 3 ] && ok "ip -n jm-router mptcp endpoint show: 3 endpoints" || bad "endpoints" "$eps"
printf '%s\n' "$eps" | grep -q '^10.1.1.2 id 1 subflow fullmesh dev lan1' &&
    printf '%s\n' "$eps" | grep -q '^10.2.2.2 id 2 subflow fullmesh dev lan2' &&
    printf '%s\n' "$eps" | grep -q '^10.3.3.2 id 3 subflow backup fullmesh dev lan3' &&
    ok "endpoint flags as OMR's multipath writes them (lan3 backup)" || bad "endpoint flags" "$eps"
t "mptcp limits add_addr_accepted 8 subflows 8" sh -c "ip -n $NS_ROUTER mptcp limits | grep -q 'add_addr_accepted 8 subflows 8'"
for k in $WANS; do
    t "wan$k: rule from $(wan_addr "$k") lookup $(wan_table "$k"), default via $(wan_gw "$k") in table $(wan_table "$k")" \
        sh -c "ip -n $NS_ROUTER rule | grep -q 'from $(wan_addr "$k") lookup $(wan_table "$k")' && ip -n $NS_ROUTER route show table $(wan_table "$k") | grep -q 'default via $(wan_gw "$k")'"
done
mains=$(ip -n "$NS_ROUTER" route show default)
[ "$(printf '%s\n' "$mains" | grep -c .)" = 3 ] &&
    printf '%s\n' "$mains" | grep -q '^default via 10.1.1.1 dev lan1 .*metric 3' &&
    printf '%s\n' "$mains" | grep -q '^default via 10.2.2.1 dev lan2 .*metric 4' &&
    printf '%s\n' "$mains" | grep -q '^default via 10.3.3.1 dev lan3 .*metric 5' &&
    ok "main table: defaults via lan1/lan2/lan3 with metrics 3/4/5" || bad "main table defaults" "$mains"
sub=$(nsx "$NS_ROUTER" ss -Hnti 2>/dev/null | grep -c 'tcp-ulp-mptcp' || true)
[ "$sub" -ge 2 ] && ok "tunnel's MPTCP connection has $sub subflows (ss -ti in jm-router)" || bad "MPTCP subflows: $sub"
for k in $WANS; do
    t "wan$k bound HTTP GET (curl --interface lan$k) reaches the ISP$k server" \
        nsx "$NS_ROUTER" curl -sf -o /dev/null --max-time 5 --interface "lan$k" "http://$(wan_gw "$k")/1mb.test"
done

echo "== tunnel"
t "ping $TUN_PEER over $TUN_DEV" nsx "$NS_ROUTER" ping -n -c 3 -i 0.2 -W 1 -I "$TUN_DEV" "$TUN_PEER"
t "$TUN_DEV is a point-to-point $TUN_LOCAL peer $TUN_PEER" sh -c "ip -n $NS_ROUTER -4 addr show dev $TUN_DEV | grep -q 'inet $TUN_LOCAL peer $TUN_PEER/32'"

echo "== nothing leaves the machine"
iso=$("$PY" - "$NS_ALL" <<'EOF' 2>&1
import json, subprocess, sys
nss = sys.argv[1].split()
errs = []
def ipj(*a):
    return json.loads(subprocess.run(["ip", "-j", *a], check=True, capture_output=True, text=True).stdout or "[]")
def nsid_names(ns=None):
    args = (["-n", ns] if ns else []) + ["netns", "list-id"]
    out = subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout
    names = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nsid":
            names[int(parts[1])] = line.split("name:")[-1].strip(" )") if "name:" in line else "?"
    return names
for ns in nss:
    ids = nsid_names(ns)
    for l in ipj("-n", ns, "-d", "link", "show"):
        kind = l.get("linkinfo", {}).get("info_kind")
        name = l["ifname"]
        if name == "lo" or kind in ("bridge", "tun"):
            continue
        if kind != "veth":
            errs.append(f"{ns}: {name} is a {kind} device")
            continue
        peer = ids.get(l.get("link_netnsid", -1), "?")
        if not peer.startswith("jm-"):
            errs.append(f"{ns}: veth {name} leads to namespace {peer!r}, not a rig namespace")
# the host namespace: no veth whose peer sits in a rig namespace
hid = nsid_names()
for l in ipj("-d", "link", "show", "type", "veth"):
    peer = hid.get(l.get("link_netnsid", -1), "")
    if peer.startswith("jm-"):
        errs.append(f"host: veth {l['ifname']} leads into {peer}")
print("\n".join(errs))
sys.exit(1 if errs else 0)
EOF
) && ok "every rig device is lo, a bridge, a tun or a veth to another jm-* namespace; none in the host" ||
    bad "isolation" "$iso"
t "jm-vps (the rig's 'internet') has no route beyond the rig: route get 9.9.9.9 fails" \
    sh -c "! ip -n $NS_VPS route get 9.9.9.9 >/dev/null 2>&1"
t "jm-router sends unknown destinations into the rig (route get 9.9.9.9 -> lan1)" \
    sh -c "ip -n $NS_ROUTER route get 9.9.9.9 | grep -q 'dev lan1'"
hostr=$(ip -4 route show table all 2>/dev/null | grep -E '(^| )(10\.[123]\.[123]\.|192\.168\.100\.|10\.255\.255\.|100\.64\.[123]\.|203\.0\.113\.10|1\.1\.1\.1|8\.8\.8\.8)' || true)
[ -z "$hostr" ] && ok "the host namespace has no route to any rig address" || bad "host routes to rig addresses" "$hostr"

echo "== traffic generator"
t "rig.sh traffic 4 (foreground)" "$RIG" traffic 4
flows=$(nsx "$NS_ROUTER" cat /proc/net/nf_conntrack)
for k in $CLIENTS; do
    printf '%s\n' "$flows" | grep -q "src=$(client_ip "$k") .*bytes=[1-9]" &&
        ok "conntrack has flows of jm-c$k ($(client_ip "$k")) with bytes" || bad "no flow of jm-c$k in conntrack"
done
t "traffic left no process behind" sh -c "[ -z \"\$(ip netns pids jm-c1)\$(ip netns pids jm-c2)\$(ip netns pids jm-c3)\" ]"
"$RIG" traffic --bg 60 >/dev/null 2>&1
sleep 1
t "rig.sh traffic --bg runs" pid_alive "$RUN_DIR/rig/traffic.pid" rig.sh
"$RIG" traffic stop >/dev/null 2>&1
sleep 0.3
t "rig.sh traffic stop stops it and its clients" sh -c "[ ! -e $RUN_DIR/rig/traffic.pid ] && [ -z \"\$(ip netns pids jm-c1)\$(ip netns pids jm-c2)\$(ip netns pids jm-c3)\" ]"

echo "== the dev server (uhttpd + rpcd + CGI wrapper)"
if "$SERVE" start --port "$PORT"; then ok "serve.sh start --port $PORT"; else bad "serve.sh start"; fi
if [ -f "$RUN_DIR/server.env" ]; then
    # shellcheck disable=SC1091
    . "$RUN_DIR/server.env"
    for v in JM_URL JM_SID JM_SID_RO JM_ROOT; do
        eval "val=\${$v:-}"
        [ -n "$val" ] && ok ".run/server.env has $v" || bad ".run/server.env lacks $v"
    done
    [[ ${JM_SID:-} =~ ^[0-9a-f]{32}$ ]] && [[ ${JM_SID_RO:-} =~ ^[0-9a-f]{32}$ ]] && [ "$JM_SID" != "$JM_SID_RO" ] &&
        ok "two distinct 32-hex sessions" || bad "sessions: '$JM_SID' '$JM_SID_RO'"
    acc() { "$REPO/tests/bed/webstack.sh" call "$JM_ROOT" session access "{\"ubus_rpc_session\":\"$1\",\"scope\":\"access-group\",\"object\":\"luci-app-jammonitor\",\"function\":\"$2\"}" | tr -d ' \t\n'; }
    [ "$(acc "$JM_SID" write)" = '{"access":true}' ] && [ "$(acc "$JM_SID_RO" read)" = '{"access":true}' ] &&
        [ "$(acc "$JM_SID_RO" write)" = '{"access":false}' ] &&
        ok "sessions are real rpcd logins (rw, ro)" || bad "sessions not known to the live root's rpcd"
    code=$(curl -s -o "$RIG_RUN/cgi.out" -w '%{http_code}' -H "Authorization: Bearer $JM_SID" "$JM_URL/cgi-bin/jammonitor/api/overview")
    case $code in
        [2345][0-9][0-9]) ok "GET /cgi-bin/jammonitor/api/overview -> HTTP $code ($(head -c 100 "$RIG_RUN/cgi.out"))" ;;
        *) bad "CGI URL gave no HTTP answer ($code)" "$(tail -n 5 "$RUN_DIR/www/uhttpd.log" 2>/dev/null)" ;;
    esac
    code=$(curl -s -o /dev/null -w '%{http_code}' "$JM_URL/cgi-bin/jammonitor/api/overview")
    case $code in 403|500) ok "without Authorization: HTTP $code (403 from the CGI; 500 while it is not built)" ;;
        *) bad "without Authorization: HTTP $code" ;; esac
    # the wrapper's environment: a probe CGI in place of the binary (server restarted on another port)
    probe="$RIG_RUN/probe-cgi.sh"
    # shellcheck disable=SC2016
    printf '#!/bin/sh\nprintf "Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n"\nenv\necho NETNS=$(ip netns identify $$)\n' >"$probe"
    chmod 755 "$probe"
    "$SERVE" stop >/dev/null 2>&1
    if JM_CGI_BIN="$probe" "$SERVE" start --port "$PORT" >/dev/null 2>&1; then
        # shellcheck disable=SC1091
        . "$RUN_DIR/server.env"
        envout=$(curl -s -H "Authorization: Bearer $JM_SID" -H 'X-CSRF-Token: x' "$JM_URL/cgi-bin/jammonitor/api/overview?a=1")
        for want in PATH_INFO=/api/overview SCRIPT_NAME=/cgi-bin/jammonitor QUERY_STRING=a=1 REQUEST_METHOD=GET \
            "HTTP_AUTHORIZATION=Bearer $JM_SID" "JAMMONITOR_ROOT=$JM_ROOT" PATH=/sbin:/usr/sbin:/bin:/usr/bin NETNS=jm-router; do
            printf '%s\n' "$envout" | grep -qx -- "$want" && ok "CGI env: $want" || bad "CGI env lacks $want" "$envout"
        done
        printf '%s\n' "$envout" | grep -q '^HTTP_X_CSRF_TOKEN=' && bad "custom header reached the CGI (uhttpd drops it)" ||
            ok "custom header X-CSRF-Token dropped, as uhttpd does"
        envout=$(curl -s "$JM_URL/cgi-bin/jammonitor")
        printf '%s\n' "$envout" | grep -q '^PATH_INFO=' && bad "PATH_INFO set for an empty path" || ok "no PATH_INFO for /cgi-bin/jammonitor"
        printf '%s\n' "$envout" | grep -qx 'QUERY_STRING=' && ok "QUERY_STRING set (empty) without a query" || bad "QUERY_STRING missing"
        envout=$(curl -s -X POST --data-binary '{"a":1}' -H 'Content-Type: application/json' "$JM_URL/cgi-bin/jammonitor/api/x")
        printf '%s\n' "$envout" | grep -qx 'CONTENT_LENGTH=7' && ok "POST: CONTENT_LENGTH=7 reaches the CGI" || bad "POST CONTENT_LENGTH" "$envout"
        "$SERVE" stop >/dev/null 2>&1
        "$SERVE" start --port "$PORT" >/dev/null 2>&1 || bad "serve.sh restart"
    else
        bad "serve.sh start with a probe CGI"
    fi
    rm -f "$probe"
    # / is www/index.html, which sends the browser on to the page (as OpenWrt's sends it to LuCI)
    curl -s "$JM_URL/" | grep -q 'URL=/luci-static/resources/jammonitor/index.html' &&
        ok "/ leads to the entry page" || bad "/ does not lead to the entry page"
    login=$(curl -s "$JM_URL/ubus" -d '{"jsonrpc":"2.0","id":1,"method":"call","params":["00000000000000000000000000000000","session","login",{"username":"viewer","password":"jm-viewer"}]}')
    printf '%s' "$login" | grep -q '"ubus_rpc_session":"[0-9a-f]\{32\}"' && ok "/ubus session.login through uhttpd + rpcd" || bad "/ubus login" "$login"
    if [ -f "$REPO/htdocs/index.html" ]; then
        t "entry page served from htdocs/" curl -sf -o /dev/null "$JM_URL/luci-static/resources/jammonitor/index.html"
    fi
fi
t "uhttpd listens on 127.0.0.1 only" sh -c "ss -Hltn 'sport = :$PORT' | awk '{print \$4}' | grep -vq '^127\.0\.0\.1:' && exit 1 || exit 0"

echo "== up converges"
tok=$(nsx "$NS_ROUTER" ss -HMni 2>/dev/null | grep -o 'token:[0-9a-f]*' | head -n1)
t "second rig.sh up" "$RIG" up
tok2=$(nsx "$NS_ROUTER" ss -HMni 2>/dev/null | grep -o 'token:[0-9a-f]*' | head -n1)
[ -n "$tok" ] && [ "$tok" = "$tok2" ] && ok "a second up leaves the running tunnel alone ($tok)" || bad "tunnel restarted by a no-op up ($tok -> $tok2)"
ip -n "$NS_ROUTER" link del lan2
ip -n "$NS_ROUTER" mptcp endpoint flush
ip -n "$NS_ROUTER" rule del from 10.3.3.2 table 5 pref 0
stop_pid "$RIG_RUN/jm-isp3.httpd.pid"
ip -n jm-c2 addr flush dev eth0
! "$RIG" status >/dev/null 2>&1 && ok "status exits non-zero on a damaged rig" || bad "status says complete on a damaged rig"
t "rig.sh up repairs it" "$RIG" up
t "status is complete again" "$RIG" status

echo "== down"
"$SERVE" stop >/dev/null 2>&1
t0=$(now)
t "rig.sh down" "$RIG" down
ok "down took $(since "$t0") s"
verify_clean() {
    local what=$1 left p
    left=$(ns_present | tr '\n' ' ')
    [ -z "${left// /}" ] && ok "$what: no jm-* namespace" || bad "$what: namespaces left: $left"
    p=$( (pids_with "$RIG_DIR/httpd.py"; pids_with "$RIG_DIR/tund.py"; pids_with "rig.sh traffic-run"; pids_with "$RUN_DIR/root/www"; pids_with "$RUN_DIR/root/var/run/ubus/ubus.sock") | tr '\n' ' ')
    [ -z "${p// /}" ] && ok "$what: no rig process, no uhttpd/ubusd/rpcd of ours" || bad "$what: processes left: $p"
    ls "$RIG_RUN"/*.pid >/dev/null 2>&1 && bad "$what: pid files left" || ok "$what: no pid files"
}
verify_clean "after down"
t "down again (nothing to do) succeeds" "$RIG" down

echo "== a failed up leaves nothing"
fake=$(mktemp -d)
printf '#!/bin/sh\necho "selftest: simulated tc failure" >&2\nexit 1\n' >"$fake/tc"
chmod 755 "$fake/tc"
PATH="$fake:$PATH" "$RIG" up >/dev/null 2>&1 && bad "up succeeded with a failing tc" || ok "up fails when a step fails"
rm -rf "$fake"
verify_clean "after a failed up"

echo
echo "selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
