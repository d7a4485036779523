//! Authorization fails closed (DESIGN §4), checked against the router's real session service:
//! every TestRoot runs the real ubusd + rpcd built from tests/vendor/openwrt, with the bed's
//! logins (tests/bed/rpcd/rpcd.config) and ACL files, and the CGI asks rpcd over its native ubus
//! client. Every refusal is a 403 JSON answer and no action runs; "no action ran" is observable:
//! `overview` records a CPU sample in /var/run/jammonitor/cpu.stat and `wan.managed` rewrites
//! /etc/config/jammonitor. Faults the real stack cannot produce (a bus that hangs or talks
//! garbage) come from tests/doubles/ubus.
mod common;
use common::*;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

fn cpu_sample_taken(root: &TestRoot) -> bool {
    root.file("var/run/jammonitor/cpu.stat").exists()
}

fn refused(r: &Resp, code: &str) {
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (403, code),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["ok"], false);
}

fn managed_body() -> String {
    json!({"wans": ["wan1", "wan2"]}).to_string()
}

#[test]
fn malformed_sids_are_refused_before_the_bus_is_asked() {
    let root = TestRoot::new(false);
    // With the bus down, a request that reached it would answer auth_unavailable: these do not.
    root.stop_bus();
    let cases: Vec<Req> = vec![
        Req {
            headers: vec![],
            ..Req::get("overview", UNKNOWN)
        },
        Req::get("overview", "0123456789ABCDEF0123456789ABCDEF"),
        Req::get("overview", "0123456789abcdef"),
        Req::get("overview", "x").header("HTTP_AUTHORIZATION", &format!("Basic {UNKNOWN}")),
        Req::get("overview", "x")
            .header("HTTP_AUTHORIZATION", &format!("Bearer {UNKNOWN};rm -rf /")),
    ];
    for req in cases {
        refused(&req.run(&root), "auth_missing");
    }
    assert!(
        !cpu_sample_taken(&root),
        "the action ran for a refused request"
    );
}

#[test]
fn read_write_and_read_only_logins() {
    let root = TestRoot::new(false);
    let rw = root.login(DEMO_RW.0, DEMO_RW.1).unwrap();
    let ro = root.login(DEMO_RO.0, DEMO_RO.1).unwrap();
    assert_ne!(rw, ro);
    assert!(root.login("root", "wrong password").is_err());

    // read-only: writes refused (with its own message), nothing changed, no action ran
    let before = root.configs();
    let r = Req::post("wan.managed", &ro, &managed_body()).run(&root);
    refused(&r, "auth_readonly");
    assert_eq!(root.configs(), before, "a refused write changed a config");
    assert!(!cpu_sample_taken(&root));

    // read-only: reads pass
    let r = Req::get("overview", &ro).run(&root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(cpu_sample_taken(&root));
    assert_eq!(Req::get("session", &ro).run(&root).data()["write"], false);

    // read-write: both
    assert_eq!(Req::get("session", &rw).run(&root).data()["write"], true);
    let r = Req::post("wan.managed", &rw, &managed_body())
        .header("HTTP_ORIGIN", "http://192.168.100.1")
        .run_write(&root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_ne!(root.configs(), before);
}

#[test]
fn unknown_and_unprivileged_sessions_are_told_to_log_in_again() {
    let root = TestRoot::new(false);
    // rpcd does not know this sid (expired, or never existed): UBUS_STATUS_NOT_FOUND
    let r = Req::get("overview", UNKNOWN).run(&root);
    refused(&r, "auth_denied");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("log in again")
    );
    let before = root.configs();
    refused(
        &Req::post("wan.managed", UNKNOWN, &managed_body()).run(&root),
        "auth_denied",
    );
    // a real login without the JamMonitor group: {"access": false}
    let guest = root.session(false, false);
    refused(&Req::get("overview", &guest).run(&root), "auth_denied");
    refused(
        &Req::post("wan.managed", &guest, &managed_body()).run(&root),
        "auth_denied",
    );
    assert_eq!(root.configs(), before);
    assert!(!cpu_sample_taken(&root));
}

#[test]
fn a_destroyed_session_is_refused() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    assert_eq!(Req::get("session", &sid).run(&root).status, 200);
    // logout as LuCI does it: session destroy, allowed by the luci-base ACL of the login
    root.logout(&sid);
    let before = root.configs();
    refused(&Req::get("overview", &sid).run(&root), "auth_denied");
    refused(
        &Req::post("wan.managed", &sid, &managed_body()).run(&root),
        "auth_denied",
    );
    assert_eq!(root.configs(), before);
    assert!(!cpu_sample_taken(&root));
}

