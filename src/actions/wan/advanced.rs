//! `POST wan.advanced`: omr-tracker failover defaults and the MPTCP globals, each against its
//! range or whitelist (the predecessor's, which OMR's own UI uses). `stale_loss_cnt` is a kernel
//! sysctl with no UCI home in OMR: it is kept in `jammonitor.main.stale_loss_cnt`, persisted to
//! /etc/sysctl.d and written to /proc when applied.

use crate::actions::Ctx;
use crate::bypass;
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::journal::Change;
use crate::system::services::{self, Service};
use crate::system::uci::Config;
use crate::system::uci::cli::Op;
use crate::system::{Root, uci};
use crate::txn::{self, Staged, Write, WritePlan};
use serde_json::{Value, json};
use std::ops::RangeInclusive;
use std::time::Duration;

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

/// The write: area `wan`, applied as a job (mptcp reload, omr-tracker restart). The sysctl.d
/// file is one of the journaled files and the /proc value is restored on rollback.
pub const WRITE: Write = Write {
    area: "wan",
    intent: "wan.advanced",
    apply,
    deadline: Duration::from_secs(300),
};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    parse(&ctx.req.body)?;
    bypass::refuse_if_active(ctx.root)?;
    let body = ctx.req.body.clone();
    let job = txn::start(ctx.root, WRITE, crate::actions::APPLIERS, move |r| {
        plan(r, &body)
    })?;
    Ok(txn::accepted(job))
}

fn plan(root: &Root, body: &[u8]) -> ApiResult<WritePlan> {
    let s = parse(body)?;
    bypass::refuse_if_active(root)?;
    let tracker = uci::load(root, "omr-tracker")?;
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
    let stale = s.stale_loss_cnt;
    let verify = move |st: &Staged| -> ApiResult<()> {
        let t = st.show("omr-tracker")?;
        let n = st.show("network")?;
        let j = st.show("jammonitor")?;
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
    Ok(WritePlan {
        verify: Box::new(verify),
        files: vec![Change {
            path: SYSCTL_FILE.into(),
            after: Some(format!("net.mptcp.stale_loss_cnt={stale}\n").into_bytes()),
        }],
        kernel: vec![STALE_PROC],
        result: json!({"saved": true}),
        ..WritePlan::new(&["omr-tracker", "network", "jammonitor"], ops)
    })
}

/// Reads the committed settings back, so a rollback re-applies the old ones (the /proc value
/// itself is restored from the journal when the old config had none).
pub fn apply(root: &Root, _: &Value) -> ApiResult<()> {
    let jm = uci::load(root, "jammonitor")?;
    if let Some(n) = jm
        .get("main", "stale_loss_cnt")
        .and_then(|v| v.parse::<i64>().ok())
    {
        // Absent when the kernel has no MPTCP: the persisted sysctl.d file applies at boot.
        if STALE_LOSS.contains(&n) && root.path(STALE_PROC).exists() {
            std::fs::write(root.path(STALE_PROC), format!("{n}\n"))
                .map_err(|e| ApiError::internal(format!("cannot set {STALE_PROC}: {e}")))?;
        }
    }
    services::init(root, Service::Mptcp, "reload", None)?;
    services::init(root, Service::OmrTracker, "restart", None)
}
