//! JSON Lines: one value per line, and in `auto` pretty-printed records spread over lines.
//!
//! Role: the `jsonl` decoder, and `auto`'s line decoder that joins a record whose first line
//! opens an object or array but does not parse yet, line by line, until its brackets close.
//!
//! # Invariants
//! - A line that parses is a record; a blank line is skipped but counted.
//! - A gathered record is parsed once when its brackets close (or at the end of input); while
//!   it is open, "does a new-looking line still continue it?" re-parses draw on a budget that
//!   grows with the record, so the work stays linear in the input.
//! - A gathered record over record-limit bytes is reported once as oversize and the rest of
//!   it is dropped until its brackets close or a new record starts.
//!
//! Spec: `spec/CLI.md` (feed input modes: `jsonl`, `auto`).

use super::text::{indent, is_blank, opens_container, parse_message, snippet};
use super::{CHECK_BUDGET, CHECK_PER_BYTE, Ingest, Item, Kind, RejectKind};
use serde_json::Value;
use std::io::{self, BufRead};

/// State of a multi-line record being gathered in `auto`'s line decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Acc {
    /// No record open.
    Idle,
    /// `acc` holds an unclosed record: lines are appended until its brackets close.
    Open,
    /// `acc` grew past the record limit and was reported: lines are dropped until its brackets
    /// close or a new record starts.
    Discard,
}

impl<R: BufRead> Ingest<R> {
    pub(super) fn step_lines(&mut self) -> io::Result<Option<Item>> {
        loop {
            let Some(oversize) = self.read_line(0)? else {
                return Ok(self.finish_acc());
            };
            let line = self.lines_read;
            if let Some(item) = self.on_line(oversize, line) {
                return Ok(Some(item));
            }
        }
    }

    /// A line outside any multi-line record.
    fn fresh_line(&mut self, oversize: bool, line: u64) -> Option<Item> {
        if oversize {
            let snip = snippet(&self.buf);
            return Some(self.oversize(line, snip));
        }
        if is_blank(&self.buf) {
            return None;
        }
        match serde_json::from_slice::<Value>(&self.buf) {
            Ok(value) => Some(self.record(value, line)),
            Err(e)
                if e.is_eof()
                    && self.kind == (Kind::Lines { multiline: true })
                    && opens_container(&self.buf) =>
            {
                self.acc.clear();
                self.acc.extend_from_slice(&self.buf);
                self.acc.push(b'\n');
                self.acc_state = Acc::Open;
                self.acc_line = line;
                self.acc_indent = indent(&self.buf);
                self.acc_depth = 0;
                self.acc_budget = CHECK_BUDGET;
                self.scan_line();
                None
            }
            Err(e) => {
                let snip = snippet(&self.buf);
                Some(self.reject(RejectKind::Parse, line, snip, parse_message(&e)))
            }
        }
    }

    /// Whether the current line looks like the start of a new top-level record while a
    /// multi-line record is gathered: it opens an object or array and is indented no deeper
    /// than the gathered record's first line.
    fn starts_new_record(&self) -> bool {
        opens_container(&self.buf) && indent(&self.buf) <= self.acc_indent
    }

