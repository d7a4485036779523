//! `GET wan.history` and `GET wan.history.csv` (issue 19): each WAN's own latency and loss as
//! the collector measured them through that link, its outages with their cause, and uptime.
//!
//! - `name=<wan>&range=24h|7d|30d`: one WAN in detail (series per target, unprobed rounds,
//!   outages and disabled periods of the range, uptime over 24 h / 7 d / 30 d and per day).
//! - no `name`: every managed WAN in brief, for the WAN Policy cards and the Overview (a 24 h
//!   latency/loss sparkline in 10-minute buckets, uptime, last outage).
//!
//! Reads the history database only (the collector measures; no child process, no ping here).

use crate::actions::{Ctx, now_epoch};
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::store::linkhist::{self, OutageRow, Span, TargetSeries};
use crate::store::{Store, config, period, status};
use crate::system::{Root, clock, uci};
use crate::wans;
use rusqlite::Connection;
use serde_json::{Value, json};

struct Q {
    name: Option<String>,
    span: Span,
    kind: &'static str,
}

fn parse(ctx: &Ctx, csv: bool) -> ApiResult<Q> {
    let q = &ctx.req.query;
    q.only(if csv {
        &["name", "range", "kind"]
    } else {
        &["name", "range"]
    })?;
    let span = Span::parse(q.choice("range", &["24h", "7d", "30d"], "24h")?).unwrap_or(Span::Day);
    let name = match q.get("name") {
        None => None,
        Some(n) if wans::valid_iface_name(n) => Some(n.to_string()),
        Some(_) => return Err(ApiError::field("name", "must be a WAN interface name")),
    };
    let kind = if csv {
        match q.choice("kind", &["latency", "outages"], "latency")? {
            "outages" => "outages",
            _ => "latency",
        }
    } else {
        "latency"
    };
    if csv && name.is_none() {
        return Err(ApiError::field("name", "required for the CSV export"));
    }
    Ok(Q { name, span, kind })
}

struct Wan {
    name: String,
    label: Option<String>,
    disabled: bool,
}

fn managed(root: &Root) -> Result<Vec<Wan>, uci::ConfigError> {
    let network = uci::read(root, "network")?;
    let jm = uci::read(root, "jammonitor")?;
    Ok(wans::selected(&network, &jm)
        .into_iter()
        .map(|w| Wan {
            disabled: w.disabled || w.role == wans::Role::Off,
            name: w.name,
            label: w.label,
        })
        .collect())
}

fn outage_json(o: &OutageRow) -> Value {
    json!({
        "start": o.start_ms, "end": o.end_ms, "duration_s": o.duration_s,
        "cause": o.cause, "ongoing": o.ongoing, "source": o.source,
    })
}

fn uptime_json(u: &linkhist::Uptime) -> Value {
    json!({"pct": u.pct, "observed_s": u.observed_s.round(), "down_s": u.down_s.round(),
           "disabled_s": u.disabled_s.round(), "outages": u.outages})
}

