//! WireGuard devices as the kernel reports them over generic netlink (family `wireguard`, resolved
//! through nlctrl; `WG_CMD_GET_DEVICE`, a dump, as `wg show` asks it) — no `wg` child process.
//! OMR uses WireGuard for `omrvpn` (proto `wireguard`) and for "MPTCP over VPN" (`wgwan1`, …).
//!
//! Facts from the UAPI (`include/uapi/linux/wireguard.h`) and the kernel's dump
//! (`drivers/net/wireguard/netlink.c`): the first answer message carries the device attributes
//! (`WGDEVICE_A_*`); every message carries a nested `WGDEVICE_A_PEERS` list whose entries are
//! nested `WGPEER_A_*` sets; a device with many peers (or allowed IPs) is split over several
//! messages, and a peer cut in the middle continues, under the same public key (and nothing but
//! its remaining allowed IPs), in the next one.
//!
//! Every attribute length is checked exactly (keys 32 bytes, u16 2, u64 8, timespec 16, sockaddr 16
//! or 28); an attribute of the wrong size is ignored, a peer without a valid public key dropped,
//! and the peer list is capped. The private and preshared keys the kernel sends to a privileged
//! caller are never parsed, and the received messages are wiped before they are freed.

use super::netlink::{NLM_F_DUMP, NlError, Socket, attr, attrs, genl, genl_family};
use nix::sys::socket::SockProtocol;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

const WG_GENL_VERSION: u8 = 1;
const WG_CMD_GET_DEVICE: u8 = 0;
const WGDEVICE_A_IFINDEX: u16 = 1;
const WGDEVICE_A_IFNAME: u16 = 2;
const WGDEVICE_A_PUBLIC_KEY: u16 = 4;
const WGDEVICE_A_LISTEN_PORT: u16 = 6;
const WGDEVICE_A_PEERS: u16 = 8;
const WGPEER_A_PUBLIC_KEY: u16 = 1;
const WGPEER_A_ENDPOINT: u16 = 4;
const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL: u16 = 5;
const WGPEER_A_LAST_HANDSHAKE_TIME: u16 = 6;
const WGPEER_A_RX_BYTES: u16 = 7;
const WGPEER_A_TX_BYTES: u16 = 8;
const KEY_LEN: usize = 32;
const IFNAMSIZ: usize = 16;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const ENODEV: i32 = 19;
const ENOENT: i32 = 2;
/// More peers than any OMR set-up has (one VPS, or one per WAN): the rest is not shown.
pub const MAX_PEERS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Peer {
    /// base64, as `wg` prints it
    pub public_key: String,
    /// `ip:port` (`[ip6]:port`); `None` until the peer is known to be reachable somewhere
    pub endpoint: Option<String>,
    /// epoch seconds of the latest handshake; `None` when there has been none
    pub latest_handshake: Option<i64>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// seconds; `None` when off
    pub persistent_keepalive_s: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    pub ifindex: Option<u32>,
    pub ifname: Option<String>,
    pub public_key: Option<String>,
    pub listen_port: Option<u16>,
    pub peers: Vec<Peer>,
}

/// Why a device could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgError {
    /// This kernel has no `wireguard` generic netlink family (module not loaded or not built).
    NoWireguard,
    /// No WireGuard device of that name.
    NoDevice,
    /// Any other failure (socket, permission, malformed answer).
    Failed,
}

impl WgError {
    pub fn code(self) -> &'static str {
        match self {
            WgError::NoWireguard => "no_wireguard",
            WgError::NoDevice => "no_device",
            WgError::Failed => "error",
        }
    }
}

/// A NETLINK_GENERIC socket with the `wireguard` family resolved once, for any number of devices.
pub struct Reader {
    sock: Socket,
    family: u16,
}

impl Reader {
    pub fn open() -> Result<Reader, WgError> {
        let sock = Socket::open(SockProtocol::NetlinkGeneric).map_err(|_| WgError::Failed)?;
        let family = match genl_family(&sock, "wireguard") {
            Ok(f) => f,
            Err(NlError::Kernel(ENOENT)) => return Err(WgError::NoWireguard),
            Err(_) => return Err(WgError::Failed),
        };
        Ok(Reader { sock, family })
    }

