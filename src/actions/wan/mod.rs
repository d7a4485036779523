//! The WAN Policy family: `wan` (GET) and its writes `wan.roles`, `wan.edit`, `wan.advanced`,
//! `wan.managed`. Which interfaces are WANs, their roles and device MTU live in the WAN model
//! (`crate::wans`), shared with overview, interfaces, bandwidth and the collector.

pub mod advanced;
pub mod edit;
pub mod get;
pub mod history;
pub mod managed;
pub mod roles;

use crate::error::ApiResult;
use crate::system::Root;

/// What every WAN write refuses, when asked and again in its job: the VPS bypass on or changing
/// (it owns the roles while on), and a running speed test (its transfer is bound to a WAN this
/// write may reload).
fn refuse_if_busy(root: &Root) -> ApiResult<()> {
    crate::bypass::refuse_if_active(root)?;
    super::speedtest::refuse_if_running(root)
}
