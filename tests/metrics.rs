//! `GET metrics` (issue 18): the Prometheus text exposition through the real CGI, authorized by
//! the test root's real rpcd; the scrape-token mode through the real uhttpd (the header path a
//! Prometheus uses: `Authorization: Bearer <token>` is one of the headers uhttpd passes to a
//! CGI), refused without the token, with a wrong one, and on every other action; and the Grafana
//! dashboard (docs/grafana/jammonitor.json) checked against the families the action emits.
mod common;
use common::metrics::FAMILIES;
use common::uhttpd::{self, Uhttpd};
use common::*;
use jammonitor::store::{ClientTraffic, Sample, Store};
use std::collections::BTreeMap;

const TOKEN: &str = "4f1c0d2b9a8e7f6051423324154607f8e9dacbbcadfe0f1e2d3c4b5a69788796";
const CTYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One parsed sample: family name, labels, value.
#[derive(Debug, Clone)]
struct S {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A strict reader of the text format 0.0.4: HELP then TYPE before a family's samples, each
/// family contiguous and once, names `jammonitor_*`, counters `*_total`, label values unescaped.
fn parse(text: &str) -> (Vec<(String, String)>, Vec<S>) {
    let mut families: Vec<(String, String)> = Vec::new();
    let mut samples = Vec::new();
    let mut help_for: Option<String> = None;
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(!help.is_empty(), "{name}: empty HELP");
            assert!(
                !families.iter().any(|(n, _)| n == name),
                "{name}: family given twice"
            );
            help_for = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(help_for.take().as_deref(), Some(name), "TYPE without HELP");
            assert!(name.starts_with("jammonitor_"), "{name}: prefix");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}: name"
            );
            match kind {
                "counter" => assert!(name.ends_with("_total"), "{name}: counter without _total"),
                "gauge" => assert!(!name.ends_with("_total"), "{name}: gauge with _total"),
                k => panic!("{name}: type {k}"),
            }
            families.push((name.to_string(), kind.to_string()));
        } else {
            assert!(!line.starts_with('#'), "stray comment {line}");
            let (name, mut rest) = match line.find(['{', ' ']) {
                Some(i) => (&line[..i], &line[i..]),
                None => panic!("sample without value: {line}"),
            };
            assert_eq!(
                families.last().map(|f| f.0.as_str()),
                Some(name),
                "sample outside its family: {line}"
            );
            let mut labels = BTreeMap::new();
            if let Some(r) = rest.strip_prefix('{') {
                let mut chars = r.chars();
                loop {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert!(
                        [
                            "wan", "device", "label", "target", "role", "client", "version"
                        ]
                        .contains(&key.as_str()),
                        "{line}: label {key}"
                    );
                    assert_eq!(chars.next(), Some('"'), "{line}");
                    let mut v = String::new();
                    loop {
                        match chars.next().expect("unterminated label value") {
                            '\\' => match chars.next() {
                                Some('\\') => v.push('\\'),
                                Some('"') => v.push('"'),
                                Some('n') => v.push('\n'),
                                o => panic!("{line}: bad escape {o:?}"),
                            },
                            '"' => break,
                            '\n' => panic!("raw newline"),
                            c => v.push(c),
                        }
                    }
                    assert!(labels.insert(key, v).is_none(), "{line}: label twice");
                    match chars.next() {
                        Some(',') => continue,
                        Some('}') => break,
                        o => panic!("{line}: {o:?}"),
                    }
                }
                rest = chars.as_str();
            }
            assert!(
                rest.starts_with(' ') && !rest.starts_with("  "),
                "{line}: separator"
            );
            let v = rest.trim();
            let value = match v {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("{line}: value {v}")),
            };
            samples.push(S {
                name: name.to_string(),
                labels,
                value,
            });
        }
    }
    assert!(help_for.is_none(), "HELP without TYPE at the end");
    (families, samples)
}

fn find<'a>(samples: &'a [S], name: &str, labels: &[(&str, &str)]) -> Vec<&'a S> {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

