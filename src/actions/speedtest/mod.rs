//! Per-WAN speed test (DESIGN §6, issue 16). The action decides; `system::speedtest` does.
//!
//! - `GET speedtest`: the servers (sizes and directions each offers), the WANs, whether a test
//!   may start now (and why not), the newest test job, and the stored results (newest first).
//! - `POST speedtest.start {"wan", "direction", "size_mb", "server"}`: validates every field
//!   against the configured servers (a size or direction the server lacks is a 400 naming the
//!   field; nothing starts), refuses while VPS bypass is on, while a WAN write is open or running,
//!   or while another test runs (409 with a code saying which), then starts the `speedtest` job
//!   (one at a time: its kind lock) and answers 202. The job probes the latency of the candidate
//!   servers through the WAN (`server: "auto"`: the nearest wins), runs the transfer bound to the
//!   WAN's device and address, reports live progress (bytes, current and average Mbit/s,
//!   elapsed, latency under load) in the job file, and stores the result
//!   (`store::speedtest`).
//! - `POST speedtest.cancel {"id"}`: stops it (the transfer's process group dies at once).

pub mod servers;

use super::{Ctx, now_epoch};
use crate::error::{ApiError, ApiResult};
use crate::http::{Fields, Response};
use crate::jobs::{self, JobFile, Progress};
use crate::store::speedtest as db;
use crate::system::Root;
use crate::system::runner::Flow;
use crate::system::speedtest::{self as st, Direction};
use crate::wans;
use serde_json::{Value, json};
use servers::Server;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const KIND: &str = "speedtest";
/// Probe: handshakes per server before the test, and their timeout.
const PROBES: usize = 3;
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Results shown by `GET speedtest`.
const HISTORY: u32 = 200;

fn db_path(root: &Root) -> std::path::PathBuf {
    root.path(db::PATH)
}

/// curl's time limit for a size: 15 s for the smallest, about 0.6 s per MiB beyond (10 MiB →
/// 16 s, 100 MiB → 70 s), at most 120 s. Past it the bytes so far are the measurement.
pub fn max_time(size_mb: u32) -> Duration {
    Duration::from_secs((10 + u64::from(size_mb) * 6 / 10).clamp(15, 120))
}

/// Whole job: probes (≤ 10 s), the transfer, storing.
fn job_deadline(size_mb: u32) -> Duration {
    max_time(size_mb) + Duration::from_secs(20)
}

/// Is a test job running? (its kind lock is held)
fn test_running(root: &Root) -> bool {
    jobs::kind_running(root, KIND)
}

/// Refuses a write that would cut a running speed test's path (a WAN change, the VPS bypass):
/// its transfer is bound to a WAN device that the write may reload.
pub fn refuse_if_running(root: &Root) -> ApiResult<()> {
    if test_running(root) {
        return Err(ApiError::new(
            409,
            "speedtest_running",
            "a speed test is running: wait for it to finish or cancel it, then try again",
        ));
    }
    Ok(())
}

/// A WAN write in progress: its journal open, its lock held, or its job running.
fn wan_write_running(root: &Root) -> bool {
    if crate::journal::open(root, "wan").map_or(true, |j| j.is_some()) {
        return true;
    }
    if crate::system::lock::held(root, "wan") {
        return true;
    }
    newest_job(root, "wan-").is_some_and(|j| j.state == "running")
}

/// Why a test may not start now (the 409 it would get), if so.
fn blocked(root: &Root) -> Option<ApiError> {
    if crate::bypass::active(root) {
        return Some(ApiError::new(
            409,
            "speedtest_bypass",
            "VPS bypass is active: speed tests are refused until it is turned off",
        ));
    }
    if wan_write_running(root) {
        return Some(ApiError::new(
            409,
            "wan_write_running",
            "a WAN change is being applied: start the speed test when it has finished",
        ));
    }
    if test_running(root) {
        return Some(ApiError::new(
            409,
            "speedtest_running",
            "a speed test is already running (one at a time): wait for it or cancel it",
        ));
    }
    None
}

/// The newest job whose id starts with `prefix`.
fn newest_job(root: &Root, prefix: &str) -> Option<JobFile> {
    let rd = std::fs::read_dir(root.path(jobs::JOBS_DIR)).ok()?;
    rd.flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let id = n.strip_suffix(".json")?.to_string();
            (id.starts_with(prefix) && jobs::valid_id(&id)).then_some(id)
        })
        .filter_map(|id| jobs::read(root, &id).ok())
        .max_by(|a, b| a.started_at.total_cmp(&b.started_at))
}

/// A WAN as the test sees it.
struct WanPath {
    name: String,
    label: Option<String>,
    device: Option<String>,
    address: Option<Ipv4Addr>,
}

