//! Local Wi-Fi radios: `network.wireless status` (netifd: radios, their config and interfaces)
//! joined with `iwinfo` (per interface: `info` — channel, frequency, tx power, noise, country,
//! HT mode; `assoclist` — stations; `survey` — channel busy/active time) over ubus.
//!
//! The parsers take the parsed JSON answers; the transport ([`Ubus`]) is the native ubus client
//! ([`NativeUbus`]), a fake in unit tests. Shapes read from OpenWrt 23.05/24.10 sources
//! (netifd wireless.c `wireless_device_status`, rpcd-mod-iwinfo iwinfo.c) and real outputs; the
//! fixtures in tests/fixtures/ubus/ are those outputs.

use super::Root;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// One ubus call: `None` when the object or method is missing or did not answer.
pub trait Ubus {
    fn call(&self, object: &str, method: &str, args: &Value) -> Option<Value>;
}

/// One call over the native ubus client (`system::ubus`, 1 s each, replies capped at 1 MiB):
/// no process is started.
pub struct NativeUbus<'a> {
    pub root: &'a Root,
}

impl Ubus for NativeUbus<'_> {
    fn call(&self, object: &str, method: &str, args: &Value) -> Option<Value> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if !ok(object) || !ok(method) {
            return None;
        }
        let args = args.as_object().cloned().unwrap_or_default();
        super::ubus::call(
            self.root,
            object,
            method,
            &args,
            Duration::from_secs(1),
            super::ubus::MAX_MSG,
        )
        .ok()
        .map(Value::Object)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ssid {
    pub ifname: Option<String>,
    pub ssid: Option<String>,
    pub mode: Option<String>,
    pub network: Vec<String>,
    pub clients: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Station {
    pub mac: String,
    pub ifname: String,
    pub ssid: Option<String>,
    pub signal_dbm: Option<i64>,
    pub noise_dbm: Option<i64>,
    /// kbit/s as the driver reports the last rate.
    pub rx_rate_kbps: Option<u64>,
    pub tx_rate_kbps: Option<u64>,
    /// 4 (HT) … 7 (EHT); `None` for legacy a/b/g.
    pub generation: Option<u8>,
    pub connected_s: Option<u64>,
    pub inactive_ms: Option<u64>,
    pub rx_bytes: Option<u64>,
    pub tx_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Radio {
    pub name: String,
    pub up: bool,
    pub disabled: bool,
    /// `2g`, `5g`, `6g`, `60g`.
    pub band: Option<String>,
    pub channel: Option<i64>,
    pub frequency_mhz: Option<i64>,
    pub htmode: Option<String>,
    pub width_mhz: Option<i64>,
    pub txpower_dbm: Option<i64>,
    pub noise_dbm: Option<i64>,
    /// Channel busy / active time of the channel in use, in percent.
    pub utilisation_pct: Option<f64>,
    pub country: Option<String>,
    pub hardware: Option<String>,
    pub ssids: Vec<Ssid>,
    pub stations: Vec<Station>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(x) if !x.is_empty() => {
            Some(x.chars().filter(|c| !c.is_control()).take(64).collect())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn i(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(x) => x.trim().parse().ok(),
        _ => None,
    }
}

fn u(v: &Value, k: &str) -> Option<u64> {
    i(v, k).and_then(|x| u64::try_from(x).ok())
}

/// Channel width from the HT mode (HT20, VHT80, HE160, EHT320, NOHT…).
pub fn width(htmode: &str) -> Option<i64> {
    let digits: String = htmode.chars().skip_while(|c| !c.is_ascii_digit()).collect();
    match htmode {
        "NOHT" => Some(20),
        _ => digits.trim_end_matches(['+', '-']).parse().ok(),
    }
}

pub fn band_of_freq(mhz: i64) -> Option<&'static str> {
    match mhz {
        2400..=2500 => Some("2g"),
        5150..=5924 => Some("5g"),
        5925..=7125 => Some("6g"),
        57000..=71000 => Some("60g"),
        _ => None,
    }
}

/// `hwmode` of older configs: 11g/11b/11n(g) → 2g, 11a → 5g.
fn band_of_hwmode(h: &str) -> Option<&'static str> {
    match h {
        "11b" | "11g" | "11ng" => Some("2g"),
        "11a" | "11na" | "11ac" => Some("5g"),
        _ => None,
    }
}

/// Radios of one `network.wireless status` answer (names sorted), without iwinfo data yet.
pub fn parse_status(status: &Value) -> Vec<Radio> {
    let Some(map) = status.as_object() else {
        return Vec::new();
    };
    let mut radios: Vec<Radio> = map
        .iter()
        .filter(|(_, r)| r.is_object())
        .map(|(name, r)| {
            let cfg = r.get("config").cloned().unwrap_or(Value::Null);
            let htmode = s(&cfg, "htmode");
            let ssids = r
                .get("interfaces")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|ifc| {
                            let c = ifc.get("config").cloned().unwrap_or(Value::Null);
                            Ssid {
                                ifname: s(ifc, "ifname"),
                                ssid: s(&c, "ssid"),
                                mode: s(&c, "mode"),
                                network: c
                                    .get("network")
                                    .and_then(Value::as_array)
                                    .map(|n| {
                                        n.iter()
                                            .filter_map(Value::as_str)
                                            .map(str::to_string)
                                            .take(8)
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                                clients: 0,
                            }
                        })
                        .take(16)
                        .collect()
                })
                .unwrap_or_default();
            Radio {
                name: name.chars().take(32).collect(),
                up: r.get("up").and_then(Value::as_bool).unwrap_or(false),
                disabled: r.get("disabled").and_then(Value::as_bool).unwrap_or(false)
                    || cfg
                        .get("disabled")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                band: s(&cfg, "band").or_else(|| {
                    s(&cfg, "hwmode").and_then(|h| band_of_hwmode(&h).map(str::to_string))
                }),
                channel: i(&cfg, "channel"),
                width_mhz: htmode.as_deref().and_then(width),
                htmode,
                txpower_dbm: i(&cfg, "txpower"),
                country: s(&cfg, "country"),
                ssids,
                ..Radio::default()
            }
        })
        .collect();
    radios.sort_by(|a, b| a.name.cmp(&b.name));
    radios
}

