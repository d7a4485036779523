//! Per-client byte totals from /proc/net/nf_conntrack, in one streaming pass with no child
//! process (the predecessor forked ~10 processes per line). Lines are parsed by `key=value`, never
//! by column: the timeout column is absent for offloaded flows, `zone=` and `mark=` come and go
//! with kernel options, IPv6 lines are longer.
//!
//! Conntrack counters are per flow and vanish when the flow ends, so a per-client sum of the
//! current table would go down whenever a connection closes. [`FlowTracker`] remembers each
//! client flow's last counters (keyed by a hash of its original tuple and zone) and counts only
//! what each flow grew since the previous sample. Limits, documented in docs/collector.md: bytes a
//! flow moved after our last look and before it was destroyed are not seen (TCP flows linger
//! 120 s in TIME_WAIT, so finished downloads are usually seen whole), and hardware-offloaded
//! flows only show what the kernel accounted. Needs `net.netfilter.nf_conntrack_acct=1`
//! (OpenWrt's default); without it no `bytes=` fields exist and clients show no traffic.
//!
//! Also here: the client identity tables that give those addresses a MAC and a name
//! (/tmp/dhcp.leases and /proc/net/arp).

use super::Root;
use std::collections::HashMap;
use std::io::BufRead;

/// One conntrack entry, borrowed from its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow<'a> {
    pub ipv6: bool,
    pub proto: &'a str,
    pub orig_src: &'a str,
    pub orig_dst: &'a str,
    pub reply_src: &'a str,
    pub reply_dst: &'a str,
    /// Bytes in the original direction (sent by the initiator) and in the reply direction.
    pub orig_bytes: u64,
    pub reply_bytes: u64,
    pub zone: u16,
    pub unreplied: bool,
    pub offload: bool,
    /// Identity of the flow: original tuple + zone + protocol.
    pub key: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Parses one line of /proc/net/nf_conntrack; `None` for anything that is not a flow with
/// both tuples.
pub fn parse_line(line: &str) -> Option<Flow<'_>> {
    let mut it = line.split_ascii_whitespace();
    let ipv6 = match it.next()? {
        "ipv4" => false,
        "ipv6" => true,
        _ => return None,
    };
    let _l3num = it.next()?;
    let proto = it.next()?;
    let mut f = Flow {
        ipv6,
        proto,
        orig_src: "",
        orig_dst: "",
        reply_src: "",
        reply_dst: "",
        orig_bytes: 0,
        reply_bytes: 0,
        zone: 0,
        unreplied: false,
        offload: false,
        key: fnv(FNV_OFFSET, proto.as_bytes()),
    };
    // Fields of the original tuple go into the key until the reply tuple starts (second src=).
    let mut in_reply = false;
    let mut bytes_seen = 0;
    for tok in it {
        if let Some(flag) = tok.strip_prefix('[') {
            match flag {
                "UNREPLIED]" => f.unreplied = true,
                "OFFLOAD]" | "HW_OFFLOAD]" => f.offload = true,
                _ => {}
            }
            continue;
        }
        let Some((k, v)) = tok.split_once('=') else {
            continue;
        };
        match k {
            "src" if !in_reply && f.orig_src.is_empty() => f.orig_src = v,
            "src" => {
                in_reply = true;
                f.reply_src = v;
            }
            "dst" if !in_reply => f.orig_dst = v,
            "dst" => f.reply_dst = v,
            "bytes" => {
                let n = v.parse().unwrap_or(0);
                if bytes_seen == 0 {
                    f.orig_bytes = n;
                } else {
                    f.reply_bytes = n;
                }
                bytes_seen += 1;
            }
            "zone" => f.zone = v.parse().unwrap_or(0),
            _ => {}
        }
        if !in_reply && !matches!(k, "packets" | "bytes") {
            f.key = fnv(fnv(f.key, tok.as_bytes()), b" ");
        }
    }
    if f.orig_src.is_empty() || f.orig_dst.is_empty() || f.reply_src.is_empty() {
        return None;
    }
    f.key = fnv(f.key, &f.zone.to_le_bytes());
    Some(f)
}

