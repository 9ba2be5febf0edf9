//! Server-sent events: the JSON carried in the `data:` fields of an event stream.
//!
//! Role: the `event` decoder, chosen by `auto` when the first non-blank line is an SSE field
//! (`data:`, `event:`, `id:`) or comment (`:`). Each event's `data` lines, joined with
//! newlines, are one JSON value.
//!
//! # Invariants
//! - An event is dispatched at a blank line or at the end of input; an event without data,
//!   or with only whitespace, yields nothing.
//! - Comments and fields other than `data` are ignored; one space after the colon is dropped.
//! - At most record-limit bytes of an event's data are held; more is one oversize item.
//!
//! Spec: `spec/CLI.md` (feed input modes: `auto`); the event-stream format of the WHATWG HTML
//! standard (§9.2, server-sent events).

use super::text::{is_blank, snippet};
use super::{Ingest, Item};
use serde_json::Value;
use std::io::{self, BufRead};

/// `data: `: the longest prefix a data line's value follows.
const DATA_PREFIX: usize = 6;

impl<R: BufRead> Ingest<R> {
    pub(super) fn step_event(&mut self) -> io::Result<Option<Item>> {
        loop {
            // A data line may hold a full record after its "data: ".
            let Some(oversize) = self.read_line(DATA_PREFIX)? else {
                return Ok(if self.event_open {
                    self.dispatch_event()
                } else {
                    None
                });
            };
            if !oversize && is_blank(&self.buf) {
                if self.event_open
                    && let Some(item) = self.dispatch_event()
                {
                    return Ok(Some(item));
                }
                continue;
            }
            let line = &self.buf[..];
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(0) => continue, // comment
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &line[line.len()..]),
            };
            if field != b"data" {
                continue;
            }
            let value = value.strip_prefix(b" ").unwrap_or(value);
            let sep = if self.event_open {
                1
            } else {
                self.event_open = true;
                self.event_oversize = false;
                self.acc_line = self.lines_read;
                self.acc.clear();
                0
            };
            if oversize || self.acc.len() + sep + value.len() > self.limit {
                self.event_oversize = true;
            }
            if sep == 1 && self.acc.len() < self.limit {
                self.acc.push(b'\n');
            }
            let room = self.limit.saturating_sub(self.acc.len()).min(value.len());
            self.acc.extend_from_slice(&value[..room]);
        }
    }

    fn dispatch_event(&mut self) -> Option<Item> {
        self.event_open = false;
        if self.event_oversize {
            let snip = snippet(&self.acc);
            return Some(self.oversize(self.acc_line, snip));
        }
        if is_blank(&self.acc) {
            return None;
        }
        let result = serde_json::from_slice::<Value>(&self.acc);
        let acc = std::mem::take(&mut self.acc);
        let item = self.parsed(result, self.acc_line, &acc);
        self.acc = acc;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn event_stream_joins_data_lines_and_ignores_comments_and_other_fields() {
        let input = b": keep-alive\n\nevent: put\nid: 1\ndata: {\"a\":\ndata:1}\nretry: 5\n\n:c\n\n\ndata: [1,\n: inner comment\ndata: 2]\n\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Stop),
            ["#1 L5 {\"a\":1}", "#2 L12 [1,2]"]
        );
    }

    #[test]
    fn event_stream_dispatches_a_final_event_without_a_trailing_blank_line() {
        assert_eq!(
            check(
                b"data: 1\n\ndata: {\"last\":true}",
                Mode::Auto,
                Policy::Stop
            ),
            ["#1 L1 1", "#2 L3 {\"last\":true}"]
        );
        assert_eq!(check(b"data: 2\n", Mode::Auto, Policy::Stop), ["#1 L1 2"]);
    }

    #[test]
    fn event_stream_strips_only_one_space_after_the_colon_and_skips_empty_data() {
        let input = b"data:   \"x\"\n\ndata:\n\nid: 3\n\ndata\n\n";
        assert_eq!(check(input, Mode::Auto, Policy::Skip), ["#1 L1 \"x\""]);
    }

    #[test]
    fn event_stream_rejects_invalid_json_data_and_goes_on_in_skip_policy() {
        let input = b"data: {nope\n\ndata: 5\n";
        let items = run(input, Mode::Auto, Policy::Skip);
        assert_eq!(outline(&items), ["#1 L1 parse", "#2 L3 5"]);
        assert_eq!(rejections(&items)[0].snippet, "{nope");
    }

    #[test]
    fn event_stream_data_of_exactly_max_record_bytes_on_one_line_is_accepted() {
        let mut input = b"data: \"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD - 2));
        input.extend_from_slice(b"\"\r\n\ndata: 1\n");
        let items = run(&input, Mode::Auto, Policy::Skip);
        assert!(
            matches!(&items[0], Item::Record(r) if r.value.as_str().unwrap().len() == MAX_RECORD - 2),
            "{:?}",
            outline(&items)
        );
        assert_eq!(outline(&items[1..]), ["#2 L3 1"]);
    }

    #[test]
    fn event_stream_data_over_max_record_is_oversize() {
        let half = "q".repeat(MAX_RECORD / 2);
        let input = format!("data: \"{half}\ndata: {half}\"\n\ndata: 1\n");
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            ["#1 L1 oversize", "#2 L4 1"]
        );
        let long = format!(
            "data: 0\n\n: {}\ndata: \"{}\"\n\ndata: 1\n",
            half,
            "r".repeat(MAX_RECORD)
        );
        assert_eq!(
            check(long.as_bytes(), Mode::Auto, Policy::Skip),
            ["#1 L1 0", "#2 L4 oversize", "#3 L6 1"]
        );
    }
}
