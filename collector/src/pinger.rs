//! The pinger thread: one ICMP echo per target every `ping_interval` seconds on a fixed schedule,
//! no child process. A reply later than the timeout is a loss, never a hole in the series.
//!
//! Two kinds of targets:
//! - the configured targets (Internet, VPS, tunnel, remote APs), pinged through the routing table
//!   (so through the primary WAN) from one socket;
//! - per managed WAN, its own targets (default: its gateway and the Internet target), pinged from
//!   a socket bound to the WAN's layer-3 device (SO_BINDTODEVICE) and its IPv4 address, as
//!   omr-tracker does, so each link's own latency and loss are measured whatever the routing
//!   table prefers. A WAN whose link is down is not probed (counted as down, not as loss); a WAN
//!   the user disabled is not probed at all (a metered link the user switched off stays quiet).
//!
//! Sockets: unprivileged ICMP datagram sockets when `net.ipv4.ping_group_range` allows them,
//! else raw sockets (the collector runs as root), each raw socket with a classic BPF filter that
//! passes only echo replies carrying its own identifier, so no socket wakes up for another's
//! replies. Link changes come from an rtnetlink socket (link and address events), so the
//! pinger reads no file per round.
//!
//! Per round the thread does: the sends, a poll until every reply or the timeout, and one
//! `pwrite` of the round's slot into the live ring (`jammonitor::store::live`); the per-minute
//! aggregates (sent, lost, sum/min/max RTT) are handed to the main loop once per minute, and
//! outages (see [`OutageSm`]) as they open and close.

use jammonitor::store::config::MAX_WAN_TARGETS;
use jammonitor::store::live::{self, LIVE_BIN, LOST, LiveTarget, NOT_PROBED};
use jammonitor::store::{Cause, Outage, PingMinute, WanMinute, WanPingMinute};
use jammonitor::system::Root;
use jammonitor::system::clock::{thread_cpu_us, wall_ms};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
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

/// One managed WAN as the pinger needs it (resolved by the main loop every sample).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WanProbe {
    /// UCI interface name (`wan2`).
    pub name: String,
    /// Layer-3 device (`lan2`, `pppoe-wan2`).
    pub device: Option<String>,
    /// Disabled by the user (`disabled=1` or the Disabled role, multipath `off`).
    pub disabled: bool,
    /// (label, host): `gateway`, a ping target's name, or an IPv4 literal.
    pub targets: Vec<(String, Option<Ipv4Addr>)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Agg {
    sent: u32,
    lost: u32,
    sum_ms: f64,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
}

impl Agg {
    fn add(&mut self, rtt: Option<f64>) {
        self.sent += 1;
        match rtt {
            Some(r) => {
                self.sum_ms += r;
                self.min_ms = Some(self.min_ms.map_or(r, |x| x.min(r)));
                self.max_ms = Some(self.max_ms.map_or(r, |x| x.max(r)));
            }
            None => self.lost += 1,
        }
    }
}

/// Finished minutes waiting for the main loop.
#[derive(Default)]
struct Pending {
    pings: Vec<PingMinute>,
    wan_pings: Vec<WanPingMinute>,
    wan_minutes: Vec<(String, WanMinute)>,
    outages: Vec<Outage>,
}

/// What the main loop and the pinger share.
pub struct Shared {
    pub targets: Mutex<Vec<Target>>,
    pub wans: Mutex<Vec<WanProbe>>,
    /// Bumped whenever `targets` or `wans` change: the pinger re-plans then, not every round.
    pub generation: AtomicU64,
    pending: Mutex<Pending>,
    pub stop: AtomicBool,
    /// Round interval, ms (`ping_interval` × 1000; tests may go below a second).
    pub interval_ms: AtomicU32,
    pub timeout_ms: AtomicU32,
    pub outage_rounds: AtomicU32,
    /// Rounds done and the socket kind in use, for the status.
    pub rounds: AtomicU64,
    /// The pinger thread's CPU time, µs.
    pub cpu_us: AtomicU64,
    /// The snapshot thread's builds and CPU time, µs (`snapshot`).
    pub snapshot_builds: AtomicU64,
    pub snapshot_cpu_us: AtomicU64,
    pub socket_kind: Mutex<String>,
    pub last_error: Mutex<Option<String>>,
}

/// What one drain hands to the store.
#[derive(Default, Debug)]
pub struct Drained {
    pub pings: Vec<PingMinute>,
    pub wan_pings: Vec<WanPingMinute>,
    pub wan_minutes: Vec<(String, WanMinute)>,
    pub outages: Vec<Outage>,
}

impl Shared {
    pub fn new(targets: Vec<Target>, interval_ms: u32, timeout_ms: u32) -> Shared {
        Shared {
            targets: Mutex::new(targets),
            wans: Mutex::new(Vec::new()),
            generation: AtomicU64::new(1),
            pending: Mutex::new(Pending::default()),
            stop: AtomicBool::new(false),
            interval_ms: AtomicU32::new(interval_ms),
            timeout_ms: AtomicU32::new(timeout_ms),
            outage_rounds: AtomicU32::new(3),
            rounds: Default::default(),
            cpu_us: Default::default(),
            snapshot_builds: Default::default(),
            snapshot_cpu_us: Default::default(),
            socket_kind: Mutex::new(String::new()),
            last_error: Mutex::new(None),
        }
    }

