//! VPS bypass (issue 16) against the real `uci`, a namespace with real kernel MPTCP endpoints,
//! and the init-script doubles (tests/doubles/init-service: they record every call and keep a
//! running/stopped state like procd's; tests/doubles/init-mptcp drives the real `ip mptcp`).
//! Enable: every managed WAN's multipath off, the disable flags set, omr-tracker's hotplug script
//! out of /etc/hotplug.d, the services stopped, network + mptcp + firewall reloaded. Disable:
//! every config byte-identical to before, the script back (same bytes, same mode), the services
//! that ran running again. Kill runs after each step: tests/crash_kill.rs.
mod common;
use common::*;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

const HOTPLUG: &str = "etc/hotplug.d/iface/40-omr-tracker";
const ASIDE: &str = "etc/jammonitor/bypass-aside/40-omr-tracker";

fn bed(tag: &str) -> Bed {
    let bed = Bed::new(tag);
    let root = &bed.root;
    // shadowsocks-libev too (older OMR builds carry both proxies), written with the real uci.
    root.write("etc/config/shadowsocks-libev", "");
    root.uci(&["set", "shadowsocks-libev.sss0=server"]);
    root.uci(&["set", "shadowsocks-libev.sss0.server=203.0.113.10"]);
    root.uci(&["set", "shadowsocks-libev.sss0.server_port=65101"]);
    root.uci(&["commit", "shadowsocks-libev"]);
    std::os::unix::fs::symlink(
        repo().join("tests/doubles/init-service"),
        root.file("etc/init.d/shadowsocks-libev"),
    )
    .unwrap();
    bed
}

impl Bed {
    /// The X-JM-Bypass header of an authorized answer.
    fn header(&self) -> String {
        let r = Req::get("session", &self.rw)
            .in_netns(&self.ns.name)
            .run(&self.root);
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("X-JM-Bypass"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    fn calls(&self) -> String {
        self.root.read("var/run/doubles/calls.log")
    }
    fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.root.file("var/run/doubles/calls.log"));
    }
    fn stopped(&self, svc: &str) -> bool {
        self.root
            .file(&format!("var/run/doubles/stopped/{svc}"))
            .exists()
    }
    fn get_opt(&self, key: &str) -> String {
        self.root.uci(&["-q", "get", key])
    }
    /// Devices with kernel MPTCP endpoints.
    fn endpoint_devs(&self) -> Vec<String> {
        let v: Value =
            serde_json::from_str(&self.ns.ip(&["-j", "mptcp", "endpoint", "show"])).unwrap();
        let mut d: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["dev"].as_str().unwrap().to_string())
            .collect();
        d.sort();
        d
    }
    fn hotplug_state(&self, rel: &str) -> Option<(Vec<u8>, u32)> {
        let p = self.root.file(rel);
        let b = std::fs::read(&p).ok()?;
        Some((
            b,
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
        ))
    }
}

