//! Speed-test results: a small SQLite database of its own, `/etc/jammonitor/speedtest.db`,
//! written only by the speed-test job (one at a time: the job's kind lock) and read by
//! `GET speedtest`.
//!
//! Why not a table in the collector's history database: the collector is that database's only
//! writer — it moves it between RAM, flash checkpoints and USB (`VACUUM INTO`, merges by
//! `db_id`), and its write paths (`store::write`) are kept out of the CGI. A row written there by
//! the CGI could be lost by a checkpoint taken just before it, or written into a RAM copy being
//! merged. Results are few (a user starts each one), so a separate file on flash costs a few page
//! writes per test, survives reboots, and needs no cooperation from the collector. It keeps the
//! newest [`KEEP`] rows.

use super::Result;
use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;
use std::path::Path;

pub const PATH: &str = "/etc/jammonitor/speedtest.db";
pub const KEEP: i64 = 1000;
const VERSION: i64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub id: i64,
    /// Unix time the transfer ended.
    pub ts: f64,
    pub wan: String,
    pub device: String,
    pub server: String,
    pub server_label: String,
    pub direction: String,
    pub size_mb: u32,
    pub bytes: u64,
    pub seconds: f64,
    pub mbps: f64,
    pub latency_idle_ms: Option<f64>,
    pub latency_load_ms: Option<f64>,
    /// False when the time limit cut the transfer (the rate is over the bytes moved).
    pub complete: bool,
}

fn open(path: &Path, write: bool) -> Result<Connection> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags)?;
    c.busy_timeout(std::time::Duration::from_secs(3))?;
    Ok(c)
}

fn migrate(c: &Connection) -> Result<()> {
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v > VERSION {
        return Err(super::StoreError(format!(
            "speed-test database has schema {v}, newer than this build ({VERSION})"
        )));
    }
    if v < 1 {
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS result(
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                wan TEXT NOT NULL,
                device TEXT NOT NULL,
                server TEXT NOT NULL,
                server_label TEXT NOT NULL,
                direction TEXT NOT NULL CHECK(direction IN ('download','upload')),
                size_mb INTEGER NOT NULL,
                bytes INTEGER NOT NULL,
                seconds REAL NOT NULL,
                mbps REAL NOT NULL,
                latency_idle_ms REAL,
                latency_load_ms REAL,
                complete INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS result_wan_ts ON result(wan, ts);
             PRAGMA user_version = 1;",
        )?;
    }
    Ok(())
}

/// Adds a result (and drops the oldest beyond [`KEEP`]); returns its id.
pub fn insert(path: &Path, r: &Row) -> Result<i64> {
    insert_keep(path, r, KEEP)
}

fn insert_keep(path: &Path, r: &Row, keep: i64) -> Result<i64> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut c = open(path, true)?;
    migrate(&c)?;
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO result(ts, wan, device, server, server_label, direction, size_mb, bytes,
                            seconds, mbps, latency_idle_ms, latency_load_ms, complete)
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
        params![
            r.ts,
            r.wan,
            r.device,
            r.server,
            r.server_label,
            r.direction,
            r.size_mb,
            r.bytes as i64,
            r.seconds,
            r.mbps,
            r.latency_idle_ms,
            r.latency_load_ms,
            r.complete
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "DELETE FROM result WHERE id <= (SELECT id FROM result ORDER BY id DESC LIMIT 1 OFFSET ?1)",
        [keep],
    )?;
    tx.commit()?;
    Ok(id)
}

/// The newest `limit` results, newest first; only `wan`'s when given. No database yet: none.
pub fn history(path: &Path, wan: Option<&str>, limit: u32) -> Result<Vec<Row>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let c = open(path, false)?;
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v == 0 {
        return Ok(Vec::new());
    }
    if v > VERSION {
        return Err(super::StoreError(format!(
            "speed-test database has schema {v}, newer than this build ({VERSION})"
        )));
    }
    let mut st = c.prepare(
        "SELECT id, ts, wan, device, server, server_label, direction, size_mb, bytes, seconds,
                mbps, latency_idle_ms, latency_load_ms, complete
         FROM result WHERE (?1 IS NULL OR wan = ?1) ORDER BY ts DESC, id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![wan, limit], |r| {
        Ok(Row {
            id: r.get(0)?,
            ts: r.get(1)?,
            wan: r.get(2)?,
            device: r.get(3)?,
            server: r.get(4)?,
            server_label: r.get(5)?,
            direction: r.get(6)?,
            size_mb: r.get(7)?,
            bytes: r.get::<_, i64>(8)? as u64,
            seconds: r.get(9)?,
            mbps: r.get(10)?,
            latency_idle_ms: r.get(11)?,
            latency_load_ms: r.get(12)?,
            complete: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(wan: &str, ts: f64) -> Row {
        Row {
            id: 0,
            ts,
            wan: wan.into(),
            device: "lan1".into(),
            server: "cloudflare".into(),
            server_label: "Cloudflare".into(),
            direction: "download".into(),
            size_mb: 10,
            bytes: 10 << 20,
            seconds: 2.0,
            mbps: 41.9,
            latency_idle_ms: Some(12.0),
            latency_load_ms: None,
            complete: true,
        }
    }

    #[test]
    fn insert_history_and_bound() {
        let dir = std::env::temp_dir().join(format!("jm-st-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let p = dir.join("sub/speedtest.db");
        assert!(history(&p, None, 10).unwrap().is_empty());
        let a = insert(&p, &row("wan1", 100.0)).unwrap();
        let b = insert(&p, &row("wan2", 200.0)).unwrap();
        assert!(b > a);
        let all = history(&p, None, 10).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].wan, "wan2");
        assert_eq!(all[1].latency_idle_ms, Some(12.0));
        assert_eq!(all[1].latency_load_ms, None);
        let w1 = history(&p, Some("wan1"), 10).unwrap();
        assert_eq!(w1.len(), 1);
        assert_eq!(w1[0].id, a);
        // Bounded: only the newest `keep` rows stay.
        for i in 0..8 {
            insert_keep(&p, &row("wan3", 300.0 + i as f64), 5).unwrap();
        }
        let c = Connection::open(&p).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM result", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 5);
        assert!(history(&p, Some("wan1"), 10).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
