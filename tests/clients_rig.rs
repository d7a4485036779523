//! Per-client traffic end to end in the simulated router (tests/rig; run under the rig lock):
//! real client namespaces send and receive through the router's NAT, the collector (inside
//! jm-router, sampling every 2 s) makes one conntrack pass per sample, and the `clients` CGI
//! (also inside jm-router) must report:
//! - totals within ±5 % of the bytes that actually crossed each client's interface (IP layer:
//!   the client's eth0 counters minus 14 bytes of Ethernet header per frame — what conntrack
//!   counts), download for one client and upload for another;
//! - a steady paced stream's rate within ±5 % of the rate measured on the client's interface;
//! - bytes of connections that have closed and left conntrack still in the history;
//! - a client whose traffic goes into the VPN tunnel (tun0, carried over MPTCP to the VPS)
//!   counted once: its own bytes, not also the tunnel transport's.
mod collector_util;
mod common;

use collector_util::*;
use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROUTER: &str = "jm-router";
const C1: (&str, &str, &str) = ("jm-c1", "02:00:00:00:01:0a", "192.168.100.10");
const C2: (&str, &str, &str) = ("jm-c2", "02:00:00:00:01:0b", "192.168.100.11");
const C3: (&str, &str, &str) = ("jm-c3", "02:00:00:00:01:0c", "192.168.100.12");

/// IP-layer bytes the client received / sent so far (eth0 counters minus Ethernet headers).
fn ip_bytes(ns: &str) -> (i64, i64) {
    let v: Value = serde_json::from_str(&sh(&[
        "ip", "-n", ns, "-j", "-s", "link", "show", "dev", "eth0",
    ]))
    .unwrap();
    let s = &v[0]["stats64"];
    let f = |d: &str, k: &str| s[d][k].as_i64().unwrap();
    (
        f("rx", "bytes") - 14 * f("rx", "packets"),
        f("tx", "bytes") - 14 * f("tx", "packets"),
    )
}

fn curl(ns: &str, args: &[&str]) -> String {
    let mut c = vec![
        "ip",
        "netns",
        "exec",
        ns,
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{size_download} %{size_upload}",
        "--max-time",
        "60",
    ];
    c.extend_from_slice(args);
    sh(&c)
}

fn clients(root: &TestRoot, sid: &str) -> Value {
    Req::get("clients", sid).in_netns(ROUTER).run(root).data()
}

fn client<'a>(d: &'a Value, mac: &str) -> &'a Value {
    d["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["mac"] == mac)
        .unwrap_or_else(|| panic!("{mac} missing: {d}"))
}

fn within(what: &str, got: f64, want: f64, pct: f64) {
    let dev = (got - want).abs() / want * 100.0;
    assert!(
        dev <= pct,
        "{what}: {got} vs {want} ({dev:.2} % off, limit {pct} %)"
    );
    eprintln!("{what}: {got} vs {want} ({dev:.2} % off)");
}

fn wait_samples(root: &TestRoot, more: u64) {
    let n = samples(&status(root));
    wait_status(root, 30, &format!("{more} more samples"), |s| {
        samples(s) >= n + more
    });
}

/// Undone on drop: the policy route of C3 into the tunnel and its NAT table.
struct Tweaks;

impl Drop for Tweaks {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args([
                "-n", ROUTER, "rule", "del", "from", C3.2, "lookup", "77", "pref", "7",
            ])
            .output();
        let _ = Command::new("ip")
            .args(["-n", ROUTER, "route", "flush", "table", "77"])
            .output();
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                ROUTER,
                "nft",
                "delete",
                "table",
                "ip",
                "jmclients",
            ])
            .output();
    }
}

