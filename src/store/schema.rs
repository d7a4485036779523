//! The schema, as an ordered list of migrations. `PRAGMA user_version` is the number of
//! migrations applied; each runs in its own transaction together with the version bump, so a
//! crash mid-migration leaves the previous version intact. Never edit a released migration:
//! append a new one.
//!
//! Tiers (vnStat-like): every sample adds the same integer deltas to its minute, hour, day and
//! month row in one transaction, so the tiers add up exactly by construction and a retention
//! sweep only ever deletes whole old rows. `coverage_*` counts the samples (and seconds) behind
//! each bucket, so a page can tell "no traffic" from "collector was off".
//!
//! Raw per-minute rows (30 days of pings and health) are the bulk of the file: they hold
//! integers (µs, tenths, hundredths) rather than 8-byte REALs, and the ping host lives once in
//! `ping_target`, not in every row.

pub const MIGRATIONS: &[&str] = &[
    // v1
    "
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

    CREATE TABLE iface_minute(ts INTEGER NOT NULL, iface TEXT NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                              PRIMARY KEY(ts, iface)) WITHOUT ROWID;
    CREATE TABLE iface_hour(ts INTEGER NOT NULL, iface TEXT NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                            PRIMARY KEY(ts, iface)) WITHOUT ROWID;
    CREATE TABLE iface_day(day TEXT NOT NULL, iface TEXT NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                           PRIMARY KEY(day, iface)) WITHOUT ROWID;
    CREATE TABLE iface_month(month TEXT NOT NULL, iface TEXT NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                             PRIMARY KEY(month, iface)) WITHOUT ROWID;

    CREATE TABLE clients(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, mac TEXT, ip TEXT, hostname TEXT,
                         first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
    CREATE TABLE client_minute(ts INTEGER NOT NULL, client INTEGER NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                               PRIMARY KEY(ts, client)) WITHOUT ROWID;
    CREATE TABLE client_hour(ts INTEGER NOT NULL, client INTEGER NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                             PRIMARY KEY(ts, client)) WITHOUT ROWID;
    CREATE TABLE client_day(day TEXT NOT NULL, client INTEGER NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                            PRIMARY KEY(day, client)) WITHOUT ROWID;
    CREATE TABLE client_month(month TEXT NOT NULL, client INTEGER NOT NULL, rx INTEGER NOT NULL, tx INTEGER NOT NULL,
                              PRIMARY KEY(month, client)) WITHOUT ROWID;

    CREATE TABLE coverage_minute(ts INTEGER PRIMARY KEY, samples INTEGER NOT NULL, seconds INTEGER NOT NULL);
    CREATE TABLE coverage_hour(ts INTEGER PRIMARY KEY, samples INTEGER NOT NULL, seconds INTEGER NOT NULL);
    CREATE TABLE coverage_day(day TEXT PRIMARY KEY, samples INTEGER NOT NULL, seconds INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE coverage_month(month TEXT PRIMARY KEY, samples INTEGER NOT NULL, seconds INTEGER NOT NULL) WITHOUT ROWID;

    CREATE TABLE ping_minute(ts INTEGER NOT NULL, target TEXT NOT NULL,
                             sent INTEGER NOT NULL, lost INTEGER NOT NULL,
                             sum_us INTEGER NOT NULL, min_us INTEGER, max_us INTEGER,
                             PRIMARY KEY(ts, target)) WITHOUT ROWID;
    CREATE TABLE ping_target(target TEXT PRIMARY KEY, host TEXT NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE health_minute(ts INTEGER PRIMARY KEY, cpu_x10 INTEGER, load1_x100 INTEGER, load5_x100 INTEGER,
                               load15_x100 INTEGER, mem_total_kb INTEGER, mem_used_kb INTEGER, temp_x10 INTEGER,
                               conntrack INTEGER, conntrack_max INTEGER);
    CREATE TABLE wan_event(wan TEXT NOT NULL, ts INTEGER NOT NULL, up INTEGER NOT NULL,
                           PRIMARY KEY(wan, ts)) WITHOUT ROWID;

    CREATE TABLE counter_state(iface TEXT PRIMARY KEY, ifindex INTEGER NOT NULL, rx INTEGER NOT NULL,
                               tx INTEGER NOT NULL, boot_ms INTEGER NOT NULL, boot INTEGER NOT NULL,
                               ts INTEGER NOT NULL) WITHOUT ROWID;
    ",
    // v2: link reliability (issue 19). Pings sent through each WAN (socket bound to its device and
    // address), per minute and target, like ping_minute; the rounds a WAN was not probed because
    // its link was down or the user disabled it (only minutes that had any); outages and
    // disabled periods with their cause (`end_ms` NULL while it lasts).
    "
    CREATE TABLE wan_ping_minute(ts INTEGER NOT NULL, wan TEXT NOT NULL, target TEXT NOT NULL,
                                 sent INTEGER NOT NULL, lost INTEGER NOT NULL,
                                 sum_us INTEGER NOT NULL, min_us INTEGER, max_us INTEGER,
                                 PRIMARY KEY(ts, wan, target)) WITHOUT ROWID;
    CREATE TABLE wan_minute(ts INTEGER NOT NULL, wan TEXT NOT NULL, down INTEGER NOT NULL,
                            disabled INTEGER NOT NULL, PRIMARY KEY(ts, wan)) WITHOUT ROWID;
    CREATE TABLE wan_outage(wan TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER,
                            cause TEXT NOT NULL, PRIMARY KEY(wan, start_ms)) WITHOUT ROWID;
    ",
];

pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Tables whose rows are byte deltas keyed by (bucket, id): merged by adding.
pub const ADDITIVE_IFACE: &[(&str, &str)] = &[
    ("iface_minute", "ts"),
    ("iface_hour", "ts"),
    ("iface_day", "day"),
    ("iface_month", "month"),
];
pub const ADDITIVE_CLIENT: &[(&str, &str)] = &[
    ("client_minute", "ts"),
    ("client_hour", "ts"),
    ("client_day", "day"),
    ("client_month", "month"),
];
pub const COVERAGE: &[(&str, &str)] = &[
    ("coverage_minute", "ts"),
    ("coverage_hour", "ts"),
    ("coverage_day", "day"),
    ("coverage_month", "month"),
];

/// Every data table, for the storage dashboard's row counts.
pub const TABLES: &[&str] = &[
    "iface_minute",
    "iface_hour",
    "iface_day",
    "iface_month",
    "clients",
    "client_minute",
    "client_hour",
    "client_day",
    "client_month",
    "ping_minute",
    "health_minute",
    "wan_event",
    "wan_ping_minute",
    "wan_minute",
    "wan_outage",
];
