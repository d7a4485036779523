//! A native ubus client: the wire protocol of OpenWrt's ubusd over its unix socket
//! (`<root>/var/run/ubus/ubus.sock`), so asking rpcd or netifd costs no child process.
//!
//! Facts (read from the vendored sources, tests/vendor/openwrt: ubus `ubusmsg.h`, `libubus-io.c`,
//! `libubus-req.c`, `libubus.c`, `ubusd_proto.c`; libubox `blob.h`, `blobmsg.h`):
//! * A message is an 8-byte header — version (0), type, seq (u16 BE), peer (u32 BE) — followed by
//!   one blob attribute that holds the message's attributes. ubusd refuses messages longer than
//!   `UBUS_MAX_MSGLEN` (1 MiB).
//! * A blob attribute starts with a u32 BE: bit 31 "extended" (blobmsg), bits 24..30 the id (or
//!   blobmsg type), bits 0..23 the length including this 4-byte header; attributes are padded to 4
//!   bytes. A blobmsg attribute (extended) then holds a u16 BE name length, the name, a NUL, padding
//!   to 4, then the value: strings NUL-terminated, integers big-endian of exactly their size, int8
//!   doubles as bool, tables and arrays nest attributes.
//! * On connect ubusd sends HELLO (its peer field is our client id). LOOKUP {OBJPATH} answers a
//!   DATA {OBJID, …} per object then STATUS; INVOKE {OBJID, METHOD, DATA} (header peer = object id)
//!   answers DATA {DATA: reply table} messages then STATUS {STATUS: u32}. Replies carry our seq.
//!
//! Every read has a deadline (the whole call's), every length read from the socket is checked
//! against what is left of the buffer and against a cap, nesting is bounded, and anything that is
//! not exactly the expected shape is an error (callers fail closed).

use super::Root;
use serde_json::{Map, Value};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Where ubusd listens on the router (under the configurable root in tests).
pub const SOCKET: &str = "/var/run/ubus/ubus.sock";
/// ubusd's own limit (`UBUS_MAX_MSGLEN`).
pub const MAX_MSG: usize = 1 << 20;
/// Object ids remembered across CGI processes (`<path> <id>` lines), so a request can INVOKE
/// without a LOOKUP round trip. Ids only, never answers; ubusd gives a restarted daemon's object
/// a new random id (ubusd_id.c reads /dev/urandom), so a stale one answers NOT_FOUND and is
/// looked up again ([`Ubus::call_remembered`]).
pub const ID_CACHE: &str = "/var/run/jammonitor/ubus.ids";
const MAX_DEPTH: usize = 16;
/// Non-reply messages tolerated while waiting for a reply (ubusd sends none to a plain client).
const MAX_STRAY: usize = 8;

pub const MSG_HELLO: u8 = 0;
pub const MSG_STATUS: u8 = 1;
pub const MSG_DATA: u8 = 2;
pub const MSG_LOOKUP: u8 = 4;
pub const MSG_INVOKE: u8 = 5;

pub const ATTR_STATUS: u8 = 1;
pub const ATTR_OBJPATH: u8 = 2;
pub const ATTR_OBJID: u8 = 3;
pub const ATTR_METHOD: u8 = 4;
pub const ATTR_DATA: u8 = 7;

const BLOBMSG_ARRAY: u8 = 1;
const BLOBMSG_TABLE: u8 = 2;
const BLOBMSG_STRING: u8 = 3;
const BLOBMSG_INT64: u8 = 4;
const BLOBMSG_INT32: u8 = 5;
const BLOBMSG_INT16: u8 = 6;
const BLOBMSG_INT8: u8 = 7;
const BLOBMSG_DOUBLE: u8 = 8;

const EXTENDED: u32 = 0x8000_0000;
const ID_MASK: u32 = 0x7f00_0000;
const LEN_MASK: u32 = 0x00ff_ffff;

