//! WAN writes and reads on configurations shaped like real OMR users' (issue 12), and the two
//! write findings of issue 11 (4: MTU device section, 8: gateway on the network/broadcast
//! address). Real `uci`, real kernel links and MPTCP endpoints in a test namespace; netifd and
//! the mptcp init script are the doubles of tests/doubles.
mod common;
use common::*;
use serde_json::{Value, json};
use std::process::Command;

fn bed(tag: &str) -> Bed {
    Bed::new(tag)
}

impl Bed {
    /// `uci batch` + commit on the test root (the way an OMR user's config came to be).
    fn batch(&self, script: &str) {
        let mut cmd = Command::new(repo().join("build/uci/bin/uci"));
        cmd.arg("-c")
            .arg(self.root.file("etc/config"))
            .arg("-t")
            .arg(self.root.file("tmp/.uci"))
            .arg("batch")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            format!("{script}\ncommit\n").as_bytes(),
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "uci batch: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fn uci_get(&self, key: &str) -> Option<String> {
        let out = Command::new(repo().join("build/uci/bin/uci"))
            .arg("-c")
            .arg(self.root.file("etc/config"))
            .arg("-t")
            .arg(self.root.file("tmp/.uci"))
            .args(["-q", "get", key])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// sha256 of every file in `dir` (name → hex), by the real sha256sum.
fn sha256_dir(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let out = Command::new("sha256sum").arg(&p).output().unwrap();
            let hex = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            (p.file_name().unwrap().to_string_lossy().into_owned(), hex)
        })
        .collect();
    v.sort();
    v
}

/// The sha256 of every config after applying `script` with the real uci to a copy of the
/// configs as they are now: what the configs must be if only the intended options changed.
fn expected_after(b: &Bed, script: &str) -> Vec<(String, String)> {
    let copy = b.root.file("tmp/expected-configs");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(copy.join("config")).unwrap();
    std::fs::create_dir_all(copy.join("save")).unwrap();
    for e in std::fs::read_dir(b.root.file("etc/config")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join("config").join(e.file_name())).unwrap();
    }
    let mut child = Command::new(repo().join("build/uci/bin/uci"))
        .arg("-c")
        .arg(copy.join("config"))
        .arg("-t")
        .arg(copy.join("save"))
        .arg("batch")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{script}\ncommit\n").as_bytes(),
    )
    .unwrap();
    child.wait().unwrap();
    let v = sha256_dir(&copy.join("config"));
    std::fs::remove_dir_all(&copy).unwrap();
    v
}

fn configs_sha(b: &Bed) -> Vec<(String, String)> {
    sha256_dir(&b.root.file("etc/config"))
}

