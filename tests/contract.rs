//! Contract test (DESIGN §10): docs/openapi.json describes every action, and real answers from the
//! CGI (against a namespace and the real uci) match it. The validator covers the JSON Schema
//! subset the document uses; an unknown keyword fails the test rather than being ignored.
mod common;
use common::*;
use serde_json::{Value, json};

fn spec() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("docs/openapi.json")).unwrap())
        .unwrap()
}

fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut cur = doc;
            for part in r.trim_start_matches("#/").split('/') {
                cur = &cur[part];
            }
            resolve(doc, cur)
        }
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}

/// Returns the list of violations (path: problem).
fn check(doc: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = resolve(doc, schema);
    let Some(map) = s.as_object() else { return };
    for (k, rule) in map {
        match k.as_str() {
            "type" => {
                let ok = match rule {
                    Value::String(t) => type_ok(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
                    _ => false,
                };
                if !ok {
                    errs.push(format!("{path}: {v} is not of type {rule}"));
                    return;
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in rule.as_object().unwrap() {
                        if let Some(x) = o.get(name) {
                            check(doc, sub, x, &format!("{path}.{name}"), errs);
                        }
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in rule.as_array().unwrap() {
                        if !o.contains_key(r.as_str().unwrap()) {
                            errs.push(format!("{path}: missing {r}"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known: Vec<&str> = map
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    for (name, x) in o.iter().filter(|(n, _)| !known.contains(&n.as_str())) {
                        match rule {
                            Value::Bool(false) => {
                                errs.push(format!("{path}: undocumented member {name}"))
                            }
                            Value::Bool(true) => {}
                            sub => check(doc, sub, x, &format!("{path}.{name}"), errs),
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        check(doc, rule, x, &format!("{path}[{i}]"), errs);
                    }
                }
            }
            "enum" => {
                if !rule.as_array().unwrap().contains(v) {
                    errs.push(format!("{path}: {v} not in {rule}"));
                }
            }
            "const" => {
                if rule != v {
                    errs.push(format!("{path}: {v} is not {rule}"));
                }
            }
            "minimum" | "maximum" => {
                if let Some(n) = v.as_f64() {
                    let lim = rule.as_f64().unwrap();
                    if (k == "minimum" && n < lim) || (k == "maximum" && n > lim) {
                        errs.push(format!("{path}: {n} violates {k} {lim}"));
                    }
                }
            }
            "maxItems" | "minProperties" | "maxLength" => {
                let n = rule.as_u64().unwrap() as usize;
                let bad = match k.as_str() {
                    "maxItems" => v.as_array().is_some_and(|a| a.len() > n),
                    "minProperties" => v.as_object().is_some_and(|o| o.len() < n),
                    _ => v.as_str().is_some_and(|s| s.chars().count() > n),
                };
                if bad {
                    errs.push(format!("{path}: violates {k} {n}"));
                }
            }
            "oneOf" => {
                let matching = rule
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|alt| {
                        let mut e = Vec::new();
                        check(doc, alt, v, path, &mut e);
                        e.is_empty()
                    })
                    .count();
                if matching != 1 {
                    errs.push(format!("{path}: matches {matching} of oneOf {rule}"));
                }
            }
            "description" | "$ref" => {}
            other => panic!("validator does not know keyword {other}"),
        }
    }
}

fn validate(doc: &Value, schema: &Value, v: &Value, what: &str) {
    let mut errs = Vec::new();
    check(doc, schema, v, "$", &mut errs);
    assert!(
        errs.is_empty(),
        "{what} does not match docs/openapi.json:\n{}\n{v:#}",
        errs.join("\n")
    );
}

#[test]
fn every_action_is_documented_and_nothing_else() {
    let doc = spec();
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| p.trim_start_matches('/').to_string())
        .collect();
    let mut actual: Vec<String> = jammonitor::actions::names().map(String::from).collect();
    documented.sort();
    actual.sort();
    assert_eq!(
        documented, actual,
        "docs/openapi.json paths vs the action table"
    );
}

#[test]
fn answers_match_the_document() {
    let doc = spec();
    let root = TestRoot::new(true);
    let ns = mini_router("contract");
    let rw = root.session(true, true);
    // Sample requests: (action, query, body). Writes that would need real hardware (a USB
    // stick) are sent with a device the rig lacks: their refusal must be documented too.
    let samples: Vec<(&str, &str, Value)> = vec![
        ("wan.roles", "", json!({"roles": {"wan2": "master"}})),
        (
            "wan.edit",
            "",
            json!({"name": "wan2", "label": "DSL", "mtu": 1480, "dns": ["9.9.9.9"]}),
        ),
        (
            "wan.advanced",
            "",
            json!({"failover": {"timeout": 2, "count": 2, "tries": 3, "interval": 2, "failure_interval": 5, "tries_up": 3},
                   "mptcp": {"scheduler": "blest", "path_manager": "fullmesh", "congestion": "bbr", "subflows": 8, "stale_loss_cnt": 4}}),
        ),
        ("wan.managed", "", json!({"wans": []})),
        ("bandwidth", "range=hourly&iface=wans", Value::Null),
        ("bandwidth.csv", "range=daily&iface=all", Value::Null),
        ("pings", "minutes=10", Value::Null),
        ("wan.history", "range=7d", Value::Null),
        (
            "wan.history.csv",
            "name=wan2&range=24h&kind=outages",
            Value::Null,
        ),
        ("job", "id=nosuchjob", Value::Null),
        ("storage.mount", "", json!({"device": "/dev/sdz1"})),
        ("storage.unmount", "", json!({})),
        (
            "storage.format",
            "",
            json!({"device": "/dev/sdz1", "confirm": "FORMAT", "label": "JAM"}),
        ),
        ("collector.start", "", json!({})),
        ("collector.stop", "", json!({})),
        ("diag.bundle", "", json!({})),
        ("diag.cancel", "", json!({"id": "diag-1-00000000"})),
        ("diag.download", "", json!({"id": "diag-1-00000000"})),
        // a size the server lacks: refused before anything starts
        (
            "speedtest.start",
            "",
            json!({"wan": "wan1", "direction": "download", "size_mb": 25, "server": "cachefly"}),
        ),
        (
            "speedtest.cancel",
            "",
            json!({"id": "speedtest-1-00000000"}),
        ),
        // not installed by a package manager here: install and rollback are refused (409);
        // check starts a job (which fails: no update server)
        ("update.check", "", json!({})),
        ("update.install", "", json!({"allow_downgrade": false})),
        ("update.rollback", "", json!({})),
        (
            "clients.history",
            "mac=02:00:00:00:01:0a&range=daily",
            Value::Null,
        ),
        (
            "clients.meta",
            "",
            json!({"mac": "02:00:00:00:01:0a", "name": "Anna", "type": "laptop"}),
        ),
        (
            "clients.reserve",
            "",
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.50", "name": "anna"}),
        ),
        ("clients.unreserve", "", json!({"mac": "02:00:00:00:01:0c"})),
        (
            "wifi.aps",
            "",
            json!({"aps": [{"name": "garden", "ip": "192.168.100.20"}]}),
        ),
        // Refused here (the WAN writes must still run); the real on/off is checked below.
        ("bypass.enable", "", json!({"confirm": false})),
        ("bypass.disable", "", json!({})),
    ];
    let mut ok_seen: Vec<&str> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let action = path.trim_start_matches('/');
        let (method, op) = item.as_object().unwrap().iter().next().unwrap();
        let (query, body) = samples
            .iter()
            .find(|(a, _, _)| *a == action)
            .map(|(_, q, b)| (q.to_string(), b.clone()))
            .unwrap_or_default();
        let resp = if method == "get" {
            let mut r = Req::get(action, &rw).in_netns(&ns.name);
            r.query = query;
            r.run(&root)
        } else {
            assert!(!body.is_null(), "no sample body for {action}");
            validate(
                &doc,
                &op["requestBody"]["content"]["application/json"]["schema"],
                &body,
                &format!("{action} request"),
            );
            Req::post(action, &rw, &body.to_string())
                .in_netns(&ns.name)
                .run(&root)
        };
        let status = resp.status.to_string();
        let documented = resolve(&doc, &op["responses"][&status]);
        assert!(
            !documented.is_null(),
            "{action}: status {status} is not documented: {}",
            String::from_utf8_lossy(&resp.body)
        );
        let ctype = resp
            .headers
            .iter()
            .find(|(k, _)| k == "Content-Type")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let content = &documented["content"][ctype.split(';').next().unwrap_or("")];
        assert!(
            !content.is_null(),
            "{action}: content type {ctype} not documented for {status}"
        );
        if ctype == "application/json" {
            validate(
                &doc,
                &content["schema"],
                &resp.json(),
                &format!("{action} ({status})"),
            );
        }
        if resp.status < 300 {
            ok_seen.push(action);
        }
        // A WAN write's job also writes /etc/config/jammonitor: the next write (wifi.aps) would
        // find the file changed under it (409 conflict) if the job still ran.
        if resp.status == 202 && action.starts_with("wan.") {
            let id = resp.data()["job"]["id"].as_str().unwrap().to_string();
            wait_job_done(&root, &rw, &id, Some(&ns.name));
        }
    }
    // Every read and the WAN writes succeed here; only hardware-bound writes may be refused.
    for a in [
        "overview",
        "interfaces",
        "session",
        "wan",
        "bandwidth",
        "bandwidth.csv",
        "pings",
        "storage",
        "wan.history",
        "wan.history.csv",
        "diag",
        "diag.bundle",
        "update",
        "speedtest",
        "metrics",
    ] {
        assert!(ok_seen.contains(&a), "{a} did not answer successfully");
    }
    for a in [
        "wan.roles",
        "wan.edit",
        "wan.advanced",
        "wan.managed",
        "clients",
        "clients.history",
        "clients.meta",
        "clients.reserve",
        "clients.unreserve",
        "wifi",
        "wifi.aps",
    ] {
        assert!(ok_seen.contains(&a), "{a} did not answer successfully");
    }
    // The VPS bypass on and off: the 202, the job's result and the state read in both states.
    let op = |a: &str| &doc["paths"][format!("/{a}")];
    let check_resp = |a: &str, method: &str, r: &Resp| {
        let d = resolve(&doc, &op(a)[method]["responses"][r.status.to_string()]);
        assert!(!d.is_null(), "{a}: status {} not documented", r.status);
        validate(
            &doc,
            &d["content"]["application/json"]["schema"],
            &r.json(),
            &format!("{a} ({})", r.status),
        );
    };
    for (action, body) in [
        ("bypass.enable", json!({"confirm": true})),
        ("bypass.disable", json!({})),
    ] {
        let r = Req::get("bypass", &rw).in_netns(&ns.name).run(&root);
        check_resp("bypass", "get", &r);
        let r = Req::post(action, &rw, &body.to_string())
            .in_netns(&ns.name)
            .run(&root);
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        check_resp(action, "post", &r);
        let id = r.data()["job"]["id"].as_str().unwrap().to_string();
        let job = wait_job_done(&root, &rw, &id, Some(&ns.name));
        assert_eq!(job["state"], "done", "{job}");
        let ok = &op(action)["post"]["responses"]["200"]["content"]["application/json"]["schema"];
        validate(
            &doc,
            ok,
            &json!({"ok": true, "data": job["result"]}),
            &format!("{action} job result"),
        );
    }
    // Errors have the documented shape too.
    let e = Req::post("wan.edit", &rw, r#"{"name":"wan2","mtu":1}"#)
        .in_netns(&ns.name)
        .run(&root);
    validate(
        &doc,
        &json!({"$ref": "#/components/schemas/Error"}),
        &e.json(),
        "error",
    );
}

/// Found by schemathesis (issue 18, tests/api_schemathesis.rs): `bandwidth?range=realtime`
/// answers BandwidthRealtime, but the document allowed only BandwidthHistory for every range.
/// Each range's answer must match the document, and exactly one of the two shapes.
#[test]
fn bandwidth_answers_match_the_document_for_every_range() {
    let doc = spec();
    let root = TestRoot::new(true);
    let ns = mini_router("bwranges");
    let sid = root.session(true, false);
    let op = &doc["paths"]["/bandwidth"]["get"];
    let ranges = op["parameters"][0]["schema"]["enum"].as_array().unwrap();
    assert!(ranges.contains(&json!("realtime")), "{ranges:?}");
    for range in ranges {
        let mut r = Req::get("bandwidth", &sid).in_netns(&ns.name);
        r.query = format!("range={}&iface=wans", range.as_str().unwrap());
        let resp = r.run(&root);
        assert_eq!(resp.status, 200, "{range}: {:?}", resp.json());
        assert_eq!(resp.json()["data"]["range"], *range);
        validate(
            &doc,
            &op["responses"]["200"]["content"]["application/json"]["schema"],
            &resp.json(),
            &format!("bandwidth range={range}"),
        );
    }
}
