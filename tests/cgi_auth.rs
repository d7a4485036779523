//! Authorization fails closed (DESIGN §4): every refusal is a 403 JSON answer and no action runs.
//! "No action ran" is observable: `overview` records a CPU sample in /var/run/jammonitor/cpu.stat
//! and `wan.managed` rewrites /etc/config/jammonitor.
mod common;
use common::*;
use serde_json::json;

const UNKNOWN: &str = "0123456789abcdef0123456789abcdef";

fn cpu_sample_taken(root: &TestRoot) -> bool {
    root.file("var/run/jammonitor/cpu.stat").exists()
}

#[test]
fn reads_need_a_valid_session_with_read_access() {
    let root = TestRoot::new(false);
    let none = root.session(false, false);
    let calls = root.ubus_calls();
    let cases: Vec<(Req, &str)> = vec![
        (
            Req {
                headers: vec![],
                ..Req::get("overview", UNKNOWN)
            },
            "auth_missing",
        ),
        (
            Req::get("overview", "0123456789ABCDEF0123456789ABCDEF"),
            "auth_missing",
        ),
        (Req::get("overview", "0123456789abcdef"), "auth_missing"),
        (
            Req::get("overview", "x").header("HTTP_AUTHORIZATION", &format!("Basic {UNKNOWN}")),
            "auth_missing",
        ),
        (
            Req::get("overview", "x")
                .header("HTTP_AUTHORIZATION", &format!("Bearer {UNKNOWN};rm -rf /")),
            "auth_missing",
        ),
    ];
    for (req, code) in cases {
        let r = req.run(&root);
        assert_eq!((r.status, r.error_code().as_str()), (403, code));
    }
    assert_eq!(
        root.ubus_calls(),
        calls,
        "a malformed sid must not reach ubus"
    );

    // Unknown session: ubus exits 252 ("Not found"); and with the stock CLI's positive 4.
    let r = Req::get("overview", UNKNOWN).run(&root);
    assert_eq!((r.status, r.error_code().as_str()), (403, "auth_denied"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("log in again")
    );
    root.write("var/run/ubus-double/exit_style", "positive\n");
    assert_eq!(
        Req::get("overview", UNKNOWN).run(&root).error_code(),
        "auth_denied"
    );
    // A known session without our ACL: {"access": false}.
    assert_eq!(
        Req::get("overview", &none).run(&root).error_code(),
        "auth_denied"
    );
    assert!(
        !cpu_sample_taken(&root),
        "the action ran for a refused request"
    );
    assert_eq!(root.ubus_calls(), calls + 3);

    let ro = root.session(true, false);
    let r = Req::get("overview", &ro).run(&root);
    assert_eq!(r.status, 200);
    assert!(cpu_sample_taken(&root));
    let log = root.read("var/run/ubus-double/calls.log");
    let last = log.lines().last().unwrap();
    assert!(
        last.contains("\"function\":\"read\"") && last.contains("luci-app-jammonitor"),
        "{last}"
    );
}

#[test]
fn writes_need_write_access_and_the_same_origin() {
    let root = TestRoot::new(false);
    let ro = root.session(true, false);
    let rw = root.session(true, true);
    let body = json!({"wans": ["wan1", "wan2"]}).to_string();
    let before = root.configs();

    let r = Req::post("wan.managed", &ro, &body).run(&root);
    assert_eq!((r.status, r.error_code().as_str()), (403, "auth_readonly"));
    let r = Req::post("wan.managed", UNKNOWN, &body).run(&root);
    assert_eq!((r.status, r.error_code().as_str()), (403, "auth_denied"));
    let calls = root.ubus_calls();
    for origin in [
        "https://evil.example",
        "null",
        "http://192.168.100.1.evil.example",
    ] {
        let r = Req::post("wan.managed", &rw, &body)
            .header("HTTP_ORIGIN", origin)
            .run(&root);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "bad_origin"),
            "{origin}"
        );
    }
    assert_eq!(
        root.ubus_calls(),
        calls,
        "a cross-origin write is refused before ubus"
    );
    assert_eq!(root.configs(), before, "a refused write changed a config");

    // Same origin, write access: it runs (accepted as a job, which applies it).
    let r = Req::post("wan.managed", &rw, &body)
        .header("HTTP_ORIGIN", "http://192.168.100.1")
        .run(&root);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        root.read("var/run/ubus-double/calls.log")
            .lines()
            .last()
            .unwrap()
            .contains("\"function\":\"write\"")
    );
    let job = wait_job_done(&root, &rw, r.data()["job"]["id"].as_str().unwrap(), None);
    assert_eq!(job["state"], "done", "{job:#}");
    assert_ne!(root.configs(), before);
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
fn session_reports_the_write_level() {
    let root = TestRoot::new(false);
    let ro = root.session(true, false);
    let rw = root.session(true, true);
    assert_eq!(Req::get("session", &ro).run(&root).data()["write"], false);
    assert_eq!(Req::get("session", &rw).run(&root).data()["write"], true);
    assert_eq!(Req::get("session", UNKNOWN).run(&root).status, 403);
}
