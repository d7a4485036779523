//! Parser for the UCI file syntax (`/etc/config/*`) and for uci's delta files (`/tmp/.uci/*`),
//! following libuci's rules: tokens may mix unquoted, 'single' and "double" quoted parts,
//! backslash escapes outside single quotes, `#` starts a comment between tokens.

use super::{Config, Section, Value};

/// Splits one line into tokens. Errors on an unterminated quote.
pub fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') => return Ok(out),
            _ => {}
        }
        let mut tok = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => tok.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x) => tok.push(x),
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(x) => tok.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                },
                '\\' => {
                    if let Some(x) = chars.next() {
                        tok.push(x);
                    }
                }
                _ => tok.push(c),
            }
        }
        out.push(tok);
    }
}

/// Parses a config file. Anonymous sections are named `@type[i]`.
pub fn parse(text: &str) -> Result<Config, String> {
    let mut cfg = Config::default();
    let mut current: Option<usize> = None;
    // libuci joins a line ending in a backslash with the next one.
    let mut joined = String::new();
    for (n, raw) in text.lines().enumerate() {
        if let Some(head) = raw.strip_suffix('\\') {
            joined.push_str(head);
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        let toks = tokens(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let Some(keyword) = toks.first() else {
            continue;
        };
        match (keyword.as_str(), toks.len()) {
            ("package", _) => {}
            ("config", 2) | ("config", 3) => {
                let stype = toks[1].clone();
                let name = match toks.get(2) {
                    Some(name) => name.clone(),
                    None => format!("@{stype}[{}]", cfg.of_type(&stype).count()),
                };
                // A repeated named section merges into the first, as libuci does.
                current = Some(match cfg.sections.iter().position(|s| s.name == name) {
                    Some(i) => i,
                    None => {
                        cfg.sections.push(Section::new(&name, &stype));
                        cfg.sections.len() - 1
                    }
                });
            }
            ("option", 3) | ("list", 3) => {
                let sec = current
                    .and_then(|i| cfg.sections.get_mut(i))
                    .ok_or_else(|| format!("line {}: {keyword} outside a section", n + 1))?;
                if keyword == "option" {
                    sec.set(&toks[1], Value::One(toks[2].clone()));
                } else {
                    push_list(sec, &toks[1], toks[2].clone());
                }
            }
            _ => return Err(format!("line {}: cannot parse {:?}", n + 1, keyword)),
        }
    }
    Ok(cfg)
}

fn push_list(sec: &mut Section, opt: &str, v: String) {
    match sec.options.iter_mut().find(|(k, _)| k == opt) {
        Some((_, Value::List(l))) => l.push(v),
        Some(slot) => slot.1 = Value::List(vec![v]),
        None => sec.options.push((opt.to_string(), Value::List(vec![v]))),
    }
}

/// Applies the uncommitted changes recorded by `uci -P` (libuci delta.c command prefixes:
/// none=set, `-` remove, `+` add section, `|` list add, `~` list delete, `@` rename, `^` reorder).
/// Unparseable lines are skipped, as libuci does.
pub fn apply_delta(cfg: &mut Config, config_name: &str, delta: &str) {
    for line in delta.lines() {
        let (cmd, rest) = match line.chars().next() {
            Some(c @ ('-' | '+' | '|' | '~' | '@' | '^')) => (c, &line[1..]),
            Some(_) => (' ', line),
            None => continue,
        };
        let (ptr, value) = match rest.split_once('=') {
            Some((p, v)) => (p, tokens(v).ok().and_then(|t| t.into_iter().next())),
            None => (rest, None),
        };
        let mut parts = ptr.splitn(3, '.');
        if parts.next() != Some(config_name) {
            continue;
        }
        let Some(sec) = parts.next() else { continue };
        let opt = parts.next();
        match (cmd, opt, value) {
            (' ' | '+', None, Some(stype)) => match cfg.section_mut(sec) {
                Some(s) => s.stype = stype,
                None => cfg.sections.push(Section::new(sec, &stype)),
            },
            (' ', Some(o), Some(v)) => {
                if let Some(s) = cfg.section_mut(sec) {
                    s.set(o, Value::One(v));
                }
            }
            ('-', None, _) => cfg.sections.retain(|s| s.name != sec),
            ('-', Some(o), _) => {
                if let Some(s) = cfg.section_mut(sec) {
                    s.unset(o);
                }
            }
            ('|', Some(o), Some(v)) => {
                if let Some(s) = cfg.section_mut(sec) {
                    push_list(s, o, v);
                }
            }
            ('~', Some(o), Some(v)) => {
                if let Some(Value::List(l)) = cfg
                    .section_mut(sec)
                    .and_then(|s| s.options.iter_mut().find(|(k, _)| k == o))
                    .map(|x| &mut x.1)
                {
                    l.retain(|x| *x != v);
                }
            }
            ('@', None, Some(new)) => {
                if let Some(s) = cfg.section_mut(sec) {
                    s.name = new;
                }
            }
            ('@', Some(o), Some(new)) => {
                if let Some(slot) = cfg
                    .section_mut(sec)
                    .and_then(|s| s.options.iter_mut().find(|(k, _)| k == o))
                {
                    slot.0 = new;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_follows_libuci_quoting() {
        assert_eq!(tokens(r#"option a 'x y'"#).unwrap(), ["option", "a", "x y"]);
        assert_eq!(
            tokens(r#"option a "x\"y""#).unwrap(),
            ["option", "a", "x\"y"]
        );
        assert_eq!(
            tokens(r#"option a 'it'\''s'"#).unwrap(),
            ["option", "a", "it's"]
        );
        assert_eq!(
            tokens("option a b # comment").unwrap(),
            ["option", "a", "b"]
        );
        assert_eq!(tokens("  # only").unwrap(), Vec::<String>::new());
        assert!(tokens("option a 'open").is_err());
    }

    #[test]
    fn parses_sections_options_lists() {
        let cfg = parse(
            "config interface 'wan1'\n\toption device 'lan1'\n\tlist dns '1.1.1.1'\n\tlist dns '9.9.9.9'\n\n\
             config host\n\toption mac 'aa'\nconfig host\n\toption mac 'bb'\n",
        )
        .unwrap();
        assert_eq!(cfg.get("wan1", "device"), Some("lan1"));
        assert_eq!(
            cfg.section("wan1").unwrap().list("dns"),
            ["1.1.1.1", "9.9.9.9"]
        );
        assert_eq!(cfg.get("@host[1]", "mac"), Some("bb"));
        assert!(parse("option a b\n").is_err());
        assert!(parse("config a b\nbogus x\n").is_err());
    }

    #[test]
    fn deltas_apply_like_uci() {
        let mut cfg =
            parse("config interface 'wan1'\n\toption multipath 'on'\n\tlist dns 'a'\n").unwrap();
        apply_delta(
            &mut cfg,
            "network",
            "network.wan1.multipath='master'\n|network.wan1.dns='b'\n~network.wan1.dns='a'\n\
             network.wan9=interface\nnetwork.wan9.proto='dhcp'\n-network.wan1.gone\nother.wan1.x='y'\n",
        );
        assert_eq!(cfg.get("wan1", "multipath"), Some("master"));
        assert_eq!(cfg.section("wan1").unwrap().list("dns"), ["b"]);
        assert_eq!(cfg.get("wan9", "proto"), Some("dhcp"));
        assert_eq!(cfg.get("wan1", "x"), None);
        apply_delta(&mut cfg, "network", "-network.wan9\n");
        assert!(cfg.section("wan9").is_none());
    }
}
