//! Shared by tests/collector_*.rs and tests/storage_*.rs: the collector binary, test roots set up
//! for it (ping targets on loopback or inside the rig only), a running collector that is always
//! killed, status polling, and the rig guard.
#![allow(dead_code)]

use crate::common::{TestRoot, repo};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The collector binary (another package of the workspace: built here once per test binary;
/// cargo allows the nested build and it is a no-op when up to date).
pub fn collector_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "jammonitor-collector",
                "--bin",
                "jammonitor-collector",
            ])
            .current_dir(repo())
            .output()
            .expect("cargo build of the collector");
        assert!(
            out.status.success(),
            "building the collector failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // target/debug/deps/<this test> → target/debug/jammonitor-collector
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap();
        let bin = dir.join("jammonitor-collector");
        assert!(bin.exists(), "{} missing", bin.display());
        bin
    })
    .clone()
}

pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sh_ok(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Network safety: point every ping target at loopback (mkroot's config names 1.1.1.1 and the
/// VPS, which outside the rig would leave this machine).
pub fn loopback_targets(root: &TestRoot) {
    let _ = root.uci(&["-q", "delete", "jammonitor.main.ping_target"]);
    root.uci(&["add_list", "jammonitor.main.ping_target=internet=127.0.0.1"]);
    root.uci(&["commit", "jammonitor"]);
}

/// A fixture root whose interface counters the test controls: /proc/net/dev, ifindex files and
/// a boot id are written here.
pub fn fixture_root() -> TestRoot {
    let root = TestRoot::new(false);
    loopback_targets(&root);
    root.write(
        "proc/sys/kernel/random/boot_id",
        "6d3c1f0e-0000-4000-8000-000000000001\n",
    );
    root.write("proc/net/nf_conntrack", "");
    root.write(
        "proc/net/arp",
        "IP address       HW type     Flags       HW address            Mask     Device\n",
    );
    set_counters(&root, &[("lan1", 3, 1000, 2000), ("lan2", 4, 0, 0)]);
    root
}

/// Rewrites /proc/net/dev (atomically) and the ifindex files: (name, ifindex, rx, tx).
pub fn set_counters(root: &TestRoot, ifs: &[(&str, u32, u64, u64)]) {
    let mut s = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n",
    );
    for (name, ifindex, rx, tx) in ifs {
        s.push_str(&format!(
            "{name:>6}: {rx} 1 0 0 0 0 0 0 {tx} 1 0 0 0 0 0 0\n"
        ));
        // Atomically (tmp + rename), like /proc/net/dev below: the collector reads these while
        // the test rewrites them every few ms, and a half-written ifindex reads as 0, which is
        // a new interface (a counter reset counted again).
        for (file, text) in [
            ("ifindex", format!("{ifindex}\n")),
            ("operstate", "up\n".into()),
        ] {
            let p = root.file(&format!("sys/class/net/{name}/{file}"));
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

/// The collector's live ring as the CGI shows it: `{"pings": …, "wans": …}` (Null when absent).
pub fn live_json(root: &TestRoot) -> Value {
    match jammonitor::store::live::read(&jammonitor::system::Root::new(&root.path)) {
        Some(r) => {
            let (p, w) = jammonitor::store::live::to_json(&r);
            serde_json::json!({"pings": p, "wans": w})
        }
        None => Value::Null,
    }
}

pub fn status(root: &TestRoot) -> Value {
    serde_json::from_str(&root.read("var/run/jammonitor/collector.json")).unwrap_or(Value::Null)
}

/// Polls the status file until `pred` holds (panics with the last status after `secs`).
pub fn wait_status(root: &TestRoot, secs: u64, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let s = status(root);
        if pred(&s) {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}; status: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn samples(s: &Value) -> u64 {
    s["samples"].as_u64().unwrap_or(0)
}

/// A collector process, SIGKILLed on drop if still running.
pub struct Collector {
    pub child: Child,
}

impl Collector {
    pub fn start(root: &Path, args: &[&str]) -> Collector {
        Self::start_in(None, root, args)
    }

    /// `netns`: run inside that namespace (`ip netns exec`).
    pub fn start_in(netns: Option<&str>, root: &Path, args: &[&str]) -> Collector {
        let bin = collector_bin();
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        cmd.arg("--root").arg(root).arg("--foreground").args(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Collector {
            child: cmd.spawn().expect("start collector"),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Waits for exit; returns (code, stderr).
    pub fn wait(mut self, secs: u64) -> (Option<i32>, String) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return (st.code(), err);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "collector did not exit within {secs} s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn open_db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn q_i64(c: &rusqlite::Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
        .unwrap()
        .unwrap_or(0)
}

/// The simulated router: brought up if needed, and taken down again at the end only if this
/// test brought it up (other suites may be using a rig that was already there).
pub struct Rig {
    started_here: bool,
}

impl Rig {
    /// Refuses (with what to do) while `make run` uses the rig: its collector samples jm-router
    /// and its client traffic moves the counters this test checks, and both share the fixed
    /// namespace names. (The browser tests reuse a running `make run` on purpose; this test
    /// cannot.)
    pub fn up() -> Rig {
        let pids = Command::new("ip")
            .args(["netns", "pids", "jm-router"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace() {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            assert!(
                !cmd.contains("jammonitor-collector"),
                "the simulated router is in use by `make run` (a collector runs in jm-router: \
                 pid {pid}, {cmd}). This test needs the rig to itself: run `make stop` first."
            );
        }
        let rig = repo().join("tests/rig/rig.sh");
        let complete = Command::new(&rig)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !complete {
            let out = Command::new(&rig).arg("up").output().unwrap();
            assert!(
                out.status.success(),
                "rig.sh up failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Rig {
            started_here: !complete,
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new(repo().join("tests/rig/rig.sh"))
                .arg("down")
                .output();
        }
    }
}
