//! Speed-test servers from `/etc/config/jammonitor`, each with the sizes and directions it really
//! offers. Without any `speedtest_server` section the two defaults below apply; with sections,
//! exactly those (so a test rig or an offline router points them at its own hosts).
//!
//! ```text
//! config speedtest_server 'cloudflare'
//!     option label 'Cloudflare'
//!     option download 'https://speed.cloudflare.com/__down?bytes={bytes}'   # {bytes} = MiB × 1048576
//!     option upload 'https://speed.cloudflare.com/__up'                     # POST body of that size
//!     option referer 'https://speed.cloudflare.com/'   # Cloudflare answers 403 without one
//!     list size '10'                                   # MiB, 1–1000; the sizes offered
//!     list size '25'
//!     list size '100'
//! config speedtest_server 'cachefly'
//!     option label 'CacheFly'
//!     option download 'http://cachefly.cachefly.net/{mb}mb.test'           # {mb} = the size in MiB
//!     list size '10'                                   # no 25 MB file there
//!     list size '100'                                  # no upload option: download only
//! ```
//! A direction is offered when its URL is set. A section with a bad value is left out and named
//! in `problems` (the others still work).

use crate::system::speedtest::{Direction, host_port};
use crate::system::uci::{Config, Section};
use serde::Serialize;

pub const SECTION: &str = "speedtest_server";
pub const MAX_SIZE_MB: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub id: String,
    pub label: String,
    #[serde(skip)]
    pub download: Option<String>,
    #[serde(skip)]
    pub upload: Option<String>,
    #[serde(skip)]
    pub referer: Option<String>,
    /// Sorted, MiB.
    pub sizes: Vec<u32>,
    /// `download`/`upload`, the ones it offers.
    pub directions: Vec<&'static str>,
    /// The host the test talks to (shown; the probe's target).
    pub host: String,
}

impl Server {
    pub fn offers(&self, d: Direction) -> bool {
        self.url_template(d).is_some()
    }
    fn url_template(&self, d: Direction) -> Option<&str> {
        match d {
            Direction::Download => self.download.as_deref(),
            Direction::Upload => self.upload.as_deref(),
        }
    }
    /// The URL for a transfer of `size_mb` MiB (placeholders filled in).
    pub fn url(&self, d: Direction, size_mb: u32) -> Option<String> {
        let t = self.url_template(d)?;
        Some(
            t.replace("{bytes}", &(u64::from(size_mb) << 20).to_string())
                .replace("{mb}", &size_mb.to_string()),
        )
    }
}

/// Cloudflare's and CacheFly's real offer (predecessor §6: CacheFly has 10 and 100 MB files
/// only and no upload; Cloudflare needs a Referer).
pub fn defaults() -> Vec<Server> {
    vec![
        build(
            "cloudflare",
            "Cloudflare",
            Some("https://speed.cloudflare.com/__down?bytes={bytes}"),
            Some("https://speed.cloudflare.com/__up"),
            Some("https://speed.cloudflare.com/"),
            vec![10, 25, 100],
        )
        .expect("default server"),
        build(
            "cachefly",
            "CacheFly",
            Some("http://cachefly.cachefly.net/{mb}mb.test"),
            None,
            None,
            vec![10, 100],
        )
        .expect("default server"),
    ]
}

/// http(s), a host, at most 400 plain URL characters (no spaces, quotes or control bytes).
fn valid_url(u: &str) -> bool {
    u.len() <= 400
        && (u.starts_with("http://") || u.starts_with("https://"))
        && host_port(u).is_some()
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&()*+,;=%{}".contains(&b))
}

