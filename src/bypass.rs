//! Where the VPS-bypass state lives. The bypass feature writes its journal here; while it exists
//! (bypass active, or a half-done change awaiting recovery) every WAN write is refused, because
//! restoring the bypass would overwrite the user's change with the recorded roles.

use crate::error::{ApiError, ApiResult};
use crate::system::Root;

pub const JOURNAL: &str = "/etc/jammonitor/bypass.json";

pub fn active(root: &Root) -> bool {
    root.path(JOURNAL).exists()
}

pub fn refuse_if_active(root: &Root) -> ApiResult<()> {
    if active(root) {
        Err(ApiError::new(
            409,
            "bypass_active",
            "VPS bypass is active: turn it off before changing WAN settings",
        ))
    } else {
        Ok(())
    }
}
