//! The main loop: lock, placement, sampler, pinger, schedule, signals, status.

use crate::log;
use crate::pinger::{self, Shared};
use crate::placement::Placement;
use crate::sampler::{self, Sampler};
use crate::snapshot;
use crate::targets;
use jammonitor::store::config::{self, Config};
use jammonitor::store::status::{self, LOCK_FILE, LastError, Status};
use jammonitor::store::{Sample, now_epoch, period};
use jammonitor::system::clock::thread_cpu_us;
use jammonitor::system::{Root, clock, uci};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{SigSet, Signal};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct Options {
    pub once: bool,
    pub foreground: bool,
    pub interval: Option<u32>,
    pub ping_interval: Option<u32>,
    /// Tests only: a ping round every this many ms (100–60000), overriding both.
    pub ping_interval_ms: Option<u32>,
}

const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const RESOLVE_EVERY: Duration = Duration::from_secs(600);
const WAN_RESOLVE_EVERY: Duration = Duration::from_secs(60);

fn load_config(root: &Root, o: &Options) -> Config {
    let jm = match uci::load(root, "jammonitor") {
        Ok(c) => c,
        Err(e) => {
            log::warn(&format!(
                "reading /etc/config/jammonitor: {e}; using defaults"
            ));
            Default::default()
        }
    };
    let mut c = config::load(&jm);
    if let Some(i) = o.interval {
        c.interval_s = i;
    }
    if let Some(p) = o.ping_interval {
        c.ping_interval_s = p;
        c.ping_timeout_ms = c.ping_timeout_ms.min(p * 900).max(100);
    }
    if let Some(ms) = o.ping_interval_ms {
        c.ping_interval_s = ms.div_ceil(1000);
        c.ping_timeout_ms = c.ping_timeout_ms.min(ms * 9 / 10).max(50);
    }
    c
}

/// The pinger's round interval in ms.
fn ping_ms(cfg: &Config, o: &Options) -> u32 {
    o.ping_interval_ms.unwrap_or(cfg.ping_interval_s * 1000)
}

/// (VmRSS, VmHWM) in kB of this process.
fn rss_kb() -> (Option<u64>, Option<u64>) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn daemonize() -> Result<(), String> {
    use nix::unistd::{ForkResult, fork, setsid};
    // SAFETY: called before any thread exists.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    setsid().map_err(|e| format!("setsid: {e}"))?;
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    jammonitor::jobs::detach_stdio();
    let _ = std::env::set_current_dir("/");
    log::use_syslog();
    Ok(())
}

/// Waits for one of `set`'s signals until `timeout`; `None` on timeout.
fn wait_signal(set: &SigSet, timeout: Duration) -> Option<Signal> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: valid set and timespec; the signals are blocked in every thread.
    let r = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &ts) };
    if r > 0 {
        Signal::try_from(r).ok()
    } else {
        None
    }
}

struct Daemon {
    root: Root,
    opts: Options,
    cfg: Config,
    place: Placement,
    sampler: Sampler,
    shared: Arc<Shared>,
    status: Status,
    last_sweep: Option<Instant>,
    last_resolve: Instant,
    /// When the WANs' gateways were last asked of the kernel, and the WAN list then.
    last_wan_resolve: Option<Instant>,
    wan_sig: Vec<(String, Option<String>, bool)>,
}

