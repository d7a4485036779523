//! The diagnostic bundle (DESIGN §6, issue 15): text sections about the router, each redacted
//! (`crate::redact`), written as a gzip tar built in process, then re-read and re-scanned as a
//! whole; any finding refuses (deletes) the bundle.
//!
//! This is the system layer: it reads files under the root and runs commands only through the
//! runner, with short deadlines bounded by the job's. The action (`actions::diag`) decides when a
//! bundle is built, fetched or cancelled.
//!
//! Files: `<root>/tmp/jammonitor/` (mode 0700, ours, not a symlink) holds
//! `bundle-<32 hex>.tar.gz` (mode 0600, created exclusively, never following links), written as
//! `….part` first. A bundle is removed after its download or after [`KEEP`], whichever is first
//! (a detached reaper process, and every diag request, enforce it). Sizes are capped: a section at
//! [`SECTION_CAP`] (cut at a line, with a note), the compressed bundle at [`BUNDLE_CAP`].

pub mod sections;

use crate::redact;
use crate::system::Root;
use crate::system::runner::{self, Cmd, RunError};
use serde::Serialize;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DIR: &str = "/tmp/jammonitor";
pub const KEEP: Duration = Duration::from_secs(3600);
pub const SECTION_CAP: usize = 1 << 20;
pub const BUNDLE_CAP: u64 = 16 << 20;

/// A section as listed in the job's progress and result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SectionInfo {
    /// File name inside the bundle, e.g. `01_system.txt`.
    pub file: String,
    pub title: String,
    /// `pending`, `running`, `ok`, `partial` (some sources missing or failed), `missing` (no
    /// source exists on this router), `failed`.
    pub status: String,
    pub bytes: u64,
    /// Why a section is partial, missing or failed (first reasons), else empty.
    pub note: String,
}

/// What a section collector gets: the root, the time it may use, and what earlier sections left
/// for later ones (the errors summary reads the syslog and dmesg texts).
pub struct Env<'a> {
    pub root: &'a Root,
    pub deadline: Instant,
    pub syslog: Option<String>,
    pub dmesg: Option<String>,
}

impl Env<'_> {
    /// A command deadline: `want`, but never past the job's (less a margin to write the result).
    pub fn budget(&self, want: Duration) -> Duration {
        want.min(
            self.deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(Duration::from_secs(3)),
        )
    }
}

/// One section being written: its text, its sources and how each went.
pub struct Out {
    pub body: String,
    sources: Vec<String>,
    ok: usize,
    missing: usize,
    failed: usize,
    notes: Vec<String>,
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}

impl Out {
    pub fn new() -> Out {
        Out {
            body: String::new(),
            sources: Vec::new(),
            ok: 0,
            missing: 0,
            failed: 0,
            notes: Vec::new(),
        }
    }

    fn heading(&mut self, h: &str) {
        if !self.body.is_empty() {
            self.body.push('\n');
        }
        self.body.push_str("## ");
        self.body.push_str(h);
        self.body.push('\n');
    }

    fn push_text(&mut self, t: &str) {
        self.body.push_str(t);
        if !t.is_empty() && !t.ends_with('\n') {
            self.body.push('\n');
        }
    }

    pub fn source_ok(&mut self, src: &str, text: &str) {
        self.sources.push(src.to_string());
        self.ok += 1;
        self.heading(src);
        self.push_text(text);
    }

    pub fn source_missing(&mut self, src: &str, why: &str) {
        self.sources.push(src.to_string());
        self.missing += 1;
        self.heading(&format!("{src}: missing ({why})"));
        if self.notes.len() < 3 {
            self.notes.push(format!("{src}: {why}"));
        }
    }

    pub fn source_failed(&mut self, src: &str, why: &str) {
        self.sources.push(src.to_string());
        self.failed += 1;
        self.heading(&format!("{src}: failed ({why})"));
        if self.notes.len() < 3 {
            self.notes.push(format!("{src} failed: {why}"));
        }
    }

    /// Free text of ours under a heading (derived data: summaries, per-WAN tables).
    pub fn text(&mut self, heading: &str, text: &str) {
        self.heading(heading);
        self.push_text(text);
    }

    /// A file under the root, whole (capped).
    pub fn file(&mut self, root: &Root, path: &str) -> Option<String> {
        match root.read(path, SECTION_CAP) {
            Ok(t) => {
                self.source_ok(path, &t);
                Some(t)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.source_missing(path, "no such file");
                None
            }
            Err(e) => {
                self.source_failed(path, &e.to_string());
                None
            }
        }
    }

