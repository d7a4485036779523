//! `runner::stream`, the runner's bulk-transfer mode (the speed test's curl): stdin fed with
//! exactly the asked number of zero bytes and closed, stdout counted and dropped, ticks that can
//! stop the command (its whole process group), and the deadline.
use jammonitor::system::Root;
use jammonitor::system::runner::{Cmd, RunError, stream};
use std::time::{Duration, Instant};

#[test]
fn feeds_counts_and_stops() {
    let root = Root::new("/");
    // 5 MiB + 3 bytes through cat: every byte fed comes back, then EOF ends it.
    let n = (5 << 20) + 3;
    let mut ticks = 0;
    let out = stream(
        &root,
        &Cmd::new("/bin/cat", &[]).deadline(Duration::from_secs(10)),
        n,
        Duration::from_millis(1),
        &mut |_| {
            ticks += 1;
            true
        },
    )
    .unwrap();
    assert_eq!(out.code, Some(0));
    assert_eq!(out.flow.fed, n);
    assert_eq!(out.flow.drained, n);
    assert!(!out.stopped);
    assert!(ticks > 0);

    // A tick that says stop kills the command at once (a sleeping shell and its child).
    let t0 = Instant::now();
    let out = stream(
        &root,
        &Cmd::new("/bin/sh", &["-c", "sleep 30 & wait"]).deadline(Duration::from_secs(20)),
        0,
        Duration::from_millis(100),
        &mut |_| t0.elapsed() < Duration::from_millis(300),
    )
    .unwrap();
    assert!(out.stopped);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());

    // The deadline holds.
    let t0 = Instant::now();
    let r = stream(
        &root,
        &Cmd::new("/bin/sleep", &["30"]).deadline(Duration::from_millis(400)),
        0,
        Duration::from_millis(100),
        &mut |_| true,
    );
    assert_eq!(r.unwrap_err(), RunError::Timeout);
    assert!(t0.elapsed() < Duration::from_secs(2));

    // A command that stops reading its stdin early: no hang, its exit status is reported.
    let out = stream(
        &root,
        &Cmd::new("/usr/bin/head", &["-c", "1000"]).deadline(Duration::from_secs(10)),
        50 << 20,
        Duration::from_millis(50),
        &mut |_| true,
    )
    .unwrap();
    assert_eq!(out.code, Some(0));
    assert_eq!(out.flow.drained, 1000);
    assert!(out.flow.fed < 50 << 20);
}
