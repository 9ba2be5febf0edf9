//! `.time` of the envelope: a frame's Unix-nanosecond stamp as RFC 3339 text, in a stack buffer.
//!
//! Role: gives predicates the same `time` string the printed envelope carries, without an
//! allocator or a clock library.
//!
//! # Invariants
//! - The text is exactly what `plasmite-os` prints: UTC, `YYYY-MM-DDTHH:MM:SS`, then `.` and
//!   the nanoseconds with trailing zeros removed (nothing when they are zero), then `Z`
//!   (`2026-11-21T08:54:34.068682436Z`). Every `u64` stamp has a four-digit year (≤ 2554).
//! - No arithmetic can overflow: every step is checked or saturating on values far below the
//!   limits (days < 2^18).
//!
//! Spec: `spec/API.md` §10 (filters), `spec/CLI.md` (message JSON).

/// Longest text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub(super) const TIME_LEN: usize = 30;

/// Writes the RFC 3339 text of `ns` into `buf` and returns it.
pub(super) fn rfc3339(buf: &mut [u8; TIME_LEN], ns: u64) -> &str {
    let secs = ns.checked_div(1_000_000_000).unwrap_or(0);
    let frac = ns.checked_rem(1_000_000_000).unwrap_or(0);
    let rem = secs.checked_rem(86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.checked_div(86_400).unwrap_or(0));
    let mut n = 0usize;
    let mut put = |b: u8| {
        if let Some(slot) = buf.get_mut(n) {
            *slot = b;
        }
        n = n.saturating_add(1);
    };
    let digit = |v: u64, div: u64| {
        let d = v.checked_div(div).unwrap_or(0).checked_rem(10).unwrap_or(0);
        b'0'.saturating_add(u8::try_from(d).unwrap_or(0))
    };
    for div in [1000, 100, 10, 1] {
        put(digit(y, div));
    }
    put(b'-');
    put(digit(m, 10));
    put(digit(m, 1));
    put(b'-');
    put(digit(d, 10));
    put(digit(d, 1));
    put(b'T');
    let (h, min, s) = (
        rem.checked_div(3600).unwrap_or(0),
        rem.checked_div(60)
            .unwrap_or(0)
            .checked_rem(60)
            .unwrap_or(0),
        rem.checked_rem(60).unwrap_or(0),
    );
    for (v, sep) in [(h, b':'), (min, b':'), (s, 0)] {
        put(digit(v, 10));
        put(digit(v, 1));
        if sep != 0 {
            put(sep);
        }
    }
    if frac != 0 {
        put(b'.');
        let mut div = 100_000_000u64;
        let mut rest = frac;
        while rest != 0 {
            put(digit(rest, div));
            rest = rest.checked_rem(div).unwrap_or(0);
            div = div.checked_div(10).unwrap_or(1);
        }
    }
    put(b'Z');
    let text = buf.get(..n).unwrap_or_default();
    core::str::from_utf8(text).unwrap_or_default()
}

/// Days since 1970-01-01 (non-negative) → (year, month, day), Howard Hinnant's algorithm on
/// unsigned values (no era before 1970 can occur).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days.saturating_add(719_468);
    let era = z.checked_div(146_097).unwrap_or(0);
    let doe = z.saturating_sub(era.saturating_mul(146_097));
    let yoe = doe
        .saturating_sub(doe.checked_div(1460).unwrap_or(0))
        .saturating_add(doe.checked_div(36_524).unwrap_or(0))
        .saturating_sub(doe.checked_div(146_096).unwrap_or(0))
        .checked_div(365)
        .unwrap_or(0);
    let doy = doe.saturating_sub(
        yoe.saturating_mul(365)
            .saturating_add(yoe.checked_div(4).unwrap_or(0))
            .saturating_sub(yoe.checked_div(100).unwrap_or(0)),
    );
    let mp = doy
        .saturating_mul(5)
        .saturating_add(2)
        .checked_div(153)
        .unwrap_or(0);
    let d = doy
        .saturating_sub(
            mp.saturating_mul(153)
                .saturating_add(2)
                .checked_div(5)
                .unwrap_or(0),
        )
        .saturating_add(1);
    let m = if mp < 10 {
        mp.saturating_add(3)
    } else {
        mp.saturating_sub(9)
    };
    let y = yoe
        .saturating_add(era.saturating_mul(400))
        .saturating_add(u64::from(m <= 2));
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_print_as_the_envelope_prints_them() {
        let mut buf = [0u8; TIME_LEN];
        for (ns, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_000, "1970-01-01T00:00:00.000001Z"),
            (1_732_180_000_123_456_789, "2024-11-21T09:06:40.123456789Z"),
            (951_782_400_500_000_000, "2000-02-29T00:00:00.5Z"),
            (u64::MAX, "2554-07-21T23:34:33.709551615Z"),
        ] {
            assert_eq!(rfc3339(&mut buf, ns), want, "{ns}");
        }
    }
}
