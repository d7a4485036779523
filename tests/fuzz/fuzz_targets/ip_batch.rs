//! The `ip -j -d -force -batch -` output classifier (`system::ip::parse_batch`): concatenated JSON
//! documents, recognised by shape. Property beyond "no panic": routes it returns, serialised
//! back to `ip -j` JSON, are classified and read back unchanged.
#![no_main]

use jammonitor::system::ip::parse_batch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let snap = parse_batch(&text);
    if let Some(links) = &snap.links {
        for l in links {
            let _ = (l.kind(), l.is_up(), l.ipv4());
        }
    }
    if let Some(routes) = &snap.routes
        && !routes.is_empty()
    {
        let json = serde_json::to_string(routes).unwrap();
        let again = parse_batch(&json);
        assert!(again.links.is_none());
        assert_eq!(again.routes.as_ref(), Some(routes), "re-read {json}");
    }
});