pub fn run(root: Root, opts: Options) -> i32 {
    // Single-threaded here: the TZ rule for local hours/days goes into the environment once.
    period::set_tz(&clock::tz_rule(&root));
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt before threads; one arena keeps the pinger thread from reserving its own.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }

    // A configuration write a reboot interrupted is finished (rolled forward or back) at once,
    // not at the first page load. Before our lock is taken: a recovery job must not inherit it.
    jammonitor::actions::recover(&root);

    let lock_path = root.path(LOCK_FILE);
    if let Some(d) = lock_path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let lock_file = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    {
        Ok(f) => f,
        Err(e) => {
            log::error(&format!("cannot open {}: {e}", lock_path.display()));
            return 1;
        }
    };
    let _lock = match Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err(_) => {
            let pid = status::read(&root).map(|s| s.pid).unwrap_or(0);
            log::error(&format!(
                "another collector is already running (pid {pid}); exiting"
            ));
            return 2;
        }
    };
    if !opts.foreground {
        if let Err(e) = daemonize() {
            log::error(&e);
            return 1;
        }
    }

    let cfg = load_config(&root, &opts);
    for p in &cfg.problems {
        log::warn(p);
    }
    let mut st = Status {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
        state: "starting".into(),
        started_at: now_epoch(),
        updated_at: now_epoch(),
        interval_s: cfg.interval_s,
        ping_interval_s: cfg.ping_interval_s,
        usb_db_path: cfg.db_path.clone(),
        ram_path: cfg.ram_path.clone(),
        checkpoint_path: cfg.checkpoint_path.clone(),
        config_problems: cfg.problems.clone(),
        ..Default::default()
    };
    let _ = status::write(&root, &st);

    let place = match Placement::open(&root, &cfg) {
        Ok(p) => p,
        Err(e) => {
            log::error(&format!("no usable history database: {e}"));
            st.state = "stopped".into();
            st.last_error = Some(LastError {
                at: now_epoch(),
                message: e,
            });
            let _ = status::write(&root, &st);
            return 1;
        }
    };
    for m in &place.moved_aside {
        log::warn(&format!(
            "damaged database moved aside to {m} (kept, not deleted)"
        ));
    }
    log::info(&format!(
        "history in {} ({}: {})",
        place.db_path,
        place.place.as_str(),
        place.reason
    ));
    if place.place == crate::placement::Where::Ram && place.reason.starts_with("usb") {
        // A full or read-only stick at start: sampling goes on in RAM, and the status says why.
        log::error(&place.reason);
        st.last_error = Some(LastError {
            at: now_epoch(),
            message: place.reason.clone(),
        });
    }
    let counters = place.store.counter_state().unwrap_or_default();
    let wan_states = place.store.wan_states().unwrap_or_default();
    let sampler = Sampler::new(root.clone(), counters, wan_states);

    // Signals are taken synchronously by the main loop: block them before any thread starts.
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGUSR1,
    ] {
        set.add(s);
    }
    let _ = set.thread_block();

    let resolved = targets::resolve(&root, &cfg);
    let shared = Arc::new(Shared::new(
        resolved,
        ping_ms(&cfg, &opts),
        cfg.ping_timeout_ms,
    ));
    shared
        .outage_rounds
        .store(cfg.outage_rounds, Ordering::Relaxed);
    let mut place = place;
    match place.store.close_open_outages() {
        Ok(n) if n > 0 => log::info(&format!(
            "{n} outage(s) left open by the previous run closed at its last record"
        )),
        Ok(_) => {}
        Err(e) => log::warn(&format!("closing open outages: {e}")),
    }
    // The live ring is binary now (store::live); an old JSON ring is only misleading.
    let _ = std::fs::remove_file(root.path("/var/run/jammonitor/live.json"));
    let mut d = Daemon {
        root: root.clone(),
        opts,
        cfg,
        place,
        sampler,
        shared: shared.clone(),
        status: st,
        last_sweep: None,
        last_resolve: Instant::now(),
        last_wan_resolve: None,
        wan_sig: Vec::new(),
    };
    d.status.state = "running".into();

    if d.opts.once {
        d.tick();
        d.shutdown();
        return 0;
    }

    let pinger = worker("pinger", 128 << 10, &root, &shared, pinger::run);
    // The Overview snapshot (store::snapshot): built only while a page shows the Overview.
    let snapshot = worker("snapshot", 256 << 10, &root, &shared, snapshot::run);

    // Update check (DESIGN §6): at most once a day, never per page load; off the sample loop.
    {
        let (r, s) = (root.clone(), shared.clone());
        let _ = std::thread::Builder::new()
            .name("update-check".into())
            .stack_size(256 << 10)
            .spawn(move || {
                // first look 5 minutes after start (boot: let the WANs come up), then hourly
                let mut wait = Duration::from_secs(300);
                while !s.stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(wait);
                    if s.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let _ = jammonitor::actions::update::engine::check_if_due(&r);
                    wait = Duration::from_secs(3600);
                }
            });
    }

    let mut t0 = Instant::now();
    let mut k: u64 = 0;
    'outer: loop {
        d.tick();
        let interval = Duration::from_secs(d.cfg.interval_s as u64);
        k += 1;
        let mut next = t0 + interval * k as u32;
        let now = Instant::now();
        if next <= now {
            // Late (suspended, a very slow sample): skip the missed ticks, keep the phase.
            let missed = (now - next).as_secs_f64() / interval.as_secs_f64();
            k += missed.floor() as u64 + 1;
            next = t0 + interval * k as u32;
        }
        loop {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match wait_signal(&set, left) {
                None => {}
                Some(Signal::SIGTERM) | Some(Signal::SIGINT) => break 'outer,
                Some(Signal::SIGHUP) => {
                    let old = d.cfg.interval_s;
                    d.reload();
                    if d.cfg.interval_s != old {
                        t0 = Instant::now();
                        k = 0;
                        next = t0 + Duration::from_secs(d.cfg.interval_s as u64);
                    }
                }
                Some(Signal::SIGUSR1) => d.recheck_placement(),
                Some(_) => {}
            }
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for h in [pinger, snapshot].into_iter().flatten() {
        h.thread().unpark();
        let _ = h.join();
    }
    d.shutdown();
    0
}