    /// The last `n` lines of a file.
    pub fn file_tail(&mut self, root: &Root, path: &str, n: usize) -> Option<String> {
        match root.read(path, 8 * SECTION_CAP) {
            Ok(t) => {
                let t = tail(&t, n);
                self.source_ok(&format!("{path} (last {n} lines)"), &t);
                Some(t)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.source_missing(path, "no such file");
                None
            }
            Err(e) => {
                self.source_failed(path, &e.to_string());
                None
            }
        }
    }

    /// Small sysfs/procfs values, one `path: value` line each, under one heading.
    pub fn values(&mut self, root: &Root, heading: &str, paths: &[String]) {
        let mut t = String::new();
        for p in paths {
            if let Some(v) = root.read_line(p) {
                t.push_str(&format!("{p}: {v}\n"));
            }
        }
        if t.is_empty() {
            self.source_missing(heading, "none present");
        } else {
            self.source_ok(heading, &t);
        }
    }

    /// A command through the runner: missing when the program is not installed, failed with the
    /// reason (exit code and stderr, or the deadline), else its output.
    pub fn cmd(
        &mut self,
        env: &Env,
        program: &'static str,
        args: &[&str],
        want: Duration,
    ) -> Option<String> {
        self.cmd_with(env, Cmd::new(program, args), want, SECTION_CAP)
    }

    pub fn cmd_with(&mut self, env: &Env, cmd: Cmd, want: Duration, cap: usize) -> Option<String> {
        let shown = cmd.display();
        if !env.root.path(cmd.program).exists() {
            self.source_missing(&shown, &format!("{} is not installed", cmd.program));
            return None;
        }
        let budget = env.budget(want);
        if budget.is_zero() {
            self.source_failed(&shown, "no time left before the job's deadline");
            return None;
        }
        match run_cmd(env.root, cmd.deadline(budget).stdout_cap(cap)) {
            Ok(t) => {
                self.source_ok(&shown, &t);
                Some(t)
            }
            Err(why) => {
                self.source_failed(&shown, &why);
                None
            }
        }
    }

    /// The section's status word and note.
    pub fn status(&self) -> (&'static str, String) {
        let s = if self.failed == 0 && self.missing == 0 {
            "ok"
        } else if self.ok == 0 && self.failed == 0 {
            "missing"
        } else if self.ok == 0 {
            "failed"
        } else {
            "partial"
        };
        (s, self.notes.join("; "))
    }

    /// The file text: first line names the sources, then the body.
    pub fn render(&self, title: &str) -> String {
        let mut t = format!(
            "# source: {}\n# section: {title}\n\n",
            if self.sources.is_empty() {
                "(none)".to_string()
            } else {
                self.sources.join(", ")
            }
        );
        t.push_str(&self.body);
        t
    }
}

/// Runs a command; `Err(reason)` unless it exits 0.
pub fn run_cmd(root: &Root, cmd: Cmd) -> Result<String, String> {
    match runner::run(root, &cmd) {
        Ok(o) if o.success() => Ok(o.stdout_str()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let out = String::from_utf8_lossy(&o.stdout);
            // stderr's first line; a program that explains on stdout (ping's "100% packet
            // loss") gives its last line instead.
            let first = err
                .lines()
                .find(|l| !l.trim().is_empty())
                .or_else(|| out.lines().rev().find(|l| !l.trim().is_empty()))
                .unwrap_or("")
                .trim();
            let mut why = match o.code {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".into(),
            };
            if !first.is_empty() {
                why.push_str(": ");
                why.push_str(&first.chars().take(200).collect::<String>());
            }
            Err(why)
        }
        Err(RunError::Timeout) => Err(format!(
            "killed at its {} s deadline",
            cmd.deadline.as_secs_f64().ceil()
        )),
        Err(e) => Err(e.to_string()),
    }
}

