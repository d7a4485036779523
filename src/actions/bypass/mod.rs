//! VPS bypass (DESIGN §6): traffic leaves through the Primary WAN directly instead of through the
//! VPS — for when the VPS or the tunnel is down. `GET bypass` (state, what turning it on would
//! do), `POST bypass.enable` `{"confirm": true}`, `POST bypass.disable` `{}`.
//!
//! Both writes are one journaled transaction each (docs/journal.md), run as a job so that the
//! network reload cannot cut the answer (the predecessor's v1 reloaded inside the request and
//! lost its own response). Enable, under the `bypass` and `wan` locks:
//! 1. record: every managed WAN and its role, every option about to change, the exact bytes of
//!    every config before and after, which of the services run, whether the tracker's hotplug
//!    script is in place — the record [`bypass::JOURNAL`] is written with the configs;
//! 2. every managed WAN's multipath `off` (`network` and `openmptcprouter`), and the flags OMR's
//!    cron (`schedule.d/010-services`) respects, so it does not restart what we stop:
//!    `shadowsocks-libev|rust.sss0.disabled=1`, `openvpn.omr.enabled=0`, `glorytun.vpn.enable=0`;
//! 3. (apply) omr-tracker's hotplug script moved out of `/etc/hotplug.d` (system::hotplug);
//! 4. the tracker, VPN and proxy services stopped (their boot `enabled` links are left alone);
//! 5. `network reload`, `mptcp reload` (kernel MPTCP endpoints follow `multipath`),
//!    `firewall reload`.
//!
//! Disable restores every config byte for byte as recorded — or, for a config something else
//! changed meanwhile (the tracker writes `openmptcprouter`), only the options the bypass set,
//! through the real `uci` on the current file — removes the record, puts the hotplug script back,
//! starts the services that were running, reloads network and firewall.
//!
//! The apply step is one function for both directions: it reads whether the record is there
//! (bypass on) or not (off) and makes the router follow, so a rollback re-applies the old state
//! and a killed job is rolled forward or back by the journal's recovery (`actions::APPLIERS`).

use crate::actions::Ctx;
use crate::bypass::{self, ConfigRec, Record, ValueRec, WanRec};
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::journal::{self, Bytes, Change};
use crate::system::Root;
use crate::system::hotplug;
use crate::system::services::{self, Service};
use crate::system::uci::{self, Config, cli::Op};
use crate::txn::{self, Staged, Write, WritePlan};
use crate::wans::{self, Role};
use serde_json::{Value, json};
use std::time::Duration;

/// The services the bypass stops, in this order (the tracker first: it would restart the rest).
pub const SERVICES: [Service; 5] = [
    Service::OmrTracker,
    Service::OpenVpn,
    Service::Glorytun,
    Service::ShadowsocksLibev,
    Service::ShadowsocksRust,
];

/// The disable flags: (config, section, option, value while bypassed).
const FLAGS: [(&str, &str, &str, &str); 4] = [
    ("shadowsocks-libev", "sss0", "disabled", "1"),
    ("shadowsocks-rust", "sss0", "disabled", "1"),
    ("openvpn", "omr", "enabled", "0"),
    ("glorytun", "vpn", "enable", "0"),
];

/// Every config the bypass may change.
const CONFIGS: [&str; 6] = [
    "network",
    "openmptcprouter",
    "shadowsocks-libev",
    "shadowsocks-rust",
    "openvpn",
    "glorytun",
];

/// Locks held besides the `bypass` area's: no WAN write runs while the roles change.
const ALSO_LOCK: &[&str] = &["wan"];

pub const ENABLE: Write = Write {
    area: "bypass",
    intent: "bypass.enable",
    apply: apply_params,
    deadline: Duration::from_secs(300),
};

pub const DISABLE: Write = Write {
    area: "bypass",
    intent: "bypass.disable",
    apply: apply_params,
    deadline: Duration::from_secs(300),
};

fn wan_json(w: &WanRec) -> Value {
    json!({"name": w.name, "label": w.label, "device": w.device, "multipath": w.multipath})
}

