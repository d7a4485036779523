//! The LAN side of the router from UCI: which interfaces serve clients (a `dhcp` pool, or a
//! member of the firewall's `lan` zone), their IPv4 subnets, and every address the router holds
//! itself (a reservation may never take one).

use crate::system::uci::{Config, Section};
use serde::Serialize;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subnet {
    /// UCI interface (`lan`, `guest`).
    pub name: String,
    pub device: Option<String>,
    /// The router's address on it.
    pub router_ip: String,
    pub prefix: u8,
    /// `192.168.1.0/24`.
    pub cidr: String,
    #[serde(skip)]
    pub net: u32,
    #[serde(skip)]
    pub mask: u32,
}

impl Subnet {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask == self.net
    }
    /// Inside and neither the network nor the broadcast address.
    pub fn host(&self, ip: Ipv4Addr) -> bool {
        let a = u32::from(ip);
        self.contains(ip) && (self.prefix >= 31 || (a != self.net && a != self.net | !self.mask))
    }
}

fn prefix_of_mask(m: Ipv4Addr) -> Option<u8> {
    let b = u32::from(m);
    (b.leading_ones() + b.trailing_zeros() == 32).then(|| b.leading_ones() as u8)
}

/// Every IPv4 address/prefix a `network` interface section configures (`ipaddr` as one value,
/// a list, or CIDR strings; `netmask` applies to plain addresses).
pub fn addresses(s: &Section) -> Vec<(Ipv4Addr, u8)> {
    let mask = s
        .get("netmask")
        .and_then(|m| m.parse().ok())
        .and_then(prefix_of_mask);
    s.list("ipaddr")
        .into_iter()
        .filter_map(|a| {
            let (ip, pfx) = match a.split_once('/') {
                Some((ip, p)) => (ip.parse().ok()?, p.parse().ok().filter(|p: &u8| *p <= 32)?),
                None => (a.parse().ok()?, mask.unwrap_or(32)),
            };
            Some((ip, pfx))
        })
        .collect()
}

fn tunnel_like(s: &Section) -> bool {
    s.get("type") == Some("tunnel")
        || matches!(
            s.get("proto"),
            Some(
                "wireguard"
                    | "openvpn"
                    | "none"
                    | "pppoe"
                    | "pppoa"
                    | "3g"
                    | "qmi"
                    | "ncm"
                    | "modemmanager"
            )
        )
}

/// LAN interfaces: those with a DHCP pool (`dhcp.<x>.interface`, not ignored) or in a firewall
/// zone named `lan`, minus WANs, loopback and tunnels.
pub fn subnets(network: &Config, dhcp: &Config, firewall: &Config) -> Vec<Subnet> {
    let mut names: Vec<String> = dhcp
        .of_type("dhcp")
        .filter(|d| d.get("ignore") != Some("1"))
        .filter_map(|d| d.get("interface").map(str::to_string))
        .collect();
    for z in firewall
        .of_type("zone")
        .filter(|z| z.get("name") == Some("lan"))
    {
        names.extend(z.list("network").into_iter().map(str::to_string));
    }
    if network.section("lan").is_some() {
        names.push("lan".into());
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for n in names {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n.clone());
        let Some(s) = network.section(&n).filter(|s| s.stype == "interface") else {
            continue;
        };
        if n == "loopback"
            || tunnel_like(s)
            || ["omr", "tun", "vpn", "wg", "ovpn", "tailscale"]
                .iter()
                .any(|p| n.starts_with(p))
        {
            continue;
        }
        if s.get("multipath")
            .is_some_and(|m| matches!(m, "master" | "on" | "backup"))
        {
            continue; // a WAN
        }
        for (ip, prefix) in addresses(s) {
            if prefix == 0 || prefix > 30 && prefix != 32 {
                continue;
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            let net = u32::from(ip) & mask;
            out.push(Subnet {
                name: n.clone(),
                device: s
                    .get("device")
                    .or_else(|| s.get("ifname"))
                    .map(|d| d.split_whitespace().next().unwrap_or(d).to_string()),
                router_ip: ip.to_string(),
                prefix,
                cidr: format!("{}/{prefix}", Ipv4Addr::from(net)),
                net,
                mask,
            });
        }
    }
    out
}

/// Every IPv4 address the configuration gives the router (LAN, WAN static, others).
pub fn router_addresses(network: &Config) -> Vec<Ipv4Addr> {
    network
        .of_type("interface")
        .flat_map(addresses)
        .map(|(ip, _)| ip)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::uci::file::parse;

    #[test]
    fn lan_subnets() {
        let network = parse(
            "config interface 'lan'\n\toption device 'br-lan'\n\toption proto 'static'\n\toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n\
             config interface 'guest'\n\toption device 'br-guest'\n\toption proto 'static'\n\tlist ipaddr '10.9.0.1/23'\n\
             config interface 'wan1'\n\toption device 'eth1'\n\toption proto 'static'\n\toption ipaddr '10.1.1.2'\n\toption netmask '255.255.255.0'\n\toption multipath 'master'\n\
             config interface 'omrvpn'\n\toption device 'tun0'\n\toption proto 'none'\n\toption type 'tunnel'\n",
        )
        .unwrap();
        let dhcp = parse("config dhcp 'lan'\n\toption interface 'lan'\nconfig dhcp 'guest'\n\toption interface 'guest'\nconfig dhcp 'wan'\n\toption interface 'wan1'\n\toption ignore '1'\n").unwrap();
        let fw = parse("config zone\n\toption name 'lan'\n\tlist network 'lan'\n").unwrap();
        let s = subnets(&network, &dhcp, &fw);
        let got: Vec<(&str, &str, &str)> = s
            .iter()
            .map(|x| (x.name.as_str(), x.cidr.as_str(), x.router_ip.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("lan", "192.168.1.0/24", "192.168.1.1"),
                ("guest", "10.9.0.0/23", "10.9.0.1")
            ]
        );
        assert!(s[0].host("192.168.1.20".parse().unwrap()));
        assert!(!s[0].host("192.168.1.0".parse().unwrap()));
        assert!(!s[0].host("192.168.1.255".parse().unwrap()));
        assert!(!s[0].host("192.168.2.1".parse().unwrap()));
        assert!(s[1].host("10.9.1.200".parse().unwrap()));
        let own = router_addresses(&network);
        assert!(
            own.contains(&"10.1.1.2".parse().unwrap())
                && own.contains(&"192.168.1.1".parse().unwrap())
        );
    }
}