fn valid_label(l: &str) -> bool {
    !l.trim().is_empty() && l.chars().count() <= 40 && !l.chars().any(char::is_control)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn build(
    id: &str,
    label: &str,
    download: Option<&str>,
    upload: Option<&str>,
    referer: Option<&str>,
    mut sizes: Vec<u32>,
) -> Result<Server, String> {
    if !valid_id(id) {
        return Err("the section name must be 1–32 of a-z, 0-9, _".into());
    }
    if !valid_label(label) {
        return Err("label: 1–40 characters".into());
    }
    for (what, u) in [
        ("download", download),
        ("upload", upload),
        ("referer", referer),
    ] {
        if let Some(u) = u {
            if !valid_url(u) {
                return Err(format!("{what}: not an http(s) URL of plain characters"));
            }
        }
    }
    if let Some(d) = download {
        if !d.contains("{bytes}") && !d.contains("{mb}") {
            return Err("download: needs {bytes} or {mb} where the size goes".into());
        }
    }
    if download.is_none() && upload.is_none() {
        return Err("neither download nor upload is set".into());
    }
    if sizes.is_empty() {
        return Err("size: at least one".into());
    }
    if sizes.iter().any(|s| *s == 0 || *s > MAX_SIZE_MB) {
        return Err(format!("size: 1–{MAX_SIZE_MB} MiB"));
    }
    sizes.sort_unstable();
    sizes.dedup();
    let host = download
        .or(upload)
        .and_then(host_port)
        .map(|(h, _)| h)
        .unwrap_or_default();
    let mut directions = Vec::new();
    if download.is_some() {
        directions.push("download");
    }
    if upload.is_some() {
        directions.push("upload");
    }
    Ok(Server {
        id: id.into(),
        label: label.into(),
        download: download.map(str::to_string),
        upload: upload.map(str::to_string),
        referer: referer.map(str::to_string),
        sizes,
        directions,
        host,
    })
}

fn from_section(s: &Section) -> Result<Server, String> {
    let mut sizes = Vec::new();
    for v in s.list("size") {
        sizes.push(
            v.parse::<u32>()
                .map_err(|_| format!("size {v:?}: a whole number of MiB"))?,
        );
    }
    build(
        &s.name,
        s.get("label").unwrap_or(&s.name),
        s.get("download"),
        s.get("upload"),
        s.get("referer"),
        sizes,
    )
}

/// The servers to offer, and the sections that were left out (with why).
pub fn load(jm: &Config) -> (Vec<Server>, Vec<String>) {
    let sections: Vec<&Section> = jm.of_type(SECTION).collect();
    if sections.is_empty() {
        return (defaults(), Vec::new());
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for s in sections {
        match from_section(s) {
            Ok(v) if out.iter().any(|o: &Server| o.id == v.id) => problems.push(format!(
                "jammonitor.{}: a second server of that name",
                s.name
            )),
            Ok(v) => out.push(v),
            Err(e) => problems.push(format!("jammonitor.{} ignored: {e}", s.name)),
        }
    }
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::uci::file::parse;

    #[test]
    fn defaults_offer_what_the_real_servers_have() {
        let (s, p) = load(&parse("config jammonitor 'main'\n").unwrap());
        assert!(p.is_empty());
        let cf = &s[0];
        let cache = &s[1];
        assert_eq!(cf.sizes, [10, 25, 100]);
        assert_eq!(cf.directions, ["download", "upload"]);
        assert_eq!(
            cf.url(Direction::Download, 25).unwrap(),
            "https://speed.cloudflare.com/__down?bytes=26214400"
        );
        assert_eq!(
            cf.url(Direction::Upload, 10).unwrap(),
            "https://speed.cloudflare.com/__up"
        );
        assert_eq!(cf.referer.as_deref(), Some("https://speed.cloudflare.com/"));
        assert_eq!(cache.sizes, [10, 100]);
        assert_eq!(cache.directions, ["download"]);
        assert!(!cache.offers(Direction::Upload));
        assert_eq!(cache.url(Direction::Upload, 10), None);
        assert_eq!(
            cache.url(Direction::Download, 100).unwrap(),
            "http://cachefly.cachefly.net/100mb.test"
        );
        assert_eq!(cache.host, "cachefly.cachefly.net");
    }

    #[test]
    fn configured_list_replaces_the_defaults_and_bad_sections_are_named() {
        let cfg = parse(
            "config speedtest_server 'rig'\n\toption label 'Rig VPS'\n\
             \toption download 'http://203.0.113.10/__down?bytes={bytes}'\n\
             \toption upload 'http://203.0.113.10/__up'\n\tlist size '5'\n\tlist size '2'\n\
             config speedtest_server 'nosize'\n\toption download 'http://x/{mb}mb.test'\n\
             config speedtest_server 'shell'\n\toption download 'http://x/$(reboot) {mb}'\n\tlist size '1'\n\
             config speedtest_server 'noph'\n\toption download 'http://x/file'\n\tlist size '1'\n\
             config speedtest_server 'big'\n\toption download 'http://x/{mb}'\n\tlist size '1001'\n\
             config speedtest_server 'ftp'\n\toption upload 'ftp://x/up'\n\tlist size '1'\n\
             config speedtest_server 'none'\n\tlist size '1'\n",
        )
        .unwrap();
        let (s, p) = load(&cfg);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].id, "rig");
        assert_eq!(s[0].label, "Rig VPS");
        assert_eq!(s[0].sizes, [2, 5]);
        assert_eq!(s[0].host, "203.0.113.10");
        assert_eq!(p.len(), 6, "{p:?}");
        for name in ["nosize", "shell", "noph", "big", "ftp", "none"] {
            assert!(
                p.iter()
                    .any(|x| x.starts_with(&format!("jammonitor.{name} "))),
                "{name}: {p:?}"
            );
        }
    }
}
