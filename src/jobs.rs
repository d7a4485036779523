//! Detached background jobs (DESIGN §3): anything slower than a CGI may be (format, speed test,
//! diagnostics bundle, update) runs outside the request. The CGI:
//! 1. takes the job kind's lock (one job of a kind at a time; a second start is 409),
//! 2. writes the job file `/var/run/jammonitor/jobs/<id>.json` (state `running`),
//! 3. double-forks: the first child calls setsid and exits at once (reaped by the CGI, so no
//!    zombie and no tie to uhttpd's process group); the grandchild is the *supervisor*: stdio on
//!    /dev/null (uhttpd waits for stdout to close), it forks the *worker* into its own process
//!    group and enforces the job's deadline (SIGKILL to the worker's group, job marked failed),
//! 4. answers with the job id at once. The page polls `GET job?id=`.
//!
//! The worker runs a Rust closure with a [`Progress`] handle; commands it starts go through the
//! runner with at most [`Progress::remaining`] as their deadline, so none outlives the job. The
//! kind lock is an flock inherited by supervisor and worker: it is released when both are gone,
//! however they end. Job files older than a day are removed when a new job starts.

use crate::error::{ApiError, ApiResult};
use crate::system::Root;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, setsid};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const JOBS_DIR: &str = "/var/run/jammonitor/jobs";
/// Extra time the supervisor grants past the deadline before killing (the worker's own command
/// deadlines end first; this catches a worker stuck in its own code).
const GRACE: Duration = Duration::from_secs(5);
const KEEP_FINISHED: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobFile {
    pub id: String,
    pub kind: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// What the job is doing now (job-specific words, e.g. `checking`, `formatting`).
    pub phase: String,
    /// 0–100 when known.
    pub pct: Option<f64>,
    pub message: Option<String>,
    /// Job-specific live data (bytes so far, Mbit/s …).
    pub detail: Value,
    /// The result when `done`.
    pub result: Value,
    /// Why it failed when `failed`.
    pub error: Option<String>,
    /// For a failed write: the API error it would have answered (code, status, field), so the
    /// page can show it like a direct answer (a field error under the dialog's input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_field: Option<String>,
    pub started_at: f64,
    pub updated_at: f64,
    pub deadline_at: f64,
    pub finished_at: Option<f64>,
    /// The supervisor's pid (to tell a running job from one whose processes vanished).
    pub pid: Option<i32>,
}

use crate::system::clock::now_epoch as now;

pub fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 16
        && kind.as_bytes()[0].is_ascii_lowercase()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `<kind>-<unix time>-<8 hex>`.
pub fn valid_id(id: &str) -> bool {
    let mut parts = id.rsplitn(3, '-');
    let (Some(rand), Some(ts), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    rand.len() == 8
        && rand
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && !ts.is_empty()
        && ts.len() <= 12
        && ts.bytes().all(|b| b.is_ascii_digit())
        && valid_kind(kind)
}

fn job_path(root: &Root, id: &str) -> PathBuf {
    root.path(JOBS_DIR).join(format!("{id}.json"))
}

fn write_file(path: &std::path::Path, job: &JobFile) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(job).unwrap_or_default())?;
    std::fs::rename(&tmp, path)
}

