//! Facts derived from OpenMPTCProuter's configuration that several parts need the same way.

use crate::system::Root;
use crate::system::uci::{self, Config};

/// The VPS in use and the UCI option it came from: the `server` section marked `current`, else
/// the master, else the first enabled one (its first `ip`); older setups only have glorytun's or
/// shadowsocks' server address.
pub fn vps_address(root: &Root, omr: &Config) -> Option<(String, String)> {
    let servers: Vec<_> = omr
        .of_type("server")
        .filter(|s| s.get("disabled") != Some("1"))
        .collect();
    let pick = servers
        .iter()
        .find(|s| s.get("current") == Some("1"))
        .or_else(|| servers.iter().find(|s| s.get("master") == Some("1")))
        .or_else(|| servers.first());
    if let Some((s, ip)) = pick.and_then(|s| s.list("ip").first().map(|ip| (s, ip.to_string()))) {
        return Some((ip, format!("openmptcprouter.{}.ip", s.name)));
    }
    [
        ("glorytun", "vpn", "host"),
        ("shadowsocks-rust", "sss0", "server"),
        ("shadowsocks-libev", "sss0", "server"),
    ]
    .iter()
    .find_map(|(config, section, option)| {
        let v = uci::load(root, config)
            .ok()?
            .get(section, option)?
            .to_string();
        Some((v, format!("{config}.{section}.{option}")))
    })
}
