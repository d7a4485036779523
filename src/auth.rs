//! Authorization against the LuCI session (DESIGN §4), failing closed: the Bearer sid must be
//! 32 lowercase hex, rpcd must say `{"access":true}` for our ACL group at the level the method
//! needs, and a POST from another origin is refused. Nothing of the action runs before this passes.

use crate::error::{ApiError, ApiResult};
use crate::http::{Method, Request};
use crate::system::Root;
use crate::system::ubus::{self, UbusError};
use std::time::Duration;

pub const ACL_GROUP: &str = "luci-app-jammonitor";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Read,
    Write,
}

impl Level {
    pub fn for_method(m: Method) -> Level {
        match m {
            Method::Get => Level::Read,
            Method::Post => Level::Write,
        }
    }
    fn function(self) -> &'static str {
        match self {
            Level::Read => "read",
            Level::Write => "write",
        }
    }
}

/// The sid from `Authorization: Bearer <sid>`, if well-formed.
pub fn bearer_sid(header: Option<&str>) -> Option<&str> {
    let sid = header?.strip_prefix("Bearer ")?;
    let ok = sid.len() == 32
        && sid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then_some(sid)
}

/// Compares the Origin's host[:port] with the Host header. No Origin (same-origin GET, curl) is
/// fine: the Bearer header is not ambient, so a cross-site page cannot send it anyway.
pub fn origin_matches(origin: Option<&str>, host: Option<&str>) -> bool {
    let Some(origin) = origin else { return true };
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    host.is_some_and(|h| rest.eq_ignore_ascii_case(h))
}

fn denied() -> ApiError {
    ApiError::new(
        403,
        "auth_denied",
        "This LuCI session has no JamMonitor permission or has expired. Log out of LuCI and log in \
         again: sessions opened before JamMonitor was installed lack its access group.",
    )
}

/// The one action a scrape token reaches, read-only (docs/metrics.md).
pub const SCRAPE_ACTION: &str = "metrics";

