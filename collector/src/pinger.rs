//! The pinger thread: one ICMP echo per target every `ping_interval` seconds on a fixed schedule,
//! from one socket, no child process. An unprivileged ICMP datagram socket is used when the
//! kernel allows it (net.ipv4.ping_group_range), else a raw socket (the collector runs as root
//! on the router). A reply later than the timeout is a loss, never a hole in the series.
//!
//! Results go to a RAM ring of the last ~10 minutes per target, written to
//! `/var/run/jammonitor/live.json` after every round (what `overview` shows live), and into
//! per-minute aggregates (sent, lost, sum/min/max RTT) that the main loop drains into SQLite.

use jammonitor::store::PingMinute;
use jammonitor::store::status::LIVE_FILE;
use jammonitor::system::Root;
use jammonitor::system::clock::{thread_cpu_us, wall_ms};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much history the live ring keeps.
pub const RING_SECONDS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// `None` while an `auto` target cannot be resolved (shown, not pinged).
    pub host: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, Default)]
struct Agg {
    host: String,
    sent: u32,
    lost: u32,
    sum_ms: f64,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
}

/// What the main loop and the pinger share.
pub struct Shared {
    pub targets: Mutex<Vec<Target>>,
    minutes: Mutex<BTreeMap<(i64, String), Agg>>,
    pub stop: AtomicBool,
    pub interval_s: AtomicU32,
    pub timeout_ms: AtomicU32,
    /// Rounds done and the socket kind in use, for the status.
    pub rounds: std::sync::atomic::AtomicU64,
    /// The pinger thread's CPU time, µs.
    pub cpu_us: std::sync::atomic::AtomicU64,
    pub socket_kind: Mutex<String>,
    pub last_error: Mutex<Option<String>>,
}

impl Shared {
    pub fn new(targets: Vec<Target>, interval_s: u32, timeout_ms: u32) -> Shared {
        Shared {
            targets: Mutex::new(targets),
            minutes: Mutex::new(BTreeMap::new()),
            stop: AtomicBool::new(false),
            interval_s: AtomicU32::new(interval_s),
            timeout_ms: AtomicU32::new(timeout_ms),
            rounds: Default::default(),
            cpu_us: Default::default(),
            socket_kind: Mutex::new(String::new()),
            last_error: Mutex::new(None),
        }
    }

