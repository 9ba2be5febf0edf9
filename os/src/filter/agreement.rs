//! The fast path agrees with jaq: random envelopes and random predicates of the fast path's
//! grammar, each evaluated by both engines, with fixed seeds.
//!
//! The generator is a xorshift64* of our own (no dependency): the cases are reproducible from
//! the seed printed on failure, and the grammar is small enough that a hand-written generator
//! reaches its corners (missing keys, null, int against float, `-0.0`, large integers, unicode,
//! nested containers, tags, errors under `and`/`or`/`//`) more often than a generic one would.

use super::{Filter, jq};
use crate::message::{Printed, encode};
use plasmite_core::predicate::{EvalError, Message};
use serde_json::{Map, Value, json};

/// xorshift64* (Vigna): small, fast and good enough to pick grammar productions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &["a", "b", "k", "x y", "ü", "0"];
const STRINGS: &[&str] = &[
    "", "a", "ab", "abc", "b c", "ü", "üx", "A", "prod", "z", "a\u{0}b",
];
const TAGS: &[&str] = &["a", "prod", "ü"];

fn number(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => json!(0),
        1 => json!(1),
        2 => json!(-1),
        3 => json!(25),
        4 => json!(26),
        5 => json!(i64::MAX),
        6 => json!(i64::MIN),
        7 => json!(9_007_199_254_740_993_i64),
        8 => json!(1.0),
        9 => json!(-0.0),
        10 => json!(0.5),
        11 => json!(25.5),
        12 => json!(9_007_199_254_740_992.0),
        _ => json!(9.223_372_036_854_776e18),
    }
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    let kinds = if depth >= 3 { 6 } else { 8 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 | 3 => number(rng),
        4 | 5 => Value::String((*rng.pick(STRINGS)).to_owned()),
        6 => {
            let n = rng.below(4);
            Value::Array((0..n).map(|_| value(rng, depth + 1)).collect())
        }
        _ => object(rng, depth + 1),
    }
}

fn object(rng: &mut Rng, depth: u32) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(5) {
        map.insert((*rng.pick(KEYS)).to_owned(), value(rng, depth));
    }
    Value::Object(map)
}

/// Append stamps, and the `time` strings some of them print as (for literals).
const STAMPS: &[u64] = &[
    0,
    1_000,
    1_732_180_000_123_456_789,
    1_732_180_000_000_000_000,
    951_782_400_500_000_000,
    u64::MAX,
];
const TIMES: &[&str] = &[
    "2024-11-21T09:06:40.123456789Z",
    "2024-11-21T09:06:40Z",
    "2024-11-21T",
    "1970-01-01T00:00:00Z",
    "2000-02-29T00:00:00.5Z",
];

/// A random stored message: payload bytes, seq and append stamp.
fn message(rng: &mut Rng) -> (Vec<u8>, u64, u64) {
    let data = object(rng, 0);
    let tags: Vec<&str> = (0..rng.below(3)).map(|_| *rng.pick(TAGS)).collect();
    let payload = encode(&data, &tags, 1 << 16).expect("encodes");
    let seq = *rng.pick(&[0, 1, 25, 42, i64::MAX as u64, u64::MAX]);
    (payload, seq, *rng.pick(STAMPS))
}

/// A key step: `.k` when it is an identifier, else `."k"` or `.["k"]`.
fn key_step(rng: &mut Rng) -> String {
    let k = *rng.pick(KEYS);
    let ident = k.chars().all(|c| c.is_ascii_alphabetic());
    match rng.below(3) {
        0 if ident => format!(".{k}"),
        1 => format!(".[{}]", json!(k)),
        _ => format!(".{}", json!(k)),
    }
}

fn index_step(rng: &mut Rng) -> String {
    format!(".[{}]", rng.pick(&["0", "1", "2", "7"]))
}

fn steps(rng: &mut Rng, max: usize) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(max + 1) {
        s.push_str(&if rng.below(3) == 0 {
            index_step(rng)
        } else {
            key_step(rng)
        });
    }
    s
}

