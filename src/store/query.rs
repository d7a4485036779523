//! Read queries for the CGI: bandwidth per bucket (hourly 24 h, daily 30 d, monthly), ping
//! history, per-client totals. Each range reads one small tier table with one statement; the
//! bucket list is built here so empty buckets come back as zeros with their coverage.

use super::{Result, period};
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Hourly,
    Daily,
    Monthly,
}

impl Range {
    pub fn parse(s: &str) -> Option<Range> {
        match s {
            "hourly" => Some(Range::Hourly),
            "daily" => Some(Range::Daily),
            "monthly" => Some(Range::Monthly),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Hourly => "hourly",
            Range::Daily => "daily",
            Range::Monthly => "monthly",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// UTC epoch of the bucket's local start.
    pub start: i64,
    /// `YYYY-MM-DD HH:00` / `YYYY-MM-DD` / `YYYY-MM`, local time.
    pub label: String,
    /// Samples recorded in the bucket and the seconds they cover (0 = collector was not running).
    pub samples: i64,
    pub seconds: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Series {
    pub buckets: Vec<Bucket>,
    /// Per interface: (rx, tx) for each bucket, aligned with `buckets`. Interfaces asked for but
    /// never recorded are present with zeros.
    pub per_iface: BTreeMap<String, Vec<(u64, u64)>>,
}

/// Longest monthly listing (10 years).
const MAX_MONTHS: usize = 120;

/// Bandwidth of `ifaces` (all recorded ones when empty) over `range`, ending at `now`.
pub fn iface_series(
    conn: &Connection,
    range: Range,
    ifaces: &[String],
    now: i64,
    offset_at: &dyn Fn(i64) -> i32,
) -> Result<Series> {
    let first_month = match range {
        Range::Monthly => {
            let first: Option<String> =
                conn.query_row("SELECT MIN(month) FROM coverage_month", [], |r| r.get(0))?;
            let first_iface: Option<String> =
                conn.query_row("SELECT MIN(month) FROM iface_month", [], |r| r.get(0))?;
            [first, first_iface].into_iter().flatten().min()
        }
        _ => None,
    };
    let (keys, buckets): (Vec<String>, Vec<Bucket>) =
        bucket_keys(range, now, first_month.as_deref(), offset_at)
            .into_iter()
            .unzip();
    let index: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let (table, cov, col) = match range {
        Range::Hourly => ("iface_hour", "coverage_hour", "ts"),
        Range::Daily => ("iface_day", "coverage_day", "day"),
        Range::Monthly => ("iface_month", "coverage_month", "month"),
    };
    let first_key = keys.first().cloned().unwrap_or_default();
    let mut series = Series {
        buckets,
        per_iface: BTreeMap::new(),
    };
    for name in ifaces {
        series
            .per_iface
            .insert(name.clone(), vec![(0, 0); keys.len()]);
    }
    // Hour keys are integers: compare as integers, not text.
    let lower: rusqlite::types::Value = match range {
        Range::Hourly => rusqlite::types::Value::Integer(first_key.parse().unwrap_or(0)),
        _ => rusqlite::types::Value::Text(first_key.clone()),
    };
    let key_text = |r: &rusqlite::Row| -> rusqlite::Result<String> {
        Ok(match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            _ => String::new(),
        })
    };
    let mut st = conn.prepare_cached(&format!(
        "SELECT {col}, iface, rx, tx FROM {table} WHERE {col} >= ?1"
    ))?;
    let mut rows = st.query(params![lower])?;
    while let Some(r) = rows.next()? {
        let key = key_text(r)?;
        let Some(&i) = index.get(key.as_str()) else {
            continue;
        };
        let iface: String = r.get(1)?;
        if !ifaces.is_empty() && !series.per_iface.contains_key(&iface) {
            continue;
        }
        let slot = series
            .per_iface
            .entry(iface)
            .or_insert_with(|| vec![(0, 0); keys.len()]);
        slot[i].0 += r.get::<_, i64>(2)?.max(0) as u64;
        slot[i].1 += r.get::<_, i64>(3)?.max(0) as u64;
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT {col}, samples, seconds FROM {cov} WHERE {col} >= ?1"
    ))?;
    let mut rows = st.query(params![lower])?;
    while let Some(r) = rows.next()? {
        let key = key_text(r)?;
        if let Some(&i) = index.get(key.as_str()) {
            series.buckets[i].samples = r.get(1)?;
            series.buckets[i].seconds = r.get(2)?;
        }
    }
    Ok(series)
}

/// The buckets of `range` ending at `now`, oldest first, each with its row key (hour start, day,
/// or month) and empty coverage: 24 hours, 30 days, or every month from `first_month` (at most
/// 10 years; the current month when none is recorded).
pub fn bucket_keys(
    range: Range,
    now: i64,
    first_month: Option<&str>,
    offset_at: &dyn Fn(i64) -> i32,
) -> Vec<(String, Bucket)> {
    let b = period::buckets(now, offset_at(now));
    let empty = |start: i64, label: String| Bucket {
        start,
        label,
        samples: 0,
        seconds: 0,
    };
    match range {
        Range::Hourly => (0..24)
            .rev()
            .map(|k| {
                let h = b.hour - k * 3600;
                (h.to_string(), empty(h, hour_label(h, offset_at)))
            })
            .collect(),
        Range::Daily => (0..30)
            .rev()
            .filter_map(|k| {
                let d = period::day_minus(&b.day, k)?;
                let start = period::day_start(&d, offset_at)?;
                Some((d.clone(), empty(start, d)))
            })
            .collect(),
        Range::Monthly => {
            let first = first_month.unwrap_or(&b.month);
            let mut months = vec![b.month.clone()];
            while months.len() < MAX_MONTHS && months.last().is_some_and(|m| m.as_str() > first) {
                match months.last().and_then(|m| period::month_minus(m, 1)) {
                    Some(m) => months.push(m),
                    None => break,
                }
            }
            months
                .into_iter()
                .rev()
                .filter_map(|m| {
                    let start = period::day_start(&format!("{m}-01"), offset_at)?;
                    Some((m.clone(), empty(start, m)))
                })
                .collect()
        }
    }
}

fn hour_label(h: i64, offset_at: &dyn Fn(i64) -> i32) -> String {
    period::local_label(h, offset_at(h))
}

/// Interfaces that have any history (monthly rows are few).
pub fn recorded_ifaces(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT DISTINCT iface FROM iface_month ORDER BY iface")?;
    let v = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(v)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PingPoint {
    pub ts: i64,
    pub sent: i64,
    pub lost: i64,
    pub min_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub loss_pct: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PingSeries {
    pub name: String,
    pub host: String,
    pub points: Vec<PingPoint>,
}

/// Per-minute ping history since `since` (inclusive), one series per target, oldest first.
pub fn ping_history(conn: &Connection, since: i64) -> Result<Vec<PingSeries>> {
    let mut st = conn.prepare_cached(
        "SELECT p.target, coalesce(t.host, ''), p.ts, p.sent, p.lost, p.sum_us, p.min_us, p.max_us
           FROM ping_minute p LEFT JOIN ping_target t ON t.target = p.target
          WHERE p.ts >= ?1 ORDER BY p.target, p.ts",
    )?;
    let mut rows = st.query([since])?;
    let mut out: Vec<PingSeries> = Vec::new();
    let ms = |v: Option<i64>| v.map(|u| u as f64 / 1000.0);
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let host: String = r.get(1)?;
        let (sent, lost): (i64, i64) = (r.get(3)?, r.get(4)?);
        let ok = sent - lost;
        let sum_us: i64 = r.get(5)?;
        let p = PingPoint {
            ts: r.get(2)?,
            sent,
            lost,
            min_ms: ms(r.get(6)?),
            avg_ms: if ok > 0 {
                Some(round2(sum_us as f64 / 1000.0 / ok as f64))
            } else {
                None
            },
            max_ms: ms(r.get(7)?),
            loss_pct: if sent > 0 {
                round2(lost as f64 * 100.0 / sent as f64)
            } else {
                0.0
            },
        };
        match out.last_mut() {
            Some(s) if s.name == name => s.points.push(p),
            _ => out.push(PingSeries {
                name,
                host,
                points: vec![p],
            }),
        }
    }
    Ok(out)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClientTotal {
    pub key: String,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub last_seen: i64,
    pub rx: u64,
    pub tx: u64,
}

/// Bytes per client since `since` (from hourly rows; the current hour included), most first.
pub fn client_totals(conn: &Connection, since: i64) -> Result<Vec<ClientTotal>> {
    let mut st = conn.prepare_cached(
        "SELECT c.key, c.mac, c.ip, c.hostname, c.last_seen, SUM(h.rx), SUM(h.tx)
           FROM client_hour h JOIN clients c ON c.id = h.client
          WHERE h.ts > ?1 - 3600 GROUP BY h.client ORDER BY SUM(h.rx) + SUM(h.tx) DESC",
    )?;
    let v = st
        .query_map([since], |r| {
            Ok(ClientTotal {
                key: r.get(0)?,
                mac: r.get(1)?,
                ip: r.get(2)?,
                hostname: r.get(3)?,
                last_seen: r.get(4)?,
                rx: r.get::<_, i64>(5)?.max(0) as u64,
                tx: r.get::<_, i64>(6)?.max(0) as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}
