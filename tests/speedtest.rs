//! Speed test (issue 16): what `speedtest.start` refuses before anything starts, on a fixture
//! root with the real uci configs, rpcd logins and the real CGI binary. The transfers themselves
//! run in tests/speedtest_rig.rs (namespaces with rate-limited links).
//!
//! - every invalid field is a 400 naming it, including a size or direction the chosen server
//!   does not offer (the rig's config mirrors the defaults: CacheFly has no 25 MB file and no
//!   upload), and no job is started;
//! - VPS bypass active, a WAN write in progress (its lock held, or its journal left open), a
//!   test already running (the job kind's lock held): 409 with a code saying which; and the
//!   reverse: while a test runs, WAN writes and the bypass are 409 `speedtest_running`;
//! - auth: no session, read-only session on the write.
mod common;

use common::*;
use nix::fcntl::{Flock, FlockArg};

fn start(root: &TestRoot, sid: &str, body: &str) -> Resp {
    Req::post("speedtest.start", sid, body).run(root)
}

fn jobs_started(root: &TestRoot) -> usize {
    std::fs::read_dir(root.file("var/run/jammonitor/jobs"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with("speedtest-") && n.ends_with(".json")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Holds the lock file `rel` of the root as its owner would (a WAN write's area lock, a job's
/// kind lock) until dropped.
fn hold(root: &TestRoot, rel: &str) -> Flock<std::fs::File> {
    let p = root.file(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
        .unwrap();
    Flock::lock(f, FlockArg::LockExclusive).unwrap()
}

const OK: &str = r#"{"wan":"wan1","direction":"download","size_mb":10,"server":"cloudflare"}"#;

#[test]
fn refusals_name_the_field_and_start_nothing() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    let cases: &[(&str, &str)] = &[
        (
            r#"{"wan":"wan1","direction":"download","size_mb":25,"server":"cachefly"}"#,
            "size_mb",
        ),
        (
            r#"{"wan":"wan1","direction":"upload","size_mb":10,"server":"cachefly"}"#,
            "direction",
        ),
        (
            r#"{"wan":"wan1","direction":"download","size_mb":7,"server":"cloudflare"}"#,
            "size_mb",
        ),
        (
            r#"{"wan":"wan1","direction":"download","size_mb":7,"server":"auto"}"#,
            "size_mb",
        ),
        (
            r#"{"wan":"wan1","direction":"download","size_mb":1001,"server":"auto"}"#,
            "size_mb",
        ),
        (
            r#"{"wan":"wan1","direction":"download","size_mb":"10","server":"auto"}"#,
            "size_mb",
        ),
        (
            r#"{"wan":"wan1","direction":"sideways","size_mb":10,"server":"auto"}"#,
            "direction",
        ),
        (
            r#"{"wan":"wan1","direction":"download","size_mb":10,"server":"ookla"}"#,
            "server",
        ),
        (
            r#"{"wan":"lan","direction":"download","size_mb":10,"server":"auto"}"#,
            "wan",
        ),
        (
            r#"{"wan":"wan9","direction":"download","size_mb":10,"server":"auto"}"#,
            "wan",
        ),
        (
            r#"{"direction":"download","size_mb":10,"server":"auto"}"#,
            "wan",
        ),
        (
            r#"{"wan":"wan1","direction":"download","size_mb":10,"server":"auto","rate":1}"#,
            "rate",
        ),
    ];
    for (body, field) in cases {
        let r = start(&root, &sid, body);
        assert_eq!(
            r.status,
            400,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.error_code(), "invalid_field", "{body}");
        assert_eq!(r.json()["error"]["field"], *field, "{body}: {}", r.json());
    }
    // The message names the server's real offer.
    let r = start(
        &root,
        &sid,
        r#"{"wan":"wan1","direction":"download","size_mb":25,"server":"cachefly"}"#,
    );
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("2 MB, 5 MB, 10 MB, 100 MB"), "{msg}");
    assert_eq!(jobs_started(&root), 0, "a refused request started a job");

    // The page's view: servers with what each offers, the WANs, nothing blocking, no history.
    let d = Req::get("speedtest", &sid).run(&root).data();
    let servers = d["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{d:#}");
    assert_eq!(servers[0]["id"], "cloudflare");
    assert_eq!(
        servers[0]["directions"],
        serde_json::json!(["download", "upload"])
    );
    assert_eq!(servers[1]["id"], "cachefly");
    assert_eq!(servers[1]["directions"], serde_json::json!(["download"]));
    assert_eq!(servers[1]["sizes"], serde_json::json!([2, 5, 10, 100]));
    // URLs are not part of the answer (the page needs none); the host is.
    assert!(servers[0].get("download").is_none());
    assert_eq!(servers[0]["host"], "203.0.113.10");
    let wans: Vec<&str> = d["wans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(wans, ["wan1", "wan2", "wan3"]);
    assert!(d["blocked"].is_null());
    assert!(d["job"].is_null());
    assert_eq!(d["history"], serde_json::json!([]));
    let mut q = Req::get("speedtest", &sid);
    q.query = "wan=a%20b".into();
    assert_eq!(q.run(&root).json()["error"]["field"], "wan");
}

#[test]
fn refused_while_bypass_a_wan_write_or_another_test_runs() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);

    // VPS bypass on: the bypass journal exists (src/bypass.rs).
    root.write("etc/jammonitor/bypass.json", "{}");
    let r = start(&root, &sid, OK);
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "speedtest_bypass");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("VPS bypass is active")
    );
    let d = Req::get("speedtest", &sid).run(&root).data();
    assert_eq!(d["blocked"]["code"], "speedtest_bypass");
    std::fs::remove_file(root.file("etc/jammonitor/bypass.json")).unwrap();

    // A WAN write holds its area lock while it runs (src/txn.rs).
    let held = hold(&root, "var/run/jammonitor/wan.lock");
    let r = start(&root, &sid, OK);
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "wan_write_running");
    drop(held);

    // A WAN write whose process died left its journal: still refused until it is finished.
    root.write(
        "etc/jammonitor/journal/wan.json",
        r#"{"id":"wan-1700000000-0badc0de","intent":"wan.roles","params":{},"state":"prepared","files":[],"kernel":[],"job":null,"error":null}"#,
    );
    let d = Req::get("speedtest", &sid).run(&root).data();
    assert_eq!(d["blocked"]["code"], "wan_write_running", "{d:#}");
    std::fs::remove_file(root.file("etc/jammonitor/journal/wan.json")).unwrap();

    // Another test runs: the speedtest job's kind lock is held.
    let held = hold(&root, "var/run/jammonitor/jobs/speedtest.lock");
    let r = start(&root, &sid, OK);
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "speedtest_running");
    drop(held);
    assert_eq!(jobs_started(&root), 0);
}