/// A named thread running `run` until `shared.stop`; `None` (logged) when it cannot start.
fn worker(
    name: &str,
    stack: usize,
    root: &Root,
    shared: &Arc<Shared>,
    run: fn(Root, Arc<Shared>),
) -> Option<std::thread::JoinHandle<()>> {
    let (r, s) = (root.clone(), shared.clone());
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(stack)
        .spawn(move || run(r, s))
        .map_err(|e| log::error(&format!("cannot start the {name} thread: {e}")))
        .ok()
}

impl Daemon {
    fn error(&mut self, msg: String) {
        log::error(&msg);
        self.status.last_error = Some(LastError {
            at: now_epoch(),
            message: msg,
        });
    }

    fn reload(&mut self) {
        let mut cfg = load_config(&self.root, &self.opts);
        // Storage paths are bound to the open database: they change at the next start only.
        let old = &self.cfg;
        if (
            &cfg.mount_point,
            &cfg.db_path,
            &cfg.ram_path,
            &cfg.checkpoint_path,
        ) != (
            &old.mount_point,
            &old.db_path,
            &old.ram_path,
            &old.checkpoint_path,
        ) {
            log::warn(
                "storage paths changed: they apply after a restart (/etc/init.d/jammonitor-collector restart)",
            );
            cfg.mount_point = old.mount_point.clone();
            cfg.db_path = old.db_path.clone();
            cfg.ram_path = old.ram_path.clone();
            cfg.checkpoint_path = old.checkpoint_path.clone();
        }
        self.cfg = cfg;
        for p in &self.cfg.problems {
            log::warn(p);
        }
        self.status.config_problems = self.cfg.problems.clone();
        self.status.interval_s = self.cfg.interval_s;
        self.status.ping_interval_s = self.cfg.ping_interval_s;
        self.shared
            .interval_ms
            .store(ping_ms(&self.cfg, &self.opts), Ordering::Relaxed);
        self.shared
            .timeout_ms
            .store(self.cfg.ping_timeout_ms, Ordering::Relaxed);
        self.shared
            .outage_rounds
            .store(self.cfg.outage_rounds, Ordering::Relaxed);
        self.resolve_targets();
        self.last_wan_resolve = None;
        self.resolve_wans();
        log::info("configuration reloaded");
        self.write_status();
    }

