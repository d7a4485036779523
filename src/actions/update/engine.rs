//! What an update does, in order (DESIGN §6 Auto-update). Every refusal says why; no byte that
//! has not passed the checks reaches the package manager:
//! 1. download `<url>/<channel>.json` and `.json.sig` (HTTPS, size-capped);
//! 2. verify the signature with usign against the keys in /usr/share/jammonitor/keys
//!    (unknown key / bad signature → refused), only then parse the index;
//! 3. pick this router's architecture and package format (absent → wrong architecture);
//! 4. compare versions (older → refused unless the request confirms a downgrade; same → nothing);
//! 5. download each package, size = the index's (shorter → truncated), sha256 = the index's;
//! 6. keep the packages of the installed version (if they were kept) as the rollback set,
//!    install with opkg or apk, check the package database shows the new version;
//! 7. keep the new packages with their signed index as the current set.
//!
//! The collector calls [`check_if_due`] at most once a day; the page never triggers a check by
//! loading.

use crate::jobs::Progress;
use crate::system::Root;
use crate::system::update::{self as sys, Format, SigError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

pub const PKG: &str = "jammonitor";
pub const KEYS: &str = "/usr/share/jammonitor/keys";
pub const STATE: &str = "/etc/jammonitor/update/state.json";
pub const KEEP_CURRENT: &str = "/etc/jammonitor/update/current";
pub const KEEP_PREVIOUS: &str = "/etc/jammonitor/update/previous";
pub const WORK: &str = "/tmp/jammonitor-update";
const INDEX_MAX: u64 = 256 << 10;
const SIG_MAX: u64 = 4 << 10;
const PKG_MAX: u64 = 16 << 20;
const DAY: f64 = 24.0 * 3600.0;
pub const DEFAULT_URL: &str =
    "https://github.com/madebyjamstudios/jammonitor/releases/latest/download";

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub url: String,
    pub channel: String,
    pub auto_check: bool,
}

