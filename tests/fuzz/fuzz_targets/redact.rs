//! The redactor (`redact::redact`) and the re-scan (`redact::scan`) on any text: no panic; the
//! output is bounded by the input (each edit turns at least one byte into at most the marker and
//! two quotes); redaction is idempotent; and the re-scan of redacted text finds nothing the
//! redactor's own detectors know (only the generic high-entropy detector may fire).
#![no_main]

use jammonitor::redact::{MARK, redact, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = redact(&text);
    assert!(
        once.len() <= (MARK.len() + 2) * text.len() + MARK.len() + 2,
        "output {} bytes for {} input bytes",
        once.len(),
        text.len()
    );
    let twice = redact(&once);
    assert_eq!(twice, once, "not idempotent");
    for f in scan(&once) {
        assert_eq!(
            f.detector, "high-entropy token",
            "re-scan after redaction: {f:?}"
        );
    }
});
