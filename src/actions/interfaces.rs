//! `GET interfaces`: every kernel interface grouped the way a user thinks of it (WAN, LAN, VPN,
//! Wi-Fi, physical, other) and the full routing table of every table, from one `ip -batch`.

use super::{Ctx, now_epoch};
use crate::error::ApiResult;
use crate::http::Response;
use crate::system::ip::{self, Link, Query};
use crate::system::uci::Config;
use crate::system::{Root, procfs};
use crate::wans;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    Ok(Response::ok(build(ctx.root)?))
}

/// Kernel placeholder devices that exist as soon as a tunnel module loads; never configured.
fn is_fallback_device(name: &str) -> bool {
    matches!(
        name,
        "lo" | "gre0"
            | "gretap0"
            | "erspan0"
            | "ip_vti0"
            | "ip6_vti0"
            | "sit0"
            | "ip6tnl0"
            | "ip6gre0"
            | "teql0"
    ) || name.starts_with("ifb")
}

/// One UCI interface configured on a device.
struct Owner {
    name: String,
    label: Option<String>,
    kind: Option<wans::SystemKind>,
}

/// Device → the UCI interfaces on it, in config order (the WAN model's device rule: `device`,
/// legacy `ifname`, `@alias`, legacy bridge, a modem's netdev from sysfs). Two interfaces may
/// share one (ATT/ATT6).
fn uci_owners(network: &Config, modems: &[(String, String)]) -> HashMap<String, Vec<Owner>> {
    let mut map: HashMap<String, Vec<Owner>> = HashMap::new();
    for s in network.of_type("interface") {
        let modem = modems
            .iter()
            .find(|(n, _)| *n == s.name)
            .map(|(_, d)| d.clone());
        if let Some(dev) = wans::section_device(network, s).or(modem) {
            map.entry(dev).or_default().push(Owner {
                name: s.name.clone(),
                label: s.get("label").filter(|l| !l.is_empty()).map(String::from),
                kind: wans::system_kind(&s.name, s.get("proto")),
            });
        }
    }
    map
}

fn group(root: &Root, link: &Link, owners: &[Owner], wan_names: &[String]) -> &'static str {
    let name = link.ifname.as_str();
    if owners.iter().any(|o| wan_names.contains(&o.name)) {
        return "wan";
    }
    match owners.iter().find_map(|o| o.kind) {
        Some(wans::SystemKind::Lan) => return "lan",
        Some(wans::SystemKind::Tunnel) => return "vpn",
        _ => {}
    }
    let kind = link.kind().unwrap_or("");
    if root
        .path(&format!("/sys/class/net/{name}/wireless"))
        .exists()
        || root
            .path(&format!("/sys/class/net/{name}/phy80211"))
            .exists()
    {
        "wifi"
    } else if matches!(
        kind,
        "tun" | "wireguard" | "gre" | "ipip" | "sit" | "vti" | "gretap"
    ) || link.link_type.as_deref() == Some("none")
        || name.starts_with("tun")
        || name.starts_with("wg")
    {
        "vpn"
    } else if kind == "bridge" || name.starts_with("br-") {
        "lan"
    } else if root.path(&format!("/sys/class/net/{name}/device")).exists() || kind == "dsa" {
        "physical"
    } else {
        "other"
    }
}

pub fn build(root: &Root) -> ApiResult<Value> {
    // A broken config hides the grouping by UCI (errors.interfaces says why); the kernel's
    // interfaces, addresses, counters and routes are still answered.
    let model = wans::Model::load(root);
    let mut errors = serde_json::Map::new();
    let wan_names: Vec<String> = match model.selected() {
        Ok(list) => list.into_iter().map(|w| w.name).collect(),
        Err(e) => {
            errors.insert("interfaces".into(), json!(e));
            Vec::new()
        }
    };
    let owners = model
        .network
        .as_ref()
        .map(|n| uci_owners(n, model.modem_devices()))
        .unwrap_or_default();
    let none: Vec<Owner> = Vec::new();
    let snap = ip::snapshot(root, &[Query::Links, Query::Routes])?;
    let stats: HashMap<String, procfs::NetDev> = procfs::net_dev(root)
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect();

    let links = snap.links.unwrap_or_default();
    let own_group = |l: &Link| group(root, l, owners.get(&l.ifname).unwrap_or(&none), &wan_names);
    // A bridge port belongs where its bridge does (the LAN ports of `br-lan`/`wan` are LAN).
    let group_of = |l: &Link| {
        l.master
            .as_deref()
            .and_then(|m| links.iter().find(|x| x.ifname == m))
            .map(own_group)
            .unwrap_or_else(|| own_group(l))
    };
    let interfaces: Vec<Value> = links
        .iter()
        .filter(|l| !is_fallback_device(&l.ifname))
        .map(|l| {
            // The WAN among the owners when there is one, else the first.
            let owner = owners.get(&l.ifname).and_then(|os| {
                os.iter()
                    .find(|o| wan_names.contains(&o.name))
                    .or_else(|| os.first())
            });
            let st = stats.get(&l.ifname).cloned().unwrap_or_default();
            json!({
                "name": l.ifname,
                "group": group_of(l),
                "master": l.master,
                "uci": owner.map(|o| &o.name),
                "uci_interfaces": owners.get(&l.ifname).map(|os| os.iter().map(|o| o.name.as_str()).collect::<Vec<_>>()).unwrap_or_default(),
                "label": owner.and_then(|o| o.label.as_ref()),
                "state": l.operstate.as_deref().unwrap_or("UNKNOWN"),
                "up": l.is_up(),
                "mtu": l.mtu,
                "mac": l.address.as_deref().filter(|_| l.link_type.as_deref() == Some("ether")),
                "kind": l.kind(),
                "addresses": l.addr_info.iter().map(|a| json!({
                    "family": a.family, "address": a.local, "prefix": a.prefixlen, "peer": a.address,
                })).collect::<Vec<_>>(),
                "stats": {
                    "rx_bytes": st.rx_bytes, "tx_bytes": st.tx_bytes,
                    "rx_packets": st.rx_packets, "tx_packets": st.tx_packets,
                    "rx_errors": st.rx_errors, "tx_errors": st.tx_errors,
                    "rx_dropped": st.rx_dropped, "tx_dropped": st.tx_dropped,
                },
            })
        })
        .collect();

    let routes: Vec<Value> = snap
        .routes
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            json!({
                "table": r.table.unwrap_or_else(|| "main".into()),
                "type": r.rtype.unwrap_or_else(|| "unicast".into()),
                "dst": r.dst, "gateway": r.gateway, "dev": r.dev, "protocol": r.protocol,
                "metric": r.metric, "scope": r.scope, "prefsrc": r.prefsrc,
            })
        })
        .collect();
    Ok(
        json!({"generated_at": now_epoch(), "interfaces": interfaces, "routes": routes, "errors": errors}),
    )
}
