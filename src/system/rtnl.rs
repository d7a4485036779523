//! In-process readers of the kernel's network state for the hot read path: links with their IPv4
//! addresses and IPv4 routes of every table (rtnetlink dumps, on one socket for `snapshot`). They yield the same
//! types as the `ip -j` wrapper, so the actions do not care which source answered.

use super::ip::{AddrInfo, Link, Route};
use super::netlink::{NLM_F_DUMP, Socket, attr, attrs, u32_at};
use nix::sys::socket::SockProtocol;
use std::net::Ipv4Addr;

const RTM_GETROUTE: u16 = 26;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;

const RTM_GETLINK: u16 = 18;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_EXT_MASK: u16 = 29;
/// Leave out the per-link statistics (the bulk of each RTM_NEWLINK): not read here.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFF_UP: u32 = 0x1;
const IFF_POINTOPOINT: u32 = 0x10;
const IFF_RUNNING: u32 = 0x40;
const IFF_LOWER_UP: u32 = 0x10000;
const AF_INET: u8 = 2;

/// Links with their IPv4 addresses, and IPv4 routes of every table, from ONE rtnetlink socket
/// (three dumps); route devices are named from the link dump, not by one ioctl per route.
pub fn snapshot() -> (Vec<Link>, Option<Vec<Route>>) {
    let Ok(sock) = Socket::open(SockProtocol::NetlinkRoute) else {
        return (Vec::new(), None);
    };
    let links = links_on(&sock);
    let routes = routes_on(&sock, &|i| name_of(&links, i));
    (links, routes)
}

/// The name of the link with index `i` in `links`, else the kernel's (a link made since).
pub fn name_of(links: &[Link], i: u32) -> Option<String> {
    links
        .iter()
        .find(|l| l.ifindex == i && i != 0)
        .map(|l| l.ifname.clone())
        .or_else(|| index_to_name(i))
}

fn index_to_name(i: u32) -> Option<String> {
    nix::net::if_::if_indextoname(i)
        .ok()
        .map(|c| c.to_string_lossy().into_owned())
}

/// Every link with its flags (UP, LOWER_UP, POINTOPOINT), operstate from IFF_RUNNING (as
/// getifaddrs reported it) and IPv4 addresses (a point-to-point one with its peer).
pub fn links() -> Vec<Link> {
    Socket::open(SockProtocol::NetlinkRoute)
        .map(|s| links_on(&s))
        .unwrap_or_default()
}

fn links_on(sock: &Socket) -> Vec<Link> {
    let mut req = vec![0u8; 16]; // ifinfomsg, AF_UNSPEC: every link
    req.extend(attr(IFLA_EXT_MASK, &RTEXT_FILTER_SKIP_STATS.to_ne_bytes()));
    let Ok(msgs) = sock.exchange(RTM_GETLINK, NLM_F_DUMP, &req) else {
        return Vec::new();
    };
    let mut out: Vec<(u32, Link)> = msgs.iter().filter_map(|m| link(m)).collect();
    let req = [AF_INET, 0, 0, 0, 0, 0, 0, 0]; // ifaddrmsg: IPv4 addresses
    if let Ok(msgs) = sock.exchange(RTM_GETADDR, NLM_F_DUMP, &req) {
        for m in &msgs {
            let Some((index, local, address, prefixlen)) = addr(m) else {
                continue;
            };
            if let Some((flags, l)) = out.iter_mut().find(|(_, l)| l.ifindex == index) {
                let peer = (*flags & IFF_POINTOPOINT != 0).then_some(address).flatten();
                l.addr_info.push(AddrInfo {
                    family: "inet".into(),
                    local: local.to_string(),
                    prefixlen,
                    address: peer.map(|p| p.to_string()),
                    scope: None,
                });
            }
        }
    }
    out.into_iter().map(|(_, l)| l).collect()
}

/// One RTM_NEWLINK payload (ifinfomsg + attributes): (ifi_flags, the link).
pub fn link(m: &[u8]) -> Option<(u32, Link)> {
    let index = u32_at(m, 4)?;
    let f = u32_at(m, 8)?;
    let (_, name) = attrs(m.get(16..)?).find(|(k, _)| *k == IFLA_IFNAME)?;
    let end = name.iter().position(|b| *b == 0)?;
    let ifname = std::str::from_utf8(&name[..end]).ok()?;
    if ifname.is_empty() || ifname.len() > 15 {
        return None;
    }
    let flags = [
        (IFF_UP, "UP"),
        (IFF_LOWER_UP, "LOWER_UP"),
        (IFF_POINTOPOINT, "POINTOPOINT"),
    ]
    .iter()
    .filter(|(bit, _)| f & bit != 0)
    .map(|(_, n)| n.to_string())
    .collect();
    let oper = if f & IFF_RUNNING != 0 { "UP" } else { "DOWN" };
    Some((
        f,
        Link {
            ifindex: index,
            ifname: ifname.to_string(),
            flags,
            mtu: None,
            operstate: Some(oper.to_string()),
            link_type: None,
            address: None,
            linkinfo: None,
            master: None,
            addr_info: Vec::new(),
        },
    ))
}

/// One RTM_NEWADDR payload (ifaddrmsg + attributes) of an IPv4 address: (ifindex, local,
/// IFA_ADDRESS — the peer on a point-to-point link —, prefix length).
pub fn addr(m: &[u8]) -> Option<(u32, Ipv4Addr, Option<Ipv4Addr>, u8)> {
    if *m.first()? != AF_INET {
        return None;
    }
    let prefixlen = *m.get(1)?;
    let index = u32_at(m, 4)?;
    let ip = |v: &[u8]| <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from);
    let (mut local, mut address) = (None, None);
    for (k, v) in attrs(m.get(8..)?) {
        match k {
            IFA_LOCAL => local = ip(v),
            IFA_ADDRESS => address = ip(v),
            _ => {}
        }
    }
    Some((index, local.or(address)?, address, prefixlen.min(32)))
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
    routes_on(&sock, &index_to_name)
}

fn routes_on(sock: &Socket, names: &dyn Fn(u32) -> Option<String>) -> Option<Vec<Route>> {
    let mut req = [0u8; 12]; // rtmsg
    req[0] = AF_INET;
    let msgs = sock.exchange(RTM_GETROUTE, NLM_F_DUMP, &req).ok()?;
    Some(msgs.iter().filter_map(|m| route_with(m, names)).collect())
}

/// One RTM_NEWROUTE payload; the device named by the kernel.
pub fn route(m: &[u8]) -> Option<Route> {
    route_with(m, &index_to_name)
}

pub fn route_with(m: &[u8], names: &dyn Fn(u32) -> Option<String>) -> Option<Route> {
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
            RTA_OIF => r.dev = u32_at(v, 0).and_then(names),
            _ => {}
        }
    }
    Some(r)
}
