//! `spec/FORMAT.md` and the code agree: the constants table lists every format constant of
//! `layout.rs` with its value, and the spec's golden vectors are what the encoders produce.

mod support;

use plasmite_core::FrameHead;
use plasmite_core::layout::*;
use std::collections::BTreeMap;
use zerocopy::IntoBytes;
use zerocopy::little_endian::U64;

/// Rust-only buffer-length aliases of format constants; not format facts of their own.
const ALIASES: [&str; 4] = [
    "HEADER_LEN",
    "FRAME_HEADER_LEN",
    "FRAME_HEADER_LEN_WORD",
    "INDEX_SLOT_LEN",
];

fn read(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn spec() -> String {
    read("../spec/FORMAT.md")
}

fn lite3_spec() -> String {
    read("../spec/LITE3.md")
}

/// Name → value text of the constants table.
fn spec_table(spec: &str) -> BTreeMap<String, String> {
    let start = spec
        .find("<!-- constants:begin -->")
        .expect("constants table start marker");
    let end = spec
        .find("<!-- constants:end -->")
        .expect("constants table end marker");
    let mut out = BTreeMap::new();
    for line in spec[start..end].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let name = cells[1].trim_matches('`').to_owned();
        let value = cells[2].trim_matches('`').to_owned();
        assert!(
            out.insert(name.clone(), value).is_none(),
            "{name} listed twice"
        );
    }
    out
}

fn ascii(bytes: &[u8]) -> String {
    format!("\"{}\"", std::str::from_utf8(bytes).unwrap())
}

fn code_values() -> BTreeMap<&'static str, String> {
    let n = |v: u64| v.to_string();
    BTreeMap::from([
        ("POOL_MAGIC", ascii(&POOL_MAGIC)),
        ("FORMAT_VERSION", n(FORMAT_VERSION.into())),
        ("ENDIAN_LITTLE", n(ENDIAN_LITTLE.into())),
        ("HEADER_SIZE", n(HEADER_SIZE)),
        ("INDEX_OFFSET", n(INDEX_OFFSET)),
        ("INDEX_SLOT_SIZE", n(INDEX_SLOT_SIZE)),
        ("FRAME_MAGIC", ascii(&FRAME_MAGIC)),
        ("FRAME_HEADER_SIZE", n(FRAME_HEADER_SIZE)),
        ("COMMIT_MARKER", ascii(&COMMIT_MARKER)),
        ("COMMIT_MARKER_SIZE", n(COMMIT_MARKER_SIZE)),
        ("FRAME_ALIGN", n(FRAME_ALIGN)),
        ("MAX_PAYLOAD", n(MAX_PAYLOAD)),
        ("STATE_EMPTY", n(STATE_EMPTY.into())),
        ("STATE_WRITING", n(STATE_WRITING.into())),
        ("STATE_COMMITTED", n(STATE_COMMITTED.into())),
        ("STATE_WRAP", n(STATE_WRAP.into())),
        ("FRAME_FLAG_CRC32", n(FRAME_FLAG_CRC32.into())),
        ("FRAME_FLAGS_KNOWN", n(FRAME_FLAGS_KNOWN.into())),
        ("DEFAULT_POOL_SIZE", n(DEFAULT_POOL_SIZE)),
        ("INDEX_AUTO_BYTES_PER_SLOT", n(INDEX_AUTO_BYTES_PER_SLOT)),
        ("INDEX_AUTO_MAX_SLOTS", n(INDEX_AUTO_MAX_SLOTS)),
        ("INDEX_AUTO_RING_RESERVE", n(INDEX_AUTO_RING_RESERVE)),
        ("STATE_GEN_OFFSET", n(STATE_GEN_OFFSET)),
        ("JOURNAL_OFFSET", n(JOURNAL_OFFSET)),
        ("WAITERS_OFFSET", n(WAITERS_OFFSET)),
        ("WAKE_OFFSET", n(WAKE_OFFSET)),
        ("HEADER_USED_END", n(HEADER_USED_END)),
        ("RING_STATE_OFFSET", n(RING_STATE_OFFSET)),
        ("FRAME_STATE_OFFSET", n(FRAME_STATE_OFFSET)),
        ("INDEX_SLOT_SEQ_OFFSET", n(INDEX_SLOT_SEQ_OFFSET)),
        ("INDEX_SLOT_OFF_OFFSET", n(INDEX_SLOT_OFF_OFFSET)),
        ("NEWEST_IN_STATE", n(NEWEST_IN_STATE)),
        ("LITE3_NODE_SIZE", n(LITE3_NODE_SIZE)),
        ("LITE3_NODE_KEYS", n(LITE3_NODE_KEYS)),
        ("LITE3_SPLIT_MEDIAN", n(LITE3_SPLIT_MEDIAN)),
        ("LITE3_TREE_HEIGHT_MAX", n(LITE3_TREE_HEIGHT_MAX)),
        ("LITE3_NESTING_MAX", n(LITE3_NESTING_MAX)),
        ("LITE3_HASH_PROBES", n(LITE3_HASH_PROBES)),
        ("LITE3_DJB2_SEED", n(LITE3_DJB2_SEED)),
        ("LITE3_DJB2_MULT", n(LITE3_DJB2_MULT)),
        ("LITE3_KEY_TAG1_BELOW", n(LITE3_KEY_TAG1_BELOW)),
        ("LITE3_KEY_TAG2_BELOW", n(LITE3_KEY_TAG2_BELOW)),
        ("LITE3_KEY_SIZE_LIMIT", n(LITE3_KEY_SIZE_LIMIT)),
        ("LITE3_ALIGNED_PAYLOAD", n(LITE3_ALIGNED_PAYLOAD)),
        ("LITE3_ALIGN", n(LITE3_ALIGN)),
        ("LITE3_BUF_MAX", n(LITE3_BUF_MAX)),
        ("LITE3_TYPE_BITS", n(LITE3_TYPE_BITS)),
        ("LITE3_KC_BITS", n(LITE3_KC_BITS)),
        ("LITE3_KC_MASK", n(LITE3_KC_MASK)),
        ("LITE3_NULL", n(LITE3_NULL.into())),
        ("LITE3_BOOL", n(LITE3_BOOL.into())),
        ("LITE3_I64", n(LITE3_I64.into())),
        ("LITE3_F64", n(LITE3_F64.into())),
        ("LITE3_BYTES", n(LITE3_BYTES.into())),
        ("LITE3_STRING", n(LITE3_STRING.into())),
        ("LITE3_OBJECT", n(LITE3_OBJECT.into())),
        ("LITE3_ARRAY", n(LITE3_ARRAY.into())),
    ])
}