    /// Takes the per-minute aggregates of minutes before `before` (all of them when `None`).
    pub fn drain(&self, before: Option<i64>) -> Vec<PingMinute> {
        let mut m = self.minutes.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<(i64, String)> = m
            .keys()
            .filter(|(ts, _)| before.is_none_or(|b| *ts < b))
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|k| {
                let a = m.remove(&k)?;
                Some(PingMinute {
                    ts: k.0,
                    target: k.1,
                    host: a.host,
                    sent: a.sent,
                    lost: a.lost,
                    sum_ms: a.sum_ms,
                    min_ms: a.min_ms,
                    max_ms: a.max_ms,
                })
            })
            .collect()
    }

    fn record(&self, wall_s: i64, name: &str, host: &str, rtt: Option<f64>) {
        let minute = wall_s - wall_s.rem_euclid(60);
        let mut m = self.minutes.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded even if the main loop stalls: at most ~2 hours of minutes are kept.
        if m.len() > 16 * 120 {
            if let Some(k) = m.keys().next().cloned() {
                m.remove(&k);
            }
        }
        let a = m.entry((minute, name.to_string())).or_default();
        a.host = host.to_string();
        a.sent += 1;
        match rtt {
            Some(r) => {
                a.sum_ms += r;
                a.min_ms = Some(a.min_ms.map_or(r, |x| x.min(r)));
                a.max_ms = Some(a.max_ms.map_or(r, |x| x.max(r)));
            }
            None => a.lost += 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dgram,
    Raw,
}

pub struct Socket {
    fd: OwnedFd,
    pub kind: Kind,
    id: u16,
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        sum += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request: type 8, code 0, checksum, id, seq, 8 bytes of payload.
pub fn echo_request(id: u16, seq: u16) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = 8;
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..16].copy_from_slice(b"jammonit");
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Parses a received packet into (type, id, seq); `raw` packets start with the IPv4 header.
pub fn parse_reply(buf: &[u8], raw: bool) -> Option<(u8, u16, u16)> {
    let icmp = if raw {
        let ihl = (*buf.first()? & 0x0f) as usize * 4;
        buf.get(ihl..)?
    } else {
        buf
    };
    if icmp.len() < 8 {
        return None;
    }
    Some((
        icmp[0],
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

impl Socket {
    pub fn open() -> std::io::Result<Socket> {
        let id = (std::process::id() & 0xffff) as u16;
        for (ty, kind) in [(libc::SOCK_DGRAM, Kind::Dgram), (libc::SOCK_RAW, Kind::Raw)] {
            // SAFETY: plain socket(2); the fd is owned right away.
            let fd = unsafe {
                libc::socket(
                    libc::AF_INET,
                    ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    libc::IPPROTO_ICMP,
                )
            };
            if fd >= 0 {
                return Ok(Socket {
                    fd: unsafe { OwnedFd::from_raw_fd(fd) },
                    kind,
                    id,
                });
            }
        }
        Err(std::io::Error::last_os_error())
    }

    fn send(&self, to: Ipv4Addr, seq: u16) -> std::io::Result<()> {
        let pkt = echo_request(self.id, seq);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(to).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: valid buffer and sockaddr for the duration of the call.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                pkt.as_ptr() as *const libc::c_void,
                pkt.len(),
                0,
                &addr as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// One packet if any is waiting: (source, type, id, seq).
    fn recv(&self, buf: &mut [u8]) -> Option<(Ipv4Addr, u8, u16, u16)> {
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: buffer and address storage valid for the call.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr,
                &mut len,
            )
        };
        if n <= 0 {
            return None;
        }
        let (ty, id, seq) = parse_reply(&buf[..n as usize], self.kind == Kind::Raw)?;
        Some((
            Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
            ty,
            id,
            seq,
        ))
    }

    fn wait_readable(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, ms) > 0 }
    }

    /// Pings every host once with sequence `seq`; returns the RTT (ms) per host, `None` = lost.
    pub fn round(
        &self,
        hosts: &[Ipv4Addr],
        seq: u16,
        timeout: Duration,
    ) -> HashMap<Ipv4Addr, Option<f64>> {
        let mut sent_at: HashMap<Ipv4Addr, Instant> = HashMap::new();
        let mut out: HashMap<Ipv4Addr, Option<f64>> = HashMap::new();
        let mut buf = [0u8; 1500];
        // Drop stale replies from earlier rounds before sending.
        while self.recv(&mut buf).is_some() {}
        for &h in hosts {
            out.insert(h, None);
            // Stamp before sending: on a fast path the reply can be queued before sendto returns.
            let t0 = Instant::now();
            if self.send(h, seq).is_ok() {
                sent_at.insert(h, t0);
            }
        }
        let start = Instant::now();
        let mut pending = sent_at.len();
        while pending > 0 {
            let Some(left) = timeout.checked_sub(start.elapsed()) else {
                break;
            };
            if !self.wait_readable(left) {
                break;
            }
            while let Some((src, ty, id, rseq)) = self.recv(&mut buf) {
                // Datagram sockets get their id rewritten by the kernel and only see their replies.
                let ours = ty == 0 && rseq == seq && (self.kind == Kind::Dgram || id == self.id);
                if !ours {
                    continue;
                }
                if let (Some(t0), Some(slot)) = (sent_at.get(&src), out.get_mut(&src)) {
                    if slot.is_none() {
                        *slot = Some(t0.elapsed().as_secs_f64() * 1000.0);
                        pending -= 1;
                    }
                }
            }
        }
        out
    }
}

/// The pinger's loop; returns when `shared.stop` is set.
pub fn run(root: Root, shared: Arc<Shared>) {
    let mut rings: HashMap<String, VecDeque<(i64, Option<u32>)>> = HashMap::new();
    let mut socket: Option<Socket> = None;
    let mut seq: u16 = 0;
    let t0 = Instant::now();
    let mut k: u64 = 0;
    let mut live = String::with_capacity(16 << 10);
    while !shared.stop.load(Ordering::Relaxed) {
        let interval = Duration::from_secs(shared.interval_s.load(Ordering::Relaxed).max(1) as u64);
        let cpu0 = thread_cpu_us();
        let timeout = Duration::from_millis(shared.timeout_ms.load(Ordering::Relaxed) as u64)
            .min(interval * 9 / 10);
        let targets = shared.targets.lock().map(|t| t.clone()).unwrap_or_default();
        let mut hosts: Vec<Ipv4Addr> = targets.iter().filter_map(|t| t.host).collect();
        hosts.sort();
        hosts.dedup();
        let now_ms = wall_ms();
        let results = if hosts.is_empty() {
            HashMap::new()
        } else {
            if socket.is_none() {
                match Socket::open() {
                    Ok(s) => {
                        *shared.socket_kind.lock().unwrap_or_else(|e| e.into_inner()) =
                            if s.kind == Kind::Dgram {
                                "icmp-datagram"
                            } else {
                                "icmp-raw"
                            }
                            .into();
                        socket = Some(s);
                    }
                    Err(e) => {
                        *shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(format!("cannot open an ICMP socket: {e}"));
                    }
                }
            }
            seq = seq.wrapping_add(1);
            match &socket {
                Some(s) => s.round(&hosts, seq, timeout),
                // No socket: every target counts as lost, visibly, rather than silently absent.
                None => hosts.iter().map(|h| (*h, None)).collect(),
            }
        };
        let keep = (RING_SECONDS / interval.as_secs().max(1)) as usize + 1;
        rings.retain(|name, _| targets.iter().any(|t| &t.name == name));
        for t in &targets {
            if let Some(h) = t.host {
                let ring = rings.entry(t.name.clone()).or_default();
                let rtt = results.get(&h).copied().flatten();
                ring.push_back((
                    now_ms,
                    rtt.map(|r| (r * 1000.0).round().clamp(0.0, u32::MAX as f64) as u32),
                ));
                while ring.len() > keep {
                    ring.pop_front();
                }
                shared.record(now_ms.div_euclid(1000), &t.name, &h.to_string(), rtt);
            }
        }
        render_live(&mut live, &targets, &rings, now_ms, interval.as_secs());
        write_live(&root, live.as_bytes());
        shared.rounds.fetch_add(1, Ordering::Relaxed);
        shared
            .cpu_us
            .fetch_add(thread_cpu_us().saturating_sub(cpu0), Ordering::Relaxed);
        // Fixed schedule: round k+1 starts at t0 + (k+1)·interval, skipping rounds we missed.
        k += 1;
        let mut next = t0 + interval * k as u32;
        let now = Instant::now();
        if next < now {
            k = (now.duration_since(t0).as_secs_f64() / interval.as_secs_f64()).ceil() as u64;
            next = t0 + interval * k as u32;
        }
        // Parked until the next round; the main loop unparks this thread to stop it.
        while !shared.stop.load(Ordering::Relaxed) {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::park_timeout(left);
        }
    }
}

/// The live file (docs/api.md), rendered straight into a reused buffer: it is rewritten every
/// round, so no JSON tree is built. Names are validated (`[A-Za-z0-9_:-]`) and hosts are IPv4
/// literals: nothing here needs escaping.
pub fn render_live(
    out: &mut String,
    targets: &[Target],
    rings: &HashMap<String, VecDeque<(i64, Option<u32>)>>,
    now_ms: i64,
    interval_s: u64,
) {
    use std::fmt::Write;
    out.clear();
    let updated = format!("{}.{:03}", now_ms.div_euclid(1000), now_ms.rem_euclid(1000));
    let head = format!("\"updated_at\":{updated},\"interval_s\":{interval_s}");
    let _ = write!(out, "{{{head},\"pings\":{{{head},\"targets\":[");
    let empty = VecDeque::new();
    for (i, t) in targets.iter().enumerate() {
        let ring = rings.get(&t.name).unwrap_or(&empty);
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"name\":\"{}\",\"host\":", t.name);
        match t.host {
            Some(h) => {
                let _ = write!(out, "\"{h}\"");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"series\":[");
        let mut answered = 0;
        for (j, (ts, r)) in ring.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            match r {
                Some(us) => {
                    answered += 1;
                    let _ = write!(out, "[{ts},{}]", Ms(*us));
                }
                None => {
                    let _ = write!(out, "[{ts},null]");
                }
            }
        }
        out.push_str("],\"last_rtt_ms\":");
        match ring.back().and_then(|(_, r)| *r) {
            Some(us) => {
                let _ = write!(out, "{}", Ms(us));
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"loss_pct\":");
        if ring.is_empty() {
            out.push_str("null");
        } else {
            let loss = ((ring.len() - answered) as f64 * 1000.0 / ring.len() as f64).round() / 10.0;
            let _ = write!(out, "{loss}");
        }
        out.push('}');
    }
    out.push_str("]}}");
}

/// Microseconds shown as milliseconds with up to 3 decimals (integer formatting: this runs for
/// every point of the ring every round).
struct Ms(u32);

impl std::fmt::Display for Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ms, frac) = (self.0 / 1000, self.0 % 1000);
        match frac {
            0 => write!(f, "{ms}"),
            x if x % 100 == 0 => write!(f, "{ms}.{}", x / 100),
            x if x % 10 == 0 => write!(f, "{ms}.{:02}", x / 10),
            x => write!(f, "{ms}.{x:03}"),
        }
    }
}

