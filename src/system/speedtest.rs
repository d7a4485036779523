//! The speed test's system side (issue 16): the bulk transfer through one WAN and the latency
//! probe through it. The action (`actions::speedtest`) decides what to test; this module does it.
//!
//! - Transfer: `/usr/bin/curl` through the runner's [`runner::stream`] (argv, absolute path,
//!   deadline, process group). `--interface <device>` binds the socket to the WAN's layer-3
//!   device (SO_BINDTODEVICE) *and* its address (curl looks the device's IPv4 address up and binds
//!   it), so OMR's `from <addr> lookup <table>` rule and the device both pin the path. A download
//!   goes to curl's stdout, which the runner counts and drops (exact live byte count, nothing
//!   stored); an upload is fed as zeros on curl's stdin with an explicit `Content-Length` (no
//!   chunked encoding, no file in RAM), the count being what curl has taken. curl prints its own
//!   timing to stderr at the end (`-w '%{stderr}…'`): the result's rate is bytes ×8 over
//!   (`time_total` − `time_pretransfer`): DNS, TCP and TLS setup are not part of the rate.
//! - Latency: the time a TCP handshake to the server takes from a socket bound like curl's
//!   (device + source address), in-process; no ICMP (many speed-test hosts drop it), no command.
//!   Before the transfer it picks the nearest server; during it, it is the latency under load.

use super::Root;
use super::runner::{self, Cmd, Flow};
use std::net::{Ipv4Addr, SocketAddrV4, ToSocketAddrs};
use std::time::{Duration, Instant};

pub const CURL: &str = "/usr/bin/curl";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Download,
    Upload,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "download" => Some(Direction::Download),
            "upload" => Some(Direction::Upload),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
        }
    }
}

/// One transfer to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub url: String,
    pub direction: Direction,
    /// Bytes to move (the upload's body; the download's expected size).
    pub bytes: u64,
    /// The WAN's layer-3 device (`--interface`).
    pub device: String,
    /// Sent as `Referer` (Cloudflare refuses its speed-test endpoints without one).
    pub referer: Option<String>,
    /// curl's own `--max-time`: past it, the bytes so far are the (partial) measurement.
    pub max_time: Duration,
}

/// What curl reported at the end (`-w`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub size_download: u64,
    pub size_upload: u64,
    pub time_pretransfer: f64,
    pub time_total: f64,
    pub http_code: u32,
}

const STATS_TAG: &str = "JMSTAT";

/// The argument vector (pure: unit-tested).
pub fn curl_cmd(t: &Transfer) -> Cmd {
    let mut c = Cmd::new(CURL, &[]);
    for a in [
        "-4",
        "-sS",
        "--fail",
        "--proto",
        "=http,https",
        "--connect-timeout",
        "5",
        "--interface",
        &t.device,
        "--max-time",
        &format!("{:.0}", t.max_time.as_secs_f64().max(1.0)),
        "-H",
        "Cache-Control: no-cache",
        "-w",
        "%{stderr}\nJMSTAT %{size_download} %{size_upload} %{time_pretransfer} %{time_total} %{http_code}\n",
    ] {
        c = c.arg(a);
    }
    if let Some(r) = &t.referer {
        c = c.arg("-e").arg(r.as_str());
    }
    match t.direction {
        Direction::Download => {
            c = c
                .arg("-L")
                .arg("--max-redirs")
                .arg("3")
                .arg("--proto-redir")
                .arg("=http,https")
                .arg("-o")
                .arg("-");
        }
        Direction::Upload => {
            for a in [
                "-X",
                "POST",
                "-T",
                "-",
                "-H",
                &format!("Content-Length: {}", t.bytes),
                // An explicit length: without these curl would send chunked and wait for 100.
                "-H",
                "Transfer-Encoding:",
                "-H",
                "Expect:",
                "-H",
                "Content-Type: application/octet-stream",
                "-o",
                "/dev/null",
            ] {
                c = c.arg(a);
            }
        }
    }
    c.arg("--").arg(t.url.as_str())
}

/// The `JMSTAT` line curl printed last on stderr.
pub fn parse_stats(stderr: &[u8]) -> Option<Stats> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().rev().find_map(|l| l.strip_prefix(STATS_TAG))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 5 {
        return None;
    }
    Some(Stats {
        size_download: f[0].parse::<f64>().ok()? as u64,
        size_upload: f[1].parse::<f64>().ok()? as u64,
        time_pretransfer: f[2].parse().ok()?,
        time_total: f[3].parse().ok()?,
        http_code: f[4].parse().ok()?,
    })
}

