//! Logging: stderr in the foreground (procd forwards it to syslog), syslog when daemonized.

use std::sync::atomic::{AtomicBool, Ordering};

static SYSLOG: AtomicBool = AtomicBool::new(false);

pub fn use_syslog() {
    // SAFETY: the ident is a static C string; openlog keeps the pointer.
    unsafe {
        libc::openlog(
            c"jammonitor-collector".as_ptr(),
            libc::LOG_PID,
            libc::LOG_DAEMON,
        )
    };
    SYSLOG.store(true, Ordering::Relaxed);
}

fn emit(prio: libc::c_int, tag: &str, msg: &str) {
    if SYSLOG.load(Ordering::Relaxed) {
        let clean: String = msg
            .chars()
            .map(|c| if c == '\0' { ' ' } else { c })
            .collect();
        if let Ok(c) = std::ffi::CString::new(clean) {
            // SAFETY: "%s" with one valid C string.
            unsafe { libc::syslog(prio, c"%s".as_ptr(), c.as_ptr()) };
        }
    } else {
        eprintln!("jammonitor-collector: {tag}{msg}");
    }
}

pub fn info(msg: &str) {
    emit(libc::LOG_INFO, "", msg);
}

pub fn warn(msg: &str) {
    emit(libc::LOG_WARNING, "warning: ", msg);
}

pub fn error(msg: &str) {
    emit(libc::LOG_ERR, "error: ", msg);
}