/// A usable scrape token: 40–256 characters of the Bearer token alphabet (RFC 6750 b64token),
/// so it can never be taken for a session id (32 lowercase hex) and never carries a space.
pub fn valid_scrape_token(t: &str) -> bool {
    (40..=256).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

/// Equality whose time depends on the lengths only, never on where the first difference is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        let y = if i < b.len() { b[i] } else { 0 };
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// `GET metrics` with `Authorization: Bearer <token>` that is not a session id: passes only when
/// `jammonitor.metrics.token` is set to a valid token and equals it (compared in constant time).
/// The session service is not asked.
fn scrape_token(root: &Root, presented: &str) -> ApiResult<Level> {
    let configured = crate::system::uci::read(root, "jammonitor")
        .ok()
        .and_then(|c| c.get("metrics", "token").map(str::to_string))
        .filter(|t| valid_scrape_token(t));
    match configured {
        Some(t) if ct_eq(t.as_bytes(), presented.as_bytes()) => Ok(Level::Read),
        _ => Err(ApiError::new(
            403,
            "auth_denied",
            "this scrape token is not the one in jammonitor.metrics.token (or scrape tokens are \
             off); a token reaches the metrics action only",
        )),
    }
}

pub fn authorize(root: &Root, req: &Request) -> ApiResult<Level> {
    let level = Level::for_method(req.method);
    // Scrape-token mode: a Bearer value that is not a session id, on `GET metrics` only. On any
    // other action such a value is malformed (auth_missing below), whatever it is.
    if req.action == SCRAPE_ACTION && req.method == Method::Get {
        let header = req.authorization.as_deref();
        if let (None, Some(tok)) = (
            bearer_sid(header),
            header.and_then(|h| h.strip_prefix("Bearer ")),
        ) {
            if !tok.is_empty() {
                return scrape_token(root, tok);
            }
        }
    }
    let sid = bearer_sid(req.authorization.as_deref()).ok_or_else(|| {
        ApiError::new(
            403,
            "auth_missing",
            "missing or malformed Authorization: Bearer <LuCI session id>",
        )
    })?;
    if level == Level::Write && !origin_matches(req.origin.as_deref(), req.host.as_deref()) {
        return Err(ApiError::new(
            403,
            "bad_origin",
            "cross-origin write refused",
        ));
    }
    match access(root, sid, level)? {
        true => Ok(level),
        // A read-only session asking to write gets told so, not "log in again" (one more
        // question to rpcd, only on this refusal).
        false if level == Level::Write && access(root, sid, Level::Read)? => Err(ApiError::new(
            403,
            "auth_readonly",
            "this session may view JamMonitor but not change settings",
        )),
        false => Err(denied()),
    }
}

/// rpcd's session service could not be asked (no ubus socket, ubusd or rpcd down, a broken or
/// silent answer): refused, but told apart from a session that lacks the permission.
fn unavailable(e: &UbusError) -> ApiError {
    ApiError::new(
        403,
        "auth_unavailable",
        format!(
            "The router's session service (ubusd/rpcd) did not answer, so this login cannot be \
             checked; nothing was done. Try again in a moment; if it persists, restart rpcd \
             (/etc/init.d/rpcd restart). Detail: {e}"
        ),
    )
}

/// rpcd's `session access` reply read strictly: exactly `{"access": <bool>}`, else `None`.
pub fn access_answer(reply: &serde_json::Map<String, serde_json::Value>) -> Option<bool> {
    match (reply.len(), reply.get("access")) {
        (1, Some(serde_json::Value::Bool(b))) => Some(*b),
        _ => None,
    }
}

/// Deadline for the whole session check (connect, lookup, invoke).
pub const ACCESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Asks rpcd over ubus whether `sid` may `level` our ACL group: `Ok(false)` for
/// `{"access":false}`; an unknown or expired session is `auth_denied`, anything else that is not
/// exactly `{"access":true|false}` (no socket, timeout, garbage, other status) `auth_unavailable`.
pub fn access(root: &Root, sid: &str, level: Level) -> ApiResult<bool> {
    let mut args = serde_json::Map::new();
    args.insert("ubus_rpc_session".into(), sid.into());
    args.insert("scope".into(), "access-group".into());
    args.insert("object".into(), ACL_GROUP.into());
    args.insert("function".into(), level.function().into());
    let reply = ubus::with_bus(root, ACCESS_TIMEOUT, 4096, |bus| {
        // One round trip when rpcd's `session` object id is remembered from an earlier request
        // (ids only: every request asks rpcd, no answer is kept).
        bus.call_remembered(root, "session", "access", &args)
    });
    match reply {
        Ok(reply) => access_answer(&reply).ok_or_else(|| {
            unavailable(&UbusError::Protocol(
                "session access answered without a single boolean 'access'",
            ))
        }),
        // rpcd: UBUS_STATUS_NOT_FOUND for a session id it does not know (expired, logged out)
        Err(UbusError::Status(ubus::STATUS_NOT_FOUND)) => Err(denied()),
        Err(e) => Err(unavailable(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_format() {
        let good = "0123456789abcdef0123456789abcdef";
        assert_eq!(bearer_sid(Some(&format!("Bearer {good}"))), Some(good));
        for bad in [
            "Bearer 0123456789ABCDEF0123456789abcdef",
            "Bearer 0123456789abcdef0123456789abcde",
            "Basic 0123456789abcdef0123456789abcdef",
            "Bearer 0123456789abcdef0123456789abcdef0",
            "Bearer  0123456789abcdef0123456789abcdef",
            "",
        ] {
            assert_eq!(bearer_sid(Some(bad)), None, "{bad}");
        }
        assert_eq!(bearer_sid(None), None);
    }

    #[test]
    fn scrape_tokens() {
        let t = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
        assert!(valid_scrape_token(t));
        assert!(valid_scrape_token(&"a".repeat(256)));
        for bad in [
            "0123456789abcdef0123456789abcdef", // a session id
            &"a".repeat(39),
            &"a".repeat(257),
            "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2Fy cGx5",
            "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2Fy\"cGx5",
        ] {
            assert!(!valid_scrape_token(bad), "{bad}");
        }
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"ab", b"abc"));
        assert!(!ct_eq(b"abc\0", b"abc"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn origins() {
        assert!(origin_matches(None, Some("r")));
        assert!(origin_matches(
            Some("http://192.168.100.1"),
            Some("192.168.100.1")
        ));
        assert!(origin_matches(
            Some("https://router.lan:8443"),
            Some("router.lan:8443")
        ));
        assert!(!origin_matches(
            Some("https://evil.example"),
            Some("192.168.100.1")
        ));
        assert!(!origin_matches(Some("null"), Some("192.168.100.1")));
        assert!(!origin_matches(Some("http://192.168.100.1"), None));
    }
}
