//! UCI configuration. Reads parse the config files (plus uncommitted deltas) in-process: no child
//! process on the hot read path. Writes go through the real `uci` CLI ([`cli`]), never by editing
//! files, so OpenWrt's own locking and formats apply.

pub mod cli;
pub mod file;
pub mod show;

use super::Root;
use crate::error::{ApiError, ApiResult};

pub use cli::Uci;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    One(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Named sections keep their name; anonymous ones get uci's `cfgXXXXXX`-style name from
    /// `uci show`, or `@type[i]` when read from the file.
    pub name: String,
    pub stype: String,
    pub options: Vec<(String, Value)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub sections: Vec<Section>,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::One(s) => Some(s),
            Value::List(_) => None,
        }
    }
    /// A list, or a single value seen as a one-element list (uci accepts both for list options).
    pub fn items(&self) -> Vec<&str> {
        match self {
            Value::One(s) => s.split_whitespace().collect(),
            Value::List(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

impl Section {
    pub fn new(name: &str, stype: &str) -> Section {
        Section {
            name: name.into(),
            stype: stype.into(),
            options: Vec::new(),
        }
    }
    pub fn value(&self, opt: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| k == opt).map(|(_, v)| v)
    }
    pub fn get(&self, opt: &str) -> Option<&str> {
        self.value(opt).and_then(Value::as_str)
    }
    pub fn list(&self, opt: &str) -> Vec<&str> {
        self.value(opt).map(Value::items).unwrap_or_default()
    }
    pub fn set(&mut self, opt: &str, v: Value) {
        match self.options.iter_mut().find(|(k, _)| k == opt) {
            Some(slot) => slot.1 = v,
            None => self.options.push((opt.to_string(), v)),
        }
    }
    pub fn unset(&mut self, opt: &str) {
        self.options.retain(|(k, _)| k != opt);
    }
}

impl Config {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
    pub fn section_mut(&mut self, name: &str) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.name == name)
    }
    pub fn get(&self, section: &str, opt: &str) -> Option<&str> {
        self.section(section)?.get(opt)
    }
    pub fn of_type<'a>(&'a self, stype: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.stype == stype)
    }
}

/// A config name as uci accepts it; anything else never reaches a path or an argument.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A config file that cannot be read or parsed: which file, which line, why. Read actions put it
/// in their answer beside the blocks that did not need the file (the same object in every action);
/// writes refuse with it (409 `config_unparseable`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    pub code: &'static str,
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    fn new(file: String, reason: &str) -> ConfigError {
        // The parser's errors start with `line N: ` (file::parse).
        let line = reason
            .strip_prefix("line ")
            .and_then(|r| r.split_once(':'))
            .and_then(|(n, _)| n.parse().ok());
        let reason = match line {
            Some(_) => reason.split_once(": ").map(|x| x.1).unwrap_or(reason),
            None => reason,
        };
        let message = match line {
            Some(n) => format!("{file} line {n}: {reason}"),
            None => format!("{file}: {reason}"),
        };
        ConfigError {
            code: "config_unparseable",
            file,
            line,
            message,
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> ApiError {
        ApiError::new(409, "config_unparseable", e.message)
    }
}

/// Reads `/etc/config/<name>` with the uncommitted changes of `/tmp/.uci/<name>` applied, as
/// `uci show` would report it. A missing config is an empty one.
pub fn load(root: &Root, name: &str) -> ApiResult<Config> {
    if !valid_name(name) {
        return Err(ApiError::internal(format!(
            "invalid uci config name {name:?}"
        )));
    }
    read(root, name).map_err(ApiError::from)
}

/// [`load`] with the failure kept as a [`ConfigError`] (for answers that report it per block).
pub fn read(root: &Root, name: &str) -> Result<Config, ConfigError> {
    let file = format!("/etc/config/{name}");
    if !valid_name(name) {
        return Err(ConfigError::new(file, "invalid config name"));
    }
    let text = match root.read(&file, 1 << 20) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ConfigError::new(file, &format!("cannot read: {e}"))),
    };
    let mut cfg = file::parse(&text).map_err(|e| ConfigError::new(file.clone(), &e))?;
    if let Ok(delta) = root.read(&format!("/tmp/.uci/{name}"), 1 << 20) {
        file::apply_delta(&mut cfg, name, &delta);
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_file_and_line() {
        let e = ConfigError::new("/etc/config/network".into(), "line 3: cannot parse \">\"");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.message, "/etc/config/network line 3: cannot parse \">\"");
        let api = ApiError::from(e);
        assert_eq!((api.status, api.code), (409, "config_unparseable"));
    }
}