/// The reverse: while a test runs, nothing that would reload its WAN starts. Every WAN write and
/// the VPS bypass answer 409 `speedtest_running`, start no job and change no config.
#[test]
fn a_running_test_refuses_wan_writes_and_the_bypass() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    let before = root.configs();
    let held = hold(&root, "var/run/jammonitor/jobs/speedtest.lock");
    for (action, body) in [
        ("wan.roles", r#"{"roles":{"wan2":"master"}}"#),
        ("wan.edit", r#"{"name":"wan2","label":"DSL"}"#),
        ("wan.managed", r#"{"wans":["wan1","wan2"]}"#),
        ("bypass.enable", r#"{"confirm":true}"#),
    ] {
        let r = Req::post(action, &sid, body).run(&root);
        assert_eq!(
            r.status,
            409,
            "{action}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.error_code(), "speedtest_running", "{action}");
    }
    assert_eq!(root.configs(), before);
    let jobs = std::fs::read_dir(root.file("var/run/jammonitor/jobs")).unwrap();
    assert_eq!(
        jobs.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count(),
        0,
        "no job started"
    );
    // The test ended: the same WAN write is taken (a label: no device to reload here).
    drop(held);
    let r = Req::post("wan.edit", &sid, r#"{"name":"wan2","label":"DSL"}"#).run_write(&root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(root.uci(&["get", "network.wan2.label"]), "DSL");
}

#[test]
fn auth() {
    let root = TestRoot::new(false);
    let ro = root.session(true, false);
    let r = Req::post("speedtest.start", &ro, OK).run(&root);
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "auth_readonly");
    let r = Req::post(
        "speedtest.cancel",
        &ro,
        r#"{"id":"speedtest-1700000000-0badc0de"}"#,
    )
    .run(&root);
    assert_eq!(r.status, 403);
    // Reading is allowed read-only; nothing without a session.
    assert_eq!(Req::get("speedtest", &ro).run(&root).status, 200);
    let r = Req::get("speedtest", "0000000000000000000000000000000f").run(&root);
    assert_eq!(r.status, 403);
    let r = Req::post("speedtest.start", "", OK).run(&root);
    assert!(r.status == 401 || r.status == 403, "{}", r.status);
    assert_eq!(jobs_started(&root), 0);
    // A cancel names a speed-test job id or is refused.
    let rw = root.session(true, true);
    let r = Req::post(
        "speedtest.cancel",
        &rw,
        r#"{"id":"diag-1700000000-0badc0de"}"#,
    )
    .run(&root);
    assert_eq!(r.json()["error"]["field"], "id");
}
