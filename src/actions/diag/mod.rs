//! The diagnostic bundle (DESIGN §6, issue 15). The action decides; `crate::diag` does.
//!
//! - `GET diag`: the section list, the limits, and the newest bundle job (running or finished).
//! - `POST diag.bundle {}`: starts the `diag` job (one at a time: 409 while one runs; a deadline
//!   of [`DEADLINE`]; its worker's process group is killed at the deadline or on cancel). The
//!   job's `detail.sections` shows every section's status as it goes.
//! - `POST diag.cancel {"id"}`: stops the running job (its commands die with it).
//! - `POST diag.download {"id"}`: the finished bundle, streamed with `Content-Disposition`
//!   (the page saves it from a Blob: no session id ever in a URL), then removed.

use super::{Ctx, now_epoch};
use crate::diag::{self, sections};
use crate::error::{ApiError, ApiResult};
use crate::http::response::Stream;
use crate::http::{Fields, Response};
use crate::jobs::{self, JobFile};
use crate::system::Root;
use serde_json::{Value, json};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

pub const KIND: &str = "diag";
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Is a bundle job running? (its kind lock is held)
fn job_running(root: &Root) -> bool {
    jobs::kind_running(root, KIND)
}

/// Expired bundles go; unfinished ones too when no job is writing them.
fn tidy(root: &Root) {
    diag::cleanup(root, !job_running(root));
}

/// The newest bundle job, if any.
fn latest(root: &Root) -> Option<JobFile> {
    let rd = std::fs::read_dir(root.path(jobs::JOBS_DIR)).ok()?;
    rd.flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let id = n.strip_suffix(".json")?.to_string();
            (id.starts_with("diag-") && jobs::valid_id(&id)).then_some(id)
        })
        .filter_map(|id| jobs::read(root, &id).ok())
        .max_by(|a, b| a.started_at.total_cmp(&b.started_at))
}

/// Whether a finished job's bundle can still be downloaded.
fn available(root: &Root, job: &JobFile) -> bool {
    job.state == "done"
        && job.result["bundle"]
            .as_str()
            .filter(|n| diag::valid_bundle_name(n))
            .is_some_and(|n| root.path(diag::DIR).join(n).is_file())
}

fn job_json(root: &Root, job: JobFile) -> Value {
    let avail = available(root, &job);
    let mut v = serde_json::to_value(job).unwrap_or(Value::Null);
    v["available"] = Value::Bool(avail);
    v
}

pub fn status(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let root = ctx.root;
    tidy(root);
    let list: Vec<Value> = sections::ALL
        .iter()
        .map(|s| json!({"file": s.file, "title": s.title}))
        .collect();
    Ok(Response::ok(json!({
        "sections": list,
        "job": latest(root).map(|j| job_json(root, j)),
        "deadline_s": DEADLINE.as_secs(),
        "keep_s": diag::KEEP.as_secs(),
        "max_bytes": diag::BUNDLE_CAP,
        "section_max_bytes": diag::SECTION_CAP,
    })))
}

pub fn start(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&[])?;
    let root = ctx.root;
    tidy(root);
    let job_root = root.clone();
    let job = jobs::start(root, KIND, DEADLINE, move |p| bundle_job(&job_root, p))?;
    let mut r = Response::ok(json!({"job": job, "poll": format!("job?id={}", job.id)}));
    r.status = 202;
    Ok(r)
}

fn bundle_job(root: &Root, p: &mut jobs::Progress) -> Result<Value, String> {
    // This worker holds the kind lock: no other bundle is being written.
    diag::cleanup(root, true);
    let deadline = Instant::now() + p.remaining();
    let total = sections::ALL.len();
    let built = diag::build(root, deadline, sections::ALL, |infos, i| {
        let (phase, msg) = match infos.get(i) {
            Some(s) => ("collecting", format!("{} ({}/{total})", s.title, i + 1)),
            None => (
                "checking",
                "re-scanning the whole bundle for secrets".to_string(),
            ),
        };
        p.phase(phase, Some(95.0 * i as f64 / total as f64), &msg);
        p.detail(json!({"sections": infos, "current": i}));
    })?;
    diag::spawn_reaper(&built.path, diag::KEEP);
    let now = now_epoch();
    Ok(json!({
        "bundle": built.name,
        "file": download_name(root, now),
        "size_bytes": built.size,
        "sections": built.sections,
        "expires_at": now + diag::KEEP.as_secs_f64(),
    }))
}

/// `jammonitor-diag-<hostname>-<YYYYmmdd-HHMMSS>.tar.gz` (UTC).
fn download_name(root: &Root, t: f64) -> String {
    let host: String = root
        .read_line("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    let secs = t as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // civil-from-days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let stamp = format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if host.is_empty() {
        format!("jammonitor-diag-{stamp}.tar.gz")
    } else {
        format!("jammonitor-diag-{host}-{stamp}.tar.gz")
    }
}

fn id_field(f: &Fields) -> ApiResult<String> {
    let id = f.str("id")?;
    if !jobs::valid_id(id) || !id.starts_with("diag-") {
        return Err(ApiError::field("id", "is not a diagnostic bundle job id"));
    }
    Ok(id.to_string())
}

pub fn cancel(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["id"])?;
    let id = id_field(&f)?;
    let job = jobs::cancel(ctx.root, &id)?;
    tidy(ctx.root);
    Ok(Response::ok(json!({"job": job_json(ctx.root, job)})))
}

pub fn download(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["id"])?;
    let id = id_field(&f)?;
    let root = ctx.root;
    tidy(root);
    let job = jobs::read(root, &id)?;
    if job.state != "done" {
        return Err(ApiError::conflict(format!(
            "the bundle is not ready (job {})",
            job.state
        )));
    }
    let gone = || {
        ApiError::not_found(
            "this bundle was already downloaded or has expired (bundles are kept one hour): build a new one",
        )
    };
    let name = job.result["bundle"]
        .as_str()
        .filter(|n| diag::valid_bundle_name(n))
        .ok_or_else(gone)?;
    let dir = diag::bundle_dir(root).map_err(ApiError::internal)?;
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|_| gone())?;
    let meta = file
        .metadata()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if !meta.is_file() || meta.len() > diag::BUNDLE_CAP {
        return Err(gone());
    }
    let fname = job.result["file"]
        .as_str()
        .unwrap_or("jammonitor-diag.tar.gz")
        .to_string();
    Ok(Response::download_stream(
        "application/gzip",
        &fname,
        Stream {
            file: std::sync::Arc::new(file),
            len: meta.len(),
            remove_after: Some(path),
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn download_names() {
        let root = crate::system::Root::new("/nonexistent-root");
        assert_eq!(
            super::download_name(&root, 1_700_000_000.0),
            "jammonitor-diag-20231114-221320.tar.gz"
        );
        assert_eq!(
            super::download_name(&root, 951_782_400.0),
            "jammonitor-diag-20000229-000000.tar.gz"
        );
    }
}
