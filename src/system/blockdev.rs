//! Block devices for the storage page: disks and partitions from sysfs (`/sys/block` under the
//! root, so tests give a loop device a fixture entry with `removable` set: the one narrow seam),
//! filesystem type/UUID/label read straight from the superblock (no `blkid`/`block info` child),
//! which devices hold system mounts, and a device identity to re-check before anything
//! destructive.

use super::Root;
use super::mounts::{self, Mount};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

/// Mount points that make the disk holding them a system disk (never formatted, never listed
/// as storage).
pub const SYSTEM_TARGETS: &[&str] = &["/", "/rom", "/overlay", "/boot"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Block {
    pub name: String,
    /// The whole disk this is (or is a partition of).
    pub disk: String,
    pub partition: bool,
    /// `major:minor` from sysfs.
    pub dev: String,
    pub size_bytes: u64,
    /// `removable` is 1, or the disk sits on a USB bus (USB disks and SSDs often say 0).
    pub removable: bool,
    pub usb: bool,
    pub read_only: bool,
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub serial: Option<String>,
}

/// Kernel names we accept from a request: `sda1`, `mmcblk0p1`, `nvme0n1p2`, `loop7`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Disks that are never storage candidates: RAM disks, compressed swap, raw flash.
fn virtual_disk(name: &str) -> bool {
    [
        "ram", "zram", "mtdblock", "ubiblock", "dm-", "md", "nbd", "sr", "fd",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn read_opt(root: &Root, abs: &str) -> Option<String> {
    root.read_line(abs).filter(|s| !s.is_empty())
}

fn block_at(
    root: &Root,
    sys: &str,
    name: &str,
    disk: &str,
    partition: bool,
    removable: bool,
    usb: bool,
) -> Option<Block> {
    let dev = read_opt(root, &format!("{sys}/dev"))?;
    let sectors: u64 = root.read_u64(&format!("{sys}/size"))?;
    let dsys = format!("/sys/block/{disk}");
    let clean = |s: Option<String>| {
        s.map(|v| {
            v.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
    };
    Some(Block {
        name: name.to_string(),
        disk: disk.to_string(),
        partition,
        dev,
        size_bytes: sectors * 512,
        removable,
        usb,
        read_only: root.read_line(&format!("{sys}/ro")).as_deref() == Some("1"),
        model: clean(read_opt(root, &format!("{dsys}/device/model"))),
        vendor: clean(read_opt(root, &format!("{dsys}/device/vendor"))),
        serial: clean(
            read_opt(root, &format!("{dsys}/device/serial"))
                .or_else(|| read_opt(root, &format!("{dsys}/device/wwid"))),
        ),
    })
}

/// Every disk (sorted) followed by its partitions.
pub fn list(root: &Root) -> Vec<Block> {
    let Ok(dir) = std::fs::read_dir(root.path("/sys/block")) else {
        return Vec::new();
    };
    let mut disks: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| valid_name(n) && !virtual_disk(n))
        .collect();
    disks.sort();
    let mut out = Vec::new();
    for disk in disks {
        let sys = format!("/sys/block/{disk}");
        let usb = std::fs::read_link(root.path(&sys))
            .map(|p| p.to_string_lossy().contains("/usb"))
            .unwrap_or(false);
        let removable = root.read_line(&format!("{sys}/removable")).as_deref() == Some("1") || usb;
        let Some(b) = block_at(root, &sys, &disk, &disk, false, removable, usb) else {
            continue;
        };
        if b.size_bytes == 0 {
            continue; // an unused loop device, an empty card reader
        }
        out.push(b);
        let mut parts: Vec<String> = std::fs::read_dir(root.path(&sys))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(disk.as_str()) && valid_name(n))
                    .filter(|n| root.path(&format!("{sys}/{n}/partition")).exists())
                    .collect()
            })
            .unwrap_or_default();
        parts.sort_by_key(|p| (p.len(), p.clone()));
        for p in parts {
            if let Some(pb) = block_at(root, &format!("{sys}/{p}"), &p, &disk, true, removable, usb)
            {
                out.push(pb);
            }
        }
    }
    out
}

pub fn find(root: &Root, name: &str) -> Option<Block> {
    if !valid_name(name) {
        return None;
    }
    list(root).into_iter().find(|b| b.name == name)
}

/// `major:minor` of a device node (stat's st_rdev).
pub fn rdev_of(path: &Path) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let md = std::fs::metadata(path).ok()?;
    if !md.file_type().is_block_device() {
        return None;
    }
    let rdev = md.rdev();
    Some(format!("{}:{}", libc::major(rdev), libc::minor(rdev)))
}