/// ubus status codes (`enum ubus_msg_status`).
pub const STATUS_OK: u32 = 0;
pub const STATUS_NOT_FOUND: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UbusError {
    /// No socket, connection refused, path too long: the bus is not there.
    Unavailable(String),
    /// The deadline passed while waiting for ubusd or the object.
    Timeout,
    /// Bytes that are not a well-formed ubus message of the expected shape.
    Protocol(&'static str),
    /// The call completed with a non-zero ubus status (4 = not found, …).
    Status(u32),
}

impl std::fmt::Display for UbusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UbusError::Unavailable(e) => write!(f, "ubus is not available: {e}"),
            UbusError::Timeout => write!(f, "ubus did not answer in time"),
            UbusError::Protocol(e) => write!(f, "malformed ubus message: {e}"),
            UbusError::Status(s) => write!(f, "ubus status {s} ({})", status_name(*s)),
        }
    }
}

pub fn status_name(s: u32) -> &'static str {
    match s {
        0 => "Success",
        1 => "Invalid command",
        2 => "Invalid argument",
        3 => "Method not found",
        4 => "Not found",
        5 => "No response",
        6 => "Permission denied",
        7 => "Request timed out",
        8 => "Operation not supported",
        9 => "Unknown error",
        10 => "Connection failed",
        11 => "Out of memory",
        12 => "Parsing message data failed",
        13 => "System error",
        _ => "unknown status",
    }
}

// ---- wire format: parsing (the part a hostile socket talks to; fuzzed) ------------------------------

/// One message: header fields and the attributes of its top-level blob (raw, by id).
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub kind: u8,
    pub seq: u16,
    pub peer: u32,
    pub attrs: Vec<(u8, Vec<u8>)>,
}