/// curl's error text without our stats line.
fn curl_error(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with(STATS_TAG) && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("; ")
        .chars()
        .take(300)
        .collect()
}

/// A finished (or cut at `max_time`) transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub bytes: u64,
    pub seconds: f64,
    pub mbps: f64,
    /// All the bytes moved (false: `max_time` cut it; the rate is still a measurement).
    pub complete: bool,
    pub http_code: u32,
}

/// Mbit/s from bytes and seconds (0 when no time passed).
pub fn mbps(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 * 8.0 / seconds / 1e6
    } else {
        0.0
    }
}

/// Runs the transfer. `on_tick(flow)` about every 250 ms (return false to stop: the error is
/// "stopped"). `deadline` bounds the whole command.
pub fn transfer(
    root: &Root,
    t: &Transfer,
    deadline: Duration,
    on_tick: &mut dyn FnMut(Flow) -> bool,
) -> Result<Measured, String> {
    let cmd = curl_cmd(t).deadline(deadline);
    let feed = match t.direction {
        Direction::Download => 0,
        Direction::Upload => t.bytes,
    };
    let out = runner::stream(root, &cmd, feed, Duration::from_millis(250), on_tick)
        .map_err(|e| format!("curl: {e}"))?;
    if out.stopped {
        return Err("stopped".into());
    }
    let stats = parse_stats(&out.stderr);
    let code = out.code;
    match (code, stats) {
        // 0: done; 28: --max-time reached, the bytes so far are a measurement.
        (Some(c @ (0 | 28)), Some(s)) => {
            let bytes = match t.direction {
                Direction::Download => out.flow.drained,
                Direction::Upload => s.size_upload.min(t.bytes),
            };
            let seconds = (s.time_total - s.time_pretransfer).max(0.0);
            if bytes == 0 || seconds <= 0.0 {
                return Err(format!(
                    "no data moved ({})",
                    if c == 28 {
                        "timed out".to_string()
                    } else {
                        format!("HTTP {}", s.http_code)
                    }
                ));
            }
            Ok(Measured {
                bytes,
                seconds,
                mbps: mbps(bytes, seconds),
                complete: c == 0 && bytes >= t.bytes,
                http_code: s.http_code,
            })
        }
        (Some(22), s) => Err(format!(
            "the server answered HTTP {}",
            s.map(|s| s.http_code).unwrap_or(0)
        )),
        (Some(c), _) => Err(format!("curl exit {c}: {}", curl_error(&out.stderr))),
        (None, _) => Err("curl was killed".into()),
    }
}

/// `(host, port)` of an http(s) URL (pure: unit-tested).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let auth = rest.split(['/', '?', '#']).next()?;
    let auth = auth.rsplit('@').next()?;
    let (host, port) = match auth.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (auth, default),
    };
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

/// The first IPv4 address of `host` (an address literal or a name, resolved by the system).
pub fn resolve(host: &str, port: u16) -> Option<SocketAddrV4> {
    if let Ok(a) = host.parse::<Ipv4Addr>() {
        return Some(SocketAddrV4::new(a, port));
    }
    (host, port).to_socket_addrs().ok()?.find_map(|a| match a {
        std::net::SocketAddr::V4(v) => Some(v),
        _ => None,
    })
}

/// The first IPv4 address of a device (getifaddrs), when it is up.
pub fn device_ipv4(dev: &str) -> Option<Ipv4Addr> {
    let links = super::rtnl::links();
    let l = links.iter().find(|l| l.ifname == dev)?;
    l.addr_info
        .iter()
        .filter(|a| a.family == "inet")
        .find_map(|a| a.local.parse().ok())
}

/// One TCP handshake to `to` from a socket bound to `device` and `src`; its duration.
pub fn connect_rtt(
    device: &str,
    src: Ipv4Addr,
    to: SocketAddrV4,
    timeout: Duration,
) -> Result<Duration, String> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let dev = device.as_bytes();
    // SAFETY: valid pointer/length for the call.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr() as *const libc::c_void,
            dev.len() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(format!(
            "bind to {device}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let sa = |a: SocketAddrV4| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*a.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let local = sa(SocketAddrV4::new(src, 0));
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: valid sockaddr for the call.
    let r = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            &local as *const libc::sockaddr_in as *const libc::sockaddr,
            len,
        )
    };
    if r != 0 {
        return Err(format!(
            "bind to {src}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let remote = sa(to);
    let t0 = Instant::now();
    // SAFETY: valid sockaddr for the call.
    let r = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            &remote as *const libc::sockaddr_in as *const libc::sockaddr,
            len,
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(format!("connect {to}: {e}"));
        }
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        loop {
            let left = timeout.saturating_sub(t0.elapsed());
            if left.is_zero() {
                return Err(format!("connect {to}: timed out"));
            }
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) };
            if n > 0 {
                break;
            }
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("poll: {}", std::io::Error::last_os_error()));
            }
        }
        let mut err: libc::c_int = 0;
        let mut l = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid buffer for SO_ERROR.
        unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                &mut err as *mut libc::c_int as *mut libc::c_void,
                &mut l,
            )
        };
        if err != 0 {
            return Err(format!(
                "connect {to}: {}",
                std::io::Error::from_raw_os_error(err)
            ));
        }
    }
    Ok(t0.elapsed())
}

