//! `GET metrics`: the router in the Prometheus text exposition format (docs/metrics.md), for a
//! Prometheus on the LAN. Same session check as every action, or — only here — the scrape token
//! of `jammonitor.metrics.token` (`auth::scrape_token`).
//!
//! No reader of its own: the live state is `overview`'s answer (built without the CPU sample, so
//! a scraper does not shorten the page's CPU window), per-target and per-WAN pings the collector's
//! live ring, the collector's health its status file, per-client bytes the history database
//! (`store::clients`), names the custom names file. Nothing here starts a process.

pub mod text;

use super::{Ctx, now_epoch};
use crate::error::ApiResult;
use crate::http::Response;
use crate::store::{Store, clients as hist, config, live, status};
use crate::system::Root;
use crate::system::uci::{self, Config};
use serde_json::Value;
use text::{Exposition, Kind, Sample};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    Ok(Response {
        status: 200,
        content_type: text::CONTENT_TYPE,
        headers: Vec::new(),
        body: build(ctx.root)?.into_bytes(),
        stream: None,
    })
}

/// Clients seen longer ago than this are left out (their series end; Prometheus marks them stale).
const CLIENT_MAX_AGE_S: i64 = 30 * 86400;
/// At most this many client series pairs (the most recently seen), whatever the history holds.
pub const CLIENT_MAX: usize = 500;

/// `jammonitor.metrics.clients`: per-client series on (off by default: one pair per client).
pub fn clients_enabled(jm: &Config) -> bool {
    matches!(
        jm.get("metrics", "clients"),
        Some("1" | "on" | "true" | "yes")
    )
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn bool01(v: &Value) -> f64 {
    if v.as_bool() == Some(true) { 1.0 } else { 0.0 }
}

pub fn build(root: &Root) -> ApiResult<Exposition> {
    let now = now_epoch();
    let ov = super::overview::build_with(root, false)?;
    let jm = uci::read(root, "jammonitor").unwrap_or_default();
    let mut e = Exposition::default();
    e.family(
        "jammonitor_build_info",
        Kind::Gauge,
        "JamMonitor version (value 1).",
        &[(
            vec![("version", env!("CARGO_PKG_VERSION").to_string())],
            1.0,
        )],
    );
    wans(&mut e, &ov);
    let ring = live::read(root).map(|r| live::to_json(&r));
    wan_pings(&mut e, ring.as_ref().map(|r| &r.1));
    tunnel(&mut e, &ov["tunnel"]);
    mptcp(&mut e, &ov["mptcp"]);
    pings(&mut e, ring.as_ref().map(|r| &r.0));
    system(&mut e, &ov["system"]);
    collector(root, &jm, now, &mut e);
    if clients_enabled(&jm) {
        clients(root, &jm, now, &mut e);
    }
    Ok(e)
}

fn wan_labels(w: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("wan", s(&w["name"])),
        ("device", s(&w["device"])),
        ("label", s(&w["label"])),
    ]
}

fn wans(e: &mut Exposition, ov: &Value) {
    let list: &[Value] = ov["wans"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let per = |g: &dyn Fn(&Value) -> Option<f64>| -> Vec<Sample> {
        list.iter()
            .filter_map(|w| g(w).map(|v| (wan_labels(w), v)))
            .collect()
    };
    e.family(
        "jammonitor_wan_up",
        Kind::Gauge,
        "1 when the WAN's device is up (link state), 0 when down or missing.",
        &per(&|w| Some(bool01(&w["up"]))),
    );
    let mut roles = Vec::new();
    for w in list {
        for r in ["master", "on", "backup", "off"] {
            let mut l = wan_labels(w);
            l.push(("role", r.to_string()));
            roles.push((l, if w["role"] == r { 1.0 } else { 0.0 }));
        }
    }
    e.family(
        "jammonitor_wan_role",
        Kind::Gauge,
        "The WAN's role (master = Primary, on = Bonded, backup = Standby, off = Disabled): 1 for the current one.",
        &roles,
    );
    e.family(
        "jammonitor_wan_latency_seconds",
        Kind::Gauge,
        "Latency the OMR tracker last measured on the WAN.",
        &per(&|w| f(&w["latency_ms"]).map(|ms| ms / 1000.0)),
    );
    e.family(
        "jammonitor_wan_tracker_age_seconds",
        Kind::Gauge,
        "Seconds since the OMR tracker last checked the WAN.",
        &per(&|w| f(&w["tracker_age_s"])),
    );
    let counters = &ov["counters"]["interfaces"];
    let bytes = |dir: &str| {
        per(&|w| {
            let dev = w["device"].as_str()?;
            f(&counters[dev][dir])
        })
    };
    e.family(
        "jammonitor_wan_receive_bytes_total",
        Kind::Counter,
        "Bytes received on the WAN's device (kernel counter; resets when the device is recreated).",
        &bytes("rx_bytes"),
    );
    e.family(
        "jammonitor_wan_transmit_bytes_total",
        Kind::Counter,
        "Bytes sent on the WAN's device (kernel counter; resets when the device is recreated).",
        &bytes("tx_bytes"),
    );
}

/// Per WAN and target, pinged by the collector through that WAN only (the live ring's
/// `<wan>/<target>` entries, last ~10 minutes).
fn wan_pings(e: &mut Exposition, wans: Option<&Value>) {
    let mut rtt = Vec::new();
    let mut loss = Vec::new();
    if let Some(map) = wans.and_then(Value::as_object) {
        for (wan, targets) in map {
            for t in targets.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let l = vec![("wan", wan.clone()), ("target", s(&t["name"]))];
                if let Some(ms) = f(&t["last_rtt_ms"]) {
                    rtt.push((l.clone(), ms / 1000.0));
                }
                if let Some(p) = f(&t["loss_pct"]) {
                    loss.push((l, p / 100.0));
                }
            }
        }
    }
    e.family(
        "jammonitor_wan_loss_ratio",
        Kind::Gauge,
        "Share of the collector's pings through the WAN to the target that were lost (last ~10 minutes).",
        &loss,
    );
    e.family(
        "jammonitor_wan_rtt_seconds",
        Kind::Gauge,
        "Last round-trip time of the collector's ping through the WAN to the target (absent when it was lost).",
        &rtt,
    );
}

