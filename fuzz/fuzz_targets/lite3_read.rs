//! Arbitrary bytes as a Lite³ payload, read every way the reader and the JSON printer read one:
//! `Doc::new`, `Doc::validate`, container walks, `get`, `path`, `index`, `Envelope::parse`,
//! `has_tag`, `field`, and `message::to_json_string`.
//!
//! - Nothing panics or hangs. Walks of unvalidated documents are bounded here by an entry
//!   budget (the reader's iterators are lazy, so taking a bounded number of entries is bounded
//!   work); validated documents are walked in full.
//! - A document that validates walks without an error, yields at most 7 entries per node it can
//!   hold (`7 * (len / 96 + 1)`), and its array elements are the same by `index(i)` as by
//!   iteration.
//! - `to_json_string` succeeds whenever `Doc::validate` and `Envelope::parse` both do, and only
//!   when `Envelope::parse` does (printing checks what it prints, not parts of the document it
//!   does not print); what it prints is JSON that serde_json parses, with `data` a container,
//!   `meta.tags` an array of as many elements as the tags container holds, and `seq` 1.
//!
//! Input layout: `[0]` mode; the rest is the document (mode 0), or is laid over a valid
//! envelope built by `message::encode` (modes 1–3, so the fuzzer spends its time on near-valid
//! documents):
//! - 1: `[1]` base envelope, `[2..4]` offset (LE, mod len); the rest XORed in from there;
//! - 2: the same, but the rest overwrites the bytes from there;
//! - 3: `[1]` base envelope, `[2..4]` length to truncate to (mod len + 1), `[4..6]` offset; the
//!   rest XORed in from there.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_core::lite3::envelope::Envelope;
use plasmite_core::lite3::read::{Container, Doc, ValueRef};
use plasmite_os::message::{Printed, to_json_string};
use serde_json::{Value, json};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => exercise(rest),
        m => {
            if let Some(doc) = overlay(m, rest) {
                exercise(&doc);
            }
        }
    }
});

/// Valid envelopes to start from: small, split nodes, arrays, a 95-byte-aligned string, a
/// long key, deep nesting, empty.
fn bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let mut many = serde_json::Map::new();
        for i in 0..20 {
            many.insert(format!("k{i}"), json!(i));
        }
        many.insert("nested".into(), json!({"a": {"b": [1, 2.5, null, "x"]}}));
        let mut deep = json!({"leaf": true});
        for _ in 0..30 {
            deep = json!({ "d": deep });
        }
        let docs: [(Value, &[&str]); 6] = [
            (
                json!({"from": "alice", "msg": "hello there", "n": 42, "ok": true,
                       "tags": ["a", "b"], "ts": 1_732_180_000}),
                &["x", "y"],
            ),
            (Value::Object(many), &["ping"]),
            (
                json!({"list": (0..20).collect::<Vec<i32>>(), "f": -0.0, "big": u64::MAX,
                       "s90": "s".repeat(90), "e": {}, "ea": []}),
                &[],
            ),
            (
                json!({ "k".repeat(63): "tag2 key", "k".repeat(62): 1, "\u{e9}t\u{e9}": "\u{1}\"\\" }),
                &["a", "b", "c"],
            ),
            (deep, &["deep"]),
            (json!({}), &[]),
        ];
        docs.iter()
            .map(|(v, tags)| plasmite_os::message::encode(v, tags, 1 << 20).expect("base encodes"))
            .collect()
    })
}

fn overlay(mode: u8, rest: &[u8]) -> Option<Vec<u8>> {
    let (&which, rest) = rest.split_first()?;
    let all = bases();
    let mut doc = all[usize::from(which) % all.len()].clone();
    let (head, rest) = rest.split_at_checked(2)?;
    let mut at = usize::from(u16::from_le_bytes([head[0], head[1]]));
    let rest = if mode == 3 {
        doc.truncate(at % (doc.len() + 1));
        let (head, rest) = rest.split_at_checked(2)?;
        at = usize::from(u16::from_le_bytes([head[0], head[1]]));
        rest
    } else {
        rest
    };
    if doc.is_empty() {
        return Some(doc);
    }
    let start = at % doc.len();
    for (d, &b) in doc[start..].iter_mut().zip(rest) {
        if mode == 2 {
            *d = b;
        } else {
            *d ^= b;
        }
    }
    Some(doc)
}

