//! `make bench`: the `clients` CGI with 250 clients (leases + neighbours + 30 days of per-client
//! history) and 20,000 conntrack entries, process start to exit. Reports the median wall time
//! and the child processes (strace), against baselines measured in the same run on the same
//! files:
//! - the predecessor's `clients` endpoint commands (leases, ARP, `conntrack -L | head -500`,
//!   each through /bin/sh as its popen did; the conntrack table is read from the same file the
//!   kernel would print) — it returned raw text and left the parsing to the browser;
//! - the same files reduced to per-client byte sums with standard tools (awk over the 20,000
//!   lines), i.e. what the page needs computed the shell way.
//!
//! Also: the collector's one conntrack pass (`FlowTracker::pass`, in-process) over the same
//! 20,000 entries for 250 clients — where the per-client bytes come from (the CGI reads them
//! from SQLite, it never walks conntrack).
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "report/mod.rs"]
mod report;

use common::*;
use jammonitor::store::{ClientTraffic, Sample, Store};
use jammonitor::system::conntrack;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 200;
const CLIENTS: usize = 250;
const FLOWS: usize = 20_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// CPU time (user + system) used so far by waited-for children: what a run costs the router,
/// whatever else this (shared, loaded) machine is doing. Wall time is reported too.
fn children_cpu() -> Duration {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    let tv =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(u.user_time()) + tv(u.system_time())
}

/// (median wall, median CPU) of `runs` runs of `f`, each starting processes and waiting for them.
fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..5 {
        f();
    }
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t, c) = (Instant::now(), children_cpu());
        f();
        wall.push(t.elapsed());
        cpu.push(children_cpu().saturating_sub(c));
    }
    (median(wall), median(cpu))
}

fn ip(i: usize) -> String {
    format!("192.168.{}.{}", 100 + i / 200, 10 + i % 200)
}
fn mac(i: usize) -> String {
    format!("3c:22:fb:00:{:02x}:{:02x}", i / 256, i % 256)
}

