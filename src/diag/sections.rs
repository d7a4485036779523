//! The bundle's sections (issue 15), in bundle order. Each reads /proc, /sys and files under the
//! root directly where it can, and runs commands only through the runner with a short deadline
//! (the command table in docs/architecture.md lists them). A missing source says so; a failing
//! one says why; neither stops the bundle.

use super::{Env, Out, tail};
use crate::system::Root;
use crate::system::runner::Cmd;
use crate::system::uci;
use std::time::Duration;

pub struct Section {
    pub file: &'static str,
    pub title: &'static str,
    pub collect: fn(&mut Env) -> Out,
}

const S2: Duration = Duration::from_secs(2);
const S3: Duration = Duration::from_secs(3);

pub const ALL: &[Section] = &[
    Section {
        file: "01_system.txt",
        title: "system: board, release, uptime, load, memory, storage",
        collect: system,
    },
    Section {
        file: "02_thermal.txt",
        title: "thermal: zones, cooling, CPU frequency, throttling",
        collect: thermal,
    },
    Section {
        file: "03_network.txt",
        title: "network: interfaces, addresses, links, neighbours, IPv6",
        collect: network,
    },
    Section {
        file: "04_routes.txt",
        title: "routes and rules: every table, per-WAN tables",
        collect: routes,
    },
    Section {
        file: "05_mptcp.txt",
        title: "MPTCP: endpoints, limits, sysctls, subflows",
        collect: mptcp,
    },
    Section {
        file: "06_vpn.txt",
        title: "VPN: WireGuard, Glorytun, OpenVPN, MLVPN, shadowsocks",
        collect: vpn,
    },
    Section {
        file: "07_omr_config.txt",
        title: "OMR configuration (redacted)",
        collect: omr_config,
    },
    Section {
        file: "08_tracker.txt",
        title: "omr-tracker state per WAN",
        collect: tracker,
    },
    Section {
        file: "09_dns.txt",
        title: "DNS: resolvers per interface, resolution tests",
        collect: dns,
    },
    Section {
        file: "10_dhcp.txt",
        title: "DHCP leases",
        collect: dhcp,
    },
    Section {
        file: "11_services.txt",
        title: "services: enabled and running",
        collect: services,
    },
    Section {
        file: "12_conntrack.txt",
        title: "conntrack summary",
        collect: conntrack,
    },
    Section {
        file: "13_firewall.txt",
        title: "firewall ruleset",
        collect: firewall,
    },
    Section {
        file: "14_syslog.txt",
        title: "system log (tail)",
        collect: syslog,
    },
    Section {
        file: "15_dmesg.txt",
        title: "kernel log (tail)",
        collect: dmesg,
    },
    Section {
        file: "16_errors.txt",
        title: "errors and warnings summary",
        collect: errors,
    },
    Section {
        file: "17_connectivity.txt",
        title: "connectivity: WAN gateways and the VPS through each WAN",
        collect: connectivity,
    },
    Section {
        file: "18_versions.txt",
        title: "versions: JamMonitor, OMR, kernel",
        collect: versions,
    },
    Section {
        file: "19_collector.txt",
        title: "JamMonitor collector status",
        collect: collector,
    },
];

const IP: &str = "/sbin/ip";

fn list_dir(root: &Root, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.path(dir))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn uci_files(o: &mut Out, root: &Root, names: &[&str]) {
    for n in names {
        o.file(root, &format!("/etc/config/{n}"));
    }
}

// ------------------------------------------------------------------------------------------------