/// Every `pub const NAME` declared in layout.rs, minus the aliases.
fn layout_const_names() -> Vec<String> {
    read("src/layout.rs")
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("pub const ")?
                .split(':')
                .next()
                .map(str::to_owned)
        })
        .filter(|n| !ALIASES.contains(&n.as_str()))
        .collect()
}

#[test]
fn spec_constants_table_lists_every_layout_constant_with_its_value() {
    // Pool-format constants in FORMAT.md, payload-encoding constants in LITE3.md; each once.
    let mut table = spec_table(&spec());
    for (name, value) in spec_table(&lite3_spec()) {
        assert!(
            table.insert(name.clone(), value).is_none(),
            "{name} is in both spec tables"
        );
    }
    let code = code_values();
    let declared = layout_const_names();
    for name in &declared {
        assert!(
            code.contains_key(name.as_str()),
            "layout.rs declares {name}: add it to this test's value list"
        );
        assert!(
            table.contains_key(name),
            "spec/FORMAT.md constants table lacks {name}"
        );
    }
    for (name, value) in &table {
        assert!(
            declared.contains(name),
            "spec lists {name}, which layout.rs does not declare"
        );
        assert_eq!(
            value,
            &code[name.as_str()],
            "{name}: spec says {value}, code says {}",
            code[name.as_str()]
        );
    }
}

/// The bytes of the `hex` block after `<!-- vector: NAME -->`.
fn spec_vector(spec: &str, name: &str) -> Vec<u8> {
    let marker = format!("<!-- vector: {name} -->");
    let at = spec
        .find(&marker)
        .unwrap_or_else(|| panic!("spec vector {name} missing"));
    let rest = &spec[at + marker.len()..];
    let start = rest.find("```hex").expect("hex block") + "```hex".len();
    let end = start + rest[start..].find("```").expect("end of hex block");
    rest[start..end]
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|_| panic!("{name}: bad hex byte {b:?}")))
        .collect()
}

#[test]
fn spec_golden_vectors_are_what_the_encoders_produce() {
    let spec = spec();
    let pool = support::one_mib_pool_after_one_append();
    assert_eq!(
        spec_vector(&spec, "pool-header-1mib-one-append"),
        pool.bytes[..104]
    );
    assert_eq!(
        spec_vector(&spec, "frame-header-committed-seq1"),
        support::seq1_frame_head().encode()
    );
    assert_eq!(
        spec_vector(&spec, "wrap-marker"),
        FrameHead::wrap().encode()
    );
    let slot = RawIndexSlot {
        seq: U64::new(1),
        offset: U64::new(0),
    };
    assert_eq!(spec_vector(&spec, "index-slot-seq1"), slot.as_bytes());
}

#[test]
fn lite3_spec_golden_vectors_are_what_the_encoder_produces() {
    use plasmite_core::lite3::envelope;
    use plasmite_core::lite3::write::{Key, Value, Writer};
    let spec = lite3_spec();
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::object(&mut buf).unwrap();
    w.insert(0, Key::Name("a"), Value::I64(1)).unwrap();
    assert_eq!(spec_vector(&spec, "lite3-doc-a1"), w.as_bytes());
    let mut buf = vec![0u8; 1024];
    let (mut w, data) = envelope::begin(&mut buf, ["event"]).unwrap();
    w.insert(data, Key::Name("x"), Value::I64(1)).unwrap();
    assert_eq!(spec_vector(&spec, "lite3-envelope-event-x1"), w.as_bytes());
}
