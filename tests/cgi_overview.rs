//! `overview` checked field by field against the fixture root (configs written by the real uci,
//! fixture /proc and /sys) and against a live namespace built here (real `ip`, real MPTCP).
mod common;
use common::*;
use serde_json::Value;

fn approx(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 0.051, "got {got}, want {want}");
}

#[test]
fn overview_matches_fixture_root_and_namespace() {
    let root = TestRoot::new(false);
    root.write("etc/TZ", "UTC0\n");
    let ns = mini_router("ov");
    ns.ip(&["link", "set", "lan3", "down"]);
    let sid = root.session(true, false);

    let r = Req::get("overview", &sid).in_netns(&ns.name).run(&root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let d = r.data();
    let sys = &d["system"];

    // /proc/stat busy = user+nice+system+irq+softirq+steal = 13500 of 94000 since boot.
    assert_eq!(sys["cpu_basis"], "since_boot");
    approx(&sys["cpu_pct"], 14.4);
    assert_eq!(sys["load"], serde_json::json!([0.42, 0.37, 0.30]));
    assert_eq!(sys["mem"]["total_kb"], 4030000);
    assert_eq!(sys["mem"]["available_kb"], 3224000);
    assert_eq!(sys["mem"]["used_kb"], 806000);
    approx(&sys["mem"]["used_pct"], 20.0);
    assert_eq!(sys["thermal"][0]["type"], "cpu-thermal");
    approx(&sys["thermal"][0]["temp_c"], 52.3);
    assert_eq!(sys["thermal"][1]["zone"], "thermal_zone1");
    assert_eq!(
        sys["conntrack"],
        serde_json::json!({"count": 1234, "max": 131072})
    );
    approx(&sys["uptime_s"], 86400.55);
    let now = d["generated_at"].as_f64().unwrap();
    assert!((sys["boot_time"].as_f64().unwrap() - (now - 86400.55)).abs() <= 1.0);
    let expect_time = jammonitor::system::clock::local_time("UTC0", now as i64).unwrap();
    assert_eq!(sys["local_time"], expect_time.as_str());

    // The second call measures between the two samples: +100 busy, +300 idle = 25 %.
    root.write("proc/stat", "cpu  10100 200 3000 80300 500 100 200 0 0 0\n");
    let d2 = Req::get("overview", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    assert_eq!(d2["system"]["cpu_basis"], "delta");
    approx(&d2["system"]["cpu_pct"], 25.0);

    // Tunnel and VPS.
    let t = &d["tunnel"];
    assert_eq!(
        (
            t["device"].as_str(),
            t["exists"].as_bool(),
            t["up"].as_bool()
        ),
        (Some("tun0"), Some(true), Some(true))
    );
    assert_eq!(t["address"], "10.255.255.2");
    assert_eq!(t["peer"], "10.255.255.1");
    assert_eq!(d["vps"]["address"], "203.0.113.10");
    assert!(
        d["vps"]["source"]
            .as_str()
            .unwrap()
            .starts_with("openmptcprouter.")
    );

    // WANs: config from uci, state from the namespace, tracker values from openmptcprouter.
    let wans = d["wans"].as_array().unwrap();
    let names: Vec<&str> = wans.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["wan1", "wan2", "wan3"]);
    let w1 = &wans[0];
    assert_eq!(w1["label"], "Fiber");
    assert_eq!(w1["device"], "lan1");
    assert_eq!(w1["role"], "master");
    assert_eq!(w1["up"], true);
    assert_eq!(w1["ipv4"], "10.1.1.2");
    assert_eq!(w1["prefix"], 24);
    assert_eq!(w1["gateway"], "10.1.1.1");
    assert_eq!(w1["public_ip"], "198.51.100.11");
    assert_eq!(w1["asn"], "EXAMPLE-FIBER");
    assert_eq!(w1["latency_ms"], 12);
    assert_eq!(w1["mptcp_status"], "MPTCP enabled");
    let age = w1["tracker_age_s"].as_i64().unwrap();
    assert!((42..120).contains(&age), "tracker age {age}");
    assert_eq!(wans[1]["role"], "on");
    assert_eq!(wans[2]["role"], "backup");
    assert_eq!(wans[2]["up"], false, "lan3 was taken down");
    assert_eq!(wans[2]["gateway"], "10.3.3.1");

    // MPTCP endpoints and limits as the kernel has them.
    let eps = d["mptcp"]["endpoints"].as_array().unwrap();
    let kernel: Value = serde_json::from_str(&ns.ip(&["-j", "mptcp", "endpoint", "show"])).unwrap();
    assert_eq!(eps.len(), kernel.as_array().unwrap().len());
    assert_eq!(eps.len(), 3);
    for (ours, k) in eps.iter().zip(kernel.as_array().unwrap()) {
        assert_eq!(
            (&ours["id"], &ours["address"], &ours["dev"]),
            (&k["id"], &k["address"], &k["dev"])
        );
    }
    assert_eq!(eps[2]["dev"], "lan3");
    assert!(
        eps[2]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("backup"))
    );
    assert_eq!(d["mptcp"]["limits"]["subflows"], 8);
    assert_eq!(d["mptcp"]["limits"]["add_addr_accepted"], 8);
    assert_eq!(d["mptcp"]["connections"], 0);

    // Counters come from the fixture /proc/net/dev, full 64-bit.
    let c = &d["counters"]["interfaces"];
    assert_eq!(c["lan1"]["rx_bytes"], 123456789012u64);
    assert_eq!(c["tun0"]["rx_bytes"], 18446744073709551000u64);
    assert!(c.get("lo").is_none());
    assert!(d["counters"]["ts_ms"].as_u64().unwrap() >= (now * 1000.0) as u64 - 1);
    assert!(d["pings"].is_null());
}

#[test]
fn overview_on_a_live_root_matches_the_kernel() {
    let root = TestRoot::new(true);
    let ns = mini_router("ovl");
    let sid = root.session(true, false);
    // Real MPTCP traffic in the namespace: a server and a client connection on lan1's address.
    let script = r#"
import socket, time, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.1.1.2", 5001)); s.listen(4)
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
c.connect(("10.1.1.2", 5001)); a, _ = s.accept()
c.sendall(b"x" * 10000); a.recv(100000)
print("ready", flush=True); sys.stdin.readline()
"#;
    let mut py = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(py.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    std::thread::sleep(std::time::Duration::from_millis(800));

    let tx_before = ns.link_stat("lan1", "tx", "bytes");
    let d = Req::get("overview", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    let tx_after = ns.link_stat("lan1", "tx", "bytes");
    let ss = ns.exec(&["ss", "-Mni", "state", "established"]);
    let _ = py.kill();
    let _ = py.wait();
    let sockets = ss
        .lines()
        .filter(|l| l.starts_with("ESTAB") || l.contains(":5001"))
        .count();
    let subflows: u64 = ss
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("subflows:"))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    assert_eq!(d["mptcp"]["connections"], sockets as u64, "ss saw:\n{ss}");
    assert_eq!(
        d["mptcp"]["subflows_active"],
        subflows + sockets as u64,
        "ss saw:\n{ss}"
    );
    assert!(sockets >= 2);

    // Memory and uptime from the real /proc.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total: u64 = meminfo
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(d["system"]["mem"]["total_kb"], total);
    // Counters: the namespace's lan1, not the host's.
    assert_counter_between(
        &d["counters"]["interfaces"]["lan1"]["tx_bytes"],
        tx_before,
        tx_after,
        "lan1 tx_bytes",
    );
}