fn wan_paths(root: &Root) -> ApiResult<Vec<WanPath>> {
    let model = wans::Model::load(root);
    let list = model.selected().map_err(ApiError::from)?;
    let netifd = crate::system::netifd::dump(root, Duration::from_secs(1));
    Ok(list
        .iter()
        .map(|w| {
            let device = wans::live_device(w, netifd.as_ref());
            let address = device.as_deref().and_then(st::device_ipv4);
            WanPath {
                name: w.name.clone(),
                label: w.label.clone(),
                device,
                address,
            }
        })
        .collect())
}

fn load_servers(root: &Root) -> (Vec<Server>, Vec<String>) {
    match crate::system::uci::read(root, "jammonitor") {
        Ok(c) => servers::load(&c),
        Err(e) => (
            servers::defaults(),
            vec![format!("{}; the default servers apply", e.message)],
        ),
    }
}

pub fn status(ctx: &Ctx) -> ApiResult<Response> {
    let q = &ctx.req.query;
    q.only(&["wan"])?;
    let root = ctx.root;
    let wan = q.get("wan");
    if let Some(w) = wan {
        if !wans::valid_iface_name(w) {
            return Err(ApiError::field("wan", "is not an interface name"));
        }
    }
    let (servers, problems) = load_servers(root);
    let wans: Vec<Value> = wan_paths(root)?
        .into_iter()
        .map(|w| {
            json!({
                "name": w.name,
                "label": w.label,
                "device": w.device,
                "address": w.address.map(|a| a.to_string()),
            })
        })
        .collect();
    let history = db::history(&db_path(root), wan, HISTORY)?;
    let blocked = blocked(root).map(|e| json!({"code": e.code, "message": e.message}));
    Ok(Response::ok(json!({
        "servers": servers,
        "problems": problems,
        "wans": wans,
        "blocked": blocked,
        "job": newest_job(root, "speedtest-"),
        "history": history,
    })))
}

/// Everything a test needs, validated.
#[derive(Debug, Clone)]
struct Plan {
    wan: String,
    device: String,
    address: Ipv4Addr,
    direction: Direction,
    size_mb: u32,
    /// The candidates (one unless `auto`).
    servers: Vec<Server>,
    auto: bool,
}