/// Adds `iwinfo info` of one of the radio's interfaces (live values win over the config).
pub fn apply_info(r: &mut Radio, info: &Value) {
    if let Some(c) = i(info, "channel") {
        r.channel = Some(c);
    }
    if let Some(f) = i(info, "frequency") {
        r.frequency_mhz = Some(f);
        if let Some(b) = band_of_freq(f) {
            r.band = Some(b.to_string());
        }
    }
    if let Some(t) = i(info, "txpower") {
        r.txpower_dbm = Some(t);
    }
    if let Some(n) = i(info, "noise").filter(|n| *n != 0) {
        r.noise_dbm = Some(n);
    }
    if let Some(c) = s(info, "country").filter(|c| c != "00") {
        r.country = Some(c);
    }
    if let Some(h) = s(info, "htmode") {
        r.width_mhz = width(&h).or(r.width_mhz);
        r.htmode = Some(h);
    }
    if let Some(hw) = info.get("hardware").and_then(|h| s(h, "name")) {
        r.hardware = Some(hw);
    }
}

/// Adds `iwinfo survey`: busy/active of the entry on the radio's frequency.
pub fn apply_survey(r: &mut Radio, survey: &Value) {
    let Some(list) = survey.get("results").and_then(Value::as_array) else {
        return;
    };
    let entry = list
        .iter()
        .find(|e| r.frequency_mhz.is_some() && i(e, "mhz") == r.frequency_mhz)
        .or_else(|| (list.len() == 1).then(|| &list[0]));
    if let Some(e) = entry {
        if let (Some(active), Some(busy)) = (u(e, "active_time"), u(e, "busy_time")) {
            if active > 0 {
                r.utilisation_pct =
                    Some(((busy.min(active) as f64 * 1000.0 / active as f64).round()) / 10.0);
            }
        }
        if r.noise_dbm.is_none() {
            r.noise_dbm = i(e, "noise").filter(|n| *n != 0);
        }
    }
}

