//! The JamMonitor CGI: request → auth → action → JSON. Whatever happens, exactly one header
//! block and one JSON body reach stdout: a panic inside an action becomes a JSON 500.
//! It lives in the library so the shipped multi-call binary (collector/) can run it too.

use crate::actions::{self, Ctx};
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::{auth, system::Root};
use std::io::Write;

fn answer() -> Response {
    let root = Root::from_env();
    let env = |k: &str| std::env::var(k).ok();
    // Head only: the body is read after authorization, so an unauthenticated client cannot
    // hold the process (and one of uhttpd's 3 CGI slots) by stalling its body.
    let mut req = match http::request::parse_head(&env) {
        Ok(r) => r,
        Err(e) => return Response::error(&e),
    };
    // Unknown action or wrong method: refuse before running anything, auth included.
    let handler = match actions::route(&req.action, req.method) {
        Ok(h) => h,
        Err(e) => return Response::error(&e),
    };
    if let Err(e) = auth::authorize(&root, &req) {
        return Response::error(&e);
    }
    // A write a killed process left half done is finished before anything reads the configs.
    actions::recover(&root);
    {
        use std::os::fd::AsFd;
        let stdin = std::io::stdin();
        let mut body =
            http::request::DeadlineReader::new(stdin.as_fd(), http::request::BODY_DEADLINE);
        if let Err(e) = req.read_body(&mut body) {
            return Response::error(&e);
        }
    }
    let ctx = Ctx {
        root: &root,
        req: &req,
    };
    let mut resp = handler(&ctx).unwrap_or_else(|e| Response::error(&e));
    if req.method == http::Method::Post {
        // a write may change what the Overview shows: its next request builds afresh
        crate::store::snapshot::invalidate(&root);
    }
    // Every authorized answer says whether the VPS bypass is on (two stat calls), so each tab's
    // own poll keeps the page's bypass banner current without a request of its own.
    resp.headers
        .push(("X-JM-Bypass", crate::bypass::header(&root).to_string()));
    resp
}

/// The whole CGI run: exactly one answer on stdout.
pub fn main() {
    // The default hook would print to stderr (uhttpd logs it); keep it quiet and answer in JSON.
    std::panic::set_hook(Box::new(|_| {}));
    let response = std::panic::catch_unwind(answer).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Response::error(&ApiError::internal(format!("internal error: {what}")))
    });
    let mut out = std::io::stdout().lock();
    let _ = response.write_to(&mut out);
    let _ = out.flush();
}
