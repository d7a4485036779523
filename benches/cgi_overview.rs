//! `make bench`: `overview` against a namespace shaped like the BPI-R4 router (3 WANs, LAN bridge,
//! tun0, MPTCP endpoints), authorized by the real rpcd of the test root (ubus socket).
//! 1. Through the router's web stack: `overview` served by the real uhttpd (OpenWrt's flags) vs a
//!    do-nothing CGI under the same uhttpd, one connection per request, medians of 250 each,
//!    interleaved, as a ratio (budget ≤ 1.5×, DESIGN §11).
//!    With `JM_BENCH_STATIC_CGI=<a static build of the CGI>` (built as docs/architecture.md
//!    says), the same pair again for a static binary against a static (`cc -static`) do-nothing
//!    CGI, interleaved with the first: whether the dynamic loader is what the ratio pays for.
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

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (ov_u, st_u, acc_u) = through_uhttpd(&root, &sid, UHTTPD_RUNS);
    println!(
        "overview through uhttpd (real uhttpd + rpcd, one connection per request), median of {UHTTPD_RUNS}"
    );
    println!("  GET /cgi-bin/jammonitor/api/overview {:8.2} ms", ms(ov_u));
    println!("  GET /cgi-bin/nothing (do-nothing)   {:8.2} ms", ms(st_u));
    println!(
        "  overview / do-nothing = {:.2}x   (budget <= 1.5x)",
        ms(ov_u) / ms(st_u)
    );
    println!(
        "  rpcd `session access` alone (fresh connection: connect, HELLO, LOOKUP, INVOKE) {:.2} ms",
        ms(acc_u)
    );
    println!(
        "  floor for any authorized CGI: (do-nothing + session access) / do-nothing = {:.2}x",
        (ms(st_u) + ms(acc_u)) / ms(st_u)
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
        ms(ov_u),
        "ms",
        "do-nothing-cgi-same-uhttpd",
        ms(st_u),
        "ratio<=1.5",
        &format!("median of {UHTTPD_RUNS}, one connection per request"),
    );
    report::vs(
        "cgi_overview.rpcd_session_access",
        ms(acc_u),
        "ms",
        "do-nothing-cgi-same-uhttpd",
        ms(st_u),
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
/// HELLO, LOOKUP, INVOKE), from this process: the floor every authorized request pays.
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

/// Medians of `n` requests each, interleaved (so load changes hit all alike): overview, the
/// do-nothing CGI, and rpcd's `session access` round trip alone.
fn through_uhttpd(root: &TestRoot, sid: &str, n: usize) -> (Duration, Duration, Duration) {
    let u = Uhttpd::start(root, 18590);
    assert_eq!(
        http_get(u.port, "/cgi-bin/jammonitor/api/overview", sid),
        200,
        "overview through uhttpd"
    );
    assert_eq!(http_get(u.port, "/cgi-bin/nothing", sid), 200);
    if let Ok(stat) = std::env::var("JM_BENCH_STATIC_CGI") {
        static_pair(root, sid, &u, &stat, n);
    }
    let bad = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        http_get(u.port, "/cgi-bin/jammonitor/api/overview", bad),
        403,
        "auth through the real rpcd"
    );
    let (mut ov, mut st, mut acc) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n + 10 {
        let t = Instant::now();
        assert_eq!(
            http_get(u.port, "/cgi-bin/jammonitor/api/overview", sid),
            200
        );
        let a = t.elapsed();
        let t = Instant::now();
        assert_eq!(http_get(u.port, "/cgi-bin/nothing", sid), 200);
        let b = t.elapsed();
        let t = Instant::now();
        session_access(root, sid);
        let c = t.elapsed();
        if i >= 10 {
            ov.push(a);
            st.push(b);
            acc.push(c);
        }
    }
    (median(ov), median(st), median(acc))
}

/// The static pair (JM_BENCH_STATIC_CGI): a static build of the CGI and a static do-nothing CGI,
/// interleaved with the dynamic pair under the same uhttpd; printed and reported, then the run
/// goes on.
fn static_pair(root: &TestRoot, sid: &str, u: &Uhttpd, stat: &str, n: usize) {
    let cgi = root.file("www/cgi-bin");
    std::fs::copy(stat, cgi.join("jmstatic")).unwrap();
    let ok = Command::new("cc")
        .args(["-O2", "-static", "-o"])
        .arg(cgi.join("nothingstatic"))
        .arg(root.file("nothing.c"))
        .status()
        .unwrap();
    assert!(ok.success(), "cc -static nothing.c (libc6-dev's libc.a)");
    let paths = [
        "/cgi-bin/jammonitor/api/overview",
        "/cgi-bin/nothing",
        "/cgi-bin/jmstatic/api/overview",
        "/cgi-bin/nothingstatic",
    ];
    let mut t: [Vec<Duration>; 4] = Default::default();
    for i in 0..n + 10 {
        for (k, p) in paths.iter().enumerate() {
            let t0 = Instant::now();
            assert_eq!(http_get(u.port, p, sid), 200, "{p}");
            if i >= 10 {
                t[k].push(t0.elapsed());
            }
        }
    }
    let [dy, dn, st, sn] = t.map(|v| median(v).as_secs_f64() * 1000.0);
    println!("static build through uhttpd, median of {n}, interleaved with the dynamic pair");
    println!(
        "  dynamic: overview {dy:.2} ms / do-nothing {dn:.2} ms = {:.2}x",
        dy / dn
    );
    println!(
        "  static:  overview {st:.2} ms / do-nothing {sn:.2} ms = {:.2}x",
        st / sn
    );
    report::vs(
        "cgi_overview.uhttpd_overview_static",
        st,
        "ms",
        "static-do-nothing-cgi-same-uhttpd",
        sn,
        "-",
        &format!(
            "static non-PIE build, median of {n}; the dynamic pair in the same loop: {:.3}",
            dy / dn
        ),
    );
}
