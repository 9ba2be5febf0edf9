//! `auto`: looks at the start of the input and picks a decoder.
//!
//! Role: reads at most [`SNIFF_BYTES`] / [`SNIFF_LINES`] lines, classifies them (`seq` when a
//! record separator appears, the event stream when the first non-blank line is an SSE field,
//! else JSON Lines with multi-line records), and puts the bytes back in front of the reader.
//!
//! # Invariants
//! - No input byte is lost or reordered: the sniffed bytes are replayed first, then a read
//!   error met while sniffing.
//! - Sniffing stops as soon as the first record decides the mode, so a live pipe is not
//!   waited on for more lines.
//!
//! Spec: `spec/CLI.md` (feed input modes: `auto`).

use super::source::fill;
use super::text::{is_blank, is_ws};
use super::{Ingest, Kind, RS};
use std::io::BufRead;

/// Bytes of input `auto` looks at before choosing a decoder.
const SNIFF_BYTES: usize = 8 * 1024;
/// Lines of input `auto` looks at before choosing a decoder.
const SNIFF_LINES: usize = 8;

impl<R: BufRead> Ingest<R> {
    pub(super) fn sniff(&mut self) {
        let mut prefix = Vec::new();
        let mut newlines = 0;
        while prefix.len() < SNIFF_BYTES && newlines < SNIFF_LINES {
            let chunk = match fill(&mut self.src.inner) {
                Ok(chunk) if !chunk.is_empty() => chunk,
                Ok(_) => break,
                Err(e) => {
                    self.src.error = Some(e);
                    break;
                }
            };
            let room = (SNIFF_BYTES - prefix.len()).min(chunk.len());
            let mut take = 0;
            for &b in &chunk[..room] {
                take += 1;
                if b == b'\n' {
                    newlines += 1;
                    if newlines == SNIFF_LINES {
                        break;
                    }
                }
            }
            let drained = take == chunk.len();
            prefix.extend_from_slice(&chunk[..take]);
            self.src.inner.consume(take);
            // Reading on may block (a live pipe): stop once the first record decides the mode,
            // so `tail -f log | pls feed` does not wait for eight lines.
            if drained && decided(&prefix) {
                break;
            }
        }
        self.kind = classify(&prefix);
        self.src.prefix = prefix;
        self.src.pos = 0;
    }
}

/// Whether `prefix` already decides the mode: it starts (after whitespace) with a record
/// separator, or holds a complete non-blank first line.
fn decided(prefix: &[u8]) -> bool {
    match prefix.iter().position(|&b| !is_ws(b)) {
        Some(i) if prefix[i] == RS => true,
        Some(i) => prefix[i..].contains(&b'\n'),
        None => false,
    }
}

