//! `GET session`: what this session may do, so the page can disable write controls for a
//! read-only viewer instead of letting them fail. Reading was already authorized.

use super::Ctx;
use crate::auth::{self, Level};
use crate::error::ApiResult;
use crate::http::Response;
use serde_json::json;

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let sid = auth::bearer_sid(ctx.req.authorization.as_deref()).unwrap_or_default();
    let write = auth::access(ctx.root, sid, Level::Write).unwrap_or(false);
    Ok(Response::ok(json!({"read": true, "write": write})))
}
