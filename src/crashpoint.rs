//! Fault injection for the kill tests (docs/journal.md "Kill tests"): a job's worker SIGKILLs
//! itself — and with `all`, its supervisor first (a power cut) — right after a named step of a
//! journaled write, so every step boundary is tested exactly rather than hit by chance.
//!
//! Armed by a file under a **test** root, `/var/run/jammonitor/crash-at`, holding
//! `<point> worker|all`; it is removed before the kill, so it fires once (the recovery that
//! follows passes the same points untouched). Compiled only into debug builds (the tests'
//! binaries), never into the release binary the packages ship, and never active under `/`.

use crate::system::Root;

pub const FILE: &str = "/var/run/jammonitor/crash-at";

#[cfg(debug_assertions)]
pub fn hit(root: &Root, point: &str) {
    if root.is_system() {
        return;
    }
    let path = root.path(FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let mut words = text.split_whitespace();
    if words.next() != Some(point) {
        return;
    }
    if std::fs::remove_file(&path).is_err() {
        return;
    }
    // SAFETY: plain signals to our parent (the job supervisor) and ourselves.
    unsafe {
        if words.next() == Some("all") {
            libc::kill(libc::getppid(), libc::SIGKILL);
        }
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_root: &Root, _point: &str) {}
