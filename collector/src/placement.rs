//! Where the history database lives, and moving it when that changes.
//!
//! - USB: `db_path` (default /mnt/data/jammonitor/history.db) when `mount_point` is a mounted,
//!   writable filesystem of a removable (or USB) device and no unmount hold is in place.
//! - RAM: `ram_path` (default /tmp/jammonitor/history.db) otherwise, copied to flash
//!   (`checkpoint_path`, default /etc/jammonitor/history.db) every `checkpoint_hours` and on
//!   stop, and restored from there at start — a reboot loses at most one checkpoint period and
//!   flash sees a few writes a day.
//!
//! Transitions keep every byte counted once: RAM → USB merges the RAM database into the USB one
//! (adding) and then deletes the RAM copy and the flash checkpoint (their data now lives on USB);
//! USB → RAM (stick pulled, write error, unmount) starts an empty RAM database that only holds
//! what USB did not. A damaged database is moved aside, never deleted.

use jammonitor::store::config::Config;
use jammonitor::store::status::{HOLD_FILE, HOLD_MAX_AGE_S};
use jammonitor::store::{self, Sample, Store};
use jammonitor::system::{Root, blockdev, mounts};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Usb,
    Ram,
}

impl Where {
    pub fn as_str(self) -> &'static str {
        match self {
            Where::Usb => "usb",
            Where::Ram => "ram",
        }
    }
}

pub struct Placement {
    root: Root,
    pub store: Store,
    pub place: Where,
    pub reason: String,
    /// Router path of the database in use.
    pub db_path: String,
    pub moved_aside: Vec<String>,
    pub last_checkpoint_at: Option<i64>,
    last_checkpoint: Instant,
    /// A USB mount that failed us (source, target): not retried until it changes.
    failed_mount: Option<(String, String)>,
    /// Writes since the last checkpoint (a checkpoint of nothing new is skipped).
    dirty: bool,
}

fn remove_db_files(path: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

/// Is USB storage usable now? `Ok(mount identity)` or `Err(reason)`.
pub fn usb_ready(root: &Root, cfg: &Config) -> Result<(String, String), String> {
    if let Ok(md) = std::fs::metadata(root.path(HOLD_FILE)) {
        let fresh = md
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|a| a.as_secs() < HOLD_MAX_AGE_S);
        if fresh {
            return Err(format!(
                "usb storage at {} is being unmounted",
                cfg.mount_point
            ));
        }
    }
    let target = root.path(&cfg.mount_point);
    let table = mounts::read(root);
    let m = mounts::at(&table, &target)
        .ok_or_else(|| format!("no usb storage mounted at {}", cfg.mount_point))?;
    if m.read_only() {
        return Err(format!("{} is mounted read-only", cfg.mount_point));
    }
    let dev = blockdev::rdev_of(&root.path(&m.source)).ok_or_else(|| {
        format!(
            "{} is mounted from {} which is not a block device",
            cfg.mount_point, m.source
        )
    })?;
    let blocks = blockdev::list(root);
    let b = blocks
        .iter()
        .find(|b| b.dev == dev)
        .ok_or_else(|| format!("{} ({dev}) is not a known block device", m.source))?;
    if !b.removable {
        return Err(format!(
            "{} is mounted from {}, which is not removable",
            cfg.mount_point, b.name
        ));
    }
    Ok((m.source.clone(), m.target.clone()))
}