fn system(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    o.values(
        r,
        "board",
        &[
            "/tmp/sysinfo/board_name".into(),
            "/tmp/sysinfo/model".into(),
            "/proc/device-tree/model".into(),
            "/proc/sys/kernel/hostname".into(),
        ],
    );
    o.file(r, "/etc/openwrt_release");
    o.file(r, "/proc/uptime");
    o.file(r, "/proc/loadavg");
    o.file(r, "/proc/meminfo");
    if let Ok(cpu) = r.read("/proc/cpuinfo", 64 << 10) {
        o.source_ok(
            "/proc/cpuinfo (first 40 lines)",
            &cpu.lines().take(40).collect::<Vec<_>>().join("\n"),
        );
    } else {
        o.source_missing("/proc/cpuinfo", "not readable");
    }
    if let Some(m) = o.file(r, "/proc/mounts") {
        let mut t = String::from("mount point           total MiB    free MiB  avail MiB\n");
        for line in m.lines() {
            let mp = line.split_whitespace().nth(1).unwrap_or("");
            if !matches!(
                mp,
                "/" | "/rom" | "/overlay" | "/tmp" | "/mnt/data" | "/boot"
            ) {
                continue;
            }
            if let Ok(s) = nix::sys::statvfs::statvfs(&r.path(mp)) {
                #[allow(clippy::useless_conversion)]
                let f = u64::from(s.fragment_size());
                #[allow(clippy::useless_conversion)]
                let (b, fr, av) = (
                    u64::from(s.blocks()),
                    u64::from(s.blocks_free()),
                    u64::from(s.blocks_available()),
                );
                t.push_str(&format!(
                    "{mp:<20} {:>10} {:>10} {:>10}\n",
                    (b * f) >> 20,
                    (fr * f) >> 20,
                    (av * f) >> 20
                ));
            }
        }
        o.text("storage (statvfs of the system mount points)", &t);
    }
    o
}

fn thermal(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    let mut zone_paths = Vec::new();
    for z in list_dir(r, "/sys/class/thermal") {
        let base = format!("/sys/class/thermal/{z}");
        if z.starts_with("thermal_zone") {
            zone_paths.push(format!("{base}/type"));
            zone_paths.push(format!("{base}/temp"));
            zone_paths.push(format!("{base}/policy"));
            for f in list_dir(r, &base) {
                if f.starts_with("trip_point_") {
                    zone_paths.push(format!("{base}/{f}"));
                }
            }
        } else if z.starts_with("cooling_device") {
            for f in ["type", "cur_state", "max_state"] {
                zone_paths.push(format!("{base}/{f}"));
            }
        }
    }
    o.values(
        r,
        "/sys/class/thermal (zones in millidegrees C, trip points, cooling devices)",
        &zone_paths,
    );
    let mut freq = Vec::new();
    for p in list_dir(r, "/sys/devices/system/cpu/cpufreq") {
        if p.starts_with("policy") {
            for f in [
                "affected_cpus",
                "scaling_driver",
                "scaling_governor",
                "scaling_cur_freq",
                "cpuinfo_cur_freq",
                "scaling_min_freq",
                "scaling_max_freq",
                "cpuinfo_max_freq",
                "scaling_available_frequencies",
            ] {
                freq.push(format!("/sys/devices/system/cpu/cpufreq/{p}/{f}"));
            }
        }
    }
    o.values(r, "/sys/devices/system/cpu/cpufreq (kHz)", &freq);
    let mut thr = Vec::new();
    for c in list_dir(r, "/sys/devices/system/cpu") {
        if c.starts_with("cpu") && c[3..].bytes().all(|b| b.is_ascii_digit()) && c.len() > 3 {
            for f in ["core_throttle_count", "package_throttle_count"] {
                thr.push(format!("/sys/devices/system/cpu/{c}/thermal_throttle/{f}"));
            }
        }
    }
    o.values(r, "/sys/devices/system/cpu/*/thermal_throttle", &thr);
    let mut hw = Vec::new();
    for h in list_dir(r, "/sys/class/hwmon") {
        let base = format!("/sys/class/hwmon/{h}");
        hw.push(format!("{base}/name"));
        for f in list_dir(r, &base) {
            if (f.starts_with("temp") && f.ends_with("_input"))
                || (f.starts_with("pwm") && f[3..].bytes().all(|b| b.is_ascii_digit()))
            {
                hw.push(format!("{base}/{f}"));
            }
        }
    }
    o.values(r, "/sys/class/hwmon", &hw);
    o
}

