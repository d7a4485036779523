//! Collector benchmarks (DESIGN §11), a plain `harness = false` binary:
//!
//!   cargo bench -p jammonitor-collector --bench collector      (release profile)
//!
//! 1. Per sample: the real daemon on a root whose interface counters are real (/proc/net/dev and
//!    /sys of the namespace it runs in: 8 interfaces, see JM_BENCH_NETNS) and whose clients are a
//!    fixture: 50 leases/ARP entries and 5,000 conntrack
//!    entries rewritten with growing counters before every sample. Interval 1 s. Reports the
//!    main thread's CPU per sample (CLOCK_THREAD_CPUTIME_ID, from the status file), the whole
//!    process's CPU per sample and its peak RSS (wait4's rusage).
//! 2. Side by side with vnStat's daemon (`vnstatd`, Debian) on the same interfaces in the same
//!    window: both at their production schedules (ours: sample 60 s, pings every 3 s; vnstatd:
//!    defaults, SaveInterval 1 min). Steady-state CPU per hour (a 5 s run of both is subtracted
//!    from the long one, so start-up does not count), peak RSS (VmHWM), and the ratios.
//! 3. Store: 30 simulated days (8 interfaces every minute, 20 of 50 clients active each minute,
//!    3 ping targets, health, hourly retention sweeps) → DB size and rows; then hourly/daily/
//!    monthly query times for 3 (WANs) and 8 interfaces, warm and with the open as the CGI does;
//!    for reference the same daily totals computed from 30 days of raw minute rows.
//!
//! Env: BENCH_SECS (side-by-side window, default 185), BENCH_SAMPLES (default 40),
//! JM_BENCH_NETNS (default: a private router-like namespace made here — 3 WAN veths, tun0, LAN
//! bridge with 3 ports, traffic from a peer namespace; `jm-router` = the rig; `none` = this one).
//! Results: stdout and target/bench/collector.json.

#[path = "../report/mod.rs"]
mod report;

use jammonitor::store::query::{self, Range};
use jammonitor::store::{
    ClientTraffic, CounterRow, Health, IfaceTraffic, PingMinute, Retention, Sample, Store, counters,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: usize = 50;
const FLOWS: usize = 5000;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write_atomic(p: &Path, s: &str) {
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, s).unwrap();
    std::fs::rename(tmp, p).unwrap();
}

fn client_ip(c: usize) -> String {
    format!("192.168.{}.{}", 100 + c / 200, 10 + c % 200)
}

fn client_mac(c: usize) -> String {
    format!("02:00:00:00:{:02x}:{:02x}", c / 256, c % 256)
}

/// 5,000 flows of 50 clients (TCP/UDP, a few unreplied, a few offloaded without timeout);
/// counters grow with `round` on most flows.
fn conntrack(round: u64) -> String {
    let mut s = String::with_capacity(FLOWS * 270);
    for f in 0..FLOWS {
        let c = f % CLIENTS;
        let ip = client_ip(c);
        let dst = format!("198.51.100.{}", 1 + f % 200);
        let grow = if f % 4 == 0 { 0 } else { round };
        let ob = 500 + grow * (100 + (f as u64 % 7) * 50);
        let rb = 4000 + grow * (1500 + (f as u64 % 5) * 700);
        let sport = 20000 + f;
        if f % 50 == 0 {
            s.push_str(&format!(
                "ipv4     2 udp      17 25 src={ip} dst=8.8.8.8 sport={sport} dport=53 packets=1 bytes={ob} [UNREPLIED] src=8.8.8.8 dst=10.1.1.2 sport=53 dport={sport} packets=0 bytes=0 mark=0 zone=0 use=1\n"
            ));
        } else if f % 97 == 0 {
            s.push_str(&format!(
                "ipv4     2 tcp      6 src={ip} dst={dst} sport={sport} dport=443 packets=10 bytes={ob} src={dst} dst=10.2.2.2 sport=443 dport={sport} packets=20 bytes={rb} [OFFLOAD] mark=0 zone=0 use=3\n"
            ));
        } else {
            s.push_str(&format!(
                "ipv4     2 tcp      6 431999 ESTABLISHED src={ip} dst={dst} sport={sport} dport=443 packets=10 bytes={ob} src={dst} dst=10.1.1.2 sport=443 dport={sport} packets=20 bytes={rb} [ASSURED] mark=0 zone=0 use=2\n"
            ));
        }
    }
    s
}

