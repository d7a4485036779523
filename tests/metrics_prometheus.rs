//! A real Prometheus (Debian's `prometheus` package) scrapes `GET metrics` in the simulated
//! router (tests/rig; run under the rig lock) and its HTTP API must find every metric family with
//! sane values. The path is the production one: Prometheus → uhttpd (OpenWrt's flags, the CGI
//! exec'd with its wiped environment) → the CGI, authorized by the scrape token that Prometheus'
//! `authorization` option sends as `Authorization: Bearer`. uhttpd, the CGI, the collector and
//! Prometheus all run inside jm-router and talk over its loopback; the WANs, the tunnel's MPTCP
//! subflows, the pings and a LAN client's traffic are the rig's real ones. This machine has no
//! thermal sensor, so a one-zone fixture is bound over /sys/class/thermal for uhttpd's CGI only.
//! Every Grafana expression (docs/grafana/jammonitor.json) is evaluated by this Prometheus too.
mod collector_util;
mod common;

use collector_util::*;
use common::metrics::FAMILIES;
use common::uhttpd::{self, Uhttpd, in_netns};
use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROUTER: &str = "jm-router";
const TOKEN: &str = "9c2f4e61a0b84d7fb3e5c1d2a6f80e4b7d19c3a5e2f6b8d0c4a7e1f3b5d9c2a6";
const C1: (&str, &str) = ("jm-c1", "02:00:00:00:01:0a");

struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(dir: &std::path::Path, target_port: u16) -> Prometheus {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("token"), TOKEN).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: jammonitor\n    metrics_path: /cgi-bin/jammonitor/api/metrics\n\
             \x20   scheme: http\n    authorization:\n      type: Bearer\n      credentials_file: {}\n\
             \x20   static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n",
            dir.join("token").display()
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let port = in_netns(ROUTER, uhttpd::free_port);
        let child = Command::new("ip")
            .args(["netns", "exec", ROUTER, "/usr/bin/prometheus"])
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus (tests/bed/install-deps.sh installs Debian's package)");
        let p = Prometheus { child, port };
        let t = Instant::now();
        // Ready (200 on /-/ready) once its storage is open; 503 before.
        while in_netns(ROUTER, move || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
                || uhttpd::get(port, "/-/ready", None).status != 200
        }) {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "prometheus did not start: {}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    /// An instant PromQL query through the HTTP API: the result vector (status must be success).
    fn query(&self, q: &str) -> Vec<Value> {
        let port = self.port;
        let path = format!("/api/v1/query?query={}", encode(q));
        let r = in_netns(ROUTER, move || uhttpd::get(port, &path, None));
        let j = r.json();
        assert_eq!(j["status"], "success", "{q}: {j}");
        j["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    fn values(&self, q: &str) -> Vec<f64> {
        self.query(q)
            .iter()
            .map(|s| {
                s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_real_prometheus_scrapes_every_family_through_uhttpd_with_the_token() {
    assert!(is_root(), "needs root for the rig's network namespaces");
    let _rig = Rig::up();
    let root = TestRoot::new(true);
    // Rig addresses only: the internet target and the VPS live on jm-vps.
    let _ = root.uci(&["-q", "delete", "jammonitor.main.ping_target"]);
    root.uci(&["add_list", "jammonitor.main.ping_target=internet=1.1.1.1"]);
    root.uci(&["add_list", "jammonitor.main.ping_target=vps=203.0.113.10"]);
    // The history in the root's var/run, which uhttpd's CGI sees at /var/run (the test root
    // itself lives under /tmp, so /tmp cannot be bound).
    root.uci(&[
        "set",
        "jammonitor.main.ram_path=/var/run/jammonitor/history.db",
    ]);
    root.uci(&["set", "jammonitor.metrics=metrics"]);
    root.uci(&["set", &format!("jammonitor.metrics.token={TOKEN}")]);
    root.uci(&["set", "jammonitor.metrics.clients=1"]);
    root.uci(&["commit", "jammonitor"]);
    root.write(
        "tmp/dhcp.leases",
        &sh(&[repo().join("tests/rig/rig.sh").to_str().unwrap(), "leases"]),
    );
    let thermal = root.file("fixture/thermal");
    std::fs::create_dir_all(thermal.join("thermal_zone0")).unwrap();
    std::fs::write(thermal.join("thermal_zone0/type"), "cpu-thermal\n").unwrap();
    std::fs::write(thermal.join("thermal_zone0/temp"), "52300\n").unwrap();

    let _c = Collector::start_in(
        Some(ROUTER),
        &root.path,
        &["--interval", "2", "--ping-interval", "1"],
    );
    wait_status(&root, 20, "first sample", |s| samples(s) >= 1);
    // A LAN client downloads through the router's NAT: conntrack carries its bytes.
    let got = sh(&[
        "ip",
        "netns",
        "exec",
        C1.0,
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{size_download}",
        "--max-time",
        "30",
        "http://10.1.1.1/__down?bytes=2000000",
    ]);
    assert_eq!(got, "2000000");
    let n = samples(&status(&root));
    wait_status(&root, 20, "a sample after the download", |s| {
        samples(s) >= n + 2
    });

    let port = in_netns(ROUTER, uhttpd::free_port);
    let _u = Uhttpd::start_with(
        &root,
        port,
        Some(ROUTER),
        &[(thermal.clone(), "/sys/class/thermal")],
    );
    let dir = root.file("prometheus");
    let prom = Prometheus::start(&dir, port);

    // Scrapes succeed and every family has at least one series.
    let t = Instant::now();
    let missing = loop {
        let up = prom.values("up{job=\"jammonitor\"}");
        let missing: Vec<&str> = FAMILIES
            .iter()
            .copied()
            .filter(|f| prom.query(f).is_empty())
            .collect();
        if up == [1.0] && missing.is_empty() {
            break missing;
        }
        if t.elapsed() > Duration::from_secs(60) {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        prom.values("up{job=\"jammonitor\"}"),
        [1.0],
        "scrape failing: {:?}",
        prom.query("up")
    );
    assert!(
        missing.is_empty(),
        "families Prometheus never saw: {missing:?}"
    );
    // the scrape itself: samples ingested, well under a second
    assert!(prom.values("scrape_samples_scraped")[0] > 60.0);
    assert!(prom.values("scrape_duration_seconds")[0] < 1.0);

    // Sane values.
    let v = |q: &str| prom.values(q);
    let all = |q: &str, ok: &dyn Fn(f64) -> bool| {
        let xs = v(q);
        assert!(!xs.is_empty() && xs.iter().all(|x| ok(*x)), "{q}: {xs:?}");
    };
    assert_eq!(v("jammonitor_build_info"), [1.0]);
    assert_eq!(
        v("count(jammonitor_wan_up == 1)"),
        [3.0],
        "the rig's three WANs are up"
    );
    assert_eq!(
        v("jammonitor_wan_role{wan=\"wan1\",role=\"master\"}"),
        [1.0]
    );
    all("sum by (wan) (jammonitor_wan_role)", &|x| x == 1.0);
    all("jammonitor_wan_latency_seconds", &|x| x > 0.0 && x < 10.0);
    all("jammonitor_wan_tracker_age_seconds", &|x| x >= 0.0);
    all("jammonitor_wan_receive_bytes_total", &|x| x > 0.0);
    all("jammonitor_wan_transmit_bytes_total", &|x| x > 0.0);
    all("jammonitor_wan_loss_ratio", &|x| (0.0..=1.0).contains(&x));
    all("jammonitor_wan_rtt_seconds", &|x| x > 0.0 && x < 1.0);
    assert_eq!(v("jammonitor_tunnel_up"), [1.0]);
    all("jammonitor_tunnel_uptime_seconds", &|x| x >= 0.0);
    all("jammonitor_mptcp_subflows", &|x| x >= 1.0);
    all("jammonitor_mptcp_connections", &|x| x >= 1.0);
    assert_eq!(v("jammonitor_mptcp_subflows_limit"), [8.0]);
    assert_eq!(v("sum(jammonitor_mptcp_endpoints)"), [3.0]);
    all("jammonitor_ping_rtt_seconds{target=\"internet\"}", &|x| {
        x > 0.0 && x < 1.0
    });
    all("jammonitor_ping_loss_ratio", &|x| (0.0..=1.0).contains(&x));
    all("jammonitor_load1", &|x| x >= 0.0);
    all(
        "jammonitor_memory_available_bytes / jammonitor_memory_total_bytes",
        &|x| x > 0.0 && x <= 1.0,
    );
    assert_eq!(
        v("jammonitor_temperature_celsius{device=\"thermal_zone0\",label=\"cpu-thermal\"}"),
        [52.3]
    );
    all("jammonitor_conntrack_entries", &|x| x >= 1.0);
    all("jammonitor_conntrack_max", &|x| x > 0.0);
    all("jammonitor_uptime_seconds", &|x| x > 0.0);
    assert_eq!(v("jammonitor_collector_up"), [1.0]);
    all("jammonitor_collector_last_sample_age_seconds", &|x| {
        (0.0..10.0).contains(&x)
    });
    all("jammonitor_database_size_bytes", &|x| x > 4096.0);
    all(
        &format!(
            "jammonitor_client_receive_bytes_total{{client=\"{}\"}}",
            C1.1
        ),
        &|x| x >= 2_000_000.0,
    );
    all("jammonitor_client_transmit_bytes_total", &|x| x >= 0.0);

    // Every Grafana expression is valid PromQL for this Prometheus and has data (rates need a few
    // scrapes: wait for 3).
    let t = Instant::now();
    while prom
        .values("count_over_time(up{job=\"jammonitor\"}[1m])")
        .first()
        .is_none_or(|n| *n < 3.0)
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "fewer than 3 scrapes in 30 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/grafana/jammonitor.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| match x {
                Value::String(s) if k == "expr" => out.push(s.clone()),
                x => walk(x, out),
            }),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&dash, &mut exprs);
    assert!(exprs.len() >= 15);
    for e in &exprs {
        let q = e
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*");
        assert!(
            !prom.query(&q).is_empty(),
            "dashboard expression without data: {q} (scrapes: {:?} {:?})",
            prom.values("up{job=\"jammonitor\"}"),
            prom.query("count_over_time(up[1m])")
        );
    }
}