impl Msg {
    pub fn attr(&self, id: u8) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }
    pub fn u32_attr(&self, id: u8) -> Option<u32> {
        let v = self.attr(id)?;
        (v.len() == 4).then(|| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Length of the message whose first 12 bytes (header + top blob header) are `head`, checked
/// against `cap`: what the reader must read next.
pub fn frame_len(head: &[u8; 12], cap: usize) -> Result<usize, UbusError> {
    if head[0] != 0 {
        return Err(UbusError::Protocol("unknown message version"));
    }
    let raw = (be32(&head[8..12]) & LEN_MASK) as usize;
    if raw < 4 {
        return Err(UbusError::Protocol("blob shorter than its header"));
    }
    if pad4(raw) > cap.min(MAX_MSG) {
        return Err(UbusError::Protocol("message longer than allowed"));
    }
    Ok(8 + raw)
}

/// Splits a sequence of (non-blobmsg) blob attributes into (id, payload).
fn blob_attrs(mut buf: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, UbusError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        if buf.len() < 4 {
            return Err(UbusError::Protocol("truncated attribute header"));
        }
        let w = be32(buf);
        let len = (w & LEN_MASK) as usize;
        if len < 4 || len > buf.len() {
            return Err(UbusError::Protocol("attribute length out of bounds"));
        }
        out.push((((w & ID_MASK) >> 24) as u8, buf[4..len].to_vec()));
        let step = pad4(len).min(buf.len());
        buf = &buf[step..];
    }
    Ok(out)
}

/// Parses one whole message (header + top blob, exactly `frame_len` bytes).
pub fn parse_msg(buf: &[u8], cap: usize) -> Result<Msg, UbusError> {
    if buf.len() < 12 {
        return Err(UbusError::Protocol("message shorter than its header"));
    }
    let mut head = [0u8; 12];
    head.copy_from_slice(&buf[..12]);
    let total = frame_len(&head, cap)?;
    if buf.len() != total {
        return Err(UbusError::Protocol("message length mismatch"));
    }
    Ok(Msg {
        kind: buf[1],
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        peer: be32(&buf[4..8]),
        attrs: blob_attrs(&buf[12..])?,
    })
}

/// Converts the attributes of a blobmsg table (e.g. the payload of `ATTR_DATA`) to a JSON object,
/// as libubox's blobmsg_format_json would print it (int8 as bool, signed integers).
pub fn blobmsg_table(buf: &[u8]) -> Result<Map<String, Value>, UbusError> {
    match blobmsg_list(buf, true, 0)? {
        Value::Object(m) => Ok(m),
        _ => Err(UbusError::Protocol("not a table")),
    }
}

fn blobmsg_list(mut buf: &[u8], table: bool, depth: usize) -> Result<Value, UbusError> {
    if depth > MAX_DEPTH {
        return Err(UbusError::Protocol("nested too deeply"));
    }
    let mut map = Map::new();
    let mut arr = Vec::new();
    while !buf.is_empty() {
        if buf.len() < 4 {
            return Err(UbusError::Protocol("truncated blobmsg header"));
        }
        let w = be32(buf);
        let len = (w & LEN_MASK) as usize;
        if len < 4 || len > buf.len() {
            return Err(UbusError::Protocol("blobmsg length out of bounds"));
        }
        if w & EXTENDED == 0 {
            return Err(UbusError::Protocol("blob attribute where blobmsg expected"));
        }
        let kind = ((w & ID_MASK) >> 24) as u8;
        let body = &buf[4..len];
        if body.len() < 2 {
            return Err(UbusError::Protocol("blobmsg without name header"));
        }
        let namelen = u16::from_be_bytes([body[0], body[1]]) as usize;
        let hdr = pad4(2 + namelen + 1);
        if hdr > body.len() || body[2 + namelen] != 0 {
            return Err(UbusError::Protocol("blobmsg name out of bounds"));
        }
        let name = String::from_utf8_lossy(&body[2..2 + namelen]).into_owned();
        let v = blobmsg_value(kind, &body[hdr..], depth)?;
        if table {
            map.insert(name, v);
        } else {
            arr.push(v);
        }
        let step = pad4(len).min(buf.len());
        buf = &buf[step..];
    }
    Ok(if table {
        Value::Object(map)
    } else {
        Value::Array(arr)
    })
}

fn blobmsg_value(kind: u8, d: &[u8], depth: usize) -> Result<Value, UbusError> {
    let exact = |n: usize| {
        if d.len() == n {
            Ok(())
        } else {
            Err(UbusError::Protocol("integer of the wrong size"))
        }
    };
    Ok(match kind {
        BLOBMSG_TABLE => blobmsg_list(d, true, depth + 1)?,
        BLOBMSG_ARRAY => blobmsg_list(d, false, depth + 1)?,
        BLOBMSG_STRING => {
            let Some((&0, s)) = d.split_last() else {
                return Err(UbusError::Protocol("string without its NUL"));
            };
            let s = match s.iter().position(|&b| b == 0) {
                Some(_) => return Err(UbusError::Protocol("NUL inside a string")),
                None => s,
            };
            Value::String(String::from_utf8_lossy(s).into_owned())
        }
        BLOBMSG_INT64 => {
            exact(8)?;
            let mut b = [0u8; 8];
            b.copy_from_slice(d);
            Value::from(i64::from_be_bytes(b))
        }
        BLOBMSG_INT32 => {
            exact(4)?;
            Value::from(be32(d) as i32)
        }
        BLOBMSG_INT16 => {
            exact(2)?;
            Value::from(i16::from_be_bytes([d[0], d[1]]))
        }
        BLOBMSG_INT8 => {
            exact(1)?;
            Value::Bool(d[0] != 0)
        }
        BLOBMSG_DOUBLE => {
            exact(8)?;
            let mut b = [0u8; 8];
            b.copy_from_slice(d);
            serde_json::Number::from_f64(f64::from_bits(u64::from_be_bytes(b)))
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        0 => Value::Null,
        _ => return Err(UbusError::Protocol("unknown blobmsg type")),
    })
}

// ---- wire format: building requests ---------------------------------------------------------------

fn put_attr(out: &mut Vec<u8>, word: u32, payload_len: usize, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&(word | (4 + payload_len) as u32).to_be_bytes());
    body(out);
    debug_assert_eq!(out.len() - start, 4 + payload_len);
    out.resize(start + pad4(4 + payload_len), 0);
}

/// A plain blob attribute (message level: OBJPATH, OBJID, METHOD, DATA).
pub fn put_blob(out: &mut Vec<u8>, id: u8, payload: &[u8]) {
    put_attr(out, (id as u32) << 24, payload.len(), |o| {
        o.extend_from_slice(payload)
    });
}

/// The blobmsg attributes of a JSON object (what `ubus call` sends for its JSON argument).
pub fn blobmsg_from_json(obj: &Map<String, Value>) -> Result<Vec<u8>, UbusError> {
    let mut out = Vec::new();
    for (k, v) in obj {
        put_blobmsg(&mut out, k, v, 0)?;
    }
    Ok(out)
}

fn put_blobmsg(out: &mut Vec<u8>, name: &str, v: &Value, depth: usize) -> Result<(), UbusError> {
    if depth > MAX_DEPTH || name.len() > u16::MAX as usize {
        return Err(UbusError::Protocol("argument too deep or name too long"));
    }
    let (kind, data): (u8, Vec<u8>) = match v {
        Value::Null => (0, vec![]),
        Value::Bool(b) => (BLOBMSG_INT8, vec![*b as u8]),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if i32::try_from(i).is_ok() => {
                (BLOBMSG_INT32, (i as i32).to_be_bytes().to_vec())
            }
            (Some(i), _) => (BLOBMSG_INT64, i.to_be_bytes().to_vec()),
            (None, Some(f)) => (BLOBMSG_DOUBLE, f.to_bits().to_be_bytes().to_vec()),
            _ => return Err(UbusError::Protocol("number out of range")),
        },
        Value::String(s) => {
            let mut d = s.as_bytes().to_vec();
            d.push(0);
            (BLOBMSG_STRING, d)
        }
        Value::Array(a) => {
            let mut d = Vec::new();
            for x in a {
                put_blobmsg(&mut d, "", x, depth + 1)?;
            }
            (BLOBMSG_ARRAY, d)
        }
        Value::Object(m) => {
            let mut d = Vec::new();
            for (k, x) in m {
                put_blobmsg(&mut d, k, x, depth + 1)?;
            }
            (BLOBMSG_TABLE, d)
        }
    };
    let hdr = pad4(2 + name.len() + 1);
    if 4 + hdr + data.len() > LEN_MASK as usize {
        return Err(UbusError::Protocol("argument too long"));
    }
    put_attr(
        out,
        EXTENDED | ((kind as u32) << 24),
        hdr + data.len(),
        |o| {
            let s = o.len();
            o.extend_from_slice(&(name.len() as u16).to_be_bytes());
            o.extend_from_slice(name.as_bytes());
            o.resize(s + hdr, 0);
            o.extend_from_slice(&data);
        },
    );
    Ok(())
}