/// Chooses `auto`'s decoder from the sniffed bytes.
fn classify(prefix: &[u8]) -> Kind {
    if prefix.contains(&RS) {
        return Kind::Seq;
    }
    let first = prefix.split(|&b| b == b'\n').find(|line| !is_blank(line));
    match first {
        Some(line)
            if line.starts_with(b"data:")
                || line.starts_with(b"event:")
                || line.starts_with(b"id:")
                || line.starts_with(b":") =>
        {
            Kind::Event
        }
        _ => Kind::Lines { multiline: true },
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;
    use std::io::BufReader;

    #[test]
    fn auto_mode_reports_auto_until_it_has_sniffed_the_input() {
        let ingest = Ingest::new(&b"{}\n"[..], Mode::Auto, Policy::Stop);
        assert_eq!(ingest.mode_name(), "auto");
        assert_eq!(mode_after_first(b"{}\n", Mode::Auto), "jsonl");
        assert_eq!(mode_after_first(b"", Mode::Auto), "jsonl");
    }

    #[test]
    fn explicit_modes_report_their_own_name() {
        let names: Vec<_> = ALL_MODES[1..]
            .iter()
            .map(|&m| mode_after_first(b"1", m))
            .collect();
        assert_eq!(names, ["jsonl", "json", "seq", "jq"]);
    }

    #[test]
    fn auto_mode_sniffs_a_record_separator_anywhere_in_the_window_as_seq() {
        assert_eq!(mode_after_first(b"\x1e{\"a\":1}\n", Mode::Auto), "seq");
        let input = b"\n\n1\n\x1e{\"a\":1}\n\x1e2\n";
        assert_eq!(
            outline(&run(input, Mode::Auto, Policy::Skip)),
            ["#1 L3 1", "#2 L4 {\"a\":1}", "#3 L5 2"]
        );
    }

    #[test]
    fn auto_mode_on_a_trickling_source_decides_at_the_first_complete_line() {
        // Each read returns one byte and drains the reader: waiting for eight lines could
        // block a live pipe, so the first complete line decides.
        let input = b"\n\n1\n\x1e{\"a\":1}\n";
        let items = run_reader(
            BufReader::with_capacity(1, &input[..]),
            Mode::Auto,
            Policy::Skip,
        );
        assert_eq!(outline(&items)[0], "#1 L3 1");
        let mut ingest = Ingest::new(
            BufReader::with_capacity(1, &input[..]),
            Mode::Auto,
            Policy::Skip,
        );
        let _ = ingest.next_item();
        assert_eq!(ingest.mode_name(), "jsonl");
    }

    #[test]
    fn a_trickling_source_is_decided_by_its_first_line_even_when_a_separator_follows() {
        // Found by the `ingest` fuzz target (fuzz/regressions/ingest/auto-trickle-*): read
        // whole, the window holds the record separators and the input is `seq`; read a byte
        // at a time, the first complete line decides before they arrive. Documented in
        // spec/CLI.md (feed `auto`): waiting for the window could block a live pipe.
        for (input, first_line_mode) in [
            (&b"\0\n\x1e\x1e\x1eK\x1eK"[..], "jsonl"),
            (b":\n\x1e\x1e^\x1e\x1e3K", "event"),
        ] {
            assert_eq!(mode_after_first(input, Mode::Auto), "seq");
            let mut ingest =
                Ingest::new(BufReader::with_capacity(1, input), Mode::Auto, Policy::Skip);
            let _ = ingest.next_item();
            assert_eq!(ingest.mode_name(), first_line_mode);
        }
    }

    #[test]
    fn auto_mode_sniffs_sse_field_lines_as_an_event_stream() {
        for first in ["data: 1", "event: x", "id: 7", ": hello", "data:1"] {
            let input = format!("\n\n{first}\ndata: 2\n\n");
            assert_eq!(
                mode_after_first(input.as_bytes(), Mode::Auto),
                "event",
                "{first}"
            );
        }
        assert_eq!(mode_after_first(b"  data: 1\n", Mode::Auto), "jsonl");
        assert_eq!(mode_after_first(b"{\"data:\":1}\n", Mode::Auto), "jsonl");
    }

    #[test]
    fn input_larger_than_the_sniff_window_loses_nothing_at_the_boundary() {
        let mut input = Vec::new();
        for i in 0..10_000 {
            input.extend_from_slice(
                format!("{{\"i\":{i},\"pad\":\"{}\"}}\n", "p".repeat(i % 37)).as_bytes(),
            );
        }
        for mode in [Mode::Auto, Mode::Jsonl] {
            for cap in [8 * 1024, 4096, 1000, 7] {
                let items = run_reader(
                    BufReader::with_capacity(cap, &input[..]),
                    mode,
                    Policy::Stop,
                );
                assert_eq!(items.len(), 10_000);
                for (i, item) in items.iter().enumerate() {
                    let Item::Record(r) = item else {
                        panic!("item {i}: {item:?}")
                    };
                    assert_eq!((r.index, r.line), (i as u64 + 1, Some(i as u64 + 1)));
                    assert_eq!(r.value["i"], i);
                }
            }
        }
    }

    #[test]
    fn a_first_line_longer_than_the_sniff_window_is_kept_whole() {
        let long = format!("{{\"s\":\"{}\"}}\n{{\"b\":1}}\n", "z".repeat(20_000));
        let items = run(long.as_bytes(), Mode::Auto, Policy::Stop);
        assert_eq!(items.len(), 2);
        assert!(
            matches!(&items[0], Item::Record(r) if r.value["s"].as_str().unwrap().len() == 20_000)
        );
    }
}
