//! The collector's live ping ring, `/var/run/jammonitor/live.bin` (RAM), and its JSON view.
//!
//! The pinger runs every few seconds on the router forever, so each round must cost next to
//! nothing: it writes only the one slot of the round (`pwrite`, ~150 bytes) instead of
//! rendering and rewriting ten minutes of JSON. The file is rewritten whole only when the target
//! list changes. Readers (`overview`, `pings`) turn it into the documented JSON (docs/api.md).
//!
//! Layout (little endian):
//! - header, `header_len` bytes: magic `JMLIVE01`, u32 header_len, u32 interval_s, u32 slots,
//!   u32 targets, u32 slot_len, then per target `name \0 host \0` (host empty = unresolved;
//!   names `[A-Za-z0-9_:/.-]`, hosts IPv4 literals).
//! - `slots` slots of `slot_len` bytes: u64 round (0 = never written), i64 wall time ms, one u32
//!   per target (RTT µs; [`LOST`]; [`NOT_PROBED`]), u64 round again. Round r lives in slot
//!   r mod slots; a reader keeps a slot only when both round fields agree (a slot being rewritten
//!   while read is skipped, not misread).

use serde_json::{Value, json};
use std::fmt::Write as _;

pub const LIVE_BIN: &str = "/var/run/jammonitor/live.bin";
const MAGIC: &[u8; 8] = b"JMLIVE01";
/// The probe was sent and no reply came within the timeout.
pub const LOST: u32 = u32::MAX;
/// The target was not probed in this round (unresolved, WAN down or disabled).
pub const NOT_PROBED: u32 = u32::MAX - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTarget {
    /// `internet`, `ap:garden`, or `wan2/gateway` for a target pinged through one WAN.
    pub name: String,
    pub host: Option<String>,
}

pub fn slot_len(targets: usize) -> usize {
    8 + 8 + 4 * targets + 8
}

/// The whole file: header plus the given slots (round, ts_ms, values), the rest empty.
pub fn encode(
    targets: &[LiveTarget],
    interval_s: u32,
    slots: usize,
    filled: &[(u64, i64, &[u32])],
) -> Vec<u8> {
    let mut names = Vec::new();
    for t in targets {
        names.extend_from_slice(t.name.as_bytes());
        names.push(0);
        names.extend_from_slice(t.host.as_deref().unwrap_or("").as_bytes());
        names.push(0);
    }
    let header_len = (28 + names.len()).div_ceil(8) * 8;
    let sl = slot_len(targets.len());
    let mut out = Vec::with_capacity(header_len + slots * sl);
    out.extend_from_slice(MAGIC);
    for v in [
        header_len as u32,
        interval_s,
        slots as u32,
        targets.len() as u32,
        sl as u32,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&names);
    out.resize(header_len + slots * sl, 0);
    for (round, ts, vals) in filled {
        let off = slot_offset(header_len, sl, slots, *round);
        encode_slot(&mut out[off..off + sl], *round, *ts, vals);
    }
    out
}

pub fn header_len_of(file: &[u8]) -> Option<usize> {
    (file.get(..8)? == MAGIC).then(|| u32_at(file, 8).map(|v| v as usize))?
}

pub fn slot_offset(header_len: usize, slot_len: usize, slots: usize, round: u64) -> usize {
    header_len + (round % slots.max(1) as u64) as usize * slot_len
}

