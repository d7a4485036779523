//! Redaction of secrets from diagnostic text (DESIGN §6, issue 15), and the re-scan that refuses a
//! bundle when anything secret-shaped survives.
//!
//! [`redact`] works line by line (with state for multi-line blocks) on any text the bundle holds:
//! UCI files (`option key 'v'`, quoted, unquoted, multi-line), `uci show` output
//! (`wireless.@wifi-iface[0].key='v'`, lists `'a' 'b'`), `name=value` / `name: value` /
//! `"name": "value"` in config files, JSON and command output, plus value shapes wherever they are
//! (JWTs, Bearer tokens, Tailscale keys and login URLs, `user:password@` in URLs, proxy URIs,
//! PEM private keys, OpenVPN inline `<key>`/`<tls-auth>`/`<tls-crypt>` blocks, well-known token
//! prefixes). What is secret and what stays is listed in docs/redaction.md.
//!
//! Every detector reports an *edit* (a span and its replacement). [`redact`] applies them;
//! [`scan`] runs the very same detectors and reports every edit that would still change
//! something, plus generic detectors the redactor does not apply (a long random-looking token in
//! free text): so `scan(redact(x))` is empty unless a generic detector fires, and a bundle whose
//! re-scan finds anything is refused. Findings carry a line number and a detector name, never
//! the matched text.
//!
//! Properties (tests/fuzz `redact`): never panics; `redact(redact(x)) == redact(x)`; each edit
//! replaces at least one byte by at most `MARK.len() + 2` bytes, so the output is at most
//! `12 × input + 12` bytes (in practice redaction shortens).

/// What a removed value becomes. It contains no quote, `=`, `:` or space, so no detector sees
/// a name or a value in it, which is what makes redaction idempotent.
pub const MARK: &str = "<redacted>";

/// A secret-shaped span the re-scan found (1-based line, detector name; never the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub line: usize,
    pub detector: &'static str,
}

/// The text with every secret the detectors know replaced by [`MARK`].
pub fn redact(text: &str) -> String {
    process(text, false).0
}

/// Secret-shaped spans left in `text`: the redactor's detectors (anything they would still
/// change) plus the generic ones. Empty for a text fit to leave the router.
pub fn scan(text: &str) -> Vec<Finding> {
    let (_, mut found) = process(text, true);
    for (i, line) in text.split('\n').enumerate() {
        if random_token_in_free_text(line) {
            found.push(Finding {
                line: i + 1,
                detector: "high-entropy token",
            });
        }
    }
    found.sort_by_key(|f| f.line);
    found.dedup();
    found
}

// ------------------------------------------------------------------------------------------------
// Names

/// The option/key name reduced to compare: the last dotted component (`uci show` paths), lower
/// case, without `_ - . space` and quotes.
fn norm(name: &str) -> String {
    let last = name.rsplit('.').find(|s| !s.is_empty()).unwrap_or(name);
    last.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Names whose values are public by construction (and stay even when they look random).
const PUBLIC: &[&str] = &[
    "publickey",
    "pubkey",
    "public",
    "peer",
    "nodekey",
    "machinekey",
    "discokey",
    "uuid",
    "duid",
    "hostid",
    "fingerprint",
    "serial",
    "ulaprefix",
    "macaddr",
    "bssid",
];

/// Suffixes that name metadata about a secret, not the secret (`key_mgmt`, `token_error`).
const NOT_SECRET_SUFFIX: &[&str] = &[
    "mgmt", "error", "errors", "file", "path", "type", "timeout", "len", "length", "interval",
    "enabled", "enable", "disabled", "size", "bits", "expiry", "expires", "set",
];

const SECRET_EXACT: &[&str] = &[
    "key",
    "key1",
    "key2",
    "key3",
    "key4",
    "pass",
    "pw",
    "pwd",
    "psk",
    "wgkey",
    "shortid",
    "authorization",
    "proxyauthorization",
    "cookie",
    "setcookie",
    "sysauth",
    "sid",
    "paramenc",
    "authuserpass",
    "ubusrpcsession",
];

const SECRET_PART: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "privatekey",
    "privkey",
    "presharedkey",
    "apikey",
    "authkey",
    "accesskey",
    "credential",
    "psk",
    "userid",
];

