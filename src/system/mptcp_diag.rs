//! Active MPTCP connections and their subflows, asked of the kernel over NETLINK_SOCK_DIAG — the
//! same source `ss -Mni` reads, without a child process. Each established MPTCP socket carries a
//! `struct mptcp_info` whose first byte, `mptcpi_subflows`, counts the subflows added to the
//! initial one.

use super::netlink::{NLM_F_DUMP, Socket, attr, attrs};
use nix::sys::socket::{AddressFamily, SockProtocol};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_REQ_PROTOCOL: u16 = 3;
const IPPROTO_MPTCP: u32 = 262;
const TCP_ESTABLISHED: u32 = 1;
const INET_DIAG_MSG_LEN: usize = 72;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MptcpCounts {
    pub connections: u64,
    /// Every subflow, the initial one included.
    pub subflows: u64,
}

/// `None` when the kernel has no MPTCP diag support (module missing or MPTCP off).
pub fn counts() -> Option<MptcpCounts> {
    let sock = Socket::open(SockProtocol::NetlinkSockDiag).ok()?;
    let mut total = MptcpCounts::default();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        for msg in sock
            .exchange(
                SOCK_DIAG_BY_FAMILY,
                NLM_F_DUMP,
                &request(family as i32 as u8),
            )
            .ok()?
        {
            total.connections += 1;
            total.subflows += 1 + extra_subflows(&msg).unwrap_or(0) as u64;
        }
    }
    Some(total)
}

/// `inet_diag_req_v2` for established sockets of `family`, protocol MPTCP.
fn request(family: u8) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.push(family);
    body.push(0); // sdiag_protocol: too small for 262, so the attribute below carries it
    body.push(1 << (INET_DIAG_INFO - 1)); // idiag_ext: ask for mptcp_info
    body.push(0);
    body.extend_from_slice(&(1u32 << TCP_ESTABLISHED).to_ne_bytes());
    body.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: any
    body.extend(attr(INET_DIAG_REQ_PROTOCOL, &IPPROTO_MPTCP.to_ne_bytes()));
    body
}

/// `mptcpi_subflows` from the INET_DIAG_INFO attribute after the inet_diag_msg.
pub fn extra_subflows(msg: &[u8]) -> Option<u8> {
    attrs(msg.get(INET_DIAG_MSG_LEN..)?)
        .find(|(k, _)| *k == INET_DIAG_INFO)?
        .1
        .first()
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subflows_from_info_attribute() {
        let mut m = vec![0u8; INET_DIAG_MSG_LEN];
        m.extend(attr(1, &[9, 9]));
        m.extend(attr(INET_DIAG_INFO, &[2, 0, 0, 8]));
        assert_eq!(extra_subflows(&m), Some(2));
        assert_eq!(extra_subflows(&m[..10]), None);
        assert_eq!(request(2).len(), 56 + 8);
    }
}
