//! The collector's write paths: samples, counter state, retention sweep, flash checkpoint and
//! the RAM → USB merge. Only the collector calls these; the CGI links the library but never
//! reaches this module (checked on the release binary, docs/architecture.md), so none of it
//! ships in the request path.

use super::schema;
use super::{
    CounterRow, Result, Retention, Sample, Store, StoreError, counters, now_epoch, period,
};
use rusqlite::{OptionalExtension, params};
use std::path::Path;

fn i(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// Milliseconds → whole microseconds (RTTs are stored as integers).
fn us(ms: f64) -> i64 {
    (ms * 1000.0).round() as i64
}

impl Store {
    /// Writes one sample: every tier of every interface and client, coverage, pings, health,
    /// WAN events and the counter state, all or nothing.
    pub fn write(&mut self, s: &Sample) -> Result<()> {
        if !period::clock_synced(s.ts) {
            return Err(StoreError(format!(
                "refusing rows at {}: the clock is not set",
                s.ts
            )));
        }
        if s.ts > now_epoch() + 60 {
            return Err(StoreError(format!(
                "refusing rows in the future ({})",
                s.ts
            )));
        }
        let b = period::buckets(s.ts, s.offset);
        let tx = self.conn.transaction()?;
        {
            let mut ifs = [
                tx.prepare_cached(UPSERT_IFACE[0])?,
                tx.prepare_cached(UPSERT_IFACE[1])?,
                tx.prepare_cached(UPSERT_IFACE[2])?,
                tx.prepare_cached(UPSERT_IFACE[3])?,
            ];
            for t in s.ifaces.iter().filter(|t| t.rx > 0 || t.tx > 0) {
                ifs[0].execute(params![b.minute, t.iface, i(t.rx), i(t.tx)])?;
                ifs[1].execute(params![b.hour, t.iface, i(t.rx), i(t.tx)])?;
                ifs[2].execute(params![b.day, t.iface, i(t.rx), i(t.tx)])?;
                ifs[3].execute(params![b.month, t.iface, i(t.rx), i(t.tx)])?;
            }
            if s.clients.iter().any(|c| c.rx > 0 || c.tx > 0) {
                let mut client = tx.prepare_cached(UPSERT_CLIENT)?;
                let mut cs = [
                    tx.prepare_cached(UPSERT_CLIENT_TIER[0])?,
                    tx.prepare_cached(UPSERT_CLIENT_TIER[1])?,
                    tx.prepare_cached(UPSERT_CLIENT_TIER[2])?,
                    tx.prepare_cached(UPSERT_CLIENT_TIER[3])?,
                ];
                for c in s.clients.iter().filter(|c| c.rx > 0 || c.tx > 0) {
                    let id: i64 = client
                        .query_row(params![c.key, c.mac, c.ip, c.hostname, s.ts], |r| r.get(0))?;
                    cs[0].execute(params![b.minute, id, i(c.rx), i(c.tx)])?;
                    cs[1].execute(params![b.hour, id, i(c.rx), i(c.tx)])?;
                    cs[2].execute(params![b.day, id, i(c.rx), i(c.tx)])?;
                    cs[3].execute(params![b.month, id, i(c.rx), i(c.tx)])?;
                }
            }
            if s.seconds > 0 {
                let keys: [&dyn rusqlite::ToSql; 4] = [&b.minute, &b.hour, &b.day, &b.month];
                for (sql, key) in UPSERT_COVERAGE.iter().zip(keys) {
                    tx.prepare_cached(sql)?.execute(params![key, s.seconds])?;
                }
            }
            if !s.pings.is_empty() {
                let mut p = tx.prepare_cached(UPSERT_PING)?;
                let mut t = tx.prepare_cached(
                    "INSERT INTO ping_target(target, host, updated_at) VALUES(?1, ?2, ?3)
                     ON CONFLICT(target) DO UPDATE SET host = excluded.host, updated_at = excluded.updated_at
                     WHERE excluded.updated_at >= updated_at",
                )?;
                for m in s
                    .pings
                    .iter()
                    .filter(|m| period::clock_synced(m.ts) && m.ts <= s.ts)
                {
                    p.execute(params![
                        m.ts,
                        m.target,
                        m.sent,
                        m.lost,
                        us(m.sum_ms),
                        m.min_ms.map(us),
                        m.max_ms.map(us)
                    ])?;
                    t.execute(params![m.target, m.host, m.ts])?;
                }
            }
            if !s.wan_pings.is_empty() {
                let mut p = tx.prepare_cached(UPSERT_WAN_PING)?;
                for m in s
                    .wan_pings
                    .iter()
                    .filter(|m| period::clock_synced(m.ts) && m.ts <= s.ts)
                {
                    p.execute(params![
                        m.ts,
                        m.wan,
                        m.target,
                        m.sent,
                        m.lost,
                        us(m.sum_ms),
                        m.min_ms.map(us),
                        m.max_ms.map(us)
                    ])?;
                }
            }
            for (wan, m) in s
                .wan_minutes
                .iter()
                .filter(|(_, m)| period::clock_synced(m.ts) && m.ts <= s.ts)
            {
                tx.prepare_cached(UPSERT_WAN_MINUTE)?
                    .execute(params![m.ts, wan, m.down, m.disabled])?;
            }
            for o in s
                .outages
                .iter()
                .filter(|o| period::clock_synced(o.start_ms / 1000))
            {
                tx.prepare_cached(
                    "INSERT INTO wan_outage(wan, start_ms, end_ms, cause) VALUES(?1, ?2, ?3, ?4)
                     ON CONFLICT(wan, start_ms) DO UPDATE SET end_ms = excluded.end_ms, cause = excluded.cause",
                )?
                .execute(params![o.wan, o.start_ms, o.end_ms, o.cause.as_str()])?;
            }
            if let Some(h) = &s.health {
                let x = |v: Option<f64>, k: f64| v.map(|v| (v * k).round() as i64);
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO health_minute(ts, cpu_x10, load1_x100, load5_x100, load15_x100, mem_total_kb,
                     mem_used_kb, temp_x10, conntrack, conntrack_max) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                )?
                .execute(params![
                    b.minute,
                    x(h.cpu_pct, 10.0),
                    x(h.load.map(|l| l[0]), 100.0),
                    x(h.load.map(|l| l[1]), 100.0),
                    x(h.load.map(|l| l[2]), 100.0),
                    h.mem_total_kb.map(i),
                    h.mem_used_kb.map(i),
                    x(h.temp_c, 10.0),
                    h.conntrack.map(i),
                    h.conntrack_max.map(i)
                ])?;
            }
            for (wan, up) in &s.wan_events {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO wan_event(wan, ts, up) VALUES(?1, ?2, ?3)",
                )?
                .execute(params![wan, s.ts, *up as i64])?;
            }
            save_counters(&tx, &s.counters)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Only the counter state (while the clock is not yet set, no rows are written but the
    /// baseline keeps moving so the first synced sample counts one interval, not the whole wait).
    pub fn save_counters(&mut self, rows: &[CounterRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        save_counters(&tx, rows)?;
        tx.commit()?;
        Ok(())
    }

    pub fn counter_state(&self) -> Result<Vec<CounterRow>> {
        let mut st = self
            .conn
            .prepare("SELECT iface, ifindex, rx, tx, boot_ms, boot, ts FROM counter_state")?;
        let rows = st.query_map([], |r| {
            Ok(CounterRow {
                iface: r.get(0)?,
                reading: counters::Reading {
                    ifindex: r.get::<_, i64>(1)? as u32,
                    rx: r.get::<_, i64>(2)? as u64,
                    tx: r.get::<_, i64>(3)? as u64,
                    boot_ms: r.get::<_, i64>(4)? as u64,
                    boot: r.get::<_, i64>(5)? as u64,
                },
                ts: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The last recorded state of each WAN (to write only transitions).
    pub fn wan_states(&self) -> Result<Vec<(String, bool)>> {
        let mut st = self
            .conn
            .prepare("SELECT wan, up FROM wan_event w WHERE ts = (SELECT MAX(ts) FROM wan_event WHERE wan = w.wan)")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes rows older than each tier's retention. Returns the number of rows deleted.
    /// Closes the outages a previous run left open (it stopped or was killed during them): they
    /// end at the last minute that run recorded for that WAN (never before they started).
    pub fn close_open_outages(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE wan_outage SET end_ms = MAX(start_ms, coalesce(
                 (SELECT (MAX(ts) + 60) * 1000 FROM wan_ping_minute p WHERE p.wan = wan_outage.wan),
                 (SELECT (MAX(ts) + 60) * 1000 FROM wan_minute m WHERE m.wan = wan_outage.wan),
                 start_ms))
             WHERE end_ms IS NULL",
            [],
        )?)
    }

    pub fn sweep(&mut self, now: i64, offset: i32, r: &Retention) -> Result<usize> {
        let b = period::buckets(now, offset);
        let minute_cut = now - r.minute_hours.max(1) as i64 * 3600;
        let hour_cut = now - r.hour_days.max(1) as i64 * 86_400;
        let day_cut = period::day_minus(&b.day, r.day_days.max(1) as i64).unwrap_or_default();
        let raw_cut = now - r.raw_days.max(1) as i64 * 86_400;
        let tx = self.conn.transaction()?;
        let mut n = 0;
        for t in ["iface_minute", "client_minute", "coverage_minute"] {
            n += tx.execute(&format!("DELETE FROM {t} WHERE ts < ?1"), [minute_cut])?;
        }
        for t in ["iface_hour", "client_hour", "coverage_hour"] {
            n += tx.execute(&format!("DELETE FROM {t} WHERE ts < ?1"), [hour_cut])?;
        }
        for t in ["iface_day", "client_day", "coverage_day"] {
            n += tx.execute(&format!("DELETE FROM {t} WHERE day < ?1"), [&day_cut])?;
        }
        if r.month_months > 0 {
            let month_cut =
                period::month_minus(&b.month, r.month_months as i64).unwrap_or_default();
            for t in ["iface_month", "client_month", "coverage_month"] {
                n += tx.execute(&format!("DELETE FROM {t} WHERE month < ?1"), [&month_cut])?;
            }
        }
        n += tx.execute("DELETE FROM ping_minute WHERE ts < ?1", [raw_cut])?;
        n += tx.execute("DELETE FROM health_minute WHERE ts < ?1", [raw_cut])?;
        n += tx.execute("DELETE FROM wan_ping_minute WHERE ts < ?1", [raw_cut])?;
        n += tx.execute("DELETE FROM wan_minute WHERE ts < ?1", [raw_cut])?;
        n += tx.execute(
            "DELETE FROM wan_outage WHERE end_ms IS NOT NULL AND end_ms < ?1",
            [raw_cut * 1000],
        )?;
        n += tx.execute(
            "DELETE FROM ping_target WHERE target NOT IN (SELECT DISTINCT target FROM ping_minute)",
            [],
        )?;
        n += tx.execute("DELETE FROM counter_state WHERE ts < ?1", [now - 86_400])?;
        // Keep each WAN's last event before the cut: it is the state at the window's start.
        n += tx.execute(
            "DELETE FROM wan_event WHERE ts < ?1 AND ts < (SELECT MAX(ts) FROM wan_event w WHERE w.wan = wan_event.wan AND w.ts < ?1)",
            [raw_cut],
        )?;
        // Clients no tier refers to any more (their minute/hour rows are gone by then).
        n += tx.execute(
            "DELETE FROM clients WHERE last_seen < ?1
               AND id NOT IN (SELECT client FROM client_month UNION SELECT client FROM client_day)",
            [minute_cut.min(hour_cut)],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// A compact, consistent copy at `dest` (VACUUM INTO a temp file, fsync, rename): the file at
    /// `dest` is always either the previous checkpoint or the new one, never a torn write.
    pub fn checkpoint_to(&self, dest: &Path) -> Result<u64> {
        let dir = dest
            .parent()
            .ok_or_else(|| StoreError("checkpoint path has no directory".into()))?;
        std::fs::create_dir_all(dir)?;
        let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        self.conn
            .execute("VACUUM INTO ?1", [tmp.to_string_lossy()])?;
        let f = std::fs::File::open(&tmp)?;
        f.sync_all()?;
        let size = f.metadata()?.len();
        drop(f);
        std::fs::rename(&tmp, dest)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(size)
    }

    /// Adds the history of another database (e.g. the RAM copy kept while the USB stick was out)
    /// into this one: byte tiers and coverage add, pings add, health/WAN events are kept where
    /// this one has none, clients are matched by key. Exact as long as the two hold disjoint
    /// samples, which is how the collector uses it (RAM only ever holds what USB did not).
    ///
    /// Idempotent: the source's `db_id` is recorded in this database's `meta` as
    /// `merged:<id>` in the same transaction as the rows, so merging the same source again (a
    /// kill between this commit and the deletion of the source) adds nothing. Returns false when
    /// the source was already merged.
    pub fn merge_from(&mut self, other: &Path) -> Result<bool> {
        let src = Store::open(other)?; // brings an older schema up to date first
        let id = src
            .db_id()?
            .ok_or_else(|| StoreError(format!("{} has no db_id", other.display())))?;
        drop(src);
        let key = format!("merged:{id}");
        self.conn
            .execute("ATTACH DATABASE ?1 AS src", [other.to_string_lossy()])?;
        let result = (|| -> Result<bool> {
            let tx = self.conn.transaction()?;
            let done: Option<String> = tx
                .query_row("SELECT value FROM main.meta WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()?;
            if done.is_some() {
                return Ok(false);
            }
            for (t, k) in schema::ADDITIVE_IFACE {
                tx.execute_batch(&format!(
                    "INSERT INTO main.{t}({k}, iface, rx, tx) SELECT {k}, iface, rx, tx FROM src.{t} WHERE true
                     ON CONFLICT({k}, iface) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx;"
                ))?;
            }
            tx.execute_batch(
                "INSERT INTO main.clients(key, mac, ip, hostname, first_seen, last_seen)
                   SELECT key, mac, ip, hostname, first_seen, last_seen FROM src.clients WHERE true
                   ON CONFLICT(key) DO UPDATE SET
                     first_seen = MIN(first_seen, excluded.first_seen),
                     mac = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.mac, mac) ELSE mac END,
                     ip = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.ip, ip) ELSE ip END,
                     hostname = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.hostname, hostname) ELSE hostname END,
                     last_seen = MAX(last_seen, excluded.last_seen);",
            )?;
            for (t, k) in schema::ADDITIVE_CLIENT {
                tx.execute_batch(&format!(
                    "INSERT INTO main.{t}({k}, client, rx, tx)
                       SELECT s.{k}, m.id, s.rx, s.tx FROM src.{t} s
                       JOIN src.clients sc ON sc.id = s.client JOIN main.clients m ON m.key = sc.key WHERE true
                     ON CONFLICT({k}, client) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx;"
                ))?;
            }
            for (t, k) in schema::COVERAGE {
                tx.execute_batch(&format!(
                    "INSERT INTO main.{t}({k}, samples, seconds) SELECT {k}, samples, seconds FROM src.{t} WHERE true
                     ON CONFLICT({k}) DO UPDATE SET samples = samples + excluded.samples, seconds = seconds + excluded.seconds;"
                ))?;
            }
            tx.execute_batch(
                "INSERT INTO main.ping_minute SELECT * FROM src.ping_minute WHERE true
                   ON CONFLICT(ts, target) DO UPDATE SET sent = sent + excluded.sent, lost = lost + excluded.lost,
                     sum_us = sum_us + excluded.sum_us,
                     min_us = MIN(coalesce(min_us, excluded.min_us), coalesce(excluded.min_us, min_us)),
                     max_us = MAX(coalesce(max_us, excluded.max_us), coalesce(excluded.max_us, max_us));
                 INSERT INTO main.ping_target SELECT * FROM src.ping_target WHERE true
                   ON CONFLICT(target) DO UPDATE SET host = excluded.host, updated_at = excluded.updated_at
                   WHERE excluded.updated_at >= updated_at;
                 INSERT OR IGNORE INTO main.health_minute SELECT * FROM src.health_minute;
                 INSERT INTO main.wan_ping_minute SELECT * FROM src.wan_ping_minute WHERE true
                   ON CONFLICT(ts, wan, target) DO UPDATE SET sent = sent + excluded.sent, lost = lost + excluded.lost,
                     sum_us = sum_us + excluded.sum_us,
                     min_us = MIN(coalesce(min_us, excluded.min_us), coalesce(excluded.min_us, min_us)),
                     max_us = MAX(coalesce(max_us, excluded.max_us), coalesce(excluded.max_us, max_us));
                 INSERT INTO main.wan_minute SELECT * FROM src.wan_minute WHERE true
                   ON CONFLICT(ts, wan) DO UPDATE SET down = down + excluded.down, disabled = disabled + excluded.disabled;
                 INSERT INTO main.wan_outage SELECT * FROM src.wan_outage WHERE true
                   ON CONFLICT(wan, start_ms) DO UPDATE SET end_ms = coalesce(excluded.end_ms, end_ms);
                 INSERT OR IGNORE INTO main.wan_event SELECT * FROM src.wan_event;
                 INSERT INTO main.counter_state SELECT * FROM src.counter_state WHERE true
                   ON CONFLICT(iface) DO UPDATE SET ifindex = excluded.ifindex, rx = excluded.rx, tx = excluded.tx,
                     boot_ms = excluded.boot_ms, boot = excluded.boot, ts = excluded.ts WHERE excluded.boot_ms > boot_ms OR excluded.boot <> boot;",
            )?;
            tx.execute(
                "INSERT INTO main.meta(key, value) VALUES(?1, ?2)",
                params![key, now_epoch().to_string()],
            )?;
            tx.commit()?;
            Ok(true)
        })();
        let detach = self.conn.execute("DETACH DATABASE src", []);
        let merged = result?;
        detach?;
        Ok(merged)
    }
}

fn save_counters(tx: &rusqlite::Transaction, rows: &[CounterRow]) -> Result<()> {
    let mut st = tx.prepare_cached(
        "INSERT OR REPLACE INTO counter_state(iface, ifindex, rx, tx, boot_ms, boot, ts) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    )?;
    for c in rows {
        let r = &c.reading;
        st.execute(params![
            c.iface,
            r.ifindex as i64,
            r.rx as i64,
            r.tx as i64,
            r.boot_ms as i64,
            r.boot as i64,
            c.ts
        ])?;
    }
    Ok(())
}

const UPSERT_IFACE: [&str; 4] = [
    "INSERT INTO iface_minute(ts, iface, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(ts, iface) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
    "INSERT INTO iface_hour(ts, iface, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(ts, iface) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
    "INSERT INTO iface_day(day, iface, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(day, iface) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
    "INSERT INTO iface_month(month, iface, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(month, iface) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
];

const UPSERT_CLIENT: &str = "INSERT INTO clients(key, mac, ip, hostname, first_seen, last_seen) VALUES(?1,?2,?3,?4,?5,?5)
     ON CONFLICT(key) DO UPDATE SET mac = coalesce(excluded.mac, mac), ip = coalesce(excluded.ip, ip),
       hostname = coalesce(excluded.hostname, hostname), last_seen = excluded.last_seen
     RETURNING id";

const UPSERT_CLIENT_TIER: [&str; 4] = [
    "INSERT INTO client_minute(ts, client, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(ts, client) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
    "INSERT INTO client_hour(ts, client, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(ts, client) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
    "INSERT INTO client_day(day, client, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(day, client) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
    "INSERT INTO client_month(month, client, rx, tx) VALUES(?1,?2,?3,?4) ON CONFLICT(month, client) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx",
];

const UPSERT_COVERAGE: [&str; 4] = [
    "INSERT INTO coverage_minute(ts, samples, seconds) VALUES(?1, 1, ?2) ON CONFLICT(ts) DO UPDATE SET samples = samples + 1, seconds = seconds + excluded.seconds",
    "INSERT INTO coverage_hour(ts, samples, seconds) VALUES(?1, 1, ?2) ON CONFLICT(ts) DO UPDATE SET samples = samples + 1, seconds = seconds + excluded.seconds",
    "INSERT INTO coverage_day(day, samples, seconds) VALUES(?1, 1, ?2) ON CONFLICT(day) DO UPDATE SET samples = samples + 1, seconds = seconds + excluded.seconds",
    "INSERT INTO coverage_month(month, samples, seconds) VALUES(?1, 1, ?2) ON CONFLICT(month) DO UPDATE SET samples = samples + 1, seconds = seconds + excluded.seconds",
];

const UPSERT_PING: &str = "INSERT INTO ping_minute(ts, target, sent, lost, sum_us, min_us, max_us) VALUES(?1,?2,?3,?4,?5,?6,?7)
     ON CONFLICT(ts, target) DO UPDATE SET sent = sent + excluded.sent, lost = lost + excluded.lost,
       sum_us = sum_us + excluded.sum_us,
       min_us = MIN(coalesce(min_us, excluded.min_us), coalesce(excluded.min_us, min_us)),
       max_us = MAX(coalesce(max_us, excluded.max_us), coalesce(excluded.max_us, max_us))";

const UPSERT_WAN_PING: &str = "INSERT INTO wan_ping_minute(ts, wan, target, sent, lost, sum_us, min_us, max_us) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)
     ON CONFLICT(ts, wan, target) DO UPDATE SET sent = sent + excluded.sent, lost = lost + excluded.lost,
       sum_us = sum_us + excluded.sum_us,
       min_us = MIN(coalesce(min_us, excluded.min_us), coalesce(excluded.min_us, min_us)),
       max_us = MAX(coalesce(max_us, excluded.max_us), coalesce(excluded.max_us, max_us))";

const UPSERT_WAN_MINUTE: &str = "INSERT INTO wan_minute(ts, wan, down, disabled) VALUES(?1,?2,?3,?4)
     ON CONFLICT(ts, wan) DO UPDATE SET down = down + excluded.down, disabled = disabled + excluded.disabled";
