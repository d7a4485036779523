//! Resolves the configured ping targets. `auto` targets:
//! - `vps`: the VPS in use (`jammonitor::omr::vps_address`);
//! - `tunnel`: the peer address of the tunnel device (`network.omrvpn.device`, default tun0) read
//!   in-process (getifaddrs), else `glorytun.vpn.remoteip`.
//!
//! Only IPv4 literals are pinged (no DNS lookups in the collector).

use crate::pinger::Target;
use jammonitor::store::config::{Config, Host};
use jammonitor::system::{Root, rtnl, uci};
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
