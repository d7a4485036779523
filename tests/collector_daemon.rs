//! The collector daemon as a process against a fixture root (counters written by the test, ping
//! targets on loopback): single instance, SIGTERM flush to the flash checkpoint and restore after
//! a "reboot", kill -9 at random moments losing nothing committed, counter resets without spikes.
mod collector_util;
mod common;

use collector_util::*;
use std::time::{Duration, Instant};

const RAM_DB: &str = "tmp/jammonitor/history.db";
const FLASH_DB: &str = "etc/jammonitor/history.db";

fn iface_rx(c: &rusqlite::Connection, iface: &str) -> i64 {
    c.query_row(
        "SELECT COALESCE(SUM(rx), 0) FROM iface_minute WHERE iface = ?1",
        [iface],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn two_collectors_started_at_once_one_runs() {
    let root = fixture_root();
    let mut a = Collector::start(&root.path, &["--interval", "1"]);
    let mut b = Collector::start(&root.path, &["--interval", "1"]);
    // Exactly one of them exits with code 2 ("another collector"); the other keeps sampling.
    let t0 = Instant::now();
    let (loser, mut winner) = loop {
        if !a.running() {
            break (a, b);
        }
        if !b.running() {
            break (b, a);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "both collectors still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let (code, err) = loser.wait(5);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("another collector is already running"),
        "{err}"
    );
    let st = wait_status(&root, 10, "2 samples", |s| samples(s) >= 2);
    assert_eq!(st["pid"].as_i64(), Some(winner.pid() as i64));
    assert!(winner.running());
    // A third one later: refused the same way, naming the running pid.
    let (code, err) = Collector::start(&root.path, &[]).wait(5);
    assert_eq!(code, Some(2));
    assert!(err.contains(&format!("pid {}", winner.pid())), "{err}");
    winner.signal(libc::SIGTERM);
    assert_eq!(winner.wait(10).0, Some(0));
}

#[test]
fn sigterm_flushes_the_ram_db_to_the_checkpoint_and_restores_it() {
    let root = fixture_root();
    let c = Collector::start(&root.path, &["--interval", "1", "--ping-interval", "1"]);
    let st = wait_status(&root, 15, "4 samples", |s| samples(s) >= 4);
    assert_eq!(st["placement"], "ram", "{st:#}");
    assert_eq!(st["db_path"], "/tmp/jammonitor/history.db");
    assert!(
        !root.file(FLASH_DB).exists(),
        "no checkpoint before its time (4 h) or the stop"
    );
    // Traffic the checkpoint must carry.
    set_counters(
        &root,
        &[("lan1", 3, 1000 + 77_777, 2000), ("lan2", 4, 0, 0)],
    );
    let n = samples(&st);
    wait_status(&root, 10, "a sample after the change", |s| {
        samples(s) >= n + 2
    });
    c.signal(libc::SIGTERM);
    let (code, err) = c.wait(10);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("checkpoint on stop"), "{err}");
    let st = status(&root);
    assert_eq!(st["state"], "stopped");

    let ram = open_db(&root.file(RAM_DB));
    let flash = open_db(&root.file(FLASH_DB));
    let ok: String = flash
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    for t in [
        "coverage_minute",
        "iface_minute",
        "iface_month",
        "ping_minute",
        "health_minute",
    ] {
        let sql = format!("SELECT count(*) FROM {t}");
        assert_eq!(q_i64(&flash, &sql), q_i64(&ram, &sql), "{t} flushed whole");
    }
    assert_eq!(iface_rx(&flash, "lan1"), 77_777);
    assert!(
        q_i64(&flash, "SELECT SUM(sent) FROM ping_minute") >= 3,
        "pings of the last (partial) minute flushed"
    );
    drop((ram, flash));

    // "Reboot": /tmp is gone; the next start restores the checkpoint into RAM.
    std::fs::remove_dir_all(root.file("tmp/jammonitor")).unwrap();
    let c = Collector::start(&root.path, &["--interval", "1"]);
    wait_status(&root, 10, "running again", |s| {
        s["state"] == "running" && samples(s) >= 1
    });
    let ram = open_db(&root.file(RAM_DB));
    assert_eq!(
        iface_rx(&ram, "lan1"),
        77_777,
        "history survived the reboot"
    );
    drop(ram);
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));
}

#[test]
fn kill9_at_random_moments_loses_nothing_committed() {
    let root = fixture_root();
    let (mut rx, mut tx) = (1000u64, 2000u64);
    set_counters(&root, &[("lan1", 3, rx, tx)]);
    // First run: the baseline (rx=1000) is taken, then counters move.
    let mut c = Collector::start(&root.path, &["--interval", "1"]);
    wait_status(&root, 10, "baseline", |s| samples(s) >= 1);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut kills = 0;
    let t_end = Instant::now() + Duration::from_secs(12);
    while Instant::now() < t_end {
        // Counters move every 30 ms; the collector is killed 150–900 ms into a run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let life = Duration::from_millis(150 + seed % 750);
        let until = Instant::now() + life;
        while Instant::now() < until {
            rx += 12_345;
            tx += 678;
            set_counters(&root, &[("lan1", 3, rx, tx)]);
            std::thread::sleep(Duration::from_millis(30));
        }
        c.signal(libc::SIGKILL);
        let _ = c.wait(5);
        kills += 1;
        c = Collector::start(&root.path, &["--interval", "1"]);
    }
    // Freeze the counters, let one sample see the final values, stop cleanly.
    let frozen = status(&root)["samples"].as_u64().unwrap_or(0);
    wait_status(&root, 10, "two samples after the freeze", |s| {
        s["pid"].as_i64() == Some(c.pid() as i64) && samples(s) >= frozen + 2
    });
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));

    let db = open_db(&root.file(RAM_DB));
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // Counter state is committed with the rows it produced, so a killed sample's interval is
    // counted by the next run: every byte between the baseline and the end is there, once.
    assert_eq!(
        iface_rx(&db, "lan1") as u64,
        rx - 1000,
        "after {kills} kill -9"
    );
    let tx_sum: i64 = db
        .query_row(
            "SELECT SUM(tx) FROM iface_month WHERE iface='lan1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tx_sum as u64, tx - 2000);
    assert!(kills >= 8, "only {kills} kills");
}

