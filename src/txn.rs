//! The shape of every configuration write (DESIGN §6), crash-safe: validate, lock, stage with the
//! real `uci` in a private sandbox, verify, journal, commit, apply as a background job, and on
//! any failure roll back byte for byte and re-apply the old state. A SIGKILL at any instant (the
//! CGI by uhttpd when the client goes away, the job, a reboot) ends with the configs exactly
//! before or exactly after, and the running system following them (docs/journal.md).
//!
//! - Staging: the configs are copied to `/var/run/jammonitor/stage/<area>/config/` under the name
//!   `jmstage_<config>`, and `uci -c <that dir> -t <its own save dir>` runs the batch and the
//!   commit there. Because of the renamed package, no delta in /tmp/.uci (LuCI's unsaved
//!   changes, other tools') is ever read, committed or reverted by us: uci keeps its default
//!   save dir in the search path whatever `-t` says. The result is the exact bytes the real
//!   `uci commit` writes, known before anything changes.
//! - Journal ([`crate::journal`]): intent, params, before/after bytes of every file, kernel values
//!   to restore; then the files are installed and the journal marked committed.
//! - Apply: the action's [`ApplyFn`], which reads the committed configs (so the same function
//!   re-applies the old state after a rollback) and is found by intent at recovery.
//!
//! A write runs entirely inside a detached job ([`start`]): the CGI validates, starts the job and
//! answers 202 with its id before anything changes, so a client that disconnects right after
//! sending still gets its write applied (or cleanly rolled back). The job waits for the area
//! lock (writes serialize), finishes any journal left by a killed predecessor, re-validates
//! against the configs as they are now, and goes. If the job's worker is killed, its supervisor
//! recovers the journal at once; if the whole job died (reboot), the next request or the
//! collector's start does ([`recover_pending`]).

use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, JobFile, Progress};
use crate::journal::{self, Change, Journal, Recovery};
use crate::system::Root;
use crate::system::lock;
use crate::system::uci::cli::Op;
use crate::system::uci::{self, Config, Uci};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// Makes the running system follow the committed configs (reload, ifup …). `params` is what
/// the write recorded for it. Run again after a rollback, so it must read the configs rather
/// than assume the new values.
pub type ApplyFn = fn(&Root, &Value) -> ApiResult<()>;

/// Apply steps by intent (the action table registers them: `actions::APPLIERS`).
pub type Appliers = &'static [(&'static str, ApplyFn)];

/// For writes whose configs nothing else reads at once.
pub fn apply_nothing(_: &Root, _: &Value) -> ApiResult<()> {
    Ok(())
}

/// Checks staged configs (see [`WritePlan::verify`]).
pub type Verify = Box<dyn Fn(&Staged) -> ApiResult<()>>;

/// What a write changes, decided under the lock from the configs as they are now.
pub struct WritePlan {
    /// UCI configs the ops touch.
    pub configs: Vec<&'static str>,
    pub ops: Vec<Op>,
    /// Checks the staged configs (as the real `uci show` reads them) hold what was asked.
    pub verify: Verify,
    /// Other files (router paths) written with the configs, e.g. a sysctl.d file.
    pub files: Vec<Change>,
    /// Kernel values (router paths under /proc/sys) restored on rollback.
    pub kernel: Vec<&'static str>,
    /// What the apply step needs.
    pub params: Value,
    /// The job's result once applied.
    pub result: Value,
}

