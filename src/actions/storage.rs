//! USB storage for history (DESIGN §6 Diagnostics: USB storage).
//!
//! - `GET storage`: block devices (removable / system / mounted / filesystem), what is mounted at
//!   the storage mount point (/mnt/data) with its free space, the persistent fstab entry, the
//!   history database (size, rows, date range, checkpoint) and the collector's state.
//! - `POST storage.mount {"device"}`: mount an ext2/3/4 filesystem of a removable device at the
//!   mount point and make it persistent (fstab UCI section `jammonitor_data`, by UUID).
//! - `POST storage.unmount {}`: let the collector move to RAM, unmount, disable the fstab entry.
//! - `POST storage.format {"device","confirm":"FORMAT","label"}`: ext4, as a background job.
//!
//! Refusals happen before anything runs: only removable (or USB) devices, never a disk holding
//! /, /rom, /overlay or /boot, never a mounted device; the device's identity is re-checked right
//! before mkfs. Every command goes through the runner (absolute path under the root, argv only).

use super::{Ctx, now_epoch};
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::jobs;
use crate::store::Store;
use crate::store::config::{self, Config};
use crate::store::status::{self, HOLD_FILE};
use crate::system::blockdev::{self, Block, Identity, Usage};
use crate::system::uci::{self, cli::Op};
use crate::system::{Root, lock, mounts};
use crate::txn::{self, Staged, Write, WritePlan};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fstab section this product owns.
pub const FSTAB_SECTION: &str = "jammonitor_data";
const FORMAT_DEADLINE: Duration = Duration::from_secs(600);

fn cfg(root: &Root) -> ApiResult<Config> {
    Ok(config::load(&uci::load(root, "jammonitor")?))
}