fn one(samples: &[S], name: &str, labels: &[(&str, &str)]) -> f64 {
    let f = find(samples, name, labels);
    assert_eq!(f.len(), 1, "{name} {labels:?}: {f:?}");
    f[0].value
}

fn seed_clients(root: &TestRoot) {
    let db = root.file("tmp/jammonitor/history.db");
    let mut st = Store::open(&db).unwrap();
    let now = jammonitor::store::now_epoch();
    let c = |key: &str, host: Option<&str>, rx, tx| ClientTraffic {
        key: key.into(),
        mac: Some(key.into()),
        ip: Some("192.168.100.10".into()),
        hostname: host.map(String::from),
        rx,
        tx,
    };
    for (ts, rx) in [
        (now - 40 * 86_400, 5u64),
        (now - 3 * 86_400, 7_000_000),
        (now - 1, 4_000_000),
    ] {
        st.write(&Sample {
            ts,
            offset: 0,
            seconds: 60,
            clients: vec![
                c("02:00:00:00:01:0a", Some("anna-laptop"), rx, rx / 10),
                // hostile: quotes, backslash, newline, a brace — DHCP hostnames are client-chosen
                c(
                    "02:00:00:00:01:0b",
                    Some("x\"} jammonitor_wan_up 1\n\\"),
                    1000,
                    2000,
                ),
            ],
            ..Sample::default()
        })
        .unwrap();
    }
}

#[test]
fn metrics_in_the_exposition_format_with_sane_values() {
    let root = TestRoot::new(true);
    let ns = mini_router("metrics");
    let sid = root.session(true, false);
    seed_clients(&root);

    // Per-client series are off by default (cardinality).
    let r = Req::get("metrics", &sid).in_netns(&ns.name).run(&root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let ctype = r.headers.iter().find(|(k, _)| k == "Content-Type").unwrap();
    assert_eq!(ctype.1, CTYPE);
    let (fams, samples) = parse(std::str::from_utf8(&r.body).unwrap());
    assert!(!fams.iter().any(|f| f.0.starts_with("jammonitor_client_")));
    assert!(!samples.iter().any(|s| s.labels.contains_key("client")));
    // metrics takes no CPU sample (the page's CPU window stays the page's)
    assert!(!root.file("var/run/jammonitor/cpu.stat").exists());

    root.uci(&["set", "jammonitor.metrics=metrics"]);
    root.uci(&["set", "jammonitor.metrics.clients=1"]);
    root.uci(&["commit", "jammonitor"]);
    let r = Req::get("metrics", &sid).in_netns(&ns.name).run(&root);
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body.clone()).unwrap();
    let (fams, s) = parse(&text);
    let names: Vec<&str> = fams.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, FAMILIES, "families and their order");

    // WANs of the mini router: lan1..3 up, roles from the config, counters from the kernel
    for (wan, dev) in [("wan1", "lan1"), ("wan2", "lan2"), ("wan3", "lan3")] {
        assert_eq!(
            one(&s, "jammonitor_wan_up", &[("wan", wan), ("device", dev)]),
            1.0
        );
        let roles = find(&s, "jammonitor_wan_role", &[("wan", wan)]);
        assert_eq!(roles.len(), 4);
        assert_eq!(roles.iter().filter(|r| r.value == 1.0).count(), 1, "{wan}");
        let rx = one(&s, "jammonitor_wan_receive_bytes_total", &[("wan", wan)]);
        assert!(rx >= 0.0 && rx.fract() == 0.0);
    }
    let latency = find(&s, "jammonitor_wan_latency_seconds", &[]);
    assert!(
        latency.iter().all(|l| l.value > 0.0 && l.value < 10.0),
        "{latency:?}"
    );
    assert_eq!(one(&s, "jammonitor_tunnel_up", &[("device", "tun0")]), 1.0);
    assert_eq!(one(&s, "jammonitor_mptcp_subflows_limit", &[]), 8.0);
    let eps: f64 = find(&s, "jammonitor_mptcp_endpoints", &[])
        .iter()
        .map(|e| e.value)
        .sum();
    assert_eq!(eps, 3.0, "the mini router's three endpoints");
    let mem = one(&s, "jammonitor_memory_total_bytes", &[]);
    let avail = one(&s, "jammonitor_memory_available_bytes", &[]);
    assert!(mem > 1e6 && avail > 0.0 && avail <= mem);
    assert!(one(&s, "jammonitor_load1", &[]) >= 0.0);
    assert!(one(&s, "jammonitor_conntrack_max", &[]) > 0.0);
    assert!(one(&s, "jammonitor_uptime_seconds", &[]) > 0.0);
    assert_eq!(one(&s, "jammonitor_collector_up", &[]), 0.0);
    assert!(one(&s, "jammonitor_database_size_bytes", &[]) > 4096.0);

    // Clients: bytes since first seen (all three samples), hostile hostname escaped and read
    // back unchanged.
    let anna = [("client", "02:00:00:00:01:0a"), ("label", "anna-laptop")];
    assert_eq!(
        one(&s, "jammonitor_client_receive_bytes_total", &anna),
        11_000_005.0
    );
    assert_eq!(
        one(&s, "jammonitor_client_transmit_bytes_total", &anna),
        1_100_000.0
    );
    let evil = [
        ("client", "02:00:00:00:01:0b"),
        ("label", "x\"} jammonitor_wan_up 1\n\\"),
    ];
    assert_eq!(
        one(&s, "jammonitor_client_receive_bytes_total", &evil),
        3000.0
    );
    assert_eq!(
        find(&s, "jammonitor_wan_up", &[]).len(),
        3,
        "no injected sample"
    );
    assert!(
        text.contains(r#"label="x\"} jammonitor_wan_up 1\n\\""#),
        "{text}"
    );

    // A custom name wins over the DHCP hostname.
    root.write(
        "etc/jammonitor_clients.json",
        r#"{"02:00:00:00:01:0a": {"alias": "Anna's laptop"}}"#,
    );
    let r = Req::get("metrics", &sid).in_netns(&ns.name).run(&root);
    let (_, s) = parse(std::str::from_utf8(&r.body).unwrap());
    one(
        &s,
        "jammonitor_client_receive_bytes_total",
        &[("client", "02:00:00:00:01:0a"), ("label", "Anna's laptop")],
    );

    // No parameters.
    let mut q = Req::get("metrics", &sid).in_netns(&ns.name);
    q.query = "x=1".into();
    let r = q.run(&root);
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_field"));
}

