//! WireGuard over generic netlink (`system::wireguard`): the kernel's dump read exactly (the
//! byte-exact double in tests/common/wg_kernel.rs, split over messages as the kernel splits it),
//! the real kernel asked in a namespace made here, and `overview`'s tunnel card fed from it.
mod common;
use common::wg_kernel::{KDevice, KPeer, datagram, dump};
use common::*;
use jammonitor::system::netlink::split;
use jammonitor::system::wireguard::{self, Reader, WgError, base64, parse_dump};
use std::net::SocketAddr;

fn sample() -> KDevice {
    KDevice {
        ifindex: 7,
        ifname: "omrvpn".into(),
        listen_port: 51820,
        fwmark: 0,
        keys: Some(([0x11; 32], [0x22; 32])),
        peers: vec![
            KPeer {
                public_key: [0xa1; 32],
                preshared_key: [0x5e; 32],
                endpoint: Some("203.0.113.7:51820".parse().unwrap()),
                keepalive: 25,
                last_handshake: (1_765_080_000, 123_456_789),
                rx: 123_456_789_012,
                tx: 42,
                // 4 allowed IPs: the peer is cut and continued in the next message
                allowed_ips: vec![
                    ("10.255.247.1".parse().unwrap(), 32),
                    ("0.0.0.0".parse().unwrap(), 0),
                    ("::".parse().unwrap(), 0),
                    ("fd00::1".parse().unwrap(), 128),
                ],
            },
            KPeer {
                public_key: [0xb2; 32],
                endpoint: Some("[2001:db8::5]:443".parse::<SocketAddr>().unwrap()),
                ..Default::default()
            },
            KPeer {
                public_key: [0xc3; 32],
                ..Default::default()
            },
        ],
    }
}

/// What the reader makes of one datagram (split exactly as `Socket::exchange` does).
fn read(dgram: &[u8]) -> Option<wireguard::Device> {
    let mut msgs = Vec::new();
    assert_eq!(split(dgram, &mut msgs), Ok(true), "ends with DONE");
    parse_dump(&msgs)
}

#[test]
fn kernel_dump_is_read_exactly_however_it_is_split() {
    for per_msg in [1, 2, 10] {
        let d = read(&datagram(&dump(&sample(), per_msg), 0x1c)).unwrap();
        assert_eq!(d.ifname.as_deref(), Some("omrvpn"));
        assert_eq!(d.ifindex, Some(7));
        assert_eq!(d.listen_port, Some(51820));
        assert_eq!(d.public_key, Some(base64(&[0x22; 32])));
        assert_eq!(
            d.peers.len(),
            3,
            "a continued peer is listed once ({per_msg}/msg)"
        );
        let p = &d.peers[0];
        assert_eq!(p.public_key, base64(&[0xa1; 32]));
        assert_eq!(p.endpoint.as_deref(), Some("203.0.113.7:51820"));
        assert_eq!(p.latest_handshake, Some(1_765_080_000));
        assert_eq!((p.rx_bytes, p.tx_bytes), (123_456_789_012, 42));
        assert_eq!(p.persistent_keepalive_s, Some(25));
        let q = &d.peers[1];
        assert_eq!(q.endpoint.as_deref(), Some("[2001:db8::5]:443"));
        assert_eq!(q.latest_handshake, None, "never shaken hands");
        assert_eq!(q.persistent_keepalive_s, None, "keepalive off");
        assert_eq!(d.peers[2].endpoint, None);
        // The private and preshared keys the kernel sent root appear nowhere.
        let all = format!("{d:?}");
        assert!(!all.contains(&base64(&[0x11; 32])), "private key leaked");
        assert!(!all.contains(&base64(&[0x5e; 32])), "preshared key leaked");
    }
    // No identity configured: no device key, peers still read.
    let mut k = sample();
    k.keys = None;
    assert_eq!(
        read(&datagram(&dump(&k, 1), 0x1c)).unwrap().public_key,
        None
    );
}