fn tunnel(e: &mut Exposition, t: &Value) {
    let l = vec![("device", s(&t["device"]))];
    e.family(
        "jammonitor_tunnel_up",
        Kind::Gauge,
        "1 when the tunnel to the VPS (omrvpn) is up.",
        &[(l.clone(), bool01(&t["up"]))],
    );
    let up: Vec<Sample> = f(&t["uptime_s"]).map(|u| (l, u)).into_iter().collect();
    e.family(
        "jammonitor_tunnel_uptime_seconds",
        Kind::Gauge,
        "How long netifd has had the tunnel interface up.",
        &up,
    );
}

fn mptcp(e: &mut Exposition, m: &Value) {
    e.single(
        "jammonitor_mptcp_subflows",
        Kind::Gauge,
        "Active MPTCP subflows (TCP connections carrying bonded traffic).",
        f(&m["subflows_active"]),
    );
    e.single(
        "jammonitor_mptcp_connections",
        Kind::Gauge,
        "Established MPTCP connections.",
        f(&m["connections"]),
    );
    e.single(
        "jammonitor_mptcp_subflows_limit",
        Kind::Gauge,
        "The kernel's limit of subflows per MPTCP connection.",
        f(&m["limits"]["subflows"]),
    );
    let mut per_dev: Vec<Sample> = Vec::new();
    for ep in m["endpoints"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let dev = s(&ep["dev"]);
        match per_dev.iter_mut().find(|(l, _)| l[0].1 == dev) {
            Some(x) => x.1 += 1.0,
            None => per_dev.push((vec![("device", dev)], 1.0)),
        }
    }
    e.family(
        "jammonitor_mptcp_endpoints",
        Kind::Gauge,
        "Kernel MPTCP endpoints, per device.",
        &per_dev,
    );
}

