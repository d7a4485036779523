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

mod daemon;
mod log;
mod pinger;
mod placement;
mod sampler;
mod snapshot;
mod targets;

use argh::FromArgs;

#[derive(FromArgs)]
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

fn main() {
    // One multi-call binary ships on the router (SQLite and std once, not twice): installed as
    // /usr/sbin/jammonitor-collector and linked as /www/cgi-bin/jammonitor, it is the CGI when
    // called by that name.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if std::path::Path::new(&argv0)
        .file_name()
        .is_some_and(|n| n == "jammonitor")
    {
        return jammonitor::cgi::main();
    }
    let args: Args = argh::from_env();
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
        std::process::exit(64);
    }
    let opts = daemon::Options {
        once: args.once,
        foreground: args.foreground || args.once,
        interval: args.interval,
        ping_interval: args.ping_interval,
        ping_interval_ms: args.ping_interval_ms,
    };
    std::process::exit(daemon::run(root, opts));
}
