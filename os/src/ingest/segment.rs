//! Segments: the text of one record cut out of a byte stream (json, seq and jq decoders).
//!
//! Role: reads up to a delimiter or the end of input into the record buffer, skipping leading
//! whitespace, counting lines, and keeping at most record-limit bytes; turns a segment into
//! its item.
//!
//! # Invariants
//! - `Segment::line` is the line of the segment's first non-whitespace byte.
//! - Only whitespace may follow the record-limit bytes kept, or the segment overflows.
//!
//! Spec: `spec/CLI.md` (feed input modes).

use super::source::fill;
use super::text::{count_newlines, is_ws, snippet};
use super::{Ingest, Item};
use serde_json::Value;
use std::io::{self, BufRead};

/// Where a segment (json, seq or jq record) was found.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Segment {
    /// A non-whitespace byte was seen.
    pub(super) started: bool,
    /// The record text is longer than the limit (only a prefix is buffered).
    pub(super) overflow: bool,
    /// Line of the first non-whitespace byte.
    pub(super) line: u64,
    /// The input ended.
    pub(super) eof: bool,
}

impl<R: BufRead> Ingest<R> {
    pub(super) fn segment_item(&mut self, seg: Segment) -> Option<Item> {
        if !seg.started {
            return None;
        }
        if seg.overflow {
            let snip = snippet(&self.buf);
            return Some(self.oversize(seg.line, snip));
        }
        let result = serde_json::from_slice::<Value>(&self.buf);
        let buf = std::mem::take(&mut self.buf);
        let item = self.parsed(result, seg.line, &buf);
        self.buf = buf;
        Some(item)
    }

    /// Reads up to the next `delim` (consumed, not stored) or the end of input into `buf`,
    /// without leading whitespace and keeping at most record-limit bytes.
    pub(super) fn read_segment(&mut self, delim: Option<u8>) -> io::Result<Segment> {
        self.buf.clear();
        let mut seg = Segment::default();
        loop {
            let chunk = fill(&mut self.src)?;
            if chunk.is_empty() {
                seg.eof = true;
                return Ok(seg);
            }
            let (mut part, hit) = match delim.and_then(|d| chunk.iter().position(|&b| b == d)) {
                Some(i) => (&chunk[..i], true),
                None => (chunk, false),
            };
            let used = part.len() + usize::from(hit);
            if !seg.started {
                let ws = part.iter().take_while(|&&b| is_ws(b)).count();
                self.pos_line += count_newlines(&part[..ws]);
                part = &part[ws..];
                if !part.is_empty() {
                    seg.started = true;
                    seg.line = self.pos_line;
                }
            }
            if !part.is_empty() {
                self.pos_line += count_newlines(part);
                let room = self.limit - self.buf.len();
                if part.len() <= room {
                    self.buf.extend_from_slice(part);
                } else {
                    self.buf.extend_from_slice(&part[..room]);
                    // Only trailing whitespace may lie past the limit.
                    if part[room..].iter().any(|&b| !is_ws(b)) {
                        seg.overflow = true;
                    }
                }
            }
            self.src.consume(used);
            if hit {
                return Ok(seg);
            }
        }
    }
}
