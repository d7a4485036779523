//! The collector's status file `/var/run/jammonitor/collector.json` (written atomically after
//! every sample and on every state change; read by the `storage` action and anything that shows
//! the collector's health), and how to locate the history database from it.

use crate::system::Root;
use serde::{Deserialize, Serialize};

pub const STATUS_FILE: &str = "/var/run/jammonitor/collector.json";
/// The daemon's single-instance flock (not one of `system::lock`'s writer locks: those are
/// `<name>.lock` too, so writer locks must never be named `collector`).
pub const LOCK_FILE: &str = "/var/run/jammonitor/collector.lock";
/// While this file exists (fresher than [`HOLD_MAX_AGE_S`]) the collector keeps off USB storage:
/// `storage.unmount` creates it, asks the collector to let go (SIGUSR1), unmounts, removes it.
pub const HOLD_FILE: &str = "/var/run/jammonitor/storage.hold";
pub const HOLD_MAX_AGE_S: u64 = 120;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LastError {
    pub at: i64,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub pid: u32,
    pub version: String,
    /// `starting`, `running`, `stopped`.
    pub state: String,
    pub started_at: i64,
    pub updated_at: i64,
    pub last_sample_at: Option<i64>,
    /// CPU time (user+system, this thread) the last sample took, µs.
    pub last_sample_cpu_us: Option<u64>,
    pub last_sample_wall_us: Option<u64>,
    pub samples: u64,
    pub interval_s: u32,
    pub ping_interval_s: u32,
    /// `usb` or `ram`.
    pub placement: String,
    /// Why this placement (`usb mounted`, `no usb storage mounted at /mnt/data`, `usb removed` …).
    pub placement_reason: String,
    /// The database in use (router path).
    pub db_path: String,
    pub usb_db_path: String,
    pub ram_path: String,
    pub checkpoint_path: String,
    pub last_checkpoint_at: Option<i64>,
    pub next_checkpoint_at: Option<i64>,
    pub clock_synced: bool,
    pub last_error: Option<LastError>,
    /// Databases found damaged and moved aside (never deleted).
    pub moved_aside: Vec<String>,
    pub config_problems: Vec<String>,
    /// Resolved ping targets: (name, host or null when unresolved).
    pub targets: Vec<(String, Option<String>)>,
    pub rss_kb: Option<u64>,
    pub peak_rss_kb: Option<u64>,
    /// Ping rounds done and the pinger thread's CPU time for them (µs).
    #[serde(default)]
    pub ping_rounds: u64,
    #[serde(default)]
    pub ping_cpu_us: u64,
    /// Overview snapshots built (`store::snapshot`) and the CPU time they took, µs.
    #[serde(default)]
    pub snapshot_builds: u64,
    #[serde(default)]
    pub snapshot_cpu_us: u64,
    /// `icmp-datagram` or `icmp-raw`.
    #[serde(default)]
    pub ping_socket: String,
}

pub fn read(root: &Root) -> Option<Status> {
    serde_json::from_str(&root.read(STATUS_FILE, 256 << 10).ok()?).ok()
}

pub fn write(root: &Root, s: &Status) -> std::io::Result<()> {
    let path = root.path(STATUS_FILE);
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(s).unwrap_or_default())?;
    std::fs::rename(&tmp, &path)
}

/// Is the process `pid` a live jammonitor collector? (Signal 0, then its comm under the root's
/// /proc when that is a live one; comm is truncated to 15 bytes by the kernel.)
pub fn collector_alive(root: &Root, pid: u32) -> bool {
    if pid == 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_err() {
        return false;
    }
    match root.read_line(&format!("/proc/{pid}/comm")) {
        Some(comm) => {
            comm.starts_with("jammonitor-c") && "jammonitor-collector".starts_with(comm.as_str())
        }
        // A fixture /proc cannot know: trust the signal.
        None => true,
    }
}

/// The history database to read, as (router path, placement) — from the collector's status when
/// it has one, else the USB database if present, else the RAM one.
pub fn locate_db(root: &Root, cfg: &super::config::Config) -> Option<(String, String)> {
    if let Some(s) = read(root) {
        if !s.db_path.is_empty() && root.path(&s.db_path).exists() {
            return Some((s.db_path, s.placement));
        }
    }
    for (p, place) in [(&cfg.db_path, "usb"), (&cfg.ram_path, "ram")] {
        if root.path(p).exists() {
            return Some((p.clone(), place.to_string()));
        }
    }
    None
}