fn network(env: &mut Env) -> Out {
    let mut o = Out::new();
    o.cmd(env, IP, &["-d", "-s", "link", "show"], S2);
    o.cmd(env, IP, &["addr", "show"], S2);
    o.cmd(env, IP, &["neigh", "show"], S2);
    o.file(env.root, "/proc/net/arp");
    o.file(env.root, "/proc/net/if_inet6");
    let mut st = Vec::new();
    for d in list_dir(env.root, "/sys/class/net") {
        for f in [
            "operstate",
            "carrier",
            "speed",
            "duplex",
            "mtu",
            "tx_queue_len",
        ] {
            st.push(format!("/sys/class/net/{d}/{f}"));
        }
    }
    o.values(env.root, "/sys/class/net (link state)", &st);
    o.cmd(env, "/bin/ubus", &["call", "network.interface", "dump"], S2);
    o
}

fn routes(env: &mut Env) -> Out {
    let mut o = Out::new();
    o.cmd(env, IP, &["-4", "rule", "show"], S2);
    o.cmd(env, IP, &["-6", "rule", "show"], S2);
    o.cmd(env, IP, &["-4", "route", "show", "table", "all"], S2);
    o.cmd(env, IP, &["-6", "route", "show", "table", "all"], S2);
    o.file(env.root, "/etc/iproute2/rt_tables");
    // Which table belongs to which WAN (OMR: ip4table = metric = the per-WAN id).
    if let Ok(net) = uci::load(env.root, "network") {
        let mut t = String::new();
        for s in net.of_type("interface") {
            if let Some(tb) = s.get("ip4table") {
                t.push_str(&format!(
                    "{:<12} device {:<10} ip4table {:<6} metric {:<6} multipath {}\n",
                    s.name,
                    s.get("device").or_else(|| s.get("ifname")).unwrap_or("-"),
                    tb,
                    s.get("metric").unwrap_or("-"),
                    s.get("multipath").unwrap_or("-")
                ));
            }
        }
        o.text(
            "per-interface routing tables (from /etc/config/network)",
            &t,
        );
    }
    o
}

fn mptcp(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    o.cmd(env, IP, &["mptcp", "endpoint", "show"], S2);
    o.cmd(env, IP, &["mptcp", "limits", "show"], S2);
    let mut sys: Vec<String> = list_dir(r, "/proc/sys/net/mptcp")
        .into_iter()
        .map(|f| format!("/proc/sys/net/mptcp/{f}"))
        .collect();
    sys.push("/proc/sys/net/ipv4/tcp_congestion_control".into());
    sys.push("/proc/sys/net/ipv4/tcp_available_congestion_control".into());
    o.values(r, "/proc/sys/net/mptcp (sysctls)", &sys);
    match r.read("/proc/net/netstat", 256 << 10) {
        Ok(t) => {
            let lines: Vec<&str> = t.lines().filter(|l| l.starts_with("MPTcpExt")).collect();
            if lines.len() == 2 {
                let k: Vec<&str> = lines[0].split_whitespace().skip(1).collect();
                let v: Vec<&str> = lines[1].split_whitespace().skip(1).collect();
                let s: String = k
                    .iter()
                    .zip(v.iter())
                    .filter(|(_, v)| **v != "0")
                    .map(|(k, v)| format!("{k} {v}\n"))
                    .collect();
                o.source_ok("/proc/net/netstat (MPTcpExt, non-zero counters)", &s);
            } else {
                o.source_missing(
                    "/proc/net/netstat (MPTcpExt)",
                    "no MPTCP counters (kernel without MPTCP?)",
                );
            }
        }
        Err(e) => o.source_failed("/proc/net/netstat", &e.to_string()),
    }
    o.cmd(env, "/usr/sbin/ss", &["-Mni"], S3);
    o
}

