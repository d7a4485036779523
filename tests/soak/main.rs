//! `make soak` fault runs (issue 18), one test per fault, each printing its figures as
//! `SOAK <fault> <figure>=<value> …` lines. Not part of `cargo test` (Cargo.toml: `test =
//! false`); run with `cargo test --test soak -- --nocapture --test-threads 1 [name]`.
//! Durations come from the environment (defaults as the issue says), so shortened runs prove the
//! machinery here:
//! - `wan_link_flapping`: JM_SOAK_FLAP_SECS (600): a WAN link down/up every second, every other
//!   time back with a new ifindex and counters from 0 (a PPPoE reconnect); no stuck state, no spike.
//! - `clock_jumps`: JM_SOAK_CLOCK_PHASE_SECS (90 per phase): the collector's wall clock (libfaketime,
//!   for that process only — never this machine's) +1 day, back, −1 day, back; no future rows,
//!   no negative deltas, rows keep coming.
//! - `db_fill_retention`: JM_SOAK_FILL_DAYS (90 simulated days at the collector's heavy case); the DB size stops growing once the tiers' retention is reached.
//!
//! The three-tabs run is a browser test: tests/soak/tabs.test.mjs (JM_SOAK_TABS_SECS, 1800).
//!
//! Root and namespaces: a fixture root per test (its /proc/net/dev and /sys/class/net are files
//! the test writes), ping targets on loopback; nothing touches the rig or this machine's clock.
#[path = "../collector_util/mod.rs"]
mod collector_util;
#[path = "../common/mod.rs"]
mod common;

use collector_util::*;
use common::*;
use std::time::{Duration, Instant};

fn secs_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One interface as the fixture kernel shows it.
#[derive(Clone)]
struct Link {
    name: &'static str,
    ifindex: u32,
    up: bool,
    rx: u64,
    tx: u64,
}

/// Writes /proc/net/dev and /sys/class/net/<dev>/{ifindex,operstate} atomically; a device that
/// is down keeps its counters (as the kernel does).
fn write_links(root: &TestRoot, links: &[Link]) {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n",
    );
    for l in links {
        s.push_str(&format!(
            "{:>6}: {} 1 0 0 0 0 0 0 {} 1 0 0 0 0 0 0\n",
            l.name, l.rx, l.tx
        ));
        for (file, text) in [
            ("ifindex", format!("{}\n", l.ifindex)),
            (
                "operstate",
                if l.up { "up\n" } else { "down\n" }.to_string(),
            ),
        ] {
            let p = root.file(&format!("sys/class/net/{}/{file}", l.name));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let tmp = p.with_extension("tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(tmp, p).unwrap();
        }
    }
    let p = root.file("proc/net/dev");
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, s).unwrap();
    std::fs::rename(tmp, p).unwrap();
}

fn db(root: &TestRoot) -> rusqlite::Connection {
    open_db(&root.file("tmp/jammonitor/history.db"))
}

/// Stops the collector with SIGTERM (it writes the current minute) and waits for it.
fn stop(c: Collector) {
    c.signal(libc::SIGTERM);
    let (code, err) = c.wait(30);
    assert_eq!(code, Some(0), "collector exit; stderr: {err}");
}

/// 1 MB/s per link while up: the true traffic the history must hold.
const RATE: u64 = 1_000_000;

