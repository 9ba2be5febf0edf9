//! Message envelopes as the Node package hands them out: compact JSON with the keys in the
//! order `seq`, `time`, `meta`, `data` (the byte layout of 0.8.0's `getJson`/`appendJson`).
//!
//! # Invariants
//! - The envelope is the engine's printed message (`os::message::print`), reordered: the
//!   `data` and `meta` members are moved behind `seq` and `time` by scanning the printed JSON,
//!   never by decoding the payload twice. A payload that does not decode leaves nothing behind.
//! - `seq` is a JSON number, `time` RFC 3339 UTC with the fraction trimmed (`os::time`).
//!
//! Spec: `spec/API.md` §10 (the envelope), `BINDINGS-V0.md` §1.7 (byte order).

use plasmite_os::message::{self, Printed, Style};
use plasmite_os::{Error, ErrorKind};

/// Appends the envelope of `printed` to `out`, using `scratch` for the engine's print.
pub(crate) fn write(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    printed: &Printed<'_>,
) -> Result<(), Error> {
    const DATA: &[u8] = b"{\"data\":";
    const META: &[u8] = b",\"meta\":";
    scratch.clear();
    message::print(scratch, printed, Style::Compact)?;
    let sorted = &scratch[..];
    let layout = || -> Option<(usize, usize)> {
        if !sorted.starts_with(DATA) {
            return None;
        }
        let data_end = value_end(sorted, DATA.len())?;
        if !sorted[data_end..].starts_with(META) {
            return None;
        }
        let meta_end = value_end(sorted, data_end + META.len())?;
        Some((data_end, meta_end))
    };
    let Some((data_end, meta_end)) = layout() else {
        return Err(Error::new(
            ErrorKind::Internal,
            "unexpected envelope layout",
        ));
    };
    out.reserve(sorted.len() + 1);
    out.extend_from_slice(b"{\"seq\":");
    push_decimal(out, printed.seq);
    out.extend_from_slice(b",\"time\":\"");
    plasmite_os::time::write_rfc3339(out, printed.timestamp_ns);
    out.extend_from_slice(b"\",\"meta\":");
    out.extend_from_slice(&sorted[data_end + META.len()..meta_end]);
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(&sorted[DATA.len()..data_end]);
    out.push(b'}');
    Ok(())
}

/// The envelope of `printed` as a new buffer.
pub(crate) fn to_vec(scratch: &mut Vec<u8>, printed: &Printed<'_>) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(printed.payload.len() + 64);
    write(&mut out, scratch, printed)?;
    Ok(out)
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The end (exclusive) of the JSON object or array that starts at `at` in compact JSON.
fn value_end(json: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in json.get(at..)?.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keys_come_in_seq_time_meta_data_order() {
        let value = serde_json::json!({"b": "}\"{", "a": [1, {"x": null}]});
        let payload = message::encode(&value, &["t"], 1 << 20).expect("encodes");
        let printed = Printed {
            seq: 42,
            timestamp_ns: 1_000_000_001,
            payload: &payload,
        };
        let out = to_vec(&mut Vec::new(), &printed).expect("prints");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"seq":42,"time":"1970-01-01T00:00:01.000000001Z","meta":{"tags":["t"]},"data":{"a":[1,{"x":null}],"b":"}\"{"}}"#
        );
    }
}
