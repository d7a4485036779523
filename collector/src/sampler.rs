//! One sample: interface counters (/proc/net/dev + ifindex/speed from sysfs), per-client bytes
//! (one conntrack pass joined with leases and ARP), system health, WAN up/down. Files only, no
//! child process. Produces a [`Sample`] for the store; the counter rules live in
//! `jammonitor::store::counters`.

use jammonitor::store::config::Config;
use jammonitor::store::counters::{self, Reading};
use jammonitor::store::ifaces::wan_devices;
use jammonitor::store::{ClientTraffic, CounterRow, Health, IfaceTraffic, Sample, period};
use jammonitor::system::conntrack::{self, FlowTracker};
use jammonitor::system::{Root, procfs, sysfs};
use std::collections::HashMap;

/// Most interfaces recorded (a box creating PPP/VPN interfaces in a loop stays bounded).
pub const MAX_IFACES: usize = 64;

pub struct Sampler {
    root: Root,
    prev: HashMap<String, Reading>,
    flows: FlowTracker,
    cpu_prev: Option<procfs::CpuTimes>,
    wan_state: HashMap<String, bool>,
    boot: u64,
    last: Option<(i64, u64)>,
    /// Counters for the status/log.
    pub resets: u64,
    pub dropped: u64,
}

/// The sample plus what the daemon logs.
pub struct Tick {
    pub sample: Sample,
    pub synced: bool,
    /// Wall clock moved this much more (or less) than boot time since the previous sample.
    pub clock_jump_s: Option<i64>,
    pub notes: Vec<String>,
}

/// CLOCK_BOOTTIME in ms (counts suspend; comparable between processes of one boot).
pub fn boot_ms() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| t.tv_sec() as u64 * 1000 + t.tv_nsec() as u64 / 1_000_000)
        .unwrap_or(0)
}

pub fn boot_id(root: &Root) -> u64 {
    counters::boot_hash(
        &root
            .read_line("/proc/sys/kernel/random/boot_id")
            .unwrap_or_default(),
    )
}

impl Sampler {
    /// `state`: counter readings persisted by the previous run (same boot → no interval lost).
    pub fn new(root: Root, state: Vec<CounterRow>, wan_states: Vec<(String, bool)>) -> Sampler {
        let boot = boot_id(&root);
        let state: Vec<CounterRow> = state
            .into_iter()
            .filter(|c| c.reading.boot == boot)
            .collect();
        // The previous run's last sample (same boot): the first sample here covers the gap.
        let last = state
            .iter()
            .max_by_key(|c| c.reading.boot_ms)
            .map(|c| (c.ts, c.reading.boot_ms));
        Sampler {
            prev: state.into_iter().map(|c| (c.iface, c.reading)).collect(),
            flows: FlowTracker::new(),
            cpu_prev: procfs::cpu(&root),
            wan_state: wan_states.into_iter().collect(),
            boot,
            last,
            root,
            resets: 0,
            dropped: 0,
        }
    }