pub fn tail(t: &str, n: usize) -> String {
    let lines: Vec<&str> = t.lines().collect();
    let from = lines.len().saturating_sub(n);
    let mut s = lines[from..].join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// Cuts a text at [`SECTION_CAP`] on a line boundary, saying so.
pub fn cap_text(mut t: String) -> String {
    if t.len() <= SECTION_CAP {
        return t;
    }
    let mut cut = SECTION_CAP - 100;
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(nl) = t[..cut].rfind('\n') {
        cut = nl + 1;
    }
    t.truncate(cut);
    t.push_str(&format!(
        "[cut: the section is capped at {} bytes]\n",
        SECTION_CAP
    ));
    t
}

// ------------------------------------------------------------------------------------------------
// The bundle directory and files

/// `<root>/tmp/jammonitor`, made 0700 if absent; refused if it is a link, not a directory, or
/// not ours (someone else could read or swap the bundle).
pub fn bundle_dir(root: &Root) -> Result<PathBuf, String> {
    let dir = root.path(DIR);
    if let Some(parent) = dir.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {DIR}: {e}")),
    }
    let m = std::fs::symlink_metadata(&dir).map_err(|e| format!("{DIR}: {e}"))?;
    if !m.file_type().is_dir() {
        return Err(format!(
            "{DIR} is not a directory (a link?): refusing to use it"
        ));
    }
    if m.uid() != nix::unistd::geteuid().as_raw() {
        return Err(format!("{DIR} belongs to another user: refusing to use it"));
    }
    if m.mode() & 0o077 != 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("{DIR}: {e}"))?;
    }
    Ok(dir)
}

/// 128 random bits as hex (the bundle's name).
pub fn random_name() -> Result<String, String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| format!("no randomness for the bundle name: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A bundle file name we made: `bundle-<32 hex>.tar.gz`.
pub fn valid_bundle_name(n: &str) -> bool {
    n.strip_prefix("bundle-")
        .and_then(|r| r.strip_suffix(".tar.gz"))
        .is_some_and(|h| {
            h.len() == 32
                && h.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        })
}

/// Removes bundles older than [`KEEP`], and unfinished `.part` files when `no_job_running`.
pub fn cleanup(root: &Root, no_job_running: bool) {
    let Ok(rd) = std::fs::read_dir(root.path(DIR)) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(m) = e.metadata() else { continue };
        let old = m
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a >= KEEP);
        let part = name.starts_with("bundle-") && name.ends_with(".part");
        if (valid_bundle_name(&name) && old) || (part && (no_job_running || old)) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A detached process that removes `path` at `expires` (or ends as soon as it is gone): the
/// hour-long life of a bundle does not depend on anyone asking again.
pub fn spawn_reaper(path: &Path, keep: Duration) {
    // SAFETY: the job worker is single-threaded here; the children run only our code and _exit.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            if let Ok(nix::unistd::ForkResult::Child) = unsafe { nix::unistd::fork() } {
                crate::jobs::detach_stdio();
                close_fds_from(3);
                let until = Instant::now() + keep;
                while Instant::now() < until && path.exists() {
                    std::thread::sleep(
                        Duration::from_secs(5).min(until - Instant::now().min(until)),
                    );
                }
                let _ = std::fs::remove_file(path);
            }
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            let _ = nix::sys::wait::waitpid(child, None);
        }
        Err(_) => {}
    }
}

/// Closes every descriptor from `first` up (the reaper must not hold the job's lock).
fn close_fds_from(first: i32) {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter(|&fd| fd >= first)
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        // SAFETY: closing descriptors of this single-threaded process that nothing else uses.
        unsafe {
            libc::close(fd);
        }
    }
}

/// Counts bytes written and refuses past the cap.
struct Capped<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > BUNDLE_CAP {
            return Err(std::io::Error::other(format!(
                "the bundle would exceed its cap of {} MiB",
                BUNDLE_CAP >> 20
            )));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The gzip tar being written.
pub struct Writer {
    tar: tar::Builder<flate2::write::GzEncoder<Capped<std::fs::File>>>,
    pub part: PathBuf,
    pub name: String,
    mtime: u64,
}

impl Writer {
    /// Creates `<dir>/bundle-<random>.tar.gz.part`, 0600, exclusively.
    pub fn create(dir: &Path) -> Result<Writer, String> {
        let name = format!("bundle-{}.tar.gz", random_name()?);
        let part = dir.join(format!("{name}.part"));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&part)
            .map_err(|e| format!("cannot create the bundle file: {e}"))?;
        let gz = flate2::write::GzEncoder::new(
            Capped {
                inner: f,
                written: 0,
            },
            flate2::Compression::default(),
        );
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(Writer {
            tar: tar::Builder::new(gz),
            part,
            name,
            mtime,
        })
    }

