//! Tailscale peers for the Clients tab: `tailscale status --json` through the runner, projected
//! at once to an allowlist. The raw answer carries node keys, the auth URL, login names and
//! endpoints: none of it leaves this module. No binary under the root → `None` (the page hides
//! the block; not an error).
//!
//! The answer (ipnstate.Status of tailscale 1.x; shape documented in tests/doubles/tailscale):
//! `{"BackendState": "Running", "Self": {…}, "Peer": {"nodekey:…": {"HostName", "DNSName",
//! "OS", "TailscaleIPs": [..], "Online", "LastSeen", "RxBytes", "TxBytes", "ExitNode",
//! "ExitNodeOption", "Active", …secrets…}}, "AuthURL", "User": {…}, …}`.
//!
//! The projection is cached for [`CACHE_SECS`] in /var/run/jammonitor/tailscale.json, so a
//! Clients tab polling every few seconds costs at most one child process per cache period.

use super::Root;
use super::runner::{Cmd, run};
use serde_json::{Value, json};
use std::time::Duration;

/// Where the OpenWrt package installs the CLI (tailscale's own tarball: /usr/bin).
pub const PROGRAMS: [&str; 2] = ["/usr/sbin/tailscale", "/usr/bin/tailscale"];
pub const CACHE_FILE: &str = "/var/run/jammonitor/tailscale.json";
pub const CACHE_SECS: f64 = 10.0;
pub const MAX_PEERS: usize = 256;

pub fn program(root: &Root) -> Option<&'static str> {
    PROGRAMS.into_iter().find(|p| root.path(p).is_file())
}

fn text(v: &Value, k: &str, max: usize) -> Value {
    match v.get(k).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => {
            Value::String(s.chars().filter(|c| !c.is_control()).take(max).collect())
        }
        _ => Value::Null,
    }
}

fn ips(v: &Value) -> Value {
    Value::Array(
        v.get("TailscaleIPs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
                    .take(4)
                    .map(|s| Value::String(s.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Go's zero time ("0001-01-01T00:00:00Z") means "never".
fn time(v: &Value, k: &str) -> Value {
    match v.get(k).and_then(Value::as_str) {
        Some(s)
            if !s.starts_with("0001-")
                && s.len() <= 40
                && s.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Value::String(s.to_string())
        }
        _ => Value::Null,
    }
}

fn node(v: &Value) -> Value {
    json!({
        "hostname": text(v, "HostName", 64),
        "dns_name": text(v, "DNSName", 128),
        "ips": ips(v),
        "os": text(v, "OS", 32),
        "online": v.get("Online").and_then(Value::as_bool).unwrap_or(false),
        "last_seen": time(v, "LastSeen"),
        "rx_bytes": v.get("RxBytes").and_then(Value::as_u64).unwrap_or(0),
        "tx_bytes": v.get("TxBytes").and_then(Value::as_u64).unwrap_or(0),
        "exit_node": v.get("ExitNode").and_then(Value::as_bool).unwrap_or(false),
        "exit_node_option": v.get("ExitNodeOption").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// The allowlisted view of one `status --json` answer.
pub fn project(status: &Value) -> Value {
    let mut peers: Vec<Value> = status
        .get("Peer")
        .and_then(Value::as_object)
        .map(|m| m.values().map(node).collect())
        .unwrap_or_default();
    peers.sort_by(|a, b| {
        let k = |v: &Value| v["hostname"].as_str().unwrap_or("").to_ascii_lowercase();
        k(a).cmp(&k(b))
    });
    let total = peers.len();
    peers.truncate(MAX_PEERS);
    json!({
        "backend_state": text(status, "BackendState", 32),
        "self": status.get("Self").map(node).unwrap_or(Value::Null),
        "peers": peers,
        "peers_total": total,
    })
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `None`: no tailscale here. `Some(Err)`: installed but not answering (daemon stopped…).
pub fn status(root: &Root) -> Option<Result<Value, String>> {
    let prog = program(root)?;
    if let Ok(s) = root.read(CACHE_FILE, 256 << 10) {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            let at = v["at"].as_f64().unwrap_or(0.0);
            let age = now() - at;
            if (0.0..CACHE_SECS).contains(&age) {
                return Some(match v.get("error").and_then(Value::as_str) {
                    Some(e) => Err(e.to_string()),
                    None => Ok(v["status"].clone()),
                });
            }
        }
    }
    let cmd = Cmd::new(prog, &["status", "--json"])
        .deadline(Duration::from_secs(2))
        .stdout_cap(4 << 20);
    let result = match run(root, &cmd) {
        Ok(out) if out.success() => serde_json::from_slice::<Value>(&out.stdout)
            .map(|v| project(&v))
            .map_err(|e| format!("unreadable answer: {e}")),
        Ok(out) => Err(format!(
            "tailscale status failed (exit {}): {}",
            out.code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            String::from_utf8_lossy(&out.stderr)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        )),
        Err(e) => Err(format!("tailscale status: {e}")),
    };
    let cached = match &result {
        Ok(s) => json!({"at": now(), "status": s}),
        Err(e) => json!({"at": now(), "error": e}),
    };
    let path = root.path(CACHE_FILE);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, cached.to_string()).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_drops_secrets() {
        let raw = json!({
            "Version": "1.58.2", "BackendState": "Running", "AuthURL": "https://login.tailscale.com/a/abc123",
            "Self": {"HostName": "omr", "DNSName": "omr.tail.ts.net.", "PublicKey": "nodekey:self", "TailscaleIPs": ["100.64.0.1"], "OS": "linux", "Online": true},
            "Peer": {
                "nodekey:1": {"HostName": "<img src=x onerror=alert(1)>", "DNSName": "z.tail.ts.net.", "PublicKey": "nodekey:1", "TailscaleIPs": ["100.64.0.2", "bogus"], "OS": "android", "Online": false,
                              "LastSeen": "2026-12-06T20:00:00Z", "RxBytes": 10, "TxBytes": 20, "ExitNode": false, "Addrs": ["198.51.100.7:41641"]},
                "nodekey:2": {"HostName": "alpha", "TailscaleIPs": ["100.64.0.3"], "OS": "linux", "Online": true, "LastSeen": "0001-01-01T00:00:00Z", "ExitNode": true}
            },
            "User": {"1": {"LoginName": "someone@example.com"}}
        });
        let p = project(&raw);
        let s = p.to_string();
        for secret in [
            "nodekey",
            "login.tailscale.com",
            "someone@example.com",
            "198.51.100.7",
        ] {
            assert!(!s.contains(secret), "{secret} leaked: {s}");
        }
        assert_eq!(p["backend_state"], "Running");
        assert_eq!(p["peers"][0]["hostname"], "<img src=x onerror=alert(1)>");
        assert_eq!(p["peers"][0]["ips"], json!(["100.64.0.2"]));
        assert_eq!(p["peers"][1]["hostname"], "alpha");
        assert_eq!(p["peers"][1]["last_seen"], Value::Null);
        assert_eq!(p["peers"][1]["exit_node"], true);
        assert_eq!(p["peers_total"], 2);
    }
}
