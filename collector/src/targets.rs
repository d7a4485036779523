//! Resolves the configured ping targets. `auto` targets:
//! - `vps`: the VPS in use (`jammonitor::omr::vps_address`);
//! - `tunnel`: the peer address of the tunnel device (`network.omrvpn.device`, default tun0) read
//!   in-process (getifaddrs), else `glorytun.vpn.remoteip`.
//!
//! Only IPv4 literals are pinged (no DNS lookups in the collector).

use crate::pinger::{Target, WanProbe};
use jammonitor::store::config::{Config, Host};
use jammonitor::store::ifaces::traffic_device;
use jammonitor::system::{Root, ip, rtnl, uci};
use jammonitor::wans::{self, Role};
use std::net::Ipv4Addr;

fn v4(s: &str) -> Option<Ipv4Addr> {
    s.trim().parse().ok()
}

pub fn vps(root: &Root) -> Option<Ipv4Addr> {
    let omr = uci::load(root, "openmptcprouter").unwrap_or_default();
    jammonitor::omr::vps_address(root, &omr).and_then(|(ip, _)| v4(&ip))
}

pub fn tunnel(root: &Root) -> Option<Ipv4Addr> {
    let network = uci::load(root, "network").unwrap_or_default();
    let dev = network
        .get("omrvpn", "device")
        .unwrap_or("tun0")
        .to_string();
    let peer = rtnl::links()
        .into_iter()
        .find(|l| l.ifname == dev)
        .and_then(|l| {
            l.addr_info
                .iter()
                .find(|a| a.family == "inet")
                .and_then(|a| a.address.as_deref().and_then(v4))
        });
    peer.or_else(|| {
        uci::load(root, "glorytun")
            .ok()
            .and_then(|g| g.get("vpn", "remoteip").and_then(v4))
    })
}

pub fn resolve(root: &Root, cfg: &Config) -> Vec<Target> {
    cfg.targets
        .iter()
        .map(|t| Target {
            name: t.name.clone(),
            host: match &t.host {
                Host::Addr(a) => Some(*a),
                Host::Auto if t.name == "vps" => vps(root),
                Host::Auto if t.name == "tunnel" => tunnel(root),
                Host::Auto => None,
            },
        })
        .collect()
}

/// The managed WANs as (name, layer-3 device, disabled): cheap (UCI only), read every sample.
pub fn wan_signature(root: &Root) -> Vec<(String, Option<String>, bool)> {
    let network = uci::load(root, "network").unwrap_or_default();
    let jm = uci::load(root, "jammonitor").unwrap_or_default();
    wans::selected(&network, &jm)
        .iter()
        .map(|w| {
            (
                w.name.clone(),
                traffic_device(w),
                w.disabled || w.role == Role::Off,
            )
        })
        .collect()
}

/// The managed WANs and what each pings through itself (config `wan_target` / `wan_ping`):
/// `gateway` is the WAN's default gateway (its default route in any table, else the UCI
/// `gateway`, else the peer of a point-to-point link, else the last one seen — a link that is
/// down loses its routes), a name is that ping target's address, an IPv4 literal is itself.
pub fn wan_probes(
    root: &Root,
    cfg: &Config,
    targets: &[Target],
    prev: &[WanProbe],
) -> Vec<WanProbe> {
    let network = uci::load(root, "network").unwrap_or_default();
    let jm = uci::load(root, "jammonitor").unwrap_or_default();
    let selected = wans::selected(&network, &jm);
    if selected.is_empty() {
        return Vec::new();
    }
    let routes = rtnl::routes().unwrap_or_default();
    let links = rtnl::links();
    selected
        .iter()
        .map(|w| {
            let device = traffic_device(w);
            let list = if !cfg.wan_ping {
                Vec::new()
            } else {
                cfg.wan_overrides
                    .iter()
                    .find(|(n, _)| *n == w.name)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| cfg.wan_targets.clone())
            };
            let prev_gw = prev
                .iter()
                .find(|p| p.name == w.name)
                .and_then(|p| p.targets.iter().find(|(l, _)| l == "gateway"))
                .and_then(|(_, h)| *h);
            let peer = || {
                links
                    .iter()
                    .find(|l| Some(&l.ifname) == device.as_ref())
                    .and_then(|l| l.addr_info.iter().find_map(|a| a.address.as_deref()))
                    .and_then(v4)
            };
            let gw = ip::default_gateway(&routes, device.as_deref())
                .as_deref()
                .and_then(v4)
                .or_else(|| network.get(&w.name, "gateway").and_then(v4))
                .or_else(peer)
                .or(prev_gw);
            let resolved = list
                .iter()
                .map(|t| {
                    let host = if t == "gateway" {
                        gw
                    } else if let Some(a) = v4(t) {
                        Some(a)
                    } else {
                        targets.iter().find(|x| &x.name == t).and_then(|x| x.host)
                    };
                    (t.clone(), host)
                })
                .collect();
            WanProbe {
                name: w.name.clone(),
                device,
                disabled: w.disabled || w.role == Role::Off,
                targets: resolved,
            }
        })
        .collect()
}