#[test]
fn counter_reset_and_recreated_interface_add_no_spike() {
    let root = fixture_root();
    let once = |label: &str| {
        let (code, err) = Collector::start(&root.path, &["--once"]).wait(10);
        assert_eq!(code, Some(0), "{label}: {err}");
    };
    set_counters(&root, &[("lan1", 3, 5_000_000_000, 100)]);
    once("baseline");
    set_counters(&root, &[("lan1", 3, 5_000_300_000, 200)]);
    once("normal");
    // Interface deleted and re-created: new ifindex, counters from 0.
    set_counters(&root, &[("lan1", 9, 4_000, 50)]);
    once("recreated");
    // Same ifindex, counters went down (driver reset / PPPoE reconnect).
    set_counters(&root, &[("lan1", 9, 1_500, 10)]);
    once("reset");
    // A jump no link can make in the interval (10 Gbit/s default cap): dropped, not stored.
    set_counters(&root, &[("lan1", 9, 1_500 + (1u64 << 50), 20)]);
    once("impossible");
    let db = open_db(&root.file(RAM_DB));
    let rows: Vec<(i64, i64)> = {
        let mut st = db
            .prepare("SELECT rx, tx FROM iface_minute WHERE iface='lan1' ORDER BY ts")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let rx: i64 = rows.iter().map(|r| r.0).sum();
    let tx: i64 = rows.iter().map(|r| r.1).sum();
    assert_eq!(rx, 300_000 + 4_000 + 1_500, "{rows:?}");
    assert_eq!(tx, 100 + 50 + 10 + 10, "{rows:?}");
}

#[test]
fn live_ring_and_status_files() {
    let root = fixture_root();
    root.uci(&["add_list", "jammonitor.main.ping_target=second=127.0.0.2"]);
    root.uci(&["commit", "jammonitor"]);
    let c = Collector::start(&root.path, &["--interval", "1", "--ping-interval", "1"]);
    wait_status(&root, 10, "samples", |s| samples(s) >= 3);
    let live = live_json(&root);
    let t = live["pings"]["targets"].as_array().unwrap();
    assert_eq!(t[0]["name"], "internet");
    assert_eq!(t[0]["host"], "127.0.0.1");
    assert!(t[0]["series"].as_array().unwrap().len() >= 2);
    assert!(t[0]["last_rtt_ms"].as_f64().is_some());
    assert_eq!(live["pings"]["interval_s"], 1);
    let st = status(&root);
    for k in [
        "pid",
        "started_at",
        "last_sample_at",
        "db_path",
        "placement",
        "last_error",
        "last_sample_cpu_us",
        "rss_kb",
    ] {
        assert!(st.get(k).is_some(), "status lacks {k}: {st:#}");
    }
    assert_eq!(st["targets"][1][0], "second");
    // procd's reload trigger sends SIGHUP: the new config applies without a restart.
    root.uci(&["add_list", "jammonitor.main.ping_target=third=127.0.0.3"]);
    root.uci(&["set", "jammonitor.main.hourly_days=abc"]);
    root.uci(&["commit", "jammonitor"]);
    c.signal(libc::SIGHUP);
    let st = wait_status(&root, 5, "reloaded targets", |s| {
        s["targets"].as_array().is_some_and(|t| t.len() == 3)
    });
    assert_eq!(st["pid"].as_i64(), Some(c.pid() as i64), "same process");
    assert!(
        st["config_problems"][0]
            .as_str()
            .unwrap()
            .contains("hourly_days"),
        "{st:#}"
    );
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));
}

/// Finding 6: a checkpoint interrupted between VACUUM INTO and the rename left
/// `history.tmp<pid>` (a whole database) in /etc/jammonitor, kept across sysupgrade, forever.
#[test]
fn finding_6_interrupted_checkpoint_temp_removed_at_start() {
    let root = fixture_root();
    root.write("etc/jammonitor/history.tmp4242", "half a database");
    root.write("etc/jammonitor/history.tmp77-journal", "x");
    // Not ours: left alone.
    root.write("etc/jammonitor/history.tmpfoo", "keep");
    root.write("etc/jammonitor/notes.tmp1", "keep");
    let c = Collector::start(&root.path, &["--once"]);
    let (code, err) = c.wait(20);
    assert_eq!(code, Some(0), "{err}");
    assert!(!root.file("etc/jammonitor/history.tmp4242").exists());
    assert!(!root.file("etc/jammonitor/history.tmp77-journal").exists());
    assert!(root.file("etc/jammonitor/history.tmpfoo").exists());
    assert!(root.file("etc/jammonitor/notes.tmp1").exists());
}