#[test]
fn a_session_opened_before_the_acl_was_installed_is_refused_until_a_new_login() {
    let root = TestRoot::new(false);
    let acl = root.file("usr/share/rpcd/acl.d/luci-app-jammonitor.json");
    let text = std::fs::read(&acl).unwrap();
    std::fs::remove_file(&acl).unwrap();
    // root logs in ('*' = every group that exists now), then the package is installed
    let old = root.session(true, true);
    std::fs::write(&acl, text).unwrap();
    let r = Req::get("overview", &old).run(&root);
    refused(&r, "auth_denied");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sessions opened before JamMonitor was installed")
    );
    assert!(!cpu_sample_taken(&root));
    let new = root.session(true, true);
    assert_eq!(Req::get("overview", &new).run(&root).status, 200);
}

#[test]
fn cross_origin_writes_are_refused() {
    let root = TestRoot::new(false);
    let rw = root.session(true, true);
    let before = root.configs();
    for origin in [
        "https://evil.example",
        "null",
        "http://192.168.100.1.evil.example",
        "http://192.168.100.1:8080",
    ] {
        let r = Req::post("wan.managed", &rw, &managed_body())
            .header("HTTP_ORIGIN", origin)
            .run(&root);
        refused(&r, "bad_origin");
    }
    assert_eq!(root.configs(), before, "a refused write changed a config");
    // the same write from the router's own origin runs (accepted as a job, which applies it)
    let r = Req::post("wan.managed", &rw, &managed_body())
        .header("HTTP_ORIGIN", "http://192.168.100.1")
        .run(&root);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let job = wait_job_done(&root, &rw, r.data()["job"]["id"].as_str().unwrap(), None);
    assert_eq!(job["state"], "done", "{job:#}");
    assert_ne!(root.configs(), before);
}

#[test]
fn a_missing_or_dead_bus_is_auth_unavailable() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    // rpcd stopped, ubusd still up: no `session` object on the bus
    let pid = root.read(".bed/rpcd.pid").trim().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let t = Instant::now();
    while root.ubus("session", "access", json!({})).is_ok() {
        assert!(t.elapsed() < Duration::from_secs(5), "rpcd did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = Req::get("overview", &sid).run(&root);
    refused(&r, "auth_unavailable");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        !msg.contains("log in again"),
        "a dead service is not the user's fault: {msg}"
    );
    // no bus at all: the socket is gone
    root.stop_bus();
    assert!(!root.file("var/run/ubus/ubus.sock").exists());
    refused(&Req::get("overview", &sid).run(&root), "auth_unavailable");
    let before = root.configs();
    refused(
        &Req::post("wan.managed", &sid, &managed_body()).run(&root),
        "auth_unavailable",
    );
    assert_eq!(root.configs(), before);
    assert!(!cpu_sample_taken(&root));
}

