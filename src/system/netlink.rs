//! A minimal netlink client: one request, the (multi-part) answer, attribute walking. Enough for
//! the read path to ask the kernel directly — routes (rtnetlink), MPTCP endpoints and limits
//! (generic netlink `mptcp_pm`), MPTCP sockets (sock_diag) — instead of spawning `ip` or `ss`.

use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};
use std::os::fd::{AsRawFd, OwnedFd};

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HDR: usize = 16;

pub struct Socket {
    fd: OwnedFd,
}

/// Why a netlink exchange produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NlError {
    Io(String),
    /// The kernel answered with an error (positive errno), e.g. ENOENT for a missing family.
    Kernel(i32),
    Malformed,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
pub fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// One netlink attribute (type, payload), padded.
pub fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(align(4 + data.len()));
    v.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(data);
    v.resize(align(v.len()), 0);
    v
}

/// Walks the attributes of `buf`; the nested flag and byte-order bit are masked off the type.
pub fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut off = 0;
    std::iter::from_fn(move || {
        let len = u16_at(buf, off)? as usize;
        let kind = u16_at(buf, off + 2)? & 0x3fff;
        if len < 4 || off + len > buf.len() {
            return None;
        }
        let item = (kind, &buf[off + 4..off + len]);
        off += align(len);
        Some(item)
    })
}

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// A generic netlink message body: the genl header (command, version) and its attributes.
pub fn genl(cmd: u8, version: u8, attrs: &[u8]) -> Vec<u8> {
    let mut v = vec![cmd, version, 0, 0];
    v.extend_from_slice(attrs);
    v
}

/// The id nlctrl gives the generic netlink family `name` (`mptcp_pm`, `wireguard`) on a
/// NETLINK_GENERIC socket; `Err(Kernel(ENOENT))` when this kernel has no such family.
pub fn genl_family(sock: &Socket, name: &str) -> Result<u16, NlError> {
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    let req = genl(CTRL_CMD_GETFAMILY, 1, &attr(CTRL_ATTR_FAMILY_NAME, &z));
    let answer = sock.exchange(GENL_ID_CTRL, 0, &req)?;
    let body = answer
        .first()
        .and_then(|m| m.get(4..))
        .ok_or(NlError::Malformed)?;
    let (_, id) = attrs(body)
        .find(|(k, _)| *k == CTRL_ATTR_FAMILY_ID)
        .ok_or(NlError::Malformed)?;
    // exactly a u16: anything else is not nlctrl's answer
    let id: [u8; 2] = id.try_into().map_err(|_| NlError::Malformed)?;
    Ok(u16::from_ne_bytes(id))
}

impl Socket {
    pub fn open(protocol: SockProtocol) -> Result<Socket, NlError> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            protocol,
        )
        .map_err(|e| NlError::Io(e.to_string()))?;
        Ok(Socket { fd })
    }

    /// Sends one request and collects the payload (after the netlink header) of every answer
    /// message until DONE (dump) or the first message (plain request).
    pub fn exchange(
        &self,
        msg_type: u16,
        flags: u16,
        payload: &[u8],
    ) -> Result<Vec<Vec<u8>>, NlError> {
        let mut msg = Vec::with_capacity(HDR + payload.len());
        msg.extend_from_slice(&((HDR + payload.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&msg_type.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(payload);
        sendto(
            self.fd.as_raw_fd(),
            &msg,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(|e| NlError::Io(e.to_string()))?;
        let dump = flags & NLM_F_DUMP != 0;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 << 10];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())
                .map_err(|e| NlError::Io(e.to_string()))?;
            if n == 0 {
                return Ok(out);
            }
            if split(&buf[..n], &mut out)? || !dump {
                return Ok(out);
            }
        }
    }
}

/// Appends each message payload of one datagram; `Ok(true)` at DONE.
pub fn split(buf: &[u8], out: &mut Vec<Vec<u8>>) -> Result<bool, NlError> {
    let mut off = 0;
    while off + HDR <= buf.len() {
        let len = u32_at(buf, off).ok_or(NlError::Malformed)? as usize;
        let kind = u16_at(buf, off + 4).ok_or(NlError::Malformed)?;
        if len < HDR || off + len > buf.len() {
            return Err(NlError::Malformed);
        }
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let errno = u32_at(buf, off + HDR).ok_or(NlError::Malformed)? as i32;
                // errno 0 is an acknowledgement, not an error.
                if errno != 0 {
                    return Err(NlError::Kernel(errno.wrapping_neg()));
                }
                return Ok(true);
            }
            _ => out.push(buf[off + HDR..off + len].to_vec()),
        }
        off += align(len);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = ((HDR + payload.len()) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend_from_slice(payload);
        m.resize(align(m.len()), 0);
        m
    }

    #[test]
    fn split_and_attrs() {
        let mut buf = msg(20, &attr(7, b"abc"));
        buf.extend(msg(20, &[]));
        let mut out = Vec::new();
        assert_eq!(split(&buf, &mut out), Ok(false));
        assert_eq!(out.len(), 2);
        let a: Vec<_> = attrs(&out[0]).collect();
        assert_eq!(a, vec![(7, &b"abc"[..])]);
        assert_eq!(split(&msg(NLMSG_DONE, &[]), &mut out), Ok(true));
        assert_eq!(
            split(&msg(NLMSG_ERROR, &(-2i32).to_ne_bytes()), &mut out),
            Err(NlError::Kernel(2))
        );
        assert_eq!(
            split(&[40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut out),
            Err(NlError::Malformed)
        );
        // Truncated attributes stop the walk instead of reading past the end.
        assert_eq!(attrs(&[200, 0, 1, 0, 9]).count(), 0);
    }
}