/// Processes by name (from /proc/<pid>/comm; command lines are never read: they may carry keys).
fn processes(root: &Root, names: &[&str]) -> String {
    let mut found: Vec<(String, String)> = Vec::new();
    for p in list_dir(root, "/proc") {
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(c) = root.read_line(&format!("/proc/{p}/comm")) {
            if names.contains(&c.as_str()) {
                found.push((c, p));
            }
        }
    }
    found.sort();
    let mut t = String::new();
    for n in names {
        let pids: Vec<&str> = found
            .iter()
            .filter(|(c, _)| c == n)
            .map(|(_, p)| p.as_str())
            .collect();
        t.push_str(&format!(
            "{n:<14} {}\n",
            if pids.is_empty() {
                "not running".to_string()
            } else {
                format!("running (pid {})", pids.join(", "))
            }
        ));
    }
    t
}

const VPN_PROCS: &[&str] = &[
    "glorytun",
    "glorytun-udp",
    "openvpn",
    "mlvpn",
    "dsvpn",
    "ss-redir",
    "ss-local",
    "sslocal",
    "ssservice",
    "v2ray",
    "xray",
    "tailscaled",
    "wireguard",
];

fn vpn(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    o.text(
        "VPN and proxy processes (/proc/*/comm)",
        &processes(r, VPN_PROCS),
    );
    let devs: Vec<String> = list_dir(r, "/sys/class/net")
        .into_iter()
        .filter(|d| {
            ["tun", "wg", "mlvpn", "bonding", "6in4", "tap"]
                .iter()
                .any(|p| d.starts_with(p))
        })
        .collect();
    let mut st = Vec::new();
    for d in &devs {
        for f in ["operstate", "carrier", "mtu"] {
            st.push(format!("/sys/class/net/{d}/{f}"));
        }
    }
    o.values(r, "tunnel devices (/sys/class/net)", &st);
    o.cmd(env, "/usr/bin/wg", &["show", "all"], S2);
    let present: Vec<&str> = [
        "glorytun",
        "glorytun-udp",
        "openvpn",
        "mlvpn",
        "dsvpn",
        "shadowsocks-libev",
        "shadowsocks-rust",
        "v2ray",
        "xray",
    ]
    .into_iter()
    .filter(|c| r.path(&format!("/etc/config/{c}")).exists())
    .collect();
    if present.is_empty() {
        o.source_missing(
            "/etc/config (VPN configurations)",
            "none of glorytun, openvpn, mlvpn, dsvpn, shadowsocks, v2ray, xray is configured",
        );
    }
    uci_files(&mut o, r, &present);
    for f in list_dir(r, "/etc/openvpn") {
        if f.ends_with(".conf") || f.ends_with(".ovpn") {
            o.file(r, &format!("/etc/openvpn/{f}"));
        }
    }
    for f in list_dir(r, "/var/run") {
        if f.starts_with("openvpn") && f.ends_with(".status") {
            o.file(r, &format!("/var/run/{f}"));
        }
    }
    o
}

fn omr_config(env: &mut Env) -> Out {
    let mut o = Out::new();
    uci_files(
        &mut o,
        env.root,
        &[
            "openmptcprouter",
            "omr-tracker",
            "network",
            "dhcp",
            "firewall",
            "wireless",
            "ddns",
            "omr-bypass",
            "jammonitor",
        ],
    );
    o
}