fn is_public_name(n: &str) -> bool {
    PUBLIC.contains(&n) || n.ends_with("publickey") || n.ends_with("pubkey")
}

/// Is an option/key of this (normalized) name a secret?
fn secret_name(n: &str) -> bool {
    if n.is_empty() || is_public_name(n) || NOT_SECRET_SUFFIX.iter().any(|s| n.ends_with(s)) {
        return false;
    }
    SECRET_EXACT.contains(&n)
        || SECRET_PART.iter().any(|p| n.contains(p))
        || (n.ends_with("key") && n != "monkey" && n != "hotkey")
}

/// Names whose value runs to the end of the line (`Authorization: Basic xxx`).
fn whole_line_name(n: &str) -> bool {
    matches!(
        n,
        "authorization" | "proxyauthorization" | "cookie" | "setcookie"
    )
}

// ------------------------------------------------------------------------------------------------
// Value shapes

fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn b64ish(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-')
}

/// A long random-looking value: a key, a token or a generated password (base64/base64url with
/// upper, lower and digits, or 32+ hex digits).
pub fn looks_random(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() >= 32 && b.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    b.len() >= 24
        && b.iter().all(|&c| b64ish(c))
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_digit)
        && entropy(v) >= 3.8
}

/// The scanner-only generic detector: a token of 32+ base64 characters with upper, lower and
/// digits anywhere in a line (free text included), unless the line speaks of public keys or peers
/// (WireGuard `peer:`/`public key:` lines). The redactor does not apply it: in logs and command
/// output such a token is too often not a secret to remove silently, so the bundle is refused
/// and the user told where.
fn random_token_in_free_text(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    if ["public", "peer", "pubkey"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return false;
    }
    line.split(|c: char| !(c.is_ascii() && b64ish(c as u8)))
        .any(|t| {
            t.len() >= 32
                && !t.starts_with('/')
                && !t.contains("//")
                && t.bytes().any(|c| c.is_ascii_lowercase())
                && t.bytes().any(|c| c.is_ascii_uppercase())
                && t.bytes().any(|c| c.is_ascii_digit())
                && entropy(t) >= 4.0
        })
}

// ------------------------------------------------------------------------------------------------
// Edits on one line

#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    with: String,
    detector: &'static str,
}

fn name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'@' | b'[' | b']' | b'-')
}

/// A quoted value starting at `i` (the quote): the end (exclusive, after the closing quote) or
/// `None` when it is not closed on this line. `uci show` lists (`'a' 'b'`) count as one value.
fn quoted_end(b: &[u8], i: usize, lists: bool) -> Option<usize> {
    let q = b[i];
    let mut j = i + 1;
    loop {
        while j < b.len() && b[j] != q {
            if q == b'"' && b[j] == b'\\' {
                j += 1;
            }
            j += 1;
        }
        if j >= b.len() {
            return None;
        }
        j += 1; // past the closing quote
        // shell-style continuation: 'it'\''s' and uci show lists 'a' 'b'
        if q == b'\'' && b.get(j) == Some(&b'\\') && b.get(j + 1) == Some(&b'\'') {
            j += 2;
            if b.get(j) == Some(&b'\'') {
                j += 1;
                continue;
            }
            return Some(j);
        }
        if lists && q == b'\'' && b.get(j) == Some(&b' ') && b.get(j + 1) == Some(&b'\'') {
            j += 2;
            continue;
        }
        return Some(j);
    }
}

/// The value that starts at `i`: (start, end, quote) — the span excludes the quotes of a single
/// quoted string; `open` when a quote is not closed on this line.
struct Value {
    start: usize,
    end: usize,
    quote: Option<u8>,
    open: bool,
}

