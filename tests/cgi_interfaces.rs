//! `interfaces` against a namespace built here and the fixture configs (grouping by UCI).
mod common;
use common::*;
use serde_json::Value;

#[test]
fn interfaces_grouped_with_addresses_stats_and_routes() {
    let root = TestRoot::new(true);
    let ns = mini_router("if");
    ns.veth("eth9");
    let sid = root.session(true, false);
    let d = Req::get("interfaces", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    let ifs = d["interfaces"].as_array().unwrap();
    let get = |n: &str| {
        ifs.iter()
            .find(|i| i["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing"))
            .clone()
    };

    let lan1 = get("lan1");
    assert_eq!(lan1["group"], "wan");
    assert_eq!(lan1["uci"], "wan1");
    assert_eq!(lan1["label"], "Fiber");
    assert_eq!(lan1["up"], true);
    assert_eq!(lan1["addresses"][0]["address"], "10.1.1.2");
    assert_eq!(lan1["addresses"][0]["prefix"], 24);
    let kernel: Value = serde_json::from_str(&ns.ip(&["-j", "link", "show", "lan1"])).unwrap();
    assert_eq!(lan1["mac"], kernel[0]["address"]);
    assert_eq!(lan1["mtu"], kernel[0]["mtu"]);
    // The LAN bridge is named `wan` on BPI-R4 OMR: grouping follows UCI, not the name.
    assert_eq!(get("wan")["group"], "lan");
    assert_eq!(get("wan")["uci"], "lan");
    let tun = get("tun0");
    assert_eq!(tun["group"], "vpn");
    assert_eq!(tun["addresses"][0]["peer"], "10.255.255.1");
    assert_eq!(get("eth9")["group"], "other");
    // A port of the LAN bridge is LAN too.
    ns.ip(&["link", "set", "eth9", "master", "wan"]);
    let d2 = Req::get("interfaces", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    let eth9 = d2["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth9")
        .unwrap()
        .clone();
    assert_eq!(
        (eth9["group"].as_str(), eth9["master"].as_str()),
        (Some("lan"), Some("wan"))
    );
    assert_eq!(get("eth9")["up"], false);
    assert!(ifs.iter().all(|i| i["name"] != "lo"));
    assert_eq!(get("p-lan1")["group"], "other");

    // Counters are the namespace's own (the bridge just gained a port, so it is sending).
    let before = ns.link_stat("wan", "tx", "packets");
    let d3 = Req::get("interfaces", &sid)
        .in_netns(&ns.name)
        .run(&root)
        .data();
    let after = ns.link_stat("wan", "tx", "packets");
    let wan = d3["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "wan")
        .unwrap()
        .clone();
    assert_counter_between(&wan["stats"]["tx_packets"], before, after, "wan tx_packets");

    // Routes of every table, main and the per-WAN ones.
    let routes = d["routes"].as_array().unwrap();
    let has = |table: &str, gw: &str, dev: &str| {
        routes.iter().any(|r| {
            r["table"] == table && r["dst"] == "default" && r["gateway"] == gw && r["dev"] == dev
        })
    };
    assert!(has("main", "10.1.1.1", "lan1"));
    assert!(has("3", "10.1.1.1", "lan1"));
    assert!(has("5", "10.3.3.1", "lan3"));
    let main_metric = routes
        .iter()
        .find(|r| r["table"] == "main" && r["dev"] == "lan2" && r["dst"] == "default")
        .unwrap();
    assert_eq!(main_metric["metric"], 4);
}
