//! Input validators shared by every write. Each returns the normalised value or a 400 naming the
//! field, so a handler validates everything before it touches anything.

use crate::error::{ApiError, ApiResult};
use std::net::Ipv4Addr;

/// A dotted-quad IPv4 address (no leading zeros, no shorthand).
pub fn ipv4(field: &str, s: &str) -> ApiResult<Ipv4Addr> {
    let bad = || ApiError::field(field, "must be an IPv4 address like 192.168.1.10");
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 3 || (p.len() > 1 && p.starts_with('0')))
    {
        return Err(bad());
    }
    s.parse().map_err(|_| bad())
}

/// A contiguous netmask such as 255.255.255.0 (not 255.0.255.0, not 0.0.0.0).
pub fn netmask(field: &str, s: &str) -> ApiResult<Ipv4Addr> {
    let m = ipv4(field, s)?;
    let bits = u32::from(m);
    if bits == 0 || bits.leading_ones() + bits.trailing_zeros() != 32 {
        return Err(ApiError::field(
            field,
            "must be a contiguous netmask such as 255.255.255.0",
        ));
    }
    Ok(m)
}

/// A unicast host address usable on an interface.
pub fn host_ipv4(field: &str, s: &str) -> ApiResult<Ipv4Addr> {
    let a = ipv4(field, s)?;
    if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback() {
        return Err(ApiError::field(field, "must be a unicast host address"));
    }
    Ok(a)
}

/// A display label: printable, no markup-significant control, at most 32 characters.
pub fn label(field: &str, s: &str) -> ApiResult<String> {
    let t = s.trim();
    if t.chars().count() > 32 {
        return Err(ApiError::field(field, "must be at most 32 characters"));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

/// A value from a fixed list.
/// A short word as kernels and OMR name schedulers and congestion controls (`bpf_minrtt`, `bbr2`).
pub fn plain_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

pub fn one_of<'a>(field: &str, s: &str, allowed: &[&'a str]) -> ApiResult<&'a str> {
    allowed
        .iter()
        .find(|a| **a == s)
        .copied()
        .ok_or_else(|| ApiError::field(field, format!("must be one of: {}", allowed.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_masks() {
        assert!(ipv4("a", "10.0.0.1").is_ok());
        for bad in [
            "10.0.0",
            "10.0.0.256",
            "010.0.0.1",
            "10.0.0.1 ",
            "a.b.c.d",
            "",
            "1.2.3.4.5",
        ] {
            assert_eq!(
                ipv4("a", bad).unwrap_err().field.as_deref(),
                Some("a"),
                "{bad}"
            );
        }
        assert!(netmask("m", "255.255.255.0").is_ok());
        assert!(netmask("m", "255.255.255.255").is_ok());
        for bad in ["255.0.255.0", "0.0.0.0", "255.255.255.1", "0.255.255.255"] {
            assert!(netmask("m", bad).is_err(), "{bad}");
        }
        assert!(host_ipv4("g", "0.0.0.0").is_err());
        assert!(host_ipv4("g", "224.0.0.1").is_err());
        assert!(label("l", "Fiber ✓").is_ok());
        assert!(label("l", "a\u{7}b").is_err());
        assert!(label("l", &"x".repeat(33)).is_err());
    }
}
