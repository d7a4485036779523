//! `POST wan.advanced`: omr-tracker failover defaults and the MPTCP globals. Partial: only the
//! keys sent change (`{"failover": {"timeout": 3}}` leaves everything else alone). Ranges are
//! the predecessor's (which OMR's own UI uses); the MPTCP choices are what this kernel offers
//! ([`Choices`]), and the value the router runs with now always stays valid even when it is in
//! no list (e.g. `bbr2` on a kernel without it). `stale_loss_cnt` is a kernel sysctl with no UCI
//! home in OMR: it is kept in `jammonitor.main.stale_loss_cnt`, persisted to /etc/sysctl.d and
//! written to /proc when applied.

use crate::actions::Ctx;
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
/// Schedulers offered when the kernel does not list its own (`available_schedulers` is 6.12+):
/// upstream `default`, the out-of-tree MPTCP v0.96 ones OMR ships on 5.4 (blest, ecf,
/// roundrobin, redundant) and OMR's BPF schedulers (`mptcp_bpf_*.o`).
pub const SCHEDULERS: &[&str] = &[
    "default",
    "blest",
    "ecf",
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
/// Congestion controls offered when `tcp_available_congestion_control` cannot be read (bbr2
/// exists on OMR's 5.4 kernels only).
pub const CONGESTION: &[&str] = &["bbr", "bbr2", "cubic", "reno", "olia", "balia", "wvegas"];
pub const SUBFLOWS: RangeInclusive<i64> = 1..=16;
pub const STALE_LOSS: RangeInclusive<i64> = 1..=10;
const SYSCTL_FILE: &str = "/etc/sysctl.d/99-jammonitor-mptcp.conf";
const STALE_PROC: &str = "/proc/sys/net/mptcp/stale_loss_cnt";
const CC_PROC: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";
const SCHED_PROC: &str = "/proc/sys/net/mptcp/available_schedulers";
const PM_PROC: &str = "/proc/sys/net/mptcp/available_path_managers";
const BPF_DIR: &str = "/usr/share/bpf/scheduler";

/// The choices this router offers, each with where it came from (`kernel` or `documented`).
pub struct Choices {
    pub scheduler: Vec<String>,
    pub scheduler_source: &'static str,
    pub path_manager: Vec<String>,
    pub congestion: Vec<String>,
    pub congestion_source: &'static str,
}

fn words(root: &Root, path: &str) -> Option<Vec<String>> {
    let line = root.read(path, 4096).ok()?;
    let v: Vec<String> = line
        .split_whitespace()
        .filter(|w| crate::validate::plain_word(w))
        .map(String::from)
        .collect();
    (!v.is_empty()).then_some(v)
}

fn push_unique(v: &mut Vec<String>, x: &str) {
    if !v.iter().any(|y| y == x) {
        v.push(x.to_string());
    }
}

impl Choices {
    pub fn read(root: &Root) -> Choices {
        let (mut scheduler, scheduler_source) = match words(root, SCHED_PROC) {
            Some(v) => (v, "kernel"),
            None => (
                SCHEDULERS.iter().map(|s| s.to_string()).collect(),
                "documented",
            ),
        };
        // OMR's BPF schedulers are offered once their object files are installed.
        if let Ok(dir) = std::fs::read_dir(root.path(BPF_DIR)) {
            let mut names: Vec<String> = dir
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let n = n.strip_prefix("mptcp_")?.strip_suffix(".o")?.to_string();
                    crate::validate::plain_word(&n).then_some(n)
                })
                .collect();
            names.sort();
            for n in names {
                push_unique(&mut scheduler, &n);
            }
        }
        let mut path_manager: Vec<String> = PATH_MANAGERS.iter().map(|s| s.to_string()).collect();
        for pm in words(root, PM_PROC).unwrap_or_default() {
            push_unique(&mut path_manager, &pm);
        }
        let (congestion, congestion_source) = match words(root, CC_PROC) {
            Some(v) => (v, "kernel"),
            None => (
                CONGESTION.iter().map(|s| s.to_string()).collect(),
                "documented",
            ),
        };
        Choices {
            scheduler,
            scheduler_source,
            path_manager,
            congestion,
            congestion_source,
        }
    }

    /// The list for `key`, with the current value added when the kernel does not list it.
    fn with_current(&self, key: &str, current: Option<&str>) -> Vec<String> {
        let mut v = match key {
            "scheduler" => self.scheduler.clone(),
            "path_manager" => self.path_manager.clone(),
            _ => self.congestion.clone(),
        };
        if let Some(c) = current.filter(|c| crate::validate::plain_word(c)) {
            push_unique(&mut v, c);
        }
        v
    }
}