/// A LAN client as the collector stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Lowercase MAC, or `ip:<address>` when the MAC is unknown.
    pub key: String,
    pub mac: Option<String>,
    pub ip: String,
    pub hostname: Option<String>,
}

/// Address → client, built once per sample from leases and the neighbour table.
#[derive(Debug, Clone, Default)]
pub struct ClientMap {
    pub by_ip: HashMap<String, usize>,
    pub clients: Vec<Client>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub expires: i64,
    pub mac: String,
    pub ip: String,
    pub hostname: Option<String>,
}

/// dnsmasq's lease file: `expiry mac ip hostname|* clientid|*`. IPv6 lines (`duid …` header,
/// `expiry iaid ipv6 …`) have no MAC and are skipped. Hostnames are attacker-chosen: control
/// characters dropped, length capped, `*` means none.
pub fn parse_leases(text: &str) -> Vec<Lease> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_ascii_whitespace();
            let expires = it.next()?.parse().ok()?;
            let mac = normalize_mac(it.next()?)?;
            let ip = it.next()?;
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return None;
            }
            let hostname = it
                .next()
                .filter(|h| *h != "*")
                .map(clean_hostname)
                .filter(|h| !h.is_empty());
            Some(Lease {
                expires,
                mac,
                ip: ip.to_string(),
                hostname,
            })
        })
        .collect()
}

pub fn clean_hostname(h: &str) -> String {
    h.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// `aa:bb:cc:dd:ee:ff` lowercase, or `None` if not a unicast-looking MAC.
pub fn normalize_mac(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 17 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = if i % 3 == 2 {
            *c == b':'
        } else {
            c.is_ascii_hexdigit()
        };
        if !ok {
            return None;
        }
    }
    let m = s.to_ascii_lowercase();
    if m == "00:00:00:00:00:00" {
        None
    } else {
        Some(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub ip: String,
    pub mac: String,
    pub device: String,
}

/// /proc/net/arp: `IP HWtype Flags HWaddress Mask Device`; incomplete entries (flags 0x0 or an
/// all-zero MAC) are skipped.
pub fn parse_arp(text: &str) -> Vec<Neighbour> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_ascii_whitespace().collect();
            if f.len() < 6 || f[2] == "0x0" {
                return None;
            }
            Some(Neighbour {
                ip: f[0].to_string(),
                mac: normalize_mac(f[3])?,
                device: f[5].to_string(),
            })
        })
        .collect()
}

impl ClientMap {
    /// Leases name the clients; ARP entries on LAN-side devices (not `wan_devices`, not tunnels)
    /// add clients with static addresses. Every IPv4 a client is known by maps to it.
    pub fn build(leases: &[Lease], arp: &[Neighbour], wan_devices: &[String]) -> ClientMap {
        let mut map = ClientMap::default();
        let mut by_mac: HashMap<String, usize> = HashMap::new();
        let mut add = |map: &mut ClientMap, mac: &str, ip: &str, hostname: Option<&String>| {
            let idx = *by_mac.entry(mac.to_string()).or_insert_with(|| {
                map.clients.push(Client {
                    key: mac.to_string(),
                    mac: Some(mac.to_string()),
                    ip: ip.to_string(),
                    hostname: None,
                });
                map.clients.len() - 1
            });
            if map.clients[idx].hostname.is_none() {
                map.clients[idx].hostname = hostname.cloned();
            }
            map.by_ip.entry(ip.to_string()).or_insert(idx);
        };
        for n in arp {
            let lan_side = !wan_devices.iter().any(|d| d == &n.device)
                && !["tun", "wg", "tap", "ppp", "pppoe-", "ipsec"]
                    .iter()
                    .any(|p| n.device.starts_with(p));
            if lan_side {
                // The current neighbour entry is the freshest IP → MAC fact: it wins over a lease.
                let hostname = leases
                    .iter()
                    .find(|l| l.mac == n.mac)
                    .and_then(|l| l.hostname.as_ref());
                add(&mut map, &n.mac, &n.ip, hostname);
            }
        }
        for l in leases {
            add(&mut map, &l.mac, &l.ip, l.hostname.as_ref());
        }
        map
    }

