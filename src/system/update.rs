//! The system side of updates (DESIGN §6 Auto-update): which package manager installed
//! JamMonitor and at which version, downloads over HTTPS with the router's downloader, usign
//! verification, sha256, and installing with opkg or apk. Decisions are in actions/update/.
//!
//! Programs (all through the runner): `/bin/uclient-fetch` (OpenWrt's downloader; `/usr/bin/curl`
//! when uclient-fetch is absent), `/usr/bin/usign`, `/usr/bin/sha256sum`, `/bin/opkg`,
//! `/usr/bin/apk`. Under a test root (not `/`) opkg gets `--offline-root <root>` and apk
//! `--root <root>`, curl trusts `<root>/etc/ssl/certs/ca-certificates.crt`.

use super::Root;
use super::runner::{Cmd, run};
use std::time::Duration;

pub const OPKG_STATUS: &str = "/usr/lib/opkg/status";
pub const APK_INSTALLED: &str = "/lib/apk/db/installed";
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ipk,
    Apk,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ipk => "ipk",
            Format::Apk => "apk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub format: Format,
    /// As the package manager spells it (`0.1.0-1`, `0.1.0-r1`).
    pub version: String,
    pub arch: String,
}

/// The installed `pkg` (from opkg's status file or apk's installed database), if any.
pub fn installed(root: &Root, pkg: &str) -> Option<Installed> {
    if let Ok(text) = root.read(OPKG_STATUS, 4 << 20) {
        for stanza in text.split("\n\n") {
            let field = |k: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            };
            if field("Package:").as_deref() == Some(pkg) {
                let status = field("Status:").unwrap_or_default();
                if status.contains("installed") && !status.contains("not-installed") {
                    return Some(Installed {
                        format: Format::Ipk,
                        version: field("Version:")?,
                        arch: field("Architecture:")?,
                    });
                }
            }
        }
    }
    if let Ok(text) = root.read(APK_INSTALLED, 16 << 20) {
        for stanza in text.split("\n\n") {
            let field = |k: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(k).map(|v| v.to_string()))
            };
            if field("P:").as_deref() == Some(pkg) {
                return Some(Installed {
                    format: Format::Apk,
                    version: field("V:")?,
                    arch: field("A:")?,
                });
            }
        }
    }
    None
}

fn tail(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim();
    let start = s.len().saturating_sub(300);
    let start = (start..=s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0);
    s[start..].replace('\n', " / ")
}