fn value_at(b: &[u8], i: usize, to_eol: bool) -> Option<Value> {
    if i >= b.len() {
        return None;
    }
    if matches!(b[i], b'\'' | b'"') {
        let q = b[i];
        return Some(match quoted_end(b, i, true) {
            Some(e) => Value {
                start: i,
                end: e,
                quote: Some(q),
                open: false,
            },
            None => Value {
                start: i,
                end: b.len(),
                quote: Some(q),
                open: true,
            },
        });
    }
    let mut e = i;
    if to_eol {
        e = b.len();
        while e > i && b[e - 1].is_ascii_whitespace() {
            e -= 1;
        }
    } else {
        while e < b.len() && !b[e].is_ascii_whitespace() {
            e += 1;
        }
        while e > i && matches!(b[e - 1], b',' | b';' | b')' | b'}' | b']' | b'\'' | b'"') {
            e -= 1;
        }
    }
    (e > i).then_some(Value {
        start: i,
        end: e,
        quote: None,
        open: false,
    })
}

/// The text a value span holds, without its quotes (for a quoted value: the first string).
fn inner<'a>(line: &'a str, v: &Value) -> &'a str {
    match v.quote {
        Some(_) if !v.open => {
            let s = &line[v.start + 1..v.end];
            // 'a' 'b' lists: judge by the whole; a single string: its content
            s.strip_suffix(['\'', '"']).unwrap_or(s)
        }
        Some(_) => &line[v.start + 1..],
        None => &line[v.start..v.end],
    }
}

fn replacement(v: &Value) -> String {
    match v.quote {
        Some(q) => {
            let q = q as char;
            format!("{q}{MARK}{q}")
        }
        None => MARK.to_string(),
    }
}

/// A secret value of a structured line continues on the next lines (quote not closed).
struct Open {
    quote: u8,
}

/// `option NAME VALUE` / `list NAME VALUE` (/etc/config syntax).
fn uci_file_line(line: &str, edits: &mut Vec<Edit>) -> Option<Open> {
    let b = line.as_bytes();
    let t = line.trim_start();
    let off = line.len() - t.len();
    let kw = if t.starts_with("option") {
        6
    } else if t.starts_with("list") {
        4
    } else {
        return None;
    };
    let mut i = off + kw;
    if i >= b.len() || !(b[i] == b' ' || b[i] == b'\t') {
        return None;
    }
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    let ns = i;
    let name_end = if i < b.len() && matches!(b[i], b'\'' | b'"') {
        quoted_end(b, i, false)?
    } else {
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let name = norm(&line[ns..name_end]);
    let mut j = name_end;
    while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
        j += 1;
    }
    let v = value_at(b, j, false)?;
    judge(line, &name, &v, edits, "uci option")
}

/// Decides a name/value pair: secret name → removed; random-looking value of a non-public name
/// → removed. Returns `Open` for a secret whose quoted value continues on the next lines.
fn judge(
    line: &str,
    name: &str,
    v: &Value,
    edits: &mut Vec<Edit>,
    det: &'static str,
) -> Option<Open> {
    let content = inner(line, v);
    if content.is_empty() && !v.open {
        return None;
    }
    if secret_name(name) {
        edits.push(Edit {
            start: v.start,
            end: v.end,
            with: replacement(v),
            detector: det,
        });
        return v.open.then_some(Open {
            quote: v.quote.unwrap_or(b'\''),
        });
    }
    if !is_public_name(name) && !v.open && looks_random(content) {
        edits.push(Edit {
            start: v.start,
            end: v.end,
            with: replacement(v),
            detector: "random-looking value",
        });
    }
    None
}

