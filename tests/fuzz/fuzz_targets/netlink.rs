//! The netlink reply splitter (`system::netlink::split`) and attribute walker (`attrs`).
//!
//! The input is one datagram as the kernel would send it. Every message payload is walked as
//! attributes after each fixed family header we use (none, genl 4, ifaddrmsg 8, rtmsg 12,
//! ifinfomsg 16, inet_diag_msg 72), and every attribute payload once more as nested attributes.
//! Properties beyond "no panic": payloads and attributes stay within the input; the input read
//! as (kind, data) records, encoded with `attr` and wrapped in message headers, walks back to
//! exactly those records.
#![no_main]

use jammonitor::system::netlink::{attr, attrs, split};
use jammonitor::system::{mptcp_diag, mptcp_pm, neigh, rtnl};
use libfuzzer_sys::fuzz_target;

fn walk(buf: &[u8], depth: u32) -> usize {
    let mut n = 0;
    let mut used = 0;
    for (_, payload) in attrs(buf) {
        used += 4 + payload.len();
        assert!(
            used <= buf.len(),
            "attributes overrun {used} > {}",
            buf.len()
        );
        n += 1;
        if depth > 0 {
            n += walk(payload, depth - 1);
        }
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let res = split(data, &mut out);
    let carried: usize = out.iter().map(|p| 16 + p.len()).sum();
    assert!(
        carried <= data.len(),
        "payloads overrun {carried} > {}",
        data.len()
    );
    if res.is_err() {
        // Still no more than what fit before the error.
        assert!(out.len() <= data.len() / 16);
    }
    for p in &out {
        // The decoders of our three dumps take any payload without panicking.
        let _ = rtnl::route(p);
        let _ = mptcp_pm::endpoint(p.get(4..).unwrap_or_default());
        let _ = mptcp_diag::extra_subflows(p);
        // RTM_NEWNEIGH: a neighbour, when there is one, has a normalised unicast-looking MAC.
        let name = |i: u32| (i % 3 != 0).then(|| format!("if{i}"));
        if let Some(n) = neigh::parse(p, &name) {
            assert!(n.mac.len() == 17 && n.mac != "00:00:00:00:00:00", "{n:?}");
        }
        for off in [0usize, 4, 8, 12, 16, 72] {
            if let Some(b) = p.get(off..) {
                walk(b, 1);
            }
        }
    }

    // Round trip: records (kind: 2 bytes, len: 1 byte, data) → attr() → attrs().
    let mut recs: Vec<(u16, &[u8])> = Vec::new();
    let mut rest = data;
    while rest.len() >= 3 {
        let kind = u16::from_ne_bytes([rest[0], rest[1]]) & 0x3fff;
        let len = (rest[2] as usize).min(rest.len() - 3);
        recs.push((kind, &rest[3..3 + len]));
        rest = &rest[3 + len..];
    }
    let enc: Vec<u8> = recs.iter().flat_map(|(k, d)| attr(*k, d)).collect();
    assert_eq!(enc.len() % 4, 0);
    let back: Vec<(u16, &[u8])> = attrs(&enc).collect();
    assert_eq!(back, recs, "attribute round trip");

    // The same records as one message each: split gives the encoded attributes back.
    let mut dgram = Vec::new();
    for (k, d) in &recs {
        let a = attr(*k, d);
        dgram.extend_from_slice(&((16 + a.len()) as u32).to_ne_bytes());
        dgram.extend_from_slice(&24u16.to_ne_bytes()); // RTM_NEWROUTE
        dgram.extend_from_slice(&[0u8; 10]);
        dgram.extend_from_slice(&a);
    }
    let mut msgs = Vec::new();
    assert_eq!(split(&dgram, &mut msgs), Ok(false));
    assert_eq!(msgs.len(), recs.len());
    for (m, (k, d)) in msgs.iter().zip(&recs) {
        assert_eq!(attrs(m).collect::<Vec<_>>(), vec![(*k, *d)]);
    }
});
