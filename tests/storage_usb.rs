//! USB storage with a real loop device standing in for the stick (losetup on a file, real
//! mkfs.ext4, real mount) and a fixture sysfs entry under the test root that says
//! `removable=1` (loop devices report 0 and no module can fake a USB disk here: the one seam).
//! Through the real CGI: detect, format (background job), mount (fstab UCI via the real uci),
//! the collector moving RAM → USB and back, unmount, and the stick being pulled out. Refusals:
//! system disk, mounted root, non-removable, mounted device, missing/wrong confirmation, bad
//! label — each a clear error with nothing run (a mkfs double logs every call).
mod collector_util;
mod common;

use collector_util::*;
use common::*;
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A loop device on a sparse file; detached (and its file removed) on drop.
struct Loop {
    name: String,
    dev: String,
    file: PathBuf,
}

impl Loop {
    fn new(tag: &str, mb: u64) -> Loop {
        let file = std::env::temp_dir().join(format!("jm-stick-{}-{tag}.img", std::process::id()));
        let f = std::fs::File::create(&file).unwrap();
        f.set_len(mb << 20).unwrap();
        let dev = sh(&["losetup", "--find", "--show", file.to_str().unwrap()])
            .trim()
            .to_string();
        let name = dev.trim_start_matches("/dev/").to_string();
        Loop { name, dev, file }
    }
    fn majmin(&self) -> String {
        let r = std::fs::metadata(&self.dev).unwrap().rdev();
        format!("{}:{}", libc::major(r), libc::minor(r))
    }
    /// The fixture sysfs entry: what the storage code reads under the root.
    fn fixture(&self, root: &TestRoot, removable: bool) {
        fixture_disk(
            root,
            &self.name,
            &self.majmin(),
            std::fs::metadata(&self.file).unwrap().len(),
            removable,
        );
    }
    fn mkfs(&self, label: &str) {
        sh(&["mkfs.ext4", "-F", "-q", "-L", label, &self.dev]);
    }
    fn detach(&self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .output();
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        self.detach();
        let _ = std::fs::remove_file(&self.file);
    }
}

fn fixture_disk(root: &TestRoot, name: &str, majmin: &str, bytes: u64, removable: bool) {
    let base = format!("sys/block/{name}");
    root.write(&format!("{base}/dev"), &format!("{majmin}\n"));
    root.write(&format!("{base}/size"), &format!("{}\n", bytes / 512));
    root.write(
        &format!("{base}/removable"),
        if removable { "1\n" } else { "0\n" },
    );
    root.write(&format!("{base}/ro"), "0\n");
    root.write(&format!("{base}/device/model"), "Test Stick\n");
}

/// Unmounts (lazily) whatever a test mounted under the root before the root is removed.
struct Unmounts(Vec<PathBuf>);
impl Drop for Unmounts {
    fn drop(&mut self) {
        for p in &self.0 {
            while std::process::Command::new("umount")
                .arg("-l")
                .arg(p)
                .output()
                .is_ok_and(|o| o.status.success())
            {}
        }
    }
}

/// A live root (proc → /proc) whose sys/block is a fixture directory, with dev → /dev, the real
/// mount/umount and mkfs.ext4 (or a logging double), and pings on loopback.
fn usb_root(mkfs_double: bool) -> TestRoot {
    let root = TestRoot::new(true);
    loopback_targets(&root);
    let sys = root.file("sys");
    std::fs::remove_file(&sys).unwrap();
    std::fs::create_dir_all(sys.join("block")).unwrap();
    std::os::unix::fs::symlink("/sys/class", sys.join("class")).unwrap();
    std::os::unix::fs::symlink("/dev", root.file("dev")).unwrap();
    for (rel, real) in [("bin/mount", "/bin/mount"), ("bin/umount", "/bin/umount")] {
        std::os::unix::fs::symlink(real, root.file(rel)).unwrap();
    }
    std::fs::create_dir_all(root.file("usr/sbin")).unwrap();
    if mkfs_double {
        // Double: logs its argv, touches nothing.
        root.write("usr/sbin/mkfs.ext4", "#!/bin/sh\nmkdir -p \"$JAMMONITOR_ROOT/var/log\"\necho \"$*\" >> \"$JAMMONITOR_ROOT/var/log/mkfs.calls\"\nexit 0\n");
        set_exec(&root.file("usr/sbin/mkfs.ext4"));
    } else {
        let real = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("e2fsprogs");
        std::os::unix::fs::symlink(real, root.file("usr/sbin/mkfs.ext4")).unwrap();
    }
    root
}