fn wan_names(d: &Value) -> Vec<(String, String)> {
    d["wans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().to_string(),
                w["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_string()
}

/// ATT/ATT6 as posted in Ysurac/openmptcprouter#2687: an IPv4/IPv6 pair on one VLAN device,
/// names that do not look like WANs, both bonded. Here ATT6 reaches the device through an
/// `@ATT` alias, and OMR's openmptcprouter section exists for both (as OMR creates it).
fn add_att_pair(b: &Bed) {
    b.ns.veth("eth0.4");
    b.ns.ip(&["addr", "add", "10.4.4.2/24", "dev", "eth0.4"]);
    b.ns.ip(&["link", "set", "eth0.4", "up"]);
    b.batch(
        "set network.ATT=interface\n\
         set network.ATT.proto='dhcp'\n\
         set network.ATT.device='eth0.4'\n\
         set network.ATT.label='ATT'\n\
         set network.ATT.multipath='on'\n\
         set network.ATT6=interface\n\
         set network.ATT6.proto='dhcpv6'\n\
         set network.ATT6.device='@ATT'\n\
         set network.ATT6.label='ATT6'\n\
         set network.ATT6.multipath='on'\n\
         set openmptcprouter.ATT=interface\n\
         set openmptcprouter.ATT.multipath='on'\n\
         set openmptcprouter.ATT6=interface\n\
         set openmptcprouter.ATT6.multipath='on'",
    );
}

#[test]
fn disabling_and_re_enabling_att6_round_trips_byte_for_byte() {
    let b = bed("att6");
    add_att_pair(&b);
    let before = configs_sha(&b);
    let d = b.get("wan");
    assert_eq!(
        wan_names(&d),
        [
            (s("wan1"), s("master")),
            (s("wan2"), s("on")),
            (s("wan3"), s("backup")),
            (s("ATT"), s("on")),
            (s("ATT6"), s("on"))
        ]
    );
    let att6 = &d["wans"][4];
    assert_eq!(
        att6["device"], "eth0.4",
        "the @ATT alias resolves to ATT's device"
    );

    let r = b.post("wan.roles", &json!({"roles": {"ATT6": "off"}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(b.uci_get("network.ATT6.multipath").as_deref(), Some("off"));
    assert_eq!(b.uci_get("network.ATT6.disabled").as_deref(), Some("1"));
    assert_eq!(
        b.uci_get("jammonitor.main.wan_kept").as_deref(),
        Some("ATT6")
    );
    // Still on the page, in Disabled, and still writable.
    let d = b.get("wan");
    let w = d["wans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "ATT6")
        .expect("a disabled ATT6 stays listed")
        .clone();
    assert_eq!(
        (w["role"].clone(), w["disabled"].clone()),
        (json!("off"), json!(true))
    );
    let o = b.get("overview");
    assert!(
        o["wans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "ATT6" && w["role"] == "off")
    );

    let r = b.post("wan.roles", &json!({"roles": {"ATT6": "on"}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        configs_sha(&b),
        before,
        "configs differ after the round trip"
    );
    assert!(
        b.root
            .read("var/run/doubles/calls.log")
            .contains("ifup ATT6")
    );
}

#[test]
fn wan0_and_lan2_in_upper_case_are_classified_by_the_model() {
    let b = bed("case");
    b.batch(
        "set network.WAN0=interface\n\
         set network.WAN0.proto='static'\n\
         set network.WAN0.device='lan3'\n\
         set network.WAN0.multipath='off'\n\
         set network.LAN2=interface\n\
         set network.LAN2.proto='static'\n\
         set network.LAN2.ifname='wan'\n\
         set network.LAN2.multipath='on'",
    );
    let names: Vec<String> = wan_names(&b.get("wan")).into_iter().map(|x| x.0).collect();
    assert_eq!(names, ["wan1", "wan2", "wan3", "WAN0"]);
    // The system-interface guard protects LAN2 whatever its case.
    let before = configs_sha(&b);
    let r = b.post("wan.roles", &json!({"roles": {"LAN2": "off"}}));
    assert_eq!(
        (r.status, r.json()["error"]["field"].clone()),
        (400, json!("roles.LAN2"))
    );
    let r = b.post("wan.managed", &json!({"wans": ["wan1", "LAN2"]}));
    assert_eq!(r.json()["error"]["field"], "wans[1]");
    assert_eq!(configs_sha(&b), before);
}

#[test]
fn finding_4_mtu_edit_never_renames_foreign_device_section() {
    // (a) `wan2_dev` belongs to another device: lan2 has no device section of its own.
    let b = bed("f4a");
    b.batch("set network.wan2_dev.name='lan9'");
    let want = expected_after(
        &b,
        "set network.wan2_dev2=device\nset network.wan2_dev2.name='lan2'\nset network.wan2_dev2.mtu='1400'",
    );
    let r = b.post("wan.edit", &json!({"name": "wan2", "mtu": 1400}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        configs_sha(&b),
        want,
        "only the new device section may appear"
    );
    assert_eq!(b.uci_get("network.wan2_dev.name").as_deref(), Some("lan9"));
    assert!(b.ns.ip(&["link", "show", "lan2"]).contains("mtu 1400"));

    // (b) `wan2_dev` is an interface section.
    let b = bed("f4b");
    b.batch(
        "delete network.wan2_dev\nset network.wan2_dev=interface\nset network.wan2_dev.proto='none'",
    );
    let want = expected_after(
        &b,
        "set network.wan2_dev2=device\nset network.wan2_dev2.name='lan2'\nset network.wan2_dev2.mtu='1360'",
    );
    let r = b.post("wan.edit", &json!({"name": "wan2", "mtu": 1360}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(configs_sha(&b), want);
    assert_eq!(b.uci_get("network.wan2_dev").as_deref(), Some("interface"));

    // (c) the device's own section has another name: it is found by `name` and edited in place.
    let b = bed("f4c");
    b.batch(
        "delete network.wan3_dev\nset network.modem_port=device\nset network.modem_port.name='lan3'",
    );
    let want = expected_after(&b, "set network.modem_port.mtu='1280'");
    let r = b.post("wan.edit", &json!({"name": "wan3", "mtu": 1280}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(configs_sha(&b), want);
}

#[test]
fn finding_8_gateway_on_network_or_broadcast_address_is_refused() {
    let b = bed("f8");
    let before = configs_sha(&b);
    for (gw, mask) in [
        ("10.2.2.0", "255.255.255.0"),
        ("10.2.2.255", "255.255.255.0"),
        ("10.2.0.0", "255.255.0.0"),
        ("10.2.2.7", "255.255.255.248"),
    ] {
        let r = b.post(
            "wan.edit",
            &json!({"name": "wan2", "proto": "static", "ipaddr": "10.2.2.3", "netmask": mask, "gateway": gw}),
        );
        assert_eq!(r.status, 400, "{gw}/{mask}");
        assert_eq!(r.json()["error"]["field"], "gateway", "{gw}/{mask}");
    }
    assert_eq!(configs_sha(&b), before);
    // A /31 has no network or broadcast address: both ends are usable.
    let r = b.post(
        "wan.edit",
        &json!({"name": "wan2", "proto": "static", "ipaddr": "10.2.2.0", "netmask": "255.255.255.254", "gateway": "10.2.2.1"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn advanced_with_ecf_and_bbr2_current_changes_only_what_is_sent() {
    let b = bed("advp");
    b.batch("set network.globals.mptcp_scheduler='ecf'\nset network.globals.congestion='bbr2'");
    let d = b.get("wan");
    let ch = &d["choices"]["mptcp"];
    for (k, v) in [("scheduler", "ecf"), ("congestion", "bbr2")] {
        assert!(
            ch[k].as_array().unwrap().contains(&json!(v)),
            "the current {k} {v} is offered: {ch}"
        );
    }
    // What the kernel offers (this test kernel's list when it has one, else the documented
    // list), plus the current value.
    let kernel = std::fs::read_to_string("/proc/sys/net/mptcp/available_schedulers").ok();
    let mut want: Vec<Value> = match &kernel {
        Some(k) => k.split_whitespace().map(|w| json!(w)).collect(),
        None => ["default", "blest", "ecf", "redundant"]
            .iter()
            .map(|w| json!(w))
            .collect(),
    };
    if !want.contains(&json!("ecf")) {
        want.push(json!("ecf"));
    }
    for w in &want {
        assert!(
            ch["scheduler"].as_array().unwrap().contains(w),
            "{w} in {ch}"
        );
    }
    assert_eq!(
        ch["sources"]["scheduler"],
        if kernel.is_some() {
            "kernel"
        } else {
            "documented"
        }
    );
    let cc =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap();
    for w in cc.split_whitespace() {
        assert!(ch["congestion"].as_array().unwrap().contains(&json!(w)));
    }
    let network_before = b.root.read("etc/config/network");
    let r = b.post("wan.advanced", &json!({"failover": {"timeout": 3}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["data"]["changed"], json!(["failover.timeout"]));
    assert_eq!(
        b.uci_get("omr-tracker.defaults.timeout").as_deref(),
        Some("3")
    );
    assert_eq!(
        b.uci_get("omr-tracker.defaults.tries").as_deref(),
        Some("2")
    );
    assert_eq!(b.root.read("etc/config/network"), network_before);
    let calls = b.root.read("var/run/doubles/calls.log");
    assert!(
        !calls.contains("mptcp reload"),
        "a timeout does not reload MPTCP: {calls}"
    );

    let before = configs_sha(&b);
    let r = b.post("wan.advanced", &json!({"mptcp": {"scheduler": "warp9"}}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "mptcp.scheduler");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ecf")
    );
    assert_eq!(configs_sha(&b), before);
    // The current value stays valid: sending it back is accepted.
    let r = b.post(
        "wan.advanced",
        &json!({"mptcp": {"congestion": "bbr2", "subflows": 4}}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        b.uci_get("network.globals.congestion").as_deref(),
        Some("bbr2")
    );
    assert_eq!(
        b.uci_get("network.globals.mptcp_scheduler").as_deref(),
        Some("ecf")
    );
}

#[test]
fn a_network_config_with_a_parse_error_gives_the_same_error_everywhere() {
    let b = bed("parse");
    // A paste from an issue: every line prefixed with "> ".
    let good = b.root.read("etc/config/network");
    let pasted: String = good.lines().map(|l| format!("> {l}\n")).collect();
    b.root.write("etc/config/network", &pasted);
    let mut seen: Vec<Value> = Vec::new();
    for (action, block) in [
        ("wan", "wans"),
        ("overview", "wans"),
        ("interfaces", "interfaces"),
        ("bandwidth?range=realtime", "wans"),
        ("bandwidth?range=hourly", "wans"),
    ] {
        let (name, query) = action.split_once('?').unwrap_or((action, ""));
        let mut req = Req::get(name, &b.rw).in_netns(&b.ns.name);
        req.query = query.to_string();
        let r = req.run(&b.root);
        assert_eq!(
            r.status,
            200,
            "{action}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let d = r.data();
        let e = d["errors"][block].clone();
        assert_eq!(e["file"], "/etc/config/network", "{action}: {d}");
        assert_eq!(e["line"], 1, "{action}");
        assert_eq!(e["code"], "config_unparseable");
        seen.push(e);
        match name {
            "overview" => {
                assert!(d["wans"].is_null());
                assert!(
                    d["system"]["mem"].is_object(),
                    "system health still answered"
                );
                assert!(d["counters"]["interfaces"].is_object());
                assert_eq!(d["tunnel"]["device"], "tun0");
            }
            "interfaces" => {
                assert!(!d["interfaces"].as_array().unwrap().is_empty());
                assert!(!d["routes"].as_array().unwrap().is_empty());
            }
            "wan" => {
                assert!(d["wans"].is_null() && d["eligible"].is_null());
                assert!(
                    d["advanced"]["failover"].is_object(),
                    "omr-tracker still read"
                );
            }
            _ => {
                assert!(d["sums"].is_null(), "no total without the WAN list: {d}");
            }
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    // A write refuses with the same message and changes nothing.
    let before = configs_sha(&b);
    let r = b.post("wan.roles", &json!({"roles": {"wan2": "master"}}));
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "config_unparseable");
    assert_eq!(r.json()["error"]["message"], seen[0]["message"]);
    assert_eq!(configs_sha(&b), before);
}