impl WritePlan {
    pub fn new(configs: &[&'static str], ops: Vec<Op>) -> WritePlan {
        WritePlan {
            configs: configs.to_vec(),
            ops,
            verify: Box::new(|_| Ok(())),
            files: Vec::new(),
            kernel: Vec::new(),
            params: Value::Null,
            result: Value::Null,
        }
    }
}

/// A kind of write: its lock area, intent (action name), apply step, and job deadline.
#[derive(Clone, Copy)]
pub struct Write {
    pub area: &'static str,
    pub intent: &'static str,
    pub apply: ApplyFn,
    pub deadline: Duration,
}

/// Configs staged in the sandbox: what `uci commit` made of them.
pub struct Staged {
    root: Root,
    dir: PathBuf,
    bytes: Vec<(&'static str, Vec<u8>)>,
}

const STAGE_DIR: &str = "/var/run/jammonitor/stage";
const PREFIX: &str = "jmstage_";
/// How long a write waits for another one of the same area (its apply included).
const LOCK_WAIT: Duration = Duration::from_secs(150);
/// Deadline of the supervisor's recovery after a killed worker.
const RECOVER_DEADLINE: Duration = Duration::from_secs(180);

impl Staged {
    fn uci(&self) -> Uci<'_> {
        Uci::sandbox(&self.root, self.dir.join("config"), self.dir.join("save"))
    }

    /// The staged config as `uci show` reads it.
    pub fn show(&self, config: &str) -> ApiResult<Config> {
        self.uci().show(&format!("{PREFIX}{config}"))
    }

