//! The mount table (/proc/self/mounts under the root): what is mounted where; and the commands
//! that change it (`mount`, `umount`, `mkfs.ext4`), each through the runner with a deadline.

use super::Root;
use super::runner::{Cmd, run_ok};
use crate::error::ApiResult;
use std::path::Path;
use std::time::Duration;

/// Options of the history stick: no atime writes, and nothing on it is ever executed or trusted
/// as a device or set-uid file (the predecessor's set).
pub const HISTORY_OPTIONS: &str = "rw,noatime,nosuid,nodev,noexec";
const DEADLINE: Duration = Duration::from_secs(20);

/// `/bin/mount -t <fstype> -o <HISTORY_OPTIONS> <dev> <target>` (paths already under the root).
pub fn mount(root: &Root, fstype: &str, dev: &Path, target: &Path) -> ApiResult<()> {
    run_ok(
        root,
        &Cmd::new("/bin/mount", &["-t", fstype, "-o", HISTORY_OPTIONS])
            .arg(dev.to_string_lossy())
            .arg(target.to_string_lossy())
            .deadline(DEADLINE),
    )
    .map(|_| ())
}

/// `/bin/umount <target>`.
pub fn umount(root: &Root, target: &Path) -> ApiResult<()> {
    run_ok(
        root,
        &Cmd::new("/bin/umount", &[])
            .arg(target.to_string_lossy())
            .deadline(DEADLINE),
    )
    .map(|_| ())
}

/// `/usr/sbin/mkfs.ext4 -F -q -m 1 -L <label> <dev>` (the label is checked by the caller).
pub fn mkfs_ext4(root: &Root, dev: &Path, label: &str, deadline: Duration) -> ApiResult<()> {
    run_ok(
        root,
        &Cmd::new("/usr/sbin/mkfs.ext4", &["-F", "-q", "-m", "1", "-L", label])
            .arg(dev.to_string_lossy())
            .deadline(deadline),
    )
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub options: String,
}

impl Mount {
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// The kernel escapes space, tab, newline and backslash in paths as `\040` `\011` `\012` `\134`.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            Some(Mount {
                source: unescape(it.next()?),
                target: unescape(it.next()?),
                fstype: it.next()?.to_string(),
                options: it.next()?.to_string(),
            })
        })
        .collect()
}

pub fn read(root: &Root) -> Vec<Mount> {
    root.read("/proc/self/mounts", 1 << 20)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// The mount in force at `target` (the last one: later mounts hide earlier ones).
pub fn at<'a>(mounts: &'a [Mount], target: &Path) -> Option<&'a Mount> {
    mounts.iter().rev().find(|m| Path::new(&m.target) == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_lookup() {
        let m = parse(
            "/dev/root /rom squashfs ro,relatime 0 0\n\
             /dev/sda1 /mnt/data ext4 rw,noatime 0 0\n\
             /dev/sdb1 /mnt/my\\040stick vfat rw 0 0\n\
             /dev/sdc1 /mnt/data ext4 ro 0 0\n",
        );
        assert_eq!(m.len(), 4);
        assert_eq!(m[2].target, "/mnt/my stick");
        assert!(m[0].read_only());
        assert_eq!(at(&m, Path::new("/mnt/data")).unwrap().source, "/dev/sdc1");
        assert!(at(&m, Path::new("/mnt")).is_none());
    }
}
