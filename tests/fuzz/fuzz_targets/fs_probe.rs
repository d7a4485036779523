//! The filesystem probe (`system::blockdev::probe_bytes`): the first 4 KiB of a plugged-in disk,
//! which anyone with a USB stick controls. Properties beyond "no panic": a UUID has its fixed
//! shape, a label has no control characters.
#![no_main]

use jammonitor::system::blockdev::probe_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fs = probe_bytes(data);
    if let Some(u) = &fs.uuid {
        assert!(u.len() == 36 || u.len() == 9, "uuid {u:?}");
        assert!(
            u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'),
            "uuid {u:?}"
        );
    }
    if let Some(l) = &fs.label {
        assert!(
            !l.is_empty() && !l.chars().any(char::is_control),
            "label {l:?}"
        );
    }
    if fs.fstype.is_none() {
        assert!(fs.uuid.is_none() && fs.label.is_none());
    }
});
