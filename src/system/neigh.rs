//! The kernel's neighbour table (ARP and IPv6 ND) over rtnetlink, in-process: what `ip -j neigh`
//! prints, without the child process. Entries that never resolved (INCOMPLETE, FAILED) and
//! NOARP entries carry no MAC of a real client and are skipped. Falls back to /proc/net/arp
//! (IPv4 only) when netlink is unavailable.

use super::Root;
use super::netlink::{NLM_F_DUMP, Socket, attrs};
use nix::sys::socket::SockProtocol;
use std::net::{Ipv4Addr, Ipv6Addr};

const RTM_GETNEIGH: u16 = 30;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NUD_INCOMPLETE: u16 = 0x01;
const NUD_REACHABLE: u16 = 0x02;
const NUD_FAILED: u16 = 0x20;
const NUD_NOARP: u16 = 0x40;
const NUD_PERMANENT: u16 = 0x80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neigh {
    pub ip: String,
    pub v6: bool,
    pub mac: String,
    pub device: String,
    /// Confirmed reachable just now (vs. stale/delay/probe: known, not recently confirmed).
    pub reachable: bool,
    pub permanent: bool,
}

fn ifname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf is IF_NAMESIZE bytes as if_indextoname requires; it NUL-terminates on success.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// One RTM_NEWNEIGH payload (ndmsg + attributes); `name_of` maps an ifindex to its name.
pub fn parse(m: &[u8], name_of: &dyn Fn(u32) -> Option<String>) -> Option<Neigh> {
    let family = *m.first()?;
    let ifindex = u32::from_ne_bytes(m.get(4..8)?.try_into().ok()?);
    let state = u16::from_ne_bytes(m.get(8..10)?.try_into().ok()?);
    if state & (NUD_INCOMPLETE | NUD_FAILED) != 0
        || (state & NUD_NOARP != 0 && state & NUD_PERMANENT == 0)
    {
        return None;
    }
    let (mut ip, mut mac) = (None, None);
    for (kind, data) in attrs(m.get(12..)?) {
        match kind {
            NDA_DST => {
                ip = match (family, data.len()) {
                    (2, 4) => Some(Ipv4Addr::from(<[u8; 4]>::try_from(data).ok()?).to_string()),
                    (10, 16) => Some(Ipv6Addr::from(<[u8; 16]>::try_from(data).ok()?).to_string()),
                    _ => None,
                }
            }
            NDA_LLADDR if data.len() == 6 => {
                let s: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
                mac = super::leases::normalize_mac(&s.join(":"));
            }
            _ => {}
        }
    }
    Some(Neigh {
        v6: family == 10,
        ip: ip?,
        mac: mac?,
        device: name_of(ifindex)?,
        reachable: state & NUD_REACHABLE != 0,
        permanent: state & NUD_PERMANENT != 0,
    })
}

/// IPv4 and IPv6 neighbours of every device, or `None` if the kernel could not be asked.
pub fn dump() -> Option<Vec<Neigh>> {
    let sock = Socket::open(SockProtocol::NetlinkRoute).ok()?;
    // struct ndmsg, AF_UNSPEC: both families.
    let req = [0u8; 12];
    let msgs = sock.exchange(RTM_GETNEIGH, NLM_F_DUMP, &req).ok()?;
    let mut names: std::collections::HashMap<u32, Option<String>> = Default::default();
    let name_of = |i: u32| -> Option<String> { ifname(i) };
    let mut out = Vec::new();
    for m in &msgs {
        let idx = m
            .get(4..8)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap_or([0; 4])));
        if let Some(i) = idx {
            names.entry(i).or_insert_with(|| name_of(i));
        }
        let lookup = |i: u32| names.get(&i).cloned().flatten();
        if let Some(n) = parse(m, &lookup) {
            out.push(n);
        }
    }
    Some(out)
}

/// The neighbour table: netlink when the root is the system's own (or a live test root whose
/// /proc is the real one), else the root's /proc/net/arp (fixture roots).
pub fn table(root: &Root) -> Vec<Neigh> {
    let live = root.is_system()
        || std::fs::read_link(root.path("/proc")).is_ok_and(|p| p == std::path::Path::new("/proc"));
    if live {
        if let Some(v) = dump() {
            return v;
        }
    }
    let text = root.read("/proc/net/arp", 1 << 20).unwrap_or_default();
    super::conntrack::parse_arp(&text)
        .into_iter()
        .map(|n| Neigh {
            ip: n.ip,
            v6: false,
            mac: n.mac,
            device: n.device,
            reachable: false,
            permanent: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(family: u8, ifindex: u32, state: u16, dst: &[u8], ll: &[u8]) -> Vec<u8> {
        let mut m = vec![family, 0, 0, 0];
        m.extend_from_slice(&ifindex.to_ne_bytes());
        m.extend_from_slice(&state.to_ne_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend(super::super::netlink::attr(NDA_DST, dst));
        m.extend(super::super::netlink::attr(NDA_LLADDR, ll));
        m
    }

    #[test]
    fn parses_and_filters() {
        let names = |i: u32| (i == 7).then(|| "br-lan".to_string());
        let mac = [0x3c, 0x22, 0xfb, 0, 0, 0xaa];
        let n = parse(&msg(2, 7, NUD_REACHABLE, &[192, 168, 1, 23], &mac), &names).unwrap();
        assert_eq!(
            (
                n.ip.as_str(),
                n.mac.as_str(),
                n.device.as_str(),
                n.reachable,
                n.v6
            ),
            ("192.168.1.23", "3c:22:fb:00:00:aa", "br-lan", true, false)
        );
        let v6 = Ipv6Addr::new(0xfd42, 0, 0, 0, 0, 0, 0, 0x2a).octets();
        let n6 = parse(&msg(10, 7, 0x04, &v6, &mac), &names).unwrap();
        assert_eq!(
            (n6.ip.as_str(), n6.v6, n6.reachable),
            ("fd42::2a", true, false)
        );
        assert!(parse(&msg(2, 7, NUD_FAILED, &[192, 168, 1, 24], &mac), &names).is_none());
        assert!(parse(&msg(2, 7, NUD_INCOMPLETE, &[192, 168, 1, 24], &mac), &names).is_none());
        assert!(parse(&msg(2, 7, NUD_NOARP, &[192, 168, 1, 24], &mac), &names).is_none());
        assert!(
            parse(&msg(2, 9, NUD_REACHABLE, &[192, 168, 1, 24], &mac), &names).is_none(),
            "unknown device"
        );
        assert!(
            parse(
                &msg(2, 7, NUD_REACHABLE, &[192, 168, 1, 24], &[0; 6]),
                &names
            )
            .is_none(),
            "zero MAC"
        );
        assert!(parse(&[2, 0, 0], &names).is_none());
    }

    #[test]
    fn kernel_dump_works_here() {
        // The host's own table: may be empty, but the exchange itself must succeed.
        assert!(dump().is_some());
    }
}
