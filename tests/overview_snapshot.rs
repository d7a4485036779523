//! The Overview snapshot (`store::snapshot`, `collector/src/snapshot.rs`): the CGI serves a fresh
//! and whole one byte for byte and builds its own answer otherwise; every request marks the
//! Overview as watched; writes drop the snapshot; the real collector builds one only while the
//! Overview is watched, the same answer the CGI builds, and removes it when it stops.
mod collector_util;
mod common;
use collector_util::*;
use common::*;
use serde_json::Value;
use std::time::{Duration, SystemTime};

const SNAP: &str = "var/run/jammonitor/overview.json";
const WANTED: &str = "var/run/jammonitor/overview.wanted";

fn set_mtime(root: &TestRoot, rel: &str, t: SystemTime) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(root.file(rel))
        .unwrap();
    f.set_modified(t).unwrap();
}

fn overview(root: &TestRoot, sid: &str) -> Value {
    let r = Req::get("overview", sid).run(root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[test]
fn the_cgi_serves_a_fresh_whole_snapshot_and_builds_otherwise() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    assert!(!root.file(WANTED).exists());

    // Nothing to serve: built here (a real answer: system block, generated now).
    let built = overview(&root, &sid);
    assert!(built["data"]["system"].is_object(), "{built}");
    assert!(
        root.file(WANTED).exists(),
        "the request marks the Overview as watched"
    );

    // A fresh snapshot is served as it is, inside the usual envelope.
    let planted = r#"{"generated_at":1.5,"marker":"from the collector","wans":[]}"#;
    root.write(SNAP, planted);
    let r = Req::get("overview", &sid).run(&root);
    assert_eq!(r.status, 200);
    assert_eq!(
        String::from_utf8(r.body.clone()).unwrap(),
        format!("{{\"data\":{planted},\"ok\":true}}"),
        "byte for byte, the envelope `ok` gives"
    );
    assert_eq!(r.data()["marker"], "from the collector");
    let bypass = r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("X-JM-Bypass"));
    assert_eq!(
        bypass.map(|(_, v)| v.as_str()),
        Some("off"),
        "the CGI's own headers still come"
    );

    // Too old (collector stopped or stuck): built again.
    set_mtime(&root, SNAP, SystemTime::now() - Duration::from_secs(5));
    let d = overview(&root, &sid)["data"].clone();
    assert!(d.get("marker").is_none() && d["system"].is_object(), "{d}");

    // From the future (the clock was set back since it was written): built.
    root.write(SNAP, planted);
    set_mtime(&root, SNAP, SystemTime::now() + Duration::from_secs(30));
    assert!(overview(&root, &sid)["data"].get("marker").is_none());

    // Not one whole JSON object: built.
    for bad in [r#"{"marker":1"#, "[1,2]", "", "x"] {
        root.write(SNAP, bad);
        let d = overview(&root, &sid)["data"].clone();
        assert!(d["system"].is_object(), "{bad:?} was served: {d}");
    }

    // Its query rules stay: a parameter is refused before anything is served.
    root.write(SNAP, planted);
    let mut q = Req::get("overview", &sid);
    q.query = "x=1".into();
    let r = q.run(&root);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));

    // Auth comes first: no session, no snapshot.
    let r = Req::get("overview", "0123456789abcdef0123456789abcdef").run(&root);
    assert_eq!(r.status, 403);
    assert!(!String::from_utf8_lossy(&r.body).contains("from the collector"));
}