    /// The exact bytes `uci commit` produced for `config`.
    pub fn bytes(&self, config: &str) -> Option<&[u8]> {
        self.bytes
            .iter()
            .find(|(c, _)| *c == config)
            .map(|(_, b)| &b[..])
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `ops` on private copies of `configs` with the real `uci` and returns the result.
pub fn stage(root: &Root, area: &str, configs: &[&'static str], ops: &[Op]) -> ApiResult<Staged> {
    let dir = root.path(STAGE_DIR).join(area);
    let _ = std::fs::remove_dir_all(&dir);
    let mk = |d: &std::path::Path| {
        std::fs::create_dir_all(d)
            .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", d.display())))
    };
    mk(&dir.join("config"))?;
    mk(&dir.join("save"))?;
    let mut staged = Staged {
        root: root.clone(),
        dir,
        bytes: Vec::new(),
    };
    for c in configs {
        if !uci::valid_name(c) {
            return Err(ApiError::internal(format!("invalid config {c:?}")));
        }
        let cur = std::fs::read(root.path(&format!("/etc/config/{c}"))).unwrap_or_default();
        std::fs::write(staged.dir.join("config").join(format!("{PREFIX}{c}")), cur)
            .map_err(|e| ApiError::internal(format!("staging {c}: {e}")))?;
    }
    let renamed: Vec<Op> = ops
        .iter()
        .map(|op| {
            let re = |p: &String| -> ApiResult<String> {
                let c = p.split('.').next().unwrap_or("");
                if configs.contains(&c) {
                    Ok(format!("{PREFIX}{p}"))
                } else {
                    Err(ApiError::internal(format!(
                        "{p} is outside the configs of this write"
                    )))
                }
            };
            Ok(match op {
                Op::Set(p, v) => Op::Set(re(p)?, v.clone()),
                Op::AddList(p, v) => Op::AddList(re(p)?, v.clone()),
                Op::Delete(p) => Op::Delete(re(p)?),
            })
        })
        .collect::<ApiResult<_>>()?;
    let u = staged.uci();
    u.batch(&renamed)?;
    for c in configs {
        u.commit(&format!("{PREFIX}{c}"))?;
    }
    for c in configs {
        let b = std::fs::read(staged.dir.join("config").join(format!("{PREFIX}{c}")))
            .map_err(|e| ApiError::internal(format!("reading staged {c}: {e}")))?;
        staged.bytes.push((c, b));
    }
    Ok(staged)
}

fn appliers_find(appliers: Appliers, intent: &str) -> Option<ApplyFn> {
    appliers.iter().find(|(n, _)| *n == intent).map(|(_, f)| *f)
}

/// Applying failed (or the journal says it did): roll back, re-apply the old state, and say
/// exactly what happened. The journal closes only when every file is back.
fn fail_and_roll_back(
    mut j: Journal,
    apply: ApplyFn,
    cause: &str,
    p: Option<&mut Progress>,
) -> ApiError {
    if let Some(p) = p {
        p.phase(
            "rolling_back",
            None,
            "applying failed; restoring the previous settings",
        );
    }
    let params = j
        .record()
        .params
        .get("apply")
        .cloned()
        .unwrap_or(Value::Null);
    let errors = j.roll_back(cause);
    let reapply = apply(j.root(), &params);
    let msg = match (errors.is_empty(), reapply) {
        (true, Ok(())) => {
            let _ = j.close();
            format!("change rolled back: {cause}; the previous settings were re-applied")
        }
        (true, Err(e)) => {
            let _ = j.close();
            format!(
                "change rolled back: {cause}; but re-applying the previous settings failed: {}",
                e.message
            )
        }
        (false, r) => format!(
            "{cause}; rolling back failed ({}){}; it is retried at the next request",
            errors.join("; "),
            match r {
                Ok(()) => String::new(),
                Err(e) => format!(", and re-applying failed: {}", e.message),
            }
        ),
    };
    ApiError::new(500, "apply_failed", msg)
}

/// Commits and applies a planned write under the held lock. Returns the plan's result.
fn execute(
    root: &Root,
    w: Write,
    plan: WritePlan,
    mut p: Option<&mut Progress>,
) -> ApiResult<Value> {
    let staged = stage(root, w.area, &plan.configs, &plan.ops)?;
    (plan.verify)(&staged).map_err(|e| e.context("verification of the staged change failed"))?;
    let mut changes: Vec<Change> = plan
        .configs
        .iter()
        .map(|c| Change {
            path: format!("/etc/config/{c}"),
            after: staged.bytes(c).map(<[u8]>::to_vec),
        })
        .collect();
    drop(staged);
    changes.extend(plan.files);
    let params = json!({"apply": plan.params, "result": plan.result});
    let mut j = Journal::begin(root, w.area, w.intent, params, changes, &plan.kernel)?;
    if let Some(p) = p.as_deref_mut() {
        let _ = j.set_job(p.id());
        p.phase("committing", Some(30.0), "writing the configuration");
    }
    crate::crashpoint::hit(root, &format!("{}:prepared", w.intent));
    if let Err(e) = j.commit() {
        let errors = j.roll_back(&e.message);
        if errors.is_empty() {
            let _ = j.close();
        }
        return Err(e.context("committing the change failed; nothing was applied"));
    }
    crate::crashpoint::hit(root, &format!("{}:committed", w.intent));
    if let Some(p) = p.as_deref_mut() {
        p.phase("applying", Some(50.0), "applying the change to the router");
    }
    let apply_params = j.record().params["apply"].clone();
    let result = j.record().params["result"].clone();
    match (w.apply)(root, &apply_params) {
        Ok(()) => {
            crate::crashpoint::hit(root, &format!("{}:applied", w.intent));
            j.close()?;
            Ok(result)
        }
        Err(e) => Err(fail_and_roll_back(
            j,
            w.apply,
            &format!("applying the change failed: {}", e.message),
            p,
        )),
    }
}

/// Finishes whatever journal `area` has, under the held lock: `prepared` → rolled back;
/// `committed` → applied (rolled forward), or rolled back if that fails; `rolling_back` →
/// restored and the old state re-applied. `Ok(Some(result))` when a change was rolled forward,
/// `Ok(None)` when there was nothing to finish, `Err` saying what was rolled back.
pub fn recover_locked(
    root: &Root,
    area: &str,
    appliers: Appliers,
    p: Option<&mut Progress>,
) -> ApiResult<Option<Value>> {
    let cleanup = || {
        let _ = std::fs::remove_dir_all(root.path(STAGE_DIR).join(area));
    };
    cleanup();
    match journal::recover(root, area)? {
        Recovery::Clean => Ok(None),
        Recovery::RolledBack { id, errors } => {
            if errors.is_empty() {
                Err(ApiError::new(
                    500,
                    "interrupted",
                    format!(
                        "the change {id} was interrupted before it was committed; nothing was changed"
                    ),
                ))
            } else {
                Err(ApiError::internal(format!(
                    "the interrupted change {id} could not be fully rolled back: {}",
                    errors.join("; ")
                )))
            }
        }
        Recovery::NeedsApply(rec) => {
            let Some(apply) = appliers_find(appliers, &rec.intent) else {
                // A write of the synchronous API ([`Txn`]): its apply step was a closure of the
                // killed process, so the change cannot be finished: it is undone.
                let j = Journal::resume(root, rec);
                return Err(fail_and_roll_back(
                    j,
                    apply_nothing,
                    "the change was interrupted before it was applied",
                    p,
                ));
            };
            let j = Journal::resume(root, rec);
            let params = j.record().params["apply"].clone();
            let result = j.record().params["result"].clone();
            match apply(root, &params) {
                Ok(()) => {
                    j.close()?;
                    Ok(Some(result))
                }
                Err(e) => Err(fail_and_roll_back(
                    j,
                    apply,
                    &format!("applying the change failed: {}", e.message),
                    p,
                )),
            }
        }
        Recovery::NeedsReapply { rec, errors } => {
            let apply = appliers_find(appliers, &rec.intent).unwrap_or(apply_nothing);
            let cause = rec.error.clone().unwrap_or_else(|| "interrupted".into());
            let j = Journal::resume(root, rec);
            if errors.is_empty() {
                Err(fail_and_roll_back(j, apply, &cause, p))
            } else {
                Err(ApiError::internal(format!(
                    "{cause}; rolling back failed ({}); it is retried at the next request",
                    errors.join("; ")
                )))
            }
        }
    }
}

fn job_error(p: &mut Progress, e: ApiError) -> String {
    p.error_detail(&e);
    e.message
}

/// The job's recovery step (its supervisor runs it when the worker was killed).
fn recover_job(
    root: &Root,
    area: &str,
    appliers: Appliers,
    p: &mut Progress,
) -> Result<Value, String> {
    p.phase("recovering", None, "finishing the interrupted change");
    let _lock = lock::acquire(root, area, LOCK_WAIT).map_err(|e| job_error(p, e))?;
    match recover_locked(root, area, appliers, Some(p)) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(job_error(
            p,
            ApiError::new(
                500,
                "interrupted",
                "the change was interrupted before it was written; nothing was changed",
            ),
        )),
        Err(e) => Err(job_error(p, e)),
    }
}

/// Starts the write as a detached job and returns its file (the CGI answers 202 with it).
/// `plan` runs in the job, under the lock, against the configs as they are then; its errors
/// (a field refused because another tab changed the config meanwhile) fail the job with the
/// same code/field the CGI would have answered.
pub fn start<F>(root: &Root, w: Write, appliers: Appliers, plan: F) -> ApiResult<JobFile>
where
    F: FnOnce(&Root) -> ApiResult<WritePlan>,
{
    start_locking(root, w, &[], appliers, plan)
}

/// [`start`], also holding the locks `also` (taken after the area's, always in this order) for
/// the whole write: the VPS bypass excludes WAN writes while it changes the WAN roles.
pub fn start_locking<F>(
    root: &Root,
    w: Write,
    also: &'static [&'static str],
    appliers: Appliers,
    plan: F,
) -> ApiResult<JobFile>
where
    F: FnOnce(&Root) -> ApiResult<WritePlan>,
{
    let job_root = root.clone();
    let rec_root = root.clone();
    let area = w.area;
    jobs::start_opts(
        root,
        jobs::Options {
            kind: w.area,
            deadline: w.deadline,
            exclusive: false,
            id: None,
        },
        move |p| {
            let root = &job_root;
            p.phase("waiting", Some(5.0), "waiting for other changes to finish");
            let _lock = lock::acquire(root, area, LOCK_WAIT).map_err(|e| job_error(p, e))?;
            let _also = also
                .iter()
                .map(|a| lock::acquire(root, a, LOCK_WAIT))
                .collect::<ApiResult<Vec<_>>>()
                .map_err(|e| job_error(p, e))?;
            // A change a killed job left half done is finished first (its own job reports it).
            let _ = recover_locked(root, area, appliers, None);
            p.phase("checking", Some(10.0), "checking the change");
            let plan = plan(root).map_err(|e| job_error(p, e))?;
            execute(root, w, plan, Some(p)).map_err(|e| job_error(p, e))
        },
        Some((RECOVER_DEADLINE, move |p: &mut Progress| {
            recover_job(&rec_root, area, appliers, p)
        })),
    )
}

/// Runs the write in this process (no job): for writes whose apply step is quick and whose
/// caller answers synchronously (storage). The lock is taken here; a journal left by a killed
/// predecessor is finished first.
pub fn run_now<F>(root: &Root, w: Write, appliers: Appliers, plan: F) -> ApiResult<Value>
where
    F: FnOnce(&Root) -> ApiResult<WritePlan>,
{
    let _lock = lock::acquire(root, w.area, Duration::from_secs(10))?;
    let _ = recover_locked(root, w.area, appliers, None);
    let plan = plan(root)?;
    execute(root, w, plan, None)
}

/// On any request (after auth) and at collector start: finish journals that a killed process
/// left. A `prepared` one is rolled back at once (a few file writes); one that needs its apply
/// step gets a recovery job (reusing the id of the job the page follows). Areas whose lock is
/// held (a write in progress) are left alone. Cheap when there is nothing: one directory read.
pub fn recover_pending(root: &Root, appliers: Appliers) {
    // A sandbox a killed write left before it wrote its journal (nothing was changed yet).
    if let Ok(rd) = std::fs::read_dir(root.path(STAGE_DIR)) {
        for e in rd.flatten() {
            let area = e.file_name().to_string_lossy().into_owned();
            if !crate::jobs::valid_kind(&area)
                || root
                    .path(journal::DIR)
                    .join(format!("{area}.json"))
                    .exists()
            {
                continue;
            }
            if let Ok(_held) = lock::acquire(root, &area, Duration::ZERO) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    // A journal temp file of a write killed while writing its journal (nothing changed yet).
    for area in journal::temp_areas(root) {
        if journal::pending(root).contains(&area) {
            continue;
        }
        if let Ok(_held) = lock::acquire(root, &area, Duration::ZERO) {
            journal::clean_temps(root, &area);
        }
    }
    for area in journal::pending(root) {
        let Ok(held) = lock::acquire(root, &area, Duration::ZERO) else {
            continue;
        };
        let rec = match journal::open(root, &area) {
            Ok(Some(r)) => r,
            _ => continue,
        };
        if rec.state == journal::State::Prepared {
            let _ = recover_locked(root, &area, appliers, None);
            continue;
        }
        drop(held);
        let (r, a) = (root.clone(), area.clone());
        let _ = jobs::start_opts(
            root,
            jobs::Options {
                kind: &area,
                deadline: RECOVER_DEADLINE,
                exclusive: false,
                id: rec.job.clone(),
            },
            move |p| recover_job(&r, &a, appliers, p),
            None::<(Duration, fn(&mut Progress) -> Result<Value, String>)>,
        );
    }
}

/// The answer of a write started as a job: 202 with the job and where to poll it.
pub fn accepted(job: JobFile) -> crate::http::Response {
    let poll = format!("job?id={}", job.id);
    let mut r = crate::http::Response::ok(json!({"job": job, "poll": poll}));
    r.status = 202;
    r
}

/// The synchronous write API (the apply step runs inside the request): lock, then
/// [`Txn::run`] stages the ops in the sandbox, journals, commits, verifies with the real `uci`,
/// applies, and on failure rolls back byte for byte and re-applies the old state. Crash-safe
/// like [`start`], except that a write killed between commit and apply is rolled back at
/// recovery (its apply step is a closure, not a registered [`ApplyFn`]). Prefer [`start`] for
/// anything that reloads services.
pub struct Txn<'a> {
    root: &'a Root,
    area: String,
    configs: Vec<&'static str>,
    _lock: lock::Lock,
}

/// What a [`Txn`] does once its changes are committed.
pub struct Plan<'p> {
    pub ops: Vec<Op>,
    /// Checks the committed configs (read back with `uci.show`) hold what was asked.
    pub verify: &'p dyn Fn(&Uci<'_>) -> ApiResult<()>,
    /// Makes the running system follow the configs; run again after a rollback.
    pub apply: &'p dyn Fn(&Root) -> ApiResult<()>,
}

impl<'a> Txn<'a> {
    /// Takes the lock `lock_name` (finishing a journal a killed predecessor left).
    pub fn begin(root: &'a Root, lock_name: &str, configs: &[&'static str]) -> ApiResult<Txn<'a>> {
        let held = lock::acquire(root, lock_name, Duration::from_secs(10))?;
        let _ = recover_locked(root, lock_name, &[], None);
        Ok(Txn {
            root,
            area: lock_name.to_string(),
            configs: configs.to_vec(),
            _lock: held,
        })
    }

    /// Runs the plan; on failure the configs are back to their snapshot and the error says so.
    pub fn run(self, plan: Plan) -> ApiResult<()> {
        let root = self.root;
        let staged = stage(root, &self.area, &self.configs, &plan.ops)?;
        let changes: Vec<Change> = self
            .configs
            .iter()
            .map(|c| Change {
                path: format!("/etc/config/{c}"),
                after: staged.bytes(c).map(<[u8]>::to_vec),
            })
            .collect();
        drop(staged);
        let mut j = Journal::begin(root, &self.area, "txn", Value::Null, changes, &[])?;
        if let Err(e) = j.commit() {
            let errors = j.roll_back(&e.message);
            if errors.is_empty() {
                let _ = j.close();
            }
            return Err(e.context("change rolled back"));
        }
        let uci = Uci::new(root);
        if let Err(e) = (plan.verify)(&uci) {
            return Err(self.undo(
                j,
                &plan,
                &e.context("verification after commit failed").message,
                false,
            ));
        }
        if let Err(e) = (plan.apply)(root) {
            return Err(self.undo(
                j,
                &plan,
                &format!("applying the change failed: {}", e.message),
                true,
            ));
        }
        j.close()
    }

    fn undo(&self, mut j: Journal, plan: &Plan, cause: &str, applied: bool) -> ApiError {
        let errors = j.roll_back(cause);
        let reapply = if applied {
            (plan.apply)(self.root)
        } else {
            Ok(())
        };
        if errors.is_empty() {
            let _ = j.close();
        }
        match (errors.is_empty(), reapply) {
            (true, Ok(())) => ApiError::internal(format!("{cause}; change rolled back")),
            (true, Err(e)) => ApiError::internal(format!(
                "{cause}; change rolled back, but re-applying the previous settings failed: {}",
                e.message
            )),
            (false, _) => ApiError::internal(format!(
                "{cause}; rollback also failed: {}",
                errors.join("; ")
            )),
        }
    }
}

/// Write to a temporary file in the same directory, fsync, rename over (and fsync the
/// directory): a crash leaves either the old or the new file, never half of one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> ApiResult<()> {
    journal::write_durable(path, bytes, &format!("tmp{}", std::process::id()))
        .map_err(|e| ApiError::internal(format!("cannot write {}: {e}", path.display())))
}
