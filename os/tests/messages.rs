//! Messages as JSON: reference pool payloads print as the reference listed them, random
//! documents round-trip and re-encode to the same bytes, and every limit is a clear usage error.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use plasmite_core::{PoolView, Snapshot, locate};
use plasmite_os::ErrorKind;
use plasmite_os::message::{DATA_NESTING_MAX, Printed, encode, rfc3339, to_json_string};
use serde_json::{Map, Value, json};
use support::model::Rng;

const MAX: usize = 1 << 20;

#[test]
fn every_reference_pool_payload_prints_as_listed_and_re_encodes_to_the_same_bytes() {
    let mut printed = 0;
    for name in support::reference_pool_names() {
        let (bytes, expected) = support::reference_pool(&name);
        if expected.get("header").is_none() {
            continue;
        }
        let snap = Snapshot::new(&bytes).unwrap();
        for m in expected["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m.get("time").is_some())
        {
            let seq = m["seq"].as_u64().unwrap();
            let f = locate(&snap, seq).unwrap().unwrap();
            let text = to_json_string(&Printed {
                seq,
                timestamp_ns: f.head.timestamp_ns,
                payload: snap.payload(&f).unwrap(),
            })
            .unwrap();
            let ours: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(&ours, m, "{name} seq {seq}");
            // Encoding what was printed gives the reference's bytes back.
            let tags: Vec<&str> = m["meta"]["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert_eq!(
                encode(&m["data"], &tags, MAX).unwrap(),
                snap.payload(&f).unwrap(),
                "{name} seq {seq}: payload bytes"
            );
            printed += 1;
        }
    }
    assert!(printed > 60, "{printed} messages compared");
}

#[test]
fn times_print_in_rfc3339_with_trailing_zeros_trimmed() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_000_000_000), "1970-01-01T00:00:01Z");
    assert_eq!(rfc3339(1_500_000_000), "1970-01-01T00:00:01.5Z");
    assert_eq!(rfc3339(1), "1970-01-01T00:00:00.000000001Z");
    assert_eq!(
        rfc3339(support::rfc3339_to_ns("2026-11-21T08:54:34.068682436Z")),
        "2026-11-21T08:54:34.068682436Z"
    );
    assert_eq!(
        rfc3339(support::rfc3339_to_ns("2000-02-29T23:59:59.1Z")),
        "2000-02-29T23:59:59.1Z"
    );
    assert_eq!(rfc3339(u64::MAX), "2554-07-21T23:34:33.709551615Z");
}

