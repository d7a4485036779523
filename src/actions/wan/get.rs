//! `GET wan`: the WAN Policy tab — managed WANs with role, addressing, DNS, MTU, live state and
//! tracker values; the advanced failover/MPTCP settings with their allowed values; and the
//! interfaces eligible to be managed. A config that cannot be parsed hides only the blocks that
//! need it (`errors` names the file and line, the same object every action gives).

use super::advanced::{self as wan_advanced, FAILOVER};
use crate::actions::{Ctx, now_epoch};
use crate::bypass;
use crate::error::ApiResult;
use crate::http::Response;
use crate::system::ip::{self, Link, Query};
use crate::system::uci::{self, Config};
use crate::wans::{self, Wan};
use serde_json::{Value, json};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let root = ctx.root;
    let model = wans::Model::load(root);
    let omr = uci::read(root, "openmptcprouter");
    let tracker = uci::read(root, "omr-tracker");
    let snap = ip::snapshot(root, &[Query::Links, Query::Routes])?;
    let links = snap.links.unwrap_or_default();
    let routes = snap.routes.unwrap_or_default();
    let empty = Config::default();
    let omr_cfg = omr.as_ref().unwrap_or(&empty);
    let mut errors = serde_json::Map::new();

    let wan_json = |network: &Config, w: &Wan| -> Value {
        let sec = network.section(&w.name);
        let link = ip::find_link(&links, w.device.as_deref());
        let addr = link.and_then(Link::ipv4);
        let route_gw = ip::default_gateway(&routes, w.device.as_deref());
        let dns: Vec<&str> = sec.map(|s| s.list("dns")).unwrap_or_default();
        let t = |k: &str| omr_cfg.get(&w.name, k).filter(|v| !v.is_empty());
        json!({
            "name": w.name,
            "label": w.label,
            "proto": w.proto,
            "device": w.device,
            "config_device": w.config_device,
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
            "mtu_config": wans::device_mtu(network, w.device.as_deref()),
            "latency_ms": t("latency").and_then(|v| v.parse::<i64>().ok()),
            "public_ip": t("publicip"),
            "tracker_state": t("state"),
        })
    };

    let (wans_v, eligible_v, managed_v) = match model.configs() {
        Ok((network, jm)) => {
            let lists = wans::lists(jm);
            let selected = model.selected().unwrap_or_default();
            let eligible: Vec<Value> = wans::eligible_with(network, &lists)
                .iter()
                .map(|w| {
                    let device = w.device.as_deref().or_else(|| {
                        model
                            .modem_devices()
                            .iter()
                            .find(|(n, _)| *n == w.name)
                            .map(|(_, d)| d.as_str())
                    });
                    json!({"name": w.name, "label": w.label, "device": device, "proto": w.proto,
                           "role": w.role, "why": w.why,
                           "selected": selected.iter().any(|s| s.name == w.name)})
                })
                .collect();
            (
                json!(
                    selected
                        .iter()
                        .map(|w| wan_json(network, w))
                        .collect::<Vec<_>>()
                ),
                json!(eligible),
                json!(lists.managed),
            )
        }
        Err(e) => {
            errors.insert("wans".into(), json!(e));
            (Value::Null, Value::Null, Value::Null)
        }
    };
    if let Err(e) = &omr {
        errors.entry("wans").or_insert(json!(e));
    }
    let failover = match &tracker {
        Ok(t) => Value::Object(
            FAILOVER
                .iter()
                .map(|(k, _)| {
                    (
                        k.to_string(),
                        json!(t.get("defaults", k).and_then(|v| v.parse::<i64>().ok())),
                    )
                })
                .collect(),
        ),
        Err(e) => {
            errors.insert("advanced".into(), json!(e));
            Value::Null
        }
    };
    let mptcp = match &model.network {
        Ok(n) => wan_advanced::current_mptcp(root, n),
        Err(e) => {
            errors.entry("advanced").or_insert(json!(e));
            Value::Null
        }
    };
    Ok(Response::ok(json!({
        "generated_at": now_epoch(),
        "bypass_active": bypass::active(root),
        "wans": wans_v,
        "eligible": eligible_v,
        "managed": managed_v,
        "advanced": {
            "failover": failover,
            "mptcp": mptcp,
        },
        "choices": {
            "failover": FAILOVER.iter().map(|(k, r)| (k.to_string(), json!([r.start(), r.end()]))).collect::<serde_json::Map<_, _>>(),
            "mptcp": wan_advanced::mptcp_choices(root, model.network.as_ref().ok()),
            "mtu": [576, 9000],
        },
        "errors": errors,
    })))
}
