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
use std::path::{Path, PathBuf};
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

/// Below this much free space the stick counts as full: SQLite needs room for its WAL and
/// shared-memory files before it can even read.
const MIN_FREE: u64 = 1 << 20;

/// Bytes root may still write there (reserved blocks included: the collector runs as root).
#[allow(clippy::useless_conversion)] // fsblkcnt_t is u32 on some 32-bit targets
fn free_bytes(p: &Path) -> Option<u64> {
    nix::sys::statvfs::statvfs(p)
        .ok()
        .map(|s| u64::from(s.blocks_free()) * u64::from(s.fragment_size()))
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
    if let Some(free) = free_bytes(&target) {
        if free < MIN_FREE {
            return Err(format!(
                "usb storage at {} is full ({} KiB free)",
                cfg.mount_point,
                free / 1024
            ));
        }
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
    /// Chooses and opens the database at start. A USB stick that is full or read-only (the
    /// merge of the RAM history fails) is no reason to stop: history goes to RAM and the
    /// reason is in the status, exactly as for a full tmpfs.
    pub fn open(root: &Root, cfg: &Config) -> Result<Placement, String> {
        let mut moved = Vec::new();
        clean_checkpoint_temps(&root.path(&cfg.checkpoint_path));
        match usb_ready(root, cfg) {
            Ok(mount) => match open_usb(root, cfg, &mut moved) {
                Ok(mut store) => match merge_into_usb(root, cfg, &mut store, &mut moved) {
                    Ok(_) => Ok(Placement::new(
                        root,
                        store,
                        Where::Usb,
                        "usb storage mounted".into(),
                        cfg.db_path.clone(),
                        moved,
                    )),
                    Err(e) => {
                        drop(store);
                        let mut p = Placement::open_ram(
                            root,
                            cfg,
                            format!("usb storage unusable: {e}; history continues in RAM"),
                            true,
                            moved,
                        )?;
                        p.failed_mount = Some(mount);
                        Ok(p)
                    }
                },
                Err(e) => {
                    let mut p = Placement::open_ram(
                        root,
                        cfg,
                        format!("usb storage unusable: {e}; history continues in RAM"),
                        true,
                        moved,
                    )?;
                    p.failed_mount = Some(mount);
                    Ok(p)
                }
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
                let usb = match open_usb(&self.root, cfg, &mut moved) {
                    Ok(u) => u,
                    Err(e) => {
                        self.moved_aside.extend(moved);
                        self.failed_mount = Some(mount);
                        self.reason = format!("usb storage unusable: {e}");
                        return Some(self.reason.clone());
                    }
                };
                // Close the RAM database (its WAL folds into the file) before it is moved.
                let ram_path = self.store.path().to_path_buf();
                drop(std::mem::replace(&mut self.store, usb));
                let result = merge_into_usb(&self.root, cfg, &mut self.store, &mut moved);
                self.moved_aside.extend(moved);
                match result {
                    Ok(_) => {
                        self.place = Where::Usb;
                        self.db_path = cfg.db_path.clone();
                        self.reason = "usb storage mounted".into();
                        Some(format!(
                            "usb storage at {} in use; RAM history merged into {}",
                            cfg.mount_point, cfg.db_path
                        ))
                    }
                    Err(e) => {
                        // The merge committed nothing: RAM goes on where it was.
                        match store::open_checked(&ram_path) {
                            Ok((s, aside)) => {
                                drop(std::mem::replace(&mut self.store, s));
                                self.moved_aside
                                    .extend(aside.map(|p| p.display().to_string()));
                            }
                            Err(e2) => return Some(format!("reopening RAM history: {e2}")),
                        }
                        self.failed_mount = Some(mount);
                        self.reason =
                            format!("usb storage unusable: {e}; history continues in RAM");
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

/// `name.merging`: a source of a RAM → USB merge, moved out of the way before the merge so that
/// nothing writes to it again. It is deleted once merged (the merge records its `db_id` in the
/// USB database in the same transaction as the rows, so a kill between the commit and the
/// delete merges nothing twice). Left in place while no USB is there to merge it into.
fn merging(p: &Path) -> PathBuf {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.with_file_name(format!("{name}.merging"))
}

fn rename_db(from: &Path, to: &Path) -> Result<(), String> {
    for ext in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{ext}", from.display()));
        if side.exists() {
            std::fs::rename(&side, format!("{}{ext}", to.display()))
                .map_err(|e| format!("moving {}: {e}", side.display()))?;
        }
    }
    std::fs::rename(from, to).map_err(|e| format!("moving {}: {e}", from.display()))?;
    if let Some(d) = to.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Moves everything RAM and flash hold into `usb`: the RAM database (closed by the caller; at
/// start the file left by a restarted collector), the flash checkpoint, and any `.merging`
/// file an interrupted merge left. RAM first: it is the newer copy of the database the
/// checkpoint was taken from (same `db_id`), so the checkpoint is then skipped as merged.
/// On error nothing was committed and the RAM file is back in place.
fn merge_into_usb(
    root: &Root,
    cfg: &Config,
    usb: &mut Store,
    moved: &mut Vec<String>,
) -> Result<usize, String> {
    let ram = root.path(&cfg.ram_path);
    let checkpoint = root.path(&cfg.checkpoint_path);
    for p in [&ram, &checkpoint] {
        if p.exists() {
            if merging(p).exists() {
                // An older pending copy of the same file: the newer one supersedes it only if
                // it was already merged; keep both and merge the pending one first.
                let pending = merging(p);
                if check_or_move(&pending, moved) {
                    usb.merge_from(&pending)
                        .map_err(|e| format!("merging {}: {e}", pending.display()))?;
                }
                remove_db_files(&pending);
            }
            rename_db(p, &merging(p))?;
        }
    }
    let mut merged = 0;
    for p in [&ram, &checkpoint] {
        let pending = merging(p);
        if !pending.exists() {
            continue;
        }
        if check_or_move(&pending, moved) {
            match usb.merge_from(&pending) {
                Ok(true) => merged += 1,
                Ok(false) => {}
                Err(e) => {
                    // Put the RAM history back so sampling continues in it.
                    for q in [&ram, &checkpoint] {
                        if merging(q).exists() && !q.exists() {
                            let _ = rename_db(&merging(q), q);
                        }
                    }
                    return Err(format!("merging {}: {e}", pending.display()));
                }
            }
        }
        remove_db_files(&pending);
    }
    Ok(merged)
}

/// An interrupted checkpoint leaves `history.tmp<pid>` (a whole database) next to the
/// checkpoint on flash, a directory kept across sysupgrade: removed at start.
fn clean_checkpoint_temps(checkpoint: &Path) {
    let (Some(dir), Some(stem)) = (checkpoint.parent(), checkpoint.file_stem()) else {
        return;
    };
    let prefix = format!("{}.tmp", stem.to_string_lossy());
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let tail = &rest[pid.len()..];
        if !pid.is_empty() && ["", "-journal", "-wal", "-shm"].contains(&tail) {
            let _ = std::fs::remove_file(e.path());
        }
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
