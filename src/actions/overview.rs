//! `GET overview`: everything the Overview tab shows, in one answer, with no child process: files
//! are read, the kernel is asked (netlink) and netifd (one `network.interface dump` over the native
//! ubus client: tunnel uptime, modem WANs' real devices) in-process. The CGI never pings and never
//! asks the Internet: pings come from the collector's live ring, public IPs from omr-tracker's
//! values in UCI. While a page shows the Overview the collector builds this same answer once a
//! second (`store::snapshot`) and a request serves that instead of building its own.

use super::{Ctx, now_epoch, round1};
use crate::error::ApiResult;
use crate::http::Response;
use crate::store::snapshot;
use crate::system::ip::{self, Link, Route, find_link};
use crate::system::mptcp_pm::{self, Endpoint, Limits};
use crate::system::netifd::{self, IfStatus};
use crate::system::uci::{self, Config};
use crate::system::{Root, clock, mptcp_diag, procfs, rtnl, sysfs, wireguard};
use crate::wans;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    snapshot::want(ctx.root);
    if let Some(data) = snapshot::read_fresh(ctx.root, std::time::SystemTime::now()) {
        return Ok(Response::ok_serialized(&data));
    }
    Ok(Response::ok(build(ctx.root)?))
}

pub fn build(root: &Root) -> ApiResult<Value> {
    build_with(root, true)
}

/// `cpu_sample: false` (the `metrics` action): no CPU sample is taken or stored, so a scraper
/// does not shorten the window of the page's CPU figure (`cpu_pct` is then null).
pub fn build_with(root: &Root, cpu_sample: bool) -> ApiResult<Value> {
    let now = now_epoch();
    // A config that cannot be parsed hides only the blocks that need it; `errors` says which,
    // with the same ConfigError object every action gives for that file.
    let model = wans::Model::load(root);
    let omr = uci::read(root, "openmptcprouter");
    let empty = Config::default();
    let mut errors = serde_json::Map::new();
    // one rtnetlink socket for links, addresses and routes; device names from its link dump
    let (links, routes) = rtnl::snapshot();
    let routes = routes.unwrap_or_default();
    let (endpoints, limits) = mptcp_pm::read_with(&|i| rtnl::name_of(&links, i));
    // netifd: up-since and layer-3 devices; without it (no bus) the config's devices are used
    let netifd = netifd::dump(root, std::time::Duration::from_millis(300));
    // Without a readable network config the tunnel is OMR's default device, tun0.
    let network = model.network.as_ref().unwrap_or(&empty);
    let omr_cfg = omr.as_ref().unwrap_or(&empty);
    let wans = match model.selected() {
        Ok(list) => Value::Array(wans_summary(
            &list,
            network,
            omr_cfg,
            &links,
            &routes,
            netifd.as_ref(),
            now,
        )),
        Err(e) => {
            errors.insert("wans".into(), json!(e));
            Value::Null
        }
    };
    if let Err(e) = &omr {
        errors.insert("vps".into(), json!(e));
        errors.entry("wans").or_insert(json!(e));
    }
    Ok(json!({
        "generated_at": now,
        "system": system(root, now, cpu_sample),
        "tunnel": tunnel(network, &links, &routes, netifd.as_ref(), now),
        "vps": vps(root, omr_cfg),
        "wans": wans,
        "errors": errors,
        "mptcp": mptcp(endpoints, limits),
        "counters": counters(root, now),
        "pings": live_pings(root),
    }))
}

/// CPU % needs two samples. The previous one is kept in /var/run (RAM); without it (first call
/// after boot) the share since boot is reported and labelled as such.
fn cpu(root: &Root) -> (Option<f64>, &'static str) {
    let Some(now) = procfs::cpu(root) else {
        return (None, "unavailable");
    };
    let prev = procfs::swap_cpu_sample(&root.path("/var/run/jammonitor/cpu.stat"), now);
    match prev.and_then(|p| procfs::cpu_pct(p, now)) {
        Some(pct) => (Some(round1(pct)), "delta"),
        None => (
            procfs::cpu_pct(procfs::CpuTimes { busy: 0, total: 0 }, now).map(round1),
            "since_boot",
        ),
    }
}

