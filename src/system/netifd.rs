//! netifd's view of the interfaces (`ubus call network.interface dump`), asked over the native
//! ubus client: whether each interface is up, since when, and its layer-3 device — the netdev the
//! traffic really uses. For most WANs that is the UCI `device`; for modemmanager/QMI/MBIM/PPP
//! WANs the UCI `device` is a sysfs path, `/dev/cdc-wdm0` or an `@alias`, and only netifd knows
//! the netdev (`wwan0`, `pppoe-wan`, …).
//!
//! Shape (netifd `interface.c` interface_dump_status, `ubus.c` netifd_handle_dump):
//! `{"interface": [{"interface": NAME, "up": bool, "uptime": seconds (only while up),
//! "l3_device": netdev (only while up), "device": netdev, "proto": …, …}, …]}`.

use super::Root;
use super::ubus;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfStatus {
    pub up: bool,
    /// Seconds since netifd brought it up (only while up).
    pub uptime_s: Option<u64>,
    /// The netdev carrying its traffic (only while up).
    pub l3_device: Option<String>,
}

/// One `network.interface dump`; `None` when netifd cannot be asked (no bus, no netifd, garbage,
/// deadline passed) — callers then fall back to the configuration.
pub fn dump(root: &Root, timeout: Duration) -> Option<BTreeMap<String, IfStatus>> {
    let reply = ubus::call(
        root,
        "network.interface",
        "dump",
        &Map::new(),
        timeout,
        ubus::MAX_MSG,
    )
    .ok()?;
    Some(parse_dump(&reply))
}

pub fn parse_dump(reply: &Map<String, Value>) -> BTreeMap<String, IfStatus> {
    let mut out = BTreeMap::new();
    let Some(list) = reply.get("interface").and_then(Value::as_array) else {
        return out;
    };
    for i in list {
        let Some(name) = i.get("interface").and_then(Value::as_str) else {
            continue;
        };
        let up = i.get("up") == Some(&Value::Bool(true));
        out.insert(
            name.to_string(),
            IfStatus {
                up,
                uptime_s: i.get("uptime").and_then(Value::as_u64).filter(|_| up),
                l3_device: i
                    .get("l3_device")
                    .and_then(Value::as_str)
                    .filter(|d| crate::wans::valid_device_name(d))
                    .map(String::from),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dump_is_read_strictly() {
        let v = json!({"interface": [
            {"interface": "wan4", "up": true, "uptime": 3600, "l3_device": "wwan0",
             "proto": "modemmanager"},
            {"interface": "omrvpn", "up": false, "uptime": 99, "l3_device": "tun0"},
            {"interface": "bad", "up": true, "l3_device": "../../etc"},
            {"up": true}
        ]});
        let d = parse_dump(v.as_object().unwrap());
        assert_eq!(d.len(), 3);
        assert_eq!(
            d["wan4"],
            IfStatus {
                up: true,
                uptime_s: Some(3600),
                l3_device: Some("wwan0".into())
            }
        );
        assert_eq!(d["omrvpn"].uptime_s, None, "no uptime while down");
        assert_eq!(d["bad"].l3_device, None, "not a netdev name");
        assert!(parse_dump(&Map::new()).is_empty());
    }
}