/// A random JSON value: objects and arrays up to `depth` deep, with the number edge cases.
fn random_value(rng: &mut Rng, depth: u32) -> Value {
    let leaf = depth == 0 || rng.range(0, 3) == 0;
    match rng.range(0, if leaf { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.range(0, 1) == 1),
        2 => {
            let edges = [0i64, -1, 1, i64::MAX, i64::MIN, 42];
            json!(edges[rng.range(0, 5) as usize].wrapping_add(rng.range(0, 3) as i64))
        }
        3 => match rng.range(0, 4) {
            0 => json!(u64::MAX - rng.range(0, 1000)),
            1 => json!(-0.0),
            2 => json!(1.0),
            // Short decimals and the reference's edge cases: values the JSON reader parses
            // exactly. Its float parsing is best-effort beyond 15 significant digits (serde_json
            // without `float_roundtrip`, as the reference uses, and must keep using for
            // byte-identical payloads); the vectors cover long and extreme floats bit for bit.
            _ => match rng.range(0, 3) {
                0 => json!(1e-7),
                1 => json!(1.5e300),
                _ => json!((rng.range(0, 2_000_000_000_000) as f64 - 1e12) / 1000.0),
            },
        },
        4 | 5 => {
            let lens = [0usize, 1, 5, 89, 90, 91, 300];
            let n = lens[rng.range(0, 6) as usize];
            Value::String(
                (0..n)
                    .map(|i| {
                        ['a', 'é', '"', '\n', '\u{1}', '✓', 'z'][(i + rng.range(0, 6) as usize) % 7]
                    })
                    .collect(),
            )
        }
        6 => Value::Array(
            (0..rng.range(0, 9))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.range(0, 12) {
                let key = match rng.range(0, 5) {
                    0 => "k".repeat(rng.range(62, 65) as usize),
                    1 => format!("aB{}", rng.range(0, 3)),
                    _ => format!("key{}", rng.range(0, 30)),
                };
                m.insert(key, random_value(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

/// The JSON the reference prints back for `v`: u64 above i64::MAX becomes a float.
fn mapped(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_some() => {
            json!(n.as_u64().unwrap() as f64)
        }
        Value::Array(a) => Value::Array(a.iter().map(mapped).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), mapped(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn random_documents_round_trip_and_reencode_to_identical_bytes() {
    let mut rng = Rng::new(7);
    for case in 0..400 {
        let mut data = Map::new();
        for i in 0..rng.range(0, 6) {
            data.insert(format!("f{i}"), random_value(&mut rng, 4));
        }
        let data = Value::Object(data);
        let tags: Vec<String> = (0..rng.range(0, 3)).map(|i| format!("t{i}")).collect();
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let payload = encode(&data, &tag_refs, MAX).unwrap_or_else(|e| panic!("case {case}: {e}"));
        let text = to_json_string(&Printed {
            seq: 9,
            timestamp_ns: 0,
            payload: &payload,
        })
        .unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["data"], mapped(&data), "case {case}");
        assert_eq!(back["meta"]["tags"], json!(tags), "case {case}");
        let again = encode(&back["data"], &tag_refs, MAX).unwrap();
        assert_eq!(
            again, payload,
            "case {case}: re-encoding what was printed gives the same bytes"
        );
    }
}

fn nested(levels: usize) -> Value {
    let mut v = json!({});
    for _ in 1..levels {
        v = json!({ "n": v });
    }
    v
}

#[test]
fn data_nesting_limit_is_31_levels_counting_data() {
    assert!(encode(&nested(DATA_NESTING_MAX), &[], MAX).is_ok());
    let err = encode(&nested(DATA_NESTING_MAX + 1), &[], MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.message().contains("31"), "{}", err.message());
    assert!(err.hint().unwrap().contains("31"));
}

#[test]
fn data_that_is_not_an_object_is_a_usage_error() {
    for data in [json!([1]), json!("s"), json!(3), json!(null)] {
        let err = encode(&data, &[], MAX).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert_eq!(err.message(), "data must be object");
        assert!(err.hint().is_some());
    }
}

#[test]
fn keys_with_nul_are_refused_anywhere_in_data() {
    for data in [
        json!({"a\u{0}b": 1}),
        json!({"x": {"a\u{0}": 1}}),
        json!({"x": [{"\u{0}": 1}]}),
    ] {
        let err = encode(&data, &[], MAX).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage, "{data}");
        assert!(err.message().contains("NUL"), "{}", err.message());
    }
    // NUL inside a string value is kept.
    let p = encode(&json!({"s": "a\u{0}b"}), &[], MAX).unwrap();
    let text = to_json_string(&Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: &p,
    })
    .unwrap();
    assert!(text.contains(r#""s":"a\u0000b""#), "{text}");
}

#[test]
fn oversize_documents_are_refused_naming_the_limit() {
    let big = json!({"blob": "x".repeat(5000)});
    let err = encode(&big, &[], 4096).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.message().contains("4096"), "{}", err.message());
    assert!(encode(&big, &[], 8192).is_ok());
}

#[test]
fn damaged_payload_prints_as_a_corrupt_error() {
    let mut p = encode(&json!({"k": "value"}), &["t"], MAX).unwrap();
    let at = p.windows(6).position(|w| w == b"value\0").unwrap();
    p[at + 5] = b'!';
    let err = to_json_string(&Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: &p,
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.hint().is_some());
    let err = to_json_string(&Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: &p[..50],
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
}

#[test]
fn damaged_payload_in_a_pool_is_corrupt_with_the_frame_offset() {
    use plasmite_os::message::{Style, print_frame};
    let payload = encode(&json!({"k": "value"}), &["t"], MAX).unwrap();
    let mut pool = support::model::MemPool::create(8192, Some(4)).unwrap();
    let _ = pool.append(5, &payload).unwrap();
    let _ = pool.append(6, &payload).unwrap();
    let f = locate(&pool.snapshot(), 2).unwrap().unwrap();
    let mut out = Vec::new();
    print_frame(&mut out, &pool.snapshot(), &f, Style::Compact).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with(r#"{"data":{"k":"value"},"meta":{"tags":["t"]},"seq":2,"#)
    );
    // Damage a payload byte: our frames carry a CRC, which catches it first.
    let at = f.payload_file_offset(pool.snapshot().geometry()) as usize + 300;
    pool.bytes[at] ^= 0x40;
    let err = print_frame(&mut Vec::new(), &pool.snapshot(), &f, Style::Compact).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.offset(), Some(f.offset));
    assert_eq!(err.seq(), Some(2));
    // Without a CRC (as the reference writes frames), the payload decoder catches it.
    let flags_at = pool.snapshot().geometry().ring_offset as usize + f.offset as usize + 8;
    pool.bytes[flags_at..flags_at + 4].fill(0);
    pool.bytes[flags_at + 32..flags_at + 36].fill(0);
    let f = locate(&pool.snapshot(), 2).unwrap().unwrap();
    assert!(!f.head.has_crc());
    let start = f.payload_file_offset(pool.snapshot().geometry()) as usize;
    let value_at = start
        + pool.bytes[start..]
            .windows(6)
            .position(|w| w == b"value\0")
            .unwrap();
    pool.bytes[value_at + 5] = b'!';
    let err = print_frame(&mut Vec::new(), &pool.snapshot(), &f, Style::Compact).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.offset(), Some(f.offset), "{}", err.message());
}

#[test]
fn a_tag_that_is_not_utf8_is_refused_by_the_envelope_whatever_the_tag_count() {
    use plasmite_core::lite3::envelope::Envelope;
    for n in [1usize, 8] {
        let tags: Vec<String> = (0..n).map(|i| format!("zzq{i}")).collect();
        let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let mut payload = encode(&json!({"k": 1}), &refs, MAX).unwrap();
        let at = payload
            .windows(4)
            .position(|w| w == b"zzq0")
            .expect("the tag is stored");
        payload[at] = 0xff;
        assert!(Envelope::parse(&payload).is_err(), "{n} tags");
    }
}

#[test]
fn printing_checks_the_members_it_does_not_print() {
    use plasmite_core::lite3::envelope;
    use plasmite_core::lite3::read::Doc;
    use plasmite_core::lite3::write::{Key, Value as Lv};
    let mut buf = vec![0u8; 4096];
    let (mut w, data) = envelope::begin(&mut buf, ["t"]).unwrap();
    w.insert(data, Key::Name("k"), Lv::I64(1)).unwrap();
    let extra = w.insert(0, Key::Name("extra"), Lv::Object).unwrap();
    w.insert(extra, Key::Name("s"), Lv::Str("hello")).unwrap();
    let len = w.len() as usize;
    let mut p = buf[..len].to_vec();
    let msg = |p: &[u8]| {
        to_json_string(&Printed {
            seq: 1,
            timestamp_ns: 0,
            payload: p,
        })
    };
    assert!(
        msg(&p)
            .unwrap()
            .starts_with(r#"{"data":{"k":1},"meta":{"tags":["t"]}"#)
    );
    // Damage only the unprinted member: not UTF-8 any more.
    let at = p.windows(6).position(|w| w == b"hello\0").unwrap();
    p[at] = 0xff;
    assert!(Doc::new(&p).unwrap().validate().is_err());
    let err = msg(&p).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{}", err.message());
    use plasmite_os::message::{Style, print_data};
    let mut out = b"kept".to_vec();
    let printed = Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: &p,
    };
    assert!(print_data(&mut out, &printed, Style::Compact).is_err());
    assert_eq!(out, b"kept");
}

#[test]
fn check_agrees_with_validate_and_envelope_parse_on_every_bit_flip_and_truncation() {
    use plasmite_core::lite3::envelope::Envelope;
    use plasmite_core::lite3::read::Doc;
    use plasmite_os::message::{Style, check, print};
    let data = json!({"id": 7, "host": "web-07", "nested": {"a": [1, "two", null]}, "ok": true});
    let p = encode(&data, &["x", "y"], MAX).unwrap();
    let reference =
        |p: &[u8]| Doc::new(p).and_then(|d| d.validate()).is_ok() && Envelope::parse(p).is_ok();
    let printable = |p: &[u8]| {
        let msg = Printed {
            seq: 1,
            timestamp_ns: 0,
            payload: p,
        };
        print(&mut Vec::new(), &msg, Style::Compact).is_ok()
    };
    let mut cases: Vec<Vec<u8>> = (0..p.len()).map(|n| p[..n].to_vec()).collect();
    for i in 0..p.len() {
        for bit in 0..8 {
            let mut q = p.clone();
            q[i] ^= 1 << bit;
            cases.push(q);
        }
    }
    for q in &cases {
        let want = reference(q);
        assert_eq!(check(q).is_ok(), want, "{q:?}");
        assert_eq!(printable(q), want, "{q:?}");
    }
}

#[test]
fn seq_first_printing_is_the_sorted_print_reordered_and_fails_exactly_when_it_fails() {
    use plasmite_os::message::{Style, print, print_seq_first};
    let data = json!({"id": 7, "host": "web-07", "nested": {"a": [1, "two", null]}, "ok": true});
    let p = encode(&data, &["x", "y"], MAX).unwrap();
    let mut cases: Vec<Vec<u8>> = (0..p.len()).map(|n| p[..n].to_vec()).collect();
    for i in 0..p.len() {
        for bit in 0..8 {
            let mut q = p.clone();
            q[i] ^= 1 << bit;
            cases.push(q);
        }
    }
    cases.extend(reference_payloads(200));
    let mut compared = 0;
    for q in &cases {
        let msg = Printed {
            seq: 42,
            timestamp_ns: 1_700_000_000_123_456_789,
            payload: q,
        };
        let (mut sorted, mut first) = (b"[".to_vec(), b"[".to_vec());
        let a = print(&mut sorted, &msg, Style::Compact);
        let b = print_seq_first(&mut first, &msg);
        assert_eq!(a.is_ok(), b.is_ok(), "{q:?}");
        if a.is_err() {
            assert_eq!(first, b"[", "nothing is left behind on an error");
            continue;
        }
        let (a, b): (Value, Value) = (
            serde_json::from_slice(&sorted[1..]).unwrap(),
            serde_json::from_slice(&first[1..]).unwrap(),
        );
        assert_eq!(a, b);
        let text = String::from_utf8(first[1..].to_vec()).unwrap();
        let prefix = format!(
            "{{\"seq\":42,\"time\":\"{}\",\"meta\":{{\"tags\":",
            a["time"].as_str().unwrap()
        );
        assert!(text.starts_with(&prefix), "{text}");
        let data = serde_json::to_string(&a["data"]).unwrap();
        assert!(text.ends_with(&format!(",\"data\":{data}}}")), "{text}");
        compared += 1;
    }
    assert!(compared > 60, "{compared} payloads compared");
}

#[test]
fn spans_locate_the_data_meta_and_time_of_the_envelope_print_writes() {
    use plasmite_os::message::{Style, print, print_spans};
    let mut rng = Rng::new(11);
    let awkward = ["", "a", "\",\"seq\":1,\"time\":\"", "\"}", "\\", "é\n\u{1}"];
    let mut payloads = Vec::new();
    for case in 0..300 {
        let mut data = Map::new();
        for i in 0..rng.range(0, 5) {
            data.insert(format!("f{i}"), random_value(&mut rng, 3));
        }
        let tags: Vec<&str> = (0..rng.range(0, 4))
            .map(|_| awkward[rng.range(0, awkward.len() as u64 - 1) as usize])
            .collect();
        let p = encode(&Value::Object(data), &tags, MAX).unwrap_or_else(|e| panic!("{case}: {e}"));
        payloads.push(p);
    }
    payloads.extend(reference_payloads(100));
    let seqs = [0, 1, 9, 10, 12_345, u64::MAX];
    let times = [0, 1_000_000_000, 1_700_000_000_120_000_000, u64::MAX];
    let mut compared = 0;
    for (i, payload) in payloads.iter().enumerate() {
        let msg = Printed {
            seq: seqs[i % seqs.len()],
            timestamp_ns: times[i % times.len()],
            payload,
        };
        let mut want = Vec::new();
        if print(&mut want, &msg, Style::Compact).is_err() {
            continue;
        }
        let mut out = b"prefix".to_vec();
        let spans = print_spans(&mut out, &msg).expect("prints as print does");
        assert_eq!(spans.envelope, 6..out.len());
        assert_eq!(&out[6..], &want[..]);
        let env: Value = serde_json::from_slice(&want).unwrap();
        let part =
            |r: std::ops::Range<usize>| -> Value { serde_json::from_slice(&out[r]).unwrap() };
        assert_eq!(part(spans.data.clone()), env["data"]);
        assert_eq!(part(spans.meta.clone()), env["meta"]);
        assert_eq!(
            &out[spans.time.clone()],
            env["time"].as_str().unwrap().as_bytes()
        );
        compared += 1;
    }
    assert!(compared > 300, "{compared} payloads compared");
}

/// The payloads of seqs below `below` in every reference pool that opens.
fn reference_payloads(below: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for name in support::reference_pool_names() {
        let (bytes, _) = support::reference_pool(&name);
        let Ok(snap) = Snapshot::new(&bytes) else {
            continue;
        };
        for seq in 0..below {
            if let Ok(Some(f)) = locate(&snap, seq)
                && let Some(payload) = snap.payload(&f)
            {
                out.push(payload.to_vec());
            }
        }
    }
    out
}
