//! Arbitrary bytes through `plasmite_os::ingest` in every mode and under both policies.
//!
//! - Nothing panics or hangs (libFuzzer's timeout catches a hang or super-linear work on the
//!   inputs it grows).
//! - The work is bounded by the input: at most one item per input byte, and the stream ends
//!   (`None`, then `None` again).
//! - Every item is well-formed: indices run 1, 2, 3, … without a gap; lines are 1-based, never
//!   decrease, and never exceed the input's line count; a rejection carries a message and a
//!   snippet of at most 200 bytes plus "..."; a slice never fails to read, so there is no
//!   `Item::Io`; under `Policy::Stop` nothing follows a rejection.
//! - Reading the input in chunks of any size gives the same items as reading it whole (the
//!   decoders keep their state across reads) — once the mode is chosen: `auto` decides as soon
//!   as the first non-blank line is complete when reading on might wait (the reader's buffer
//!   is drained), so a record separator later in the sniff window makes `seq` of the whole
//!   input but may be missed when the input trickles in; then the chunked run decodes the
//!   first line's way (`jsonl` or the event stream).
//! - An explicit mode reports its own name; `auto` reports what it chose.
//!
//! Input layout: `[0]` mode (mod 5), policy (bit 3) and whether a record limit follows (bit 4);
//! `[1]` reader chunk size (1..=256); then, with bit 4, `[2]` the record limit in bytes
//! (0..=255, so the oversize paths are reached with small inputs); the rest is the input
//! stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_os::ingest::{Ingest, Item, Mode, Policy};
use std::io::{BufRead, BufReader};

const MODES: [Mode; 5] = [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Jq];

fuzz_target!(|data: &[u8]| {
    let [flags, cap, rest @ ..] = data else {
        return;
    };
    let (limit, input) = match rest {
        [limit, input @ ..] if flags & 16 != 0 => (Some(usize::from(*limit)), input),
        _ if flags & 16 != 0 => return,
        input => (None, input),
    };
    let mode = MODES[usize::from(*flags % 5)];
    let policy = if flags & 8 == 0 {
        Policy::Stop
    } else {
        Policy::Skip
    };
    let (whole_mode, whole) = run(input, mode, policy, limit, input);
    let chunk = usize::from(*cap).max(1);
    let (chunked_mode, chunked) = run(
        BufReader::with_capacity(chunk, input),
        mode,
        policy,
        limit,
        input,
    );
    if whole_mode == chunked_mode {
        assert_eq!(whole, chunked, "chunk size {chunk} changed the items");
    } else {
        assert!(
            mode == Mode::Auto && whole_mode == "seq",
            "chunk size {chunk} changed the mode: {whole_mode} whole, {chunked_mode} chunked"
        );
    }
});

/// Decodes `reader` (which yields `input`) to the end, checking every item; returns the mode
/// used and one line per item for comparison.
fn run<R: BufRead>(
    reader: R,
    mode: Mode,
    policy: Policy,
    limit: Option<usize>,
    input: &[u8],
) -> (&'static str, Vec<String>) {
    let lines = input.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut ingest = Ingest::new(reader, mode, policy);
    if let Some(limit) = limit {
        ingest = ingest.with_record_limit(limit);
    }
    let mut out = Vec::new();
    let mut last_line = 1;
    let mut stopped = false;
    while let Some(item) = ingest.next_item() {
        assert!(!stopped, "an item after a rejection under Policy::Stop");
        assert!(
            out.len() < input.len(),
            "more items than input bytes: {} from {}",
            out.len() + 1,
            input.len()
        );
        let expected = out.len() as u64 + 1;
        let (index, line, text) = match &item {
            Item::Record(r) => (r.index, r.line, format!("{}", r.value)),
            Item::Rejected(r) => {
                assert!(!r.message.is_empty(), "a rejection without a message");
                let body = r.snippet.strip_suffix("...").unwrap_or(&r.snippet);
                assert!(body.len() <= 200, "snippet of {} bytes", body.len());
                stopped = policy == Policy::Stop;
                (r.index, r.line, format!("{:?} {}", r.kind, r.message))
            }
            Item::Io(e) => panic!("a slice failed to read: {e}"),
        };
        assert_eq!(index, expected, "indices count 1, 2, 3, …");
        let line = line.expect("every decoder knows the line");
        assert!(
            (last_line..=lines).contains(&line),
            "line {line} after line {last_line} in {lines} line(s)"
        );
        last_line = line;
        out.push(format!("#{index} L{line} {text}"));
    }
    assert!(ingest.next_item().is_none(), "None is not sticky");
    let name = ingest.mode_name();
    let allowed: &[&str] = match mode {
        Mode::Auto => &["jsonl", "seq", "event"],
        Mode::Jsonl => &["jsonl"],
        Mode::Json => &["json"],
        Mode::Seq => &["seq"],
        Mode::Jq => &["jq"],
    };
    assert!(allowed.contains(&name), "{mode:?} reported {name}");
    (name, out)
}
