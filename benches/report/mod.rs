//! The one output format every benchmark prints, so `benches/run.sh` can gather all of them into
//! docs/benchmarks.md (the human-readable lines a bench prints besides stay as they are).
//! Include it with `#[path = "report/mod.rs"] mod report;` (`"../report/mod.rs"` from a
//! subdirectory); it lives in a directory of its own so cargo does not take it for a bench.
//!
//! ```text
//! BENCH-ABOUT <bench> <free text: what is measured, how, against what>
//! BENCH <bench>.<figure> <value> <unit> baseline=<baseline-name> <baseline-value> ratio=<value/baseline> budget=<budget> [# note]
//! ```
//! - Always 8 whitespace-separated fields before the optional `# note` (free text to the end of
//!   the line); names and units contain no spaces.
//! - `<bench>` is the cargo bench name (the part before the first `.`); run.sh makes one table
//!   per bench, in the order the lines come.
//! - The baseline is measured in the same run, on the same machine (predecessor pipelines,
//!   vnStat's daemon, a do-nothing CGI under the same uhttpd, the exec floor, …), in the same
//!   unit. A figure with no meaningful baseline (a count of child processes, a DB size) prints
//!   `baseline=none - ratio=-`.
//! - `budget=` states the limit DESIGN §11 (or the issue) sets, e.g. `ratio<=1.5`, `value<=5`,
//!   `value==0`; `-` when there is none. run.sh checks it and marks the row ok / OVER.
#![allow(dead_code)]

/// Explains a bench in one line (the text under its heading in docs/benchmarks.md).
pub fn about(bench: &str, text: &str) {
    println!("BENCH-ABOUT {bench} {}", one_line(text));
}

/// One figure measured against a baseline from the same run.
pub fn vs(
    name: &str,
    value: f64,
    unit: &str,
    base: &str,
    base_value: f64,
    budget: &str,
    note: &str,
) {
    let ratio = if base_value != 0.0 {
        fmt(value / base_value)
    } else {
        "-".into()
    };
    line(
        name,
        value,
        unit,
        base,
        &fmt(base_value),
        &ratio,
        budget,
        note,
    );
}

/// One figure with no meaningful baseline (a count, a size).
pub fn abs(name: &str, value: f64, unit: &str, budget: &str, note: &str) {
    line(name, value, unit, "none", "-", "-", budget, note);
}

#[allow(clippy::too_many_arguments)]
fn line(
    name: &str,
    value: f64,
    unit: &str,
    base: &str,
    base_value: &str,
    ratio: &str,
    budget: &str,
    note: &str,
) {
    assert!(
        !name.contains(char::is_whitespace) && !unit.contains(char::is_whitespace),
        "bench names and units contain no spaces: {name:?} {unit:?}"
    );
    let budget = if budget.is_empty() { "-" } else { budget };
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(" # {}", one_line(note))
    };
    println!(
        "BENCH {name} {} {unit} baseline={base} {base_value} ratio={ratio} budget={budget}{note}",
        fmt(value)
    );
}

/// Four significant digits, no exponent, no trailing zeros.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    let decimals = if a >= 1000.0 || a == 0.0 {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else {
        4
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