    /// Adds one text file (directory `jammonitor-diag/`).
    pub fn add(&mut self, file: &str, text: &str) -> Result<(), String> {
        let mut h = tar::Header::new_ustar();
        h.set_size(text.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        self.tar
            .append_data(&mut h, format!("jammonitor-diag/{file}"), text.as_bytes())
            .map_err(|e| format!("writing {file}: {e}"))
    }

    /// Finishes the archive; returns its size.
    pub fn finish(self) -> Result<u64, String> {
        let gz = self
            .tar
            .into_inner()
            .map_err(|e| format!("finishing the bundle: {e}"))?;
        let capped = gz
            .finish()
            .map_err(|e| format!("finishing the bundle: {e}"))?;
        capped
            .inner
            .sync_all()
            .map_err(|e| format!("finishing the bundle: {e}"))?;
        Ok(capped.written)
    }
}

/// Re-reads a finished bundle and scans every file in it with the redaction detectors.
/// `Err` names the first finding (file, line, detector) — never the text.
pub fn rescan(path: &Path) -> Result<(), String> {
    let f = std::fs::File::open(path).map_err(|e| format!("re-reading the bundle: {e}"))?;
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f.take(BUNDLE_CAP)));
    let entries = ar
        .entries()
        .map_err(|e| format!("re-reading the bundle: {e}"))?;
    for e in entries {
        let mut e = e.map_err(|e| format!("re-reading the bundle: {e}"))?;
        let name = e
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = name.rsplit('/').next().unwrap_or(&name).to_string();
        let mut buf = Vec::new();
        (&mut e)
            .take(8 * SECTION_CAP as u64)
            .read_to_end(&mut buf)
            .map_err(|e| format!("re-reading {file}: {e}"))?;
        let text = String::from_utf8_lossy(&buf);
        if let Some(f) = redact::scan(&text).first() {
            return Err(format!(
                "refused: {file} line {} still holds a secret-shaped value ({}); the bundle was deleted",
                f.line, f.detector
            ));
        }
    }
    Ok(())
}

/// What a finished build gives.
pub struct Built {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sections: Vec<SectionInfo>,
}

/// Builds the bundle: every section in order (progress reported through `on_progress` after each
/// one), redacted, written; then the re-scan. On any error, nothing is left behind.
pub fn build(
    root: &Root,
    deadline: Instant,
    list: &[sections::Section],
    mut on_progress: impl FnMut(&[SectionInfo], usize),
) -> Result<Built, String> {
    let dir = bundle_dir(root)?;
    let mut w = Writer::create(&dir)?;
    let part = w.part.clone();
    let result = (|| {
        let mut infos: Vec<SectionInfo> = list
            .iter()
            .map(|s| SectionInfo {
                file: s.file.to_string(),
                title: s.title.to_string(),
                status: "pending".into(),
                bytes: 0,
                note: String::new(),
            })
            .collect();
        let mut env = Env {
            root,
            deadline,
            syslog: None,
            dmesg: None,
        };
        for (i, s) in list.iter().enumerate() {
            infos[i].status = "running".into();
            on_progress(&infos, i);
            let out = (s.collect)(&mut env);
            let (status, note) = out.status();
            let text = cap_text(redact::redact(&out.render(s.title)));
            w.add(s.file, &text)?;
            infos[i].status = status.into();
            infos[i].note = redact::redact(&note);
            infos[i].bytes = text.len() as u64;
        }
        let mut manifest = String::from(
            "# source: this bundle (JamMonitor diagnostic bundle manifest)\n# section: manifest\n\n",
        );
        manifest.push_str(&format!(
            "jammonitor {}\nsecrets removed as described in docs/redaction.md; every file re-scanned\n\n",
            env!("CARGO_PKG_VERSION")
        ));
        for s in &infos {
            manifest.push_str(&format!(
                "{:<22} {:<8} {:>9} bytes  {}{}\n",
                s.file,
                s.status,
                s.bytes,
                s.title,
                if s.note.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", s.note)
                }
            ));
        }
        w.add("00_manifest.txt", &redact::redact(&manifest))?;
        on_progress(&infos, list.len());
        let name = w.name.clone();
        let size = w.finish()?;
        rescan(&part)?;
        let path = dir.join(&name);
        std::fs::rename(&part, &path).map_err(|e| format!("cannot finish the bundle: {e}"))?;
        Ok(Built {
            name,
            path,
            size,
            sections: infos,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}