    pub fn set_targets(&self, t: Vec<Target>) {
        let mut cur = self.targets.lock().unwrap_or_else(|e| e.into_inner());
        if *cur != t {
            *cur = t;
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Copies of the current target and WAN lists (empty when a holder panicked).
    pub fn snapshot(&self) -> (Vec<Target>, Vec<WanProbe>) {
        let targets = self.targets.lock().map(|t| t.clone()).unwrap_or_default();
        let wans = self.wans.lock().map(|w| w.clone()).unwrap_or_default();
        (targets, wans)
    }

    pub fn set_wans(&self, w: Vec<WanProbe>) {
        let mut cur = self.wans.lock().unwrap_or_else(|e| e.into_inner());
        if *cur != w {
            *cur = w;
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes the finished minutes before `before` (all when `None`) and every outage change.
    pub fn drain(&self, before: Option<i64>) -> Drained {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let keep = |ts: i64| before.is_some_and(|b| ts >= b);
        let (keep_p, pings): (Vec<_>, Vec<_>) = std::mem::take(&mut p.pings)
            .into_iter()
            .partition(|m| keep(m.ts));
        let (keep_w, wan_pings): (Vec<_>, Vec<_>) = std::mem::take(&mut p.wan_pings)
            .into_iter()
            .partition(|m| keep(m.ts));
        let (keep_m, wan_minutes): (Vec<_>, Vec<_>) = std::mem::take(&mut p.wan_minutes)
            .into_iter()
            .partition(|(_, m)| keep(m.ts));
        p.pings = keep_p;
        p.wan_pings = keep_w;
        p.wan_minutes = keep_m;
        Drained {
            pings,
            wan_pings,
            wan_minutes,
            outages: std::mem::take(&mut p.outages),
        }
    }

    fn push(&self, add: Pending) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.pings.extend(add.pings);
        p.wan_pings.extend(add.wan_pings);
        p.wan_minutes.extend(add.wan_minutes);
        p.outages.extend(add.outages);
        // Bounded even if the main loop stalls: about 2 hours of minutes are kept.
        if p.pings.len() > 16 * 120 {
            let n = p.pings.len() - 16 * 120;
            p.pings.drain(..n);
        }
        if p.wan_pings.len() > 64 * 120 {
            let n = p.wan_pings.len() - 64 * 120;
            p.wan_pings.drain(..n);
        }
        if p.wan_minutes.len() > 16 * 120 {
            let n = p.wan_minutes.len() - 16 * 120;
            p.wan_minutes.drain(..n);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Outages

/// The outage rule, per WAN, one verdict per round:
/// - a round whose link is down is a failure with cause `link_down`, at once;
/// - a round where every gateway probe was lost is `no_gateway_reply`; else where every other
///   probe was lost, `no_internet_reply`; these open an outage only after `outage_rounds`
///   consecutive failing rounds (one lost ping is loss, not an outage), and the outage starts at
///   the first of them;
/// - while an outage lasts its cause becomes the most severe one seen (link down, then gateway,
///   then Internet); it ends at the first round where the probes answer again;
/// - a WAN disabled by the user ends any outage and opens a `disabled` period instead (not a
///   failure: it does not count against uptime).
///
/// Durations therefore carry at most one round of error at each end.
#[derive(Debug, Clone, Default)]
pub struct OutageSm {
    /// Evidence of the failing rounds in a row: 2 per failing round, 1 per `GatewaySilent`.
    streak: u32,
    streak_start: i64,
    streak_cause: Option<Cause>,
    open: Option<(i64, Cause)>,
}

/// One round's verdict for a WAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Fail(Cause),
    /// Nothing could be probed (no target resolvable): no evidence either way.
    Unknown,
    /// The gateway did not answer but another target did: traffic still flows, so this is a
    /// weaker sign than a silent link. Random loss on a bad link silences one gateway echo in ten,
    /// so it takes twice `outage_rounds` of these to open a `no_gateway_reply` outage (at 10 %
    /// loss and 3 s rounds: one chance in a million per round instead of one in a thousand).
    GatewaySilent,
}

/// One round's verdict from the WAN's state and its probes, `(sent, answered)` to the gateway and
/// to every other target: nothing answered is `no_gateway_reply`; the gateway answered (or is not
/// probed) while every other target was silent is `no_internet_reply`; the gateway silent while
/// the Internet answers is the weaker `GatewaySilent`.
pub fn verdict(disabled: bool, up: bool, gateway: (u32, u32), other: (u32, u32)) -> Verdict {
    let ((g, ga), (o, oa)) = (gateway, other);
    if disabled {
        Verdict::Fail(Cause::Disabled)
    } else if !up {
        Verdict::Fail(Cause::LinkDown)
    } else if g + o == 0 {
        Verdict::Unknown
    } else {
        let gateway_silent = g > 0 && ga == 0;
        match (oa > 0, o > 0, gateway_silent) {
            (true, _, true) => Verdict::GatewaySilent,
            (_, _, true) => Verdict::Fail(Cause::NoGatewayReply),
            (false, true, false) => Verdict::Fail(Cause::NoInternetReply),
            _ => Verdict::Ok,
        }
    }
}

fn severity(c: Cause) -> u8 {
    match c {
        Cause::LinkDown => 3,
        Cause::NoGatewayReply => 2,
        Cause::NoInternetReply => 1,
        Cause::Disabled => 0,
    }
}

fn worse(a: Cause, b: Cause) -> Cause {
    if severity(b) > severity(a) { b } else { a }
}

impl OutageSm {
    /// Feeds one round at `t` (ms); returns the outage rows to write (opened, updated, closed).
    pub fn step(&mut self, wan: &str, t: i64, v: Verdict, rounds: u32) -> Vec<Outage> {
        let mut out = Vec::new();
        let row = |start: i64, end: Option<i64>, cause: Cause| Outage {
            wan: wan.to_string(),
            start_ms: start,
            end_ms: end,
            cause,
        };
        match v {
            Verdict::Unknown => {}
            Verdict::Ok => {
                self.streak = 0;
                self.streak_cause = None;
                if let Some((s, c)) = self.open.take() {
                    out.push(row(s, Some(t), c));
                }
            }
            Verdict::Fail(Cause::Disabled) => {
                self.streak = 0;
                self.streak_cause = None;
                match self.open {
                    Some((_, Cause::Disabled)) => {}
                    Some((s, c)) => {
                        out.push(row(s, Some(t), c));
                        self.open = Some((t, Cause::Disabled));
                        out.push(row(t, None, Cause::Disabled));
                    }
                    None => {
                        self.open = Some((t, Cause::Disabled));
                        out.push(row(t, None, Cause::Disabled));
                    }
                }
            }
            Verdict::Fail(_) | Verdict::GatewaySilent => {
                let (c, weight) = match v {
                    Verdict::Fail(c) => (c, 2),
                    _ => (Cause::NoGatewayReply, 1),
                };
                if let Some((s, Cause::Disabled)) = self.open {
                    out.push(row(s, Some(t), Cause::Disabled));
                    self.open = None;
                }
                if self.streak == 0 {
                    self.streak_start = t;
                    self.streak_cause = Some(c);
                } else {
                    self.streak_cause = Some(self.streak_cause.map_or(c, |x| worse(x, c)));
                }
                self.streak += weight;
                let cause = self.streak_cause.unwrap_or(c);
                match self.open {
                    Some((s, oc)) => {
                        if worse(oc, cause) != oc {
                            self.open = Some((s, cause));
                            out.push(row(s, None, cause));
                        }
                    }
                    None => {
                        let need = if cause == Cause::LinkDown {
                            1
                        } else {
                            2 * rounds.max(1)
                        };
                        if self.streak >= need {
                            self.open = Some((self.streak_start, cause));
                            out.push(row(self.streak_start, None, cause));
                        }
                    }
                }
            }
        }
        out
    }

    pub fn open(&self) -> Option<(i64, Cause)> {
        self.open
    }
}

// ---------------------------------------------------------------------------------------------
// Sockets

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

fn sockaddr(a: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(a).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// Classic BPF for a raw ICMP socket: pass echo replies (type 0) whose identifier is `id`.
fn reply_filter(id: u16) -> [libc::sock_filter; 7] {
    let f = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        f(0xb1, 0, 0, 0),         // ldxb 4*([0]&0xf): X = IP header length
        f(0x50, 0, 0, 0),         // ldb [x+0]: ICMP type
        f(0x15, 0, 3, 0),         // jeq #0 (echo reply) else drop
        f(0x48, 0, 0, 4),         // ldh [x+4]: identifier
        f(0x15, 0, 1, id as u32), // jeq #id else drop
        f(0x06, 0, 0, 0xffff),    // ret: pass
        f(0x06, 0, 0, 0),         // ret: drop
    ]
}

impl Socket {
    /// A socket for pings through the routing table.
    pub fn open() -> std::io::Result<Socket> {
        Socket::open_with((std::process::id() & 0xffff) as u16, None, None)
    }

    /// `id` tells raw sockets' replies apart; `device`/`src` bind the socket to one WAN.
    pub fn open_with(
        id: u16,
        device: Option<&str>,
        src: Option<Ipv4Addr>,
    ) -> std::io::Result<Socket> {
        let mut last = std::io::Error::from_raw_os_error(libc::EPERM);
        for (ty, kind) in [(libc::SOCK_DGRAM, Kind::Dgram), (libc::SOCK_RAW, Kind::Raw)] {
            // SAFETY: plain socket(2); the fd is owned right away.
            let fd = unsafe {
                libc::socket(
                    libc::AF_INET,
                    ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    libc::IPPROTO_ICMP,
                )
            };
            if fd < 0 {
                last = std::io::Error::last_os_error();
                continue;
            }
            let s = Socket {
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
                kind,
                id,
            };
            match s.configure(device, src) {
                Ok(()) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn configure(&self, device: Option<&str>, src: Option<Ipv4Addr>) -> std::io::Result<()> {
        let fd = self.fd.as_raw_fd();
        let check = |r: libc::c_int| {
            if r < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        if self.kind == Kind::Raw {
            let filter = reply_filter(self.id);
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: valid program for the duration of the call (the kernel copies it).
            check(unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    &prog as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
                )
            })?;
        }
        if let Some(dev) = device {
            // SAFETY: the name bytes are valid for the call.
            check(unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_BINDTODEVICE,
                    dev.as_ptr() as *const libc::c_void,
                    dev.len() as libc::socklen_t,
                )
            })?;
        }
        if let Some(a) = src {
            let sa = sockaddr(a);
            // SAFETY: valid sockaddr for the call.
            check(unsafe {
                libc::bind(
                    fd,
                    &sa as *const libc::sockaddr_in as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            })?;
        }
        Ok(())
    }

    fn send(&self, to: Ipv4Addr, seq: u16) -> std::io::Result<()> {
        let pkt = echo_request(self.id, seq);
        let addr = sockaddr(to);
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

    /// Datagram sockets get their id rewritten by the kernel and only see their own replies.
    fn ours(&self, ty: u8, id: u16, rseq: u16, seq: u16) -> bool {
        ty == 0 && rseq == seq && (self.kind == Kind::Dgram || id == self.id)
    }

    /// Pings every host once with sequence `seq`; returns the RTT (ms) per host, `None` = lost.
    #[cfg(test)]
    pub fn round(
        &self,
        hosts: &[Ipv4Addr],
        seq: u16,
        timeout: Duration,
    ) -> HashMap<Ipv4Addr, Option<f64>> {
        let mut sent = Vec::new();
        for &h in hosts {
            let t0 = Instant::now();
            if self.send(h, seq).is_ok() {
                sent.push((h, t0));
            }
        }
        let mut probes: Vec<ProbeSlot> = sent
            .iter()
            .map(|(h, t0)| ProbeSlot {
                sock: 0,
                via: 0,
                host: *h,
                t0: *t0,
                rtt: None,
            })
            .collect();
        collect(|_| self, &[0], &mut Vec::new(), &mut probes, seq, timeout);
        let mut out: HashMap<Ipv4Addr, Option<f64>> = hosts.iter().map(|h| (*h, None)).collect();
        for p in probes {
            out.insert(p.host, p.rtt);
        }
        out
    }
}

struct ProbeSlot {
    /// Index into the ids `collect` is given.
    sock: usize,
    /// The socket it was sent on: 0 = the main socket, 1 + i = WAN i.
    via: usize,
    host: Ipv4Addr,
    t0: Instant,
    rtt: Option<f64>,
}

/// Waits for the replies of `probes` until all came or `timeout`. `p.sock` indexes `ids`, and
/// `sock(ids[k])` is that socket; `pfds` is scratch space kept across rounds. A socket is read
/// only while one of its probes still waits (then dropped from the poll set), so no round ends
/// with a read that finds nothing on each socket.
fn collect<'a>(
    sock: impl Fn(usize) -> &'a Socket,
    ids: &[usize],
    pfds: &mut Vec<libc::pollfd>,
    probes: &mut [ProbeSlot],
    seq: u16,
    timeout: Duration,
) {
    let start = Instant::now();
    let mut pending = probes.len();
    let mut buf = [0u8; 256];
    pfds.clear();
    pfds.extend(ids.iter().map(|&id| libc::pollfd {
        fd: sock(id).fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }));
    while pending > 0 {
        let Some(left) = timeout.checked_sub(start.elapsed()) else {
            break;
        };
        let ms = (left.as_micros().div_ceil(1000)).min(i32::MAX as u128) as i32;
        // SAFETY: valid pollfd array.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        for (i, pfd) in pfds.iter_mut().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            pfd.revents = 0;
            let s = sock(ids[i]);
            let mut waiting = probes
                .iter()
                .filter(|p| p.sock == i && p.rtt.is_none())
                .count();
            while waiting > 0 {
                let Some((src, ty, id, rseq)) = s.recv(&mut buf) else {
                    break;
                };
                if !s.ours(ty, id, rseq, seq) {
                    continue;
                }
                let now = Instant::now();
                if let Some(p) = probes
                    .iter_mut()
                    .find(|p| p.sock == i && p.host == src && p.rtt.is_none())
                {
                    p.rtt = Some(now.duration_since(p.t0).as_secs_f64() * 1000.0);
                    pending -= 1;
                    waiting -= 1;
                }
            }
            if waiting == 0 {
                // A negative fd is skipped by poll: nothing more to wait for on this socket.
                pfd.fd = -1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Link state from rtnetlink

/// Subscribed to link and IPv4 address changes; readable when anything changed.
struct LinkEvents {
    fd: Option<OwnedFd>,
}

impl LinkEvents {
    fn open() -> LinkEvents {
        // SAFETY: plain socket/bind; the fd is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return LinkEvents { fd: None };
        }
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        sa.nl_groups = (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR) as u32;
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        LinkEvents {
            fd: (r == 0).then_some(fd),
        }
    }

    /// Drains the socket; true when anything changed since the last call (or on overflow).
    fn changed(&self) -> bool {
        let Some(fd) = &self.fd else {
            return false;
        };
        let mut buf = [0u8; 4096];
        let mut any = false;
        loop {
            // SAFETY: valid buffer.
            let n = unsafe {
                libc::recv(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n > 0 {
                any = true;
                continue;
            }
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                any = true;
                continue;
            }
            return any;
        }
    }
}

/// (operationally up, first IPv4 address) of each device, in-process (getifaddrs).
fn link_states() -> HashMap<String, (bool, Option<Ipv4Addr>)> {
    let mut out = HashMap::new();
    for l in jammonitor::system::rtnl::links() {
        let up = l.operstate.as_deref() == Some("UP") && l.flags.iter().any(|f| f == "UP");
        let addr = l
            .addr_info
            .iter()
            .find(|a| a.family == "inet")
            .and_then(|a| a.local.parse().ok());
        out.insert(l.ifname, (up, addr));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The loop

/// One probe of the plan: a live-ring column and a per-minute aggregate.
struct Probe {
    /// Index into `Plan::wans`, `None` for a target pinged through the routing table.
    wan: Option<usize>,
    /// Target name (routing-table targets) or label (`gateway`, `internet`, an IPv4).
    name: String,
    host: Option<Ipv4Addr>,
    agg: Agg,
}

struct WanRt {
    probe: WanProbe,
    socket: Option<Socket>,
    bound: (Option<String>, Option<Ipv4Addr>),
    up: bool,
    src: Option<Ipv4Addr>,
    sm: OutageSm,
    down: u32,
    disabled: u32,
}

struct Plan {
    probes: Vec<Probe>,
    wans: Vec<WanRt>,
    live: Vec<LiveTarget>,
}

/// Live ring kept in memory (so a re-plan can rewrite the file), flat: slot k's values are
/// `vals[k*n..(k+1)*n]`.
struct RingMem {
    slots: usize,
    n: usize,
    meta: Vec<(u64, i64)>,
    vals: Vec<u32>,
}

impl RingMem {
    fn new(slots: usize, n: usize) -> RingMem {
        RingMem {
            slots,
            n,
            meta: vec![(0, 0); slots],
            vals: vec![NOT_PROBED; slots * n],
        }
    }
    fn slot(&self, round: u64) -> usize {
        (round % self.slots as u64) as usize
    }
}

/// Per-round working space, kept across rounds so a round allocates nothing.
#[derive(Default)]
struct Scratch {
    slots: Vec<ProbeSlot>,
    slot_of: Vec<Option<usize>>,
    /// Per probe: Some(true) = sent, Some(false) = send failed (a loss), None = not probed.
    probed: Vec<Option<bool>>,
    sent_to: Vec<Ipv4Addr>,
    /// (gateway probes, gateway answered, other probes, other answered) per WAN.
    per_wan: Vec<(u32, u32, u32, u32)>,
    /// The sockets carrying a probe (0 = main, 1 + i = WAN i), and socket → position in it.
    ids: Vec<usize>,
    remap: Vec<usize>,
    pfds: Vec<libc::pollfd>,
}

pub struct Pinger {
    scratch: Scratch,
    root: Root,
    shared: Arc<Shared>,
    generation: u64,
    plan: Plan,
    main_socket: Option<Socket>,
    events: LinkEvents,
    ring: RingMem,
    interval_ms: u32,
    live_file: Option<std::fs::File>,
    header_len: usize,
    minute: i64,
    round: u64,
    seq: u16,
    slot_buf: Vec<u8>,
    id_base: u16,
}

impl Pinger {
    pub fn new(root: Root, shared: Arc<Shared>) -> Pinger {
        Pinger {
            scratch: Scratch::default(),
            root,
            shared,
            generation: 0,
            plan: Plan {
                probes: Vec::new(),
                wans: Vec::new(),
                live: Vec::new(),
            },
            main_socket: None,
            events: LinkEvents::open(),
            ring: RingMem::new(1, 0),
            interval_ms: 0,
            live_file: None,
            header_len: 0,
            minute: 0,
            round: 0,
            seq: 0,
            slot_buf: Vec::new(),
            id_base: (std::process::id() & 0xffff) as u16,
        }
    }

    /// Rebuilds the plan after a configuration change, keeping the aggregates, outage state and
    /// ring history of every target and WAN that stays.
    fn replan(&mut self, now_ms: i64) {
        let (targets, wans) = self.shared.snapshot();
        // Flush the current minute first: a removed target keeps what it measured.
        self.flush_minute(now_ms, true);
        let mut old_wans: Vec<WanRt> = std::mem::take(&mut self.plan.wans);
        let mut new_wans = Vec::new();
        for w in wans {
            match old_wans.iter().position(|o| o.probe.name == w.name) {
                Some(i) => {
                    let mut o = old_wans.swap_remove(i);
                    o.probe = w;
                    new_wans.push(o);
                }
                None => new_wans.push(WanRt {
                    probe: w,
                    socket: None,
                    bound: (None, None),
                    up: false,
                    src: None,
                    sm: OutageSm::default(),
                    down: 0,
                    disabled: 0,
                }),
            }
        }
        // A WAN that is no longer managed: its open outage ends now.
        let mut closed = Vec::new();
        for o in old_wans {
            if let Some((s, c)) = o.sm.open() {
                closed.push(Outage {
                    wan: o.probe.name.clone(),
                    start_ms: s,
                    end_ms: Some(now_ms),
                    cause: c,
                });
            }
        }
        let mut probes = Vec::new();
        let mut live = Vec::new();
        for t in &targets {
            probes.push(Probe {
                wan: None,
                name: t.name.clone(),
                host: t.host,
                agg: Agg::default(),
            });
            live.push(LiveTarget {
                name: t.name.clone(),
                host: t.host.map(|h| h.to_string()),
            });
        }
        for (i, w) in new_wans.iter().enumerate() {
            for (label, host) in w.probe.targets.iter().take(MAX_WAN_TARGETS) {
                probes.push(Probe {
                    wan: Some(i),
                    name: label.clone(),
                    host: *host,
                    agg: Agg::default(),
                });
                live.push(LiveTarget {
                    name: format!("{}/{label}", w.probe.name),
                    host: host.map(|h| h.to_string()),
                });
            }
        }
        let interval = self.shared.interval_ms.load(Ordering::Relaxed).max(100);
        let slots = (RING_SECONDS * 1000 / interval as u64) as usize + 1;
        // Carry the ring over by column name.
        let mut ring = RingMem::new(slots, live.len());
        let old_cols: HashMap<&str, usize> = self
            .plan
            .live
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut kept: Vec<(u64, i64, usize)> = (0..self.ring.slots)
            .filter(|k| self.ring.meta[*k].0 != 0)
            .map(|k| (self.ring.meta[k].0, self.ring.meta[k].1, k))
            .collect();
        kept.sort();
        let skip = kept.len().saturating_sub(slots);
        for (round, ts, k) in kept.into_iter().skip(skip) {
            let dst = ring.slot(round);
            ring.meta[dst] = (round, ts);
            for (j, t) in live.iter().enumerate() {
                if let Some(&c) = old_cols.get(t.name.as_str()) {
                    ring.vals[dst * ring.n + j] = self.ring.vals[k * self.ring.n + c];
                }
            }
        }
        self.ring = ring;
        self.interval_ms = interval;
        self.plan = Plan {
            probes,
            wans: new_wans,
            live,
        };
        self.refresh_links();
        self.rewrite_live();
        if !closed.is_empty() {
            self.shared.push(Pending {
                outages: closed,
                ..Default::default()
            });
        }
    }

    /// Link state and address of every WAN device; (re)binds a WAN's socket when they changed.
    fn refresh_links(&mut self) {
        if self.plan.wans.is_empty() {
            return;
        }
        let states = link_states();
        for (i, w) in self.plan.wans.iter_mut().enumerate() {
            let (up, src) = w
                .probe
                .device
                .as_deref()
                .and_then(|d| states.get(d).copied())
                .unwrap_or((false, None));
            w.up = up && src.is_some();
            w.src = src;
            let want = (w.probe.device.clone(), src);
            if w.bound != want || (w.socket.is_none() && w.up) {
                w.socket = None;
                w.bound = want;
                if w.up && !w.probe.disabled {
                    let id = self.id_base.wrapping_add(1 + i as u16);
                    match Socket::open_with(id, w.probe.device.as_deref(), src) {
                        Ok(s) => w.socket = Some(s),
                        Err(e) => {
                            *self
                                .shared
                                .last_error
                                .lock()
                                .unwrap_or_else(|e| e.into_inner()) = Some(format!(
                                "cannot open an ICMP socket bound to {} ({}): {e}",
                                w.probe.device.as_deref().unwrap_or("?"),
                                w.probe.name
                            ));
                        }
                    }
                }
            }
        }
    }

    fn rewrite_live(&mut self) {
        let filled: Vec<(u64, i64, &[u32])> = (0..self.ring.slots)
            .filter(|k| self.ring.meta[*k].0 != 0)
            .map(|k| {
                (
                    self.ring.meta[k].0,
                    self.ring.meta[k].1,
                    &self.ring.vals[k * self.ring.n..(k + 1) * self.ring.n],
                )
            })
            .collect();
        let bytes = live::encode(
            &self.plan.live,
            self.interval_ms.div_ceil(1000),
            self.ring.slots,
            &filled,
        );
        self.header_len = live::header_len_of(&bytes).unwrap_or(0);
        let path = self.root.path(LIVE_BIN);
        if let Some(d) = path.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        self.live_file = None;
        if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
            self.live_file = std::fs::OpenOptions::new().write(true).open(&path).ok();
        }
        self.slot_buf = vec![0u8; live::slot_len(self.plan.live.len())];
    }

    /// Hands the minute's aggregates to the main loop when the minute changed (or `force`).
    fn flush_minute(&mut self, now_ms: i64, force: bool) {
        let minute = now_ms.div_euclid(60_000) * 60;
        if self.minute == 0 {
            self.minute = minute;
        }
        if minute == self.minute && !force {
            return;
        }
        let ts = self.minute;
        self.minute = minute;
        let mut add = Pending::default();
        for p in &mut self.plan.probes {
            let a = std::mem::take(&mut p.agg);
            if a.sent == 0 {
                continue;
            }
            match p.wan {
                None => add.pings.push(PingMinute {
                    ts,
                    target: p.name.clone(),
                    host: p.host.map(|h| h.to_string()).unwrap_or_default(),
                    sent: a.sent,
                    lost: a.lost,
                    sum_ms: a.sum_ms,
                    min_ms: a.min_ms,
                    max_ms: a.max_ms,
                }),
                Some(w) => add.wan_pings.push(WanPingMinute {
                    ts,
                    wan: self.plan.wans[w].probe.name.clone(),
                    target: p.name.clone(),
                    sent: a.sent,
                    lost: a.lost,
                    sum_ms: a.sum_ms,
                    min_ms: a.min_ms,
                    max_ms: a.max_ms,
                }),
            }
        }
        for w in &mut self.plan.wans {
            if w.down > 0 || w.disabled > 0 {
                add.wan_minutes.push((
                    w.probe.name.clone(),
                    WanMinute {
                        ts,
                        down: w.down,
                        disabled: w.disabled,
                    },
                ));
            }
            w.down = 0;
            w.disabled = 0;
        }
        if !add.pings.is_empty() || !add.wan_pings.is_empty() || !add.wan_minutes.is_empty() {
            self.shared.push(add);
        }
    }

    /// One round at wall time `now_ms`.
    pub fn round(&mut self, now_ms: i64) {
        let generation = self.shared.generation.load(Ordering::Relaxed);
        if generation != self.generation
            || self.shared.interval_ms.load(Ordering::Relaxed).max(100) != self.interval_ms
        {
            self.generation = generation;
            self.replan(now_ms);
        } else if self.events.changed() {
            self.refresh_links();
        }
        self.flush_minute(now_ms, false);
        let interval = Duration::from_millis(self.interval_ms as u64);
        let timeout = Duration::from_millis(self.shared.timeout_ms.load(Ordering::Relaxed) as u64)
            .min(interval * 9 / 10);
        self.seq = self.seq.wrapping_add(1);
        self.round += 1;
        let seq = self.seq;

        // -- sends
        let any_main = self
            .plan
            .probes
            .iter()
            .any(|p| p.wan.is_none() && p.host.is_some());
        if any_main && self.main_socket.is_none() {
            match Socket::open() {
                Ok(s) => {
                    *self
                        .shared
                        .socket_kind
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = if s.kind == Kind::Dgram {
                        "icmp-datagram"
                    } else {
                        "icmp-raw"
                    }
                    .into();
                    self.main_socket = Some(s);
                }
                Err(e) => {
                    *self
                        .shared
                        .last_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) =
                        Some(format!("cannot open an ICMP socket: {e}"));
                }
            }
        }
        // Socket index 0 = main, 1 + i = WAN i.
        let mut sc = std::mem::take(&mut self.scratch);
        let np = self.plan.probes.len();
        sc.slots.clear();
        sc.slot_of.clear();
        sc.slot_of.resize(np, None);
        sc.probed.clear();
        sc.probed.resize(np, None);
        sc.sent_to.clear();
        let (slots, slot_of, probed, sent_to) = (
            &mut sc.slots,
            &mut sc.slot_of,
            &mut sc.probed,
            &mut sc.sent_to,
        );
        let mut link_failed = false;
        for (pi, p) in self.plan.probes.iter().enumerate() {
            let Some(host) = p.host else { continue };
            let (sock, si) = match p.wan {
                None => match &self.main_socket {
                    Some(s) => (s, 0),
                    None => {
                        probed[pi] = Some(false);
                        continue;
                    }
                },
                Some(w) => {
                    let w_rt = &self.plan.wans[w];
                    if w_rt.probe.disabled || !w_rt.up {
                        continue;
                    }
                    match &w_rt.socket {
                        Some(s) => (s, 1 + w),
                        None => {
                            probed[pi] = Some(false);
                            continue;
                        }
                    }
                }
            };
            // One echo per distinct host per socket (two names for one address share it).
            if si == 0 && sent_to.contains(&host) {
                probed[pi] = Some(true);
                continue;
            }
            let t0 = Instant::now();
            match sock.send(host, seq) {
                Ok(()) => {
                    if si == 0 {
                        sent_to.push(host);
                    }
                    slot_of[pi] = Some(slots.len());
                    slots.push(ProbeSlot {
                        sock: si,
                        via: si,
                        host,
                        t0,
                        rtt: None,
                    });
                    probed[pi] = Some(true);
                }
                Err(e) => {
                    probed[pi] = Some(false);
                    if si > 0
                        && matches!(
                            e.raw_os_error(),
                            Some(libc::ENETDOWN | libc::ENODEV | libc::EADDRNOTAVAIL)
                        )
                    {
                        link_failed = true;
                    }
                }
            }
        }
        // -- replies
        if !sc.slots.is_empty() {
            // Only the sockets that carry a probe are polled, each once.
            sc.ids.clear();
            sc.remap.clear();
            sc.remap.resize(1 + self.plan.wans.len(), usize::MAX);
            for sl in sc.slots.iter_mut() {
                if sc.remap[sl.via] == usize::MAX {
                    sc.remap[sl.via] = sc.ids.len();
                    sc.ids.push(sl.via);
                }
                sl.sock = sc.remap[sl.via];
            }
            let main = self.main_socket.as_ref();
            let wans = &self.plan.wans;
            // A probe was only sent on a socket that exists; none is closed before this.
            let sock = |id: usize| -> &Socket {
                let s = if id == 0 {
                    main
                } else {
                    wans[id - 1].socket.as_ref()
                };
                s.expect("a socket that sent a probe this round")
            };
            collect(sock, &sc.ids, &mut sc.pfds, &mut sc.slots, seq, timeout);
        }
        // -- results: aggregates, ring, per-WAN verdicts
        let k = self.ring.slot(self.round);
        self.ring.meta[k] = (self.round, now_ms);
        let n = self.ring.n;
        sc.per_wan.clear();
        sc.per_wan.resize(self.plan.wans.len(), (0, 0, 0, 0));
        let (slots, per_wan) = (&sc.slots, &mut sc.per_wan);
        for (pi, p) in self.plan.probes.iter_mut().enumerate() {
            let rtt = match sc.probed[pi] {
                None => {
                    self.ring.vals[k * n + pi] = NOT_PROBED;
                    continue;
                }
                Some(false) => None,
                Some(true) => match sc.slot_of[pi] {
                    Some(s) => slots[s].rtt,
                    // A second name for a host already probed this round.
                    None => slots
                        .iter()
                        .find(|s| s.via == 0 && Some(s.host) == p.host)
                        .and_then(|s| s.rtt),
                },
            };
            p.agg.add(rtt);
            self.ring.vals[k * n + pi] = rtt
                .map(|r| (r * 1000.0).round().clamp(0.0, (NOT_PROBED - 1) as f64) as u32)
                .unwrap_or(LOST);
            if let Some(w) = p.wan {
                let e = &mut per_wan[w];
                if p.name == "gateway" {
                    e.0 += 1;
                    e.1 += rtt.is_some() as u32;
                } else {
                    e.2 += 1;
                    e.3 += rtt.is_some() as u32;
                }
            }
        }
        let rounds = self.shared.outage_rounds.load(Ordering::Relaxed);
        let mut outages = Vec::new();
        for (w, rt) in self.plan.wans.iter_mut().enumerate() {
            let (g, ga, o, oa) = per_wan[w];
            let v = verdict(rt.probe.disabled, rt.up, (g, ga), (o, oa));
            match v {
                Verdict::Fail(Cause::Disabled) => rt.disabled += 1,
                Verdict::Fail(Cause::LinkDown) => rt.down += 1,
                _ => {}
            }
            outages.extend(rt.sm.step(&rt.probe.name, now_ms, v, rounds));
        }
        if !outages.is_empty() {
            self.shared.push(Pending {
                outages,
                ..Default::default()
            });
        }
        self.scratch = sc;
        if link_failed {
            self.refresh_links();
        }
        // -- the round's slot of the live file
        if let Some(f) = &self.live_file {
            let sl = self.slot_buf.len();
            live::encode_slot(
                &mut self.slot_buf,
                self.round,
                now_ms,
                &self.ring.vals[k * n..(k + 1) * n],
            );
            let off = live::slot_offset(self.header_len, sl, self.ring.slots, self.round);
            let _ = f.write_all_at(&self.slot_buf, off as u64);
        }
    }

    /// Stop: the partial minute and the open outages stay as they are (the main loop writes the
    /// minute; an outage open at stop is closed by the next start).
    pub fn finish(&mut self) {
        self.flush_minute(wall_ms(), true);
    }
}

/// The pinger's loop; returns when `shared.stop` is set.
pub fn run(root: Root, shared: Arc<Shared>) {
    let mut p = Pinger::new(root, shared.clone());
    let t0 = Instant::now();
    let mut k: u64 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let cpu0 = thread_cpu_us();
        p.round(wall_ms());
        shared.rounds.fetch_add(1, Ordering::Relaxed);
        shared
            .cpu_us
            .fetch_add(thread_cpu_us().saturating_sub(cpu0), Ordering::Relaxed);
        let interval = Duration::from_millis(p.interval_ms.max(100) as u64);
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
    p.finish();
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
    fn a_rounds_verdict_from_its_probes() {
        use Cause::*;
        use Verdict::*;
        let v = |g, o| verdict(false, true, g, o);
        assert_eq!(v((1, 1), (2, 2)), Ok);
        // The gateway skipped its echo, the Internet answered: a weaker sign.
        assert_eq!(v((1, 0), (2, 1)), GatewaySilent);
        assert_eq!(v((2, 1), (2, 2)), Ok);
        assert_eq!(v((1, 0), (2, 0)), Fail(NoGatewayReply));
        assert_eq!(v((1, 0), (0, 0)), Fail(NoGatewayReply));
        assert_eq!(v((1, 1), (2, 0)), Fail(NoInternetReply));
        assert_eq!(v((0, 0), (2, 0)), Fail(NoInternetReply));
        assert_eq!(v((1, 1), (0, 0)), Ok);
        assert_eq!(v((0, 0), (0, 0)), Unknown);
        assert_eq!(verdict(false, false, (0, 0), (0, 0)), Fail(LinkDown));
        assert_eq!(verdict(true, true, (1, 1), (1, 1)), Fail(Disabled));
    }

    #[test]
    fn a_silent_gateway_alone_needs_twice_the_rounds() {
        use Verdict::*;
        let mut sm = OutageSm::default();
        let mut rows = Vec::new();
        for (i, v) in [GatewaySilent; 5].into_iter().chain([Ok]).enumerate() {
            rows.extend(sm.step("wan3", i as i64 * 1000, v, 3));
        }
        assert!(
            rows.is_empty(),
            "5 silent-gateway rounds are loss: {rows:?}"
        );
        let seq = [
            GatewaySilent,
            GatewaySilent,
            Fail(Cause::NoInternetReply),
            Fail(Cause::NoInternetReply),
        ];
        for (i, v) in seq.into_iter().enumerate() {
            rows.extend(sm.step("wan3", 10_000 + i as i64 * 1000, v, 3));
        }
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0].start_ms, rows[0].cause),
            (10_000, Cause::NoGatewayReply)
        );
    }

    #[test]
    fn outage_rule() {
        use Cause::*;
        use Verdict::*;
        let mut sm = OutageSm::default();
        let mut rows = Vec::new();
        let mut t = 0;
        let mut feed = |sm: &mut OutageSm, v: Verdict, n: usize, rows: &mut Vec<Outage>| {
            for _ in 0..n {
                t += 1000;
                rows.extend(sm.step("wan2", t, v, 3));
            }
        };
        // Two lost rounds: loss, not an outage.
        feed(&mut sm, Ok, 2, &mut rows);
        feed(&mut sm, Fail(NoInternetReply), 2, &mut rows);
        feed(&mut sm, Ok, 1, &mut rows);
        assert!(rows.is_empty(), "{rows:?}");
        // Three: an outage from the first of them until the first answer.
        feed(&mut sm, Fail(NoGatewayReply), 3, &mut rows);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].start_ms, rows[0].end_ms, rows[0].cause),
            (6000, None, NoGatewayReply)
        );
        // The link goes down during it: same outage, worse cause.
        feed(&mut sm, Fail(LinkDown), 2, &mut rows);
        feed(&mut sm, Ok, 1, &mut rows);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].cause, LinkDown);
        assert_eq!(
            (rows[2].start_ms, rows[2].end_ms, rows[2].cause),
            (6000, Some(11000), LinkDown)
        );
        rows.clear();
        // Link down opens at once; unknown rounds change nothing.
        feed(&mut sm, Fail(LinkDown), 1, &mut rows);
        feed(&mut sm, Unknown, 2, &mut rows);
        feed(&mut sm, Ok, 1, &mut rows);
        assert_eq!(
            rows.iter()
                .map(|o| (o.start_ms, o.end_ms))
                .collect::<Vec<_>>(),
            [(12000, None), (12000, Some(15000))]
        );
        rows.clear();
        // Disabled during an outage: the outage ends, a disabled period starts; re-enabled and
        // fine: the period ends.
        feed(&mut sm, Fail(LinkDown), 1, &mut rows);
        feed(&mut sm, Fail(Disabled), 3, &mut rows);
        feed(&mut sm, Ok, 1, &mut rows);
        let got: Vec<_> = rows
            .iter()
            .map(|o| (o.start_ms, o.end_ms, o.cause))
            .collect();
        assert_eq!(
            got,
            [
                (16000, None, LinkDown),
                (16000, Some(17000), LinkDown),
                (17000, None, Disabled),
                (17000, Some(20000), Disabled)
            ]
        );
    }

    #[test]
    fn loopback_round() {
        // 127.0.0.1 only: never leaves the machine. Needs a datagram ICMP socket or root.
        let Ok(s) = Socket::open() else { return };
        let lo = Ipv4Addr::new(127, 0, 0, 1);
        let r = s.round(&[lo], 1, Duration::from_millis(500));
        assert!(r[&lo].is_some(), "loopback answers");
    }

    #[test]
    fn bound_socket_on_loopback() {
        // Bound to `lo` and 127.0.0.1 as a WAN socket is bound to its device and address.
        let Ok(s) = Socket::open_with(0x4242, Some("lo"), Some(Ipv4Addr::LOCALHOST)) else {
            return;
        };
        let lo = Ipv4Addr::new(127, 0, 0, 1);
        let r = s.round(&[lo], 9, Duration::from_millis(500));
        assert!(r[&lo].is_some(), "loopback answers a bound socket");
    }
}