/// What the mount table says about the block devices.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// `major:minor` → mount targets (as the kernel reports them).
    pub mounted: HashMap<String, Vec<String>>,
    /// Disks holding /, /rom, /overlay or /boot.
    pub system_disks: BTreeSet<String>,
    /// The system mount points found, for messages.
    pub system_reasons: HashMap<String, Vec<String>>,
}

impl Usage {
    pub fn targets(&self, b: &Block) -> &[String] {
        self.mounted.get(&b.dev).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn is_system(&self, b: &Block) -> bool {
        self.system_disks.contains(&b.disk)
    }
}

/// Maps each mount with a device source to its block device (by device number, so `/dev/root`
/// and symlinked names resolve), and marks the disks that hold system mounts. A target counts
/// as a system target either literally (the router's `/`, `/overlay` …) or under the root
/// (a test root's `<root>/overlay`).
pub fn usage(root: &Root, blocks: &[Block], mounts: &[Mount]) -> Usage {
    let mut u = Usage::default();
    let by_dev: HashMap<&str, &Block> = blocks.iter().map(|b| (b.dev.as_str(), b)).collect();
    let sys_targets: Vec<(String, &str)> = SYSTEM_TARGETS
        .iter()
        .flat_map(|t| {
            let mut v = vec![(t.to_string(), *t)];
            if !root.is_system() {
                v.push((
                    root.path(t)
                        .to_string_lossy()
                        .trim_end_matches('/')
                        .to_string(),
                    *t,
                ));
            }
            v
        })
        .collect();
    let mut cache: HashMap<&str, Option<String>> = HashMap::new();
    for m in mounts {
        if !m.source.starts_with("/dev/") {
            continue;
        }
        let dev = cache
            .entry(m.source.as_str())
            .or_insert_with(|| rdev_of(&root.path(&m.source)))
            .clone();
        let Some(dev) = dev else { continue };
        u.mounted
            .entry(dev.clone())
            .or_default()
            .push(m.target.clone());
        if let Some((_, name)) = sys_targets.iter().find(|(t, _)| {
            let target = m.target.trim_end_matches('/');
            target == t.trim_end_matches('/') || (t == "/" && m.target == "/")
        }) {
            if let Some(b) = by_dev.get(dev.as_str()) {
                u.system_disks.insert(b.disk.clone());
                u.system_reasons
                    .entry(b.disk.clone())
                    .or_default()
                    .push(name.to_string());
            }
        }
    }
    u
}

/// Filesystem facts from the first 4 KiB of a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FsInfo {
    pub fstype: Option<String>,
    pub uuid: Option<String>,
    pub label: Option<String>,
}

fn cstr(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s: String = String::from_utf8_lossy(&b[..end])
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    (!s.is_empty()).then_some(s)
}

/// Recognises ext2/3/4, FAT, exFAT, NTFS, F2FS, swap and squashfs from a superblock image.
pub fn probe_bytes(b: &[u8]) -> FsInfo {
    let le16 = |o: usize| b.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let le32 = |o: usize| {
        b.get(o..o + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
    };
    let mut fs = FsInfo::default();
    if le16(0x438) == Some(0xEF53) {
        let compat = le32(0x45C).unwrap_or(0);
        let incompat = le32(0x460).unwrap_or(0);
        let kind = if incompat & (0x40 | 0x80 | 0x200) != 0 {
            "ext4"
        } else if compat & 0x4 != 0 {
            "ext3"
        } else {
            "ext2"
        };
        fs.fstype = Some(kind.into());
        if let Some(u) = b.get(0x468..0x478) {
            let h: String = u.iter().map(|x| format!("{x:02x}")).collect();
            fs.uuid = Some(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ));
        }
        fs.label = b.get(0x478..0x488).and_then(cstr);
    } else if b.get(3..11) == Some(b"EXFAT   ") {
        fs.fstype = Some("exfat".into());
    } else if b.get(3..11) == Some(b"NTFS    ") {
        fs.fstype = Some("ntfs".into());
    } else if b.get(0x52..0x57) == Some(b"FAT32") || b.get(0x36..0x39) == Some(b"FAT") {
        fs.fstype = Some("vfat".into());
        let (id, label) = if b.get(0x52..0x57) == Some(b"FAT32") {
            (0x43, 0x47)
        } else {
            (0x27, 0x2B)
        };
        if let Some(v) = le32(id) {
            fs.uuid = Some(format!("{:04X}-{:04X}", v >> 16, v & 0xffff));
        }
        fs.label = b
            .get(label..label + 11)
            .and_then(cstr)
            .filter(|l| l != "NO NAME");
    } else if le32(0x400) == Some(0xF2F5_2010) {
        fs.fstype = Some("f2fs".into());
    } else if b.get(4086..4096) == Some(b"SWAPSPACE2") {
        fs.fstype = Some("swap".into());
    } else if b.get(0..4) == Some(b"hsqs") {
        fs.fstype = Some("squashfs".into());
    }
    fs
}