/// A kernel-reported path as the router sees it (strip a test root's prefix).
fn router_path(root: &Root, p: &str) -> String {
    if root.is_system() {
        return p.to_string();
    }
    let base = root
        .base()
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string();
    match p.strip_prefix(&base) {
        Some("") => "/".into(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => p.to_string(),
    }
}

// fsblkcnt_t is u32 on some 32-bit targets (MIPS routers): keep the conversions.
#[allow(clippy::useless_conversion)]
fn statvfs_json(p: &Path) -> Value {
    match nix::sys::statvfs::statvfs(p) {
        Ok(s) => {
            let f = u64::from(s.fragment_size());
            json!({"total_bytes": u64::from(s.blocks()) * f, "free_bytes": u64::from(s.blocks_free()) * f,
                   "avail_bytes": u64::from(s.blocks_available()) * f})
        }
        Err(_) => Value::Null,
    }
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

/// Why a device cannot be formatted / mounted (empty = it can).
fn refusals(b: &Block, u: &Usage, blocks: &[Block], root: &Root) -> Vec<String> {
    let mut why = Vec::new();
    if !b.removable {
        why.push(format!("{} is not a removable device", b.name));
    }
    if u.is_system(b) {
        let held = u
            .system_reasons
            .get(&b.disk)
            .map(|v| v.join(", "))
            .unwrap_or_default();
        why.push(format!(
            "{} is on the system disk {} (holds {held})",
            b.name, b.disk
        ));
    }
    let mut mounted: Vec<String> = u.targets(b).iter().map(|t| router_path(root, t)).collect();
    if !b.partition {
        for p in blocks.iter().filter(|p| p.partition && p.disk == b.name) {
            mounted.extend(
                u.targets(p)
                    .iter()
                    .map(|t| format!("{} ({})", router_path(root, t), p.name)),
            );
        }
    }
    if !mounted.is_empty() {
        why.push(format!("{} is mounted at {}", b.name, mounted.join(", ")));
    }
    if b.read_only {
        why.push(format!("{} is read-only", b.name));
    }
    why
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let root = ctx.root;
    let cfg = cfg(root)?;
    let (blocks, table, usage) = blockdev::inventory(root);
    let mnt = root.path(&cfg.mount_point);
    let at = mounts::at(&table, &mnt);
    let mounted_dev = at.and_then(|m| blockdev::rdev_of(&root.path(&m.source)));
    let devices: Vec<Value> = blocks
        .iter()
        .map(|b| {
            let fs = blockdev::probe(&root.path(&format!("/dev/{}", b.name)));
            let why = refusals(b, &usage, &blocks, root);
            let ext = fs.fstype.as_deref().is_some_and(|t| t.starts_with("ext"));
            let mut mount_why = why.clone();
            if !ext {
                mount_why.push(format!("{} has no ext2/3/4 filesystem", b.name));
            }
            json!({
                "name": b.name, "path": format!("/dev/{}", b.name), "disk": b.disk, "partition": b.partition,
                "size_bytes": b.size_bytes, "removable": b.removable, "usb": b.usb, "read_only": b.read_only,
                "model": b.model, "vendor": b.vendor, "serial": b.serial,
                "system": usage.is_system(b),
                "mounted_at": usage.targets(b).iter().map(|t| router_path(root, t)).collect::<Vec<_>>(),
                "in_use_for_history": mounted_dev.as_deref() == Some(b.dev.as_str()),
                "fstype": fs.fstype, "uuid": fs.uuid, "label": fs.label,
                "can_format": why.is_empty(), "can_mount": mount_why.is_empty() && at.is_none(),
                "refusals": why,
            })
        })
        .collect();
    let mount = at.map(|m| {
        let mut v = json!({"source": m.source, "device": blocks.iter().find(|b| Some(b.dev.as_str()) == mounted_dev.as_deref()).map(|b| b.name.clone()),
                           "fstype": m.fstype, "options": m.options, "read_only": m.read_only()});
        if let (Value::Object(o), Value::Object(s)) = (&mut v, statvfs_json(&mnt)) {
            o.extend(s);
        }
        v
    });
    let fstab = uci::load(root, "fstab").unwrap_or_default();
    let fstab_entries: Vec<Value> = fstab
        .of_type("mount")
        .filter(|s| s.get("target") == Some(cfg.mount_point.as_str()))
        .map(|s| json!({"section": s.name, "uuid": s.get("uuid"), "device": s.get("device"), "label": s.get("label"),
                        "enabled": s.get("enabled") != Some("0"), "ours": s.name == FSTAB_SECTION}))
        .collect();
    Ok(Response::ok(json!({
        "generated_at": now_epoch(),
        "mount_point": cfg.mount_point,
        "mounted": mount,
        "fstab": fstab_entries,
        "devices": devices,
        "database": database(root, &cfg),
        "collector": collector(root),
        "format_running": jobs_running(root, "format"),
    })))
}

fn database(root: &Root, cfg: &Config) -> Value {
    let checkpoint = root.path(&cfg.checkpoint_path);
    let cp = std::fs::metadata(&checkpoint).ok().map(|m| {
        json!({"path": cfg.checkpoint_path, "size_bytes": m.len(),
               "modified_at": m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs())})
    });
    let Some((path, placement)) = status::locate_db(root, cfg) else {
        return json!({"available": false, "checkpoint": cp, "usb_path": cfg.db_path, "ram_path": cfg.ram_path});
    };
    let real = root.path(&path);
    let wal = PathBuf::from(format!("{}-wal", real.display()));
    let (stats, err) = match Store::open_existing(&real).and_then(|s| s.stats()) {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let free = statvfs_json(real.parent().unwrap_or(Path::new("/")));
    json!({
        "available": true, "path": path, "placement": placement,
        "size_bytes": file_size(&real), "wal_bytes": file_size(&wal),
        "rows": stats.as_ref().map(|s| &s.rows),
        "first_sample": stats.as_ref().and_then(|s| s.first_sample),
        "last_sample": stats.as_ref().and_then(|s| s.last_sample),
        "first_month": stats.as_ref().and_then(|s| s.first_month.clone()),
        "created_at": stats.as_ref().and_then(|s| s.created_at),
        "error": err,
        "filesystem": free,
        "checkpoint": cp,
        "usb_path": cfg.db_path, "ram_path": cfg.ram_path,
    })
}

/// The collector as the storage page shows it (also used by `collector.*`).
pub fn collector(root: &Root) -> Value {
    let now = now_epoch();
    let Some(s) = status::read(root) else {
        return json!({"running": false, "state": "never started", "status_file": false});
    };
    let running = s.state != "stopped" && status::collector_alive(root, s.pid);
    json!({
        "running": running,
        "state": if running { s.state.as_str() } else { "stopped" },
        "pid": running.then_some(s.pid),
        "started_at": s.started_at,
        "last_sample_at": s.last_sample_at,
        "last_sample_age_s": s.last_sample_at.map(|t| (now - t as f64).max(0.0).round() as i64),
        "status_age_s": (now - s.updated_at as f64).max(0.0).round() as i64,
        "interval_s": s.interval_s,
        "ping_interval_s": s.ping_interval_s,
        "placement": s.placement,
        "placement_reason": s.placement_reason,
        "db_path": s.db_path,
        "last_checkpoint_at": s.last_checkpoint_at,
        "next_checkpoint_at": s.next_checkpoint_at,
        "clock_synced": s.clock_synced,
        "last_error": s.last_error,
        "moved_aside": s.moved_aside,
        "config_problems": s.config_problems,
        "last_sample_cpu_us": s.last_sample_cpu_us,
        "rss_kb": s.rss_kb,
        "targets": s.targets,
    })
}

fn jobs_running(root: &Root, kind: &str) -> bool {
    let p = root.path(jobs::JOBS_DIR).join(format!("{kind}.lock"));
    let Ok(f) = std::fs::OpenOptions::new().write(true).open(p) else {
        return false;
    };
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).is_err()
}

fn device_field(f: &Fields) -> ApiResult<String> {
    let d = f.str("device")?;
    let d = d.strip_prefix("/dev/").unwrap_or(d);
    if !blockdev::valid_name(d) {
        return Err(ApiError::field(
            "device",
            "must be a block device name such as sda1",
        ));
    }
    Ok(d.to_string())
}

fn conflict_field(field: &str, message: String) -> ApiError {
    ApiError {
        status: 409,
        code: "conflict",
        message,
        field: Some(field.to_string()),
    }
}

/// Sends SIGUSR1 to a running collector so it re-checks its storage now.
fn poke_collector(root: &Root) -> bool {
    match status::read(root) {
        Some(s) if s.state != "stopped" && status::collector_alive(root, s.pid) => {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(s.pid as i32),
                nix::sys::signal::Signal::SIGUSR1,
            )
            .is_ok()
        }
        _ => false,
    }
}

