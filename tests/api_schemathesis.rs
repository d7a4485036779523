//! schemathesis (PyPI, pinned in tests/schemathesis/requirements.txt, installed into
//! build/schemathesis by tests/bed/install-deps.sh) against the running API, driven by
//! docs/openapi.json (issue 18): the real uhttpd (OpenWrt's flags) runs the real CGI, authorized
//! by the test root's real rpcd with a read+write session, in a private network namespace shaped
//! like the router. Checks: no 5xx, and every answer inside docs/openapi.json (status codes,
//! content types, response schemas).
//!
//! Write actions run against a throwaway root: uhttpd runs a two-line wrapper CGI that sets
//! JAMMONITOR_ROOT (as tests/rig/serve.sh does), so every path and every program the actions use
//! resolve under the test root — nothing of this machine is written, mounted or formatted.
//!
//! Bounded in `make test`: JM_SCHEMATHESIS_EXAMPLES (default 6) examples per operation and
//! phase, a fixed seed (JM_SCHEMATHESIS_SEED) so a run is reproducible; `make soak` raises it.
//! Prints `schemathesis: <operations> operations, <cases> test cases, <failures> failures`.
mod collector_util;
mod common;
use common::uhttpd::{self, Uhttpd};
use common::*;
use std::process::Command;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// A root with state for the reads to return (a collector sample, leases) and a server.
struct Bed {
    root: TestRoot,
    _reap: Reap,
    ns: Netns,
    server: Uhttpd,
    sid: String,
}

fn bed() -> Bed {
    assert!(
        is_root(),
        "needs root (network namespace, mount namespace for uhttpd)"
    );
    let root = TestRoot::new(false);
    let ns = mini_router("schema");
    let sid = root.session(true, true);
    let port = uhttpd::free_port();
    let server = Uhttpd::start_in(&root, port, Some(&ns.name));
    // The throwaway root: uhttpd execs this wrapper with its wiped environment; the wrapper adds
    // the root (the one thing uhttpd cannot set) and execs the CGI built for this test.
    let cgi = root.file("www/cgi-bin/jammonitor");
    std::fs::remove_file(&cgi).unwrap();
    std::fs::write(
        &cgi,
        format!(
            "#!/bin/sh\nJAMMONITOR_ROOT='{}' exec '{}'\n",
            root.path.display(),
            env!("CARGO_BIN_EXE_jammonitor")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cgi, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The package ships /etc/init.d/jammonitor-collector; here the browser tests' double of it
    // (tests/browser/lib/collector-init.sh: procd's contract, reduced) starts and stops the real
    // collector in the bed. Without it collector.start/stop answered 500 (the first runs found that).
    let init = std::fs::read_to_string(repo().join("tests/browser/lib/collector-init.sh"))
        .unwrap()
        .replace(
            "@COLLECTOR@",
            collector_util::collector_bin().to_str().unwrap(),
        )
        .replace("@INTERVAL@", "5")
        .replace("@LOG@", root.file("collector.log").to_str().unwrap());
    let script = root.file("etc/init.d/jammonitor-collector");
    std::fs::write(&script, init).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    Bed {
        _reap: Reap(root.path.clone()),
        root,
        ns,
        server,
        sid,
    }
}

/// Kills a collector that collector.start left running (the init double detaches it).
struct Reap(std::path::PathBuf);
impl Drop for Reap {
    fn drop(&mut self) {
        let st: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.0.join("var/run/jammonitor/collector.json"))
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        if let Some(pid) = st["pid"].as_i64().filter(|_| st["state"] != "stopped") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Runs schemathesis against the bed; (exit success, its JSON-ish summary, stdout).
fn schemathesis(b: &Bed, extra: &[&str]) -> (bool, String) {
    let exe = repo().join("build/schemathesis/bin/schemathesis");
    assert!(
        exe.exists(),
        "schemathesis is not installed: run tests/bed/install-deps.sh (make deps)"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", &b.ns.name])
        .arg(&exe)
        .args(["run", "docs/openapi.json", "--url"])
        .arg(format!(
            "http://127.0.0.1:{}/cgi-bin/jammonitor/api",
            b.server.port
        ))
        .args(["-H", &format!("Authorization: Bearer {}", b.sid)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
            "--suppress-health-check",
            "all",
        ])
        .args(extra)
        .current_dir(repo())
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn api_conforms_to_openapi_under_schemathesis() {
    let b = bed();
    // Something for the history reads to return.
    let r = Req::get("overview", &b.sid).run(&b.root);
    assert_eq!(r.status, 200, "the bed answers: {:?}", r.json());
    if let Ok(secs) = std::env::var("JM_SCHEMATHESIS_HOLD") {
        // Debug aid: keep the bed up to run schemathesis by hand.
        println!(
            "ip netns exec {} build/schemathesis/bin/schemathesis run docs/openapi.json --url http://127.0.0.1:{}/cgi-bin/jammonitor/api -H 'Authorization: Bearer {}'",
            b.ns.name, b.server.port, b.sid
        );
        std::thread::sleep(std::time::Duration::from_secs(secs.parse().unwrap()));
    }
    let examples = env_or("JM_SCHEMATHESIS_EXAMPLES", "6");
    let seed = env_or("JM_SCHEMATHESIS_SEED", "18");
    let report = std::env::temp_dir().join(format!("jm-schemathesis-{}", std::process::id()));
    let (ok, text) = schemathesis(
        &b,
        &[
            "--max-examples",
            &examples,
            "--seed",
            &seed,
            "--report",
            "junit",
            "--report-junit-path",
            report.join("junit.xml").to_str().unwrap(),
        ],
    );
    println!("{text}");
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&report);
    // Operations tested = testcases in the JUnit report.
    let operations = junit.matches("<testcase").count();
    let cases = summary_after(&text, "Test cases:");
    let failures = summary_after(&text, "Failures:");
    let tested = summary_after(&text, "API Operations:");
    println!(
        "schemathesis: {operations} operations ({tested}), test cases: {cases}, failures: {failures}, \
         seed {seed}, {examples} examples per operation and phase; passed: {ok}"
    );
    assert!(
        operations >= 30,
        "every operation of docs/openapi.json is tested ({operations})"
    );
    assert!(ok, "schemathesis found failures (output above)");
}

/// The line after `label` in schemathesis's summary ("Test cases:\n  1204 generated, …").
fn summary_after(text: &str, label: &str) -> String {
    let mut lines = text.lines().skip_while(|l| l.trim() != label);
    lines.next();
    lines
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}
