//! `POST wan.roles` — `{"roles": {"wan2": "master", "wan1": "on", …}}`. Drag and drop sends the
//! whole mapping; a partial one changes only the named WANs. Choosing a new master demotes the
//! old one to Bonded (`on`); after the change exactly one managed WAN is master, always.
//! Each role lands in `network.<if>.multipath` and `openmptcprouter.<if>.multipath` (OMR keeps
//! both); Disabled also sets `network.<if>.disabled=1`. Then netifd and the mptcp init script
//! make the kernel follow (ifdown/ifup, `/etc/init.d/mptcp reload <dev>`).

use crate::actions::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::system::Root;
use crate::system::services::{self, Service};
use crate::system::uci;
use crate::system::uci::cli::Op;
use crate::txn::{self, Staged, Write, WritePlan};
use crate::wans::{self, Role, Wan};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The roles after applying `requested` to `current`, or the error naming the field.
pub fn resolve(
    current: &[Wan],
    requested: &BTreeMap<String, Role>,
) -> ApiResult<BTreeMap<String, Role>> {
    let mut next: BTreeMap<String, Role> =
        current.iter().map(|w| (w.name.clone(), w.role)).collect();
    let asked_masters: Vec<&String> = requested
        .iter()
        .filter(|(_, r)| **r == Role::Master)
        .map(|(n, _)| n)
        .collect();
    if asked_masters.len() > 1 {
        return Err(ApiError::field(
            "roles",
            "only one WAN can be Primary (master)",
        ));
    }
    if let Some(new_master) = asked_masters.first() {
        for (name, role) in next.iter_mut() {
            if *role == Role::Master && name != *new_master && !requested.contains_key(name) {
                *role = Role::On;
            }
        }
    }
    next.extend(requested.iter().map(|(n, r)| (n.clone(), *r)));
    match next.values().filter(|r| **r == Role::Master).count() {
        1 => Ok(next),
        0 => Err(ApiError::field(
            "roles",
            "exactly one WAN must stay Primary (master)",
        )),
        _ => Err(ApiError::field(
            "roles",
            "only one WAN can be Primary (master)",
        )),
    }
}

fn parse(body: &[u8], selected: &[Wan]) -> ApiResult<BTreeMap<String, Role>> {
    let f = Fields::parse(body)?;
    f.only(&["roles"])?;
    let obj = f.object("roles")?;
    let mut out = BTreeMap::new();
    for name in obj.keys() {
        let field = format!("roles.{name}");
        if !selected.iter().any(|w| &w.name == name) {
            return Err(ApiError::field(&field, "not a managed WAN interface"));
        }
        // Only the four current names: the legacy `handover` is read, never written.
        let role = match obj.raw(name).and_then(|v| v.as_str()) {
            Some(s @ ("master" | "on" | "backup" | "off")) => Role::parse(s),
            _ => None,
        }
        .ok_or_else(|| ApiError::field(&field, "must be one of: master, on, backup, off"))?;
        out.insert(name.clone(), role);
    }
    if out.is_empty() {
        return Err(ApiError::field("roles", "must name at least one WAN"));
    }
    Ok(out)
}

/// The write: area `wan`, applied as a job (ifdown/ifup and mptcp reload can take ~2 min).
pub const WRITE: Write = Write {
    area: "wan",
    intent: "wan.roles",
    apply: apply_params,
    deadline: Duration::from_secs(300),
};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    // Validate against the configuration as it is now (400s answered here), then again in the
    // job under the lock (another tab may have changed it in between).
    let selected_now = wans::managed(root)?;
    let requested = parse(&ctx.req.body, &selected_now)?;
    super::refuse_if_busy(root)?;
    let next = resolve(&selected_now, &requested)?;
    if selected_now
        .iter()
        .all(|w| next.get(&w.name) == Some(&w.role))
    {
        return Ok(Response::ok(json!({"roles": next, "changed": []})));
    }
    let body = ctx.req.body.clone();
    let job = txn::start(root, WRITE, crate::actions::APPLIERS, move |r| {
        plan(r, &body)
    })?;
    Ok(txn::accepted(job))
}