fn system(root: &Root, now: f64, cpu_sample: bool) -> Value {
    let (cpu_pct, cpu_basis) = if cpu_sample {
        cpu(root)
    } else {
        (None, "unavailable")
    };
    let mem = procfs::meminfo(root).map(|m| {
        let used = m.total_kb - m.available_kb;
        json!({"total_kb": m.total_kb, "available_kb": m.available_kb, "used_kb": used,
               "used_pct": round1(used as f64 * 100.0 / m.total_kb.max(1) as f64)})
    });
    let thermal: Vec<Value> = sysfs::thermal(root)
        .into_iter()
        .map(|t| json!({"zone": t.zone, "type": t.kind, "temp_c": round1(t.temp_c)}))
        .collect();
    let (ct_count, ct_max) = procfs::conntrack(root);
    let uptime = procfs::uptime(root);
    json!({
        "cpu_pct": cpu_pct,
        "cpu_basis": cpu_basis,
        "load": procfs::loadavg(root),
        "mem": mem,
        "thermal": thermal,
        "conntrack": {"count": ct_count, "max": ct_max},
        "uptime_s": uptime,
        "boot_time": uptime.map(|u| (now - u).round() as i64),
        "local_time": clock::local_time(&clock::tz_rule(root), now as i64),
    })
}

fn tunnel(
    network: &Config,
    links: &[Link],
    routes: &[Route],
    netifd: Option<&BTreeMap<String, IfStatus>>,
    now: f64,
) -> Value {
    let st = netifd.and_then(|m| m.get("omrvpn"));
    // OpenWrt names a WireGuard interface's netdev after the interface.
    let wg_omrvpn = network.get("omrvpn", "proto") == Some("wireguard");
    let device = st
        .and_then(|s| s.l3_device.as_deref())
        .or_else(|| network.get("omrvpn", "device"))
        .or_else(|| wg_omrvpn.then_some("omrvpn"))
        .unwrap_or("tun0");
    let link = find_link(links, Some(device));
    let addr = link.and_then(Link::ipv4);
    // Point-to-point tunnels carry the peer on the address; others route via it.
    let peer = addr.and_then(|a| a.address.clone()).or_else(|| {
        routes
            .iter()
            .find(|r| r.dev.as_deref() == Some(device) && r.gateway.is_some())?
            .gateway
            .clone()
    });
    json!({
        "interface": "omrvpn",
        "device": device,
        "exists": link.is_some(),
        "up": link.is_some_and(Link::is_up),
        "address": addr.map(|a| a.local.clone()),
        "peer": peer,
        // since when netifd has omrvpn up (null while down or when netifd cannot be asked)
        "uptime_s": st.and_then(|s| s.uptime_s),
        "wireguard": wireguard(network, netifd, now),
    })
}