fn refuse_while_formatting(root: &Root) -> ApiResult<()> {
    if jobs_running(root, "format") {
        return Err(ApiError::conflict(
            "a format is running; wait for it to finish",
        ));
    }
    Ok(())
}

/// `storage.mount`: the fstab entry is journaled with the mount as its apply step, so a kill
/// at any point ends with fstab and the kernel agreeing (mounted iff the entry is enabled).
pub const MOUNT: Write = Write {
    area: "storage",
    intent: "storage.mount",
    apply: apply_storage,
    deadline: Duration::from_secs(60),
};

/// `storage.unmount`: same journal, the unmount is the apply step.
pub const UNMOUNT: Write = Write {
    area: "storage",
    intent: "storage.unmount",
    apply: apply_storage,
    deadline: Duration::from_secs(60),
};

/// Makes the kernel follow fstab for the history mount: `params` = `{"source": "/dev/sda1",
/// "fstype", "target": "/mnt/data", "mounted_without_entry": bool}` (router paths). Wanted
/// mounted when our fstab section is enabled (or, without a section, when
/// `mounted_without_entry`); reads the committed fstab, so a rollback re-applies the old state.
pub fn apply_storage(root: &Root, params: &Value) -> ApiResult<()> {
    let (Some(source), Some(fstype), Some(target)) = (
        params["source"].as_str(),
        params["fstype"].as_str(),
        params["target"].as_str(),
    ) else {
        return Err(ApiError::internal(
            "storage journal without source/fstype/target",
        ));
    };
    let valid = source
        .strip_prefix("/dev/")
        .is_some_and(blockdev::valid_name)
        && fstype.starts_with("ext")
        && fstype.bytes().all(|b| b.is_ascii_alphanumeric())
        && target.starts_with('/')
        && !target.contains("..");
    if !valid {
        return Err(ApiError::internal("storage journal with invalid paths"));
    }
    let fstab = uci::load(root, "fstab").unwrap_or_default();
    let want = match fstab.section(FSTAB_SECTION) {
        Some(sec) => sec.get("target") == Some(target) && sec.get("enabled") != Some("0"),
        None => params["mounted_without_entry"].as_bool().unwrap_or(false),
    };
    let (dev, mnt) = (root.path(source), root.path(target));
    let ours = |table: &[mounts::Mount]| {
        mounts::at(table, &mnt)
            .and_then(|m| blockdev::rdev_of(&root.path(&m.source)))
            .is_some_and(|r| Some(r) == blockdev::rdev_of(&dev))
    };
    let table = mounts::read(root);
    if want {
        if !ours(&table) {
            if let Some(m) = mounts::at(&table, &mnt) {
                return Err(ApiError::conflict(format!(
                    "{target} has {} mounted; unmount it first",
                    m.source
                )));
            }
            std::fs::create_dir_all(&mnt)
                .map_err(|e| ApiError::internal(format!("cannot create {target}: {e}")))?;
            mounts::mount(root, fstype, &dev, &mnt).map_err(|e| e.context("mount failed"))?;
            // Verify through the kernel's eyes: the mount point now carries this device.
            if !ours(&mounts::read(root)) {
                return Err(ApiError::internal(format!(
                    "{source} did not appear at {target} after mount"
                )));
            }
        }
        if let Some(dir) = params["db_dir"].as_str().filter(|d| d.starts_with(target)) {
            std::fs::create_dir_all(root.path(dir))
                .map_err(|e| ApiError::internal(format!("{target} is not writable: {e}")))?;
        }
    } else if ours(&table) {
        mounts::umount(root, &mnt)
            .map_err(|e| ApiError::conflict(format!("cannot unmount {target}: {}", e.message)))?;
        if ours(&mounts::read(root)) {
            return Err(ApiError::internal(format!(
                "{target} is still mounted after umount"
            )));
        }
    }
    Ok(())
}