pub fn settings(root: &Root) -> Settings {
    let cfg = crate::system::uci::load(root, "jammonitor").ok();
    let get = |k: &str| {
        cfg.as_ref()
            .and_then(|c| c.get("update", k))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let channel = get("channel")
        .filter(|c| {
            c.len() <= 32
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(|| "stable".into());
    Settings {
        url: get("url")
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_URL.into()),
        channel,
        auto_check: get("auto_check").as_deref() != Some("0"),
    }
}

/// The last check's outcome, kept in STATE.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CheckState {
    pub checked_at: f64,
    pub ok: bool,
    pub error: Option<String>,
    /// The index's version (`0.2.0-1`).
    pub latest: Option<String>,
    pub available: bool,
    /// `user` (check now) or `collector` (daily).
    pub by: String,
}

pub fn read_state(root: &Root) -> Option<CheckState> {
    serde_json::from_slice(&sys::read_bytes(root, STATE, 64 << 10).ok()?).ok()
}

fn write_state(root: &Root, s: &CheckState) {
    let _ = sys::write_atomic(
        root,
        STATE,
        &serde_json::to_vec_pretty(s).unwrap_or_default(),
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PkgEntry {
    pub name: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// The release index (signed with usign; see docs/api.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Index {
    pub format: u32,
    pub version: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub released: Option<String>,
    /// arch → format (`ipk`/`apk`) → the packages to install together.
    pub packages: BTreeMap<String, BTreeMap<String, Vec<PkgEntry>>>,
}

/// `0.2.0-1` / `0.2.0-r1` → ([0,2,0], 1). None when not of that shape.
pub fn parse_version(v: &str) -> Option<(Vec<u64>, u64)> {
    let (up, rel) = v.rsplit_once('-').unwrap_or((v, "0"));
    let rel = rel.strip_prefix('r').unwrap_or(rel).parse().ok()?;
    let nums = up
        .split('.')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    (!nums.is_empty() && nums.len() <= 6).then_some((nums, rel))
}

pub fn cmp_versions(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    Some(parse_version(a)?.cmp(&parse_version(b)?))
}

fn validate(ix: &Index) -> Result<(), String> {
    if ix.format != 1 {
        return Err(format!("index format {} is not supported", ix.format));
    }
    if parse_version(&ix.version).is_none() {
        return Err(format!("index version {:?} is not a version", ix.version));
    }
    for (arch, by_fmt) in &ix.packages {
        for (fmt, list) in by_fmt {
            if list.is_empty() || !list.iter().any(|p| p.name == PKG) {
                return Err(format!("index: {arch}/{fmt} lacks the {PKG} package"));
            }
            for p in list {
                if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("index: {} has no valid sha256", p.name));
                }
                if p.size == 0 || p.size > PKG_MAX {
                    return Err(format!("index: {} has an invalid size", p.name));
                }
                if sys::safe_file_name(&p.url).is_none() {
                    return Err(format!("index: {} has an unsafe URL", p.name));
                }
            }
        }
    }
    Ok(())
}

fn reason(e: SigError, what: &str) -> String {
    match e {
        SigError::UnknownKey(fp) => {
            format!("unknown key: {what} is signed by key {fp}, which this router does not trust")
        }
        SigError::Bad(m) => format!("bad signature on {what}: {m}"),
    }
}

/// Downloads and verifies the index of the configured channel. Verified before it is parsed.
pub fn fetch_index(root: &Root, s: &Settings, deadline: Duration) -> Result<Index, String> {
    sys::fresh_dir(root, WORK)?;
    let url = format!("{}/{}.json", s.url, s.channel);
    sys::download(
        root,
        &url,
        &format!("{WORK}/index.json"),
        INDEX_MAX,
        deadline,
    )?;
    sys::download(
        root,
        &format!("{url}.sig"),
        &format!("{WORK}/index.json.sig"),
        SIG_MAX,
        deadline,
    )?;
    verify_index(root, WORK)
}

/// Verifies `<dir>/index.json` with its `.sig` and parses it.
fn verify_index(root: &Root, dir: &str) -> Result<Index, String> {
    sys::usign_verify(
        root,
        &format!("{dir}/index.json"),
        &format!("{dir}/index.json.sig"),
        KEYS,
    )
    .map_err(|e| reason(e, "the release index"))?;
    let raw = sys::read_bytes(root, &format!("{dir}/index.json"), INDEX_MAX)?;
    let ix: Index =
        serde_json::from_slice(&raw).map_err(|e| format!("the release index is not valid: {e}"))?;
    validate(&ix)?;
    Ok(ix)
}

/// Checks for a newer version now and records the result.
pub fn check(root: &Root, by: &str, deadline: Duration) -> CheckState {
    let s = settings(root);
    let inst = sys::installed(root, PKG);
    let mut st = CheckState {
        // Milliseconds: a 17-digit time does not always read back as the same f64 through
        // serde_json (its default parser may be 1 ULP off), so the recorded state would differ
        // from the one returned; 13 digits always do.
        checked_at: (super::super::now_epoch() * 1000.0).round() / 1000.0,
        by: by.into(),
        ..Default::default()
    };
    match fetch_index(root, &s, deadline) {
        Ok(ix) => {
            st.ok = true;
            st.available = inst.as_ref().is_some_and(|i| {
                cmp_versions(&ix.version, &i.version) == Some(std::cmp::Ordering::Greater)
            });
            st.latest = Some(ix.version);
        }
        Err(e) => st.error = Some(e),
    }
    write_state(root, &st);
    st
}

/// The collector's daily check: when enabled and the last check is a day old (or absent).
pub fn check_if_due(root: &Root) -> Option<CheckState> {
    if !settings(root).auto_check || sys::installed(root, PKG).is_none() {
        return None;
    }
    let now = super::super::now_epoch();
    let due = read_state(root).is_none_or(|s| now - s.checked_at >= DAY || s.checked_at > now);
    due.then(|| check(root, "collector", Duration::from_secs(60)))
}

/// The kept package set's version (`current` or `previous`), from its signed index.
pub fn kept_version(root: &Root, dir: &str) -> Option<String> {
    let raw = sys::read_bytes(root, &format!("{dir}/index.json"), INDEX_MAX).ok()?;
    serde_json::from_slice::<Index>(&raw)
        .ok()
        .map(|i| i.version)
}

fn entries<'a>(ix: &'a Index, inst: &sys::Installed) -> Result<&'a Vec<PkgEntry>, String> {
    let fmt = inst.format.as_str();
    ix.packages
        .get(&inst.arch)
        .and_then(|m| m.get(fmt))
        .ok_or_else(|| {
            format!(
                "wrong architecture: release {} has no {fmt} package for {} (it has: {})",
                ix.version,
                inst.arch,
                ix.packages.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
}

fn resolve_url(base: &str, url: &str) -> String {
    if url.starts_with("https://") {
        url.to_string()
    } else {
        format!("{base}/{}", url.trim_start_matches('/'))
    }
}

/// The install job (`update.install`).
pub fn install_job(root: &Root, p: &mut Progress, allow_downgrade: bool) -> Result<Value, String> {
    let inst = sys::installed(root, PKG)
        .ok_or("JamMonitor is not installed by opkg or apk: nothing to update")?;
    let s = settings(root);
    p.phase(
        "index",
        Some(5.0),
        "downloading and verifying the release index",
    );
    let ix = fetch_index(root, &s, p.remaining().min(Duration::from_secs(60)))?;
    let list = entries(&ix, &inst)?.clone();
    match cmp_versions(&ix.version, &inst.version) {
        Some(std::cmp::Ordering::Equal) => {
            return Err(format!("version {} is already installed", inst.version));
        }
        Some(std::cmp::Ordering::Less) if !allow_downgrade => {
            return Err(format!(
                "downgrade: release {} is older than the installed {}; confirm the downgrade to install it",
                ix.version, inst.version
            ));
        }
        None => {
            return Err(format!(
                "cannot compare {} with {}",
                ix.version, inst.version
            ));
        }
        _ => {}
    }
    let n = list.len() as f64;
    let mut files = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let name = sys::safe_file_name(&e.url).ok_or("unsafe package name")?;
        let url = resolve_url(&s.url, &e.url);
        p.phase(
            "download",
            Some(10.0 + 50.0 * i as f64 / n),
            &format!("downloading {}", e.name),
        );
        let dest = format!("{WORK}/{name}");
        let got = sys::download(
            root,
            &url,
            &dest,
            e.size,
            p.remaining().min(Duration::from_secs(300)),
        )
        .map_err(|m| {
            if m.contains("larger than") || m.contains("exit 63") {
                format!(
                    "{}: download larger than the {} bytes the index says",
                    e.name, e.size
                )
            } else {
                m
            }
        })?;
        if got != e.size {
            return Err(format!(
                "truncated download: {} is {got} bytes, the index says {}",
                e.name, e.size
            ));
        }
        p.phase(
            "verify",
            Some(10.0 + 50.0 * (i as f64 + 0.9) / n),
            &format!("checking {}", e.name),
        );
        let h = sys::sha256(root, &dest)?;
        if !h.eq_ignore_ascii_case(&e.sha256) {
            return Err(format!(
                "bad checksum: {} has sha256 {h}, the signed index says {}",
                e.name, e.sha256
            ));
        }
        files.push(dest);
    }
    // Everything verified: keep the rollback set, then install.
    p.phase(
        "install",
        Some(65.0),
        &format!("installing {} with {}", ix.version, pm(inst.format)),
    );
    let kept_cur = kept_version(root, KEEP_CURRENT);
    if kept_cur.as_deref() == Some(inst.version.as_str()) {
        sys::replace_dir(root, KEEP_CURRENT, KEEP_PREVIOUS)?;
    }
    let downgrade = cmp_versions(&ix.version, &inst.version) == Some(std::cmp::Ordering::Less);
    let log = sys::install(root, inst.format, &files, downgrade, p.remaining())?;
    let now = sys::installed(root, PKG).map(|i| i.version);
    if now.as_deref() != Some(ix.version.as_str())
        && now.as_deref() != Some(&apk_spelling(&ix.version))
    {
        return Err(format!(
            "the package manager finished but {PKG} is at {}: {log}",
            now.unwrap_or_else(|| "nothing".into())
        ));
    }
    // Keep the new set with its signed index (the rollback target of the next update).
    let staging = format!("{KEEP_CURRENT}.new");
    sys::fresh_dir(root, &staging)?;
    for f in files.iter().chain([
        &format!("{WORK}/index.json"),
        &format!("{WORK}/index.json.sig"),
    ]) {
        let name = f.rsplit('/').next().unwrap_or_default();
        sys::copy(root, f, &format!("{staging}/{name}"))?;
    }
    sys::replace_dir(root, &staging, KEEP_CURRENT)?;
    let mut st = read_state(root).unwrap_or_default();
    st.available = false;
    st.latest = Some(ix.version.clone());
    write_state(root, &st);
    p.phase("done", Some(100.0), "installed");
    Ok(
        json!({"version": ix.version, "previous": inst.version, "format": inst.format.as_str(), "reload": true}),
    )
}

/// The rollback job (`update.rollback`): reinstalls the kept previous set, re-verified.
pub fn rollback_job(root: &Root, p: &mut Progress) -> Result<Value, String> {
    let inst = sys::installed(root, PKG).ok_or("JamMonitor is not installed by opkg or apk")?;
    p.phase("verify", Some(10.0), "verifying the kept version");
    if !sys::exists(root, &format!("{KEEP_PREVIOUS}/index.json")) {
        return Err("no previous version is kept (one is kept from the second update on)".into());
    }
    let ix = verify_index(root, KEEP_PREVIOUS)?;
    let list = entries(&ix, &inst)?.clone();
    let mut files = Vec::new();
    for e in &list {
        let name = sys::safe_file_name(&e.url).ok_or("unsafe package name")?;
        let f = format!("{KEEP_PREVIOUS}/{name}");
        let h = sys::sha256(root, &f)?;
        if !h.eq_ignore_ascii_case(&e.sha256) {
            return Err(format!(
                "bad checksum: the kept {} changed since it was verified",
                e.name
            ));
        }
        files.push(f);
    }
    p.phase(
        "install",
        Some(40.0),
        &format!("installing {} with {}", ix.version, pm(inst.format)),
    );
    sys::install(root, inst.format, &files, true, p.remaining())?;
    // swap: the rolled-back-from set becomes the previous one
    let tmp = format!("{KEEP_CURRENT}.swap");
    sys::replace_dir(root, KEEP_PREVIOUS, &tmp)?;
    if sys::exists(root, KEEP_CURRENT) {
        sys::replace_dir(root, KEEP_CURRENT, KEEP_PREVIOUS)?;
    }
    sys::replace_dir(root, &tmp, KEEP_CURRENT)?;
    p.phase("done", Some(100.0), "rolled back");
    Ok(
        json!({"version": ix.version, "previous": inst.version, "format": inst.format.as_str(), "reload": true}),
    )
}

fn pm(f: Format) -> &'static str {
    match f {
        Format::Ipk => "opkg",
        Format::Apk => "apk",
    }
}

