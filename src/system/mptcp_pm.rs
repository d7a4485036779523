//! MPTCP endpoints and limits from the kernel's path manager over generic netlink (`mptcp_pm`,
//! what `ip mptcp endpoint show` / `ip mptcp limits` ask), without a child process.

#[cfg(test)]
use super::netlink::attr;
use super::netlink::{NLM_F_DUMP, Socket, attrs, genl, genl_family, u32_at};
use nix::sys::socket::SockProtocol;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Endpoint {
    pub id: u64,
    pub address: String,
    pub dev: Option<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct Limits {
    pub subflows: Option<u64>,
    pub add_addr_accepted: Option<u64>,
}

const MPTCP_PM_VER: u8 = 1;
const CMD_GET_ADDR: u8 = 3;
const CMD_GET_LIMITS: u8 = 6;
const ATTR_ADDR: u16 = 1;
const ATTR_RCV_ADD_ADDRS: u16 = 2;
const ATTR_SUBFLOWS: u16 = 3;
const ADDR_ID: u16 = 2;
const ADDR_ADDR4: u16 = 3;
const ADDR_ADDR6: u16 = 4;
const ADDR_FLAGS: u16 = 6;
const ADDR_IF_IDX: u16 = 7;
/// Flag bits in the order iproute2 prints them.
const FLAGS: [(u32, &str); 5] = [
    (2, "subflow"),
    (1, "signal"),
    (4, "backup"),
    (8, "fullmesh"),
    (16, "implicit"),
];

/// Endpoints and limits; each `None` when the kernel cannot say.
pub fn read() -> (Option<Vec<Endpoint>>, Option<Limits>) {
    read_with(&|i| {
        nix::net::if_::if_indextoname(i)
            .ok()
            .map(|c| c.to_string_lossy().into_owned())
    })
}

/// `read`, the endpoints' devices named by `names` (e.g. from a link dump already made).
pub fn read_with(names: &dyn Fn(u32) -> Option<String>) -> (Option<Vec<Endpoint>>, Option<Limits>) {
    let Ok(sock) = Socket::open(SockProtocol::NetlinkGeneric) else {
        return (None, None);
    };
    let Ok(fam) = genl_family(&sock, "mptcp_pm") else {
        return (None, None);
    };
    let endpoints = sock
        .exchange(fam, NLM_F_DUMP, &genl(CMD_GET_ADDR, MPTCP_PM_VER, &[]))
        .ok()
        .map(|msgs| {
            msgs.iter()
                .filter_map(|m| endpoint_with(m.get(4..)?, names))
                .collect()
        });
    let limits = sock
        .exchange(fam, 0, &genl(CMD_GET_LIMITS, MPTCP_PM_VER, &[]))
        .ok()
        .and_then(|msgs| {
            let a = msgs.first()?.get(4..)?;
            let get = |kind: u16| {
                attrs(a)
                    .find(|(k, _)| *k == kind)
                    .and_then(|(_, v)| u32_at(v, 0))
                    .map(u64::from)
            };
            Some(Limits {
                subflows: get(ATTR_SUBFLOWS),
                add_addr_accepted: get(ATTR_RCV_ADD_ADDRS),
            })
        });
    (endpoints, limits)
}

/// One MPTCP_PM_CMD_GET_ADDR answer (after the genl header); public for the fuzz target.
pub fn endpoint(msg_attrs: &[u8]) -> Option<Endpoint> {
    endpoint_with(msg_attrs, &|i| {
        nix::net::if_::if_indextoname(i)
            .ok()
            .map(|c| c.to_string_lossy().into_owned())
    })
}

pub fn endpoint_with(msg_attrs: &[u8], names: &dyn Fn(u32) -> Option<String>) -> Option<Endpoint> {
    let (_, nested) = attrs(msg_attrs).find(|(k, _)| *k == ATTR_ADDR)?;
    let (mut id, mut address, mut flags, mut ifindex) = (None, None, 0u32, 0u32);
    for (k, v) in attrs(nested) {
        match k {
            ADDR_ID => id = v.first().map(|b| u64::from(*b)),
            ADDR_ADDR4 => {
                address = <[u8; 4]>::try_from(v)
                    .ok()
                    .map(|b| Ipv4Addr::from(b).to_string())
            }
            ADDR_ADDR6 => {
                address = <[u8; 16]>::try_from(v)
                    .ok()
                    .map(|b| Ipv6Addr::from(b).to_string())
            }
            ADDR_FLAGS => flags = u32_at(v, 0).unwrap_or(0),
            ADDR_IF_IDX => ifindex = u32_at(v, 0).unwrap_or(0),
            _ => {}
        }
    }
    let dev = if ifindex == 0 { None } else { names(ifindex) };
    Some(Endpoint {
        id: id?,
        address: address?,
        dev,
        flags: FLAGS
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n.to_string())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_endpoint() {
        let mut inner = attr(ADDR_ID, &[3]);
        inner.extend(attr(ADDR_ADDR4, &[10, 3, 3, 2]));
        inner.extend(attr(ADDR_FLAGS, &(2u32 | 4 | 8).to_ne_bytes()));
        let outer = attr(ATTR_ADDR | 0x8000, &inner);
        let e = endpoint(&outer).unwrap();
        assert_eq!((e.id, e.address.as_str()), (3, "10.3.3.2"));
        assert_eq!(e.flags, ["subflow", "backup", "fullmesh"]);
        assert_eq!(e.dev, None);
        assert!(endpoint(&attr(ATTR_ADDR, &attr(ADDR_ID, &[1]))).is_none());
    }
}
