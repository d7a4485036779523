//! Clients and Wi-Fi through the real CGI binary on a fixture root: the client list from leases,
//! ARP, odhcpd, reservations and the collector's history; custom names/types; DHCP reservations
//! written with the real `uci` (refusals leave every config byte-identical); Tailscale through
//! its double (secrets never reach the answer); local radios from ubus fixtures; the remote AP
//! list. No network namespace: the fixture root's /proc/net/arp stands in for the neighbours.
mod common;
use common::*;
use jammonitor::store::{ClientTraffic, Sample, Store, period};
use serde_json::{Value, json};

struct Bed {
    root: TestRoot,
    rw: String,
    ro: String,
}

const ARP: &str = "IP address       HW type     Flags       HW address            Mask     Device\n\
192.168.100.10   0x1         0x2         02:00:00:00:01:0a     *        wan\n\
192.168.100.50   0x1         0x2         dc:a6:32:12:34:56     *        wan\n\
192.168.100.60   0x1         0x0         00:00:00:00:00:00     *        wan\n\
10.1.1.1         0x1         0x2         02:00:00:00:00:21     *        lan1\n";

const ODHCPD: &str = "# wan 00010001aabbccdd020000000 10a 1 laptop 1999999999 2a 128 fd42:7a3b:19c4::2a/128 \n\
# wan 0003000102000000010a 1 laptop 1999999999 2b 128 fd42:7a3b:19c4::2b/128 \n";

fn bed() -> Bed {
    let root = TestRoot::new(false);
    root.write("proc/net/arp", ARP);
    root.write("tmp/hosts/odhcpd", ODHCPD);
    let rw = root.session(true, true);
    let ro = root.session(true, false);
    Bed { root, rw, ro }
}

impl Bed {
    fn get(&self, action: &str, query: &str) -> Value {
        let mut r = Req::get(action, &self.rw);
        r.query = query.into();
        r.run(&self.root).data()
    }
    fn post(&self, action: &str, body: Value) -> Resp {
        Req::post(action, &self.rw, &body.to_string()).run(&self.root)
    }
    fn client<'a>(list: &'a Value, mac: &str) -> &'a Value {
        list["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["mac"] == mac)
            .unwrap_or_else(|| panic!("no client {mac} in {list}"))
    }
    fn doubles_calls(&self) -> String {
        self.root.read("var/run/doubles/calls.log")
    }
}