    fn resolve_targets(&mut self) {
        let t = targets::resolve(&self.root, &self.cfg);
        self.status.targets = t
            .iter()
            .map(|t| (t.name.clone(), t.host.map(|h| h.to_string())))
            .collect();
        self.shared.set_targets(t);
        self.last_resolve = Instant::now();
        // Per-WAN targets may name these: resolve them again.
        self.last_wan_resolve = None;
    }

    /// The managed WANs and their per-WAN targets. The WAN list (UCI) is read every sample, so
    /// a WAN added, edited or disabled is followed within one interval; gateways are asked of the
    /// kernel (route dump) when that list changed, while a gateway is unknown, after a reload,
    /// and at least every WAN_RESOLVE_EVERY. Link up/down and addresses the pinger sees at once.
    fn resolve_wans(&mut self) {
        let sig = targets::wan_signature(&self.root);
        let unresolved = self
            .shared
            .wans
            .lock()
            .map(|w| {
                w.iter()
                    .any(|p| !p.disabled && p.targets.iter().any(|(_, h)| h.is_none()))
            })
            .unwrap_or(true);
        let due = self
            .last_wan_resolve
            .is_none_or(|t| t.elapsed() >= WAN_RESOLVE_EVERY);
        if !due && !unresolved && sig == self.wan_sig {
            return;
        }
        self.wan_sig = sig;
        self.last_wan_resolve = Some(Instant::now());
        let (targets, prev) = self.shared.snapshot();
        let w = targets::wan_probes(&self.root, &self.cfg, &targets, &prev);
        self.shared.set_wans(w);
    }

    fn recheck_placement(&mut self) {
        if let Some(msg) = self.place.check(&self.cfg) {
            self.placement_event(msg);
        }
        self.write_status();
    }

    fn placement_event(&mut self, msg: String) {
        if self.place.place == crate::placement::Where::Ram && self.place.reason.starts_with("usb")
        {
            self.error(msg);
        } else {
            log::info(&msg);
        }
        // The new database has not seen the WAN states yet.
        self.sampler.forget_wan_states();
    }

    fn tick(&mut self) {
        let cpu0 = thread_cpu_us();
        let wall0 = Instant::now();
        if self.status.targets.is_empty() || self.last_resolve.elapsed() >= RESOLVE_EVERY {
            self.resolve_targets();
        }
        self.resolve_wans();
        if let Some(msg) = self.place.check(&self.cfg) {
            self.placement_event(msg);
        }
        let wall = now_epoch();
        let mut t = self.sampler.tick(&self.cfg, wall, sampler::boot_ms());
        for n in &t.notes {
            log::info(n);
        }
        if let Some(j) = t.clock_jump_s {
            log::warn(&format!(
                "the wall clock moved {j} s more than elapsed time; rows follow the new clock"
            ));
        }
        self.status.clock_synced = t.synced;
        if t.synced {
            let b = period::buckets(wall, t.sample.offset);
            // Finished minutes only; the current one is written when it ends (or at stop).
            let d = self
                .shared
                .drain(Some(if self.opts.once { i64::MAX } else { b.minute }));
            t.sample.pings = d.pings;
            t.sample.wan_pings = d.wan_pings;
            t.sample.wan_minutes = d.wan_minutes;
            t.sample.outages = d.outages;
            match self.place.write(&self.cfg, &t.sample) {
                Ok(moved) => {
                    if let Some(msg) = moved {
                        self.placement_event(msg);
                    }
                    self.status.last_sample_at = Some(wall);
                    self.status.samples += 1;
                }
                Err(e) => self.error(format!("writing the sample: {e}")),
            }
        } else {
            // No rows before the clock is set; keep the baselines moving, record WANs later.
            if let Err(e) = self.place.store.save_counters(&t.sample.counters) {
                self.error(format!("saving counter state: {e}"));
            }
            self.sampler.forget_wan_states();
            let _ = self.shared.drain(None);
        }
        if self.last_sweep.is_none_or(|s| s.elapsed() >= SWEEP_EVERY) && t.synced {
            match self
                .place
                .store
                .sweep(wall, period::utc_offset(wall), &self.cfg.retention)
            {
                Ok(n) if n > 0 => log::info(&format!("retention: {n} old rows deleted")),
                Ok(_) => {}
                Err(e) => self.error(format!("retention sweep: {e}")),
            }
            self.last_sweep = Some(Instant::now());
        }
        if self.place.checkpoint_due(&self.cfg) {
            match self.place.checkpoint(&self.cfg) {
                Ok(Some(size)) => log::info(&format!(
                    "checkpoint: {} B to {}",
                    size, self.cfg.checkpoint_path
                )),
                Ok(None) => {}
                Err(e) => self.error(e),
            }
        }
        self.status.last_sample_cpu_us = Some(thread_cpu_us().saturating_sub(cpu0));
        self.status.last_sample_wall_us = Some(wall0.elapsed().as_micros() as u64);
        self.write_status();
    }