/// 8 random hex digits (ids of jobs, journals and databases).
pub fn random_hex() -> String {
    let mut b = [0u8; 4];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok();
    if !ok {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = (t ^ std::process::id().rotate_left(16)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The worker's handle on its job file.
pub struct Progress {
    path: PathBuf,
    job: JobFile,
    deadline: Instant,
}

impl Progress {
    pub fn id(&self) -> &str {
        &self.job.id
    }

    /// Moves to a new phase (and writes the file).
    pub fn phase(&mut self, phase: &str, pct: Option<f64>, message: &str) {
        self.job.phase = phase.to_string();
        self.job.pct = pct;
        self.job.message = Some(message.to_string());
        self.save();
    }

    /// Replaces the live detail (and writes the file).
    pub fn detail(&mut self, detail: Value) {
        self.job.detail = detail;
        self.save();
    }

    /// Records the API error behind a failure that is about to be returned (see
    /// [`JobFile::error_code`]).
    pub fn error_detail(&mut self, e: &ApiError) {
        self.job.error_code = Some(e.code.to_string());
        self.job.error_status = Some(e.status);
        self.job.error_field = e.field.clone();
    }

    /// Time left before the job's deadline: give commands at most this.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn save(&mut self) {
        self.job.updated_at = now();
        let _ = write_file(&self.path, &self.job);
    }

    fn finish(&mut self, outcome: Result<Value, String>) {
        let t = now();
        self.job.finished_at = Some(t);
        match outcome {
            Ok(v) => {
                self.job.state = "done".into();
                self.job.pct = Some(100.0);
                self.job.result = v;
            }
            Err(e) => {
                self.job.state = "failed".into();
                self.job.error = Some(e);
            }
        }
        self.save();
    }
}

/// Starts `work` as a detached job of `kind` with `deadline`. Returns the job file as first
/// written (state `running`). 409 when a job of this kind is already running.
pub fn start<F>(root: &Root, kind: &str, deadline: Duration, work: F) -> ApiResult<JobFile>
where
    F: FnOnce(&mut Progress) -> Result<Value, String>,
{
    start_opts(
        root,
        Options {
            kind,
            deadline,
            exclusive: true,
            id: None,
        },
        work,
        None::<(Duration, fn(&mut Progress) -> Result<Value, String>)>,
    )
}

/// Is a job of an exclusive `kind` running? Its lock (`<kind>.lock`, held by the job for its
/// whole life, released by the kernel when it dies) cannot be taken shared.
pub fn kind_running(root: &Root, kind: &str) -> bool {
    crate::system::lock::held_at(&root.path(JOBS_DIR).join(format!("{kind}.lock")))
}

/// How a job runs.
pub struct Options<'a> {
    pub kind: &'a str,
    pub deadline: Duration,
    /// One job of this kind at a time (a second start is 409). Journaled writes pass false:
    /// they serialize on their area lock instead, waiting their turn.
    pub exclusive: bool,
    /// Reuse this id (a recovery continuing the job the page already follows).
    pub id: Option<String>,
}

/// [`start`] with options, and an optional `recover` step: when the worker dies without
/// finishing (killed, or stopped at its deadline), the supervisor runs `recover` in a new worker
/// with its own deadline, and its outcome is the job's. Journaled writes use it to roll their
/// journal forward or back at once rather than at the next request.
pub fn start_opts<F, R>(
    root: &Root,
    o: Options,
    work: F,
    recover: Option<(Duration, R)>,
) -> ApiResult<JobFile>
where
    F: FnOnce(&mut Progress) -> Result<Value, String>,
    R: FnOnce(&mut Progress) -> Result<Value, String>,
{
    let recover = recover.map(|(d, r)| (d, Box::new(r) as Work));
    start_boxed(root, o, Box::new(work), recover)
}

/// A job's work, boxed: the fork/supervise/worker machinery below is compiled once, not once
/// per kind of job (monomorphized, it was 130 kB of the shipped binary).
type Work<'a> = Box<dyn FnOnce(&mut Progress) -> Result<Value, String> + 'a>;

fn start_boxed(
    root: &Root,
    o: Options,
    work: Work,
    recover: Option<(Duration, Work)>,
) -> ApiResult<JobFile> {
    let kind = o.kind;
    if !valid_kind(kind) {
        return Err(ApiError::internal(format!("invalid job kind {kind:?}")));
    }
    let dir = root.path(JOBS_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let lock = if o.exclusive {
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{kind}.lock")))
            .map_err(|e| ApiError::internal(format!("job lock: {e}")))?;
        Some(
            Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|_| {
                ApiError::conflict(format!(
                    "a {kind} job is already running; wait for it to finish"
                ))
            })?,
        )
    } else {
        None
    };
    cleanup(&dir);

    let started = now();
    let id = match o.id {
        Some(id) if valid_id(&id) => id,
        _ => format!("{kind}-{}-{}", started as u64, random_hex()),
    };
    let deadline = o.deadline;
    let job = JobFile {
        id: id.clone(),
        kind: kind.to_string(),
        state: "running".into(),
        phase: "starting".into(),
        pct: None,
        message: None,
        detail: Value::Null,
        result: Value::Null,
        error: None,
        error_code: None,
        error_status: None,
        error_field: None,
        started_at: started,
        updated_at: started,
        deadline_at: started + deadline.as_secs_f64(),
        finished_at: None,
        pid: None,
    };
    let path = job_path(root, &id);
    write_file(&path, &job)
        .map_err(|e| ApiError::internal(format!("cannot write job file: {e}")))?;

    // SAFETY: the CGI is single-threaded; the children only run our own code and _exit.
    match unsafe { fork() } {
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(ApiError::internal(format!(
                "cannot start the job: fork: {e}"
            )))
        }
        Ok(ForkResult::Parent { child }) => {
            // The first child exits right after its own fork.
            let _ = waitpid(child, None);
            // Dropping the Flock would LOCK_UN the open file description the job shares with
            // us, releasing the job's lock: close nothing here, the fd goes when the CGI exits.
            std::mem::forget(lock);
            Ok(job)
        }
        Ok(ForkResult::Child) => {
            let _ = setsid();
            // SAFETY: as above.
            match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    let snapshot = root.path(crate::store::snapshot::SNAPSHOT);
                    supervise(snapshot, path, job, deadline, work, recover);
                    unsafe { libc::_exit(0) }
                }
                _ => unsafe { libc::_exit(0) },
            }
        }
    }
}