fn set_exec(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn post(root: &TestRoot, sid: &str, action: &str, body: Value) -> Resp {
    Req::post(action, sid, &body.to_string()).run(root)
}

fn storage(root: &TestRoot, sid: &str) -> Value {
    Req::get("storage", sid).run(root).data()
}

fn device<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {s:#}"))
}

fn wait_job(root: &TestRoot, sid: &str, id: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let mut r = Req::get("job", sid);
        r.query = format!("id={id}");
        let j = r.run(root).data();
        if j["state"] != "running" {
            return j;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "job still running: {j:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn mounted_at(p: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(p.to_str().unwrap()))
}

#[test]
fn usb_stick_detected_formatted_mounted_used_and_pulled() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices");
        return;
    }
    let root = usb_root(false);
    let mnt = root.file("mnt/data");
    let _unmount = Unmounts(vec![mnt.clone()]);
    let stick = Loop::new("usb", 48);
    stick.fixture(&root, true);
    let sid = root.session(true, true);

    // Detected: removable, not a system disk, empty, formattable.
    let s = storage(&root, &sid);
    let d = device(&s, &stick.name);
    assert_eq!(
        (
            d["removable"].clone(),
            d["system"].clone(),
            d["can_format"].clone()
        ),
        (json!(true), json!(false), json!(true)),
        "{d:#}"
    );
    assert!(d["fstype"].is_null());
    assert_eq!(d["can_mount"], false, "nothing to mount yet");
    assert!(s["mounted"].is_null());

    // Format: a background job, polled.
    let r = post(
        &root,
        &sid,
        "storage.format",
        json!({"device": stick.name, "confirm": "FORMAT", "label": "JAMTEST"}),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let id = r.data()["job"]["id"].as_str().unwrap().to_string();
    let job = wait_job(&root, &sid, &id);
    assert_eq!(job["state"], "done", "{job:#}");
    assert_eq!(job["result"]["fstype"], "ext4");
    assert_eq!(job["result"]["label"], "JAMTEST");
    let uuid = job["result"]["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        device(&storage(&root, &sid), &stick.name)["uuid"],
        uuid.as_str()
    );

    // The collector starts in RAM.
    let c = Collector::start(&root.path, &["--interval", "1"]);
    let st = wait_status(&root, 10, "samples in RAM", |s| samples(s) >= 2);
    assert_eq!(st["placement"], "ram");
    let ram_db = root.file("tmp/jammonitor/history.db");
    let ram_samples = q_i64(
        &open_db(&ram_db),
        "SELECT SUM(samples) FROM coverage_minute",
    );
    assert!(ram_samples >= 1);

    // Mount: persistent (fstab by UUID), and the collector moves its history onto the stick.
    let r = post(&root, &sid, "storage.mount", json!({"device": stick.name}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let m = r.data();
    assert_eq!(m["mounted"]["uuid"], uuid.as_str());
    assert_eq!(m["collector_notified"], true);
    assert!(mounted_at(&mnt));
    assert_eq!(root.uci(&["get", "fstab.jammonitor_data"]), "mount");
    assert_eq!(root.uci(&["get", "fstab.jammonitor_data.uuid"]), uuid);
    assert_eq!(
        root.uci(&["get", "fstab.jammonitor_data.target"]),
        "/mnt/data"
    );
    assert_eq!(root.uci(&["get", "fstab.jammonitor_data.enabled"]), "1");
    let st = wait_status(&root, 10, "usb placement", |s| s["placement"] == "usb");
    assert_eq!(st["db_path"], "/mnt/data/jammonitor/history.db");
    let usb_db = mnt.join("jammonitor/history.db");
    let n0 = samples(&st);
    wait_status(&root, 10, "samples on USB", |s| samples(s) >= n0 + 2);
    // The RAM rows plus new ones (the first sample after the move may still be in flight).
    let t0 = Instant::now();
    let usb_samples = loop {
        let n = q_i64(
            &open_db(&usb_db),
            "SELECT SUM(samples) FROM coverage_minute",
        );
        if n >= ram_samples + 2 || t0.elapsed() > Duration::from_secs(10) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        usb_samples >= ram_samples + 2,
        "RAM history merged ({usb_samples} vs {ram_samples})"
    );
    assert!(!ram_db.exists(), "the RAM copy is gone once merged");

    let s = storage(&root, &sid);
    assert_eq!(s["mounted"]["device"], stick.name.as_str());
    assert!(s["mounted"]["free_bytes"].as_u64().unwrap() > 1 << 20);
    assert_eq!(s["database"]["placement"], "usb");
    assert!(s["database"]["rows"]["health_minute"].as_i64().unwrap() >= 1);
    assert!(s["database"]["first_sample"].is_i64() && s["database"]["last_sample"].is_i64());
    assert_eq!(s["collector"]["running"], true);
    assert!(s["collector"]["last_sample_age_s"].as_i64().unwrap() <= 3);
    let d = device(&s, &stick.name);
    assert_eq!(d["in_use_for_history"], true);
    assert_eq!(d["can_format"], false);
    assert_eq!(s["fstab"][0]["ours"], true);

    // A mounted stick is never formatted.
    let r = post(
        &root,
        &sid,
        "storage.format",
        json!({"device": stick.name, "confirm": "FORMAT"}),
    );
    assert_eq!(
        (r.status, r.json()["error"]["field"].clone()),
        (409, json!("device"))
    );

    // Clean unmount: the collector lets go first (RAM), the fstab entry is disabled.
    let r = post(&root, &sid, "storage.unmount", json!({}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(!mounted_at(&mnt));
    assert_eq!(root.uci(&["get", "fstab.jammonitor_data.enabled"]), "0");
    assert_eq!(status(&root)["placement"], "ram");
    assert!(!root.file("var/run/jammonitor/storage.hold").exists());
    let r = post(&root, &sid, "storage.unmount", json!({}));
    assert_eq!(r.status, 409, "nothing mounted any more");

    // Mount again (the RAM interval is merged), then pull the stick out.
    let before = q_i64(
        &open_db(&ram_db),
        "SELECT SUM(samples) FROM coverage_minute",
    );
    let n = samples(&status(&root));
    wait_status(&root, 10, "samples in RAM", |s| samples(s) > n);
    assert_eq!(
        post(&root, &sid, "storage.mount", json!({"device": stick.name})).status,
        200
    );
    wait_status(&root, 10, "usb again", |s| s["placement"] == "usb");
    let all = q_i64(
        &open_db(&usb_db),
        "SELECT SUM(samples) FROM coverage_minute",
    );
    assert!(
        all >= usb_samples + before,
        "{all} < {usb_samples} + {before}"
    );

    sh(&["umount", "-l", mnt.to_str().unwrap()]);
    stick.detach();
    let st = wait_status(&root, 10, "fallback to RAM", |s| s["placement"] == "ram");
    assert!(
        st["placement_reason"]
            .as_str()
            .unwrap()
            .contains("usb storage gone"),
        "{st:#}"
    );
    assert!(
        st["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("history continues in RAM"),
        "{st:#}"
    );
    let n = samples(&st);
    wait_status(&root, 10, "sampling goes on", |s| samples(s) >= n + 2);
    let mut c = c;
    assert!(c.running(), "no crash");
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));
}

#[test]
fn format_refuses_and_runs_nothing() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices");
        return;
    }
    let root = usb_root(true);
    let overlay = root.file("overlay");
    let other = root.file("mnt/other");
    let _unmount = Unmounts(vec![overlay.clone(), other.clone()]);
    let sid = root.session(true, true);

    // The system disk: a (removable-looking) device holding the root's /overlay.
    let sysdisk = Loop::new("sys", 16);
    sysdisk.mkfs("rootfs_data");
    sysdisk.fixture(&root, true);
    std::fs::create_dir_all(&overlay).unwrap();
    sh(&["mount", &sysdisk.dev, overlay.to_str().unwrap()]);
    // The disk holding this machine's real / (a mounted root), dressed up as removable.
    let real_root = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(1) == Some("/"))
        .and_then(|l| l.split(' ').next().map(String::from))
        .filter(|s| s.starts_with("/dev/"));
    let real_root = real_root.map(|src| {
        let r = std::fs::metadata(&src).unwrap().rdev();
        let name = Path::new(&src)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        fixture_disk(
            &root,
            &name,
            &format!("{}:{}", libc::major(r), libc::minor(r)),
            1 << 30,
            true,
        );
        name
    });
    let fixed = Loop::new("fixed", 16);
    fixed.fixture(&root, false);
    let busy = Loop::new("busy", 16);
    busy.mkfs("busy");
    busy.fixture(&root, true);
    std::fs::create_dir_all(&other).unwrap();
    sh(&["mount", &busy.dev, other.to_str().unwrap()]);
    let ok = Loop::new("ok", 16);
    ok.fixture(&root, true);

    let s = storage(&root, &sid);
    assert_eq!(device(&s, &sysdisk.name)["system"], true);
    assert_eq!(device(&s, &sysdisk.name)["can_format"], false);

    let mut cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"device": sysdisk.name, "confirm": "FORMAT"}),
            400,
            "device",
            "/overlay",
        ),
        (
            json!({"device": fixed.name, "confirm": "FORMAT"}),
            400,
            "device",
            "not a removable device",
        ),
        (
            json!({"device": busy.name, "confirm": "FORMAT"}),
            409,
            "device",
            "mounted at /mnt/other",
        ),
        (json!({"device": ok.name}), 400, "confirm", "FORMAT"),
        (
            json!({"device": ok.name, "confirm": "format"}),
            400,
            "confirm",
            "FORMAT",
        ),
        (
            json!({"device": ok.name, "confirm": "yes"}),
            400,
            "confirm",
            "FORMAT",
        ),
        (
            json!({"device": ok.name, "confirm": "FORMAT", "label": "x;rm -rf /"}),
            400,
            "label",
            "letters",
        ),
        (
            json!({"device": ok.name, "confirm": "FORMAT", "label": "$(reboot)"}),
            400,
            "label",
            "letters",
        ),
        (
            json!({"device": ok.name, "confirm": "FORMAT", "label": "ABCDEFGHIJKLMNOPQ"}),
            400,
            "label",
            "1–16",
        ),
        (
            json!({"device": ok.name, "confirm": "FORMAT", "label": 7}),
            400,
            "label",
            "string",
        ),
        (
            json!({"device": "../sda", "confirm": "FORMAT"}),
            400,
            "device",
            "block device name",
        ),
        (
            json!({"device": "sdz9", "confirm": "FORMAT"}),
            400,
            "device",
            "no block device",
        ),
        (
            json!({"device": ok.name, "confirm": "FORMAT", "force": true}),
            400,
            "force",
            "unknown",
        ),
    ];
    if let Some(name) = &real_root {
        cases.push((
            json!({"device": name, "confirm": "FORMAT"}),
            400,
            "device",
            "(holds /",
        ));
    }
    for (body, status, field, msg) in &cases {
        let r = post(&root, &sid, "storage.format", body.clone());
        let j = r.json();
        assert_eq!(r.status, *status, "{body}: {j}");
        assert_eq!(j["error"]["field"], *field, "{body}: {j}");
        assert!(
            j["error"]["message"].as_str().unwrap().contains(msg),
            "{body}: {j}"
        );
    }
    // Nothing ran: no mkfs call, no job.
    assert!(
        !root.file("var/log/mkfs.calls").exists(),
        "mkfs ran: {}",
        root.read("var/log/mkfs.calls")
    );
    let jobs = std::fs::read_dir(root.file("var/run/jammonitor/jobs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(jobs, 0, "no job was started");

    // Mount refusals too: system disk, non-removable, no ext filesystem.
    for (dev, field) in [
        (&sysdisk.name, "device"),
        (&fixed.name, "device"),
        (&ok.name, "device"),
    ] {
        let r = post(&root, &sid, "storage.mount", json!({"device": dev}));
        assert!(
            r.status == 400 || r.status == 409,
            "{dev}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["error"]["field"], field);
    }
    assert!(!mounted_at(&root.file("mnt/data")));
    assert!(
        !root
            .uci(&["-q", "show", "fstab"])
            .contains("jammonitor_data")
    );

    // A valid request reaches the double exactly once with a plain argv; the job then notices
    // that no ext4 appeared (the double wrote nothing) and fails — verification is real.
    let r = post(
        &root,
        &sid,
        "storage.format",
        json!({"device": ok.name, "confirm": "FORMAT", "label": "OK_1"}),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let id = r.data()["job"]["id"].as_str().unwrap().to_string();
    // One format at a time.
    let again = post(
        &root,
        &sid,
        "storage.format",
        json!({"device": ok.name, "confirm": "FORMAT"}),
    );
    assert!(
        again.status == 409 || again.status == 202,
        "{}",
        again.status
    );
    let job = wait_job(&root, &sid, &id);
    assert_eq!(job["state"], "failed", "{job:#}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("does not show the new ext4"),
        "{job:#}"
    );
    let calls = root.read("var/log/mkfs.calls");
    let first = calls.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "-F -q -m 1 -L OK_1 {}",
            root.file(&format!("dev/{}", ok.name)).display()
        )
    );

    // Identity re-check: a different device now answering to the same name is refused.
    let b =
        jammonitor::system::blockdev::find(&jammonitor::system::Root::new(&root.path), &ok.name)
            .unwrap();
    let id0 = jammonitor::system::blockdev::Identity::of(&b);
    let r = jammonitor::system::Root::new(&root.path);
    assert!(jammonitor::system::blockdev::recheck(&r, &id0).is_ok());
    root.write(&format!("sys/block/{}/size", ok.name), "12345\n");
    assert!(
        jammonitor::system::blockdev::recheck(&r, &id0)
            .unwrap_err()
            .contains("changed")
    );
    root.write(
        &format!("sys/block/{}/size", ok.name),
        &format!("{}\n", (16u64 << 20) / 512),
    );
    root.write(
        &format!("sys/block/{}/dev", ok.name),
        &format!("{}\n", busy.majmin()),
    );
    assert!(
        jammonitor::system::blockdev::recheck(&r, &{
            let mut i = id0.clone();
            i.dev = busy.majmin();
            i
        })
        .unwrap_err()
        .contains("expected")
    );
}

#[test]
fn collector_start_stop_through_the_init_script() {
    let root = fixture_root();
    let sid = root.session(true, true);
    let bin = collector_bin();
    // Double of /etc/init.d/jammonitor-collector (procd's contract, reduced): `start` launches
    // the collector detached (and, like procd, returns once it runs), `stop` SIGTERMs the status file's pid and waits.
    // Every call is logged to var/log/init-collector.calls.
    root.write(
        "etc/init.d/jammonitor-collector",
        &format!(
            "#!/bin/sh\nmkdir -p \"$JAMMONITOR_ROOT/var/log\"\necho \"$*\" >> \"$JAMMONITOR_ROOT/var/log/init-collector.calls\"\n\
             st=\"$JAMMONITOR_ROOT/var/run/jammonitor/collector.json\"\n\
             pid=$(sed -n 's/^ *\"pid\": *\\([0-9]*\\).*/\\1/p' \"$st\" 2>/dev/null | head -n1)\n\
             case \"$1\" in\n\
             start) setsid {} --root \"$JAMMONITOR_ROOT\" --foreground --interval 1 </dev/null >/dev/null 2>&1 &\n\
               i=0; while [ $i -lt 50 ] && ! grep -q '\"state\": \"running\"' \"$st\" 2>/dev/null; do sleep 0.1; i=$((i+1)); done ;;\n\
             stop) [ -n \"$pid\" ] && kill -TERM \"$pid\" 2>/dev/null; i=0; while [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done ;;\n\
             esac\nexit 0\n",
            bin.display()
        ),
    );
    set_exec(&root.file("etc/init.d/jammonitor-collector"));
    struct Reap(PathBuf);
    impl Drop for Reap {
        fn drop(&mut self) {
            let st: Value = serde_json::from_str(
                &std::fs::read_to_string(self.0.join("var/run/jammonitor/collector.json"))
                    .unwrap_or_default(),
            )
            .unwrap_or_default();
            if let Some(pid) = st["pid"].as_i64().filter(|_| st["state"] != "stopped") {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
    let _reap = Reap(root.path.clone());

    let r = post(&root, &sid, "collector.start", json!({}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.data()["collector"]["running"], true);
    let s = storage(&root, &sid);
    assert_eq!(s["collector"]["running"], true);
    assert_eq!(s["collector"]["placement"], "ram");
    let r = post(&root, &sid, "collector.stop", json!({}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.data()["collector"]["running"], false);
    assert_eq!(status(&root)["state"], "stopped");
    assert_eq!(root.read("var/log/init-collector.calls"), "start\nstop\n");
    let r = post(&root, &sid, "collector.start", json!({"now": true}));
    assert_eq!(
        (r.status, r.json()["error"]["field"].clone()),
        (400, json!("now"))
    );
    assert_eq!(
        root.read("var/log/init-collector.calls"),
        "start\nstop\n",
        "a refused request runs nothing"
    );
}

/// Finding 3: a full USB stick at start made the merge of the RAM history fail, and the
/// collector exited for good (procd gave up after 5 respawns): no history at all. Now it keeps
/// sampling to RAM (the RAM history kept, not deleted), and the status says why. A stick
/// mounted read-only is treated the same way.
#[test]
fn finding_3_full_or_readonly_usb_at_start_keeps_sampling_to_ram() {
    assert!(is_root(), "needs root for loop devices");
    let root = usb_root(true);
    let mnt = root.file("mnt/data");
    std::fs::create_dir_all(&mnt).unwrap();
    let _unmount = Unmounts(vec![mnt.clone()]);
    let stick = Loop::new("full", 8);
    stick.fixture(&root, true);
    stick.mkfs("JAMFULL");
    sh(&[
        "mount",
        "-o",
        "rw,noatime",
        &stick.dev,
        mnt.to_str().unwrap(),
    ]);
    // A USB database exists (an earlier run), then the stick fills up.
    let c = Collector::start(&root.path, &["--once"]);
    assert_eq!(c.wait(20).0, Some(0));
    assert!(mnt.join("jammonitor/history.db").exists());
    let _ = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", mnt.join("fill").display()))
        .output();
    // RAM history left by a collector restart, to be merged.
    {
        use jammonitor::store::{IfaceTraffic, Sample, Store};
        let mut ram = Store::open(&root.file("tmp/jammonitor/history.db")).unwrap();
        let ts = jammonitor::store::now_epoch() - 600;
        ram.write(&Sample {
            ts,
            seconds: 60,
            ifaces: vec![IfaceTraffic {
                iface: "lan1".into(),
                rx: 123_456,
                tx: 1,
            }],
            ..Default::default()
        })
        .unwrap();
    }
    let c = Collector::start(&root.path, &["--interval", "1"]);
    let st = wait_status(&root, 15, "samples in RAM", |s| samples(s) >= 2);
    assert_eq!(st["state"], "running", "{st:#}");
    assert_eq!(st["placement"], "ram", "{st:#}");
    let reason = st["placement_reason"].as_str().unwrap();
    assert!(reason.contains("is full"), "{reason}");
    assert!(
        st["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("is full"),
        "{st:#}"
    );
    assert!(
        mnt.join("jammonitor/history.db").exists(),
        "a full stick's database is not moved aside as damaged"
    );
    let ram = open_db(&root.file("tmp/jammonitor/history.db"));
    assert!(
        q_i64(&ram, "SELECT SUM(rx) FROM iface_month WHERE iface = 'lan1'") >= 123_456,
        "the RAM history is kept, not deleted"
    );
    drop(ram);
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));

    // Read-only: the same, with the reason.
    let _ = std::fs::remove_file(mnt.join("fill"));
    sh(&["mount", "-o", "remount,ro", mnt.to_str().unwrap()]);
    let c = Collector::start(&root.path, &["--interval", "1"]);
    let st = wait_status(&root, 15, "samples in RAM", |s| {
        s["state"] == "running" && samples(s) >= 1
    });
    assert_eq!(st["placement"], "ram");
    assert!(
        st["placement_reason"]
            .as_str()
            .unwrap()
            .contains("read-only"),
        "{st:#}"
    );
    c.signal(libc::SIGTERM);
    assert_eq!(c.wait(10).0, Some(0));
}

/// Finding 9: the history stick was mounted `rw,noatime` only; now also `nosuid,nodev,noexec`,
/// in the kernel and in the persistent fstab entry.
#[test]
fn finding_9_usb_mounted_nosuid_nodev_noexec() {
    assert!(is_root(), "needs root for loop devices");
    let root = usb_root(true);
    let mnt = root.file("mnt/data");
    let _unmount = Unmounts(vec![mnt.clone()]);
    let stick = Loop::new("opts", 16);
    stick.fixture(&root, true);
    stick.mkfs("JAMOPTS");
    let sid = root.session(true, true);
    let r = post(&root, &sid, "storage.mount", json!({"device": stick.name}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let line = std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(1) == Some(mnt.to_str().unwrap()))
        .expect("mounted")
        .to_string();
    let opts: Vec<&str> = line.split(' ').nth(3).unwrap().split(',').collect();
    for o in ["rw", "noatime", "nosuid", "nodev", "noexec"] {
        assert!(opts.contains(&o), "{o} missing in {line}");
    }
    assert_eq!(
        root.uci(&["get", "fstab.jammonitor_data.options"]),
        "rw,noatime,nosuid,nodev,noexec"
    );
    // The journal is closed: nothing pending, no temp or staged file left.
    assert!(!root.file("etc/jammonitor/journal/storage.json").exists());
    let r = post(&root, &sid, "storage.unmount", json!({}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(!mounted_at(&mnt));
    assert_eq!(root.uci(&["get", "fstab.jammonitor_data.enabled"]), "0");
}

/// Finding 1 for storage: `storage.mount` / `storage.unmount` SIGKILLed at random points. After
/// the next request fstab is exactly before or after, the kernel follows it (mounted iff our
/// entry is enabled), and no journal or temp file is left. `JM_KILL_RUNS` runs (default 6).
#[test]
fn finding_1_kill_storage_mount_unmount_at_random_points() {
    assert!(is_root(), "needs root for loop devices");
    let runs: usize = std::env::var("JM_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let root = usb_root(true);
    let mnt = root.file("mnt/data");
    let _unmount = Unmounts(vec![mnt.clone()]);
    let stick = Loop::new("kill", 16);
    stick.fixture(&root, true);
    stick.mkfs("JAMKILL");
    let sid = root.session(true, true);
    let fstab = || std::fs::read(root.file("etc/config/fstab")).unwrap_or_default();
    let settle = || {
        let t0 = Instant::now();
        loop {
            assert_eq!(Req::get("storage", &sid).run(&root).status, 200);
            let journal = root.file("etc/jammonitor/journal/storage.json").exists();
            let running = std::fs::read_dir(root.file("var/run/jammonitor/jobs"))
                .map(|rd| {
                    rd.flatten().any(|e| {
                        let j: Value =
                            serde_json::from_slice(&std::fs::read(e.path()).unwrap_or_default())
                                .unwrap_or(Value::Null);
                        j["state"] == "running"
                            && j["pid"]
                                .as_i64()
                                .is_some_and(|p| Path::new(&format!("/proc/{p}")).exists())
                    })
                })
                .unwrap_or(false);
            if !journal && !running {
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "not settled");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Reference states: mounted (entry enabled) and unmounted (entry disabled).
    let body = |mount: bool| {
        if mount {
            ("storage.mount", json!({"device": stick.name}).to_string())
        } else {
            ("storage.unmount", "{}".to_string())
        }
    };
    let mut refs = [Vec::new(), Vec::new()]; // [unmounted, mounted]
    for m in [true, false, true, false] {
        let (a, b) = body(m);
        let r = Req::post(a, &sid, &b).run(&root);
        assert_eq!(r.status, 200, "{a}: {}", String::from_utf8_lossy(&r.body));
        refs[m as usize] = fstab();
    }
    let mut seed = 0x51AB_C0DE_1234_5678u64;
    let (mut before_n, mut after_n) = (0, 0);
    let mut mounted = false;
    for run in 0..runs {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 80_000);
        let want = !mounted;
        let (a, b) = body(want);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jammonitor"))
            .env_clear()
            .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
            .env("JAMMONITOR_ROOT", &root.path)
            .env("REQUEST_METHOD", "POST")
            .env("QUERY_STRING", "")
            .env("PATH_INFO", format!("/api/{a}"))
            .env("CONTENT_LENGTH", b.len().to_string())
            .env("HTTP_HOST", "192.168.100.1")
            .env("HTTP_AUTHORIZATION", format!("Bearer {sid}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _ = std::io::Write::write_all(&mut child.stdin.take().unwrap(), b.as_bytes());
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        settle();
        let now = fstab();
        let is_mounted = mounted_at(&mnt);
        if now == refs[mounted as usize] {
            before_n += 1;
        } else if now == refs[want as usize] {
            after_n += 1;
        } else {
            panic!(
                "run {run} ({a} killed after {delay:?}): fstab is neither before nor after:\n{}",
                String::from_utf8_lossy(&now)
            );
        }
        mounted = now == refs[1];
        assert_eq!(
            is_mounted, mounted,
            "run {run} ({a} killed after {delay:?}): kernel and fstab disagree"
        );
        let left: Vec<String> = std::fs::read_dir(root.file("etc/config"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') || n.contains(".jm-"))
            .collect();
        assert!(left.is_empty(), "run {run}: left behind {left:?}");
    }
    eprintln!(
        "storage.mount/unmount: {runs} kill runs: {before_n} ended before, {after_n} after, 0 mixed"
    );
}