/// A whole message: header + top-level blob (id 0) holding `attrs` (already encoded).
pub fn encode_msg(kind: u8, seq: u16, peer: u32, attrs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + attrs.len());
    out.extend_from_slice(&[0, kind]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&peer.to_be_bytes());
    out.extend_from_slice(&((4 + attrs.len()) as u32).to_be_bytes());
    out.extend_from_slice(attrs);
    out
}

// ---- the client ---------------------------------------------------------------------------------

/// One connection to ubusd, with one deadline for everything done on it.
pub struct Ubus {
    sock: UnixStream,
    deadline: Instant,
    seq: u16,
    cap: usize,
    /// Bytes read from the socket and not yet consumed (one read takes what ubusd has sent,
    /// often a whole reply: fewer read/setsockopt calls than a header-then-body read).
    rbuf: Vec<u8>,
    /// Object ids looked up on this connection (ids, never answers: an id a restarted daemon no
    /// longer owns is looked up again, see `call`).
    ids: Vec<(String, u32)>,
    /// ubusd's HELLO not read yet: it is read before the first reply, so the first requests go
    /// out without waiting for it (one round trip less per process; ubusd reads a client's
    /// requests only after sending its HELLO anyway).
    hello_pending: bool,
}

impl Ubus {
    /// Connects to `<root>/var/run/ubus/ubus.sock`; ubusd's HELLO is checked before the first
    /// reply is read (`hello_pending`). `timeout` bounds every later call on this connection
    /// too; `cap` bounds each message read (≤ 1 MiB).
    pub fn connect(root: &Root, timeout: Duration, cap: usize) -> Result<Ubus, UbusError> {
        let deadline = Instant::now() + timeout;
        let path = root.path(SOCKET);
        let sock = UnixStream::connect(&path)
            .map_err(|e| UbusError::Unavailable(format!("{}: {e}", path.display())))?;
        let u = Ubus {
            sock,
            deadline,
            seq: 1,
            cap: cap.min(MAX_MSG),
            rbuf: Vec::new(),
            ids: Vec::new(),
            hello_pending: true,
        };
        Ok(u)
    }