    /// Tracks bracket depth over the current line (strings skipped; a string cannot span
    /// lines in valid JSON). Returns whether the depth fell to 0 or below: the record's
    /// brackets closed, so it is complete or broken and can be parsed once.
    fn scan_line(&mut self) -> bool {
        let mut closed = false;
        let mut in_str = false;
        let mut escaped = false;
        for &b in &self.buf {
            if in_str {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_str = false;
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => self.acc_depth += 1,
                    b'}' | b']' => {
                        self.acc_depth -= 1;
                        if self.acc_depth <= 0 {
                            closed = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        closed
    }

    fn on_line(&mut self, oversize: bool, line: u64) -> Option<Item> {
        match self.acc_state {
            Acc::Idle => self.fresh_line(oversize, line),
            Acc::Open => {
                if !oversize && is_blank(&self.buf) {
                    if self.acc.len() < self.limit {
                        self.acc.push(b'\n');
                        return None;
                    }
                    let snip = snippet(&self.acc);
                    self.acc_state = Acc::Discard;
                    return Some(self.oversize(self.acc_line, snip));
                }
                let starts_new = self.starts_new_record();
                let prev_len = self.acc.len();
                if oversize || prev_len + self.buf.len() + 1 > self.limit {
                    if starts_new {
                        // The open record was truncated, and the new one (oversized or not)
                        // is judged on its own.
                        return Some(self.abandon(oversize, line));
                    }
                    let room = self.limit.saturating_sub(prev_len).min(self.buf.len());
                    self.acc.extend_from_slice(&self.buf[..room]);
                    let snip = snippet(&self.acc);
                    self.acc_state = Acc::Discard;
                    if self.scan_line() {
                        self.acc_state = Acc::Idle;
                    }
                    return Some(self.oversize(self.acc_line, snip));
                }
                self.acc.extend_from_slice(&self.buf);
                self.acc.push(b'\n');
                self.acc_budget = self
                    .acc_budget
                    .saturating_add(CHECK_PER_BYTE * (self.buf.len() + 1));
                if self.scan_line() {
                    // Complete or broken: either way this record ends here.
                    self.acc_state = Acc::Idle;
                    let result = serde_json::from_slice::<Value>(&self.acc);
                    let acc = std::mem::take(&mut self.acc);
                    let item = self.parsed(result, self.acc_line, &acc);
                    self.acc = acc;
                    return Some(item);
                }
                // A line that looks like a new record: if the open record cannot continue
                // with it, the open record was truncated. Checks draw on `acc_budget`, so
                // records with many unindented nested lines stay linear (checks thin out).
                if starts_new && self.acc.len() <= self.acc_budget {
                    self.acc_budget -= self.acc.len();
                    match serde_json::from_slice::<Value>(&self.acc) {
                        Err(e) if e.is_eof() => {}
                        _ => {
                            self.acc.truncate(prev_len);
                            return Some(self.abandon(oversize, line));
                        }
                    }
                }
                None
            }
            Acc::Discard => {
                if self.starts_new_record() {
                    self.acc_state = Acc::Idle;
                    return self.fresh_line(oversize, line);
                }
                if self.scan_line() {
                    self.acc_state = Acc::Idle;
                }
                None
            }
        }
    }

    /// Rejects the open (incomplete) record because line `line` starts a new one, and
    /// handles that line afresh (its item, if any, becomes `pending`).
    fn abandon(&mut self, oversize: bool, line: u64) -> Item {
        let message = match serde_json::from_slice::<Value>(&self.acc) {
            Err(e) => format!(
                "{} (record abandoned: a new record starts at line {line})",
                parse_message(&e)
            ),
            Ok(_) => format!("record abandoned: a new record starts at line {line}"),
        };
        let snip = snippet(&self.acc);
        let item = self.reject(RejectKind::Parse, self.acc_line, snip, message);
        self.acc_state = Acc::Idle;
        self.pending = self.fresh_line(oversize, line);
        item
    }

    /// End of input while in the line decoder: an unfinished multi-line record is rejected.
    fn finish_acc(&mut self) -> Option<Item> {
        let state = std::mem::replace(&mut self.acc_state, Acc::Idle);
        match state {
            Acc::Idle | Acc::Discard => None,
            Acc::Open => {
                let result = serde_json::from_slice::<Value>(&self.acc);
                let acc = std::mem::take(&mut self.acc);
                let item = self.parsed(result, self.acc_line, &acc);
                self.acc = acc;
                Some(item)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn jsonl_mode_yields_one_value_of_any_type_per_line_with_index_and_line() {
        let input = b"{\"a\":1}\n[1,2]\n\"s\"\n3\ntrue\nnull\n";
        assert_eq!(
            check(input, Mode::Jsonl, Policy::Stop),
            [
                "#1 L1 {\"a\":1}",
                "#2 L2 [1,2]",
                "#3 L3 \"s\"",
                "#4 L4 3",
                "#5 L5 true",
                "#6 L6 null"
            ]
        );
    }

    #[test]
    fn jsonl_mode_skips_blank_lines_but_counts_them_and_accepts_a_final_line_without_newline() {
        let input = b"\n{\"a\":1}\n   \n\t\n{\"a\":2}";
        assert_eq!(
            check(input, Mode::Jsonl, Policy::Stop),
            ["#1 L2 {\"a\":1}", "#2 L5 {\"a\":2}"]
        );
    }

    #[test]
    fn jsonl_mode_does_not_join_pretty_printed_records() {
        let input = b"{\n  \"a\": 1\n}\n";
        assert_eq!(
            check(input, Mode::Jsonl, Policy::Skip),
            ["#1 L1 parse", "#2 L2 parse", "#3 L3 parse"]
        );
    }

    #[test]
    fn skip_policy_reports_each_bad_line_and_goes_on_with_indices_counting_rejections() {
        let input = b"{\"a\":1}\nnope\n{\"a\":2}\n{\"a\":\n{\"a\":3}\n";
        let items = run(input, Mode::Jsonl, Policy::Skip);
        assert_eq!(
            outline(&items),
            [
                "#1 L1 {\"a\":1}",
                "#2 L2 parse",
                "#3 L3 {\"a\":2}",
                "#4 L4 parse",
                "#5 L5 {\"a\":3}"
            ]
        );
        let bad = rejections(&items);
        assert_eq!(bad[0].snippet, "nope");
        assert_eq!(
            bad[0].message,
            "invalid JSON: expected ident at line 1 column 2"
        );
        assert_eq!(bad[1].snippet, "{\"a\":");
    }

    #[test]
    fn invalid_utf8_in_a_record_is_a_parse_rejection() {
        let input = b"{\"a\":\"\xff\"}\n{\"a\":1}\n";
        for mode in [Mode::Auto, Mode::Jsonl] {
            let items = run(input, mode, Policy::Skip);
            assert_eq!(outline(&items), ["#1 L1 parse", "#2 L2 {\"a\":1}"]);
            assert!(
                rejections(&items)[0]
                    .message
                    .starts_with("invalid JSON: invalid unicode")
            );
        }
        assert_eq!(
            check(b"\x1e\"\xfe\"\n\x1e1\n", Mode::Seq, Policy::Skip),
            ["#1 L1 parse", "#2 L2 1"]
        );
        assert_eq!(
            check(b"[\"\xfe\"]", Mode::Json, Policy::Skip),
            ["#1 L1 parse"]
        );
    }

    #[test]
    fn a_line_longer_than_max_record_is_oversize_and_line_counting_goes_on() {
        let mut input = b"{\"a\":1}\n{\"big\":\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD));
        input.extend_from_slice(b"\"}\r\n\n{\"a\":2}\n");
        for mode in [Mode::Auto, Mode::Jsonl] {
            let items = run(&input, mode, Policy::Skip);
            assert_eq!(
                outline(&items),
                ["#1 L1 {\"a\":1}", "#2 L2 oversize", "#3 L4 {\"a\":2}"]
            );
            let bad = rejections(&items)[0];
            assert_eq!(bad.message, "record exceeds 1048576 bytes");
            assert!(bad.snippet.starts_with("{\"big\":\"xxx") && bad.snippet.ends_with("..."));
            assert_eq!(bad.snippet.len(), 203);
        }
    }

    #[test]
    fn a_line_of_exactly_max_record_bytes_is_accepted_even_with_crlf() {
        let mut input = b"\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD - 2));
        input.extend_from_slice(b"\"\r\n1\n");
        let items = run(&input, Mode::Jsonl, Policy::Stop);
        assert!(
            matches!(&items[0], Item::Record(r) if r.value.as_str().unwrap().len() == MAX_RECORD - 2)
        );
        assert_eq!(outline(&items[1..]), ["#2 L2 1"]);
    }

    #[test]
    fn pretty_printed_records_in_auto_mode_are_joined_until_they_parse() {
        let input = b"{\"a\":1}\n\n{\n  \"b\": [\n    1,\n\n    2\n  ]\n}\n[\n  {\"c\": 1},\n  {\n    \"d\": \"}]\\\"{\"\n  }\n]\n\"tail\"\n";
        for policy in [Policy::Stop, Policy::Skip] {
            assert_eq!(
                check(input, Mode::Auto, policy),
                [
                    "#1 L1 {\"a\":1}",
                    "#2 L3 {\"b\":[1,2]}",
                    "#3 L10 [{\"c\":1},{\"d\":\"}]\\\"{\"}]",
                    "#4 L16 \"tail\""
                ]
            );
        }
    }

    #[test]
    fn unindented_nested_records_in_auto_mode_are_still_joined() {
        let input = b"[\n{\"a\":1},\n{\"b\":2}\n]\n{\"c\":3}\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            ["#1 L1 [{\"a\":1},{\"b\":2}]", "#2 L5 {\"c\":3}"]
        );
    }

    #[test]
    fn a_long_pretty_printed_record_is_gathered_in_linear_time() {
        // 100 000 lines; re-parsing per line would take minutes.
        let mut input = b"[\n".to_vec();
        for _ in 0..100_000 {
            input.extend_from_slice(b"  1,\n");
        }
        input.extend_from_slice(b"  1\n]\n{\"next\":1}\n");
        let items = run(&input, Mode::Auto, Policy::Stop);
        assert_eq!(outline(&items[1..]), ["#2 L100004 {\"next\":1}"]);
        assert!(
            matches!(&items[0], Item::Record(r) if r.value.as_array().unwrap().len() == 100_001)
        );
    }

    #[test]
    fn a_long_unindented_pretty_printed_record_is_gathered_in_linear_time() {
        let mut input = b"[\n".to_vec();
        for _ in 0..100_000 {
            input.extend_from_slice(b"{\"a\":1},\n");
        }
        input.extend_from_slice(b"{\"a\":1}\n]\n7\n");
        let items = run(&input, Mode::Auto, Policy::Stop);
        assert_eq!(outline(&items[1..]), ["#2 L100004 7"]);
        assert!(
            matches!(&items[0], Item::Record(r) if r.value.as_array().unwrap().len() == 100_001)
        );
    }

    #[test]
    fn skip_policy_abandons_a_partial_record_when_a_new_record_starts() {
        let input = b"{\n  \"a\": 1,\n{\"b\": 2}\n[\n  3\n]\n{\n  \"x\": [\n{\n  \"c\": 4\n}\n";
        let items = run(input, Mode::Auto, Policy::Skip);
        // The second partial record swallows `{` at line 9 because `[\n{` can continue it;
        // `"c": 4` then cannot, but is not a new record, so the record stays open until EOF.
        assert_eq!(
            outline(&items),
            ["#1 L1 parse", "#2 L3 {\"b\":2}", "#3 L4 [3]", "#4 L7 parse"]
        );
        let bad = rejections(&items);
        assert_eq!(bad[0].snippet, "{\n  \"a\": 1,");
        assert!(
            bad[0].message.contains("new record starts at line 3"),
            "{}",
            bad[0].message
        );
        assert_eq!(check(input, Mode::Auto, Policy::Skip), outline(&items));
    }

    #[test]
    fn a_partial_record_with_a_long_first_line_is_abandoned_at_the_next_record() {
        let first = format!("{{\"{}\": 1, \"b\": [", "k".repeat(300));
        let input = format!("{first}\n{{\"c\":1}}\n{{\"d\":2}}\n");
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            // `{"c":1}` can continue `[`; `{"d":2}` cannot.
            ["#1 L1 parse", "#2 L3 {\"d\":2}"]
        );
        let input = format!("{{\"{}\": 1,\n{{\"c\":1}}\n", "k".repeat(300));
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            ["#1 L1 parse", "#2 L2 {\"c\":1}"]
        );
    }

    #[test]
    fn an_oversized_new_record_after_a_truncated_one_is_reported_on_its_own() {
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_RECORD));
        let input = format!("{{\"a\":\n{big}\n{{\"ok\":1}}\n");
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            ["#1 L1 parse", "#2 L2 oversize", "#3 L3 {\"ok\":1}"]
        );
    }

    #[test]
    fn abandoning_a_partial_record_can_start_a_new_multi_line_record() {
        let input = b"{\n  \"a\": 1,\n{\n  \"b\": 2\n}\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            ["#1 L1 parse", "#2 L3 {\"b\":2}"]
        );
        assert_eq!(check(input, Mode::Auto, Policy::Stop), ["#1 L1 parse"]);
    }

