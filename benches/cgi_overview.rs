//! `make bench`: `overview` against a namespace shaped like the BPI-R4 router (3 WANs, LAN bridge,
//! tun0, MPTCP endpoints), authorized by the real rpcd of the test root (ubus socket).
//! 1. Through the router's web stack: `overview` served by the real uhttpd (OpenWrt's flags) vs a
//!    do-nothing CGI under the same uhttpd, one connection per request, medians of 250 each,
//!    interleaved, as ratios. The budget (≤ 1.5×, DESIGN §11) is on the binary that ships
//!    (`JM_BENCH_SHIPPED_CGI`, default `make static-build`'s: the multi-call binary linked static,
//!    as the router's package links it) against a static (`cc -static`) do-nothing CGI, with the collector
//!    running as on the router (requests serve its Overview snapshot, `store::snapshot`). Also
//!    reported: the same without the collector (every request builds), and the test bed's
//!    dynamic CGI against a dynamic do-nothing.
//! 2. The CGI alone, process start to exit: median wall time, the child processes it spawns
//!    (strace; budget 0), and ratios against the exec floor (a static no-op) and the
//!    predecessor's shell pipelines for the same data.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use common::uhttpd::{Uhttpd, http_get};
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 300;
const UHTTPD_RUNS: usize = 250;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..10 {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn cgi(root: &TestRoot, sid: &str, prefix: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_jammonitor");
    let mut c = Command::new(prefix.first().copied().unwrap_or(bin));
    c.args(prefix.iter().skip(1))
        .args(if prefix.is_empty() { vec![] } else { vec![bin] });
    c.env_clear()
        .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
        .env("JAMMONITOR_ROOT", &root.path)
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/api/overview")
        .env("QUERY_STRING", "")
        .env("HTTP_AUTHORIZATION", format!("Bearer {sid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn main() {
    assert!(is_root(), "the bench needs root (network namespace)");
    let root = TestRoot::new(true);
    let ns = mini_router("bench");
    let sid = root.session(true, false);

    // Everything below runs inside the namespace: enter it once for this process.
    let f = std::fs::File::open(format!("/run/netns/{}", ns.name)).unwrap();
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();

    let out = cgi(&root, &sid, &[])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Status: 200"), "overview failed: {text}");

    // Profiling hook (not a measurement): run a shell command inside this set-up (root, namespace,
    // session) with JM_ROOT, JM_SID and JM_BIN exported, then stop.
    if let Ok(cmd) = std::env::var("JM_BENCH_SHELL") {
        let st = Command::new("/bin/sh")
            .args(["-c", &cmd])
            .env("JM_ROOT", &root.path)
            .env("JM_SID", &sid)
            .env("JM_BIN", env!("CARGO_BIN_EXE_jammonitor"))
            .status()
            .unwrap();
        // the bus daemons, the root and the namespace go with these (exit runs no destructor)
        drop(root);
        drop(ns);
        std::process::exit(st.code().unwrap_or(1));
    }
    let cgi_t = time(RUNS, || {
        cgi(&root, &sid, &[]).status().unwrap();
    });
    // The shipped multi-call binary (the collector called as `jammonitor`), when built.
    let multi = common::repo().join("target/release/jammonitor-collector");
    let multi_t = multi.exists().then(|| {
        let link = std::env::temp_dir().join(format!("jm-bench-{}/jammonitor", std::process::id()));
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&multi, &link).unwrap();
        let t = time(RUNS, || {
            let c = cgi(&root, &sid, &[]);
            std::process::Command::new(&link)
                .env_clear()
                .envs(
                    c.get_envs()
                        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .unwrap();
        });
        std::fs::remove_dir_all(link.parent().unwrap()).unwrap();
        t
    });
    let floor_t = time(RUNS, || {
        Command::new("/bin/true").status().unwrap();
    });
    let script = common::repo().join("benches/baseline/predecessor_overview.sh");
    let base_t = time(30, || {
        Command::new("/bin/sh")
            .arg(&script)
            .env("JAMMONITOR_ROOT", &root.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
    });

    // Child processes: every execve after the CGI's own.
    let trace = std::env::temp_dir().join(format!("jm-bench-strace-{}", std::process::id()));
    let st = cgi(
        &root,
        &sid,
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=execve",
            "-o",
            trace.to_str().unwrap(),
        ],
    )
    .status()
    .unwrap();
    assert!(st.success());
    let execs = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    let children: Vec<String> = execs
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("= -1"))
        .skip(1)
        .map(|l| l.split('"').nth(1).unwrap_or("?").to_string())
        .collect();

    let shipped = shipped_cgi();
    let u = Uhttpd::start(&root, 18590);
    let paths = serve_pairs(&root, &u, &sid, &shipped);
    // Without the collector every request builds its answer (a router whose collector is
    // stopped, or a page's first poll).
    let building = interleaved(&u, &root, &sid, &paths, UHTTPD_RUNS);
    // As on the router: the collector (the shipped binary) runs, and while the page polls it
    // keeps the Overview snapshot that requests serve.
    let collector = Snapshots::start(&root, &sid, &shipped);
    let serving = interleaved(&u, &root, &sid, &paths, UHTTPD_RUNS);
    let (builds, build_cpu_us) = collector.stop(&root);
    let [ov_u, st_u, dy_u, dn_u, acc_u] = serving.map(ms);
    let [bov_u, bst_u, bdy_u, bdn_u, _] = building.map(ms);
    println!(
        "overview through uhttpd (real uhttpd + rpcd, one connection per request), medians of {UHTTPD_RUNS}, interleaved"
    );
    println!("  shipped binary (static multi-call) vs a static do-nothing CGI:");
    println!(
        "    collector running (snapshot): {ov_u:.2} ms / {st_u:.2} ms = {:.2}x   (budget <= 1.5x)",
        ov_u / st_u
    );
    println!(
        "    collector stopped (building): {bov_u:.2} ms / {bst_u:.2} ms = {:.2}x",
        bov_u / bst_u
    );
    println!("  test bed's dynamic CGI vs a dynamic do-nothing CGI:");
    println!(
        "    collector running (snapshot): {dy_u:.2} ms / {dn_u:.2} ms = {:.2}x",
        dy_u / dn_u
    );
    println!(
        "    collector stopped (building): {bdy_u:.2} ms / {bdn_u:.2} ms = {:.2}x",
        bdy_u / bdn_u
    );
    println!(
        "  rpcd `session access` alone (fresh connection: connect, LOOKUP, INVOKE) {acc_u:.2} ms"
    );
    println!(
        "  floor for any authorized CGI: (static do-nothing + session access) / static do-nothing = {:.2}x",
        (st_u + acc_u) / st_u
    );
    let build_ms = build_cpu_us as f64 / builds.max(1) as f64 / 1000.0;
    println!(
        "  the collector's cost while a page watches: {builds} snapshots, {build_ms:.2} ms CPU each (once a second)"
    );
    println!("overview CGI (process start to exit), median of {RUNS} runs");
    println!("  jammonitor overview      {:8.2} ms", ms(cgi_t));
    println!(
        "  exec floor (/bin/true)   {:8.2} ms   cgi/floor    = {:.2}",
        ms(floor_t),
        ms(cgi_t) / ms(floor_t)
    );
    println!(
        "  predecessor pipelines    {:8.2} ms   cgi/baseline = {:.3} ({:.1}x faster)",
        ms(base_t),
        ms(cgi_t) / ms(base_t),
        ms(base_t) / ms(cgi_t)
    );
    if let Some(t) = multi_t {
        println!(
            "  shipped multi-call binary {:7.2} ms   multi/cgi    = {:.2}",
            ms(t),
            ms(t) / ms(cgi_t)
        );
    }
    println!(
        "  child processes of one overview run: {} {:?}   (budget 0)",
        children.len(),
        children
    );
    report::about(
        "cgi_overview",
        "GET overview on a namespace shaped like the router (3 WANs, LAN bridge, tun0), authorized by \
         the real rpcd: through the real uhttpd against a do-nothing CGI under the same uhttpd, and \
         the CGI alone against the exec floor and the predecessor's shell pipelines.",
    );
    report::vs(
        "cgi_overview.uhttpd_overview",
        ov_u,
        "ms",
        "static-do-nothing-cgi-same-uhttpd",
        st_u,
        "ratio<=1.5",
        &format!(
            "the shipped static binary, collector running (snapshot); median of {UHTTPD_RUNS}, one connection per request"
        ),
    );
    report::vs(
        "cgi_overview.uhttpd_overview_building",
        bov_u,
        "ms",
        "static-do-nothing-cgi-same-uhttpd",
        bst_u,
        "-",
        &format!(
            "the shipped static binary, collector stopped: every request builds; median of {UHTTPD_RUNS}"
        ),
    );
    report::vs(
        "cgi_overview.uhttpd_overview_dynamic",
        dy_u,
        "ms",
        "dynamic-do-nothing-cgi-same-uhttpd",
        dn_u,
        "-",
        &format!(
            "the test bed's dynamic CGI, collector running; without it {bdy_u:.2} ms / {bdn_u:.2} ms = {:.2}",
            bdy_u / bdn_u
        ),
    );
    report::vs(
        "cgi_overview.snapshot_build_cpu",
        build_ms,
        "ms",
        "cgi-process-start-to-exit",
        ms(cgi_t),
        "-",
        &format!(
            "collector CPU per snapshot, once a second while a page shows the Overview ({builds} builds)"
        ),
    );
    report::vs(
        "cgi_overview.rpcd_session_access",
        acc_u,
        "ms",
        "static-do-nothing-cgi-same-uhttpd",
        st_u,
        "-",
        "the session check every authorized request pays",
    );
    report::vs(
        "cgi_overview.cgi_vs_predecessor",
        ms(cgi_t),
        "ms",
        "predecessor-pipelines",
        ms(base_t),
        "ratio<=1",
        &format!("process start to exit, median of {RUNS}"),
    );
    report::vs(
        "cgi_overview.cgi_vs_exec_floor",
        ms(cgi_t),
        "ms",
        "exec-floor-bin-true",
        ms(floor_t),
        "-",
        "",
    );
    if let Some(t) = multi_t {
        report::vs(
            "cgi_overview.multicall_binary",
            ms(t),
            "ms",
            "cgi-binary",
            ms(cgi_t),
            "-",
            "the shipped collector binary called as `jammonitor`",
        );
    }
    report::abs(
        "cgi_overview.child_processes",
        children.len() as f64,
        "count",
        "value==0",
        "",
    );
    assert!(children.is_empty(), "budget: no child process");
}

// ---- through the router's web stack ---------------------------------------------------------------

/// One `session access` question to rpcd as the CGI asks it (a fresh connection: connect,
/// LOOKUP, INVOKE), from this process: the floor every authorized request pays.
fn session_access(root: &TestRoot, sid: &str) {
    use jammonitor::system::{Root, ubus};
    let mut args = serde_json::Map::new();
    args.insert("ubus_rpc_session".into(), sid.into());
    args.insert("scope".into(), "access-group".into());
    args.insert("object".into(), jammonitor::auth::ACL_GROUP.into());
    args.insert("function".into(), "read".into());
    let mut bus =
        ubus::Ubus::connect(&Root::new(&root.path), Duration::from_secs(1), 4096).unwrap();
    let r = bus.call("session", "access", &args).unwrap();
    assert_eq!(r.get("access"), Some(&serde_json::Value::Bool(true)));
}

/// The multi-call binary linked static as the router's package links it (`make static-build`).
fn shipped_cgi() -> std::path::PathBuf {
    let p = std::env::var_os("JM_BENCH_SHIPPED_CGI")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let host = String::from_utf8(Command::new("rustc").arg("-vV").output().unwrap().stdout)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(String::from))
                .unwrap();
            common::repo().join(format!(
                "build/static-target/{host}/release/jammonitor-collector"
            ))
        });
    assert!(
        p.exists(),
        "{} missing: `make static-build` builds it (`make bench` does)",
        p.display()
    );
    p
}