    fn remaining(&self) -> Result<Duration, UbusError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(UbusError::Timeout)
        } else {
            Ok(left)
        }
    }

    fn io_err(e: std::io::Error) -> UbusError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => UbusError::Timeout,
            std::io::ErrorKind::UnexpectedEof => UbusError::Protocol("ubusd closed the connection"),
            _ => UbusError::Unavailable(e.to_string()),
        }
    }

    /// Reads until `rbuf` holds at least `n` bytes, each read bounded by the deadline.
    fn fill(&mut self, n: usize) -> Result<(), UbusError> {
        let mut chunk = [0u8; 16 << 10];
        while self.rbuf.len() < n {
            let left = self.remaining()?;
            self.sock
                .set_read_timeout(Some(left))
                .map_err(Self::io_err)?;
            match self.sock.read(&mut chunk) {
                Ok(0) => return Err(UbusError::Protocol("ubusd closed the connection")),
                Ok(got) => self.rbuf.extend_from_slice(&chunk[..got]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Self::io_err(e)),
            }
        }
        Ok(())
    }

    fn read_msg(&mut self) -> Result<Msg, UbusError> {
        if self.hello_pending {
            let hello = self.read_frame()?;
            if hello.kind != MSG_HELLO {
                return Err(UbusError::Protocol("no HELLO from ubusd"));
            }
            self.hello_pending = false;
        }
        self.read_frame()
    }

    fn read_frame(&mut self) -> Result<Msg, UbusError> {
        self.fill(12)?;
        let mut head = [0u8; 12];
        head.copy_from_slice(&self.rbuf[..12]);
        let total = frame_len(&head, self.cap)?;
        self.fill(total)?;
        let m = parse_msg(&self.rbuf[..total], self.cap);
        self.rbuf.drain(..total);
        m
    }

    fn send(&mut self, kind: u8, peer: u32, attrs: &[u8]) -> Result<u16, UbusError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let msg = encode_msg(kind, seq, peer, attrs);
        if msg.len() > MAX_MSG {
            return Err(UbusError::Protocol("request too long"));
        }
        let left = self.remaining()?;
        self.sock
            .set_write_timeout(Some(left))
            .map_err(Self::io_err)?;
        self.sock.write_all(&msg).map_err(Self::io_err)?;
        Ok(seq)
    }

    /// Reads the replies to request `seq` up to its STATUS: the DATA messages, then the status.
    fn replies(&mut self, seq: u16) -> Result<Vec<Msg>, UbusError> {
        let mut data = Vec::new();
        let mut stray = 0;
        loop {
            let m = self.read_msg()?;
            if m.seq != seq || (m.kind != MSG_DATA && m.kind != MSG_STATUS) {
                stray += 1;
                if stray > MAX_STRAY {
                    return Err(UbusError::Protocol("too many unrelated messages"));
                }
                continue;
            }
            if m.kind == MSG_STATUS {
                let st = m
                    .u32_attr(ATTR_STATUS)
                    .ok_or(UbusError::Protocol("STATUS without a status"))?;
                if st != STATUS_OK {
                    return Err(UbusError::Status(st));
                }
                return Ok(data);
            }
            if data.len() >= MAX_STRAY {
                return Err(UbusError::Protocol("too many DATA messages"));
            }
            data.push(m);
        }
    }

    /// The id of object `path` (`session`, `network.interface.wan1` …).
    pub fn lookup(&mut self, path: &str) -> Result<u32, UbusError> {
        self.lookup_many(&[path]).remove(0)
    }

    fn cached(&self, path: &str) -> Option<u32> {
        self.ids.iter().find(|(p, _)| p == path).map(|(_, id)| *id)
    }

    /// Looks several objects up in one round trip: every LOOKUP is sent before the first reply
    /// is read (ubusd answers them in order). One result per path, in order; ids already
    /// known on this connection are not asked again.
    pub fn lookup_many(&mut self, paths: &[&str]) -> Vec<Result<u32, UbusError>> {
        let mut sent = Vec::with_capacity(paths.len());
        for path in paths {
            if self.cached(path).is_some() {
                sent.push(Ok(None));
                continue;
            }
            let mut attrs = Vec::new();
            let mut p = path.as_bytes().to_vec();
            p.push(0);
            put_blob(&mut attrs, ATTR_OBJPATH, &p);
            sent.push(self.send(MSG_LOOKUP, 0, &attrs).map(Some));
        }
        let mut broken: Option<UbusError> = None;
        let mut out = Vec::with_capacity(paths.len());
        for (path, s) in paths.iter().zip(sent) {
            let r = match s {
                Ok(None) => self.cached(path).ok_or(UbusError::Status(STATUS_NOT_FOUND)),
                Err(e) => Err(e),
                Ok(Some(_)) if broken.is_some() => Err(broken.clone().unwrap()),
                Ok(Some(seq)) => self.lookup_reply(path, seq),
            };
            if let Err(e) = &r {
                if !matches!(e, UbusError::Status(_)) {
                    // the stream is out of step: the later replies cannot be trusted
                    broken = Some(e.clone());
                }
            }
            if let Ok(id) = r {
                if self.cached(path).is_none() {
                    self.ids.push((path.to_string(), id));
                }
            }
            out.push(r);
        }
        out
    }

    fn lookup_reply(&mut self, path: &str, seq: u16) -> Result<u32, UbusError> {
        let data = self.replies(seq)?;
        let mut id = None;
        for m in &data {
            let path_ok = m.attr(ATTR_OBJPATH).is_some_and(|v| {
                v.split_last()
                    .is_some_and(|(z, s)| *z == 0 && s == path.as_bytes())
            });
            if path_ok {
                id = m.u32_attr(ATTR_OBJID);
            }
        }
        id.ok_or(UbusError::Status(STATUS_NOT_FOUND))
    }

    /// Invokes `method` of object `id` with `args` (a JSON object); the reply table (empty
    /// when the object sent no data).
    pub fn invoke(
        &mut self,
        id: u32,
        method: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, UbusError> {
        let mut attrs = Vec::new();
        put_blob(&mut attrs, ATTR_OBJID, &id.to_be_bytes());
        let mut m = method.as_bytes().to_vec();
        m.push(0);
        put_blob(&mut attrs, ATTR_METHOD, &m);
        put_blob(&mut attrs, ATTR_DATA, &blobmsg_from_json(args)?);
        let seq = self.send(MSG_INVOKE, id, &attrs)?;
        let data = self.replies(seq)?;
        match data.as_slice() {
            [] => Ok(Map::new()),
            [one] => blobmsg_table(
                one.attr(ATTR_DATA)
                    .ok_or(UbusError::Protocol("DATA without data"))?,
            ),
            _ => Err(UbusError::Protocol("more than one reply")),
        }
    }

    /// lookup + invoke: what `ubus call PATH METHOD ARGS` does. An id remembered from an
    /// earlier lookup that now answers NOT_FOUND (its daemon restarted) is looked up again once.
    pub fn call(
        &mut self,
        path: &str,
        method: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, UbusError> {
        let was_cached = self.cached(path);
        let id = self.lookup(path)?;
        match self.invoke(id, method, args) {
            Err(UbusError::Status(STATUS_NOT_FOUND)) if was_cached.is_some() => {
                self.ids.retain(|(p, _)| p != path);
                let fresh = self.lookup(path)?;
                if fresh == id {
                    return Err(UbusError::Status(STATUS_NOT_FOUND));
                }
                self.invoke(fresh, method, args)
            }
            r => r,
        }
    }

    /// [`Ubus::call`] with the object's id remembered from an earlier process ([`ID_CACHE`]):
    /// one round trip instead of two. A remembered id whose call fails with a ubus status (its
    /// daemon restarted: NOT_FOUND; or the id is now another object's) is looked up again, and
    /// only a different id is asked again (that status is the answer otherwise) and remembered.
    /// An object not on the bus is `Unavailable`.
    pub fn call_remembered(
        &mut self,
        root: &Root,
        path: &str,
        method: &str,
        args: &Map<String, Value>,
    ) -> Result<Map<String, Value>, UbusError> {
        let remembered = remembered_id(root, path);
        let mut first = None;
        if let Some(id) = remembered {
            match self.invoke(id, method, args) {
                // stale (NOT_FOUND) or now another object's (ubusd's own have ids 1-3)
                Err(UbusError::Status(st)) => first = Some(st),
                r => return r,
            }
        }
        // No such object: its daemon is not running (not a status of the call itself).
        let id = self.lookup(path).map_err(|e| match e {
            UbusError::Status(_) => {
                UbusError::Unavailable(format!("no `{path}` object on the bus"))
            }
            e => e,
        })?;
        if let (Some(st), true) = (first, remembered == Some(id)) {
            return Err(UbusError::Status(st));
        }
        remember_id(root, path, id);
        self.invoke(id, method, args)
    }

    /// A new deadline and read cap for the next calls on this connection.
    pub fn rearm(&mut self, timeout: Duration, cap: usize) {
        self.deadline = Instant::now() + timeout;
        self.cap = cap.min(MAX_MSG);
    }
}

fn remembered_id(root: &Root, path: &str) -> Option<u32> {
    let text = root.read(ID_CACHE, 4096).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(path)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Best effort (a cache): written whole and renamed, other objects' lines kept.
fn remember_id(root: &Root, path: &str, id: u32) {
    let old = root.read(ID_CACHE, 4096).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| l.split(' ').next() != Some(path))
        .take(16)
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("{path} {id}\n"));
    let _ = super::write_atomic(root, ID_CACHE, text.as_bytes());
}

