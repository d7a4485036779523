//! DHCP reservations: `dhcp` `host` sections (what LuCI's "Static Leases" writes).
//! - `POST clients.reserve {"mac", "ip", "name"?}` creates or edits the reservation of one MAC;
//! - `POST clients.unreserve {"mac"}` deletes it.
//!
//! Refused (400 naming the field, nothing written): an IP outside every LAN subnet, the
//! network/broadcast address, one of the router's own addresses, an IP already reserved for
//! another MAC (409), a MAC that shares a host entry with other MACs (edit that one in LuCI).
//! Written through the verified transaction (`txn`: lock `dhcp`, snapshot, `uci batch`, commit,
//! re-read, roll back on any failure). dnsmasq then reloads as a background job: the answer
//! carries its id (a reload already running picks the change up before it ends).

use super::lan;
use super::meta::valid_mac;
use crate::actions::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::jobs;
use crate::system::Root;
use crate::system::services::{self, Service};
use crate::system::uci::cli::Op;
use crate::system::uci::{self, Config, Section, Uci};
use crate::txn::{Plan, Txn};
use crate::validate;
use serde_json::{Value, json};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A DNS label: what dnsmasq accepts as a host name.
pub fn valid_hostname(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// The MACs of a host section (`mac` may be one value, several words, or a list).
pub fn macs(s: &Section) -> Vec<String> {
    s.list("mac")
        .into_iter()
        .filter_map(crate::system::leases::normalize_mac)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub section: String,
    pub mac: String,
    pub ip: Option<String>,
    pub name: Option<String>,
}

/// Every single-MAC and multi-MAC reservation, one entry per MAC.
pub fn list(dhcp: &Config) -> Vec<Reservation> {
    dhcp.of_type("host")
        .flat_map(|s| {
            macs(s).into_iter().map(move |mac| Reservation {
                section: s.name.clone(),
                mac,
                ip: s.get("ip").map(str::to_string),
                name: s.get("name").map(str::to_string),
            })
        })
        .collect()
}

struct Req {
    mac: String,
    ip: Ipv4Addr,
    name: Option<String>,
}

fn parse(body: &[u8]) -> ApiResult<Req> {
    let f = Fields::parse(body)?;
    f.only(&["mac", "ip", "name"])?;
    let mac = valid_mac("mac", f.str("mac")?)?;
    let ip = validate::host_ipv4("ip", f.str("ip")?)?;
    let name = match f.opt_str("name")?.map(str::trim) {
        None | Some("") => None,
        Some(n) if valid_hostname(n) => Some(n.to_string()),
        Some(_) => {
            return Err(ApiError::field(
                "name",
                "must be a host name: letters, digits and '-', at most 63, not starting or ending with '-'",
            ));
        }
    };
    Ok(Req { mac, ip, name })
}

fn own_section(dhcp: &Config, mac: &str) -> ApiResult<Vec<String>> {
    let mut mine = Vec::new();
    for s in dhcp.of_type("host") {
        let m = macs(s);
        if m.iter().any(|x| x == mac) {
            if m.len() > 1 {
                return Err(ApiError::field(
                    "mac",
                    format!(
                        "shares the host entry {} with other MACs; edit that entry in LuCI",
                        s.name
                    ),
                ));
            }
            if !uci::valid_name(&s.name) {
                return Err(ApiError::internal(format!(
                    "unexpected section name {:?}",
                    s.name
                )));
            }
            mine.push(s.name.clone());
        }
    }
    Ok(mine)
}

fn reload_job(root: &Root) -> Value {
    let marker = root.path(jobs::JOBS_DIR).join("dnsmasq.again");
    let job_root = root.clone();
    let m2 = marker.clone();
    match jobs::start(root, "dnsmasq", Duration::from_secs(60), move |p| {
        let mut n = 0;
        loop {
            let _ = std::fs::remove_file(&m2);
            p.phase("reloading", None, "dnsmasq reload");
            services::init(&job_root, Service::Dnsmasq, "reload", None).map_err(|e| e.message)?;
            n += 1;
            // A change committed while we reloaded asked for one more.
            if !m2.exists() || n >= 3 {
                return Ok(json!({"reloads": n}));
            }
        }
    }) {
        Ok(job) => json!({"id": job.id, "poll": format!("job?id={}", job.id)}),
        Err(e) if e.status == 409 => {
            let _ = std::fs::write(&marker, b"1");
            json!({"id": null, "queued": true})
        }
        Err(e) => json!({"id": null, "error": e.message}),
    }
}

pub fn reserve(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    let r = parse(&ctx.req.body)?;
    let network = uci::load(root, "network")?;
    let firewall = uci::load(root, "firewall")?;
    let txn = Txn::begin(root, "dhcp", &["dhcp"])?;
    let cli = Uci::new(root);
    let dhcp = cli.show_named("dhcp")?;
    let subnets = lan::subnets(&network, &dhcp, &firewall);
    if !subnets.iter().any(|s| s.contains(r.ip)) {
        let list: Vec<&str> = subnets.iter().map(|s| s.cidr.as_str()).collect();
        return Err(ApiError::field(
            "ip",
            format!(
                "is outside every LAN subnet ({})",
                if list.is_empty() {
                    "none configured".into()
                } else {
                    list.join(", ")
                }
            ),
        ));
    }
    if !subnets.iter().any(|s| s.host(r.ip)) {
        return Err(ApiError::field(
            "ip",
            "is the network or broadcast address of its subnet",
        ));
    }
    if lan::router_addresses(&network).contains(&r.ip) {
        return Err(ApiError::field("ip", "is the router's own address"));
    }
    let ip = r.ip.to_string();
    if let Some(other) = list(&dhcp)
        .into_iter()
        .find(|x| x.ip.as_deref() == Some(&ip) && x.mac != r.mac)
    {
        let mut e = ApiError::conflict(format!(
            "{ip} is already reserved for {}{}",
            other.mac,
            other.name.map(|n| format!(" ({n})")).unwrap_or_default()
        ));
        e.field = Some("ip".into());
        return Err(e);
    }
    let mine = own_section(&dhcp, &r.mac)?;
    let mut ops = Vec::new();
    let sec = match mine.first() {
        Some(s) => s.clone(),
        None => {
            let s = format!("jm_{}", r.mac.replace(':', ""));
            ops.push(Op::Set(format!("dhcp.{s}"), "host".into()));
            ops.push(Op::Set(format!("dhcp.{s}.mac"), r.mac.clone()));
            s
        }
    };
    for extra in mine.iter().skip(1) {
        ops.push(Op::Delete(format!("dhcp.{extra}")));
    }
    ops.push(Op::Set(format!("dhcp.{sec}.ip"), ip.clone()));
    ops.push(match &r.name {
        Some(n) => Op::Set(format!("dhcp.{sec}.name"), n.clone()),
        None => Op::Delete(format!("dhcp.{sec}.name")),
    });
    let (mac, name) = (r.mac.clone(), r.name.clone());
    let check = |u: &Uci| -> ApiResult<()> {
        let d = u.show("dhcp")?;
        let got: Vec<Reservation> = list(&d).into_iter().filter(|x| x.mac == mac).collect();
        if got.len() == 1 && got[0].ip.as_deref() == Some(&ip) && got[0].name == name {
            Ok(())
        } else {
            Err(ApiError::internal(
                "committed reservation differs from the request",
            ))
        }
    };
    let apply = |_: &Root| Ok(());
    txn.run(Plan {
        ops,
        verify: &check,
        apply: &apply,
    })?;
    let job = reload_job(root);
    Ok(Response::ok(
        json!({"mac": r.mac, "ip": r.ip.to_string(), "name": r.name, "section": sec, "reload": job}),
    ))
}

pub fn unreserve(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["mac"])?;
    let mac = valid_mac("mac", f.str("mac")?)?;
    let txn = Txn::begin(root, "dhcp", &["dhcp"])?;
    let dhcp = Uci::new(root).show_named("dhcp")?;
    let mine = own_section(&dhcp, &mac)?;
    if mine.is_empty() {
        let mut e = ApiError::not_found(format!("no reservation for {mac}"));
        e.field = Some("mac".into());
        return Err(e);
    }
    let ops = mine
        .iter()
        .map(|s| Op::Delete(format!("dhcp.{s}")))
        .collect();
    let m2 = mac.clone();
    let check = |u: &Uci| -> ApiResult<()> {
        if list(&u.show("dhcp")?).iter().any(|x| x.mac == m2) {
            Err(ApiError::internal(
                "the reservation is still there after commit",
            ))
        } else {
            Ok(())
        }
    };
    let apply = |_: &Root| Ok(());
    txn.run(Plan {
        ops,
        verify: &check,
        apply: &apply,
    })?;
    let job = reload_job(root);
    Ok(Response::ok(
        json!({"mac": mac, "deleted": mine, "reload": job}),
    ))
}