#[test]
fn hostile_sizes_are_refused_field_by_field() {
    // A peer whose key is 31 bytes is dropped; a u64 of 7 bytes reads as no bytes; a sockaddr
    // whose family and size disagree is no endpoint.
    use common::wg_kernel::attr;
    let mut peer = attr(1, &[0xd4; 32]);
    peer.extend(attr(7, &[1; 7]));
    let mut sa = common::wg_kernel::sockaddr(&"192.0.2.1:1".parse().unwrap());
    sa.push(0);
    peer.extend(attr(4, &sa));
    let mut bad = attr(1, &[0xe5; 31]);
    bad.extend(attr(7, &5u64.to_ne_bytes()));
    let mut peers = attr(0x8000, &peer);
    peers.extend(attr(0x8000, &bad));
    let mut msg = vec![0u8, 1, 0, 0];
    msg.extend(attr(2, b"wg-with-a-very-long-name\0"));
    msg.extend(attr(6, &[1, 2, 3]));
    msg.extend(attr(0x8008, &peers));
    let d = parse_dump(&[msg]).unwrap();
    assert_eq!(d.ifname, None, "longer than IFNAMSIZ");
    assert_eq!(d.listen_port, None);
    assert_eq!(d.peers.len(), 1);
    assert_eq!(d.peers[0].rx_bytes, 0);
    assert_eq!(d.peers[0].endpoint, None);
    // The peer list is capped.
    let mut k = sample();
    k.peers = (0..200u8)
        .map(|i| KPeer {
            public_key: [i.wrapping_add(1); 32],
            ..Default::default()
        })
        .collect();
    let d = read(&datagram(&dump(&k, 50), 0x1c)).unwrap();
    assert_eq!(d.peers.len(), wireguard::MAX_PEERS);
}

/// The real kernel, in a namespace made here: with WireGuard, a device configured by `wg` reads
/// back as configured; without (this machine's kernel), the reader says so instead of failing
/// some other way, and an interface type the kernel lacks cannot be created either.
#[test]
fn real_kernel() {
    let ns = Netns::new("wg");
    let made = std::process::Command::new("ip")
        .args(["-n", &ns.name, "link", "add", "wg0", "type", "wireguard"])
        .output()
        .unwrap();
    match Reader::open() {
        Err(WgError::NoWireguard) => {
            assert!(!made.status.success(), "the kernel made a wireguard link");
            assert!(!std::path::Path::new("/sys/module/wireguard").exists());
        }
        Err(e) => panic!("reader failed: {e:?}"),
        Ok(_) => {
            assert!(made.status.success());
            let dir = std::env::temp_dir().join(format!("jm-wg-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let key = dir.join("key");
            std::fs::write(&key, base64(&[0x40; 32]) + "\n").unwrap();
            let peer = base64(&[0x51; 32]);
            ns.exec(&[
                "wg",
                "set",
                "wg0",
                "listen-port",
                "51820",
                "private-key",
                key.to_str().unwrap(),
                "peer",
                &peer,
                "endpoint",
                "192.0.2.9:51821",
                "persistent-keepalive",
                "25",
                "allowed-ips",
                "10.9.0.0/24",
            ]);
            std::fs::remove_dir_all(&dir).unwrap();
            let name = ns.name.clone();
            let d = std::thread::spawn(move || {
                let f = std::fs::File::open(format!("/run/netns/{name}")).unwrap();
                nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                let r = Reader::open().unwrap();
                assert_eq!(r.device("nowg0"), Err(WgError::NoDevice));
                r.device("wg0").unwrap()
            })
            .join()
            .unwrap();
            assert_eq!(d.listen_port, Some(51820));
            assert!(d.public_key.is_some());
            assert_eq!(d.peers.len(), 1);
            assert_eq!(d.peers[0].public_key, peer);
            assert_eq!(d.peers[0].endpoint.as_deref(), Some("192.0.2.9:51821"));
            assert_eq!(d.peers[0].persistent_keepalive_s, Some(25));
            assert_eq!(d.peers[0].latest_handshake, None);
        }
    }
}

/// `overview` lists every proto-wireguard interface of the network config in the tunnel card,
/// with what the kernel said (here: the status naming why there is nothing to show).
#[test]
fn overview_tunnel_lists_wireguard_interfaces() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    let d = Req::get("overview", &sid).run(&root).data();
    assert_eq!(
        d["tunnel"]["wireguard"],
        serde_json::json!([]),
        "none configured"
    );

    root.uci(&["set", "network.wgwan1=interface"]);
    root.uci(&["set", "network.wgwan1.proto=wireguard"]);
    root.uci(&["commit", "network"]);
    let ns = Netns::new("wgov");
    let d = Req::get("overview", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    let wg = &d["tunnel"]["wireguard"];
    assert_eq!(wg.as_array().map(Vec::len), Some(1), "{wg}");
    assert_eq!(wg[0]["interface"], "wgwan1");
    assert_eq!(
        wg[0]["device"], "wgwan1",
        "the netdev is named after the interface"
    );
    let expect = match Reader::open() {
        Err(WgError::NoWireguard) => "no_wireguard",
        _ => "no_device", // no such link in this fresh namespace
    };
    assert_eq!(wg[0]["status"], expect);
    assert_eq!(wg[0]["peers"], serde_json::json!([]));
}
