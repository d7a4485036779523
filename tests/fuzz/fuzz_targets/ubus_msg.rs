//! The ubus wire parser (`system::ubus`): what a hostile or broken socket can send the CGI.
//!
//! Input: a byte stream as read from the socket. It is cut into messages exactly as the client
//! reads them (12-byte head → `frame_len` with the CGI's 4 KiB cap → the rest), each parsed with
//! `parse_msg`, each DATA attribute decoded with `blobmsg_table`. Checked: no panic, lengths
//! never exceed the cap, a decoded table re-encodes and decodes to the same JSON, and the auth
//! decision passes only an exact `{"access": true}`.
#![no_main]

use jammonitor::auth::access_answer;
use jammonitor::system::ubus::{ATTR_DATA, blobmsg_from_json, blobmsg_table, frame_len, parse_msg};
use libfuzzer_sys::fuzz_target;

const CAP: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while rest.len() >= 12 {
        let mut head = [0u8; 12];
        head.copy_from_slice(&rest[..12]);
        let Ok(total) = frame_len(&head, CAP) else {
            break;
        };
        assert!((12..=8 + CAP).contains(&total), "frame of {total} bytes");
        if rest.len() < total {
            break; // the client would wait for more, then time out
        }
        let (one, next) = rest.split_at(total);
        rest = next;
        let Ok(msg) = parse_msg(one, CAP) else {
            continue;
        };
        let mut size = 0;
        for (_, v) in &msg.attrs {
            size += v.len() + 4;
        }
        assert!(size <= total, "attributes larger than the message");
        let Some(d) = msg.attr(ATTR_DATA) else {
            continue;
        };
        // the same bytes also as a bare table (the invoke reply payload)
        for bytes in [d, one] {
            if let Ok(table) = blobmsg_table(bytes) {
                let again = blobmsg_from_json(&table).expect("a decoded table re-encodes");
                assert_eq!(
                    blobmsg_table(&again).expect("re-encoded table decodes"),
                    table
                );
                let exact_true =
                    table.len() == 1 && table.get("access") == Some(&serde_json::Value::Bool(true));
                assert_eq!(access_answer(&table) == Some(true), exact_true);
            }
        }
    }
});
