//! The durable write journal: every change to files the router keeps (UCI configs, fstab,
//! sysctl.d …) is recorded on flash *before* the first byte changes, so a process killed at any
//! instant (SIGKILL by uhttpd, a reboot, the OOM killer) leaves the system exactly before or
//! exactly after the change, never half of it. API and states: docs/journal.md.
//!
//! One journal per *area* (the lock name: `wan`, `storage`, later `bypass`), at
//! `/etc/jammonitor/journal/<area>.json`, on the same flash as /etc/config. The caller holds the
//! area's lock ([`crate::system::lock`]) for the journal's whole life.
//!
//! 1. [`Journal::begin`] records the intent, the exact bytes of every file before and after, and
//!    kernel values (e.g. a /proc/sys entry) to restore on rollback; written to a temp file,
//!    fsync'd, renamed, directory fsync'd: state `prepared`.
//! 2. [`Journal::commit`] installs every file (temp + fsync + rename + dir fsync) and marks the
//!    journal `committed`.
//! 3. The caller applies (reload services …). Success: [`Journal::close`] deletes the journal.
//!    Failure: [`Journal::roll_back`] marks it `rolling_back`, restores every file and kernel
//!    value (continuing past errors, reporting them all), the caller re-applies the old state and
//!    closes.
//!
//! [`recover`] finishes a journal left by a killed process: `prepared` → roll back (nothing was
//! applied yet), `committed` → roll forward (the caller applies), `rolling_back` → restore again
//! and the caller re-applies the old state. Temp files of an interrupted install are removed.

use crate::error::{ApiError, ApiResult};
use crate::system::Root;
use crate::system::clock::now_epoch;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const DIR: &str = "/etc/jammonitor/journal";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Prepared,
    Committed,
    RollingBack,
}

/// File contents as JSON: text when UTF-8 (configs are), else hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bytes {
    Text(String),
    Hex(String),
}

impl Bytes {
    pub fn from_vec(b: Vec<u8>) -> Bytes {
        match String::from_utf8(b) {
            Ok(s) => Bytes::Text(s),
            Err(e) => Bytes::Hex(e.into_bytes().iter().map(|x| format!("{x:02x}")).collect()),
        }
    }
    pub fn to_vec(&self) -> Option<Vec<u8>> {
        match self {
            Bytes::Text(s) => Some(s.clone().into_bytes()),
            Bytes::Hex(h) => (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect(),
        }
    }
}

/// One file the write touches (`None` = the file does not exist / is deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRec {
    /// Router path (`/etc/config/network`).
    pub path: String,
    pub before: Option<Bytes>,
    pub after: Option<Bytes>,
}

/// A kernel value (a /proc/sys file) restored on rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelRec {
    pub path: String,
    pub before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    pub id: String,
    pub area: String,
    /// What the write is (an action name such as `wan.roles`): picks the apply step at recovery.
    pub intent: String,
    /// What the apply step needs, as JSON (it must work from this and the files alone).
    pub params: Value,
    pub state: State,
    pub files: Vec<FileRec>,
    pub kernel: Vec<KernelRec>,
    /// The background job following this write (the page polls it).
    pub job: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
    /// Why it is rolling back.
    pub error: Option<String>,
}

/// A file to write: `after = None` deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub after: Option<Vec<u8>>,
}

pub struct Journal<'a> {
    root: &'a Root,
    rec: Record,
}

fn valid_area(area: &str) -> bool {
    crate::jobs::valid_kind(area)
}