    pub fn tick(&mut self, cfg: &Config, wall: i64, now_boot_ms: u64) -> Tick {
        let mut notes = Vec::new();
        let synced = period::clock_synced(wall);
        let clock_jump_s = self.last.and_then(|(w0, b0)| {
            let jump = (wall - w0) - (now_boot_ms as i64 - b0 as i64) / 1000;
            (jump.abs() > 120).then_some(jump)
        });
        // Rounded, not truncated: on a fixed schedule the gap is the interval ± jitter, and 999 ms
        // truncated to 0 s dropped a sample's coverage (and undercounted every slow tick by 1 s).
        let seconds = self
            .last
            .map(|(_, b0)| (now_boot_ms.saturating_sub(b0).saturating_add(500) / 1000) as u32)
            .unwrap_or(0);
        self.last = Some((wall, now_boot_ms));
        let wans = wan_devices(&self.root);

        // -- interfaces
        let mut ifaces = Vec::new();
        let mut counters_rows = Vec::new();
        for d in procfs::net_dev(&self.root)
            .into_iter()
            .filter(|d| d.name != "lo")
            .take(MAX_IFACES)
        {
            let base = format!("/sys/class/net/{}", d.name);
            let ifindex = self.root.read_u64(&format!("{base}/ifindex")).unwrap_or(0) as u32;
            let speed =
                counters::speed_bps(self.root.read_line(&format!("{base}/speed")).as_deref());
            let reading = Reading {
                ifindex,
                rx: d.rx_bytes,
                tx: d.tx_bytes,
                boot_ms: now_boot_ms,
                boot: self.boot,
            };
            let delta = counters::delta(
                self.prev.get(&d.name),
                &reading,
                if speed == 0 { cfg.max_rate_bps } else { speed },
            );
            if delta.kind == counters::Kind::Reset {
                self.resets += 1;
                notes.push(format!(
                    "{}: counters restarted (ifindex {ifindex}), counted {} B rx / {} B tx",
                    d.name, delta.rx, delta.tx
                ));
            }
            if delta.rx_dropped || delta.tx_dropped {
                self.dropped += 1;
                notes.push(format!(
                    "{}: delta above link speed × interval dropped",
                    d.name
                ));
            }
            ifaces.push(IfaceTraffic {
                iface: d.name.clone(),
                rx: delta.rx,
                tx: delta.tx,
            });
            counters_rows.push(CounterRow {
                iface: d.name.clone(),
                reading,
                ts: wall,
            });
            self.prev.insert(d.name, reading);
        }

        // -- clients: one pass over conntrack
        let wan_devs: Vec<String> = wans.iter().filter_map(|w| w.device.clone()).collect();
        let map = conntrack::client_map(&self.root, &wan_devs);
        let mut clients = Vec::new();
        match self.flows.sample(&self.root, &map) {
            Ok((bytes, _)) => {
                for (c, b) in map.clients.iter().zip(bytes) {
                    if b.rx > 0 || b.tx > 0 {
                        clients.push(ClientTraffic {
                            key: c.key.clone(),
                            mac: c.mac.clone(),
                            ip: Some(c.ip.clone()),
                            hostname: c.hostname.clone(),
                            rx: b.rx,
                            tx: b.tx,
                        });
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => notes.push(format!("conntrack: {e}")),
        }

        // -- health
        let cpu_now = procfs::cpu(&self.root);
        let cpu_pct = match (self.cpu_prev, cpu_now) {
            (Some(p), Some(n)) => procfs::cpu_pct(p, n).map(|x| (x * 10.0).round() / 10.0),
            _ => None,
        };
        self.cpu_prev = cpu_now.or(self.cpu_prev);
        let mem = procfs::meminfo(&self.root);
        let (ct, ct_max) = procfs::conntrack(&self.root);
        let temp = sysfs::thermal(&self.root)
            .iter()
            .map(|t| t.temp_c)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        let health = Health {
            cpu_pct,
            load: procfs::loadavg(&self.root),
            mem_total_kb: mem.map(|m| m.total_kb),
            mem_used_kb: mem.map(|m| m.total_kb - m.available_kb),
            temp_c: temp,
            conntrack: ct,
            conntrack_max: ct_max,
        };

        // -- WAN up/down: the device exists and is up (tunnels/PPP report "unknown")
        let mut wan_events = Vec::new();
        for w in &wans {
            let up = w.device.as_ref().is_some_and(|d| {
                let op = self
                    .root
                    .read_line(&format!("/sys/class/net/{d}/operstate"));
                matches!(op.as_deref(), Some("up") | Some("unknown"))
            });
            if self.wan_state.get(&w.name) != Some(&up) {
                self.wan_state.insert(w.name.clone(), up);
                wan_events.push((w.name.clone(), up));
            }
        }

        Tick {
            sample: Sample {
                ts: wall,
                offset: period::utc_offset(wall),
                seconds,
                ifaces,
                clients,
                pings: Vec::new(),
                wan_pings: Vec::new(),
                wan_minutes: Vec::new(),
                outages: Vec::new(),
                health: Some(health),
                wan_events,
                counters: counters_rows,
            },
            synced,
            clock_jump_s,
            notes,
        }
    }

    /// Forget WAN states so the next synced sample records them again (after a DB switch).
    pub fn forget_wan_states(&mut self) {
        self.wan_state.clear();
    }
}
