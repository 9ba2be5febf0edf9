//! Timings of the message codec on a small (~100-byte JSON) message: encode, render, tag check,
//! field lookup, validation (alone, with the envelope's, and as `message::check` makes both).
//!
//! Targets for small messages: encode ≤ 500 ns, render ≤ 500 ns, tag check and field lookup
//! ≤ 50 ns. This prints the figures; it never asserts them (benchmarks measure, tests assert).
//!
//! Each case is calibrated to a batch of iterations lasting at least 20 ms, then timed in 31
//! such batches; the median ns/op is printed. No dependencies beyond `std::time::Instant` and
//! `std::hint::black_box`. Run: `cargo bench -p plasmite-os --bench message [-- FILTER]`
//! (only the cases whose name contains FILTER; cargo's own `--bench` flag is ignored).

use plasmite_core::lite3::envelope::{self, Envelope};
use plasmite_core::lite3::read::Doc;
use plasmite_os::message::{
    Printed, Style, check, encode, encode_json, encode_json_printing, print, print_seq_first,
    print_seq_first_parts,
};
use serde_json::Value;
use std::hint::black_box;
use std::time::{Duration, Instant};

const SAMPLES: usize = 31;
const MIN_BATCH: Duration = Duration::from_millis(20);
const MAX_PAYLOAD: usize = 1 << 20;

const TEXT: &str =
    r#"{"from":"alice","msg":"hello there","n":42,"ok":true,"tags":["a","b"],"ts":1732180000}"#;

/// The bindings' benchmark message: small, untagged, with a float.
const SMALL: &str = r#"{"sensor": "temp", "value": 23.5, "n": 1}"#;

fn main() {
    let b = Bench {
        filter: std::env::args().skip(1).find(|a| !a.starts_with("--")),
    };
    let data: Value = serde_json::from_str(TEXT).expect("the sample is JSON");
    let payload = encode(&data, &["x"], MAX_PAYLOAD).expect("the sample encodes");
    println!(
        "message: {} bytes of JSON, {} bytes of payload, tag \"x\"",
        TEXT.len(),
        payload.len()
    );

    b.run("encode_100B_envelope", || {
        encode(black_box(&data), black_box(&["x"]), MAX_PAYLOAD)
    });
    b.run("encode_100B_from_text", || {
        let v: Value = serde_json::from_str(black_box(TEXT)).expect("JSON");
        encode(&v, black_box(&["x"]), MAX_PAYLOAD)
    });

    b.run("encode_json_100B", || {
        encode_json(black_box(TEXT), black_box(&["x"]), MAX_PAYLOAD)
    });
    b.run("encode_json_40B_untagged", || {
        encode_json(black_box(SMALL), black_box(&[]), MAX_PAYLOAD)
    });

    let msg = Printed {
        seq: 1,
        timestamp_ns: 1_732_180_000_123_456_789,
        payload: &payload,
    };
    let mut out = Vec::with_capacity(256);
    b.run("render_100B_compact", || {
        out.clear();
        print(&mut out, black_box(&msg), Style::Compact).expect("prints");
        out.len()
    });

    b.run("render_100B_seq_first", || {
        out.clear();
        print_seq_first(&mut out, black_box(&msg)).expect("prints");
        out.len()
    });
    let small = encode_json(SMALL, &[], MAX_PAYLOAD).expect("the sample encodes");
    let small_msg = Printed {
        seq: 1,
        timestamp_ns: 1_732_180_000_123_456_789,
        payload: &small,
    };
    b.run("render_40B_seq_first", || {
        out.clear();
        print_seq_first(&mut out, black_box(&small_msg)).expect("prints");
        out.len()
    });

    let mut data = Vec::with_capacity(256);
    let mut scratch = plasmite_os::message::JsonScratch::default();
    b.run("encode_json_printing_40B+parts", || {
        data.clear();
        let mut stored = Vec::new();
        let n = encode_json_printing(
            &mut scratch,
            &mut stored,
            black_box(SMALL),
            &[],
            MAX_PAYLOAD,
            &mut data,
        );
        out.clear();
        print_seq_first_parts(&mut out, 1, 1_732_180_000_123_456_789, &[], &data);
        n
    });

    let p = payload.as_slice();
    b.run("pred_has_tag_present", || {
        envelope::has_tag(black_box(p), black_box("x"))
    });
    b.run("pred_has_tag_absent", || {
        envelope::has_tag(black_box(p), black_box("y"))
    });
    b.run("pred_field_top (from)", || {
        envelope::field(black_box(p), black_box("from")).map(|v| v.is_some())
    });
    b.run("pred_field_nested (tags.1)", || {
        envelope::field(black_box(p), black_box("tags.1")).map(|v| v.is_some())
    });
    b.run("envelope_parse", || Envelope::parse(black_box(p)).is_ok());
    b.run("has_tag_present", || {
        Envelope::parse(black_box(p)).and_then(|e| e.has_tag(black_box("x")))
    });
    b.run("has_tag_absent", || {
        Envelope::parse(black_box(p)).and_then(|e| e.has_tag(black_box("y")))
    });
    b.run("field_top (from)", || {
        Envelope::parse(black_box(p))
            .and_then(|e| e.field(black_box("from")))
            .map(|v| v.is_some())
    });
    b.run("field_nested (tags.1)", || {
        Envelope::parse(black_box(p))
            .and_then(|e| e.field(black_box("tags.1")))
            .map(|v| v.is_some())
    });
    b.run("doc_validate", || {
        Doc::new(black_box(p)).and_then(|d| d.validate())
    });
    b.run("validate_and_parse", || {
        Doc::new(black_box(p))
            .and_then(|d| d.validate())
            .and_then(|()| Envelope::parse(black_box(p)).map(|_| ()))
    });
    b.run("message_check", || check(black_box(p)));
}

/// Runs the cases whose name contains the filter (all without one).
struct Bench {
    filter: Option<String>,
}

impl Bench {
    /// Times `f` in `SAMPLES` batches of at least `MIN_BATCH` each and prints the median ns/op.
    fn run<R>(&self, name: &str, mut f: impl FnMut() -> R) {
        if self.filter.as_deref().is_some_and(|p| !name.contains(p)) {
            return;
        }
        let mut iters: u32 = 1;
        while time(&mut f, iters) < MIN_BATCH {
            iters = iters.saturating_mul(2);
        }
        let mut ns: Vec<f64> = (0..SAMPLES)
            .map(|_| time(&mut f, iters).as_nanos() as f64 / f64::from(iters))
            .collect();
        ns.sort_by(f64::total_cmp);
        let median = ns[SAMPLES / 2];
        println!("{name:<24} {median:>8.1} ns/op (median of {SAMPLES})");
    }
}

fn time<R>(f: &mut impl FnMut() -> R, iters: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    start.elapsed()
}
