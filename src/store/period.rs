//! Time buckets of the history tiers. Minutes are UTC minutes; hours, days and months are the
//! router's local ones (a user reads "today" and "this month" on their own clock). Everything
//! here is pure: the caller passes the UTC offset in force at the instant, so DST and odd offsets
//! (+5:30, +5:45) are handled by the same arithmetic and tested without touching the process TZ.

/// 2024-01-01T00:00:00Z. A router without an RTC boots at its build date or 1970 until NTP
/// answers; nothing is written while the clock is before this.
pub const SYNC_FLOOR: i64 = 1_704_067_200;

pub fn clock_synced(ts: i64) -> bool {
    ts >= SYNC_FLOOR
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets {
    /// UTC epoch of the minute's start.
    pub minute: i64,
    /// UTC epoch of the start of the local hour.
    pub hour: i64,
    /// Local date `YYYY-MM-DD`.
    pub day: String,
    /// Local month `YYYY-MM`.
    pub month: String,
}

/// The buckets an instant falls in, given the UTC offset (seconds east) in force at it.
pub fn buckets(ts: i64, offset: i32) -> Buckets {
    let local = ts + offset as i64;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    Buckets {
        minute: ts - ts.rem_euclid(60),
        hour: ts - local.rem_euclid(3600),
        day: format!("{y:04}-{m:02}-{d:02}"),
        month: format!("{y:04}-{m:02}"),
    }
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31). Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` → (y, m, d), strictly.
pub fn parse_day(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = s[0..4].parse().ok()?;
    let m = s[5..7].parse().ok().filter(|m| (1..=12).contains(m))?;
    let d = s[8..10].parse().ok().filter(|d| (1..=31).contains(d))?;
    Some((y, m, d))
}

/// The local day `n` days before `day` (`YYYY-MM-DD`).
pub fn day_minus(day: &str, n: i64) -> Option<String> {
    let (y, m, d) = parse_day(day)?;
    let (y, m, d) = civil_from_days(days_from_civil(y, m, d) - n);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// The month `n` months before `month` (`YYYY-MM`).
pub fn month_minus(month: &str, n: i64) -> Option<String> {
    let (y, m) = parse_month(month)?;
    let idx = y * 12 + (m as i64 - 1) - n;
    Some(format!(
        "{:04}-{:02}",
        idx.div_euclid(12),
        idx.rem_euclid(12) + 1
    ))
}

pub fn parse_month(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    Some((
        s[0..4].parse().ok()?,
        s[5..7].parse().ok().filter(|m| (1..=12).contains(m))?,
    ))
}

/// UTC epoch of local midnight starting `day`, using `offset_at` (UTC offset at an instant).
pub fn day_start(day: &str, offset_at: &dyn Fn(i64) -> i32) -> Option<i64> {
    let (y, m, d) = parse_day(day)?;
    let utc_midnight = days_from_civil(y, m, d) * 86_400;
    // The offset at local midnight is the one at (utc_midnight - offset); one refinement suffices.
    let guess = utc_midnight - offset_at(utc_midnight) as i64;
    Some(utc_midnight - offset_at(guess) as i64)
}

/// `YYYY-MM-DD HH:MM` of a UTC instant in local time.
pub fn local_label(ts: i64, offset: i32) -> String {
    let local = ts + offset as i64;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        sod / 3600,
        (sod % 3600) / 60
    )
}

unsafe extern "C" {
    // POSIX; the libc crate does not bind it.
    fn tzset();
}

/// Makes libc use the router's POSIX TZ rule (`/etc/TZ`). Call once, from the main thread,
/// before any other thread exists (setenv is not thread-safe).
pub fn set_tz(rule: &str) {
    // SAFETY: documented precondition: single-threaded at this point.
    unsafe {
        std::env::set_var("TZ", rule);
        tzset();
    }
}

/// UTC offset (seconds east) in force at `ts`, per the TZ rule given to [`set_tz`].
pub fn utc_offset(ts: i64) -> i32 {
    // SAFETY: localtime_r writes only into our tm; TZ is not changed concurrently (set_tz's rule).
    unsafe {
        let t = ts as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-1, 0, 1, 19_000, 20_454, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn buckets_in_odd_zones() {
        // 2026-11-25 10:00:30 UTC
        let ts = 1_795_600_830;
        let b = buckets(ts, 0);
        assert_eq!(b.minute, ts - 30);
        assert_eq!(b.hour, ts - 30);
        assert_eq!(
            (b.day.as_str(), b.month.as_str()),
            ("2026-11-25", "2026-11")
        );
        // India +5:30: local 15:30:30, the local hour started at 15:00 local = 09:30 UTC.
        let b = buckets(ts, 19_800);
        assert_eq!(b.hour, ts - 30 - 1800);
        // Kiribati +14: already the 26th.
        assert_eq!(buckets(ts, 14 * 3600).day, "2026-11-26");
        // Baker Island -12: still the 24th.
        assert_eq!(buckets(ts, -12 * 3600).day, "2026-11-24");
        assert_eq!(local_label(ts, 19_800), "2026-11-25 15:30");
    }

    #[test]
    fn day_and_month_arithmetic() {
        assert_eq!(day_minus("2024-03-01", 1).unwrap(), "2024-02-29");
        assert_eq!(day_minus("2026-01-05", 29).unwrap(), "2025-12-07");
        assert_eq!(month_minus("2026-01", 1).unwrap(), "2025-12");
        assert_eq!(month_minus("2026-03", 14).unwrap(), "2025-01");
        assert!(parse_day("2026-13-01").is_none());
        assert!(parse_day("2026-1-01").is_none());
        // Local midnight in Paris summer time (+2) is 22:00 UTC the day before.
        assert_eq!(
            day_start("2026-07-01", &|_| 7200).unwrap(),
            days_from_civil(2026, 7, 1) * 86_400 - 7200
        );
    }

    #[test]
    fn sync_floor() {
        assert!(!clock_synced(0));
        assert!(!clock_synced(1_700_000_000));
        assert!(clock_synced(1_795_600_830));
    }
}