/// Downloads `url` (https only) to `dest` (a path under the root), at most `max` bytes. Returns
/// the size written. uclient-fetch on OpenWrt, curl elsewhere.
pub fn download(
    root: &Root,
    url: &str,
    dest: &str,
    max: u64,
    deadline: Duration,
) -> Result<u64, String> {
    if !url.starts_with("https://") {
        return Err(format!("refusing a non-https URL: {url}"));
    }
    let out = root.path(dest);
    let _ = std::fs::remove_file(&out);
    let out_s = out.to_string_lossy().into_owned();
    let secs = deadline.as_secs().clamp(1, 600).to_string();
    let cmd = if root.path("/bin/uclient-fetch").exists() {
        Cmd::new(
            "/bin/uclient-fetch",
            &["-q", "-T", &secs, "-O", &out_s, url],
        )
    } else {
        let mut c = Cmd::new(
            "/usr/bin/curl",
            &[
                "-fsS",
                "--proto",
                "=https",
                "--max-time",
                &secs,
                "--max-filesize",
                &max.to_string(),
                "-o",
                &out_s,
            ],
        );
        let ca = root.path(CA_BUNDLE);
        if !root.is_system() && ca.exists() {
            c = c.arg("--cacert").arg(ca.to_string_lossy().into_owned());
        }
        c.arg(url)
    };
    let cmd = cmd.deadline(deadline + Duration::from_secs(2));
    match run(root, &cmd) {
        Ok(o) if o.success() => {}
        Ok(o) => {
            let _ = std::fs::remove_file(&out);
            return Err(format!(
                "download of {url} failed (exit {}): {}",
                o.code.unwrap_or(-1),
                tail(&o.stderr)
            ));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            return Err(format!("download of {url} failed: {e:?}"));
        }
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    if size > max {
        let _ = std::fs::remove_file(&out);
        return Err(format!("{url} is larger than {max} bytes"));
    }
    Ok(size)
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// Signed by a key not in the key directory (its fingerprint).
    UnknownKey(String),
    /// The signature does not match the file (or cannot be read).
    Bad(String),
}

/// Verifies `file` against `sig` with the keys in `keydir` (one file per key, named by its
/// fingerprint, as /etc/opkg/keys): `usign -V -q -m file -x sig -P keydir`.
pub fn usign_verify(root: &Root, file: &str, sig: &str, keydir: &str) -> Result<String, SigError> {
    let sig_s = root.path(sig).to_string_lossy().into_owned();
    let fp = match run(root, &Cmd::new("/usr/bin/usign", &["-F", "-x", &sig_s])) {
        Ok(o) if o.success() => o.stdout_str().trim().to_string(),
        Ok(o) => {
            return Err(SigError::Bad(format!(
                "unreadable signature: {}",
                tail(&o.stderr)
            )));
        }
        Err(e) => return Err(SigError::Bad(format!("usign: {e:?}"))),
    };
    if fp.len() != 16 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SigError::Bad(format!("unreadable signature: {fp:?}")));
    }
    if !root.path(&format!("{keydir}/{fp}")).is_file() {
        return Err(SigError::UnknownKey(fp));
    }
    let cmd = Cmd::new(
        "/usr/bin/usign",
        &[
            "-V",
            "-q",
            "-m",
            &root.path(file).to_string_lossy(),
            "-x",
            &sig_s,
            "-P",
            &root.path(keydir).to_string_lossy(),
        ],
    );
    match run(root, &cmd) {
        Ok(o) if o.success() => Ok(fp),
        Ok(o) => Err(SigError::Bad(format!(
            "verification failed with key {fp}{}",
            if o.stderr.is_empty() {
                String::new()
            } else {
                format!(": {}", tail(&o.stderr))
            }
        ))),
        Err(e) => Err(SigError::Bad(format!("usign: {e:?}"))),
    }
}

/// sha256 of a file under the root (`sha256sum`, busybox's on the router), lower-case hex.
pub fn sha256(root: &Root, file: &str) -> Result<String, String> {
    let cmd = Cmd::new("/usr/bin/sha256sum", &[&root.path(file).to_string_lossy()])
        .deadline(Duration::from_secs(30));
    match run(root, &cmd) {
        Ok(o) if o.success() => {
            let s = o.stdout_str();
            let h = s
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(h)
            } else {
                Err(format!("sha256sum: unexpected output {s:?}"))
            }
        }
        Ok(o) => Err(format!("sha256sum failed: {}", tail(&o.stderr))),
        Err(e) => Err(format!("sha256sum: {e:?}")),
    }
}

/// Installs package files (paths under the root) with the router's package manager.
/// `downgrade` allows an older version (opkg needs --force-downgrade; apk downgrades a named file).
pub fn install(
    root: &Root,
    format: Format,
    files: &[String],
    downgrade: bool,
    deadline: Duration,
) -> Result<String, String> {
    let base = root.base().to_string_lossy().into_owned();
    let mut cmd = match format {
        Format::Ipk => {
            let mut c = Cmd::new("/bin/opkg", &[]);
            if !root.is_system() {
                c = c.arg("--offline-root").arg(base.clone());
            }
            c = c.arg("install");
            if downgrade {
                c = c.arg("--force-downgrade");
            }
            c
        }
        Format::Apk => {
            let mut c = Cmd::new("/usr/bin/apk", &[]);
            if !root.is_system() {
                c = c.arg("--root").arg(base.clone());
            }
            // Our own usign signature and sha256 were checked before: apk has no key for them.
            c.arg("add").arg("--allow-untrusted")
        }
    };
    for f in files {
        cmd = cmd.arg(root.path(f).to_string_lossy().into_owned());
    }
    let cmd = cmd.deadline(deadline);
    match run(root, &cmd) {
        Ok(o) if o.success() => Ok(tail(&o.stdout)),
        Ok(o) => Err(format!(
            "{} failed (exit {}): {} {}",
            if format == Format::Ipk { "opkg" } else { "apk" },
            o.code.unwrap_or(-1),
            tail(&o.stdout),
            tail(&o.stderr)
        )),
        Err(e) => Err(format!("package manager: {e:?}")),
    }
}

