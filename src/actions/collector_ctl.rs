//! `POST collector.start` / `POST collector.stop` (body `{}` or empty): through the procd init
//! script `/etc/init.d/jammonitor-collector start|stop`, then wait (bounded) until the status
//! file shows the collector running or stopped.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::store::status;
use crate::system::services::{self, Service};
use crate::system::{Root, lock};
use serde_json::json;
use std::time::{Duration, Instant};

fn no_fields(ctx: &Ctx) -> ApiResult<()> {
    let body = &ctx.req.body;
    if !body.iter().all(|b| b.is_ascii_whitespace()) {
        Fields::parse(body)?.only(&[])?;
    }
    Ok(())
}

fn running(root: &Root) -> bool {
    status::read(root).is_some_and(|s| s.state == "running" && status::collector_alive(root, s.pid))
}

fn control(ctx: &Ctx, start: bool) -> ApiResult<Response> {
    no_fields(ctx)?;
    let root = ctx.root;
    let _lock = lock::acquire(root, "collector-ctl", Duration::from_secs(10))?;
    let action = if start { "start" } else { "stop" };
    services::init(root, Service::Collector, action, None)
        .map_err(|e| e.context(&format!("collector {action}")))?;
    let t0 = Instant::now();
    while running(root) != start {
        if t0.elapsed() > Duration::from_secs(if start { 5 } else { 10 }) {
            let last = status::read(root)
                .and_then(|s| s.last_error)
                .map(|e| e.message);
            return Err(ApiError::internal(format!(
                "the collector did not {action}{}",
                last.map(|m| format!(": {m}")).unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Response::ok(
        json!({"collector": super::storage::collector(root)}),
    ))
}

pub fn start(ctx: &Ctx) -> ApiResult<Response> {
    control(ctx, true)
}

pub fn stop(ctx: &Ctx) -> ApiResult<Response> {
    control(ctx, false)
}