fn plan(root: &Root, body: &[u8]) -> ApiResult<WritePlan> {
    super::refuse_if_busy(root)?;
    let current = wans::managed(root)?;
    let requested =
        parse(body, &current).map_err(|e| e.context("configuration changed meanwhile"))?;
    let next = resolve(&current, &requested)?;
    let changed: Vec<&Wan> = current
        .iter()
        .filter(|w| next.get(&w.name) != Some(&w.role))
        .collect();

    let network = uci::load(root, "network")?;
    let jm = uci::load(root, "jammonitor")?;
    let lists = wans::lists(&jm);
    // A WAN that only its multipath role made a WAN would vanish once Disabled while every WAN
    // is managed: `wan_kept` holds it until it is enabled again (docs/wans.md).
    let mut kept = lists.kept.clone();
    for w in &changed {
        if next[&w.name] == Role::Off {
            if wans::needs_keeping(&network, &lists, &w.name) {
                kept.push(w.name.clone());
            }
        } else {
            kept.retain(|k| k != &w.name);
        }
    }
    let omr = uci::load(root, "openmptcprouter")?;
    let mut ops = Vec::new();
    if kept != lists.kept {
        if jm.section("main").is_none() {
            ops.push(Op::Set("jammonitor.main".into(), "jammonitor".into()));
        }
        ops.push(Op::Delete("jammonitor.main.wan_kept".into()));
        ops.extend(
            kept.iter()
                .map(|k| Op::AddList("jammonitor.main.wan_kept".into(), k.clone())),
        );
    }
    for w in &changed {
        let role = next[&w.name];
        ops.push(Op::Set(
            format!("network.{}.multipath", w.name),
            role.as_str().into(),
        ));
        if omr.section(&w.name).is_none() {
            ops.push(Op::Set(
                format!("openmptcprouter.{}", w.name),
                "interface".into(),
            ));
        }
        ops.push(Op::Set(
            format!("openmptcprouter.{}.multipath", w.name),
            role.as_str().into(),
        ));
        if role == Role::Off {
            ops.push(Op::Set(format!("network.{}.disabled", w.name), "1".into()));
        } else if w.disabled {
            ops.push(Op::Delete(format!("network.{}.disabled", w.name)));
        }
    }
    let changed_names: Vec<String> = changed.iter().map(|w| w.name.clone()).collect();
    let result = json!({"roles": next, "changed": changed_names});
    let verify = move |st: &Staged| -> ApiResult<()> {
        let (n, o) = (st.show("network")?, st.show("openmptcprouter")?);
        if wans::lists(&st.show("jammonitor")?).kept != kept {
            return Err(ApiError::internal("kept WAN list differs after commit"));
        }
        for (name, role) in &next {
            let want = Some(role.as_str());
            let disabled_ok = (n.get(name, "disabled") == Some("1")) == (*role == Role::Off);
            if n.get(name, "multipath") != want || o.get(name, "multipath") != want || !disabled_ok
            {
                return Err(ApiError::internal(format!(
                    "{name} does not hold role {}",
                    role.as_str()
                )));
            }
        }
        let masters = n
            .of_type("interface")
            .filter(|s| s.get("multipath") == Some("master"))
            .count();
        if masters != 1 {
            return Err(ApiError::internal(format!(
                "{masters} master interfaces after the change"
            )));
        }
        Ok(())
    };
    Ok(WritePlan {
        verify: Box::new(verify),
        params: json!({"names": changed_names}),
        result,
        ..WritePlan::new(&["network", "openmptcprouter", "jammonitor"], ops)
    })
}

/// The apply step as recorded in the journal: `{"names": [...]}`.
pub fn apply_params(root: &Root, params: &Value) -> ApiResult<()> {
    let names: Vec<String> = params["names"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .filter(|n| uci::valid_name(n))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    apply(root, &names)
}

/// Makes netifd and the kernel follow the committed roles of `names` (read back from the
/// configs, so the same function restores the old state after a rollback).
fn apply(root: &Root, names: &[String]) -> ApiResult<()> {
    let network = uci::load(root, "network")?;
    for name in names {
        let Some(sec) = network.section(name) else {
            continue;
        };
        let off = sec.get("disabled") == Some("1") || sec.get("multipath") == Some("off");
        services::ifupdown(root, !off, name)?;
        if let Some(dev) = wans::section_device(&network, sec) {
            services::init(root, Service::Mptcp, "reload", Some(&dev))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wan(name: &str, role: Role) -> Wan {
        Wan {
            name: name.into(),
            label: None,
            device: None,
            proto: None,
            config_device: None,
            role,
            disabled: false,
            why: wans::Why::Name,
        }
    }

    #[test]
    fn new_master_demotes_old() {
        let cur = [
            wan("wan1", Role::Master),
            wan("wan2", Role::On),
            wan("wan3", Role::Backup),
        ];
        let req = BTreeMap::from([("wan2".to_string(), Role::Master)]);
        let next = resolve(&cur, &req).unwrap();
        assert_eq!(next["wan1"], Role::On);
        assert_eq!(next["wan2"], Role::Master);
        assert_eq!(next["wan3"], Role::Backup);
        // Explicitly placing the old master elsewhere is kept.
        let req = BTreeMap::from([
            ("wan2".to_string(), Role::Master),
            ("wan1".to_string(), Role::Off),
        ]);
        assert_eq!(resolve(&cur, &req).unwrap()["wan1"], Role::Off);
        // Zero or two masters are refused.
        let req = BTreeMap::from([("wan1".to_string(), Role::Backup)]);
        assert_eq!(
            resolve(&cur, &req).unwrap_err().field.as_deref(),
            Some("roles")
        );
        let req = BTreeMap::from([
            ("wan1".to_string(), Role::Master),
            ("wan3".to_string(), Role::Master),
        ]);
        assert!(resolve(&cur, &req).is_err());
    }
}
