//! Flag values: sizes, durations, `--since` instants, durability, counts.
//!
//! Role: the reference's value grammars, each one function returning a `Usage` error with a
//! hint that shows a valid value. Times and durations are `plasmite_os::time`'s; the wrappers
//! here only name the flag in the error.
//!
//! # Invariants
//! - Sizes are `<digits>[K|M|G]` (either case, 1024-based); `1MiB` and overflow are refused.
//! - Durations are `<digits>(ms|s|m|h)`, case-sensitive, integers only.
//! - `--since` is `<digits>(s|m|h|d)` (unit in any case) before now, or an RFC 3339 instant.
//!
//! Spec: `spec/CLI.md` §1.6 (parsers).

use plasmite_os::{Durability, Error, ErrorKind, time};
use std::time::Duration;

fn bad(message: String, hint: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// `--size`, `--create-size`: bytes with an optional K, M or G (1024-based).
pub fn size(flag: &str, s: &str) -> Result<u64, Error> {
    let t = s.trim();
    let hint = "Use bytes or a K, M or G suffix, e.g. 1M or 64K.";
    let (digits, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let mult = match &t[i..] {
                "K" | "k" => 1 << 10,
                "M" | "m" => 1 << 20,
                "G" | "g" => 1 << 30,
                _ => return Err(bad(format!("invalid size suffix in {flag} '{s}'"), hint)),
            };
            (&t[..i], mult)
        }
    };
    if digits.is_empty() {
        return Err(bad(format!("invalid {flag} '{s}'"), hint));
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| bad(format!("{flag} '{s}' is too large"), hint))
}

/// `--timeout`, `--retry-delay`: `<digits>(ms|s|m|h)` (`plasmite_os::time::duration`), with
/// the flag named in the error.
pub fn duration(flag: &str, s: &str) -> Result<Duration, Error> {
    time::duration_named(flag, s)
}

/// `--since` (and MCP's `since`): relative (`5m`, `2h`, `1d`, `30s`) before `now_ns`, or RFC
/// 3339 (`plasmite_os::time::since`: past 2554 is `u64::MAX`, before 1970 is 0). Unix ns.
pub fn since(s: &str, now_ns: u64) -> Result<u64, Error> {
    time::since_named("--since", s, now_ns)
}

/// `--durability fast|flush`.
pub fn durability(s: &str) -> Result<Durability, Error> {
    match s {
        "fast" => Ok(Durability::Fast),
        "flush" => Ok(Durability::Flush),
        _ => Err(bad(
            format!("invalid durability '{s}'"),
            "Use fast or flush.",
        )),
    }
}

/// A non-negative integer flag or argument.
pub fn count(what: &str, s: &str) -> Result<u64, Error> {
    s.trim().parse::<u64>().map_err(|_| {
        bad(
            format!("invalid {what} '{s}'"),
            "Use a non-negative integer.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes_and_refuse_iec_spellings() {
        assert_eq!(size("--size", "1M").unwrap(), 1 << 20);
        assert_eq!(size("--size", " 64k ").unwrap(), 64 << 10);
        assert_eq!(size("--size", "4096").unwrap(), 4096);
        assert_eq!(size("--size", "2G").unwrap(), 2 << 30);
        for bad in ["1MiB", "2Gi", "", "M", "99999999999999999999G", "1.5M"] {
            let e = size("--size", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}");
            assert!(e.hint().is_some());
        }
    }

    #[test]
    fn durations_are_integers_with_a_case_sensitive_unit() {
        assert_eq!(
            duration("--timeout", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(duration("--timeout", "5s").unwrap(), Duration::from_secs(5));
        assert_eq!(
            duration("--timeout", "2m").unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            duration("--timeout", "1h").unwrap(),
            Duration::from_secs(3600)
        );
        for bad in ["5", "5S", "1.5s", "s", "5d", ""] {
            assert!(duration("--timeout", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn since_accepts_relative_units_in_any_case_and_rfc3339() {
        let now = 1_000_000 * 1_000_000_000;
        assert_eq!(since("5m", now).unwrap(), now - 300 * 1_000_000_000);
        assert_eq!(since("2H", now).unwrap(), now - 7_200 * 1_000_000_000);
        assert_eq!(since("1d", now).unwrap(), now - 86_400 * 1_000_000_000);
        assert!(since("500ms", now).is_err(), "ms is not a --since unit");
        assert_eq!(
            since("2026-01-15T10:00:00Z", now).unwrap(),
            1_768_471_200 * 1_000_000_000
        );
        assert_eq!(
            since("2026-01-15T12:00:00.5+02:00", now).unwrap(),
            1_768_471_200 * 1_000_000_000 + 500_000_000
        );
        assert!(since("yesterday", now).is_err());
    }

    #[test]
    fn since_past_the_storable_range_saturates_instead_of_failing() {
        let now = 1_000_000 * 1_000_000_000;
        assert_eq!(since("2999-01-01T00:00:00Z", now).unwrap(), u64::MAX);
        assert_eq!(since("1969-01-01T00:00:00Z", now).unwrap(), 0);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = since("soon", 0).unwrap_err();
        assert_eq!(e.message(), "invalid --since 'soon'");
        let e = duration("--timeout", "5x").unwrap_err();
        assert_eq!(e.message(), "invalid --timeout '5x'");
        let e = duration("--timeout", &format!("{}h", u64::MAX)).unwrap_err();
        assert_eq!(
            e.message(),
            format!("--timeout '{}h' is too large", u64::MAX)
        );
    }
}
