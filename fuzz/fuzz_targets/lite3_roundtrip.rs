//! Arbitrary JSON documents and tags through `message::encode`, `to_json_string` and back.
//!
//! - `encode` succeeds, or fails with a Usage error for one of its documented reasons that the
//!   document really has: a key containing NUL, `data` nesting deeper than 31, more than
//!   `max_len` bytes — or a key-hash clash that the keys really produce.
//! - With a smaller `max_len`, `encode` succeeds exactly when the payload fits, with the same
//!   bytes; otherwise it is a Usage "exceeds" error.
//! - An encoded payload validates, parses as an envelope that has each tag (and not an absent
//!   one) and each top-level key of `data` as a field, and prints; the printed `data` equals the
//!   input after the reference's number mapping (i64 stays, larger u64 and floats become f64;
//!   floats compared by bits, so `-0.0` must stay `-0.0`), `meta.tags` equals the tags, and
//!   encoding the printed `data` again gives the same payload bytes.
//!
//! The generator (not `derive(Arbitrary)`, to steer it) favours what the codec treats
//! specially: keys that differ slightly or repeat (a repeat replaces the earlier member, as in
//! a JSON object), keys at the 63/64 and 16383/16384-byte tag-size boundaries, strings whose
//! stored size is 94–96 bytes (95 is the container payload size, which gets the alignment
//! rule), integers at the i64/u64 edges, `-0.0` and subnormals, and chains of containers
//! around the 31-level limit. Keys with NUL appear only when the input's first byte allows it.
//!
//! serde_json is built with `float_roundtrip` here (see `Cargo.toml`), so the printed floats
//! parse back to the same bits.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use plasmite_core::lite3::envelope::Envelope;
use plasmite_core::lite3::read::{Doc, ValueRef};
use plasmite_core::lite3::{djb2, key_tag_len};
use plasmite_os::ErrorKind;
use plasmite_os::message::{DATA_NESTING_MAX, Printed, encode, to_json_string};
use serde_json::{Map, Number, Value};

/// The limit for the first encode: twice the largest payload `check` lets through (see
/// `payload_bound`). Not much larger, because `encode` zeroes a buffer of up to this size for
/// deeply nested documents (its first size guess grows by 3/2 per nesting level).
const HUGE: usize = 1 << 20;

fuzz_target!(|bytes: &[u8]| {
    let mut u = Unstructured::new(bytes);
    if let Ok(case) = Case::generate(&mut u) {
        check(&case);
    }
});

#[derive(Debug)]
struct Case {
    data: Value,
    tags: Vec<String>,
    /// A second, usually smaller limit to encode under.
    max_len: MaxLen,
}

#[derive(Debug, Clone, Copy)]
enum MaxLen {
    /// The payload's own length plus this (may be negative).
    Relative(i16),
    Absolute(u16),
}

impl Case {
    fn generate(u: &mut Unstructured<'_>) -> Result<Case> {
        let flags: u8 = u.arbitrary()?;
        let mut g = Gen {
            // One input in 16 may put NUL into keys.
            nul_keys: flags & 0x0f == 0x0f,
            long: 3,
        };
        let chain = if flags & 0x10 != 0 {
            u.int_in_range(24..=34)?
        } else {
            0
        };
        let max_len = if flags & 0x20 != 0 {
            MaxLen::Absolute(u.arbitrary()?)
        } else {
            MaxLen::Relative(u.int_in_range(-200..=200)?)
        };
        let mut tags = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            tags.push(g.tag(u)?);
        }
        let mut data = g.object(u, 1)?;
        // A chain of single-entry containers ending in the generated object: `data` then
        // nests `chain + 1` levels or more.
        let Value::Object(top) = &mut data else {
            unreachable!()
        };
        if chain > 0 {
            let mut inner = Value::Object(std::mem::take(top));
            for i in 0..chain - 1 {
                inner = if u.ratio(1, 3)? {
                    Value::Array(vec![inner])
                } else {
                    let mut m = Map::new();
                    m.insert(format!("c{i}"), inner);
                    Value::Object(m)
                };
            }
            let mut m = Map::new();
            m.insert("chain".into(), inner);
            data = Value::Object(m);
        }
        Ok(Case {
            data,
            tags,
            max_len,
        })
    }
}

struct Gen {
    nul_keys: bool,
    /// Long keys and strings (hundreds to tens of thousands of bytes) still allowed.
    long: u8,
}

