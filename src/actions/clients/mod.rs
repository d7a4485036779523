//! `GET clients` — every LAN client, grouped by subnet, with live rates and history totals;
//! `GET clients.history?mac=&range=` one client's series; the writes live in `meta`
//! (names/types) and `reservation` (DHCP static leases).
//!
//! Sources, all read in-process: dnsmasq's lease file, odhcpd's DHCPv6 state file, the
//! kernel's neighbour table (rtnetlink), the `dhcp` host sections, the custom names file, the
//! collector's per-client history (SQLite: totals and the latest minute rates — one conntrack
//! pass a minute in the collector, none here), the Wi-Fi station lists (only when
//! /etc/config/wireless has radios) and Tailscale (only when its CLI is installed; cached).

pub mod history;
pub mod kind;
pub mod lan;
pub mod meta;
pub mod reservation;

use super::{Ctx, now_epoch};
use crate::error::ApiResult;
use crate::http::Response;
use crate::store::clients as hist;
use crate::store::{Store, config, period, status};
use crate::system::leases::{self, Lease6};
use crate::system::{Root, clock, neigh, tailscale, uci, wireless};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::Ipv4Addr;

#[derive(Debug, Default)]
struct Client {
    mac: Option<String>,
    ipv4: Option<String>,
    ipv6: Vec<String>,
    hostname: Option<String>,
    lease_expires: Option<i64>,
    in_lease: bool,
    neigh: Option<(String, bool)>,
    wifi: Option<Value>,
    history: Vec<i64>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
}

fn is_link_local6(a: &str) -> bool {
    a.to_ascii_lowercase().starts_with("fe80:")
}

/// Devices on the router side that are never LAN (WANs, tunnels, loopback).
fn lan_side(dev: &str, wan_devs: &[String]) -> bool {
    dev != "lo"
        && !wan_devs.iter().any(|w| w == dev)
        && ![
            "tun",
            "wg",
            "tap",
            "ppp",
            "pppoe-",
            "ipsec",
            "tailscale",
            "omr",
        ]
        .iter()
        .any(|p| dev.starts_with(p))
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    Ok(Response::ok(build(ctx.root)?))
}

