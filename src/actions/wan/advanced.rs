//! `POST wan.advanced`: omr-tracker failover defaults and the MPTCP globals, each against its
//! range or whitelist (the predecessor's, which OMR's own UI uses). `stale_loss_cnt` is a kernel
//! sysctl with no UCI home in OMR: it is kept in `jammonitor.main.stale_loss_cnt`, persisted to
//! /etc/sysctl.d and written to /proc when applied.

use crate::actions::Ctx;
use crate::bypass;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::system::services::{self, Service};
use crate::system::uci::Config;
use crate::system::uci::cli::Op;
use crate::system::{Root, uci};
use crate::txn::{self, Plan, Txn};
use serde_json::{Value, json};
use std::ops::RangeInclusive;

pub const FAILOVER: &[(&str, RangeInclusive<i64>)] = &[
    ("timeout", 1..=10),
    ("count", 1..=5),
    ("tries", 1..=10),
    ("interval", 1..=10),
    ("failure_interval", 1..=30),
    ("tries_up", 1..=10),
];
pub const SCHEDULERS: &[&str] = &[
    "default",
    "blest",
    "roundrobin",
    "redundant",
    "bpf_minrtt",
    "bpf_rr",
    "bpf_red",
    "bpf_burst",
    "bpf_first",
    "bpf_bkup",
];
pub const PATH_MANAGERS: &[&str] = &["fullmesh", "ndiffports"];
pub const CONGESTION: &[&str] = &["bbr", "cubic", "reno"];
pub const SUBFLOWS: RangeInclusive<i64> = 1..=16;
pub const STALE_LOSS: RangeInclusive<i64> = 1..=10;
const SYSCTL_FILE: &str = "/etc/sysctl.d/99-jammonitor-mptcp.conf";
const STALE_PROC: &str = "/proc/sys/net/mptcp/stale_loss_cnt";

pub fn mptcp_choices() -> Value {
    json!({"scheduler": SCHEDULERS, "path_manager": PATH_MANAGERS, "congestion": CONGESTION,
           "subflows": [SUBFLOWS.start(), SUBFLOWS.end()], "stale_loss_cnt": [STALE_LOSS.start(), STALE_LOSS.end()]})
}

pub fn current_mptcp(root: &Root, network: &Config) -> Value {
    let g = |k: &str| network.get("globals", k);
    json!({
        "scheduler": g("mptcp_scheduler"),
        "path_manager": g("mptcp_path_manager"),
        "congestion": g("congestion"),
        "subflows": g("mptcp_subflows").and_then(|v| v.parse::<i64>().ok()),
        "stale_loss_cnt": root.read_u64(STALE_PROC),
    })
}

struct Settings {
    failover: Vec<(&'static str, i64)>,
    scheduler: &'static str,
    path_manager: &'static str,
    congestion: &'static str,
    subflows: i64,
    stale_loss_cnt: i64,
}

fn parse(body: &[u8]) -> ApiResult<Settings> {
    let f = Fields::parse(body)?;
    f.only(&["failover", "mptcp"])?;
    let fo = f.object("failover")?;
    fo.only(&FAILOVER.iter().map(|(k, _)| *k).collect::<Vec<_>>())
        .map_err(prefix("failover"))?;
    let failover = FAILOVER
        .iter()
        .map(|(k, r)| {
            fo.int(k, r.clone())
                .map(|v| (*k, v))
                .map_err(prefix("failover"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let m = f.object("mptcp")?;
    m.only(&[
        "scheduler",
        "path_manager",
        "congestion",
        "subflows",
        "stale_loss_cnt",
    ])
    .map_err(prefix("mptcp"))?;
    let choice = |k: &str, allowed: &[&'static str]| -> ApiResult<&'static str> {
        crate::validate::one_of(k, m.str(k)?, allowed).map_err(prefix("mptcp"))
    };
    Ok(Settings {
        failover,
        scheduler: choice("scheduler", SCHEDULERS)?,
        path_manager: choice("path_manager", PATH_MANAGERS)?,
        congestion: choice("congestion", CONGESTION)?,
        subflows: m.int("subflows", SUBFLOWS).map_err(prefix("mptcp"))?,
        stale_loss_cnt: m
            .int("stale_loss_cnt", STALE_LOSS)
            .map_err(prefix("mptcp"))?,
    })
}

/// Names a nested field `outer.inner` in the error.
fn prefix(outer: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |mut e| {
        e.field = Some(match e.field.take() {
            Some(f) => format!("{outer}.{f}"),
            None => outer.to_string(),
        });
        e
    }
}

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let s = parse(&ctx.req.body)?;
    bypass::refuse_if_active(ctx.root)?;
    let txn = Txn::begin(ctx.root, "wan", &["omr-tracker", "network", "jammonitor"])?;
    let tracker = uci::load(ctx.root, "omr-tracker")?;
    let mut ops = Vec::new();
    if tracker.section("defaults").is_none() {
        ops.push(Op::Set("omr-tracker.defaults".into(), "defaults".into()));
    }
    for (k, v) in &s.failover {
        ops.push(Op::Set(format!("omr-tracker.defaults.{k}"), v.to_string()));
    }
    let globals = [
        ("mptcp_scheduler", s.scheduler.to_string()),
        ("mptcp_path_manager", s.path_manager.to_string()),
        ("congestion", s.congestion.to_string()),
        ("mptcp_subflows", s.subflows.to_string()),
    ];
    for (k, v) in &globals {
        ops.push(Op::Set(format!("network.globals.{k}"), v.clone()));
    }
    ops.push(Op::Set(
        "jammonitor.main.stale_loss_cnt".into(),
        s.stale_loss_cnt.to_string(),
    ));
    let verify = |uci: &crate::system::uci::Uci| -> ApiResult<()> {
        let t = uci.show("omr-tracker")?;
        let n = uci.show("network")?;
        let j = uci.show("jammonitor")?;
        let ok = s
            .failover
            .iter()
            .all(|(k, v)| t.get("defaults", k) == Some(v.to_string().as_str()))
            && globals
                .iter()
                .all(|(k, v)| n.get("globals", k) == Some(v.as_str()))
            && j.get("main", "stale_loss_cnt") == Some(s.stale_loss_cnt.to_string().as_str());
        if ok {
            Ok(())
        } else {
            Err(ApiError::internal(
                "committed values differ from the request",
            ))
        }
    };
    txn.run(Plan {
        ops,
        verify: &verify,
        apply: &apply,
    })?;
    Ok(Response::ok(json!({"saved": true})))
}

/// Reads the committed settings back, so a rollback re-applies the old ones.
fn apply(root: &Root) -> ApiResult<()> {
    let jm = uci::load(root, "jammonitor")?;
    if let Some(n) = jm
        .get("main", "stale_loss_cnt")
        .and_then(|v| v.parse::<i64>().ok())
    {
        if STALE_LOSS.contains(&n) {
            txn::write_atomic(
                &root.path(SYSCTL_FILE),
                format!("net.mptcp.stale_loss_cnt={n}\n").as_bytes(),
            )?;
            // Absent when the kernel has no MPTCP: the persisted file still applies at boot.
            if root.path(STALE_PROC).exists() {
                std::fs::write(root.path(STALE_PROC), format!("{n}\n"))
                    .map_err(|e| ApiError::internal(format!("cannot set {STALE_PROC}: {e}")))?;
            }
        }
    }
    services::init(root, Service::Mptcp, "reload", None)?;
    services::init(root, Service::OmrTracker, "restart", None)
}