pub fn mount(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["device"])?;
    let name = device_field(&f)?;
    let root = ctx.root;
    let cfg = cfg(root)?;
    let mut found = None;
    txn::run_now(root, MOUNT, crate::actions::APPLIERS, |root| {
        refuse_while_formatting(root)?;
        let (blocks, table, usage) = blockdev::inventory(root);
        let b = blocks
            .iter()
            .find(|b| b.name == name)
            .ok_or_else(|| ApiError::field("device", format!("no block device {name}")))?;
        let why = refusals(b, &usage, &blocks, root);
        if let Some(w) = why.first() {
            let status = if w.contains("is mounted at") {
                409
            } else {
                400
            };
            return Err(ApiError {
                status,
                code: if status == 409 {
                    "conflict"
                } else {
                    "invalid_field"
                },
                message: w.clone(),
                field: Some("device".into()),
            });
        }
        let mnt = root.path(&cfg.mount_point);
        if let Some(m) = mounts::at(&table, &mnt) {
            return Err(ApiError::conflict(format!(
                "{} already has {} mounted; unmount it first",
                cfg.mount_point, m.source
            )));
        }
        let fs = blockdev::probe(&root.path(&format!("/dev/{name}")));
        let fstype = fs.fstype.clone().unwrap_or_default();
        if !fstype.starts_with("ext") {
            return Err(ApiError::field(
                "device",
                format!(
                    "{name} has {} filesystem; only ext2/3/4 is used for history: format it as ext4 first",
                    if fstype.is_empty() {
                        "no known".into()
                    } else {
                        format!("a {fstype}")
                    }
                ),
            ));
        }
        let uuid = fs
            .uuid
            .clone()
            .ok_or_else(|| ApiError::field("device", format!("{name} has no filesystem UUID")))?;
        let s = format!("fstab.{FSTAB_SECTION}");
        let ops = vec![
            Op::Set(s.clone(), "mount".into()),
            Op::Set(format!("{s}.target"), cfg.mount_point.clone()),
            Op::Set(format!("{s}.uuid"), uuid.clone()),
            Op::Set(format!("{s}.options"), mounts::HISTORY_OPTIONS.into()),
            Op::Set(format!("{s}.enabled"), "1".into()),
        ];
        let (mp, u2) = (cfg.mount_point.clone(), uuid.clone());
        let verify = move |st: &Staged| -> ApiResult<()> {
            let c = st.show("fstab")?;
            let sec = c
                .section(FSTAB_SECTION)
                .ok_or_else(|| ApiError::internal("fstab section missing after commit"))?;
            if sec.stype == "mount"
                && sec.get("target") == Some(mp.as_str())
                && sec.get("uuid") == Some(u2.as_str())
                && sec.get("enabled") == Some("1")
            {
                Ok(())
            } else {
                Err(ApiError::internal("fstab does not hold the new mount"))
            }
        };
        let db_dir = Path::new(&cfg.db_path)
            .parent()
            .map(|p| p.to_string_lossy().into_owned());
        found = Some((fstype.clone(), uuid.clone(), fs.label.clone()));
        Ok(WritePlan {
            verify: Box::new(verify),
            params: json!({"source": format!("/dev/{name}"), "fstype": fstype, "target": cfg.mount_point,
                           "db_dir": db_dir, "mounted_without_entry": false}),
            ..WritePlan::new(&["fstab"], ops)
        })
    })?;
    let (fstype, uuid, label) = found.unwrap_or_default();
    let others: Vec<String> = uci::load(root, "fstab")
        .unwrap_or_default()
        .of_type("mount")
        .filter(|x| {
            x.name != FSTAB_SECTION
                && x.get("target") == Some(cfg.mount_point.as_str())
                && x.get("enabled") != Some("0")
        })
        .map(|x| x.name.clone())
        .collect();
    let notified = poke_collector(root);
    Ok(Response::ok(json!({
        "mounted": {"device": name, "fstype": fstype, "uuid": uuid, "label": label, "mount_point": cfg.mount_point},
        "fstab": {"section": FSTAB_SECTION, "uuid": uuid, "enabled": true},
        "warnings": others.iter().map(|o| format!("fstab section {o} also mounts {} at boot; disable it in LuCI → Mount Points", cfg.mount_point)).collect::<Vec<_>>(),
        "collector_notified": notified,
    })))
}

