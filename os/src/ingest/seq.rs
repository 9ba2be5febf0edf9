//! RFC 7464 JSON text sequences: records introduced by the record separator 0x1E.
//!
//! Role: the `seq` decoder, also chosen by `auto` when a record separator appears in the
//! sniffed window.
//!
//! # Invariants
//! - Text between separators is one record; whitespace-only records are ignored.
//! - A bad or oversized record is one item, and the stream resumes at the next separator.
//!
//! Spec: `spec/CLI.md` (feed input modes: `seq`); RFC 7464.

use super::{Ingest, Item, RS};
use std::io::{self, BufRead};

impl<R: BufRead> Ingest<R> {
    pub(super) fn step_seq(&mut self) -> io::Result<Option<Item>> {
        loop {
            let seg = self.read_segment(Some(RS))?;
            if seg.started {
                return Ok(self.segment_item(seg));
            }
            if seg.eof {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn seq_mode_splits_on_record_separators_and_ignores_whitespace_only_records() {
        let input = b"\x1e{\"a\":1}\n\x1e  \n\x1e\x1e[2]\n\x1e3";
        assert_eq!(
            check(input, Mode::Seq, Policy::Stop),
            ["#1 L1 {\"a\":1}", "#2 L3 [2]", "#3 L4 3"]
        );
    }

    #[test]
    fn seq_mode_rejects_a_bad_record_and_goes_on_in_skip_policy() {
        let input = b"\x1e{bad}\n\x1e{\"a\":1}\n\x1e1 2\n";
        let items = run(input, Mode::Seq, Policy::Skip);
        assert_eq!(
            outline(&items),
            ["#1 L1 parse", "#2 L2 {\"a\":1}", "#3 L3 parse"]
        );
        assert_eq!(rejections(&items)[0].snippet, "{bad}");
    }

    #[test]
    fn seq_mode_rejects_a_record_over_max_record_as_oversize_and_goes_on() {
        let mut input = b"\x1e[\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD));
        input.extend_from_slice(b"\"]\n\x1e{\"a\":1}\n");
        assert_eq!(
            check(&input, Mode::Seq, Policy::Skip),
            ["#1 L1 oversize", "#2 L2 {\"a\":1}"]
        );
    }
}
