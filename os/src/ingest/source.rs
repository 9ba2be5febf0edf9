//! The input as the decoders read it: the reader with `auto`'s sniffed bytes put back in
//! front, interrupted reads retried, and line reading with a length cap.
//!
//! Role: every decoder reads through [`Source`] (directly, or via [`Ingest::read_line`]).
//!
//! # Invariants
//! - [`Source`] yields the sniffed prefix, then a read error met while sniffing (once), then
//!   the rest of the reader.
//! - [`Ingest::read_line`] keeps at most the record limit plus the caller's slack (and a
//!   line ending) of a line and skips the rest, so one line never holds more than about
//!   record-limit bytes of memory.
//!
//! Spec: `spec/CLI.md` (feed input modes).

use super::Ingest;
use std::io::{self, BufRead, Read};

/// The reader with the sniffed bytes put back in front of it.
pub(super) struct Source<R> {
    pub(super) inner: R,
    pub(super) prefix: Vec<u8>,
    pub(super) pos: usize,
    /// A read error met while sniffing, reported after the sniffed bytes.
    pub(super) error: Option<io::Error>,
}

impl<R: BufRead> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.prefix.len() {
            Ok(&self.prefix[self.pos..])
        } else if let Some(e) = self.error.take() {
            Err(e)
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, amt: usize) {
        if self.pos < self.prefix.len() {
            self.pos += amt;
            if self.pos >= self.prefix.len() {
                self.prefix = Vec::new();
                self.pos = 0;
            }
        } else {
            self.inner.consume(amt);
        }
    }
}

/// `fill_buf` that retries on `Interrupted`.
pub(super) fn fill<B: BufRead>(src: &mut B) -> io::Result<&[u8]> {
    loop {
        match src.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
            // End of input: asking again could read past it.
            Ok([]) => return Ok(&[]),
            // Re-borrowed below: returning `chunk` from inside the loop does not type-check.
            Ok(_) => break,
        }
    }
    // Data is buffered, so this returns it without reading.
    src.fill_buf()
}

impl<R: BufRead> Ingest<R> {
    /// Reads the next line into `buf` without its line ending. `None` at end of input, else
    /// whether the line is longer than the record limit plus `slack` — room for what the
    /// decoder strips before the record text — (then `buf` holds only its start).
    pub(super) fn read_line(&mut self, slack: usize) -> io::Result<Option<bool>> {
        self.buf.clear();
        let keep = self.limit.saturating_add(slack);
        // Bytes of one line kept: what may be record text plus room for its "\r\n".
        let line_limit = keep.saturating_add(2);
        let n = (&mut self.src)
            .take(u64::try_from(line_limit).unwrap_or(u64::MAX))
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.lines_read += 1;
        let mut overflow = false;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if n == line_limit {
            overflow = true;
            self.skip_rest_of_line()?;
        }
        if !overflow && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(overflow || self.buf.len() > keep))
    }

    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let chunk = fill(&mut self.src)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let (used, found) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            self.src.consume(used);
            if found {
                return Ok(());
            }
        }
    }
}