/// A root: configs from tests/bed/mkroot.sh, real interfaces (proc/net/dev and sys linked to the
/// running namespace's), fixture clients.
fn make_root(dir: &Path, rig: bool) -> PathBuf {
    let root = dir.join("root");
    sh(&[
        repo().join("tests/bed/mkroot.sh").to_str().unwrap(),
        root.to_str().unwrap(),
    ]);
    let uci = repo().join("build/uci/bin/uci");
    let u = |args: &[&str]| {
        let mut a = vec![uci.to_str().unwrap(), "-c"];
        let c = root.join("etc/config");
        let t = root.join("tmp/.uci");
        let (c, t) = (
            c.to_str().unwrap().to_string(),
            t.to_str().unwrap().to_string(),
        );
        a.push(&c);
        a.push("-t");
        a.push(&t);
        a.extend_from_slice(args);
        let _ = Command::new(a[0]).args(&a[1..]).output();
    };
    u(&["delete", "jammonitor.main.ping_target"]);
    // Network safety: rig addresses inside jm-router, loopback elsewhere.
    let targets: &[&str] = if rig {
        &["internet=1.1.1.1", "vps=auto", "tunnel=auto"]
    } else {
        &["internet=127.0.0.1", "vps=127.0.0.2", "tunnel=127.0.0.3"]
    };
    for t in targets {
        u(&["add_list", &format!("jammonitor.main.ping_target={t}")]);
    }
    // Per-WAN pings (issue 19): 3 WANs × 2 targets reachable only through that WAN's device.
    if !rig {
        for k in 1..=3 {
            let sec = format!("jammonitor.wp{k}");
            u(&["set", &format!("{sec}=wan_ping")]);
            u(&["set", &format!("{sec}.wan=wan{k}")]);
            u(&["add_list", &format!("{sec}.target=10.200.{}.2", k - 1)]);
            u(&["add_list", &format!("{sec}.target=10.200.{}.3", k - 1)]);
        }
    }
    u(&["commit", "jammonitor"]);
    std::fs::remove_file(root.join("proc/net/dev")).ok();
    std::os::unix::fs::symlink("/proc/self/net/dev", root.join("proc/net/dev")).unwrap();
    std::fs::remove_dir_all(root.join("sys")).unwrap();
    std::os::unix::fs::symlink("/sys", root.join("sys")).unwrap();
    let mut arp = String::from(
        "IP address       HW type     Flags       HW address            Mask     Device\n",
    );
    let mut leases = String::new();
    for c in 0..CLIENTS {
        arp.push_str(&format!(
            "{:<16} 0x1         0x2         {}     *        wan\n",
            client_ip(c),
            client_mac(c)
        ));
        leases.push_str(&format!(
            "1999999999 {} {} client-{c} *\n",
            client_mac(c),
            client_ip(c)
        ));
    }
    std::fs::write(root.join("proc/net/arp"), arp).unwrap();
    std::fs::write(root.join("tmp/dhcp.leases"), leases).unwrap();
    std::fs::create_dir_all(root.join("proc/sys/kernel/random")).unwrap();
    std::fs::write(
        root.join("proc/sys/kernel/random/boot_id"),
        "00000000-bench-0000-0000-000000000000\n",
    )
    .unwrap();
    write_atomic(&root.join("proc/net/nf_conntrack"), &conntrack(0));
    root
}

fn spawn(netns: Option<&str>, prog: &str, args: &[&str]) -> std::process::Child {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, prog]);
            c
        }
        None => Command::new(prog),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Peak RSS of the running image (VmHWM). wait4's ru_maxrss is not used: it also counts the