    #[test]
    fn a_broken_multi_line_record_is_rejected_once_when_its_brackets_close() {
        let input = b"{\n  \"a\": 1 oops,\n  \"b\": {\n    \"c\": 1\n  }\n}\n{\"d\": 4}\n";
        let items = run(input, Mode::Auto, Policy::Skip);
        assert_eq!(outline(&items), ["#1 L1 parse", "#2 L7 {\"d\":4}"]);
        let bad = rejections(&items)[0];
        assert_eq!(
            bad.message,
            "invalid JSON: expected `,` or `}` at line 2 column 10"
        );
        assert!(bad.snippet.starts_with("{\n  \"a\": 1 oops,") && bad.snippet.ends_with('}'));
    }

    #[test]
    fn an_unfinished_multi_line_record_at_eof_is_a_parse_rejection_at_its_first_line() {
        let input = b"{\"a\":1}\n{\n  \"b\": [1,\n\n";
        let items = run(input, Mode::Auto, Policy::Skip);
        assert_eq!(outline(&items), ["#1 L1 {\"a\":1}", "#2 L2 parse"]);
        let bad = rejections(&items)[0];
        assert!(
            bad.message.starts_with("invalid JSON: EOF while parsing"),
            "{}",
            bad.message
        );
        assert_eq!(bad.snippet, "{\n  \"b\": [1,");
    }

