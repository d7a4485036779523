//! The UCI file parser (`/etc/config/*`), its tokenizer and the delta (`/tmp/.uci/*`) applier.
//!
//! Input: the config file, then optionally a NUL byte and a delta for the config `network`.
//! Properties beyond "no panic": quoting a token list and re-tokenizing it gives it back; a
//! config that parses, written back in a canonical form (every section named, every token
//! single-quoted), parses to the same config; written as a delta and applied to an empty
//! config, it gives the same config too.
#![no_main]

use jammonitor::system::uci::file::{apply_delta, parse, tokens};
use jammonitor::system::uci::{Config, Value};
use libfuzzer_sys::fuzz_target;

/// libuci's quoting: single quotes, a quote inside as `'\''`.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn canonical_file(cfg: &Config) -> String {
    let mut out = String::new();
    for s in &cfg.sections {
        out += &format!("config {} {}\n", q(&s.stype), q(&s.name));
        for (k, v) in &s.options {
            match v {
                Value::One(v) => out += &format!("\toption {} {}\n", q(k), q(v)),
                Value::List(l) => {
                    for v in l {
                        out += &format!("\tlist {} {}\n", q(k), q(v));
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

fn canonical_delta(cfg: &Config, name: &str) -> String {
    let mut out = String::new();
    for s in &cfg.sections {
        out += &format!("+{name}.{}={}\n", s.name, q(&s.stype));
        for (k, v) in &s.options {
            match v {
                Value::One(v) => out += &format!("{name}.{}.{k}={}\n", s.name, q(v)),
                Value::List(l) => {
                    for v in l {
                        out += &format!("|{name}.{}.{k}={}\n", s.name, q(v));
                    }
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (file, delta) = text.split_once('\0').unwrap_or((&text, ""));

    for line in file.lines().take(64) {
        if let Ok(toks) = tokens(line) {
            let again = toks.iter().map(|t| q(t)).collect::<Vec<_>>().join(" ");
            assert_eq!(tokens(&again).as_ref(), Ok(&toks), "requoted {again:?}");
        }
    }

    let parsed = parse(file);
    if let Ok(cfg) = &parsed {
        for s in &cfg.sections {
            for (k, v) in &s.options {
                assert!(
                    !matches!(v, Value::List(l) if l.is_empty()),
                    "empty list {k}"
                );
                let _ = (s.get(k), s.list(k), v.items());
            }
        }
        let names_unique = cfg
            .sections
            .iter()
            .enumerate()
            .all(|(i, s)| cfg.sections[..i].iter().all(|t| t.name != s.name));
        if names_unique {
            let canon = canonical_file(cfg);
            assert_eq!(parse(&canon).as_ref(), Ok(cfg), "canonical file:\n{canon}");
            let plain = cfg.sections.iter().all(|s| {
                !s.name.contains(['.', '=']) && s.options.iter().all(|(k, _)| !k.contains('='))
            });
            if plain {
                let d = canonical_delta(cfg, "fz");
                let mut rebuilt = Config::default();
                apply_delta(&mut rebuilt, "fz", &d);
                assert_eq!(&rebuilt, cfg, "canonical delta:\n{d}");
            }
        }
    }

    let mut cfg = parsed.unwrap_or_default();
    apply_delta(&mut cfg, "network", delta);
    for s in &cfg.sections {
        for (k, v) in &s.options {
            let _ = (s.get(k), s.list(k), v.items(), v.as_str());
        }
    }
    let _ = cfg.of_type("interface").count();
});