/// The process's one connection to ubusd, shared by everything that asks the bus during a
/// request (the session check, then netifd's dump …): one connect and one HELLO per process
/// instead of one per question. It carries connections and object ids only — never an answer
/// (every session check is asked of rpcd again).
static SHARED: std::sync::Mutex<Option<(std::path::PathBuf, Ubus)>> = std::sync::Mutex::new(None);

/// Runs `f` on the shared connection to `root`'s ubusd (connecting when there is none), with a
/// fresh deadline of `timeout` for everything `f` does. A connection that failed other than with
/// a ubus status (timeout, EOF, garbage: replies may be pending) is dropped; a reused one that
/// failed that way (ubusd restarted since) is replaced once by a new connection, so `f` must only
/// read (it may run twice).
pub fn with_bus<T>(
    root: &Root,
    timeout: Duration,
    cap: usize,
    mut f: impl FnMut(&mut Ubus) -> Result<T, UbusError>,
) -> Result<T, UbusError> {
    let path = root.path(SOCKET);
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    let reused = match slot.take() {
        Some((p, mut bus)) if p == path => {
            bus.rearm(timeout, cap);
            Some(bus)
        }
        _ => None,
    };
    let was_reused = reused.is_some();
    let mut bus = match reused {
        Some(b) => b,
        None => Ubus::connect(root, timeout, cap)?,
    };
    let mut r = f(&mut bus);
    if was_reused && matches!(r, Err(UbusError::Protocol(_) | UbusError::Unavailable(_))) {
        bus = Ubus::connect(root, timeout, cap)?;
        r = f(&mut bus);
    }
    if matches!(r, Ok(_) | Err(UbusError::Status(_))) {
        *slot = Some((path, bus));
    }
    r
}

