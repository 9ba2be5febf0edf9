//! Concatenated JSON, as `jq` reads and writes it: values one after another, any whitespace
//! (or none) between them.
//!
//! Role: the `jq` decoder. A scanner finds each value's extent (brackets and strings tracked,
//! a bare scalar ends at whitespace or a structural byte); `serde_json` validates it.
//!
//! # Invariants
//! - A value over record-limit bytes is reported as oversize and skipped: the scanner found
//!   its end, so the stream goes on.
//! - A parse error ends the stream whatever the policy: where the next value starts is
//!   unknown.
//!
//! Spec: `spec/CLI.md` (feed input modes: `jq`).

use super::segment::Segment;
use super::source::fill;
use super::text::{is_structural, is_ws, snippet};
use super::{Ingest, Item};
use serde_json::Value;
use std::io::{self, BufRead};

impl<R: BufRead> Ingest<R> {
    pub(super) fn step_jq(&mut self) -> io::Result<Option<Item>> {
        let seg = self.read_jq_value()?;
        if !seg.started {
            return Ok(None);
        }
        if seg.overflow {
            // The scanner found the value's end, so the stream can go on.
            let snip = snippet(&self.buf);
            return Ok(Some(self.oversize(seg.line, snip)));
        }
        let result = serde_json::from_slice::<Value>(&self.buf);
        if result.is_err() {
            // No way to find where the next value starts.
            self.done = true;
        }
        let buf = std::mem::take(&mut self.buf);
        let item = self.parsed(result, seg.line, &buf);
        self.buf = buf;
        Ok(Some(item))
    }

    /// Finds the extent of the next top-level value (brackets and strings are tracked; a bare
    /// scalar ends at whitespace or a structural character) and buffers at most
    /// record-limit bytes of it. Validation is left to `serde_json`.
    fn read_jq_value(&mut self) -> io::Result<Segment> {
        self.buf.clear();
        let mut seg = Segment::default();
        let mut depth = 0usize;
        let mut in_str = false;
        let mut escaped = false;
        let mut scalar = false;
        let mut opened = false;
        loop {
            let chunk = fill(&mut self.src)?;
            if chunk.is_empty() {
                seg.eof = true;
                return Ok(seg);
            }
            let mut i = 0;
            let mut finished = false;
            if !seg.started {
                while i < chunk.len() && is_ws(chunk[i]) {
                    if chunk[i] == b'\n' {
                        self.pos_line += 1;
                    }
                    i += 1;
                }
                if i == chunk.len() {
                    self.src.consume(i);
                    continue;
                }
                seg.started = true;
                seg.line = self.pos_line;
            }
            let start = i;
            if !opened {
                // First byte of the value.
                opened = true;
                match chunk[i] {
                    b'{' | b'[' => {
                        depth = 1;
                        i += 1;
                    }
                    b'"' => {
                        in_str = true;
                        i += 1;
                    }
                    b'}' | b']' | b',' | b':' => {
                        i += 1;
                        finished = true;
                    }
                    _ => scalar = true,
                }
            }
            if !finished {
                if scalar {
                    while i < chunk.len() {
                        if is_ws(chunk[i]) || is_structural(chunk[i]) {
                            finished = true;
                            break;
                        }
                        i += 1;
                    }
                } else {
                    while i < chunk.len() {
                        let b = chunk[i];
                        i += 1;
                        if in_str {
                            if escaped {
                                escaped = false;
                            } else if b == b'\\' {
                                escaped = true;
                            } else if b == b'"' {
                                in_str = false;
                                if depth == 0 {
                                    finished = true;
                                    break;
                                }
                            } else if b == b'\n' {
                                self.pos_line += 1;
                            }
                        } else {
                            match b {
                                b'"' => in_str = true,
                                b'{' | b'[' => depth += 1,
                                b'}' | b']' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        finished = true;
                                        break;
                                    }
                                }
                                b'\n' => self.pos_line += 1,
                                _ => {}
                            }
                        }
                    }
                }
            }
            let part = &chunk[start..i];
            let room = self.limit - self.buf.len();
            if part.len() <= room {
                self.buf.extend_from_slice(part);
            } else {
                self.buf.extend_from_slice(&part[..room]);
                seg.overflow = true;
            }
            self.src.consume(i);
            if finished {
                return Ok(seg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn jq_mode_splits_concatenated_values_with_any_whitespace_between() {
        let input = b"{\"a\":1}{\"a\":2} 3\n[1,\n2]\n\"x}\\\"{\" \"y\"\ntrue false null -1.5e3{\"b\":{\"c\":[]}}";
        assert_eq!(
            check(input, Mode::Jq, Policy::Stop),
            [
                "#1 L1 {\"a\":1}",
                "#2 L1 {\"a\":2}",
                "#3 L1 3",
                "#4 L2 [1,2]",
                "#5 L4 \"x}\\\"{\"",
                "#6 L4 \"y\"",
                "#7 L5 true",
                "#8 L5 false",
                "#9 L5 null",
                "#10 L5 -1500.0",
                "#11 L5 {\"b\":{\"c\":[]}}"
            ]
        );
    }

    #[test]
    fn jq_mode_ends_the_stream_at_the_first_parse_error_even_in_skip_policy() {
        for input in [
            &b"{\"a\":1}\n{\"a\" 2} {\"b\":3}"[..],
            b"{\"a\":1} oops 3",
            b"{\"a\":1} ] 3",
            b"{\"a\":1} [1,",
        ] {
            let items = run(input, Mode::Jq, Policy::Skip);
            assert_eq!(outline(&items)[..1], ["#1 L1 {\"a\":1}"]);
            assert!(matches!(&items[1..], [Item::Rejected(r)] if r.kind == RejectKind::Parse));
        }
    }

    #[test]
    fn jq_mode_skips_a_value_over_max_record_and_resumes_after_it() {
        let mut input = b"1 [\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD));
        input.extend_from_slice(b"\", {\"n\": \"]\"}]\n{\"a\":1}");
        assert_eq!(
            check(&input, Mode::Jq, Policy::Skip),
            ["#1 L1 1", "#2 L1 oversize", "#3 L2 {\"a\":1}"]
        );
    }
}