fn path(rng: &mut Rng, relative: bool) -> String {
    if relative && rng.below(2) == 0 {
        let s = steps(rng, 2);
        return if s.is_empty() { ".".to_owned() } else { s };
    }
    match rng.below(12) {
        0..=4 => format!(".data{}", steps(rng, 3)),
        5 | 6 => format!(".meta.tags{}", steps(rng, 1)),
        7 => ".seq".to_owned(),
        8 => ".time".to_owned(),
        9 => (*rng.pick(&[".meta", ".meta.x", ".nope", ".[0]", ".time.x"])).to_owned(),
        _ => ".".to_owned(),
    }
}

fn literal(rng: &mut Rng) -> String {
    let lits = [
        "null",
        "true",
        "false",
        "0",
        "1",
        "-1",
        "25",
        "1.0",
        "-0",
        "-0.0",
        "0.5",
        "25.5",
        "1e300",
        "9007199254740993",
        "9223372036854775807",
        "-9223372036854775807",
        "9.223372036854776e18",
    ];
    if rng.below(6) == 0 {
        json!(rng.pick(TIMES)).to_string()
    } else if rng.below(3) == 0 {
        json!(rng.pick(STRINGS)).to_string()
    } else {
        (*rng.pick(&lits)).to_owned()
    }
}

fn expr(rng: &mut Rng, depth: u32, relative: bool) -> String {
    let leaf = depth >= 3;
    match rng.below(if leaf { 2 } else { 12 }) {
        0 => path(rng, relative),
        1 => literal(rng),
        2 | 3 => {
            let op = rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
            let l = expr(rng, depth + 1, relative);
            let r = if rng.below(2) == 0 {
                literal(rng)
            } else {
                expr(rng, depth + 1, relative)
            };
            format!("({l}) {op} ({r})")
        }
        4 => {
            let op = rng.pick(&["and", "or", "//"]);
            let l = expr(rng, depth + 1, relative);
            let r = expr(rng, depth + 1, relative);
            format!("({l}) {op} ({r})")
        }
        5 => format!("({}) | not", expr(rng, depth + 1, relative)),
        6 => format!("({}) | length", expr(rng, depth + 1, relative)),
        7 => format!(
            "({}) | has({})",
            expr(rng, depth + 1, relative),
            json!(rng.pick(KEYS))
        ),
        8 | 9 => {
            let f = rng.pick(&["startswith", "endswith", "test"]);
            let s = json!(rng.pick(STRINGS));
            format!("({}) | {f}({s})", expr(rng, depth + 1, relative))
        }
        _ => format!(
            "({}) | ({})",
            expr(rng, depth + 1, relative),
            expr(rng, depth + 1, true)
        ),
    }
}

/// Evaluates `expr` on every message with both engines; returns (decided by the fast path,
/// evaluated).
fn agree(expr: &str, messages: &[(Vec<u8>, u64, u64)], seed: u64) -> (usize, usize) {
    let filter = Filter::compile(&[expr.to_owned()])
        .unwrap_or_else(|e| panic!("seed {seed}: `{expr}` does not compile: {e}"));
    let compiled = &filter.exprs[0];
    let Some(fast) = &compiled.fast else {
        return (0, 0);
    };
    let mut decided = 0;
    for (payload, seq, ts) in messages {
        let msg = Printed {
            seq: *seq,
            timestamp_ns: *ts,
            payload,
        };
        let want = compiled
            .jq
            .matches(jq::envelope_val(&msg).expect("decodes"));
        let message = Message {
            seq: *seq,
            timestamp_ns: *ts,
            payload,
        };
        let got = fast.eval(&message);
        assert_eq!(got, fast.eval_checked(&message), "{expr}");
        match got {
            Ok(got) => {
                decided += 1;
                let data = crate::message::to_value(&msg).expect("decodes");
                assert_eq!(got, want, "seed {seed}: `{expr}` on {data} (seq {seq})");
            }
            Err(EvalError::Undecided) => {}
            Err(e) => panic!("seed {seed}: `{expr}`: {e:?}"),
        }
        assert_eq!(filter.matches(&msg).expect("decodes"), want, "{expr}");
    }
    (decided, messages.len())
}