    pub fn lookup(&self, ip: &str) -> Option<usize> {
        self.by_ip.get(ip).copied()
    }
}

/// Reads leases and ARP under `root` and builds the map.
pub fn client_map(root: &Root, wan_devices: &[String]) -> ClientMap {
    let leases = root
        .read("/tmp/dhcp.leases", 1 << 20)
        .map(|t| parse_leases(&t))
        .unwrap_or_default();
    let arp = root
        .read("/proc/net/arp", 1 << 20)
        .map(|t| parse_arp(&t))
        .unwrap_or_default();
    ClientMap::build(&leases, &arp, wan_devices)
}

/// Remembers the counters of every client flow between samples.
///
/// One flat vector sorted by flow key, `(key, orig bytes, reply bytes)`: 24 bytes a flow, looked
/// up by binary search, updated in place, new flows appended during the pass and sorted in after
/// it. It was two hash maps (last pass, this pass) at about 80 bytes a flow with their spare
/// capacity, the collector's largest allocation (~410 kB for 5,000 flows; now ~120 kB).
#[derive(Debug, Default)]
pub struct FlowTracker {
    flows: Vec<(u64, u64, u64)>,
    /// Per flow of the sorted part: seen in this pass.
    seen: Vec<bool>,
    primed: bool,
    line: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientBytes {
    /// Bytes the client received (download) and sent (upload).
    pub rx: u64,
    pub tx: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassStats {
    pub lines: usize,
    pub flows: usize,
    pub client_flows: usize,
}

impl FlowTracker {
    pub fn new() -> FlowTracker {
        FlowTracker::default()
    }

    /// One pass over the table. Returns bytes per client index of `clients` since the previous
    /// pass. The first pass only records the baseline (a flow's history before we started is not
    /// this interval's traffic); flows that appear later are counted from zero.
    pub fn pass(
        &mut self,
        input: &mut dyn BufRead,
        clients: &ClientMap,
    ) -> (Vec<ClientBytes>, PassStats) {
        let mut out = vec![ClientBytes::default(); clients.clients.len()];
        let mut stats = PassStats::default();
        // flows[..known] is the sorted table of the previous pass; new flows go after it.
        let known = self.flows.len();
        self.seen.clear();
        self.seen.resize(known, false);
        loop {
            self.line.clear();
            match input.read_line(&mut self.line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            stats.lines += 1;
            let Some(f) = parse_line(&self.line) else {
                continue;
            };
            stats.flows += 1;
            // Initiated by the client (the usual case, NATed out) or towards it (port forwards).
            let (idx, client_sent_orig) = match clients.lookup(f.orig_src) {
                Some(i) => (i, true),
                None => match clients.lookup(f.orig_dst) {
                    Some(i) => (i, false),
                    None => continue,
                },
            };
            stats.client_flows += 1;
            let now = (f.orig_bytes, f.reply_bytes);
            let prev = match self.flows[..known].binary_search_by_key(&f.key, |e| e.0) {
                Ok(i) => {
                    let e = &mut self.flows[i];
                    let p = (e.1, e.2);
                    (e.1, e.2) = now;
                    self.seen[i] = true;
                    Some(p)
                }
                Err(_) => {
                    // Grown by a quarter, not doubled: the spare capacity is what costs memory.
                    if self.flows.len() == self.flows.capacity() {
                        self.flows.reserve_exact(self.flows.len() / 4 + 64);
                    }
                    self.flows.push((f.key, now.0, now.1));
                    None
                }
            };
            let (d_orig, d_reply) = match prev {
                // A counter that went down is a new flow with the same tuple.
                Some((po, pr)) if now.0 >= po && now.1 >= pr => (now.0 - po, now.1 - pr),
                Some(_) => now,
                None if self.primed => now,
                None => (0, 0),
            };
            let c = &mut out[idx];
            if client_sent_orig {
                c.tx = c.tx.saturating_add(d_orig);
                c.rx = c.rx.saturating_add(d_reply);
            } else {
                c.rx = c.rx.saturating_add(d_orig);
                c.tx = c.tx.saturating_add(d_reply);
            }
        }
        // Flows gone from the table are forgotten; the new ones are sorted in.
        let mut k = 0;
        let seen = &self.seen;
        self.flows.retain(|_| {
            k += 1;
            k > known || seen[k - 1]
        });
        self.flows.sort_unstable_by_key(|e| e.0);
        self.flows.dedup_by_key(|e| e.0);
        self.primed = true;
        // Keep memory proportional to the current table, not to its historical peak.
        if self.flows.capacity() > self.flows.len() * 3 / 2 + 1024 {
            self.flows
                .shrink_to(self.flows.len() + self.flows.len() / 8);
        }
        if self.seen.capacity() > 2 * self.flows.len().max(1024) {
            self.seen = Vec::new();
        }
        (out, stats)
    }

    /// Reads `/proc/net/nf_conntrack` under `root` in one streaming pass (16 KiB buffer: the
    /// kernel fills it one read at a time; a bigger one only stays resident in the heap).
    pub fn sample(
        &mut self,
        root: &Root,
        clients: &ClientMap,
    ) -> std::io::Result<(Vec<ClientBytes>, PassStats)> {
        let f = std::fs::File::open(root.path("/proc/net/nf_conntrack"))?;
        let mut r = std::io::BufReader::with_capacity(16 << 10, f);
        Ok(self.pass(&mut r, clients))
    }

    pub fn tracked(&self) -> usize {
        self.flows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.100.10 dst=203.0.113.10 sport=40000 dport=80 packets=10 bytes=1000 src=203.0.113.10 dst=10.1.1.2 sport=80 dport=40000 packets=20 bytes=30000 [ASSURED] mark=0 zone=0 use=2\n";
    const V6: &str = "ipv6     10 udp      17 28 src=fd42:7a3b:19c4::10 dst=2606:4700:4700::1111 sport=5353 dport=53 packets=1 bytes=80 src=2606:4700:4700::1111 dst=fd42:7a3b:19c4::10 sport=53 dport=5353 packets=1 bytes=120 mark=0 zone=0 use=2\n";
    const UNREPLIED: &str = "ipv4     2 udp      17 25 src=192.168.100.11 dst=8.8.8.8 sport=1234 dport=53 packets=3 bytes=180 [UNREPLIED] src=8.8.8.8 dst=10.2.2.2 sport=53 dport=1234 packets=0 bytes=0 mark=0 use=1\n";
    // Flow offload: no timeout column, no state, [OFFLOAD] flag.
    const OFFLOAD: &str = "ipv4     2 tcp      6 src=192.168.100.12 dst=1.1.1.1 sport=5555 dport=443 packets=5 bytes=500 src=1.1.1.1 dst=10.3.3.2 sport=443 dport=5555 packets=9 bytes=9000 [OFFLOAD] mark=0 zone=3 use=3\n";

    #[test]
    fn parses_by_key() {
        let f = parse_line(V4).unwrap();
        assert_eq!(
            (f.orig_src, f.orig_dst, f.reply_src, f.reply_dst),
            ("192.168.100.10", "203.0.113.10", "203.0.113.10", "10.1.1.2")
        );
        assert_eq!(
            (f.orig_bytes, f.reply_bytes, f.zone, f.ipv6, f.proto),
            (1000, 30000, 0, false, "tcp")
        );
        let f6 = parse_line(V6).unwrap();
        assert!(f6.ipv6);
        assert_eq!(
            (f6.orig_src, f6.orig_bytes, f6.reply_bytes),
            ("fd42:7a3b:19c4::10", 80, 120)
        );
        let u = parse_line(UNREPLIED).unwrap();
        assert!(u.unreplied);
        assert_eq!((u.orig_bytes, u.reply_bytes), (180, 0));
        let o = parse_line(OFFLOAD).unwrap();
        assert!(o.offload);
        assert_eq!((o.zone, o.orig_bytes, o.reply_bytes), (3, 500, 9000));
        assert!(parse_line("").is_none());
        assert!(parse_line("garbage line here").is_none());
        assert!(parse_line("ipv4 2 tcp 6 src=1.2.3.4").is_none());
    }

    #[test]
    fn key_ignores_counters_but_not_zone_or_ports() {
        let a = parse_line(V4).unwrap().key;
        let grown = V4
            .replace("bytes=1000", "bytes=5000")
            .replace("packets=10", "packets=50")
            .replace("431999", "431000");
        assert_eq!(parse_line(&grown).unwrap().key, a);
        assert_ne!(parse_line(&V4.replace("zone=0", "zone=1")).unwrap().key, a);
        assert_ne!(
            parse_line(&V4.replace(
                "sport=40000 dport=80 packets=10",
                "sport=40001 dport=80 packets=10"
            ))
            .unwrap()
            .key,
            a
        );
    }

    fn clients() -> ClientMap {
        let leases = parse_leases(
            "1764100000 02:00:00:00:01:0A 192.168.100.10 laptop 01:02:00:00:00:01:0a\n\
             1764100000 02:00:00:00:01:0b 192.168.100.11 <svg/onload=x>\u{7} *\n\
             duid 00:01:00:01:2c:3d:4e:5f:02:00:00:00:01:01\n\
             1764100000 1234567 fd42::10 v6host 00:01\n",
        );
        let arp = parse_arp(
            "IP address       HW type     Flags       HW address            Mask     Device\n\
             192.168.100.12   0x1         0x2         02:00:00:00:01:0c     *        wan\n\
             10.1.1.1         0x1         0x2         02:00:00:00:00:21     *        lan1\n\
             192.168.100.99   0x1         0x0         00:00:00:00:00:00     *        wan\n",
        );
        ClientMap::build(&leases, &arp, &["lan1".to_string()])
    }

    #[test]
    fn leases_and_arp() {
        let m = clients();
        assert_eq!(m.clients.len(), 3, "{m:?}");
        let laptop = &m.clients[m.lookup("192.168.100.10").unwrap()];
        assert_eq!(
            (laptop.key.as_str(), laptop.hostname.as_deref()),
            ("02:00:00:00:01:0a", Some("laptop"))
        );
        assert_eq!(
            m.clients[m.lookup("192.168.100.11").unwrap()]
                .hostname
                .as_deref(),
            Some("<svg/onload=x>")
        );
        assert!(
            m.lookup("192.168.100.12").is_some(),
            "static client from ARP"
        );
        assert!(
            m.lookup("10.1.1.1").is_none(),
            "the WAN gateway is not a client"
        );
        assert!(m.lookup("192.168.100.99").is_none(), "incomplete ARP entry");
    }

    #[test]
    fn tracker_counts_growth_only() {
        let m = clients();
        let mut t = FlowTracker::new();
        let table1 = format!("{V4}{UNREPLIED}{V6}");
        let (b, s) = t.pass(&mut table1.as_bytes(), &m);
        assert_eq!(s.flows, 3);
        assert!(
            b.iter().all(|c| c.rx == 0 && c.tx == 0),
            "first pass is the baseline"
        );
        // The laptop's flow grew, the DNS flow closed, an offloaded flow of .12 appeared.
        let table2 = format!(
            "{}{OFFLOAD}",
            V4.replace("bytes=1000", "bytes=1500")
                .replace("bytes=30000", "bytes=90000")
        );
        let (b, _) = t.pass(&mut table2.as_bytes(), &m);
        let laptop = m.lookup("192.168.100.10").unwrap();
        assert_eq!(
            b[laptop],
            ClientBytes {
                rx: 60_000,
                tx: 500
            }
        );
        let tv = m.lookup("192.168.100.12").unwrap();
        assert_eq!(b[tv], ClientBytes { rx: 9000, tx: 500 });
        assert_eq!(
            b[m.lookup("192.168.100.11").unwrap()],
            ClientBytes::default()
        );
        assert_eq!(t.tracked(), 2);
        // Same tuple, counters restarted: a new connection, counted from zero.
        let table3 = V4
            .replace("bytes=1000", "bytes=10")
            .replace("bytes=30000", "bytes=20");
        let (b, _) = t.pass(&mut table3.as_bytes(), &m);
        assert_eq!(b[laptop], ClientBytes { rx: 20, tx: 10 });
    }

    #[test]
    fn inbound_flows_count_for_the_destination() {
        let m = clients();
        let mut t = FlowTracker::new();
        let line = "ipv4 2 tcp 6 100 ESTABLISHED src=198.51.100.9 dst=192.168.100.10 sport=5000 dport=22 packets=1 bytes=100 src=192.168.100.10 dst=198.51.100.9 sport=22 dport=5000 packets=1 bytes=200 mark=0 use=1\n";
        t.pass(&mut "".as_bytes(), &m);
        let (b, _) = t.pass(&mut line.as_bytes(), &m);
        assert_eq!(
            b[m.lookup("192.168.100.10").unwrap()],
            ClientBytes { rx: 100, tx: 200 }
        );
    }

    #[test]
    fn tracker_matches_a_map_over_many_passes_and_stays_compact() {
        // 3,000 flows of one client; each pass some close, some appear, the rest grow. Every
        // pass's total must equal what a plain map of the last counters gives.
        let m = clients();
        let line = |f: u32, o: u64, r: u64| {
            format!(
                "ipv4 2 tcp 6 100 ESTABLISHED src=192.168.100.10 dst=203.0.113.{} sport={} dport=443 packets=1 bytes={o} src=203.0.113.{} dst=10.1.1.2 sport=443 dport={} packets=1 bytes={r} mark=0 use=1\n",
                f % 200,
                10000 + f,
                f % 200,
                10000 + f
            )
        };
        let mut t = FlowTracker::new();
        let mut reference: HashMap<u32, (u64, u64)> = HashMap::new();
        let laptop = m.lookup("192.168.100.10").unwrap();
        for pass in 0..6u32 {
            let live: Vec<u32> = (pass * 300..3000 + pass * 300)
                .filter(|f| f % 7 != pass)
                .collect();
            let mut table = String::new();
            let mut want = ClientBytes::default();
            let mut next = HashMap::new();
            for &f in &live {
                let (o, r) = (
                    100 + (f as u64 * pass as u64),
                    1000 + (f as u64 * pass as u64) * 3,
                );
                table.push_str(&line(f, o, r));
                let (d_o, d_r) = match reference.get(&f) {
                    Some(&(po, pr)) if o >= po && r >= pr => (o - po, r - pr),
                    Some(_) => (o, r),
                    None if pass > 0 => (o, r),
                    None => (0, 0),
                };
                want.tx += d_o;
                want.rx += d_r;
                next.insert(f, (o, r));
            }
            reference = next;
            let (b, s) = t.pass(&mut table.as_bytes(), &m);
            assert_eq!(s.client_flows, live.len());
            assert_eq!(b[laptop], want, "pass {pass}");
            assert_eq!(t.tracked(), live.len());
            assert!(
                t.flows.capacity() <= live.len() * 3 / 2 + 1024,
                "capacity {} for {} flows",
                t.flows.capacity(),
                live.len()
            );
        }
    }
}
