//! The WireGuard dump reader (`system::wireguard::parse_dump`, behind `netlink::split`): the
//! kernel's answer to `WG_CMD_GET_DEVICE` as a hostile or broken kernel (or a fuzzer) could send it.
//!
//! Two inputs from one: the bytes as one netlink datagram, and the bytes read as a device to encode
//! exactly as the kernel does (tests/common/wg_kernel.rs) and read back.
//! Properties beyond "no panic": at most MAX_PEERS peers, keys are unique 44-character base64,
//! endpoints parse as socket addresses, handshakes are positive; a kernel-shaped dump reads back
//! to exactly the device encoded, however it is split, and secret keys never come out.
#![no_main]

#[path = "../../common/wg_kernel.rs"]
mod wg_kernel;

use jammonitor::system::netlink::split;
use jammonitor::system::wireguard::{MAX_PEERS, base64, parse_dump, parse_peer};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use wg_kernel::{KDevice, KPeer, datagram, dump};

fn check(d: &jammonitor::system::wireguard::Device) {
    assert!(d.peers.len() <= MAX_PEERS);
    for (i, p) in d.peers.iter().enumerate() {
        assert_eq!(p.public_key.len(), 44, "{p:?}");
        assert!(p.public_key.ends_with('='));
        assert!(
            d.peers[..i].iter().all(|o| o.public_key != p.public_key),
            "twice"
        );
        if let Some(e) = &p.endpoint {
            e.parse::<SocketAddr>().expect("endpoint");
        }
        assert!(p.latest_handshake.is_none_or(|t| t > 0));
        assert!(p.persistent_keepalive_s != Some(0));
    }
    if let Some(n) = &d.ifname {
        assert!(!n.is_empty() && n.len() < 16);
    }
}

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        let mut v = a.to_vec();
        v.resize(n.max(v.len()), 0);
        v
    }
    fn byte(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn arr<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        let v = self.take(N);
        a[..v.len()].copy_from_slice(&v);
        a
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. Raw bytes as the kernel's datagram.
    let mut msgs = Vec::new();
    let _ = split(data, &mut msgs);
    if let Some(d) = parse_dump(&msgs) {
        check(&d);
    }
    let _ = parse_peer(data);

    // 2. The bytes as a device, encoded as the kernel encodes it.
    let mut b = Bytes(data);
    let n = (b.byte() % 8) as usize;
    let per_msg = 1 + (b.byte() % 4) as usize;
    let secret: [u8; 32] = [0xee; 32];
    let mut peers: Vec<KPeer> = Vec::new();
    for _ in 0..n {
        let mut key: [u8; 32] = b.arr();
        key[0] |= 1; // never the all-zero "unset" key
        let ep = match b.byte() % 3 {
            0 => None,
            1 => Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(b.arr::<4>())),
                u16::from_ne_bytes(b.arr()),
            )),
            _ => Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(b.arr::<16>())),
                u16::from_ne_bytes(b.arr()),
            )),
        };
        let hs = i64::from(u32::from_ne_bytes(b.arr()));
        let ips = (0..b.byte() % 5)
            .map(|i| (IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)), 32))
            .collect();
        peers.push(KPeer {
            public_key: key,
            preshared_key: secret,
            endpoint: ep,
            keepalive: u16::from_ne_bytes(b.arr()),
            last_handshake: (hs, 0),
            rx: u64::from_ne_bytes(b.arr()),
            tx: u64::from_ne_bytes(b.arr()),
            allowed_ips: ips,
        });
    }
    // the kernel never lists one peer twice
    let mut seen = Vec::new();
    peers.retain(|p| {
        let dup = seen.contains(&p.public_key);
        seen.push(p.public_key);
        !dup
    });
    let dev = KDevice {
        ifindex: 3,
        ifname: "wg0".into(),
        listen_port: 51820,
        fwmark: 0,
        keys: Some((secret, [0x42; 32])),
        peers: peers.clone(),
    };
    let mut msgs = Vec::new();
    assert_eq!(
        split(&datagram(&dump(&dev, per_msg), 0x1c), &mut msgs),
        Ok(true)
    );
    let d = parse_dump(&msgs).expect("a device");
    check(&d);
    assert_eq!(d.ifname.as_deref(), Some("wg0"));
    assert_eq!(d.public_key, Some(base64(&[0x42; 32])));
    assert_eq!(d.peers.len(), peers.len());
    for (got, want) in d.peers.iter().zip(&peers) {
        assert_eq!(got.public_key, base64(&want.public_key));
        assert_eq!(got.endpoint, want.endpoint.map(|e| e.to_string()));
        assert_eq!(
            got.latest_handshake,
            (want.last_handshake.0 > 0).then_some(want.last_handshake.0)
        );
        assert_eq!((got.rx_bytes, got.tx_bytes), (want.rx, want.tx));
        assert_eq!(
            got.persistent_keepalive_s,
            (want.keepalive > 0).then_some(want.keepalive)
        );
    }
    assert!(
        !format!("{d:?}").contains(&base64(&secret)),
        "a secret key came out"
    );
});
