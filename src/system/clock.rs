//! Clocks, once for the whole product: wall time (`now_epoch`, `now_secs`, `wall_ms`), the
//! calling thread's CPU time (`thread_cpu_us`), and local time as the router shows it. OpenWrt
//! keeps its POSIX TZ rule in /etc/TZ (written from `system.@system[0].timezone`); uhttpd clears
//! the environment, so we hand that rule to libc.

use super::Root;

fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Seconds since the epoch, with sub-second precision (answers, job and journal files).
pub fn now_epoch() -> f64 {
    since_epoch().as_secs_f64()
}

/// Whole seconds since the epoch (history rows).
pub fn now_secs() -> i64 {
    since_epoch().as_secs() as i64
}

/// Milliseconds since the epoch (ping samples).
pub fn wall_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// CPU time the calling thread has used, in microseconds (the collector's self-measurement).
pub fn thread_cpu_us() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
        .unwrap_or(0)
}

unsafe extern "C" {
    // POSIX; the libc crate does not bind it.
    fn tzset();
}

/// The POSIX TZ rule in force (`UTC0` when unset).
pub fn tz_rule(root: &Root) -> String {
    root.read_line("/etc/TZ")
        .filter(|s| !s.is_empty() && s.len() < 128 && s.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "UTC0".to_string())
}

/// `YYYY-MM-DD HH:MM:SS` in the router's time zone.
pub fn local_time(rule: &str, epoch: i64) -> Option<String> {
    // SAFETY: the CGI and collector set TZ from their single main thread before any other thread
    // exists; libc reads it in tzset/localtime_r right after.
    unsafe {
        std::env::set_var("TZ", rule);
        tzset();
        let t: libc::time_t = epoch as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        Some(format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn posix_rules() {
        assert_eq!(super::local_time("UTC0", 0).unwrap(), "1970-01-01 00:00:00");
        assert_eq!(
            super::local_time("CST-8", 0).unwrap(),
            "1970-01-01 08:00:00"
        );
        // 2026-07-01 12:00 UTC is summer time in Paris.
        assert_eq!(
            super::local_time("CET-1CEST,M3.5.0,M10.5.0/3", 1782907200).unwrap(),
            "2026-07-01 14:00:00"
        );
    }
}
