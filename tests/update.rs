//! Signed one-click updates end to end: a release index + usign signature and packages served over
//! HTTPS (a test CA installed in the root) from 127.0.0.1 inside a test network namespace; the
//! real CGI (run in that namespace) starts the update job, which downloads with curl, verifies
//! with the real usign and sha256sum and installs with the real opkg (`--offline-root`, built from
//! tests/vendor). Refusals, each with its reason and the installed version unchanged: tampered
//! package, tampered index, signature by another key, truncated download, wrong architecture,
//! downgrade without confirmation. Then a good update, a second one, and a rollback.
mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PORT: u16 = 8443;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tools() -> PathBuf {
    let t = repo().join("build/pkgtools/bin");
    if !t.join("opkg").exists() || !t.join("usign").exists() {
        run(Command::new(repo().join("tests/bed/build-pkgtools.sh")).current_dir(repo()));
    }
    t
}

struct Bed {
    root: TestRoot,
    ns: Netns,
    work: PathBuf,
    www: PathBuf,
    sid: String,
    arch: String,
    fmt: &'static str,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// Builds the ipk set of `version` (the binary is /bin/true: the update moves packages, what is
/// inside does not matter here), with the test key as the update key.
fn build(work: &Path, version: &str, fmt: &str) -> Vec<PathBuf> {
    let out = work.join(format!("pkgs-{fmt}-{version}"));
    let list = run(Command::new(repo().join("scripts/mkpkg.sh"))
        .current_dir(repo())
        .env("PKG_VERSION", version)
        .env("PKG_UPDATE_KEY", work.join("good.pub"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["--format", fmt, "--binary", "/bin/true", "--out"])
        .arg(&out));
    list.lines()
        .map(|l| PathBuf::from(l.split(' ').next().unwrap()))
        .collect()
}

/// The package name in an ipk (`<name>_<version>_<arch>.ipk`) or apk (`<name>-<version>-r<n>[_<arch>].apk`)
/// file name: jammonitor, luci-app-jammonitor, luci-i18n-jammonitor-<lang> (one per language).
fn package_name(file: &str) -> &str {
    if !file.ends_with(".apk") {
        return file.split_once('_').map_or(file, |x| x.0);
    }
    match file
        .as_bytes()
        .windows(2)
        .position(|w| w[0] == b'-' && w[1].is_ascii_digit())
    {
        Some(i) => &file[..i],
        None => file,
    }
}

fn sha256(p: &Path) -> String {
    run(Command::new("sha256sum").arg(p))
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

impl Bed {
    fn new(fmt: &'static str) -> Bed {
        assert!(
            is_root(),
            "the update test needs root (namespaces, opkg offline root)"
        );
        let t = tools();
        let root = TestRoot::new(false);
        let work = std::env::temp_dir().join(format!("jm-upd-{}-{fmt}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        let www = work.join("www");
        std::fs::create_dir_all(www.join("rel/pkgs")).unwrap();
        let arch = run(Command::new("uname").arg("-m")).trim().to_string();
        // keys: the router trusts `good`; `other` is a valid key it does not know
        for k in ["good", "other"] {
            run(Command::new(t.join("usign"))
                .args(["-G", "-c", k, "-s"])
                .arg(work.join(format!("{k}.sec")))
                .arg("-p")
                .arg(work.join(format!("{k}.pub"))));
        }
        // test CA and a server certificate for 127.0.0.1
        let ca = |args: &[&str]| run(Command::new("openssl").current_dir(&work).args(args));
        ca(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=JamMonitor test CA",
        ]);
        ca(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(work.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        ca(&[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let r = &root.path;
        std::fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
        std::fs::copy(
            work.join("ca.crt"),
            r.join("etc/ssl/certs/ca-certificates.crt"),
        )
        .unwrap();
        // the router's programs the updater runs
        for (link, target) in [
            ("bin/opkg", t.join("opkg")),
            ("usr/bin/apk", t.join("apk")),
            ("usr/bin/usign", t.join("usign")),
            ("usr/bin/curl", PathBuf::from("/usr/bin/curl")),
            ("usr/bin/sha256sum", PathBuf::from("/usr/bin/sha256sum")),
        ] {
            let l = r.join(link);
            std::fs::create_dir_all(l.parent().unwrap()).unwrap();
            let _ = std::fs::remove_file(&l);
            std::os::unix::fs::symlink(target, l).unwrap();
        }
        std::fs::create_dir_all(r.join("var/lock")).unwrap();
        std::fs::write(
            r.join("etc/opkg.conf"),
            format!("dest root /\nlists_dir ext /var/opkg-lists\narch all 1\narch noarch 1\narch {arch} 10\n"),
        )
        .unwrap();
        // v1 installed the way a user does (the package's config replaces mkroot's)
        let _ = std::fs::remove_file(r.join("etc/config/jammonitor"));
        let v1 = build(&work, "0.1.0", fmt);
        // the router's own packages our Depends name (empty stand-ins, tests/package/lib.sh)
        run(Command::new("sh")
            .current_dir(repo())
            .env("tools", &t)
            .arg("-c")
            .arg(". tests/package/lib.sh; stub_pkgs \"$1\"")
            .arg("sh")
            .arg(work.join("stubs")));
        let mut stubs: Vec<PathBuf> = std::fs::read_dir(work.join("stubs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == fmt))
            .collect();
        stubs.sort();
        if fmt == "ipk" {
            run(Command::new(t.join("opkg"))
                .arg("--offline-root")
                .arg(r)
                .arg("install")
                .args(&stubs)
                .args(&v1));
        } else {
            // apk runs maintainer scripts chrooted into the root: give it a shell, the few
            // programs the scripts use and the rc.common double (procd), as the package tests do
            run(Command::new("sh")
                .current_dir(repo())
                .env("tools", &t)
                .env("repo", repo())
                .arg("-c")
                .arg(". tests/package/lib.sh; copy_bin \"$1\" /bin/dash /bin/mkdir /bin/ln /bin/rm; ln -sf dash \"$1/bin/sh\"; install -m 0755 tests/doubles/rc.common \"$1/etc/rc.common\"")
                .arg("sh")
                .arg(r));
            run(Command::new(t.join("apk"))
                .arg("--root")
                .arg(r)
                .args([
                    "add",
                    "--initdb",
                    "--allow-untrusted",
                    "--no-network",
                    "--arch",
                    &arch,
                ])
                .args(&stubs)
                .args(&v1));
        }
        root.uci(&[
            "set",
            &format!("jammonitor.update.url=https://127.0.0.1:{PORT}/rel"),
        ]);
        root.uci(&["commit", "jammonitor"]);
        let ns = Netns::new("upd");
        let server = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3"])
            .arg(repo().join("tests/update/https.py"))
            .arg(&www)
            .arg(PORT.to_string())
            .arg(work.join("srv.crt"))
            .arg(work.join("srv.key"))
            .spawn()
            .unwrap();
        ns.holders.borrow_mut().push(server);
        let t0 = Instant::now();
        loop {
            let ok = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.name,
                    "curl",
                    "-fs",
                    "-o",
                    "/dev/null",
                    "--cacert",
                ])
                .arg(work.join("ca.crt"))
                .arg(format!("https://127.0.0.1:{PORT}/"))
                .status()
                .unwrap()
                .success();
            if ok {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the HTTPS server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let sid = root.session(true, true);
        Bed {
            root,
            ns,
            work,
            www,
            sid,
            arch,
            fmt,
        }
    }

    /// Publishes `files` (name → bytes served) and an index listing `entries` for `arch`, signed by `key`.
    fn publish(
        &self,
        version: &str,
        arch: &str,
        entries: &[(PathBuf, Vec<u8>)],
        key: &str,
        tamper_index: bool,
    ) {
        let pkgs: Vec<Value> = entries
            .iter()
            .map(|(p, served)| {
                let name = p.file_name().unwrap().to_str().unwrap();
                std::fs::write(self.www.join("rel/pkgs").join(name), served).unwrap();
                let pkg = package_name(name);
                json!({
                    "name": pkg,
                    "url": format!("pkgs/{name}"),
                    "sha256": sha256(p),
                    "size": std::fs::metadata(p).unwrap().len(),
                })
            })
            .collect();
        let index = json!({
            "format": 1, "version": format!("{version}-1"), "channel": "stable",
            "packages": {arch: {self.fmt: pkgs}},
        });
        let f = self.www.join("rel/stable.json");
        std::fs::write(&f, serde_json::to_vec_pretty(&index).unwrap()).unwrap();
        run(Command::new(tools().join("usign"))
            .args(["-S", "-m"])
            .arg(&f)
            .arg("-s")
            .arg(self.work.join(format!("{key}.sec"))));
        if tamper_index {
            let t = String::from_utf8(std::fs::read(&f).unwrap()).unwrap();
            std::fs::write(&f, t.replace("\"stable\"", "\"stab1e\"")).unwrap();
        }
    }

    fn pkgs(&self, version: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = self.work.join(format!("pkgs-{}-{version}", self.fmt));
        let files = if dir.exists() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            v.sort();
            v
        } else {
            build(&self.work, version, self.fmt)
        };
        files
            .into_iter()
            .map(|p| {
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect()
    }

    /// The installed jammonitor version as the package database says, in ipk spelling.
    fn installed(&self) -> String {
        let (file, stanza_key, ver_key) = if self.fmt == "ipk" {
            ("usr/lib/opkg/status", "Package: jammonitor", "Version: ")
        } else {
            ("lib/apk/db/installed", "P:jammonitor", "V:")
        };
        let s = std::fs::read_to_string(self.root.path.join(file)).unwrap();
        s.split("\n\n")
            .find(|st| st.lines().any(|l| l == stanza_key))
            .and_then(|st| st.lines().find_map(|l| l.strip_prefix(ver_key)))
            .unwrap()
            .replace("-r", "-")
    }

    /// POSTs `action`, then polls the job to its end; returns the final job file.
    fn job(&self, action: &str, body: &str) -> Value {
        // The previous job's file says it ended a moment before its supervisor exits and
        // releases the kind lock: a start in that window is a 409, retried here.
        let t0 = Instant::now();
        let r = loop {
            let r = Req::post(action, &self.sid, body)
                .in_netns(&self.ns.name)
                .run(&self.root);
            let busy =
                r.status == 409 && String::from_utf8_lossy(&r.body).contains("already running");
            if !busy || t0.elapsed() > Duration::from_secs(5) {
                break r;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(
            r.status,
            202,
            "{action}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let id = r.data()["job"]["id"].as_str().unwrap().to_string();
        let t0 = Instant::now();
        loop {
            let mut q = Req::get("job", &self.sid);
            q.query = format!("id={id}");
            let j = q.run(&self.root).data();
            if j["state"] != "running" {
                return j;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(90),
                "job {id} still running: {j}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn refused(&self, body: &str, why: &str) {
        let before = self.installed();
        let j = self.job("update.install", body);
        assert_eq!(j["state"], "failed", "expected a refusal ({why}): {j}");
        let e = j["error"].as_str().unwrap();
        assert!(e.contains(why), "refusal should say {why:?}: {e}");
        eprintln!("refused as expected: {e}");
        assert_eq!(
            self.installed(),
            before,
            "a refused update changed the installed version"
        );
    }
}

#[test]
fn signed_updates_refuse_every_bad_input_and_install_a_good_one() {
    let bed = Bed::new("ipk");
    assert_eq!(bed.installed(), "0.1.0-1");
    let arch = bed.arch.clone();
    let v2 = bed.pkgs("0.2.0");

    // tampered package: same size, one byte changed, index from the real file
    let mut bad = v2.clone();
    let last = bad[0].1.len() - 10;
    bad[0].1[last] ^= 0xff;
    bed.publish("0.2.0", &arch, &bad, "good", false);
    bed.refused("{}", "bad checksum");

    // tampered index (changed after signing)
    bed.publish("0.2.0", &arch, &v2, "good", true);
    bed.refused("{}", "bad signature");

    // signed by a key the router does not trust
    bed.publish("0.2.0", &arch, &v2, "other", false);
    bed.refused("{}", "unknown key");

    // truncated download
    let mut short = v2.clone();
    let n = short[0].1.len() / 2;
    short[0].1.truncate(n);
    bed.publish("0.2.0", &arch, &short, "good", false);
    bed.refused("{}", "truncated download");

    // no package for this architecture
    bed.publish("0.2.0", "aarch64_cortex-a53", &v2, "good", false);
    bed.refused("{}", "wrong architecture");

    // older than installed, not confirmed
    let v0 = bed.pkgs("0.0.9");
    bed.publish("0.0.9", &arch, &v0, "good", false);
    bed.refused("{}", "downgrade");
    bed.refused(r#"{"allow_downgrade": false}"#, "downgrade");

    // nothing was kept, no check recorded as available
    let u = Req::get("update", &bed.sid).run(&bed.root).data();
    assert_eq!(u["installed"]["version"], "0.1.0-1", "{u}");
    assert_eq!(u["installed"]["format"], "ipk");
    assert_eq!(u["installed"]["arch"], arch.as_str());
    assert!(u["kept"]["current"].is_null(), "{u}");

    // "check now" sees the good release, then the good update installs
    bed.publish("0.2.0", &arch, &v2, "good", false);
    let j = bed.job("update.check", "{}");
    assert_eq!(j["state"], "done", "{j}");
    let u = Req::get("update", &bed.sid).run(&bed.root).data();
    assert_eq!(u["last_check"]["latest"], "0.2.0-1", "{u}");
    assert_eq!(u["available"], true, "{u}");
    let j = bed.job("update.install", "{}");
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["result"]["version"], "0.2.0-1");
    assert_eq!(j["result"]["reload"], true);
    assert_eq!(bed.installed(), "0.2.0-1");
    let u = Req::get("update", &bed.sid).run(&bed.root).data();
    assert_eq!(u["installed"]["version"], "0.2.0-1", "{u}");
    assert_eq!(u["available"], false, "{u}");
    assert_eq!(u["kept"]["current"], "0.2.0-1", "{u}");
    assert!(u["kept"]["previous"].is_null(), "{u}");

    // a second update keeps 0.2.0 for rollback; rollback reinstalls it
    let v3 = bed.pkgs("0.3.0");
    bed.publish("0.3.0", &arch, &v3, "good", false);
    assert_eq!(bed.job("update.install", "{}")["state"], "done");
    assert_eq!(bed.installed(), "0.3.0-1");
    let u = Req::get("update", &bed.sid).run(&bed.root).data();
    assert_eq!(u["kept"]["previous"], "0.2.0-1", "{u}");
    let j = bed.job("update.rollback", "{}");
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(bed.installed(), "0.2.0-1");

    // a confirmed downgrade installs
    bed.publish("0.0.9", &arch, &v0, "good", false);
    let j = bed.job("update.install", r#"{"allow_downgrade": true}"#);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(bed.installed(), "0.0.9-1");
}

#[test]
fn apk_routers_update_with_apk_after_the_same_checks() {
    let bed = Bed::new("apk");
    assert_eq!(bed.installed(), "0.1.0-1");
    let arch = bed.arch.clone();
    let v2 = bed.pkgs("0.2.0");
    let mut bad = v2.clone();
    let last = bad[0].1.len() - 10;
    bad[0].1[last] ^= 0xff;
    bed.publish("0.2.0", &arch, &bad, "good", false);
    bed.refused("{}", "bad checksum");
    bed.publish("0.2.0", &arch, &v2, "other", false);
    bed.refused("{}", "unknown key");
    bed.publish("0.2.0", &arch, &v2, "good", false);
    let j = bed.job("update.install", "{}");
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["result"]["format"], "apk");
    assert_eq!(bed.installed(), "0.2.0-1");
    let u = Req::get("update", &bed.sid).run(&bed.root).data();
    assert_eq!(u["installed"]["version"], "0.2.0-r1", "{u}");
    assert_eq!(u["installed"]["format"], "apk");
    // the package's post-upgrade ran (chrooted by apk) and restarted the collector
    let log =
        std::fs::read_to_string(bed.root.path.join("var/log/rc.common.log")).unwrap_or_default();
    assert!(log.contains("jammonitor-collector restart"), "{log}");
}

#[test]
fn update_requests_are_validated_before_anything_runs() {
    let root = TestRoot::new(false);
    let sid = root.session(true, true);
    let r = Req::post("update.install", &sid, r#"{"allow_downgrade": "yes"}"#).run(&root);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let r = Req::post("update.install", &sid, r#"{"force": true}"#).run(&root);
    assert_eq!(r.status, 400);
    // not installed by a package manager: refused, no job
    let r = Req::post("update.install", &sid, "{}").run(&root);
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let r = Req::post("update.rollback", &sid, "{}").run(&root);
    assert_eq!(r.status, 409);
    // read-only sessions cannot start anything
    let ro = root.session(true, false);
    assert_eq!(Req::post("update.check", &ro, "{}").run(&root).status, 403);
    let u = Req::get("update", &ro).run(&root).data();
    assert!(u["installed"].is_null(), "{u}");
    assert_eq!(u["settings"]["channel"], "stable");
}