pub fn encode_slot(buf: &mut [u8], round: u64, ts_ms: i64, vals: &[u32]) {
    buf[..8].copy_from_slice(&round.to_le_bytes());
    buf[8..16].copy_from_slice(&ts_ms.to_le_bytes());
    for (i, v) in vals.iter().enumerate() {
        buf[16 + 4 * i..20 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    let end = 16 + 4 * vals.len();
    buf[end..end + 8].copy_from_slice(&round.to_le_bytes());
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// A decoded ring: targets, interval, and the rounds oldest first as (ts_ms, values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    pub targets: Vec<LiveTarget>,
    pub interval_s: u32,
    pub rounds: Vec<(i64, Vec<u32>)>,
}

pub fn decode(file: &[u8]) -> Option<Ring> {
    let header_len = header_len_of(file)?;
    let interval_s = u32_at(file, 12)?;
    let slots = u32_at(file, 16)? as usize;
    let n = u32_at(file, 20)? as usize;
    let sl = u32_at(file, 24)? as usize;
    if n > 256 || sl != slot_len(n) || slots > 100_000 {
        return None;
    }
    let mut parts = file.get(28..header_len)?.split(|b| *b == 0);
    let mut targets = Vec::with_capacity(n);
    for _ in 0..n {
        let name = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let host = String::from_utf8(parts.next()?.to_vec()).ok()?;
        targets.push(LiveTarget {
            name,
            host: (!host.is_empty()).then_some(host),
        });
    }
    let mut rounds: Vec<(u64, i64, Vec<u32>)> = Vec::new();
    for k in 0..slots {
        let Some(s) = file.get(header_len + k * sl..header_len + (k + 1) * sl) else {
            break;
        };
        let round = u64_at(s, 0)?;
        if round == 0 || u64_at(s, sl - 8)? != round {
            continue;
        }
        let ts = u64_at(s, 8)? as i64;
        let vals = (0..n)
            .map(|i| u32_at(s, 16 + 4 * i).unwrap_or(LOST))
            .collect();
        rounds.push((round, ts, vals));
    }
    rounds.sort_by_key(|r| r.0);
    Some(Ring {
        targets,
        interval_s,
        rounds: rounds.into_iter().map(|(_, ts, v)| (ts, v)).collect(),
    })
}

/// Microseconds shown as milliseconds with up to 3 decimals.
fn ms(us: u32) -> Value {
    json!((us as f64 / 1000.0 * 1000.0).round() / 1000.0)
}

fn series(ring: &Ring, i: usize) -> Value {
    let mut points = Vec::new();
    let (mut sent, mut answered) = (0usize, 0usize);
    let mut last = Value::Null;
    for (ts, vals) in &ring.rounds {
        match vals.get(i).copied().unwrap_or(NOT_PROBED) {
            NOT_PROBED => {}
            LOST => {
                sent += 1;
                last = Value::Null;
                points.push(json!([ts, null]));
            }
            us => {
                sent += 1;
                answered += 1;
                last = ms(us);
                points.push(json!([ts, ms(us)]));
            }
        }
    }
    let t = &ring.targets[i];
    json!({
        "name": t.name,
        "host": t.host,
        "series": points,
        "last_rtt_ms": last,
        "loss_pct": if sent == 0 { Value::Null } else {
            json!(((sent - answered) as f64 * 1000.0 / sent as f64).round() / 10.0)
        },
    })
}

/// The `pings` object of `overview`/`pings` (docs/api.md): the targets pinged through the
/// routing table; and `wans`: per WAN, its targets pinged through that WAN only.
pub fn to_json(ring: &Ring) -> (Value, Value) {
    let updated = ring
        .rounds
        .last()
        .map(|(ts, _)| json!(*ts as f64 / 1000.0))
        .unwrap_or(Value::Null);
    let mut targets = Vec::new();
    let mut wans = serde_json::Map::new();
    for (i, t) in ring.targets.iter().enumerate() {
        match t.name.split_once('/') {
            None => targets.push(series(ring, i)),
            Some((wan, target)) => {
                let mut s = series(ring, i);
                s["name"] = json!(target);
                if let Some(a) = wans
                    .entry(wan.to_string())
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                {
                    a.push(s);
                }
            }
        }
    }
    (
        json!({"updated_at": updated, "interval_s": ring.interval_s, "targets": targets}),
        Value::Object(wans),
    )
}

/// Reads the ring under `root` (None when the collector has not written one).
pub fn read(root: &crate::system::Root) -> Option<Ring> {
    let bytes = std::fs::read(root.path(LIVE_BIN)).ok()?;
    decode(&bytes)
}

/// A short text form for logs and tests: `name=last_ms` per target.
pub fn summary(ring: &Ring) -> String {
    let mut s = String::new();
    for (i, t) in ring.targets.iter().enumerate() {
        let last = ring.rounds.last().and_then(|(_, v)| v.get(i).copied());
        let _ = write!(s, "{}={:?} ", t.name, last);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_json() {
        let targets = vec![
            LiveTarget {
                name: "internet".into(),
                host: Some("1.1.1.1".into()),
            },
            LiveTarget {
                name: "vps".into(),
                host: None,
            },
            LiveTarget {
                name: "wan2/gateway".into(),
                host: Some("10.2.2.1".into()),
            },
        ];
        let a = [12_500, NOT_PROBED, 9];
        let b = [LOST, NOT_PROBED, 40_000];
        let c = [9, NOT_PROBED, NOT_PROBED];
        // 3 slots: round 4 overwrites round 1's slot (4 mod 3 = 1).
        let mut file = encode(&targets, 3, 3, &[(2, 2000, &a), (3, 3000, &b)]);
        let h = header_len_of(&file).unwrap();
        let sl = slot_len(3);
        let off = slot_offset(h, sl, 3, 4);
        encode_slot(&mut file[off..off + sl], 4, 4_000_123, &c);
        let ring = decode(&file).unwrap();
        assert_eq!(ring.rounds.len(), 3);
        assert_eq!(ring.rounds[0].0, 2000);
        let (p, w) = to_json(&ring);
        assert_eq!(p["updated_at"], 4000.123);
        assert_eq!(p["interval_s"], 3);
        assert_eq!(
            p["targets"][0]["series"],
            json!([[2000, 12.5], [3000, null], [4_000_123, 0.009]])
        );
        assert_eq!(p["targets"][0]["last_rtt_ms"], 0.009);
        assert_eq!(p["targets"][0]["loss_pct"], 33.3);
        assert_eq!(p["targets"][1]["host"], Value::Null);
        assert_eq!(p["targets"][1]["series"], json!([]));
        assert_eq!(p["targets"][1]["loss_pct"], Value::Null);
        assert_eq!(p["targets"].as_array().unwrap().len(), 2);
        assert_eq!(w["wan2"][0]["name"], "gateway");
        assert_eq!(w["wan2"][0]["series"], json!([[2000, 0.009], [3000, 40.0]]));
        // A torn slot (round fields disagree) is skipped.
        file[off + sl - 1] ^= 1;
        assert_eq!(decode(&file).unwrap().rounds.len(), 2);
        assert!(decode(b"nonsense").is_none());
    }
}
