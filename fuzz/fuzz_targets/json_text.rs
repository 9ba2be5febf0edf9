//! Arbitrary text through `message::encode_json` (the scanner over JSON text) and through
//! serde_json + `message::encode` (the `Value` path).
//!
//! - Both accept exactly the same texts and give the same payload bytes.
//! - Both refuse with the same error message; a syntax error is a Usage error.
//! - `encode_json_into` appends exactly those bytes after what the arena held, and leaves the
//!   arena as it was on an error.
//! - `encode_json_printing` gives the same result, and the envelope made from the data it
//!   printed is the envelope printed from the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_os::ErrorKind;
use plasmite_os::message::{
    JsonScratch, Printed, encode, encode_json, encode_json_into, encode_json_printing,
    invalid_json, print_seq_first, print_seq_first_parts,
};

thread_local! {
    // One scratch serves every input, including those refused: reuse never leaks.
    static SCRATCH: std::cell::RefCell<JsonScratch> = std::cell::RefCell::default();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let max = 1 << 14;
    let tags = ["t"];
    let by_value = serde_json::from_str::<serde_json::Value>(text)
        .map_err(invalid_json)
        .and_then(|v| encode(&v, &tags, max));
    let by_text = encode_json(text, &tags, max);
    match (&by_value, &by_text) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{text:?}");
            assert_eq!(b.kind(), ErrorKind::Usage);
        }
        _ => panic!("paths disagree on {text:?}: {by_value:?} / {by_text:?}"),
    }
    let mut arena = b"head".to_vec();
    match encode_json_into(&mut arena, text, &tags, max) {
        Ok(n) => assert_eq!(
            Some(&arena[4..]),
            by_text.as_deref().ok().filter(|b| b.len() == n)
        ),
        Err(_) => assert_eq!(arena, b"head"),
    }
    let mut data = Vec::new();
    let mut stored = Vec::new();
    let printing = SCRATCH
        .with_borrow_mut(|s| encode_json_printing(s, &mut stored, text, &tags, max, &mut data))
        .map(|_| stored);
    match (&by_text, &printing) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{text:?}");
            let mut want = Vec::new();
            let printed = Printed {
                seq: 7,
                timestamp_ns: 1_000_000_007,
                payload: a,
            };
            print_seq_first(&mut want, &printed).expect("a stored payload prints");
            let mut got = Vec::new();
            print_seq_first_parts(&mut got, 7, 1_000_000_007, &tags, &data);
            assert_eq!(got, want, "{text:?}");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text:?}"),
        _ => panic!("printing path disagrees on {text:?}"),
    }
});