#[test]
fn wan_link_flapping() {
    let secs = secs_env("JM_SOAK_FLAP_SECS", 600);
    let root = fixture_root();
    let mut links = vec![
        Link {
            name: "lan1",
            ifindex: 3,
            up: true,
            rx: 0,
            tx: 0,
        },
        Link {
            name: "lan2",
            ifindex: 4,
            up: true,
            rx: 0,
            tx: 0,
        },
        Link {
            name: "lan3",
            ifindex: 5,
            up: true,
            rx: 0,
            tx: 0,
        },
    ];
    write_links(&root, &links);
    let c = Collector::start(&root.path, &["--interval", "1", "--ping-interval", "1"]);
    wait_status(&root, 20, "first sample", |s| samples(s) >= 1);
    let t0 = Instant::now();
    let (mut flaps, mut resets, mut true_rx) = (0u64, 0u64, 0u64);
    let mut last_samples = samples(&status(&root));
    let mut stuck_checks = 0;
    let mut tick = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
        tick += 1;
        std::thread::sleep(Duration::from_secs(1));
        // lan1 flips every second; every other time it comes back as a new device from 0.
        let l = &mut links[0];
        l.up = !l.up;
        flaps += 1;
        if l.up && tick % 4 == 0 {
            l.ifindex += 10;
            l.rx = 0;
            l.tx = 0;
            resets += 1;
        }
        for l in links.iter_mut().filter(|l| l.up) {
            l.rx += RATE;
            l.tx += RATE / 10;
            if l.name == "lan1" {
                true_rx += RATE;
            }
        }
        write_links(&root, &links);
        if tick % 10 == 0 {
            let n = samples(&status(&root));
            assert!(
                n > last_samples,
                "the collector stopped sampling (stuck at {n})"
            );
            last_samples = n;
            stuck_checks += 1;
        }
    }
    // End with the link up and steady: the state must follow.
    links[0].up = true;
    write_links(&root, &links);
    let at_end = samples(&status(&root));
    wait_status(&root, 20, "three samples after the flapping", |s| {
        samples(s) >= at_end + 3
    });
    stop(c);
    let db = db(&root);
    let last_up = q_i64(
        &db,
        "SELECT up FROM wan_event WHERE wan='wan1' ORDER BY ts DESC LIMIT 1",
    );
    let events = q_i64(&db, "SELECT count(*) FROM wan_event WHERE wan='wan1'");
    let rec_rx = q_i64(&db, "SELECT sum(rx) FROM iface_minute WHERE iface='lan1'") as u64;
    let max_minute = q_i64(&db, "SELECT max(rx) FROM iface_minute WHERE iface='lan1'") as u64;
    let steady = q_i64(&db, "SELECT sum(rx) FROM iface_minute WHERE iface='lan2'") as u64;
    let lost = true_rx.saturating_sub(rec_rx);
    let over = rec_rx.saturating_sub(true_rx);
    println!(
        "SOAK flap duration_s={secs} flaps={flaps} resets={resets} wan_events={events} \
         final_state_up={last_up} true_rx={true_rx} recorded_rx={rec_rx} lost_bytes={lost} overcounted_bytes={over} \
         max_minute_rx={max_minute} minute_cap={} steady_link_rx={steady} stuck_checks={stuck_checks}",
        60 * RATE
    );
    assert_eq!(
        last_up, 1,
        "no stuck state: the WAN is up again after the flapping"
    );
    assert!(events >= 2, "the flaps were seen ({events} events)");
    assert!(
        max_minute <= 60 * RATE,
        "no spike: {max_minute} bytes in one minute > {} possible",
        60 * RATE
    );
    // Known race (not fixed here, see the report of issue 18): the sampler reads /proc/net/dev
    // and then each device's ifindex; a device re-created between the two reads gives a reading
    // (new ifindex, old counters), counted as a reset, and the next sample counts the new
    // counters again. The rewrite every second here makes it likely (a few of ~150 resets in
    // 10 min); on a router resets are minutes to hours apart. Bound: one interval per reset.
    assert!(
        over <= resets * RATE,
        "over-counted {over} bytes: more than one interval per reset ({resets})"
    );
    // The documented bound: a new device's first reading is its baseline (counted from 0 at most
    // one interval late): at most one interval of traffic per reset is lost.
    assert!(
        lost <= (resets + 2) * RATE,
        "lost {lost} bytes > one interval per reset ({resets} resets)"
    );
}

/// The collector with libfaketime preloaded: its wall clock (CLOCK_REALTIME) follows the offset
/// in `<root>/faketime` ("+0", "+1d", "-1d"), re-read at every call; CLOCK_BOOTTIME and
/// CLOCK_MONOTONIC stay real, as on a router whose NTP steps the clock.
fn collector_faketime(root: &TestRoot) -> Collector {
    let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
    assert!(
        std::path::Path::new(lib).exists(),
        "{lib} missing: tests/bed/install-deps.sh installs Debian's faketime"
    );
    root.write("faketime", "+0\n");
    let mut cmd = std::process::Command::new(collector_bin());
    cmd.arg("--root")
        .arg(&root.path)
        .args(["--foreground", "--interval", "1", "--ping-interval", "1"])
        .env("LD_PRELOAD", lib)
        .env("FAKETIME_TIMESTAMP_FILE", root.file("faketime"))
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(root.file("collector.log")).unwrap());
    Collector {
        child: cmd.spawn().unwrap(),
    }
}

