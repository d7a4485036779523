//! Readers for /sys: thermal zones (every zone with its type, not only zone0).

use super::Root;

#[derive(Debug, Clone, PartialEq)]
pub struct Thermal {
    pub zone: String,
    pub kind: String,
    pub temp_c: f64,
}

pub fn thermal(root: &Root) -> Vec<Thermal> {
    let Ok(dir) = std::fs::read_dir(root.path("/sys/class/thermal")) else {
        return Vec::new();
    };
    let mut zones: Vec<Thermal> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let zone = e.file_name().to_string_lossy().into_owned();
            if !zone.starts_with("thermal_zone") {
                return None;
            }
            let base = format!("/sys/class/thermal/{zone}");
            // Millidegrees on every current driver; a zone that can't be read right now is skipped.
            let milli: i64 = root.read_line(&format!("{base}/temp"))?.parse().ok()?;
            let kind = root.read_line(&format!("{base}/type")).unwrap_or_default();
            Some(Thermal {
                zone,
                kind,
                temp_c: milli as f64 / 1000.0,
            })
        })
        .collect();
    zones.sort_by_key(|z| natural_key(&z.zone));
    zones
}

fn natural_key(s: &str) -> (String, u64) {
    let digits: String = s
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (
        s[..s.len() - digits.len()].to_string(),
        digits.parse().unwrap_or(0),
    )
}