    fn write_status(&mut self) {
        let s = &mut self.status;
        s.updated_at = now_epoch();
        s.placement = self.place.place.as_str().into();
        s.placement_reason = self.place.reason.clone();
        s.db_path = self.place.db_path.clone();
        s.moved_aside = self.place.moved_aside.clone();
        s.last_checkpoint_at = self.place.last_checkpoint_at;
        s.next_checkpoint_at = self.place.next_checkpoint_at(&self.cfg);
        s.ping_rounds = self.shared.rounds.load(Ordering::Relaxed);
        s.ping_cpu_us = self.shared.cpu_us.load(Ordering::Relaxed);
        s.snapshot_builds = self.shared.snapshot_builds.load(Ordering::Relaxed);
        s.snapshot_cpu_us = self.shared.snapshot_cpu_us.load(Ordering::Relaxed);
        s.ping_socket = self
            .shared
            .socket_kind
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default();
        let (rss, hwm) = rss_kb();
        s.rss_kb = rss;
        s.peak_rss_kb = hwm;
        if let Some(e) = self
            .shared
            .last_error
            .lock()
            .ok()
            .and_then(|mut e| e.take())
        {
            s.last_error = Some(LastError {
                at: now_epoch(),
                message: e,
            });
        }
        if let Err(e) = status::write(&self.root, s) {
            log::warn(&format!("cannot write the status file: {e}"));
        }
    }

    /// Clean stop: the pings of the current minute, a flash checkpoint of a RAM database.
    fn shutdown(&mut self) {
        let wall = now_epoch();
        let d = self.shared.drain(None);
        let any = !d.pings.is_empty()
            || !d.wan_pings.is_empty()
            || !d.wan_minutes.is_empty()
            || !d.outages.is_empty();
        if any && period::clock_synced(wall) {
            let s = Sample {
                ts: wall,
                offset: period::utc_offset(wall),
                pings: d.pings,
                wan_pings: d.wan_pings,
                wan_minutes: d.wan_minutes,
                outages: d.outages,
                ..Default::default()
            };
            if let Err(e) = self.place.write(&self.cfg, &s) {
                self.error(format!("flushing pings: {e}"));
            }
        }
        // `--once` leaves the RAM database in RAM: a one-shot run is no reason to write flash.
        let flushed = if self.opts.once {
            Ok(None)
        } else {
            self.place.checkpoint(&self.cfg)
        };
        match flushed {
            Ok(Some(size)) => log::info(&format!(
                "checkpoint on stop: {size} B to {}",
                self.cfg.checkpoint_path
            )),
            Ok(None) => {}
            Err(e) => self.error(e),
        }
        self.status.state = "stopped".into();
        self.write_status();
        log::info("stopped");
    }
}
