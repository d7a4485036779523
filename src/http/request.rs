//! CGI request parsing. Everything here is hostile input: strict, capped, never panics.

use crate::error::{ApiError, ApiResult};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

/// Largest request body we accept (uhttpd has no limit of its own).
pub const MAX_BODY: usize = 64 * 1024;
const MAX_QUERY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(BTreeMap<String, String>);

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The action name from `PATH_INFO=/api/<action>`, already validated.
    pub action: String,
    pub query: Query,
    pub body: Vec<u8>,
    /// Set by [`parse_head`] for a POST until the body is read.
    pub body_limit: Option<usize>,
    pub authorization: Option<String>,
    pub origin: Option<String>,
    pub host: Option<String>,
    pub content_type: Option<String>,
}

/// How long an authorized client may take to send its body (uhttpd itself would wait until its
/// script timeout, holding one of its 3 CGI slots).
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Builds a request from CGI variables (`get` looks one up) and the body stream.
pub fn parse(get: &dyn Fn(&str) -> Option<String>, body: &mut dyn Read) -> ApiResult<Request> {
    let mut req = parse_head(get)?;
    req.read_body(body)?;
    Ok(req)
}

/// Everything but the body: method, action, query, headers, and the declared body length
/// (checked, not read). The CGI authorizes from this before it reads a single body byte.
pub fn parse_head(get: &dyn Fn(&str) -> Option<String>) -> ApiResult<Request> {
    let method = match get("REQUEST_METHOD").as_deref() {
        Some("GET") | Some("HEAD") => Method::Get,
        Some("POST") => Method::Post,
        Some(other) => {
            return Err(ApiError::new(
                405,
                "method_not_allowed",
                format!("method {} is not allowed", printable(other)),
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "REQUEST_METHOD is missing: not run as a CGI",
            ));
        }
    };
    let action = parse_action(get("PATH_INFO").as_deref())?;
    let query = Query::parse(get("QUERY_STRING").as_deref().unwrap_or(""))?;
    let body_limit = if method == Method::Post {
        Some(body_limit(get("CONTENT_LENGTH").as_deref())?)
    } else {
        None
    };
    Ok(Request {
        method,
        action,
        query,
        body: Vec::new(),
        body_limit,
        authorization: get("HTTP_AUTHORIZATION"),
        origin: get("HTTP_ORIGIN"),
        host: get("HTTP_HOST"),
        content_type: get("CONTENT_TYPE"),
    })
}

impl Request {
    /// Reads the POST body (nothing for GET), at most the declared length.
    pub fn read_body(&mut self, input: &mut dyn Read) -> ApiResult<()> {
        if let Some(limit) = self.body_limit.take() {
            self.body = read_limited(limit, input)?;
        }
        Ok(())
    }
}

/// Reads from a file descriptor (the CGI's stdin) with one overall deadline: a client that
/// stalls gets 408 instead of holding the process.
pub struct DeadlineReader<'a> {
    fd: std::os::fd::BorrowedFd<'a>,
    end: Instant,
}

impl<'a> DeadlineReader<'a> {
    pub fn new(fd: std::os::fd::BorrowedFd<'a>, deadline: Duration) -> Self {
        DeadlineReader {
            fd,
            end: Instant::now() + deadline,
        }
    }
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        loop {
            let left = self.end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut fds = [PollFd::new(self.fd, PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(0) => return Err(std::io::ErrorKind::TimedOut.into()),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(std::io::Error::from(e)),
            }
            match nix::unistd::read(self.fd, buf) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => continue,
                Err(e) => return Err(std::io::Error::from(e)),
            }
        }
    }
}

/// `PATH_INFO` must be exactly `/api/<name>` with a short lowercase name: anything else (absent,
/// traversal, extra segments, odd bytes) is a 404 that names nothing from the input.
fn parse_action(path: Option<&str>) -> ApiResult<String> {
    let not_found = || ApiError::not_found("unknown API path; expected /api/<action>");
    let name = path
        .and_then(|p| p.strip_prefix("/api/"))
        .ok_or_else(not_found)?;
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.as_bytes()[0].is_ascii_lowercase()
        && !name.contains("..")
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.' || b == b'-'
        });
    if valid {
        Ok(name.to_string())
    } else {
        Err(not_found())
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        413,
        "payload_too_large",
        format!("request body exceeds {MAX_BODY} bytes"),
    )
}

/// How many bytes to read: the declared length (refused above the cap), or up to one more than
/// the cap for chunked uploads, which come without a length and are read to EOF.
fn body_limit(content_length: Option<&str>) -> ApiResult<usize> {
    match content_length.map(str::trim) {
        None | Some("") => Ok(MAX_BODY + 1),
        Some(s) => {
            let n: usize = s
                .parse()
                .map_err(|_| ApiError::bad_request("CONTENT_LENGTH is not a number"))?;
            if n > MAX_BODY {
                return Err(too_large());
            }
            Ok(n)
        }
    }
}

fn read_limited(limit: usize, input: &mut dyn Read) -> ApiResult<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(MAX_BODY));
    input
        .take(limit as u64)
        .read_to_end(&mut buf)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                ApiError::new(
                    408,
                    "request_timeout",
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_DEADLINE.as_secs()
                    ),
                )
            } else {
                ApiError::bad_request(format!("cannot read request body: {e}"))
            }
        })?;
    if buf.len() > MAX_BODY {
        return Err(too_large());
    }
    Ok(buf)
}