/// `GET bypass`: cheap (files only, no command), polled by every tab for the banner.
pub fn status(ctx: &Ctx) -> ApiResult<Response> {
    ctx.req.query.only(&[])?;
    let root = ctx.root;
    // A record that cannot be read still means "on" (WAN writes stay refused): the banner shows,
    // and the answer says what is wrong rather than failing every tab's poll.
    let (rec, problem) = match bypass::read(root) {
        Ok(r) => (r, None),
        Err(e) => (None, Some(e.message)),
    };
    let pending = journal::open(root, "bypass")?;
    let state = match (&pending, rec.is_some() || problem.is_some()) {
        (Some(j), _) if j.intent == "bypass.enable" => "enabling",
        (Some(_), _) => "disabling",
        (None, true) => "on",
        (None, false) => "off",
    };
    let job = pending.as_ref().and_then(|j| j.job.clone());
    if let Some(p) = problem {
        return Ok(Response::ok(json!({
            "active": true, "state": state, "job": job, "since": null, "wan": null,
            "wans": [], "stopped": [], "hotplug_aside": false, "error": p,
        })));
    }
    let installed: Vec<&str> = SERVICES
        .iter()
        .filter(|s| services::installed(root, **s))
        .map(|s| s.name())
        .collect();
    let data = match rec {
        Some(r) => json!({
            "active": true,
            "state": state,
            "job": job,
            "since": r.since,
            "wan": wan_json(&r.wan),
            "wans": r.wans.iter().map(wan_json).collect::<Vec<_>>(),
            "stopped": r.stopped,
            "hotplug_aside": r.hotplug,
        }),
        None => {
            // What turning it on would do: which WAN carries the traffic, which bond members stop
            // bonding, which services stop.
            // A network config that cannot be parsed hides the impact (the page names the file
            // from its other answers; enabling refuses with config_unparseable).
            let current = wans::managed(root).unwrap_or_default();
            let primary = current.iter().find(|w| w.role == Role::Master);
            let bonded: Vec<&str> = current
                .iter()
                .filter(|w| w.role != Role::Off)
                .map(|w| w.name.as_str())
                .collect();
            json!({
                "active": false,
                "state": state,
                "job": job,
                "since": null,
                "wan": primary.map(|w| json!({"name": w.name, "label": w.label,
                    "device": w.device, "multipath": w.role.as_str()})),
                "impact": {"wan": primary.map(|w| w.name.clone()), "bonding_off": bonded,
                           "services": installed},
            })
        }
    };
    Ok(Response::ok(data))
}

/// `POST bypass.enable` `{"confirm": true}`: 202 with the job.
pub fn enable(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["confirm"])?;
    if !f.bool("confirm")? {
        return Err(ApiError::field(
            "confirm",
            "must be true: the VPN and bonding go down while the bypass is on",
        ));
    }
    let root = ctx.root;
    check_enable(root)?;
    // The bypass reloads the network under a running speed test's WAN.
    crate::actions::speedtest::refuse_if_running(root)?;
    let job = txn::start_locking(
        root,
        ENABLE,
        ALSO_LOCK,
        crate::actions::APPLIERS,
        plan_enable,
    )?;
    Ok(txn::accepted(job))
}

/// `POST bypass.disable` `{}`: 202 with the job.
pub fn disable(ctx: &Ctx) -> ApiResult<Response> {
    Fields::parse(&ctx.req.body)?.only(&[])?;
    let root = ctx.root;
    check_disable(root)?;
    crate::actions::speedtest::refuse_if_running(root)?;
    let job = txn::start_locking(
        root,
        DISABLE,
        ALSO_LOCK,
        crate::actions::APPLIERS,
        plan_disable,
    )?;
    Ok(txn::accepted(job))
}

fn check_enable(root: &Root) -> ApiResult<()> {
    if bypass::read(root)?.is_some() {
        return Err(ApiError::new(
            409,
            "bypass_active",
            "the VPS bypass is already on",
        ));
    }
    let current = wans::managed(root)?;
    if current.iter().filter(|w| w.role == Role::Master).count() != 1 {
        return Err(ApiError::new(
            409,
            "no_primary",
            "the bypass needs exactly one Primary WAN to carry the traffic",
        ));
    }
    Ok(())
}

fn check_disable(root: &Root) -> ApiResult<()> {
    match bypass::read(root)? {
        Some(_) => Ok(()),
        None => Err(ApiError::new(
            409,
            "bypass_inactive",
            "the VPS bypass is not on",
        )),
    }
}

fn config_path(c: &str) -> String {
    format!("/etc/config/{c}")
}

fn read_bytes(root: &Root, c: &str) -> ApiResult<Option<Vec<u8>>> {
    match std::fs::read(root.path(&config_path(c))) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(format!("cannot read {c}: {e}"))),
    }
}

/// `config.section.option` → its value in `cfg`.
fn value_of<'a>(cfg: &'a Config, key: &str) -> Option<&'a str> {
    let mut it = key.splitn(3, '.');
    let (_, s, o) = (it.next()?, it.next()?, it.next()?);
    cfg.get(s, o)
}