fn exercise(bytes: &[u8]) {
    let doc = Doc::new(bytes);
    let valid = doc.as_ref().is_ok_and(|d| d.validate().is_ok());
    if let Ok(doc) = doc {
        let root = doc.root();
        // Every valid node holds at most 7 entries, and a valid document at most len/96 + 1
        // nodes; unvalidated documents get the same budget and simply stop there.
        let cap = 7 * (bytes.len() / 96 + 1);
        let mut budget = cap;
        let walked = walk(&root, 0, &mut budget, valid);
        if valid {
            assert_eq!(
                walked,
                Walk::Done,
                "a validated document walks in full, within {cap} entries"
            );
        }
        lookups(&root, bytes);
    }
    let env = Envelope::parse(bytes);
    if let Ok(env) = &env {
        envelope_checks(env, bytes, valid);
    }
    let printed = to_json_string(&Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: bytes,
    });
    match (&printed, valid && env.is_ok()) {
        (Ok(s), _) if env.is_ok() => check_printed(s, env.as_ref().ok()),
        (Ok(_), _) => panic!("printed a payload that does not parse as an envelope"),
        (Err(e), true) => panic!("a valid envelope must print: {e}"),
        (Err(_), false) => {}
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Walk {
    Done,
    /// More entries than the budget.
    Exhausted,
    /// A reader error.
    Failed,
}

/// Walks `c` and its nested containers in stored order, at most `budget` entries in all.
/// With `strict`, checks arrays by index as well.
fn walk(c: &Container<'_>, depth: u32, budget: &mut usize, strict: bool) -> Walk {
    let _ = c.len();
    let _ = c.is_empty();
    for (i, entry) in c.iter().enumerate() {
        if *budget == 0 {
            return Walk::Exhausted;
        }
        *budget -= 1;
        let Ok((key, value)) = entry else {
            return Walk::Failed;
        };
        if let Some(k) = key {
            let _ = c.get(k);
        }
        if strict && c.is_array() {
            let i = u32::try_from(i).expect("bounded by the budget");
            match c.index(i) {
                Ok(Some(v)) => assert!(same(&v, &value), "index({i}) disagrees with iteration"),
                other => panic!("index({i}) of a valid array gave {other:?}"),
            }
        }
        match value {
            ValueRef::Object(inner) | ValueRef::Array(inner) if depth < 40 => {
                let w = walk(&inner, depth + 1, budget, strict);
                if w != Walk::Done {
                    return w;
                }
            }
            ValueRef::Str(s) => {
                std::hint::black_box(s.len());
            }
            _ => {}
        }
    }
    Walk::Done
}

/// Values are the same (floats by bits, containers by offset).
fn same(a: &ValueRef<'_>, b: &ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::F64(x), ValueRef::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// `get`, `path` and `index` with names and numbers taken from the input.
fn lookups(root: &Container<'_>, bytes: &[u8]) {
    for key in ["meta", "data", "tags", "", "from", "k0"] {
        let _ = root.get(key);
    }
    for path in [
        "meta.tags",
        "meta.tags.0",
        "data.from",
        "data.nested.a.b.3",
        "0",
        "0.0",
        ".",
    ] {
        let _ = root.path(path);
    }
    // Keys from input slices: short ones and one as long as the input (a size-class-4 key
    // when the input is large).
    for (start, len) in [(0, 1), (1, 3), (4, 8), (8, 63), (0, usize::MAX)] {
        let Some(s) = bytes.get(start..) else {
            continue;
        };
        let key = String::from_utf8_lossy(&s[..len.min(s.len())]);
        let _ = root.get(&key);
        let _ = root.path(&key);
    }
    for i in [0, 1, 7, 8, u32::MAX] {
        let _ = root.index(i);
    }
    if let Some(w) = bytes.get(..4) {
        let _ = root.index(u32::from_le_bytes(w.try_into().expect("4 bytes")));
    }
}

fn envelope_checks(env: &Envelope<'_>, bytes: &[u8], valid: bool) {
    let mut tags = Vec::new();
    for t in env.tags().take(64) {
        match t {
            Ok(t) => tags.push(t),
            Err(_) => break,
        }
    }
    for t in &tags {
        if valid {
            assert_eq!(env.has_tag(t), Ok(true), "a listed tag is present");
        } else {
            let _ = env.has_tag(t);
        }
    }
    let _ = env.has_tag("x");
    let _ = env.has_tag("");
    for path in [
        "from",
        "nested.a.b.0",
        "list.19",
        "k7",
        "0",
        "d.d.d.d.leaf",
        "",
    ] {
        let _ = env.field(path);
    }
    if let Some(s) = bytes.get(bytes.len().saturating_sub(6)..) {
        let _ = env.field(&String::from_utf8_lossy(s));
    }
}

fn check_printed(s: &str, env: Option<&Envelope<'_>>) {
    let v: Value =
        serde_json::from_str(s).unwrap_or_else(|e| panic!("printed bad JSON ({e}): {s}"));
    assert!(
        v["data"].is_object() || v["data"].is_array(),
        "data is a container: {s}"
    );
    let tags = v["meta"]["tags"].as_array().expect("meta.tags is an array");
    if let Some(env) = env {
        let n = env.tags.len().expect("validated");
        assert_eq!(tags.len() as u64, u64::from(n), "every tag printed: {s}");
    }
    assert_eq!(v["seq"], 1);
    assert_eq!(v["time"], "1970-01-01T00:00:00Z");
}