const KEYS: &[&str] = &[
    "",
    "a",
    "b",
    "A",
    "ab",
    "ba",
    "aa",
    "key",
    "kez",
    "Key",
    "k\u{e9}y",
    "\u{43a}\u{43b}\u{44e}\u{447}",
    "\u{1f511}",
    "data",
    "meta",
    "tags",
    " ",
    "a.b",
    "0",
    "1",
    "10",
    "from",
    "msg",
    "\"",
    "\\",
    "\n",
    "\u{7f}",
];
const STRINGS: &[&str] = &[
    "",
    "x",
    "\"\\\n\r\t\u{8}\u{c}",
    "\u{1}\u{1f}\u{7f}",
    "\0",
    "a\0b",
    "\u{e9}",
    "\u{20ac}",
    "\u{1f600}",
    "\u{2028}\u{2029}",
    "</script>",
    "null",
    "1e5",
];
const TAGS: &[&str] = &[
    "x",
    "y",
    "a",
    "ping",
    "",
    "\u{e9}",
    "two words",
    "t\0nul",
    "x ",
];

impl Gen {
    fn value(&mut self, u: &mut Unstructured<'_>, level: u32) -> Result<Value> {
        // `level` is the nesting level a container made here would have (`data` is 1).
        let containers = level <= 34;
        Ok(match u.int_in_range(0..=11)? {
            0 => Value::Null,
            1 => Value::Bool(u.arbitrary()?),
            2 => Value::from(u.arbitrary::<i64>()?),
            3 => int_edge(u)?,
            4 | 5 => Value::Number(float(u)?),
            6 | 7 => Value::String(self.string(u)?),
            8 | 9 if containers => self.object(u, level)?,
            10 | 11 if containers => {
                let n = u.int_in_range(0..=12)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(u, level + 1)?);
                }
                Value::Array(items)
            }
            _ => Value::Null,
        })
    }

    fn object(&mut self, u: &mut Unstructured<'_>, level: u32) -> Result<Value> {
        let mut m = Map::new();
        let mut keys: Vec<String> = Vec::new();
        for _ in 0..u.int_in_range(0..=12)? {
            let k = self.key(u, &keys)?;
            let v = self.value(u, level + 1)?;
            keys.push(k.clone());
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }

    fn key(&mut self, u: &mut Unstructured<'_>, prev: &[String]) -> Result<String> {
        Ok(match u.int_in_range(0..=15)? {
            0..=3 => (*u.choose(KEYS)?).to_owned(),
            4..=6 => short(u)?,
            // A repeat: the later member replaces the earlier one.
            7 | 8 if !prev.is_empty() => u.choose(prev)?.clone(),
            // Differs from an earlier key in its last character, or by one character more or
            // less.
            9 | 10 if !prev.is_empty() => {
                let mut k = u.choose(prev)?.clone();
                match u.int_in_range(0..=2)? {
                    0 => {
                        let c = k
                            .pop()
                            .map_or('a', |c| char::from_u32(u32::from(c) ^ 1).unwrap_or('a'));
                        k.push(c);
                    }
                    1 => k.push(u.arbitrary()?),
                    _ => {
                        k.pop();
                    }
                }
                k
            }
            11 if self.long > 0 => {
                self.long -= 1;
                let len = *u.choose(&[62, 63, 64, 65, 16_382, 16_383, 16_384, 16_385, 200])?;
                filled(u, len)?
            }
            12 if self.nul_keys => {
                let base = short(u)?;
                match u.int_in_range(0..=2)? {
                    0 => format!("{base}\0"),
                    1 => format!("\0{base}"),
                    _ => "\0".to_owned(),
                }
            }
            _ => u.int_in_range(0..=20u8)?.to_string(),
        })
    }

    fn string(&mut self, u: &mut Unstructured<'_>) -> Result<String> {
        Ok(match u.int_in_range(0..=7)? {
            0 | 1 => (*u.choose(STRINGS)?).to_owned(),
            2 | 3 => short(u)?,
            // Stored size (4 + len + 1) of 94..=96 bytes around the 95-byte container payload.
            4 | 5 => {
                let len = u.int_in_range(86..=94)?;
                filled(u, len)?
            }
            6 if self.long > 0 => {
                self.long -= 1;
                let len = u.int_in_range(200..=20_000)?;
                filled(u, len)?
            }
            _ => String::new(),
        })
    }

    fn tag(&mut self, u: &mut Unstructured<'_>) -> Result<String> {
        Ok(if u.ratio(3, 4)? {
            (*u.choose(TAGS)?).to_owned()
        } else {
            short(u)?
        })
    }
}

/// Up to 16 characters of arbitrary text (no NUL: NUL keys are generated on purpose only).
fn short(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(0..=16)?;
    let mut s = String::new();
    for _ in 0..n {
        let c: char = u.arbitrary()?;
        s.push(if c == '\0' { '0' } else { c });
    }
    Ok(s)
}

