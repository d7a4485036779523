//! The client identity tables: dnsmasq's /tmp/dhcp.leases (`parse_leases`), /proc/net/arp
//! (`parse_arp`) and the address → client map built from both (`ClientMap::build`).
//!
//! Input: a leases file, optionally a NUL byte and an ARP table (without one, both parsers
//! get the whole input). Properties beyond "no panic": MACs are normalised and never all-zero,
//! lease addresses are IPv4, hostnames are short, non-empty and free of control characters,
//! every lease address maps to a client that some lease or ARP entry gives that address.
//! The same input also goes through the Clients tab's other name sources: odhcpd's DHCPv6 state
//! file (`leases::parse_odhcpd`: addresses are IPv6, DUID MACs normalised), dnsmasq's log-dhcp
//! vendor classes (`parse_vendor_classes`: MACs normalised, classes short and control-free),
//! hostname type detection and the OUI lookup (a type from the list, never a panic).
#![no_main]

use jammonitor::actions::clients::kind;
use jammonitor::system::conntrack::{ClientMap, parse_arp, parse_leases};
use jammonitor::system::{leases, oui};
use libfuzzer_sys::fuzz_target;

fn good_mac(m: &str) -> bool {
    m.len() == 17
        && m != "00:00:00:00:00:00"
        && m.bytes().enumerate().all(|(i, b)| {
            if i % 3 == 2 {
                b == b':'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (leases_text, arp_text) = text.split_once('\0').unwrap_or((&text, &text));
    let leases = parse_leases(leases_text);
    let arp = parse_arp(arp_text);
    for l in &leases {
        assert!(good_mac(&l.mac), "lease mac {:?}", l.mac);
        assert!(
            l.ip.parse::<std::net::Ipv4Addr>().is_ok(),
            "lease ip {:?}",
            l.ip
        );
        if let Some(h) = &l.hostname {
            assert!(!h.is_empty() && h.chars().count() <= 64, "hostname {h:?}");
            assert!(!h.chars().any(char::is_control), "hostname {h:?}");
        }
    }
    for n in &arp {
        assert!(good_mac(&n.mac), "arp mac {:?}", n.mac);
    }
    let wan = ["lan1".to_string(), "wan1".to_string()];
    let map = ClientMap::build(&leases, &arp, &wan);
    for c in &map.clients {
        assert!(c.mac.as_deref().is_some_and(good_mac) && c.mac.as_deref() == Some(&c.key[..]));
    }
    for l in &leases {
        let i = map.lookup(&l.ip).expect("a lease address has no client");
        let c = &map.clients[i];
        // The first source naming the address wins: an ARP entry, else the first lease.
        assert!(
            c.key == l.mac
                || arp.iter().any(|n| n.ip == l.ip && n.mac == c.key)
                || leases.iter().any(|m| m.ip == l.ip && m.mac == c.key),
            "{} maps to {} instead of {}",
            l.ip,
            c.key,
            l.mac
        );
    }
    for (ip, &i) in &map.by_ip {
        assert!(i < map.clients.len(), "{ip} → {i}");
    }
    for l in leases::parse_odhcpd(&text) {
        assert!(
            l.addrs
                .iter()
                .all(|a| a.parse::<std::net::Ipv6Addr>().is_ok()),
            "{:?}",
            l.addrs
        );
        assert!(
            l.mac.as_deref().is_none_or(good_mac),
            "duid mac {:?}",
            l.mac
        );
        if let Some(h) = &l.hostname {
            assert!(
                !h.is_empty() && h.chars().count() <= 64 && !h.chars().any(char::is_control),
                "hostname {h:?}"
            );
        }
    }
    for (mac, vc) in leases::parse_vendor_classes(&text) {
        assert!(good_mac(&mac), "vendor class mac {mac:?}");
        assert!(
            vc.chars().count() <= 64 && !vc.chars().any(char::is_control),
            "class {vc:?}"
        );
        if let Some(t) = kind::from_vendor_class(&vc) {
            assert!(kind::TYPES.contains(&t));
        }
    }
    for word in text.split(['\n', '\0']).take(64) {
        if let Some(t) = kind::from_hostname(word) {
            assert!(kind::TYPES.contains(&t), "{t}");
        }
        let _ = oui::lookup(word);
        let _ = leases::duid_mac(word);
    }
});