/// The targets pinged through the routing table (internet, vps, tunnel, remote APs).
fn pings(e: &mut Exposition, p: Option<&Value>) {
    let targets: &[Value] = p
        .and_then(|p| p["targets"].as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let per = |g: &dyn Fn(&Value) -> Option<f64>| -> Vec<Sample> {
        targets
            .iter()
            .filter_map(|t| g(t).map(|v| (vec![("target", s(&t["name"]))], v)))
            .collect()
    };
    e.family(
        "jammonitor_ping_rtt_seconds",
        Kind::Gauge,
        "Last round-trip time of the collector's ping to the target (absent when it was lost).",
        &per(&|t| f(&t["last_rtt_ms"]).map(|ms| ms / 1000.0)),
    );
    e.family(
        "jammonitor_ping_loss_ratio",
        Kind::Gauge,
        "Share of the collector's pings to the target that were lost (last ~10 minutes).",
        &per(&|t| f(&t["loss_pct"]).map(|p| p / 100.0)),
    );
}

fn system(e: &mut Exposition, sys: &Value) {
    for (i, name, help) in [
        (0, "jammonitor_load1", "Load average over 1 minute."),
        (1, "jammonitor_load5", "Load average over 5 minutes."),
        (2, "jammonitor_load15", "Load average over 15 minutes."),
    ] {
        e.single(name, Kind::Gauge, help, f(&sys["load"][i]));
    }
    let kb = |k: &str| f(&sys["mem"][k]).map(|v| v * 1024.0);
    e.single(
        "jammonitor_memory_total_bytes",
        Kind::Gauge,
        "Total memory (MemTotal).",
        kb("total_kb"),
    );
    e.single(
        "jammonitor_memory_available_bytes",
        Kind::Gauge,
        "Memory available without swapping (MemAvailable).",
        kb("available_kb"),
    );
    let temps: Vec<Sample> = sys["thermal"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| {
            Some((
                vec![("device", s(&t["zone"])), ("label", s(&t["type"]))],
                f(&t["temp_c"])?,
            ))
        })
        .collect();
    e.family(
        "jammonitor_temperature_celsius",
        Kind::Gauge,
        "Temperature of each thermal zone.",
        &temps,
    );
    e.single(
        "jammonitor_conntrack_entries",
        Kind::Gauge,
        "Connection tracking entries in use.",
        f(&sys["conntrack"]["count"]),
    );
    e.single(
        "jammonitor_conntrack_max",
        Kind::Gauge,
        "Connection tracking table size (nf_conntrack_max).",
        f(&sys["conntrack"]["max"]),
    );
    e.single(
        "jammonitor_uptime_seconds",
        Kind::Gauge,
        "Seconds since the router booted.",
        f(&sys["uptime_s"]),
    );
}

fn collector(root: &Root, jm: &Config, now: f64, e: &mut Exposition) {
    let st = status::read(root);
    let running = st
        .as_ref()
        .is_some_and(|s| s.state != "stopped" && status::collector_alive(root, s.pid));
    e.single(
        "jammonitor_collector_up",
        Kind::Gauge,
        "1 when the collector daemon is running.",
        Some(if running { 1.0 } else { 0.0 }),
    );
    e.single(
        "jammonitor_collector_last_sample_age_seconds",
        Kind::Gauge,
        "Seconds since the collector's last sample (absent before its first).",
        st.as_ref()
            .and_then(|s| s.last_sample_at)
            .map(|t| (now - t as f64).max(0.0)),
    );
    let cfg = config::load(jm);
    let size = status::locate_db(root, &cfg).map(|(p, _)| {
        let real = root.path(&p);
        let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        (len(&real) + len(std::path::Path::new(&format!("{}-wal", real.display())))) as f64
    });
    e.single(
        "jammonitor_database_size_bytes",
        Kind::Gauge,
        "Size of the history database on disk, its write-ahead log included.",
        size,
    );
}

/// Per-client bytes since first seen (the history's monthly tier, which retention keeps forever
/// by default; a pruned month lowers the total, which Prometheus reads as a counter reset).
fn clients(root: &Root, jm: &Config, now: f64, e: &mut Exposition) {
    let cfg = config::load(jm);
    let mut known = Vec::new();
    let mut totals = Default::default();
    if let Some((p, _)) = status::locate_db(root, &cfg) {
        if let Ok(store) = Store::open_existing(&root.path(&p)) {
            known = hist::known(store.conn()).unwrap_or_default();
            totals = hist::totals(store.conn()).unwrap_or_default();
        }
    }
    let names = super::clients::meta::load(root);
    let cutoff = now as i64 - CLIENT_MAX_AGE_S;
    known.retain(|k: &hist::Known| k.last_seen >= cutoff);
    known.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.key.cmp(&b.key)));
    known.truncate(CLIENT_MAX);
    known.sort_by(|a, b| a.key.cmp(&b.key));
    let (mut rx, mut tx) = (Vec::new(), Vec::new());
    for k in &known {
        let Some(t) = totals.get(&k.id) else { continue };
        let label = k
            .mac
            .as_ref()
            .and_then(|m| names.iter().find(|(n, _)| n == m))
            .and_then(|(_, m)| m.name.clone())
            .or_else(|| k.hostname.clone())
            .unwrap_or_default();
        let l = vec![("client", k.key.clone()), ("label", label)];
        rx.push((l.clone(), t.rx as f64));
        tx.push((l, t.tx as f64));
    }
    e.family(
        "jammonitor_client_receive_bytes_total",
        Kind::Counter,
        "Bytes the LAN client received (downloaded) since first seen, as conntrack counts them.",
        &rx,
    );
    e.family(
        "jammonitor_client_transmit_bytes_total",
        Kind::Counter,
        "Bytes the LAN client sent (uploaded) since first seen, as conntrack counts them.",
        &tx,
    );
}