#[test]
fn fast_path_agrees_with_jaq_on_random_predicates_and_envelopes() {
    let mut decided = 0;
    let mut total = 0;
    let mut fast = 0;
    let mut exprs = 0;
    for seed in [1_u64, 0x9E37_79B9_7F4A_7C15, 0xDEAD_BEEF] {
        let mut rng = Rng(seed);
        let messages: Vec<_> = (0..24).map(|_| message(&mut rng)).collect();
        for _ in 0..250 {
            let e = expr(&mut rng, 0, false);
            let (d, t) = agree(&e, &messages, seed);
            exprs += 1;
            fast += usize::from(t > 0);
            decided += d;
            total += t;
        }
    }
    // The generator stays inside the grammar most of the time, and most messages are decided
    // without jaq; if either drops, the test no longer tests much.
    assert!(fast * 2 > exprs, "{fast} of {exprs} expressions compiled");
    assert!(
        decided * 2 > total,
        "{decided} of {total} evaluations decided"
    );
}

#[test]
fn fast_path_agrees_with_jaq_on_chosen_corners() {
    let mut rng = Rng(7);
    let mut messages: Vec<_> = (0..32).map(|_| message(&mut rng)).collect();
    for data in [
        json!({"a": 1, "b": 1.0, "k": -0.0, "ü": "ü", "x y": [1, [2]], "0": {"a": null}}),
        json!({"a": i64::MAX, "b": 9.223_372_036_854_776e18, "k": ""}),
        json!({}),
    ] {
        let payload = encode(&data, &["a", "prod"], 1 << 16).unwrap();
        messages.push((payload, 42, 1_732_180_000_123_456_789));
    }
    for e in [
        ".data.a == .data.b",
        ".data.a < .data.b",
        ".data.k == 0",
        ".data.k < 0",
        ".data.k | length == 0",
        ".data.a.b == null",
        ".data.k.x == null",
        r#".data["x y"][1][0] == 2"#,
        r#".data."0".a // "d" == "d""#,
        ".data.missing.deeper == null",
        ".data.a and .data.nope.x",
        ".data.nope or .data.k.x",
        "(.data.k.x // true)",
        "(false // .data.k.x) | not",
        r#".data | has("a")"#,
        r#".data.nope | has("a") | not"#,
        r#".meta.tags | has("a")"#,
        r#".meta.tags[0] | startswith("pr")"#,
        r#".meta.tags[1] | test("ro")"#,
        ".meta.tags | length > 1",
        r#".data."ü" | length == 1"#,
        r#".data."ü" > "z""#,
        ".data | length >= 0",
        ".data.a == 9223372036854775807",
        ".data.b == 9223372036854775807",
        ".seq == 42",
        ".seq > 41.5",
        r#".time == "2024-11-21T09:06:40.123456789Z""#,
        r#".time | startswith("2024-11-21T")"#,
        r#".time > "2000" and (.time | endswith("Z"))"#,
        ".time | length > 19",
        ".data[0] == null",
        ".[0] == null",
        ".meta.x == null",
        ".nope == null",
        ". and true",
    ] {
        agree(e, &messages, 7);
        assert!(
            Filter::compile(&[e.to_owned()]).unwrap().is_fast(),
            "`{e}` should run on the fast path"
        );
    }
}

#[test]
fn fast_path_time_is_the_printed_time() {
    use plasmite_core::predicate::{Cmp, Literal, Program, Step};
    let payload = encode(&json!({}), &[], 1 << 16).unwrap();
    let mut rng = Rng(11);
    let mut stamps: Vec<u64> = STAMPS.to_vec();
    for _ in 0..2000 {
        stamps.push(rng.next());
        // Up to 2100, where most stamps of interest are.
        stamps.push(rng.next() % 4_102_444_800_000_000_000);
        stamps.push(rng.next() % 4_102_444_800 * 1_000_000_000);
    }
    for ts in stamps {
        let time = crate::message::rfc3339(ts);
        let mut program = Program::new();
        program.push_path(&[Step::Key("time")]).unwrap();
        program.push_literal(Literal::Str(&time)).unwrap();
        program.push_cmp(Cmp::Eq).unwrap();
        let msg = Message {
            seq: 1,
            timestamp_ns: ts,
            payload: &payload,
        };
        assert_eq!(program.eval(&msg), Ok(true), "{time} at {ts}");
    }
}
