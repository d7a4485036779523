//! `make bench`: does a diagnostic bundle being built slow the dashboard down? The `overview` CGI
//! (process start to exit) against a namespace shaped like the router, measured idle and then
//! while `diag.bundle` jobs run back to back, in the same run; reported as medians, p90 and the
//! ratio loaded/idle (issue 15: overview must keep its budget while a bundle runs).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 200;

fn cgi(root: &TestRoot, sid: &str, method: &str, action: &str, query: &str, body: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jammonitor"));
    c.env_clear()
        .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
        .env("JAMMONITOR_ROOT", &root.path)
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", format!("/api/{action}"))
        .env("QUERY_STRING", query)
        .env("HTTP_HOST", "192.168.100.1")
        .env("HTTP_AUTHORIZATION", format!("Bearer {sid}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if method == "POST" {
        c.env("CONTENT_LENGTH", body.len().to_string())
            .env("CONTENT_TYPE", "application/json");
    }
    c
}

fn call(root: &TestRoot, sid: &str, method: &str, action: &str, query: &str, body: &str) -> Value {
    let mut child = cgi(root, sid, method, action, query, body).spawn().unwrap();
    {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        let _ = i.write_all(body.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    let r = parse_cgi(&out.stdout);
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn overview(root: &TestRoot, sid: &str) -> Duration {
    let t = Instant::now();
    let st = cgi(root, sid, "GET", "overview", "", "")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let d = t.elapsed();
    assert!(st.success());
    d
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    assert!(is_root(), "the bench needs root (network namespace)");
    let root = TestRoot::new(true);
    let ns = mini_router("benchdiag");
    let rw = root.session(true, true);
    let f = std::fs::File::open(format!("/run/netns/{}", ns.name)).unwrap();
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();

    for _ in 0..10 {
        overview(&root, &rw);
    }
    let mut idle: Vec<Duration> = (0..RUNS).map(|_| overview(&root, &rw)).collect();

    // Under load: bundles back to back; only samples taken while a job is running count.
    let mut loaded = Vec::new();
    let mut bundles = 0;
    let t0 = Instant::now();
    while loaded.len() < RUNS && t0.elapsed() < Duration::from_secs(300) {
        let started = call(&root, &rw, "POST", "diag.bundle", "", "{}");
        if started["error"]["code"] == "conflict" {
            // the previous job wrote `done` but its supervisor has not exited yet
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let id = match started["data"]["job"]["id"].as_str() {
            Some(id) => id.to_string(),
            None => panic!("diag.bundle did not start: {started}"),
        };
        bundles += 1;
        loop {
            let j = call(&root, &rw, "GET", "job", &format!("id={id}"), "");
            if j["data"]["state"] != "running" {
                assert_eq!(j["data"]["state"], "done", "bundle failed: {j}");
                break;
            }
            for _ in 0..5 {
                loaded.push(overview(&root, &rw));
            }
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (i50, i90) = (pct(&mut idle, 0.5), pct(&mut idle, 0.9));
    let (l50, l90) = (pct(&mut loaded, 0.5), pct(&mut loaded, 0.9));
    println!("overview CGI while a diagnostic bundle is built (same run, same namespace)");
    println!(
        "  idle                {:8.2} ms median  {:8.2} ms p90  ({} runs)",
        ms(i50),
        ms(i90),
        idle.len()
    );
    println!(
        "  during diag.bundle  {:8.2} ms median  {:8.2} ms p90  ({} runs, {bundles} bundles)",
        ms(l50),
        ms(l90),
        loaded.len()
    );
    println!(
        "  ratio during/idle   median {:.2}   p90 {:.2}",
        ms(l50) / ms(i50),
        ms(l90) / ms(i90)
    );
    report::about(
        "diag_overview",
        "The overview CGI (process start to exit) while diag.bundle jobs are built back to back, \
         against the same CGI idle in the same run and namespace.",
    );
    report::vs(
        "diag_overview.median_during_bundle",
        ms(l50),
        "ms",
        "idle-median",
        ms(i50),
        "ratio<=1.5",
        &format!("{} runs, {bundles} bundles", loaded.len()),
    );
    report::vs(
        "diag_overview.p90_during_bundle",
        ms(l90),
        "ms",
        "idle-p90",
        ms(i90),
        "-",
        "",
    );
}
