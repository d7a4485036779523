//! `wan.history` / `wan.history.csv` through the real CGI binary over a history database written
//! with the store's own write path: per-WAN series per target, outages with their cause (also
//! from link events that no outage row covers), disabled periods kept out of uptime, the brief
//! form for every WAN, the CSV, invalid fields and auth.
mod collector_util;
mod common;

use collector_util::*;
use common::*;
use jammonitor::store::{Cause, Outage, Sample, Store, WanMinute, WanPingMinute};

const RAM_DB: &str = "tmp/jammonitor/history.db";

fn get(root: &TestRoot, sid: &str, action: &str, query: &str) -> Resp {
    let mut r = Req::get(action, sid);
    r.query = query.to_string();
    r.run(root)
}

fn wp(ts: i64, wan: &str, target: &str, sent: u32, lost: u32, avg: f64) -> WanPingMinute {
    WanPingMinute {
        ts,
        wan: wan.into(),
        target: target.into(),
        sent,
        lost,
        sum_ms: avg * (sent - lost) as f64,
        min_ms: (sent > lost).then_some(avg - 1.0),
        max_ms: (sent > lost).then_some(avg + 1.0),
    }
}

/// 60 minutes of history ending at the last whole minute: wan1 fine at 10 ms; wan2 at 40 ms with
/// a 90 s link-down outage; wan3 disabled for 10 minutes, and a link-down period that only the
/// sampler's events know.
fn root_with_history() -> (TestRoot, i64) {
    let root = fixture_root();
    let now = jammonitor::store::now_epoch() / 60 * 60;
    let t0 = now - 3600;
    let mut s = Store::open(&root.file(RAM_DB)).unwrap();
    for m in 0..60 {
        let ts = t0 + m * 60;
        let mut smp = Sample {
            ts: ts + 60,
            offset: 0,
            ..Default::default()
        };
        smp.wan_pings = vec![
            wp(ts, "wan1", "gateway", 20, 0, 10.0),
            wp(ts, "wan1", "internet", 20, 0, 12.0),
            wp(ts, "wan2", "gateway", 20, 1, 40.0),
            wp(ts, "wan2", "internet", 20, 1, 42.0),
            wp(ts, "wan3", "gateway", 20, 2, 120.0),
        ];
        if (20..30).contains(&m) {
            smp.wan_pings.pop();
            smp.wan_minutes = vec![(
                "wan3".into(),
                WanMinute {
                    ts,
                    down: 0,
                    disabled: 20,
                },
            )];
        }
        if m == 10 {
            smp.outages = vec![Outage {
                wan: "wan2".into(),
                start_ms: ts * 1000,
                end_ms: None,
                cause: Cause::LinkDown,
            }];
        }
        if m == 12 {
            smp.outages = vec![Outage {
                wan: "wan2".into(),
                start_ms: (ts - 120) * 1000,
                end_ms: Some((ts - 30) * 1000),
                cause: Cause::LinkDown,
            }];
        }
        if m == 20 {
            smp.outages = vec![Outage {
                wan: "wan3".into(),
                start_ms: ts * 1000,
                end_ms: Some((ts + 600) * 1000),
                cause: Cause::Disabled,
            }];
        }
        if m == 40 {
            smp.wan_events = vec![("wan3".into(), false)];
        }
        if m == 42 {
            smp.wan_events = vec![("wan3".into(), true)];
        }
        s.write(&smp).unwrap();
    }
    (root, now)
}

