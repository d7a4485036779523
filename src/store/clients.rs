//! Read queries of the per-client history (the `client_*` tiers the collector fills): every
//! known client with first/last seen, totals today / this month / last 30 days, the current rate
//! (latest minute buckets), and one client's hourly/daily/monthly series. A handful of indexed
//! statements whatever the number of clients: the Clients tab with 250 clients stays in
//! milliseconds.

use super::query::{self, Bucket, Range};
use super::{Result, period};
use rusqlite::{Connection, params};
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub id: i64,
    pub key: String,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxTx {
    pub rx: u64,
    pub tx: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    /// Bytes per second received (download) / sent (upload).
    pub rx: f64,
    pub tx: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub known: Vec<Known>,
    pub today: HashMap<i64, RxTx>,
    pub month: HashMap<i64, RxTx>,
    pub days30: HashMap<i64, RxTx>,
    pub rate: HashMap<i64, Rate>,
    /// The minute buckets behind the rates: (start of the oldest, seconds covered).
    pub rate_window: Option<(i64, i64)>,
    /// Newest minute bucket with a sample.
    pub last_sample: Option<i64>,
}

fn sums(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<HashMap<i64, RxTx>> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(p)?;
    // Summed here rather than with GROUP BY: SQLite would sort the range by client first.
    let mut out: HashMap<i64, RxTx> = HashMap::new();
    while let Some(r) = rows.next()? {
        let e = out.entry(r.get::<_, i64>(0)?).or_default();
        e.rx += r.get::<_, i64>(1)?.max(0) as u64;
        e.tx += r.get::<_, i64>(2)?.max(0) as u64;
    }
    Ok(out)
}

/// One `clients` row selected as `id, key, mac, ip, hostname, first_seen, last_seen`.
fn known_row(r: &rusqlite::Row) -> rusqlite::Result<Known> {
    Ok(Known {
        id: r.get(0)?,
        key: r.get(1)?,
        mac: r.get(2)?,
        ip: r.get(3)?,
        hostname: r.get(4)?,
        first_seen: r.get(5)?,
        last_seen: r.get(6)?,
    })
}

/// Every client the history knows, by id.
pub fn known(conn: &Connection) -> Result<Vec<Known>> {
    let mut st = conn.prepare_cached(
        "SELECT id, key, mac, ip, hostname, first_seen, last_seen FROM clients ORDER BY id",
    )?;
    let rows = st.query_map([], known_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every client's bytes since it was first seen: the sum of its monthly buckets (the tier
/// retention keeps longest; `monthly_months 0` = forever).
pub fn totals(conn: &Connection) -> Result<HashMap<i64, RxTx>> {
    sums(conn, "SELECT client, rx, tx FROM client_month", &[])
}

/// A rate needs at least this much covered time; fewer seconds take the bucket before too.
const MIN_RATE_SECONDS: i64 = 20;

pub fn summary(conn: &Connection, now: i64, offset: i32, stale_after: i64) -> Result<Summary> {
    let b = period::buckets(now, offset);
    let mut s = Summary {
        known: known(conn)?,
        ..Summary::default()
    };
    s.today = sums(
        conn,
        "SELECT client, rx, tx FROM client_day WHERE day = ?1",
        &[&b.day],
    )?;
    s.month = sums(
        conn,
        "SELECT client, rx, tx FROM client_month WHERE month = ?1",
        &[&b.month],
    )?;
    let first = period::day_minus(&b.day, 29).unwrap_or_default();
    s.days30 = sums(
        conn,
        "SELECT client, rx, tx FROM client_day WHERE day >= ?1",
        &[&first],
    )?;
    // Rates: bytes and covered seconds of the same samples (written in one transaction).
    let mut st = conn.prepare_cached(
        "SELECT ts, seconds FROM coverage_minute WHERE seconds > 0 ORDER BY ts DESC LIMIT 2",
    )?;
    let cov: Vec<(i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    s.last_sample = cov.first().map(|c| c.0);
    if let Some(&(ts0, sec0)) = cov.first() {
        if now - (ts0 + 60) <= stale_after {
            let (from, secs) = match cov.get(1) {
                Some(&(ts1, sec1)) if sec0 < MIN_RATE_SECONDS && ts0 - ts1 == 60 => {
                    (ts1, sec0 + sec1)
                }
                _ => (ts0, sec0),
            };
            let bytes = sums(
                conn,
                "SELECT client, rx, tx FROM client_minute WHERE ts >= ?1 AND ts <= ?2",
                &[&from, &ts0],
            )?;
            s.rate = bytes
                .into_iter()
                .map(|(id, b)| {
                    (
                        id,
                        Rate {
                            rx: b.rx as f64 / secs as f64,
                            tx: b.tx as f64 / secs as f64,
                        },
                    )
                })
                .collect();
            s.rate_window = Some((from, secs));
        }
    }
    Ok(s)
}

/// The id of a client by MAC (its key) or by `ip:<addr>`.
pub fn find(conn: &Connection, key: &str) -> Result<Option<Known>> {
    let mut st = conn.prepare_cached(
        "SELECT id, key, mac, ip, hostname, first_seen, last_seen FROM clients WHERE key = ?1 OR mac = ?1 ORDER BY last_seen DESC LIMIT 1",
    )?;
    let mut rows = st.query(params![key])?;
    Ok(match rows.next()? {
        Some(r) => Some(known_row(r)?),
        None => None,
    })
}

/// One client's bytes per bucket over `range` (24 hours, 30 days, or every month since the
/// first one recorded), oldest first, empty buckets as zeros with their coverage.
pub fn series(
    conn: &Connection,
    client: Option<i64>,
    range: Range,
    now: i64,
    offset_at: &dyn Fn(i64) -> i32,
) -> Result<Vec<(Bucket, RxTx)>> {
    let first_month: Option<String> = match (range, client) {
        (Range::Monthly, Some(id)) => conn.query_row(
            "SELECT MIN(month) FROM client_month WHERE client = ?1",
            [id],
            |r| r.get(0),
        )?,
        _ => None,
    };
    let keys = query::bucket_keys(range, now, first_month.as_deref(), offset_at);
    let index: HashMap<String, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    let mut out: Vec<(Bucket, RxTx)> = keys
        .into_iter()
        .map(|(_, b)| (b, RxTx::default()))
        .collect();
    let (table, cov, col) = match range {
        Range::Hourly => ("client_hour", "coverage_hour", "ts"),
        Range::Daily => ("client_day", "coverage_day", "day"),
        Range::Monthly => ("client_month", "coverage_month", "month"),
    };
    let key_text = |r: &rusqlite::Row| -> rusqlite::Result<String> {
        Ok(match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            _ => String::new(),
        })
    };
    if let Some(id) = client {
        let mut st = conn.prepare_cached(&format!(
            "SELECT {col}, rx, tx FROM {table} WHERE client = ?1"
        ))?;
        let mut rows = st.query([id])?;
        while let Some(r) = rows.next()? {
            if let Some(&i) = index.get(&key_text(r)?) {
                out[i].1.rx += r.get::<_, i64>(1)?.max(0) as u64;
                out[i].1.tx += r.get::<_, i64>(2)?.max(0) as u64;
            }
        }
    }
    let mut st = conn.prepare_cached(&format!("SELECT {col}, samples, seconds FROM {cov}"))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = index.get(&key_text(r)?) {
            out[i].0.samples = r.get(1)?;
            out[i].0.seconds = r.get(2)?;
        }
    }
    Ok(out)
}
