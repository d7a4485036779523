//! Active MPTCP connections and their subflows, asked of the kernel over NETLINK_SOCK_DIAG — the
//! same source `ss -Mni` reads, without a child process. Each established MPTCP socket carries a
//! `struct mptcp_info` whose first byte, `mptcpi_subflows`, counts the subflows added to the
//! initial one.

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};
use std::os::fd::AsRawFd;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
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
    let mut total = MptcpCounts::default();
    for family in [libc_af_inet(), libc_af_inet6()] {
        let c = dump(family)?;
        total.connections += c.connections;
        total.subflows += c.subflows;
    }
    Some(total)
}

fn libc_af_inet() -> u8 {
    AddressFamily::Inet as i32 as u8
}
fn libc_af_inet6() -> u8 {
    AddressFamily::Inet6 as i32 as u8
}

fn request(family: u8) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.push(family); // sdiag_family
    body.push(0); // sdiag_protocol: too small for 262, so the attribute below carries it
    body.push(1 << (INET_DIAG_INFO - 1)); // idiag_ext
    body.push(0);
    body.extend_from_slice(&(1u32 << TCP_ESTABLISHED).to_ne_bytes()); // idiag_states
    body.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: any
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&INET_DIAG_REQ_PROTOCOL.to_ne_bytes());
    body.extend_from_slice(&IPPROTO_MPTCP.to_ne_bytes());
    let len = 16 + body.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid: kernel assigns
    msg.extend_from_slice(&body);
    msg
}

fn dump(family: u8) -> Option<MptcpCounts> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkSockDiag,
    )
    .ok()?;
    sendto(
        fd.as_raw_fd(),
        &request(family),
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .ok()?;
    let mut counts = MptcpCounts::default();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).ok()?;
        if n == 0 {
            return Some(counts);
        }
        match parse_messages(&buf[..n], &mut counts) {
            Parsed::More => continue,
            Parsed::Done => return Some(counts),
            Parsed::Error => return None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    More,
    Done,
    Error,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Walks the netlink messages of one datagram, adding each socket to `counts`.
fn parse_messages(buf: &[u8], counts: &mut MptcpCounts) -> Parsed {
    let mut off = 0;
    while off + 16 <= buf.len() {
        let (Some(len), Some(kind)) = (u32_at(buf, off), u16_at(buf, off + 4)) else {
            return Parsed::Error;
        };
        let len = len as usize;
        if len < 16 || off + len > buf.len() {
            return Parsed::Error;
        }
        match kind {
            NLMSG_DONE => return Parsed::Done,
            NLMSG_ERROR => return Parsed::Error,
            SOCK_DIAG_BY_FAMILY => {
                counts.connections += 1;
                counts.subflows +=
                    1 + extra_subflows(&buf[off + 16..off + len]).unwrap_or(0) as u64;
            }
            _ => {}
        }
        off += (len + 3) & !3;
    }
    Parsed::More
}

/// `mptcpi_subflows` from the INET_DIAG_INFO attribute after the inet_diag_msg.
fn extra_subflows(msg: &[u8]) -> Option<u8> {
    let mut off = INET_DIAG_MSG_LEN;
    while off + 4 <= msg.len() {
        let len = u16_at(msg, off)? as usize;
        let kind = u16_at(msg, off + 2)?;
        if len < 4 {
            return None;
        }
        if kind == INET_DIAG_INFO {
            return msg.get(off + 4).copied();
        }
        off += (len + 3) & !3;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag_msg(subflows: u8) -> Vec<u8> {
        let mut m = vec![0u8; INET_DIAG_MSG_LEN];
        m.extend_from_slice(&8u16.to_ne_bytes());
        m.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        m.extend_from_slice(&[subflows, 0, 0, 8]);
        let mut h = Vec::new();
        h.extend_from_slice(&((16 + m.len()) as u32).to_ne_bytes());
        h.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        h.extend_from_slice(&[0u8; 10]);
        h.extend_from_slice(&m);
        h
    }

    #[test]
    fn counts_sockets_and_subflows() {
        let mut buf = diag_msg(2);
        buf.extend(diag_msg(0));
        let mut c = MptcpCounts::default();
        assert_eq!(parse_messages(&buf, &mut c), Parsed::More);
        assert_eq!(
            c,
            MptcpCounts {
                connections: 2,
                subflows: 4
            }
        );
        let mut done = vec![0u8; 16];
        done[..4].copy_from_slice(&16u32.to_ne_bytes());
        done[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        assert_eq!(parse_messages(&done, &mut c), Parsed::Done);
        assert_eq!(parse_messages(&[1, 0, 0], &mut c), Parsed::More);
        assert_eq!(
            parse_messages(&[200, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut c),
            Parsed::Error
        );
    }

    #[test]
    fn request_layout() {
        let r = request(2);
        assert_eq!(r.len(), 16 + 56 + 8);
        assert_eq!(u32_at(&r, 0), Some(r.len() as u32));
    }
}
