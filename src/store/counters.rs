//! Interface byte counters → per-interval deltas. Pure, so every rule is a unit test:
//! - counters are 64-bit; a counter that goes down is a reset (reboot, ifdown, PPPoE reconnect,
//!   driver reload), never a wrap;
//! - state is keyed on ifindex: an interface deleted and re-created under the same name gets a
//!   new ifindex and its counters restart, which is a reset too;
//! - after a reset only what the new counter shows is counted, and only if it fits the interval;
//! - a delta larger than link speed × elapsed time (with a margin) is impossible and dropped;
//! - elapsed time comes from CLOCK_BOOTTIME, never from the wall clock, so clock jumps change
//!   nothing here; a different boot id means the previous state is from another boot (baseline).

/// One reading of an interface, with the boot-time clock it was taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub ifindex: u32,
    pub rx: u64,
    pub tx: u64,
    /// CLOCK_BOOTTIME in milliseconds.
    pub boot_ms: u64,
    /// A hash of /proc/sys/kernel/random/boot_id: readings of different boots never compare.
    pub boot: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No usable previous reading: this one becomes the baseline, nothing is counted.
    Baseline,
    /// Normal increase.
    Counted,
    /// The counters restarted (decrease or new ifindex); the new values were counted.
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub kind: Kind,
    pub rx: u64,
    pub tx: u64,
    /// A direction whose delta exceeded what the link can carry; it was counted as 0.
    pub rx_dropped: bool,
    pub tx_dropped: bool,
}

impl Delta {
    fn zero(kind: Kind) -> Delta {
        Delta {
            kind,
            rx: 0,
            tx: 0,
            rx_dropped: false,
            tx_dropped: false,
        }
    }
}

/// Fallback when the link speed is unknown (virtual devices, tunnels, PPP): 10 Gbit/s.
pub const DEFAULT_MAX_BPS: u64 = 10_000_000_000;

/// The most bytes a link of `speed_bps` can move in `elapsed_ms`: +10 % and 64 KiB of slack for
/// timing jitter and counters updated in bursts (NAPI, offload).
pub fn max_bytes(speed_bps: u64, elapsed_ms: u64) -> u64 {
    let bytes = (speed_bps as u128 / 8) * elapsed_ms as u128 / 1000;
    (bytes + bytes / 10 + 65_536).min(u64::MAX as u128) as u64
}

/// The delta between `prev` and `now` for a link of `speed_bps` (0 = unknown).
pub fn delta(prev: Option<&Reading>, now: &Reading, speed_bps: u64) -> Delta {
    let Some(prev) = prev else {
        return Delta::zero(Kind::Baseline);
    };
    if prev.boot != now.boot || now.boot_ms <= prev.boot_ms {
        return Delta::zero(Kind::Baseline);
    }
    let limit = max_bytes(
        if speed_bps == 0 {
            DEFAULT_MAX_BPS
        } else {
            speed_bps
        },
        now.boot_ms - prev.boot_ms,
    );
    let reset = prev.ifindex != now.ifindex || now.rx < prev.rx || now.tx < prev.tx;
    let (rx, tx, kind) = if reset {
        (now.rx, now.tx, Kind::Reset)
    } else {
        (now.rx - prev.rx, now.tx - prev.tx, Kind::Counted)
    };
    Delta {
        kind,
        rx: if rx > limit { 0 } else { rx },
        tx: if tx > limit { 0 } else { tx },
        rx_dropped: rx > limit,
        tx_dropped: tx > limit,
    }
}

/// /sys/class/net/<dev>/speed (Mbit/s; -1 or absent for virtual devices) → bit/s, 0 = unknown.
pub fn speed_bps(sysfs_speed: Option<&str>) -> u64 {
    match sysfs_speed.and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(mbps) if mbps > 0 => mbps as u64 * 1_000_000,
        _ => 0,
    }
}

/// FNV-1a of the boot id text, so a reading carries its boot cheaply.
pub fn boot_hash(boot_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in boot_id.trim().bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(ifindex: u32, rx: u64, tx: u64, boot_ms: u64) -> Reading {
        Reading {
            ifindex,
            rx,
            tx,
            boot_ms,
            boot: 7,
        }
    }

    #[test]
    fn first_reading_is_a_baseline() {
        let d = delta(None, &r(3, 1 << 40, 5, 1000), 0);
        assert_eq!((d.kind, d.rx, d.tx), (Kind::Baseline, 0, 0));
    }

    #[test]
    fn normal_increase_uses_64_bits() {
        let big = 1u64 << 35; // past any 32-bit counter
        let d = delta(
            Some(&r(3, big, 100, 1000)),
            &r(3, big + 5_000_000, 300, 61_000),
            1_000_000_000,
        );
        assert_eq!((d.kind, d.rx, d.tx), (Kind::Counted, 5_000_000, 200));
    }

    #[test]
    fn decrease_is_a_reset_not_a_wrap() {
        // Near u32::MAX and then small: a wrap would count ~4 GB; a reset counts only the new value.
        let d = delta(
            Some(&r(3, u32::MAX as u64 - 10, 900, 1000)),
            &r(3, 4000, 950, 61_000),
            0,
        );
        assert_eq!((d.kind, d.rx, d.tx), (Kind::Reset, 4000, 950));
    }

    #[test]
    fn new_ifindex_is_a_reset_even_if_counters_grew() {
        // Deleted and re-created within the interval, already past the old values: no spike.
        let d = delta(Some(&r(3, 1000, 1000, 1000)), &r(9, 5000, 7000, 61_000), 0);
        assert_eq!((d.kind, d.rx, d.tx), (Kind::Reset, 5000, 7000));
    }

    #[test]
    fn impossible_delta_is_dropped_per_direction() {
        // 100 Mbit/s for 60 s is 750 MB at most.
        let d = delta(
            Some(&r(3, 0, 0, 1000)),
            &r(3, 2_000_000_000, 1_000_000, 61_000),
            100_000_000,
        );
        assert_eq!(
            (d.rx, d.rx_dropped, d.tx, d.tx_dropped),
            (0, true, 1_000_000, false)
        );
        // A reset whose new value is impossible for the interval is dropped too.
        let d = delta(Some(&r(3, 10, 10, 1000)), &r(4, 1 << 50, 5, 2000), 0);
        assert_eq!(
            (d.kind, d.rx, d.rx_dropped, d.tx),
            (Kind::Reset, 0, true, 5)
        );
    }

    #[test]
    fn other_boot_or_time_going_backwards_is_a_baseline() {
        let mut other = r(3, 100, 100, 61_000);
        other.boot = 8;
        assert_eq!(
            delta(Some(&r(3, 10, 10, 1000)), &other, 0).kind,
            Kind::Baseline
        );
        assert_eq!(
            delta(Some(&r(3, 10, 10, 5000)), &r(3, 20, 20, 5000), 0).kind,
            Kind::Baseline
        );
    }

    #[test]
    fn speeds() {
        assert_eq!(speed_bps(Some("1000\n")), 1_000_000_000);
        assert_eq!(speed_bps(Some("-1")), 0);
        assert_eq!(speed_bps(None), 0);
        assert_eq!(max_bytes(8_000, 1000), 1000 + 100 + 65_536);
        assert_ne!(boot_hash("a"), boot_hash("b"));
    }
}
