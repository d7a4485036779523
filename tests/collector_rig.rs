//! The collector inside the simulated router (tests/rig: namespaces jm-router, jm-isp1..3,
//! jm-vps, jm-c1..3): real counters, real conntrack, real ICMP to rig-owned addresses only.
//! - traffic generated through wan1 appears in the minute rows (interface and client) and rolls
//!   up into hourly/daily/monthly rows that add up exactly;
//! - an interface deleted and re-created (counters back to 0, new ifindex) adds no spike;
//! - the Internet/VPS/tunnel targets are pinged (live ring + per-minute rows).
//!
//! The rig is brought up if it is not (and then taken down at the end); the test's own extra
//! namespace and veth are removed whatever happens.
mod collector_util;
mod common;

use collector_util::*;
use common::*;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

const ROUTER: &str = "jm-router";

/// A namespace of this test with a veth `jmt0` into jm-router; deleted on drop.
struct Peer {
    ns: String,
}

impl Peer {
    fn new() -> Peer {
        let ns = format!("jm-ct{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        sh(&["ip", "netns", "add", &ns]);
        let p = Peer { ns };
        sh(&[
            "ip",
            "netns",
            "exec",
            &p.ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        p.create();
        p
    }
    fn create(&self) {
        sh(&[
            "ip", "-n", ROUTER, "link", "add", "jmt0", "type", "veth", "peer", "name", "eth0",
            "netns", &self.ns,
        ]);
        sh(&[
            "ip",
            "-n",
            ROUTER,
            "addr",
            "add",
            "10.250.0.1/30",
            "dev",
            "jmt0",
        ]);
        sh(&[
            "ip",
            "-n",
            &self.ns,
            "addr",
            "add",
            "10.250.0.2/30",
            "dev",
            "eth0",
        ]);
        sh(&["ip", "-n", ROUTER, "link", "set", "jmt0", "up"]);
        sh(&["ip", "-n", &self.ns, "link", "set", "eth0", "up"]);
        sh(&["ip", "-n", &self.ns, "link", "set", "lo", "up"]);
    }
    fn delete_link(&self) {
        sh(&["ip", "-n", ROUTER, "link", "del", "jmt0"]);
    }
    /// ~1.4 kB each way per ping, from the router.
    fn traffic(&self, count: u32) {
        sh(&[
            "ip",
            "netns",
            "exec",
            ROUTER,
            "ping",
            "-q",
            "-n",
            "-c",
            &count.to_string(),
            "-i",
            "0.002",
            "-s",
            "1400",
            "-W",
            "1",
            "10.250.0.2",
        ]);
    }
    fn tx_bytes(&self) -> i64 {
        sh(&[
            "ip",
            "netns",
            "exec",
            ROUTER,
            "cat",
            "/sys/class/net/jmt0/statistics/tx_bytes",
        ])
        .trim()
        .parse()
        .unwrap()
    }
    fn ifindex(&self) -> i64 {
        sh(&[
            "ip",
            "netns",
            "exec",
            ROUTER,
            "cat",
            "/sys/class/net/jmt0/ifindex",
        ])
        .trim()
        .parse()
        .unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["-n", ROUTER, "link", "del", "jmt0"])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

fn sum_by(c: &Connection, sql: &str) -> BTreeMap<(String, String), (i64, i64)> {
    let mut st = c.prepare(sql).unwrap();
    st.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn wait_samples(root: &TestRoot, more: u64) {
    let n = samples(&status(root));
    wait_status(root, 20, &format!("{more} more samples"), |s| {
        samples(s) >= n + more
    });
}

#[test]
fn collector_in_the_simulated_router() {
    if !is_root() {
        eprintln!("skipped: needs root for network namespaces");
        return;
    }
    let _rig = Rig::up();
    let root = TestRoot::new(true);
    let _ = root.uci(&["-q", "delete", "jammonitor.main.ping_target"]);
    for t in ["internet=1.1.1.1", "vps=auto", "tunnel=auto"] {
        root.uci(&["add_list", &format!("jammonitor.main.ping_target={t}")]);
    }
    root.uci(&["commit", "jammonitor"]);
    root.write(
        "tmp/dhcp.leases",
        &sh(&[repo().join("tests/rig/rig.sh").to_str().unwrap(), "leases"]),
    );
    let peer = Peer::new();

    let c = Collector::start_in(
        Some(ROUTER),
        &root.path,
        &["--interval", "2", "--ping-interval", "1"],
    );
    wait_status(&root, 20, "baseline", |s| samples(s) >= 1);
    let db = root.file("tmp/jammonitor/history.db");

    // -- traffic through wan1: a client downloads 3 MB from ISP1's server (NATed out of lan1)
    let bytes = 3_000_000i64;
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            "jm-c1",
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            "--max-time",
            "30",
        ])
        .arg(format!("http://10.1.1.1/__down?bytes={bytes}"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        bytes.to_string(),
        "download through wan1"
    );
    wait_samples(&root, 2);
    let conn = open_db(&db);
    let lan1_rx = q_i64(
        &conn,
        "SELECT SUM(rx) FROM iface_minute WHERE iface = 'lan1'",
    );
    assert!(lan1_rx >= bytes, "lan1 rx {lan1_rx} < {bytes}");
    let client_rx = q_i64(
        &conn,
        "SELECT SUM(m.rx) FROM client_minute m JOIN clients c ON c.id = m.client WHERE c.mac = '02:00:00:00:01:0a'",
    );
    assert!(
        client_rx >= bytes,
        "client jm-c1 rx {client_rx} < {bytes} (conntrack)"
    );
    let host: String = conn
        .query_row(
            "SELECT hostname FROM clients WHERE mac = '02:00:00:00:01:0a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(host, "anna-laptop");
    drop(conn);

    // -- counter reset: jmt0 carries traffic, is deleted and re-created (new ifindex, counters 0)
    peer.traffic(300);
    wait_samples(&root, 2);
    let c1 = peer.tx_bytes();
    let idx1 = peer.ifindex();
    peer.delete_link();
    peer.create();
    assert_ne!(peer.ifindex(), idx1, "re-created with a new ifindex");
    peer.traffic(40);
    wait_samples(&root, 2);
    let c2 = peer.tx_bytes();
    assert!(c2 < c1 / 3, "the new counters restarted ({c2} vs {c1})");
    let conn = open_db(&db);
    let rows: Vec<i64> = {
        let mut st = conn
            .prepare("SELECT tx FROM iface_minute WHERE iface = 'jmt0' ORDER BY ts")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let total: i64 = rows.iter().sum();
    // Everything both incarnations sent, once; an ARP exchange or two of slack.
    assert!(
        (total - (c1 + c2)).abs() <= 600,
        "jmt0 tx {total} vs {c1} + {c2} (rows {rows:?})"
    );
    // (A spike — a wrap, or the old counter counted again — would break this equality by at
    // least the old counter's value.)

    // -- roll-ups add up exactly: minute → hour → day → month, per interface and per client
    let m2h = sum_by(
        &conn,
        "SELECT CAST(h.ts AS TEXT), m.iface, SUM(m.rx), SUM(m.tx) FROM iface_minute m JOIN iface_hour h ON h.iface = m.iface AND m.ts >= h.ts AND m.ts < h.ts + 3600 GROUP BY h.ts, m.iface",
    );
    let hours = sum_by(
        &conn,
        "SELECT CAST(ts AS TEXT), iface, rx, tx FROM iface_hour",
    );
    assert_eq!(m2h, hours, "minutes → hours");
    let h2d = sum_by(
        &conn,
        "SELECT d.day, h.iface, SUM(h.rx), SUM(h.tx) FROM iface_hour h JOIN iface_day d ON d.iface = h.iface AND d.day = date(h.ts, 'unixepoch') GROUP BY d.day, h.iface",
    );
    let days = sum_by(&conn, "SELECT day, iface, rx, tx FROM iface_day");
    assert_eq!(
        h2d, days,
        "hours → days (the test root has no /etc/TZ: UTC)"
    );
    let d2m = sum_by(
        &conn,
        "SELECT substr(day, 1, 7), iface, SUM(rx), SUM(tx) FROM iface_day GROUP BY 1, 2",
    );
    let months = sum_by(&conn, "SELECT month, iface, rx, tx FROM iface_month");
    assert_eq!(d2m, months, "days → months");
    let cm = sum_by(
        &conn,
        "SELECT CAST(client AS TEXT), '', SUM(rx), SUM(tx) FROM client_minute GROUP BY client",
    );
    let cmo = sum_by(
        &conn,
        "SELECT CAST(client AS TEXT), '', SUM(rx), SUM(tx) FROM client_month GROUP BY client",
    );
    assert_eq!(cm, cmo, "client minutes → months");
    let wans: Vec<(String, i64)> = {
        let mut st = conn
            .prepare("SELECT wan, up FROM wan_event ORDER BY wan")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        wans,
        [("wan1".into(), 1), ("wan2".into(), 1), ("wan3".into(), 1)]
    );
    drop(conn);

    // -- pings: Internet (1.1.1.1 in jm-vps), VPS (openmptcprouter's 203.0.113.10), tunnel peer
    let t0 = Instant::now();
    let live = loop {
        let live = live_json(&root);
        let ok = live["pings"]["targets"]
            .as_array()
            .is_some_and(|t| t.len() == 3 && t.iter().all(|x| x["last_rtt_ms"].is_number()));
        if ok {
            break live;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "targets never answered: {live:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let hosts: Vec<(&str, &str)> = live["pings"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["host"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("internet", "1.1.1.1"),
            ("vps", "203.0.113.10"),
            ("tunnel", "10.255.255.1")
        ]
    );
    c.signal(libc::SIGTERM);
    let (code, err) = c.wait(15);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("counters restarted"),
        "the reset was noticed: {err}"
    );
    let conn = open_db(&db);
    let pings = sum_by(
        &conn,
        "SELECT p.target, t.host, SUM(p.sent), SUM(p.lost) FROM ping_minute p JOIN ping_target t ON t.target = p.target GROUP BY p.target",
    );
    for t in ["internet", "vps", "tunnel"] {
        let (_, (sent, lost)) = pings
            .iter()
            .find(|((n, _), _)| n == t)
            .unwrap_or_else(|| panic!("no ping rows for {t}: {pings:?}"));
        assert!(*sent >= 3 && *lost < *sent, "{t}: sent {sent} lost {lost}");
    }
}