/// tests/doubles/ubus on the root's socket, killed on drop.
struct Faulty(Child);
impl Faulty {
    fn start(root: &TestRoot, mode: &str) -> Faulty {
        let mut c = Command::new(repo().join("tests/doubles/ubus"))
            .arg(root.file("var/run/ubus/ubus.sock"))
            .arg(mode)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(c.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        Faulty(c)
    }
}
impl Drop for Faulty {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_hanging_or_garbled_bus_is_refused_within_the_deadline() {
    let root = TestRoot::new(false);
    root.stop_bus();
    let sid = UNKNOWN;
    for mode in [
        "hang",
        "hello-hang",
        "garbage",
        "oversize",
        "truncated",
        "not-bool",
        "two-keys",
    ] {
        let _bus = Faulty::start(&root, mode);
        let t = Instant::now();
        let r = Req::get("overview", sid).run(&root);
        let took = t.elapsed();
        refused(&r, "auth_unavailable");
        assert!(
            took < Duration::from_millis(2500),
            "{mode}: took {took:?}, the deadline is 1 s"
        );
        let before = root.configs();
        refused(
            &Req::post("wan.managed", sid, &managed_body()).run(&root),
            "auth_unavailable",
        );
        assert_eq!(root.configs(), before, "{mode}");
    }
    assert!(!cpu_sample_taken(&root));
}

#[test]
fn every_answer_is_a_cgi_header_block_with_json() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    let r = Req::get("overview", &sid).run(&root);
    let ct = r.headers.iter().find(|(k, _)| k == "Content-Type").unwrap();
    assert_eq!(ct.1, "application/json");
    assert!(
        r.headers
            .iter()
            .any(|(k, v)| k == "Cache-Control" && v == "no-store")
    );
    assert_eq!(
        r.headers[0].0, "Status",
        "Status comes first, nothing printed before the headers"
    );
}

#[test]
fn a_remembered_session_object_id_is_used_and_a_stale_one_looked_up_again() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    let cache = "var/run/jammonitor/ubus.ids";
    assert_eq!(Req::get("session", &sid).run(&root).status, 200);
    let id = |root: &TestRoot| -> u32 {
        root.read(cache)
            .lines()
            .find_map(|l| l.strip_prefix("session ")?.parse().ok())
            .unwrap_or_else(|| panic!("no session id remembered: {:?}", root.read(cache)))
    };
    let real = id(&root);
    // remembered: still asked of rpcd every time (a logout is seen at once)
    assert_eq!(Req::get("session", &sid).run(&root).status, 200);
    refused(&Req::get("session", UNKNOWN).run(&root), "auth_denied");
    assert_eq!(id(&root), real, "an unknown session does not change the id");
    // stale (rpcd restarted: ubusd gave its object a new random id), foreign or garbage: the
    // object is looked up again and the answer is rpcd's
    for stale in [
        format!("session {}\n", real ^ 0x5a5a_5a5a),
        "network.interface 7\nsession 1\n".to_string(),
        "session banana\n\u{0}\u{1}".to_string(),
    ] {
        root.write(cache, &stale);
        assert_eq!(
            Req::get("session", &sid).run(&root).status,
            200,
            "{stale:?}"
        );
        assert_eq!(id(&root), real, "{stale:?} not corrected");
        root.write(cache, &stale);
        refused(&Req::get("overview", UNKNOWN).run(&root), "auth_denied");
    }
    root.write(cache, "network.interface 7\nsession 1\n");
    assert_eq!(Req::get("session", &sid).run(&root).status, 200);
    assert!(
        root.read(cache).contains("network.interface 7\n"),
        "other objects' lines are kept: {:?}",
        root.read(cache)
    );
    // rpcd gone with an id remembered: ubusd no longer knows the object, the lookup finds none,
    // and that is the service being down, not the user's session
    let pid = root.read(".bed/rpcd.pid").trim().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let t = Instant::now();
    while root.ubus("session", "access", json!({})).is_ok() {
        assert!(t.elapsed() < Duration::from_secs(5), "rpcd did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(id(&root), real);
    refused(&Req::get("session", &sid).run(&root), "auth_unavailable");
    assert!(!cpu_sample_taken(&root));
}