fn write_live(root: &Root, bytes: &[u8]) {
    let path = root.path(LIVE_FILE);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets() {
        let p = echo_request(0x1234, 7);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        assert_eq!(parse_reply(&p, false), Some((8, 0x1234, 7)));
        let mut raw = vec![0x45u8];
        raw.extend_from_slice(&[0u8; 19]);
        raw.extend_from_slice(&p);
        raw[20] = 0;
        assert_eq!(parse_reply(&raw, true), Some((0, 0x1234, 7)));
        assert_eq!(parse_reply(&[1, 2, 3], false), None);
    }

    #[test]
    fn minute_aggregates_drain_in_order() {
        let s = Shared::new(vec![], 3, 1000);
        s.record(120, "internet", "1.1.1.1", Some(10.0));
        s.record(130, "internet", "1.1.1.1", None);
        s.record(150, "internet", "1.1.1.1", Some(30.0));
        s.record(185, "internet", "1.1.1.1", Some(5.0));
        let d = s.drain(Some(180));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (
                d[0].ts,
                d[0].sent,
                d[0].lost,
                d[0].sum_ms,
                d[0].min_ms,
                d[0].max_ms
            ),
            (120, 3, 1, 40.0, Some(10.0), Some(30.0))
        );
        assert_eq!(s.drain(None).len(), 1);
        assert!(s.drain(None).is_empty());
    }

    #[test]
    fn live_file_is_the_documented_json() {
        let targets = vec![
            Target {
                name: "internet".into(),
                host: Some(Ipv4Addr::new(1, 1, 1, 1)),
            },
            Target {
                name: "vps".into(),
                host: None,
            },
        ];
        let mut rings = HashMap::new();
        rings.insert(
            "internet".to_string(),
            VecDeque::from(vec![(1000, Some(12_500)), (2000, Some(9)), (4000, None)]),
        );
        let mut out = String::new();
        render_live(&mut out, &targets, &rings, 4_000_123, 3);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["updated_at"], 4000.123);
        let p = &v["pings"];
        assert_eq!(p["interval_s"], 3);
        assert_eq!(
            p["targets"][0]["series"],
            serde_json::json!([[1000, 12.5], [2000, 0.009], [4000, null]])
        );
        assert_eq!(p["targets"][0]["last_rtt_ms"], serde_json::Value::Null);
        assert_eq!(p["targets"][0]["loss_pct"], 33.3);
        assert_eq!(p["targets"][1]["host"], serde_json::Value::Null);
        assert_eq!(p["targets"][1]["series"], serde_json::json!([]));
        assert_eq!(p["targets"][1]["loss_pct"], serde_json::Value::Null);
    }

    #[test]
    fn loopback_round() {
        // 127.0.0.1 only: never leaves the machine. Needs a datagram ICMP socket or root.
        let Ok(s) = Socket::open() else { return };
        let lo = Ipv4Addr::new(127, 0, 0, 1);
        let r = s.round(&[lo], 1, Duration::from_millis(500));
        assert!(r[&lo].is_some(), "loopback answers");
    }
}