/// UCI option in `network.globals` of each MPTCP choice.
const GLOBALS: &[(&str, &str)] = &[
    ("scheduler", "mptcp_scheduler"),
    ("path_manager", "mptcp_path_manager"),
    ("congestion", "congestion"),
];

pub fn mptcp_choices(root: &Root, network: Option<&Config>) -> Value {
    let c = Choices::read(root);
    let cur = |k: &str| {
        let opt = GLOBALS
            .iter()
            .find(|(x, _)| *x == k)
            .map(|x| x.1)
            .unwrap_or(k);
        network.and_then(|n| n.get("globals", opt))
    };
    json!({"scheduler": c.with_current("scheduler", cur("scheduler")),
           "path_manager": c.with_current("path_manager", cur("path_manager")),
           "congestion": c.with_current("congestion", cur("congestion")),
           "subflows": [SUBFLOWS.start(), SUBFLOWS.end()], "stale_loss_cnt": [STALE_LOSS.start(), STALE_LOSS.end()],
           "sources": {"scheduler": c.scheduler_source, "congestion": c.congestion_source}})
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

/// What the request changes; every field optional (only keys sent change).
#[derive(Debug, Default)]
struct Settings {
    failover: Vec<(&'static str, i64)>,
    /// (network.globals option, value)
    globals: Vec<(&'static str, String)>,
    stale_loss_cnt: Option<i64>,
}

impl Settings {
    fn touches_mptcp(&self) -> bool {
        !self.globals.is_empty() || self.stale_loss_cnt.is_some()
    }
}

fn parse(body: &[u8], root: &Root, network: &Config) -> ApiResult<Settings> {
    let f = Fields::parse(body)?;
    f.only(&["failover", "mptcp"])?;
    let mut s = Settings::default();
    if f.has("failover") {
        let fo = f.object("failover")?;
        fo.only(&FAILOVER.iter().map(|(k, _)| *k).collect::<Vec<_>>())
            .map_err(prefix("failover"))?;
        for (k, r) in FAILOVER {
            if fo.has(k) {
                let v = fo.int(k, r.clone()).map_err(prefix("failover"))?;
                s.failover.push((*k, v));
            }
        }
    }
    if f.has("mptcp") {
        let m = f.object("mptcp")?;
        m.only(&[
            "scheduler",
            "path_manager",
            "congestion",
            "subflows",
            "stale_loss_cnt",
        ])
        .map_err(prefix("mptcp"))?;
        let choices = Choices::read(root);
        for (k, opt) in GLOBALS {
            if m.has(k) {
                let allowed = choices.with_current(k, network.get("globals", opt));
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                let v = crate::validate::one_of(k, m.str(k)?, &allowed).map_err(prefix("mptcp"))?;
                s.globals.push((opt, v.to_string()));
            }
        }
        if m.has("subflows") {
            let v = m.int("subflows", SUBFLOWS).map_err(prefix("mptcp"))?;
            s.globals.push(("mptcp_subflows", v.to_string()));
        }
        if m.has("stale_loss_cnt") {
            s.stale_loss_cnt = Some(
                m.int("stale_loss_cnt", STALE_LOSS)
                    .map_err(prefix("mptcp"))?,
            );
        }
    }
    if s.failover.is_empty() && !s.touches_mptcp() {
        return Err(ApiError::bad_request("nothing to change"));
    }
    Ok(s)
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
    apply: apply_params,
    deadline: Duration::from_secs(300),
};

pub fn handle(ctx: &Ctx) -> ApiResult<Response> {
    let root = ctx.root;
    parse(&ctx.req.body, root, &uci::load(root, "network")?)?;
    super::refuse_if_busy(root)?;
    let body = ctx.req.body.clone();
    let job = txn::start(root, WRITE, crate::actions::APPLIERS, move |r| {
        plan(r, &body)
    })?;
    Ok(txn::accepted(job))
}

fn plan(root: &Root, body: &[u8]) -> ApiResult<WritePlan> {
    super::refuse_if_busy(root)?;
    let s = parse(body, root, &uci::load(root, "network")?)
        .map_err(|e| e.context("configuration changed meanwhile"))?;
    let tracker = uci::load(root, "omr-tracker")?;
    let mut ops = Vec::new();
    if !s.failover.is_empty() && tracker.section("defaults").is_none() {
        ops.push(Op::Set("omr-tracker.defaults".into(), "defaults".into()));
    }
    for (k, v) in &s.failover {
        ops.push(Op::Set(format!("omr-tracker.defaults.{k}"), v.to_string()));
    }
    for (k, v) in &s.globals {
        ops.push(Op::Set(format!("network.globals.{k}"), v.clone()));
    }
    let mut files = Vec::new();
    if let Some(n) = s.stale_loss_cnt {
        if uci::load(root, "jammonitor")?.section("main").is_none() {
            ops.push(Op::Set("jammonitor.main".into(), "jammonitor".into()));
        }
        ops.push(Op::Set(
            "jammonitor.main.stale_loss_cnt".into(),
            n.to_string(),
        ));
        // Persisted for boot with the configs, in the same journal.
        files.push(Change {
            path: SYSCTL_FILE.into(),
            after: Some(format!("net.mptcp.stale_loss_cnt={n}\n").into_bytes()),
        });
    }
    let (tracker_changed, mptcp_changed) = (!s.failover.is_empty(), s.touches_mptcp());
    let changed: Vec<String> = s
        .failover
        .iter()
        .map(|(k, _)| format!("failover.{k}"))
        .chain(s.globals.iter().map(|(k, _)| {
            let key = GLOBALS
                .iter()
                .find(|(_, o)| o == k)
                .map(|x| x.0)
                .unwrap_or("subflows");
            format!("mptcp.{key}")
        }))
        .chain(s.stale_loss_cnt.map(|_| "mptcp.stale_loss_cnt".to_string()))
        .collect();
    let verify = move |st: &Staged| -> ApiResult<()> {
        let t = st.show("omr-tracker")?;
        let n = st.show("network")?;
        let j = st.show("jammonitor")?;
        let ok = s
            .failover
            .iter()
            .all(|(k, v)| t.get("defaults", k) == Some(v.to_string().as_str()))
            && s.globals
                .iter()
                .all(|(k, v)| n.get("globals", k) == Some(v.as_str()))
            && s.stale_loss_cnt
                .is_none_or(|c| j.get("main", "stale_loss_cnt") == Some(c.to_string().as_str()));
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
        files,
        kernel: vec![STALE_PROC],
        params: json!({"tracker": tracker_changed, "mptcp": mptcp_changed}),
        result: json!({"saved": true, "changed": changed}),
        ..WritePlan::new(&["omr-tracker", "network", "jammonitor"], ops)
    })
}

/// The apply step as recorded in the journal: `{"tracker": bool, "mptcp": bool}`.
pub fn apply_params(root: &Root, params: &Value) -> ApiResult<()> {
    apply(
        root,
        params["tracker"].as_bool().unwrap_or(true),
        params["mptcp"].as_bool().unwrap_or(true),
    )
}

/// Reads the committed settings back, so a rollback re-applies the old ones (the /proc value
/// itself is restored from the journal when the old config had none). Only the services whose
/// settings changed are reloaded (a timeout change does not touch MPTCP).
fn apply(root: &Root, tracker: bool, mptcp: bool) -> ApiResult<()> {
    if mptcp {
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
    }
    if tracker {
        services::init(root, Service::OmrTracker, "restart", None)?;
    }
    Ok(())
}
