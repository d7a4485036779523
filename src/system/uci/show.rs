//! Parser for `uci show <config>` output (`cfg.sec=type`, `cfg.sec.opt='v'`, lists as several
//! quoted words). Used to verify writes through the real tool's eyes.

use super::file::tokens;
use super::{Config, Section, Value};

pub fn parse(config_name: &str, text: &str) -> Result<Config, String> {
    let mut cfg = Config::default();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (ptr, raw) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: no '='", n + 1))?;
        let mut parts = ptr.splitn(3, '.');
        if parts.next() != Some(config_name) {
            return Err(format!("line {}: not in config {config_name}", n + 1));
        }
        let sec = parts
            .next()
            .ok_or_else(|| format!("line {}: no section", n + 1))?;
        let vals = tokens(raw).map_err(|e| format!("line {}: {e}", n + 1))?;
        match parts.next() {
            None => cfg.sections.push(Section::new(
                sec,
                vals.first().map(String::as_str).unwrap_or(""),
            )),
            Some(opt) => {
                let s = cfg
                    .section_mut(sec)
                    .ok_or_else(|| format!("line {}: option before its section", n + 1))?;
                let v = if vals.len() == 1 {
                    Value::One(vals[0].clone())
                } else {
                    Value::List(vals)
                };
                s.set(opt, v);
            }
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_show_output() {
        let cfg = super::parse(
            "network",
            "network.wan1=interface\nnetwork.wan1.label='it'\\''s'\nnetwork.wan1.dns='1.1.1.1' '9.9.9.9'\n",
        )
        .unwrap();
        assert_eq!(cfg.get("wan1", "label"), Some("it's"));
        assert_eq!(
            cfg.section("wan1").unwrap().list("dns"),
            ["1.1.1.1", "9.9.9.9"]
        );
        assert!(super::parse("network", "dhcp.x=y\n").is_err());
    }
}