/// `name=value`, `name = value`, `name: value`, `"name": "value"` anywhere in the line.
fn pairs(line: &str, edits: &mut Vec<Edit>) -> Option<Open> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut open = None;
    while i < b.len() {
        let c = b[i];
        if c != b'=' && c != b':' {
            i += 1;
            continue;
        }
        let sep = i;
        i += 1;
        if covered(edits, sep) {
            continue;
        }
        if c == b'='
            && (b.get(sep + 1) == Some(&b'=')
                || (sep > 0 && matches!(b[sep - 1], b'=' | b'!' | b'<' | b'>')))
        {
            continue;
        }
        if c == b':' && b.get(sep + 1) == Some(&b'/') && b.get(sep + 2) == Some(&b'/') {
            continue;
        }
        // the name, backwards: spaces, an optional quote, name characters
        let mut k = sep;
        while k > 0 && (b[k - 1] == b' ' || b[k - 1] == b'\t') {
            k -= 1;
        }
        if k > 0 && matches!(b[k - 1], b'"' | b'\'') {
            k -= 1;
        }
        let name_end = k;
        while k > 0 && name_char(b[k - 1]) {
            k -= 1;
        }
        let mut name = norm(&line[k..name_end]);
        if name.is_empty() || !b[k].is_ascii_alphabetic() || name_end - k > 64 {
            continue;
        }
        // two words: "private key", "preshared key", "public key", "api token"
        if matches!(
            name.as_str(),
            "key" | "token" | "secret" | "password" | "id"
        ) && k >= 2
            && b[k - 1] == b' '
            && b[k - 2].is_ascii_alphabetic()
        {
            let mut w = k - 1;
            while w > 0 && b[w - 1].is_ascii_alphabetic() {
                w -= 1;
            }
            name = format!("{}{}", norm(&line[w..k - 1]), name);
        }
        let mut j = sep + 1;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let Some(v) = value_at(b, j, whole_line_name(&name)) else {
            continue;
        };
        let before = edits.len();
        if let Some(o) = judge(line, &name, &v, edits, "name=value") {
            open = Some(o);
            break;
        }
        if edits.len() > before {
            i = v.end;
        }
    }
    open
}

fn covered(edits: &[Edit], at: usize) -> bool {
    edits.iter().any(|e| e.start <= at && at < e.end)
}

fn push(edits: &mut Vec<Edit>, start: usize, end: usize, det: &'static str) {
    if end > start && !edits.iter().any(|e| e.start < end && start < e.end) {
        edits.push(Edit {
            start,
            end,
            with: MARK.to_string(),
            detector: det,
        });
    }
}

fn run_of(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    let mut e = from;
    while e < b.len() && ok(b[e]) {
        e += 1;
    }
    e
}

fn find_ci(hay: &str, needle: &str) -> Vec<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return Vec::new();
    }
    (0..=h.len() - n.len())
        .filter(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
        .collect()
}

