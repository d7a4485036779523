//! The diagnostic bundle through the real CGI (issue 15): built as a job against a root made with
//! the real uci and a namespace shaped like the router; every section present with its source
//! line (or its missing/failed note); the root's planted secrets absent; a secret shape the
//! redactor does not know refuses the bundle naming the section; one job at a time; cancel kills
//! the job's commands; the download streams once, then the bundle is gone.
mod common;
use common::*;
use serde_json::{Value, json};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const SECRETS: &[&str] = &[
    "Vps-Secret-Key-7f3a9c1e5b2d4f60",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    "0c9f4e7a2b1d8e3f5a6c7b9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f",
    "c2hhZG93c29ja3MtdGVzdC1rZXktMzJieXRlcy1fXw==",
];

fn post(root: &TestRoot, ns: &Netns, sid: &str, action: &str, body: Value) -> Resp {
    Req::post(action, sid, &body.to_string())
        .in_netns(&ns.name)
        .run(root)
}

fn job(root: &TestRoot, sid: &str, id: &str) -> Value {
    let mut r = Req::get("job", sid);
    r.query = format!("id={id}");
    r.run(root).data()
}

fn wait(root: &TestRoot, sid: &str, id: &str) -> Value {
    let t = Instant::now();
    loop {
        let j = job(root, sid, id);
        if j["state"] != "running" {
            return j;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "job still running: {j}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start(root: &TestRoot, ns: &Netns, sid: &str) -> String {
    let r = post(root, ns, sid, "diag.bundle", json!({}));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    r.data()["job"]["id"].as_str().unwrap().to_string()
}

/// (file name, text) of every member of a gzip tar.
fn untar(bytes: &[u8]) -> Vec<(String, String)> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            (name, s)
        })
        .collect()
}

