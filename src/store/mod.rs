//! SQLite history shared by the collector (the only writer) and the CGI (read-only queries).
//!
//! - WAL, `synchronous=NORMAL`: a commit is one append to the WAL, no fsync on tmpfs or USB per
//!   sample; a kill -9 loses nothing committed, a power cut at most the last few samples.
//! - One transaction per sample: an interrupted sample leaves no partial rows.
//! - Versioned schema ([`schema`]) applied by [`Store::open`]; readers refuse a version they do
//!   not know instead of guessing.
//! - Retention ([`Retention`]) deletes whole old rows of each tier, so nothing grows without
//!   bound (monthly interface/client rows are the one tier kept forever by default: one row per
//!   interface or client per month).

pub mod clients;
pub mod config;
pub mod counters;
pub mod ifaces;
pub mod linkhist;
pub mod live;
pub mod period;
pub mod query;
pub mod schema;
pub mod snapshot;
pub mod speedtest;
pub mod status;
pub mod write;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<StoreError> for crate::error::ApiError {
    fn from(e: StoreError) -> Self {
        crate::error::ApiError::internal(format!("history database: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Byte deltas of one interface (kernel device name) over one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceTraffic {
    pub iface: String,
    pub rx: u64,
    pub tx: u64,
}

/// Byte deltas of one LAN client over one sample. `key` is the MAC (lowercase) or `ip:<addr>`
/// when no MAC is known. rx = bytes the client received (download), tx = sent (upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTraffic {
    pub key: String,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub rx: u64,
    pub tx: u64,
}

/// One minute of pings to one target. Additive: partial minutes written twice sum correctly.
#[derive(Debug, Clone, PartialEq)]
pub struct PingMinute {
    pub ts: i64,
    pub target: String,
    pub host: String,
    pub sent: u32,
    pub lost: u32,
    /// Sum of the RTTs of the answered pings (avg = sum / (sent - lost)).
    pub sum_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// One minute of pings sent through one WAN (bound to its device and address) to one target.
#[derive(Debug, Clone, PartialEq)]
pub struct WanPingMinute {
    pub ts: i64,
    pub wan: String,
    /// `gateway`, a ping target's name, or an IPv4 literal (config `wan_target`).
    pub target: String,
    pub sent: u32,
    pub lost: u32,
    pub sum_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// Rounds of one minute in which a WAN was not probed: link down, or disabled by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WanMinute {
    pub ts: i64,
    pub down: u32,
    pub disabled: u32,
}

/// Why a WAN was out (`wan_outage.cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    LinkDown,
    NoGatewayReply,
    NoInternetReply,
    Disabled,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::LinkDown => "link_down",
            Cause::NoGatewayReply => "no_gateway_reply",
            Cause::NoInternetReply => "no_internet_reply",
            Cause::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Cause> {
        [
            Cause::LinkDown,
            Cause::NoGatewayReply,
            Cause::NoInternetReply,
            Cause::Disabled,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
    /// A failure of the link (counts against uptime); `Disabled` is the user's choice.
    pub fn is_failure(self) -> bool {
        self != Cause::Disabled
    }
}

/// An outage (or a period disabled by the user) of one WAN; `end_ms` is `None` while it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub wan: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub cause: Cause,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub cpu_pct: Option<f64>,
    pub load: Option<[f64; 3]>,
    pub mem_total_kb: Option<u64>,
    pub mem_used_kb: Option<u64>,
    pub temp_c: Option<f64>,
    pub conntrack: Option<u64>,
    pub conntrack_max: Option<u64>,
}

/// The persisted counter state of one interface (so a collector restart within the same boot
/// loses no interval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    pub iface: String,
    pub reading: counters::Reading,
    pub ts: i64,
}

/// Everything one sample writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Wall clock of the sample (UTC epoch seconds); must be synced (see [`period::clock_synced`]).
    pub ts: i64,
    /// UTC offset in force at `ts`.
    pub offset: i32,
    /// Seconds this sample covers (boot-time elapsed since the previous one); 0 for a baseline.
    pub seconds: u32,
    pub ifaces: Vec<IfaceTraffic>,
    pub clients: Vec<ClientTraffic>,
    pub pings: Vec<PingMinute>,
    /// Per-WAN pings, per-WAN unprobed rounds (by WAN name), outages opened or closed.
    pub wan_pings: Vec<WanPingMinute>,
    pub wan_minutes: Vec<(String, WanMinute)>,
    pub outages: Vec<Outage>,
    pub health: Option<Health>,
    /// WAN up/down transitions (`wan` UCI name, up).
    pub wan_events: Vec<(String, bool)>,
    pub counters: Vec<CounterRow>,
}

/// How long each tier is kept. 0 months = forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub minute_hours: u32,
    pub hour_days: u32,
    pub day_days: u32,
    pub month_months: u32,
    /// Ping and health minutes, WAN events.
    pub raw_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            minute_hours: 48,
            hour_days: 30,
            day_days: 365,
            month_months: 0,
            raw_days: 30,
        }
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn pragmas(conn: &Connection) -> Result<()> {
    // A small page cache: the collector's RSS budget is 4 MB and its working set is tiny.
    conn.execute_batch(
        "PRAGMA busy_timeout=5000; PRAGMA cache_size=-256; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0;",
    )?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings the schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        pragmas(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!(
                "cannot switch {} to WAL (journal_mode={mode})",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=256;")?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        // The identity a merge records in its target (made once, copied by checkpoints).
        store.conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES('db_id', ?1)",
            [crate::jobs::random_hex() + &crate::jobs::random_hex()],
        )?;
        Ok(store)
    }

    /// This database's identity (see [`Store::open`]).
    pub fn db_id(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'db_id'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Opens an existing database for queries only (the CGI). Never creates, never migrates:
    /// a schema this build does not know is an error the page can show.
    pub fn open_existing(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch(
            "PRAGMA busy_timeout=2000; PRAGMA query_only=1; PRAGMA cache_size=-512;",
        )?;
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if v != schema::VERSION {
            return Err(StoreError(format!(
                "{} has schema version {v}, this build reads version {}{}",
                path.display(),
                schema::VERSION,
                if v < schema::VERSION {
                    " (restart the collector to upgrade it)"
                } else {
                    ""
                }
            )));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let have = self.version()?;
        if have > schema::VERSION {
            return Err(StoreError(format!(
                "{} has schema version {have}, newer than this build ({}); refusing to touch it",
                self.path.display(),
                schema::VERSION
            )));
        }
        for (n, sql) in schema::MIGRATIONS.iter().enumerate().skip(have as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version={}", n + 1))?;
            if n == 0 {
                tx.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES('created_at', ?1)",
                    params![now_epoch().to_string()],
                )?;
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// `PRAGMA quick_check` says ok.
    pub fn quick_check(&self) -> Result<bool> {
        let v: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        Ok(v == "ok")
    }
}

/// Whole seconds since the epoch (the one clock: [`crate::system::clock`]).
pub use crate::system::clock::now_secs as now_epoch;

/// Moves a damaged database (and its -wal/-shm) aside as `<name>.corrupt-<UTC time>`: never
/// deleted, so it can still be inspected or salvaged. Returns the new path of the main file.
pub fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let now = now_epoch();
    let (y, m, d) = period::civil_from_days(now.div_euclid(86_400));
    let sod = now.rem_euclid(86_400);
    let stamp = format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    );
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history.db".into());
    let mut target = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while target.exists() {
        target = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &target)?;
    for ext in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{ext}", path.display()));
        if side.exists() {
            std::fs::rename(&side, PathBuf::from(format!("{}{ext}", target.display())))?;
        }
    }
    Ok(target)
}

/// SQLite says the file itself is damaged (as opposed to the disk being full or unreadable).
pub fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
    )
}