fn set_token(root: &TestRoot, token: Option<&str>) {
    root.uci(&["set", "jammonitor.metrics=metrics"]);
    match token {
        Some(t) => root.uci(&["set", &format!("jammonitor.metrics.token={t}")]),
        None => root.uci(&["-q", "delete", "jammonitor.metrics.token"]),
    };
    root.uci(&["commit", "jammonitor"]);
}

fn refused(r: &uhttpd::HttpResp, code: &str) {
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let j = r.json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["error"]["code"], code, "{j}");
}

#[test]
fn scrape_token_through_the_real_uhttpd_reaches_metrics_only() {
    let root = TestRoot::new(false);
    let u = Uhttpd::start(&root, uhttpd::free_port());
    let sid = root.session(true, true);
    let bearer = |t: &str| format!("Bearer {t}");
    let metrics = "/cgi-bin/jammonitor/api/metrics";
    let get = |path: &str, auth: Option<&str>| uhttpd::get(u.port, path, auth);

    // Token mode off: a LuCI session scrapes, a token does not.
    let r = get(metrics, Some(&bearer(&sid)));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some(CTYPE));
    refused(&get(metrics, Some(&bearer(TOKEN))), "auth_denied");

    set_token(&root, Some(TOKEN));
    let r = get(metrics, Some(&bearer(TOKEN)));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("Content-Type"), Some(CTYPE));
    let (fams, _) = parse(std::str::from_utf8(&r.body).unwrap());
    assert!(fams.len() > 20);
    // the session still works alongside
    assert_eq!(get(metrics, Some(&bearer(&sid))).status, 200);

    // Without the token, or with a wrong one: 403 JSON.
    refused(&get(metrics, None), "auth_missing");
    refused(&get(metrics, Some("Bearer ")), "auth_missing");
    refused(
        &get(metrics, Some(&format!("Basic {TOKEN}"))),
        "auth_missing",
    );
    let mut wrong = TOKEN.as_bytes().to_vec();
    wrong[63] = b'7';
    for w in [
        String::from_utf8(wrong).unwrap(),
        TOKEN[..63].to_string(),
        format!("{TOKEN}0"),
        TOKEN.to_uppercase(),
        // a session-shaped value goes to rpcd, which does not know it
        TOKEN[..32].to_string(),
    ] {
        refused(&get(metrics, Some(&bearer(&w))), "auth_denied");
    }

    // The token reaches no other action, read or write, and runs none of them.
    let before = root.configs();
    for action in jammonitor::actions::names().filter(|a| *a != "metrics") {
        use jammonitor::http::Method;
        let path = format!("/cgi-bin/jammonitor/api/{action}");
        let r = if jammonitor::actions::route(action, Method::Get).is_ok() {
            get(&path, Some(&bearer(TOKEN)))
        } else {
            uhttpd::request(
                u.port,
                "POST",
                &path,
                Some(&bearer(TOKEN)),
                Some(r#"{"wans":[]}"#),
            )
        };
        refused(&r, "auth_missing");
    }
    assert_eq!(root.configs(), before, "a token request changed a config");
    assert!(
        !root.file("var/run/jammonitor/cpu.stat").exists(),
        "overview ran"
    );

    // A token in the config that is too short to be safe is no token at all.
    set_token(&root, Some("short-token"));
    refused(&get(metrics, Some("Bearer short-token")), "auth_denied");
    set_token(&root, None);
    refused(&get(metrics, Some(&bearer(TOKEN))), "auth_denied");
}

