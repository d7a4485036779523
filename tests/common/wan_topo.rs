//! The WAN side of the simulated router in namespaces of a test's own: a router with lan1..lan3,
//! three ISPs and a VPS, addressed as tests/rig/lib.sh does (WAN k: router 10.k.k.2/24, gateway
//! 10.k.k.1, ISP↔VPS 100.64.k.1–2/30) with OMR's per-WAN routing (tables 3/4/5, `from` and `oif`
//! rules at pref 0, a main-table default per WAN with metric = table). Tests that need it without
//! the shared rig (and its lock) build it here; each adds its own extras (link shaping, servers).
//! The namespaces are deleted on drop.

use super::Netns;
use std::process::Command;

pub struct WanTopo {
    pub router: Netns,
    pub isps: Vec<Netns>,
    pub vps: Netns,
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ipn(ns: &str, args: &[&str]) {
    let mut a = vec!["ip", "-n", ns];
    a.extend_from_slice(args);
    run(&a);
}

fn sysctl(ns: &str, keys: &[&str]) {
    let mut a = vec!["ip", "netns", "exec", ns, "sysctl", "-qw"];
    a.extend_from_slice(keys);
    run(&a);
}

const NO_IPV6: [&str; 2] = [
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
];

impl WanTopo {
    /// `tag`: a short prefix for the namespace names (router `<tag>r`, ISPs `<tag>i1..3`, VPS
    /// `<tag>v`); `vps_addrs`: addresses (with prefix) the VPS holds on its loopback, reachable
    /// through every WAN.
    pub fn new(tag: &str, vps_addrs: &[&str]) -> WanTopo {
        let router = Netns::new(&format!("{tag}r"));
        let vps = Netns::new(&format!("{tag}v"));
        for ns in [&router.name, &vps.name] {
            let mut keys = vec!["net.ipv4.conf.all.rp_filter=0"];
            keys.extend(NO_IPV6);
            sysctl(ns, &keys);
        }
        let mut isps = Vec::new();
        for k in 1..=3u32 {
            let isp = Netns::new(&format!("{tag}i{k}"));
            let (r, i, v) = (router.name.as_str(), isp.name.as_str(), vps.name.as_str());
            let mut keys = vec!["net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0"];
            keys.extend(NO_IPV6);
            sysctl(i, &keys);
            let lan = format!("lan{k}");
            let gw = format!("10.{k}.{k}.1");
            let own = format!("10.{k}.{k}.2");
            let vdev = format!("isp{k}");
            let isp_vps = format!("100.64.{k}.1");
            let vps_isp = format!("100.64.{k}.2");
            ipn(
                r,
                &[
                    "link", "add", &lan, "type", "veth", "peer", "name", "router", "netns", i,
                ],
            );
            ipn(
                i,
                &[
                    "link", "add", "vps", "type", "veth", "peer", "name", &vdev, "netns", v,
                ],
            );
            ipn(r, &["addr", "add", &format!("{own}/24"), "dev", &lan]);
            ipn(i, &["addr", "add", &format!("{gw}/24"), "dev", "router"]);
            ipn(i, &["addr", "add", &format!("{isp_vps}/30"), "dev", "vps"]);
            ipn(v, &["addr", "add", &format!("{vps_isp}/30"), "dev", &vdev]);
            ipn(r, &["link", "set", &lan, "up"]);
            ipn(i, &["link", "set", "router", "up"]);
            ipn(i, &["link", "set", "vps", "up"]);
            ipn(v, &["link", "set", &vdev, "up"]);
            ipn(i, &["route", "add", "default", "via", &vps_isp]);
            ipn(
                v,
                &["route", "add", &format!("10.{k}.{k}.0/24"), "via", &isp_vps],
            );
            let table = (k + 2).to_string();
            ipn(
                r,
                &[
                    "route", "add", "default", "via", &gw, "dev", &lan, "table", &table,
                ],
            );
            ipn(
                r,
                &["rule", "add", "from", &own, "table", &table, "pref", "0"],
            );
            ipn(
                r,
                &["rule", "add", "oif", &lan, "table", &table, "pref", "0"],
            );
            ipn(
                r,
                &[
                    "route", "add", "default", "via", &gw, "dev", &lan, "metric", &table,
                ],
            );
            isps.push(isp);
        }
        for a in vps_addrs {
            ipn(&vps.name, &["addr", "add", a, "dev", "lo"]);
        }
        WanTopo { router, isps, vps }
    }

    /// The namespace of ISP `k` (1-based).
    pub fn isp(&self, k: u32) -> &str {
        &self.isps[k as usize - 1].name
    }
}
