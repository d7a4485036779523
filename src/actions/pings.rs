//! `GET pings?minutes=N` (1–1440, default 60): per-minute ping history of every target from
//! SQLite, so the Overview graphs are full right after a page load, plus the live ring the
//! collector keeps (the same `pings` object `overview` carries).

use super::{Ctx, now_epoch};
use crate::error::ApiResult;
use crate::http::Response;
use crate::store::config;
use crate::store::query;
use crate::store::{Store, status};
use crate::system::uci;
use serde_json::{Value, json};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let q = &ctx.req.query;
    q.only(&["minutes"])?;
    let minutes = q.int("minutes", 1..=1440, 60)?;
    let root = ctx.root;
    let now = now_epoch();
    // Whole minutes: the first point is the minute `minutes` ago.
    let since = (now as i64 / 60 - minutes) * 60;
    let cfg = config::load(&uci::load(root, "jammonitor")?);
    let located = status::locate_db(root, &cfg);
    let targets = match &located {
        Some((p, _)) => query::ping_history(Store::open_existing(&root.path(p))?.conn(), since)?,
        None => Vec::new(),
    };
    let targets: Vec<Value> = targets
        .into_iter()
        .map(|t| {
            json!({
                "name": t.name,
                "host": t.host,
                // [minute start ms, min, avg, max, loss %, sent]
                "points": t.points.iter().map(|p| json!([p.ts * 1000, p.min_ms.map(r3), p.avg_ms, p.max_ms.map(r3), p.loss_pct, p.sent])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let live = crate::store::live::read(root)
        .map(|r| crate::store::live::to_json(&r).0)
        .unwrap_or(Value::Null);
    Ok(Response::ok(json!({
        "generated_at": now,
        "minutes": minutes,
        "since": since,
        "available": located.is_some(),
        "targets": targets,
        "live": live,
    })))
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