/// Exactly `len` bytes: one repeated ASCII character, sometimes a 2-byte character first,
/// sometimes a different last character.
fn filled(u: &mut Unstructured<'_>, len: usize) -> Result<String> {
    let c = char::from(u.int_in_range(b' '..=b'~')?);
    let mut s = String::with_capacity(len);
    if len >= 2 && u.arbitrary()? {
        s.push('\u{e9}');
    }
    while s.len() + 1 < len {
        s.push(c);
    }
    if s.len() < len {
        s.push(if u.arbitrary()? { 'z' } else { c });
    }
    Ok(s)
}

fn int_edge(u: &mut Unstructured<'_>) -> Result<Value> {
    const I: &[i64] = &[
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        i64::MAX - 1,
        i64::MAX,
        1 << 53,
        (1 << 53) + 1,
        -(1 << 53) - 1,
    ];
    const U: &[u64] = &[
        i64::MAX as u64 + 1,
        i64::MAX as u64 + 2,
        u64::MAX - 1,
        u64::MAX,
        (1 << 63) + 1024,
        (1 << 63) + 1025,
    ];
    Ok(if u.arbitrary()? {
        Value::from(*u.choose(I)?)
    } else if u.arbitrary()? {
        Value::from(*u.choose(U)?)
    } else {
        Value::from(u.arbitrary::<u64>()?)
    })
}

fn float(u: &mut Unstructured<'_>) -> Result<Number> {
    const F: &[f64] = &[
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1.5,
        1e20,
        1e300,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::MAX,
        f64::MIN,
        9_007_199_254_740_992.0,
        9.223_372_036_854_776e18,
        1.844_674_407_370_955_2e19,
    ];
    let x = match u.int_in_range(0..=3)? {
        0 => *u.choose(F)?,
        // Subnormal (or zero), either sign.
        1 => f64::from_bits(u.arbitrary::<u64>()? & 0x800f_ffff_ffff_ffff),
        _ => f64::from_bits(u.arbitrary()?),
    };
    Ok(Number::from_f64(x).unwrap_or_else(|| Number::from_f64(-0.0).expect("finite")))
}

fn check(case: &Case) {
    let tags: Vec<&str> = case.tags.iter().map(String::as_str).collect();
    let nul = has_nul_key(&case.data);
    let depth = nesting(&case.data);
    let deep = depth > DATA_NESTING_MAX;
    if payload_bound(&case.data) > HUGE / 2 {
        return;
    }

    let payload = match encode(&case.data, &tags, HUGE) {
        Ok(p) => {
            assert!(!nul, "a key with NUL was accepted");
            assert!(!deep, "data nesting {depth} levels was accepted");
            p
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Usage, "encode error kind: {e}");
            // Told apart by wording (the error does not carry the core's kind): message and
            // hint together name the reason.
            let msg = e.message();
            let said = format!("{msg} / {}", e.hint().unwrap_or_default()).to_lowercase();
            let why_nul = nul && said.contains("nul");
            let why_deep = deep && said.contains("nest");
            let why_clash = (said.contains("share a hash") || said.contains("collid"))
                && keys_clash(&case.data);
            assert!(
                why_nul || why_deep || why_clash,
                "encode refused for no reason the document has (nul {nul}, depth {depth}): {msg}"
            );
            return;
        }
    };
    assert!(payload.len() <= HUGE);

    limited(case, &tags, &payload);

    let doc = Doc::new(&payload).expect("an encoded payload opens");
    doc.validate().expect("an encoded payload validates");
    let env = Envelope::parse(&payload).expect("an encoded payload is an envelope");
    for t in &tags {
        assert_eq!(env.has_tag(t), Ok(true), "tag {t:?}");
    }
    let absent = "\u{1}absent";
    assert_eq!(env.has_tag(absent), Ok(false));
    let Value::Object(map) = &case.data else {
        unreachable!()
    };
    for (k, v) in map {
        if k.contains('.') {
            continue;
        }
        let got = env
            .field(k)
            .unwrap_or_else(|e| panic!("field {k:?}: {e}"))
            .unwrap_or_else(|| panic!("field {k:?} missing"));
        assert!(scalar_matches(&got, v), "field {k:?}: {got:?} vs {v}");
    }

    let printed = to_json_string(&Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: &payload,
    })
    .unwrap_or_else(|e| panic!("an encoded payload prints: {e}"));
    let v: Value = serde_json::from_str(&printed)
        .unwrap_or_else(|e| panic!("printed JSON parses ({e}): {printed}"));
    let want = mapped(&case.data);
    assert!(
        same(&v["data"], &want),
        "printed data differs\n printed: {}\n    want: {want}",
        v["data"]
    );
    let printed_tags: Vec<&str> = v["meta"]["tags"]
        .as_array()
        .expect("meta.tags is an array")
        .iter()
        .map(|t| t.as_str().expect("tags are strings"))
        .collect();
    assert_eq!(printed_tags, tags);

    let again = encode(&v["data"], &tags, HUGE).expect("printed data encodes again");
    assert!(again == payload, "printed data encodes to different bytes");
}