/// `0.2.0-1` → `0.2.0-r1` (apk's spelling of the same version).
fn apk_spelling(v: &str) -> String {
    match v.rsplit_once('-') {
        Some((u, r)) if !r.starts_with('r') => format!("{u}-r{r}"),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn versions() {
        assert_eq!(cmp_versions("0.2.0-1", "0.1.0-1"), Some(Greater));
        assert_eq!(cmp_versions("0.1.0-1", "0.1.0-r1"), Some(Equal));
        assert_eq!(cmp_versions("0.1.10-1", "0.1.9-3"), Some(Greater));
        assert_eq!(cmp_versions("0.1.0-2", "0.1.0-10"), Some(Less));
        assert_eq!(cmp_versions("0.1.0", "0.1.0-0"), Some(Equal));
        assert_eq!(cmp_versions("x", "0.1"), None);
        assert_eq!(apk_spelling("0.2.0-1"), "0.2.0-r1");
    }

    /// A recorded check reads back equal: times in milliseconds survive serde_json's parser
    /// (a 17-digit time, 1796673184.9167159, came back as 1796673184.916716).
    #[test]
    fn check_times_round_trip_through_the_state_file() {
        let mut t = 1_796_673_184.916_716_f64;
        for _ in 0..200_000 {
            let ms = (t * 1000.0).round() / 1000.0;
            let back: f64 = serde_json::from_str(&serde_json::to_string(&ms).unwrap()).unwrap();
            assert_eq!(back.to_bits(), ms.to_bits(), "{ms}");
            t += 0.000_977;
        }
        let raw = 1_796_673_184.916_715_9_f64;
        let back: f64 = serde_json::from_str(&serde_json::to_string(&raw).unwrap()).unwrap();
        assert_ne!(
            back.to_bits(),
            raw.to_bits(),
            "the case this guards against"
        );
    }

    /// The collector's daily check: only when installed by a package manager, enabled, and the
    /// last check is a day old; a failed check counts as a check (no retry storm).
    #[test]
    fn daily_check_is_due_once_a_day() {
        let d = std::env::temp_dir().join(format!("jm-due-{}", std::process::id()));
        let root = Root::new(&d);
        // not installed: never
        assert_eq!(check_if_due(&root), None);
        std::fs::create_dir_all(root.path("/usr/lib/opkg")).unwrap();
        std::fs::write(
            root.path(sys::OPKG_STATUS),
            "Package: jammonitor\nVersion: 0.1.0-1\nStatus: install user installed\nArchitecture: x86_64\n",
        )
        .unwrap();
        // never checked: due (no downloader in this root: the check fails and is recorded)
        let st = check_if_due(&root).expect("due");
        assert!(
            !st.ok && st.error.is_some() && st.by == "collector",
            "{st:?}"
        );
        assert_eq!(read_state(&root), Some(st.clone()));
        assert_eq!(check_if_due(&root), None, "checked a moment ago");
        let mut old = st;
        old.checked_at -= DAY + 1.0;
        write_state(&root, &old);
        assert!(check_if_due(&root).is_some(), "a day later");
        old.checked_at = super::super::super::now_epoch() + 3.0 * DAY; // clock went back
        write_state(&root, &old);
        assert!(
            check_if_due(&root).is_some(),
            "a check from the future is not trusted"
        );
        std::fs::create_dir_all(root.path("/etc/config")).unwrap();
        std::fs::write(
            root.path("/etc/config/jammonitor"),
            "config update 'update'\n\toption auto_check '0'\n",
        )
        .unwrap();
        old.checked_at -= 10.0 * DAY;
        write_state(&root, &old);
        assert_eq!(check_if_due(&root), None, "auto_check off");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
