//! `system::rtnl::snapshot` (links, IPv4 addresses and routes on one rtnetlink socket, names
//! from the link dump) against the real `ip -j` in a namespace shaped like the router.
mod common;
use common::*;
use serde_json::Value;

#[test]
fn snapshot_matches_ip() {
    let ns = mini_router("rtnl");
    ns.ip(&["link", "set", "lan3", "down"]);
    let name = ns.name.clone();
    let (links, routes, alone) = std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{name}")).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let (l, r) = jammonitor::system::rtnl::snapshot();
        (l, r.unwrap(), jammonitor::system::rtnl::routes().unwrap())
    })
    .join()
    .unwrap();
    let ip: Value = serde_json::from_str(&ns.ip(&["-j", "addr", "show"])).unwrap();
    let ip = ip.as_array().unwrap();
    assert_eq!(links.len(), ip.len(), "one link per `ip addr` entry");
    for (l, j) in links.iter().zip(ip) {
        assert_eq!(l.ifname, j["ifname"].as_str().unwrap());
        assert_eq!(u64::from(l.ifindex), j["ifindex"].as_u64().unwrap());
        let jflags: Vec<&str> = j["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        for f in ["UP", "LOWER_UP", "POINTOPOINT"] {
            assert_eq!(
                l.flags.iter().any(|x| x == f),
                jflags.contains(&f),
                "{} {f}",
                l.ifname
            );
        }
        let v4: Vec<&Value> = j["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["family"] == "inet")
            .collect();
        assert_eq!(l.addr_info.len(), v4.len(), "{}", l.ifname);
        for (a, b) in l.addr_info.iter().zip(v4) {
            assert_eq!(a.local, b["local"].as_str().unwrap());
            assert_eq!(u64::from(a.prefixlen), b["prefixlen"].as_u64().unwrap());
            assert_eq!(a.address.as_deref(), b["address"].as_str(), "peer");
        }
    }
    let tun = links.iter().find(|l| l.ifname == "tun0").unwrap();
    assert_eq!(tun.ipv4().unwrap().address.as_deref(), Some("10.255.255.1"));
    assert!(!links.iter().find(|l| l.ifname == "lan3").unwrap().is_up());
    assert!(links.iter().find(|l| l.ifname == "lan1").unwrap().is_up());
    // Route devices named from the link dump are those the kernel names one by one.
    assert_eq!(routes, alone);
    assert!(routes.iter().any(|r| r.dev.as_deref() == Some("lan2")));
}