fn config_of(key: &str) -> &str {
    key.split('.').next().unwrap_or("")
}

/// Decided in the job under the locks, from the configs as they are now.
fn plan_enable(root: &Root) -> ApiResult<WritePlan> {
    check_enable(root)?;
    let current = wans::managed(root)?;
    let network = uci::load(root, "network")?;
    let omr = uci::load(root, "openmptcprouter")?;
    let to_rec = |w: &wans::Wan| WanRec {
        name: w.name.clone(),
        label: w.label.clone(),
        device: w.device.clone(),
        multipath: network
            .get(&w.name, "multipath")
            .unwrap_or("off")
            .to_string(),
    };
    let wans_rec: Vec<WanRec> = current.iter().map(to_rec).collect();
    let primary = current
        .iter()
        .find(|w| w.role == Role::Master)
        .map(to_rec)
        .ok_or_else(|| ApiError::new(409, "no_primary", "no Primary WAN"))?;

    // Every option to change, with its value now.
    let mut values: Vec<ValueRec> = Vec::new();
    let mut want = |cfg: &Config, key: String, to: &str| {
        let before = value_of(cfg, &key).map(str::to_string);
        if before.as_deref() != Some(to) {
            values.push(ValueRec {
                key,
                before,
                bypass: to.to_string(),
            });
        }
    };
    for w in &current {
        want(&network, format!("network.{}.multipath", w.name), "off");
        if omr.section(&w.name).is_some() {
            want(&omr, format!("openmptcprouter.{}.multipath", w.name), "off");
        }
    }
    for (c, s, o, v) in FLAGS {
        if read_bytes(root, c)?.is_none() {
            continue;
        }
        let cfg = uci::load(root, c)?;
        if cfg.section(s).is_some() {
            want(&cfg, format!("{c}.{s}.{o}"), v);
        }
    }
    let configs: Vec<&'static str> = CONFIGS
        .into_iter()
        .filter(|c| values.iter().any(|v| config_of(&v.key) == *c))
        .collect();
    let ops: Vec<Op> = values
        .iter()
        .map(|v| Op::Set(v.key.clone(), v.bypass.clone()))
        .collect();

    // The exact bytes `uci commit` makes of them (staged here once for the record; the write
    // stages the same ops again, and the verification below checks it got the same bytes).
    let staged = txn::stage(root, "bypass", &configs, &ops)?;
    let mut recs = Vec::new();
    for c in &configs {
        let before = read_bytes(root, c)?.unwrap_or_default();
        let after = staged
            .bytes(c)
            .ok_or_else(|| ApiError::internal(format!("{c} was not staged")))?
            .to_vec();
        recs.push(ConfigRec {
            config: c.to_string(),
            before: Bytes::from_vec(before),
            after: Bytes::from_vec(after),
        });
    }
    drop(staged);

    let running: Vec<String> = SERVICES
        .iter()
        .filter(|s| services::running(root, **s))
        .map(|s| s.name().to_string())
        .collect();
    let stopped: Vec<String> = SERVICES
        .iter()
        .filter(|s| services::installed(root, **s))
        .map(|s| s.name().to_string())
        .collect();
    let record = Record {
        version: 1,
        since: crate::system::clock::now_epoch(),
        wan: primary.clone(),
        wans: wans_rec,
        values: values.clone(),
        services: running.clone(),
        stopped,
        hotplug: hotplug::in_place(root),
        configs: recs.clone(),
    };
    let record_bytes = serde_json::to_vec_pretty(&record)
        .map_err(|e| ApiError::internal(format!("bypass record: {e}")))?;

    let verify = move |st: &Staged| -> ApiResult<()> {
        for r in &recs {
            if st.bytes(&r.config).map(<[u8]>::to_vec) != r.after.to_vec() {
                return Err(ApiError::internal(format!(
                    "{} staged differently from the recorded bytes",
                    r.config
                )));
            }
            let cfg = st.show(&r.config)?;
            for v in values.iter().filter(|v| config_of(&v.key) == r.config) {
                if value_of(&cfg, &v.key) != Some(v.bypass.as_str()) {
                    return Err(ApiError::internal(format!("{} is not {}", v.key, v.bypass)));
                }
            }
        }
        Ok(())
    };
    Ok(WritePlan {
        verify: Box::new(verify),
        files: vec![Change {
            path: bypass::JOURNAL.into(),
            after: Some(record_bytes),
        }],
        params: json!({"services": running}),
        result: json!({"active": true, "wan": wan_json(&primary)}),
        ..WritePlan::new(&configs, ops)
    })
}

