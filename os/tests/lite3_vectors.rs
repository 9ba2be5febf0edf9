//! The reference's 152 payload vectors: our encoder produces every payload byte for byte, and
//! our printer prints every message exactly as the reference's `fetch` did.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use plasmite_os::message::{Printed, encode, to_json_string};
use serde_json::Value;

struct Vector {
    input: String,
    tags: Vec<String>,
    payload: Vec<u8>,
    envelope: Value,
    text: String,
    note: String,
}

fn vectors() -> Vec<Vector> {
    let path = support::reference_dir().join("lite3-vectors.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Vector {
                input: v["input"].as_str().unwrap().to_owned(),
                tags: v["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
                payload: support::unhex(v["payload_hex"].as_str().unwrap()),
                envelope: v["envelope"].clone(),
                text: v["envelope_text"].as_str().unwrap().to_owned(),
                note: v["note"].as_str().unwrap_or("").to_owned(),
            }
        })
        .collect()
}

#[test]
fn every_vector_encodes_to_the_reference_payload_bytes() {
    let all = vectors();
    assert_eq!(all.len(), 152);
    let mut failures = Vec::new();
    for (i, v) in all.iter().enumerate() {
        let data: Value = serde_json::from_str(&v.input).unwrap();
        let tags: Vec<&str> = v.tags.iter().map(String::as_str).collect();
        let ours = encode(&data, &tags, 256 << 20)
            .unwrap_or_else(|e| panic!("vector {i} ({}): {e}", v.note));
        if ours != v.payload {
            let first = ours
                .iter()
                .zip(&v.payload)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(v.payload.len()));
            failures.push(format!(
                "vector {i} ({}): len {} vs {}, first difference at {first}",
                v.note,
                ours.len(),
                v.payload.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_vector_prints_as_the_reference_printed_it() {
    for (i, v) in vectors().iter().enumerate() {
        let printed = to_json_string(&Printed {
            seq: 1,
            timestamp_ns: 0,
            payload: &v.payload,
        })
        .unwrap_or_else(|e| panic!("vector {i} ({}): {e}", v.note));
        let ours = printed.replace("\"time\":\"1970-01-01T00:00:00Z\"", "\"time\":\"T\"");
        assert_eq!(ours, v.text, "vector {i} ({})", v.note);
        let mut decoded: Value = serde_json::from_str(&printed).unwrap();
        decoded.as_object_mut().unwrap().remove("time");
        assert_eq!(decoded, v.envelope, "vector {i} ({})", v.note);
    }
}
