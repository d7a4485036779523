//! Bad requests get a clean 4xx JSON answer with nothing run (not even the auth check: with the
//! root's bus stopped, a request that reached it would answer 403 auth_unavailable instead).
mod common;
use common::*;

#[test]
fn malformed_requests_are_clean_4xx_json() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    root.stop_bus();

    let cases: Vec<(Req, u16, &str)> = vec![
        (Req::get("nosuchaction", &sid), 404, "not_found"),
        (
            Req {
                path_info: None,
                ..Req::get("overview", &sid)
            },
            404,
            "not_found",
        ),
        (
            Req {
                path_info: Some("/api/../../etc/shadow".into()),
                ..Req::get("overview", &sid)
            },
            404,
            "not_found",
        ),
        (
            Req {
                path_info: Some("/api/overview/../x".into()),
                ..Req::get("overview", &sid)
            },
            404,
            "not_found",
        ),
        (
            Req {
                path_info: Some("/etc/passwd".into()),
                ..Req::get("overview", &sid)
            },
            404,
            "not_found",
        ),
        (
            Req {
                method: "DELETE".into(),
                ..Req::get("overview", &sid)
            },
            405,
            "method_not_allowed",
        ),
        (Req::post("overview", &sid, "{}"), 405, "method_not_allowed"),
    ];
    for (req, status, code) in cases {
        let r = req.run(&root);
        assert_eq!(r.status, status, "{:?}", req.path_info);
        assert_eq!(r.error_code(), code);
        assert_eq!(r.json()["ok"], false);
    }
}

#[test]
fn bodies_are_capped_and_must_be_json_objects() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    // An oversize declared length is refused before reading.
    let mut big = Req::post("wan.roles", &sid, "{}");
    big.content_length = Some("1000000".into());
    let r = big.run(&root);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (413, "payload_too_large")
    );
    // A chunked upload (no CONTENT_LENGTH) that runs past the cap, too.
    let mut chunked = Req::post("wan.roles", &sid, &"x".repeat(70_000));
    chunked.content_length = None;
    let r = chunked.run(&root);
    assert_eq!(r.status, 413);
    for bad in ["{not json", "[1,2]", "\"str\"", ""] {
        let r = Req::post("wan.roles", &sid, bad).run(&root);
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error_code(), "bad_request");
    }
}

#[test]
fn unknown_query_parameters_are_named() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    let mut req = Req::get("overview", &sid);
    req.query = "verbose=1".into();
    let r = req.run(&root);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "verbose");
}

/// Runs the CGI for a POST whose client sends the headers and then never sends the body (the
/// stdin pipe stays open), and returns the answer and how long it took.
fn stalled_post(root: &TestRoot, auth: Option<&str>) -> (Resp, std::time::Duration) {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jammonitor"));
    cmd.env_clear()
        .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
        .env("JAMMONITOR_ROOT", &root.path)
        .env("REQUEST_METHOD", "POST")
        .env("QUERY_STRING", "")
        .env("PATH_INFO", "/api/wan.roles")
        .env("CONTENT_LENGTH", "200")
        .env("CONTENT_TYPE", "application/json")
        .env("HTTP_HOST", "192.168.100.1");
    if let Some(a) = auth {
        cmd.env("HTTP_AUTHORIZATION", a);
    }
    let start = std::time::Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap(); // held open, never written
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    drop(stdin);
    (parse_cgi(&out.stdout), took)
}

/// Finding 7: the body used to be read (without a deadline) before authorization, so an
/// unauthenticated POST with a stalled body held a CGI slot until uhttpd gave up.
#[test]
fn finding_7_stalled_unauthenticated_body_gets_403_within_1s() {
    let root = TestRoot::new(false);
    for auth in [
        None,
        Some("Bearer nothex"),
        Some("Bearer 0123456789abcdef0123456789abcdef"), // well-formed, unknown to rpcd
    ] {
        let (r, took) = stalled_post(&root, auth);
        assert_eq!(
            r.status,
            403,
            "{auth:?}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            took < std::time::Duration::from_secs(1),
            "{auth:?}: answered after {took:?}"
        );
    }
    // A read-only session asking to write is refused the same way, body unread.
    let ro = root.session(true, false);
    let (r, took) = stalled_post(&root, Some(&format!("Bearer {ro}")));
    assert_eq!((r.status, r.error_code().as_str()), (403, "auth_readonly"));
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}
