//! The router's web server for tests and benchmarks: uhttpd (built from tests/vendor/openwrt)
//! with OpenWrt's flags, in a private mount namespace where the test root's etc/ and var/run/
//! are bound over /etc and /run (plus any `binds` a test adds; not /tmp, which holds the test
//! roots themselves): the CGI then runs exactly as on the router — exec'd by uhttpd
//! with its wiped environment, root `/`, asking the root's real rpcd over
//! /var/run/ubus/ubus.sock — with no wrapper in front of it. Nothing of the host changes (the
//! binds exist only in that namespace). It listens on 127.0.0.1 of the network namespace it is
//! started in (`netns`, or this process's). Also serves `/cgi-bin/nothing`, a do-nothing CGI
//! (the baseline of the benchmarks).
use super::{TestRoot, repo};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Uhttpd {
    child: std::process::Child,
    pub port: u16,
}

/// A TCP port free on 127.0.0.1 right now (of this process's network namespace).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Uhttpd {
    pub fn start(root: &TestRoot, port: u16) -> Uhttpd {
        Self::start_in(root, port, None)
    }

    pub fn start_in(root: &TestRoot, port: u16, netns: Option<&str>) -> Uhttpd {
        Self::start_with(root, port, netns, &[])
    }

    /// `binds`: (directory, mount point) pairs bound in uhttpd's mount namespace after the
    /// root's, e.g. a fixture over /sys/class/thermal where this machine has no sensor.
    pub fn start_with(
        root: &TestRoot,
        port: u16,
        netns: Option<&str>,
        binds: &[(std::path::PathBuf, &str)],
    ) -> Uhttpd {
        let www = root.file("www");
        let cgi = www.join("cgi-bin");
        std::fs::create_dir_all(&cgi).unwrap();
        // uhttpd refuses symlinks leaving its docroot: copies
        std::fs::copy(env!("CARGO_BIN_EXE_jammonitor"), cgi.join("jammonitor")).unwrap();
        // the do-nothing CGI: a C program that prints a fixed JSON answer (dynamically linked
        // against glibc, like the jammonitor binary)
        let src = root.file("nothing.c");
        std::fs::write(
            &src,
            "#include <stdio.h>\nint main(void){fputs(\"Status: 200 OK\\r\\nContent-Type: \
             application/json\\r\\n\\r\\n{\\\"ok\\\":true,\\\"data\\\":{}}\\n\",stdout);return 0;}\n",
        )
        .unwrap();
        let ok = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(cgi.join("nothing"))
            .arg(&src)
            .status()
            .unwrap();
        assert!(ok.success(), "cc nothing.c");
        let conf = root.file("httpd.conf");
        std::fs::write(&conf, "").unwrap();
        let uhttpd = repo().join("build/webstack/bin/uhttpd");
        let mut all = vec![(root.file("etc"), "/etc"), (root.file("var/run"), "/run")];
        all.extend(binds.iter().cloned());
        let mounts: String = all
            .iter()
            .map(|(dir, at)| format!("mount --bind '{}' '{at}' && ", dir.display()))
            .collect();
        let script = format!(
            "{mounts}exec '{uhttpd}' -f -p 127.0.0.1:{port} \
             -h '{www}' -r OpenWrt -x /cgi-bin -u /ubus -U /var/run/ubus/ubus.sock -t 60 -T 30 -k 20 \
             -A 1 -n 3 -N 100 -R -c '{conf}'",
            uhttpd = uhttpd.display(),
            www = www.display(),
            conf = conf.display(),
        );
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "unshare"]);
                c
            }
            None => Command::new("unshare"),
        };
        let child = cmd
            .args([
                "--mount",
                "--propagation",
                "private",
                "/bin/sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let u = Uhttpd { child, port };
        let t = Instant::now();
        while !u.listening(netns) {
            assert!(t.elapsed() < Duration::from_secs(5), "uhttpd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        u
    }

    fn listening(&self, netns: Option<&str>) -> bool {
        match netns {
            None => std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            Some(ns) => in_netns(ns, {
                let port = self.port;
                move || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
        }
    }
}

impl Drop for Uhttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `f` on a thread that has entered the network namespace `ns` (the rest of the process
/// stays where it is).
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// One HTTP/1.0 GET on a fresh connection (as curl does per request), read to the end; the
/// status code. `sid` goes in `Authorization: Bearer`.
pub fn http_get(port: u16, path: &str, sid: &str) -> u16 {
    get(port, path, Some(&format!("Bearer {sid}"))).status
}

pub struct HttpResp {
    pub status: u16,
    /// The response head, lines as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.0 GET with the given `Authorization` value (none: no header).
pub fn get(port: u16, path: &str, authorization: Option<&str>) -> HttpResp {
    request(port, "GET", path, authorization, None)
}

/// One HTTP/1.0 request on a fresh connection, read to the end; a body goes as JSON.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> HttpResp {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    if let Some(a) = authorization {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body.unwrap_or(""));
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::with_capacity(16 << 10);
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    HttpResp { status, head, body }
}