fn field(r: &Resp) -> String {
    r.json()["error"]["field"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn client_list_joins_every_source() {
    let b = bed();
    let d = b.get("clients", "");
    assert_eq!(d["subnets"][0]["cidr"], "192.168.100.0/24");
    assert_eq!(d["subnets"][0]["name"], "lan");
    let list = d["clients"].as_array().unwrap();
    // 3 leases + 1 ARP-only (.50); the incomplete entry and the WAN gateway are not clients.
    let macs: Vec<&str> = list.iter().map(|c| c["mac"].as_str().unwrap()).collect();
    assert_eq!(
        macs,
        [
            "02:00:00:00:01:0a",
            "02:00:00:00:01:0b",
            "02:00:00:00:01:0c",
            "dc:a6:32:12:34:56"
        ],
        "sorted by IPv4"
    );
    let laptop = Bed::client(&d, "02:00:00:00:01:0a");
    assert_eq!(laptop["hostname"], "laptop");
    assert_eq!(laptop["type"], "laptop");
    assert_eq!(laptop["type_source"], "hostname");
    assert_eq!(laptop["private_mac"], true);
    assert_eq!(laptop["online"], true);
    assert_eq!(laptop["source"], "lan");
    assert_eq!(laptop["subnet"], "lan");
    assert_eq!(
        laptop["ipv6"],
        json!(["fd42:7a3b:19c4::2b"]),
        "DUID-LL joins the IPv6 lease"
    );
    assert!(laptop["lease_expires"].as_i64().unwrap() > 1_700_000_000);
    // The attacker-chosen hostname comes back as data, unchanged (the page escapes it).
    let evil = Bed::client(&d, "02:00:00:00:01:0b");
    assert_eq!(evil["hostname"], "<svg/onload=alert(1)>&amp;\"x'");
    assert_eq!(evil["online"], false);
    let printer = Bed::client(&d, "02:00:00:00:01:0c");
    assert_eq!(printer["reservation"]["ip"], "192.168.100.12");
    assert_eq!(printer["reservation"]["name"], "printer");
    assert_eq!(printer["display_name"], "printer");
    let pi = Bed::client(&d, "dc:a6:32:12:34:56");
    assert_eq!(pi["vendor"], "Raspberry Pi");
    assert_eq!(pi["type"], "iot");
    assert_eq!(pi["type_source"], "vendor");
    assert_eq!(pi["ipv4"], "192.168.100.50");
    assert_eq!(pi["lease_expires"], Value::Null);
    assert_eq!(d["tailscale"], Value::Null, "no tailscale binary: no block");
    assert_eq!(d["history"]["available"], false);
    assert_eq!(laptop["rate"], Value::Null);
    assert_eq!(d["offload"]["counters_incomplete"], false);
    assert!(d["types"].as_array().unwrap().len() >= 20);

    // Hardware flow offloading: the page must say the counters are incomplete.
    b.root
        .uci(&["set", "firewall.@defaults[0].flow_offloading_hw=1"]);
    b.root.uci(&["commit", "firewall"]);
    let d = b.get("clients", "");
    assert_eq!(d["offload"]["hardware"], true);
    assert_eq!(d["offload"]["counters_incomplete"], true);
}

fn sample(ts: i64, seconds: u32, clients: &[(&str, &str, u64, u64)]) -> Sample {
    Sample {
        ts,
        offset: 0,
        seconds,
        clients: clients
            .iter()
            .map(|(mac, ip, rx, tx)| ClientTraffic {
                key: mac.to_string(),
                mac: Some(mac.to_string()),
                ip: Some(ip.to_string()),
                hostname: None,
                rx: *rx,
                tx: *tx,
            })
            .collect(),
        ..Sample::default()
    }
}

#[test]
fn totals_rates_and_history_from_the_collector_tiers() {
    let b = bed();
    let db = b.root.file("tmp/jammonitor/history.db");
    let mut st = Store::open(&db).unwrap();
    let now = jammonitor::store::now_epoch();
    let minute = now - now.rem_euclid(60);
    // Three days ago (in the 30-day total, not today's), then the current minute: 40 s
    // covering 4 MB down / 0.4 MB up for the laptop.
    st.write(&sample(
        now - 3 * 86_400,
        60,
        &[("02:00:00:00:01:0a", "192.168.100.10", 7_000_000, 1_000_000)],
    ))
    .unwrap();
    let ts = if now - minute >= 1 { now - 1 } else { now };
    st.write(&sample(
        ts,
        40,
        &[
            ("02:00:00:00:01:0a", "192.168.100.10", 4_000_000, 400_000),
            // A client that has left: still listed, offline, with its bytes.
            ("3c:22:fb:00:00:aa", "192.168.100.77", 1000, 2000),
        ],
    ))
    .unwrap();
    drop(st);
    let d = b.get("clients", "");
    assert_eq!(d["history"]["available"], true);
    let laptop = Bed::client(&d, "02:00:00:00:01:0a");
    assert_eq!(laptop["today"], json!({"rx": 4_000_000, "tx": 400_000}));
    assert_eq!(laptop["days30"], json!({"rx": 11_000_000, "tx": 1_400_000}));
    let same_month = period::buckets(now - 3 * 86_400, 0).month == period::buckets(now, 0).month;
    assert_eq!(
        laptop["month"]["rx"],
        if same_month { 11_000_000 } else { 4_000_000 }
    );
    assert_eq!(laptop["rate"], json!({"rx": 100_000.0, "tx": 10_000.0}));
    assert!(laptop["first_seen"].as_i64().unwrap() <= now - 3 * 86_400);
    let gone = Bed::client(&d, "3c:22:fb:00:00:aa");
    assert_eq!(gone["online"], false);
    assert_eq!(gone["vendor"], "Apple");
    assert_eq!(gone["today"], json!({"rx": 1000, "tx": 2000}));
    assert_eq!(gone["ipv4"], "192.168.100.77");
    let pi = Bed::client(&d, "dc:a6:32:12:34:56");
    assert_eq!(
        pi["rate"],
        json!({"rx": 0.0, "tx": 0.0}),
        "fresh history: 0, not unknown"
    );

    let h = b.get("clients.history", "mac=02:00:00:00:01:0A&range=daily");
    let buckets = h["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 30);
    assert_eq!(buckets[29]["rx"], 4_000_000);
    assert_eq!(buckets[26]["rx"], 7_000_000);
    assert_eq!(h["totals"], json!({"rx": 11_000_000, "tx": 1_400_000}));
    let h = b.get("clients.history", "mac=02:00:00:00:01:0a&range=hourly");
    assert_eq!(h["buckets"].as_array().unwrap().len(), 24);
    assert_eq!(h["totals"]["rx"], 4_000_000);
    let h = b.get("clients.history", "mac=02:00:00:00:01:0a&range=monthly");
    assert_eq!(h["totals"]["rx"], 11_000_000);
    let h = b.get("clients.history", "mac=02:00:00:00:09:09&range=daily");
    assert_eq!(h["known"], Value::Null);
    assert_eq!(h["totals"], json!({"rx": 0, "tx": 0}));
    for bad in [
        "mac=zz",
        "range=daily",
        "mac=02:00:00:00:01:0a&range=yearly",
        "mac=01:00:5e:00:00:01",
    ] {
        let mut r = Req::get("clients.history", &b.rw);
        r.query = bad.into();
        assert_eq!(r.run(&b.root).status, 400, "{bad}");
    }
}

#[test]
fn custom_names_and_types() {
    let b = bed();
    let file = "etc/jammonitor_clients.json";
    let r = b.post(
        "clients.meta",
        json!({"mac": "02:00:00:00:01:0B", "name": "Ben's phone <b>", "type": "phone"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let saved: Value = serde_json::from_str(&b.root.read(file)).unwrap();
    assert_eq!(
        saved,
        json!({"02:00:00:00:01:0b": {"alias": "Ben's phone <b>", "type": "phone"}})
    );
    let d = b.get("clients", "");
    let c = Bed::client(&d, "02:00:00:00:01:0b");
    assert_eq!(c["name"], "Ben's phone <b>");
    assert_eq!(c["display_name"], "Ben's phone <b>");
    assert_eq!(c["type"], "phone");
    assert_eq!(c["type_custom"], true);
    // Type back to automatic, name kept.
    assert_eq!(
        b.post(
            "clients.meta",
            json!({"mac": "02:00:00:00:01:0b", "type": null})
        )
        .status,
        200
    );
    let saved: Value = serde_json::from_str(&b.root.read(file)).unwrap();
    assert_eq!(
        saved,
        json!({"02:00:00:00:01:0b": {"alias": "Ben's phone <b>"}})
    );

    let before = b.root.read(file);
    for (body, f) in [
        (
            json!({"mac": "02:00:00:00:01:0b", "type": "toaster"}),
            "type",
        ),
        (
            json!({"mac": "02:00:00:00:01:0b", "name": "x".repeat(65)}),
            "name",
        ),
        (
            json!({"mac": "02:00:00:00:01:0b", "name": "a\u{7}b"}),
            "name",
        ),
        (
            json!({"mac": "02:00:00:00:01:0b", "name": "a\u{202e}b"}),
            "name",
        ),
        (json!({"mac": "not-a-mac", "name": "x"}), "mac"),
        (json!({"mac": "01:00:5e:00:00:01", "name": "x"}), "mac"),
        (json!({"mac": "02:00:00:00:01:0b", "name": 5}), "name"),
        (json!({"mac": "02:00:00:00:01:0b", "alias": "x"}), "alias"),
    ] {
        let r = b.post("clients.meta", body.clone());
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(field(&r), f, "{body}");
        assert_eq!(
            b.root.read(file),
            before,
            "refused request changed the file"
        );
    }
    assert_eq!(
        b.post("clients.meta", json!({"mac": "02:00:00:00:01:0b"}))
            .status,
        400
    );
    // Read-only session, no session.
    let r = Req::post(
        "clients.meta",
        &b.ro,
        r#"{"mac":"02:00:00:00:01:0b","name":"y"}"#,
    )
    .run(&b.root);
    assert_eq!(r.status, 403);
    let mut r = Req::post(
        "clients.meta",
        &b.rw,
        r#"{"mac":"02:00:00:00:01:0b","name":"y"}"#,
    );
    r.headers.clear();
    assert_eq!(r.run(&b.root).status, 403);
    assert_eq!(b.root.read(file), before);
    // A damaged file is never overwritten.
    b.root.write(file, "{not json");
    let r = b.post(
        "clients.meta",
        json!({"mac": "02:00:00:00:01:0b", "name": "z"}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(b.root.read(file), "{not json");
    assert_eq!(
        Bed::client(&b.get("clients", ""), "02:00:00:00:01:0b")["name"],
        Value::Null,
        "the read path tolerates it"
    );
}

#[test]
fn concurrent_name_edits_all_land() {
    let b = bed();
    let macs: Vec<String> = (0..8).map(|i| format!("02:00:00:00:03:{i:02x}")).collect();
    std::thread::scope(|s| {
        for m in &macs {
            let b = &b;
            s.spawn(move || {
                let r = b.post(
                    "clients.meta",
                    json!({"mac": m, "name": format!("dev {m}")}),
                );
                assert_eq!(r.status, 200);
            });
        }
    });
    let saved: Value = serde_json::from_str(&b.root.read("etc/jammonitor_clients.json")).unwrap();
    assert_eq!(saved.as_object().unwrap().len(), 8, "{saved}");
}

#[test]
fn reservations_against_real_uci() {
    let b = bed();
    let hosts = |b: &Bed| -> Vec<String> {
        b.root
            .uci(&["show", "dhcp"])
            .lines()
            .filter(|l| {
                l.contains("=host")
                    || l.contains(".mac=")
                    || l.contains(".ip=")
                    || l.contains(".name=")
            })
            .filter(|l| !l.contains("@dnsmasq") && !l.starts_with("dhcp.lan."))
            .map(str::to_string)
            .collect()
    };
    // create
    let r = b.post(
        "clients.reserve",
        json!({"mac": "02:00:00:00:01:0A", "ip": "192.168.100.50", "name": "anna-laptop"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let d = r.data();
    assert_eq!(d["section"], "jm_02000000010a");
    assert!(d["reload"]["id"].as_str().is_some(), "{d}");
    assert_eq!(
        b.root.uci(&["get", "dhcp.jm_02000000010a.ip"]),
        "192.168.100.50"
    );
    assert_eq!(
        b.root.uci(&["get", "dhcp.jm_02000000010a.mac"]),
        "02:00:00:00:01:0a"
    );
    assert_eq!(
        b.root.uci(&["get", "dhcp.jm_02000000010a.name"]),
        "anna-laptop"
    );
    // dnsmasq reloads as a job
    let t0 = std::time::Instant::now();
    while !b.doubles_calls().contains("dnsmasq reload") {
        assert!(t0.elapsed().as_secs() < 10, "dnsmasq was not reloaded");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let listed = Bed::client(&b.get("clients", ""), "02:00:00:00:01:0a")["reservation"].clone();
    assert_eq!(listed["ip"], "192.168.100.50");

    // refusals: configs byte-identical
    let snap = b.root.configs();
    for (body, status, f) in [
        // .12 is the printer's (another MAC)
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.12"}),
            409,
            "ip",
        ),
        (
            json!({"mac": "02:00:00:00:01:0b", "ip": "192.168.100.50"}),
            409,
            "ip",
        ),
        // outside every LAN subnet
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "10.9.9.9"}),
            400,
            "ip",
        ),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "10.1.1.2"}),
            400,
            "ip",
        ),
        // the router's own LAN address, network and broadcast
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.1"}),
            400,
            "ip",
        ),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.0"}),
            400,
            "ip",
        ),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.255"}),
            400,
            "ip",
        ),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.300"}),
            400,
            "ip",
        ),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.51", "name": "bad name"}),
            400,
            "name",
        ),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.51", "name": "-x"}),
            400,
            "name",
        ),
        (
            json!({"mac": "ff:ff:ff:ff:ff:ff", "ip": "192.168.100.51"}),
            400,
            "mac",
        ),
        (json!({"mac": "02:00:00:00:01:0a"}), 400, "ip"),
        (
            json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.51", "x": 1}),
            400,
            "x",
        ),
    ] {
        let r = b.post("clients.reserve", body.clone());
        assert_eq!(
            r.status,
            status,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(field(&r), f, "{body}");
        assert_eq!(b.root.configs(), snap, "{body} changed a config");
    }
    let r = Req::post(
        "clients.reserve",
        &b.ro,
        r#"{"mac":"02:00:00:00:01:0a","ip":"192.168.100.52"}"#,
    )
    .run(&b.root);
    assert_eq!(r.status, 403);
    assert_eq!(b.root.configs(), snap);

    // edit: same section, new IP and no name
    let before = hosts(&b).len();
    let r = b.post(
        "clients.reserve",
        json!({"mac": "02:00:00:00:01:0a", "ip": "192.168.100.51"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        b.root.uci(&["get", "dhcp.jm_02000000010a.ip"]),
        "192.168.100.51"
    );
    assert!(
        b.root
            .uci(&["-q", "show", "dhcp.jm_02000000010a"])
            .lines()
            .all(|l| !l.contains(".name="))
    );
    assert_eq!(
        hosts(&b).len(),
        before - 1,
        "name removed, nothing duplicated"
    );
    // editing the printer's existing (anonymous, LuCI-made) entry keeps that entry
    let r = b.post(
        "clients.reserve",
        json!({"mac": "02:00:00:00:01:0c", "ip": "192.168.100.13", "name": "printer"}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(b.root.uci(&["get", "dhcp.@host[0].ip"]), "192.168.100.13");
    assert_eq!(b.root.uci(&["show", "dhcp"]).matches("=host").count(), 2);

    // delete
    let r = b.post("clients.unreserve", json!({"mac": "02:00:00:00:01:0a"}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(!b.root.uci(&["show", "dhcp"]).contains("jm_02000000010a"));
    let snap = b.root.configs();
    let r = b.post("clients.unreserve", json!({"mac": "02:00:00:00:01:0a"}));
    assert_eq!(r.status, 404);
    assert_eq!(field(&r), "mac");
    assert_eq!(b.root.configs(), snap);
    assert_eq!(
        Bed::client(&b.get("clients", ""), "02:00:00:00:01:0a")["reservation"],
        Value::Null
    );
}

#[test]
fn tailscale_peers_projected_or_hidden() {
    let b = bed();
    std::os::unix::fs::symlink(
        repo().join("tests/doubles/tailscale"),
        b.root.file("usr/sbin/tailscale"),
    )
    .unwrap();
    // Installed, daemon not running: the block says so.
    let d = b.get("clients", "");
    assert_eq!(d["tailscale"]["available"], true);
    assert!(
        d["tailscale"]["error"]
            .as_str()
            .unwrap()
            .contains("tailscaled"),
        "{}",
        d["tailscale"]
    );
    // Running: peers, no secret anywhere in the answer.
    std::fs::copy(
        repo().join("tests/fixtures/tailscale/status.json"),
        b.root.file("var/run/doubles/tailscale-status.json"),
    )
    .unwrap();
    std::fs::remove_file(b.root.file("var/run/jammonitor/tailscale.json")).unwrap();
    let mut r = Req::get("clients", &b.rw);
    r.query = String::new();
    let raw = r.run(&b.root);
    let body = String::from_utf8_lossy(&raw.body).into_owned();
    for secret in [
        "nodekey",
        "login.tailscale.com",
        "someone@example.com",
        "203.0.113.77",
        "PublicKey",
        "AuthURL",
        "Addrs",
    ] {
        assert!(!body.contains(secret), "{secret} leaked");
    }
    let t = &raw.data()["tailscale"]["status"];
    assert_eq!(t["backend_state"], "Running");
    assert_eq!(t["self"]["hostname"], "omr-bpi-r4");
    let peers = t["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0]["hostname"], "<img src=x onerror=alert(1)>");
    assert_eq!(peers[0]["exit_node"], true);
    assert_eq!(peers[0]["online"], false);
    assert_eq!(peers[1]["hostname"], "work-laptop");
    assert_eq!(peers[1]["ips"], json!(["100.101.1.2", "fd7a:115c:a1e0::2"]));
    assert_eq!(peers[1]["rx_bytes"], 1_234_567);
    assert_eq!(peers[1]["os"], "macOS");
    // Cached: a poll right after costs no process.
    let calls = b.doubles_calls().matches("tailscale status").count();
    b.get("clients", "");
    assert_eq!(b.doubles_calls().matches("tailscale status").count(), calls);
}

fn wifi_bed() -> Bed {
    let b = bed();
    b.root.ubus_fixtures("tri-band");
    let mut w = String::new();
    for (i, band) in ["2g", "5g", "6g", "5g"].iter().enumerate() {
        w.push_str(&format!(
            "config wifi-device 'radio{i}'\n\toption type 'mac80211'\n\toption band '{band}'\n\n"
        ));
    }
    b.root.write("etc/config/wireless", &w);
    b
}

#[test]
fn wifi_radios_from_ubus_fixtures() {
    let b = wifi_bed();
    let mut r = Req::get("wifi", &b.rw);
    r.query = String::new();
    let raw = r.run(&b.root);
    assert!(
        !String::from_utf8_lossy(&raw.body).contains("fixture-wifi-key-do-not-leak"),
        "Wi-Fi key leaked"
    );
    let d = raw.data();
    let radios = d["radios"].as_array().unwrap();
    assert_eq!(radios.len(), 4);
    let r0 = &radios[0];
    assert_eq!(
        (
            r0["name"].as_str(),
            r0["band"].as_str(),
            r0["channel"].as_i64()
        ),
        (Some("radio0"), Some("2g"), Some(6))
    );
    assert_eq!(
        (
            r0["frequency_mhz"].as_i64(),
            r0["width_mhz"].as_i64(),
            r0["txpower_dbm"].as_i64()
        ),
        (Some(2437), Some(20), Some(20))
    );
    assert_eq!(
        (
            r0["noise_dbm"].as_i64(),
            r0["utilisation_pct"].as_f64(),
            r0["country"].as_str()
        ),
        (Some(-91), Some(28.5), Some("DE"))
    );
    assert_eq!(r0["hardware"], "MediaTek MT7988");
    assert_eq!(r0["ssids"][0]["ssid"], "HomeNet");
    assert_eq!(r0["ssids"][0]["clients"], 2);
    assert_eq!(r0["ssids"][1]["ssid"], "<b>Guest</b>");
    let st = r0["stations"].as_array().unwrap();
    assert_eq!(st[0]["mac"], "02:00:00:00:01:0b");
    assert_eq!(st[0]["generation"], 6);
    assert_eq!(st[0]["signal_dbm"], -48);
    assert_eq!(st[0]["tx_rate_kbps"], 172_100);
    assert_eq!(st[0]["connected_s"], 5400);
    assert_eq!(st[0]["hostname"], "<svg/onload=alert(1)>&amp;\"x'");
    assert_eq!(st[1]["generation"], 4);
    let r1 = &radios[1];
    assert_eq!(
        (
            r1["band"].as_str(),
            r1["width_mhz"].as_i64(),
            r1["utilisation_pct"].as_f64()
        ),
        (Some("5g"), Some(80), Some(12.5))
    );
    assert_eq!(r1["stations"][0]["generation"], 6);
    let r2 = &radios[2];
    assert_eq!(
        (
            r2["band"].as_str(),
            r2["width_mhz"].as_i64(),
            r2["frequency_mhz"].as_i64()
        ),
        (Some("6g"), Some(320), Some(6135))
    );
    assert_eq!(r2["stations"][0]["generation"], 7);
    assert_eq!(r2["utilisation_pct"], Value::Null, "empty survey");
    let r3 = &radios[3];
    assert_eq!(
        (r3["up"].as_bool(), r3["disabled"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(r3["stations"], json!([]));
    assert_eq!(d["totals"]["stations"], 4);

    // The Clients tab places Wi-Fi stations on their radio.
    let c = b.get("clients", "");
    let phone = Bed::client(&c, "02:00:00:00:01:0b");
    assert_eq!(phone["source"], "wifi");
    assert_eq!(phone["wifi"]["radio"], "radio0");
    assert_eq!(phone["wifi"]["ssid"], "HomeNet");
    assert_eq!(phone["online"], true);
    assert_eq!(Bed::client(&c, "7a:11:22:33:44:55")["wifi"]["band"], "6g");

    // Configured radios but no network.wireless object (Wi-Fi driver missing): not an error.
    for o in ["network.wireless", "iwinfo"] {
        std::fs::remove_dir_all(b.root.file(&format!(".bed/ubus/{o}"))).unwrap();
    }
    b.root.restart_fixtures();
    let d = b.get("wifi", "");
    assert_eq!(
        (
            d["radios_configured"].as_u64(),
            d["radios_available"].as_bool()
        ),
        (Some(4), Some(false))
    );
}

#[test]
fn no_radio_means_no_ubus_call() {
    let b = bed();
    // The objects are on the bus (a call would be answered and logged), but no radio is configured.
    b.root.ubus_fixtures("tri-band");
    let d = b.get("wifi", "");
    assert_eq!(d["radios"], json!([]));
    assert_eq!(d["radios_configured"], 0);
    b.get("clients", "");
    let calls = b.root.fixture_calls();
    assert!(!calls.contains("network.wireless"), "{calls}");
    assert!(!calls.contains("iwinfo"), "{calls}");
}

#[test]
fn remote_ap_list_validated_and_shown() {
    let b = bed();
    let r = b.post(
        "wifi.aps",
        json!({"aps": [{"name": "garden", "ip": "192.168.100.20"}, {"name": "attic-AP", "ip": "192.168.100.21"}]}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(b.root.uci(&["get", "jammonitor.ap_1.name"]), "garden");
    assert_eq!(b.root.uci(&["get", "jammonitor.ap_2.ip"]), "192.168.100.21");
    // What the collector pings (same config loader).
    let cfg = jammonitor::store::config::load(
        &jammonitor::system::uci::load(&jammonitor::system::Root::new(&b.root.path), "jammonitor")
            .unwrap(),
    );
    assert!(cfg.targets.iter().any(|t| t.name == "ap:attic-AP"));
    let snap = b.root.configs();
    let many: Vec<Value> = (0..65)
        .map(|i| json!({"name": format!("ap{i}"), "ip": format!("192.168.100.{}", i + 100)}))
        .collect();
    for (body, f) in [
        (
            json!({"aps": [{"name": "a", "ip": "192.168.100.20"}, {"name": "b", "ip": "192.168.1.300"}]}),
            "aps[1].ip",
        ),
        (
            json!({"aps": [{"name": "a", "ip": "0.0.0.0"}]}),
            "aps[0].ip",
        ),
        (
            json!({"aps": [{"name": "a b", "ip": "192.168.100.20"}]}),
            "aps[0].name",
        ),
        (
            json!({"aps": [{"name": "<img>", "ip": "192.168.100.20"}]}),
            "aps[0].name",
        ),
        (
            json!({"aps": [{"name": "a", "ip": "192.168.100.20"}, {"name": "A", "ip": "192.168.100.22"}]}),
            "aps[1].name",
        ),
        (
            json!({"aps": [{"name": "a", "ip": "192.168.100.20"}, {"name": "b", "ip": "192.168.100.20"}]}),
            "aps[1].ip",
        ),
        (json!({"aps": [{"name": "a"}]}), "aps[0].ip"),
        (
            json!({"aps": [{"name": "a", "ip": "192.168.100.20", "x": 1}]}),
            "aps[0].x",
        ),
        (json!({"aps": many}), "aps"),
        (json!({"aps": "x"}), "aps"),
    ] {
        let r = b.post("wifi.aps", body.clone());
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(field(&r), f, "{body}");
        assert_eq!(b.root.configs(), snap, "{body} changed a config");
    }
    // The collector's live ring says garden answers, attic does not.
    // (Written with the collector's own encoder: the ring is binary, store::live.)
    use jammonitor::store::live::{self, LOST, LiveTarget};
    let now_ms = jammonitor::store::now_epoch() * 1000;
    let targets = [
        LiveTarget {
            name: "ap:garden".into(),
            host: Some("192.168.100.20".into()),
        },
        LiveTarget {
            name: "ap:attic-AP".into(),
            host: Some("192.168.100.21".into()),
        },
    ];
    let file = live::encode(
        &targets,
        3,
        201,
        &[
            (1, now_ms - 6000, &[1500, LOST]),
            (2, now_ms - 3000, &[LOST, LOST]),
            (3, now_ms, &[2250, LOST]),
        ],
    );
    let path = b.root.file("var/run/jammonitor/live.bin");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, file).unwrap();
    let d = b.get("wifi", "");
    let aps = d["remote_aps"].as_array().unwrap();
    assert_eq!(
        (
            aps[0]["name"].as_str(),
            aps[0]["state"].as_str(),
            aps[0]["last_rtt_ms"].as_f64()
        ),
        (Some("garden"), Some("online"), Some(2.25))
    );
    assert_eq!(
        (aps[1]["name"].as_str(), aps[1]["state"].as_str()),
        (Some("attic-AP"), Some("offline"))
    );
    assert_eq!(d["totals"]["aps_online"], 1);
    // Empty list clears.
    assert_eq!(b.post("wifi.aps", json!({"aps": []})).status, 200);
    assert!(!b.root.uci(&["show", "jammonitor"]).contains("remote_ap"));
}
