//! The Prometheus text exposition format, version 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>): one `# HELP` and one
//! `# TYPE` line per metric family, then its samples, each family contiguous. Label values are
//! escaped (`\` → `\\`, `"` → `\"`, newline → `\n`): hostnames and WAN labels are
//! attacker-controlled text. HELP text escapes `\` and newline.

use std::fmt::Write as _;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// One sample: label pairs (names are ours, values escaped when written) and the value.
pub type Sample = (Vec<(&'static str, String)>, f64);

#[derive(Default)]
pub struct Exposition {
    out: String,
    /// Family names written, in order (a test checks the dashboard against them).
    pub families: Vec<&'static str>,
}

pub fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` is what Prometheus parses; Rust's shortest
/// round-trip `Display` is accepted by its parser too (`1e-7` is written `0.0000001`).
fn value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

impl Exposition {
    /// Writes a whole family. `name` carries `_total` for counters (the 0.0.4 TYPE line names
    /// the sample name). A family without samples still gets its HELP and TYPE lines.
    pub fn family(&mut self, name: &'static str, kind: Kind, help: &str, samples: &[Sample]) {
        debug_assert!(name.starts_with("jammonitor_"));
        debug_assert_eq!(kind == Kind::Counter, name.ends_with("_total"));
        self.families.push(name);
        let _ = write!(self.out, "# HELP {name} ");
        escape_help(help, &mut self.out);
        let _ = writeln!(
            self.out,
            "\n# TYPE {name} {}",
            match kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
            }
        );
        for (labels, v) in samples {
            self.out.push_str(name);
            if !labels.is_empty() {
                self.out.push('{');
                for (i, (k, val)) in labels.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str(k);
                    self.out.push_str("=\"");
                    escape_label(val, &mut self.out);
                    self.out.push('"');
                }
                self.out.push('}');
            }
            self.out.push(' ');
            value(*v, &mut self.out);
            self.out.push('\n');
        }
    }

    /// A family of one unlabelled sample, or of none when the value is not known.
    pub fn single(&mut self, name: &'static str, kind: Kind, help: &str, v: Option<f64>) {
        let samples: Vec<Sample> = v.map(|v| (Vec::new(), v)).into_iter().collect();
        self.family(name, kind, help, &samples);
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out.into_bytes()
    }

    pub fn as_str(&self) -> &str {
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_layout() {
        let mut e = Exposition::default();
        e.family(
            "jammonitor_wan_up",
            Kind::Gauge,
            "up\\down\nnext",
            &[
                (
                    vec![("wan", "wan1".into()), ("label", "a\"b\\c\nd}".into())],
                    1.0,
                ),
                (vec![("wan", "wan2".into())], 0.0),
            ],
        );
        e.single("jammonitor_x_bytes_total", Kind::Counter, "x", Some(1.5e12));
        e.single("jammonitor_y", Kind::Gauge, "y", None);
        e.single("jammonitor_z", Kind::Gauge, "z", Some(f64::NAN));
        assert_eq!(
            e.as_str(),
            "# HELP jammonitor_wan_up up\\\\down\\nnext\n# TYPE jammonitor_wan_up gauge\n\
             jammonitor_wan_up{wan=\"wan1\",label=\"a\\\"b\\\\c\\nd}\"} 1\n\
             jammonitor_wan_up{wan=\"wan2\"} 0\n\
             # HELP jammonitor_x_bytes_total x\n# TYPE jammonitor_x_bytes_total counter\n\
             jammonitor_x_bytes_total 1500000000000\n\
             # HELP jammonitor_y y\n# TYPE jammonitor_y gauge\n\
             # HELP jammonitor_z z\n# TYPE jammonitor_z gauge\njammonitor_z NaN\n"
        );
        assert_eq!(
            e.families,
            [
                "jammonitor_wan_up",
                "jammonitor_x_bytes_total",
                "jammonitor_y",
                "jammonitor_z"
            ]
        );
    }
}
