//! The answer: a CGI header block (with `Status:`), then the body. JSON by default.

use crate::error::ApiError;
use serde_json::{Value, json};
use std::io::Write;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Extra headers (name, value); values are ours, never raw input.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// A file streamed after `body` instead of held in memory (the diagnostic bundle).
    pub stream: Option<Stream>,
}

/// An open file sent as the body in chunks, `len` bytes; `remove_after` is unlinked once every
/// byte was written (a bundle is removed after its download).
#[derive(Debug, Clone)]
pub struct Stream {
    pub file: std::sync::Arc<std::fs::File>,
    pub len: u64,
    pub remove_after: Option<std::path::PathBuf>,
}

impl Response {
    pub fn ok(data: Value) -> Response {
        Self::json(200, &json!({"ok": true, "data": data}))
    }

    /// [`Response::ok`] for `data` already serialized (a JSON object or value), byte for byte
    /// the body `ok` would give for the same value.
    pub fn ok_serialized(data: &[u8]) -> Response {
        let mut body = Vec::with_capacity(data.len() + 20);
        body.extend_from_slice(b"{\"data\":");
        body.extend_from_slice(data);
        body.extend_from_slice(b",\"ok\":true}");
        Response {
            status: 200,
            content_type: "application/json",
            headers: Vec::new(),
            body,
            stream: None,
        }
    }

    pub fn error(e: &ApiError) -> Response {
        Self::json(
            e.status,
            &json!({"ok": false, "error": {"code": e.code, "message": e.message, "field": e.field}}),
        )
    }

    pub fn json(status: u16, v: &Value) -> Response {
        Response {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: serde_json::to_vec(v).unwrap_or_else(|_| b"{\"ok\":false}".to_vec()),
            stream: None,
        }
    }

    /// A file the browser saves (fetched with the Bearer header, saved from a Blob).
    pub fn download(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
        let safe: String = filename
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        Response {
            status: 200,
            content_type,
            headers: vec![(
                "Content-Disposition",
                format!("attachment; filename=\"{safe}\""),
            )],
            body,
            stream: None,
        }
    }

    /// Like [`Response::download`], the body streamed from `stream` (8 KiB at a time).
    pub fn download_stream(content_type: &'static str, filename: &str, stream: Stream) -> Response {
        let mut r = Self::download(content_type, filename, Vec::new());
        r.stream = Some(stream);
        r
    }

    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut head = format!(
            "Status: {} {}\r\nContent-Type: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
            self.status,
            reason(self.status),
            self.content_type
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let len = self.body.len() as u64 + self.stream.as_ref().map_or(0, |s| s.len);
        head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        if let Some(s) = &self.stream {
            let mut f = std::io::Read::take(&*s.file, s.len);
            let sent = std::io::copy(&mut f, out)?;
            out.flush()?;
            if sent != s.len {
                return Err(std::io::Error::other("the file ended early"));
            }
            if let Some(p) = &s.remove_after {
                let _ = std::fs::remove_file(p);
            }
            return Ok(());
        }
        out.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}
