//! The `uci show <config>` output parser. The config name is whatever the input's first line
//! starts with (up to the first `.` or `=`), so any config's output is a useful seed.
//! Property beyond "no panic": a parsed config printed back the way `uci show` prints it
//! (values single-quoted, lists as several quoted words) parses to the same config.
#![no_main]

use jammonitor::system::uci::{Config, Value, show};
use libfuzzer_sys::fuzz_target;

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn show_text(cfg: &Config, name: &str) -> String {
    let mut out = String::new();
    for s in &cfg.sections {
        out += &format!("{name}.{}={}\n", s.name, q(&s.stype));
        for (k, v) in &s.options {
            let v = match v {
                Value::One(v) => q(v),
                Value::List(l) => l.iter().map(|v| q(v)).collect::<Vec<_>>().join(" "),
            };
            out += &format!("{name}.{}.{k}={v}\n", s.name);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let name = text.split(['.', '=', '\n']).next().unwrap_or("");
    if let Ok(cfg) = show::parse(name, &text) {
        for s in &cfg.sections {
            assert!(!s.name.contains(['.', '=']), "section name {:?}", s.name);
            for (k, v) in &s.options {
                assert!(!k.contains('='), "option name {k:?}");
                let _ = (s.get(k), s.list(k), v.items());
            }
        }
        let again = show_text(&cfg, name);
        assert_eq!(
            show::parse(name, &again).as_ref(),
            Ok(&cfg),
            "printed:\n{again}"
        );
    }
});