/// Whether a file exists under the root.
pub fn exists(root: &Root, p: &str) -> bool {
    root.path(p).exists()
}

/// Copies a file within the root (keeping packages for rollback).
pub fn copy(root: &Root, from: &str, to: &str) -> Result<(), String> {
    let t = root.path(to);
    if let Some(d) = t.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::copy(root.path(from), &t)
        .map(|_| ())
        .map_err(|e| format!("keeping {from}: {e}"))
}

/// Replaces directory `to` with `from` (both under the root); `from` is gone afterwards.
pub fn replace_dir(root: &Root, from: &str, to: &str) -> Result<(), String> {
    let (f, t) = (root.path(from), root.path(to));
    if t.exists() {
        std::fs::remove_dir_all(&t).map_err(|e| format!("{}: {e}", t.display()))?;
    }
    if let Some(d) = t.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::rename(&f, &t).map_err(|e| format!("{} → {}: {e}", f.display(), t.display()))
}

/// A fresh empty directory under the root.
pub fn fresh_dir(root: &Root, dir: &str) -> Result<(), String> {
    let d = root.path(dir);
    if d.exists() {
        std::fs::remove_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))
}

/// Reads a small file under the root as bytes.
pub fn read_bytes(root: &Root, p: &str, cap: u64) -> Result<Vec<u8>, String> {
    let path = root.path(p);
    let len = std::fs::metadata(&path)
        .map_err(|e| format!("{p}: {e}"))?
        .len();
    if len > cap {
        return Err(format!("{p} is larger than {cap} bytes"));
    }
    std::fs::read(&path).map_err(|e| format!("{p}: {e}"))
}

pub use super::write_atomic;

/// The file name part of a URL path, if it is a safe package file name.
pub fn safe_file_name(url: &str) -> Option<String> {
    let name = url.rsplit('/').next()?;
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        && (name.ends_with(".ipk") || name.ends_with(".apk"));
    ok.then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            safe_file_name("https://x/a/jammonitor_0.2.0-1_x86_64.ipk").as_deref(),
            Some("jammonitor_0.2.0-1_x86_64.ipk")
        );
        assert_eq!(safe_file_name("https://x/../.ipk"), None);
        assert_eq!(safe_file_name("https://x/a%2f.ipk"), None);
        assert_eq!(safe_file_name("https://x/a.sh"), None);
    }

    #[test]
    fn installed_from_both_databases() {
        let d = std::env::temp_dir().join(format!("jm-upd-{}", std::process::id()));
        let root = Root::new(&d);
        std::fs::create_dir_all(root.path("/usr/lib/opkg")).unwrap();
        std::fs::write(
            root.path(OPKG_STATUS),
            "Package: libc\nVersion: 1\nStatus: install user installed\nArchitecture: all\n\n\
             Package: jammonitor\nVersion: 0.1.0-1\nStatus: install user installed\nArchitecture: x86_64\n",
        )
        .unwrap();
        let i = installed(&root, "jammonitor").unwrap();
        assert_eq!(
            (i.format, i.version.as_str(), i.arch.as_str()),
            (Format::Ipk, "0.1.0-1", "x86_64")
        );
        std::fs::remove_file(root.path(OPKG_STATUS)).unwrap();
        std::fs::create_dir_all(root.path("/lib/apk/db")).unwrap();
        std::fs::write(
            root.path(APK_INSTALLED),
            "C:Q1x=\nP:libc\nV:1-r0\nA:noarch\n\nC:Q1y=\nP:jammonitor\nV:0.1.0-r1\nA:aarch64_cortex-a53\n",
        )
        .unwrap();
        let i = installed(&root, "jammonitor").unwrap();
        assert_eq!(
            (i.format, i.version.as_str(), i.arch.as_str()),
            (Format::Apk, "0.1.0-r1", "aarch64_cortex-a53")
        );
        assert_eq!(installed(&root, "nothing"), None);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
