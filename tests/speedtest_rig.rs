//! Speed test (issue 16) through real, rate-limited links, in a router of its own: uniquely named
//! namespaces built here like tests/rig's WAN side (a router with lan1..lan3 and OMR's per-WAN
//! tables and rules, three ISPs, a VPS holding 203.0.113.10 and 8.8.8.8 with tests/rig/httpd.py
//! — the stand-in for Cloudflare's `__down`/`__up` and CacheFly's `<N>mb.test`), so it needs
//! neither the shared rig nor its lock. Every packet stays inside these namespaces. The servers
//! are the live root's `/etc/config/jammonitor` ones (tests/bed/mkroot.sh), pointed at the rig
//! hosts by configuration, plus test-only sizes.
//!
//! Each ISP shapes its link with `tbf` (download = ISP → router, upload = ISP → VPS):
//! wan1 80/40, wan2 40/20, wan3 20/10 Mbit/s. For every WAN and direction, a test of about two
//! seconds through the real CGI and job:
//! - the measured Mbit/s is within 10 % of the link's rate (the goodput of a TCP transfer over a
//!   1500-byte MTU is ~95 % of the shaped rate, so 10 % holds only if the transfer really ran at
//!   the link's speed, alone);
//! - the bytes crossed the chosen WAN only: its device counters moved at least the test's size,
//!   the other two WANs' (rx + tx) less than 64 KiB;
//! - live progress was reported (bytes so far, current and average Mbit/s) and the result is in
//!   the history.
//!
//! Then a long test: a second start while it runs is 409 `speedtest_running`; cancel stops the
//! transfer (the WAN's receive counter stops moving) within 1 s and no curl is left.
mod common;

use common::wan_topo::WanTopo;
use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn nsx(ns: &str, args: &[&str]) -> String {
    let mut a = vec!["ip", "netns", "exec", ns];
    a.extend_from_slice(args);
    sh(&a)
}

/// Mbit/s: (download, upload) of WAN k.
fn rate(k: u32) -> (f64, f64) {
    match k {
        1 => (80.0, 40.0),
        2 => (40.0, 20.0),
        _ => (20.0, 10.0),
    }
}

/// tests/common's WAN topology (router, three ISPs, a VPS holding 203.0.113.10 and 8.8.8.8), each
/// ISP shaping its link as tests/rig/rig.sh does, and the speed-test server on the VPS.
struct Topo {
    wans: WanTopo,
}