/// spawning process's memory from before exec.
fn peak_rss_kb(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Where the resident memory is: anonymous vs file-backed, and each mapping over 40 kB (the
/// floor of the RSS comparison: code pages of libc/libm/ld.so/SQLite are file-backed pages both
/// daemons map, at the kernel's fault-around granularity).
fn rss_breakdown(pid: i32) -> Value {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut per: std::collections::BTreeMap<String, u64> = Default::default();
    let mut name = String::new();
    for l in smaps.lines() {
        if l.split_whitespace()
            .next()
            .is_some_and(|w| w.contains('-') && !w.ends_with(':'))
        {
            name = l.split_whitespace().nth(5).unwrap_or("[anon]").to_string();
            name = name.rsplit('/').next().unwrap_or(&name).to_string();
        } else if let Some(v) = l.strip_prefix("Rss:") {
            *per.entry(name.clone()).or_default() += v
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    per.retain(|_, v| *v > 40);
    json!({"rss_kb": field("VmRSS:"), "hwm_kb": field("VmHWM:"), "anon_kb": field("RssAnon:"),
           "file_kb": field("RssFile:"), "by_mapping_kb": per})
}

/// Peak RSS, then SIGTERM, then the exact CPU time (user+sys) from wait4.
fn stop(child: std::process::Child) -> (Duration, u64) {
    let pid = child.id() as i32;
    let rss = peak_rss_kb(pid);
    if rss == 0 {
        eprintln!(
            "note: no VmHWM for pid {pid}: {:?}",
            std::fs::read_to_string(format!("/proc/{pid}/status")).map(|s| s
                .lines()
                .take(8)
                .collect::<Vec<_>>()
                .join(" | "))
        );
    }
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let tv =
        |t: libc::timeval| Duration::from_micros(t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64);
    std::mem::forget(child);
    (tv(ru.ru_utime) + tv(ru.ru_stime), rss)
}

fn status(root: &Path) -> Value {
    std::fs::read_to_string(root.join("var/run/jammonitor/collector.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn per_sample(root: &Path, netns: Option<&str>, bin: &str, samples: usize) -> Value {
    let child = spawn(
        netns,
        bin,
        &[
            "--root",
            root.to_str().unwrap(),
            "--foreground",
            "--interval",
            "1",
            "--ping-interval",
            "3",
        ],
    );
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    let mut seen = 0;
    let t0 = Instant::now();
    let mut round = 0;
    while cpu.len() < samples {
        let s = status(root);
        let n = s["samples"].as_u64().unwrap_or(0);
        if n > seen {
            seen = n;
            // The first sample is the baseline (nothing counted, nothing written per client).
            if n > 1 {
                cpu.push(s["last_sample_cpu_us"].as_f64().unwrap_or(0.0) / 1000.0);
                wall.push(s["last_sample_wall_us"].as_f64().unwrap_or(0.0) / 1000.0);
            }
            round += 1;
            write_atomic(&root.join("proc/net/nf_conntrack"), &conntrack(round));
        }
        assert!(
            t0.elapsed() < Duration::from_secs(samples as u64 * 3 + 30),
            "collector stalled: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = t0.elapsed();
    let total_samples = status(root)["samples"].as_u64().unwrap_or(1);
    let (proc_cpu, maxrss) = stop(child);
    let db = Store::open_existing(&root.join("tmp/jammonitor/history.db")).unwrap();
    let client_rows: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM client_minute", [], |r| r.get(0))
        .unwrap();
    let ifaces: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM counter_state", [], |r| r.get(0))
        .unwrap();
    assert!(client_rows > 0, "the fixture produced no client traffic");
    json!({
        "samples": cpu.len(),
        "interfaces": ifaces,
        "clients": CLIENTS,
        "conntrack_entries": FLOWS,
        "sample_cpu_ms_median": pct(&mut cpu.clone(), 0.5),
        "sample_cpu_ms_p95": pct(&mut cpu.clone(), 0.95),
        "sample_cpu_ms_max": pct(&mut cpu, 1.0),
        "sample_wall_ms_median": pct(&mut wall, 0.5),
        "process_cpu_ms_per_sample": proc_cpu.as_secs_f64() * 1000.0 / total_samples as f64,
        "process_cpu_ms_total": proc_cpu.as_secs_f64() * 1000.0,
        "window_s": elapsed.as_secs_f64(),
        "peak_rss_kb": maxrss,
    })
}

/// (our CPU, our peak RSS, (samples, (ping rounds, pinger CPU µs)), vnstatd (CPU, peak RSS)).
type RunResult = (Duration, u64, (u64, (u64, u64)), Option<(Duration, u64)>);

/// One run of both daemons for `secs`: (ours CPU, ours RSS, samples, vnstatd CPU, vnstatd RSS).
fn both(
    root: &Path,
    netns: Option<&str>,
    bin: &str,
    secs: u64,
    conf: &Path,
    vnstatd: Option<&str>,
) -> RunResult {
    for p in ["tmp/jammonitor", "etc/jammonitor", "var/run/jammonitor"] {
        let _ = std::fs::remove_dir_all(root.join(p));
    }
    let _ = std::fs::remove_dir_all(conf.parent().unwrap().join("db"));
    std::fs::create_dir_all(conf.parent().unwrap().join("db")).unwrap();
    let ours = spawn(
        netns,
        bin,
        &["--root", root.to_str().unwrap(), "--foreground"],
    );
    let theirs = vnstatd.map(|v| spawn(netns, v, &["-n", "--config", conf.to_str().unwrap()]));
    let t0 = Instant::now();
    let mut round = 1000;
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(250));
        if t0.elapsed().as_secs() % 30 == 29 {
            round += 1;
            write_atomic(&root.join("proc/net/nf_conntrack"), &conntrack(round));
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let st = status(root);
    let samples = st["samples"].as_u64().unwrap_or(0);
    let ping = (
        st["ping_rounds"].as_u64().unwrap_or(0),
        st["ping_cpu_us"].as_u64().unwrap_or(0),
    );
    let breakdown = json!({
        "ours": rss_breakdown(ours.id() as i32),
        "vnstatd": theirs.as_ref().map(|t| rss_breakdown(t.id() as i32)),
    });
    let _ = std::fs::write(
        root.parent().unwrap().join("rss_breakdown.json"),
        breakdown.to_string(),
    );
    let (cpu, rss) = stop(ours);
    (cpu, rss, (samples, ping), theirs.map(stop))
}

/// Steady-state cost, start-up excluded: a short run and a long run of both daemons side by
/// side; (long − short) / (T_long − T_short).
fn side_by_side(root: &Path, netns: Option<&str>, bin: &str, secs: u64, dir: &Path) -> Value {
    let vn = dir.join("vnstat");
    std::fs::create_dir_all(&vn).unwrap();
    let conf = vn.join("vnstat.conf");
    std::fs::write(
        &conf,
        format!(
            "DatabaseDir \"{}\"\nUseLogging 0\nAlwaysAddNewInterfaces 1\nCreateDirs 1\nSaveInterval 1\nBandwidthDetection 0\n",
            vn.join("db").display()
        ),
    )
    .unwrap();
    let vnstatd = ["/usr/sbin/vnstatd", "/usr/bin/vnstatd"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let short = 5;
    let (s_cpu, _, _, s_vn) = both(root, netns, bin, short, &conf, vnstatd);
    let (l_cpu, l_rss, (samples, (rounds, ping_us)), l_vn) =
        both(root, netns, bin, secs, &conf, vnstatd);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let per_hour = |long: Duration, short_: Duration| {
        (ms(long) - ms(short_)).max(0.0) * 3600.0 / (secs - short) as f64
    };
    let ours_h = per_hour(l_cpu, s_cpu);
    let theirs_h = match (l_vn, s_vn) {
        (Some((l, _)), Some((s, _))) => Some(per_hour(l, s)),
        _ => None,
    };
    let breakdown: Value = std::fs::read_to_string(dir.join("rss_breakdown.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    json!({
        "rss_breakdown": breakdown,
        "window_s": secs,
        "ours": {"cpu_ms_window": ms(l_cpu), "startup_cpu_ms": ms(s_cpu), "cpu_ms_per_hour": ours_h, "peak_rss_kb": l_rss,
                 "samples": samples, "ping_rounds": rounds,
                 "ping_cpu_us_per_round": if rounds > 0 { ping_us as f64 / rounds as f64 } else { 0.0 }, "schedule": "sample 60 s, ping 3 targets every 3 s, 5,000 conntrack entries"},
        "vnstatd": {"cpu_ms_window": l_vn.map(|v| ms(v.0)), "startup_cpu_ms": s_vn.map(|v| ms(v.0)), "cpu_ms_per_hour": theirs_h,
                    "peak_rss_kb": l_vn.map(|v| v.1), "schedule": "UpdateInterval 20 s, PollInterval 5 s, SaveInterval 1 min",
                    "available": vnstatd.is_some()},
        "cpu_ratio_ours_over_vnstatd": theirs_h.map(|t| ours_h / t.max(0.001)),
        "rss_ratio_ours_over_vnstatd": l_vn.map(|v| l_rss as f64 / v.1.max(1) as f64),
    })
}

/// A bare pinger (the floor of the cost per round): one raw ICMP socket, the same hosts, the same
/// interval; per round: one sendto per host, poll until every reply or 900 ms, recvfrom. No
/// bookkeeping at all. Runs in a thread moved into `netns`. Returns µs of thread CPU per round.
fn floor_pinger(netns: Option<&str>, hosts: Vec<std::net::Ipv4Addr>, rounds: u32) -> f64 {
    let ns = netns.map(|n| format!("/run/netns/{n}"));
    std::thread::spawn(move || unsafe {
        if let Some(p) = ns {
            let f = std::fs::File::open(p).unwrap();
            use std::os::fd::AsRawFd;
            assert_eq!(libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET), 0, "setns");
        }
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK,
            libc::IPPROTO_ICMP,
        );
        assert!(fd >= 0, "raw socket");
        let cpu = || {
            let mut t: libc::timespec = std::mem::zeroed();
            libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t);
            t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 / 1e3
        };
        let mut total = 0.0;
        let mut buf = [0u8; 256];
        for seq in 0..rounds {
            std::thread::sleep(Duration::from_secs(1));
            let c0 = cpu();
            for h in &hosts {
                let mut p = [0u8; 16];
                p[0] = 8;
                p[4..6].copy_from_slice(&0x7777u16.to_be_bytes());
                p[6..8].copy_from_slice(&(seq as u16).to_be_bytes());
                let mut sum: u32 = 0;
                for c in p.chunks(2) {
                    sum += u16::from_be_bytes([c[0], c[1]]) as u32;
                }
                while sum >> 16 != 0 {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                p[2..4].copy_from_slice(&(!(sum as u16)).to_be_bytes());
                let a = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*h).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                libc::sendto(
                    fd,
                    p.as_ptr() as *const _,
                    16,
                    0,
                    &a as *const _ as *const libc::sockaddr,
                    16,
                );
            }
            let mut got = 0;
            let t0 = Instant::now();
            while got < hosts.len() && t0.elapsed() < Duration::from_millis(900) {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                if libc::poll(&mut pfd, 1, 900) <= 0 {
                    break;
                }
                while libc::recv(fd, buf.as_mut_ptr() as *mut _, buf.len(), 0) > 0 {
                    let ihl = (buf[0] & 0xf) as usize * 4;
                    if buf[ihl] == 0 && buf[ihl + 4..ihl + 6] == 0x7777u16.to_be_bytes() {
                        got += 1;
                    }
                }
            }
            total += cpu() - c0;
        }
        libc::close(fd);
        total / rounds as f64
    })
    .join()
    .unwrap()
}

/// JM_BENCH_PROFILE="strace -c -f -p {tid}" (or `perf record -g -t {tid} -o …`, `perf stat
/// -t {tid}`): runs that command on the pinger thread while the bare floor's 30 rounds run (how
/// the pinger was profiled); its output goes to target/bench/pinger-<key>.prof, and it is
/// stopped with SIGINT.
fn profiler(pid: u32, key: &str) -> Option<std::process::Child> {
    let cmd = std::env::var("JM_BENCH_PROFILE").ok()?;
    let tid = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "pinger")
        })?
        .file_name()
        .to_string_lossy()
        .into_owned();
    let args: Vec<String> = cmd
        .split_whitespace()
        .map(|a| a.replace("{tid}", &tid).replace("{key}", key))
        .collect();
    let out = repo().join(format!("target/bench/pinger-{key}.prof"));
    std::fs::create_dir_all(out.parent()?).ok()?;
    let f = std::fs::File::create(&out).ok()?;
    eprintln!(
        "profiling the pinger (tid {tid}): {args:?} → {}",
        out.display()
    );
    Command::new(&args[0])
        .args(&args[1..])
        .stdout(f.try_clone().ok()?)
        .stderr(f)
        .spawn()
        .ok()
}

/// Our pinger per round with 3 targets, then with 3 WANs × 2 targets added (`wan_ping` 0 / 1),
/// each beside the bare floor pinging the same hosts, in one run (1 s rounds, 30 rounds counted
/// after a 12 s warm-up).
fn pinger_bench(root: &Path, netns: Option<&str>, bin: &str) -> Value {
    let uci = repo().join("build/uci/bin/uci");
    let set = |v: &str| {
        let c = root.join("etc/config");
        let t = root.join("tmp/.uci");
        for args in [
            vec!["set".to_string(), format!("jammonitor.main.wan_ping={v}")],
            vec!["commit".to_string(), "jammonitor".to_string()],
        ] {
            let _ = Command::new(&uci)
                .arg("-c")
                .arg(&c)
                .arg("-t")
                .arg(&t)
                .args(&args)
                .output();
        }
    };
    let loopback: Vec<std::net::Ipv4Addr> = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    let mut out = serde_json::Map::new();
    for (key, on) in [("targets3", "0"), ("targets3_wans3x2", "1")] {
        set(on);
        for p in ["tmp/jammonitor", "var/run/jammonitor"] {
            let _ = std::fs::remove_dir_all(root.join(p));
        }
        let mut hosts = loopback.clone();
        if on == "1" {
            for i in 0..3 {
                for j in [2, 3] {
                    hosts.push(format!("10.200.{i}.{j}").parse().unwrap());
                }
            }
        }
        let child = spawn(
            netns,
            bin,
            &[
                "--root",
                root.to_str().unwrap(),
                "--foreground",
                "--interval",
                "10",
                "--ping-interval",
                "1",
            ],
        );
        std::thread::sleep(Duration::from_secs(11));
        let s0 = status(root);
        let prof = profiler(child.id(), key);
        let floor = floor_pinger(netns, hosts.clone(), 30);
        if let Some(mut p) = prof {
            unsafe { libc::kill(p.id() as i32, libc::SIGINT) };
            let _ = p.wait();
        }
        // Until the next status write after the floor's 30 rounds.
        let n0 = s0["samples"].as_u64().unwrap_or(0);
        let t0 = Instant::now();
        while status(root)["samples"].as_u64().unwrap_or(0) < n0 + 3
            && t0.elapsed() < Duration::from_secs(40)
        {
            std::thread::sleep(Duration::from_millis(200));
        }
        let s1 = status(root);
        let _ = stop(child);
        let r = s1["ping_rounds"].as_u64().unwrap_or(0) - s0["ping_rounds"].as_u64().unwrap_or(0);
        let us = s1["ping_cpu_us"].as_u64().unwrap_or(0) - s0["ping_cpu_us"].as_u64().unwrap_or(0);
        out.insert(
            key.into(),
            json!({"rounds": r, "ours_us_per_round": us as f64 / r.max(1) as f64, "floor_us_per_round": floor, "hosts": hosts.len()}),
        );
    }
    set("1");
    let get = |k: &str, f: &str| out[k][f].as_f64().unwrap_or(0.0);
    let ratio_ours = get("targets3_wans3x2", "ours_us_per_round")
        / get("targets3", "ours_us_per_round").max(0.001);
    let ratio_floor = get("targets3_wans3x2", "floor_us_per_round")
        / get("targets3", "floor_us_per_round").max(0.001);
    out.insert("ratio_ours".into(), json!(ratio_ours));
    out.insert("ratio_floor".into(), json!(ratio_floor));
    Value::Object(out)
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const IFACES: [&str; 8] = ["lan1", "lan2", "lan3", "wan", "tun0", "cl1", "cl2", "cl3"];

fn simulate(path: &Path, days: i64, retention: Retention, with_clients: bool) -> (Duration, usize) {
    let mut s = Store::open(path).unwrap();
    let now = jammonitor::store::now_epoch() / 60 * 60;
    let start = now - days * 86_400;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let t0 = Instant::now();
    let mut writes = 0;
    let mut ts = start;
    let mut counters = [0u64; 8];
    while ts <= now - 60 {
        let ifaces = IFACES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let rx = rng.below(60_000_000);
                counters[i] += rx;
                IfaceTraffic {
                    iface: n.to_string(),
                    rx,
                    tx: rng.below(6_000_000),
                }
            })
            .collect();
        let clients = if with_clients {
            let first = (ts / 60) as usize % CLIENTS;
            (0..20)
                .map(|k| {
                    let c = (first + k * 7) % CLIENTS;
                    ClientTraffic {
                        key: client_mac(c),
                        mac: Some(client_mac(c)),
                        ip: Some(client_ip(c)),
                        hostname: Some(format!("client-{c}")),
                        rx: rng.below(20_000_000) + 1,
                        tx: rng.below(2_000_000),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let pings = ["internet", "vps", "tunnel"]
            .iter()
            .map(|t| PingMinute {
                ts: ts - 60,
                target: t.to_string(),
                host: "192.0.2.1".into(),
                sent: 20,
                lost: rng.below(2) as u32,
                sum_ms: 20.0 * 15.0,
                min_ms: Some(9.0),
                max_ms: Some(40.0),
            })
            .collect();
        let counter_rows = IFACES
            .iter()
            .enumerate()
            .map(|(i, n)| CounterRow {
                iface: n.to_string(),
                reading: counters::Reading {
                    ifindex: i as u32 + 2,
                    rx: counters[i],
                    tx: 0,
                    boot_ms: ts as u64 * 1000,
                    boot: 1,
                },
                ts,
            })
            .collect();
        let smp = Sample {
            ts,
            offset: 0,
            seconds: 60,
            ifaces,
            clients,
            pings,
            wan_pings: Vec::new(),
            wan_minutes: Vec::new(),
            outages: Vec::new(),
            health: Some(Health {
                cpu_pct: Some(3.2),
                load: Some([0.2, 0.3, 0.4]),
                mem_total_kb: Some(4_000_000),
                mem_used_kb: Some(800_000),
                temp_c: Some(51.0),
                conntrack: Some(5000),
                conntrack_max: Some(131_072),
            }),
            wan_events: Vec::new(),
            counters: counter_rows,
        };
        s.write(&smp).unwrap();
        writes += 1;
        if ts % 3600 == 0 {
            s.sweep(ts, 0, &retention).unwrap();
        }
        ts += 60;
    }
    s.sweep(now, 0, &retention).unwrap();
    s.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    (t0.elapsed(), writes)
}

fn time_it(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    (pct(&mut v.clone(), 0.5), pct(&mut v, 1.0))
}

fn store_bench(dir: &Path) -> Value {
    let db = dir.join("history-30d.db");
    let (took, writes) = simulate(&db, 30, Retention::default(), true);
    let size = std::fs::metadata(&db).unwrap().len();
    let s = Store::open_existing(&db).unwrap();
    let stats = s.stats().unwrap();
    // Bytes per table when this SQLite has the dbstat table (informational).
    let by_table: serde_json::Map<String, Value> = s
        .conn()
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map(|v| v.into_iter().map(|(k, n)| (k, json!(n))).collect())
        .unwrap_or_default();
    let ckpt = dir.join("checkpoint.db");
    let cp_t = Instant::now();
    let cp_size = Store::open(&db).unwrap().checkpoint_to(&ckpt).unwrap();
    let cp_ms = cp_t.elapsed().as_secs_f64() * 1000.0;
    let now = jammonitor::store::now_epoch();
    let off = |_: i64| 0;
    let wans: Vec<String> = IFACES[..3].iter().map(|s| s.to_string()).collect();
    let all: Vec<String> = IFACES.iter().map(|s| s.to_string()).collect();
    let mut queries = serde_json::Map::new();
    for (rname, range) in [
        ("hourly", Range::Hourly),
        ("daily", Range::Daily),
        ("monthly", Range::Monthly),
    ] {
        for (sname, sel) in [("wans3", &wans), ("all8", &all)] {
            let (warm_med, warm_max) = time_it(50, || {
                query::iface_series(s.conn(), range, sel, now, &off).unwrap();
            });
            let (cold_med, cold_max) = time_it(20, || {
                let st = Store::open_existing(&db).unwrap();
                query::iface_series(st.conn(), range, sel, now, &off).unwrap();
            });
            queries.insert(
                format!("{rname}_{sname}"),
                json!({"warm_ms_median": warm_med, "warm_ms_max": warm_max, "with_open_ms_median": cold_med, "with_open_ms_max": cold_max}),
            );
        }
    }
    drop(s);
    // Reference: 30 days of raw minute rows for 8 interfaces, aggregated per day on the fly.
    let raw = dir.join("history-raw-minutes.db");
    let keep_minutes = Retention {
        minute_hours: 720,
        ..Retention::default()
    };
    let (raw_took, _) = simulate(&raw, 30, keep_minutes, false);
    let r = Store::open_existing(&raw).unwrap();
    let raw_rows: i64 = r
        .conn()
        .query_row("SELECT count(*) FROM iface_minute", [], |x| x.get(0))
        .unwrap();
    let (raw_med, raw_max) = time_it(10, || {
        let mut st = r
            .conn()
            .prepare_cached("SELECT date(ts, 'unixepoch'), iface, SUM(rx), SUM(tx) FROM iface_minute WHERE ts >= ?1 GROUP BY 1, 2")
            .unwrap();
        let n = st
            .query_map([now - 30 * 86_400], |_| Ok(()))
            .unwrap()
            .count();
        assert!(n > 0);
    });
    json!({
        "simulated_days": 30,
        "samples_written": writes,
        "write_total_s": took.as_secs_f64(),
        "write_us_per_sample": took.as_secs_f64() * 1e6 / writes as f64,
        "db_bytes": size,
        "checkpoint_bytes": cp_size,
        "checkpoint_ms": cp_ms,
        "rows": stats.rows,
        "bytes_by_table": by_table,
        "queries": queries,
        "raw_minutes_reference": {"rows": raw_rows, "build_s": raw_took.as_secs_f64(),
                                  "daily_from_minutes_ms_median": raw_med, "daily_from_minutes_ms_max": raw_max},
    })
}

/// A private stand-in for the router: namespace `jm-t<pid>-bench` (the `jm-t<pid>` prefix of
/// the tests own namespaces: the rig's teardown leaves it alone) with WAN-like veths lan1..lan3
/// and tun0, a LAN bridge `wan` with ports cl1..cl3 (8 interfaces, like jm-router), their peers
/// in `jm-t<pid>-bpeer`, and pings keeping the counters moving. Removed on drop.
struct BenchNs {
    ns: String,
    peer: String,
    pingers: Vec<std::process::Child>,
}

impl BenchNs {
    fn new() -> BenchNs {
        let id = std::process::id();
        let b = BenchNs {
            ns: format!("jm-t{id}-bench"),
            peer: format!("jm-t{id}-bpeer"),
            pingers: Vec::new(),
        };
        let (ns, peer) = (b.ns.clone(), b.peer.clone());
        for n in [&ns, &peer] {
            sh(&["ip", "netns", "add", n]);
            sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
            sh(&[
                "ip",
                "netns",
                "exec",
                n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]);
        }
        let mut b = b;
        for (i, dev) in ["lan1", "lan2", "lan3", "tun0"].iter().enumerate() {
            let p = format!("p{i}");
            sh(&[
                "ip", "-n", &ns, "link", "add", dev, "type", "veth", "peer", "name", &p, "netns",
                &peer,
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.200.{i}.1/24"),
                "dev",
                dev,
            ]);
            sh(&[
                "ip",
                "-n",
                &peer,
                "addr",
                "add",
                &format!("10.200.{i}.2/24"),
                "dev",
                &p,
            ]);
            sh(&[
                "ip",
                "-n",
                &peer,
                "addr",
                "add",
                &format!("10.200.{i}.3/24"),
                "dev",
                &p,
            ]);
            sh(&["ip", "-n", &ns, "link", "set", dev, "up"]);
            sh(&["ip", "-n", &peer, "link", "set", &p, "up"]);
        }
        sh(&["ip", "-n", &ns, "link", "add", "wan", "type", "bridge"]);
        sh(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            "192.168.100.1/24",
            "dev",
            "wan",
        ]);
        sh(&["ip", "-n", &ns, "link", "set", "wan", "up"]);
        for k in 1..=3 {
            let (cl, c) = (format!("cl{k}"), format!("c{k}"));
            sh(&[
                "ip", "-n", &ns, "link", "add", &cl, "type", "veth", "peer", "name", &c, "netns",
                &peer,
            ]);
            sh(&["ip", "-n", &ns, "link", "set", &cl, "master", "wan"]);
            sh(&["ip", "-n", &ns, "link", "set", &cl, "up"]);
            sh(&["ip", "-n", &peer, "link", "set", &c, "up"]);
        }
        for i in 0..4 {
            b.pingers.push(spawn(
                Some(&peer),
                "ping",
                &[
                    "-q",
                    "-n",
                    "-i",
                    "0.2",
                    "-s",
                    "1200",
                    &format!("10.200.{i}.1"),
                ],
            ));
        }
        b
    }
}

impl Drop for BenchNs {
    fn drop(&mut self) {
        for p in &mut self.pingers {
            let _ = p.kill();
            let _ = p.wait();
        }
        for n in [&self.ns, &self.peer] {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn main() {
    // JM_BENCH_COLLECTOR: another build of the collector (a before/after comparison).
    let bin_env = std::env::var("JM_BENCH_COLLECTOR").ok();
    let bin = bin_env
        .as_deref()
        .unwrap_or(env!("CARGO_BIN_EXE_jammonitor-collector"));
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(185);
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    // Default: a private router-like namespace (other suites may cycle the shared rig, killing
    // whatever runs in jm-router); JM_BENCH_NETNS=jm-router uses the rig, `none` this namespace.
    let mut private = None;
    let netns = match std::env::var("JM_BENCH_NETNS").ok().as_deref() {
        Some("none") => None,
        Some(ns) => Some(ns.to_string()),
        None => {
            let b = BenchNs::new();
            let name = b.ns.clone();
            private = Some(b);
            Some(name)
        }
    };
    let rig_addrs = netns.as_deref() == Some("jm-router");
    // On the router /tmp and /var/run are tmpfs (RAM database, status and live files): work on
    // tmpfs here too, or the figures measure this machine's disk filesystem instead.
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("jm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!(
        "collector bench: binary {bin}, namespace {}",
        netns.as_deref().unwrap_or("(this one)")
    );
    let root = make_root(&dir, rig_addrs);

    // BENCH_PARTS=pinger (or side, sample, store; comma-separated) runs only those parts (a
    // partial run while working on one figure; `make bench` runs all).
    let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "sample,side,pinger,store".into());
    let want = |p: &str| parts.split(',').any(|x| x.trim() == p);
    let a = if want("sample") {
        eprintln!(
            "[1/3] per sample: {samples} samples at 1 s, {CLIENTS} clients, {FLOWS} conntrack entries …"
        );
        per_sample(&root, netns.as_deref(), bin, samples)
    } else {
        Value::Null
    };
    eprintln!("{a}");
    let b = if want("side") {
        eprintln!("[2/3] side by side with vnstatd for {secs} s …");
        side_by_side(&root, netns.as_deref(), bin, secs, &dir)
    } else {
        Value::Null
    };
    eprintln!("{b}");
    let pb = if want("pinger") {
        eprintln!(
            "[3b] pinger per round: 3 targets vs 3 targets + 3 WANs × 2, and the bare floor …"
        );
        pinger_bench(&root, netns.as_deref(), bin)
    } else {
        Value::Null
    };
    eprintln!("{pb}");
    let c = if want("store") {
        eprintln!("[3/3] store: 30 simulated days, queries …");
        store_bench(&dir)
    } else {
        Value::Null
    };
    let _ = std::fs::remove_dir_all(&dir);
    drop(private);

    let worst_query = c["queries"].as_object().map(|q| {
        q.values()
            .map(|q| q["with_open_ms_max"].as_f64().unwrap_or(f64::NAN))
            .fold(0.0, f64::max)
    });
    let budgets = json!({
        "pinger_us_per_round<=100": pb["targets3_wans3x2"]["ours_us_per_round"].as_f64().map(|v| v <= 100.0),
        "sample_cpu_ms<=5": a["sample_cpu_ms_p95"].as_f64().map(|v| v <= 5.0),
        "rss_kb<=4096": a["peak_rss_kb"].as_u64().map(|v| v <= 4096),
        "rss<=vnstatd": b["rss_ratio_ours_over_vnstatd"].as_f64().map(|v| v <= 1.0),
        "query_ms<=20": worst_query.map(|w| w <= 20.0),
    });
    let report = json!({"namespace": netns, "per_sample": a, "side_by_side": b, "pinger": pb, "store": c, "budgets": budgets});
    let out = repo().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("collector.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();

    let f = |v: &Value| {
        v.as_f64()
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "n/a".into())
    };
    if !a.is_null() {
        println!(
            "collector per sample ({} interfaces, {CLIENTS} clients, {FLOWS} conntrack entries, {} samples):",
            a["interfaces"], a["samples"]
        );
        println!(
            "  main-thread CPU/sample   median {} ms, p95 {} ms, max {} ms   (budget 5 ms)",
            f(&a["sample_cpu_ms_median"]),
            f(&a["sample_cpu_ms_p95"]),
            f(&a["sample_cpu_ms_max"])
        );
        println!(
            "  process CPU/sample       {} ms (incl. pinger thread, start-up)",
            f(&a["process_cpu_ms_per_sample"])
        );
        println!(
            "  peak RSS                 {} kB   (budget 4096 kB)",
            a["peak_rss_kb"]
        );
    }
    if !b.is_null() {
        println!(
            "side by side, {} s (minus a 5 s run for start-up), same interfaces:",
            b["window_s"]
        );
        for who in ["ours", "vnstatd"] {
            let w = &b[who];
            println!(
                "  {who:<8} {} ms CPU per hour steady (start-up {} ms), peak RSS {} kB   [{}]",
                f(&w["cpu_ms_per_hour"]),
                f(&w["startup_cpu_ms"]),
                w["peak_rss_kb"],
                w["schedule"].as_str().unwrap_or("")
            );
        }
        println!(
            "  our pinger thread        {} µs CPU per round ({} rounds)",
            f(&b["ours"]["ping_cpu_us_per_round"]),
            b["ours"]["ping_rounds"]
        );
        for who in ["ours", "vnstatd"] {
            let r = &b["rss_breakdown"][who];
            println!(
                "  RSS {who:<8} anon {} kB, file-backed {} kB: {}",
                r["anon_kb"], r["file_kb"], r["by_mapping_kb"]
            );
        }
        println!(
            "  ratio ours/vnstatd       CPU {}×, RSS {}×",
            f(&b["cpu_ratio_ours_over_vnstatd"]),
            f(&b["rss_ratio_ours_over_vnstatd"])
        );
    }
    if !c.is_null() {
        println!(
            "store after 30 simulated days (8 interfaces, 50 clients, 3 ping targets, default retention):"
        );
        println!(
            "  DB {} bytes, flash checkpoint {} bytes ({} ms), {} µs per sample write",
            c["db_bytes"],
            c["checkpoint_bytes"],
            f(&c["checkpoint_ms"]),
            f(&c["write_us_per_sample"])
        );
        for (k, q) in c["queries"].as_object().into_iter().flatten() {
            println!(
                "  query {k:<14} warm median {} ms, with open median {} ms, max {} ms   (budget 20 ms)",
                f(&q["warm_ms_median"]),
                f(&q["with_open_ms_median"]),
                f(&q["with_open_ms_max"])
            );
        }
        println!(
            "  reference: daily totals from 30 d of raw minutes ({} rows): median {} ms",
            c["raw_minutes_reference"]["rows"],
            f(&c["raw_minutes_reference"]["daily_from_minutes_ms_median"])
        );
    }
    if !pb.is_null() {
        println!("pinger per round (thread CPU, same run, 1 s rounds):");
        for k in ["targets3", "targets3_wans3x2"] {
            let v = &pb[k];
            println!(
                "  {k:<18} ours {} µs, bare floor {} µs ({} rounds)",
                f(&v["ours_us_per_round"]),
                f(&v["floor_us_per_round"]),
                v["rounds"]
            );
        }
        println!(
            "  ratio with WANs / 3 targets: ours {}×, floor {}×   (budget: 3 targets ≤ 100 µs)",
            f(&pb["ratio_ours"]),
            f(&pb["ratio_floor"])
        );
    }
    println!("budgets: {budgets}");
    println!("(full results: target/bench/collector.json)");
    bench_lines(&a, &b, &pb, &c);
}

/// The figures in the format benches/run.sh gathers (benches/report/mod.rs); a part left out
/// by BENCH_PARTS prints nothing.
fn bench_lines(a: &Value, b: &Value, pb: &Value, c: &Value) {
    let n = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    report::about(
        "collector",
        "The collector daemon: per-sample CPU and RSS on a router-like namespace (1 s interval), \
         side by side with vnStat's daemon (vnstatd) on the same interfaces in the same window, the \
         pinger's CPU per round (3 targets, then 3 WANs x 2 targets added) against a bare ICMP \
         floor pinging the same hosts, and the store after 30 simulated days.",
    );
    if !b.is_null() {
        let window = format!("{} s window, production schedules", b["window_s"]);
        if b["vnstatd"]["available"].as_bool() == Some(true) {
            report::vs(
                "collector.cpu_per_hour",
                n(&b["ours"]["cpu_ms_per_hour"]),
                "ms/h",
                "vnstatd",
                n(&b["vnstatd"]["cpu_ms_per_hour"]),
                "-",
                &window,
            );
            // Issue 11: peak RSS no more than vnstatd's in the same run.
            let r = &b["rss_breakdown"];
            report::vs(
                "collector.peak_rss",
                n(&b["ours"]["peak_rss_kb"]),
                "kB",
                "vnstatd",
                n(&b["vnstatd"]["peak_rss_kb"]),
                "ratio<=1",
                &format!(
                    "{window}; ours anon {} kB + file-backed {} kB, vnstatd anon {} kB + file-backed {} kB",
                    r["ours"]["anon_kb"],
                    r["ours"]["file_kb"],
                    r["vnstatd"]["anon_kb"],
                    r["vnstatd"]["file_kb"]
                ),
            );
        } else {
            report::abs(
                "collector.cpu_per_hour",
                n(&b["ours"]["cpu_ms_per_hour"]),
                "ms/h",
                "-",
                "vnstatd not installed: no baseline",
            );
        }
    }
    if !a.is_null() {
        report::abs(
            "collector.sample_cpu_p95",
            n(&a["sample_cpu_ms_p95"]),
            "ms",
            "value<=5",
            &format!(
                "main thread per sample, {} clients, {} conntrack entries",
                a["clients"], a["conntrack_entries"]
            ),
        );
        report::abs(
            "collector.peak_rss_1s_samples",
            n(&a["peak_rss_kb"]),
            "kB",
            "-",
            "samples every second (not the production schedule)",
        );
    }
    if !pb.is_null() {
        for k in ["targets3", "targets3_wans3x2"] {
            report::vs(
                &format!("collector.pinger_round_{k}"),
                n(&pb[k]["ours_us_per_round"]),
                "us",
                "bare-icmp-floor",
                n(&pb[k]["floor_us_per_round"]),
                "value<=100",
                &format!(
                    "{} pings per round, {} rounds; floor: one raw socket, sendto/poll/recv only",
                    pb[k]["hosts"], pb[k]["rounds"]
                ),
            );
        }
        // Issue 19: the WANs' pings against today's 3-target pinger, in the same run.
        report::vs(
            "collector.pinger_round_wans3x2_added",
            n(&pb["targets3_wans3x2"]["ours_us_per_round"]),
            "us",
            "pinger-3-targets",
            n(&pb["targets3"]["ours_us_per_round"]),
            "-",
            &format!(
                "the bare floor grows {}x for the same pings",
                report::fmt(n(&pb["ratio_floor"]))
            ),
        );
    }
    if !c.is_null() {
        report::abs(
            "collector.db_bytes_30_days",
            n(&c["db_bytes"]),
            "bytes",
            "-",
            "8 interfaces, 50 clients, 3 ping targets, default retention",
        );
        let reference = n(&c["raw_minutes_reference"]["daily_from_minutes_ms_median"]);
        if let Some(q) = c["queries"].as_object() {
            for (k, q) in q {
                report::vs(
                    &format!("collector.query_{k}"),
                    n(&q["with_open_ms_median"]),
                    "ms",
                    "daily-totals-from-raw-minutes",
                    reference,
                    "value<=20",
                    &format!(
                        "with open; max {} ms",
                        report::fmt(n(&q["with_open_ms_max"]))
                    ),
                );
            }
        }
    }
}
