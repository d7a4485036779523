//! Test double of the kernel's WireGuard dump, byte for byte: the genl payloads that
//! `wg_get_device_dump` (drivers/net/wireguard/netlink.c, UAPI include/uapi/linux/wireguard.h)
//! sends in answer to `WG_CMD_GET_DEVICE`. It exists because the kernel of this test machine has
//! no WireGuard (`CONFIG_WIREGUARD` is not set: `ip link add wg0 type wireguard` answers "Unknown
//! device type"), so no real device can be asked here; on a kernel that has it, tests/wireguard.rs
//! also reads a real device.
//!
//! The contract it mimics:
//! - every message starts with the genl header (cmd `WG_CMD_GET_DEVICE` = 0, version 1, 0, 0);
//! - the FIRST message carries the device attributes: LISTEN_PORT (u16), FWMARK (u32), IFINDEX
//!   (u32), IFNAME (NUL-terminated), then PRIVATE_KEY and PUBLIC_KEY (32 bytes each) when the
//!   device has an identity (the private key only for CAP_NET_ADMIN callers: root here);
//! - each message then has one nested WGDEVICE_A_PEERS (8 | NLA_F_NESTED) whose entries are
//!   nested attributes of type 0, one per peer: PUBLIC_KEY, PRESHARED_KEY (32 bytes),
//!   PERSISTENT_KEEPALIVE_INTERVAL (u16), LAST_HANDSHAKE_TIME (`struct __kernel_timespec`, two
//!   i64), TX_BYTES, RX_BYTES (u64), PROTOCOL_VERSION (u32), ENDPOINT (`sockaddr_in` 16 bytes or
//!   `sockaddr_in6` 28 bytes, port big-endian; absent when unknown), ALLOWEDIPS (nested);
//! - a device whose peers do not fit one message is continued in the next; a peer cut inside its
//!   allowed IPs is continued with only its PUBLIC_KEY and the remaining ALLOWEDIPS.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};

const NESTED: u16 = 0x8000;

#[derive(Clone, Debug, Default)]
pub struct KPeer {
    pub public_key: [u8; 32],
    pub preshared_key: [u8; 32],
    pub endpoint: Option<SocketAddr>,
    pub keepalive: u16,
    pub last_handshake: (i64, i64),
    pub rx: u64,
    pub tx: u64,
    pub allowed_ips: Vec<(IpAddr, u8)>,
}

#[derive(Clone, Debug, Default)]
pub struct KDevice {
    pub ifindex: u32,
    pub ifname: String,
    pub listen_port: u16,
    pub fwmark: u32,
    /// `None`: no identity configured (no key attributes at all)
    pub keys: Option<([u8; 32], [u8; 32])>,
    pub peers: Vec<KPeer>,
}

pub fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut v = ((4 + data.len()) as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(data);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

pub fn sockaddr(sa: &SocketAddr) -> Vec<u8> {
    let mut v = Vec::new();
    match sa {
        SocketAddr::V4(a) => {
            v.extend(2u16.to_ne_bytes());
            v.extend(a.port().to_be_bytes());
            v.extend(a.ip().octets());
            v.extend([0u8; 8]);
        }
        SocketAddr::V6(a) => {
            v.extend(10u16.to_ne_bytes());
            v.extend(a.port().to_be_bytes());
            v.extend(a.flowinfo().to_ne_bytes());
            v.extend(a.ip().octets());
            v.extend(a.scope_id().to_ne_bytes());
        }
    }
    v
}

fn allowed_ip(ip: &IpAddr, cidr: u8) -> Vec<u8> {
    let (fam, bytes) = match ip {
        IpAddr::V4(a) => (2u16, a.octets().to_vec()),
        IpAddr::V6(a) => (10u16, a.octets().to_vec()),
    };
    let mut inner = attr(3, &fam.to_ne_bytes()); // WGALLOWEDIP_A_FAMILY
    inner.extend(attr(2, &bytes)); // WGALLOWEDIP_A_IPADDR
    inner.extend(attr(1, &[cidr])); // WGALLOWEDIP_A_CIDR_MASK
    attr(NESTED, &inner)
}

fn peer_full(p: &KPeer, ips: &[(IpAddr, u8)]) -> Vec<u8> {
    let mut a = attr(1, &p.public_key);
    a.extend(attr(2, &p.preshared_key));
    a.extend(attr(5, &p.keepalive.to_ne_bytes()));
    let mut ts = p.last_handshake.0.to_ne_bytes().to_vec();
    ts.extend(p.last_handshake.1.to_ne_bytes());
    a.extend(attr(6, &ts));
    a.extend(attr(8, &p.tx.to_ne_bytes()));
    a.extend(attr(7, &p.rx.to_ne_bytes()));
    a.extend(attr(10, &1u32.to_ne_bytes()));
    if let Some(e) = &p.endpoint {
        a.extend(attr(4, &sockaddr(e)));
    }
    a.extend(allowed(ips));
    attr(NESTED, &a)
}

fn allowed(ips: &[(IpAddr, u8)]) -> Vec<u8> {
    let inner: Vec<u8> = ips.iter().flat_map(|(i, c)| allowed_ip(i, *c)).collect();
    attr(9 | NESTED, &inner)
}

/// The payloads (after each netlink header) of the dump: at most `per_msg` peers a message, and
/// a peer with more than 2 allowed IPs continued in the next message (as the kernel does when a
/// message fills up).
pub fn dump(d: &KDevice, per_msg: usize) -> Vec<Vec<u8>> {
    let head = || vec![0u8, 1, 0, 0];
    let mut first = head();
    first.extend(attr(6, &d.listen_port.to_ne_bytes()));
    first.extend(attr(7, &d.fwmark.to_ne_bytes()));
    first.extend(attr(1, &d.ifindex.to_ne_bytes()));
    let mut name = d.ifname.as_bytes().to_vec();
    name.push(0);
    first.extend(attr(2, &name));
    if let Some((private, public)) = &d.keys {
        first.extend(attr(3, private));
        first.extend(attr(4, public));
    }
    let mut msgs = Vec::new();
    let mut cur = first;
    let mut peers = Vec::new();
    let mut n = 0;
    for p in &d.peers {
        if n == per_msg.max(1) {
            cur.extend(attr(8 | NESTED, &peers));
            msgs.push(std::mem::replace(&mut cur, head()));
            peers.clear();
            n = 0;
        }
        let (now, later) = p.allowed_ips.split_at(p.allowed_ips.len().min(2));
        peers.extend(peer_full(p, now));
        n += 1;
        if !later.is_empty() {
            cur.extend(attr(8 | NESTED, &peers));
            msgs.push(std::mem::replace(&mut cur, head()));
            peers.clear();
            let mut cont = attr(1, &p.public_key);
            cont.extend(allowed(later));
            peers.extend(attr(NESTED, &cont));
            n = 1;
        }
    }
    if !peers.is_empty() || msgs.is_empty() {
        cur.extend(attr(8 | NESTED, &peers));
    }
    msgs.push(cur);
    msgs
}

/// The payloads wrapped as the kernel sends them: one datagram, NLM_F_MULTI messages of the
/// family `family`, then NLMSG_DONE.
pub fn datagram(payloads: &[Vec<u8>], family: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |kind: u16, flags: u16, p: &[u8]| {
        out.extend(((16 + p.len()) as u32).to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(flags.to_ne_bytes());
        out.extend(1u32.to_ne_bytes());
        out.extend(0u32.to_ne_bytes());
        out.extend_from_slice(p);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for p in payloads {
        push(family, 2, p);
    }
    push(3, 2, &0i32.to_ne_bytes());
    out
}