fn tracker(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    let omr = match uci::load(r, "openmptcprouter") {
        Ok(c) if !c.sections.is_empty() => c,
        Ok(_) => {
            o.source_missing("/etc/config/openmptcprouter", "no such file or empty");
            return o;
        }
        Err(e) => {
            o.source_failed("/etc/config/openmptcprouter", &e.message);
            return o;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut t = String::from(
        "interface    state  multipath latency_ms mptcp_status        public_ip        asn                  last_check\n",
    );
    for s in omr.of_type("interface") {
        let lc = s
            .get("lc")
            .and_then(|v| v.parse::<i64>().ok())
            .map(|lc| format!("{} s ago", now - lc))
            .unwrap_or("-".into());
        t.push_str(&format!(
            "{:<12} {:<6} {:<9} {:<10} {:<19} {:<16} {:<20} {}\n",
            s.name,
            s.get("state").unwrap_or("-"),
            s.get("multipath").unwrap_or("-"),
            s.get("latency").unwrap_or("-"),
            s.get("mptcp_status").unwrap_or("-"),
            s.get("publicip").unwrap_or("-"),
            s.get("asn").unwrap_or("-"),
            lc
        ));
    }
    o.source_ok(
        "/etc/config/openmptcprouter (tracker state per interface)",
        &t,
    );
    o.text(
        "tracker processes (/proc/*/comm)",
        &processes(
            r,
            &[
                "omr-tracker",
                "omr-tracker-ss",
                "omr-tracker-v2ray",
                "omr-tracker-xray",
                "omr-tracker-server",
            ],
        ),
    );
    o
}

fn nameservers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.parse::<std::net::IpAddr>().is_ok())
        .collect()
}

