//! Which kernel devices carry each WAN's traffic, and so what "all WANs" sums. Shared by the
//! collector (WAN up/down, client map) and the bandwidth action.
//!
//! "All WANs" is the sum over the selected WANs' traffic devices only. The tunnel (`omrvpn`,
//! tun0) is never in it: everything it carries also crossed a WAN (inside the MPTCP/VPN
//! transport), so adding it would count those bytes twice. The LAN side (bridge, ports, Wi-Fi)
//! is not in it either: it is the same traffic seen from the clients' side.

use crate::system::Root;
use crate::system::uci::ConfigError;
use crate::wans;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WanDev {
    /// UCI interface name (`wan1`).
    pub name: String,
    pub label: Option<String>,
    /// Kernel device whose counters are this WAN's traffic.
    pub device: Option<String>,
}

pub use crate::wans::traffic_device;

/// The selected WANs (jammonitor's managed list, else every eligible one) with their devices, or
/// the config error that hides them.
/// A modem WAN's netdev is known only to netifd (`l3_device`), so it is asked too (one in-process
/// ubus call; without netifd the configured devices are used).
pub fn wan_devices_checked(root: &Root) -> Result<Vec<WanDev>, ConfigError> {
    let list = wans::Model::load(root).selected()?;
    let netifd = crate::system::netifd::dump(root, std::time::Duration::from_millis(500));
    Ok(list
        .iter()
        .map(|w| WanDev {
            name: w.name.clone(),
            label: w.label.clone(),
            device: wans::live_device(w, netifd.as_ref()),
        })
        .collect())
}

/// [`wan_devices_checked`] for the collector, which keeps sampling every interface when the
/// config is broken (no WAN is known then).
pub fn wan_devices(root: &Root) -> Vec<WanDev> {
    wan_devices_checked(root).unwrap_or_default()
}

/// Devices that never belong in a WAN total (tunnels and VPNs), with the reason shown to users.
pub fn tunnel_reason(dev: &str) -> Option<&'static str> {
    ["tun", "wg", "tap", "ovpn", "gt", "ipsec", "omrvpn"]
        .iter()
        .any(|p| dev.starts_with(p))
        .then_some("tunnel: its traffic already crossed a WAN, so it is not added to the WAN total")
}
