//! The Overview snapshot, `/var/run/jammonitor/overview.json` (RAM): `overview`'s `data`, built
//! by the collector once a second while a page shows the Overview, and served by the CGI instead
//! of asking the kernel, netifd and the configs again for every open tab's poll — as the
//! collector's one pinger serves every tab's ping graphs.
//!
//! - Demand: every `overview` request touches `overview.wanted` (one `utimensat`); the collector
//!   builds only while that marker is younger than [`WANT_FOR`], so an idle router pays one
//!   `stat` a second.
//! - Freshness: the CGI serves a snapshot only when its mtime is at most [`MAX_AGE`] old (and
//!   not in the future: a clock set back), and it looks whole. Otherwise — collector stopped or
//!   just asked, clock jump, damaged file — the CGI builds the answer itself, exactly as the
//!   collector would (the same `overview::build`). So an answer is never older than `MAX_AGE`,
//!   and `generated_at` says when it was built.
//! - The collector writes it atomically (temp file + rename, `collector/src/snapshot.rs`) and
//!   removes it when it stops. Every POST action and every job removes it when it ends
//!   ([`invalidate`]), so a change shows at the next poll instead of up to `MAX_AGE` later.

use crate::system::Root;
use std::io::Read;
use std::time::{Duration, SystemTime};

pub const SNAPSHOT: &str = "/var/run/jammonitor/overview.json";
pub const WANTED: &str = "/var/run/jammonitor/overview.wanted";
/// How often the collector builds while wanted.
pub const PERIOD: Duration = Duration::from_secs(1);
/// The oldest snapshot the CGI serves: one period late plus scheduling slack.
pub const MAX_AGE: Duration = Duration::from_millis(2000);
/// How long after the last `overview` request the collector keeps building (a page polls every
/// 3 s; a hidden tab stops polling).
pub const WANT_FOR: Duration = Duration::from_secs(60);
/// A snapshot larger than this is not ours (the answer is a few KB).
const CAP: u64 = 512 << 10;

/// Marks the Overview as watched now (every `overview` request). Best effort: a marker that
/// cannot be written only means the next request builds its own answer.
pub fn want(root: &Root) {
    use nix::sys::stat::{UtimensatFlags, utimensat};
    use nix::sys::time::TimeSpec;
    let path = root.path(WANTED);
    let now = TimeSpec::UTIME_NOW;
    if utimensat(
        nix::fcntl::AT_FDCWD,
        &path,
        &now,
        &now,
        UtimensatFlags::FollowSymlink,
    )
    .is_err()
    {
        if let Some(d) = path.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path);
    }
}

/// Drops the snapshot (after a write or a job: what it shows may have changed), so the next
/// request builds. A build that raced the write may still be renamed in after this: the old
/// state is then served for at most [`MAX_AGE`].
pub fn invalidate(root: &Root) {
    invalidate_path(&root.path(SNAPSHOT));
}

pub fn invalidate_path(snapshot: &std::path::Path) {
    let _ = std::fs::remove_file(snapshot);
}

/// Has an `overview` been asked within [`WANT_FOR`] of `now`? (The collector, once a period.)
/// A marker in the future (the clock was set back) counts as wanted: the next request fixes it.
pub fn wanted(root: &Root, now: SystemTime) -> bool {
    let Ok(m) = std::fs::metadata(root.path(WANTED)).and_then(|m| m.modified()) else {
        return false;
    };
    now.duration_since(m).map_or(true, |age| age <= WANT_FOR)
}

/// Is a snapshot written at `mtime` fresh enough to serve at `now`?
pub fn fresh(mtime: SystemTime, now: SystemTime) -> bool {
    now.duration_since(mtime).is_ok_and(|age| age <= MAX_AGE)
}

/// The snapshot's bytes (a JSON object), when fresh and whole; `None` means build the answer.
pub fn read_fresh(root: &Root, now: SystemTime) -> Option<Vec<u8>> {
    let f = std::fs::File::open(root.path(SNAPSHOT)).ok()?;
    let meta = f.metadata().ok()?;
    if !fresh(meta.modified().ok()?, now) || meta.len() < 2 || meta.len() > CAP {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(CAP).read_to_end(&mut bytes).ok()?;
    whole(&bytes).then_some(bytes)
}

/// What the collector writes is one serialized JSON object; anything else (a truncated or
/// foreign file) is not served. Cheap on purpose: the file is root's, written by rename.
pub fn whole(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == b'{' && bytes[bytes.len() - 1] == b'}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(fresh(t, t));
        assert!(fresh(t, t + MAX_AGE));
        assert!(!fresh(t, t + MAX_AGE + Duration::from_millis(1)));
        // written "after now": the clock went back since; never served
        assert!(!fresh(t + Duration::from_millis(1), t));
    }

    #[test]
    fn wholeness() {
        assert!(whole(b"{}"));
        assert!(whole(b"{\"a\":1}"));
        assert!(!whole(b"{\"a\":1"));
        assert!(!whole(b"[1]"));
        assert!(!whole(b"{"));
        assert!(!whole(b""));
    }

    #[test]
    fn marker_and_snapshot_files() {
        let dir = std::env::temp_dir().join(format!("jm-snapshot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = Root::new(&dir);
        let now = SystemTime::now();
        assert!(!wanted(&root, now));
        want(&root);
        assert!(wanted(&root, SystemTime::now()));
        assert!(!wanted(
            &root,
            SystemTime::now() + WANT_FOR + Duration::from_secs(1)
        ));
        // a second touch moves the marker forward (no error on an existing file)
        want(&root);
        assert!(wanted(&root, SystemTime::now()));

        assert_eq!(read_fresh(&root, SystemTime::now()), None);
        std::fs::write(root.path(SNAPSHOT), b"{\"x\":1}").unwrap();
        assert_eq!(
            read_fresh(&root, SystemTime::now()).as_deref(),
            Some(&b"{\"x\":1}"[..])
        );
        assert_eq!(
            read_fresh(&root, SystemTime::now() + MAX_AGE + Duration::from_secs(1)),
            None
        );
        std::fs::write(root.path(SNAPSHOT), b"{\"x\":").unwrap();
        assert_eq!(read_fresh(&root, SystemTime::now()), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
