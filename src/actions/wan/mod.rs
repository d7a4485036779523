//! The WAN Policy family: `wan` (GET) and its writes `wan.roles`, `wan.edit`, `wan.advanced`,
//! `wan.managed`. Which interfaces are WANs, their roles and device MTU live in the WAN model
//! (`crate::wans`), shared with overview, interfaces, bandwidth and the collector.

pub mod advanced;
pub mod edit;
pub mod get;
pub mod history;
pub mod managed;
pub mod roles;
