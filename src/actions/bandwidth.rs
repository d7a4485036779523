//! `GET bandwidth` and `GET bandwidth.csv`: realtime counters, hourly (24 h), daily (30 d) and
//! monthly history per interface, per WAN, or all WANs combined.
//!
//! `iface=wans` (default) sums the selected WANs' traffic devices only — never the tunnel (its
//! bytes already crossed a WAN) nor the LAN side — and says which devices it summed; `iface=all`
//! lists every recorded interface separately with no combined total (a sum across LAN, WAN and
//! tunnel would count the same bytes two or three times); `iface=<wan name or device>` is one.
//! On a WAN device rx is download and tx upload.

use super::{Ctx, now_epoch};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::store::config;
use crate::store::ifaces::{self, WanDev};
use crate::store::query::{self, Range};
use crate::store::{Store, period, status};
use crate::system::{Root, clock, procfs, uci};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Sel {
    Wans,
    All,
    One(String),
}

struct Q {
    range: Option<Range>,
    sel: Sel,
}

fn valid_iface(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b))
}

fn parse(ctx: &Ctx) -> ApiResult<Q> {
    let q = &ctx.req.query;
    q.only(&["range", "iface"])?;
    let range = q.choice(
        "range",
        &["realtime", "hourly", "daily", "monthly"],
        "hourly",
    )?;
    let sel = match q.get("iface").unwrap_or("wans") {
        "wans" => Sel::Wans,
        "all" => Sel::All,
        s if valid_iface(s) => Sel::One(s.to_string()),
        _ => {
            return Err(ApiError::field(
                "iface",
                "must be wans, all, or an interface name",
            ));
        }
    };
    Ok(Q {
        range: Range::parse(range),
        sel,
    })
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let q = parse(ctx)?;
    Ok(Response::ok(build(ctx.root, &q)?))
}

/// What a selection covers: the interfaces listed, whether they are summed, what was left out.
struct Scope {
    /// (device, wan name, label)
    ifaces: Vec<(String, Option<String>, Option<String>)>,
    summed: bool,
    excluded: Vec<Value>,
}

fn scope(sel: &Sel, wans: &[WanDev], known: &[String], wan_err: bool) -> ApiResult<Scope> {
    let wan_of = |dev: &str| wans.iter().find(|w| w.device.as_deref() == Some(dev));
    let entry = |dev: &str| {
        let w = wan_of(dev);
        (
            dev.to_string(),
            w.map(|w| w.name.clone()),
            w.and_then(|w| w.label.clone()),
        )
    };
    Ok(match sel {
        // The WAN list is unknown (broken config): no total rather than a wrong one.
        Sel::Wans if wan_err => Scope {
            ifaces: Vec::new(),
            summed: false,
            excluded: Vec::new(),
        },
        Sel::Wans => {
            // Each device once, whatever the config order (ATT and ATT6 on eth0.4 with wan2
            // between them must not count eth0.4 twice).
            let mut devs: Vec<String> = Vec::new();
            for d in wans.iter().filter_map(|w| w.device.clone()) {
                if !devs.contains(&d) {
                    devs.push(d);
                }
            }
            let excluded = known
                .iter()
                .filter(|d| !devs.contains(d))
                .map(|d| {
                    let reason =
                        ifaces::tunnel_reason(d).unwrap_or("not a WAN (LAN side or other)");
                    json!({"name": d, "reason": reason})
                })
                .collect();
            Scope {
                ifaces: devs.iter().map(|d| entry(d)).collect(),
                summed: true,
                excluded,
            }
        }
        Sel::All => Scope {
            ifaces: known.iter().map(|d| entry(d)).collect(),
            summed: false,
            excluded: Vec::new(),
        },
        Sel::One(name) => {
            // A WAN by its UCI name, or any device we record or see now.
            let dev = match wans.iter().find(|w| &w.name == name) {
                Some(w) => w
                    .device
                    .clone()
                    .ok_or_else(|| ApiError::field("iface", format!("WAN {name} has no device")))?,
                None if known.contains(name) => name.clone(),
                None => {
                    return Err(ApiError::field(
                        "iface",
                        format!("unknown interface {name}"),
                    ));
                }
            };
            Scope {
                ifaces: vec![entry(&dev)],
                summed: true,
                excluded: Vec::new(),
            }
        }
    })
}

