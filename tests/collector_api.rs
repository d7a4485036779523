//! The read actions over the collector's history, through the real CGI binary: `bandwidth`
//! (realtime/hourly/daily/monthly; wans/all/one interface), `bandwidth.csv` (same numbers),
//! `pings`, `job`; their invalid inputs and auth.
mod collector_util;
mod common;

use collector_util::*;
use common::*;
use serde_json::Value;

fn once(root: &TestRoot) {
    let (code, err) = Collector::start(&root.path, &["--once"]).wait(10);
    assert_eq!(code, Some(0), "{err}");
}

fn get(root: &TestRoot, sid: &str, action: &str, query: &str) -> Resp {
    let mut r = Req::get(action, sid);
    r.query = query.to_string();
    r.run(root)
}

/// History for the three WANs (devices lan1..lan3), the tunnel and the LAN bridge.
fn root_with_history() -> TestRoot {
    let root = fixture_root();
    let ifs = |k: u64| {
        [
            ("lan1", 3, 1_000 + 700_000 * k, 1_000 + 70_000 * k),
            ("lan2", 4, 2_000 + 300_000 * k, 2_000 + 30_000 * k),
            ("lan3", 5, 0, 0),
            ("tun0", 9, 900_000 * k, 90_000 * k),
            ("wan", 2, 100 * k, 1_000_000 * k),
        ]
    };
    for k in 0..4 {
        set_counters(&root, &ifs(k));
        once(&root);
    }
    root
}

