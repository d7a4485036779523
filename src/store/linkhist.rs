//! Link reliability history (issue 19), read side: per-WAN latency/loss series from
//! `wan_ping_minute` (bucketed for longer ranges), unprobed rounds from `wan_minute`, outages
//! from `wan_outage` (completed by link-down periods of `wan_event` that no outage row covers,
//! e.g. from before per-WAN pings existed), and uptime over windows and per local day.
//!
//! Uptime of a window = 1 − (failure outage time ∩ window) / (observed time − disabled time),
//! where observed time is the minutes the collector recorded anything for that WAN (a minute of
//! per-WAN pings, or of unprobed rounds). Disabled periods are the user's choice: listed, never
//! counted as down. `None` when nothing was observed.

use super::{Cause, Result, period};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// A range of `wan.history`: its length and the bucket of its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Day,
    Week,
    Month,
}

impl Span {
    pub fn parse(s: &str) -> Option<Span> {
        match s {
            "24h" => Some(Span::Day),
            "7d" => Some(Span::Week),
            "30d" => Some(Span::Month),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Span::Day => "24h",
            Span::Week => "7d",
            Span::Month => "30d",
        }
    }
    pub fn seconds(self) -> i64 {
        match self {
            Span::Day => 86_400,
            Span::Week => 7 * 86_400,
            Span::Month => 30 * 86_400,
        }
    }
    /// Bucket of the series: 1 min over 24 h, 10 min over 7 d, 1 h over 30 d (≤ 1,440 points).
    pub fn bucket(self) -> i64 {
        match self {
            Span::Day => 60,
            Span::Week => 600,
            Span::Month => 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Point {
    /// Bucket start, ms.
    pub ts: i64,
    pub min_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub loss_pct: Option<f64>,
    pub sent: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetSeries {
    pub name: String,
    pub points: Vec<Point>,
    /// Over the whole range.
    pub sent: i64,
    pub lost: i64,
    pub avg_ms: Option<f64>,
    pub loss_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutageRow {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub duration_s: f64,
    pub cause: Cause,
    pub ongoing: bool,
    /// `pings` (the pinger saw it) or `link_events` (from the sampler's up/down transitions).
    pub source: &'static str,
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Latency/loss per target of `wan` since `since` (s), bucketed by `bucket` seconds.
pub fn series(conn: &Connection, wan: &str, since: i64, bucket: i64) -> Result<Vec<TargetSeries>> {
    let mut st = conn.prepare_cached(
        "SELECT target, (ts / ?3) * ?3 AS b, SUM(sent), SUM(lost), SUM(sum_us), MIN(min_us), MAX(max_us)
           FROM wan_ping_minute WHERE wan = ?1 AND ts >= ?2 GROUP BY target, b ORDER BY target, b",
    )?;
    let mut rows = st.query(params![wan, since, bucket])?;
    let mut out: Vec<TargetSeries> = Vec::new();
    let ms = |v: Option<i64>| v.map(|u| u as f64 / 1000.0);
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let (sent, lost, sum_us): (i64, i64, i64) = (r.get(2)?, r.get(3)?, r.get(4)?);
        let ok = sent - lost;
        let p = Point {
            ts: r.get::<_, i64>(1)? * 1000,
            min_ms: ms(r.get(5)?),
            avg_ms: (ok > 0).then(|| r2(sum_us as f64 / 1000.0 / ok as f64)),
            max_ms: ms(r.get(6)?),
            loss_pct: (sent > 0).then(|| r2(lost as f64 * 100.0 / sent as f64)),
            sent,
        };
        let s = match out.last_mut() {
            Some(s) if s.name == name => s,
            _ => {
                out.push(TargetSeries {
                    name,
                    points: Vec::new(),
                    sent: 0,
                    lost: 0,
                    avg_ms: None,
                    loss_pct: None,
                });
                out.last_mut().expect("just pushed")
            }
        };
        s.sent += sent;
        s.lost += lost;
        // avg_ms temporarily holds the RTT sum (µs) of the answered pings.
        s.avg_ms = Some(s.avg_ms.unwrap_or(0.0) + sum_us as f64);
        s.points.push(p);
    }
    for s in &mut out {
        let ok = s.sent - s.lost;
        s.avg_ms = (ok > 0).then(|| r2(s.avg_ms.unwrap_or(0.0) / 1000.0 / ok as f64));
        s.loss_pct = (s.sent > 0).then(|| r2(s.lost as f64 * 100.0 / s.sent as f64));
    }
    Ok(out)
}

/// Unprobed rounds per bucket: (bucket start ms, down, disabled).
pub fn unprobed(conn: &Connection, wan: &str, since: i64, bucket: i64) -> Result<Vec<[i64; 3]>> {
    let mut st = conn.prepare_cached(
        "SELECT (ts / ?3) * ?3 AS b, SUM(down), SUM(disabled) FROM wan_minute
          WHERE wan = ?1 AND ts >= ?2 GROUP BY b ORDER BY b",
    )?;
    let v = st
        .query_map(params![wan, since, bucket], |r| {
            Ok([r.get::<_, i64>(0)? * 1000, r.get(1)?, r.get(2)?])
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// Outages and disabled periods of `wan` that overlap [since, now] (ms), oldest first.
pub fn outages(conn: &Connection, wan: &str, since_ms: i64, now_ms: i64) -> Result<Vec<OutageRow>> {
    let mut st = conn.prepare_cached(
        "SELECT start_ms, end_ms, cause FROM wan_outage
          WHERE wan = ?1 AND (end_ms IS NULL OR end_ms >= ?2) ORDER BY start_ms",
    )?;
    let mut out: Vec<OutageRow> = st
        .query_map(params![wan, since_ms], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter_map(|(s, e, c)| {
            let cause = Cause::parse(&c)?;
            Some(OutageRow {
                start_ms: s,
                end_ms: e,
                duration_s: ((e.unwrap_or(now_ms) - s).max(0) as f64 / 1000.0).round(),
                cause,
                ongoing: e.is_none(),
                source: "pings",
            })
        })
        .collect();
    // Link-down periods the sampler recorded that no outage row covers.
    let mut ev = conn.prepare_cached(
        "SELECT ts, up FROM wan_event WHERE wan = ?1 AND ts >= coalesce(
             (SELECT MAX(ts) FROM wan_event WHERE wan = ?1 AND ts < ?2), ?2) ORDER BY ts",
    )?;
    let events: Vec<(i64, bool)> = ev
        .query_map(params![wan, since_ms / 1000], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? != 0))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut down_since: Option<i64> = None;
    let mut extra = Vec::new();
    for (ts, up) in events {
        match (up, down_since) {
            (false, None) => down_since = Some(ts * 1000),
            (true, Some(s)) => {
                extra.push((s, Some(ts * 1000)));
                down_since = None;
            }
            _ => {}
        }
    }
    if let Some(s) = down_since {
        extra.push((s, None));
    }
    for (s, e) in extra {
        let end = e.unwrap_or(now_ms);
        // Covered by an outage the pinger saw, or by a period the user disabled the WAN (its
        // link going down then is the user's doing, not an outage).
        let covered = out
            .iter()
            .any(|o| o.start_ms <= end && o.end_ms.unwrap_or(now_ms) >= s);
        if !covered && end >= since_ms {
            out.push(OutageRow {
                start_ms: s,
                end_ms: e,
                duration_s: ((end - s).max(0) as f64 / 1000.0).round(),
                cause: Cause::LinkDown,
                ongoing: e.is_none(),
                source: "link_events",
            });
        }
    }
    out.sort_by_key(|o| o.start_ms);
    Ok(out)
}

/// Seconds of [a, b) covered by the union of `spans` (ms).
fn overlap_s(spans: &[(i64, i64)], a: i64, b: i64) -> f64 {
    let mut v: Vec<(i64, i64)> = spans
        .iter()
        .map(|(s, e)| ((*s).max(a), (*e).min(b)))
        .filter(|(s, e)| e > s)
        .collect();
    v.sort();
    let mut total = 0i64;
    let mut cur: Option<(i64, i64)> = None;
    for (s, e) in v {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total as f64 / 1000.0
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Uptime {
    pub pct: Option<f64>,
    pub observed_s: f64,
    pub down_s: f64,
    pub disabled_s: f64,
    pub outages: usize,
}

/// Uptime of [a, b) (ms) from the observed minutes and the outage list.
pub fn uptime(observed_minutes: &[i64], rows: &[OutageRow], a: i64, b: i64, now_ms: i64) -> Uptime {
    let observed: Vec<(i64, i64)> = observed_minutes
        .iter()
        .map(|m| (m * 1000, (m + 60) * 1000))
        .collect();
    let mut observed_s = overlap_s(&observed, a, b.min(now_ms));
    let fail: Vec<(i64, i64)> = rows
        .iter()
        .filter(|o| o.cause.is_failure())
        .map(|o| (o.start_ms, o.end_ms.unwrap_or(now_ms)))
        .collect();
    let dis: Vec<(i64, i64)> = rows
        .iter()
        .filter(|o| !o.cause.is_failure())
        .map(|o| (o.start_ms, o.end_ms.unwrap_or(now_ms)))
        .collect();
    let down_s = overlap_s(&fail, a, b.min(now_ms));
    let disabled_s = overlap_s(&dis, a, b.min(now_ms));
    // The current, unfinished minute is observed too when an outage runs through it.
    observed_s = observed_s.max(down_s + disabled_s);
    let base = observed_s - disabled_s;
    Uptime {
        pct: (base > 0.0).then(|| r2(100.0 * (1.0 - (down_s / base).min(1.0)))),
        observed_s,
        down_s,
        disabled_s,
        outages: rows
            .iter()
            .filter(|o| o.cause.is_failure() && o.start_ms < b && o.end_ms.unwrap_or(now_ms) >= a)
            .count(),
    }
}

/// Minutes (s) with any record for `wan` since `since`.
pub fn observed_minutes(conn: &Connection, wan: &str, since: i64) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT ts FROM wan_ping_minute WHERE wan = ?1 AND ts >= ?2
         UNION SELECT ts FROM wan_minute WHERE wan = ?1 AND ts >= ?2 ORDER BY 1",
    )?;
    let v = st
        .query_map(params![wan, since], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(v)
}

/// Uptime per local day for the last `days` days (oldest first): (YYYY-MM-DD, uptime).
pub fn daily(
    minutes: &[i64],
    rows: &[OutageRow],
    now: i64,
    days: i64,
    offset_at: &dyn Fn(i64) -> i32,
) -> Vec<(String, Uptime)> {
    let b = period::buckets(now, offset_at(now));
    let mut out = BTreeMap::new();
    for k in (0..days).rev() {
        let Some(d) = period::day_minus(&b.day, k) else {
            continue;
        };
        let Some(start) = period::day_start(&d, offset_at) else {
            continue;
        };
        let end = period::day_minus(&b.day, k - 1)
            .and_then(|n| period::day_start(&n, offset_at))
            .unwrap_or(start + 86_400);
        out.insert(
            d,
            uptime(minutes, rows, start * 1000, end * 1000, now * 1000),
        );
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: i64, e: Option<i64>, cause: Cause) -> OutageRow {
        OutageRow {
            start_ms: s,
            end_ms: e,
            duration_s: 0.0,
            cause,
            ongoing: e.is_none(),
            source: "pings",
        }
    }

    #[test]
    fn uptime_rules() {
        // 60 observed minutes from t=0; a 90 s outage, a 10-minute disabled period.
        let minutes: Vec<i64> = (0..60).map(|m| m * 60).collect();
        let rows = vec![
            row(120_000, Some(210_000), Cause::LinkDown),
            row(600_000, Some(1_200_000), Cause::Disabled),
        ];
        let u = uptime(&minutes, &rows, 0, 3_600_000, 3_600_000);
        assert_eq!(
            (u.observed_s, u.down_s, u.disabled_s, u.outages),
            (3600.0, 90.0, 600.0, 1)
        );
        assert_eq!(u.pct, Some(r2(100.0 * (1.0 - 90.0 / 3000.0))));
        // Nothing observed: no figure rather than 100 %.
        assert_eq!(uptime(&[], &[], 0, 1000, 1000).pct, None);
        // Overlapping outages count once; an ongoing one runs to now.
        let rows = vec![
            row(0, Some(60_000), Cause::NoGatewayReply),
            row(30_000, None, Cause::LinkDown),
        ];
        let u = uptime(&minutes, &rows, 0, 3_600_000, 120_000);
        assert_eq!(u.down_s, 120.0);
        assert_eq!(u.pct, Some(0.0));
    }

    #[test]
    fn spans() {
        assert_eq!(Span::parse("7d"), Some(Span::Week));
        assert_eq!(Span::parse("1y"), None);
        assert_eq!(Span::Month.seconds() / Span::Month.bucket(), 720);
    }
}
