//! Shared test bed for integration tests: a root made by the real `tests/bed/mkroot.sh` (configs
//! written with the real OpenWrt `uci`), its own bus — the real ubusd + rpcd built from
//! tests/vendor/openwrt, plus the ubus fixture server standing in for netifd (tests/bed/webstack.sh)
//! — with real rpcd logins, the real CGI binary run the way uhttpd runs it, and network namespaces
//! that clean up after themselves.
#![allow(dead_code)]

pub mod metrics;
pub mod uhttpd;
pub mod wan_topo;
pub mod wg_kernel;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// The bed's demo logins (tests/bed/rpcd/rpcd.config): read+write and read-only.
pub const DEMO_RW: (&str, &str) = ("root", "jm-admin");
pub const DEMO_RO: (&str, &str) = ("viewer", "jm-viewer");

/// A root tree that is removed on drop.
pub struct TestRoot {
    pub path: PathBuf,
}

impl TestRoot {
    /// `live`: proc/sys link to the real ones (seen through a namespace when run in one).
    pub fn new(live: bool) -> TestRoot {
        let uci = repo().join("build/uci/bin/uci");
        if !uci.exists() {
            sh(Command::new(repo().join("tests/bed/build-uci.sh")).current_dir(repo()));
        }
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("jm-root-{}-{n}", std::process::id()));
        let mut cmd = Command::new(repo().join("tests/bed/mkroot.sh"));
        if live {
            cmd.arg("--live");
        }
        sh(cmd.arg(&path).current_dir(repo()));
        let root = TestRoot { path };
        root.webstack(&["start"]);
        root
    }

    /// tests/bed/webstack.sh CMD <root> ARGS…
    pub fn webstack(&self, args: &[&str]) -> String {
        sh(Command::new(repo().join("tests/bed/webstack.sh"))
            .arg(args[0])
            .arg(&self.path)
            .args(&args[1..]))
    }

    /// Stops ubusd, rpcd and the fixture server of this root (the "bus is down" case).
    pub fn stop_bus(&self) {
        self.webstack(&["stop"]);
    }

    /// Restarts the fixture server, e.g. after adding an object under `.bed/ubus/`.
    pub fn restart_fixtures(&self) {
        self.webstack(&["restart-fixtures"]);
    }

    /// Calls the fixture server answered so far, one line `<object> <method> <args json>`.
    pub fn fixture_calls(&self) -> String {
        self.read(".bed/ubus-calls.log")
    }

    /// Adds the objects of the set `tests/fixtures/ubus/<set>` to this root's fixtures (beside
    /// the default netifd set) and restarts the fixture server.
    pub fn ubus_fixtures(&self, set: &str) {
        let dst = self.file(".bed/ubus");
        copy_tree(&repo().join("tests/fixtures/ubus").join(set), &dst);
        self.restart_fixtures();
    }

    /// Takes netifd's objects off the bus (for a test that replaces the network config the
    /// default netifd fixtures describe): readers fall back to the configuration.
    pub fn without_netifd(&self) {
        for e in std::fs::read_dir(self.file(".bed/ubus")).unwrap() {
            let e = e.unwrap();
            if e.file_name()
                .to_string_lossy()
                .starts_with("network.interface")
            {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
        self.restart_fixtures();
    }

    /// A ubus call on this root's bus (the product's own client; rpcd/fixtures answer).
    pub fn ubus(&self, object: &str, method: &str, args: Value) -> Result<Value, String> {
        let root = jammonitor::system::Root::new(&self.path);
        let args = args.as_object().cloned().unwrap_or_default();
        jammonitor::system::ubus::call(
            &root,
            object,
            method,
            &args,
            std::time::Duration::from_secs(5),
            1 << 20,
        )
        .map(Value::Object)
        .map_err(|e| e.to_string())
    }

    /// Logs in through rpcd's `session login` (as uhttpd's /ubus does); the new sid.
    pub fn login(&self, user: &str, password: &str) -> Result<String, String> {
        let r = self.ubus(
            "session",
            "login",
            serde_json::json!({"username": user, "password": password}),
        )?;
        r["ubus_rpc_session"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no session in {r}"))
    }

    /// `session destroy` (logout).
    pub fn logout(&self, sid: &str) {
        self.ubus(
            "session",
            "destroy",
            serde_json::json!({"ubus_rpc_session": sid}),
        )
        .unwrap();
    }

    /// A real rpcd session of one of the bed's logins (tests/bed/rpcd/rpcd.config): read+write
    /// `root`, read-only `viewer`, or `guest` (logged in, but without the JamMonitor group).
    pub fn session(&self, read: bool, write: bool) -> String {
        let (user, pass) = match (read, write) {
            (true, true) => (DEMO_RW.0, DEMO_RW.1),
            (true, false) => (DEMO_RO.0, DEMO_RO.1),
            (false, false) => ("guest", "jm-guest"),
            (false, true) => panic!("rpcd grants read with write: no write-only login"),
        };
        self.login(user, pass).unwrap()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path.join(rel.trim_start_matches('/'))
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap_or_default()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.file(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn uci(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(repo().join("build/uci/bin/uci"));
        cmd.arg("-c")
            .arg(self.file("etc/config"))
            .arg("-t")
            .arg(self.file("tmp/.uci"))
            .args(args);
        sh(&mut cmd).trim_end().to_string()
    }

    /// Byte snapshot of every config file, to prove a refused request changed nothing.
    pub fn configs(&self) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(self.file("etc/config"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/bed/webstack.sh"))
            .arg("stop")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One CGI request, described the way uhttpd passes it.
#[derive(Clone, Default)]
pub struct Req {
    pub method: String,
    pub path_info: Option<String>,
    pub query: String,
    pub body: Vec<u8>,
    pub content_length: Option<String>,
    pub headers: Vec<(String, String)>,
    pub netns: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub fn data(&self) -> Value {
        let j = self.json();
        assert_eq!(j["ok"], true, "not ok: {j}");
        j["data"].clone()
    }
}

impl Req {
    pub fn get(action: &str, sid: &str) -> Req {
        Req {
            method: "GET".into(),
            path_info: Some(format!("/api/{action}")),
            headers: vec![("HTTP_AUTHORIZATION".into(), format!("Bearer {sid}"))],
            ..Default::default()
        }
    }
    pub fn post(action: &str, sid: &str, body: &str) -> Req {
        let mut r = Req::get(action, sid);
        r.method = "POST".into();
        r.body = body.as_bytes().to_vec();
        r.content_length = Some(body.len().to_string());
        r.headers
            .push(("CONTENT_TYPE".into(), "application/json".into()));
        r
    }
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.retain(|(n, _)| n != k);
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn in_netns(mut self, ns: &str) -> Req {
        self.netns = Some(ns.into());
        self
    }

    /// Runs the real CGI binary with a cleared environment, as uhttpd does.
    pub fn run(&self, root: &TestRoot) -> Resp {
        let bin = env!("CARGO_BIN_EXE_jammonitor");
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin]);
                c
            }
            None => Command::new(bin),
        };
        cmd.env_clear()
            .env("PATH", "/sbin:/usr/sbin:/bin:/usr/bin")
            .env("JAMMONITOR_ROOT", &root.path)
            .env("REQUEST_METHOD", &self.method)
            .env("QUERY_STRING", &self.query)
            .env("SCRIPT_NAME", "/cgi-bin/jammonitor")
            .env("HTTP_HOST", "192.168.100.1");
        if let Some(p) = &self.path_info {
            cmd.env("PATH_INFO", p);
        }
        if let Some(l) = &self.content_length {
            cmd.env("CONTENT_LENGTH", l);
        }
        for (k, v) in &self.headers {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let body = self.body.clone();
        let mut stdin = child.stdin.take().unwrap();
        // The CGI may answer (413) before reading: a closed pipe here is fine.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let out = child.wait_with_output().unwrap();
        let _ = writer.join();
        parse_cgi(&out.stdout)
    }
}

/// Splits the CGI output into the header block (must come first) and the body.
pub fn parse_cgi(raw: &[u8]) -> Resp {
    let sep = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no header block in CGI output: {}",
                String::from_utf8_lossy(raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..sep]).into_owned();
    let mut status = 0;
    let mut headers = Vec::new();
    for line in head.split("\r\n") {
        let (k, v) = line.split_once(": ").expect("header line");
        if k == "Status" {
            status = v.split(' ').next().unwrap().parse().unwrap();
        }
        headers.push((k.to_string(), v.to_string()));
    }
    assert!(status > 0, "no Status header");
    Resp {
        status,
        headers,
        body: raw[sep + 4..].to_vec(),
    }
}

/// A network namespace made by a test, deleted (with its devices) on drop.
pub struct Netns {
    pub name: String,
    /// Processes that live as long as the namespace (e.g. the tun0 holder).
    pub holders: std::cell::RefCell<Vec<std::process::Child>>,
}

impl Netns {
    /// Named `jmt<pid>-<tag>-<n>`: outside the rig's `jm-*` prefix, so the rig's teardown
    /// (`rig.sh down`, `make stop`, which take the rig lock these tests do not) never touches it.
    pub fn new(tag: &str) -> Netns {
        let name = format!(
            "jmt{}-{}-{}",
            std::process::id(),
            tag,
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        sh(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns {
            name,
            holders: Default::default(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }
    pub fn ip(&self, args: &[&str]) -> String {
        sh(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }
    pub fn exec(&self, args: &[&str]) -> String {
        sh(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }
    /// One kernel counter of `dev` (`dir` is "rx" or "tx", `field` "bytes" or "packets").
    pub fn link_stat(&self, dev: &str, dir: &str, field: &str) -> u64 {
        let v: serde_json::Value =
            serde_json::from_str(&self.ip(&["-j", "-s", "link", "show", dev])).unwrap();
        v[0]["stats64"][dir][field].as_u64().unwrap()
    }
}

/// A live counter keeps moving (IPv6 DAD and router solicitations on a fresh link, the test's
/// own traffic): the answer must lie between the kernel's reading before and after the request.
pub fn assert_counter_between(got: &serde_json::Value, before: u64, after: u64, what: &str) {
    let got = got
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!(
        (before..=after).contains(&got),
        "{what}: {got} not within the kernel's {before}..={after}"
    );
}

impl Drop for Netns {
    fn drop(&mut self) {
        for mut c in self.holders.borrow_mut().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Polls `f` until it holds; panics naming `what` after `secs`.
pub fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(secs),
            "timed out: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn is_root() -> bool {
    nix_is_root()
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

pub fn assert_exists(p: &Path) {
    assert!(p.exists(), "{} missing", p.display());
}

impl Netns {
    /// A tun device held open by a small process, so it has carrier like OpenVPN's tun0.
    pub fn held_tun(&self, dev: &str) {
        let script = format!(
            "import fcntl,os,struct,sys\nfd=os.open('/dev/net/tun',os.O_RDWR)\n\
             fcntl.ioctl(fd,0x400454ca,struct.pack('16sH',b'{dev}',0x1001))\nprint('ok',flush=True)\nsys.stdin.read()\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ok", "tun holder failed");
        self.holders.borrow_mut().push(child);
    }

    /// A veth whose peer stays in the same namespace (no dummy module on this kernel).
    pub fn veth(&self, dev: &str) {
        let peer = format!("p-{dev}");
        self.ip(&["link", "add", dev, "type", "veth", "peer", "name", &peer]);
        self.ip(&["link", "set", &peer, "up"]);
    }
}

/// A namespace shaped like the BPI-R4 OMR router of the fixture config: WAN devices lan1..lan3
/// (veth links), the LAN bridge `wan`, a held-open `tun0` for omrvpn, OMR-style routes and kernel
/// MPTCP endpoints. Enough for the readers; the full simulated router lives in tests/rig.
pub fn mini_router(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    for (dev, addr) in [
        ("lan1", "10.1.1.2/24"),
        ("lan2", "10.2.2.2/24"),
        ("lan3", "10.3.3.2/24"),
    ] {
        ns.veth(dev);
        ns.ip(&["addr", "add", addr, "dev", dev]);
        ns.ip(&["link", "set", dev, "up"]);
    }
    ns.ip(&["link", "add", "wan", "type", "bridge"]);
    ns.ip(&["addr", "add", "192.168.100.1/24", "dev", "wan"]);
    ns.ip(&["link", "set", "wan", "up"]);
    ns.ip(&["tuntap", "add", "tun0", "mode", "tun"]);
    ns.held_tun("tun0");
    ns.ip(&[
        "addr",
        "add",
        "10.255.255.2",
        "peer",
        "10.255.255.1",
        "dev",
        "tun0",
    ]);
    ns.ip(&["link", "set", "tun0", "up"]);
    ns.ip(&[
        "route", "add", "default", "via", "10.1.1.1", "dev", "lan1", "metric", "3",
    ]);
    ns.ip(&[
        "route", "add", "default", "via", "10.2.2.1", "dev", "lan2", "metric", "4",
    ]);
    for (table, gw, dev) in [
        ("3", "10.1.1.1", "lan1"),
        ("4", "10.2.2.1", "lan2"),
        ("5", "10.3.3.1", "lan3"),
    ] {
        ns.ip(&[
            "route", "add", "default", "via", gw, "dev", dev, "table", table,
        ]);
    }
    ns.exec(&["sysctl", "-qw", "net.mptcp.enabled=1"]);
    ns.ip(&[
        "mptcp",
        "limits",
        "set",
        "add_addr_accepted",
        "8",
        "subflows",
        "8",
    ]);
    ns.ip(&[
        "mptcp", "endpoint", "add", "10.1.1.2", "dev", "lan1", "subflow", "fullmesh",
    ]);
    ns.ip(&[
        "mptcp", "endpoint", "add", "10.2.2.2", "dev", "lan2", "subflow", "fullmesh",
    ]);
    ns.ip(&[
        "mptcp", "endpoint", "add", "10.3.3.2", "dev", "lan3", "subflow", "backup", "fullmesh",
    ]);
    ns
}

impl Req {
    /// Runs a write and, when it answers 202 with a background job (journaled writes apply as
    /// jobs), follows the job to its end the way the page does. The answer is then what a
    /// synchronous write would have said: 200 with the job's result, or the job's error with its
    /// status, code and field.
    pub fn run_write(&self, root: &TestRoot) -> Resp {
        let r = self.run(root);
        if r.status != 202 {
            return r;
        }
        let id = r.data()["job"]["id"].as_str().unwrap().to_string();
        let sid = self
            .headers
            .iter()
            .find(|(k, _)| k == "HTTP_AUTHORIZATION")
            .map(|(_, v)| v.trim_start_matches("Bearer ").to_string())
            .unwrap();
        let job = wait_job_done(root, &sid, &id, self.netns.as_deref());
        let body = if job["state"] == "done" {
            serde_json::json!({"ok": true, "data": job["result"]})
        } else {
            serde_json::json!({"ok": false, "error": {
                "code": job["error_code"].as_str().unwrap_or("apply_failed"),
                "message": job["error"], "field": job["error_field"]}})
        };
        Resp {
            status: if job["state"] == "done" {
                200
            } else {
                job["error_status"].as_u64().unwrap_or(500) as u16
            },
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }
}

/// Polls `job?id=` until the job is no longer running (at most 200 s).
pub fn wait_job_done(root: &TestRoot, sid: &str, id: &str, netns: Option<&str>) -> Value {
    let t0 = std::time::Instant::now();
    loop {
        let mut r = Req::get("job", sid);
        r.query = format!("id={id}");
        if let Some(ns) = netns {
            r = r.in_netns(ns);
        }
        let j = r.run(root).data();
        if j["state"] != "running" {
            return j;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(200),
            "job still running: {j:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A test root with a read+write session and a mini router namespace to run the CGI in: the bed
/// of the write tests (wan_policy, wan_real_world, bypass). Tests add their own methods to it.
pub struct Bed {
    pub root: TestRoot,
    pub ns: Netns,
    pub rw: String,
}

impl Bed {
    pub fn new(tag: &str) -> Bed {
        let root = TestRoot::new(true);
        let ns = mini_router(tag);
        let rw = root.session(true, true);
        Bed { root, ns, rw }
    }
    /// A write, followed to the end of its apply job.
    pub fn post(&self, action: &str, body: &Value) -> Resp {
        Req::post(action, &self.rw, &body.to_string())
            .in_netns(&self.ns.name)
            .run_write(&self.root)
    }
    pub fn get_raw(&self, action: &str) -> Resp {
        Req::get(action, &self.rw)
            .in_netns(&self.ns.name)
            .run(&self.root)
    }
    pub fn get(&self, action: &str) -> Value {
        self.get_raw(action).data()
    }
}
