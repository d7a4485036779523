//! The `ip -j` wrapper. One `ip -batch` process answers several questions at once (links with
//! addresses and details, routes of every table, IPv4 and IPv6), keeping read actions at one child
//! process. `-force` keeps going when a line fails, so outputs are recognised by their shape, not
//! their position. (The overview's hot path asks the kernel in-process instead: see `rtnl`.)

use super::Root;
use super::runner::{Cmd, run};
use crate::error::{ApiError, ApiResult};
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
    /// The bridge (or bond) this link is a port of.
    #[serde(default)]
    pub master: Option<String>,
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

/// What one batch returned; `None` where the command failed or was not asked.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub links: Option<Vec<Link>>,
    pub routes: Option<Vec<Route>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    Links,
    Routes,
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

/// The link named `dev`.
pub fn find_link<'a>(links: &'a [Link], dev: Option<&str>) -> Option<&'a Link> {
    let dev = dev?;
    links.iter().find(|l| l.ifname == dev)
}

/// The gateway of `dev`'s default route, in whichever table has one (OMR keeps a per-WAN table
/// and, unless `defaultgw=0`, a metric-ordered default in main).
pub fn default_gateway(routes: &[Route], dev: Option<&str>) -> Option<String> {
    let dev = dev?;
    routes
        .iter()
        .filter(|r| r.dst == "default" && r.dev.as_deref() == Some(dev))
        .find_map(|r| r.gateway.clone())
}

/// Runs one `ip -j -d -force -batch -` for the asked queries.
pub fn snapshot(root: &Root, queries: &[Query]) -> ApiResult<Snapshot> {
    let mut script = String::new();
    for q in queries {
        script.push_str(match q {
            Query::Links => "addr show\n",
            Query::Routes => "route show table all\n",
        });
    }
    let cmd = Cmd::new("/sbin/ip", &["-j", "-d", "-force", "-batch", "-"])
        .stdin(script)
        .deadline(Duration::from_secs(2))
        .stdout_cap(8 << 20);
    // -force makes ip exit non-zero when any line failed; the rest of the output still counts.
    let out = run(root, &cmd).map_err(|e| ApiError::internal(format!("{}: {e}", cmd.display())))?;
    Ok(parse_batch(&out.stdout_str()))
}

/// Classifies each output of the batch by its shape.
pub fn parse_batch(text: &str) -> Snapshot {
    let mut snap = Snapshot::default();
    for v in serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map_while(Result::ok)
    {
        let Value::Array(items) = &v else { continue };
        let first = items.first();
        if first.is_some_and(|f| f.get("ifname").is_some()) {
            snap.links = serde_json::from_value(v).ok();
        } else if first.is_some_and(|f| f.get("dst").is_some()) {
            snap.routes = serde_json::from_value(v).ok();
        }
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_shapes() {
        let text = r#"[{"ifindex":1,"ifname":"lo","flags":["UP"],"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]}]
[{"dst":"default","gateway":"10.1.1.1","dev":"lan1","metric":3,"flags":[]}]
"#;
        let s = parse_batch(text);
        assert_eq!(s.links.unwrap()[0].ipv4().unwrap().local, "127.0.0.1");
        assert_eq!(s.routes.unwrap()[0].gateway.as_deref(), Some("10.1.1.1"));
        // A failed line (-force) leaves its part empty.
        let s = parse_batch(r#"[{"ifindex":1,"ifname":"lo"}]"#);
        assert!(s.routes.is_none() && s.links.is_some());
    }
}
