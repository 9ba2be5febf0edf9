//! Flag values: sizes, durations, `--since` instants, durability, counts.
//!
//! Role: the reference's value grammars, each one function returning a `Usage` error with a
//! hint that shows a valid value.
//!
//! # Invariants
//! - Sizes are `<digits>[K|M|G]` (either case, 1024-based); `1MiB` and overflow are refused.
//! - Durations are `<digits>(ms|s|m|h)`, case-sensitive, integers only.
//! - `--since` is `<digits>(s|m|h|d)` (unit in any case) before now, or an RFC 3339 instant.
//!
//! Spec: `spec/CLI.md` §1.6 (parsers).

use plasmite_os::{Durability, Error, ErrorKind};
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

/// `--timeout`, `--retry-delay`: `<digits>(ms|s|m|h)`.
pub fn duration(flag: &str, s: &str) -> Result<Duration, Error> {
    let hint = "Use an integer with ms, s, m or h, e.g. 500ms or 5s.";
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| bad(format!("invalid {flag} '{s}'"), hint))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(bad(format!("invalid {flag} '{s}'"), hint)),
    }
    .ok_or_else(|| bad(format!("{flag} '{s}' is too large"), hint))?;
    Ok(Duration::from_millis(ms))
}

/// `--since`: relative (`5m`, `2h`, `1d`, `30s`) before `now_ns`, or RFC 3339. Unix ns.
pub fn since(s: &str, now_ns: u64) -> Result<u64, Error> {
    let hint = "Use a relative time like 5m, 2h, 1d or an RFC 3339 time like 2026-01-15T10:00:00Z.";
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if !digits.is_empty() && !unit.is_empty() && unit.len() == 1 {
        if let Ok(n) = digits.parse::<u64>() {
            let secs = match unit.to_ascii_lowercase().as_str() {
                "s" => Some(n),
                "m" => n.checked_mul(60),
                "h" => n.checked_mul(3_600),
                "d" => n.checked_mul(86_400),
                _ => None,
            };
            if let Some(secs) = secs {
                return Ok(now_ns.saturating_sub(secs.saturating_mul(1_000_000_000)));
            }
        }
    }
    // An instant past what u64 nanoseconds hold is "nothing yet"; one before 1970 is
    // "everything": both saturate rather than being refused.
    rfc3339_wide(s)
        .map(|ns| u64::try_from(ns.max(0)).unwrap_or(u64::MAX))
        .ok_or_else(|| bad(format!("invalid --since '{s}'"), hint))
}

/// Parses an RFC 3339 instant (`2026-01-15T10:00:00Z`, fractional seconds and offsets allowed)
/// into Unix ns; `None` when malformed or before 1970.
#[cfg(test)]
fn rfc3339(s: &str) -> Option<u64> {
    rfc3339_wide(s).and_then(|ns| u64::try_from(ns).ok())
}

/// [`rfc3339`] without the range limit: Unix ns, negative before 1970.
fn rfc3339_wide(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // A leap second (60) is allowed, as RFC 3339 allows it; it counts as the next second.
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let mut digits = frac.chars().take(9).collect::<String>();
        while digits.len() < 9 {
            digits.push('0');
        }
        nanos = digits.parse().ok()?;
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 3_600 + om * 60;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3_600 + mi * 60 + sec - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// The days of month `m` (1–12) of year `y`, Gregorian.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn rfc3339_round_trips_what_messages_print() {
        let ns = 1_732_180_000_123_456_789;
        let text = plasmite_os::message::rfc3339(ns);
        assert_eq!(rfc3339(&text), Some(ns));
    }

    #[test]
    fn rfc3339_refuses_days_and_offsets_that_do_not_exist() {
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-02-31T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-01T00:00:00+05:99",
            "2026-01-01T00:00:00-24:00",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
        for good in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-01-01T00:00:00+23:59",
        ] {
            assert!(rfc3339(good).is_some(), "{good}");
        }
        assert_eq!(rfc3339("1900-02-29T00:00:00Z"), None);
    }
}