impl Placement {
    /// Chooses and opens the database at start.
    pub fn open(root: &Root, cfg: &Config) -> Result<Placement, String> {
        let ram = root.path(&cfg.ram_path);
        let checkpoint = root.path(&cfg.checkpoint_path);
        let mut moved = Vec::new();
        match usb_ready(root, cfg) {
            Ok(_) => match open_usb(root, cfg, &mut moved) {
                Ok(mut store) => {
                    // What RAM (a restart in RAM mode) or flash (a reboot) still holds goes in now.
                    let carry = if ram.exists() {
                        Some(ram.clone())
                    } else {
                        checkpoint.exists().then(|| checkpoint.clone())
                    };
                    if let Some(src) = carry {
                        if check_or_move(&src, &mut moved) {
                            store
                                .merge_from(&src)
                                .map_err(|e| format!("merging {}: {e}", src.display()))?;
                        }
                    }
                    remove_db_files(&ram);
                    remove_db_files(&checkpoint);
                    Ok(Placement::new(
                        root,
                        store,
                        Where::Usb,
                        "usb storage mounted".into(),
                        cfg.db_path.clone(),
                        moved,
                    ))
                }
                Err(e) => Placement::open_ram(
                    root,
                    cfg,
                    format!("usb storage unusable: {e}"),
                    true,
                    moved,
                ),
            },
            Err(reason) => Placement::open_ram(root, cfg, reason, true, moved),
        }
    }

    fn new(
        root: &Root,
        store: Store,
        place: Where,
        reason: String,
        db_path: String,
        moved: Vec<String>,
    ) -> Placement {
        Placement {
            root: root.clone(),
            store,
            place,
            reason,
            db_path,
            moved_aside: moved,
            last_checkpoint_at: None,
            last_checkpoint: Instant::now(),
            failed_mount: None,
            dirty: false,
        }
    }

    /// RAM database: the existing RAM file (collector restart), else at start a copy of the flash
    /// checkpoint (reboot), else a new one.
    fn open_ram(
        root: &Root,
        cfg: &Config,
        reason: String,
        at_start: bool,
        mut moved: Vec<String>,
    ) -> Result<Placement, String> {
        let ram = root.path(&cfg.ram_path);
        let checkpoint = root.path(&cfg.checkpoint_path);
        if !ram.exists()
            && at_start
            && checkpoint.exists()
            && check_or_move(&checkpoint, &mut moved)
        {
            if let Some(d) = ram.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            std::fs::copy(&checkpoint, &ram)
                .map_err(|e| format!("restoring {}: {e}", checkpoint.display()))?;
        }
        let (store, aside) =
            store::open_checked(&ram).map_err(|e| format!("{}: {e}", ram.display()))?;
        moved.extend(aside.map(|p| p.display().to_string()));
        Ok(Placement::new(
            root,
            store,
            Where::Ram,
            reason,
            cfg.ram_path.clone(),
            moved,
        ))
    }

    /// Re-evaluates the placement (every sample, and on SIGUSR1). Returns a message when it
    /// changed.
    pub fn check(&mut self, cfg: &Config) -> Option<String> {
        let ready = usb_ready(&self.root, cfg);
        match (self.place, ready) {
            (Where::Usb, Ok(_)) => None,
            (Where::Usb, Err(reason)) => Some(self.fall_back_to_ram(
                cfg,
                format!("usb storage gone ({reason}); history continues in RAM"),
            )),
            (Where::Ram, Err(reason)) => {
                if self.failed_mount.is_some() && !reason.contains("being unmounted") {
                    self.failed_mount = None;
                }
                if !self.reason.starts_with("usb") {
                    self.reason = reason;
                }
                None
            }
            (Where::Ram, Ok(mount)) => {
                if self.failed_mount.as_ref() == Some(&mount) {
                    return None;
                }
                let mut moved = Vec::new();
                let result = open_usb(&self.root, cfg, &mut moved).and_then(|mut usb| {
                    usb.merge_from(self.store.path())
                        .map_err(|e| format!("merging RAM history into usb: {e}"))?;
                    Ok(usb)
                });
                self.moved_aside.extend(moved);
                match result {
                    Ok(usb) => {
                        let old = std::mem::replace(&mut self.store, usb);
                        drop(old);
                        remove_db_files(&self.root.path(&cfg.ram_path));
                        remove_db_files(&self.root.path(&cfg.checkpoint_path));
                        self.place = Where::Usb;
                        self.db_path = cfg.db_path.clone();
                        self.reason = "usb storage mounted".into();
                        Some(format!(
                            "usb storage at {} in use; RAM history merged into {}",
                            cfg.mount_point, cfg.db_path
                        ))
                    }
                    Err(e) => {
                        self.failed_mount = Some(mount);
                        self.reason = format!("usb storage unusable: {e}");
                        Some(self.reason.clone())
                    }
                }
            }
        }
    }

