//! In-process readers of the kernel's network state for the hot read path: links with their IPv4
//! addresses (getifaddrs) and IPv4 routes of every table (rtnetlink dump). They yield the same
//! types as the `ip -j` wrapper, so the actions do not care which source answered.

use super::ip::{AddrInfo, Link, Route};
use super::netlink::{NLM_F_DUMP, Socket, attrs, u32_at};
use nix::net::if_::InterfaceFlags;
use nix::sys::socket::{AddressFamily, SockProtocol, SockaddrLike};
use std::net::Ipv4Addr;

const RTM_GETROUTE: u16 = 26;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;

fn v4(sa: Option<&nix::sys::socket::SockaddrStorage>) -> Option<Ipv4Addr> {
    let s = sa?;
    (s.family() == Some(AddressFamily::Inet)).then(|| s.as_sockaddr_in().map(|a| a.ip()))?
}

/// Every link (one entry per name) with its IPv4 addresses; the peer of point-to-point links.
pub fn links() -> Vec<Link> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out: Vec<Link> = Vec::new();
    for a in addrs {
        let idx = match out.iter().position(|l| l.ifname == a.interface_name) {
            Some(i) => i,
            None => {
                let f = a.flags;
                let mut flags = Vec::new();
                for (bit, name) in [
                    (InterfaceFlags::IFF_UP, "UP"),
                    (InterfaceFlags::IFF_LOWER_UP, "LOWER_UP"),
                    (InterfaceFlags::IFF_POINTOPOINT, "POINTOPOINT"),
                ] {
                    if f.contains(bit) {
                        flags.push(name.to_string());
                    }
                }
                // RUNNING is the kernel's "operationally up" (IF_OPER_UP or UNKNOWN with carrier).
                let oper = if f.contains(InterfaceFlags::IFF_RUNNING) {
                    "UP"
                } else {
                    "DOWN"
                };
                out.push(Link {
                    ifindex: 0,
                    ifname: a.interface_name.clone(),
                    flags,
                    mtu: None,
                    operstate: Some(oper.to_string()),
                    link_type: None,
                    address: None,
                    linkinfo: None,
                    master: None,
                    addr_info: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(local) = v4(a.address.as_ref()) {
            let prefixlen = v4(a.netmask.as_ref())
                .map(|m| u32::from(m).leading_ones() as u8)
                .unwrap_or(32);
            let peer = if a.flags.contains(InterfaceFlags::IFF_POINTOPOINT) {
                v4(a.destination.as_ref()).map(|p| p.to_string())
            } else {
                None
            };
            out[idx].addr_info.push(AddrInfo {
                family: "inet".into(),
                local: local.to_string(),
                prefixlen,
                address: peer,
                scope: None,
            });
        }
    }
    out
}

fn table_name(id: u32) -> String {
    match id {
        254 => "main".into(),
        255 => "local".into(),
        253 => "default".into(),
        n => n.to_string(),
    }
}

/// IPv4 unicast routes of every table, or `None` if the kernel could not be asked.
pub fn routes() -> Option<Vec<Route>> {
    let sock = Socket::open(SockProtocol::NetlinkRoute).ok()?;
    // struct rtmsg for AF_INET, everything else zero: dump all tables.
    let req = [
        AddressFamily::Inet as i32 as u8,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    let msgs = sock.exchange(RTM_GETROUTE, NLM_F_DUMP, &req).ok()?;
    Some(msgs.iter().filter_map(|m| route(m)).collect())
}

/// One RTM_NEWROUTE payload (rtmsg + attributes); public for the fuzz target.
pub fn route(m: &[u8]) -> Option<Route> {
    let (dst_len, table8, protocol, scope, rtype) =
        (*m.get(1)?, *m.get(4)?, *m.get(5)?, *m.get(6)?, *m.get(7)?);
    if rtype != 1 {
        return None; // unicast only: local/broadcast routes are kernel bookkeeping
    }
    let ip = |v: &[u8]| {
        <[u8; 4]>::try_from(v)
            .ok()
            .map(|b| Ipv4Addr::from(b).to_string())
    };
    let mut r = Route {
        rtype: None,
        dst: "default".into(),
        gateway: None,
        dev: None,
        table: Some(table_name(table8 as u32)),
        protocol: Some(match protocol {
            2 => "kernel".into(),
            3 => "boot".into(),
            4 => "static".into(),
            n => n.to_string(),
        }),
        scope: Some(if scope == 253 {
            "link".into()
        } else {
            "global".into()
        }),
        prefsrc: None,
        metric: None,
    };
    for (k, v) in attrs(m.get(12..)?) {
        match k {
            RTA_DST => {
                let d = ip(v)?;
                r.dst = if dst_len == 32 {
                    d
                } else {
                    format!("{d}/{dst_len}")
                };
            }
            RTA_GATEWAY => r.gateway = ip(v),
            RTA_PREFSRC => r.prefsrc = ip(v),
            RTA_PRIORITY => r.metric = u32_at(v, 0).map(u64::from),
            RTA_TABLE => r.table = u32_at(v, 0).map(table_name),
            RTA_OIF => {
                r.dev = u32_at(v, 0)
                    .and_then(|i| nix::net::if_::if_indextoname(i).ok())
                    .map(|c| c.to_string_lossy().into_owned())
            }
            _ => {}
        }
    }
    Some(r)
}
