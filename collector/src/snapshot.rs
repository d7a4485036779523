//! The Overview snapshot's writer (the reader and the rules: `jammonitor::store::snapshot`).
//! A thread of its own, so a slow netifd or kernel dump never delays a sample or a ping round:
//! once a period, while an `overview` request came within `WANT_FOR`, it builds the answer
//! with the CGI's own `overview::build` and renames it over the snapshot. It removes the file
//! when it stops, and whenever a build fails, so the CGI then builds (and reports) on its own.

use crate::pinger::Shared;
use jammonitor::actions::overview;
use jammonitor::store::snapshot::{PERIOD, SNAPSHOT, wanted};
use jammonitor::system::Root;
use jammonitor::system::clock::thread_cpu_us;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

pub fn run(root: Root, shared: Arc<Shared>) {
    let t0 = Instant::now();
    let mut k: u32 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        if wanted(&root, SystemTime::now()) {
            let cpu0 = thread_cpu_us();
            build_once(&root);
            shared.snapshot_builds.fetch_add(1, Ordering::Relaxed);
            shared
                .snapshot_cpu_us
                .fetch_add(thread_cpu_us().saturating_sub(cpu0), Ordering::Relaxed);
        }
        // a fixed schedule: a slow build shortens the wait instead of shifting every later one
        k += 1;
        let mut next = t0 + PERIOD * k;
        let now = Instant::now();
        if next <= now {
            k = (now - t0).as_millis() as u32 / PERIOD.as_millis() as u32 + 1;
            next = t0 + PERIOD * k;
        }
        std::thread::park_timeout(next - now);
    }
    let _ = std::fs::remove_file(root.path(SNAPSHOT));
}

/// One snapshot. Written as a new file renamed over the old one: a reader sees the old or the
/// new answer, never half of one.
fn build_once(root: &Root) {
    let written = overview::build(root)
        .map_err(|e| e.message)
        .and_then(|v| serde_json::to_vec(&v).map_err(|e| e.to_string()))
        .and_then(|bytes| jammonitor::system::write_atomic(root, SNAPSHOT, &bytes));
    if written.is_err() {
        let _ = std::fs::remove_file(root.path(SNAPSHOT));
    }
}
