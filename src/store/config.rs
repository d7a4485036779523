//! The collector's settings from UCI `jammonitor.main` (shared: the CGI needs the same paths).
//! Every option has a default and a range; a bad value is ignored (default used) and reported in
//! `problems`, so a typo in /etc/config/jammonitor never stops history.
//!
//! ```text
//! config jammonitor 'main'
//!     option interval '60'            # seconds between samples (10–3600)
//!     option ping_interval '3'        # seconds between ping rounds (1–60)
//!     option ping_timeout_ms '1000'   # a reply later than this is a loss (100–5000, < interval)
//!     option mount_point '/mnt/data'  # where USB storage is mounted
//!     option db_path '/mnt/data/jammonitor/history.db'   # the DB when USB is mounted (under mount_point)
//!     option ram_path '/tmp/jammonitor/history.db'       # the DB otherwise (RAM)
//!     option checkpoint_path '/etc/jammonitor/history.db' # flash copy of the RAM DB
//!     option checkpoint_hours '4'     # flash copy interval (1–168)
//!     option minutes_hours '48'       # retention of minute rows (1–720)
//!     option hourly_days '30'         # hourly rows (1–3650)
//!     option daily_days '365'         # daily rows (1–36500)
//!     option monthly_months '0'       # monthly rows (0 = forever)
//!     option raw_days '30'            # ping and health minutes, WAN events (1–3650)
//!     option max_rate_mbps '10000'    # counter plausibility cap when a link's speed is unknown
//!     list ping_target 'internet=1.1.1.1'   # name=IPv4 or name=auto (vps, tunnel)
//!     list ping_target 'vps=auto'
//!     list ping_target 'tunnel=auto'
//!     option wan_ping '1'             # 0: no per-WAN pings at all (outages from link state only)
//!     list wan_target 'gateway'       # pinged through every managed WAN (bound to its device and
//!     list wan_target 'internet'      # address): gateway, a ping_target name, or an IPv4 (≤ 4)
//!     option outage_rounds '3'        # consecutive rounds without any reply that make an outage (1–100)
//! config wan_ping                     # per-WAN override of the wan_target list
//!     option wan 'wan2'
//!     list target 'gateway'
//!     list target '9.9.9.9'
//! config remote_ap
//!     option name 'garden'
//!     option ip '192.168.100.20'        # pinged as target ap:garden
//! ```
//! Without any `ping_target` the defaults are `internet=1.1.1.1 vps=auto tunnel=auto`; with a list,
//! exactly the list (so a test or host-only setup can point everything at rig or loopback addresses).

use super::Retention;
use crate::system::uci::Config as Uci;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Addr(Ipv4Addr),
    /// Resolved by the collector: `vps` from openmptcprouter's server, `tunnel` from the tunnel
    /// device's peer.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub name: String,
    pub host: Host,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub interval_s: u32,
    pub ping_interval_s: u32,
    pub ping_timeout_ms: u32,
    pub mount_point: String,
    pub db_path: String,
    pub ram_path: String,
    pub checkpoint_path: String,
    pub checkpoint_hours: u32,
    pub retention: Retention,
    pub max_rate_bps: u64,
    pub targets: Vec<TargetSpec>,
    /// Per-WAN pings on (`wan_ping`, default 1).
    pub wan_ping: bool,
    /// What every managed WAN pings through itself (`gateway`, a `targets` name, or an IPv4).
    pub wan_targets: Vec<String>,
    /// Per-WAN replacements of `wan_targets` (`config wan_ping`).
    pub wan_overrides: Vec<(String, Vec<String>)>,
    /// A WAN whose probes all failed for this many consecutive rounds is in an outage (a link
    /// that is down is at once).
    pub outage_rounds: u32,
    /// Options that were refused (their defaults apply).
    pub problems: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interval_s: 60,
            ping_interval_s: 3,
            ping_timeout_ms: 1000,
            mount_point: "/mnt/data".into(),
            db_path: "/mnt/data/jammonitor/history.db".into(),
            ram_path: "/tmp/jammonitor/history.db".into(),
            checkpoint_path: "/etc/jammonitor/history.db".into(),
            checkpoint_hours: 4,
            retention: Retention::default(),
            max_rate_bps: crate::store::counters::DEFAULT_MAX_BPS,
            targets: vec![
                TargetSpec {
                    name: "internet".into(),
                    host: Host::Addr(Ipv4Addr::new(1, 1, 1, 1)),
                },
                TargetSpec {
                    name: "vps".into(),
                    host: Host::Auto,
                },
                TargetSpec {
                    name: "tunnel".into(),
                    host: Host::Auto,
                },
            ],
            wan_ping: true,
            wan_targets: vec!["gateway".into(), "internet".into()],
            wan_overrides: Vec::new(),
            outage_rounds: 3,
            problems: Vec::new(),
        }
    }
}

