//! JSON text straight to Lite³ (`message::encode_json`) agrees with the `Value` path
//! (`serde_json` + `message::encode`): the same bytes for every accepted text, the same refusal
//! and message for every other, and an arena left as it was on an error. The envelope printed
//! while encoding (`encode_json_printing`) is the one printed from the stored payload.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use plasmite_os::message::{
    JsonScratch, Printed, encode, encode_json, encode_json_into, encode_json_printing,
    invalid_json, print_seq_first, print_seq_first_parts,
};
use plasmite_os::{Cause, ErrorKind};
use serde_json::Value;
use support::model::Rng;

/// Uniform in `0..n`.
fn below(r: &mut Rng, n: u64) -> u64 {
    r.range(0, n - 1)
}

fn pick<'a>(r: &mut Rng, items: &[&'a str]) -> &'a str {
    items[below(r, items.len() as u64) as usize]
}

const KEYS: &[&str] = &[
    "a",
    "b",
    "kind",
    "n",
    "ok",
    "Z",
    "é",
    "ü\\u00e9",
    "\\\"q\\\"",
    "k\\n",
    "",
    "aa",
    "a b",
    "\\ud83d\\ude00",
    "日本",
    "zz",
    "a",
];
const STRINGS: &[&str] = &[
    "",
    "hi",
    "tab\\there",
    "\\u0041\\u00e9\\u4e2d",
    "\\ud834\\udd1e",
    "slash\\/",
    "日本語",
    "quote\\\"",
    "\\\\",
    "a\\bb\\fc\\rd",
    "emoji 😀",
];
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "23.5",
    "1e3",
    "1E-3",
    "-2.5e+10",
    "123456789012345678",
    "1234567890123456789",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "0.1",
    "-0.0",
    "3.141592653589793",
    "5e-324",
    "1.7976931348623157e308",
    "0.30000000000000004",
];

fn ws(r: &mut Rng, out: &mut String) {
    for _ in 0..below(r, 3) {
        out.push(
            *[' ', '\n', '\t', '\r']
                .get(below(r, 4) as usize)
                .unwrap_or(&' '),
        );
    }
}

fn value(r: &mut Rng, out: &mut String, depth: usize) {
    let kind = if depth > 4 { below(r, 5) } else { below(r, 7) };
    match kind {
        0 => out.push_str(pick(r, &["null", "true", "false"])),
        1 | 2 => out.push_str(pick(r, NUMBERS)),
        3 | 4 => {
            out.push('"');
            out.push_str(pick(r, STRINGS));
            out.push('"');
        }
        5 => object(r, out, depth + 1),
        _ => {
            out.push('[');
            ws(r, out);
            for i in 0..below(r, 4) {
                if i > 0 {
                    out.push(',');
                    ws(r, out);
                }
                value(r, out, depth + 1);
                ws(r, out);
            }
            out.push(']');
        }
    }
}

fn object(r: &mut Rng, out: &mut String, depth: usize) {
    out.push('{');
    ws(r, out);
    for i in 0..below(r, 7) {
        if i > 0 {
            out.push(',');
            ws(r, out);
        }
        out.push('"');
        out.push_str(pick(r, KEYS));
        out.push('"');
        ws(r, out);
        out.push(':');
        ws(r, out);
        value(r, out, depth);
        ws(r, out);
    }
    out.push('}');
}

/// What the `Value` path makes of `text`: its bytes, or its error's message.
fn value_path(text: &str, tags: &[&str], max: usize) -> Result<Vec<u8>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| invalid_json(e).to_string())?;
    encode(&v, tags, max).map_err(|e| e.to_string())
}

thread_local! {
    static SCRATCH: std::cell::RefCell<JsonScratch> = std::cell::RefCell::default();
}

/// `encode_json`'s result, checked against `encode_json_printing`: the same result, and an
/// envelope made from the data printed while encoding that is the envelope printed from the
/// payload.
fn text_path(text: &str, tags: &[&str], max: usize) -> Result<Vec<u8>, String> {
    let plain = encode_json(text, tags, max).map_err(|e| e.to_string());
    let mut data = Vec::new();
    let mut stored = b"head".to_vec();
    // One scratch serves every document, including those refused: reuse never leaks.
    let printing = SCRATCH
        .with_borrow_mut(|s| encode_json_printing(s, &mut stored, text, tags, max, &mut data))
        .map(|n| {
            assert_eq!(stored.len(), 4 + n);
            stored[4..].to_vec()
        })
        .map_err(|e| {
            assert_eq!(stored, b"head");
            assert!(data.is_empty());
            e.to_string()
        });
    assert_eq!(printing, plain, "{text}");
    if let Ok(payload) = &plain {
        let (seq, timestamp_ns) = (42, 1_732_180_000_123_456_789);
        let mut want = Vec::new();
        let printed = Printed {
            seq,
            timestamp_ns,
            payload,
        };
        print_seq_first(&mut want, &printed).expect("a stored payload prints");
        let mut got = Vec::new();
        print_seq_first_parts(&mut got, seq, timestamp_ns, tags, &data);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{text}"
        );
    }
    plain
}