pub fn unmount(ctx: &Ctx) -> ApiResult<Response> {
    let body = &ctx.req.body;
    if !body.iter().all(|b| b.is_ascii_whitespace()) {
        Fields::parse(body)?.only(&[])?;
    }
    let root = ctx.root;
    let cfg = cfg(root)?;
    let _lock = lock::acquire(root, "storage", Duration::from_secs(10))?;
    refuse_while_formatting(root)?;
    let mnt = root.path(&cfg.mount_point);
    let table = mounts::read(root);
    let m = mounts::at(&table, &mnt)
        .cloned()
        .ok_or_else(|| ApiError::conflict(format!("nothing is mounted at {}", cfg.mount_point)))?;

    // Ask the collector to let go of the database first (it moves to RAM and says so).
    let hold = root.path(HOLD_FILE);
    let _ = std::fs::write(&hold, format!("{}\n", std::process::id()));
    struct Unhold(PathBuf);
    impl Drop for Unhold {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _unhold = Unhold(hold);
    let released = if poke_collector(root) {
        let t0 = Instant::now();
        loop {
            match status::read(root) {
                Some(s)
                    if s.placement == "usb"
                        && status::collector_alive(root, s.pid)
                        && t0.elapsed() < Duration::from_secs(8) =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Some(s) => break s.placement != "usb" || !status::collector_alive(root, s.pid),
                None => break true,
            }
        }
    } else {
        true
    };
    if !released {
        return Err(ApiError::new(
            503,
            "busy",
            "the collector did not release the database on USB; try again",
        ));
    }
    drop(_lock);
    let fstab = uci::load(root, "fstab").unwrap_or_default();
    let ours = fstab.section(FSTAB_SECTION).is_some();
    let source = router_path(root, &m.source);
    txn::run_now(root, UNMOUNT, crate::actions::APPLIERS, |_| {
        let ops = if ours {
            vec![Op::Set(
                format!("fstab.{FSTAB_SECTION}.enabled"),
                "0".into(),
            )]
        } else {
            Vec::new()
        };
        let verify = move |st: &Staged| -> ApiResult<()> {
            if !ours {
                return Ok(());
            }
            match st.show("fstab")?.get(FSTAB_SECTION, "enabled") {
                Some("0") => Ok(()),
                _ => Err(ApiError::internal("fstab entry still enabled")),
            }
        };
        Ok(WritePlan {
            verify: Box::new(verify),
            params: json!({"source": source, "fstype": m.fstype, "target": cfg.mount_point,
                           "mounted_without_entry": false}),
            ..WritePlan::new(&["fstab"], ops)
        })
    })?;
    Ok(Response::ok(json!({
        "unmounted": {"source": router_path(root, &m.source), "mount_point": cfg.mount_point},
        "fstab_disabled": ours,
        "collector": collector(root),
    })))
}

/// Labels go to mkfs as one argv element; still, only this set is accepted.
pub fn valid_label(l: &str) -> bool {
    (1..=16).contains(&l.len())
        && l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn format(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["device", "confirm", "label"])?;
    // Every field first, before looking at the system.
    let name = device_field(&f)?;
    match f.opt_str("confirm")? {
        Some("FORMAT") => {}
        Some(_) => {
            return Err(ApiError::field(
                "confirm",
                "type FORMAT (in capitals) to confirm erasing the device",
            ));
        }
        None => {
            return Err(ApiError::field(
                "confirm",
                "is required: type FORMAT to confirm erasing the device",
            ));
        }
    }
    let label = f.opt_str("label")?.unwrap_or("jammonitor").to_string();
    if !valid_label(&label) {
        return Err(ApiError::field(
            "label",
            "must be 1–16 letters, digits, '_' or '-'",
        ));
    }
    let root = ctx.root;
    let _lock = lock::acquire(root, "storage", Duration::from_secs(10))?;
    refuse_while_formatting(root)?;
    let (blocks, _, usage) = blockdev::inventory(root);
    let b = blocks
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| ApiError::field("device", format!("no block device {name}")))?;
    if let Some(w) = refusals(b, &usage, &blocks, root).first() {
        return Err(if w.contains("is mounted at") {
            conflict_field("device", format!("{w}; unmount it first"))
        } else {
            ApiError::field("device", format!("{w}: refusing to format it"))
        });
    }
    let identity = Identity::of(b);
    let job_root = root.clone();
    let job = jobs::start(root, "format", FORMAT_DEADLINE, move |p| {
        format_job(&job_root, &identity, &label, p)
    })?;
    let mut r = Response::ok(json!({"job": job, "poll": format!("job?id={}", job.id)}));
    r.status = 202;
    Ok(r)
}

