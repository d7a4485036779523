//! Readers and writers of the router. Every file and program path goes through [`Root`], every
//! command through [`runner`], so tests point the whole product at a fixture tree or a namespace.

pub mod blockdev;
pub mod clock;
pub mod conntrack;
pub mod hotplug;
pub mod ip;
pub mod leases;
pub mod lock;
pub mod mounts;
pub mod mptcp_diag;
pub mod mptcp_pm;
pub mod neigh;
pub mod netifd;
pub mod netlink;
pub mod oui;
pub mod procfs;
pub mod rtnl;
pub mod runner;
pub mod services;
pub mod speedtest;
pub mod sysfs;
pub mod tailscale;
pub mod ubus;
pub mod uci;
pub mod update;
pub mod wireguard;
pub mod wireless;

use std::io::Read;
use std::path::{Path, PathBuf};

/// The system root: `/` on the router; a fixture or live tree in tests and `make run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    base: PathBuf,
}

/// The one environment knob (uhttpd clears the environment, so production always gets `/`).
pub const ROOT_ENV: &str = "JAMMONITOR_ROOT";

/// Writes a small file under the root atomically (tmp + rename, no fsync: RAM files and caches;
/// durable writes are `txn::write_atomic`). A reader sees the old or the new bytes, never half.
pub fn write_atomic(root: &Root, p: &str, data: &[u8]) -> Result<(), String> {
    let path = root.path(p);
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Root {
    pub fn new(base: impl Into<PathBuf>) -> Root {
        Root { base: base.into() }
    }

    pub fn from_env() -> Root {
        match std::env::var_os(ROOT_ENV) {
            Some(p) if !p.is_empty() => Root::new(PathBuf::from(p)),
            _ => Root::new("/"),
        }
    }

    pub fn is_system(&self) -> bool {
        self.base == Path::new("/")
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `abs` is an absolute router path such as `/proc/stat`.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.base.join(abs.trim_start_matches('/'))
    }

    /// Reads a small text file, capped so a hostile or huge file cannot exhaust memory.
    pub fn read(&self, abs: &str, cap: usize) -> std::io::Result<String> {
        let f = std::fs::File::open(self.path(abs))?;
        // Sized up front: `take` hides the file's length from read_to_string, which then starts
        // at 32 bytes and doubles (8 reads for /proc/stat). /proc and /sys files report 0.
        let len = f.metadata().map_or(0, |m| m.len() as usize);
        let mut s = String::with_capacity(if len == 0 { 4096 } else { len + 1 }.min(cap));
        f.take(cap as u64).read_to_string(&mut s)?;
        Ok(s)
    }

    /// First line, trimmed; `None` when missing or unreadable (sysfs files vanish with devices).
    pub fn read_line(&self, abs: &str) -> Option<String> {
        self.read(abs, 4096)
            .ok()
            .map(|s| s.lines().next().unwrap_or("").trim().to_string())
    }

    pub fn read_u64(&self, abs: &str) -> Option<u64> {
        self.read_line(abs)?.parse().ok()
    }
}
