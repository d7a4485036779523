//! Which UCI network interfaces are WANs (DESIGN §6, predecessor §1c), and their role. Shared by
//! every action that shows or changes WANs, so the rule lives in one place.

use crate::error::ApiResult;
use crate::system::Root;
use crate::system::uci::{self, Config, Section};

/// Interfaces a dashboard must never list as WAN nor touch: LAN, loopback, the VPN and tunnels.
pub fn is_system_interface(name: &str) -> bool {
    name == "loopback"
        || [
            "lan",
            "guest",
            "omr",
            "br-",
            "tailscale",
            "tun",
            "vpn",
            "wg",
            "ovpn",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

fn looks_like_wan(name: &str) -> bool {
    ["wan", "wwan", "4g", "lte", "mobile", "5g"]
        .iter()
        .any(|p| name.starts_with(p))
}

pub fn valid_iface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A kernel netdev name (IFNAMSIZ 16 incl. NUL; BPI-R4 Wi-Fi names like `phy0.0-ap0` have dots).
pub fn valid_device_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b))
        && !name.starts_with('-')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Master,
    On,
    Backup,
    Off,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "master" => Some(Role::Master),
            // OMR rewrote the legacy `handover` to `on`.
            "on" | "handover" => Some(Role::On),
            "backup" => Some(Role::Backup),
            "off" => Some(Role::Off),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::On => "on",
            Role::Backup => "backup",
            Role::Off => "off",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wan {
    pub name: String,
    pub label: Option<String>,
    /// Kernel device (`device`, or the legacy `ifname`).
    pub device: Option<String>,
    pub proto: Option<String>,
    pub role: Role,
    pub disabled: bool,
}

impl Wan {
    fn from_section(s: &Section) -> Wan {
        Wan {
            name: s.name.clone(),
            label: s.get("label").filter(|l| !l.is_empty()).map(String::from),
            device: s
                .get("device")
                .or_else(|| s.get("ifname"))
                .map(String::from),
            proto: s.get("proto").map(String::from),
            role: s
                .get("multipath")
                .and_then(Role::parse)
                .unwrap_or(Role::Off),
            disabled: s.get("disabled") == Some("1"),
        }
    }
}

/// The managed list from `/etc/config/jammonitor` (`config jammonitor 'main'` / `list wan`).
pub fn managed_list(jm: &Config) -> Vec<String> {
    jm.section("main")
        .map(|s| s.list("wan").into_iter().map(String::from).collect())
        .unwrap_or_default()
}

/// Interfaces that may be managed: not system ones, and listed, WAN-named or already multipath.
pub fn eligible(network: &Config, managed: &[String]) -> Vec<Wan> {
    network
        .of_type("interface")
        .filter(|s| valid_iface_name(&s.name) && !is_system_interface(&s.name))
        .filter(|s| {
            managed.contains(&s.name)
                || looks_like_wan(&s.name)
                || matches!(
                    s.get("multipath").and_then(Role::parse),
                    Some(Role::Master | Role::On | Role::Backup)
                )
        })
        .map(Wan::from_section)
        .collect()
}

/// The WANs the dashboard shows: the managed list when set (only its eligible names), else all.
pub fn selected(network: &Config, jm: &Config) -> Vec<Wan> {
    let managed = managed_list(jm);
    let all = eligible(network, &managed);
    if managed.is_empty() {
        all
    } else {
        all.into_iter()
            .filter(|w| managed.contains(&w.name))
            .collect()
    }
}

/// The managed WANs as the configuration on disk has them now.
pub fn managed(root: &Root) -> ApiResult<Vec<Wan>> {
    Ok(selected(
        &uci::load(root, "network")?,
        &uci::load(root, "jammonitor")?,
    ))
}

/// MTU is configured on the `device` section whose `name` is the WAN's device (OMR convention).
pub fn device_mtu(network: &Config, device: Option<&str>) -> Option<u32> {
    let dev = device?;
    network
        .of_type("device")
        .find(|s| s.get("name") == Some(dev))?
        .get("mtu")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::uci::file::parse;

    #[test]
    fn eligibility_rules() {
        let net = parse(
            "config interface 'loopback'\n\toption multipath 'off'\n\
             config interface 'lan'\n\toption multipath 'master'\n\
             config interface 'wan1'\n\toption device 'lan1'\n\toption multipath 'master'\n\toption label 'Fiber'\n\
             config interface 'wan5test'\n\
             config interface 'starlink'\n\toption multipath 'backup'\n\
             config interface 'iot'\n\
             config interface 'omrvpn'\n\toption multipath 'on'\n",
        )
        .unwrap();
        let names = |v: Vec<Wan>| v.into_iter().map(|w| w.name).collect::<Vec<_>>();
        assert_eq!(names(eligible(&net, &[])), ["wan1", "wan5test", "starlink"]);
        assert_eq!(
            names(eligible(&net, &["iot".into()])),
            ["wan1", "wan5test", "starlink", "iot"]
        );
        let jm = parse("config jammonitor 'main'\n\tlist wan 'wan1'\n\tlist wan 'lan'\n").unwrap();
        let sel = selected(&net, &jm);
        assert_eq!(names(sel.clone()), ["wan1"]);
        assert_eq!(sel[0].label.as_deref(), Some("Fiber"));
        assert_eq!(sel[0].role, Role::Master);
    }
}