/// One call on the shared connection (see `with_bus`).
pub fn call(
    root: &Root,
    path: &str,
    method: &str,
    args: &Map<String, Value>,
    timeout: Duration,
    cap: usize,
) -> Result<Map<String, Value>, UbusError> {
    with_bus(root, timeout, cap, |b| b.call(path, method, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn blobmsg_round_trip() {
        let v = json!({"s": "wan1", "b": true, "f": false, "i": -5, "big": 1u64 << 40,
                       "d": 1.5, "t": {"x": [1, "two", {"y": null}]}, "e": ""});
        let enc = blobmsg_from_json(&obj(v.clone())).unwrap();
        assert_eq!(enc.len() % 4, 0);
        assert_eq!(Value::Object(blobmsg_table(&enc).unwrap()), v);
    }

    #[test]
    fn messages_round_trip() {
        let mut attrs = Vec::new();
        put_blob(&mut attrs, ATTR_OBJID, &7u32.to_be_bytes());
        put_blob(&mut attrs, ATTR_METHOD, b"access\0");
        let m = encode_msg(MSG_INVOKE, 9, 7, &attrs);
        let p = parse_msg(&m, 4096).unwrap();
        assert_eq!((p.kind, p.seq, p.peer), (MSG_INVOKE, 9, 7));
        assert_eq!(p.u32_attr(ATTR_OBJID), Some(7));
        assert_eq!(p.attr(ATTR_METHOD), Some(&b"access\0"[..]));
    }

    #[test]
    fn hostile_lengths_are_refused() {
        // length field larger than the cap
        let mut m = encode_msg(MSG_DATA, 1, 0, &[]);
        m[8..12].copy_from_slice(&0x00ff_fff0u32.to_be_bytes());
        let mut head = [0u8; 12];
        head.copy_from_slice(&m[..12]);
        assert!(frame_len(&head, 4096).is_err());
        // attribute claiming more than the message holds
        let mut attrs = Vec::new();
        put_blob(&mut attrs, ATTR_DATA, &[0u8; 8]);
        attrs[0..4].copy_from_slice(&(0x0700_0000u32 | 64).to_be_bytes());
        assert!(parse_msg(&encode_msg(MSG_DATA, 1, 0, &attrs), 4096).is_err());
        // blobmsg name running past its attribute
        let bad = [0x83, 0, 0, 8, 0, 200, b'a', 0];
        assert!(blobmsg_table(&bad).is_err());
        // integer of the wrong size, string without NUL, version 1
        assert!(blobmsg_table(&[0x85, 0, 0, 10, 0, 1, b'a', 0, 0, 1, 0, 0]).is_err());
        assert!(blobmsg_table(&[0x83, 0, 0, 9, 0, 1, b'a', 0, b'x', 0, 0, 0]).is_err());
        let mut v1 = encode_msg(MSG_DATA, 1, 0, &[]);
        v1[0] = 1;
        assert!(parse_msg(&v1, 4096).is_err());
        // deep nesting
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!({ "a": deep });
        }
        assert!(blobmsg_from_json(&obj(deep)).is_err());
    }
}