#[cfg(test)]
fn read_body(content_length: Option<&str>, input: &mut dyn Read) -> ApiResult<Vec<u8>> {
    read_limited(body_limit(content_length)?, input)
}

impl Query {
    pub fn parse(raw: &str) -> ApiResult<Query> {
        if raw.len() > MAX_QUERY {
            return Err(ApiError::bad_request("query string too long"));
        }
        let mut map = BTreeMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k).ok_or_else(|| {
                ApiError::bad_request("query key is not valid percent-encoded UTF-8")
            })?;
            let v = percent_decode(v).ok_or_else(|| {
                ApiError::field(&k, "query value is not valid percent-encoded UTF-8")
            })?;
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::field(&k, "query parameter given twice"));
            }
        }
        Ok(Query(map))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Refuses parameters the action does not know, so typos fail loudly.
    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::field(k, "unknown query parameter")),
            None => Ok(()),
        }
    }

    /// An optional integer within `range`, else `default`.
    pub fn int(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> ApiResult<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(s) => match s.parse::<i64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(ApiError::field(
                    key,
                    format!(
                        "must be an integer from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
        }
    }

    /// An optional value from a fixed list, else `default`.
    pub fn choice<'a>(
        &self,
        key: &str,
        allowed: &[&'a str],
        default: &'a str,
    ) -> ApiResult<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(s) => allowed.iter().find(|a| **a == s).copied().ok_or_else(|| {
                ApiError::field(key, format!("must be one of: {}", allowed.join(", ")))
            }),
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Both must be hex digits: from_str_radix alone would take "%+f" as 0x0f.
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// For echoing an input in a message: printable ASCII only, short.
pub fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn action_paths() {
        assert_eq!(parse_action(Some("/api/overview")).unwrap(), "overview");
        assert_eq!(
            parse_action(Some("/api/bandwidth.csv")).unwrap(),
            "bandwidth.csv"
        );
        for bad in [
            "/api/",
            "/api/../etc/passwd",
            "/api/a/b",
            "/x/overview",
            "/api/Over",
            "/api/..",
            "/api/.x",
            "/api/a%00",
        ] {
            assert_eq!(parse_action(Some(bad)).unwrap_err().status, 404, "{bad}");
        }
        assert_eq!(parse_action(None).unwrap_err().status, 404);
    }

    #[test]
    fn body_caps() {
        let big = vec![b'x'; MAX_BODY + 10];
        let e = read_body(Some("70000"), &mut &big[..]).unwrap_err();
        assert_eq!(e.status, 413);
        let e = read_body(None, &mut &big[..]).unwrap_err();
        assert_eq!(e.status, 413);
        assert_eq!(read_body(Some("3"), &mut &b"abcdef"[..]).unwrap(), b"abc");
        assert_eq!(read_body(Some("x"), &mut &b""[..]).unwrap_err().status, 400);
    }

    #[test]
    fn query_strict() {
        let q = Query::parse("a=1&b=h%C3%A9+x").unwrap();
        assert_eq!(q.get("b"), Some("hé x"));
        assert_eq!(
            Query::parse("a=1&a=2").unwrap_err().field.as_deref(),
            Some("a")
        );
        assert_eq!(Query::parse("a=%zz").unwrap_err().status, 400);
        assert_eq!(Query::parse("a=%+f").unwrap_err().status, 400);
        assert_eq!(q.int("a", 0..=5, 9).unwrap(), 1);
        assert_eq!(
            q.int("a", 2..=5, 9).unwrap_err().field.as_deref(),
            Some("a")
        );
        assert_eq!(q.only(&["a"]).unwrap_err().field.as_deref(), Some("b"));
    }

    #[test]
    fn methods() {
        let r = parse(
            &env(&[("REQUEST_METHOD", "PUT"), ("PATH_INFO", "/api/x")]),
            &mut &b""[..],
        );
        assert_eq!(r.unwrap_err().status, 405);
        let r = parse(
            &env(&[
                ("REQUEST_METHOD", "POST"),
                ("PATH_INFO", "/api/x"),
                ("CONTENT_LENGTH", "2"),
            ]),
            &mut &b"{}"[..],
        )
        .unwrap();
        assert_eq!(r.body, b"{}");
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;
    use std::os::fd::AsFd;

    /// An authorized client that stalls mid-body gets 408 at the deadline, not a hung CGI.
    #[test]
    fn finding_7_body_read_has_a_deadline() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut w = std::fs::File::from(w);
        std::io::Write::write_all(&mut w, b"{\"a\":").unwrap();
        let t0 = Instant::now();
        let mut reader = DeadlineReader::new(r.as_fd(), Duration::from_millis(200));
        let e = read_limited(40, &mut reader).unwrap_err();
        assert_eq!(e.status, 408);
        assert!(t0.elapsed() < Duration::from_secs(2));
        drop(w);
        // A complete body within the deadline reads normally.
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut w = std::fs::File::from(w);
        std::io::Write::write_all(&mut w, b"{}").unwrap();
        drop(w);
        let mut reader = DeadlineReader::new(r.as_fd(), Duration::from_millis(200));
        assert_eq!(read_limited(2, &mut reader).unwrap(), b"{}");
    }
}