fn iface_json(s: &Scope) -> Vec<Value> {
    s.ifaces
        .iter()
        .map(|(d, w, l)| json!({"name": d, "wan": w, "label": l}))
        .collect()
}

fn build(root: &Root, q: &Q) -> ApiResult<Value> {
    let now = now_epoch();
    // A broken jammonitor config is reported (errors.wans names it); history then uses the
    // default database placement.
    let cfg = config::load(&uci::read(root, "jammonitor").unwrap_or_default());
    let (wans, wan_err) = match ifaces::wan_devices_checked(root) {
        Ok(w) => (w, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let errors = match &wan_err {
        Some(e) => json!({"wans": e}),
        None => json!({}),
    };
    let counters: Vec<procfs::NetDev> = procfs::net_dev(root)
        .into_iter()
        .filter(|d| d.name != "lo")
        .collect();
    let mut known: Vec<String> = counters.iter().map(|d| d.name.clone()).collect();
    let Some(range) = q.range else {
        known.sort();
        let s = scope(&q.sel, &wans, &known, wan_err.is_some())?;
        let mut list = Vec::new();
        let (mut rx, mut tx) = (0u64, 0u64);
        for (dev, wan, label) in &s.ifaces {
            let c = counters.iter().find(|c| &c.name == dev);
            if let Some(c) = c {
                rx += c.rx_bytes;
                tx += c.tx_bytes;
            }
            list.push(
                json!({"name": dev, "wan": wan, "label": label, "present": c.is_some(),
                             "rx_bytes": c.map(|c| c.rx_bytes), "tx_bytes": c.map(|c| c.tx_bytes)}),
            );
        }
        return Ok(json!({
            "range": "realtime",
            "iface": sel_name(&q.sel),
            "generated_at": now,
            "ts_ms": (now * 1000.0) as u64,
            "poll_s": 3,
            "interfaces": list,
            "sums": s.summed.then(|| s.ifaces.iter().map(|i| i.0.clone()).collect::<Vec<_>>()),
            "total": s.summed.then(|| json!({"rx_bytes": rx, "tx_bytes": tx})),
            "excluded": s.excluded,
            "errors": errors,
        }));
    };
    // TZ for local hours/days; the CGI is single-threaded.
    let tz = clock::tz_rule(root);
    period::set_tz(&tz);
    let located = status::locate_db(root, &cfg);
    let store = match &located {
        Some((p, _)) => Some(Store::open_existing(&root.path(p))?),
        None => None,
    };
    if let Some(s) = &store {
        for name in query::recorded_ifaces(s.conn())? {
            if !known.contains(&name) {
                known.push(name);
            }
        }
    }
    known.sort();
    let sc = scope(&q.sel, &wans, &known, wan_err.is_some())?;
    let names: Vec<String> = sc.ifaces.iter().map(|i| i.0.clone()).collect();
    let series = match &store {
        Some(s) => query::iface_series(s.conn(), range, &names, now as i64, &period::utc_offset)?,
        None => query::iface_series(&empty_db()?, range, &names, now as i64, &period::utc_offset)?,
    };
    let mut buckets = Vec::with_capacity(series.buckets.len());
    let (mut trx, mut ttx) = (0u64, 0u64);
    for (i, b) in series.buckets.iter().enumerate() {
        let mut by = serde_json::Map::new();
        let (mut rx, mut tx) = (0u64, 0u64);
        for n in &names {
            let (r, t) = series.per_iface.get(n).map(|v| v[i]).unwrap_or((0, 0));
            rx += r;
            tx += t;
            by.insert(n.clone(), json!([r, t]));
        }
        trx += rx;
        ttx += tx;
        buckets.push(json!({
            "start": b.start, "label": b.label, "samples": b.samples, "seconds": b.seconds,
            "rx": sc.summed.then_some(rx), "tx": sc.summed.then_some(tx), "by_iface": by,
        }));
    }
    Ok(json!({
        "range": range.as_str(),
        "iface": sel_name(&q.sel),
        "generated_at": now,
        "tz": tz,
        "available": store.is_some(),
        "db": located.map(|(p, place)| json!({"path": p, "placement": place})),
        "interfaces": iface_json(&sc),
        "sums": sc.summed.then_some(&names),
        "excluded": sc.excluded,
        "buckets": buckets,
        "totals": sc.summed.then(|| json!({"rx": trx, "tx": ttx})),
        "errors": errors,
    }))
}

/// An in-memory database with the schema, so "no history yet" answers with zero buckets.
fn empty_db() -> ApiResult<rusqlite::Connection> {
    let c =
        rusqlite::Connection::open_in_memory().map_err(|e| ApiError::internal(e.to_string()))?;
    for m in crate::store::schema::MIGRATIONS {
        c.execute_batch(m)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(c)
}

fn sel_name(s: &Sel) -> String {
    match s {
        Sel::Wans => "wans".into(),
        Sel::All => "all".into(),
        Sel::One(n) => n.clone(),
    }
}

/// CSV of exactly what `bandwidth` answers: one row per bucket and interface, plus a `total`
/// row per bucket when the answer has a combined total. Realtime: one row per interface.
pub fn handle_csv(ctx: &Ctx) -> ApiResult<Response> {
    let q = parse(ctx)?;
    let data = build(ctx.root, &q)?;
    let csv = to_csv(&data);
    let name = format!(
        "jammonitor-bandwidth-{}-{}.csv",
        data["range"].as_str().unwrap_or("x"),
        data["iface"].as_str().unwrap_or("x")
    );
    Ok(Response::download(
        "text/csv; charset=utf-8",
        &name,
        csv.into_bytes(),
    ))
}

fn field(s: &str) -> String {
    // Interface names are plain, labels are ours; quote anyway if a comma or quote ever appears,
    // and defuse spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn to_csv(d: &Value) -> String {
    let mut out = String::new();
    let num = |v: &Value| v.as_u64().map(|n| n.to_string()).unwrap_or_default();
    if d["range"] == "realtime" {
        out.push_str("ts_ms,interface,wan,rx_bytes,tx_bytes\n");
        for i in d["interfaces"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                num(&d["ts_ms"]),
                field(i["name"].as_str().unwrap_or("")),
                field(i["wan"].as_str().unwrap_or("")),
                num(&i["rx_bytes"]),
                num(&i["tx_bytes"])
            ));
        }
        if d["total"].is_object() {
            out.push_str(&format!(
                "{},total,,{},{}\n",
                num(&d["ts_ms"]),
                num(&d["total"]["rx_bytes"]),
                num(&d["total"]["tx_bytes"])
            ));
        }
        return out;
    }
    out.push_str("range,start,label,interface,wan,rx_bytes,tx_bytes\n");
    let range = d["range"].as_str().unwrap_or("");
    let ifs = d["interfaces"].as_array().cloned().unwrap_or_default();
    for b in d["buckets"].as_array().into_iter().flatten() {
        let start = b["start"].as_i64().unwrap_or(0);
        let label = field(b["label"].as_str().unwrap_or(""));
        for i in &ifs {
            let name = i["name"].as_str().unwrap_or("");
            let v = &b["by_iface"][name];
            out.push_str(&format!(
                "{range},{start},{label},{},{},{},{}\n",
                field(name),
                field(i["wan"].as_str().unwrap_or("")),
                num(&v[0]),
                num(&v[1])
            ));
        }
        if b["rx"].is_u64() && ifs.len() > 1 {
            out.push_str(&format!(
                "{range},{start},{label},total,,{},{}\n",
                num(&b["rx"]),
                num(&b["tx"])
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_device_is_summed_once_even_when_not_adjacent() {
        let w = |n: &str, d: &str| WanDev {
            name: n.into(),
            label: None,
            device: Some(d.into()),
        };
        // ATT and ATT6 share eth0.4 with wan2 between them (config order).
        let wans = [w("ATT", "eth0.4"), w("wan2", "eth1"), w("ATT6", "eth0.4")];
        let known = ["eth0.4".to_string(), "eth1".to_string()];
        let s = scope(&Sel::Wans, &wans, &known, false).unwrap();
        let devs: Vec<&str> = s.ifaces.iter().map(|i| i.0.as_str()).collect();
        assert_eq!(devs, ["eth0.4", "eth1"]);
        assert!(s.summed);
        // Unknown WAN list (broken config): no total at all rather than a wrong one.
        let s = scope(&Sel::Wans, &[], &known, true).unwrap();
        assert!(!s.summed && s.ifaces.is_empty());
    }
}
