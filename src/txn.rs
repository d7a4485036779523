//! The shape of every configuration write (DESIGN §6): lock, snapshot, stage with `uci`, commit,
//! re-read through the real `uci` to verify, apply (reload services), and on any failure revert,
//! restore the snapshot byte for byte and re-apply the old state. The caller validates all input
//! before it begins, so a refused request never reaches this point.

use crate::error::{ApiError, ApiResult};
use crate::system::Root;
use crate::system::lock::{self, Lock};
use crate::system::uci::Uci;
use crate::system::uci::cli::Op;
use std::time::Duration;

pub struct Txn<'a> {
    root: &'a Root,
    snapshots: Vec<(&'static str, Option<Vec<u8>>)>,
    _lock: Lock,
}

/// What a write does once its changes are committed.
pub struct Plan<'p> {
    pub ops: Vec<Op>,
    /// Checks the committed configs (read back with `uci.show`) hold what was asked.
    pub verify: &'p dyn Fn(&Uci<'_>) -> ApiResult<()>,
    /// Makes the running system follow the configs; run again after a rollback.
    pub apply: &'p dyn Fn(&Root) -> ApiResult<()>,
}

impl<'a> Txn<'a> {
    /// Takes the lock `lock_name` and snapshots the listed configs.
    pub fn begin(root: &'a Root, lock_name: &str, configs: &[&'static str]) -> ApiResult<Txn<'a>> {
        let held = lock::acquire(root, lock_name, Duration::from_secs(10))?;
        let snapshots = configs
            .iter()
            .map(|c| {
                (
                    *c,
                    std::fs::read(root.path(&format!("/etc/config/{c}"))).ok(),
                )
            })
            .collect();
        Ok(Txn {
            root,
            snapshots,
            _lock: held,
        })
    }

    /// Runs the plan; on failure the configs are back to their snapshot and the error says so.
    pub fn run(self, plan: Plan) -> ApiResult<()> {
        let uci = Uci::new(self.root);
        let mut applied = false;
        let result = (|| {
            uci.batch(&plan.ops)?;
            for (c, _) in &self.snapshots {
                uci.commit(c)?;
            }
            (plan.verify)(&uci).map_err(|e| e.context("verification after commit failed"))?;
            applied = true;
            (plan.apply)(self.root).map_err(|e| e.context("applying the change failed"))
        })();
        let Err(err) = result else { return Ok(()) };
        let restored = self.restore(&uci);
        if applied {
            // Bring the running system back in line with the restored configs.
            let _ = (plan.apply)(self.root);
        }
        Err(match restored {
            Ok(()) => err.context("change rolled back"),
            Err(e) => ApiError::internal(format!(
                "{}; rollback also failed: {}",
                err.message, e.message
            )),
        })
    }

    fn restore(&self, uci: &Uci) -> ApiResult<()> {
        for (c, bytes) in &self.snapshots {
            let _ = uci.revert(c);
            let path = self.root.path(&format!("/etc/config/{c}"));
            match bytes {
                Some(b) => write_atomic(&path, b)?,
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(())
    }
}

/// Write to a temporary file in the same directory, fsync, rename over: a crash leaves either
/// the old or the new file, never half of one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> ApiResult<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("jm-tmp{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ApiError::internal(format!("cannot write {}: {e}", path.display()))
    })
}