fn urlsafe(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Value shapes found anywhere in a line.
fn shapes(line: &str, edits: &mut Vec<Edit>) {
    let b = line.as_bytes();
    // JWT: three base64url segments, the first a JSON object ("eyJ")
    for i in find_ci(line, "eyJ") {
        if &b[i..i + 3] != b"eyJ" || (i > 0 && urlsafe(b[i - 1])) {
            continue;
        }
        let e1 = run_of(b, i, urlsafe);
        if e1 - i < 10 || b.get(e1) != Some(&b'.') {
            continue;
        }
        let e2 = run_of(b, e1 + 1, urlsafe);
        if e2 - e1 - 1 < 2 || b.get(e2) != Some(&b'.') {
            continue;
        }
        let e3 = run_of(b, e2 + 1, urlsafe);
        push(edits, i, e3, "jwt");
    }
    // Bearer tokens
    for i in find_ci(line, "bearer") {
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let mut j = i + 6;
        let s = j;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if j == s {
            continue;
        }
        let e = run_of(b, j, |c| {
            c.is_ascii_alphanumeric() || b"._~+/=-".contains(&c)
        });
        if e - j >= 8 {
            push(edits, j, e, "bearer token");
        }
    }
    // Tailscale auth/API keys, login and registration URLs, private node keys
    for i in find_ci(line, "tskey-") {
        let e = run_of(b, i + 6, urlsafe);
        if e - i >= 10 {
            push(edits, i, e, "tailscale key");
        }
    }
    for (needle, det) in [
        ("login.tailscale.com/a/", "tailscale login url"),
        ("/register/nodekey:", "tailscale login url"),
        ("privkey:", "private node key"),
        ("nlpriv:", "private node key"),
    ] {
        for i in find_ci(line, needle) {
            let s = i + needle.len();
            let e = run_of(b, s, |c| c.is_ascii_alphanumeric());
            if e - s >= 6 {
                push(edits, s, e, det);
            }
        }
    }
    // Tokens of well-known services (prefix + body)
    for (prefix, min) in [
        ("ghp_", 20),
        ("gho_", 20),
        ("ghu_", 20),
        ("ghs_", 20),
        ("ghr_", 20),
        ("github_pat_", 20),
        ("glpat-", 16),
        ("xoxb-", 10),
        ("xoxp-", 10),
        ("xoxa-", 10),
        ("xoxr-", 10),
        ("xoxs-", 10),
        ("sk_live_", 16),
        ("rk_live_", 16),
        ("AKIA", 16),
        ("AIza", 30),
    ] {
        for i in find_ci(line, prefix) {
            if &b[i..i + prefix.len()] != prefix.as_bytes() || (i > 0 && urlsafe(b[i - 1])) {
                continue;
            }
            let e = run_of(b, i + prefix.len(), urlsafe);
            if e - i - prefix.len() >= min {
                push(edits, i, e, "service token");
            }
        }
    }
    // URLs: user:password@ and proxy URIs whose user part is the secret
    for i in find_ci(line, "://") {
        let mut s = i;
        while s > 0 && (b[s - 1].is_ascii_alphanumeric() || matches!(b[s - 1], b'+' | b'.' | b'-'))
        {
            s -= 1;
        }
        let scheme = line[s..i].to_ascii_lowercase();
        let a = i + 3;
        let auth_end = run_of(b, a, |c| {
            !c.is_ascii_whitespace() && !matches!(c, b'/' | b'\'' | b'"' | b'?' | b'#')
        });
        let at = line[a..auth_end].rfind('@').map(|p| a + p);
        let proxy = matches!(
            scheme.as_str(),
            "ss" | "ssr" | "vmess" | "vless" | "trojan" | "hysteria2" | "hy2" | "tuic" | "socks5"
        );
        match at {
            Some(at) if proxy => push(edits, a, at, "proxy uri"),
            Some(at) => {
                if let Some(c) = line[a..at].find(':') {
                    push(edits, a + c + 1, at, "url password");
                }
            }
            None if proxy && matches!(scheme.as_str(), "vmess" | "ssr") => {
                push(edits, a, auth_end, "proxy uri")
            }
            None => {}
        }
    }
}

/// One line: (the edits, and whether a secret quoted value stays open past it).
fn line_edits(line: &str) -> (Vec<Edit>, Option<Open>) {
    let mut edits = Vec::new();
    let mut open = uci_file_line(line, &mut edits);
    if open.is_none() && edits.is_empty() {
        open = pairs(line, &mut edits);
    } else if open.is_none() {
        // the option's own value is decided; name=value pairs elsewhere on the line still count
        let mut more = Vec::new();
        let _ = pairs(line, &mut more);
        for e in more {
            if !edits.iter().any(|x| x.start < e.end && e.start < x.end) {
                edits.push(e);
            }
        }
    }
    shapes(line, &mut edits);
    (edits, open)
}

fn apply(line: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for e in edits {
        if e.start < at {
            continue;
        }
        out.push_str(&line[at..e.start]);
        out.push_str(&e.with);
        at = e.end;
    }
    out.push_str(&line[at..]);
    out
}

// ------------------------------------------------------------------------------------------------
// Blocks and the whole text

const INLINE_TAGS: &[&str] = &[
    "key",
    "tls-auth",
    "tls-crypt",
    "tls-crypt-v2",
    "secret",
    "auth-user-pass",
    "http-proxy-user-pass",
    "pkcs12",
];

enum State {
    Normal,
    /// Inside a private PEM block: until `-----END`.
    Pem {
        first: usize,
        dirty: bool,
    },
    /// Inside an OpenVPN inline block: until `</tag>`.
    Inline {
        close: String,
        first: usize,
        dirty: bool,
    },
    /// Inside a secret quoted value: until the quote.
    Quote {
        quote: u8,
    },
}

/// The private PEM header in the line: (start of `-----BEGIN`, end of its closing `-----`).
/// A label is words (`RSA PRIVATE KEY`, `OpenVPN Static key V1`, `X9.42 DH PARAMETERS`): one
/// holding `=`, `<`, `/`… is text that merely contains the word BEGIN, and redacting a value in
/// it must not turn it into a header on the next pass (the fuzzer's `…KEYKey = <token>PublicKey`,
/// which became private once its value was gone: redaction was not idempotent).
/// Every `-----BEGIN ` of the line is tried, not only the first: a header after text that merely
/// says BEGIN is still a header (the fuzzer's `{"key":"…-----BEGIN EC PRv","…-----BEGIN EC
/// PRIVATE KEY-----`, found only once the first one had been redacted away).
fn pem_begin(line: &str) -> Option<(usize, usize)> {
    line.match_indices("-----BEGIN ").find_map(|(s, _)| {
        let rest = &line[s + 11..];
        let e = rest.find("-----")?;
        let label = &rest[..e];
        if !label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b' ' | b'.' | b'_' | b'-'))
        {
            return None;
        }
        let header = label.to_ascii_uppercase();
        let private =
            header.contains("PRIVATE") || (header.contains("KEY") && !header.contains("PUBLIC"));
        private.then_some((s, s + 11 + e + 5))
    })
}

