//! The WAN model: which UCI network interfaces are WANs, their role, label and kernel device, and
//! which of them the dashboard manages. Every action that shows or changes WANs (wan, wan.*,
//! overview, interfaces, bandwidth) and the collector use this module, so the rule lives in one
//! place. The rules are written down for users in docs/wans.md; keep the two in step.

use crate::error::ApiResult;
use crate::system::Root;
use crate::system::uci::{self, Config, ConfigError, Section};

/// Name prefixes (case-insensitive) of interfaces that are never WANs: the LAN side, loopback,
/// OMR's own VPN/6in4 (`omr*`), tunnels and VPNs.
pub const SYSTEM_PREFIXES: &[&str] = &[
    "loopback",
    "lan",
    "guest",
    "br-",
    "omr",
    "tailscale",
    "tun",
    "vpn",
    "wg",
    "ovpn",
    "gre",
    "6in4",
    "ipsec",
];

/// `proto` values of tunnels and VPNs (netifd protocol handlers): never a WAN whatever the name.
pub const TUNNEL_PROTOS: &[&str] = &[
    "gre",
    "gretap",
    "grev6",
    "grev6tap",
    "6in4",
    "6to4",
    "6rd",
    "dslite",
    "464xlat",
    "map",
    "ipip",
    "ipip6",
    "vti",
    "vtiv6",
    "xfrm",
    "vxlan",
    "vxlan6",
    "wireguard",
    "openvpn",
    "tailscale",
    "zerotier",
];

/// Name prefixes (case-insensitive) that make an interface a WAN even with multipath off.
pub const WAN_PREFIXES: &[&str] = &[
    "wan", "wwan", "sim", "modem", "vsat", "lte", "5g", "4g", "3g", "mobile",
];

/// What a non-WAN interface is, for grouping (interfaces tab) and for the guard on writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemKind {
    Loopback,
    Lan,
    Tunnel,
}

/// The kind of a system interface (never a WAN), from its name (any case) and `proto`.
pub fn system_kind(name: &str, proto: Option<&str>) -> Option<SystemKind> {
    let n = name.to_ascii_lowercase();
    let proto = proto.map(str::to_ascii_lowercase);
    if n == "loopback" {
        return Some(SystemKind::Loopback);
    }
    if proto.as_deref().is_some_and(|p| TUNNEL_PROTOS.contains(&p)) {
        return Some(SystemKind::Tunnel);
    }
    if ["lan", "guest", "br-"].iter().any(|p| n.starts_with(p)) {
        return Some(SystemKind::Lan);
    }
    if SYSTEM_PREFIXES.iter().any(|p| n.starts_with(p)) {
        return Some(SystemKind::Tunnel);
    }
    None
}

/// Interfaces a dashboard must never list as WAN nor touch (by name only; see [`system_kind`]).
pub fn is_system_interface(name: &str) -> bool {
    system_kind(name, None).is_some()
}

/// A name that says "WAN" (any case): `WAN0`, `wan1_dev`, `SIM01`, `modem`, `VSAT`, `LTE2` …
pub fn looks_like_wan(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    WAN_PREFIXES.iter().any(|p| n.starts_with(p))
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

/// Why an interface counts as a WAN (shown in `wan`'s eligible list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Why {
    /// Listed in `jammonitor.main.wan`.
    Managed,
    /// Disabled from the dashboard while every WAN was managed (`jammonitor.main.wan_kept`).
    Kept,
    /// Its name says so.
    Name,
    /// multipath master/on/backup.
    Multipath,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wan {
    pub name: String,
    /// `label` exactly as configured (trailing spaces included); none when unset or empty.
    pub label: Option<String>,
    /// Kernel netdev from the config: `device`, else the legacy `ifname`; `@iface` aliases
    /// resolved; legacy `type bridge` → `br-<name>`. None when the config names no netdev
    /// (modems configured by a control path such as `/dev/cdc-wdm0`).
    pub device: Option<String>,
    /// The `device`/`ifname` value as written when it is not a netdev (a modem's control path).
    pub config_device: Option<String>,
    pub proto: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub why: Why,
}

/// Kernel netdev of an interface section, following `@alias` references (bounded).
pub fn section_device(network: &Config, s: &Section) -> Option<String> {
    let mut cur = s;
    for _ in 0..4 {
        if cur.get("type") == Some("bridge") {
            return Some(format!("br-{}", cur.name));
        }
        let raw = cur.get("device").or_else(|| cur.get("ifname"))?.trim();
        if let Some(alias) = raw.strip_prefix('@') {
            cur = network.section(alias).filter(|x| x.stype == "interface")?;
            continue;
        }
        let mut words = raw.split_whitespace();
        let first = words.next()?;
        return (words.next().is_none() && valid_device_name(first)).then(|| first.to_string());
    }
    None
}

impl Wan {
    fn from_section(network: &Config, s: &Section, why: Why) -> Wan {
        let device = section_device(network, s);
        Wan {
            name: s.name.clone(),
            label: s.get("label").filter(|l| !l.is_empty()).map(String::from),
            config_device: device
                .is_none()
                .then(|| {
                    s.get("device")
                        .or_else(|| s.get("ifname"))
                        .map(String::from)
                })
                .flatten(),
            device,
            proto: s.get("proto").map(String::from),
            role: s
                .get("multipath")
                .and_then(Role::parse)
                .unwrap_or(Role::Off),
            disabled: s.get("disabled") == Some("1"),
            why,
        }
    }
}

/// jammonitor's lists: `wan` (the managed list; empty = every WAN) and `wan_kept` (WANs disabled
/// from the dashboard that nothing else marks as WANs; see docs/wans.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lists {
    pub managed: Vec<String>,
    pub kept: Vec<String>,
}

