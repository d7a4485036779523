//! Where LAN clients are named: dnsmasq's DHCPv4 lease file (parsed in `conntrack`, shared with
//! the collector), odhcpd's DHCPv6 state file, and the DHCP vendor classes dnsmasq logs with
//! `log-dhcp` when the system log goes to a file. All three are files: no child process.
//!
//! odhcpd (`dhcp.odhcpd.leasefile`, OpenWrt default `/tmp/hosts/odhcpd`; format read in
//! odhcpd's src/dhcpv6-ia.c, `dhcpv6_write_statefile`): one comment line per lease,
//! `# <iface> <duid hex> <iaid hex> <hostname|-> <valid-until epoch|-1> <assigned hex> <prefix len>
//! <addr>/<len> …`, followed (when the lease has a name) by hosts lines `<addr> <fqdn> <name>`.
//! A DUID of type 1 (link-layer + time) or 3 (link-layer) with hardware type 1 carries the
//! client's MAC: that is how an IPv6 lease joins its IPv4 client.

use super::Root;
pub use super::conntrack::{Lease, clean_hostname, normalize_mac, parse_leases};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    pub iface: String,
    pub duid: String,
    /// From the DUID when it embeds one.
    pub mac: Option<String>,
    pub hostname: Option<String>,
    /// Epoch seconds; `None` for an infinite lease.
    pub expires: Option<i64>,
    pub addrs: Vec<String>,
}

/// The MAC inside a DUID-LLT (type 1) or DUID-LL (type 3) of an Ethernet client.
pub fn duid_mac(duid: &str) -> Option<String> {
    let d = duid.to_ascii_lowercase();
    if !d.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mac_hex = match d.get(0..8)? {
        "00010001" if d.len() == 28 => &d[16..28],
        "00030001" if d.len() == 20 => &d[8..20],
        _ => return None,
    };
    let mac: Vec<&str> = (0..6).map(|i| &mac_hex[i * 2..i * 2 + 2]).collect();
    normalize_mac(&mac.join(":"))
}

pub fn parse_odhcpd(text: &str) -> Vec<Lease6> {
    let mut out: Vec<Lease6> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            // hosts line: `<addr> <fqdn> <name>` names an address of a lease above
            let mut it = line.split_ascii_whitespace();
            if let (Some(addr), Some(name)) = (it.next(), it.last()) {
                if addr.parse::<std::net::Ipv6Addr>().is_ok() {
                    if let Some(l) = out
                        .iter_mut()
                        .rev()
                        .find(|l| l.addrs.iter().any(|a| a == addr))
                    {
                        if l.hostname.is_none() {
                            l.hostname = Some(clean_hostname(name)).filter(|h| !h.is_empty());
                        }
                    }
                }
            }
            continue;
        };
        let f: Vec<&str> = rest.split_ascii_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let addrs: Vec<String> = f[7..]
            .iter()
            .filter_map(|a| a.split('/').next())
            .filter(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
            .map(str::to_string)
            .collect();
        if addrs.is_empty() {
            continue;
        }
        let expires = match f[4].parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => None,
        };
        out.push(Lease6 {
            iface: f[0].to_string(),
            duid: f[1].to_string(),
            mac: duid_mac(f[1]),
            hostname: Some(f[3])
                .filter(|h| *h != "-")
                .map(clean_hostname)
                .filter(|h| !h.is_empty()),
            expires,
            addrs,
        });
    }
    out
}

