//! `make bench`: is `GET metrics` cheap? Served by the real uhttpd (OpenWrt's flags; the harness
//! of tests/common/uhttpd.rs) in a namespace shaped like the BPI-R4 router (3 WANs, LAN bridge,
//! tun0, MPTCP endpoints), with per-client series on over a history of 50 clients. Medians of 250
//! requests each, interleaved, one connection per request:
//! - metrics with the scrape token (what Prometheus does: rpcd is not asked),
//! - metrics with a LuCI session (the session check against the root's real rpcd),
//! - overview with the same session (the page's poll, for scale),
//! - the do-nothing CGI under the same uhttpd (the baseline),
//!
//! each printed as a ratio to the do-nothing CGI, plus the child processes of one metrics run
//! (strace; budget 0, like overview).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use common::uhttpd::{self, Uhttpd};
use common::*;
use jammonitor::store::{ClientTraffic, Sample, Store};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 250;
const TOKEN: &str = "3e7a9c1f5b2d4068e1f3a5c7b9d0e2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4f6";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    assert!(is_root(), "the bench needs root (network namespace)");
    let root = TestRoot::new(true);
    let ns = mini_router("benchm");
    let sid = root.session(true, false);
    root.uci(&["set", "jammonitor.metrics=metrics"]);
    root.uci(&["set", &format!("jammonitor.metrics.token={TOKEN}")]);
    root.uci(&["set", "jammonitor.metrics.clients=1"]);
    // the history where uhttpd's CGI (root /, the root's var/run bound over /run) finds it
    root.uci(&[
        "set",
        "jammonitor.main.ram_path=/var/run/jammonitor/history.db",
    ]);
    root.uci(&["commit", "jammonitor"]);
    let mut st = Store::open(&root.file("var/run/jammonitor/history.db")).unwrap();
    let now = jammonitor::store::now_epoch();
    for m in 0..60 {
        st.write(&Sample {
            ts: now - 60 * (60 - m),
            offset: 0,
            seconds: 60,
            clients: (0..50)
                .map(|i| ClientTraffic {
                    key: format!("02:00:00:00:02:{i:02x}"),
                    mac: Some(format!("02:00:00:00:02:{i:02x}")),
                    ip: Some(format!("192.168.100.{}", 20 + i)),
                    hostname: Some(format!("client-{i}")),
                    rx: 100_000 + i as u64,
                    tx: 10_000,
                })
                .collect(),
            ..Sample::default()
        })
        .unwrap();
    }
    drop(st);

    // Everything below runs inside the namespace: enter it once for this process.
    let f = std::fs::File::open(format!("/run/netns/{}", ns.name)).unwrap();
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
    let u = Uhttpd::start(&root, uhttpd::free_port());
    let token = format!("Bearer {TOKEN}");
    let session = format!("Bearer {sid}");
    let metrics = "/cgi-bin/jammonitor/api/metrics";
    let r = uhttpd::get(u.port, metrics, Some(&token));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(text.contains("jammonitor_client_receive_bytes_total{client=\"02:00:00:00:02:31\""));

    let cases: [(&str, &str, &str); 4] = [
        ("metrics, scrape token", metrics, &token),
        ("metrics, LuCI session", metrics, &session),
        (
            "overview, LuCI session",
            "/cgi-bin/jammonitor/api/overview",
            &session,
        ),
        ("do-nothing CGI", "/cgi-bin/nothing", &session),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); cases.len()];
    for i in 0..RUNS + 10 {
        for (k, (_, path, auth)) in cases.iter().enumerate() {
            let t = Instant::now();
            let r = uhttpd::get(u.port, path, Some(auth));
            let d = t.elapsed();
            assert_eq!(r.status, 200, "{path}");
            if i >= 10 {
                times[k].push(d);
            }
        }
    }
    let med: Vec<Duration> = times.into_iter().map(median).collect();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let base = ms(med[3]);
    println!(
        "metrics through uhttpd (real uhttpd + rpcd, one connection per request), median of {RUNS}; \
         {series} samples, {} bytes, 50 clients",
        r.body.len()
    );
    for ((name, _, _), d) in cases.iter().zip(&med) {
        println!(
            "  {name:<24} {:8.2} ms   / do-nothing = {:.2}x",
            ms(*d),
            ms(*d) / base
        );
    }

    // Child processes of one metrics run (the CGI alone, as uhttpd runs it).
    let trace = std::env::temp_dir().join(format!("jm-bench-mstrace-{}", std::process::id()));
    let st = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=execve", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_jammonitor"))
        .env_clear()
        .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
        .env("JAMMONITOR_ROOT", &root.path)
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/api/metrics")
        .env("QUERY_STRING", "")
        .env("HTTP_AUTHORIZATION", &token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let execs = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    let children = execs
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("= -1"))
        .count()
        .saturating_sub(1);
    println!("  child processes of one metrics run: {children}   (budget 0)");
    report::about(
        "cgi_metrics",
        &format!(
            "GET metrics (Prometheus exposition: 3 WANs, 50 clients with per-client series on, \
             {series} samples) through the real uhttpd in a namespace shaped like the router, \
             against a do-nothing CGI under the same uhttpd; medians of {RUNS} interleaved \
             requests, one connection each."
        ),
    );
    let names = [
        "uhttpd_metrics_token",
        "uhttpd_metrics_session",
        "uhttpd_overview",
    ];
    let notes = [
        "scrape token (what Prometheus sends); rpcd not asked",
        "LuCI session checked by rpcd",
        "the page's poll, for scale",
    ];
    for i in 0..3 {
        report::vs(
            &format!("cgi_metrics.{}", names[i]),
            ms(med[i]),
            "ms",
            "do-nothing-cgi-same-uhttpd",
            base,
            "-",
            notes[i],
        );
    }
    report::vs(
        "cgi_metrics.metrics_vs_overview",
        ms(med[0]),
        "ms",
        "overview-same-uhttpd",
        ms(med[2]),
        "-",
        "what metrics adds to overview's reads: live ring, collector status, two SQLite queries",
    );
    report::abs(
        "cgi_metrics.child_processes",
        children as f64,
        "count",
        "value==0",
        "",
    );
    assert_eq!(children, 0, "budget: no child process");
}