/// Puts the shipped binary (as `ship/jammonitor`: the multi-call binary is the CGI by that
/// name) and a static do-nothing CGI beside the test bed's CGI and dynamic do-nothing, checks
/// each answers (and that auth is the real rpcd's), and returns the paths in the order
/// [`interleaved`] measures them.
fn serve_pairs(
    root: &TestRoot,
    u: &Uhttpd,
    sid: &str,
    shipped: &std::path::Path,
) -> [&'static str; 4] {
    let cgi = root.file("www/cgi-bin");
    std::fs::create_dir_all(cgi.join("ship")).unwrap();
    std::fs::copy(shipped, cgi.join("ship/jammonitor")).unwrap();
    let ok = Command::new("cc")
        .args(["-O2", "-static", "-o"])
        .arg(cgi.join("nothingstatic"))
        .arg(root.file("nothing.c"))
        .status()
        .unwrap();
    assert!(ok.success(), "cc -static nothing.c (libc6-dev's libc.a)");
    let paths = [
        "/cgi-bin/ship/jammonitor/api/overview",
        "/cgi-bin/nothingstatic",
        "/cgi-bin/jammonitor/api/overview",
        "/cgi-bin/nothing",
    ];
    for p in paths {
        assert_eq!(http_get(u.port, p, sid), 200, "{p} through uhttpd");
    }
    let bad = "0123456789abcdef0123456789abcdef";
    for p in [paths[0], paths[2]] {
        assert_eq!(
            http_get(u.port, p, bad),
            403,
            "{p}: auth through the real rpcd"
        );
    }
    paths
}

