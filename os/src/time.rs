//! Time as the pools keep it and users write it: RFC 3339 instants, `--since`-style times and
//! durations.
//!
//! Role: the one place that formats a stored time (Unix nanoseconds, `u64`) as RFC 3339 and
//! parses what users write into times and durations — shared by message printing, pool info,
//! the CLI's flags, MCP's arguments and the HTTP server's query parameters.
//!
//! # Invariants
//! - Formatting is UTC with nanoseconds, trailing zeros of the fraction trimmed (none when it
//!   is zero), `Z` suffix; [`parse_rfc3339`] reads back everything [`rfc3339`] writes.
//! - [`parse_rfc3339`] is exact (signed nanoseconds, any 4-digit year); [`since`] maps that
//!   onto what a pool can store: before 1970 is 0 ("everything"), after the last storable
//!   nanosecond (2554-07-21T23:34:33.709551615Z) is `u64::MAX` ("later than anything stored").
//! - Errors are `Usage` with a hint showing a valid value; they name no flag (a front end adds
//!   its own name for the value).
//!
//! Spec: `spec/API.md` §7; `spec/CLI.md` §1.6 (parsers).

use crate::error::{Error, ErrorKind};
use std::cell::Cell;
use std::time::Duration;

/// Nanoseconds per second.
const NS: i128 = 1_000_000_000;

/// The hint for a value [`since`] cannot read.
pub const SINCE_HINT: &str =
    "Use a relative time like 5m, 2h, 1d or an RFC 3339 time like 2026-01-15T10:00:00Z.";
/// The hint for a value [`duration`] cannot read.
pub const DURATION_HINT: &str = "Use an integer with ms, s, m or h, e.g. 500ms or 5s.";

/// RFC 3339 in UTC with nanoseconds, trailing zeros of the fraction trimmed (no fraction when
/// it is zero): `2026-11-21T08:54:34.068682436Z`.
pub fn rfc3339(ns: u64) -> String {
    let mut out = Vec::with_capacity(30);
    write_rfc3339(&mut out, ns);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`rfc3339`]'s text to `out` without formatting machinery.
///
/// Messages printed in a row mostly share their second: the date and time of day
/// (`YYYY-MM-DDThh:mm:ss`, the calendar arithmetic) are kept per thread for the last second
/// written, and only the fraction is formatted for each call.
pub fn write_rfc3339(out: &mut Vec<u8>, ns: u64) {
    thread_local! {
        /// The last second written and its text (`u64::MAX`: none yet — no stamp falls in
        /// that second, nanoseconds / 10^9 stay far below it).
        static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
    }
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let second = SECOND.with(|c| {
        let (cached, text) = c.get();
        if cached == secs {
            text
        } else {
            let text = second_text(secs);
            c.set((secs, text));
            text
        }
    });
    let mut b = [0u8; 11];
    let mut n = 0;
    if frac != 0 {
        b[0] = b'.';
        let mut f = frac;
        for i in (1..10).rev() {
            b[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        n = 10;
        while b[n - 1] == b'0' {
            n -= 1;
        }
    }
    b[n] = b'Z';
    out.reserve(second.len() + n + 1);
    out.extend_from_slice(&second);
    out.extend_from_slice(&b[..=n]);
}

/// `YYYY-MM-DDThh:mm:ss` for `secs` seconds since 1970.
fn second_text(secs: u64) -> [u8; 19] {
    /// Two decimal digits of `v` (< 100).
    fn two(v: u64) -> [u8; 2] {
        [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]
    }
    let rem = secs % 86_400;
    // u64 seconds / 86 400 < 2^48: fits an i64, and the year (< 600 000) fits a u64.
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let y = y as u64;
    let mut b = [0u8; 19];
    b[..2].copy_from_slice(&two(y / 100));
    b[2..4].copy_from_slice(&two(y % 100));
    b[4] = b'-';
    b[5..7].copy_from_slice(&two(m.into()));
    b[7] = b'-';
    b[8..10].copy_from_slice(&two(d.into()));
    b[10] = b'T';
    b[11..13].copy_from_slice(&two(rem / 3600));
    b[13] = b':';
    b[14..16].copy_from_slice(&two(rem / 60 % 60));
    b[16] = b':';
    b[17..19].copy_from_slice(&two(rem % 60));
    b
}

/// Parses an RFC 3339 instant (`2026-01-15T10:00:00Z`; `t` or a space for `T`, `z` for `Z`,
/// fractional seconds to any length — digits past nanoseconds are dropped — and `±hh:mm`
/// offsets) into signed nanoseconds since 1970 UTC. `None` when malformed or a day or offset
/// that does not exist. A leap second (`:60`) counts as the next second.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
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
    Some(i128::from(secs) * NS + i128::from(nanos))
}

/// Signed nanoseconds as a stored time: before 1970 is 0, past `u64::MAX` is `u64::MAX`.
pub fn saturating_ns(ns: i128) -> u64 {
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

/// A relative time `<digits>(s|m|h|d)` (unit in any case; no `ms`) as a length of time;
/// `None` when `s` is not one. Huge counts saturate.
pub fn relative(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() || unit.len() != 1 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let unit_secs = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.saturating_mul(unit_secs)))
}

