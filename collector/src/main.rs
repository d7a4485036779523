//! The collector daemon (built in the collector issue).
fn main() {}
