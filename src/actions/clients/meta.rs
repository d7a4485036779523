//! Custom names and types per MAC: `/etc/jammonitor_clients.json`, `{"aa:bb:…": {"alias":
//! "Anna's laptop", "type": "laptop"}}` (the predecessor's format, so an upgrade keeps them).
//! `POST clients.meta {"mac", "name"?: text|null, "type"?: type|null}`: null or "" removes that
//! field. Validated, under the `clients` lock, read-modify-write, atomic replace (a crash leaves
//! the old or the new file, never half). Bounded: at most [`MAX_ENTRIES`] MACs and
//! [`MAX_BYTES`] bytes.

use super::kind::TYPES;
use crate::actions::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::system::Root;
use crate::system::leases::normalize_mac;
use crate::system::lock;
use serde_json::{Map, Value, json};
use std::time::Duration;

pub const FILE: &str = "/etc/jammonitor_clients.json";
pub const MAX_ENTRIES: usize = 1024;
pub const MAX_BYTES: usize = 256 << 10;
pub const MAX_NAME: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub name: Option<String>,
    pub kind: Option<String>,
}

/// The file as a map; a missing or unreadable file is empty (never fatal for the read path),
/// entries that are not valid are ignored.
pub fn load(root: &Root) -> Vec<(String, Meta)> {
    let Ok(text) = root.read(FILE, MAX_BYTES + 1) else {
        return Vec::new();
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(mac, v)| {
            let mac = normalize_mac(mac)?;
            let name = v
                .get("alias")
                .and_then(Value::as_str)
                .and_then(|s| valid_name(s).ok())
                .filter(|s| !s.is_empty());
            let kind = v
                .get("type")
                .and_then(Value::as_str)
                .filter(|t| TYPES.contains(t))
                .map(str::to_string);
            Some((mac, Meta { name, kind }))
        })
        .take(MAX_ENTRIES)
        .collect()
}

pub fn valid_name(s: &str) -> Result<String, &'static str> {
    let t = s.trim();
    if t.chars().count() > MAX_NAME {
        return Err("must be at most 64 characters");
    }
    if t.chars().any(|c| c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')) {
        return Err("must not contain control or direction-override characters");
    }
    Ok(t.to_string())
}

pub fn valid_mac(field: &str, s: &str) -> ApiResult<String> {
    let m = normalize_mac(s.trim())
        .ok_or_else(|| ApiError::field(field, "must be a MAC address like aa:bb:cc:dd:ee:ff"))?;
    if u8::from_str_radix(&m[..2], 16).unwrap_or(1) & 1 == 1 || m == "ff:ff:ff:ff:ff:ff" {
        return Err(ApiError::field(field, "must be a unicast MAC address"));
    }
    Ok(m)
}

/// `Some(None)` = remove, `None` = leave alone.
fn opt(f: &Fields, key: &str) -> ApiResult<Option<Option<String>>> {
    match f.raw(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::field(key, "must be a string or null")),
    }
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["mac", "name", "type"])?;
    let mac = valid_mac("mac", f.str("mac")?)?;
    let name = match opt(&f, "name")? {
        Some(Some(n)) => Some(Some(
            valid_name(&n).map_err(|m| ApiError::field("name", m))?,
        )),
        other => other,
    };
    let kind = match opt(&f, "type")? {
        Some(Some(t)) if t == "unknown" => Some(None),
        Some(Some(t)) if TYPES.contains(&t.as_str()) => Some(Some(t)),
        Some(Some(_)) => {
            return Err(ApiError::field(
                "type",
                format!("must be one of: {}", TYPES.join(", ")),
            ));
        }
        other => other,
    };
    if name.is_none() && kind.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give name and/or type",
        ));
    }
    let root = ctx.root;
    let _held = lock::acquire(root, "clients", Duration::from_secs(5))?;
    let mut map: Map<String, Value> = match root.read(FILE, MAX_BYTES + 1) {
        Ok(t) => match serde_json::from_str::<Value>(&t) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(ApiError::new(
                    409,
                    "conflict",
                    format!(
                        "{FILE} is not a JSON object; fix or remove it first (nothing changed)"
                    ),
                ));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(ApiError::internal(format!("cannot read {FILE}: {e}"))),
    };
    // Keys are kept as written, matched case-insensitively.
    let key = map
        .keys()
        .find(|k| normalize_mac(k).as_deref() == Some(&mac))
        .cloned()
        .unwrap_or_else(|| mac.clone());
    let mut entry = match map.remove(&key) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    if let Some(n) = &name {
        match n {
            Some(n) => entry.insert("alias".into(), json!(n)),
            None => entry.remove("alias"),
        };
    }
    if let Some(k) = &kind {
        match k {
            Some(k) => entry.insert("type".into(), json!(k)),
            None => entry.remove("type"),
        };
    }
    if !entry.is_empty() {
        if map.len() >= MAX_ENTRIES {
            return Err(ApiError::new(
                409,
                "conflict",
                format!(
                    "at most {MAX_ENTRIES} clients can have a custom name or type; remove some first"
                ),
            ));
        }
        map.insert(key, Value::Object(entry));
    }
    let bytes = serde_json::to_vec_pretty(&Value::Object(map))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if bytes.len() > MAX_BYTES {
        return Err(ApiError::new(
            409,
            "conflict",
            format!("{FILE} would exceed {MAX_BYTES} bytes"),
        ));
    }
    crate::txn::write_atomic(&root.path(FILE), &bytes)?;
    let saved = load(root)
        .into_iter()
        .find(|(m, _)| *m == mac)
        .map(|(_, m)| m)
        .unwrap_or_default();
    Ok(Response::ok(
        json!({"mac": mac, "name": saved.name, "type": saved.kind}),
    ))
}
