//! Service control: init scripts and netifd's ifup/ifdown, each a bounded child process.
//! Names are fixed by the callers or validated interface names; nothing comes from a string.

use super::Root;
use super::runner::{Cmd, run, run_ok};
use crate::error::ApiResult;
use std::time::Duration;

/// Init scripts the product may drive (their absolute paths are fixed here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Mptcp,
    OmrTracker,
    Network,
    Collector,
    Dnsmasq,
    Firewall,
    /// The VPN and proxy services the VPS bypass stops (DESIGN §6; OMR init scripts).
    OpenVpn,
    Glorytun,
    ShadowsocksLibev,
    ShadowsocksRust,
}

impl Service {
    fn path(self) -> &'static str {
        match self {
            Service::Mptcp => "/etc/init.d/mptcp",
            Service::OmrTracker => "/etc/init.d/omr-tracker",
            Service::Network => "/etc/init.d/network",
            Service::Collector => "/etc/init.d/jammonitor-collector",
            Service::Dnsmasq => "/etc/init.d/dnsmasq",
            Service::Firewall => "/etc/init.d/firewall",
            Service::OpenVpn => "/etc/init.d/openvpn",
            Service::Glorytun => "/etc/init.d/glorytun",
            Service::ShadowsocksLibev => "/etc/init.d/shadowsocks-libev",
            Service::ShadowsocksRust => "/etc/init.d/shadowsocks-rust",
        }
    }

    /// The init script's name (`omr-tracker`), as recorded in journals.
    pub fn name(self) -> &'static str {
        self.path().rsplit('/').next().unwrap_or("")
    }

    /// By recorded name (only the services above).
    pub fn by_name(name: &str) -> Option<Service> {
        [
            Service::Mptcp,
            Service::OmrTracker,
            Service::Network,
            Service::Collector,
            Service::Dnsmasq,
            Service::Firewall,
            Service::OpenVpn,
            Service::Glorytun,
            Service::ShadowsocksLibev,
            Service::ShadowsocksRust,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// The init script is installed.
pub fn installed(root: &Root, service: Service) -> bool {
    root.path(service.path()).exists()
}

/// procd runs an instance of it: `/etc/init.d/<service> running` exits 0 (rc.common's
/// `running` → `service_running` → procd's `service list`). Not installed or failing: false.
pub fn running(root: &Root, service: Service) -> bool {
    installed(root, service)
        && run(
            root,
            &Cmd::new(service.path(), &["running"]).deadline(Duration::from_secs(10)),
        )
        .is_ok_and(|o| o.success())
}

/// `/etc/init.d/<service> <action> [arg]`; reloads can take a while on a busy router.
pub fn init(root: &Root, service: Service, action: &str, arg: Option<&str>) -> ApiResult<()> {
    let mut cmd = Cmd::new(service.path(), &[action]).deadline(Duration::from_secs(25));
    if let Some(a) = arg {
        cmd = cmd.arg(a);
    }
    run_ok(root, &cmd).map(|_| ())
}

/// netifd: bring a logical interface up or down (`ifup wan2`).
pub fn ifupdown(root: &Root, up: bool, iface: &str) -> ApiResult<()> {
    let prog = if up { "/sbin/ifup" } else { "/sbin/ifdown" };
    run_ok(
        root,
        &Cmd::new(prog, &[iface]).deadline(Duration::from_secs(15)),
    )
    .map(|_| ())
}