/// Under the case's second limit: the same bytes when they fit, else a Usage "exceeds" error.
fn limited(case: &Case, tags: &[&str], payload: &[u8]) {
    let max_len = match case.max_len {
        MaxLen::Relative(d) => payload.len().saturating_add_signed(isize::from(d)),
        MaxLen::Absolute(n) => usize::from(n),
    };
    match encode(&case.data, tags, max_len) {
        Ok(p) => {
            assert!(
                payload.len() <= max_len,
                "{} bytes accepted under {max_len}",
                payload.len()
            );
            assert!(p == payload, "the limit changed the bytes");
        }
        Err(e) => {
            assert!(
                payload.len() > max_len,
                "{} bytes refused under {max_len}: {e}",
                payload.len()
            );
            assert_eq!(e.kind(), ErrorKind::Usage);
            assert!(e.message().contains("exceeds"), "{}", e.message());
        }
    }
}

/// More than the payload can take: a node per container and per 3 entries, and per entry its
/// key, a tag, a value and padding.
fn payload_bound(v: &Value) -> usize {
    match v {
        Value::Object(m) => {
            200 + m
                .iter()
                .map(|(k, v)| k.len() + 48 + payload_bound(v))
                .sum::<usize>()
        }
        Value::Array(a) => 200 + a.iter().map(|v| 48 + payload_bound(v)).sum::<usize>(),
        Value::String(s) => s.len() + 8,
        _ => 9,
    }
}

fn has_nul_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul_key(v)),
        Value::Array(a) => a.iter().any(has_nul_key),
        _ => false,
    }
}

/// Nesting levels of containers, the value itself included (a scalar is 0).
fn nesting(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(nesting).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether some object holds two keys of different tag sizes whose probe sequences meet (the
/// writer then refuses), or so many keys that a chain could fill. Only run on a refusal.
fn keys_clash(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            let keys: Vec<(u32, Option<u64>)> = m
                .keys()
                .map(|k| (djb2(k.as_bytes()), key_tag_len(k.len() as u64 + 1)))
                .collect();
            let meet = keys.iter().enumerate().any(|(i, a)| {
                keys[i + 1..].iter().any(|b| {
                    a.1 != b.1
                        && (0..128u32).any(|p| {
                            let ha = a.0.wrapping_add(p.wrapping_mul(p));
                            (0..128u32).any(|q| ha == b.0.wrapping_add(q.wrapping_mul(q)))
                        })
                })
            });
            meet || keys.len() >= 128 || m.values().any(keys_clash)
        }
        Value::Array(a) => a.iter().any(keys_clash),
        _ => false,
    }
}

/// The input as the reference stores it: integers that fit i64 stay, others become f64.
fn mapped(v: &Value) -> Value {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            #[allow(clippy::cast_precision_loss)]
            (None, Some(u), _) => Value::Number(Number::from_f64(u as f64).expect("finite")),
            (_, _, Some(f)) => Value::Number(Number::from_f64(f).expect("finite")),
            _ => unreachable!("a serde_json number is i64, u64 or f64"),
        },
        Value::Array(a) => Value::Array(a.iter().map(mapped).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), mapped(v))).collect()),
        other => other.clone(),
    }
}

/// JSON equality with integers and floats kept apart and floats compared by bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j && x.is_f64() == y.is_f64(),
            _ => {
                x.is_f64()
                    && y.is_f64()
                    && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
            }
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A field read in place matches the input value (containers only by kind).
fn scalar_matches(got: &ValueRef<'_>, v: &Value) -> bool {
    match (got, mapped(v)) {
        (ValueRef::Null, Value::Null) => true,
        (ValueRef::Bool(a), Value::Bool(b)) => *a == b,
        (ValueRef::I64(a), Value::Number(n)) => n.as_i64() == Some(*a) && !n.is_f64(),
        (ValueRef::F64(a), Value::Number(n)) => {
            n.is_f64() && n.as_f64().map(f64::to_bits) == Some(a.to_bits())
        }
        (ValueRef::Str(a), Value::String(b)) => *a == b,
        (ValueRef::Object(_), Value::Object(_)) | (ValueRef::Array(_), Value::Array(_)) => true,
        _ => false,
    }
}