/// An OpenVPN inline secret tag opening the line: (tag end, closing tag).
fn inline_open(line: &str) -> Option<(usize, String)> {
    let t = line.trim_start();
    let off = line.len() - t.len();
    let lower = t.to_ascii_lowercase();
    INLINE_TAGS.iter().find_map(|tag| {
        let open = format!("<{tag}>");
        lower
            .starts_with(&open)
            .then(|| (off + open.len(), format!("</{tag}>")))
    })
}

fn process(text: &str, scan_mode: bool) -> (String, Vec<Finding>) {
    let mut out: Vec<String> = Vec::new();
    let mut found = Vec::new();
    let mut state = State::Normal;
    // Lines still to handle: (1-based number, text); a fragment after a block's end comes back
    // here to be handled as a line of its own.
    let lines: Vec<&str> = text.split('\n').collect();
    let mut queue: std::collections::VecDeque<(usize, String)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    while let Some((no, line)) = queue.pop_front() {
        match state {
            State::Pem { first, dirty } => {
                if let Some(p) = line.find("-----END ") {
                    let dirty = dirty || !blank_or_mark(&line[..p]);
                    if dirty && scan_mode {
                        found.push(Finding {
                            line: first,
                            detector: "pem private key",
                        });
                    }
                    out.push(MARK.to_string());
                    let close = line[p + 9..]
                        .find("-----")
                        .map(|e| p + 9 + e + 5)
                        .unwrap_or(line.len());
                    let tail = handle_fragment(&line[close..], scan_mode, no, &mut found);
                    out.push(format!("{}{tail}", &line[p..close]));
                    state = State::Normal;
                } else {
                    state = State::Pem {
                        first,
                        dirty: dirty || !blank_or_mark(&line),
                    };
                }
                continue;
            }
            State::Inline {
                ref close,
                first,
                dirty,
            } => {
                let lower = line.to_ascii_lowercase();
                if let Some(p) = lower.find(close.as_str()) {
                    let dirty = dirty || !blank_or_mark(&line[..p]);
                    if dirty && scan_mode {
                        found.push(Finding {
                            line: first,
                            detector: "openvpn inline key",
                        });
                    }
                    let clen = close.len();
                    out.push(MARK.to_string());
                    let tail = handle_fragment(&line[p + clen..], scan_mode, no, &mut found);
                    out.push(format!("{}{tail}", &line[p..p + clen]));
                    state = State::Normal;
                } else {
                    let dirty = dirty || !blank_or_mark(&line);
                    state = State::Inline {
                        close: close.clone(),
                        first,
                        dirty,
                    };
                }
                continue;
            }
            State::Quote { quote } => {
                if let Some(p) = line.bytes().position(|c| c == quote) {
                    state = State::Normal;
                    let rest = line[p + 1..].to_string();
                    if !rest.trim().is_empty() {
                        queue.push_front((no, rest));
                    }
                }
                continue;
            }
            State::Normal => {}
        }
        // A private PEM block or an OpenVPN inline block starting here.
        if let Some((s, e)) = pem_begin(&line) {
            let head = handle_fragment(&line[..s], scan_mode, no, &mut found);
            if let Some(endp) = line[e..].find("-----END ") {
                // one-line block
                let body = &line[e..e + endp];
                if scan_mode && !blank_or_mark(body) {
                    found.push(Finding {
                        line: no,
                        detector: "pem private key",
                    });
                }
                let p = e + endp;
                let close = line[p + 9..]
                    .find("-----")
                    .map(|x| p + 9 + x + 5)
                    .unwrap_or(line.len());
                let tail = handle_fragment(&line[close..], scan_mode, no, &mut found);
                out.push(format!(
                    "{head}{}{MARK}{}{tail}",
                    &line[s..e],
                    &line[p..close]
                ));
            } else {
                out.push(format!("{head}{}", &line[s..e]));
                state = State::Pem {
                    first: no,
                    dirty: !blank_or_mark(&line[e..]),
                };
            }
            continue;
        }
        if let Some((tag_end, close)) = inline_open(&line) {
            let lower = line.to_ascii_lowercase();
            if let Some(p) = lower[tag_end..].find(close.as_str()).map(|p| p + tag_end) {
                let body = &line[tag_end..p];
                if scan_mode && !blank_or_mark(body) {
                    found.push(Finding {
                        line: no,
                        detector: "openvpn inline key",
                    });
                }
                let tail = handle_fragment(&line[p + close.len()..], scan_mode, no, &mut found);
                out.push(format!(
                    "{}{MARK}{}{tail}",
                    &line[..tag_end],
                    &line[p..p + close.len()]
                ));
            } else {
                out.push(line[..tag_end].to_string());
                state = State::Inline {
                    close,
                    first: no,
                    dirty: !blank_or_mark(&line[tag_end..]),
                };
            }
            continue;
        }
        let (fixed, open) = redact_line(&line, scan_mode, no, &mut found);
        if let Some(o) = open {
            if scan_mode {
                found.push(Finding {
                    line: no,
                    detector: "multi-line secret value",
                });
            }
            state = State::Quote { quote: o.quote };
        }
        out.push(fixed);
    }
    // An unterminated block is removed to the end (fail closed).
    match state {
        State::Pem { first, dirty } | State::Inline { first, dirty, .. } => {
            if scan_mode && dirty {
                found.push(Finding {
                    line: first,
                    detector: "unterminated private block",
                });
            }
            out.push(MARK.to_string());
        }
        State::Quote { .. } | State::Normal => {}
    }
    (out.join("\n"), found)
}