/// An absolute path of plain characters (no `..`, no spaces or shell-special bytes).
pub fn valid_path(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 200
        && !p.split('/').any(|s| s == ".." || s == ".")
        && !p.ends_with('/')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b))
}

/// Most targets pinged through one WAN.
pub const MAX_WAN_TARGETS: usize = 4;

/// A per-WAN target: `gateway`, a ping target's name, or an IPv4 literal.
pub fn valid_wan_target(t: &str) -> bool {
    t == "gateway" || valid_target_name(t) || t.parse::<Ipv4Addr>().is_ok()
}

fn wan_target_list(items: Vec<&str>, what: &str, problems: &mut Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in items {
        let t = t.trim();
        if !valid_wan_target(t) {
            problems.push(format!(
                "{what} {t:?} ignored: expected gateway, a ping_target name or an IPv4 address"
            ));
        } else if out.len() >= MAX_WAN_TARGETS {
            problems.push(format!(
                "{what} {t:?} ignored: at most {MAX_WAN_TARGETS} targets per WAN"
            ));
        } else if !out.iter().any(|x| x == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// A target or AP name: what follows `ap:` too.
pub fn valid_target_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn load(jm: &Uci) -> Config {
    let mut c = Config::default();
    let main = jm.section("main");
    let get = |k: &str| {
        main.and_then(|s| s.get(k))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut problems = Vec::new();
    let mut num = |k: &str, range: std::ops::RangeInclusive<u32>, slot: &mut u32| {
        if let Some(v) = get(k) {
            match v.parse::<u32>() {
                Ok(n) if range.contains(&n) => *slot = n,
                _ => problems.push(format!(
                    "jammonitor.main.{k}={v:?} ignored: must be {}–{}",
                    range.start(),
                    range.end()
                )),
            }
        }
    };
    num("interval", 10..=3600, &mut c.interval_s);
    num("ping_interval", 1..=60, &mut c.ping_interval_s);
    num("ping_timeout_ms", 100..=5000, &mut c.ping_timeout_ms);
    num("checkpoint_hours", 1..=168, &mut c.checkpoint_hours);
    num("minutes_hours", 1..=720, &mut c.retention.minute_hours);
    num("hourly_days", 1..=3650, &mut c.retention.hour_days);
    num("daily_days", 1..=36500, &mut c.retention.day_days);
    num("monthly_months", 0..=1200, &mut c.retention.month_months);
    num("raw_days", 1..=3650, &mut c.retention.raw_days);
    let mut mbps = (c.max_rate_bps / 1_000_000) as u32;
    num("max_rate_mbps", 1..=400_000, &mut mbps);
    c.max_rate_bps = mbps as u64 * 1_000_000;
    // A reply may not arrive after the next round started.
    c.ping_timeout_ms = c
        .ping_timeout_ms
        .min(c.ping_interval_s * 1000 * 9 / 10)
        .max(100);
    for (k, slot) in [
        ("mount_point", &mut c.mount_point),
        ("db_path", &mut c.db_path),
        ("ram_path", &mut c.ram_path),
        ("checkpoint_path", &mut c.checkpoint_path),
    ] {
        if let Some(v) = get(k) {
            if valid_path(v) {
                *slot = v.to_string();
            } else {
                problems.push(format!(
                    "jammonitor.main.{k}={v:?} ignored: not a plain absolute path"
                ));
            }
        }
    }
    if !c.db_path.starts_with(&format!("{}/", c.mount_point)) {
        problems.push(format!(
            "db_path {} is not under mount_point {}: using the default",
            c.db_path, c.mount_point
        ));
        c.db_path = format!("{}/jammonitor/history.db", c.mount_point);
    }
    let listed = main.map(|s| s.list("ping_target")).unwrap_or_default();
    if !listed.is_empty() {
        c.targets.clear();
        for item in listed {
            let parsed = item.split_once('=').and_then(|(n, h)| {
                let host = if h == "auto" {
                    Host::Auto
                } else {
                    Host::Addr(h.parse().ok()?)
                };
                valid_target_name(n).then(|| TargetSpec {
                    name: n.to_string(),
                    host,
                })
            });
            match parsed {
                Some(t) if !c.targets.iter().any(|x| x.name == t.name) => c.targets.push(t),
                _ => problems.push(format!(
                    "ping_target {item:?} ignored: expected name=IPv4 or name=auto"
                )),
            }
        }
    }
    // At most 16 ping targets of its own, plus up to 64 remote APs (the `wifi.aps` limit).
    c.targets.truncate(16);
    for s in jm.of_type("remote_ap").take(64) {
        let name = s.get("name").unwrap_or(&s.name);
        match (
            valid_target_name(name),
            s.get("ip")
                .or_else(|| s.get("host"))
                .and_then(|h| h.parse().ok()),
        ) {
            (true, Some(ip)) => c.targets.push(TargetSpec {
                name: format!("ap:{name}"),
                host: Host::Addr(ip),
            }),
            _ => problems.push(format!(
                "remote_ap {name:?} ignored: needs a name and an IPv4 'ip'"
            )),
        }
    }
    let mut outage = c.outage_rounds;
    if let Some(v) = get("outage_rounds") {
        match v.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => outage = n,
            _ => problems.push(format!(
                "jammonitor.main.outage_rounds={v:?} ignored: must be 1–100"
            )),
        }
    }
    c.outage_rounds = outage;
    match get("wan_ping") {
        None | Some("1") => {}
        Some("0") => c.wan_ping = false,
        Some(v) => problems.push(format!(
            "jammonitor.main.wan_ping={v:?} ignored: must be 0 or 1"
        )),
    }
    let listed = main.map(|s| s.list("wan_target")).unwrap_or_default();
    if !listed.is_empty() {
        c.wan_targets = wan_target_list(listed, "wan_target", &mut problems);
    }
    for s in jm.of_type("wan_ping") {
        let wan = s.get("wan").unwrap_or(&s.name).to_string();
        if !crate::wans::valid_iface_name(&wan) {
            problems.push(format!("wan_ping {wan:?} ignored: not an interface name"));
            continue;
        }
        let list = wan_target_list(s.list("target"), "wan_ping target", &mut problems);
        c.wan_overrides.retain(|(w, _)| *w != wan);
        c.wan_overrides.push((wan, list));
    }
    c.problems = problems;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::uci::file::parse;

    #[test]
    fn defaults_ranges_and_targets() {
        let c = load(&parse("").unwrap());
        assert_eq!(c, Config::default());
        let jm = parse(
            "config jammonitor 'main'\n\toption interval '5'\n\toption ping_interval '2'\n\toption hourly_days '60'\n\
             \toption db_path '/tmp/x.db'\n\toption checkpoint_path '/etc/../x'\n\
             \tlist ping_target 'internet=127.0.0.1'\n\tlist ping_target 'vps=auto'\n\tlist ping_target 'bad=example.com'\n\
             config remote_ap\n\toption name 'garden'\n\toption ip '192.168.100.20'\n",
        )
        .unwrap();
        let c = load(&jm);
        assert_eq!(c.interval_s, 60, "5 is below the range");
        assert_eq!(c.ping_interval_s, 2);
        assert_eq!(c.ping_timeout_ms, 1000);
        assert_eq!(c.retention.hour_days, 60);
        assert_eq!(c.db_path, "/mnt/data/jammonitor/history.db");
        assert_eq!(c.checkpoint_path, "/etc/jammonitor/history.db");
        let t: Vec<_> = c
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.host.clone()))
            .collect();
        assert_eq!(
            t,
            [
                ("internet", Host::Addr(Ipv4Addr::new(127, 0, 0, 1))),
                ("vps", Host::Auto),
                ("ap:garden", Host::Addr(Ipv4Addr::new(192, 168, 100, 20)))
            ]
        );
        assert_eq!(c.problems.len(), 4, "{:?}", c.problems);
        assert_eq!(c.wan_targets, ["gateway", "internet"]);
        assert_eq!(c.outage_rounds, 3);
    }

    #[test]
    fn wan_targets_and_overrides() {
        let jm = parse(
            "config jammonitor 'main'\n\tlist wan_target 'gateway'\n\tlist wan_target 'vps'\n\
             \tlist wan_target 'bad target'\n\toption outage_rounds '5'\n\
             config wan_ping\n\toption wan 'wan2'\n\tlist target '9.9.9.9'\n\tlist target 'gateway'\n\
             \tlist target 'a'\n\tlist target 'b'\n\tlist target 'c'\n",
        )
        .unwrap();
        let c = load(&jm);
        assert_eq!(c.wan_targets, ["gateway", "vps"]);
        assert_eq!(c.outage_rounds, 5);
        assert_eq!(
            c.wan_overrides,
            [(
                "wan2".to_string(),
                vec!["9.9.9.9".into(), "gateway".into(), "a".into(), "b".into()]
            )]
        );
        assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
        let c = load(&parse("config jammonitor 'main'\n\toption outage_rounds '0'\n").unwrap());
        assert_eq!(
            (c.outage_rounds, c.problems.len(), c.wan_ping),
            (3, 1, true)
        );
        let c = load(&parse("config jammonitor 'main'\n\toption wan_ping '0'\n").unwrap());
        assert!(!c.wan_ping);
    }
}
