//! `GET wan`: the WAN Policy tab — managed WANs with role, addressing, DNS, MTU, live state and
//! tracker values; the advanced failover/MPTCP settings with their allowed values; and the
//! interfaces eligible to be managed.

use super::advanced::{self as wan_advanced, FAILOVER};
use crate::actions::{Ctx, now_epoch};
use crate::bypass;
use crate::error::ApiResult;
use crate::http::Response;
use crate::system::ip::{self, Link, Query};
use crate::system::uci;
use crate::wans::{self, Wan};
use serde_json::{Value, json};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let root = ctx.root;
    let network = uci::load(root, "network")?;
    let omr = uci::load(root, "openmptcprouter")?;
    let jm = uci::load(root, "jammonitor")?;
    let tracker = uci::load(root, "omr-tracker")?;
    let snap = ip::snapshot(root, &[Query::Links, Query::Routes])?;
    let links = snap.links.unwrap_or_default();
    let routes = snap.routes.unwrap_or_default();
    let managed = wans::managed_list(&jm);

    let wan_json = |w: &Wan| -> Value {
        let sec = network.section(&w.name);
        let link = ip::find_link(&links, w.device.as_deref());
        let addr = link.and_then(Link::ipv4);
        let route_gw = ip::default_gateway(&routes, w.device.as_deref());
        let dns: Vec<&str> = sec.map(|s| s.list("dns")).unwrap_or_default();
        let t = |k: &str| omr.get(&w.name, k).filter(|v| !v.is_empty());
        json!({
            "name": w.name,
            "label": w.label,
            "proto": w.proto,
            "device": w.device,
            "role": w.role,
            "disabled": w.disabled,
            "up": link.is_some_and(Link::is_up),
            "ipv4": addr.map(|a| a.local.clone()).or_else(|| sec.and_then(|s| s.get("ipaddr")).map(String::from)),
            "prefix": addr.map(|a| a.prefixlen),
            "ipaddr": sec.and_then(|s| s.get("ipaddr")),
            "netmask": sec.and_then(|s| s.get("netmask")),
            "gateway": route_gw.or_else(|| sec.and_then(|s| s.get("gateway")).map(String::from)),
            "dns_mode": if dns.is_empty() { "auto" } else { "custom" },
            "dns": dns,
            "mtu": link.and_then(|l| l.mtu),
            "mtu_config": wans::device_mtu(&network, w.device.as_deref()),
            "latency_ms": t("latency").and_then(|v| v.parse::<i64>().ok()),
            "public_ip": t("publicip"),
            "tracker_state": t("state"),
        })
    };

    let selected = wans::selected(&network, &jm);
    let eligible: Vec<Value> = wans::eligible(&network, &managed)
        .iter()
        .map(|w| {
            json!({"name": w.name, "label": w.label, "device": w.device, "proto": w.proto, "role": w.role,
                   "selected": selected.iter().any(|s| s.name == w.name)})
        })
        .collect();
    let failover: serde_json::Map<String, Value> = FAILOVER
        .iter()
        .map(|(k, _)| {
            (
                k.to_string(),
                json!(
                    tracker
                        .get("defaults", k)
                        .and_then(|v| v.parse::<i64>().ok())
                ),
            )
        })
        .collect();
    Ok(Response::ok(json!({
        "generated_at": now_epoch(),
        "bypass_active": bypass::active(root),
        "wans": selected.iter().map(wan_json).collect::<Vec<_>>(),
        "eligible": eligible,
        "managed": managed,
        "advanced": {
            "failover": failover,
            "mptcp": wan_advanced::current_mptcp(root, &network),
        },
        "choices": {
            "failover": FAILOVER.iter().map(|(k, r)| (k.to_string(), json!([r.start(), r.end()]))).collect::<serde_json::Map<_, _>>(),
            "mptcp": wan_advanced::mptcp_choices(),
            "mtu": [576, 9000],
        },
    })))
}