fn cgi(root: &TestRoot, sid: &str, prefix: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_jammonitor");
    let mut c = Command::new(prefix.first().copied().unwrap_or(bin));
    c.args(prefix.iter().skip(1))
        .args(if prefix.is_empty() { vec![] } else { vec![bin] });
    c.env_clear()
        .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
        .env("JAMMONITOR_ROOT", &root.path)
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/api/clients")
        .env("QUERY_STRING", "")
        .env("HTTP_AUTHORIZATION", format!("Bearer {sid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::path::Path::new("/tmp/jmc/lap").exists() {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    c
}

fn main() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    let now = jammonitor::store::now_epoch();
    // A /23 LAN so 250 clients fit.
    root.uci(&["set", "network.lan.netmask=255.255.254.0"]);
    root.uci(&["commit", "network"]);
    let mut leases = String::new();
    let mut arp = String::from(
        "IP address       HW type     Flags       HW address            Mask     Device\n",
    );
    for i in 0..CLIENTS {
        leases.push_str(&format!(
            "{} {} {} host-{i} *\n",
            now + 40_000,
            mac(i),
            ip(i)
        ));
        arp.push_str(&format!(
            "{:<16} 0x1         0x2         {}     *        wan\n",
            ip(i),
            mac(i)
        ));
    }
    root.write("tmp/dhcp.leases", &leases);
    root.write("proc/net/arp", &arp);
    let mut ct = String::new();
    for n in 0..FLOWS {
        let c = n % CLIENTS;
        ct.push_str(&format!(
            "ipv4     2 tcp      6 431999 ESTABLISHED src={} dst=203.0.113.{} sport={} dport=443 packets=10 bytes={} src=203.0.113.{} dst=10.1.1.2 sport=443 dport={} packets=20 bytes={} [ASSURED] mark=0 zone=0 use=2\n",
            ip(c), n % 250 + 1, 10_000 + n / CLIENTS, 1000 + n, n % 250 + 1, 10_000 + n / CLIENTS, 30_000 + n
        ));
    }
    root.write("proc/net/nf_conntrack", &ct);
    // 30 days of history for every client, plus the current minute.
    let mut st = Store::open(&root.file("tmp/jammonitor/history.db")).unwrap();
    let traffic = |k: u64| -> Vec<ClientTraffic> {
        (0..CLIENTS)
            .map(|i| ClientTraffic {
                key: mac(i),
                mac: Some(mac(i)),
                ip: Some(ip(i)),
                hostname: Some(format!("host-{i}")),
                rx: 1_000_000 + k * i as u64,
                tx: 100_000 + k,
            })
            .collect()
    };
    for d in (1..30).rev() {
        st.write(&Sample {
            ts: now - d * 86_400,
            offset: 0,
            seconds: 60,
            clients: traffic(d as u64),
            ..Sample::default()
        })
        .unwrap();
    }
    st.write(&Sample {
        ts: now - 1,
        offset: 0,
        seconds: 60,
        clients: traffic(0),
        ..Sample::default()
    })
    .unwrap();
    drop(st);

    let out = cgi(&root, &sid, &[])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Status: 200"), "clients failed: {text}");
    let body: serde_json::Value =
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    // + the printer reservation of the fixture config
    assert_eq!(
        body["data"]["clients"].as_array().unwrap().len(),
        CLIENTS + 1,
        "every client listed"
    );
    assert!(
        body["data"]["clients"][0]["rate"].is_object(),
        "rates from history"
    );

    let cgi_t = time(RUNS, || {
        cgi(&root, &sid, &[]).status().unwrap();
    });
    // The floor of any action: the same CGI answering `session` (start, auth, exit).
    let floor_t = time(RUNS, || {
        cgi(&root, &sid, &[])
            .env("PATH_INFO", "/api/session")
            .status()
            .unwrap();
    });
    let sh = |script: &str| {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .env_clear()
            .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
            .env("R", &root.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
    };
    // The predecessor's `clients`: three popens (leases, ARP, conntrack -L | head -500), raw text.
    let pred_t = time(50, || {
        sh("cat \"$R/tmp/dhcp.leases\"");
        sh("cat \"$R/proc/net/arp\"");
        sh("timeout 1 cat \"$R/proc/net/nf_conntrack\" | head -500");
    });
    // Standard tools computing per-client sums from the same files (what the page shows).
    let awk_t = time(20, || {
        sh(
            "cat \"$R/tmp/dhcp.leases\" >/dev/null; cat \"$R/proc/net/arp\" >/dev/null; \
            awk '{s=\"\"; n=0; for(i=1;i<=NF;i++){ if($i ~ /^src=/ && s==\"\") s=substr($i,5); if($i ~ /^bytes=/){ n++; v=substr($i,7); if(n==1) tx[s]+=v; else rx[s]+=v } } } END { for (k in tx) print k, rx[k], tx[k] }' \"$R/proc/net/nf_conntrack\"",
        );
    });
    // The collector's pass over the same table (in-process).
    let map = conntrack::client_map(&jammonitor::system::Root::new(&root.path), &["lan1".into()]);
    assert_eq!(map.clients.len(), CLIENTS);
    let mut tracker = conntrack::FlowTracker::new();
    let pass_t = median(
        (0..50)
            .map(|_| {
                let t = Instant::now();
                let (b, s) = tracker.pass(&mut ct.as_bytes(), &map);
                assert_eq!((s.client_flows, b.len()), (FLOWS, CLIENTS));
                t.elapsed()
            })
            .collect(),
    );

    if let Some(t) = std::env::var_os("JM_BENCH_TRACE") {
        // Debug aid: a full syscall trace with relative times of one run.
        cgi(
            &root,
            &sid,
            &["strace", "-f", "-r", "-o", t.to_str().unwrap()],
        )
        .status()
        .unwrap();
    }
    let trace =
        std::env::temp_dir().join(format!("jm-bench-clients-strace-{}", std::process::id()));
    let st = cgi(
        &root,
        &sid,
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=execve",
            "-o",
            trace.to_str().unwrap(),
        ],
    )
    .status()
    .unwrap();
    assert!(st.success());
    let execs = std::fs::read_to_string(&trace).unwrap();
    let _ = std::fs::remove_file(&trace);
    let children: Vec<String> = execs
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("= -1"))
        .skip(1)
        .map(|l| l.split('"').nth(1).unwrap_or("?").to_string())
        .collect();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "clients CGI, {CLIENTS} clients, {FLOWS} conntrack entries, 30 days of history (median of {RUNS} runs; \
         CPU = user+system of the process and its children, wall = start to exit on this shared machine)"
    );
    let line = |what: &str, (w, c): (Duration, Duration), base: Option<(Duration, Duration)>| {
        let ratio = base
            .map(|(_, bc)| format!("   cpu ratio = {:.2}", ms(cgi_t.1) / ms(bc)))
            .unwrap_or_default();
        println!(
            "  {what:<30} cpu {:7.2} ms  wall {:7.2} ms{ratio}",
            ms(c),
            ms(w)
        );
    };
    line("jammonitor clients", cgi_t, None);
    line("floor: `session` action", floor_t, Some(floor_t));
    line("predecessor's clients cmds", pred_t, Some(pred_t));
    line("same files, shell + awk sums", awk_t, Some(awk_t));
    println!(
        "  clients above the floor: cpu {:.2} ms; child processes: {} {:?} (the session check)",
        ms(cgi_t.1) - ms(floor_t.1),
        children.len(),
        children
    );
    println!(
        "  predecessor's commands: 3 shells + cat, cat, timeout, cat, head; raw text only, parsed in the browser"
    );
    println!(
        "  collector conntrack pass       {:7.2} ms in-process, 0 children ({FLOWS} lines, once a minute)",
        ms(pass_t)
    );
    report::about(
        "cgi_clients",
        &format!(
            "The clients CGI with {CLIENTS} clients, {FLOWS} conntrack entries and 30 days of \
             per-client history, CPU (user+system, process and children) per run, against the \
             predecessor's commands and a shell+awk computation of the same sums on the same files."
        ),
    );
    report::vs(
        "cgi_clients.cpu_vs_predecessor",
        ms(cgi_t.1),
        "ms",
        "predecessor-clients-commands",
        ms(pred_t.1),
        "-",
        "the predecessor returned raw text and parsed it in the browser",
    );
    report::vs(
        "cgi_clients.cpu_vs_shell_awk",
        ms(cgi_t.1),
        "ms",
        "shell-awk-sums-same-files",
        ms(awk_t.1),
        "ratio<=1",
        "",
    );
    report::vs(
        "cgi_clients.cpu_vs_session_floor",
        ms(cgi_t.1),
        "ms",
        "session-action-floor",
        ms(floor_t.1),
        "-",
        "",
    );
    report::vs(
        "cgi_clients.wall_vs_predecessor",
        ms(cgi_t.0),
        "ms",
        "predecessor-clients-commands",
        ms(pred_t.0),
        "-",
        "wall time on this shared machine",
    );
    report::vs(
        "cgi_clients.collector_conntrack_pass",
        ms(pass_t),
        "ms",
        "shell-awk-sums-same-files",
        ms(awk_t.0),
        "-",
        &format!("in-process, {FLOWS} lines, once a minute"),
    );
    report::abs(
        "cgi_clients.child_processes",
        children.len() as f64,
        "count",
        "value<=1",
        "the session check (ubus call session access)",
    );
    // The one child is the session check every request makes (`ubus call session access`).
    assert!(
        children.len() <= 1 && children.iter().all(|c| c.ends_with("/bin/ubus")),
        "budget: no child process besides the session check (no Wi-Fi, no Tailscale here)"
    );
}