fn generation(rate: &Value) -> Option<u8> {
    let on = |k: &str| rate.get(k).and_then(Value::as_bool).unwrap_or(false);
    if on("eht") {
        Some(7)
    } else if on("he") {
        Some(6)
    } else if on("vht") {
        Some(5)
    } else if on("ht") {
        Some(4)
    } else {
        None
    }
}

/// Stations of one interface from `iwinfo assoclist`.
pub fn parse_assoclist(list: &Value, ifname: &str, ssid: Option<&str>) -> Vec<Station> {
    list.get("results")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|st| {
                    let mac = super::leases::normalize_mac(st.get("mac")?.as_str()?)?;
                    let rx = st.get("rx").cloned().unwrap_or(Value::Null);
                    let tx = st.get("tx").cloned().unwrap_or(Value::Null);
                    Some(Station {
                        mac,
                        ifname: ifname.to_string(),
                        ssid: ssid.map(str::to_string),
                        signal_dbm: i(st, "signal").filter(|x| *x != 0),
                        noise_dbm: i(st, "noise").filter(|x| *x != 0),
                        rx_rate_kbps: u(&rx, "rate"),
                        tx_rate_kbps: u(&tx, "rate"),
                        generation: generation(&tx).max(generation(&rx)),
                        connected_s: u(st, "connected_time"),
                        inactive_ms: u(st, "inactive"),
                        rx_bytes: u(&rx, "bytes"),
                        tx_bytes: u(&tx, "bytes"),
                    })
                })
                .take(512)
                .collect()
        })
        .unwrap_or_default()
}

/// Everything the Wi-Fi tab shows about local radios. `None`: no `network.wireless` object
/// (no Wi-Fi on this router).
pub fn radios(bus: &dyn Ubus) -> Option<Vec<Radio>> {
    let status = bus.call("network.wireless", "status", &json!({}))?;
    let mut radios = parse_status(&status);
    for r in &mut radios {
        if !r.up {
            continue;
        }
        let ifaces: Vec<(String, Option<String>)> = r
            .ssids
            .iter()
            .filter_map(|x| x.ifname.clone().map(|i| (i, x.ssid.clone())))
            .collect();
        if let Some((first, _)) = ifaces.first() {
            let dev = json!({"device": first});
            if let Some(info) = bus.call("iwinfo", "info", &dev) {
                apply_info(r, &info);
            }
            if let Some(survey) = bus.call("iwinfo", "survey", &dev) {
                apply_survey(r, &survey);
            }
        }
        for (ifname, ssid) in &ifaces {
            let st = bus
                .call("iwinfo", "assoclist", &json!({"device": ifname}))
                .map(|l| parse_assoclist(&l, ifname, ssid.as_deref()))
                .unwrap_or_default();
            if let Some(x) = r
                .ssids
                .iter_mut()
                .find(|x| x.ifname.as_deref() == Some(ifname))
            {
                x.clients = st.len();
            }
            r.stations.extend(st);
        }
    }
    Some(radios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_bands() {
        assert_eq!(width("HT20"), Some(20));
        assert_eq!(width("VHT80"), Some(80));
        assert_eq!(width("HE160"), Some(160));
        assert_eq!(width("EHT320"), Some(320));
        assert_eq!(width("HT40+"), Some(40));
        assert_eq!(width("NOHT"), Some(20));
        assert_eq!(band_of_freq(2437), Some("2g"));
        assert_eq!(band_of_freq(5180), Some("5g"));
        assert_eq!(band_of_freq(5955), Some("6g"));
        assert_eq!(band_of_freq(900), None);
    }
}
