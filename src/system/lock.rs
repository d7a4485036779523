//! Writers serialize on a kernel flock of a file under /var/run/jammonitor: two tabs (or two
//! processes) changing the same area run one after the other, never interleaved. The lock dies
//! with the process, so a killed CGI never leaves it stuck.

use super::Root;
use crate::error::{ApiError, ApiResult};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Lock {
    _held: Flock<File>,
}

/// Waits up to `wait` for the lock named `name` (e.g. `wan`, `storage`), then answers 503 busy.
pub fn acquire(root: &Root, name: &str, wait: Duration) -> ApiResult<Lock> {
    let dir = root.path("/var/run/jammonitor");
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(format!("{name}.lock"));
    let start = Instant::now();
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ApiError::internal(format!("cannot open {}: {e}", path.display())))?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Ok(Lock { _held: held }),
            Err((f, _)) if start.elapsed() < wait => {
                file = f;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => {
                return Err(ApiError::new(
                    503,
                    "busy",
                    format!("another change to {name} is in progress; try again"),
                ));
            }
        }
    }
}

/// Is the lock file at `path` held by a running process? A shared probe fails against an
/// exclusive holder; nothing is created, and a missing file is not held.
pub fn held_at(path: &Path) -> bool {
    let Ok(f) = OpenOptions::new().read(true).open(path) else {
        return false;
    };
    Flock::lock(f, FlockArg::LockSharedNonblock).is_err()
}

/// Is the area lock `name` (see [`acquire`]) held right now: a writer of that area running?
pub fn held(root: &Root, name: &str) -> bool {
    held_at(
        &root
            .path("/var/run/jammonitor")
            .join(format!("{name}.lock")),
    )
}