struct Bg(Child);
impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn per_client_traffic_in_the_simulated_router() {
    assert!(is_root(), "needs root for the rig's network namespaces");
    let _rig = Rig::up();
    // Nothing else may move client bytes during the measurement.
    let _ = Command::new(repo().join("tests/rig/rig.sh"))
        .args(["traffic", "stop"])
        .output();
    let root = TestRoot::new(true);
    let _ = root.uci(&["-q", "delete", "jammonitor.main.ping_target"]);
    root.uci(&["add_list", "jammonitor.main.ping_target=internet=1.1.1.1"]);
    root.uci(&["commit", "jammonitor"]);
    root.write(
        "tmp/dhcp.leases",
        &sh(&[repo().join("tests/rig/rig.sh").to_str().unwrap(), "leases"]),
    );
    let sid = root.session(true, false);
    let _tweaks = Tweaks;
    let _c = Collector::start_in(
        Some(ROUTER),
        &root.path,
        &["--interval", "2", "--ping-interval", "1"],
    );
    wait_status(&root, 20, "baseline", |s| samples(s) >= 1);
    wait_samples(&root, 1);

    // -- totals: C1 downloads through wan1, C2 uploads to the VPS
    let (c1_rx0, _) = ip_bytes(C1.0);
    let (_, c2_tx0) = ip_bytes(C2.0);
    let before = clients(&root, &sid);
    let t = |c: &Value, k: &str, d: &str| c[k][d].as_f64().unwrap_or(0.0);
    let (c1_before, c2_before) = (
        t(client(&before, C1.1), "today", "rx"),
        t(client(&before, C2.1), "today", "tx"),
    );
    assert_eq!(
        curl(C1.0, &["http://10.1.1.1/__down?bytes=6000000"]),
        "6000000 0"
    );
    let up = root.file("tmp/upload.bin");
    std::fs::write(&up, vec![0u8; 3_000_000]).unwrap();
    let up_arg = format!("@{}", up.display());
    assert_eq!(
        curl(
            C2.0,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                &up_arg,
                "http://203.0.113.10/__up"
            ]
        )
        .split(' ')
        .nth(1),
        Some("3000000")
    );
    let c1_sent = (ip_bytes(C1.0).0 - c1_rx0) as f64;
    let c2_sent = (ip_bytes(C2.0).1 - c2_tx0) as f64;
    wait_samples(&root, 2);
    let after = clients(&root, &sid);
    within(
        "C1 download total",
        t(client(&after, C1.1), "today", "rx") - c1_before,
        c1_sent,
        5.0,
    );
    within(
        "C2 upload total",
        t(client(&after, C2.1), "today", "tx") - c2_before,
        c2_sent,
        5.0,
    );
    assert_eq!(client(&after, C1.1)["hostname"], "anna-laptop");
    assert_eq!(client(&after, C1.1)["online"], true);

    // -- closed connections keep their bytes: the finished flows (in TIME_WAIT) are deleted from
    // conntrack, as their timeout would do two minutes later
    let t0 = Instant::now();
    loop {
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                ROUTER,
                "conntrack",
                "-D",
                "-p",
                "tcp",
                "-s",
                C1.2,
            ])
            .output();
        let table = sh(&[
            "ip",
            "netns",
            "exec",
            ROUTER,
            "cat",
            "/proc/net/nf_conntrack",
        ]);
        if !table
            .lines()
            .any(|l| l.contains(&format!("src={} ", C1.2)) && l.contains("tcp"))
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "C1's TCP flows did not leave conntrack"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_samples(&root, 2);
    let later = clients(&root, &sid);
    within(
        "C1 total after its flows closed",
        t(client(&later, C1.1), "today", "rx") - c1_before,
        c1_sent,
        5.0,
    );
    let h = Req::get("clients.history", &sid);
    let mut h = h.in_netns(ROUTER);
    h.query = format!("mac={}&range=hourly", C1.1);
    let hist = h.run(&root).data();
    assert!(
        hist["totals"]["rx"].as_f64().unwrap() >= c1_sent * 0.95,
        "hourly history holds the bytes: {}",
        hist["totals"]
    );

    // -- rate: a paced stream (server-side 200,000 B/s) that covers a whole minute bucket
    let stream = Bg(Command::new("ip")
        .args([
            "netns",
            "exec",
            C1.0,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "150",
            "http://10.1.1.1/__down?bytes=40000000&rate=200000",
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap());
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    // The next minute boundary, then 30 s into it (the bucket then holds only stream time).
    std::thread::sleep(Duration::from_secs(3));
    let boundary = (now() / 60 + 1) * 60;
    while now() < boundary + 2 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (r0, t_0) = (ip_bytes(C1.0).0, Instant::now());
    while now() < boundary + 32 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let measured = (ip_bytes(C1.0).0 - r0) as f64 / t_0.elapsed().as_secs_f64();
    wait_samples(&root, 1);
    let d = clients(&root, &sid);
    let window = &d["history"]["rate_window"];
    assert!(
        window["from"].as_u64().unwrap() >= boundary,
        "rate window inside the stream: {window}"
    );
    within(
        "C1 rate (download)",
        client(&d, C1.1)["rate"]["rx"].as_f64().unwrap(),
        measured,
        5.0,
    );
    drop(stream);

    // -- a client behind the VPN tunnel: C3's traffic goes into tun0 (NATed there), carried to
    // the VPS over MPTCP subflows on the WANs. Counted once, as C3's own bytes.
    sh(&[
        "ip", "-n", ROUTER, "route", "replace", "default", "dev", "tun0", "table", "77",
    ]);
    sh(&[
        "ip", "-n", ROUTER, "rule", "add", "from", C3.2, "lookup", "77", "pref", "7",
    ]);
    let nft = "table ip jmclients {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname \"tun0\" masquerade\n\t}\n}\n";
    let mut p = Command::new("ip")
        .args(["netns", "exec", ROUTER, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(p.stdin.as_mut().unwrap(), nft.as_bytes()).unwrap();
    drop(p.stdin.take());
    assert!(p.wait().unwrap().success());
    let tun0 = |k: &str| -> i64 {
        sh(&[
            "ip",
            "netns",
            "exec",
            ROUTER,
            "cat",
            &format!("/sys/class/net/tun0/statistics/{k}"),
        ])
        .trim()
        .parse()
        .unwrap()
    };
    let (c3_rx0, _) = ip_bytes(C3.0);
    let tun_rx0 = tun0("rx_bytes");
    let c3_before = t(client(&clients(&root, &sid), C3.1), "today", "rx");
    assert_eq!(
        curl(C3.0, &["http://10.255.255.1/__down?bytes=2000000"]),
        "2000000 0"
    );
    let c3_sent = (ip_bytes(C3.0).0 - c3_rx0) as f64;
    assert!(
        tun0("rx_bytes") - tun_rx0 >= 2_000_000,
        "the download went through the tunnel"
    );
    wait_samples(&root, 2);
    let d = clients(&root, &sid);
    within(
        "C3 download through the tunnel",
        t(client(&d, C3.1), "today", "rx") - c3_before,
        c3_sent,
        5.0,
    );
    // The tunnel's own transport (router → VPS) and the VPS are nobody's client.
    for c in d["clients"].as_array().unwrap() {
        let ip = c["ipv4"].as_str().unwrap_or("");
        assert!(
            ip.is_empty() || ip.starts_with("192.168.100."),
            "not a LAN client: {c}"
        );
    }
}