#[test]
fn a_write_drops_the_snapshot() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    root.write(SNAP, r#"{"marker":1}"#);
    assert_eq!(overview(&root, &sid)["data"]["marker"], 1);
    // Any POST, even one refused for its input: the next poll builds afresh.
    let r = Req::post("clients.meta", &sid, r#"{"mac":"nonsense"}"#).run(&root);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(!root.file(SNAP).exists(), "a POST removes the snapshot");
    assert!(overview(&root, &sid)["data"].get("marker").is_none());
}

#[test]
fn a_finished_job_drops_the_snapshot() {
    let root = TestRoot::new(false);
    let r = jammonitor::system::Root::new(&root.path);
    let job = jammonitor::jobs::start(&r, "snaptest", Duration::from_secs(10), |_| {
        std::thread::sleep(Duration::from_millis(300));
        Ok(Value::Null)
    })
    .unwrap();
    // written after the start: only the job's end can remove it
    root.write(SNAP, r#"{"marker":1}"#);
    wait_for(10, "the job to end", || {
        jammonitor::jobs::read(&r, &job.id).is_ok_and(|j| j.state != "running")
    });
    wait_for(5, "the job's end to drop the snapshot", || {
        !root.file(SNAP).exists()
    });
}

#[test]
fn the_collector_builds_only_while_watched_and_cleans_up() {
    let root = fixture_root();
    let sid = root.session(true, false);
    let c = Collector::start(&root.path, &["--interval", "60"]);
    wait_status(&root, 10, "running", |s| s["state"] == "running");

    // Nobody watches: no snapshot after two periods.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!root.file(SNAP).exists(), "built while nobody watched");

    // A page asks: built within a period, rebuilt every period.
    let first = overview(&root, &sid)["data"].clone();
    wait_for(5, "a snapshot", || root.file(SNAP).exists());
    let m1 = std::fs::metadata(root.file(SNAP))
        .unwrap()
        .modified()
        .unwrap();
    wait_for(5, "a newer snapshot", || {
        std::fs::metadata(root.file(SNAP))
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > m1)
    });

    // It is the answer the CGI builds (same fixture root): same blocks, same values where
    // nothing moves between the two builds.
    let snap: Value = serde_json::from_str(&root.read(SNAP)).unwrap();
    for k in [
        "system", "tunnel", "vps", "wans", "errors", "mptcp", "counters", "pings",
    ] {
        assert!(snap.get(k).is_some(), "snapshot lacks {k}: {snap}");
    }
    // (tracker ages move with the clock between the two builds)
    let wans = |v: &Value| -> Vec<Value> {
        let mut l = v["wans"].as_array().unwrap().clone();
        for w in &mut l {
            w.as_object_mut().unwrap().remove("tracker_age_s");
        }
        l
    };
    assert_eq!(wans(&snap), wans(&first));
    assert_eq!(wans(&snap).len(), 3);
    assert_eq!(snap["vps"], first["vps"]);
    assert_eq!(snap["system"]["mem"], first["system"]["mem"]);
    assert_eq!(
        snap["counters"]["interfaces"],
        first["counters"]["interfaces"]
    );
    // and the next request serves it
    let served = overview(&root, &sid)["data"].clone();
    assert!(
        served["generated_at"].as_f64().unwrap() <= snap["generated_at"].as_f64().unwrap() + 1.5,
        "served {} (snapshot {})",
        served["generated_at"],
        snap["generated_at"]
    );

    // Watched long ago: it stops building (the marker is older than WANT_FOR).
    std::fs::remove_file(root.file(SNAP)).unwrap();
    set_mtime(&root, WANTED, SystemTime::now() - Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !root.file(SNAP).exists(),
        "built for a page gone a minute ago"
    );

    // Watched again, then SIGTERM: the collector leaves no snapshot behind and says what the
    // snapshots cost.
    overview(&root, &sid);
    wait_for(5, "a snapshot", || root.file(SNAP).exists());
    c.signal(libc::SIGTERM);
    let (code, _) = c.wait(10);
    assert_eq!(code, Some(0));
    assert!(
        !root.file(SNAP).exists(),
        "a stopped collector's snapshot is removed"
    );
    let s = status(&root);
    assert!(s["snapshot_builds"].as_u64().unwrap() >= 3, "{s:#}");
    assert!(s["snapshot_cpu_us"].as_u64().unwrap() > 0, "{s:#}");
}
