//! netifd's answers make the Overview truer (tunnel uptime, a modem WAN's real device), asked
//! over the native ubus client of the CGI and the collector. netifd cannot run here: the root's
//! real ubusd carries the fixture server's `network.interface` objects (tests/fixtures/ubus/netifd,
//! shape of netifd's interface_dump_status()).
mod common;
use common::*;
use jammonitor::store::ifaces;
use jammonitor::system::Root;
use serde_json::{Value, json};

const MODEM_SYSFS: &str = "/sys/devices/platform/soc/11200000.usb/usb1/1-1";

/// Adds `wan4`, a modemmanager WAN configured by its sysfs path, to the root's config, and
/// netifd's view of it (up on `wwan0`) to the fixtures' dump.
fn add_modem_wan(root: &TestRoot, up: bool) {
    root.uci(&["set", "network.wan4=interface"]);
    root.uci(&["set", &format!("network.wan4.device={MODEM_SYSFS}")]);
    root.uci(&["set", "network.wan4.proto=modemmanager"]);
    root.uci(&["set", "network.wan4.multipath=on"]);
    root.uci(&["set", "network.wan4.label=LTE"]);
    root.uci(&["commit", "network"]);
    let dump = root.file(".bed/ubus/network.interface/dump.json");
    let mut d: Value = serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    let mut st = json!({"interface": "wan4", "up": up, "pending": false, "available": true,
        "autostart": true, "dynamic": false, "proto": "modemmanager", "metric": 6,
        "ipv4-address": [], "route": [], "data": {}});
    if up {
        st["uptime"] = json!(1800);
        st["l3_device"] = json!("wwan0");
        st["ipv4-address"] = json!([{"address": "10.64.64.64", "mask": 32}]);
    }
    d["interface"].as_array_mut().unwrap().push(st);
    std::fs::write(&dump, d.to_string()).unwrap();
}

fn wan<'a>(d: &'a Value, name: &str) -> &'a Value {
    d["wans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {d}"))
}

#[test]
fn tunnel_uptime_comes_from_netifd() {
    let root = TestRoot::new(false);
    let sid = root.session(true, false);
    let d = Req::get("overview", &sid).run(&root).data();
    assert_eq!(d["tunnel"]["uptime_s"], 7260, "{}", d["tunnel"]);
    // netifd has omrvpn down: no uptime
    let f = root.file(".bed/ubus/network.interface/dump.json");
    let text = std::fs::read_to_string(&f).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for i in v["interface"].as_array_mut().unwrap() {
        if i["interface"] == "omrvpn" {
            i["up"] = json!(false);
            i.as_object_mut().unwrap().remove("uptime");
            i.as_object_mut().unwrap().remove("l3_device");
        }
    }
    std::fs::write(&f, v.to_string()).unwrap();
    let d = Req::get("overview", &sid).run(&root).data();
    assert_eq!(d["tunnel"]["uptime_s"], Value::Null);
    // no netifd on the bus (the fixture server stopped): the rest of the answer stands
    std::fs::remove_dir_all(root.file(".bed/ubus/network.interface")).unwrap();
    root.restart_fixtures();
    let d = Req::get("overview", &sid).run(&root).data();
    assert_eq!(d["tunnel"]["uptime_s"], Value::Null);
    assert_eq!(d["tunnel"]["device"], "tun0");
}

#[test]
fn a_modem_wan_shows_and_counts_its_real_device() {
    let root = TestRoot::new(true);
    let ns = mini_router("l3");
    // the modem's netdev, as ModemManager brings it up
    ns.veth("wwan0");
    ns.ip(&["addr", "add", "10.64.64.64/32", "dev", "wwan0"]);
    ns.ip(&["link", "set", "wwan0", "up"]);
    add_modem_wan(&root, true);
    let sid = root.session(true, false);

    let r = Req::get("overview", &sid).in_netns(&ns.name).run(&root);
    let d = r.data();
    let w = wan(&d, "wan4");
    assert_eq!(w["device"], "wwan0", "{w}");
    assert_eq!(w["config_device"], MODEM_SYSFS);
    assert_eq!(w["up"], true);
    assert_eq!(w["ipv4"], "10.64.64.64");
    assert_eq!(w["label"], "LTE");
    assert!(
        d["counters"]["interfaces"]["wwan0"]["rx_bytes"].is_u64(),
        "{}",
        d["counters"]
    );
    // the ordinary WANs keep their configured devices
    assert_eq!(wan(&d, "wan1")["device"], "lan1");

    // what the collector and the bandwidth totals count: wwan0 for wan4
    let devs = ifaces::wan_devices(&Root::new(&root.path));
    let w4 = devs.iter().find(|w| w.name == "wan4").unwrap();
    assert_eq!(w4.device.as_deref(), Some("wwan0"));
    assert_eq!(
        devs.iter()
            .find(|w| w.name == "wan1")
            .unwrap()
            .device
            .as_deref(),
        Some("lan1")
    );
}

#[test]
fn a_modem_wan_that_is_down_has_no_device_and_is_down() {
    let root = TestRoot::new(true);
    let ns = mini_router("l3d");
    add_modem_wan(&root, false);
    let sid = root.session(true, false);
    let d = Req::get("overview", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    let w = wan(&d, "wan4");
    assert_eq!(w["device"], Value::Null, "{w}");
    assert_eq!(w["up"], false);
    let devs = ifaces::wan_devices(&Root::new(&root.path));
    assert_eq!(
        devs.iter().find(|w| w.name == "wan4").unwrap().device,
        None,
        "nothing to count while down"
    );
}