#[test]
fn detail_brief_csv_and_inputs() {
    let (root, now) = root_with_history();
    let sid = root.session(true, false);

    // -- one WAN in detail
    let d = get(&root, &sid, "wan.history", "name=wan2&range=24h").data();
    assert_eq!(d["available"], true);
    assert_eq!(d["bucket_s"], 60);
    let t: Vec<&str> = d["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(t, ["gateway", "internet"]);
    let gw = &d["targets"][0];
    assert_eq!(gw["sent"], 1200);
    assert_eq!(gw["lost"], 60);
    assert_eq!(gw["avg_ms"], 40.0);
    assert_eq!(gw["loss_pct"], 5.0);
    assert_eq!(gw["points"].as_array().unwrap().len(), 60);
    let o = d["outages"].as_array().unwrap();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0]["cause"], "link_down");
    assert_eq!(o[0]["duration_s"], 90.0);
    assert_eq!(o[0]["ongoing"], false);
    let u = &d["uptime"]["24h"];
    assert_eq!(u["down_s"], 90.0);
    assert_eq!(u["observed_s"], 3600.0);
    assert_eq!(u["pct"], 97.5);
    assert_eq!(d["last_outage"]["start"], o[0]["start"]);
    assert!(d["daily"].as_array().unwrap().len() == 30);

    // -- 7 days: 10-minute buckets, same totals
    let w = get(&root, &sid, "wan.history", "name=wan2&range=7d").data();
    assert_eq!(w["bucket_s"], 600);
    assert_eq!(w["targets"][0]["sent"], 1200);
    assert!(w["targets"][0]["points"].as_array().unwrap().len() <= 7);

    // -- disabled: listed apart, not counted against uptime; link events fill the gap
    let d3 = get(&root, &sid, "wan.history", "name=wan3").data();
    assert_eq!(d3["disabled_periods"].as_array().unwrap().len(), 1);
    assert_eq!(d3["disabled_periods"][0]["cause"], "disabled");
    let o3 = d3["outages"].as_array().unwrap();
    assert_eq!(o3.len(), 1, "{o3:?}");
    assert_eq!(o3[0]["source"], "link_events");
    assert_eq!(o3[0]["duration_s"], 120.0);
    assert_eq!(d3["uptime"]["24h"]["disabled_s"], 600.0);
    assert_eq!(d3["uptime"]["24h"]["down_s"], 120.0);
    assert_eq!(
        d3["uptime"]["24h"]["pct"], 96.0,
        "120 s of 3000 s not disabled"
    );
    let un = d3["unprobed"].as_array().unwrap();
    assert_eq!(un.len(), 10);
    assert_eq!(un[0][2], 20);

    // -- every WAN in brief
    let b = get(&root, &sid, "wan.history", "").data();
    let wans = b["wans"].as_array().unwrap();
    assert_eq!(wans.len(), 3);
    assert_eq!(wans[0]["name"], "wan1");
    assert_eq!(wans[0]["uptime"]["24h"]["pct"], 100.0);
    assert_eq!(wans[0]["last_outage"], serde_json::Value::Null);
    assert_eq!(wans[1]["last_outage"]["cause"], "link_down");
    assert_eq!(wans[0]["spark"]["bucket_s"], 600);
    assert!(
        wans[0]["spark"]["targets"][0]["points"]
            .as_array()
            .unwrap()
            .len()
            <= 7
    );
    assert!(b["generated_at"].as_f64().unwrap() >= now as f64 - 5.0);

    // -- CSV
    let c = get(
        &root,
        &sid,
        "wan.history.csv",
        "name=wan2&range=24h&kind=outages",
    );
    assert_eq!(c.status, 200);
    let body = String::from_utf8(c.body.clone()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "wan,start_ms,end_ms,duration_s,cause,ongoing");
    assert_eq!(lines.len(), 2);
    assert!(lines[1].ends_with(",90.0,link_down,false"), "{body}");
    let c = get(&root, &sid, "wan.history.csv", "name=wan1");
    let body = String::from_utf8(c.body.clone()).unwrap();
    assert_eq!(
        body.lines().count(),
        1 + 120,
        "header + 60 minutes × 2 targets"
    );
    assert!(
        c.headers.iter().any(|(k, v)| k == "Content-Disposition"
            && v.contains("jammonitor-wan-wan1-latency-24h.csv"))
    );

    // -- invalid fields, auth
    for (q, field) in [
        ("name=wan2&range=1y", "range"),
        ("name=wan%202", "name"),
        ("name=nosuch", "name"),
        ("name=wan2&x=1", "x"),
    ] {
        let r = get(&root, &sid, "wan.history", q);
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.json()["error"]["field"], field, "{q}");
    }
    let r = get(&root, &sid, "wan.history.csv", "range=24h");
    assert_eq!(
        (r.status, r.json()["error"]["field"].clone()),
        (400, "name".into())
    );
    assert_eq!(get(&root, "bad-sid", "wan.history", "").status, 403);
    let r = Req::post("wan.history", &sid, "{}").run(&root);
    assert_eq!(r.status, 405);
}

#[test]
fn no_database_yet() {
    let root = fixture_root();
    let sid = root.session(true, false);
    let d = get(&root, &sid, "wan.history", "").data();
    assert_eq!(d["available"], false);
    assert_eq!(d["wans"][0]["uptime"], serde_json::Value::Null);
    let d = get(&root, &sid, "wan.history", "name=wan1&range=30d").data();
    assert_eq!(d["targets"], serde_json::json!([]));
    assert_eq!(get(&root, &sid, "wan.history", "name=nosuch").status, 400);
}

#[test]
fn unparseable_network_config() {
    // The brief form (what WAN Policy and Overview poll) still answers, naming the block as the
    // other reads do; one WAN's history needs the WAN model and is refused with 409.
    let (root, _now) = root_with_history();
    let sid = root.session(true, false);
    let good = std::fs::read_to_string(root.file("etc/config/network")).unwrap();
    let broken: String = good.lines().map(|l| format!("> {l}\n")).collect();
    root.write("etc/config/network", &broken);
    let r = get(&root, &sid, "wan.history", "");
    assert_eq!(r.status, 200);
    let d = r.data();
    assert_eq!(d["wans"], serde_json::Value::Null);
    assert_eq!(d["available"], true);
    let e = &d["errors"]["wans"];
    assert_eq!(e["code"], "config_unparseable");
    assert_eq!(e["file"], "/etc/config/network");
    assert!(e["line"].as_u64().unwrap() >= 1);
    assert!(
        e["message"].as_str().unwrap().contains("cannot parse"),
        "{e}"
    );
    let r = get(&root, &sid, "wan.history", "name=wan1");
    assert_eq!(
        (r.status, r.error_code()),
        (409, "config_unparseable".into())
    );
    root.write("etc/config/network", &good);
    assert_eq!(
        get(&root, &sid, "wan.history", "").data()["errors"],
        serde_json::json!({})
    );
}
