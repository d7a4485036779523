//! The CGI request parser (`http::request::parse`), the query and JSON body parsers, routing and
//! the error response built from whatever failed.
//!
//! Input: `NAME=value` lines (the CGI environment; the first of a name wins, a line that is not
//! UTF-8 is an unset variable, as `std::env::var` sees it) up to the first empty line, then the
//! body. Two pseudo-variables shape the body stream: `FUZZ_REPEAT=n` repeats the body n times
//! (n ≤ 80, to cross the 64 KiB cap) and `FUZZ_EIO=1` makes the stream fail after the body.
#![no_main]

use jammonitor::actions;
use jammonitor::http::{Fields, MAX_BODY, Method, Query, Response, request};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

struct Stream<'a> {
    body: &'a [u8],
    total: usize,
    pos: usize,
    eio: bool,
}

impl Read for Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.total {
            return if self.eio {
                Err(std::io::Error::other("fuzz EIO"))
            } else {
                Ok(0)
            };
        }
        // Short reads, like a pipe: at most 4 KiB and never across a repetition.
        let at = self.pos % self.body.len();
        let n = buf
            .len()
            .min(4096)
            .min(self.body.len() - at)
            .min(self.total - self.pos);
        buf[..n].copy_from_slice(&self.body[at..at + n]);
        self.pos += n;
        Ok(n)
    }
}

fn valid_action(a: &str) -> bool {
    let b = a.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && !a.contains("..")
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b'-')
        })
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut env: Vec<(String, String)> = Vec::new();
    for line in head.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        if let Some((k, v)) = line.split_once('=')
            && !env.iter().any(|(n, _)| n == k)
        {
            env.push((k.to_string(), v.to_string()));
        }
    }
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let repeat = var("FUZZ_REPEAT")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .min(80);
    let total = if body.is_empty() {
        0
    } else {
        body.len() * repeat
    };
    let eio = var("FUZZ_EIO").as_deref() == Some("1");
    let mut stream = Stream {
        body,
        total,
        pos: 0,
        eio,
    };

    let method = var("REQUEST_METHOD");
    let content_length = var("CONTENT_LENGTH");
    match request::parse(&var, &mut stream) {
        Ok(req) => {
            assert!(valid_action(&req.action), "bad action {:?}", req.action);
            assert_eq!(
                var("PATH_INFO").as_deref(),
                Some(format!("/api/{}", req.action).as_str())
            );
            assert_eq!(
                req.method == Method::Get,
                matches!(method.as_deref(), Some("GET" | "HEAD"))
            );
            assert!(
                req.body.len() <= MAX_BODY,
                "body of {} bytes",
                req.body.len()
            );
            if req.method == Method::Get {
                assert!(req.body.is_empty(), "GET with a body");
            } else {
                let cl = content_length
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty());
                let want = match cl {
                    None => total,
                    Some(n) => n.parse::<usize>().unwrap().min(total),
                };
                // A failing stream is only fine when the declared length ends before it fails.
                if eio {
                    assert!(
                        cl.is_some_and(|n| n.parse::<usize>().unwrap() <= total),
                        "EIO swallowed"
                    );
                }
                assert_eq!(req.body.len(), want, "body length");
                if !body.is_empty() {
                    for (i, b) in req.body.iter().enumerate() {
                        assert_eq!(*b, body[i % body.len()], "body byte {i}");
                    }
                }
            }
            assert_eq!(req.authorization, var("HTTP_AUTHORIZATION"));
            assert_eq!(req.origin, var("HTTP_ORIGIN"));
            assert_eq!(req.host, var("HTTP_HOST"));
            assert_eq!(req.content_type, var("CONTENT_TYPE"));
            match actions::route(&req.action, req.method) {
                Ok(_) => assert!(actions::names().any(|n| n == req.action)),
                Err(e) => assert!(matches!(e.status, 404 | 405), "route: {e}"),
            }
            let _ = (
                req.query.int("n", 1..=100, 5),
                req.query.choice("r", &["a", "b"], "a"),
            );
            let _ = req.query.only(&["n", "r"]);
        }
        Err(e) => {
            assert!(
                matches!(e.status, 400 | 404 | 405 | 413),
                "status {}",
                e.status
            );
            if e.status == 413 {
                let cl = content_length
                    .as_deref()
                    .and_then(|s| s.trim().parse::<usize>().ok());
                assert!(
                    total > MAX_BODY || cl.is_some_and(|n| n > MAX_BODY),
                    "413 for {total} bytes, CONTENT_LENGTH {content_length:?}"
                );
            }
            // The error answer: exactly the fixed header lines (no injection), a JSON body.
            let mut out = Vec::new();
            Response::error(&e).write_to(&mut out).unwrap();
            let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let head = &out[..split];
            assert_eq!(head.split(|&b| b == b'\n').count(), 5, "header block");
            let v: serde_json::Value = serde_json::from_slice(&out[split + 4..]).unwrap();
            assert_eq!(v["ok"], false);
        }
    }

    if let Some(raw) = var("QUERY_STRING")
        && let Ok(q) = Query::parse(&raw)
    {
        assert!(raw.len() <= 4096);
        if raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'&')
        {
            // Nothing to decode: every pair reads back as given.
            for pair in raw.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                assert_eq!(q.get(k), Some(v));
            }
        }
    }

    if let Ok(f) = Fields::parse(body) {
        let keys: Vec<String> = f.keys().cloned().collect();
        assert_eq!(f.only(&[]).is_ok(), keys.is_empty());
        for k in &keys {
            assert!(f.has(k));
            let _ = (f.str(k), f.opt_str(k), f.bool(k), f.array(k), f.object(k));
            if let Ok(n) = f.int(k, -5..=5) {
                assert!((-5..=5).contains(&n));
            }
        }
        let all: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert!(f.only(&all).is_ok());
        assert!(f.str("\u{0}absent").unwrap_err().field.is_some());
    }
});