/// Vendor classes from dnsmasq's `log-dhcp` lines, per MAC (the last one seen wins). dnsmasq
/// tags each line of one exchange with its transaction id:
/// `dnsmasq-dhcp[812]: 1234567 vendor class: android-dhcp-13` and
/// `dnsmasq-dhcp[812]: 1234567 DHCPREQUEST(br-lan) 192.168.1.23 aa:bb:cc:dd:ee:ff`.
pub fn parse_vendor_classes(log: &str) -> Vec<(String, String)> {
    let mut by_xid: std::collections::HashMap<&str, &str> = Default::default();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in log.lines() {
        let Some(pos) = line.find("dnsmasq-dhcp[") else {
            continue;
        };
        let Some(rest) = line[pos..].split_once("]: ").map(|(_, r)| r) else {
            continue;
        };
        let Some((xid, msg)) = rest.split_once(' ') else {
            continue;
        };
        if !xid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(vc) = msg.strip_prefix("vendor class: ") {
            by_xid.insert(xid, vc.trim());
        } else if msg.starts_with("DHCP") {
            if let Some(vc) = by_xid.get(xid) {
                if let Some(mac) = msg.split_ascii_whitespace().find_map(normalize_mac) {
                    let vc: String = vc.chars().filter(|c| !c.is_control()).take(64).collect();
                    out.retain(|(m, _)| *m != mac);
                    out.push((mac, vc));
                }
            }
        }
    }
    out
}

/// Reads the tail (last 256 KiB) of a log file under the root.
pub fn read_tail(root: &Root, abs: &str, cap: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(root.path(abs)).ok()?;
    let len = f.metadata().ok()?.len();
    if len > cap {
        f.seek(SeekFrom::Start(len - cap)).ok()?;
    }
    let mut buf = Vec::new();
    f.take(cap).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odhcpd_state_file() {
        let text = "# br-lan 000100012c3d4e5f3c22fb0000aa 5f3c22fb phone 1765000000 2a 128 fd42:7a3b:19c4::2a/128 \n\
                    fd42:7a3b:19c4::2a phone.lan phone\n\
                    # br-lan 00030001dca632123456 1 - -1 2b 128 fd42:7a3b:19c4::2b/128 2001:db8::2b/128 \n\
                    # br-lan 0004abcdef 1 <b>x</b> 1765000000 2c 128 fd42:7a3b:19c4::2c/128\n\
                    # br-lan 0001 1 short\n";
        let l = parse_odhcpd(text);
        assert_eq!(l.len(), 3, "{l:?}");
        assert_eq!(l[0].mac.as_deref(), Some("3c:22:fb:00:00:aa"));
        assert_eq!(l[0].hostname.as_deref(), Some("phone"));
        assert_eq!(l[0].expires, Some(1_765_000_000));
        assert_eq!(l[1].mac.as_deref(), Some("dc:a6:32:12:34:56"));
        assert_eq!(l[1].addrs, ["fd42:7a3b:19c4::2b", "2001:db8::2b"]);
        assert_eq!((l[1].hostname.as_deref(), l[1].expires), (None, None));
        assert_eq!(l[2].mac, None, "DUID-UUID carries no MAC");
        assert_eq!(l[2].hostname.as_deref(), Some("<b>x</b>"));
    }

    #[test]
    fn vendor_classes_join_by_transaction() {
        let log = "Mon Dec  7 00:01:02 2026 daemon.info dnsmasq-dhcp[812]: 1234567 available DHCP range: 192.168.1.100 -- 192.168.1.249\n\
                   Mon Dec  7 00:01:02 2026 daemon.info dnsmasq-dhcp[812]: 1234567 vendor class: android-dhcp-13\n\
                   Mon Dec  7 00:01:02 2026 daemon.info dnsmasq-dhcp[812]: 1234567 DHCPREQUEST(br-lan) 192.168.1.23 AA:BB:CC:DD:EE:FF\n\
                   Mon Dec  7 00:01:03 2026 daemon.info dnsmasq-dhcp[812]: 99 vendor class: MSFT 5.0\n\
                   Mon Dec  7 00:01:03 2026 daemon.info dnsmasq-dhcp[812]: 99 DHCPACK(br-lan) 192.168.1.24 11:22:33:44:55:66 desk\n\
                   Mon Dec  7 00:01:04 2026 daemon.info dnsmasq-dhcp[812]: 100 DHCPACK(br-lan) 192.168.1.25 11:22:33:44:55:77\n";
        let v = parse_vendor_classes(log);
        assert_eq!(
            v,
            [
                (
                    "aa:bb:cc:dd:ee:ff".to_string(),
                    "android-dhcp-13".to_string()
                ),
                ("11:22:33:44:55:66".to_string(), "MSFT 5.0".to_string())
            ]
        );
    }
}