fn bundle_files(root: &TestRoot) -> Vec<String> {
    std::fs::read_dir(root.file("tmp/jammonitor"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bundle_has_every_section_no_secret_and_downloads_once() {
    assert!(is_root(), "needs root (network namespace)");
    let root = TestRoot::new(true);
    let ns = mini_router("diag");
    let sid = root.session(true, true);
    // an OpenVPN config with an inline key, read raw by the VPN section
    root.write(
        "etc/openvpn/omr.conf",
        "client\n<tls-crypt>\n-----BEGIN OpenVPN Static key V1-----\n6a1f0c2d9e8b7a6f5e4d3c2b1a09f8e7\n-----END OpenVPN Static key V1-----\n</tls-crypt>\n",
    );

    let status = Req::get("diag", &sid).in_netns(&ns.name).run(&root).data();
    let listed: Vec<String> = status["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), 19, "{listed:?}");

    let id = start(&root, &ns, &sid);
    let j = wait(&root, &sid, &id);
    assert_eq!(j["state"], "done", "{j}");
    let res = &j["result"];
    let secs = res["sections"].as_array().unwrap();
    assert_eq!(secs.len(), 19);
    for s in secs {
        let st = s["status"].as_str().unwrap();
        assert!(["ok", "partial", "missing", "failed"].contains(&st), "{s}");
        if st != "ok" {
            assert!(!s["note"].as_str().unwrap().is_empty(), "no reason: {s}");
        }
    }
    // The bundle on disk: unpredictable name, 0600, in a 0700 directory.
    let name = res["bundle"].as_str().unwrap();
    assert!(
        name.starts_with("bundle-") && name.len() == "bundle-".len() + 32 + 7,
        "{name}"
    );
    let dir_mode = std::fs::metadata(root.file("tmp/jammonitor"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let file_mode = std::fs::metadata(root.file(&format!("tmp/jammonitor/{name}")))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(file_mode & 0o777, 0o600);

    // Download: streamed with Content-Disposition, then gone.
    let r = post(&root, &ns, &sid, "diag.download", json!({"id": id}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let disp = r
        .headers
        .iter()
        .find(|(k, _)| k == "Content-Disposition")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        disp.starts_with("attachment; filename=\"jammonitor-diag-"),
        "{disp}"
    );
    assert_eq!(r.body.len() as u64, res["size_bytes"].as_u64().unwrap());
    let files = untar(&r.body);
    let names: Vec<&str> = files
        .iter()
        .map(|(n, _)| n.rsplit('/').next().unwrap())
        .collect();
    for f in listed.iter().map(String::as_str).chain(["00_manifest.txt"]) {
        assert!(names.contains(&f), "{f} missing from {names:?}");
    }
    for (n, text) in &files {
        assert!(
            text.starts_with("# source: "),
            "{n}: {}",
            text.lines().next().unwrap_or("")
        );
        for s in SECRETS {
            assert!(!text.contains(s), "{n} leaks {s}");
        }
        assert!(
            !text.contains("6a1f0c2d9e8b7a6f5e4d3c2b1a09f8e7"),
            "{n} leaks the inline key"
        );
        let st = secs
            .iter()
            .find(|s| n.ends_with(s["file"].as_str().unwrap()))
            .map(|s| s["status"].as_str().unwrap());
        if matches!(st, Some("missing" | "partial" | "failed")) {
            assert!(
                text.contains(": missing (") || text.contains(": failed ("),
                "{n} is {st:?} without saying why"
            );
        }
    }
    let config = &files
        .iter()
        .find(|(n, _)| n.ends_with("07_omr_config.txt"))
        .unwrap()
        .1;
    assert!(config.contains("option password '<redacted>'"), "{config}");
    assert!(config.contains("option username 'openmptcprouter'"));
    let vpn = &files
        .iter()
        .find(|(n, _)| n.ends_with("06_vpn.txt"))
        .unwrap()
        .1;
    assert!(
        vpn.contains("<tls-crypt>\n<redacted>\n</tls-crypt>"),
        "{vpn}"
    );
    let mptcp = &files
        .iter()
        .find(|(n, _)| n.ends_with("05_mptcp.txt"))
        .unwrap()
        .1;
    assert!(
        mptcp.contains("10.2.2.2 id 2 subflow fullmesh dev lan2"),
        "{mptcp}"
    );
    assert!(
        bundle_files(&root).is_empty(),
        "left after download: {:?}",
        bundle_files(&root)
    );
    let again = post(&root, &ns, &sid, "diag.download", json!({"id": id}));
    assert_eq!(again.status, 404);
    assert_eq!(again.error_code(), "not_found");
}

#[test]
fn unknown_secret_shape_refuses_the_bundle_naming_the_section() {
    assert!(is_root(), "needs root (network namespace)");
    let root = TestRoot::new(true);
    let ns = mini_router("diagrefuse");
    let sid = root.session(true, true);
    // A token no redaction rule knows, in free text of a file the system section copies.
    let planted = "wJalrXUtnFEMI7K7MDENGbPxRfiCYzEXAMPLEKEY9q";
    root.write(
        "etc/openwrt_release",
        &format!("DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='24.10.0'\n# signed with {planted} by the builder\n"),
    );
    let id = start(&root, &ns, &sid);
    let j = wait(&root, &sid, &id);
    assert_eq!(j["state"], "failed", "{j}");
    let err = j["error"].as_str().unwrap();
    assert!(err.contains("refused: 01_system.txt line"), "{err}");
    assert!(err.contains("high-entropy token"), "{err}");
    assert!(
        !err.contains("wJalr") && !j.to_string().contains("wJalr"),
        "{j}"
    );
    assert!(
        bundle_files(&root).is_empty(),
        "left: {:?}",
        bundle_files(&root)
    );
}

#[test]
fn one_bundle_at_a_time_cancel_kills_its_commands_and_bad_input_is_refused() {
    assert!(is_root(), "needs root (network namespace)");
    let root = TestRoot::new(true);
    let ns = mini_router("diagcancel");
    let sid = root.session(true, true);
    let ro = root.session(true, false);
    // A command that hangs (stands for a wedged dmesg/logread): the job must not wait for it
    // past a cancel, and the kill must take the command with it.
    root.write("bin/dmesg", "#!/bin/sh\nsleep 30\n");
    let marker = root.file("bin/dmesg").to_string_lossy().into_owned();
    std::fs::set_permissions(
        root.file("bin/dmesg"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    // refused before anything runs
    let r = post(&root, &ns, &sid, "diag.bundle", json!({"sections": "all"}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "sections");
    let r = post(&root, &ns, &ro, "diag.bundle", json!({}));
    assert_eq!(r.status, 403);
    let r = post(
        &root,
        &ns,
        &sid,
        "diag.cancel",
        json!({"id": "../../etc/passwd"}),
    );
    assert_eq!(r.status, 400);
    let r = post(
        &root,
        &ns,
        &sid,
        "diag.download",
        json!({"id": "diag-1-0000000g"}),
    );
    assert_eq!(r.status, 400);
    let r = post(
        &root,
        &ns,
        &sid,
        "diag.download",
        json!({"id": "diag-1-00000000"}),
    );
    assert_eq!(r.status, 404);

    let id = start(&root, &ns, &sid);
    // a second one while it runs: 409
    let r = post(&root, &ns, &sid, "diag.bundle", json!({}));
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    // wait until it hangs in dmesg, then cancel
    let t = Instant::now();
    let running = |m: &str| {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(m))
                .unwrap_or(false)
        })
    };
    while !running(&marker) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "dmesg never started: {}",
            job(&root, &sid, &id)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = post(&root, &ns, &sid, "diag.cancel", json!({"id": id}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let j = &r.data()["job"];
    assert_eq!(j["state"], "failed", "{j}");
    assert_eq!(j["phase"], "cancelled");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!running(&marker), "the hanging command outlived the cancel");
    // a cancelled job: cancel again → 409; its unfinished file goes at the next request
    let r = post(&root, &ns, &sid, "diag.cancel", json!({"id": id}));
    assert_eq!(r.status, 409);
    let _ = Req::get("diag", &sid).in_netns(&ns.name).run(&root).data();
    assert!(
        bundle_files(&root).is_empty(),
        "left: {:?}",
        bundle_files(&root)
    );
    // and a new bundle can start
    std::fs::remove_file(root.file("bin/dmesg")).unwrap();
    let id2 = start(&root, &ns, &sid);
    assert_eq!(wait(&root, &sid, &id2)["state"], "done");
    let st = Req::get("diag", &sid).in_netns(&ns.name).run(&root).data();
    assert_eq!(st["job"]["id"], id2.as_str());
    assert_eq!(st["job"]["available"], true);
}
