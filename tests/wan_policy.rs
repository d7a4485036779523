//! WAN policy writes against the real `uci` and a namespace with real kernel MPTCP endpoints.
//! netifd and the mptcp init script are doubles (tests/doubles) that drive the real `ip`.
mod common;
use common::*;
use serde_json::{Value, json};

fn bed(tag: &str) -> Bed {
    Bed::new(tag)
}

impl Bed {
    fn role(&self, wan: &str) -> (String, String) {
        (
            self.root
                .uci(&["-q", "get", &format!("network.{wan}.multipath")]),
            self.root
                .uci(&["-q", "get", &format!("openmptcprouter.{wan}.multipath")]),
        )
    }
    fn masters(&self) -> usize {
        self.root
            .uci(&["show", "network"])
            .lines()
            .filter(|l| l.ends_with(".multipath='master'"))
            .count()
    }
    /// dev → flags of its kernel endpoints.
    fn endpoints(&self) -> Vec<(String, Vec<String>)> {
        let v: Value =
            serde_json::from_str(&self.ns.ip(&["-j", "mptcp", "endpoint", "show"])).unwrap();
        let mut out: Vec<(String, Vec<String>)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut flags: Vec<String> = match e.get("flags") {
                    Some(Value::Array(a)) => {
                        a.iter().map(|f| f.as_str().unwrap().to_string()).collect()
                    }
                    _ => ["subflow", "backup", "fullmesh", "signal"]
                        .iter()
                        .filter(|f| e.get(**f) == Some(&Value::Bool(true)))
                        .map(|f| f.to_string())
                        .collect(),
                };
                flags.sort();
                (e["dev"].as_str().unwrap().to_string(), flags)
            })
            .collect();
        out.sort();
        out
    }
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn role_changes_land_in_both_configs_and_the_kernel() {
    let b = bed("roles");
    // Drag wan2 onto Primary: wan1 (the old master) becomes Bonded.
    let r = b.post("wan.roles", &json!({"roles": {"wan2": "master"}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(b.role("wan2"), (s("master"), s("master")));
    assert_eq!(b.role("wan1"), (s("on"), s("on")));
    assert_eq!(b.masters(), 1);

    // Disabled: multipath off + disabled=1, the link goes down and its endpoint disappears.
    let r = b.post("wan.roles", &json!({"roles": {"wan3": "off"}}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(b.role("wan3"), (s("off"), s("off")));
    assert_eq!(b.root.uci(&["-q", "get", "network.wan3.disabled"]), "1");
    assert!(
        b.endpoints().iter().all(|(d, _)| d != "lan3"),
        "{:?}",
        b.endpoints()
    );
    assert!(b.ns.ip(&["link", "show", "lan3"]).contains("state DOWN"));

    // Back to Standby: enabled again, endpoint with the backup flag.
    let r = b.post(
        "wan.roles",
        &json!({"roles": {"wan1": "master", "wan2": "on", "wan3": "backup"}}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        !b.root
            .uci(&["-q", "show", "network.wan3"])
            .contains(".disabled=")
    );
    let eps = b.endpoints();
    assert!(
        eps.contains(&(s("lan3"), vec![s("backup"), s("fullmesh"), s("subflow")])),
        "{eps:?}"
    );
    assert!(
        eps.contains(&(s("lan1"), vec![s("fullmesh"), s("subflow")])),
        "{eps:?}"
    );
    assert_eq!(b.masters(), 1);

    // The read action reports the new state.
    let d = b.get("wan");
    let roles: Vec<(String, String)> = d["wans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().into(),
                w["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (s("wan1"), s("master")),
            (s("wan2"), s("on")),
            (s("wan3"), s("backup"))
        ]
    );
    assert_eq!(d["bypass_active"], false);
}

#[test]
fn system_interfaces_and_invalid_roles_are_refused_without_change() {
    let b = bed("bad");
    let before = b.root.configs();
    let eps = b.endpoints();
    let cases = [
        (json!({"roles": {"lan": "on"}}), "roles.lan"),
        (json!({"roles": {"omrvpn": "on"}}), "roles.omrvpn"),
        (json!({"roles": {"loopback": "off"}}), "roles.loopback"),
        (json!({"roles": {"wan9": "on"}}), "roles.wan9"),
        (
            json!({"roles": {"wan2": "master", "wan3": "master"}}),
            "roles",
        ),
        (json!({"roles": {"wan1": "backup"}}), "roles"),
        (json!({"roles": {"wan2": "primary"}}), "roles.wan2"),
        (json!({"roles": {"wan2": 5}}), "roles.wan2"),
        (json!({"roles": {}}), "roles"),
        (json!({"roles": ["wan1"]}), "roles"),
        (json!({"roles": {"wan2": "on"}, "force": true}), "force"),
    ];
    for (body, field) in cases {
        let r = b.post("wan.roles", &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    assert_eq!(
        b.root.configs(),
        before,
        "a refused request changed a config"
    );
    assert_eq!(b.endpoints(), eps);
    assert!(
        !b.root.read("var/run/doubles/calls.log").contains("mptcp"),
        "nothing may be applied"
    );
}

#[test]
fn failure_between_commit_and_apply_restores_configs_byte_for_byte() {
    let b = bed("fail");
    let before = b.root.configs();
    b.root.write("var/run/doubles/fail", "mptcp\n");
    let r = b.post("wan.roles", &json!({"roles": {"wan3": "master"}}));
    assert_eq!(r.status, 500);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("rolled back"), "{msg}");
    assert!(msg.contains("injected failure"), "{msg}");
    assert_eq!(b.root.configs(), before);
    assert_eq!(b.masters(), 1);
    // The commit had happened (the double was reached after it), so this was a real rollback.
    assert!(
        b.root
            .read("var/run/doubles/calls.log")
            .contains("mptcp reload lan")
    );
}

#[test]
fn concurrent_role_changes_serialize() {
    let b = bed("conc");
    for round in 0..4 {
        let (x, y) = if round % 2 == 0 {
            ("wan2", "wan3")
        } else {
            ("wan3", "wan1")
        };
        let rx = Req::post(
            "wan.roles",
            &b.rw,
            &json!({"roles": {x: "master"}}).to_string(),
        )
        .in_netns(&b.ns.name);
        let ry = Req::post(
            "wan.roles",
            &b.rw,
            &json!({"roles": {y: "master"}}).to_string(),
        )
        .in_netns(&b.ns.name);
        let (root_a, root_b) = (&b.root, &b.root);
        let (a, c) = std::thread::scope(|sc| {
            let ha = sc.spawn(|| rx.run_write(root_a));
            let hb = sc.spawn(|| ry.run_write(root_b));
            (ha.join().unwrap(), hb.join().unwrap())
        });
        assert_eq!((a.status, c.status), (200, 200));
        // Whichever ran last holds Primary; the other is Bonded; both configs agree.
        let master: Vec<&str> = ["wan1", "wan2", "wan3"]
            .into_iter()
            .filter(|w| b.role(w).0 == "master")
            .collect();
        assert_eq!(master.len(), 1, "round {round}");
        assert!(master[0] == x || master[0] == y);
        for w in ["wan1", "wan2", "wan3"] {
            let (n, o) = b.role(w);
            assert_eq!(n, o, "{w} differs between network and openmptcprouter");
        }
    }
}

#[test]
fn edit_validates_every_field_and_applies() {
    let b = bed("edit");
    let before = b.root.configs();
    let base = json!({"name": "wan2", "proto": "static", "ipaddr": "10.2.2.3", "netmask": "255.255.255.0", "gateway": "10.2.2.1"});
    let with = |k: &str, v: Value| {
        let mut x = base.clone();
        x[k] = v;
        x
    };
    let cases = vec![
        (with("ipaddr", json!("10.2.2.256")), "ipaddr"),
        (with("netmask", json!("255.0.255.0")), "netmask"),
        (with("gateway", json!("10.9.9.1")), "gateway"),
        (with("mtu", json!(575)), "mtu"),
        (with("mtu", json!(9001)), "mtu"),
        (with("mtu", json!("1500")), "mtu"),
        (with("dns", json!(["1.1.1.1", "9.9.9.9", "8.8.8.8"])), "dns"),
        (with("dns", json!(["1.1.1.1", "1.1.1.1"])), "dns[1]"),
        (with("dns", json!(["1.1.1"])), "dns[0]"),
        (with("name", json!("lan")), "name"),
        (with("name", json!("wan9")), "name"),
        (with("proto", json!("pppoe")), "proto"),
        (with("label", json!("a\u{1}b")), "label"),
        (with("bogus", json!(1)), "bogus"),
        (
            json!({"name": "wan2", "proto": "static", "ipaddr": "10.2.2.3"}),
            "netmask",
        ),
        (
            json!({"name": "wan2", "proto": "dhcp", "ipaddr": "10.2.2.3"}),
            "ipaddr",
        ),
    ];
    for (body, field) in cases {
        let r = b.post("wan.edit", &body);
        assert_eq!(
            r.status,
            400,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    assert_eq!(b.root.configs(), before);

    let ok = with("mtu", json!(1400));
    let ok = {
        let mut o = ok;
        o["dns"] = json!(["9.9.9.9"]);
        o["label"] = json!("DSL <b>&</b>");
        o
    };
    let r = b.post("wan.edit", &ok);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(b.root.uci(&["get", "network.wan2.ipaddr"]), "10.2.2.3");
    assert_eq!(b.root.uci(&["get", "network.wan2.dns"]), "9.9.9.9");
    assert_eq!(b.root.uci(&["get", "network.wan2.label"]), "DSL <b>&</b>");
    assert_eq!(b.root.uci(&["get", "network.wan2_dev.mtu"]), "1400");
    assert!(
        b.ns.ip(&["link", "show", "lan2"]).contains("mtu 1400"),
        "ifup applied the MTU"
    );
    // Back to automatic DNS and the default MTU.
    let r = b.post("wan.edit", &json!({"name": "wan2", "dns": [], "mtu": null}));
    assert_eq!(r.status, 200);
    assert!(
        b.root
            .uci(&["-q", "show", "network.wan2"])
            .lines()
            .all(|l| !l.contains(".dns="))
    );
    assert!(
        b.root
            .uci(&["-q", "show", "network.wan2_dev"])
            .lines()
            .all(|l| !l.contains(".mtu="))
    );
}

#[test]
fn advanced_settings_ranges_and_apply() {
    let b = bed("adv");
    let good = json!({
        "failover": {"timeout": 2, "count": 3, "tries": 4, "interval": 5, "failure_interval": 6, "tries_up": 7},
        "mptcp": {"scheduler": "blest", "path_manager": "fullmesh", "congestion": "cubic", "subflows": 4, "stale_loss_cnt": 6},
    });
    let before = b.root.configs();
    for (path, v, field) in [
        (("failover", "timeout"), json!(0), "failover.timeout"),
        (
            ("failover", "failure_interval"),
            json!(31),
            "failover.failure_interval",
        ),
        (("failover", "count"), json!(2.5), "failover.count"),
        (("mptcp", "scheduler"), json!("rm -rf"), "mptcp.scheduler"),
        (
            ("mptcp", "congestion"),
            json!("no_such_cc"),
            "mptcp.congestion",
        ),
        (("mptcp", "subflows"), json!(17), "mptcp.subflows"),
        (
            ("mptcp", "stale_loss_cnt"),
            json!(0),
            "mptcp.stale_loss_cnt",
        ),
    ] {
        let mut body = good.clone();
        body[path.0][path.1] = v;
        let r = b.post("wan.advanced", &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"]["field"], field);
    }
    // Nothing to change is refused too.
    assert_eq!(b.post("wan.advanced", &json!({})).status, 400);
    assert_eq!(b.root.configs(), before);

    let r = b.post("wan.advanced", &good);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        b.root
            .uci(&["get", "omr-tracker.defaults.failure_interval"]),
        "6"
    );
    assert_eq!(b.root.uci(&["get", "network.globals.congestion"]), "cubic");
    assert_eq!(b.root.uci(&["get", "network.globals.mptcp_subflows"]), "4");
    assert_eq!(
        b.ns.exec(&["cat", "/proc/sys/net/mptcp/stale_loss_cnt"])
            .trim(),
        "6"
    );
    assert!(b.ns.ip(&["mptcp", "limits"]).contains("subflows 4"));
    assert_eq!(
        b.root.read("etc/sysctl.d/99-jammonitor-mptcp.conf"),
        "net.mptcp.stale_loss_cnt=6\n"
    );
    let d = b.get("wan");
    assert_eq!(d["advanced"]["mptcp"]["stale_loss_cnt"], 6);
    assert_eq!(d["advanced"]["failover"]["tries_up"], 7);
}

#[test]
fn managed_list_and_bypass_lock() {
    let b = bed("mgd");
    let before = b.root.configs();
    for (body, field) in [
        (json!({"wans": ["wan2", "wan3"]}), "wans"),
        (json!({"wans": ["wan1", "lan"]}), "wans[1]"),
        (json!({"wans": ["wan1", "wan1"]}), "wans[1]"),
        (json!({"wans": "wan1"}), "wans"),
    ] {
        let r = b.post("wan.managed", &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    assert_eq!(b.root.configs(), before);
    assert_eq!(
        b.post("wan.managed", &json!({"wans": ["wan1", "wan2"]}))
            .status,
        200
    );
    let names: Vec<String> = b.get("wan")["wans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().into())
        .collect();
    assert_eq!(names, ["wan1", "wan2"]);
    // wan3 is no longer managed: it cannot be moved.
    assert_eq!(
        b.post("wan.roles", &json!({"roles": {"wan3": "on"}}))
            .json()["error"]["field"],
        "roles.wan3"
    );

    b.root.write("etc/jammonitor/bypass.json", "{}");
    let before = b.root.configs();
    for (action, body) in [
        ("wan.roles", json!({"roles": {"wan2": "master"}})),
        ("wan.edit", json!({"name": "wan2", "label": "x"})),
        ("wan.managed", json!({"wans": []})),
    ] {
        let r = b.post(action, &body);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (409, "bypass_active"),
            "{action}"
        );
    }
    assert_eq!(b.root.configs(), before);
    assert_eq!(b.get("wan")["bypass_active"], true);
}