impl Topo {
    fn new() -> Topo {
        let wans = WanTopo::new("st", &["203.0.113.10/32", "8.8.8.8/32"]);
        for k in 1..=3u32 {
            let i = wans.isp(k);
            // The link's speeds, shaped by the ISP.
            let (down, up) = rate(k);
            for (dev, mbit) in [("router", down), ("vps", up)] {
                sh(&[
                    "tc",
                    "-n",
                    i,
                    "qdisc",
                    "replace",
                    "dev",
                    dev,
                    "root",
                    "tbf",
                    "rate",
                    &format!("{mbit}mbit"),
                    "burst",
                    "64k",
                    "latency",
                    "100ms",
                ]);
            }
        }
        let vps = &wans.vps;
        // The speed-test server (Cloudflare and CacheFly URL styles).
        let child = Command::new("ip")
            .args(["netns", "exec", &vps.name, "/usr/bin/python3"])
            .arg(repo().join("tests/rig/httpd.py"))
            .args(["--port", "80", "--name", "speedtest-rig"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("httpd.py");
        vps.holders.borrow_mut().push(child);
        let t0 = Instant::now();
        while !nsx(&vps.name, &["ss", "-Hltn", "sport = :80"]).contains(":80") {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "httpd.py did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Topo { wans }
    }

    /// (rx, tx) bytes of the router's lanK.
    fn counters(&self, k: u32) -> (u64, u64) {
        let read = |what: &str| -> u64 {
            nsx(
                &self.wans.router.name,
                &[
                    "cat",
                    &format!("/sys/class/net/lan{k}/statistics/{what}_bytes"),
                ],
            )
            .trim()
            .parse()
            .unwrap()
        };
        (read("rx"), read("tx"))
    }
}

fn job(root: &TestRoot, sid: &str, ns: &str, id: &str) -> Value {
    let mut r = Req::get("job", sid).in_netns(ns);
    r.query = format!("id={id}");
    r.run(root).data()
}

fn start(root: &TestRoot, sid: &str, ns: &str, body: &str) -> Resp {
    Req::post("speedtest.start", sid, body)
        .in_netns(ns)
        .run(root)
}

#[test]
fn measured_rates_binding_progress_history_and_cancel() {
    assert!(is_root(), "this test needs root (network namespaces)");
    let topo = Topo::new();
    let ns = topo.wans.router.name.clone();
    let root = TestRoot::new(true);
    // Test-only sizes (about two seconds per link) beside the product's.
    for s in ["3", "20"] {
        root.uci(&["add_list", &format!("jammonitor.cloudflare.size={s}")]);
        root.uci(&["add_list", &format!("jammonitor.cachefly.size={s}")]);
    }
    root.uci(&["commit", "jammonitor"]);
    let sid = root.session(true, true);

    let mut report = Vec::new();
    for k in 1..=3u32 {
        for (dir, mbit) in [("download", rate(k).0), ("upload", rate(k).1)] {
            // ~2 s of transfer: 20/10/5 MB down, 10/5/3 up.
            let size = match (mbit as u32) * 2 / 8 {
                20 => 20,
                10 => 10,
                5 => 5,
                _ => 3,
            };
            let before: Vec<(u64, u64)> = (1..=3).map(|j| topo.counters(j)).collect();
            let body = format!(
                r#"{{"wan":"wan{k}","direction":"{dir}","size_mb":{size},"server":"auto"}}"#
            );
            let r = start(&root, &sid, &ns, &body);
            assert_eq!(
                r.status,
                202,
                "{body}: {}",
                String::from_utf8_lossy(&r.body)
            );
            let id = r.data()["job"]["id"].as_str().unwrap().to_string();
            // Follow it as the page does; keep what the progress showed.
            let t0 = Instant::now();
            let mut seen_bytes = 0u64;
            let mut seen_rate = false;
            let j = loop {
                let j = job(&root, &sid, &ns, &id);
                if j["state"] != "running" {
                    break j;
                }
                let d = &j["detail"];
                if j["phase"] == "running" {
                    seen_bytes = seen_bytes.max(d["bytes"].as_u64().unwrap_or(0));
                    seen_rate |= d["mbps_now"].as_f64().is_some_and(|x| x > 0.0)
                        && d["mbps_avg"].as_f64().is_some_and(|x| x > 0.0)
                        && d["elapsed_s"].as_f64().is_some();
                }
                assert!(t0.elapsed() < Duration::from_secs(60), "stuck: {j:#}");
                std::thread::sleep(Duration::from_millis(100));
            };
            assert_eq!(j["state"], "done", "{body}: {j:#}");
            // The job writes "done" a moment before its process exits and frees the one-test
            // lock; the page starts the next test only once `GET speedtest` says nothing blocks.
            let t1 = Instant::now();
            while !Req::get("speedtest", &sid).in_netns(&ns).run(&root).data()["blocked"].is_null()
            {
                assert!(
                    t1.elapsed() < Duration::from_secs(5),
                    "still blocked after the job ended"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            let res = &j["result"];
            let got = res["mbps"].as_f64().unwrap();
            report.push(format!(
                "wan{k} {dir}: {got:.2} Mbit/s of {mbit} ({:+.1} %), {size} MB in {} s, server {}, latency idle {} ms / load {} ms",
                (got - mbit) / mbit * 100.0,
                res["seconds"],
                res["server"],
                res["latency_idle_ms"],
                res["latency_load_ms"]
            ));
            assert!(
                (got - mbit).abs() <= mbit * 0.10,
                "wan{k} {dir}: {got} Mbit/s, link {mbit}: {res:#}"
            );
            assert_eq!(res["complete"], true);
            assert_eq!(res["bytes"].as_u64(), Some((size as u64) << 20));
            assert_eq!(res["address"], format!("10.{k}.{k}.2"));
            assert_eq!(res["device"], format!("lan{k}"));
            if dir == "upload" {
                // CacheFly (8.8.8.8 here) has no upload: auto can only pick the other.
                assert_eq!(res["server"], "cloudflare");
            }
            assert!(
                seen_bytes > 0 && seen_rate,
                "no live progress seen for wan{k} {dir} (bytes {seen_bytes})"
            );
            // The bytes crossed the chosen WAN, and only it.
            let after: Vec<(u64, u64)> = (1..=3).map(|j| topo.counters(j)).collect();
            for j in 1..=3u32 {
                let (rx, tx) = (
                    after[j as usize - 1].0 - before[j as usize - 1].0,
                    after[j as usize - 1].1 - before[j as usize - 1].1,
                );
                if j == k {
                    let moved = if dir == "download" { rx } else { tx };
                    assert!(
                        moved >= (size as u64) << 20,
                        "wan{k} {dir}: lan{k} moved only {moved} bytes"
                    );
                } else {
                    assert!(
                        rx + tx < 64 << 10,
                        "wan{k} {dir}: lan{j} moved {rx} + {tx} bytes"
                    );
                }
            }
        }
    }
    eprintln!("speed test on the rig:\n  {}", report.join("\n  "));

    // The history has them all, newest first; per WAN on request.
    let d = Req::get("speedtest", &sid).in_netns(&ns).run(&root).data();
    let h = d["history"].as_array().unwrap();
    assert_eq!(h.len(), 6, "{d:#}");
    assert_eq!(h[0]["wan"], "wan3");
    assert_eq!(h[0]["direction"], "upload");
    assert!(d["blocked"].is_null());
    let mut q = Req::get("speedtest", &sid).in_netns(&ns);
    q.query = "wan=wan2".into();
    let h2 = q.run(&root).data()["history"].as_array().unwrap().clone();
    assert_eq!(h2.len(), 2);
    assert!(h2.iter().all(|r| r["wan"] == "wan2"));

    // A long test (100 MB at 20 Mbit/s: ~42 s): a second one is refused while it runs; cancel
    // stops the transfer within 1 s.
    let r = start(
        &root,
        &sid,
        &ns,
        r#"{"wan":"wan3","direction":"download","size_mb":100,"server":"cachefly"}"#,
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let id = r.data()["job"]["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let j = job(&root, &sid, &ns, &id);
        assert_eq!(j["state"], "running", "{j:#}");
        if j["detail"]["bytes"].as_u64().unwrap_or(0) > 1 << 20 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no progress: {j:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = start(
        &root,
        &sid,
        &ns,
        r#"{"wan":"wan1","direction":"download","size_mb":3,"server":"auto"}"#,
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "speedtest_running");
    let d = Req::get("speedtest", &sid).in_netns(&ns).run(&root).data();
    assert_eq!(d["blocked"]["code"], "speedtest_running");
    assert_eq!(d["job"]["id"], id.as_str());

    let rx_before = topo.counters(3).0;
    let asked = Instant::now();
    let watcher = {
        let ns = ns.clone();
        std::thread::spawn(move || {
            // The receive counter of lan3, every 20 ms for 3 s: when did it last move?
            let path = "/sys/class/net/lan3/statistics/rx_bytes";
            let mut last = 0u64;
            let mut last_change = Instant::now();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(3) {
                let v: u64 = nsx(&ns, &["cat", path]).trim().parse().unwrap();
                if v != last {
                    last = v;
                    last_change = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last_change
        })
    };
    let r = Req::post("speedtest.cancel", &sid, &format!(r#"{{"id":"{id}"}}"#))
        .in_netns(&ns)
        .run(&root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = &r.data()["job"];
    assert_eq!(j["state"], "failed", "{j:#}");
    assert_eq!(j["phase"], "cancelled");
    let last_change = watcher.join().unwrap();
    let stopped_after = last_change.saturating_duration_since(asked);
    eprintln!(
        "cancel: the transfer stopped {} ms after the cancel was sent ({} bytes moved on lan3 meanwhile)",
        stopped_after.as_millis(),
        topo.counters(3).0 - rx_before
    );
    assert!(
        stopped_after < Duration::from_secs(1),
        "lan3 still received {} ms after cancel",
        stopped_after.as_millis()
    );
    // No transfer process is left in the router.
    let pids = sh(&["ip", "netns", "pids", &ns]);
    for pid in pids.split_whitespace() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_ne!(comm.trim(), "curl", "curl {pid} survived the cancel");
    }
    // A cancelled test stores nothing; a new one may start.
    let d = Req::get("speedtest", &sid).in_netns(&ns).run(&root).data();
    assert_eq!(d["history"].as_array().unwrap().len(), 6);
    assert!(d["blocked"].is_null(), "{d:#}");
}