fn series_json(s: &[TargetSeries]) -> Vec<Value> {
    s.iter()
        .map(|t| {
            json!({
                "name": t.name,
                "sent": t.sent, "lost": t.lost, "avg_ms": t.avg_ms, "loss_pct": t.loss_pct,
                // [bucket start (ms), min, avg, max RTT (ms), loss %, pings sent]
                "points": t.points.iter().map(|p| json!([p.ts, p.min_ms, p.avg_ms, p.max_ms, p.loss_pct, p.sent])).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Outages of the last 30 days and uptime windows, shared by both forms.
struct Facts {
    rows: Vec<OutageRow>,
    minutes: Vec<i64>,
    windows: Value,
    last: Option<OutageRow>,
}

fn facts(conn: &Connection, wan: &str, now: i64) -> ApiResult<Facts> {
    let now_ms = now * 1000;
    let since30 = now - Span::Month.seconds();
    let rows = linkhist::outages(conn, wan, since30 * 1000, now_ms)?;
    let minutes = linkhist::observed_minutes(conn, wan, since30)?;
    let mut windows = serde_json::Map::new();
    for span in [Span::Day, Span::Week, Span::Month] {
        let u = linkhist::uptime(
            &minutes,
            &rows,
            (now - span.seconds()) * 1000,
            now_ms,
            now_ms,
        );
        windows.insert(span.as_str().into(), uptime_json(&u));
    }
    let last = rows
        .iter()
        .filter(|o| o.cause.is_failure())
        .max_by_key(|o| o.start_ms)
        .cloned();
    Ok(Facts {
        rows,
        minutes,
        windows: Value::Object(windows),
        last,
    })
}

fn open(root: &Root) -> ApiResult<Option<(Store, String, String)>> {
    let cfg = config::load(&uci::load(root, "jammonitor")?);
    match status::locate_db(root, &cfg) {
        Some((p, place)) => Ok(Some((Store::open_existing(&root.path(&p))?, p, place))),
        None => Ok(None),
    }
}

fn build(root: &Root, q: &Q) -> ApiResult<Value> {
    let now = now_epoch() as i64;
    let wans = managed(root);
    let db = open(root)?;
    let tz = clock::tz_rule(root);
    period::set_tz(&tz);
    let base = json!({
        "generated_at": now_epoch(),
        "range": q.span.as_str(),
        "available": db.is_some(),
        "db": db.as_ref().map(|(_, p, place)| json!({"path": p, "placement": place})),
        "errors": {},
    });
    // A config that cannot be parsed: the brief form answers `wans: null` and names the block in
    // `errors` (as overview and wan do); one WAN's history still needs the model, so 409.
    let wans = match wans {
        Ok(w) => w,
        Err(e) if q.name.is_none() => {
            let mut out = base;
            out["wans"] = Value::Null;
            out["errors"] = json!({"wans": e});
            return Ok(out);
        }
        Err(e) => return Err(e.into()),
    };
    let Some(name) = &q.name else {
        // Every managed WAN in brief.
        let mut list = Vec::new();
        for w in &wans {
            let mut v = json!({"name": w.name, "label": w.label, "disabled": w.disabled,
                               "uptime": Value::Null, "last_outage": Value::Null,
                               "ongoing": Value::Null, "spark": Value::Null});
            if let Some((s, _, _)) = &db {
                let f = facts(s.conn(), &w.name, now)?;
                let since = (now - Span::Day.seconds()) / 600 * 600;
                let spark = linkhist::series(s.conn(), &w.name, since, 600)?;
                v["uptime"] = f.windows;
                v["last_outage"] = f.last.as_ref().map(outage_json).into();
                v["ongoing"] = f.rows.iter().find(|o| o.ongoing).map(outage_json).into();
                v["spark"] =
                    json!({"bucket_s": 600, "since": since, "targets": series_json(&spark)});
            }
            list.push(v);
        }
        let mut out = base;
        out["wans"] = json!(list);
        return Ok(out);
    };
    let wan = wans.iter().find(|w| &w.name == name);
    let Some((s, _, _)) = &db else {
        if wan.is_none() {
            return Err(ApiError::field("name", "not a managed WAN"));
        }
        let mut out = base;
        out["name"] = json!(name);
        out["targets"] = json!([]);
        out["outages"] = json!([]);
        return Ok(out);
    };
    let conn = s.conn();
    if wan.is_none() {
        let known: i64 = conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM wan_ping_minute WHERE wan = ?1)
                 OR EXISTS(SELECT 1 FROM wan_outage WHERE wan = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(crate::store::StoreError::from)?;
        if known == 0 {
            return Err(ApiError::field(
                "name",
                "not a managed WAN and no history under that name",
            ));
        }
    }
    let since = (now - q.span.seconds()) / q.span.bucket() * q.span.bucket();
    let series = linkhist::series(conn, name, since, q.span.bucket())?;
    let unprobed = linkhist::unprobed(conn, name, since, q.span.bucket())?;
    let f = facts(conn, name, now)?;
    let in_range: Vec<&OutageRow> = f
        .rows
        .iter()
        .filter(|o| o.end_ms.is_none_or(|e| e >= since * 1000))
        .collect();
    let days = linkhist::daily(&f.minutes, &f.rows, now, 30, &period::utc_offset);
    let mut out = base;
    out["name"] = json!(name);
    out["label"] = json!(wan.and_then(|w| w.label.clone()));
    out["disabled"] = json!(wan.map(|w| w.disabled));
    out["managed"] = json!(wan.is_some());
    out["since"] = json!(since);
    out["bucket_s"] = json!(q.span.bucket());
    out["tz"] = json!(tz);
    out["targets"] = json!(series_json(&series));
    out["unprobed"] = json!(unprobed);
    out["outages"] = json!(
        in_range
            .iter()
            .filter(|o| o.cause.is_failure())
            .map(|o| outage_json(o))
            .collect::<Vec<_>>()
    );
    out["disabled_periods"] = json!(
        in_range
            .iter()
            .filter(|o| !o.cause.is_failure())
            .map(|o| outage_json(o))
            .collect::<Vec<_>>()
    );
    out["uptime"] = f.windows;
    out["daily"] = json!(
        days.iter()
            .map(|(d, u)| json!({"day": d, "pct": u.pct, "down_s": u.down_s.round(), "outages": u.outages}))
            .collect::<Vec<_>>()
    );
    out["last_outage"] = f.last.as_ref().map(outage_json).into();
    Ok(out)
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let q = parse(ctx, false)?;
    Ok(Response::ok(build(ctx.root, &q)?))
}

fn field(s: &str) -> String {
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

fn num(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

pub fn to_csv(d: &Value, kind: &str) -> String {
    let wan = field(d["name"].as_str().unwrap_or(""));
    let mut out = String::new();
    if kind == "outages" {
        out.push_str("wan,start_ms,end_ms,duration_s,cause,ongoing\n");
        for key in ["outages", "disabled_periods"] {
            for o in d[key].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "{wan},{},{},{},{},{}\n",
                    num(&o["start"]),
                    num(&o["end"]),
                    num(&o["duration_s"]),
                    field(o["cause"].as_str().unwrap_or("")),
                    num(&o["ongoing"])
                ));
            }
        }
        return out;
    }
    out.push_str("wan,target,start_ms,min_ms,avg_ms,max_ms,loss_pct,sent\n");
    for t in d["targets"].as_array().into_iter().flatten() {
        let name = field(t["name"].as_str().unwrap_or(""));
        for p in t["points"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "{wan},{name},{},{},{},{},{},{}\n",
                num(&p[0]),
                num(&p[1]),
                num(&p[2]),
                num(&p[3]),
                num(&p[4]),
                num(&p[5])
            ));
        }
    }
    out
}

pub fn handle_csv(ctx: &Ctx) -> ApiResult<Response> {
    let q = parse(ctx, true)?;
    let d = build(ctx.root, &q)?;
    let file = format!(
        "jammonitor-wan-{}-{}-{}.csv",
        d["name"].as_str().unwrap_or("x"),
        q.kind,
        q.span.as_str()
    );
    Ok(Response::download(
        "text/csv; charset=utf-8",
        &file,
        to_csv(&d, q.kind).into_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_shapes() {
        let d = json!({"name": "wan2", "targets": [{"name": "gateway", "points": [[60000, 1.0, 2.5, 4.0, 0.0, 20]]}],
                       "outages": [{"start": 1000, "end": 91000, "duration_s": 90.0, "cause": "link_down", "ongoing": false}],
                       "disabled_periods": []});
        assert_eq!(
            to_csv(&d, "latency"),
            "wan,target,start_ms,min_ms,avg_ms,max_ms,loss_pct,sent\nwan2,gateway,60000,1.0,2.5,4.0,0.0,20\n"
        );
        assert_eq!(
            to_csv(&d, "outages"),
            "wan,start_ms,end_ms,duration_s,cause,ongoing\nwan2,1000,91000,90.0,link_down,false\n"
        );
        assert_eq!(field("=cmd"), "'=cmd");
    }
}