#[test]
fn enable_turns_everything_off_and_disable_restores_every_byte() {
    let b = bed("byp1");
    // glorytun is installed but not running (OMR runs one VPN): it is stopped for good measure
    // but not started again by disable.
    b.root.write("var/run/doubles/stopped/glorytun", "");
    let configs_before = b.root.configs();
    let hotplug_before = b
        .hotplug_state(HOTPLUG)
        .expect("mkroot installs the script");
    assert_eq!(hotplug_before.1, 0o755);
    assert_eq!(
        b.endpoint_devs(),
        ["lan1", "lan2", "lan3"],
        "bonding is on before"
    );
    let st = b.get("bypass");
    assert_eq!(st["active"], false);
    assert_eq!(st["state"], "off");
    assert_eq!(
        st["wan"]["name"], "wan1",
        "the Primary would carry the traffic"
    );
    assert_eq!(st["impact"]["bonding_off"], json!(["wan1", "wan2", "wan3"]));
    assert_eq!(b.header(), "off");
    b.clear_calls();

    let r = b.post("bypass.enable", &json!({"confirm": true}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.data()["wan"]["name"], "wan1");
    assert_eq!(r.data()["wan"]["label"], "Fiber");

    // Every managed WAN's multipath off, in both configs (the Primary included).
    for w in ["wan1", "wan2", "wan3"] {
        assert_eq!(b.get_opt(&format!("network.{w}.multipath")), "off", "{w}");
        assert_eq!(
            b.get_opt(&format!("openmptcprouter.{w}.multipath")),
            "off",
            "{w}"
        );
    }
    // The flags OMR's cron respects.
    assert_eq!(b.get_opt("shadowsocks-rust.sss0.disabled"), "1");
    assert_eq!(b.get_opt("shadowsocks-libev.sss0.disabled"), "1");
    assert_eq!(b.get_opt("openvpn.omr.enabled"), "0");
    assert_eq!(b.get_opt("glorytun.vpn.enable"), "0");
    // Nothing else changed in the configs it does not touch.
    let after = b.root.configs();
    for (name, bytes) in &configs_before {
        if ![
            "network",
            "openmptcprouter",
            "shadowsocks-rust",
            "shadowsocks-libev",
            "openvpn",
        ]
        .contains(&name.as_str())
        {
            assert_eq!(
                Some(bytes),
                after.iter().find(|(n, _)| n == name).map(|(_, b)| b),
                "{name}"
            );
        }
    }
    // The hotplug script is out of /etc/hotplug.d (procd runs every file there), intact.
    assert!(b.hotplug_state(HOTPLUG).is_none(), "hotplug script moved");
    assert_eq!(b.hotplug_state(ASIDE).as_ref(), Some(&hotplug_before));
    assert!(
        std::fs::read_dir(b.root.file("etc/hotplug.d/iface"))
            .unwrap()
            .next()
            .is_none(),
        "no renamed copy left where procd would still run it"
    );
    // Services stopped, the tracker first; network, kernel MPTCP and firewall reloaded.
    let calls = b.calls();
    let order: Vec<&str> = calls
        .lines()
        .filter(|l| l.ends_with(" stop") || l.ends_with(" reload"))
        .collect();
    assert_eq!(
        order,
        [
            "omr-tracker stop",
            "openvpn stop",
            "glorytun stop",
            "shadowsocks-libev stop",
            "shadowsocks-rust stop",
            "network reload",
            "mptcp reload",
            "firewall reload"
        ],
        "{calls}"
    );
    for s in [
        "omr-tracker",
        "openvpn",
        "glorytun",
        "shadowsocks-libev",
        "shadowsocks-rust",
    ] {
        assert!(b.stopped(s), "{s} stopped");
    }
    assert!(
        b.endpoint_devs().is_empty(),
        "no MPTCP endpoint is left: {:?}",
        b.endpoint_devs()
    );
    let st = b.get("bypass");
    assert_eq!(b.header(), "on", "every answer tells the page");
    assert_eq!(st["active"], true);
    assert_eq!(st["state"], "on");
    assert_eq!(st["wan"]["name"], "wan1");
    assert!(st["since"].as_f64().unwrap() > 0.0);
    // WAN Policy is locked: its read says so and every WAN write is refused, changing nothing.
    assert_eq!(b.get("wan")["bypass_active"], true);
    let locked = b.root.configs();
    let r = b.post("wan.roles", &json!({"roles": {"wan2": "master"}}));
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "bypass_active");
    let r = b.post("wan.edit", &json!({"name": "wan2", "mtu": 1400}));
    assert_eq!(r.error_code(), "bypass_active");
    assert!(b.root.configs() == locked, "refused writes changed nothing");
    // A second enable is refused.
    let r = b.post("bypass.enable", &json!({"confirm": true}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "bypass_active"));

    b.clear_calls();
    let r = b.post("bypass.disable", &json!({}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.data()["merged"],
        json!([]),
        "every config restored byte for byte"
    );
    let configs_after = b.root.configs();
    for ((n1, b1), (n2, b2)) in configs_before.iter().zip(&configs_after) {
        assert_eq!(n1, n2);
        assert!(
            b1 == b2,
            "{n1} differs after disable:\n{}\n---\n{}",
            String::from_utf8_lossy(b1),
            String::from_utf8_lossy(b2)
        );
    }
    assert_eq!(configs_before.len(), configs_after.len());
    assert_eq!(
        b.hotplug_state(HOTPLUG),
        Some(hotplug_before),
        "script back"
    );
    assert!(!b.root.file(ASIDE).exists());
    assert!(!b.root.file("etc/jammonitor/bypass.json").exists());
    let calls = b.calls();
    let order: Vec<&str> = calls
        .lines()
        .filter(|l| l.ends_with(" start") || l.ends_with(" reload"))
        .collect();
    assert_eq!(
        order,
        [
            "omr-tracker start",
            "openvpn start",
            "shadowsocks-libev start",
            "shadowsocks-rust start",
            "network reload",
            "mptcp reload",
            "firewall reload"
        ],
        "only what was running is started again: {calls}"
    );
    assert!(b.stopped("glorytun"), "glorytun was not running before");
    assert!(!b.stopped("openvpn"));
    assert_eq!(
        b.endpoint_devs(),
        ["lan1", "lan2", "lan3"],
        "bonding is back"
    );
    let st = b.get("bypass");
    assert_eq!(st["state"], "off");
    assert_eq!(b.get("wan")["bypass_active"], false);
    // WAN writes work again.
    let r = b.post("wan.roles", &json!({"roles": {"wan2": "master"}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// The tracker (or LuCI) changes `openmptcprouter` while the bypass is on: disable undoes only
/// what the bypass set there and keeps the rest; the untouched configs come back byte for byte.
#[test]
fn disable_keeps_changes_made_meanwhile() {
    let b = bed("byp2");
    let before = b.root.configs();
    let r = b.post("bypass.enable", &json!({"confirm": true}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    b.root.uci(&["set", "openmptcprouter.wan1.latency=99"]);
    b.root.uci(&["commit", "openmptcprouter"]);
    let r = b.post("bypass.disable", &json!({}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.data()["merged"], json!(["openmptcprouter"]));
    assert_eq!(b.get_opt("openmptcprouter.wan1.latency"), "99");
    for (w, m) in [("wan1", "master"), ("wan2", "on"), ("wan3", "backup")] {
        assert_eq!(b.get_opt(&format!("openmptcprouter.{w}.multipath")), m);
        assert_eq!(b.get_opt(&format!("network.{w}.multipath")), m);
    }
    let after = b.root.configs();
    for (name, bytes) in &before {
        if name != "openmptcprouter" {
            assert!(
                Some(bytes) == after.iter().find(|(n, _)| n == name).map(|(_, b)| b),
                "{name} byte-identical"
            );
        }
    }
}

#[test]
fn refusals_change_nothing() {
    let b = bed("byp3");
    let before = b.root.configs();
    for (body, field) in [
        (json!({}), "confirm"),
        (json!({"confirm": false}), "confirm"),
        (json!({"confirm": "yes"}), "confirm"),
        (json!({"confirm": true, "wan": "wan2"}), "wan"),
    ] {
        let r = b.post("bypass.enable", &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    let r = b.post("bypass.disable", &json!({}));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "bypass_inactive")
    );
    let r = b.post("bypass.disable", &json!({"now": true}));
    assert_eq!(r.json()["error"]["field"], "now");
    // A read-only session may read the state but not change it.
    let ro = b.root.session(true, false);
    let r = Req::post("bypass.enable", &ro, r#"{"confirm":true}"#)
        .in_netns(&b.ns.name)
        .run(&b.root);
    assert_eq!((r.status, r.error_code().as_str()), (403, "auth_readonly"));
    let r = Req::get("bypass", &ro).in_netns(&b.ns.name).run(&b.root);
    assert_eq!(r.status, 200);
    assert!(b.root.configs() == before, "nothing changed by any refusal");
    // No Primary WAN: nothing would carry the traffic.
    b.root.uci(&["set", "network.wan1.multipath=on"]);
    b.root.uci(&["commit", "network"]);
    let mid = b.root.configs();
    let r = b.post("bypass.enable", &json!({"confirm": true}));
    assert_eq!((r.status, r.error_code().as_str()), (409, "no_primary"));
    assert!(b.root.configs() == mid);
    assert!(b.calls().lines().all(|l| !l.ends_with(" stop")));
    assert!(b.root.file(HOTPLUG).exists());
}

/// Applying fails (network reload): the configs are rolled back byte for byte, the tracker's
/// script is back and the stopped services run again, and the answer says what happened.
#[test]
fn failed_apply_rolls_back_completely() {
    let b = bed("byp4");
    let before = b.root.configs();
    let hotplug = b.hotplug_state(HOTPLUG);
    b.root.write("var/run/doubles/fail", "network\n");
    let r = b.post("bypass.enable", &json!({"confirm": true}));
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.error_code(), "apply_failed");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("injected failure"), "{msg}");
    assert!(b.root.configs() == before, "configs rolled back");
    assert_eq!(b.hotplug_state(HOTPLUG), hotplug);
    for s in ["omr-tracker", "openvpn", "shadowsocks-rust"] {
        assert!(!b.stopped(s), "{s} runs again");
    }
    assert!(!b.root.file("etc/jammonitor/bypass.json").exists());
    assert!(
        std::fs::read_dir(b.root.file("etc/jammonitor/journal"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );
    assert_eq!(b.get("bypass")["state"], "off");
}

/// A record that cannot be read still counts as on: WAN writes stay refused, the state read
/// answers (the banner shows) and says what is wrong, and disable refuses rather than guess.
#[test]
fn an_unreadable_record_is_on_and_reported() {
    let b = bed("byp5");
    b.root.write("etc/jammonitor/bypass.json", "{}\n");
    let st = b.get("bypass");
    assert_eq!(st["active"], true);
    assert_eq!(st["state"], "on");
    assert!(st["error"].as_str().unwrap().contains("unreadable"), "{st}");
    assert_eq!(b.header(), "on");
    let r = b.post("wan.roles", &json!({"roles": {"wan2": "master"}}));
    assert_eq!(r.error_code(), "bypass_active");
    let before = b.root.configs();
    let r = b.post("bypass.disable", &json!({}));
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.body));
    assert!(b.root.configs() == before);
    assert!(b.root.file("etc/jammonitor/bypass.json").exists());
    // Off with a network config that cannot be parsed: the state still answers (no Primary to
    // name), and enabling refuses naming the file.
    std::fs::remove_file(b.root.file("etc/jammonitor/bypass.json")).unwrap();
    b.root
        .write("etc/config/network", "> config interface 'wan1'\n");
    let r = Req::get("bypass", &b.rw).in_netns(&b.ns.name).run(&b.root);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.data()["state"], "off");
    assert_eq!(r.data()["wan"], Value::Null);
    let r = b.post("bypass.enable", &json!({"confirm": true}));
    assert_eq!(r.error_code(), "config_unparseable");
}
