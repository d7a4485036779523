//! Readers for /proc: one file read each, no child process. Parsers are separate from I/O so the
//! fixture tests and fuzzers can drive them.

use super::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mem {
    pub total_kb: u64,
    pub available_kb: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetDev {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// The aggregate `cpu` line of /proc/stat. Idle is idle+iowait; guest time is already inside
/// user/nice, so it is not added again.
pub fn parse_cpu(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if v.len() < 4 {
        return None;
    }
    // Hostile or corrupt input must not overflow: such a line is no sample.
    let total = v.iter().try_fold(0u64, |a, &x| a.checked_add(x))?;
    let idle = v[3].checked_add(v.get(4).copied().unwrap_or(0))?;
    Some(CpuTimes {
        busy: total - idle,
        total,
    })
}

pub fn cpu(root: &Root) -> Option<CpuTimes> {
    parse_cpu(&root.read("/proc/stat", 64 << 10).ok()?)
}

/// Records `now` as the last CPU sample in `state` (a file in RAM, /var/run) and returns the
/// previous one. The record is rewritten in place, fixed width, under a flock: no temporary
/// file and no rename, so no inode is created per request (creating one cost about a fifth of an
/// `overview` on ext4, see docs/benchmarks.md), and concurrent requests never see a torn record.
pub fn swap_cpu_sample(state: &std::path::Path, now: CpuTimes) -> Option<CpuTimes> {
    use nix::fcntl::{Flock, FlockArg};
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(state)
    };
    let file = match open() {
        Ok(f) => f,
        Err(_) => {
            std::fs::create_dir_all(state.parent()?).ok()?;
            open().ok()?
        }
    };
    let mut file = Flock::lock(file, FlockArg::LockExclusive).ok()?;
    let mut text = String::new();
    let prev = file.read_to_string(&mut text).ok().and_then(|_| {
        let mut it = text.split_whitespace().map(|x| x.parse::<u64>().ok());
        let p = CpuTimes {
            busy: it.next()??,
            total: it.next()??,
        };
        it.next().is_none().then_some(p)
    });
    let record = format!("{:>20} {:>20}\n", now.busy, now.total);
    if file.write_all_at(record.as_bytes(), 0).is_ok() && text.len() != record.len() {
        let _ = file.set_len(record.len() as u64);
    }
    prev
}

/// Busy share in percent between two samples.
pub fn cpu_pct(prev: CpuTimes, now: CpuTimes) -> Option<f64> {
    let total = now.total.checked_sub(prev.total)?;
    let busy = now.busy.checked_sub(prev.busy)?;
    if total == 0 {
        None
    } else {
        Some(busy as f64 * 100.0 / total as f64)
    }
}

pub fn parse_loadavg(s: &str) -> Option<[f64; 3]> {
    let mut it = s.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

pub fn loadavg(root: &Root) -> Option<[f64; 3]> {
    parse_loadavg(&root.read("/proc/loadavg", 256).ok()?)
}

/// MemAvailable when the kernel has it (3.14+), else Free+Buffers+Cached.
pub fn parse_meminfo(s: &str) -> Option<Mem> {
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find(|l| l.split(':').next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    let total_kb = field("MemTotal")?;
    let available_kb = field("MemAvailable").or_else(|| {
        Some(
            field("MemFree")?
                .saturating_add(field("Buffers").unwrap_or(0))
                .saturating_add(field("Cached").unwrap_or(0)),
        )
    })?;
    Some(Mem {
        total_kb,
        available_kb: available_kb.min(total_kb),
    })
}

pub fn meminfo(root: &Root) -> Option<Mem> {
    parse_meminfo(&root.read("/proc/meminfo", 16 << 10).ok()?)
}

pub fn uptime(root: &Root) -> Option<f64> {
    root.read("/proc/uptime", 128)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn conntrack(root: &Root) -> (Option<u64>, Option<u64>) {
    (
        root.read_u64("/proc/sys/net/netfilter/nf_conntrack_count"),
        root.read_u64("/proc/sys/net/netfilter/nf_conntrack_max"),
    )
}

/// /proc/net/dev: every interface's counters in one read. Names may contain ':' only before the
/// separator that ends the name, so split on the last ':' of the name column.
pub fn parse_net_dev(s: &str) -> Vec<NetDev> {
    s.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.rsplit_once(':')?;
            let v: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?;
            if v.len() < 12 {
                return None;
            }
            Some(NetDev {
                name: name.trim().to_string(),
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                rx_dropped: v[3],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
                tx_dropped: v[11],
            })
        })
        .collect()
}

pub fn net_dev(root: &Root) -> Vec<NetDev> {
    root.read("/proc/net/dev", 1 << 20)
        .map(|s| parse_net_dev(&s))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_sample_is_swapped_in_place() {
        let dir = std::env::temp_dir().join(format!("jm-cpu-{}", std::process::id()));
        let state = dir.join("run/cpu.stat");
        let a = CpuTimes { busy: 5, total: 10 };
        let b = CpuTimes {
            busy: 70,
            total: 12345678901234,
        };
        assert_eq!(swap_cpu_sample(&state, a), None, "no previous sample");
        assert_eq!(swap_cpu_sample(&state, b), Some(a));
        // An older, shorter record (the previous format) and garbage are read or refused.
        std::fs::write(&state, "1 2\n").unwrap();
        assert_eq!(
            swap_cpu_sample(&state, a),
            Some(CpuTimes { busy: 1, total: 2 })
        );
        assert_eq!(std::fs::read_to_string(&state).unwrap().len(), 42);
        std::fs::write(&state, "1 2 3 junk that is longer than one record ....\n").unwrap();
        assert_eq!(swap_cpu_sample(&state, b), None);
        assert_eq!(
            swap_cpu_sample(&state, a),
            Some(b),
            "the long record was cut to one"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cpu_line() {
        let c = parse_cpu("cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(
            c,
            CpuTimes {
                busy: 160,
                total: 980
            }
        );
        assert_eq!(
            cpu_pct(
                CpuTimes {
                    busy: 10,
                    total: 100
                },
                CpuTimes {
                    busy: 35,
                    total: 200
                }
            ),
            Some(25.0)
        );
        assert_eq!(
            cpu_pct(
                CpuTimes {
                    busy: 10,
                    total: 100
                },
                CpuTimes { busy: 5, total: 50 }
            ),
            None
        );
        assert!(parse_cpu("intr 1 2").is_none());
        // Found by fuzzing: counters that would overflow are no sample, not a panic.
        assert!(parse_cpu("cpu 18446744073709551615 3 0 0").is_none());
    }

    #[test]
    fn meminfo_fallback() {
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")
                .unwrap();
        assert_eq!(m.available_kb, 400);
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\n").unwrap();
        assert_eq!(m.available_kb, 600);
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 18446744073709551615 kB\nBuffers: 1 kB\n")
                .unwrap();
        assert_eq!(m.available_kb, 1000);
    }

    #[test]
    fn net_dev_lines() {
        let s = "Inter-|   Receive\n face |bytes\n  lan1: 100 2 0 0 0 0 0 0 200 3 1 0 0 0 0 0\nbad line\n";
        let d = parse_net_dev(s);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (
                d[0].name.as_str(),
                d[0].rx_bytes,
                d[0].tx_bytes,
                d[0].tx_errors
            ),
            ("lan1", 100, 200, 1)
        );
    }
}
