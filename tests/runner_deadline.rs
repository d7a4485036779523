//! The command runner kills a hung child with its whole process group at the deadline, so no
//! grandchild outlives the CGI (uhttpd's timeout would SIGKILL only the CGI itself).
use jammonitor::system::Root;
use jammonitor::system::runner::{Cmd, RunError, run};
use std::time::{Duration, Instant};

fn alive(pid: i32) -> bool {
    // A zombie reaped by init disappears; a live process has a /proc entry that is not a zombie.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn hung_process_tree_is_killed_at_deadline() {
    let dir = std::env::temp_dir().join(format!("jm-runner-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let pids = dir.join("pids");
    // A tree: sh → (sleep in the background, and a sleeping subshell), reporting their pids.
    let script = format!(
        "#!/bin/sh\nsleep 300 & echo $! >> {p}\n( sleep 301 & echo $! >> {p}; wait ) &\necho $$ >> {p}\nwait\n",
        p = pids.display()
    );
    std::fs::write(dir.join("bin/hang"), script).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(dir.join("bin/hang"))
        .status()
        .unwrap();

    let root = Root::new(&dir);
    let start = Instant::now();
    let r = run(
        &root,
        &Cmd::new("/bin/hang", &[]).deadline(Duration::from_millis(300)),
    );
    let took = start.elapsed();
    assert_eq!(r.unwrap_err(), RunError::Timeout);
    assert!(took < Duration::from_secs(5), "returned after {took:?}");
    std::thread::sleep(Duration::from_millis(200));
    let listed: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(listed.len() >= 3, "the tree did not start: {listed:?}");
    for pid in listed {
        assert!(!alive(pid), "process {pid} survived the deadline");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_is_capped_and_exit_status_checked() {
    let root = Root::new("/");
    let r = run(&root, &Cmd::new("/usr/bin/yes", &[]).stdout_cap(64 << 10));
    assert_eq!(r.unwrap_err(), RunError::OutputTooLarge);
    let out = run(&root, &Cmd::new("/bin/sh", &["-c", "echo err >&2; exit 3"])).unwrap();
    assert_eq!(out.code, Some(3));
    assert_eq!(out.stderr, b"err\n");
    let e = jammonitor::system::runner::run_ok(&root, &Cmd::new("/bin/false", &[])).unwrap_err();
    assert!(
        e.message.contains("/bin/false failed (exit 1)"),
        "{}",
        e.message
    );
    assert!(matches!(
        run(&root, &Cmd::new("/nonexistent", &[])),
        Err(RunError::Spawn(_))
    ));
}

/// Finding 2: a child that closes stdout/stderr and keeps running (a `ubus` or init script that
/// redirects its output) used to hold the caller in an unbounded `wait()`. The deadline now
/// holds for the wait too, and the whole process tree dies with it.
#[test]
fn finding_2_runner_deadline_when_child_closes_pipes() {
    let dir = std::env::temp_dir().join(format!("jm-runner-closed-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let pids = dir.join("pids");
    let script = format!(
        "#!/bin/sh\necho $$ >> {p}\nexec >/dev/null 2>&1 </dev/null\nsleep 302 & echo $! >> {p}\nsleep 303\n",
        p = pids.display()
    );
    std::fs::write(dir.join("bin/closer"), script).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(dir.join("bin/closer"))
        .status()
        .unwrap();
    let root = Root::new(&dir);
    let start = Instant::now();
    let r = run(
        &root,
        &Cmd::new("/bin/closer", &[]).deadline(Duration::from_millis(500)),
    );
    let took = start.elapsed();
    assert_eq!(r.unwrap_err(), RunError::Timeout);
    assert!(
        took < Duration::from_millis(1500),
        "held the caller {took:?} against a 500 ms deadline"
    );
    std::thread::sleep(Duration::from_millis(200));
    let listed: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(listed.len(), 2, "the tree did not start: {listed:?}");
    for pid in listed {
        assert!(!alive(pid), "process {pid} survived the deadline");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
