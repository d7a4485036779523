//! `GET job?id=<id>`: the progress file of a background job (format, speed test, diagnostics …).

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::Response;
use crate::jobs;

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let q = &ctx.req.query;
    q.only(&["id"])?;
    let id = q
        .get("id")
        .ok_or_else(|| ApiError::field("id", "is required"))?;
    let job = jobs::read(ctx.root, id)?;
    Ok(Response::ok(
        serde_json::to_value(job).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}