fn journal_path(root: &Root, area: &str) -> PathBuf {
    root.path(DIR).join(format!("{area}.json"))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Temp file next to `path` for an install by journal `id` (removed by [`recover`] if left).
fn temp_for(path: &Path, id: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.jm-{id}"))
}

/// Writes `bytes` to `path` durably and atomically: a temp file in the same directory, fsync,
/// rename over, fsync the directory. A crash leaves the old or the new file, and at most the
/// temp file (named after `tag`, so recovery can find it). The new file keeps the mode of the
/// one it replaces (uci configs are 0644, some 0600); a file that did not exist gets 0644.
pub fn write_durable(path: &Path, bytes: &[u8], tag: &str) -> std::io::Result<()> {
    let mode = std::fs::metadata(path)
        .map(|md| md.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    write_durable_mode(path, bytes, tag, mode)
}

/// [`write_durable`] with the final mode given. The temp file is created 0600 and only opened
/// up once complete, so a secret never sits world-readable in a half-written file.
fn write_durable_mode(path: &Path, bytes: &[u8], tag: &str, mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir)?;
    let tmp = temp_for(path, tag);
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn remove_durable(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("/"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn read_opt(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The unfinished journal of `area`, if any. A journal that cannot be parsed is an error (it is
/// never silently dropped: the files it protects may be half-written).
pub fn open(root: &Root, area: &str) -> ApiResult<Option<Record>> {
    if !valid_area(area) {
        return Err(ApiError::internal(format!("invalid journal area {area:?}")));
    }
    match read_opt(&journal_path(root, area)) {
        Ok(None) => Ok(None),
        Ok(Some(b)) => serde_json::from_slice::<Record>(&b)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("journal of {area} is unreadable: {e}"))),
        Err(e) => Err(ApiError::internal(format!("journal of {area}: {e}"))),
    }
}

/// Areas with an unfinished journal (cheap: one directory read; empty on most requests).
pub fn pending(root: &Root) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(root.path(DIR)) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".json")
                .filter(|a| valid_area(a))
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

impl<'a> Journal<'a> {
    /// Records the write (state `prepared`) before anything changes. Refuses when `area` still
    /// has an unfinished journal: [`recover`] it first.
    pub fn begin(
        root: &'a Root,
        area: &str,
        intent: &str,
        params: Value,
        changes: Vec<Change>,
        kernel: &[&str],
    ) -> ApiResult<Journal<'a>> {
        if open(root, area)?.is_some() {
            return Err(ApiError::conflict(format!(
                "an unfinished change to {area} must be recovered first"
            )));
        }
        let mut files = Vec::new();
        for c in changes {
            if !c.path.starts_with('/') || c.path.contains("/../") || c.path.ends_with("/..") {
                return Err(ApiError::internal(format!("journal: bad path {}", c.path)));
            }
            let before = read_opt(&root.path(&c.path))
                .map_err(|e| ApiError::internal(format!("cannot read {}: {e}", c.path)))?;
            files.push(FileRec {
                path: c.path,
                before: before.map(Bytes::from_vec),
                after: c.after.map(Bytes::from_vec),
            });
        }
        let kernel = kernel
            .iter()
            .map(|p| KernelRec {
                path: p.to_string(),
                before: root.read(p, 4096).ok().map(|s| s.trim_end().to_string()),
            })
            .collect();
        let t = now_epoch();
        let rec = Record {
            version: VERSION,
            id: format!("{area}-{}-{}", t as u64, crate::jobs::random_hex()),
            area: area.to_string(),
            intent: intent.to_string(),
            params,
            state: State::Prepared,
            files,
            kernel,
            job: None,
            created_at: t,
            updated_at: t,
            error: None,
        };
        let j = Journal { root, rec };
        j.save()?;
        Ok(j)
    }

    /// Continues an unfinished journal found by [`open`] (the caller holds the lock).
    pub fn resume(root: &'a Root, rec: Record) -> Journal<'a> {
        Journal { root, rec }
    }

    pub fn record(&self) -> &Record {
        &self.rec
    }

    pub fn root(&self) -> &'a Root {
        self.root
    }

    fn save(&self) -> ApiResult<()> {
        let path = journal_path(self.root, &self.rec.area);
        let bytes = serde_json::to_vec(&self.rec)
            .map_err(|e| ApiError::internal(format!("journal: {e}")))?;
        // 0600: a journal holds the exact bytes of the configs it protects (VPN keys, Wi-Fi
        // passwords): readable by root only.
        write_durable_mode(&path, &bytes, "tmp", 0o600)
            .map_err(|e| ApiError::internal(format!("cannot write the journal: {e}")))
    }

    fn set_state(&mut self, s: State) -> ApiResult<()> {
        self.rec.state = s;
        self.rec.updated_at = now_epoch();
        self.save()
    }

    /// Records the job that follows this write.
    pub fn set_job(&mut self, job: &str) -> ApiResult<()> {
        self.rec.job = Some(job.to_string());
        self.save()
    }

    /// Installs every file's new bytes, then marks the journal committed. On error the files
    /// already installed stay: the caller rolls back.
    ///
    /// Each file must still hold the bytes recorded as `before`: if another tool (LuCI, a
    /// script, another area's write) changed it since, nothing is overwritten and the answer is
    /// 409. The check and the rename happen under the flock `uci commit` itself takes on the
    /// file, so a concurrent `uci commit` cannot slip in between.
    pub fn commit(&mut self) -> ApiResult<()> {
        for f in &self.rec.files {
            let path = self.root.path(&f.path);
            let _guard = std::fs::File::open(&path).ok().and_then(|file| {
                nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).ok()
            });
            let now = read_opt(&path)
                .map_err(|e| ApiError::internal(format!("cannot read {}: {e}", f.path)))?;
            if now.map(Bytes::from_vec) != f.before {
                return Err(ApiError::conflict(format!(
                    "{} was changed by something else meanwhile; nothing was overwritten, try again",
                    f.path
                )));
            }
            let res = match f.after.as_ref().map(|b| b.to_vec()) {
                Some(Some(b)) => write_durable(&path, &b, &self.rec.id),
                Some(None) => {
                    return Err(ApiError::internal(format!(
                        "journal: bad bytes for {}",
                        f.path
                    )));
                }
                None => remove_durable(&path),
            };
            res.map_err(|e| ApiError::internal(format!("cannot write {}: {e}", f.path)))?;
        }
        self.set_state(State::Committed)
    }

    /// Restores every file and kernel value to its recorded state. Goes on past errors and
    /// returns all of them (an empty list = everything restored). The state is saved as
    /// `rolling_back` first, so a kill in the middle resumes the rollback.
    pub fn roll_back(&mut self, why: &str) -> Vec<String> {
        let mut errors = Vec::new();
        if self.rec.state != State::RollingBack || self.rec.error.is_none() {
            self.rec.error = Some(why.to_string());
            if let Err(e) = self.set_state(State::RollingBack) {
                errors.push(e.message);
            }
        }
        for f in &self.rec.files {
            let path = self.root.path(&f.path);
            // Only what this write installed is undone: a file still as before is left alone
            // (inode and mtime kept), and one that something else changed since is not
            // clobbered with our old bytes.
            let res = match read_opt(&path).map(|b| b.map(Bytes::from_vec)) {
                Err(e) => Err(e),
                Ok(now) if now == f.before || now != f.after => Ok(()),
                Ok(_) => match f.before.as_ref().map(|b| b.to_vec()) {
                    Some(Some(b)) => write_durable(&path, &b, &self.rec.id),
                    Some(None) => Err(std::io::Error::other("bad recorded bytes")),
                    None => remove_durable(&path),
                },
            };
            if let Err(e) = res {
                errors.push(format!("cannot restore {}: {e}", f.path));
            }
            let _ = std::fs::remove_file(temp_for(&path, &self.rec.id));
        }
        for k in &self.rec.kernel {
            let Some(v) = &k.before else { continue };
            let p = self.root.path(&k.path);
            if !p.exists() {
                continue;
            }
            if let Err(e) = std::fs::write(&p, format!("{v}\n")) {
                errors.push(format!("cannot restore {}: {e}", k.path));
            }
        }
        errors
    }

    /// The write is finished (applied, or rolled back and re-applied): the journal goes.
    pub fn close(self) -> ApiResult<()> {
        for f in &self.rec.files {
            let _ = std::fs::remove_file(temp_for(&self.root.path(&f.path), &self.rec.id));
        }
        remove_durable(&journal_path(self.root, &self.rec.area))
            .map_err(|e| ApiError::internal(format!("cannot close the journal: {e}")))
    }
}

/// What [`recover`] did, and what is left for the caller (which knows how to apply).
#[derive(Debug)]
pub enum Recovery {
    /// No journal.
    Clean,
    /// A `prepared` journal: every file is back as before (`errors` lists what could not be
    /// restored); the journal is closed unless errors remain.
    RolledBack { id: String, errors: Vec<String> },
    /// A `committed` journal: the files hold the change; apply it (roll forward), then close —
    /// or roll back and re-apply if applying fails.
    NeedsApply(Record),
    /// A `rolling_back` journal: the files are restored again; re-apply the old state, close.
    NeedsReapply { rec: Record, errors: Vec<String> },
}

/// Finishes the file side of an unfinished journal of `area`. The caller holds the area lock.
pub fn recover(root: &Root, area: &str) -> ApiResult<Recovery> {
    let Some(rec) = open(root, area)? else {
        clean_temps(root, area);
        return Ok(Recovery::Clean);
    };
    match rec.state {
        State::Prepared => {
            let id = rec.id.clone();
            let mut j = Journal::resume(root, rec);
            let errors = j.roll_back("interrupted before it was committed");
            if errors.is_empty() {
                j.close()?;
            }
            Ok(Recovery::RolledBack { id, errors })
        }
        State::Committed => Ok(Recovery::NeedsApply(rec)),
        State::RollingBack => {
            let mut j = Journal::resume(root, rec);
            let why = j.rec.error.clone().unwrap_or_default();
            let errors = j.roll_back(&why);
            Ok(Recovery::NeedsReapply { rec: j.rec, errors })
        }
    }
}

/// Removes temp files of `area`'s interrupted writes: the journal's own (`.<area>.json.jm-tmp`),
/// installs (`.<name>.jm-<area>-…`), and the legacy `<name>.jm-tmp<pid>` of the previous
/// transaction code whose process is gone. Called under the area lock with no journal open, so
/// none of them is in use; other areas' temp files are left alone.
pub fn clean_temps(root: &Root, area: &str) {
    let own_journal = format!(".{area}.json.jm-tmp");
    let own_install = format!(".jm-{area}-");
    for dir in ["/etc/config", DIR, "/etc/sysctl.d"] {
        let Ok(rd) = std::fs::read_dir(root.path(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let ours = n == own_journal
                || (n.starts_with('.') && n.contains(&own_install))
                || n.rsplit_once(".jm-tmp").is_some_and(|(_, pid)| {
                    !pid.is_empty()
                        && pid.bytes().all(|b| b.is_ascii_digit())
                        && !Path::new(&format!("/proc/{pid}")).exists()
                });
            if ours {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Areas with a journal temp file left by a write killed while writing its journal.
pub fn temp_areas(root: &Root) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(root.path(DIR)) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix('.')?
                .strip_suffix(".json.jm-tmp")
                .filter(|a| valid_area(a))
                .map(str::to_string)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(tag: &str) -> (Root, PathBuf) {
        let p = std::env::temp_dir().join(format!("jm-journal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("etc/config")).unwrap();
        (Root::new(&p), p)
    }

    #[test]
    fn journal_is_root_only_and_files_keep_their_mode() {
        let (r, p) = root("modes");
        let mode = |f: &str| std::fs::metadata(p.join(f)).unwrap().permissions().mode() & 0o777;
        std::fs::write(p.join("etc/config/secret"), "key 1\n").unwrap();
        std::fs::set_permissions(
            p.join("etc/config/secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let mut j = Journal::begin(
            &r,
            "wan",
            "test",
            Value::Null,
            vec![
                Change {
                    path: "/etc/config/secret".into(),
                    after: Some(b"key 2\n".to_vec()),
                },
                Change {
                    path: "/etc/config/new".into(),
                    after: Some(b"n\n".to_vec()),
                },
            ],
            &[],
        )
        .unwrap();
        // It holds the secret's bytes: root only.
        assert_eq!(mode("etc/jammonitor/journal/wan.json"), 0o600);
        j.commit().unwrap();
        assert_eq!(mode("etc/jammonitor/journal/wan.json"), 0o600);
        assert_eq!(mode("etc/config/secret"), 0o600);
        assert_eq!(mode("etc/config/new"), 0o644);
        j.close().unwrap();
        let _ = std::fs::remove_dir_all(p);
    }

    #[test]
    fn commit_roll_back_close() {
        let (r, p) = root("basic");
        std::fs::write(p.join("etc/config/a"), "old a\n").unwrap();
        std::fs::write(p.join("etc/config/b"), [0xffu8, 0, 1]).unwrap();
        let mut j = Journal::begin(
            &r,
            "wan",
            "test",
            Value::Null,
            vec![
                Change {
                    path: "/etc/config/a".into(),
                    after: Some(b"new a\n".to_vec()),
                },
                Change {
                    path: "/etc/config/b".into(),
                    after: None,
                },
                Change {
                    path: "/etc/config/c".into(),
                    after: Some(b"c\n".to_vec()),
                },
            ],
            &[],
        )
        .unwrap();
        assert_eq!(pending(&r), vec!["wan".to_string()]);
        j.commit().unwrap();
        assert_eq!(std::fs::read(p.join("etc/config/a")).unwrap(), b"new a\n");
        assert!(!p.join("etc/config/b").exists());
        assert_eq!(open(&r, "wan").unwrap().unwrap().state, State::Committed);
        assert!(j.roll_back("test").is_empty());
        assert_eq!(std::fs::read(p.join("etc/config/a")).unwrap(), b"old a\n");
        assert_eq!(std::fs::read(p.join("etc/config/b")).unwrap(), [0xff, 0, 1]);
        assert!(!p.join("etc/config/c").exists());
        j.close().unwrap();
        assert!(pending(&r).is_empty());
        let _ = std::fs::remove_dir_all(p);
    }

    #[test]
    fn recover_prepared_rolls_back_and_cleans_temps() {
        let (r, p) = root("prep");
        std::fs::write(p.join("etc/config/a"), "old\n").unwrap();
        let j = Journal::begin(
            &r,
            "wan",
            "test",
            Value::Null,
            vec![Change {
                path: "/etc/config/a".into(),
                after: Some(b"new\n".to_vec()),
            }],
            &[],
        )
        .unwrap();
        // Killed mid-install: the new bytes landed, a temp file was left.
        std::fs::write(p.join("etc/config/a"), "new\n").unwrap();
        let id = j.record().id.clone();
        std::fs::write(p.join(format!("etc/config/.a.jm-{id}")), "x").unwrap();
        std::fs::write(p.join("etc/config/a.jm-tmp999999999"), "x").unwrap();
        drop(j);
        match recover(&r, "wan").unwrap() {
            Recovery::RolledBack { errors, .. } => assert!(errors.is_empty()),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(p.join("etc/config/a")).unwrap(), b"old\n");
        assert!(matches!(recover(&r, "wan").unwrap(), Recovery::Clean));
        let left: Vec<_> = std::fs::read_dir(p.join("etc/config"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a")]);
        let _ = std::fs::remove_dir_all(p);
    }

    #[test]
    fn finding_10_restore_continues_past_a_write_error() {
        let (r, p) = root("errs");
        std::fs::create_dir_all(p.join("etc/x")).unwrap();
        std::fs::write(p.join("etc/config/a"), "old\n").unwrap();
        std::fs::write(p.join("etc/x/f"), "old f\n").unwrap();
        let mut j = Journal::begin(
            &r,
            "wan",
            "test",
            Value::Null,
            vec![
                Change {
                    path: "/etc/x/f".into(),
                    after: Some(b"new f\n".to_vec()),
                },
                Change {
                    path: "/etc/config/a".into(),
                    after: Some(b"new\n".to_vec()),
                },
            ],
            &[],
        )
        .unwrap();
        j.commit().unwrap();
        // The first file cannot be restored (its directory became a file): the second still is.
        std::fs::remove_dir_all(p.join("etc/x")).unwrap();
        std::fs::write(p.join("etc/x"), "blocker").unwrap();
        let errors = j.roll_back("apply failed");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("/etc/x/f"));
        assert_eq!(std::fs::read(p.join("etc/config/a")).unwrap(), b"old\n");
        let _ = std::fs::remove_dir_all(p);
    }
}
