//! `GET wifi` — local radios (netifd's `network.wireless status` + `iwinfo` over ubus: channel,
//! band, width, tx power, noise, utilisation, country, SSIDs, stations) and the remote APs of
//! /etc/config/jammonitor with their online state and latency (the collector pings them: the
//! live ring of the last minutes and per-minute history of the last hour). No radio configured
//! → `radios: []` without asking ubus at all.

pub mod aps;

use super::{Ctx, now_epoch};
use crate::error::ApiResult;
use crate::http::Response;
use crate::store::{Store, config, query, status};
use crate::system::{Root, leases, uci, wireless};
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    Ok(Response::ok(build(
        ctx.root,
        &wireless::NativeUbus { root: ctx.root },
    )?))
}

pub fn build(root: &Root, bus: &dyn wireless::Ubus) -> ApiResult<Value> {
    let now = now_epoch();
    let wcfg = uci::load(root, "wireless")?;
    let configured = wcfg.of_type("wifi-device").count();
    let radios = if configured > 0 {
        wireless::radios(bus)
    } else {
        Some(Vec::new())
    };
    // Hostnames of stations from the DHCP leases (attacker-chosen: the page escapes them).
    let names: HashMap<String, String> = root
        .read("/tmp/dhcp.leases", 1 << 20)
        .map(|t| {
            leases::parse_leases(&t)
                .into_iter()
                .filter_map(|l| Some((l.mac, l.hostname?)))
                .collect()
        })
        .unwrap_or_default();
    let radios_json: Vec<Value> = radios
        .iter()
        .flatten()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Some(st) = v.get_mut("stations").and_then(Value::as_array_mut) {
                for s in st {
                    let host = s["mac"].as_str().and_then(|m| names.get(m)).cloned();
                    s["hostname"] = json!(host);
                }
            }
            v
        })
        .collect();

    // -- remote APs: configured list + what the collector measured
    let cfg = config::load(&uci::load(root, "jammonitor")?);
    let aps = aps::list(&uci::load(root, "jammonitor")?);
    // The collector's live ring (store::live), in the shape of the former live.json.
    let live: Value = crate::store::live::read(root)
        .map(|r| {
            let (pings, _) = crate::store::live::to_json(&r);
            json!({"updated_at": pings["updated_at"].clone(), "pings": pings})
        })
        .unwrap_or(Value::Null);
    let live_updated = live["updated_at"].as_f64();
    let live_targets: HashMap<String, Value> = live["pings"]["targets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| Some((t["name"].as_str()?.to_string(), t.clone())))
                .collect()
        })
        .unwrap_or_default();
    let since = (now as i64 / 60 - 60) * 60;
    let located = status::locate_db(root, &cfg);
    let history: HashMap<String, query::PingSeries> = match &located {
        Some((p, _)) => match Store::open_existing(&root.path(p)) {
            Ok(s) => query::ping_history(s.conn(), since)?
                .into_iter()
                .filter(|t| t.name.starts_with("ap:"))
                .map(|t| (t.name.clone(), t))
                .collect(),
            Err(_) => HashMap::new(),
        },
        None => HashMap::new(),
    };
    let fresh = live_updated.is_some_and(|u| now - u < 3.0 * cfg.ping_interval_s as f64 + 10.0);
    let remote: Vec<Value> = aps
        .iter()
        .map(|a| {
            let target = format!("ap:{}", a.name);
            let l = live_targets.get(&target);
            let series = l.and_then(|l| l["series"].as_array()).cloned().unwrap_or_default();
            // Online: one of the last three pings answered (a single loss is not "offline").
            let recent: Vec<&Value> = series.iter().rev().take(3).collect();
            let state = if !fresh || l.is_none() || recent.is_empty() {
                "unknown"
            } else if recent.iter().any(|p| p[1].is_number()) {
                "online"
            } else {
                "offline"
            };
            let last_ok = series.iter().rev().find(|p| p[1].is_number()).and_then(|p| p[0].as_f64());
            json!({
                "name": a.name,
                "ip": a.ip,
                "state": state,
                "last_rtt_ms": l.and_then(|l| l["last_rtt_ms"].as_f64()),
                "loss_pct": l.and_then(|l| l["loss_pct"].as_f64()),
                "last_answer_ms": last_ok,
                "live": series,
                "history": history.get(&target).map(|h| h.points.iter().map(|p| json!([p.ts * 1000, p.avg_ms, p.loss_pct])).collect::<Vec<_>>()).unwrap_or_default(),
            })
        })
        .collect();
    let online = remote.iter().filter(|r| r["state"] == "online").count();
    let stations: usize = radios.iter().flatten().map(|r| r.stations.len()).sum();
    Ok(json!({
        "generated_at": now,
        "radios_configured": configured,
        "radios_available": radios.is_some(),
        "radios": radios_json,
        "remote_aps": remote,
        "max_aps": aps::MAX_APS,
        "live": {"fresh": fresh, "updated_at": live_updated, "interval_s": cfg.ping_interval_s},
        "totals": {"aps_online": online, "aps_total": remote.len(), "stations": stations},
    }))
}
