//! One module per dashboard area. The table below is the whole API surface: an action name, the
//! method it answers, and the function that builds its JSON.

pub mod bandwidth;
pub mod bypass;
pub mod clients;
pub mod collector_ctl;
pub mod diag;
pub mod interfaces;
pub mod job;
pub mod metrics;
pub mod overview;
pub mod pings;
pub mod session;
pub mod speedtest;
pub mod storage;
pub mod update;
pub mod wan;
pub mod wifi;

use crate::error::{ApiError, ApiResult};
use crate::http::{Method, Request, Response};
use crate::system::Root;

/// What an action gets: the system root and the authorized request.
pub struct Ctx<'a> {
    pub root: &'a Root,
    pub req: &'a Request,
}

type Handler = fn(&Ctx) -> ApiResult<Response>;

const ACTIONS: &[(&str, Method, Handler)] = &[
    ("overview", Method::Get, overview::handle),
    ("interfaces", Method::Get, interfaces::handle),
    ("session", Method::Get, session::handle),
    ("wan", Method::Get, wan::get::handle),
    ("wan.roles", Method::Post, wan::roles::handle),
    ("wan.edit", Method::Post, wan::edit::handle),
    ("wan.advanced", Method::Post, wan::advanced::handle),
    ("wan.managed", Method::Post, wan::managed::handle),
    ("wan.history", Method::Get, wan::history::handle),
    ("wan.history.csv", Method::Get, wan::history::handle_csv),
    ("bandwidth", Method::Get, bandwidth::handle),
    ("bandwidth.csv", Method::Get, bandwidth::handle_csv),
    ("pings", Method::Get, pings::handle),
    ("storage", Method::Get, storage::handle),
    ("storage.mount", Method::Post, storage::mount),
    ("storage.unmount", Method::Post, storage::unmount),
    ("storage.format", Method::Post, storage::format),
    ("collector.start", Method::Post, collector_ctl::start),
    ("collector.stop", Method::Post, collector_ctl::stop),
    ("job", Method::Get, job::handle),
    ("diag", Method::Get, diag::status),
    ("diag.bundle", Method::Post, diag::start),
    ("diag.cancel", Method::Post, diag::cancel),
    ("diag.download", Method::Post, diag::download),
    ("update", Method::Get, update::handle),
    ("update.check", Method::Post, update::check),
    ("update.install", Method::Post, update::install),
    ("update.rollback", Method::Post, update::rollback),
    ("clients", Method::Get, clients::handle),
    ("clients.history", Method::Get, clients::history::handle),
    ("clients.meta", Method::Post, clients::meta::handle),
    (
        "clients.reserve",
        Method::Post,
        clients::reservation::reserve,
    ),
    (
        "clients.unreserve",
        Method::Post,
        clients::reservation::unreserve,
    ),
    ("wifi", Method::Get, wifi::handle),
    ("wifi.aps", Method::Post, wifi::aps::handle),
    ("bypass", Method::Get, bypass::status),
    ("bypass.enable", Method::Post, bypass::enable),
    ("bypass.disable", Method::Post, bypass::disable),
    ("speedtest", Method::Get, speedtest::status),
    ("speedtest.start", Method::Post, speedtest::start),
    ("speedtest.cancel", Method::Post, speedtest::cancel),
    ("metrics", Method::Get, metrics::handle),
];

/// The apply step of every journaled write, by intent: a journal left by a killed process is
/// rolled forward with these (`txn::recover_pending`, on any request and at collector start).
pub const APPLIERS: crate::txn::Appliers = &[
    ("wan.roles", wan::roles::apply_params),
    ("wan.edit", wan::edit::apply_params),
    ("wan.advanced", wan::advanced::apply_params),
    ("wan.managed", crate::txn::apply_nothing),
    ("storage.mount", storage::apply_storage),
    ("storage.unmount", storage::apply_storage),
    ("bypass.enable", bypass::apply_params),
    ("bypass.disable", bypass::apply_params),
];

/// Finishes journals that a killed process left (cheap when there are none).
pub fn recover(root: &Root) {
    crate::txn::recover_pending(root, APPLIERS);
}

/// Finds the action before authorization, so an unknown path or a wrong method is answered
/// without running anything (and without revealing more than the method list).
pub fn route(action: &str, method: Method) -> ApiResult<Handler> {
    match ACTIONS.iter().find(|(name, _, _)| *name == action) {
        None => Err(ApiError::not_found("unknown action")),
        Some((_, m, h)) if *m == method => Ok(*h),
        Some((_, m, _)) => Err(ApiError::new(
            405,
            "method_not_allowed",
            format!(
                "this action needs {}",
                if *m == Method::Get { "GET" } else { "POST" }
            ),
        )),
    }
}

pub fn names() -> impl Iterator<Item = &'static str> {
    ACTIONS.iter().map(|(n, _, _)| *n)
}

pub use crate::system::clock::now_epoch;

/// Rounds for display without pretending to more precision than measured.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
