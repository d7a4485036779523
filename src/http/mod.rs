//! The uhttpd CGI contract (DESIGN §3): parse the request from the environment and stdin, write
//! the answer as a header block plus body. Nothing else in the program touches stdout.

pub mod input;
pub mod request;
pub mod response;

pub use input::Fields;
pub use request::{MAX_BODY, Method, Query, Request};
pub use response::Response;
