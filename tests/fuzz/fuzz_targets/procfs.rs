//! The /proc readers' parsers: /proc/stat, /proc/meminfo, /proc/net/dev, /proc/loadavg, and the
//! mount table (/proc/self/mounts). Every parser gets the whole input.
//! Properties beyond "no panic": busy ≤ total CPU time, available ≤ total memory, one
//! interface per line at most with a trimmed name.
#![no_main]

use jammonitor::system::{mounts, procfs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(c) = procfs::parse_cpu(&text) {
        assert!(c.busy <= c.total, "{c:?}");
        let _ = procfs::cpu_pct(c, c);
    }
    if let Some(m) = procfs::parse_meminfo(&text) {
        assert!(m.available_kb <= m.total_kb, "{m:?}");
    }
    let devs = procfs::parse_net_dev(&text);
    assert!(devs.len() <= text.lines().count().saturating_sub(2));
    for d in &devs {
        assert_eq!(d.name, d.name.trim(), "untrimmed name");
    }
    let _ = procfs::parse_loadavg(&text);
    for m in mounts::parse(&text) {
        let _ = m.read_only();
    }
});