#[test]
fn clock_jumps() {
    let phase = secs_env("JM_SOAK_CLOCK_PHASE_SECS", 90);
    let root = fixture_root();
    let mut links: Vec<Link> = ["lan1", "lan2", "lan3"]
        .iter()
        .enumerate()
        .map(|(i, n)| Link {
            name: n,
            ifindex: 3 + i as u32,
            up: true,
            rx: 0,
            tx: 0,
        })
        .collect();
    write_links(&root, &links);
    let c = collector_faketime(&root);
    wait_status(&root, 20, "first sample", |s| samples(s) >= 1);
    let mut true_rx = 0u64;
    let mut figures = Vec::new();
    let mut future_during = 0;
    for (name, offset_s, file) in [
        ("real", 0i64, "+0"),
        ("plus_1d", 86_400, "+1d"),
        ("back", 0, "+0"),
        ("minus_1d", -86_400, "-1d"),
        ("back_again", 0, "+0"),
    ] {
        root.write("faketime", &format!("{file}\n"));
        let n0 = samples(&status(&root));
        // Rows after the clock the collector has now (its "now" + one minute of slack): those
        // already there when the clock moved (written under the other clock) are not new.
        let ahead = |root: &TestRoot| {
            let now = jammonitor::store::now_epoch() as i64 + offset_s;
            q_i64(
                &db(root),
                &format!("SELECT count(*) FROM iface_minute WHERE ts > {}", now + 60),
            )
        };
        let before = ahead(&root);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(phase) {
            std::thread::sleep(Duration::from_secs(1));
            for l in links.iter_mut() {
                l.rx += RATE;
                l.tx += RATE / 10;
            }
            true_rx += RATE;
            write_links(&root, &links);
        }
        let n1 = samples(&status(&root));
        let after = ahead(&root);
        let written_ahead = after.saturating_sub(before);
        future_during += written_ahead;
        figures.push(format!(
            "{name}:samples={}:rows_ahead_at_start={before}:written_ahead={written_ahead}",
            n1 - n0
        ));
        assert!(n1 > n0, "phase {name}: no sample in {phase} s (stuck)");
    }
    stop(c);
    let db = db(&root);
    let now = jammonitor::store::now_epoch() as i64;
    let ahead = q_i64(
        &db,
        &format!("SELECT count(*) FROM iface_minute WHERE ts > {}", now + 60),
    );
    let mut negative = 0;
    for t in ["iface_minute", "iface_hour", "iface_day", "iface_month"] {
        negative += q_i64(
            &db,
            &format!("SELECT count(*) FROM {t} WHERE rx < 0 OR tx < 0"),
        );
    }
    negative += q_i64(
        &db,
        "SELECT count(*) FROM coverage_minute WHERE seconds <= 0 OR samples <= 0",
    );
    let rec_rx = q_i64(&db, "SELECT sum(rx) FROM iface_minute WHERE iface='lan1'") as u64;
    let max_minute = q_i64(&db, "SELECT max(rx) FROM iface_minute WHERE iface='lan1'") as u64;
    let days = q_i64(
        &db,
        "SELECT count(DISTINCT day) FROM iface_day WHERE iface='lan1'",
    );
    let log = root.read("collector.log");
    let jumps_logged = log.matches("the wall clock moved").count();
    println!(
        "SOAK clock phase_s={phase} jumps=4 {} future_rows_during={future_during} \
         rows_ahead_of_final_clock={ahead} negative_deltas={negative} jumps_logged={jumps_logged} \
         true_rx={true_rx} recorded_rx={rec_rx} lost_bytes={} max_minute_rx={max_minute} days_touched={days}",
        figures.join(" "),
        true_rx.saturating_sub(rec_rx)
    );
    assert_eq!(
        future_during, 0,
        "no row written ahead of the collector's clock"
    );
    // Documented bound (docs/collector.md): minutes written while the clock ran a day ahead stay
    // ahead of the corrected clock (which of two clocks is right cannot be known; they are not
    // deleted): at most the minutes of that phase, per interface.
    assert!(
        ahead <= 3 * (phase as i64 / 60 + 2),
        "{ahead} rows ahead of the final clock: more than the +1 d phase wrote"
    );
    assert_eq!(negative, 0, "no negative delta");
    assert!(max_minute <= 60 * RATE, "no spike: {max_minute}");
    assert!(rec_rx <= true_rx);
    // Documented bound: a jump costs at most the interval it falls in.
    assert!(
        true_rx - rec_rx <= 5 * RATE,
        "lost more than one interval per jump"
    );
    assert!(jumps_logged >= 2, "the jumps were noticed: {log}");
}

