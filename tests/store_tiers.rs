//! The history store against real SQLite: tiers that add up exactly (also across a DST change
//! and a +5:30 zone), retention that bounds every tier, merge, checkpoint, damaged and newer
//! databases, refusal of unsynced and future rows, and the bandwidth/ping queries.

use jammonitor::store::counters::Reading;
use jammonitor::store::query::{self, Range};
use jammonitor::store::{
    self, ClientTraffic, CounterRow, Health, IfaceTraffic, PingMinute, Retention, Sample, Store,
    period,
};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("jm-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn db(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A zone with a DST jump (+1 h → +2 h) at `switch`.
fn dst_offset(switch: i64) -> impl Fn(i64) -> i32 {
    move |ts| if ts < switch { 3600 } else { 7200 }
}

fn sample(ts: i64, offset: i32, rng: &mut Rng) -> Sample {
    let ifaces = ["lan1", "lan2", "tun0"]
        .iter()
        .map(|n| IfaceTraffic {
            iface: n.to_string(),
            rx: rng.below(5_000_000),
            tx: rng.below(900_000),
        })
        .collect();
    let mut clients = Vec::new();
    for i in 0..4 {
        if rng.below(3) == 0 {
            continue;
        }
        clients.push(ClientTraffic {
            key: format!("02:00:00:00:01:0{i}"),
            mac: Some(format!("02:00:00:00:01:0{i}")),
            ip: Some(format!("192.168.100.{}", 10 + i)),
            hostname: Some(format!("host{i}")),
            rx: rng.below(1_000_000) + 1,
            tx: rng.below(100_000),
        });
    }
    Sample {
        ts,
        offset,
        seconds: 60,
        ifaces,
        clients,
        health: Some(Health {
            cpu_pct: Some(1.5),
            load: Some([0.1, 0.2, 0.3]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn sums(c: &Connection, sql: &str) -> BTreeMap<(String, String), (i64, i64)> {
    let mut st = c.prepare(sql).unwrap();
    st.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn tiers_add_up_exactly_through_dst_and_retention() {
    let dir = Dir::new("tiers");
    let mut s = Store::open(&dir.db("h.db")).unwrap();
    let now = store::now_epoch();
    let start = (now - 40 * 86_400) / 60 * 60;
    // Clocks change on a whole UTC hour in every zone with whole-hour offsets (the switch
    // happens at a local full hour); a switch in mid-hour put the test's own bucketing and the
    // store's on different local dates whenever the run started near midnight.
    let switch = (start + 20 * 86_400 + 1234 * 60) / 3600 * 3600;
    let off = dst_offset(switch);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut client_total: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    // 40 days, one sample every 5 minutes (keeps the test fast; the tiers do not care).
    let mut ts = start;
    while ts < now - 120 {
        let smp = sample(ts, off(ts), &mut rng);
        for i in &smp.ifaces {
            let e = total.entry(i.iface.clone()).or_default();
            e.0 += i.rx;
            e.1 += i.tx;
        }
        for c in &smp.clients {
            let e = client_total.entry(c.key.clone()).or_default();
            e.0 += c.rx;
            e.1 += c.tx;
        }
        s.write(&smp).unwrap();
        ts += 300;
    }
    let c = s.conn();
    // Before retention: minute → hour per (hour, iface) exactly.
    let mut by_hour: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
    {
        let mut st = c
            .prepare("SELECT ts, iface, rx, tx FROM iface_minute")
            .unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .unwrap();
        for r in rows {
            let (ts, iface, rx, tx) = r.unwrap();
            let e = by_hour
                .entry((period::buckets(ts, off(ts)).hour, iface))
                .or_default();
            e.0 += rx;
            e.1 += tx;
        }
    }
    let hours: BTreeMap<(i64, String), (i64, i64)> = {
        let mut st = c
            .prepare("SELECT ts, iface, rx, tx FROM iface_hour")
            .unwrap();
        st.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(by_hour, hours, "minutes add up to hours");
    // hour → day: the local date of each hour's start.
    let mut by_day: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for ((h, iface), (rx, tx)) in &hours {
        let e = by_day
            .entry((period::buckets(*h, off(*h)).day, iface.clone()))
            .or_default();
        e.0 += rx;
        e.1 += tx;
    }
    let days = sums(c, "SELECT day, iface, rx, tx FROM iface_day");
    assert_eq!(by_day, days, "hours add up to days (DST day included)");
    let by_month = sums(
        c,
        "SELECT substr(day, 1, 7), iface, SUM(rx), SUM(tx) FROM iface_day GROUP BY 1, 2",
    );
    let months = sums(c, "SELECT month, iface, rx, tx FROM iface_month");
    assert_eq!(by_month, months, "days add up to months");
    // Clients: the same chain, in SQL.
    let ch = sums(
        c,
        "SELECT CAST(client AS TEXT), '', SUM(rx), SUM(tx) FROM client_hour GROUP BY client",
    );
    let cm = sums(
        c,
        "SELECT CAST(client AS TEXT), '', SUM(rx), SUM(tx) FROM client_minute GROUP BY client",
    );
    let cmo = sums(
        c,
        "SELECT CAST(client AS TEXT), '', SUM(rx), SUM(tx) FROM client_month GROUP BY client",
    );
    assert_eq!(ch, cm);
    assert_eq!(cm, cmo);
    let coverage: i64 = c
        .query_row("SELECT SUM(samples) FROM coverage_month", [], |r| r.get(0))
        .unwrap();
    let cov_min: i64 = c
        .query_row("SELECT SUM(samples) FROM coverage_minute", [], |r| r.get(0))
        .unwrap();
    assert_eq!(coverage, cov_min);

    // Retention: minutes 48 h, hours 30 d; days and months keep everything here.
    let before: i64 = c
        .query_row("SELECT count(*) FROM iface_minute", [], |r| r.get(0))
        .unwrap();
    let deleted = s.sweep(now, off(now), &Retention::default()).unwrap();
    assert!(deleted > 0);
    let c = s.conn();
    let oldest_minute: i64 = c
        .query_row("SELECT MIN(ts) FROM iface_minute", [], |r| r.get(0))
        .unwrap();
    assert!(
        oldest_minute >= now - 48 * 3600,
        "minutes older than 48 h are gone"
    );
    let oldest_hour: i64 = c
        .query_row("SELECT MIN(ts) FROM iface_hour", [], |r| r.get(0))
        .unwrap();
    assert!(oldest_hour >= now - 30 * 86_400);
    let after: i64 = c
        .query_row("SELECT count(*) FROM iface_minute", [], |r| r.get(0))
        .unwrap();
    assert!(after < before / 10, "{after} of {before} minute rows left");
    // The monthly tier still holds every byte ever written.
    let months = sums(
        c,
        "SELECT '', iface, SUM(rx), SUM(tx) FROM iface_month GROUP BY iface",
    );
    for (iface, (rx, tx)) in &total {
        assert_eq!(
            months.get(&(String::new(), iface.clone())),
            Some(&(*rx as i64, *tx as i64)),
            "{iface}"
        );
    }
    let cm = sums(
        c,
        "SELECT c.key, '', SUM(m.rx), SUM(m.tx) FROM client_month m JOIN clients c ON c.id = m.client GROUP BY c.key",
    );
    for (k, (rx, tx)) in &client_total {
        assert_eq!(
            cm.get(&(k.clone(), String::new())),
            Some(&(*rx as i64, *tx as i64)),
            "client {k}"
        );
    }
    // Sweeping again deletes nothing new; a second 30 days later the daily tier is bounded too.
    assert_eq!(s.sweep(now, off(now), &Retention::default()).unwrap(), 0);
    let short = Retention {
        day_days: 7,
        month_months: 1,
        raw_days: 1,
        ..Retention::default()
    };
    s.sweep(now, off(now), &short).unwrap();
    let days: i64 = s
        .conn()
        .query_row("SELECT count(DISTINCT day) FROM iface_day", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(days <= 8, "{days} days kept");
    let months: i64 = s
        .conn()
        .query_row("SELECT count(DISTINCT month) FROM iface_month", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(months <= 2);
    let health: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM health_minute WHERE ts < ?1",
            [now - 86_400],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(health, 0);
}

#[test]
fn half_hour_zone_hours_start_at_half_past() {
    let dir = Dir::new("ist");
    let mut s = Store::open(&dir.db("h.db")).unwrap();
    let now = store::now_epoch();
    let t = (now - 86_400) / 3600 * 3600 + 29 * 60; // hh:29 UTC = (hh+5):59 IST
    for (ts, rx) in [(t, 100u64), (t + 60, 10)] {
        let smp = Sample {
            ts,
            offset: 19_800,
            seconds: 60,
            ifaces: vec![IfaceTraffic {
                iface: "lan1".into(),
                rx,
                tx: 1,
            }],
            ..Default::default()
        };
        s.write(&smp).unwrap();
    }
    let hours: Vec<(i64, i64)> = {
        let mut st = s
            .conn()
            .prepare("SELECT ts, rx FROM iface_hour ORDER BY ts")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // 05:59 IST belongs to the hour starting 05:00 IST = hh-1:30 UTC; 06:00 IST starts a new one.
    assert_eq!(hours, vec![(t - 59 * 60, 100), (t + 60, 10)]);
}

#[test]
fn merge_adds_disjoint_histories_exactly() {
    let dir = Dir::new("merge");
    let now = store::now_epoch();
    let mut usb = Store::open(&dir.db("usb.db")).unwrap();
    let mut ram = Store::open(&dir.db("ram.db")).unwrap();
    let mut rng = Rng(7);
    let (mut want_rx, mut want_clients) = (0u64, 0u64);
    for k in 0..200 {
        let ts = now - 10 * 86_400 + k * 600;
        let smp = sample(ts, 0, &mut rng);
        want_rx += smp.ifaces.iter().map(|i| i.rx).sum::<u64>();
        want_clients += smp.clients.iter().map(|c| c.rx).sum::<u64>();
        // The same buckets get data in both: the merge must add, not replace.
        if k % 2 == 0 {
            usb.write(&smp)
        } else {
            ram.write(&smp)
        }
        .unwrap();
    }
    ram.write(&Sample {
        ts: now - 100,
        pings: vec![PingMinute {
            ts: now - 160,
            target: "internet".into(),
            host: "1.1.1.1".into(),
            sent: 20,
            lost: 1,
            sum_ms: 190.0,
            min_ms: Some(8.0),
            max_ms: Some(12.0),
        }],
        counters: vec![CounterRow {
            iface: "lan1".into(),
            reading: Reading {
                ifindex: 3,
                rx: 99,
                tx: 98,
                boot_ms: 5000,
                boot: 1,
            },
            ts: now - 100,
        }],
        ..Default::default()
    })
    .unwrap();
    drop(ram);
    usb.merge_from(&dir.db("ram.db")).unwrap();
    let c = usb.conn();
    let rx: i64 = c
        .query_row("SELECT SUM(rx) FROM iface_month", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rx as u64, want_rx);
    let rx_min: i64 = c
        .query_row("SELECT SUM(rx) FROM iface_minute", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rx_min as u64, want_rx);
    let crx: i64 = c
        .query_row("SELECT SUM(rx) FROM client_day", [], |r| r.get(0))
        .unwrap();
    assert_eq!(crx as u64, want_clients);
    let clients: i64 = c
        .query_row("SELECT count(*) FROM clients", [], |r| r.get(0))
        .unwrap();
    assert!(
        clients <= 4,
        "clients matched by key, not duplicated ({clients})"
    );
    let samples: i64 = c
        .query_row("SELECT SUM(samples) FROM coverage_hour", [], |r| r.get(0))
        .unwrap();
    assert_eq!(samples, 200);
    assert_eq!(usb.counter_state().unwrap()[0].reading.rx, 99);
    let pings = query::ping_history(c, now - 3600).unwrap();
    assert_eq!(pings[0].points[0].avg_ms, Some(10.0));
    assert_eq!(pings[0].points[0].loss_pct, 5.0);
}

#[test]
fn checkpoint_damage_and_versions() {
    let dir = Dir::new("ckpt");
    let now = store::now_epoch();
    let mut s = Store::open(&dir.db("ram.db")).unwrap();
    let mut rng = Rng(3);
    for k in 0..30 {
        s.write(&sample(now - 3600 + k * 60, 0, &mut rng)).unwrap();
    }
    let size = s.checkpoint_to(&dir.db("flash/history.db")).unwrap();
    assert!(size > 0);
    let cp = Store::open_existing(&dir.db("flash/history.db")).unwrap();
    assert!(cp.quick_check().unwrap());
    let n = |st: &Store| -> i64 {
        st.conn()
            .query_row("SELECT count(*) FROM iface_minute", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(n(&cp), n(&s));
    // A second checkpoint replaces the first atomically (no temp file left behind).
    s.checkpoint_to(&dir.db("flash/history.db")).unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.db("flash"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // Garbage where a database should be: moved aside (kept byte for byte), a new one started.
    let bad = dir.db("bad.db");
    std::fs::write(&bad, b"this is not a database, but somebody's data").unwrap();
    let (fresh, moved) = store::open_checked(&bad).unwrap();
    let moved = moved.expect("moved aside");
    assert_eq!(
        std::fs::read(&moved).unwrap(),
        b"this is not a database, but somebody's data"
    );
    assert!(
        moved
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bad.db.corrupt-")
    );
    assert!(fresh.quick_check().unwrap());

    // A database from a newer build is neither migrated nor moved.
    let newer = dir.db("newer.db");
    drop(Store::open(&newer).unwrap());
    Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version=99")
        .unwrap();
    let e = store::open_checked(&newer).err().expect("refused");
    assert!(e.0.contains("newer"), "{e}");
    assert!(newer.exists());
    let e = Store::open_existing(&newer).err().unwrap();
    assert!(e.0.contains("version 99"), "{e}");
    assert_eq!(
        Store::open(&dir.db("ram.db")).unwrap().version().unwrap(),
        store::schema::VERSION
    );
}

#[test]
fn unsynced_and_future_rows_are_refused() {
    let dir = Dir::new("clock");
    let mut s = Store::open(&dir.db("h.db")).unwrap();
    let mut rng = Rng(11);
    assert!(
        s.write(&sample(1_000_000, 0, &mut rng)).is_err(),
        "1970: clock not set"
    );
    assert!(
        s.write(&sample(1_700_000_000, 0, &mut rng)).is_err(),
        "2023: before the sync floor"
    );
    assert!(
        s.write(&sample(store::now_epoch() + 3600, 0, &mut rng))
            .is_err(),
        "future"
    );
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM iface_minute", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    // Counter state alone may be saved while waiting for the clock.
    s.save_counters(&[CounterRow {
        iface: "lan1".into(),
        reading: Reading {
            ifindex: 1,
            rx: 5,
            tx: 6,
            boot_ms: 1,
            boot: 2,
        },
        ts: 1_000_000,
    }])
    .unwrap();
    assert_eq!(s.counter_state().unwrap().len(), 1);
}

#[test]
fn bandwidth_series_queries() {
    let dir = Dir::new("query");
    let mut s = Store::open(&dir.db("h.db")).unwrap();
    let now = store::now_epoch();
    let off = |_: i64| 0;
    // 3 samples this hour, 1 two hours ago, 1 five days ago, 1 in an old month.
    let cur = now - 30;
    let data = [
        (cur, 1000u64),
        (cur - 60, 200),
        (cur - 2 * 3600, 30),
        (cur - 5 * 86_400, 4),
        (cur - 70 * 86_400, 5),
    ];
    for (ts, rx) in data {
        s.write(&Sample {
            ts,
            offset: 0,
            seconds: 60,
            ifaces: vec![
                IfaceTraffic {
                    iface: "lan1".into(),
                    rx,
                    tx: rx / 2,
                },
                IfaceTraffic {
                    iface: "tun0".into(),
                    rx: 1,
                    tx: 1,
                },
            ],
            ..Default::default()
        })
        .unwrap();
    }
    let c = s.conn();
    let lan1 = vec!["lan1".to_string()];
    let h = query::iface_series(c, Range::Hourly, &lan1, now, &off).unwrap();
    assert_eq!(h.buckets.len(), 24);
    let v = &h.per_iface["lan1"];
    assert_eq!(
        v[23].0,
        if (cur - 60) / 3600 == cur / 3600 {
            1200
        } else {
            1000
        }
    );
    assert_eq!(v.iter().map(|x| x.0).sum::<u64>(), 1230);
    assert_eq!(h.buckets[23].start, now / 3600 * 3600);
    assert!(h.buckets[23].samples >= 1);
    assert!(!h.per_iface.contains_key("tun0"), "only what was asked");
    let d = query::iface_series(c, Range::Daily, &lan1, now, &off).unwrap();
    assert_eq!(d.buckets.len(), 30);
    assert_eq!(d.per_iface["lan1"].iter().map(|x| x.0).sum::<u64>(), 1234);
    assert_eq!(d.buckets[29].label, period::buckets(now, 0).day);
    let m = query::iface_series(c, Range::Monthly, &[], now, &off).unwrap();
    assert!(
        m.buckets.len() >= 3 && m.buckets.len() <= 4,
        "{:?}",
        m.buckets
    );
    assert_eq!(m.per_iface["lan1"].iter().map(|x| x.0).sum::<u64>(), 1239);
    assert_eq!(m.per_iface["tun0"].iter().map(|x| x.0).sum::<u64>(), 5);
    assert_eq!(query::recorded_ifaces(c).unwrap(), ["lan1", "tun0"]);
}

/// Finding 5: the RAM → USB merge added the rows and then deleted the source; a kill between
/// the two merged the source again on the next start (8.0 MB counted for 5.0 MB). The merge id
/// (the source's `db_id`) is recorded in the target in the same transaction as the rows.
#[test]
fn finding_5_merge_killed_between_commit_and_delete_counts_once() {
    let dir = Dir::new("merge-once");
    let now = store::now_epoch();
    let mut usb = Store::open(&dir.db("usb.db")).unwrap();
    let mut ram = Store::open(&dir.db("ram.db")).unwrap();
    let mut rng = Rng(11);
    let mut want = 0u64;
    for k in 0..50 {
        let smp = sample(now - 86_400 + k * 600, 0, &mut rng);
        want += smp.ifaces.iter().map(|i| i.rx).sum::<u64>();
        ram.write(&smp).unwrap();
    }
    let id = ram.db_id().unwrap().expect("every database has an id");
    ram.checkpoint_to(&dir.db("flash.db")).unwrap();
    drop(ram);
    assert!(usb.merge_from(&dir.db("ram.db")).unwrap());
    // "Killed" before the source was deleted: the next start merges it again, and the flash
    // checkpoint (a copy of the same database) too.
    assert!(!usb.merge_from(&dir.db("ram.db")).unwrap());
    assert!(!usb.merge_from(&dir.db("flash.db")).unwrap());
    let rx: i64 = usb
        .conn()
        .query_row("SELECT SUM(rx) FROM iface_month", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rx as u64, want, "counted once");
    let rec: i64 = usb
        .conn()
        .query_row(
            "SELECT count(*) FROM meta WHERE key = ?1",
            [format!("merged:{id}")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rec, 1);
    // A different database is merged normally.
    let mut other = Store::open(&dir.db("other.db")).unwrap();
    other.write(&sample(now - 3000, 0, &mut rng)).unwrap();
    assert_ne!(other.db_id().unwrap().unwrap(), id);
    drop(other);
    assert!(usb.merge_from(&dir.db("other.db")).unwrap());
}
