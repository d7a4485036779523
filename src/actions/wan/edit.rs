//! `POST wan.edit` — one WAN's addressing: `{"name": "wan2", "proto": "static"|"dhcp",
//! "ipaddr", "netmask", "gateway" (all three for static), "dns": [] (automatic) or up to two
//! IPv4, "mtu": 576–9000 or null (device default), "label": text or ""}`. Fields left out are
//! left alone. MTU lives on the `device` section named after the WAN's device (OMR convention).

use crate::actions::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::system::Root;
use crate::system::services;
use crate::system::uci::cli::Op;
use crate::system::uci::{self, Config};
use crate::txn::{self, Staged, Write, WritePlan};
use crate::validate;
use crate::wans::{self, Wan};
use serde_json::{Value, json};
use std::net::Ipv4Addr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
enum Proto {
    Dhcp,
    Static {
        ip: Ipv4Addr,
        mask: Ipv4Addr,
        gw: Ipv4Addr,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Edit {
    name: String,
    proto: Option<Proto>,
    /// `Some(vec![])` = automatic DNS.
    dns: Option<Vec<Ipv4Addr>>,
    /// `Some(None)` = back to the device default.
    mtu: Option<Option<u32>>,
    label: Option<String>,
}

fn parse(body: &[u8], selected: &[Wan]) -> ApiResult<Edit> {
    let f = Fields::parse(body)?;
    f.only(&[
        "name", "proto", "ipaddr", "netmask", "gateway", "dns", "mtu", "label",
    ])?;
    let name = f.str("name")?;
    if !selected.iter().any(|w| w.name == name) {
        return Err(ApiError::field("name", "not a managed WAN interface"));
    }
    let proto = match f.opt_str("proto")? {
        None => {
            if ["ipaddr", "netmask", "gateway"].iter().any(|k| f.has(k)) {
                return Err(ApiError::field(
                    "proto",
                    "is required with ipaddr/netmask/gateway",
                ));
            }
            None
        }
        Some("dhcp") => {
            if let Some(k) = ["ipaddr", "netmask", "gateway"].iter().find(|k| f.has(k)) {
                return Err(ApiError::field(k, "only for proto static"));
            }
            Some(Proto::Dhcp)
        }
        Some("static") => {
            let ip = validate::host_ipv4("ipaddr", f.str("ipaddr")?)?;
            let mask = validate::netmask("netmask", f.str("netmask")?)?;
            let gw = validate::host_ipv4("gateway", f.str("gateway")?)?;
            let m = u32::from(mask);
            if u32::from(gw) & m != u32::from(ip) & m {
                return Err(ApiError::field(
                    "gateway",
                    "must be in the same subnet as ipaddr/netmask",
                ));
            }
            if gw == ip {
                return Err(ApiError::field("gateway", "must differ from ipaddr"));
            }
            // /31 and /32 have no network or broadcast address (RFC 3021).
            let special = |a: Ipv4Addr| {
                let host = u32::from(a) & !m;
                m < 0xFFFF_FFFE && (host == 0 || host == !m)
            };
            if special(ip) {
                return Err(ApiError::field(
                    "ipaddr",
                    "is the network or broadcast address of its subnet",
                ));
            }
            if special(gw) {
                return Err(ApiError::field(
                    "gateway",
                    "is the network or broadcast address of its subnet",
                ));
            }
            Some(Proto::Static { ip, mask, gw })
        }
        Some(_) => return Err(ApiError::field("proto", "must be one of: dhcp, static")),
    };
    let dns = match f.raw("dns") {
        None => None,
        Some(Value::Array(items)) => {
            if items.len() > 2 {
                return Err(ApiError::field(
                    "dns",
                    "at most 2 servers (or [] for automatic)",
                ));
            }
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                let field = format!("dns[{i}]");
                let s = v
                    .as_str()
                    .ok_or_else(|| ApiError::field(&field, "must be a string"))?;
                let a = validate::host_ipv4(&field, s)?;
                if out.contains(&a) {
                    return Err(ApiError::field(&field, "is listed twice"));
                }
                out.push(a);
            }
            Some(out)
        }
        Some(_) => return Err(ApiError::field("dns", "must be an array of IPv4 addresses")),
    };
    let mtu = match f.raw("mtu") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(Some(f.int("mtu", 576..=9000)? as u32)),
    };
    let label = f
        .opt_str("label")?
        .map(|l| validate::label("label", l))
        .transpose()?;
    Ok(Edit {
        name: name.to_string(),
        proto,
        dns,
        mtu,
        label,
    })
}