#[test]
fn bandwidth_wans_all_and_one() {
    let root = root_with_history();
    let sid = root.session(true, false);

    let d = get(&root, &sid, "bandwidth", "range=hourly&iface=wans").data();
    assert_eq!(d["range"], "hourly");
    assert_eq!(d["available"], true);
    assert_eq!(
        d["sums"],
        serde_json::json!(["lan1", "lan2", "lan3"]),
        "WAN devices only"
    );
    let excluded: Vec<&str> = d["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        excluded.contains(&"tun0") && excluded.contains(&"wan"),
        "{excluded:?}"
    );
    let tun = d["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "tun0")
        .unwrap();
    assert!(tun["reason"].as_str().unwrap().contains("tunnel"));
    let b = d["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 24);
    assert_eq!(
        d["totals"]["rx"],
        3 * 1_000_000,
        "3 intervals × (700 kB + 300 kB), tunnel not added"
    );
    assert_eq!(d["totals"]["tx"], 3 * 100_000);
    let last = &b[23];
    assert_eq!(last["by_iface"]["lan1"][0], 2_100_000);
    assert_eq!(last["rx"], 3_000_000);
    assert_eq!(d["interfaces"][0]["wan"], "wan1");
    assert_eq!(d["interfaces"][0]["label"], "Fiber");

    let one = get(&root, &sid, "bandwidth", "range=daily&iface=wan2").data();
    assert_eq!(
        one["sums"],
        serde_json::json!(["lan2"]),
        "a WAN by its UCI name"
    );
    assert_eq!(one["totals"]["rx"], 900_000);
    assert_eq!(one["buckets"].as_array().unwrap().len(), 30);
    let dev = get(&root, &sid, "bandwidth", "range=monthly&iface=tun0").data();
    assert_eq!(
        dev["totals"]["rx"], 2_700_000,
        "a device by its kernel name"
    );

    let all = get(&root, &sid, "bandwidth", "range=monthly&iface=all").data();
    assert!(
        all["totals"].is_null() && all["sums"].is_null(),
        "no combined total across LAN/WAN/tunnel"
    );
    let m = all["buckets"].as_array().unwrap().last().unwrap().clone();
    assert!(m["rx"].is_null());
    assert_eq!(m["by_iface"]["wan"][1], 3_000_000);
    assert_eq!(m["by_iface"]["tun0"][0], 2_700_000);

    let rt = get(&root, &sid, "bandwidth", "range=realtime").data();
    assert_eq!(rt["range"], "realtime");
    assert_eq!(rt["total"]["rx_bytes"], 1_000 + 2_100_000 + 2_000 + 900_000);
    assert_eq!(rt["interfaces"][0]["name"], "lan1");
    assert!(rt["ts_ms"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn csv_matches_the_api() {
    let root = root_with_history();
    let sid = root.session(true, false);
    for (q, rows_per_bucket) in [
        ("range=hourly&iface=wans", 4),
        ("range=daily&iface=wan1", 1),
        ("range=monthly&iface=all", 5),
    ] {
        let d = get(&root, &sid, "bandwidth", q).data();
        let r = get(&root, &sid, "bandwidth.csv", q);
        assert_eq!(r.status, 200);
        let ct = r.headers.iter().find(|(k, _)| k == "Content-Type").unwrap();
        assert!(ct.1.starts_with("text/csv"), "{ct:?}");
        let cd = r
            .headers
            .iter()
            .find(|(k, _)| k == "Content-Disposition")
            .unwrap();
        assert!(
            cd.1.starts_with("attachment; filename=\"jammonitor-bandwidth-"),
            "{cd:?}"
        );
        let text = String::from_utf8(r.body).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("range,start,label,interface,wan,rx_bytes,tx_bytes")
        );
        let rows: Vec<Vec<String>> = lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        let buckets = d["buckets"].as_array().unwrap();
        assert_eq!(rows.len(), buckets.len() * rows_per_bucket, "{q}");
        // Every number in the CSV is the API's number for that bucket and interface.
        for row in &rows {
            let b = buckets
                .iter()
                .find(|b| b["start"].as_i64().unwrap().to_string() == row[1])
                .unwrap();
            assert_eq!(b["label"].as_str().unwrap(), row[2]);
            let (rx, tx): (u64, u64) = (row[5].parse().unwrap(), row[6].parse().unwrap());
            if row[3] == "total" {
                assert_eq!(
                    (b["rx"].as_u64().unwrap(), b["tx"].as_u64().unwrap()),
                    (rx, tx)
                );
            } else {
                let v = &b["by_iface"][&row[3]];
                assert_eq!(
                    (v[0].as_u64().unwrap(), v[1].as_u64().unwrap()),
                    (rx, tx),
                    "{q} {row:?}"
                );
            }
        }
    }
    let rt = get(&root, &sid, "bandwidth.csv", "range=realtime");
    let text = String::from_utf8(rt.body).unwrap();
    assert!(text.starts_with("ts_ms,interface,wan,rx_bytes,tx_bytes\n"));
    assert!(text.contains(",lan1,wan1,2101000,211000\n"), "{text}");
    assert!(text.lines().last().unwrap().contains(",total,,"));
}

#[test]
fn invalid_queries_name_the_field() {
    let root = fixture_root();
    let sid = root.session(true, false);
    for (action, q, field) in [
        ("bandwidth", "range=weekly", "range"),
        ("bandwidth", "iface=../../etc", "iface"),
        ("bandwidth", "iface=nosuchdev", "iface"),
        ("bandwidth", "foo=1", "foo"),
        ("bandwidth.csv", "range=", "range"),
        ("pings", "minutes=0", "minutes"),
        ("pings", "minutes=1441", "minutes"),
        ("pings", "minutes=abc", "minutes"),
        ("job", "id=../../etc/passwd", "id"),
        ("job", "", "id"),
    ] {
        let r = get(&root, &sid, action, q);
        assert_eq!(
            r.status,
            400,
            "{action}?{q}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["error"]["field"], field, "{action}?{q}");
    }
    let r = get(&root, &sid, "job", "id=format-1764064800-0123abcd");
    assert_eq!(r.status, 404);
    // No history yet: zero buckets, said so, not an error.
    let d = get(&root, &sid, "bandwidth", "range=daily").data();
    assert_eq!(d["available"], false);
    assert_eq!(d["buckets"].as_array().unwrap().len(), 30);
    assert_eq!(d["totals"]["rx"], 0);
}

#[test]
fn auth_and_methods() {
    let root = fixture_root();
    let ro = root.session(true, false);
    assert_eq!(get(&root, "", "bandwidth", "").status, 403);
    assert_eq!(get(&root, &"0".repeat(32), "storage", "").status, 403);
    assert_eq!(get(&root, &ro, "pings", "").status, 200);
    for action in [
        "storage.mount",
        "storage.unmount",
        "storage.format",
        "collector.start",
        "collector.stop",
    ] {
        let r = Req::post(action, &ro, "{}").run(&root);
        assert_eq!(r.status, 403, "{action}");
        assert_eq!(r.error_code(), "auth_readonly", "{action}");
        assert_eq!(
            get(&root, &ro, action, "").status,
            405,
            "{action} is POST only"
        );
    }
    assert_eq!(Req::post("bandwidth", &ro, "{}").run(&root).status, 405);
}

#[test]
fn pings_history_and_live() {
    let root = fixture_root();
    let sid = root.session(true, false);
    let c = Collector::start(&root.path, &["--interval", "1", "--ping-interval", "1"]);
    wait_status(&root, 10, "samples", |s| samples(s) >= 2);
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));
    let d = get(&root, &sid, "pings", "minutes=5").data();
    assert_eq!(d["minutes"], 5);
    let t: &Value = &d["targets"][0];
    assert_eq!(t["name"], "internet");
    assert_eq!(t["host"], "127.0.0.1");
    let p = &t["points"][0];
    assert!(p[0].as_i64().unwrap() % 60_000 == 0, "minute start in ms");
    assert!(p[2].as_f64().unwrap() >= 0.0, "avg");
    assert_eq!(p[4], 0.0, "no loss on loopback");
    assert!(p[5].as_i64().unwrap() >= 1, "sent");
    assert_eq!(d["live"]["targets"][0]["name"], "internet");
}
