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