fn ops(e: &Edit, wan: &Wan, network: &Config) -> ApiResult<Vec<Op>> {
    let p = |opt: &str| format!("network.{}.{opt}", e.name);
    let mut ops = Vec::new();
    match &e.proto {
        None => {}
        Some(Proto::Dhcp) => {
            ops.push(Op::Set(p("proto"), "dhcp".into()));
            ops.extend(
                ["ipaddr", "netmask", "gateway"]
                    .iter()
                    .map(|k| Op::Delete(p(k))),
            );
        }
        Some(Proto::Static { ip, mask, gw }) => {
            ops.push(Op::Set(p("proto"), "static".into()));
            ops.push(Op::Set(p("ipaddr"), ip.to_string()));
            ops.push(Op::Set(p("netmask"), mask.to_string()));
            ops.push(Op::Set(p("gateway"), gw.to_string()));
        }
    }
    if let Some(dns) = &e.dns {
        ops.push(Op::Delete(p("dns")));
        ops.extend(dns.iter().map(|a| Op::AddList(p("dns"), a.to_string())));
        ops.push(if dns.is_empty() {
            Op::Delete(p("peerdns"))
        } else {
            Op::Set(p("peerdns"), "0".into())
        });
    }
    if let Some(mtu) = e.mtu {
        let dev = wan
            .device
            .as_deref()
            .filter(|d| wans::valid_device_name(d) && !d.starts_with('@'))
            .ok_or_else(|| ApiError::field("mtu", "this WAN has no device to set an MTU on"))?;
        // The device section is the one whose `name` is the device (as netifd finds it). Only
        // when there is none is one created, under a section name no other section uses: an
        // existing section is never renamed or retyped (issue 11 finding 4).
        let sec = match wans::device_section(network, dev) {
            Some(s) if uci::valid_name(&s.name) && !s.name.starts_with('@') => s.name.clone(),
            Some(_) => {
                return Err(ApiError::field(
                    "mtu",
                    "the device section is anonymous; name it first",
                ));
            }
            None => {
                let new = fresh_section_name(network, &format!("{}_dev", e.name));
                ops.push(Op::Set(format!("network.{new}"), "device".into()));
                ops.push(Op::Set(format!("network.{new}.name"), dev.into()));
                new
            }
        };
        ops.push(match mtu {
            Some(m) => Op::Set(format!("network.{sec}.mtu"), m.to_string()),
            None => Op::Delete(format!("network.{sec}.mtu")),
        });
    }
    if let Some(label) = &e.label {
        ops.push(if label.is_empty() {
            Op::Delete(p("label"))
        } else {
            Op::Set(p("label"), label.clone())
        });
    }
    if ops.is_empty() {
        return Err(ApiError::bad_request("nothing to change"));
    }
    Ok(ops)
}

/// `base`, or `base2`, `base3` … : the first section name not used by any section of `network`.
fn fresh_section_name(network: &Config, base: &str) -> String {
    let taken = |n: &str| network.sections.iter().any(|s| s.name == n);
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken(n))
        .expect("an unused name exists")
}

fn verify(e: &Edit, device: Option<&str>, n: &Config) -> bool {
    let get = |k: &str| n.get(&e.name, k);
    let proto_ok = match &e.proto {
        None => true,
        Some(Proto::Dhcp) => get("proto") == Some("dhcp") && get("ipaddr").is_none(),
        Some(Proto::Static { ip, mask, gw }) => {
            get("proto") == Some("static")
                && get("ipaddr") == Some(&ip.to_string())
                && get("netmask") == Some(&mask.to_string())
                && get("gateway") == Some(&gw.to_string())
        }
    };
    let dns_ok = e.dns.as_ref().is_none_or(|d| {
        let want: Vec<String> = d.iter().map(|a| a.to_string()).collect();
        n.section(&e.name)
            .map(|s| s.list("dns"))
            .unwrap_or_default()
            == want
    });
    let mtu_ok = e.mtu.is_none_or(|m| wans::device_mtu(n, device) == m);
    let label_ok = e
        .label
        .as_ref()
        .is_none_or(|l| get("label").unwrap_or("") == l);
    proto_ok && dns_ok && mtu_ok && label_ok
}

/// The write: area `wan`, applied as a job (ifup of the edited WAN).
pub const WRITE: Write = Write {
    area: "wan",
    intent: "wan.edit",
    apply: apply_params,
    deadline: Duration::from_secs(300),
};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    let current = wans::managed(root)?;
    let edit = parse(&ctx.req.body, &current)?;
    super::refuse_if_busy(root)?;
    // Every refusal (nothing to change, no device for an MTU) is answered now, not by the job.
    let wan = current
        .iter()
        .find(|w| w.name == edit.name)
        .cloned()
        .expect("validated above");
    ops(&edit, &wan, &uci::load(root, "network")?)?;
    let body = ctx.req.body.clone();
    let job = txn::start(root, WRITE, crate::actions::APPLIERS, move |r| {
        plan(r, &body)
    })?;
    Ok(txn::accepted(job))
}

fn plan(root: &Root, body: &[u8]) -> ApiResult<WritePlan> {
    super::refuse_if_busy(root)?;
    let current = wans::managed(root)?;
    let edit = parse(body, &current).map_err(|e| e.context("configuration changed meanwhile"))?;
    let wan = current
        .iter()
        .find(|w| w.name == edit.name)
        .cloned()
        .expect("validated above");
    let network = uci::load(root, "network")?;
    let ops = ops(&edit, &wan, &network)?;
    let device = wan.device.clone();
    let name = edit.name.clone();
    let verify = move |st: &Staged| -> ApiResult<()> {
        if verify(&edit, device.as_deref(), &st.show("network")?) {
            Ok(())
        } else {
            Err(ApiError::internal(
                "committed values differ from the request",
            ))
        }
    };
    Ok(WritePlan {
        verify: Box::new(verify),
        params: json!({"name": name}),
        result: json!({"saved": name}),
        ..WritePlan::new(&["network"], ops)
    })
}

/// The apply step as recorded in the journal: `{"name": "wan2"}` is brought up again (unless
/// disabled) so netifd takes the new addressing and MTU.
pub fn apply_params(root: &Root, params: &Value) -> ApiResult<()> {
    let Some(name) = params["name"].as_str().filter(|n| uci::valid_name(n)) else {
        return Ok(());
    };
    let disabled = uci::load(root, "network")?.get(name, "disabled") == Some("1");
    if disabled {
        Ok(())
    } else {
        services::ifupdown(root, true, name)
    }
}