    /// `WG_CMD_GET_DEVICE` for the netdev `ifname`.
    pub fn device(&self, ifname: &str) -> Result<Device, WgError> {
        if ifname.is_empty() || ifname.len() >= IFNAMSIZ || ifname.contains('\0') {
            return Err(WgError::NoDevice);
        }
        let mut name = ifname.as_bytes().to_vec();
        name.push(0);
        let req = genl(
            WG_CMD_GET_DEVICE,
            WG_GENL_VERSION,
            &attr(WGDEVICE_A_IFNAME, &name),
        );
        let mut msgs = match self.sock.exchange(self.family, NLM_F_DUMP, &req) {
            Ok(m) => m,
            Err(NlError::Kernel(ENODEV)) | Err(NlError::Kernel(ENOENT)) => {
                return Err(WgError::NoDevice);
            }
            Err(_) => return Err(WgError::Failed),
        };
        let dev = parse_dump(&msgs);
        // the answer held the private key (root asked): do not leave it in freed memory
        for m in msgs.iter_mut() {
            wipe(m);
        }
        dev.ok_or(WgError::Failed)
    }
}

fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: a valid, aligned, exclusive reference; volatile so the wipe is not elided.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

/// The device in the payloads (after the netlink header) of one dump's messages; `None` when no
/// message is a WireGuard answer (too short for the genl header).
pub fn parse_dump(msgs: &[Vec<u8>]) -> Option<Device> {
    let mut dev: Option<Device> = None;
    for m in msgs {
        // genl header: cmd, version, reserved u16
        let Some(body) = m.get(4..) else { continue };
        let d = dev.get_or_insert_with(Device::default);
        for (k, v) in attrs(body) {
            match k {
                WGDEVICE_A_IFINDEX => d.ifindex = u32_exact(v).or(d.ifindex),
                WGDEVICE_A_IFNAME => d.ifname = ifname(v).or(d.ifname.take()),
                WGDEVICE_A_PUBLIC_KEY => d.public_key = key(v).or(d.public_key.take()),
                WGDEVICE_A_LISTEN_PORT => d.listen_port = u16_exact(v).or(d.listen_port),
                WGDEVICE_A_PEERS => {
                    for (_, p) in attrs(v) {
                        if let Some(peer) = parse_peer(p) {
                            merge(&mut d.peers, peer);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    dev
}

/// A peer continued from the previous message (same key) is merged, never listed twice.
fn merge(peers: &mut Vec<Peer>, p: Peer) {
    if let Some(old) = peers.iter_mut().find(|o| o.public_key == p.public_key) {
        old.endpoint = p.endpoint.or(old.endpoint.take());
        old.latest_handshake = p.latest_handshake.or(old.latest_handshake);
        old.rx_bytes = old.rx_bytes.max(p.rx_bytes);
        old.tx_bytes = old.tx_bytes.max(p.tx_bytes);
        old.persistent_keepalive_s = p.persistent_keepalive_s.or(old.persistent_keepalive_s);
    } else if peers.len() < MAX_PEERS {
        peers.push(p);
    }
}

pub fn parse_peer(buf: &[u8]) -> Option<Peer> {
    let mut key_s = None;
    let mut p = Peer::default();
    for (k, v) in attrs(buf) {
        match k {
            WGPEER_A_PUBLIC_KEY => key_s = key(v),
            WGPEER_A_ENDPOINT => p.endpoint = sockaddr(v),
            WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL => {
                p.persistent_keepalive_s = u16_exact(v).filter(|s| *s > 0)
            }
            WGPEER_A_LAST_HANDSHAKE_TIME => p.latest_handshake = timespec_secs(v),
            WGPEER_A_RX_BYTES => p.rx_bytes = u64_exact(v).unwrap_or(0),
            WGPEER_A_TX_BYTES => p.tx_bytes = u64_exact(v).unwrap_or(0),
            _ => {} // preshared key, flags, allowed IPs, protocol version: not shown
        }
    }
    p.public_key = key_s?;
    Some(p)
}

fn u16_exact(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.try_into().ok()?))
}
fn u32_exact(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.try_into().ok()?))
}
fn u64_exact(v: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(v.try_into().ok()?))
}

/// `struct __kernel_timespec` (two i64); all zero means "never".
fn timespec_secs(v: &[u8]) -> Option<i64> {
    if v.len() != 16 {
        return None;
    }
    let sec = i64::from_ne_bytes(v[..8].try_into().ok()?);
    let nsec = i64::from_ne_bytes(v[8..].try_into().ok()?);
    (sec > 0 && (0..1_000_000_000).contains(&nsec)).then_some(sec)
}

/// A 32-byte key as base64; an all-zero key is "unset".
fn key(v: &[u8]) -> Option<String> {
    let k: [u8; KEY_LEN] = v.try_into().ok()?;
    (k != [0u8; KEY_LEN]).then(|| base64(&k))
}

/// NUL-terminated netdev name, at most IFNAMSIZ bytes with the NUL.
fn ifname(v: &[u8]) -> Option<String> {
    if v.len() > IFNAMSIZ {
        return None;
    }
    let end = v.iter().position(|b| *b == 0)?;
    let s = std::str::from_utf8(&v[..end]).ok()?;
    crate::wans::valid_device_name(s).then(|| s.to_string())
}

/// `struct sockaddr_in` (16 bytes) or `sockaddr_in6` (28); the port is big-endian.
fn sockaddr(v: &[u8]) -> Option<String> {
    let family = u16::from_ne_bytes(v.get(..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(v.get(2..4)?.try_into().ok()?);
    match (family, v.len()) {
        (AF_INET, 16) => {
            let ip: [u8; 4] = v[4..8].try_into().ok()?;
            Some(SocketAddrV4::new(Ipv4Addr::from(ip), port).to_string())
        }
        (AF_INET6, 28) => {
            let ip: [u8; 16] = v[8..24].try_into().ok()?;
            Some(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0).to_string())
        }
        _ => None,
    }
}

/// Standard base64 with padding (RFC 4648), as `wg` prints keys.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_wg() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xffu8; 32]).len(), 44);
        assert!(base64(&[0xffu8; 32]).ends_with("//8="));
    }

    #[test]
    fn strict_sizes() {
        assert_eq!(u16_exact(&[1, 0, 0]), None);
        assert_eq!(u64_exact(&[0; 7]), None);
        assert_eq!(timespec_secs(&[0; 16]), None, "never");
        assert_eq!(timespec_secs(&[0; 15]), None);
        assert_eq!(key(&[7; 31]), None);
        assert_eq!(key(&[0; 32]), None, "unset");
        assert_eq!(ifname(b"wg0\0"), Some("wg0".into()));
        assert_eq!(ifname(b"wg0"), None, "no NUL");
        assert_eq!(ifname(b"0123456789abcdefg\0"), None, "longer than IFNAMSIZ");
        let mut v4 = AF_INET.to_ne_bytes().to_vec();
        v4.extend(51820u16.to_be_bytes());
        v4.extend([192, 0, 2, 1]);
        v4.extend([0; 8]);
        assert_eq!(sockaddr(&v4).as_deref(), Some("192.0.2.1:51820"));
        assert_eq!(sockaddr(&v4[..15]), None);
        let mut v6 = AF_INET6.to_ne_bytes().to_vec();
        v6.extend(443u16.to_be_bytes());
        v6.extend([0; 4]);
        v6.extend(Ipv6Addr::LOCALHOST.octets());
        v6.extend([0; 4]);
        assert_eq!(sockaddr(&v6).as_deref(), Some("[::1]:443"));
        v6[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
        assert_eq!(sockaddr(&v6), None, "family and size must agree");
    }
}