fn plan(root: &Root, f: &Fields) -> ApiResult<Plan> {
    f.only(&["wan", "direction", "size_mb", "server"])?;
    let wan = f.str("wan")?;
    let paths = wan_paths(root)?;
    let path = paths
        .into_iter()
        .find(|w| w.name == wan)
        .ok_or_else(|| ApiError::field("wan", format!("{wan:?} is not a WAN of this router")))?;
    let direction = Direction::parse(f.str("direction")?)
        .ok_or_else(|| ApiError::field("direction", "must be download or upload"))?;
    let size_mb = f.int("size_mb", 1..=i64::from(servers::MAX_SIZE_MB))? as u32;
    let server = f.str("server")?;
    let (all, _) = load_servers(root);
    let auto = server == "auto";
    let chosen: Vec<Server> = if auto {
        let by_dir: Vec<Server> = all
            .iter()
            .filter(|s| s.offers(direction))
            .cloned()
            .collect();
        if by_dir.is_empty() {
            return Err(ApiError::field(
                "direction",
                format!("no configured server offers {}", direction.as_str()),
            ));
        }
        let fit: Vec<Server> = by_dir
            .into_iter()
            .filter(|s| s.sizes.contains(&size_mb))
            .collect();
        if fit.is_empty() {
            return Err(ApiError::field(
                "size_mb",
                format!(
                    "no configured server offers {size_mb} MB for {}",
                    direction.as_str()
                ),
            ));
        }
        fit
    } else {
        let s = all.iter().find(|s| s.id == server).ok_or_else(|| {
            ApiError::field("server", format!("{server:?} is not a configured server"))
        })?;
        if !s.offers(direction) {
            return Err(ApiError::field(
                "direction",
                format!("{} offers no {} test", s.label, direction.as_str()),
            ));
        }
        if !s.sizes.contains(&size_mb) {
            return Err(ApiError::field(
                "size_mb",
                format!(
                    "{} has no {size_mb} MB test (it offers {})",
                    s.label,
                    s.sizes
                        .iter()
                        .map(|x| format!("{x} MB"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        vec![s.clone()]
    };
    if let Some(e) = blocked(root) {
        return Err(e);
    }
    let (Some(device), Some(address)) = (path.device, path.address) else {
        return Err(ApiError::new(
            409,
            "wan_down",
            format!("{wan} has no IPv4 address now (link down?): nothing to test"),
        ));
    };
    Ok(Plan {
        wan: wan.to_string(),
        device,
        address,
        direction,
        size_mb,
        servers: chosen,
        auto,
    })
}

pub fn start(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    let p = plan(ctx.root, &f)?;
    let root = ctx.root.clone();
    let deadline = job_deadline(p.size_mb);
    let job =
        jobs::start(ctx.root, KIND, deadline, move |prog| run(&root, &p, prog)).map_err(|e| {
            if e.status == 409 {
                ApiError::new(
                    409,
                    "speedtest_running",
                    "a speed test is already running (one at a time): wait for it or cancel it",
                )
            } else {
                e
            }
        })?;
    let mut r = Response::ok(json!({"job": job, "poll": format!("job?id={}", job.id)}));
    r.status = 202;
    Ok(r)
}

pub fn cancel(ctx: &Ctx) -> ApiResult<Response> {
    let f = Fields::parse(&ctx.req.body)?;
    f.only(&["id"])?;
    let id = f.str("id")?;
    if !jobs::valid_id(id) || !id.starts_with("speedtest-") {
        return Err(ApiError::field("id", "is not a speed test job id"));
    }
    let job = jobs::cancel(ctx.root, id)?;
    Ok(Response::ok(json!({"job": job})))
}

/// Milliseconds to 0.01 (a LAN-like path answers in well under 1 ms).
fn ms(d: Duration) -> f64 {
    round2(d.as_secs_f64() * 1000.0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The job: probe, transfer, store.
fn run(root: &Root, p: &Plan, prog: &mut Progress) -> Result<Value, String> {
    let total = u64::from(p.size_mb) << 20;
    let mut detail = json!({
        "wan": p.wan, "device": p.device, "address": p.address.to_string(),
        "direction": p.direction.as_str(), "size_mb": p.size_mb, "bytes_total": total,
        "auto": p.auto, "bytes": 0, "elapsed_s": 0.0, "mbps_now": null, "mbps_avg": null,
        "latency_idle_ms": null, "latency_load_ms": null, "server": null, "server_label": null,
        "probes": [],
    });
    // 1. Latency of each candidate through the WAN, all at once.
    prog.phase(
        "probing",
        Some(0.0),
        &format!(
            "measuring the latency of {} server(s) through {}",
            p.servers.len(),
            p.wan
        ),
    );
    prog.detail(detail.clone());
    let handles: Vec<_> = p
        .servers
        .iter()
        .map(|s| {
            let (s, dev, src) = (s.clone(), p.device.clone(), p.address);
            let url = s.url(p.direction, p.size_mb).unwrap_or_default();
            std::thread::spawn(move || {
                let r = st::host_port(&url)
                    .ok_or_else(|| "bad URL".to_string())
                    .and_then(|(h, port)| {
                        st::resolve(&h, port).ok_or_else(|| format!("cannot resolve {h}"))
                    })
                    .and_then(|to| {
                        st::probe(&dev, src, to, PROBES, PROBE_TIMEOUT).map(|d| (to, d))
                    });
                (s, r)
            })
        })
        .collect();
    let mut probes = Vec::new();
    let mut best: Option<(Server, SocketAddrV4, Duration)> = None;
    for h in handles {
        let Ok((s, r)) = h.join() else { continue };
        match r {
            Ok((to, d)) => {
                probes.push(json!({"server": s.id, "latency_ms": ms(d), "error": null}));
                if best.as_ref().is_none_or(|b| d < b.2) {
                    best = Some((s, to, d));
                }
            }
            Err(e) => probes.push(json!({"server": s.id, "latency_ms": null, "error": e})),
        }
    }
    detail["probes"] = Value::Array(probes.clone());
    let Some((server, to, idle)) = best else {
        prog.detail(detail);
        let why: Vec<String> = probes
            .iter()
            .map(|p| {
                format!(
                    "{}: {}",
                    p["server"].as_str().unwrap_or(""),
                    p["error"].as_str().unwrap_or("")
                )
            })
            .collect();
        return Err(format!(
            "no speed-test server answered through {} ({})",
            p.wan,
            why.join("; ")
        ));
    };
    detail["server"] = json!(server.id);
    detail["server_label"] = json!(server.label);
    detail["latency_idle_ms"] = json!(ms(idle));

    // 2. Latency under load: handshakes every 500 ms on a thread while the transfer runs.
    let stop = Arc::new(AtomicBool::new(false));
    let loaded: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::new()));
    let prober = {
        let (stop, loaded, dev, src) = (stop.clone(), loaded.clone(), p.device.clone(), p.address);
        std::thread::spawn(move || {
            // Let the transfer ramp up first.
            std::thread::sleep(Duration::from_millis(400));
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if let Ok(d) = st::connect_rtt(&dev, src, to, Duration::from_secs(2)) {
                    if let Ok(mut v) = loaded.lock() {
                        v.push(d);
                    }
                }
                std::thread::sleep(Duration::from_millis(500).saturating_sub(t.elapsed()));
            }
        })
    };

    // 3. The transfer, bound to the WAN.
    let t = st::Transfer {
        url: server.url(p.direction, p.size_mb).unwrap_or_default(),
        direction: p.direction,
        bytes: total,
        device: p.device.clone(),
        referer: server.referer.clone(),
        max_time: max_time(p.size_mb),
    };
    prog.phase(
        "running",
        Some(0.0),
        &format!(
            "{} {} MB via {} ({})",
            p.direction.as_str(),
            p.size_mb,
            p.wan,
            server.label
        ),
    );
    prog.detail(detail.clone());
    let t0 = Instant::now();
    let mut first: Option<(Instant, u64)> = None;
    let mut window: std::collections::VecDeque<(Instant, u64)> = Default::default();
    let mut last_save = Instant::now();
    let mut too_much = false;
    let deadline = prog.remaining().saturating_sub(Duration::from_secs(3));
    let measured = st::transfer(root, &t, deadline, &mut |f: Flow| {
        let now = Instant::now();
        let moved = match p.direction {
            Direction::Download => f.drained,
            Direction::Upload => f.fed,
        };
        if moved > total + (1 << 20) {
            too_much = true;
            return false;
        }
        if first.is_none() && moved > 0 {
            first = Some((now, moved));
        }
        window.push_back((now, moved));
        while window.len() > 2 && now.duration_since(window[0].0) > Duration::from_millis(1000) {
            window.pop_front();
        }
        if now.duration_since(last_save) >= Duration::from_millis(500) {
            last_save = now;
            let (w0, b0) = window[0];
            let now_rate = st::mbps(moved - b0, now.duration_since(w0).as_secs_f64());
            let avg =
                first.map(|(ft, fb)| st::mbps(moved - fb, now.duration_since(ft).as_secs_f64()));
            let lat = loaded.lock().ok().and_then(|v| v.last().copied());
            detail["bytes"] = json!(moved);
            detail["elapsed_s"] = json!(super::round1(t0.elapsed().as_secs_f64()));
            detail["mbps_now"] = json!(round2(now_rate));
            detail["mbps_avg"] = json!(avg.map(round2));
            detail["latency_load_ms"] = json!(lat.map(ms));
            prog.detail(detail.clone());
            prog.phase(
                "running",
                Some(super::round1(
                    (moved as f64 / total as f64 * 100.0).min(99.0),
                )),
                &format!(
                    "{} {} MB via {} ({})",
                    p.direction.as_str(),
                    p.size_mb,
                    p.wan,
                    server.label
                ),
            );
        }
        true
    });
    stop.store(true, Ordering::Relaxed);
    let _ = prober.join();
    let m = match measured {
        Ok(m) => m,
        Err(_) if too_much => return Err("the server sent more than the size asked for".into()),
        Err(e) => return Err(format!("the transfer through {} failed: {e}", p.wan)),
    };
    let load = {
        let mut v = loaded.lock().map(|v| v.clone()).unwrap_or_default();
        st::median(&mut v)
    };
    // 4. Store.
    let row = db::Row {
        id: 0,
        ts: now_epoch(),
        wan: p.wan.clone(),
        device: p.device.clone(),
        server: server.id.clone(),
        server_label: server.label.clone(),
        direction: p.direction.as_str().into(),
        size_mb: p.size_mb,
        bytes: m.bytes,
        seconds: (m.seconds * 1000.0).round() / 1000.0,
        mbps: round2(m.mbps),
        latency_idle_ms: Some(ms(idle)),
        latency_load_ms: load.map(ms),
        complete: m.complete,
    };
    let id = db::insert(&db_path(root), &row).map_err(|e| format!("storing the result: {e}"))?;
    let mut v = serde_json::to_value(&row).map_err(|e| e.to_string())?;
    v["id"] = json!(id);
    v["probes"] = Value::Array(probes);
    v["address"] = json!(p.address.to_string());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits() {
        assert_eq!(max_time(1), Duration::from_secs(15));
        assert_eq!(max_time(10), Duration::from_secs(16));
        assert_eq!(max_time(25), Duration::from_secs(25));
        assert_eq!(max_time(100), Duration::from_secs(70));
        assert_eq!(max_time(1000), Duration::from_secs(120));
        assert!(job_deadline(100) > max_time(100));
    }
}