/// A start time: a relative time before `now_ns` ([`relative`]) or an RFC 3339 instant, as a
/// stored time (Unix ns).
///
/// An instant before 1970, or a relative time reaching past it, is 0 (every message is at or
/// after it); an instant after the last storable nanosecond (in 2554) is `u64::MAX` (every
/// message is before it). Neither is an error.
pub fn since(s: &str, now_ns: u64) -> Result<u64, Error> {
    since_named("time", s, now_ns)
}

/// [`since`], with errors calling the value `what` (a front end passes its own name for it,
/// e.g. its flag).
pub fn since_named(what: &str, s: &str, now_ns: u64) -> Result<u64, Error> {
    if let Some(d) = relative(s) {
        let back = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        return Ok(now_ns.saturating_sub(back));
    }
    parse_rfc3339(s).map(saturating_ns).ok_or_else(|| {
        Error::new(ErrorKind::Usage, format!("invalid {what} '{s}'")).with_hint(SINCE_HINT)
    })
}

/// A duration `<digits>(ms|s|m|h)`: integers only, unit case-sensitive. `Usage` when
/// malformed or too large for milliseconds in a `u64`.
pub fn duration(s: &str) -> Result<Duration, Error> {
    duration_named("duration", s)
}

/// [`duration`], with errors calling the value `what` (a front end passes its own name for
/// it, e.g. its flag).
pub fn duration_named(what: &str, s: &str) -> Result<Duration, Error> {
    let bad = |message: String| Error::new(ErrorKind::Usage, message).with_hint(DURATION_HINT);
    let invalid = || bad(format!("invalid {what} '{s}'"));
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| invalid())?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(invalid()),
    }
    .ok_or_else(|| bad(format!("{what} '{s}' is too large")))?;
    Ok(Duration::from_millis(ms))
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

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_the_same_second_again_or_another_one_gives_each_its_own_text() {
        let day = 1_768_471_200 * 1_000_000_000u64;
        let cases = [
            (day + 5, "2026-01-15T10:00:00.000000005Z"),
            (day + 120_000_000, "2026-01-15T10:00:00.12Z"),
            (day + 1_000_000_000, "2026-01-15T10:00:01Z"),
            (day, "2026-01-15T10:00:00Z"),
            (day - 1, "2026-01-15T09:59:59.999999999Z"),
            (day + 5, "2026-01-15T10:00:00.000000005Z"),
        ];
        for (ns, text) in cases {
            assert_eq!(rfc3339(ns), text, "{ns}");
        }
    }

    const S: u64 = 1_000_000_000;

    #[test]
    fn formatting_trims_the_fraction_and_parsing_reads_it_back() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_768_471_200 * S), "2026-01-15T10:00:00Z");
        assert_eq!(
            rfc3339(1_768_471_200 * S + 500_000_000),
            "2026-01-15T10:00:00.5Z"
        );
        assert_eq!(rfc3339(u64::MAX), "2554-07-21T23:34:33.709551615Z");
        for ns in [0, 1, 1_732_180_000_123_456_789, u64::MAX] {
            assert_eq!(parse_rfc3339(&rfc3339(ns)), Some(i128::from(ns)), "{ns}");
        }
    }

    #[test]
    fn parsing_refuses_days_and_offsets_that_do_not_exist() {
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-02-31T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-01T00:00:00+05:99",
            "2026-01-01T00:00:00-24:00",
            "1900-02-29T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "yesterday",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        for good in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-01-01T00:00:00+23:59",
            "2026-01-01t00:00:00z",
            "2026-01-01 00:00:00Z",
        ] {
            assert!(parse_rfc3339(good).is_some(), "{good}");
        }
        assert_eq!(
            parse_rfc3339("2026-01-15T12:00:00.5+02:00"),
            Some(i128::from(1_768_471_200 * S + 500_000_000))
        );
    }

    #[test]
    fn since_takes_relative_units_in_any_case_and_rfc3339() {
        let now = 1_000_000 * S;
        assert_eq!(since("5m", now).unwrap(), now - 300 * S);
        assert_eq!(since("2H", now).unwrap(), now - 7_200 * S);
        assert_eq!(since("1d", now).unwrap(), now - 86_400 * S);
        assert_eq!(since("30s", now).unwrap(), now - 30 * S);
        assert_eq!(
            since("2026-01-15T10:00:00Z", now).unwrap(),
            1_768_471_200 * S
        );
        for bad in ["500ms", "yesterday", "", "5", "m"] {
            let e = since(bad, now).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}");
            assert_eq!(e.hint(), Some(SINCE_HINT));
        }
    }

    #[test]
    fn since_after_the_last_storable_instant_is_later_than_everything() {
        let now = 1_000_000 * S;
        assert_eq!(since("2999-01-01T00:00:00Z", now).unwrap(), u64::MAX);
        assert_eq!(since("9999-12-31T23:59:59Z", now).unwrap(), u64::MAX);
        // The last storable nanosecond is itself, one more saturates.
        assert_eq!(
            since("2554-07-21T23:34:33.709551615Z", now).unwrap(),
            u64::MAX
        );
        assert_eq!(
            since("2554-07-21T23:34:33.709551614Z", now).unwrap(),
            u64::MAX - 1
        );
        assert_eq!(since("2554-07-21T23:34:34Z", now).unwrap(), u64::MAX);
    }

    #[test]
    fn since_before_1970_is_everything() {
        let now = 1_000_000 * S;
        assert_eq!(since("1969-12-31T23:59:59.999999999Z", now).unwrap(), 0);
        assert_eq!(since("0001-01-01T00:00:00Z", now).unwrap(), 0);
        assert_eq!(since("1970-01-01T00:00:00Z", now).unwrap(), 0);
        assert_eq!(since("1970-01-01T00:00:00.000000001Z", now).unwrap(), 1);
        assert_eq!(since("1970-01-01T01:00:00+02:00", now).unwrap(), 0);
        assert_eq!(since("99999999d", now).unwrap(), 0, "reaches past 1970");
        assert_eq!(since(&format!("{}s", u64::MAX), now).unwrap(), 0);
    }

    #[test]
    fn durations_are_integers_with_a_case_sensitive_unit() {
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(duration("1h").unwrap(), Duration::from_secs(3600));
        for bad in ["5", "5S", "1.5s", "s", "5d", "", "99999999999999999999h"] {
            let e = duration(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}");
        }
        let e = duration(&format!("{}h", u64::MAX)).unwrap_err();
        assert!(e.message().contains("too large"), "{}", e.message());
    }
}