pub fn build(root: &Root) -> ApiResult<Value> {
    let now = now_epoch();
    let network = uci::load(root, "network")?;
    let dhcp = uci::load(root, "dhcp")?;
    let firewall = uci::load(root, "firewall")?;
    let jm = uci::load(root, "jammonitor")?;
    let cfg = config::load(&jm);
    let subnets = lan::subnets(&network, &dhcp, &firewall);
    let wan_devs: Vec<String> = crate::store::ifaces::wan_devices(root)
        .into_iter()
        .filter_map(|w| w.device)
        .collect();

    let mut list: Vec<Client> = Vec::new();
    let mut by_mac: HashMap<String, usize> = HashMap::new();
    fn slot_in(list: &mut Vec<Client>, by_mac: &mut HashMap<String, usize>, mac: &str) -> usize {
        *by_mac.entry(mac.to_string()).or_insert_with(|| {
            list.push(Client {
                mac: Some(mac.to_string()),
                ..Client::default()
            });
            list.len() - 1
        })
    }
    macro_rules! slot {
        ($list:expr, $mac:expr) => {
            slot_in($list, &mut by_mac, $mac)
        };
    }

    // -- DHCPv4 leases
    let leasefile = dhcp
        .of_type("dnsmasq")
        .find_map(|s| s.get("leasefile"))
        .filter(|p| config::valid_path(p))
        .unwrap_or("/tmp/dhcp.leases")
        .to_string();
    let v4 = root
        .read(&leasefile, 1 << 20)
        .map(|t| leases::parse_leases(&t))
        .unwrap_or_default();
    for l in &v4 {
        let i = slot!(&mut list, &l.mac);
        let c = &mut list[i];
        c.ipv4 = Some(l.ip.clone());
        c.hostname = l.hostname.clone();
        c.lease_expires = Some(l.expires);
        c.in_lease = true;
    }
    // -- neighbours on the LAN side (the freshest IP ↔ MAC fact)
    for n in neigh::table(root)
        .into_iter()
        .filter(|n| lan_side(&n.device, &wan_devs))
    {
        if n.v6 {
            if is_link_local6(&n.ip) {
                continue;
            }
            let i = slot!(&mut list, &n.mac);
            if !list[i].ipv6.contains(&n.ip) {
                list[i].ipv6.push(n.ip.clone());
            }
            if list[i].neigh.is_none() {
                list[i].neigh = Some((n.device.clone(), n.reachable));
            }
            continue;
        }
        let Ok(ip) = n.ip.parse::<Ipv4Addr>() else {
            continue;
        };
        if subnets.iter().any(|s| s.router_ip == n.ip) {
            continue;
        }
        let i = slot!(&mut list, &n.mac);
        list[i].ipv4 = Some(ip.to_string());
        list[i].neigh = Some((n.device.clone(), n.reachable));
    }
    // -- DHCPv6 (odhcpd): addresses and names joined by the MAC in the DUID
    let odhcpd_file = dhcp
        .of_type("odhcpd")
        .find_map(|s| s.get("leasefile"))
        .filter(|p| config::valid_path(p))
        .unwrap_or("/tmp/hosts/odhcpd")
        .to_string();
    let v6: Vec<Lease6> = root
        .read(&odhcpd_file, 1 << 20)
        .map(|t| leases::parse_odhcpd(&t))
        .unwrap_or_default();
    for l in &v6 {
        let Some(mac) = &l.mac else { continue };
        let i = slot!(&mut list, mac);
        for a in &l.addrs {
            if !list[i].ipv6.contains(a) {
                list[i].ipv6.push(a.clone());
            }
        }
        if list[i].hostname.is_none() {
            list[i].hostname = l.hostname.clone();
        }
    }
    // -- reservations (clients that are offline right now still show with theirs)
    let reservations = reservation::list(&dhcp);
    for r in &reservations {
        let i = slot!(&mut list, &r.mac);
        if list[i].ipv4.is_none() {
            list[i].ipv4 = r.ip.clone();
        }
    }
    // -- Wi-Fi stations (only when the router has radios configured)
    let wifi = if uci::load(root, "wireless")
        .map(|w| w.of_type("wifi-device").next().is_some())
        .unwrap_or(false)
    {
        wireless::radios(&wireless::NativeUbus { root })
    } else {
        None
    };
    for r in wifi.iter().flatten() {
        for st in &r.stations {
            let i = slot!(&mut list, &st.mac);
            list[i].wifi = Some(json!({
                "radio": r.name, "band": r.band, "ifname": st.ifname, "ssid": st.ssid,
                "signal_dbm": st.signal_dbm, "generation": st.generation,
                "rx_rate_kbps": st.rx_rate_kbps, "tx_rate_kbps": st.tx_rate_kbps, "connected_s": st.connected_s,
            }));
        }
    }
    // -- history
    let tz = clock::tz_rule(root);
    period::set_tz(&tz);
    let located = status::locate_db(root, &cfg);
    let store = match &located {
        Some((p, _)) => Store::open_existing(&root.path(p)).ok(),
        None => None,
    };
    let nowi = now as i64;
    let summary = match &store {
        Some(s) => hist::summary(
            s.conn(),
            nowi,
            period::utc_offset(nowi),
            3 * cfg.interval_s as i64 + 60,
        )?,
        None => hist::Summary::default(),
    };
    for k in &summary.known {
        let idx = match (&k.mac, k.key.strip_prefix("ip:")) {
            (Some(m), _) => {
                let in_lan = k
                    .ip
                    .as_deref()
                    .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                    .is_none_or(|ip| subnets.is_empty() || subnets.iter().any(|s| s.contains(ip)));
                if by_mac.contains_key(m) || in_lan {
                    let i = slot!(&mut list, m);
                    if list[i].ipv4.is_none() {
                        list[i].ipv4 = k.ip.clone();
                    }
                    if list[i].hostname.is_none() {
                        list[i].hostname = k.hostname.clone();
                    }
                    Some(i)
                } else {
                    None
                }
            }
            (None, Some(ip)) => match list.iter().position(|c| c.ipv4.as_deref() == Some(ip)) {
                Some(i) => Some(i),
                None => {
                    list.push(Client {
                        ipv4: Some(ip.to_string()),
                        hostname: k.hostname.clone(),
                        ..Client::default()
                    });
                    Some(list.len() - 1)
                }
            },
            _ => None,
        };
        if let Some(i) = idx {
            let c = &mut list[i];
            c.history.push(k.id);
            c.first_seen = Some(c.first_seen.map_or(k.first_seen, |f| f.min(k.first_seen)));
            c.last_seen = Some(c.last_seen.map_or(k.last_seen, |l| l.max(k.last_seen)));
        }
    }

    let metas: HashMap<String, meta::Meta> = meta::load(root).into_iter().collect();
    let vendor_classes: HashMap<String, String> = uci::load(root, "system")
        .ok()
        .and_then(|s| {
            s.of_type("system")
                .find_map(|x| x.get("log_file").map(str::to_string))
        })
        .filter(|p| config::valid_path(p))
        .and_then(|p| leases::read_tail(root, &p, 256 << 10))
        .map(|t| leases::parse_vendor_classes(&t).into_iter().collect())
        .unwrap_or_default();

    let sum = |m: &HashMap<i64, hist::RxTx>, ids: &[i64]| -> Value {
        if ids.is_empty() {
            return Value::Null;
        }
        let (rx, tx) = ids
            .iter()
            .filter_map(|i| m.get(i))
            .fold((0u64, 0u64), |a, b| (a.0 + b.rx, a.1 + b.tx));
        json!({"rx": rx, "tx": tx})
    };
    let history_ok = store.is_some();
    let mut out: Vec<Value> = list
        .iter()
        .map(|c| {
            let mac = c.mac.as_deref();
            let m = mac.and_then(|m| metas.get(m)).cloned().unwrap_or_default();
            let vc = mac.and_then(|m| vendor_classes.get(m)).map(String::as_str);
            let res = mac.and_then(|m| reservations.iter().find(|r| r.mac == m));
            // A device that sends no name may still be named by its reservation.
            let name_hint = c
                .hostname
                .as_deref()
                .or_else(|| res.and_then(|r| r.name.as_deref()));
            let det = kind::detect(mac, name_hint, vc);
            let ip4 = c.ipv4.as_deref().and_then(|i| i.parse::<Ipv4Addr>().ok());
            let subnet = ip4.and_then(|ip| subnets.iter().find(|s| s.contains(ip)));
            // Fresh history: every client has a rate (0 when it moved nothing); stale: none.
            let rate = summary.rate_window.map(|_| {
                let (rx, tx) = c.history.iter().filter_map(|i| summary.rate.get(i)).fold((0.0, 0.0), |a, r| (a.0 + r.rx, a.1 + r.tx));
                json!({"rx": (rx * 10.0_f64).round() / 10.0, "tx": (tx * 10.0_f64).round() / 10.0})
            });
            let online = c.neigh.is_some() || c.wifi.is_some();
            let display = m.name.clone().or_else(|| c.hostname.clone()).or_else(|| res.and_then(|r| r.name.clone()));
            json!({
                "id": mac.map(str::to_string).or_else(|| c.ipv4.as_ref().map(|i| format!("ip:{i}"))),
                "mac": mac,
                "ipv4": c.ipv4,
                "ipv6": c.ipv6,
                "hostname": c.hostname,
                "name": m.name,
                "display_name": display,
                "type": m.kind.clone().unwrap_or_else(|| det.kind.to_string()),
                "type_custom": m.kind.is_some(),
                "type_detected": det.kind,
                "type_source": det.source,
                "vendor": det.vendor,
                "vendor_class": vc,
                "private_mac": det.private_mac,
                "lease_expires": if c.in_lease { c.lease_expires } else { None },
                "reservation": res.map(|r| json!({"ip": r.ip, "name": r.name, "section": r.section})),
                "online": online,
                "reachable": c.neigh.as_ref().map(|n| n.1),
                "device": c.neigh.as_ref().map(|n| n.0.clone()),
                "source": if c.wifi.is_some() { "wifi" } else { "lan" },
                "wifi": c.wifi,
                "subnet": subnet.map(|s| s.name.clone()),
                "rate": rate,
                "today": sum(&summary.today, &c.history),
                "month": sum(&summary.month, &c.history),
                "days30": sum(&summary.days30, &c.history),
                "first_seen": c.first_seen,
                "last_seen": c.last_seen,
            })
        })
        .collect();
    let ip_key = |v: &Value| {
        v["ipv4"]
            .as_str()
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
            .map(u32::from)
            .unwrap_or(u32::MAX)
    };
    out.sort_by_cached_key(|v| (ip_key(v), v["mac"].as_str().map(str::to_string)));

    let tail = tailscale::status(root).map(|r| match r {
        Ok(s) => json!({"available": true, "status": s}),
        Err(e) => json!({"available": true, "error": e}),
    });
    let fw = firewall.of_type("defaults").next();
    let hw = fw.and_then(|d| d.get("flow_offloading_hw")) == Some("1");
    let sw = fw.and_then(|d| d.get("flow_offloading")) == Some("1");
    Ok(json!({
        "generated_at": now,
        "subnets": subnets,
        "clients": out,
        "types": kind::TYPES,
        "history": {
            "available": history_ok,
            "db": located.map(|(p, place)| json!({"path": p, "placement": place})),
            "last_sample": summary.last_sample,
            "interval_s": cfg.interval_s,
            "rate_window": summary.rate_window.map(|(from, secs)| json!({"from": from, "seconds": secs})),
            "tz": tz,
        },
        "offload": {
            "software": sw,
            "hardware": hw,
            "counters_incomplete": hw,
        },
        "wifi_available": wifi.is_some(),
        "tailscale": tail,
    }))
}