/// Opens `path`, moving it aside first if it is not a healthy SQLite database. Returns the store
/// and, when one was moved, where the damaged file went.
pub fn open_checked(path: &Path) -> Result<(Store, Option<PathBuf>)> {
    if !path.exists() {
        return Ok((Store::open(path)?, None));
    }
    let healthy = match Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .and_then(|c| c.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)))
    {
        Ok(v) => v == "ok",
        Err(e) if is_damage(&e) => false,
        // A full or read-only disk, an I/O error: not the file's fault, never moved aside.
        Err(e) => return Err(StoreError(format!("{}: {e}", path.display()))),
    };
    if healthy {
        match Store::open(path) {
            Ok(s) => return Ok((s, None)),
            // A database from a newer build is healthy but not ours to touch: say so, keep it.
            Err(e) if e.0.contains("newer than this build") => return Err(e),
            Err(_) => {}
        }
    }
    let moved = move_aside(path)?;
    Ok((Store::open(path)?, Some(moved)))
}

/// Row count of each data table, the first and last sample (storage dashboard).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub rows: std::collections::BTreeMap<String, i64>,
    pub first_sample: Option<i64>,
    pub last_sample: Option<i64>,
    pub first_month: Option<String>,
    pub created_at: Option<i64>,
}

impl Store {
    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        for t in schema::TABLES {
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            s.rows.insert(t.to_string(), n);
        }
        s.first_sample = self
            .conn
            .query_row("SELECT MIN(ts) FROM coverage_hour", [], |r| r.get(0))?;
        s.last_sample = self
            .conn
            .query_row("SELECT MAX(ts) FROM coverage_minute", [], |r| r.get(0))?;
        s.first_month = self
            .conn
            .query_row("SELECT MIN(month) FROM coverage_month", [], |r| r.get(0))?;
        s.created_at = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'created_at'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok());
        Ok(s)
    }
}
