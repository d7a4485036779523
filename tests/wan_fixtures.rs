//! Real-world WAN configurations (tests/fixtures/wans, see its README): for every fixture, the
//! CGI's `wan`, `overview`, `interfaces` and `bandwidth` answers list exactly the WANs a human
//! reads from the config — names, roles, labels byte for byte, devices — nothing that is not a
//! WAN, and "all WANs" sums each device once.
mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures/wans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn net_dev(counters: &serde_json::Map<String, Value>) -> String {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
         lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n",
    );
    for (dev, c) in counters {
        s.push_str(&format!(
            "{dev:>6}: {} 10 0 0 0 0 0 0 {} 10 0 0 0 0 0 0\n",
            c[0], c[1]
        ));
    }
    s
}

struct Run {
    root: TestRoot,
    ns: Netns,
    sid: String,
}

impl Run {
    fn get(&self, action: &str, query: &str) -> Value {
        let mut r = Req::get(action, &self.sid).in_netns(&self.ns.name);
        r.query = query.to_string();
        let resp = r.run(&self.root);
        assert_eq!(
            resp.status,
            200,
            "{action}?{query}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        resp.data()
    }
}

fn setup(dir: &Path, exp: &Value, n: usize) -> Run {
    let root = TestRoot::new(false);
    root.write(
        "etc/config/network",
        &std::fs::read_to_string(dir.join("network")).unwrap(),
    );
    if let Ok(jm) = std::fs::read_to_string(dir.join("jammonitor")) {
        root.write("etc/config/jammonitor", &jm);
    }
    // The bed's netifd fixtures describe mkroot's config, not this one: no netifd here, so the
    // answers use the configured devices.
    root.without_netifd();
    root.write(
        "proc/net/dev",
        &net_dev(exp["counters"].as_object().unwrap()),
    );
    // The modems' data netdevs as the kernel exposes them in sysfs (docs/wans.md §5).
    for d in exp["sysfs"].as_array().into_iter().flatten() {
        std::fs::create_dir_all(root.file(d.as_str().unwrap())).unwrap();
    }
    let ns = Netns::new(&format!("fx{n}"));
    for l in exp["links"].as_array().unwrap() {
        ns.veth(l.as_str().unwrap());
    }
    let sid = root.session(true, false);
    Run { root, ns, sid }
}

/// The WAN fields a human reads, from any answer's WAN objects.
fn human(w: &Value) -> Value {
    json!({"name": w["name"], "role": w["role"], "label": w["label"], "device": w["device"]})
}

#[test]
fn every_fixture_lists_exactly_the_wans_a_human_reads() {
    let mut checked = 0;
    for (n, dir) in fixtures().iter().enumerate() {
        let fx = dir.file_name().unwrap().to_string_lossy().into_owned();
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap_or_else(|e| panic!("{fx}/expected.json: {e}"));
        let r = setup(dir, &exp, n);
        let want: Vec<Value> = exp["wans"].as_array().unwrap().iter().map(human).collect();
        let names: Vec<&str> = exp["wans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();

        // wan: the list, roles, labels, devices, disabled, the modem control paths.
        let d = r.get("wan", "");
        assert_eq!(d["errors"], json!({}), "{fx}");
        let got: Vec<Value> = d["wans"].as_array().unwrap().iter().map(human).collect();
        assert_eq!(got, want, "{fx}: wan");
        for (g, e) in d["wans"]
            .as_array()
            .unwrap()
            .iter()
            .zip(exp["wans"].as_array().unwrap())
        {
            assert_eq!(g["disabled"], e["disabled"], "{fx}: {} disabled", e["name"]);
            assert_eq!(
                g["config_device"],
                e.get("config_device").cloned().unwrap_or(Value::Null),
                "{fx}: {} config_device",
                e["name"]
            );
        }
        let selected: Vec<&str> = d["eligible"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["selected"] == true)
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(selected, names, "{fx}: eligible+selected");

        // overview: the same WANs.
        let o = r.get("overview", "");
        assert_eq!(o["errors"], json!({}), "{fx}");
        let got: Vec<Value> = o["wans"].as_array().unwrap().iter().map(human).collect();
        assert_eq!(got, want, "{fx}: overview");

        // interfaces: WAN devices grouped as WAN with a WAN's label, nothing else.
        let i = r.get("interfaces", "");
        assert_eq!(i["errors"], json!({}), "{fx}");
        let ifs = i["interfaces"].as_array().unwrap();
        let wan_devs: Vec<&str> = exp["wans"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w["device"].as_str())
            .collect();
        for l in ifs {
            let name = l["name"].as_str().unwrap();
            assert_eq!(
                l["group"] == "wan",
                wan_devs.contains(&name),
                "{fx}: interfaces {name} group {}",
                l["group"]
            );
            if l["group"] == "wan" {
                let owner = exp["wans"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|w| w["device"] == name)
                    .unwrap();
                assert_eq!(l["uci"], owner["name"], "{fx}: {name} owner");
                assert_eq!(l["label"], owner["label"], "{fx}: {name} label");
            }
        }
        for d in exp["not_wan_devices"].as_array().unwrap() {
            let l = ifs.iter().find(|l| &l["name"] == d).unwrap();
            assert_ne!(l["group"], "wan", "{fx}: {d}");
        }
        for d in exp["lan_devices"].as_array().into_iter().flatten() {
            let l = ifs.iter().find(|l| &l["name"] == d).unwrap();
            assert_eq!(l["group"], "lan", "{fx}: {d}");
        }

        // bandwidth: "all WANs" sums each WAN device once, and only WAN devices.
        let b = r.get("bandwidth", "range=realtime");
        assert_eq!(b["errors"], json!({}), "{fx}");
        assert_eq!(b["sums"], exp["sums"], "{fx}: realtime sums");
        assert_eq!(
            json!([b["total"]["rx_bytes"], b["total"]["tx_bytes"]]),
            exp["total"],
            "{fx}: realtime total"
        );
        for e in b["interfaces"].as_array().unwrap() {
            assert!(
                names.contains(&e["wan"].as_str().unwrap()),
                "{fx}: {e} is not a WAN"
            );
            let w = exp["wans"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["name"] == e["wan"])
                .unwrap();
            assert_eq!(e["label"], w["label"], "{fx}: bandwidth label");
        }
        let h = r.get("bandwidth", "range=hourly");
        assert_eq!(h["sums"], exp["sums"], "{fx}: hourly sums");
        assert_eq!(h["errors"], json!({}), "{fx}");
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} fixtures");
}