    fn fall_back_to_ram(&mut self, cfg: &Config, reason: String) -> String {
        if let Ok(m) = usb_ready(&self.root, cfg) {
            self.failed_mount = Some(m);
        }
        match Placement::open_ram(&self.root, cfg, reason.clone(), false, Vec::new()) {
            Ok(p) => {
                // Dropping the USB store may fail to checkpoint its WAL on a dead stick: harmless.
                self.store = p.store;
                self.moved_aside.extend(p.moved_aside);
                self.place = Where::Ram;
                self.db_path = cfg.ram_path.clone();
                self.reason = reason.clone();
                self.last_checkpoint = Instant::now();
                reason
            }
            Err(e) => format!("{reason}; and RAM database failed: {e}"),
        }
    }

    /// Writes a sample; a USB write failure moves to RAM and writes it there.
    pub fn write(&mut self, cfg: &Config, s: &Sample) -> Result<Option<String>, String> {
        match self.store.write(s) {
            Ok(()) => {
                self.dirty = true;
                Ok(None)
            }
            Err(e) if self.place == Where::Usb => {
                let msg = self.fall_back_to_ram(
                    cfg,
                    format!("usb write failed ({e}); history continues in RAM"),
                );
                self.store
                    .write(s)
                    .map_err(|e| format!("{msg}; RAM write failed too: {e}"))?;
                self.dirty = true;
                Ok(Some(msg))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn checkpoint_due(&self, cfg: &Config) -> bool {
        self.place == Where::Ram
            && self.dirty
            && self.last_checkpoint.elapsed()
                >= Duration::from_secs(cfg.checkpoint_hours as u64 * 3600)
    }

    /// Copies the RAM database to flash (only in RAM mode, only if something changed).
    pub fn checkpoint(&mut self, cfg: &Config) -> Result<Option<u64>, String> {
        if self.place != Where::Ram || !self.dirty {
            return Ok(None);
        }
        let dest = self.root.path(&cfg.checkpoint_path);
        let size = self
            .store
            .checkpoint_to(&dest)
            .map_err(|e| format!("checkpoint to {}: {e}", dest.display()))?;
        self.last_checkpoint = Instant::now();
        self.last_checkpoint_at = Some(store::now_epoch());
        self.dirty = false;
        Ok(Some(size))
    }

    pub fn next_checkpoint_at(&self, cfg: &Config) -> Option<i64> {
        (self.place == Where::Ram).then(|| {
            let left = Duration::from_secs(cfg.checkpoint_hours as u64 * 3600)
                .saturating_sub(self.last_checkpoint.elapsed());
            store::now_epoch() + left.as_secs() as i64
        })
    }
}

fn open_usb(root: &Root, cfg: &Config, moved: &mut Vec<String>) -> Result<Store, String> {
    let path = root.path(&cfg.db_path);
    let (s, aside) = store::open_checked(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    moved.extend(aside.map(|p| p.display().to_string()));
    Ok(s)
}

/// True if `path` is a healthy database; a damaged one is moved aside (recorded) and false.
fn check_or_move(path: &Path, moved: &mut Vec<String>) -> bool {
    let ok = rusqlite_quick_check(path);
    if !ok {
        if let Ok(p) = store::move_aside(path) {
            moved.push(p.display().to_string());
        }
    }
    ok
}

fn rusqlite_quick_check(path: &Path) -> bool {
    Store::open_existing(path)
        .and_then(|s| s.quick_check())
        .unwrap_or(false)
        || Store::open(path)
            .and_then(|s| s.quick_check())
            .unwrap_or(false)
}