/// Reads the superblock of the device node at `path` (needs root; a few KiB, no child process).
pub fn probe(path: &Path) -> FsInfo {
    let mut buf = vec![0u8; 4096];
    let Ok(f) = std::fs::File::open(path) else {
        return FsInfo::default();
    };
    let mut n = 0;
    let mut r = f.take(4096);
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    buf.truncate(n);
    probe_bytes(&buf)
}

/// What identifies a device between a request and a destructive step: if any of this changed
/// (a stick swapped, a device renumbered) the step is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub name: String,
    pub dev: String,
    pub size_bytes: u64,
    pub removable: bool,
    pub model: Option<String>,
    pub serial: Option<String>,
}

impl Identity {
    pub fn of(b: &Block) -> Identity {
        Identity {
            name: b.name.clone(),
            dev: b.dev.clone(),
            size_bytes: b.size_bytes,
            removable: b.removable,
            model: b.model.clone(),
            serial: b.serial.clone(),
        }
    }
}

/// Re-reads the device now and compares: sysfs facts and the device node's own number.
pub fn recheck(root: &Root, want: &Identity) -> Result<Block, String> {
    let b = find(root, &want.name).ok_or_else(|| format!("{} is gone", want.name))?;
    let now = Identity::of(&b);
    if &now != want {
        return Err(format!(
            "{} changed since the request (was {want:?}, now {now:?})",
            want.name
        ));
    }
    let node = root.path(&format!("/dev/{}", want.name));
    match rdev_of(&node) {
        Some(d) if d == want.dev => Ok(b),
        Some(d) => Err(format!(
            "/dev/{} is device {d}, expected {}",
            want.name, want.dev
        )),
        None => Err(format!("/dev/{} is not a block device", want.name)),
    }
}

/// Convenience: blocks + mount usage in one call.
pub fn inventory(root: &Root) -> (Vec<Block>, Vec<Mount>, Usage) {
    let blocks = list(root);
    let m = mounts::read(root);
    let u = usage(root, &blocks, &m);
    (blocks, m, u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["sda", "sda1", "mmcblk0p1", "nvme0n1p2", "loop7"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "../sda", "sda;rm", "SDA", "1sda", "sda 1", "sda/1"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn superblocks() {
        let mut b = vec![0u8; 4096];
        b[0x438] = 0x53;
        b[0x439] = 0xEF;
        b[0x460] = 0x40; // extents
        for (i, x) in (0x468..0x478).zip(0u8..) {
            b[i] = x;
        }
        b[0x478..0x47F].copy_from_slice(b"JAMDATA");
        let fs = probe_bytes(&b);
        assert_eq!(fs.fstype.as_deref(), Some("ext4"));
        assert_eq!(
            fs.uuid.as_deref(),
            Some("00010203-0405-0607-0809-0a0b0c0d0e0f")
        );
        assert_eq!(fs.label.as_deref(), Some("JAMDATA"));
        let mut f = vec![0u8; 512];
        f[0x52..0x5A].copy_from_slice(b"FAT32   ");
        f[0x43..0x47].copy_from_slice(&0x1234_ABCDu32.to_le_bytes());
        f[0x47..0x52].copy_from_slice(b"STICK      ");
        let fs = probe_bytes(&f);
        assert_eq!(
            (
                fs.fstype.as_deref(),
                fs.uuid.as_deref(),
                fs.label.as_deref()
            ),
            (Some("vfat"), Some("1234-ABCD"), Some("STICK"))
        );
        assert_eq!(probe_bytes(&[0u8; 100]), FsInfo::default());
    }
}
