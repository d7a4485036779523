//! The JamMonitor collector daemon (DESIGN §7). One instance (flock on
//! /var/run/jammonitor/collector.lock), a sample every `interval` seconds on a fixed schedule
//! (boot-time clock, no drift, missed ticks skipped rather than bunched), a pinger thread, SQLite
//! on USB or in RAM with flash checkpoints, a status file, a clean stop on SIGTERM.
//!
//! Signals: SIGTERM/SIGINT stop (flush pings, checkpoint a RAM database, status `stopped`);
//! SIGHUP reloads /etc/config/jammonitor (procd's reload trigger sends it); SIGUSR1 re-checks
//! the storage placement at once (sent by `storage.mount`/`storage.unmount`).
//! Called as `jammonitor` (the CGI's symlink) it is the CGI instead (see `main`).
//! Exit codes: 0 stopped cleanly, 1 fatal error, 2 another collector holds the lock, 64 usage.

// Under `cargo test` the test harness brings its own `main` (the unit tests of the modules).
#![cfg_attr(not(test), no_main)]

mod daemon;
mod log;
mod pinger;
mod placement;
mod sampler;
mod snapshot;
mod targets;

use argh::FromArgs;

#[derive(FromArgs)]
#[cfg_attr(test, allow(dead_code))] // only `main` reads it, and tests have the harness's
/// JamMonitor collector: samples interface, client and health counters into SQLite every minute
/// and pings the configured targets every few seconds.
struct Args {
    /// system root (default: $JAMMONITOR_ROOT, else /); tests point it at a fixture tree
    #[argh(option)]
    root: Option<String>,
    /// take one sample (counted against the state saved by the previous run), write it, exit
    #[argh(switch)]
    once: bool,
    /// stay in the foreground and log to stderr (procd); otherwise daemonize and log to syslog
    #[argh(switch)]
    foreground: bool,
    /// sample interval in seconds, overriding jammonitor.main.interval (1-3600; tests, benchmarks)
    #[argh(option)]
    interval: Option<u32>,
    /// ping interval in seconds, overriding jammonitor.main.ping_interval (1-60)
    #[argh(option)]
    ping_interval: Option<u32>,
    /// tests only: ping interval in milliseconds (100-60000), overriding both
    #[argh(option)]
    ping_interval_ms: Option<u32>,
}

/// The C entry point instead of Rust's `fn main` (`#![no_main]`): uhttpd starts this binary as
/// the CGI for every request, and std's runtime set-up before `main` (reading /proc/self/maps for
/// the main thread's stack guard, an alternate signal stack and its handlers) was ~0.05 ms of
/// that start (`make bench`). What of it matters is done here, for both modes: stdin, stdout and
/// stderr open (so no file we open takes their place), SIGPIPE ignored (a write to a client that
/// left is an error, not death), the arguments read from `argv` (std reads them only in its own
/// set-up on musl), and no panic unwinds into C.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    let args = process_setup(argc, argv);
    // One multi-call binary ships on the router (SQLite and std once, not twice): installed as
    // /usr/sbin/jammonitor-collector and linked as /www/cgi-bin/jammonitor, it is the CGI when
    // called by that name.
    if args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "jammonitor")
    {
        jammonitor::cgi::main();
        return 0;
    }
    std::panic::catch_unwind(|| collector(&args)).unwrap_or(101)
}

#[cfg_attr(test, allow(dead_code))]
fn process_setup(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    for fd in 0..=2 {
        // SAFETY: plain fcntl/open on fd numbers; nothing else runs yet.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
    // SAFETY: setting a signal disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the C runtime passes argc valid NUL-terminated strings.
            let s = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(s.to_bytes()).to_owned()
        })
        .collect()
}

#[cfg_attr(test, allow(dead_code))]
fn collector(argv: &[std::ffi::OsString]) -> i32 {
    let strs: Option<Vec<&str>> = argv.iter().map(|a| a.to_str()).collect();
    let Some(strs) = strs.filter(|s| !s.is_empty()) else {
        eprintln!("jammonitor-collector: arguments must be UTF-8");
        return 64;
    };
    let args: Args = match argh::FromArgs::from_args(&[strs[0]], &strs[1..]) {
        Ok(a) => a,
        Err(early) => {
            // what argh::from_env does: --help on stdout (0), a usage error on stderr (1)
            if early.status.is_ok() {
                println!("{}", early.output);
                return 0;
            }
            eprintln!("{}", early.output);
            return 1;
        }
    };
    let root = match &args.root {
        Some(r) if !r.is_empty() => jammonitor::system::Root::new(r),
        _ => jammonitor::system::Root::from_env(),
    };
    if args.interval.is_some_and(|i| !(1..=3600).contains(&i))
        || args.ping_interval.is_some_and(|i| !(1..=60).contains(&i))
        || args
            .ping_interval_ms
            .is_some_and(|i| !(100..=60_000).contains(&i))
    {
        eprintln!("jammonitor-collector: --interval must be 1-3600 and --ping-interval 1-60");
        return 64;
    }
    let opts = daemon::Options {
        once: args.once,
        foreground: args.foreground || args.once,
        interval: args.interval,
        ping_interval: args.ping_interval,
        ping_interval_ms: args.ping_interval_ms,
    };
    daemon::run(root, opts)
}