/// Decided in the job under the locks: restore every config as recorded.
fn plan_disable(root: &Root) -> ApiResult<WritePlan> {
    let rec = bypass::read(root)?
        .ok_or_else(|| ApiError::new(409, "bypass_inactive", "the VPS bypass is not on"))?;
    let mut files = Vec::new();
    let mut merged: Vec<&'static str> = Vec::new();
    let mut ops = Vec::new();
    for r in &rec.configs {
        let Some(c) = CONFIGS.into_iter().find(|c| *c == r.config) else {
            return Err(ApiError::internal(format!(
                "the bypass record names an unknown config {:?}",
                r.config
            )));
        };
        let now = read_bytes(root, c)?;
        if now.as_deref() == r.after.to_vec().as_deref() {
            // Untouched since: back byte for byte.
            files.push(Change {
                path: config_path(c),
                after: r.before.to_vec(),
            });
            continue;
        }
        // Changed meanwhile (the tracker's runtime options …): undo only what the bypass set,
        // on the file as it is now, and keep the rest.
        let cfg = uci::load(root, c)?;
        merged.push(c);
        for v in rec.values.iter().filter(|v| config_of(&v.key) == c) {
            let section = v.key.split('.').nth(1).unwrap_or("");
            if cfg.section(section).is_none() {
                continue;
            }
            ops.push(match &v.before {
                Some(b) => Op::Set(v.key.clone(), b.clone()),
                None => Op::Delete(v.key.clone()),
            });
        }
    }
    files.push(Change {
        path: bypass::JOURNAL.into(),
        after: None,
    });
    let values = rec.values.clone();
    let merged_v = merged.clone();
    let verify = move |st: &Staged| -> ApiResult<()> {
        for c in &merged_v {
            let cfg = st.show(c)?;
            for v in values.iter().filter(|v| config_of(&v.key) == *c) {
                let section = v.key.split('.').nth(1).unwrap_or("");
                if cfg.section(section).is_some() && value_of(&cfg, &v.key) != v.before.as_deref() {
                    return Err(ApiError::internal(format!("{} was not restored", v.key)));
                }
            }
        }
        Ok(())
    };
    Ok(WritePlan {
        verify: Box::new(verify),
        files,
        params: json!({"services": rec.services}),
        result: json!({"active": false, "wan": wan_json(&rec.wan), "merged": merged}),
        ..WritePlan::new(&merged, ops)
    })
}

/// The apply step of both writes, by what the committed files say: with the record present the
/// router is put in bypass (tracker hotplug aside, services stopped), without it back to normal
/// (hotplug back, the services `params.services` that were running started again); then network
/// and firewall reload. Every step is idempotent: a killed apply is simply run again.
pub fn apply_params(root: &Root, params: &Value) -> ApiResult<()> {
    match bypass::read(root)? {
        Some(rec) => {
            // It holds the configs' bytes (VPN and proxy keys among them): root only.
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(
                root.path(bypass::JOURNAL),
                std::fs::Permissions::from_mode(0o600),
            );
            hotplug::move_aside(root)?;
            crate::crashpoint::hit(root, "bypass:hotplug");
            for name in &rec.stopped {
                let Some(s) = Service::by_name(name).filter(|s| SERVICES.contains(s)) else {
                    continue;
                };
                if services::installed(root, s) {
                    services::init(root, s, "stop", None)?;
                }
            }
            crate::crashpoint::hit(root, "bypass:services");
        }
        None => {
            hotplug::restore(root)?;
            crate::crashpoint::hit(root, "bypass:hotplug");
            let names: Vec<&str> = params["services"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            // In the fixed order (the tracker first), only the ones that were running.
            for s in SERVICES {
                if names.contains(&s.name()) && services::installed(root, s) {
                    services::init(root, s, "start", None)?;
                }
            }
            crate::crashpoint::hit(root, "bypass:services");
        }
    }
    services::init(root, Service::Network, "reload", None)?;
    crate::crashpoint::hit(root, "bypass:network");
    // netifd does not act on `multipath` (not one of its options): OMR's script makes the
    // kernel's MPTCP endpoints follow it (docs/omr-facts.md).
    services::init(root, Service::Mptcp, "reload", None)?;
    crate::crashpoint::hit(root, "bypass:mptcp");
    services::init(root, Service::Firewall, "reload", None)?;
    crate::crashpoint::hit(root, "bypass:firewall");
    Ok(())
}
