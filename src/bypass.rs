//! The VPS bypass's state (DESIGN §6, docs/journal.md "The VPS bypass"). While it is on, the
//! record [`JOURNAL`] holds everything enabling it changed — each WAN's multipath, the disable
//! flags, the services it stopped, the exact bytes of every config before and after — so that
//! turning it off restores exactly that. While the record exists (bypass on) or the `bypass`
//! area has an unfinished write journal (being turned on or off, or awaiting recovery) every WAN
//! write and the speed test are refused: restoring the bypass would overwrite the user's change
//! with the recorded roles. The actions are in `actions/bypass.rs`.

use crate::error::{ApiError, ApiResult};
use crate::journal::Bytes;
use crate::system::Root;
use serde::{Deserialize, Serialize};

/// The record of the active bypass (installed and removed by the journaled enable/disable).
pub const JOURNAL: &str = "/etc/jammonitor/bypass.json";
/// The write journal of the `bypass` area (an enable or disable in progress or interrupted).
pub const WRITE_JOURNAL: &str = "/etc/jammonitor/journal/bypass.json";

/// Bypass on, or being turned on or off.
pub fn active(root: &Root) -> bool {
    root.path(JOURNAL).exists() || changing(root)
}

/// An enable or disable is in progress (or was interrupted and awaits its recovery).
pub fn changing(root: &Root) -> bool {
    root.path(WRITE_JOURNAL).exists()
}

/// The `X-JM-Bypass` header of every authorized answer: `changing` (an enable or disable is in
/// progress or awaits recovery), `on` or `off`.
pub fn header(root: &Root) -> &'static str {
    if changing(root) {
        "changing"
    } else if root.path(JOURNAL).exists() {
        "on"
    } else {
        "off"
    }
}

pub fn refuse_if_active(root: &Root) -> ApiResult<()> {
    if root.path(JOURNAL).exists() {
        Err(ApiError::new(
            409,
            "bypass_active",
            "VPS bypass is active: turn it off before changing WAN settings",
        ))
    } else if changing(root) {
        Err(ApiError::new(
            409,
            "bypass_active",
            "the VPS bypass is being turned on or off: try again when it has finished",
        ))
    } else {
        Ok(())
    }
}

/// A WAN as it was when the bypass was turned on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WanRec {
    pub name: String,
    pub label: Option<String>,
    pub device: Option<String>,
    /// Its role (`network.<if>.multipath`) before the bypass.
    pub multipath: String,
}

/// One UCI option the bypass set: `key` (`network.wan1.multipath`), its value before (`None`:
/// unset) and the value the bypass gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueRec {
    pub key: String,
    pub before: Option<String>,
    pub bypass: String,
}

/// A config file's exact bytes before the bypass and as the bypass wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigRec {
    pub config: String,
    pub before: Bytes,
    pub after: Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    /// When it was turned on (unix time).
    pub since: f64,
    /// The WAN that carries the traffic (the Primary when it was turned on).
    pub wan: WanRec,
    /// Every managed WAN, as it was.
    pub wans: Vec<WanRec>,
    /// Every option it set.
    pub values: Vec<ValueRec>,
    /// Init scripts (by name) that were running and are started again when it is turned off.
    pub services: Vec<String>,
    /// Init scripts it stops (installed ones of the VPN/proxy/tracker set).
    pub stopped: Vec<String>,
    /// omr-tracker's hotplug script was in place (it is moved aside, and back).
    pub hotplug: bool,
    pub configs: Vec<ConfigRec>,
}

/// The active bypass's record, if any. One that cannot be read is an error (never "off").
pub fn read(root: &Root) -> ApiResult<Option<Record>> {
    match std::fs::read(root.path(JOURNAL)) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("the VPS bypass record is unreadable: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(format!(
            "the VPS bypass record cannot be read: {e}"
        ))),
    }
}
