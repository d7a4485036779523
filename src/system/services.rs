//! Service control: init scripts and netifd's ifup/ifdown, each a bounded child process.
//! Names are fixed by the callers or validated interface names; nothing comes from a string.

use super::Root;
use super::runner::{Cmd, run_ok};
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
}

impl Service {
    fn path(self) -> &'static str {
        match self {
            Service::Mptcp => "/etc/init.d/mptcp",
            Service::OmrTracker => "/etc/init.d/omr-tracker",
            Service::Network => "/etc/init.d/network",
            Service::Collector => "/etc/init.d/jammonitor-collector",
            Service::Dnsmasq => "/etc/init.d/dnsmasq",
        }
    }
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