pub fn lists(jm: &Config) -> Lists {
    let get = |k: &str| -> Vec<String> {
        jm.section("main")
            .map(|s| s.list(k).into_iter().map(String::from).collect())
            .unwrap_or_default()
    };
    Lists {
        managed: get("wan"),
        kept: get("wan_kept"),
    }
}

/// The managed list from `/etc/config/jammonitor` (`config jammonitor 'main'` / `list wan`).
pub fn managed_list(jm: &Config) -> Vec<String> {
    lists(jm).managed
}

/// Why `s` is a WAN given the lists, or None when it is not one.
fn why(s: &Section, l: &Lists) -> Option<Why> {
    if !valid_iface_name(&s.name) || system_kind(&s.name, s.get("proto")).is_some() {
        return None;
    }
    if l.managed.contains(&s.name) {
        Some(Why::Managed)
    } else if looks_like_wan(&s.name) {
        Some(Why::Name)
    } else if matches!(
        s.get("multipath").and_then(Role::parse),
        Some(Role::Master | Role::On | Role::Backup)
    ) {
        Some(Why::Multipath)
    } else if l.kept.contains(&s.name) {
        Some(Why::Kept)
    } else {
        None
    }
}

/// Interfaces that may be managed: not system ones, and listed (managed or kept), WAN-named or
/// multipath master/on/backup. In config order.
pub fn eligible_with(network: &Config, l: &Lists) -> Vec<Wan> {
    network
        .of_type("interface")
        .filter_map(|s| why(s, l).map(|w| Wan::from_section(network, s, w)))
        .collect()
}

/// [`eligible_with`] for a managed list only.
pub fn eligible(network: &Config, managed: &[String]) -> Vec<Wan> {
    eligible_with(
        network,
        &Lists {
            managed: managed.to_vec(),
            kept: Vec::new(),
        },
    )
}

/// The WANs the dashboard shows: the managed list when set (only its eligible names), else all.
pub fn selected(network: &Config, jm: &Config) -> Vec<Wan> {
    let l = lists(jm);
    let all = eligible_with(network, &l);
    if l.managed.is_empty() {
        all
    } else {
        all.into_iter()
            .filter(|w| l.managed.contains(&w.name))
            .collect()
    }
}

/// Whether disabling `name` from the dashboard must record it in `wan_kept` so it stays on the
/// page: every WAN is managed (no explicit list) and only its multipath role made it a WAN.
pub fn needs_keeping(network: &Config, l: &Lists, name: &str) -> bool {
    l.managed.is_empty()
        && !l.kept.iter().any(|k| k == name)
        && network
            .section(name)
            .and_then(|s| why(s, l))
            .is_some_and(|w| w == Why::Multipath)
}

/// The data netdev of a modem configured by a control path, found in sysfs the way the
/// protocol handlers find it: QMI/MBIM/NCM `/dev/cdc-wdmN` → `/sys/class/usbmisc/cdc-wdmN/device/net/*`;
/// ModemManager's sysfs device path → the first `net/*` below it (USB interfaces, depth ≤ 3).
pub fn modem_netdev(root: &Root, path: &str) -> Option<String> {
    fn first_net(dir: &std::path::Path) -> Option<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("net"))
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| valid_device_name(n))
            .collect();
        names.sort();
        names.into_iter().next()
    }
    fn walk(dir: &std::path::Path, depth: u32) -> Option<String> {
        if let Some(n) = first_net(dir) {
            return Some(n);
        }
        if depth == 0 {
            return None;
        }
        let mut subs: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subs.sort();
        subs.iter().find_map(|d| walk(d, depth - 1))
    }
    if path.split('/').any(|c| c == "..") {
        return None;
    }
    if let Some(wdm) = path.strip_prefix("/dev/") {
        if wdm.starts_with("cdc-wdm") && !wdm.contains('/') {
            return first_net(&root.path(&format!("/sys/class/usbmisc/{wdm}/device")));
        }
        return None;
    }
    if path.starts_with("/sys/devices/") {
        return walk(&root.path(path), 3);
    }
    None
}

