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

/// The envelope of a message just appended from `value` and `tags`, written from the parsed
/// value rather than by decoding the stored payload — the same bytes, since the payload was
/// encoded from this value: members sorted bytewise (serde_json's map, checked once at run
/// time), numbers and strings through serde_json's formatter as the engine prints them.
/// `None` when that cannot be promised (an integer above `i64::MAX`, which the payload holds
/// as a float): the caller prints the payload.
pub(crate) fn from_value(
    seq: u64,
    timestamp_ns: u64,
    tags: &[&str],
    value: &serde_json::Value,
    size_hint: usize,
) -> Option<Vec<u8>> {
    if !serde_sorts_keys() || !fits_i64(value) {
        return None;
    }
    let mut out = Vec::with_capacity(size_hint + 64);
    out.extend_from_slice(b"{\"seq\":");
    push_decimal(&mut out, seq);
    out.extend_from_slice(b",\"time\":\"");
    plasmite_os::time::write_rfc3339(&mut out, timestamp_ns);
    out.extend_from_slice(b"\",\"meta\":{\"tags\":");
    serde_json::to_writer(&mut out, tags).ok()?;
    out.extend_from_slice(b"},\"data\":");
    serde_json::to_writer(&mut out, value).ok()?;
    out.push(b'}');
    Some(out)
}

/// Whether serde_json's maps iterate in key order here (not with its `preserve_order`
/// feature, which another crate of the build could turn on).
fn serde_sorts_keys() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>(r#"{"b":1,"a":2}"#)
            .and_then(|v| serde_json::to_string(&v))
            .is_ok_and(|text| text == r#"{"a":2,"b":1}"#)
    })
}

/// Whether every integer of `v` fits `i64` (the payload stores larger ones as floats).
fn fits_i64(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => !(n.is_u64() && n.as_i64().is_none()),
        serde_json::Value::Array(a) => a.iter().all(fits_i64),
        serde_json::Value::Object(o) => o.values().all(fits_i64),
        _ => true,
    }
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
    fn envelope_from_the_value_equals_the_printed_payload() {
        let docs = [
            r#"{"b":1,"a":[true,null,{"z":-0.0,"y":1.0,"x":1e300}],"é":"\u0001\n\"\\/é😀"}"#,
            r#"{"n":-9223372036854775808,"m":9223372036854775807,"f":0.1,"e":-1.5e-7}"#,
            r#"{"10":1,"9":2,"B":3,"a":4,"":5,"nested":{"k":{"k":{"k":[[],{}]}}}}"#,
            r#"{}"#,
        ];
        let tag_sets: [&[&str]; 3] = [&[], &["t"], &["a b", "ü", "q\"uote"]];
        for doc in docs {
            let value: serde_json::Value = serde_json::from_str(doc).expect("json");
            for tags in tag_sets {
                let payload = message::encode(&value, tags, 1 << 20).expect("encodes");
                let printed = Printed {
                    seq: 7,
                    timestamp_ns: 1_700_000_000_123_000_000,
                    payload: &payload,
                };
                let slow = to_vec(&mut Vec::new(), &printed).expect("prints");
                let fast = from_value(7, printed.timestamp_ns, tags, &value, 0).expect("fast");
                assert_eq!(
                    String::from_utf8(fast).expect("utf-8"),
                    String::from_utf8(slow).expect("utf-8")
                );
            }
        }
        let big: serde_json::Value =
            serde_json::from_str(r#"{"u":18446744073709551615}"#).expect("json");
        assert!(
            from_value(1, 0, &[], &big, 0).is_none(),
            "a u64 above i64::MAX is printed from the payload"
        );
    }

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