fn dns(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    if let Ok(t) = std::fs::read_link(r.path("/etc/resolv.conf")) {
        o.text("/etc/resolv.conf", &format!("a link to {}", t.display()));
    }
    let mut servers = Vec::new();
    for f in [
        "/etc/resolv.conf",
        "/tmp/resolv.conf",
        "/tmp/resolv.conf.d/resolv.conf.auto",
        "/tmp/resolv.conf.auto",
    ] {
        if r.path(f).exists() {
            if let Some(t) = o.file(r, f) {
                servers.extend(nameservers(&t));
            }
        }
    }
    if servers.is_empty() && o.status().0 == "ok" && o.body.is_empty() {
        o.source_missing("/etc/resolv.conf", "no resolver configuration found");
    }
    // Per-interface resolvers as netifd reports them.
    if let Some(dump) = o.cmd(env, "/bin/ubus", &["call", "network.interface", "dump"], S2) {
        let mut t = String::new();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&dump) {
            for i in v["interface"].as_array().into_iter().flatten() {
                let list = |k: &str| {
                    i[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default()
                };
                t.push_str(&format!(
                    "{:<12} dns-server [{}] dns-search [{}]\n",
                    i["interface"].as_str().unwrap_or("?"),
                    list("dns-server"),
                    list("dns-search")
                ));
            }
        }
        o.text("resolvers per interface (from network.interface dump)", &t);
    }
    servers.sort();
    servers.dedup();
    servers.truncate(3);
    if servers.is_empty() {
        o.source_missing("resolution test", "no configured resolver to ask");
    } else if !r.path("/usr/bin/nslookup").exists() {
        o.source_missing("resolution test", "/usr/bin/nslookup is not installed");
    } else {
        // One lookup per configured resolver, at once, each with a short deadline.
        let budget = env.budget(S3);
        let results: Vec<(String, Result<String, String>)> = std::thread::scope(|sc| {
            let hs: Vec<_> = servers
                .iter()
                .map(|s| {
                    let s = s.clone();
                    sc.spawn(move || {
                        let cmd =
                            Cmd::new("/usr/bin/nslookup", &["openwrt.org", &s]).deadline(budget);
                        (s, super::run_cmd(r, cmd))
                    })
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (s, res) in results {
            let src = format!("/usr/bin/nslookup openwrt.org {s}");
            match res {
                Ok(t) => o.source_ok(&src, &t),
                Err(e) => o.source_failed(&src, &e),
            }
        }
    }
    o
}

fn dhcp(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    let leasefile = uci::load(r, "dhcp")
        .ok()
        .and_then(|c| {
            c.of_type("dnsmasq")
                .find_map(|s| s.get("leasefile").map(String::from))
        })
        .filter(|p| p.starts_with('/') && !p.contains(".."))
        .unwrap_or_else(|| "/tmp/dhcp.leases".into());
    o.file(r, &leasefile);
    o.file(r, "/tmp/hosts/odhcpd");
    o
}

fn services(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    let scripts = list_dir(r, "/etc/init.d");
    if scripts.is_empty() {
        o.source_missing("/etc/init.d", "no init scripts");
        return o;
    }
    let rc = list_dir(r, "/etc/rc.d");
    let running: Option<serde_json::Value> = o
        .cmd(env, "/bin/ubus", &["call", "service", "list"], S2)
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut t = String::from("service                     enabled  running\n");
    for s in &scripts {
        let enabled = rc
            .iter()
            .any(|f| f.starts_with('S') && f.len() > 3 && &f[3..] == s);
        let run = match &running {
            None => "?".to_string(),
            Some(v) => match v
                .get(s)
                .and_then(|x| x.get("instances"))
                .and_then(|i| i.as_object())
            {
                Some(inst) => {
                    let n = inst.values().filter(|i| i["running"] == true).count();
                    format!("{n}/{}", inst.len())
                }
                None => "no".into(),
            },
        };
        t.push_str(&format!(
            "{s:<27} {:<8} {run}\n",
            if enabled { "yes" } else { "no" }
        ));
    }
    o.source_ok(
        "/etc/init.d + /etc/rc.d (enabled), procd (running instances)",
        &t,
    );
    o
}

fn conntrack(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    let vals: Vec<String> = [
        "nf_conntrack_count",
        "nf_conntrack_max",
        "nf_conntrack_acct",
        "nf_conntrack_buckets",
        "nf_conntrack_tcp_timeout_established",
        "nf_conntrack_udp_timeout",
        "nf_conntrack_helper",
    ]
    .iter()
    .map(|f| format!("/proc/sys/net/netfilter/{f}"))
    .collect();
    o.values(r, "/proc/sys/net/netfilter", &vals);
    use std::io::BufRead;
    match std::fs::File::open(r.path("/proc/net/nf_conntrack")) {
        Ok(f) => {
            let mut by: std::collections::BTreeMap<String, u64> = Default::default();
            let mut total = 0u64;
            for line in std::io::BufReader::new(f)
                .lines()
                .take(500_000)
                .map_while(Result::ok)
            {
                total += 1;
                let mut w = line.split_whitespace();
                let l3 = w.next().unwrap_or("?");
                let _ = w.next();
                let l4 = w.next().unwrap_or("?");
                let state = if l4 == "tcp" {
                    line.split_whitespace()
                        .nth(5)
                        .filter(|s| !s.contains('='))
                        .unwrap_or("-")
                } else {
                    "-"
                };
                *by.entry(format!("{l3} {l4} {state}")).or_default() += 1;
                for flag in ["[UNREPLIED]", "[ASSURED]", "[OFFLOAD]", "[HW_OFFLOAD]"] {
                    if line.contains(flag) {
                        *by.entry(format!("flag {flag}")).or_default() += 1;
                    }
                }
            }
            let mut t = format!("entries: {total}\n");
            for (k, v) in by {
                t.push_str(&format!("{k:<32} {v}\n"));
            }
            o.source_ok(
                "/proc/net/nf_conntrack (counts by protocol and state; no flow is listed)",
                &t,
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            o.source_missing("/proc/net/nf_conntrack", "no such file")
        }
        Err(e) => o.source_failed("/proc/net/nf_conntrack", &e.to_string()),
    }
    o
}

fn firewall(env: &mut Env) -> Out {
    let mut o = Out::new();
    if env.root.path("/usr/sbin/nft").exists() {
        let t = o.cmd_with(
            env,
            Cmd::new("/usr/sbin/nft", &["list", "ruleset"]),
            S3,
            4 << 20,
        );
        if t.is_some() {
            return o;
        }
    }
    o.cmd_with(env, Cmd::new("/usr/sbin/iptables-save", &[]), S3, 4 << 20);
    o
}

fn syslog(env: &mut Env) -> Out {
    let mut o = Out::new();
    let t = if env.root.path("/sbin/logread").exists() {
        o.cmd(env, "/sbin/logread", &["-l", "1000"], S3)
    } else {
        o.source_missing("/sbin/logread -l 1000", "/sbin/logread is not installed");
        if env.root.path("/var/log/messages").exists() {
            o.file_tail(env.root, "/var/log/messages", 1000)
        } else {
            None
        }
    };
    env.syslog = t.map(|t| crate::redact::redact(&tail(&t, 1000)));
    o
}

fn dmesg(env: &mut Env) -> Out {
    let mut o = Out::new();
    let mut o2 = Out::new();
    let t = o2.cmd(env, "/bin/dmesg", &[], S2);
    match t {
        Some(t) => {
            let t = tail(&t, 500);
            o.source_ok("/bin/dmesg (last 500 lines)", &t);
            env.dmesg = Some(crate::redact::redact(&t));
        }
        None => o = o2,
    }
    o
}

const ERROR_WORDS: &[&str] = &[
    "error",
    "fail",
    "warn",
    "crit",
    "emerg",
    "alert",
    "timeout",
    "timed out",
    "unreachable",
    "refused",
    "denied",
    "switched off",
    "link is down",
    "oom",
];

fn errors(env: &mut Env) -> Out {
    let mut o = Out::new();
    for (name, text) in [
        ("system log", env.syslog.clone()),
        ("kernel log", env.dmesg.clone()),
    ] {
        let Some(text) = text else {
            o.source_missing(
                &format!("{name} (from the sections above)"),
                "not available",
            );
            continue;
        };
        let mut counts: Vec<(&str, usize)> = ERROR_WORDS.iter().map(|w| (*w, 0)).collect();
        let mut hits = Vec::new();
        for l in text.lines() {
            let low = l.to_ascii_lowercase();
            let mut hit = false;
            for c in counts.iter_mut() {
                if low.contains(c.0) {
                    c.1 += 1;
                    hit = true;
                }
            }
            if hit {
                hits.push(l);
            }
        }
        let mut t = String::from("matches per word:\n");
        for (w, n) in counts.iter().filter(|(_, n)| *n > 0) {
            t.push_str(&format!("  {w:<14} {n}\n"));
        }
        t.push_str(&format!("\nlast {} matching lines:\n", hits.len().min(200)));
        let from = hits.len().saturating_sub(200);
        for l in &hits[from..] {
            t.push_str(l);
            t.push('\n');
        }
        o.source_ok(&format!("{name} (grep: {})", ERROR_WORDS.join("|")), &t);
    }
    o
}

fn connectivity(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    let network = uci::load(r, "network").unwrap_or_default();
    let jm = uci::load(r, "jammonitor").unwrap_or_default();
    let omr = uci::load(r, "openmptcprouter").unwrap_or_default();
    let wans = crate::wans::selected(&network, &jm);
    if wans.is_empty() {
        o.source_missing("WANs (/etc/config/network)", "no WAN interface configured");
        return o;
    }
    let routes = crate::system::rtnl::routes().unwrap_or_default();
    let vps = crate::omr::vps_address(r, &omr)
        .map(|(ip, _)| ip)
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    let ping: Option<&'static str> = ["/bin/ping", "/usr/bin/ping"]
        .into_iter()
        .find(|p| r.path(p).exists());
    // (what, device, target)
    let mut jobs: Vec<(String, String, String)> = Vec::new();
    let mut plan = String::new();
    for w in &wans {
        let Some(dev) = w
            .device
            .clone()
            .filter(|d| crate::wans::valid_device_name(d))
        else {
            plan.push_str(&format!("{}: no device\n", w.name));
            continue;
        };
        let gw = network
            .get(&w.name, "gateway")
            .map(String::from)
            .or_else(|| crate::system::ip::default_gateway(&routes, Some(&dev)))
            .filter(|g| g.parse::<std::net::IpAddr>().is_ok());
        plan.push_str(&format!(
            "{} ({}, {}): gateway {}, VPS {}\n",
            w.name,
            dev,
            w.role.as_str(),
            gw.as_deref().unwrap_or("unknown"),
            vps.as_deref().unwrap_or("unknown")
        ));
        if let Some(g) = gw {
            jobs.push((format!("{} gateway", w.name), dev.clone(), g));
        }
        if let Some(v) = &vps {
            jobs.push((format!("VPS through {}", w.name), dev.clone(), v.clone()));
        }
    }
    o.text("targets", &plan);
    let Some(ping) = ping else {
        o.source_missing("ping", "neither /bin/ping nor /usr/bin/ping is installed");
        return o;
    };
    // Every ping at once (each bound to its WAN, 2 probes, 3 s at most).
    let budget = env.budget(Duration::from_secs(4));
    let results: Vec<(String, String, Result<String, String>)> = std::thread::scope(|sc| {
        let hs: Vec<_> = jobs
            .iter()
            .map(|(what, dev, target)| {
                sc.spawn(move || {
                    let cmd = Cmd::new(ping, &["-c", "2", "-W", "1", "-w", "3", "-I", dev, target])
                        .deadline(budget);
                    (what.clone(), cmd.display(), super::run_cmd(r, cmd))
                })
            })
            .collect();
        hs.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut summary = String::new();
    for (what, shown, res) in results {
        match res {
            Ok(t) => {
                let stats = t
                    .lines()
                    .filter(|l| l.contains("packet") || l.contains("min/avg/max"))
                    .collect::<Vec<_>>()
                    .join("; ");
                summary.push_str(&format!("{what:<24} reachable   {stats}\n"));
                o.source_ok(&format!("{shown} ({what})"), &t);
            }
            Err(e) => {
                summary.push_str(&format!("{what:<24} UNREACHABLE {e}\n"));
                o.source_failed(&format!("{shown} ({what})"), &e);
            }
        }
    }
    o.text("summary", &summary);
    o
}

fn versions(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    o.text(
        "JamMonitor (this program)",
        &format!("jammonitor {}", env!("CARGO_PKG_VERSION")),
    );
    let ctl: Vec<String> = list_dir(r, "/usr/lib/opkg/info")
        .into_iter()
        .filter(|f| f.contains("jammonitor") && f.ends_with(".control"))
        .collect();
    if ctl.is_empty() {
        o.source_missing(
            "/usr/lib/opkg/info/*jammonitor*.control",
            "no installed package found",
        );
    }
    for c in ctl {
        o.file(r, &format!("/usr/lib/opkg/info/{c}"));
    }
    match uci::load(r, "openmptcprouter")
        .ok()
        .and_then(|c| c.get("settings", "version").map(String::from))
    {
        Some(v) => o.source_ok("openmptcprouter.settings.version", &v),
        None => o.source_missing("openmptcprouter.settings.version", "not set"),
    }
    o.file(r, "/etc/openwrt_version");
    o.file(r, "/etc/os-release");
    o.file(r, "/proc/version");
    o
}

fn collector(env: &mut Env) -> Out {
    let r = env.root;
    let mut o = Out::new();
    if let Some(t) = o.file(r, crate::store::status::STATUS_FILE) {
        let pid = serde_json::from_str::<serde_json::Value>(&t)
            .ok()
            .and_then(|v| v["pid"].as_i64());
        let alive = pid.is_some_and(|p| p > 0 && r.path(&format!("/proc/{p}")).exists());
        o.text(
            "process",
            &format!(
                "pid {} {}",
                pid.map(|p| p.to_string()).unwrap_or("-".into()),
                if alive { "running" } else { "not running" }
            ),
        );
    }
    o
}