    #[test]
    fn a_line_that_cannot_become_valid_is_rejected_without_gathering_more_lines() {
        let input = b"{bad}\n{\"a\":1} {\"b\":2}\n\"open\n{\"ok\":1}\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            [
                "#1 L1 parse",
                "#2 L2 parse",
                "#3 L3 parse",
                "#4 L4 {\"ok\":1}"
            ]
        );
    }

    #[test]
    fn line_numbers_stay_exact_after_multi_line_records_and_blank_lines() {
        let input = b"\n\n[\n  1\n]\n\n\nnope\n\n{\n}\n7\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            ["#1 L3 [1]", "#2 L8 parse", "#3 L10 {}", "#4 L12 7"]
        );
    }

    #[test]
    fn a_multi_line_record_over_max_record_is_oversize_and_dropped_until_it_closes() {
        let mut input = b"{\n  \"big\": [\n".to_vec();
        let n = MAX_RECORD / 8 + 10;
        for _ in 0..n {
            input.extend_from_slice(b"    [1],\n");
        }
        input.extend_from_slice(b"    1\n  ]\n}\n{\"ok\":1}\n");
        let items = run(&input, Mode::Auto, Policy::Skip);
        let last = n as u64 + 6;
        assert_eq!(
            outline(&items),
            [
                "#1 L1 oversize".to_string(),
                format!("#2 L{last} {{\"ok\":1}}")
            ]
        );
        assert!(rejections(&items)[0].snippet.ends_with("..."));
    }

    #[test]
    fn an_overlong_line_inside_a_multi_line_record_makes_it_oversize() {
        let mut input = b"{\n  \"big\": \"".to_vec();
        input.extend(std::iter::repeat_n(b'a', MAX_RECORD));
        input.extend_from_slice(b"\"\n}\n{\"ok\":1}\n");
        assert_eq!(
            check(&input, Mode::Auto, Policy::Skip),
            ["#1 L1 oversize", "#2 L4 {\"ok\":1}"]
        );
    }
}
