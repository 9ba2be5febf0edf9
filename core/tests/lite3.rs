//! The Lite³ reader refuses the reference's hazards, answers predicates on the bytes, and never
//! panics on damaged documents; the writer's limits and refusals.

use plasmite_core::lite3::envelope::{self, Envelope};
use plasmite_core::lite3::read::{Doc, ValueRef};
use plasmite_core::lite3::write::{Key, Value, Writer};
use plasmite_core::lite3::{Lite3ErrorKind as K, djb2};

/// `{"meta":{"tags":tags},"data":{"status":"ok","n":7,"user":{"name":"ada"},"items":[10,20]}}`
fn sample(tags: &[&str]) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let (mut w, data) = envelope::begin(&mut buf, tags.iter().copied()).unwrap();
    let items = w.insert(data, Key::Name("items"), Value::Array).unwrap();
    w.insert(items, Key::Append, Value::I64(10)).unwrap();
    w.insert(items, Key::Append, Value::I64(20)).unwrap();
    w.insert(data, Key::Name("n"), Value::I64(7)).unwrap();
    w.insert(data, Key::Name("status"), Value::Str("ok"))
        .unwrap();
    let user = w.insert(data, Key::Name("user"), Value::Object).unwrap();
    w.insert(user, Key::Name("name"), Value::Str("ada"))
        .unwrap();
    let len = w.len() as usize;
    buf.truncate(len);
    buf
}

#[test]
fn djb2_matches_the_reference_hashes() {
    assert_eq!(djb2(b"a"), 0x0002_b606);
    assert_eq!(djb2(b""), 5381);
    assert_eq!(djb2(b"from"), 0x7c96_f1d9);
    assert_eq!(djb2(b"meta"), 0x7C9A_91CC);
    assert_eq!(djb2(b"data"), 0x7C95_915F);
    assert_eq!(djb2(b"tags"), 0x7C9E_55D4);
    assert_eq!(djb2(b"aB"), djb2(b"b!"), "a known collision");
}

#[test]
fn colliding_keys_take_the_next_probe_and_both_read_back() {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::object(&mut buf).unwrap();
    w.insert(0, Key::Name("aB"), Value::I64(1)).unwrap();
    w.insert(0, Key::Name("b!"), Value::I64(2)).unwrap();
    let len = w.len() as usize;
    let doc = Doc::new(&buf[..len]).unwrap();
    doc.validate().unwrap();
    assert_eq!(doc.root().get("aB").unwrap(), Some(ValueRef::I64(1)));
    assert_eq!(doc.root().get("b!").unwrap(), Some(ValueRef::I64(2)));
    assert_eq!(doc.root().get("zz").unwrap(), None);
}

#[test]
fn predicates_answer_on_the_bytes() {
    let payload = sample(&["alpha", "beta", ""]);
    let env = Envelope::parse(&payload).unwrap();
    assert!(env.has_tag("beta").unwrap());
    assert!(env.has_tag("").unwrap());
    assert!(!env.has_tag("gamma").unwrap());
    assert_eq!(env.field("status").unwrap(), Some(ValueRef::Str("ok")));
    assert_eq!(env.field("user.name").unwrap(), Some(ValueRef::Str("ada")));
    assert_eq!(env.field("items.1").unwrap(), Some(ValueRef::I64(20)));
    assert_eq!(env.field("items.2").unwrap(), None);
    assert_eq!(env.field("user.missing").unwrap(), None);
    assert_eq!(env.field("n.deeper").unwrap(), None);
    let tags: Vec<&str> = env.tags().map(Result::unwrap).collect();
    assert_eq!(tags, ["alpha", "beta", ""]);
}

#[test]
fn object_keys_with_nul_are_refused_not_truncated() {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::object(&mut buf).unwrap();
    let e = w.insert(0, Key::Name("a\0b"), Value::Null).unwrap_err();
    assert_eq!(e.kind, K::KeyContainsNul);
}

