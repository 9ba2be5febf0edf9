//! Message envelopes as the Node package hands them out: compact JSON with the keys in the
//! order `seq`, `time`, `meta`, `data` (the byte layout of 0.8.0's `getJson`/`appendJson`).
//!
//! # Invariants
//! - The envelope is printed by the engine in that member order, in the one walk that also
//!   checks the payload (`os::message::print_seq_first`); a payload that does not decode
//!   leaves nothing behind.
//! - `seq` is a JSON number, `time` RFC 3339 UTC with the fraction trimmed (`os::time`).
//!
//! Spec: `spec/API.md` §10 (the envelope), `BINDINGS-V0.md` §1.7 (byte order).

use plasmite_os::Error;
use plasmite_os::message::{self, Printed};

/// The envelope of `printed` as a new buffer of its exact size, printed through `scratch`.
pub(crate) fn to_vec(scratch: &mut Vec<u8>, printed: &Printed<'_>) -> Result<Vec<u8>, Error> {
    print_into(scratch, printed)?;
    Ok(scratch.to_vec())
}

/// The envelope of `printed` in `out` (cleared first).
pub(crate) fn print_into(out: &mut Vec<u8>, printed: &Printed<'_>) -> Result<(), Error> {
    out.clear();
    message::print_seq_first(out, printed)
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
