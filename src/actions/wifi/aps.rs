//! `POST wifi.aps {"aps": [{"name", "ip"}, …]}` — replaces the remote AP list (at most
//! [`MAX_APS`]) in /etc/config/jammonitor (`config remote_ap 'ap_<n>'`, options `name`, `ip`),
//! which the collector pings as targets `ap:<name>`. Names: letters, digits, `_`, `-` (1–32),
//! unique; IPs: unicast IPv4, unique. Every field is checked before anything is written
//! (`aps[2].ip` names the bad one); the write is the verified transaction of `txn`; the
//! collector is then asked to reload its configuration.

use crate::actions::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::store::config::valid_target_name;
use crate::system::Root;
use crate::system::services::{self, Service};
use crate::system::uci::cli::Op;
use crate::system::uci::{self, Config, Uci};
use crate::txn::{Plan, Txn};
use crate::validate;
use serde_json::{Value, json};

pub const MAX_APS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ap {
    pub name: String,
    pub ip: String,
}

/// The configured APs, in file order (invalid ones are left out: the collector ignores them too).
pub fn list(jm: &Config) -> Vec<Ap> {
    jm.of_type("remote_ap")
        .filter_map(|s| {
            let name = s.get("name").unwrap_or(&s.name).to_string();
            let ip = s.get("ip").or_else(|| s.get("host"))?;
            (valid_target_name(&name) && ip.parse::<std::net::Ipv4Addr>().is_ok()).then(|| Ap {
                name,
                ip: ip.to_string(),
            })
        })
        .take(MAX_APS)
        .collect()
}

fn parse(body: &[u8]) -> ApiResult<Vec<Ap>> {
    let f = Fields::parse(body)?;
    f.only(&["aps"])?;
    let items = f.array("aps")?;
    if items.len() > MAX_APS {
        return Err(ApiError::field(
            "aps",
            format!("at most {MAX_APS} access points"),
        ));
    }
    let mut out: Vec<Ap> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let Value::Object(m) = it else {
            return Err(ApiError::field(
                &format!("aps[{i}]"),
                "must be an object {name, ip}",
            ));
        };
        let e = Fields::from_map(m.clone());
        e.only(&["name", "ip"]).map_err(|x| {
            ApiError::field(
                &format!("aps[{i}].{}", x.field.unwrap_or_default()),
                "unknown field",
            )
        })?;
        let name = e
            .str("name")
            .map_err(|x| ApiError::field(&format!("aps[{i}].name"), x.message))?
            .trim()
            .to_string();
        if !valid_target_name(&name) {
            return Err(ApiError::field(
                &format!("aps[{i}].name"),
                "must be 1–32 letters, digits, '_' or '-'",
            ));
        }
        let ip = e
            .str("ip")
            .map_err(|x| ApiError::field(&format!("aps[{i}].ip"), x.message))?;
        let ip = validate::host_ipv4(&format!("aps[{i}].ip"), ip.trim())?.to_string();
        if out.iter().any(|a| a.name.eq_ignore_ascii_case(&name)) {
            return Err(ApiError::field(
                &format!("aps[{i}].name"),
                "is listed twice",
            ));
        }
        if out.iter().any(|a| a.ip == ip) {
            return Err(ApiError::field(&format!("aps[{i}].ip"), "is listed twice"));
        }
        out.push(Ap { name, ip });
    }
    Ok(out)
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    let want = parse(&ctx.req.body)?;
    let txn = Txn::begin(root, "jammonitor", &["jammonitor"])?;
    let current = Uci::new(root).show_named("jammonitor")?;
    let mut ops: Vec<Op> = current
        .of_type("remote_ap")
        .filter(|s| uci::valid_name(&s.name))
        .map(|s| Op::Delete(format!("jammonitor.{}", s.name)))
        .collect();
    for (i, a) in want.iter().enumerate() {
        let sec = format!("ap_{}", i + 1);
        ops.push(Op::Set(format!("jammonitor.{sec}"), "remote_ap".into()));
        ops.push(Op::Set(format!("jammonitor.{sec}.name"), a.name.clone()));
        ops.push(Op::Set(format!("jammonitor.{sec}.ip"), a.ip.clone()));
    }
    if ops.is_empty() {
        return Ok(Response::ok(
            json!({"aps": [], "collector_reloaded": false}),
        ));
    }
    let w2 = want.clone();
    let check = |u: &Uci| -> ApiResult<()> {
        if list(&u.show("jammonitor")?) == w2 {
            Ok(())
        } else {
            Err(ApiError::internal(
                "committed AP list differs from the request",
            ))
        }
    };
    let apply = |_: &Root| Ok(());
    txn.run(Plan {
        ops,
        verify: &check,
        apply: &apply,
    })?;
    // The collector re-reads its targets on reload (SIGHUP); not running is not an error.
    let reloaded = root.path("/etc/init.d/jammonitor-collector").exists()
        && services::init(root, Service::Collector, "reload", None).is_ok();
    Ok(Response::ok(json!({
        "aps": want.iter().map(|a| json!({"name": a.name, "ip": a.ip})).collect::<Vec<_>>(),
        "collector_reloaded": reloaded,
    })))
}