#[test]
fn buffer_too_small_says_how_much_is_needed() {
    let mut small = vec![0u8; 100];
    let mut w = Writer::object(&mut small).unwrap();
    let e = w
        .insert(0, Key::Name("key"), Value::Str("a string"))
        .unwrap_err();
    match e.kind {
        K::BufferTooSmall { needed } => {
            let mut big = vec![0u8; needed as usize];
            let mut w = Writer::object(&mut big).unwrap();
            w.insert(0, Key::Name("key"), Value::Str("a string"))
                .unwrap();
            assert_eq!(
                w.len() as u64,
                needed,
                "the figure is exact for a single insert"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn writer_output_does_not_depend_on_what_the_buffer_held() {
    let encode = |fill: u8| {
        let mut buf = vec![fill; 8192];
        let (mut w, data) = envelope::begin(&mut buf, ["t"]).unwrap();
        for i in 0..40 {
            w.insert(data, Key::Name(&format!("k{i:02}")), Value::I64(i))
                .unwrap();
        }
        let len = w.len() as usize;
        buf.truncate(len);
        buf
    };
    assert_eq!(encode(0), encode(0xA5));
}

#[test]
fn arrays_hold_exactly_their_indices_after_many_splits() {
    let mut buf = vec![0u8; 1 << 16];
    let mut w = Writer::array(&mut buf).unwrap();
    for i in 0..1000 {
        w.insert(0, Key::Append, Value::I64(i)).unwrap();
    }
    let len = w.len() as usize;
    let doc = Doc::new(&buf[..len]).unwrap();
    doc.validate().unwrap();
    let root = doc.root();
    assert_eq!(root.len().unwrap(), 1000);
    for i in [0u32, 1, 2, 3, 500, 998, 999] {
        assert_eq!(root.index(i).unwrap(), Some(ValueRef::I64(i64::from(i))));
    }
    assert_eq!(root.index(1000).unwrap(), None);
    let all: Vec<i64> = root
        .iter()
        .map(|e| match e.unwrap().1 {
            ValueRef::I64(n) => n,
            v => panic!("{v:?}"),
        })
        .collect();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
}

/// Rewrites `n` bytes at `at` of a valid sample, then checks the document is refused with
/// `kind` by validation.
fn damaged(at: usize, bytes: &[u8], kind: K) {
    let mut doc = sample(&["x"]);
    doc[at..at + bytes.len()].copy_from_slice(bytes);
    let err = Doc::new(&doc).and_then(|d| d.validate()).unwrap_err();
    assert_eq!(err.kind, kind, "bytes {bytes:02x?} at {at}");
}

/// Offset of the first occurrence of `needle`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn zero_string_size_is_corrupt_not_a_four_gib_string() {
    let doc = sample(&["x"]);
    // The tag "x": type 5, size 2, "x\0".
    let at = find(&doc, &[5, 2, 0, 0, 0, b'x', 0]);
    damaged(at + 1, &[0, 0, 0, 0], K::BadString);
    damaged(at + 5, b"xy", K::BadString);
}

#[test]
fn key_without_its_nul_is_corrupt() {
    let doc = sample(&["x"]);
    let at = find(&doc, b"status\0");
    damaged(at + 6, b"X", K::BadKey);
}

#[test]
fn invalid_type_and_bool_bytes_are_corrupt() {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::object(&mut buf).unwrap();
    let at = w.insert(0, Key::Name("b"), Value::Bool(true)).unwrap() as usize;
    let len = w.len() as usize;
    let mut doc = buf[..len].to_vec();
    doc[at + 1] = 2;
    assert_eq!(
        Doc::new(&doc).unwrap().validate().unwrap_err().kind,
        K::BadBool
    );
    doc[at] = 9;
    assert_eq!(
        Doc::new(&doc).unwrap().validate().unwrap_err().kind,
        K::BadType
    );
}

#[test]
fn cyclic_and_shared_structures_are_refused() {
    // A 20-key object has internal nodes; point a child back at the root.
    let mut buf = vec![0u8; 4096];
    let mut w = Writer::object(&mut buf).unwrap();
    for i in 0..20 {
        w.insert(0, Key::Name(&format!("k{i:02}")), Value::Null)
            .unwrap();
    }
    let len = w.len() as usize;
    let mut doc = buf[..len].to_vec();
    let child1 = 64 + 4;
    doc[child1..child1 + 4].copy_from_slice(&0u32.to_le_bytes());
    let e = Doc::new(&doc).unwrap().validate().unwrap_err();
    assert_eq!(
        e.kind,
        K::OutOfBounds,
        "a child offset of 0 (the root) is refused"
    );
    // Both children pointing at the same node: shared subtree.
    let c0: [u8; 4] = doc[64..68].try_into().unwrap();
    doc[child1..child1 + 4].copy_from_slice(&c0);
    assert!(Doc::new(&doc).unwrap().validate().is_err());
}

#[test]
fn every_truncation_and_bit_flip_of_a_document_is_handled_without_panic() {
    let doc = sample(&["alpha", "beta"]);
    for n in 0..doc.len() {
        let cut = &doc[..n];
        if let Ok(d) = Doc::new(cut) {
            let _ = d.validate();
            if let Ok(env) = Envelope::parse(cut) {
                let _ = env.has_tag("beta");
                let _ = env.field("user.name");
            }
        }
    }
    let mut flipped_ok = 0;
    for bit in 0..doc.len() * 8 {
        let mut b = doc.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        if let Ok(d) = Doc::new(&b)
            && d.validate().is_ok()
        {
            flipped_ok += 1;
            let env = Envelope::parse(&b);
            if let Ok(env) = env {
                let _ = env.has_tag("alpha");
                let _ = env.field("items.0");
            }
        }
    }
    // Flips in values (an integer, a string byte) and in padding/generation bits stay valid
    // documents; the point is that none of the 8 × len flips panics or loops.
    assert!(flipped_ok < doc.len() * 8);
}

#[test]
fn nesting_deeper_than_32_is_refused_on_read() {
    let mut buf = vec![0u8; 8192];
    let mut w = Writer::array(&mut buf).unwrap();
    let mut at = 0;
    for _ in 0..40 {
        at = w.insert(at, Key::Append, Value::Array).unwrap();
    }
    let len = w.len() as usize;
    let e = Doc::new(&buf[..len]).unwrap().validate().unwrap_err();
    assert_eq!(e.kind, K::NestingTooDeep);
}

/// The reference's 2,097,161st append splits a full 10-level root and leaves an 11-level tree
/// that neither its reader nor ours can read (its depth count restarts below a split root). Our
/// writer refuses exactly that insert, and the document stays readable.
#[test]
fn array_stops_at_the_tree_height_limit_and_stays_readable() {
    let mut buf = vec![0u8; 90 << 20];
    let mut w = Writer::array(&mut buf).unwrap();
    let mut n = 0u32;
    let err = loop {
        match w.insert(0, Key::Append, Value::Null) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind, K::TreeTooTall);
    assert_eq!(
        n, 2_097_160,
        "one short of the reference, whose last append is unreadable"
    );
    let len = w.len() as usize;
    let doc = Doc::new(&buf[..len]).unwrap();
    doc.validate().unwrap();
    assert_eq!(doc.root().len().unwrap(), n);
    assert_eq!(doc.root().index(n - 1).unwrap(), Some(ValueRef::Null));
}

#[test]
fn path_indices_are_plain_decimal() {
    let payload = sample(&[]);
    let env = Envelope::parse(&payload).unwrap();
    assert_eq!(env.field("items.1").unwrap(), Some(ValueRef::I64(20)));
    for odd in ["items.01", "items.+1", "items.-1", "items. 1", "items.1x"] {
        assert_eq!(env.field(odd).unwrap(), None, "{odd}");
    }
}

/// The reference's case 11: an in-place overwrite of a long string by an object puts the
/// object's node at an unaligned offset (0x63); release builds of the reference write and read
/// it, and so do we.
#[test]
fn overwrite_in_place_can_leave_an_unaligned_node_which_reads_back() {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::object(&mut buf).unwrap();
    let s91 = "s".repeat(91);
    w.insert(0, Key::Name("a"), Value::Str(&s91)).unwrap();
    let inner = w.insert(0, Key::Name("a"), Value::Object).unwrap();
    assert_eq!(inner, 0x63, "the node lands where the old string value was");
    w.insert(inner, Key::Name("z"), Value::I64(1)).unwrap();
    let len = w.len() as usize;
    let doc = Doc::new(&buf[..len]).unwrap();
    doc.validate().unwrap();
    let root_word = u32::from_le_bytes(buf[0..4].try_into().unwrap());
    assert_eq!(root_word >> 8, 2, "generation counts both sets");
    assert_eq!(doc.root().len().unwrap(), 1, "one key");
    match doc.root().get("a").unwrap() {
        Some(ValueRef::Object(o)) => assert_eq!(o.get("z").unwrap(), Some(ValueRef::I64(1))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn envelope_with_a_non_string_tag_is_refused_on_parse() {
    let mut payload = sample(&["a", "b", "c"]);
    let env = Envelope::parse(&payload).unwrap();
    // Point the first tag's entry at a zero byte (a null).
    let tags_at = env.tags.offset() as usize;
    let kv0 = tags_at + 36;
    let padding = (tags_at - 8..tags_at)
        .find(|&i| payload[i] == 0)
        .expect("padding before the node");
    payload[kv0..kv0 + 4].copy_from_slice(&(padding as u32).to_le_bytes());
    assert!(
        Doc::new(&payload).unwrap().validate().is_ok(),
        "a null element is a valid document"
    );
    assert_eq!(Envelope::parse(&payload).unwrap_err().kind, K::BadType);
}

#[test]
fn direct_predicates_agree_with_the_parsed_envelope() {
    use plasmite_core::lite3::envelope::{field, has_tag};
    let payload = sample(&["alpha", "beta"]);
    let env = Envelope::parse(&payload).unwrap();
    for tag in ["alpha", "beta", "gamma", ""] {
        assert_eq!(
            has_tag(&payload, tag).unwrap(),
            env.has_tag(tag).unwrap(),
            "{tag}"
        );
    }
    for path in ["status", "user.name", "items.0", "items.9", "nope", "n.x"] {
        assert_eq!(
            field(&payload, path).unwrap(),
            env.field(path).unwrap(),
            "{path}"
        );
    }
    assert!(
        has_tag(&payload[..50], "alpha").is_err(),
        "a damaged payload is an error, not false"
    );
}