/// docs/grafana/jammonitor.json: valid dashboard JSON whose every PromQL expression names only
/// metric families the action emits (and names at least one).
#[test]
fn grafana_dashboard_uses_only_emitted_metrics() {
    let text = std::fs::read_to_string(repo().join("docs/grafana/jammonitor.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    // (is it an `expr`, the string) for every string of the dashboard
    let mut strings = Vec::new();
    fn walk(v: &serde_json::Value, key: &str, out: &mut Vec<(bool, String)>) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, k, out)),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, key, out)),
            serde_json::Value::String(s) => out.push((key == "expr", s.clone())),
            _ => {}
        }
    }
    walk(&dash, "", &mut strings);
    assert!(strings.iter().filter(|s| s.0).count() >= 15);
    let mut used = std::collections::BTreeSet::new();
    for (is_expr, e) in &strings {
        let names: Vec<&str> = e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("jammonitor_"))
            .collect();
        assert!(
            !*is_expr || !names.is_empty(),
            "no JamMonitor metric in {e}"
        );
        for n in names {
            assert!(FAMILIES.contains(&n), "{e}: {n} is not emitted by metrics");
            used.insert(n);
        }
    }
    for needed in [
        "jammonitor_wan_receive_bytes_total",
        "jammonitor_wan_latency_seconds",
        "jammonitor_wan_loss_ratio",
        "jammonitor_tunnel_up",
        "jammonitor_mptcp_subflows",
        "jammonitor_client_receive_bytes_total",
    ] {
        assert!(used.contains(needed), "the dashboard lacks {needed}");
    }
    // FAMILIES is what the action emits: checked against a real answer in
    // metrics_in_the_exposition_format_with_sane_values.
}

/// The token is a secret: the diagnostic bundle's redactor removes it from the config text.
#[test]
fn the_diagnostic_bundle_redacts_the_scrape_token() {
    let conf =
        format!("config metrics 'metrics'\n\toption token '{TOKEN}'\n\toption clients '1'\n");
    let out = jammonitor::redact::redact(&conf);
    assert!(!out.contains(TOKEN), "{out}");
    assert!(out.contains("option clients '1'"), "{out}");
}