/// The two configs the WAN list depends on, each read once; either may be unparseable; plus
/// the data netdevs of modems configured by a control path (looked up in sysfs).
pub struct Model {
    pub network: Result<Config, ConfigError>,
    pub jm: Result<Config, ConfigError>,
    modems: Vec<(String, String)>,
}

impl Model {
    pub fn load(root: &Root) -> Model {
        let network = uci::read(root, "network");
        let modems = network
            .as_ref()
            .map(|n| {
                n.of_type("interface")
                    .filter(|s| section_device(n, s).is_none())
                    .filter_map(|s| {
                        let path = s.get("device").or_else(|| s.get("ifname"))?;
                        path.starts_with('/')
                            .then(|| modem_netdev(root, path))
                            .flatten()
                            .map(|d| (s.name.clone(), d))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Model {
            network,
            jm: uci::read(root, "jammonitor"),
            modems,
        }
    }

    /// The configs, or the first one that cannot be parsed (network first).
    pub fn configs(&self) -> Result<(&Config, &Config), &ConfigError> {
        let n = self.network.as_ref()?;
        let j = self.jm.as_ref()?;
        Ok((n, j))
    }

    /// (interface, netdev) of modems whose config names only a control path.
    pub fn modem_devices(&self) -> &[(String, String)] {
        &self.modems
    }

    /// The selected WANs, a modem's device filled in from sysfs when the config names only
    /// its control path (`config_device` keeps the path).
    pub fn selected(&self) -> Result<Vec<Wan>, ConfigError> {
        let mut list = self
            .configs()
            .map(|(n, j)| selected(n, j))
            .map_err(Clone::clone)?;
        for w in list.iter_mut().filter(|w| w.device.is_none()) {
            w.device = self
                .modems
                .iter()
                .find(|(n, _)| *n == w.name)
                .map(|(_, d)| d.clone());
        }
        Ok(list)
    }
}

/// The managed WANs as the configuration on disk has them now (writes: a broken config refuses).
pub fn managed(root: &Root) -> ApiResult<Vec<Wan>> {
    Ok(selected(
        &uci::load(root, "network")?,
        &uci::load(root, "jammonitor")?,
    ))
}

/// The `device` section configuring netdev `dev` (found by its `name` option, as netifd does).
pub fn device_section<'a>(network: &'a Config, dev: &str) -> Option<&'a Section> {
    network
        .of_type("device")
        .find(|s| s.get("name") == Some(dev))
}

/// MTU is configured on the `device` section whose `name` is the WAN's device (OMR convention).
pub fn device_mtu(network: &Config, device: Option<&str>) -> Option<u32> {
    device_section(network, device?)?.get("mtu")?.parse().ok()
}

/// Traffic devices of the given WANs, each once, in first-seen order (two WANs may share one:
/// an IPv4/IPv6 pair such as ATT/ATT6 on `eth0.4`). PPPoE/PPPoA WANs run over
/// `pppoe-<name>`/`pppoa-<name>`; others over their configured device.
pub fn traffic_device(w: &Wan) -> Option<String> {
    match w.proto.as_deref() {
        Some(p @ ("pppoe" | "pppoa")) => Some(format!("{p}-{}", w.name)),
        _ => w.device.clone(),
    }
}

/// The netdev carrying a WAN's traffic now: netifd's `l3_device` while the interface is up (the
/// only source for modemmanager/QMI/MBIM WANs, whose UCI `device` is a sysfs path or
/// `/dev/cdc-wdm0`, and the truth for PPP), else [`traffic_device`] from the configuration.
pub fn live_device(
    w: &Wan,
    netifd: Option<&std::collections::BTreeMap<String, crate::system::netifd::IfStatus>>,
) -> Option<String> {
    netifd
        .and_then(|m| m.get(&w.name))
        .and_then(|s| s.l3_device.clone())
        .or_else(|| traffic_device(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::uci::file::parse;

    fn names(v: Vec<Wan>) -> Vec<String> {
        v.into_iter().map(|w| w.name).collect()
    }

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

    #[test]
    fn names_in_any_case_and_tunnels_by_proto() {
        let net = parse(
            "config interface 'WAN0'\n\toption proto 'static'\n\toption multipath 'off'\n\
             config interface 'LAN2'\n\toption multipath 'on'\n\
             config interface 'Loopback'\n\
             config interface 'SIM01'\n\
             config interface 'VSAT'\n\toption multipath 'backup'\n\
             config interface 'OMRVPN'\n\toption multipath 'on'\n\
             config interface 'TailScale0'\n\toption multipath 'on'\n\
             config interface 'site'\n\toption proto 'gre'\n\toption multipath 'on'\n\
             config interface 'WAN6X'\n\toption proto '6IN4'\n",
        )
        .unwrap();
        assert_eq!(names(eligible(&net, &[])), ["WAN0", "SIM01", "VSAT"]);
        assert_eq!(system_kind("LAN2", None), Some(SystemKind::Lan));
        assert_eq!(system_kind("site", Some("gre")), Some(SystemKind::Tunnel));
        // Even listed by hand, a system interface is never managed.
        assert_eq!(
            names(eligible(&net, &["LAN2".into(), "site".into()])),
            ["WAN0", "SIM01", "VSAT"]
        );
    }

    #[test]
    fn devices_from_ifname_alias_and_bridge() {
        let net = parse(
            "config interface 'ATT'\n\toption device 'eth0.4'\n\toption multipath 'on'\n\
             config interface 'ATT6'\n\toption device '@ATT'\n\toption multipath 'on'\n\
             config interface 'wan1'\n\toption ifname 'eth1'\n\toption type 'macvlan'\n\
             config interface 'wan2'\n\toption ifname 'eth2 eth3'\n\toption type 'bridge'\n\
             config interface 'modem'\n\toption proto 'qmi'\n\toption device '/dev/cdc-wdm0'\n",
        )
        .unwrap();
        let w = eligible(&net, &[]);
        let devs: Vec<Option<&str>> = w.iter().map(|w| w.device.as_deref()).collect();
        assert_eq!(
            devs,
            [
                Some("eth0.4"),
                Some("eth0.4"),
                Some("eth1"),
                Some("br-wan2"),
                None
            ]
        );
        assert_eq!(w[4].config_device.as_deref(), Some("/dev/cdc-wdm0"));
    }

    #[test]
    fn modem_netdevs_from_sysfs() {
        let dir = std::env::temp_dir().join(format!("jm-wans-modem-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sys/class/usbmisc/cdc-wdm0/device/net/wwan0")).unwrap();
        std::fs::create_dir_all(dir.join("sys/devices/usb1/1-1/1-1:1.4/net/wwan1")).unwrap();
        let root = Root::new(&dir);
        assert_eq!(
            modem_netdev(&root, "/dev/cdc-wdm0").as_deref(),
            Some("wwan0")
        );
        assert_eq!(modem_netdev(&root, "/dev/cdc-wdm9"), None);
        assert_eq!(
            modem_netdev(&root, "/sys/devices/usb1/1-1").as_deref(),
            Some("wwan1")
        );
        assert_eq!(modem_netdev(&root, "/sys/devices/../class/usbmisc"), None);
        assert_eq!(modem_netdev(&root, "/dev/ttyUSB2"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_disabled_wan_stays_when_kept() {
        let net = parse(
            "config interface 'ATT6'\n\toption multipath 'on'\n\
             config interface 'wan2'\n\toption multipath 'master'\n",
        )
        .unwrap();
        let jm = parse("config jammonitor 'main'\n").unwrap();
        let l = lists(&jm);
        assert!(needs_keeping(&net, &l, "ATT6"));
        assert!(
            !needs_keeping(&net, &l, "wan2"),
            "the name already says WAN"
        );
        let off = parse(
            "config interface 'ATT6'\n\toption multipath 'off'\n\toption disabled '1'\n\
             config interface 'wan2'\n\toption multipath 'master'\n",
        )
        .unwrap();
        assert_eq!(names(selected(&off, &jm)), ["wan2"]);
        let kept = parse("config jammonitor 'main'\n\tlist wan_kept 'ATT6'\n").unwrap();
        let sel = selected(&off, &kept);
        assert_eq!(names(sel.clone()), ["ATT6", "wan2"]);
        assert_eq!(
            (sel[0].role, sel[0].disabled, sel[0].why),
            (Role::Off, true, Why::Kept)
        );
        // An explicit managed list needs no keeping.
        let mgd =
            parse("config jammonitor 'main'\n\tlist wan 'ATT6'\n\tlist wan 'wan2'\n").unwrap();
        assert!(!needs_keeping(&net, &lists(&mgd), "ATT6"));
    }
}
