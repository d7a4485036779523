//! The typed wrapper around the real `uci` CLI, used for every configuration write. Arguments
//! are validated here (names) and by the callers (values); nothing is ever interpolated into a
//! shell. Under a test root it passes `-c <root>/etc/config -t <root>/tmp/.uci` (`-P` would turn commit into a no-op).

use super::{Config, valid_name};
use crate::error::{ApiError, ApiResult};
use crate::system::Root;
use crate::system::runner::{Cmd, run, run_ok};
use std::time::Duration;

pub struct Uci<'a> {
    root: &'a Root,
    /// A private (config dir, save dir) pair: the write engine stages here (`txn`), so other
    /// tools' staged changes in /tmp/.uci are never read, committed or reverted by us.
    sandbox: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Set(String, String),
    AddList(String, String),
    Delete(String),
}

/// `config.section[.option]` made only of uci-safe names.
pub fn valid_ptr(ptr: &str) -> bool {
    let parts: Vec<&str> = ptr.split('.').collect();
    (2..=3).contains(&parts.len()) && parts.iter().all(|p| valid_name(p))
}

/// Values go through `uci batch` as quoted words: refuse what could break a line.
fn valid_value(v: &str) -> bool {
    v.len() <= 1024 && !v.chars().any(|c| c.is_control())
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

impl<'a> Uci<'a> {
    pub fn new(root: &'a Root) -> Uci<'a> {
        Uci {
            root,
            sandbox: None,
        }
    }

    /// `uci -c <confdir> -t <savedir>`: configs and staged changes in private directories.
    pub fn sandbox(
        root: &'a Root,
        confdir: std::path::PathBuf,
        savedir: std::path::PathBuf,
    ) -> Uci<'a> {
        Uci {
            root,
            sandbox: Some((confdir, savedir)),
        }
    }

    fn cmd(&self, args: &[&str]) -> Cmd {
        let mut c = Cmd::new("/sbin/uci", &[]).deadline(Duration::from_secs(5));
        if let Some((conf, save)) = &self.sandbox {
            c = c
                .arg("-c")
                .arg(conf.to_string_lossy())
                .arg("-t")
                .arg(save.to_string_lossy());
        } else if !self.root.is_system() {
            c = c
                .arg("-c")
                .arg(self.root.path("/etc/config").to_string_lossy())
                .arg("-t")
                .arg(self.root.path("/tmp/.uci").to_string_lossy());
        }
        for a in args {
            c = c.arg(*a);
        }
        c
    }

    /// `uci -q show <config>`, parsed.
    pub fn show(&self, config: &str) -> ApiResult<Config> {
        check_name(config)?;
        let out = run_ok(self.root, &self.cmd(&["-q", "show", config]))?;
        super::show::parse(config, &out.stdout_str())
            .map_err(|e| ApiError::internal(format!("uci show {config}: {e}")))
    }

    /// `uci -q -X show <config>`: anonymous sections under their internal `cfgXXXXXX` names
    /// (plain `show` prints `@type[i]`), which later `uci` commands accept, so a write can
    /// address a section LuCI created without a name.
    pub fn show_named(&self, config: &str) -> ApiResult<Config> {
        check_name(config)?;
        let out = run_ok(self.root, &self.cmd(&["-q", "-X", "show", config]))?;
        super::show::parse(config, &out.stdout_str())
            .map_err(|e| ApiError::internal(format!("uci show {config}: {e}")))
    }

    /// `uci -q get <ptr>`; `None` when unset.
    pub fn get(&self, ptr: &str) -> ApiResult<Option<String>> {
        check_ptr(ptr)?;
        let cmd = self.cmd(&["-q", "get", ptr]);
        let out = run(self.root, &cmd)
            .map_err(|e| ApiError::internal(format!("{}: {e}", cmd.display())))?;
        Ok(if out.success() {
            Some(out.stdout_str().trim_end_matches('\n').to_string())
        } else {
            None
        })
    }

    /// Applies all `ops` in one `uci batch` process (staged, not committed).
    pub fn batch(&self, ops: &[Op]) -> ApiResult<()> {
        let mut script = String::new();
        for op in ops {
            let (verb, ptr, val) = match op {
                Op::Set(p, v) => ("set", p, Some(v)),
                Op::AddList(p, v) => ("add_list", p, Some(v)),
                Op::Delete(p) => ("delete", p, None),
            };
            check_ptr(ptr)?;
            match val {
                Some(v) if !valid_value(v) => {
                    return Err(ApiError::internal(format!(
                        "refusing uci value for {ptr}: control characters"
                    )));
                }
                Some(v) => script.push_str(&format!("{verb} {ptr}={}\n", quote(v))),
                None => script.push_str(&format!("{verb} {ptr}\n")),
            }
        }
        // `uci batch` keeps going after a failed line; a delete of an unset option fails harmlessly,
        // so callers verify the result by re-reading rather than trusting the exit status.
        let out = run(self.root, &self.cmd(&["batch"]).stdin(script))
            .map_err(|e| ApiError::internal(format!("uci batch: {e}")))?;
        if out.success() || ops.iter().all(|o| matches!(o, Op::Delete(_))) {
            Ok(())
        } else {
            Err(ApiError::internal(format!(
                "uci batch failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    pub fn set(&self, ptr: &str, value: &str) -> ApiResult<()> {
        self.batch(&[Op::Set(ptr.into(), value.into())])
    }

    pub fn add_list(&self, ptr: &str, value: &str) -> ApiResult<()> {
        self.batch(&[Op::AddList(ptr.into(), value.into())])
    }

    pub fn delete(&self, ptr: &str) -> ApiResult<()> {
        self.batch(&[Op::Delete(ptr.into())])
    }

    pub fn commit(&self, config: &str) -> ApiResult<()> {
        check_name(config)?;
        run_ok(self.root, &self.cmd(&["commit", config])).map(|_| ())
    }

    /// Drops uncommitted changes of `config`.
    pub fn revert(&self, config: &str) -> ApiResult<()> {
        check_name(config)?;
        run_ok(self.root, &self.cmd(&["revert", config])).map(|_| ())
    }
}

fn check_name(config: &str) -> ApiResult<()> {
    if valid_name(config) {
        Ok(())
    } else {
        Err(ApiError::internal(format!(
            "invalid uci config name {config:?}"
        )))
    }
}

fn check_ptr(ptr: &str) -> ApiResult<()> {
    if valid_ptr(ptr) {
        Ok(())
    } else {
        Err(ApiError::internal(format!("invalid uci path {ptr:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_and_quoting() {
        assert!(valid_ptr("network.wan1.multipath"));
        assert!(valid_ptr("network.wan1"));
        assert!(!valid_ptr("network"));
        assert!(!valid_ptr("network.wan1.a.b"));
        assert!(!valid_ptr("network.wan1;reboot"));
        assert!(!valid_ptr("network..x"));
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert!(!valid_value("a\nset network.lan.proto=none"));
    }
}
