//! JamMonitor: the library every binary shares (the CGI and the collector).
//! Data flows one way: request → auth → action → system readers/writers → JSON.

pub mod actions;
pub mod auth;
pub mod bypass;
pub mod cgi;
pub mod crashpoint;
pub mod diag;
pub mod error;
pub mod http;
pub mod jobs;
pub mod journal;
pub mod omr;
pub mod redact;
pub mod store;
pub mod system;
pub mod txn;
pub mod validate;
pub mod wans;
