//! The `ip -j` wrapper. One `ip -batch` process answers several questions at once (links with
//! addresses, routes of every table, MPTCP endpoints and limits), keeping read actions at one
//! child process. `-force` keeps going when a kernel lacks a feature (no MPTCP), so outputs are
//! recognised by their shape, not their position.

use super::Root;
use super::runner::{Cmd, run_ok};
use crate::error::ApiResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct AddrInfo {
    pub family: String,
    pub local: String,
    pub prefixlen: u8,
    /// The peer of a point-to-point address (tunnels).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Link {
    pub ifindex: u32,
    pub ifname: String,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub mtu: Option<u32>,
    #[serde(default)]
    pub operstate: Option<String>,
    #[serde(default)]
    pub link_type: Option<String>,
    /// MAC address (absent for tunnels without one).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub linkinfo: Option<Value>,
    #[serde(default)]
    pub addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Route {
    #[serde(rename = "type", default)]
    pub rtype: Option<String>,
    pub dst: String,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub dev: Option<String>,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub prefsrc: Option<String>,
    #[serde(default)]
    pub metric: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Endpoint {
    pub id: u64,
    pub address: String,
    pub dev: Option<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Limits {
    pub subflows: Option<u64>,
    pub add_addr_accepted: Option<u64>,
}

/// What one batch returned; `None` where the command failed or was not asked.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub links: Option<Vec<Link>>,
    pub routes: Option<Vec<Route>>,
    pub endpoints: Option<Vec<Endpoint>>,
    pub limits: Option<Limits>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    Links,
    Routes,
    Mptcp,
}

impl Link {
    pub fn kind(&self) -> Option<&str> {
        self.linkinfo.as_ref()?.get("info_kind")?.as_str()
    }
    pub fn is_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
            && (self.operstate.as_deref() == Some("UP")
                || (self.operstate.as_deref() == Some("UNKNOWN")
                    && self.flags.iter().any(|f| f == "LOWER_UP")))
    }
    pub fn ipv4(&self) -> Option<&AddrInfo> {
        self.addr_info.iter().find(|a| a.family == "inet")
    }
}

/// Runs one `ip -j -d -force -batch -` for the asked queries.
pub fn snapshot(root: &Root, queries: &[Query]) -> ApiResult<Snapshot> {
    let mut script = String::new();
    for q in queries {
        script.push_str(match q {
            Query::Links => "addr show\n",
            Query::Routes => "route show table all\n",
            Query::Mptcp => "mptcp endpoint show\nmptcp limits show\n",
        });
    }
    let cmd = Cmd::new("/sbin/ip", &["-j", "-d", "-force", "-batch", "-"])
        .stdin(script)
        .deadline(Duration::from_secs(2))
        .stdout_cap(8 << 20);
    // -force makes ip exit non-zero when any line failed; the rest of the output still counts.
    let out = match crate::system::runner::run(root, &cmd) {
        Ok(o) => o,
        Err(_) => return run_ok(root, &cmd).map(|_| Snapshot::default()),
    };
    Ok(parse_batch(
        &out.stdout_str(),
        queries.contains(&Query::Mptcp),
    ))
}

/// Classifies each output of the batch by its shape.
pub fn parse_batch(text: &str, want_mptcp: bool) -> Snapshot {
    let mut snap = Snapshot::default();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut consumed = 0;
    while let Some(item) = stream.next() {
        let Ok(v) = item else { break };
        consumed = stream.byte_offset();
        match &v {
            Value::Array(items) => {
                let first = items.first();
                if first.is_some_and(|f| f.get("ifname").is_some()) {
                    snap.links = serde_json::from_value(v).ok();
                } else if first.is_some_and(|f| f.get("dst").is_some()) {
                    snap.routes = serde_json::from_value(v).ok();
                } else if first.is_none_or(|f| f.get("id").is_some())
                    && want_mptcp
                    && snap.endpoints.is_none()
                {
                    snap.endpoints = Some(items.iter().filter_map(endpoint).collect());
                }
            }
            Value::Object(o)
                if o.contains_key("subflows") || o.contains_key("add_addr_accepted") =>
            {
                snap.limits = Some(Limits {
                    subflows: o.get("subflows").and_then(Value::as_u64),
                    add_addr_accepted: o.get("add_addr_accepted").and_then(Value::as_u64),
                });
            }
            _ => {}
        }
    }
    // Older iproute2 prints limits as text even with -j: "add_addr_accepted 8 subflows 8".
    if snap.limits.is_none() && want_mptcp {
        let rest = &text[consumed..];
        if let Some(line) = rest
            .lines()
            .find(|l| l.contains("subflows") || l.contains("add_addr_accepted"))
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |key: &str| {
                words
                    .windows(2)
                    .find(|w| w[0] == key)
                    .and_then(|w| w[1].parse().ok())
            };
            snap.limits = Some(Limits {
                subflows: num("subflows"),
                add_addr_accepted: num("add_addr_accepted"),
            });
        }
    }
    snap
}

/// iproute2 prints flags as an array in some versions and as booleans in others.
fn endpoint(v: &Value) -> Option<Endpoint> {
    const FLAGS: [&str; 5] = ["signal", "subflow", "backup", "fullmesh", "implicit"];
    let mut flags: Vec<String> = match v.get("flags") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|f| f.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    for f in FLAGS {
        if v.get(f).and_then(Value::as_bool) == Some(true) && !flags.iter().any(|x| x == f) {
            flags.push(f.to_string());
        }
    }
    Some(Endpoint {
        id: v.get("id")?.as_u64()?,
        address: v.get("address")?.as_str()?.to_string(),
        dev: v.get("dev").and_then(Value::as_str).map(String::from),
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_shapes() {
        let text = r#"[{"ifindex":1,"ifname":"lo","flags":["UP"],"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]}]
[{"dst":"default","gateway":"10.1.1.1","dev":"lan1","metric":3,"flags":[]}]
[{"address":"10.1.1.2","id":1,"flags":["subflow","fullmesh"],"dev":"lan1"},{"address":"10.3.3.2","id":3,"subflow":true,"backup":true,"dev":"lan3"}]
add_addr_accepted 8 subflows 8 
"#;
        let s = parse_batch(text, true);
        assert_eq!(s.links.unwrap()[0].ipv4().unwrap().local, "127.0.0.1");
        assert_eq!(s.routes.unwrap()[0].gateway.as_deref(), Some("10.1.1.1"));
        let eps = s.endpoints.unwrap();
        assert_eq!(eps[1].flags, ["subflow", "backup"]);
        assert_eq!(
            s.limits.unwrap(),
            Limits {
                subflows: Some(8),
                add_addr_accepted: Some(8)
            }
        );
        // No MPTCP in the kernel: the batch printed only links.
        let s = parse_batch(r#"[{"ifindex":1,"ifname":"lo"}]"#, true);
        assert!(s.endpoints.is_none() && s.limits.is_none() && s.links.is_some());
    }
}
