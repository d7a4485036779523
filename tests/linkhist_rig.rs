//! Link reliability history (issue 19) in a router of its own: uniquely named namespaces built
//! by tests/common/wan_topo.rs like tests/rig's WAN side (lan1..lan3 with OMR's per-WAN tables
//! and rules, three ISPs, a VPS holding 1.1.1.1 and 203.0.113.10), so it needs neither the shared
//! rig nor its lock. Every packet stays inside these namespaces.
//!
//! 1. Each WAN link gets its own delay and loss (tests/rig/linkem.py, netem-like, on the ISP side:
//!    wan1 10 ms / 0 %, wan2 40 ms / 2 %, wan3 120 ms / 10 %). With a 200 ms round (a test-only
//!    interval; the rule is the same as at 3 s), ≥ 500 probes per WAN: each WAN's history shows its
//!    own link's figures (delay ±20 %, loss ±3 points) while the routing-table target (through the
//!    primary, wan1) keeps wan1's figures; each WAN's echo requests cross only its own link (the
//!    ISPs' packet counters: requests from the other WANs' addresses 0, from its own = the WAN's
//!    `sent`).
//! 2. One-second rounds (the product's rule, 3 rounds for a ping outage), three things at once:
//!    wan3's link down for 90 s then up → exactly one outage of 90 s (± one round) with cause
//!    `link_down`; wan2's gateway stops answering pings (its ISP forwards as before) → one outage
//!    `no_gateway_reply`; wan1 disabled by the user, then its link down and up → no outage, one
//!    disabled period.
mod collector_util;
mod common;

use collector_util::*;
use common::wan_topo::WanTopo;
use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn nsx(ns: &str, args: &[&str]) -> String {
    let mut a = vec!["ip", "netns", "exec", ns];
    a.extend_from_slice(args);
    sh(&a)
}

/// The link emulation of one ISP and its iptables rules (they go with the namespace).
struct Linkem {
    ns: String,
    child: Child,
}

fn ipt(ns: &str, args: &[&str]) -> String {
    let mut a = vec![
        "ip",
        "netns",
        "exec",
        ns,
        "iptables-legacy",
        "-w",
        "-t",
        "mangle",
    ];
    a.extend_from_slice(args);
    sh(&a)
}

impl Linkem {
    fn start(ns: String, k: u32, delay_ms: u32, loss_pct: u32) -> Linkem {
        let own = format!("10.{k}.{k}.2");
        let req = [
            "-A",
            "PREROUTING",
            "-i",
            "router",
            "-p",
            "icmp",
            "--icmp-type",
            "echo-request",
        ];
        // Counters first (no target: they only count), then the queue.
        ipt(&ns, &[&req[..], &["-s", &own]].concat());
        ipt(&ns, &[&req[..], &["!", "-s", &own]].concat());
        ipt(
            &ns,
            &[
                &req[..],
                &["-j", "NFQUEUE", "--queue-num", "1", "--queue-bypass"],
            ]
            .concat(),
        );
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, "/usr/bin/python3"])
            .arg(repo().join("tests/rig/linkem.py"))
            .args([
                "--queue",
                "1",
                "--delay-ms",
                &delay_ms.to_string(),
                "--loss-pct",
                &loss_pct.to_string(),
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("linkem.py");
        Linkem { ns, child }
    }

    /// Echo requests that entered this ISP from the router: (from its own WAN, from any other).
    fn counts(&self) -> (u64, u64) {
        let out = ipt(&self.ns, &["-L", "PREROUTING", "-v", "-x", "-n"]);
        let rows: Vec<u64> = out
            .lines()
            .filter(|l| l.contains("icmptype 8") && !l.contains("NFQUEUE"))
            .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(rows.len(), 2, "{out}");
        (rows[0], rows[1])
    }
}

impl Drop for Linkem {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn history(root: &TestRoot, sid: &str, wan: &str) -> Value {
    let mut r = Req::get("wan.history", sid);
    r.query = format!("name={wan}&range=24h");
    r.run(root).data()
}

fn target<'a>(h: &'a Value, name: &str) -> &'a Value {
    h["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {h:#}"))
}

