//! The nf_conntrack line parser (`system::conntrack::parse_line`) and the per-client byte
//! tracker (`FlowTracker::pass`).
//!
//! Input: a conntrack table, optionally a NUL byte and a second table (the next sample).
//! Properties beyond "no panic": a flow's key and tuple do not depend on its counters; every
//! original source is a client, and a pass over an unchanged table with unique keys counts
//! nothing; the stats never count more flows than lines.
#![no_main]

use jammonitor::system::conntrack::{Client, ClientMap, FlowTracker, parse_line};
use libfuzzer_sys::fuzz_target;

/// The same line with every counter zeroed (tokens re-joined by single spaces). The first three
/// columns (family, l3num, protocol) are kept as they are, whatever they look like.
fn zero_counters(line: &str) -> String {
    line.split_ascii_whitespace()
        .enumerate()
        .map(|(i, t)| {
            if i < 3 {
                t
            } else if t.starts_with("bytes=") {
                "bytes=0"
            } else if t.starts_with("packets=") {
                "packets=0"
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (t1, t2) = text.split_once('\0').unwrap_or((&text, &text));

    let mut clients = ClientMap::default();
    let mut keys = Vec::new();
    for line in t1.lines() {
        let Some(f) = parse_line(line) else { continue };
        assert!(!f.orig_src.is_empty() && !f.orig_dst.is_empty() && !f.reply_src.is_empty());
        let z = zero_counters(line);
        let g = parse_line(&z).expect("zeroing counters lost the flow");
        assert_eq!(g.key, f.key, "key depends on counters: {line:?}");
        assert_eq!(
            (
                g.orig_src,
                g.orig_dst,
                g.reply_src,
                g.reply_dst,
                g.zone,
                g.proto
            ),
            (
                f.orig_src,
                f.orig_dst,
                f.reply_src,
                f.reply_dst,
                f.zone,
                f.proto
            )
        );
        assert_eq!(
            (g.unreplied, g.offload, g.ipv6),
            (f.unreplied, f.offload, f.ipv6)
        );
        keys.push(f.key);
        if clients.lookup(f.orig_src).is_none() {
            clients
                .by_ip
                .insert(f.orig_src.to_string(), clients.clients.len());
            clients.clients.push(Client {
                key: format!("ip:{}", f.orig_src),
                mac: None,
                ip: f.orig_src.to_string(),
                hostname: None,
            });
        }
    }
    keys.sort_unstable();
    let unique = keys.windows(2).all(|w| w[0] != w[1]);

    let mut t = FlowTracker::new();
    let (b, s) = t.pass(&mut t1.as_bytes(), &clients);
    assert!(
        b.iter().all(|c| c.rx == 0 && c.tx == 0),
        "first pass is a baseline"
    );
    assert_eq!(s.flows, keys.len());
    assert!(s.client_flows <= s.flows && s.flows <= s.lines);
    let (b, _) = t.pass(&mut t1.as_bytes(), &clients);
    if unique {
        assert!(
            b.iter().all(|c| c.rx == 0 && c.tx == 0),
            "unchanged table counted"
        );
        assert_eq!(t.tracked(), keys.len());
    }
    let (b, s) = t.pass(&mut t2.as_bytes(), &clients);
    assert_eq!(b.len(), clients.clients.len());
    assert!(s.client_flows <= s.flows && s.flows <= s.lines);
});