/// The WireGuard interfaces of the network config (proto `wireguard`: `omrvpn` itself, or OMR's
/// per-WAN "MPTCP over VPN" `wgwanN`), each read from the kernel over generic netlink: its
/// peers, their endpoint, latest handshake and transfer. `[]` without any (nothing is asked).
fn wireguard(network: &Config, netifd: Option<&BTreeMap<String, IfStatus>>, now: f64) -> Value {
    let ifaces: Vec<(&str, String)> = network
        .of_type("interface")
        .filter(|s| s.get("proto") == Some("wireguard"))
        .take(16)
        .map(|s| {
            let dev = netifd
                .and_then(|m| m.get(&s.name))
                .and_then(|st| st.l3_device.clone())
                .unwrap_or_else(|| s.name.clone());
            (s.name.as_str(), dev)
        })
        .collect();
    if ifaces.is_empty() {
        return json!([]);
    }
    let reader = wireguard::Reader::open();
    let list = ifaces.iter().map(|(name, dev)| {
        match reader.as_ref().map_err(|e| *e).and_then(|r| r.device(dev)) {
            Ok(d) => json!({
                "interface": name,
                "device": dev,
                "status": "ok",
                "public_key": d.public_key,
                "listen_port": d.listen_port,
                "peers": d.peers.iter().map(|p| json!({
                    "public_key": p.public_key,
                    "endpoint": p.endpoint,
                    "latest_handshake": p.latest_handshake,
                    "latest_handshake_age_s": p.latest_handshake.map(|t| (now as i64 - t).max(0)),
                    "rx_bytes": p.rx_bytes,
                    "tx_bytes": p.tx_bytes,
                    "persistent_keepalive_s": p.persistent_keepalive_s,
                })).collect::<Vec<_>>(),
            }),
            Err(e) => json!({
                "interface": name,
                "device": dev,
                "status": e.code(),
                "public_key": Value::Null,
                "listen_port": Value::Null,
                "peers": [],
            }),
        }
    });
    Value::Array(list.collect())
}

fn vps(root: &Root, omr: &Config) -> Value {
    match crate::omr::vps_address(root, omr) {
        Some((address, source)) => json!({"address": address, "source": source}),
        None => json!({"address": Value::Null, "source": Value::Null}),
    }
}

fn num(s: Option<&str>) -> Option<i64> {
    s?.trim().parse().ok()
}

fn wans_summary(
    list: &[wans::Wan],
    network: &Config,
    omr: &Config,
    links: &[Link],
    routes: &[Route],
    netifd: Option<&BTreeMap<String, IfStatus>>,
    now: f64,
) -> Vec<Value> {
    list.iter()
        .map(|w| {
            let device = wans::live_device(w, netifd);
            let link = find_link(links, device.as_deref());
            let addr = link.and_then(Link::ipv4);
            let gateway = ip::default_gateway(routes, device.as_deref())
                .or_else(|| network.get(&w.name, "gateway").map(String::from));
            let t = omr.section(&w.name);
            let tget = |k: &str| t.and_then(|s| s.get(k)).filter(|v| !v.is_empty());
            json!({
                "name": w.name,
                "label": w.label,
                "device": device,
                "config_device": w.config_device,
                "role": w.role,
                "disabled": w.disabled,
                "up": link.is_some_and(Link::is_up),
                "ipv4": addr.map(|a| a.local.clone()),
                "prefix": addr.map(|a| a.prefixlen),
                "gateway": gateway,
                "public_ip": tget("publicip"),
                "asn": tget("asn"),
                "latency_ms": num(tget("latency")),
                "mptcp_status": tget("mptcp_status"),
                "tracker_state": tget("state"),
                "tracker_age_s": num(tget("lc")).map(|lc| (now as i64 - lc).max(0)),
            })
        })
        .collect()
}

fn mptcp(endpoints: Option<Vec<Endpoint>>, limits: Option<Limits>) -> Value {
    let counts = mptcp_diag::counts();
    json!({
        "endpoints": endpoints,
        "limits": limits,
        "connections": counts.map(|c| c.connections),
        "subflows_active": counts.map(|c| c.subflows),
    })
}

fn counters(root: &Root, now: f64) -> Value {
    let mut ifs = serde_json::Map::new();
    for d in procfs::net_dev(root) {
        if d.name != "lo" {
            ifs.insert(
                d.name,
                json!({"rx_bytes": d.rx_bytes, "tx_bytes": d.tx_bytes}),
            );
        }
    }
    json!({"ts_ms": (now * 1000.0) as u64, "interfaces": ifs})
}

/// The collector's live ring (`store::live`): the targets pinged through the routing table.
fn live_pings(root: &Root) -> Value {
    crate::store::live::read(root)
        .map(|r| crate::store::live::to_json(&r).0)
        .unwrap_or(Value::Null)
}