#[test]
fn text_path_gives_the_value_paths_bytes_for_generated_documents() {
    let mut r = Rng::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let mut text = String::new();
        ws(&mut r, &mut text);
        object(&mut r, &mut text, 0);
        ws(&mut r, &mut text);
        let tags: &[&str] = if below(&mut r, 2) == 0 {
            &[]
        } else {
            &["x", "prod"]
        };
        let want = value_path(&text, tags, 1 << 20);
        assert!(want.is_ok(), "generated text is valid: {text}");
        assert_eq!(text_path(&text, tags, 1 << 20), want, "{text}");
    }
}

#[test]
fn damaged_text_is_refused_or_accepted_exactly_as_serde_json_does() {
    let mut r = Rng::new(42);
    let noise = [
        "\"", "\\", "{", "}", "[", "]", ",", ":", "-", "0", "e", ".", "\u{1}", "x", " ",
    ];
    for _ in 0..6000 {
        let mut text = String::new();
        object(&mut r, &mut text, 0);
        let cut = below(&mut r, text.len() as u64 + 1) as usize;
        let cut = (0..=cut)
            .rev()
            .find(|&c| text.is_char_boundary(c))
            .unwrap_or(0);
        match below(&mut r, 3) {
            0 => text.insert_str(cut, noise[below(&mut r, noise.len() as u64) as usize]),
            1 => {
                let end = (cut + 1..=text.len())
                    .find(|&c| text.is_char_boundary(c))
                    .unwrap_or(text.len());
                text.replace_range(cut..end, "");
            }
            _ => text.truncate(cut),
        }
        assert_eq!(
            text_path(&text, &[], 1 << 20),
            value_path(&text, &[], 1 << 20),
            "{text:?}"
        );
    }
}

#[test]
fn every_refusal_carries_serde_jsons_message_and_the_invalid_json_cause() {
    for text in [
        "",
        " ",
        "{",
        "{\"a\":1,}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":.5}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00x\"}",
        "{\"a\":\"\u{1}\"}",
        "{} x",
        "{\"a\" 1}",
        "{\"a\":1e400}",
        "{\"a\":tru}",
        "{'a':1}",
        "{\"a\":\"\\x\"}",
        "{\"a\":[1,]}",
    ] {
        let e = encode_json(text, &[], 1 << 20).expect_err(text);
        assert_eq!(
            Err(e.to_string()),
            value_path(text, &[], 1 << 20),
            "{text:?}"
        );
        assert_eq!(e.cause(), Some(Cause::InvalidJson), "{text:?}");
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.hint().is_some());
    }
}

#[test]
fn non_objects_deep_nesting_nul_keys_and_oversize_fail_as_encode_fails() {
    let deep = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
    let cases = [
        "[1]".to_owned(),
        "1".to_owned(),
        "\"s\"".to_owned(),
        "null".to_owned(),
        deep(29),
        deep(30),
        deep(31),
        deep(200),
        "{\"a\\u0000b\":1}".to_owned(),
        format!("{{\"big\":\"{}\"}}", "x".repeat(5000)),
    ];
    for text in &cases {
        assert_eq!(
            text_path(text, &[], 4096),
            value_path(text, &[], 4096),
            "{text}"
        );
    }
    assert!(text_path(&deep(29), &[], 4096).is_ok());
    assert!(text_path(&deep(30), &[], 4096).is_ok());
    assert!(text_path(&deep(31), &[], 4096).is_err());
}

#[test]
fn duplicate_keys_keep_the_last_value() {
    let text = r#"{"b":1,"a":{"x":1},"b":2,"a":[3],"c":0}"#;
    assert_eq!(
        text_path(text, &[], 1 << 16),
        value_path(text, &[], 1 << 16)
    );
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["b"], 2);
}

#[test]
fn a_failed_encode_leaves_the_arena_as_it_was() {
    let mut out = b"kept".to_vec();
    let n = encode_json_into(&mut out, "{\"a\":1}", &[], 1 << 16).unwrap();
    assert_eq!(out.len(), 4 + n);
    let before = out.clone();
    for bad in [
        "{",
        "[1]",
        "{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
    ] {
        assert!(encode_json_into(&mut out, bad, &[], 200).is_err(), "{bad}");
        assert_eq!(out, before);
    }
    assert_eq!(
        &out[4..],
        &encode_json("{\"a\":1}", &[], 1 << 16).unwrap()[..]
    );
}