fn blank_or_mark(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t == MARK
}

/// Handles a line fragment (before a block header / after a block's end) as a line of its own.
fn handle_fragment(s: &str, scan_mode: bool, no: usize, found: &mut Vec<Finding>) -> String {
    redact_line(s, scan_mode, no, found).0
}

/// One line (or fragment) redacted to a fixed point: detectors can overlap (a service token
/// running into a Tailscale key), and a span removed in one round can let another detector see
/// its whole token in the next; repeating until nothing changes makes the result idempotent.
/// Findings come from the first round (what the text holds); whether a secret quoted value
/// stays open too. A line that does not settle within a few rounds is removed whole.
fn redact_line(
    line: &str,
    scan_mode: bool,
    no: usize,
    found: &mut Vec<Finding>,
) -> (String, Option<Open>) {
    if line.is_empty() {
        return (String::new(), None);
    }
    let (edits, open) = line_edits(line);
    if scan_mode {
        for e in &edits {
            if line[e.start..e.end] != e.with {
                found.push(Finding {
                    line: no,
                    detector: e.detector,
                });
            }
        }
    }
    let mut cur = apply(line, edits);
    for _ in 0..8 {
        let (edits, _) = line_edits(&cur);
        let next = apply(&cur, edits);
        if next == cur {
            return (cur, open);
        }
        cur = next;
    }
    (MARK.to_string(), open)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `redact` fuzz target: a BEGIN line that is not a header (its "label" holds
    /// `PublicKey = …`) got its value redacted, which removed the word PUBLIC; the next pass then
    /// read a private header and removed the following line. Such a line is never a header.
    #[test]
    fn a_begin_line_that_is_not_a_header_stays_text_on_every_pass() {
        let text = "-----BEGIN EC PRIV KEYKey = xTIBA0boPublicKey = xTIBA0boLERt1NA-----\n34B2bda";
        let once = redact(text);
        assert_eq!(redact(&once), once);
        assert!(once.ends_with("\n34B2bda"), "{once}");
        // A header after text that only says BEGIN is a header, on the first pass already.
        let text = "{\"key\":\"x-----BEGIN EC PRv\",\"pa-----BEGIN EC PRIVATE KEY-----\nsMww";
        let once = redact(text);
        assert_eq!(redact(&once), once);
        assert!(!once.contains("sMww"), "{once}");
        // Real headers, mixed case included, still open a block.
        for h in [
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----BEGIN OpenVPN Static key V1-----",
        ] {
            let t = format!("{h}\nMIIEpAIBAAKCAQEA7\n-----END X-----");
            assert!(!redact(&t).contains("MIIEpAIBAAKCAQEA7"), "{h}");
        }
    }

    /// A small deterministic fuzz over the tokens the detectors care about (the cargo-fuzz target
    /// in tests/fuzz explores further): idempotent, bounded, re-scan clean.
    #[test]
    fn token_soup_is_idempotent_bounded_and_clean() {
        const T: &[&str] = &[
            "option ",
            "list ",
            "key",
            "password",
            "'",
            "\"",
            "=",
            ":",
            " ",
            "\n",
            "<key>",
            "</key>",
            "<tls-auth>",
            "-----BEGIN PRIVATE KEY-----",
            "-----END PRIVATE KEY-----",
            "eyJhbGciOiJIUzI1NiJ9",
            ".",
            "Bearer ",
            "tskey-auth-",
            "https://",
            "@",
            "u:p",
            "ss://",
            "abc123XYZ",
            "\\",
            "'\\''",
            "public_key",
            "token_error",
            "\r",
            "\t",
            "#",
            "Zk8pQ2mN7vX4rT1yB6wL9cF3hJ5sD0gE",
            "wifi.@x[0].",
            "privkey:",
            "0123456789abcdef",
            "login.tailscale.com/a/",
            "AKIA",
            "ghp_",
            "{",
            "}",
            ",",
            "<redacted>",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..4_000 {
            let n = (next() % 24) as usize;
            let text: String = (0..n)
                .map(|_| T[(next() % T.len() as u64) as usize])
                .collect();
            let once = redact(&text);
            assert!(
                once.len() <= (MARK.len() + 2) * text.len() + MARK.len() + 2,
                "{text:?}"
            );
            let twice = redact(&once);
            assert_eq!(
                twice, once,
                "not idempotent for {text:?}\nonce:  {once:?}\ntwice: {twice:?}"
            );
            for f in scan(&once) {
                assert_eq!(
                    f.detector, "high-entropy token",
                    "{text:?} → {once:?}: {f:?}"
                );
            }
        }
    }
}