/// Medians of `n` requests of each path and of rpcd's `session access` round trip alone,
/// interleaved (so load changes hit all alike).
fn interleaved(
    u: &Uhttpd,
    root: &TestRoot,
    sid: &str,
    paths: &[&str; 4],
    n: usize,
) -> [Duration; 5] {
    let mut t: [Vec<Duration>; 5] = Default::default();
    for i in 0..n + 10 {
        for (k, p) in paths.iter().enumerate() {
            let t0 = Instant::now();
            assert_eq!(http_get(u.port, p, sid), 200, "{p}");
            if i >= 10 {
                t[k].push(t0.elapsed());
            }
        }
        let t0 = Instant::now();
        session_access(root, sid);
        if i >= 10 {
            t[4].push(t0.elapsed());
        }
    }
    t.map(median)
}

/// The collector (the shipped multi-call binary) running on the bench's root, inside the
/// namespace this process entered, its Overview snapshot fresh before any request is timed.
struct Snapshots(std::process::Child);

impl Snapshots {
    fn start(root: &TestRoot, sid: &str, bin: &std::path::Path) -> Snapshots {
        let child = Command::new(bin)
            .arg("--root")
            .arg(&root.path)
            .arg("--foreground")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // one request says the Overview is watched; the collector's next period builds it
        let snap = root.file("var/run/jammonitor/overview.json");
        wait_for(10, "the collector's first Overview snapshot", || {
            cgi(root, sid, &[]).status().unwrap();
            std::fs::metadata(&snap)
                .and_then(|m| m.modified())
                .is_ok_and(|m| m.elapsed().is_ok_and(|a| a < Duration::from_millis(1500)))
        });
        Snapshots(child)
    }

    /// Stops it (SIGTERM, as procd does); (snapshots built, their CPU µs) from its status.
    fn stop(mut self, root: &TestRoot) -> (u64, u64) {
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
        assert!(
            !root.file("var/run/jammonitor/overview.json").exists(),
            "a stopped collector leaves no snapshot behind"
        );
        // written once more on stop, with the snapshot counters
        let status: serde_json::Value =
            serde_json::from_str(&root.read("var/run/jammonitor/collector.json")).unwrap();
        (
            status["snapshot_builds"].as_u64().unwrap_or(0),
            status["snapshot_cpu_us"].as_u64().unwrap_or(0),
        )
    }
}
