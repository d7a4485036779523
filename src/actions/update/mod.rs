//! Updates (DESIGN §6 Auto-update; flow in [`engine`]):
//! - `GET update`: installed version, build, package format, architecture, the update settings,
//!   the last check's result, the kept versions (rollback), the trusted key fingerprints.
//! - `POST update.check` `{}`: checks for a newer release now (a job).
//! - `POST update.install` `{"allow_downgrade": false}`: downloads, verifies and installs the
//!   channel's release (a job); a downgrade needs `allow_downgrade: true`.
//! - `POST update.rollback` `{}`: reinstalls the kept previous version (a job).
//!
//! The three jobs share the kind `update`: one at a time.

pub mod engine;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::jobs;
use crate::system::update as sys;
use serde_json::json;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(600);

fn fields(ctx: &Ctx, allowed: &[&str]) -> ApiResult<Fields> {
    let body = &ctx.req.body;
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Fields::from_map(Default::default()));
    }
    let f = Fields::parse(body)?;
    f.only(allowed)?;
    Ok(f)
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let root = ctx.root;
    let inst = sys::installed(root, engine::PKG);
    let mut keys: Vec<String> = std::fs::read_dir(root.path(engine::KEYS))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 16 && n.bytes().all(|b| b.is_ascii_hexdigit()))
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    let state = engine::read_state(root);
    let available = match (&state, &inst) {
        (Some(s), Some(i)) => s.latest.as_deref().is_some_and(|l| {
            engine::cmp_versions(l, &i.version) == Some(std::cmp::Ordering::Greater)
        }),
        _ => false,
    };
    Ok(Response::ok(json!({
        "installed": inst.as_ref().map(|i| json!({
            "version": i.version, "format": i.format.as_str(), "arch": i.arch,
        })),
        "build": {
            "version": env!("CARGO_PKG_VERSION"),
            "id": option_env!("JAMMONITOR_BUILD_ID"),
        },
        "settings": engine::settings(root),
        "last_check": state,
        "available": available,
        "kept": {
            "current": engine::kept_version(root, engine::KEEP_CURRENT),
            "previous": engine::kept_version(root, engine::KEEP_PREVIOUS),
        },
        "keys": keys,
    })))
}

fn started(job: jobs::JobFile) -> ApiResult<Response> {
    let mut r = Response::ok(json!({"poll": format!("job?id={}", job.id), "job": job}));
    r.status = 202;
    Ok(r)
}

pub fn check(ctx: &Ctx) -> ApiResult<Response> {
    fields(ctx, &[])?;
    let root = ctx.root.clone();
    let job = jobs::start(ctx.root, "update", Duration::from_secs(120), move |p| {
        p.phase(
            "index",
            Some(10.0),
            "downloading and verifying the release index",
        );
        let st = engine::check(&root, "user", p.remaining().min(Duration::from_secs(90)));
        match &st.error {
            Some(e) => Err(e.clone()),
            None => serde_json::to_value(&st).map_err(|e| e.to_string()),
        }
    })?;
    started(job)
}

pub fn install(ctx: &Ctx) -> ApiResult<Response> {
    let f = fields(ctx, &["allow_downgrade"])?;
    let allow_downgrade = if f.has("allow_downgrade") {
        f.bool("allow_downgrade")?
    } else {
        false
    };
    if sys::installed(ctx.root, engine::PKG).is_none() {
        return Err(ApiError::conflict(
            "JamMonitor was not installed by opkg or apk: update it by hand",
        ));
    }
    let root = ctx.root.clone();
    let job = jobs::start(ctx.root, "update", DEADLINE, move |p| {
        engine::install_job(&root, p, allow_downgrade)
    })?;
    started(job)
}

pub fn rollback(ctx: &Ctx) -> ApiResult<Response> {
    fields(ctx, &[])?;
    if engine::kept_version(ctx.root, engine::KEEP_PREVIOUS).is_none() {
        return Err(ApiError::conflict("no previous version is kept"));
    }
    let root = ctx.root.clone();
    let job = jobs::start(ctx.root, "update", DEADLINE, move |p| {
        engine::rollback_job(&root, p)
    })?;
    started(job)
}
