//! Device types: what the Clients tab shows as an icon and the user may override. Detection
//! from the hostname (the name the device gives itself in DHCP), the DHCP vendor class dnsmasq
//! logged, and the MAC vendor's hint, in that order of trust.

use crate::system::oui::{self, Vendor};

/// Every type a client can have (`unknown` = none detected); the override must be one of these.
pub const TYPES: &[&str] = &[
    "phone",
    "tablet",
    "laptop",
    "desktop",
    "server",
    "tv",
    "streaming",
    "console",
    "printer",
    "camera",
    "speaker",
    "iot",
    "hub",
    "router",
    "access_point",
    "switch",
    "nas",
    "wearable",
    "voip",
    "ereader",
    "vm",
    "unknown",
];

/// (type, hostname patterns) in priority order: a more specific pattern comes first
/// ("nintendo-switch" is a console before "switch" is a network switch, "galaxy-watch" a
/// wearable before "galaxy" a phone, "fire-tv" a streaming box before "tv").
/// A pattern matches a word start: at the beginning or after `-`, `_`, `.`, space or a digit,
/// and `$` at its end means the word ends there.
const PATTERNS: &[(&str, &[&str])] = &[
    (
        "console",
        &[
            "playstation",
            "ps4",
            "ps5",
            "xbox",
            "nintendo",
            "steamdeck",
            "steam-deck",
            "switch-oled",
        ],
    ),
    (
        "wearable",
        &[
            "watch",
            "fitbit",
            "garmin",
            "oura",
            "galaxy-fit",
            "mi-band",
            "miband",
        ],
    ),
    (
        "streaming",
        &[
            "chromecast",
            "appletv",
            "apple-tv",
            "roku",
            "firetv",
            "fire-tv",
            "nvidia-shield",
            "mibox",
            "google-tv",
            "googletv",
            "tivo",
            "androidtv",
            "android-tv",
        ],
    ),
    (
        "tablet",
        &[
            "ipad",
            "tablet",
            "galaxy-tab",
            "galaxytab",
            "tab-",
            "mediapad",
            "matepad",
            "lenovo-tab",
            "kindle-fire",
        ],
    ),
    (
        "ereader",
        &[
            "kindle",
            "kobo",
            "ebook",
            "pocketbook",
            "remarkable",
            "tolino",
        ],
    ),
    (
        "phone",
        &[
            "iphone",
            "android",
            "galaxy",
            "pixel",
            "oneplus",
            "redmi",
            "poco",
            "xiaomi",
            "huawei",
            "honor",
            "oppo",
            "vivo",
            "realme",
            "moto",
            "nokia",
            "phone",
            "sm-",
            "fairphone",
        ],
    ),
    (
        "laptop",
        &[
            "macbook",
            "laptop",
            "notebook",
            "thinkpad",
            "xps",
            "zenbook",
            "vivobook",
            "surface",
            "chromebook",
            "ideapad",
            "latitude",
            "elitebook",
            "probook",
            "yoga",
            "framework",
            "inspiron",
        ],
    ),
    (
        "desktop",
        &[
            "imac",
            "mac-mini",
            "macmini",
            "mac-pro",
            "macpro",
            "mac-studio",
            "desktop",
            "workstation",
            "optiplex",
            "gaming-pc",
            "pc",
        ],
    ),
    (
        "nas",
        &[
            "nas",
            "synology",
            "diskstation",
            "ds2",
            "ds9",
            "qnap",
            "truenas",
            "freenas",
            "unraid",
            "readynas",
            "mycloud",
            "wdmycloud",
        ],
    ),
    (
        "hub",
        &[
            "homeassistant",
            "home-assistant",
            "hassio",
            "hubitat",
            "smartthings",
            "homey",
            "hue-bridge",
            "philips-hue",
            "bridge",
        ],
    ),
    (
        "printer",
        &[
            "printer",
            "epson",
            "canon",
            "brother",
            "brn",
            "npi",
            "officejet",
            "laserjet",
            "deskjet",
            "envy",
            "mfc-",
            "lexmark",
            "xerox",
            "kyocera",
        ],
    ),
    (
        "camera",
        &[
            "camera",
            "cam",
            "ipc",
            "hikvision",
            "dahua",
            "reolink",
            "doorbell",
            "arlo",
            "wyze",
            "ring-",
            "nvr",
            "dvr",
        ],
    ),
    (
        "speaker",
        &[
            "echo",
            "alexa",
            "sonos",
            "homepod",
            "google-home",
            "googlehome",
            "nest-mini",
            "nest-audio",
            "nest-hub",
            "bose",
            "speaker",
            "soundbar",
        ],
    ),
    (
        "tv",
        &[
            "tv",
            "bravia",
            "webos",
            "lgwebos",
            "tizen",
            "samsung-tv",
            "hisense",
            "vizio",
            "philips-tv",
        ],
    ),
    (
        "voip",
        &[
            "voip",
            "sip",
            "yealink",
            "grandstream",
            "polycom",
            "snom",
            "spa5",
            "gigaset",
        ],
    ),
    (
        "access_point",
        &[
            "ap-",
            "access-point",
            "accesspoint",
            "unifi",
            "uap",
            "eap",
            "deco",
            "mesh",
            "extender",
            "repeater",
        ],
    ),
    ("switch", &["switch", "usw", "gs108", "gs308", "sg1"]),
    (
        "router",
        &["router", "openwrt", "gateway", "fritz", "mikrotik", "omr"],
    ),
    (
        "server",
        &["server", "srv", "proxmox", "pve", "docker", "k8s", "nuc"],
    ),
    ("vm", &["vm-", "virtual", "vbox", "qemu"]),
    (
        "iot",
        &[
            "esp",
            "tasmota",
            "shelly",
            "tuya",
            "sonoff",
            "smart-plug",
            "smartplug",
            "plug",
            "bulb",
            "lamp",
            "light",
            "thermostat",
            "nest",
            "ecobee",
            "roomba",
            "irobot",
            "vacuum",
            "wled",
            "raspberrypi",
            "rpi",
            "homekit",
            "zigbee",
            "iot",
        ],
    ),
];

