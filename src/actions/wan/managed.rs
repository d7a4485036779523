//! `POST wan.managed` — `{"wans": ["wan1", "wan2", …]}`: which interfaces the dashboard manages
//! (`jammonitor.main.wan`). An empty list means "every eligible WAN". The list must keep the
//! current Primary, so the exactly-one-master rule still holds over the managed set.

use crate::actions::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::system::Root;
use crate::system::uci::cli::Op;
use crate::system::uci::{self, Config};
use crate::txn::{self, Staged, Write, WritePlan};
use crate::wans::{self, Role};
use serde_json::json;
use std::time::Duration;

fn parse(body: &[u8], network: &Config, jm: &Config) -> ApiResult<Vec<String>> {
    let kept = wans::lists(jm).kept;
    let f = Fields::parse(body)?;
    f.only(&["wans"])?;
    let items = f.array("wans")?;
    if items.len() > 32 {
        return Err(ApiError::field("wans", "at most 32 interfaces"));
    }
    let mut names: Vec<String> = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let field = format!("wans[{i}]");
        let name = v
            .as_str()
            .ok_or_else(|| ApiError::field(&field, "must be a string"))?;
        let eligible = wans::eligible_with(
            network,
            &wans::Lists {
                managed: vec![name.to_string()],
                kept: kept.clone(),
            },
        );
        if !eligible.iter().any(|w| w.name == name) {
            return Err(ApiError::field(
                &field,
                "not a WAN-capable network interface (LAN, VPN and loopback are excluded)",
            ));
        }
        if names.iter().any(|n| n == name) {
            return Err(ApiError::field(&field, "is listed twice"));
        }
        names.push(name.to_string());
    }
    if !names.is_empty() {
        let masters = wans::eligible(network, &names)
            .into_iter()
            .filter(|w| names.contains(&w.name) && w.role == Role::Master)
            .count();
        if masters != 1 {
            return Err(ApiError::field(
                "wans",
                "must include exactly one Primary (master) WAN",
            ));
        }
    }
    Ok(names)
}

/// The write: area `wan` (the managed list shares the WAN lock), nothing to apply.
pub const WRITE: Write = Write {
    area: "wan",
    intent: "wan.managed",
    apply: txn::apply_nothing,
    deadline: Duration::from_secs(200),
};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    parse(
        &ctx.req.body,
        &uci::load(root, "network")?,
        &uci::load(root, "jammonitor")?,
    )?;
    super::refuse_if_busy(root)?;
    let body = ctx.req.body.clone();
    let job = txn::start(root, WRITE, crate::actions::APPLIERS, move |r| {
        plan(r, &body)
    })?;
    Ok(txn::accepted(job))
}

fn plan(root: &Root, body: &[u8]) -> ApiResult<WritePlan> {
    super::refuse_if_busy(root)?;
    let names = parse(
        body,
        &uci::load(root, "network")?,
        &uci::load(root, "jammonitor")?,
    )
    .map_err(|e| e.context("configuration changed meanwhile"))?;
    let mut ops = Vec::new();
    if uci::load(root, "jammonitor")?.section("main").is_none() {
        ops.push(Op::Set("jammonitor.main".into(), "jammonitor".into()));
    }
    ops.push(Op::Delete("jammonitor.main.wan".into()));
    ops.extend(
        names
            .iter()
            .map(|n| Op::AddList("jammonitor.main.wan".into(), n.clone())),
    );
    let result = json!({"managed": names});
    let verify = move |st: &Staged| -> ApiResult<()> {
        let got: Vec<String> = wans::managed_list(&st.show("jammonitor")?);
        if got == names {
            Ok(())
        } else {
            Err(ApiError::internal("managed list differs after commit"))
        }
    };
    Ok(WritePlan {
        verify: Box::new(verify),
        result,
        ..WritePlan::new(&["jammonitor"], ops)
    })
}
