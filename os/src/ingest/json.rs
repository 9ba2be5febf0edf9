//! Whole-input JSON: the entire input is one value.
//!
//! Role: the `json` decoder, for a document (pretty-printed or not) fed as one message.
//!
//! # Invariants
//! - At most one item: the value, a parse rejection (trailing text included), or oversize
//!   when more than record-limit bytes of text lie between the surrounding
//!   whitespace.
//!
//! Spec: `spec/CLI.md` (feed input modes: `json`).

use super::{Ingest, Item};
use std::io::{self, BufRead};

impl<R: BufRead> Ingest<R> {
    pub(super) fn step_json(&mut self) -> io::Result<Option<Item>> {
        let seg = self.read_segment(None)?;
        self.done = true;
        Ok(self.segment_item(seg))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn json_mode_reads_the_whole_input_as_one_value() {
        let input = b"\n  {\n  \"a\": [1,\n 2]\n}\n\n";
        assert_eq!(
            check(input, Mode::Json, Policy::Stop),
            ["#1 L2 {\"a\":[1,2]}"]
        );
        assert_eq!(check(b"42", Mode::Json, Policy::Stop), ["#1 L1 42"]);
    }

    #[test]
    fn json_mode_rejects_trailing_garbage_as_a_parse_error() {
        let items = run(b"{\"a\":1}\n{\"a\":2}\n", Mode::Json, Policy::Skip);
        assert_eq!(outline(&items), ["#1 L1 parse"]);
        assert!(
            rejections(&items)[0]
                .message
                .contains("trailing characters at line 2 column 1")
        );
    }

    #[test]
    fn json_mode_rejects_input_over_max_record_as_oversize() {
        let mut input = b"\n\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD - 1));
        input.extend_from_slice(b"\"\n");
        let items = run(&input, Mode::Json, Policy::Skip);
        assert_eq!(outline(&items), ["#1 L2 oversize"]);
        assert_eq!(
            rejections(&items)[0].message,
            "record exceeds 1048576 bytes"
        );
    }

    #[test]
    fn json_mode_accepts_exactly_max_record_bytes_with_surrounding_whitespace() {
        let mut input = b"\n\n\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD - 2));
        input.extend_from_slice(b"\"");
        input.extend(std::iter::repeat_n(b' ', 5000));
        let items = run(&input, Mode::Json, Policy::Stop);
        assert!(matches!(&items[..], [Item::Record(r)] if r.line == Some(3)));
    }
}