#[test]
fn per_wan_links_outages_and_causes() {
    assert!(is_root(), "needs root for network namespaces");
    assert!(
        sh_ok(&["iptables-legacy", "--version"]),
        "iptables-legacy missing (make deps installs iptables)"
    );
    let topo = WanTopo::new("lh", &["1.1.1.1/32", "203.0.113.10/32"]);
    let router = topo.router.name.clone();
    let isp = |k: u32| topo.isp(k).to_string();
    let root = TestRoot::new(true);
    let _ = root.uci(&["-q", "delete", "jammonitor.main.ping_target"]);
    root.uci(&["add_list", "jammonitor.main.ping_target=internet=1.1.1.1"]);
    // Three targets per WAN (gateway, 1.1.1.1, the VPS): more probes per second.
    for t in ["gateway", "internet", "203.0.113.10"] {
        root.uci(&["add_list", &format!("jammonitor.main.wan_target={t}")]);
    }
    root.uci(&["commit", "jammonitor"]);
    let sid = root.session(true, false);

    // -- 1. each link's own figures
    let links = [(1, 10u32, 0u32), (2, 40, 2), (3, 120, 10)];
    let ems: Vec<Linkem> = links
        .iter()
        .map(|(k, d, l)| Linkem::start(topo.isp(*k).to_string(), *k, *d, *l))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let c = Collector::start_in(
        Some(&router),
        &root.path,
        &["--interval", "2", "--ping-interval-ms", "200"],
    );
    wait_status(&root, 20, "first samples", |s| samples(s) >= 1);
    // 3 targets × 5 rounds/s: 500 probes per WAN in ~34 s; wait for 600 to be sure.
    let t0 = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let l = live_json(&root);
        let n = l["wans"]["wan3"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t["series"].as_array().map_or(0, |s| s.len()))
                    .sum::<usize>()
            })
            .unwrap_or(0);
        if n >= 600 || t0.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    c.signal(libc::SIGTERM);
    let (code, err) = c.wait(15);
    assert_eq!(code, Some(0), "{err}");
    let mut ours = Vec::new();
    let mut ours_avg1 = 0.0;
    for (k, delay, loss) in links {
        let h = history(&root, &sid, &format!("wan{k}"));
        let (mut sent, mut lost, mut sum) = (0i64, 0i64, 0.0);
        for t in h["targets"].as_array().unwrap() {
            let (s, l) = (t["sent"].as_i64().unwrap(), t["lost"].as_i64().unwrap());
            sent += s;
            lost += l;
            sum += t["avg_ms"].as_f64().unwrap_or(0.0) * (s - l) as f64;
        }
        assert!(sent >= 500, "wan{k}: only {sent} probes");
        let avg = sum / (sent - lost) as f64;
        let loss_pct = lost as f64 * 100.0 / sent as f64;
        eprintln!(
            "wan{k}: {sent} probes, avg {avg:.2} ms, loss {loss_pct:.2} % (set {delay} ms / {loss} %)"
        );
        ours.push((k, delay, avg));
        if k == 1 {
            ours_avg1 = avg;
        }
        assert!(
            (loss_pct - loss as f64).abs() <= 3.0,
            "wan{k}: loss {loss_pct:.2} %, link loss {loss} %"
        );
        assert_eq!(h["outages"], serde_json::json!([]), "wan{k}: no outage");
        // Each WAN's probes crossed its own link only.
        let (own, foreign) = ems[k as usize - 1].counts();
        if k > 1 {
            // (wan1's ISP also sees the routing-table pings, which leave through the primary.)
            assert_eq!(foreign, 0, "isp{k} saw echo requests of another WAN");
            assert_eq!(
                own as i64, sent,
                "isp{k}: requests from wan{k} vs wan{k}'s sent"
            );
        } else {
            assert_eq!(
                foreign, 0,
                "isp1 saw echo requests from another WAN's address"
            );
        }
    }
    // Delay: the emulator adds its own processing time (user-space verdicts, a few ms on a busy
    // machine), so "the link's own figure" is what a reference tool measures on that link: the
    // system's ping, bound to the WAN device, through the same emulated link right after.
    for (k, delay, avg) in ours {
        let dev = format!("lan{k}");
        let out = nsx(
            &router,
            &[
                "ping", "-q", "-n", "-c", "30", "-i", "0.05", "-W", "1", "-I", &dev, "1.1.1.1",
            ],
        );
        let reference: f64 = out
            .lines()
            .find(|l| l.contains("min/avg/max"))
            .and_then(|l| l.split('=').nth(1))
            .and_then(|v| v.trim().split('/').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no ping summary: {out}"));
        eprintln!(
            "wan{k}: history avg {avg:.2} ms, reference ping {reference:.2} ms, set {delay} ms"
        );
        assert!(
            reference >= delay as f64,
            "the emulator applied the delay ({reference} ms)"
        );
        assert!(
            (avg - reference).abs() <= reference * 0.2,
            "wan{k}: history avg {avg:.2} ms vs the link's {reference:.2} ms (set {delay} ms)"
        );
    }
    // The primary (routing table: internet through wan1) keeps wan1's figures.
    let mut r = Req::get("pings", &sid);
    r.query = "minutes=10".into();
    let p = r.run(&root).data();
    let inet = &p["targets"][0];
    assert_eq!(inet["name"], "internet");
    let pts = inet["points"].as_array().unwrap();
    let (mut n, mut s, mut l) = (0.0, 0.0, 0.0);
    for x in pts {
        let sent = x[5].as_f64().unwrap();
        let lost = sent * x[4].as_f64().unwrap() / 100.0;
        n += sent;
        l += lost;
        s += x[2].as_f64().unwrap_or(0.0) * (sent - lost);
    }
    let avg = s / (n - l);
    assert!(
        (avg - ours_avg1).abs() <= ours_avg1 * 0.2,
        "primary avg {avg:.2} ms vs wan1's {ours_avg1:.2} ms"
    );
    assert!(l / n * 100.0 <= 3.0, "primary loss {:.2} %", l / n * 100.0);
    drop(ems);

    // -- 2. outages, one-second rounds
    let lost_before = target(&history(&root, &sid, "wan2"), "internet")["lost"]
        .as_i64()
        .unwrap();
    root.uci(&["set", "network.wan1.multipath=off"]);
    root.uci(&["commit", "network"]);
    let c = Collector::start_in(
        Some(&router),
        &root.path,
        &["--interval", "2", "--ping-interval", "1"],
    );
    wait_status(&root, 20, "running", |s| samples(s) >= 2);
    std::thread::sleep(Duration::from_secs(3));
    // wan2: the gateway stops answering pings for 8 s (1.1.1.1 through it still answers).
    sh(&[
        "ip",
        "netns",
        "exec",
        &isp(2),
        "sysctl",
        "-qw",
        "net.ipv4.icmp_echo_ignore_all=1",
    ]);
    // wan3: link down (the ISP side: the router's lan3 loses its carrier).
    sh(&["ip", "-n", &isp(3), "link", "set", "router", "down"]);
    let down_at = Instant::now();
    // wan1 (disabled by the user): its link goes down and up too.
    sh(&["ip", "-n", &isp(1), "link", "set", "router", "down"]);
    std::thread::sleep(Duration::from_secs(8));
    sh(&[
        "ip",
        "netns",
        "exec",
        &isp(2),
        "sysctl",
        "-qw",
        "net.ipv4.icmp_echo_ignore_all=0",
    ]);
    sh(&["ip", "-n", &isp(1), "link", "set", "router", "up"]);
    let left = Duration::from_secs(90).saturating_sub(down_at.elapsed());
    std::thread::sleep(left);
    sh(&["ip", "-n", &isp(3), "link", "set", "router", "up"]);
    let down_for = down_at.elapsed().as_secs_f64();
    // Until wan3 answers again in the live ring.
    wait_for(20, "wan3 answers again", || {
        live_json(&root)["wans"]["wan3"][0]["last_rtt_ms"].is_number()
    });
    std::thread::sleep(Duration::from_secs(2));
    c.signal(libc::SIGTERM);
    let (code, err) = c.wait(15);
    assert_eq!(code, Some(0), "{err}");

    let h3 = history(&root, &sid, "wan3");
    let o = h3["outages"].as_array().unwrap();
    assert_eq!(o.len(), 1, "wan3: exactly one outage: {o:#?}");
    assert_eq!(o[0]["cause"], "link_down");
    assert_eq!(o[0]["ongoing"], false);
    let d = o[0]["duration_s"].as_f64().unwrap();
    eprintln!("wan3 outage {d} s for a link down {down_for:.1} s");
    assert!(
        (d - down_for).abs() <= 1.0 + 0.5,
        "wan3 outage {d} s, link down {down_for:.1} s"
    );
    assert!(
        h3["unprobed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[1].as_i64().unwrap())
            .sum::<i64>()
            >= 85,
        "the down rounds are recorded as down, not as loss"
    );

    let h2 = history(&root, &sid, "wan2");
    let o = h2["outages"].as_array().unwrap();
    assert_eq!(o.len(), 1, "wan2: one outage: {o:#?}");
    assert_eq!(o[0]["cause"], "no_gateway_reply");
    let d = o[0]["duration_s"].as_f64().unwrap();
    assert!(
        (d - 8.0).abs() <= 1.5,
        "wan2 outage {d} s, gateway silent 8 s"
    );
    assert_eq!(
        target(&h2, "internet")["lost"].as_i64().unwrap(),
        lost_before,
        "1.1.1.1 through wan2 kept answering while its gateway was silent"
    );

    let h1 = history(&root, &sid, "wan1");
    assert_eq!(
        h1["outages"],
        serde_json::json!([]),
        "a disabled WAN adds no outage"
    );
    assert_eq!(
        h1["disabled_periods"].as_array().unwrap().len(),
        1,
        "{h1:#}"
    );
    assert_eq!(h1["disabled_periods"][0]["cause"], "disabled");
}
