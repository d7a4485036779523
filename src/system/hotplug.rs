//! OMR's omr-tracker hotplug script, moved out of the way while the VPS bypass is on (and back).
//!
//! It has to leave the directory: procd runs **every** file in `/etc/hotplug.d/<subsystem>/`
//! (openwrt/procd `hotplug-dispatch.c` globs `/etc/hotplug.d/iface/*`; the older
//! `/sbin/hotplug-call` does `ls /etc/hotplug.d/$1/*`), so a renamed `40-omr-tracker.disabled`
//! beside it — the predecessor's way — would still run on every interface event and restart the
//! tracker. It goes to `/etc/jammonitor/bypass-aside/` instead: same filesystem, so the move is
//! one atomic `rename` (bytes, mode and owner kept), made durable by syncing both directories.
//! Both moves are idempotent, so a move killed half way is simply done again.

use super::Root;
use crate::error::{ApiError, ApiResult};
use std::path::Path;

/// Where OMR installs it (`feeds:omr-tracker/files/etc/hotplug.d/iface/40-omr-tracker`).
pub const OMR_TRACKER: &str = "/etc/hotplug.d/iface/40-omr-tracker";
/// Where it waits while the bypass is on.
pub const ASIDE: &str = "/etc/jammonitor/bypass-aside/40-omr-tracker";

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn mv(root: &Root, from: &str, to: &str) -> ApiResult<bool> {
    let (src, dst) = (root.path(from), root.path(to));
    if !src.exists() {
        return Ok(false);
    }
    if dst.exists() {
        // Both exist (a package upgrade reinstalled the script meanwhile): the one in place wins.
        if to == OMR_TRACKER {
            let _ = std::fs::remove_file(&src);
            return Ok(false);
        }
    }
    let dir = dst.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir)
        .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
    std::fs::rename(&src, &dst)
        .map_err(|e| ApiError::internal(format!("cannot move {from} to {to}: {e}")))?;
    sync_dir(dir);
    sync_dir(src.parent().unwrap_or(Path::new("/")));
    Ok(true)
}

/// Moves the tracker's hotplug script aside (no-op when it is not in place).
pub fn move_aside(root: &Root) -> ApiResult<bool> {
    mv(root, OMR_TRACKER, ASIDE)
}

/// Puts it back (no-op when nothing is aside).
pub fn restore(root: &Root) -> ApiResult<bool> {
    mv(root, ASIDE, OMR_TRACKER)
}

/// It is in place.
pub fn in_place(root: &Root) -> bool {
    root.path(OMR_TRACKER).exists()
}