/// The job: re-check the device right before mkfs, format, verify the new superblock.
fn format_job(
    root: &Root,
    want: &Identity,
    label: &str,
    p: &mut jobs::Progress,
) -> Result<Value, String> {
    p.phase(
        "checking",
        Some(5.0),
        &format!("checking that {} is still the device you chose", want.name),
    );
    let b = blockdev::recheck(root, want)?;
    let (blocks, _, usage) = blockdev::inventory(root);
    if let Some(w) = refusals(&b, &usage, &blocks, root).first() {
        return Err(format!("{w}: not formatted"));
    }
    p.phase(
        "formatting",
        Some(20.0),
        &format!("creating an ext4 filesystem on {}", want.name),
    );
    let dev = root.path(&format!("/dev/{}", want.name));
    let deadline = p
        .remaining()
        .saturating_sub(Duration::from_secs(2))
        .max(Duration::from_secs(1));
    mounts::mkfs_ext4(root, &dev, label, deadline).map_err(|e| e.message)?;
    p.phase("verifying", Some(90.0), "reading the new filesystem back");
    let fs = blockdev::probe(&dev);
    if fs.fstype.as_deref() != Some("ext4") || fs.label.as_deref() != Some(label) {
        return Err(format!(
            "{} does not show the new ext4 filesystem (found {:?})",
            want.name, fs
        ));
    }
    Ok(json!({"device": want.name, "fstype": fs.fstype, "uuid": fs.uuid, "label": fs.label}))
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels() {
        for ok in ["JAMDATA", "jam_data-1", "a", "ABCDEFGHIJKLMNOP"] {
            assert!(super::valid_label(ok), "{ok}");
        }
        for bad in [
            "",
            "ABCDEFGHIJKLMNOPQ",
            "a b",
            "x;rm -rf /",
            "$(reboot)",
            "a`b`",
            "é",
        ] {
            assert!(!super::valid_label(bad), "{bad}");
        }
    }
}