/// Median of a few handshakes (None when none succeeded); the last error otherwise.
pub fn probe(
    device: &str,
    src: Ipv4Addr,
    to: SocketAddrV4,
    count: usize,
    timeout: Duration,
) -> Result<Duration, String> {
    let mut ok = Vec::new();
    let mut last = String::new();
    for _ in 0..count {
        match connect_rtt(device, src, to, timeout) {
            Ok(d) => ok.push(d),
            Err(e) => last = e,
        }
    }
    median(&mut ok).ok_or(last)
}

pub fn median(v: &mut [Duration]) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(dir: Direction) -> Transfer {
        Transfer {
            url: "https://speed.cloudflare.com/__down?bytes=10485760".into(),
            direction: dir,
            bytes: 10 << 20,
            device: "lan2".into(),
            referer: Some("https://speed.cloudflare.com/".into()),
            max_time: Duration::from_secs(16),
        }
    }

    #[test]
    fn argv_binds_the_device_and_never_builds_a_shell_string() {
        let c = curl_cmd(&t(Direction::Download));
        assert_eq!(c.program, "/usr/bin/curl");
        let a = &c.args;
        let at = |k: &str| a.iter().position(|x| x == k).unwrap();
        assert_eq!(a[at("--interface") + 1], "lan2");
        assert_eq!(a[at("--max-time") + 1], "16");
        assert_eq!(a[at("-e") + 1], "https://speed.cloudflare.com/");
        assert_eq!(a[at("-o") + 1], "-");
        assert!(a.contains(&"-4".to_string()));
        // The URL comes last, after `--`: a URL can never be read as an option.
        assert_eq!(a[a.len() - 2], "--");
        assert_eq!(
            a[a.len() - 1],
            "https://speed.cloudflare.com/__down?bytes=10485760"
        );

        let c = curl_cmd(&t(Direction::Upload));
        let a = &c.args;
        let at = |k: &str| a.iter().position(|x| x == k).unwrap();
        assert_eq!(a[at("-T") + 1], "-");
        assert_eq!(a[at("-X") + 1], "POST");
        assert!(a.contains(&"Content-Length: 10485760".to_string()));
        assert!(a.contains(&"Transfer-Encoding:".to_string()));
        assert_eq!(a[at("-o") + 1], "/dev/null");
        assert!(!a.contains(&"-L".to_string()));
    }

    #[test]
    fn stats_line() {
        let s =
            parse_stats(b"curl: (28) Operation timed out\n\nJMSTAT 5242880 0 0.001234 2.5 200\n")
                .unwrap();
        assert_eq!(s.size_download, 5_242_880);
        assert_eq!(s.http_code, 200);
        assert!((s.time_total - 2.5).abs() < 1e-9);
        assert_eq!(parse_stats(b"curl: (6) Could not resolve host\n"), None);
        assert_eq!(parse_stats(b"JMSTAT 1 2 3\n"), None);
        assert_eq!(
            curl_error(b"curl: (7) Failed to connect\nJMSTAT 0 0 0 0 000\n"),
            "curl: (7) Failed to connect"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            host_port("https://speed.cloudflare.com/__up"),
            Some(("speed.cloudflare.com".into(), 443))
        );
        assert_eq!(
            host_port("http://203.0.113.10:8080/10mb.test"),
            Some(("203.0.113.10".into(), 8080))
        );
        assert_eq!(
            host_port("http://Cachefly.cachefly.net?x"),
            Some(("cachefly.cachefly.net".into(), 80))
        );
        assert_eq!(host_port("ftp://x/y"), None);
        assert_eq!(host_port("http:///y"), None);
        assert_eq!(host_port("http://h:99999/"), None);
        assert!((mbps(10_000_000, 8.0) - 10.0).abs() < 1e-9);
        assert_eq!(mbps(5, 0.0), 0.0);
    }
}