fn boundary(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.' | b' ' | b'\'') || b.is_ascii_digit()
}

/// Patterns by their first byte, each with its type's rank in [`PATTERNS`] (a lookup costs a
/// few comparisons per word instead of one scan per pattern: the Clients tab classifies every
/// client on every poll).
static INDEX: std::sync::LazyLock<Vec<Vec<(usize, &'static str)>>> =
    std::sync::LazyLock::new(|| {
        let mut v: Vec<Vec<(usize, &'static str)>> = vec![Vec::new(); 256];
        for (rank, (_, pats)) in PATTERNS.iter().enumerate() {
            for p in pats.iter() {
                v[p.as_bytes()[0] as usize].push((rank, *p));
            }
        }
        v
    });

/// The best-ranked pattern that starts a word of `name` (lowercase).
fn best(name: &str) -> Option<usize> {
    let b = name.as_bytes();
    let mut found: Option<usize> = None;
    for at in 0..b.len() {
        if at > 0 && !boundary(b[at - 1]) {
            continue;
        }
        for (rank, p) in &INDEX[b[at] as usize] {
            if found.is_some_and(|f| f <= *rank) {
                continue;
            }
            if b[at..].starts_with(p.as_bytes()) {
                found = Some(*rank);
            }
        }
    }
    found
}

/// The type a hostname suggests, if any.
pub fn from_hostname(hostname: &str) -> Option<&'static str> {
    // CamelCase words ("BensiPhone", "LivingRoomTV") count as separate words.
    let mut split = String::with_capacity(hostname.len() + 8);
    let mut prev_lower = false;
    for c in hostname.chars().take(64) {
        if c.is_ascii_uppercase() && prev_lower {
            split.push('-');
        }
        prev_lower = c.is_ascii_lowercase();
        split.push(c.to_ascii_lowercase());
    }
    let plain = hostname
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let rank = match (best(&split), best(&plain)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    rank.map(|r| PATTERNS[r].0)
}

/// The type a DHCP vendor class (option 60) suggests.
pub fn from_vendor_class(vc: &str) -> Option<&'static str> {
    let v = vc.to_ascii_lowercase();
    if v.starts_with("android-dhcp") {
        Some("phone")
    } else if v.starts_with("msft") {
        Some("desktop")
    } else if v.starts_with("udhcp") {
        Some("iot")
    } else if v.contains("polycom") || v.contains("yealink") || v.contains("grandstream") {
        Some("voip")
    } else if v.contains("playstation") || v.contains("nintendo") || v.contains("xbox") {
        Some("console")
    } else {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub kind: &'static str,
    /// `hostname`, `vendor_class`, `vendor` or `none`.
    pub source: &'static str,
    pub vendor: Option<&'static str>,
    pub private_mac: bool,
}

pub fn detect(mac: Option<&str>, hostname: Option<&str>, vendor_class: Option<&str>) -> Detected {
    let v = mac.map(oui::lookup).unwrap_or(Vendor::Unknown);
    let (vendor, hint, private_mac) = match v {
        Vendor::Known { name, hint } => (Some(name), hint, false),
        Vendor::Private => (None, None, true),
        Vendor::Unknown => (None, None, false),
    };
    let (kind, source) = if let Some(k) = hostname.and_then(from_hostname) {
        (k, "hostname")
    } else if let Some(k) = vendor_class.and_then(from_vendor_class) {
        (k, "vendor_class")
    } else if let Some(k) = hint {
        (k, "vendor")
    } else {
        ("unknown", "none")
    };
    Detected {
        kind,
        source,
        vendor,
        private_mac,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for (name, want) in [
            ("anna-laptop", Some("laptop")),
            ("Bens-iPhone", Some("phone")),
            ("BensiPhone", Some("phone")),
            ("livingroom-tv", Some("tv")),
            ("LivingRoomTV", Some("tv")),
            ("Galaxy-Watch5", Some("wearable")),
            ("Galaxy-S23", Some("phone")),
            ("Galaxy-Tab-S8", Some("tablet")),
            ("Nintendo-Switch", Some("console")),
            ("usw-lite-8", Some("switch")),
            ("PS5-123", Some("console")),
            ("DESKTOP-4F2K9QA", Some("desktop")),
            ("LAPTOP-7H3J2K1", Some("laptop")),
            ("HP3C2AF4-officejet", Some("printer")),
            ("BRN008077A1B2C3", Some("printer")),
            ("Chromecast-Ultra", Some("streaming")),
            ("fire-tv-stick", Some("streaming")),
            ("Kindle", Some("ereader")),
            ("esp32-4a1b2c", Some("iot")),
            ("shelly1pm-A1B2C3", Some("iot")),
            ("homeassistant", Some("hub")),
            ("DiskStation", Some("nas")),
            ("MacBook-Pro", Some("laptop")),
            ("iPad", Some("tablet")),
            ("<img src=x onerror=alert(1)>", None),
            ("capture", None),
            ("", None),
        ] {
            assert_eq!(from_hostname(name), want, "{name}");
        }
    }

    #[test]
    fn detection_order() {
        let d = detect(Some("02:00:00:00:01:0b"), Some("Bens-iPhone"), None);
        assert_eq!(
            (d.kind, d.source, d.private_mac),
            ("phone", "hostname", true)
        );
        let d = detect(Some("dc:a6:32:00:00:01"), None, None);
        assert_eq!(
            (d.kind, d.source, d.vendor),
            ("iot", "vendor", Some("Raspberry Pi"))
        );
        let d = detect(Some("dc:a6:32:00:00:01"), None, Some("android-dhcp-13"));
        assert_eq!((d.kind, d.source), ("phone", "vendor_class"));
        let d = detect(Some("3c:22:fb:00:00:01"), None, None);
        assert_eq!(
            (d.kind, d.source, d.vendor),
            ("unknown", "none", Some("Apple"))
        );
        assert!(TYPES.len() >= 20);
        for (t, _) in PATTERNS {
            assert!(TYPES.contains(t), "{t}");
        }
    }
}