/// The DB filled toward the size its retention allows: JM_SOAK_FILL_DAYS simulated days (ending
/// now) of one sample a minute at the collector's heavy case (8 interfaces, 250 known clients of
/// which 50 are active each minute and 25 new ones a day, 3 ping targets, health), retention
/// swept hourly as the daemon does. The file size is printed every 5 simulated days; once the
/// minute/hourly/raw tiers are past their horizons (30 d) it must stop growing but for the
/// daily/monthly rows (a few kB a day). Baseline in the same run: the bytes a day the DB grew
/// before the horizon.
#[test]
fn db_fill_retention() {
    use jammonitor::store::{
        ClientTraffic, Health, IfaceTraffic, PingMinute, Retention, Sample, Store,
    };
    let days = secs_env("JM_SOAK_FILL_DAYS", 90) as i64;
    let dir = std::env::temp_dir().join(format!("jm-soak-fill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.db");
    let mut st = Store::open(&path).unwrap();
    let r = Retention::default();
    let now = jammonitor::store::now_epoch() as i64 / 60 * 60;
    let start = now - days * 86_400;
    let t0 = Instant::now();
    let mut sizes: Vec<(i64, u64)> = Vec::new();
    let mut ts = start;
    let mut n: u64 = 0;
    while ts <= now {
        let day = (ts - start) / 86_400;
        let minute = (ts / 60) as u64;
        let ifaces = (0..8)
            .map(|i| IfaceTraffic {
                iface: format!("if{i}"),
                rx: 1_000_000 + minute % 1000,
                tx: 100_000,
            })
            .collect();
        let clients = (0..50u64)
            .map(|k| {
                // 250 known clients at a time, 25 of them new each day
                let c = (minute * 7 + k * 5) % 250 + day as u64 * 25;
                let mac = format!(
                    "02:00:{:02x}:{:02x}:{:02x}:00",
                    c >> 16 & 255,
                    c >> 8 & 255,
                    c & 255
                );
                ClientTraffic {
                    key: mac.clone(),
                    mac: Some(mac),
                    ip: Some(format!("192.168.100.{}", c % 250 + 2)),
                    hostname: Some(format!("host-{c}")),
                    rx: 50_000 + k,
                    tx: 5_000,
                }
            })
            .collect();
        let pings = ["internet", "vps", "tunnel"]
            .iter()
            .map(|t| PingMinute {
                ts: ts - 60,
                target: t.to_string(),
                host: "192.0.2.1".into(),
                sent: 20,
                lost: (minute % 3) as u32,
                sum_ms: 300.0,
                min_ms: Some(9.0),
                max_ms: Some(40.0),
            })
            .collect();
        st.write(&Sample {
            ts,
            offset: 0,
            seconds: 60,
            ifaces,
            clients,
            pings,
            health: Some(Health {
                cpu_pct: Some(3.0),
                load: Some([0.2, 0.3, 0.4]),
                mem_total_kb: Some(4_000_000),
                mem_used_kb: Some(800_000),
                temp_c: Some(50.0),
                conntrack: Some(5000),
                conntrack_max: Some(131_072),
            }),
            ..Sample::default()
        })
        .unwrap();
        n += 1;
        if ts % 3600 == 0 {
            st.sweep(ts, 0, &r).unwrap();
        }
        if (ts - start) % (5 * 86_400) == 0 && ts > start {
            st.conn()
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
            sizes.push((day, std::fs::metadata(&path).unwrap().len()));
        }
        ts += 60;
    }
    st.sweep(now, 0, &r).unwrap();
    st.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let end = std::fs::metadata(&path).unwrap().len();
    let rows: i64 = st.stats().unwrap().rows.values().sum();
    drop(st);
    let _ = std::fs::remove_dir_all(&dir);
    let series: Vec<String> = sizes.iter().map(|(d, b)| format!("d{d}:{b}")).collect();
    // growth per day before the 30-day horizon (baseline) and over the last 10 days
    let at = |d: i64| sizes.iter().find(|(x, _)| *x >= d).map(|(_, b)| *b as f64);
    let before = at(25).map(|b| b / 25.0);
    let last = sizes.last().map(|(d, b)| (*d, *b as f64));
    let tail = last.and_then(|(d, b)| at(d - 10).map(|a| (b - a) / 10.0));
    println!(
        "SOAK dbfill simulated_days={days} samples={n} wall_s={:.1} final_bytes={end} rows={rows} \
         bytes_per_day_before_horizon={} bytes_per_day_last_10d={} sizes={}",
        t0.elapsed().as_secs_f64(),
        before.map(|v| format!("{v:.0}")).unwrap_or("-".into()),
        tail.map(|v| format!("{v:.0}")).unwrap_or("-".into()),
        series.join(",")
    );
    if days >= 45 {
        let (b, t) = (before.unwrap(), tail.unwrap());
        assert!(
            t <= b * 0.25,
            "retention does not hold the DB: {t:.0} B/day after the horizon vs {b:.0} before"
        );
    } else {
        // Shortened run: the minute tier's 48 h horizon is the one reached; the DB is the
        // proof that the sweep ran at all.
        assert!(days >= 3, "JM_SOAK_FILL_DAYS >= 3");
    }
}
