//! Throughput of `os::filter` scanning stored messages with `.data.value > 25`: the compiled
//! fast path against jaq.
//!
//! Target: the fast path scans at least 5 M messages/s on a small message. This prints the
//! figures; it never asserts them (benchmarks measure, tests assert).
//!
//! N (10 000 unless given) distinct small messages (values 0..50, so half match) are encoded once; a sample
//! is one scan of all N through `Filter::matches`, batched to last at least 20 ms; 15 samples,
//! the median is printed as messages/s. The jaq figure forces the fallback with
//! `select(.data.value > 25)`, which means the same but is outside the fast path's grammar.
//! Run: `cargo bench -p plasmite-os --bench filter [-- N]` (N = 1000 fits in cache; 10 000
//! messages of ~500 bytes mostly do not, as in a pool being scanned).

use plasmite_os::filter::Filter;
use plasmite_os::message::{Printed, encode};
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 10_000;
const SAMPLES: usize = 15;
const MIN_BATCH: Duration = Duration::from_millis(20);

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(N);
    let payloads: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let data = json!({"host": "web-1", "level": "info", "msg": "request served",
                "value": i % 50});
            encode(&data, &["metrics"], 1 << 16).expect("encodes")
        })
        .collect();
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    println!(
        "filter: {n} messages, {} bytes of payload each on average",
        bytes / n
    );
    for (name, expr) in [
        ("fast path", ".data.value > 25"),
        ("jaq", "select(.data.value > 25)"),
    ] {
        let filter = Filter::compile(&[expr.to_owned()]).expect("compiles");
        let rate = scan_rate(&filter, &payloads);
        println!(
            "{name:<10} `{expr}` (fast: {}): {:>6.2} M msgs/s",
            filter.is_fast(),
            rate / 1e6
        );
    }
}

/// Median messages/s of scanning every payload through `filter`.
fn scan_rate(filter: &Filter, payloads: &[Vec<u8>]) -> f64 {
    let scan = || {
        let mut matched = 0usize;
        for (seq, payload) in payloads.iter().enumerate() {
            let msg = Printed {
                seq: seq as u64,
                timestamp_ns: 1_732_180_000_123_456_789,
                payload: black_box(payload),
            };
            matched += usize::from(filter.matches(&msg).expect("decodes"));
        }
        assert_eq!(
            matched,
            payloads.len() / 50 * 24,
            "half of the values match"
        );
        matched
    };
    // Calibrate: how many scans make a batch of at least MIN_BATCH.
    let mut reps = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            black_box(scan());
        }
        if t.elapsed() >= MIN_BATCH {
            break;
        }
        reps *= 2;
    }
    let mut rates: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                black_box(scan());
            }
            (reps * payloads.len()) as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[SAMPLES / 2]
}