/// Points stdin/stdout/stderr at /dev/null (detached jobs and the daemonized collector).
pub fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto the standard descriptors of this (single-threaded) process.
        unsafe {
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(null.as_raw_fd(), 1);
            libc::dup2(null.as_raw_fd(), 2);
        }
    }
}

/// How a worker process ended.
enum End {
    /// It wrote its outcome to the job file.
    Finished,
    /// It died without writing one (killed, crashed).
    Died(String),
    /// The supervisor stopped it at the deadline.
    Deadline,
    /// `cancel` stopped it.
    Cancelled,
}

/// Forks a worker (own process group) running `f`, waits for it, kills its group at
/// `deadline` + grace. The worker writes its outcome to the job file itself.
fn run_worker(path: &std::path::Path, job: &JobFile, deadline: Duration, f: Work) -> End {
    let t0 = Instant::now();
    // SAFETY: single-threaded process (see start).
    let worker = match unsafe { fork() } {
        Err(e) => return End::Died(format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
            let mut p = Progress {
                path: path.to_path_buf(),
                job: read_file(path).unwrap_or_else(|| job.clone()),
                deadline: t0 + deadline,
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut p)))
                .unwrap_or_else(|_| Err("internal error in the job".into()));
            p.finish(outcome);
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Parent { child }) => child,
    };
    let _ = nix::unistd::setpgid(worker, worker);
    let status = loop {
        match waitpid(worker, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(s) => break Some(s),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break None,
        }
        // `cancel` asked for the job to stop: the worker and its commands go at once.
        let flag = path.with_extension("cancel");
        if flag.exists() {
            kill_job(worker);
            let _ = waitpid(worker, None);
            let _ = std::fs::remove_file(&flag);
            return End::Cancelled;
        }
        if t0.elapsed() > deadline + GRACE {
            kill_job(worker);
            let _ = waitpid(worker, None);
            return End::Deadline;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Anything the worker left behind in its group goes with it. (Not the whole session: a job
    // that ended normally may have started a service on purpose.)
    let _ = killpg(worker, Signal::SIGKILL);
    match read_file(path) {
        Some(j) if j.state != "running" => End::Finished,
        _ => End::Died(format!("{status:?}")),
    }
}

/// Runs the job to its end, then drops the Overview snapshot: a job may have changed what it
/// shows (bypass, WAN writes), so the next request builds (store::snapshot).
fn supervise(
    snapshot: PathBuf,
    path: PathBuf,
    job: JobFile,
    deadline: Duration,
    work: Work,
    recover: Option<(Duration, Work)>,
) {
    supervise_job(path, job, deadline, work, recover);
    crate::store::snapshot::invalidate_path(&snapshot);
}

fn supervise_job(
    path: PathBuf,
    mut job: JobFile,
    deadline: Duration,
    work: Work,
    recover: Option<(Duration, Work)>,
) {
    detach_stdio();
    std::panic::set_hook(Box::new(|_| {}));
    job.pid = Some(std::process::id() as i32);
    let _ = write_file(&path, &job);
    let why = match run_worker(&path, &job, deadline, work) {
        End::Finished => return,
        End::Deadline => format!(
            "stopped: the job's deadline of {} s passed",
            deadline.as_secs()
        ),
        End::Died(s) => format!("the job ended unexpectedly ({s})"),
        // A cancelled write still has its journal finished by the recovery step.
        End::Cancelled if recover.is_some() => "cancelled".to_string(),
        End::Cancelled => {
            let mut p = Progress {
                path: path.clone(),
                job: read_file(&path).unwrap_or(job),
                deadline: Instant::now(),
            };
            p.job.phase = "cancelled".into();
            p.finish(Err("cancelled".into()));
            return;
        }
    };
    if let Some((d, r)) = recover {
        let mut cur = read_file(&path).unwrap_or(job.clone());
        cur.phase = "recovering".into();
        cur.message = Some(format!("{why}; recovering"));
        cur.deadline_at = now() + d.as_secs_f64();
        let _ = write_file(&path, &cur);
        let why2 = match run_worker(&path, &cur, d, r) {
            End::Finished => return,
            End::Deadline => format!("recovery stopped at its deadline of {} s", d.as_secs()),
            End::Died(s) => format!("recovery ended unexpectedly ({s})"),
            End::Cancelled => "recovery cancelled".to_string(),
        };
        let mut p = Progress {
            path: path.clone(),
            job: read_file(&path).unwrap_or(cur),
            deadline: Instant::now(),
        };
        p.finish(Err(format!("{why}; {why2}")));
        return;
    }
    let mut p = Progress {
        path: path.clone(),
        job: read_file(&path).unwrap_or(job),
        deadline: Instant::now(),
    };
    p.finish(Err(why));
}

/// Kills the worker's process group and every other process of the job's session (the runner
/// starts each command in a group of its own, so the group alone would let a hung command
/// outlive a cancel or the deadline). The supervisor itself is spared; a process that called
/// setsid (a bundle's reaper) is no longer part of the job.
fn kill_job(worker: Pid) {
    let _ = killpg(worker, Signal::SIGKILL);
    let me = std::process::id() as i32;
    let Ok(sid) = nix::unistd::getsid(None) else {
        return;
    };
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp session …: comm may hold spaces, so split after ')'.
        let session = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(3))
            .and_then(|s| s.parse::<i32>().ok());
        if session == Some(sid.as_raw()) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn read_file(path: &std::path::Path) -> Option<JobFile> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn cleanup(dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a > KEEP_FINISHED);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Asks a running job to stop: its supervisor kills the worker's process group (with every
/// command it started) within ~50 ms and marks the job failed, phase `cancelled`. Waits up to 2 s
/// for that and returns the job file as it then is. 409 when the job already ended.
pub fn cancel(root: &Root, id: &str) -> ApiResult<JobFile> {
    let job = read(root, id)?;
    if job.state != "running" {
        return Err(ApiError::conflict(format!(
            "the job already ended ({})",
            job.state
        )));
    }
    let flag = job_path(root, id).with_extension("cancel");
    std::fs::write(&flag, b"").map_err(|e| ApiError::internal(format!("cannot cancel: {e}")))?;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
        let now = read(root, id)?;
        if now.state != "running" {
            let _ = std::fs::remove_file(&flag);
            return Ok(now);
        }
    }
    read(root, id)
}

/// The job's current file. A job marked running whose supervisor is gone is reported failed.
pub fn read(root: &Root, id: &str) -> ApiResult<JobFile> {
    if !valid_id(id) {
        return Err(ApiError::field("id", "is not a job id"));
    }
    let path = job_path(root, id);
    let mut job = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice::<JobFile>(&b)
            .map_err(|e| ApiError::internal(format!("job file: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("no such job"));
        }
        Err(e) => return Err(ApiError::internal(format!("job file: {e}"))),
    };
    if job.state == "running" {
        let alive = job
            .pid
            .is_some_and(|p| nix::sys::signal::kill(Pid::from_raw(p), None).is_ok());
        let stale = match job.pid {
            Some(_) => !alive,
            None => now() - job.started_at > 10.0,
        };
        if stale {
            job.state = "failed".into();
            job.error =
                Some("the job's process is gone (router rebooted or process killed)".into());
        }
    }
    Ok(job)
}
