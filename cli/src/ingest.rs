//! Feed input: turns a byte stream into JSON records for `pls feed`, one at a time.
//!
//! Role: the `--in` decoders (`auto`, `jsonl`, `json`, `seq`, `jq`, plus the event-stream form
//! that `auto` can detect) behind one pull interface, [`Ingest::next_item`]. It reports each
//! record or rejected record with its stream index and starting line; what to do with a
//! rejection, and whether a non-object value is acceptable, is the caller's business.
//!
//! # Invariants
//! - Streaming with bounded memory: at most about [`MAX_RECORD`] bytes of any one record are
//!   held, and the line/segment buffers are reused from record to record.
//! - `index` counts every record and rejected record in stream order, starting at 0.
//! - `line` is the 1-based line where the record's text starts; line counting stays exact
//!   across blank lines, multi-line records, overlong lines and the sniff window.
//! - Record text longer than [`MAX_RECORD`] bytes is always [`RejectKind::Oversize`], never
//!   parsed.
//! - With [`Policy::Stop`] nothing follows a [`Rejected`]; nothing ever follows an
//!   [`Item::Io`].
//! - `auto` sniffs at most 8 KiB / 8 lines and replays them: no input byte is lost.
//!
//! Spec: `spec/CLI.md` (feed input modes).

use serde_json::Value;
use std::fmt;
use std::io::{self, BufRead, Read};

/// Largest record text, in bytes, that is parsed; longer records are rejected as oversize.
pub const MAX_RECORD: usize = 1 << 20;

/// Bytes of input `auto` looks at before choosing a decoder.
const SNIFF_BYTES: usize = 8 * 1024;
/// Lines of input `auto` looks at before choosing a decoder.
const SNIFF_LINES: usize = 8;
/// Longest snippet of record text kept in a [`Rejected`] (before the "..." marker).
const SNIPPET_BYTES: usize = 200;
/// Bytes of re-parsing a multi-line record may spend on "does this new-looking line still
/// continue it?" checks, before the allowance earned by its growth (see `acc_budget`).
const CHECK_BUDGET: usize = 64 * 1024;
/// Check allowance earned per byte a multi-line record grows.
const CHECK_PER_BYTE: usize = 4;
/// RFC 7464 record separator.
const RS: u8 = 0x1E;
/// Bytes of one line kept: a full record plus room for its "\r\n".
const LINE_LIMIT: usize = MAX_RECORD + 2;

/// Input format requested with `--in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Sniff the start of the input: `seq`, an event stream, or JSONL with multi-line records.
    Auto,
    /// One JSON value per non-blank line.
    Jsonl,
    /// The whole input is one JSON value.
    Json,
    /// RFC 7464 JSON text sequences (records separated by 0x1E).
    Seq,
    /// Concatenated JSON values with any whitespace between them, as `jq` reads them.
    Jq,
}

/// What to do after a rejected record (`--errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// The first rejection ends the stream: [`Ingest::next_item`] returns `None` after it.
    Stop,
    /// Report the rejection and go on with the next record.
    Skip,
}

/// One decoded JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The value; any JSON type.
    pub value: Value,
    /// 0-based position in the stream, counting rejected records too.
    pub index: u64,
    /// 1-based line where the record's text starts.
    pub line: Option<u64>,
}

/// Why a record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// The text is not one valid JSON value (including invalid UTF-8).
    Parse,
    /// The text is longer than [`MAX_RECORD`] bytes.
    Oversize,
}

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why it was rejected.
    pub kind: RejectKind,
    /// 0-based position in the stream, counting good records too.
    pub index: u64,
    /// 1-based line where the record's text starts.
    pub line: Option<u64>,
    /// At most 200 bytes of the record text, cut on a char boundary, "..." appended if cut.
    pub snippet: String,
    /// Human-readable reason, e.g. "invalid JSON: expected value at line 1 column 5".
    pub message: String,
}

/// What [`Ingest::next_item`] yields.
#[derive(Debug)]
pub enum Item {
    /// A decoded value.
    Record(Record),
    /// A record that could not be decoded.
    Rejected(Rejected),
    /// Reading the input failed; the stream ends here.
    Io(io::Error),
}

/// The decoder actually in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `auto` before the first read.
    Sniff,
    /// One value per line; `multiline` joins pretty-printed records (auto only).
    Lines {
        multiline: bool,
    },
    Json,
    Seq,
    Jq,
    /// Server-sent events (auto only).
    Event,
}

/// State of a multi-line record being gathered in `auto`'s line decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acc {
    /// No record open.
    Idle,
    /// `acc` holds an unclosed record: lines are appended until its brackets close.
    Open,
    /// `acc` grew past [`MAX_RECORD`] and was reported: lines are dropped until its brackets
    /// close or a new record starts.
    Discard,
}

/// Where a segment (json, seq or jq record) was found.
#[derive(Debug, Default, Clone, Copy)]
struct Segment {
    /// A non-whitespace byte was seen.
    started: bool,
    /// The record text is longer than the limit (only a prefix is buffered).
    overflow: bool,
    /// Line of the first non-whitespace byte.
    line: u64,
    /// The input ended.
    eof: bool,
}

/// The reader with the sniffed bytes put back in front of it.
struct Source<R> {
    inner: R,
    prefix: Vec<u8>,
    pos: usize,
    /// A read error met while sniffing, reported after the sniffed bytes.
    error: Option<io::Error>,
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
fn fill<B: BufRead>(src: &mut B) -> io::Result<&[u8]> {
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

/// Pull decoder from an input byte stream to [`Item`]s.
pub struct Ingest<R: BufRead> {
    src: Source<R>,
    kind: Kind,
    policy: Policy,
    /// No more items except `pending`.
    done: bool,
    /// An item produced together with the previous one.
    pending: Option<Item>,
    next_index: u64,
    /// Line modes: lines read so far (so the number of the current line).
    lines_read: u64,
    /// Byte modes (json, seq, jq): line of the read position.
    pos_line: u64,
    /// Current line or segment.
    buf: Vec<u8>,
    /// Multi-line record (auto) or event data (event stream).
    acc: Vec<u8>,
    acc_state: Acc,
    acc_line: u64,
    acc_indent: usize,
    /// Bracket depth of `acc` outside strings.
    acc_depth: isize,
    /// Bytes `acc` may still re-parse in continuation checks: [`CHECK_BUDGET`] plus
    /// [`CHECK_PER_BYTE`] per byte gathered, so the checks stay linear in the input.
    acc_budget: usize,
    event_open: bool,
    event_oversize: bool,
}

impl<R: BufRead> fmt::Debug for Ingest<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ingest")
            .field("mode", &self.mode_name())
            .field("policy", &self.policy)
            .field("next_index", &self.next_index)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> Ingest<R> {
    /// A decoder over `reader`; nothing is read until the first [`Ingest::next_item`].
    pub fn new(reader: R, mode: Mode, policy: Policy) -> Self {
        let kind = match mode {
            Mode::Auto => Kind::Sniff,
            Mode::Jsonl => Kind::Lines { multiline: false },
            Mode::Json => Kind::Json,
            Mode::Seq => Kind::Seq,
            Mode::Jq => Kind::Jq,
        };
        Ingest {
            src: Source {
                inner: reader,
                prefix: Vec::new(),
                pos: 0,
                error: None,
            },
            kind,
            policy,
            done: false,
            pending: None,
            next_index: 0,
            lines_read: 0,
            pos_line: 1,
            buf: Vec::new(),
            acc: Vec::new(),
            acc_state: Acc::Idle,
            acc_line: 0,
            acc_indent: 0,
            acc_depth: 0,
            acc_budget: 0,
            event_open: false,
            event_oversize: false,
        }
    }

    /// The next record, rejection or read error; `None` at the end of the input (and after an
    /// [`Item::Io`], or after a [`Rejected`] under [`Policy::Stop`]).
    pub fn next_item(&mut self) -> Option<Item> {
        if let Some(item) = self.pending.take() {
            return Some(item);
        }
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(item)) => {
                if self.policy == Policy::Stop && matches!(item, Item::Rejected(_)) {
                    self.done = true;
                    self.pending = None;
                }
                Some(item)
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                self.pending = None;
                Some(Item::Io(e))
            }
        }
    }

    /// The effective input mode: "jsonl", "json", "seq", "jq" or "event"; "auto" until the
    /// first [`Ingest::next_item`] has sniffed the input.
    pub fn mode_name(&self) -> &'static str {
        match self.kind {
            Kind::Sniff => "auto",
            Kind::Lines { .. } => "jsonl",
            Kind::Json => "json",
            Kind::Seq => "seq",
            Kind::Jq => "jq",
            Kind::Event => "event",
        }
    }

    fn step(&mut self) -> io::Result<Option<Item>> {
        match self.kind {
            Kind::Sniff => {
                self.sniff();
                self.step()
            }
            Kind::Lines { .. } => self.step_lines(),
            Kind::Json => self.step_json(),
            Kind::Seq => self.step_seq(),
            Kind::Jq => self.step_jq(),
            Kind::Event => self.step_event(),
        }
    }

    // ----- items -----

    fn record(&mut self, value: Value, line: u64) -> Item {
        let index = self.next_index;
        self.next_index += 1;
        Item::Record(Record {
            value,
            index,
            line: Some(line),
        })
    }

    fn reject(&mut self, kind: RejectKind, line: u64, snippet: String, message: String) -> Item {
        let index = self.next_index;
        self.next_index += 1;
        Item::Rejected(Rejected {
            kind,
            index,
            line: Some(line),
            snippet,
            message,
        })
    }

    fn oversize(&mut self, line: u64, text_prefix: String) -> Item {
        self.reject(RejectKind::Oversize, line, text_prefix, oversize_message())
    }

    /// Parse `text` (`self.buf` or `self.acc`, already snipped by the caller on error).
    fn parsed(&mut self, result: serde_json::Result<Value>, line: u64, text: &[u8]) -> Item {
        match result {
            Ok(value) => self.record(value, line),
            Err(e) => self.reject(RejectKind::Parse, line, snippet(text), parse_message(&e)),
        }
    }

    // ----- auto sniffing -----

    fn sniff(&mut self) {
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

    // ----- line reading -----

    /// Reads the next line into `buf` without its line ending. `None` at end of input, else
    /// whether the line is longer than [`MAX_RECORD`] (then `buf` holds only its start).
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.buf.clear();
        let n = (&mut self.src)
            .take(LINE_LIMIT as u64)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.lines_read += 1;
        let mut overflow = false;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if n == LINE_LIMIT {
            overflow = true;
            self.skip_rest_of_line()?;
        }
        if !overflow && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(overflow || self.buf.len() > MAX_RECORD))
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

    // ----- jsonl (and auto's jsonl with multi-line records) -----

    fn step_lines(&mut self) -> io::Result<Option<Item>> {
        loop {
            let Some(oversize) = self.read_line()? else {
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
                    if self.acc.len() < MAX_RECORD {
                        self.acc.push(b'\n');
                        return None;
                    }
                    let snip = snippet(&self.acc);
                    self.acc_state = Acc::Discard;
                    return Some(self.oversize(self.acc_line, snip));
                }
                let starts_new = self.starts_new_record();
                let prev_len = self.acc.len();
                if oversize || prev_len + self.buf.len() + 1 > MAX_RECORD {
                    if starts_new {
                        // The open record was truncated, and the new one (oversized or not)
                        // is judged on its own.
                        return Some(self.abandon(oversize, line));
                    }
                    let room = MAX_RECORD.saturating_sub(prev_len).min(self.buf.len());
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

    // ----- event stream -----

    fn step_event(&mut self) -> io::Result<Option<Item>> {
        loop {
            let Some(oversize) = self.read_line()? else {
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
            if oversize || self.acc.len() + sep + value.len() > MAX_RECORD {
                self.event_oversize = true;
            }
            if sep == 1 && self.acc.len() < MAX_RECORD {
                self.acc.push(b'\n');
            }
            let room = MAX_RECORD.saturating_sub(self.acc.len()).min(value.len());
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

    // ----- json, seq -----

    fn step_json(&mut self) -> io::Result<Option<Item>> {
        let seg = self.read_segment(None)?;
        self.done = true;
        Ok(self.segment_item(seg))
    }

    fn step_seq(&mut self) -> io::Result<Option<Item>> {
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

    fn segment_item(&mut self, seg: Segment) -> Option<Item> {
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
    /// without leading whitespace and keeping at most [`MAX_RECORD`] bytes.
    fn read_segment(&mut self, delim: Option<u8>) -> io::Result<Segment> {
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
                let room = MAX_RECORD - self.buf.len();
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

    // ----- jq -----

    fn step_jq(&mut self) -> io::Result<Option<Item>> {
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
    /// [`MAX_RECORD`] bytes of it. Validation is left to `serde_json`.
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
            let room = MAX_RECORD - self.buf.len();
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

/// Chooses `auto`'s decoder from the sniffed bytes.
/// Whether `prefix` already decides the mode: it starts (after whitespace) with a record
/// separator, or holds a complete non-blank first line.
fn decided(prefix: &[u8]) -> bool {
    match prefix.iter().position(|&b| !is_ws(b)) {
        Some(i) if prefix[i] == RS => true,
        Some(i) => prefix[i..].contains(&b'\n'),
        None => false,
    }
}

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

/// JSON whitespace.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_structural(b: u8) -> bool {
    matches!(b, b'{' | b'}' | b'[' | b']' | b'"' | b',' | b':')
}

fn is_blank(text: &[u8]) -> bool {
    text.iter().all(|&b| is_ws(b))
}

/// Leading spaces and tabs.
fn indent(line: &[u8]) -> usize {
    line.iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// Whether the first non-whitespace byte opens an object or array.
fn opens_container(line: &[u8]) -> bool {
    matches!(line.iter().find(|&&b| !is_ws(b)), Some(b'{' | b'['))
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn parse_message(e: &serde_json::Error) -> String {
    format!("invalid JSON: {e}")
}

fn oversize_message() -> String {
    format!("record exceeds {MAX_RECORD} bytes")
}

/// At most [`SNIPPET_BYTES`] bytes of `text` (whitespace-trimmed, invalid UTF-8 replaced), cut
/// on a char boundary, with "..." appended when anything was cut.
pub fn snippet(text: &[u8]) -> String {
    let start = text.iter().position(|&b| !is_ws(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |i| i + 1);
    let text = &text[start..end];
    let is_cont = |b: u8| b & 0xC0 == 0x80;
    let mut cut = text.len().min(SNIPPET_BYTES);
    if cut < text.len() {
        // Back off to the lead byte of a UTF-8 sequence split by the cut.
        let mut k = cut;
        while k > 0 && cut - k < 3 && is_cont(text[k]) {
            k -= 1;
        }
        if !is_cont(text[k]) {
            cut = k;
        }
    }
    let mut s = String::from_utf8_lossy(&text[..cut]).into_owned();
    let mut truncated = cut < text.len();
    if s.len() > SNIPPET_BYTES {
        // Replacement characters made it longer.
        let mut c = SNIPPET_BYTES;
        while !s.is_char_boundary(c) {
            c -= 1;
        }
        s.truncate(c);
        truncated = true;
    }
    if truncated {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    fn run_reader<R: BufRead>(reader: R, mode: Mode, policy: Policy) -> Vec<Item> {
        let mut ingest = Ingest::new(reader, mode, policy);
        let mut items = Vec::new();
        while let Some(item) = ingest.next_item() {
            items.push(item);
            assert!(items.len() < 1_000_000, "runaway stream");
        }
        assert!(ingest.next_item().is_none(), "None must be sticky");
        items
    }

    fn run(input: &[u8], mode: Mode, policy: Policy) -> Vec<Item> {
        run_reader(input, mode, policy)
    }

    /// One line per item: `#index Lline value` or `#index Lline parse|oversize`, or `io`.
    fn outline(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Item::Record(r) => format!("#{} L{} {}", r.index, r.line.unwrap_or(0), r.value),
                Item::Rejected(r) => {
                    let kind = match r.kind {
                        RejectKind::Parse => "parse",
                        RejectKind::Oversize => "oversize",
                    };
                    format!("#{} L{} {kind}", r.index, r.line.unwrap_or(0))
                }
                Item::Io(_) => "io".to_string(),
            })
            .collect()
    }

    /// Outline of `input`, also checking that 1-byte and 3-byte reader chunks give the same.
    fn check(input: &[u8], mode: Mode, policy: Policy) -> Vec<String> {
        let whole = outline(&run(input, mode, policy));
        for cap in [1, 3] {
            let chunked = outline(&run_reader(
                BufReader::with_capacity(cap, input),
                mode,
                policy,
            ));
            assert_eq!(chunked, whole, "chunk size {cap} changed the outcome");
        }
        whole
    }

    fn rejections(items: &[Item]) -> Vec<&Rejected> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Rejected(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn mode_after_first(input: &[u8], mode: Mode) -> &'static str {
        let mut ingest = Ingest::new(input, mode, Policy::Skip);
        let _ = ingest.next_item();
        ingest.mode_name()
    }

    const ALL_MODES: [Mode; 5] = [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Jq];

    // ----- jsonl -----

    #[test]
    fn jsonl_mode_yields_one_value_of_any_type_per_line_with_index_and_line() {
        let input = b"{\"a\":1}\n[1,2]\n\"s\"\n3\ntrue\nnull\n";
        assert_eq!(
            check(input, Mode::Jsonl, Policy::Stop),
            [
                "#0 L1 {\"a\":1}",
                "#1 L2 [1,2]",
                "#2 L3 \"s\"",
                "#3 L4 3",
                "#4 L5 true",
                "#5 L6 null"
            ]
        );
    }

    #[test]
    fn jsonl_mode_skips_blank_lines_but_counts_them_and_accepts_a_final_line_without_newline() {
        let input = b"\n{\"a\":1}\n   \n\t\n{\"a\":2}";
        assert_eq!(
            check(input, Mode::Jsonl, Policy::Stop),
            ["#0 L2 {\"a\":1}", "#1 L5 {\"a\":2}"]
        );
    }

    #[test]
    fn jsonl_mode_does_not_join_pretty_printed_records() {
        let input = b"{\n  \"a\": 1\n}\n";
        assert_eq!(
            check(input, Mode::Jsonl, Policy::Skip),
            ["#0 L1 parse", "#1 L2 parse", "#2 L3 parse"]
        );
    }

    #[test]
    fn skip_policy_reports_each_bad_line_and_goes_on_with_indices_counting_rejections() {
        let input = b"{\"a\":1}\nnope\n{\"a\":2}\n{\"a\":\n{\"a\":3}\n";
        let items = run(input, Mode::Jsonl, Policy::Skip);
        assert_eq!(
            outline(&items),
            [
                "#0 L1 {\"a\":1}",
                "#1 L2 parse",
                "#2 L3 {\"a\":2}",
                "#3 L4 parse",
                "#4 L5 {\"a\":3}"
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
    fn stop_policy_yields_nothing_after_the_first_rejection() {
        for mode in [Mode::Auto, Mode::Jsonl, Mode::Jq] {
            let input = b"{\"a\":1}\nnope\n{\"a\":2}\n";
            assert_eq!(
                check(input, mode, Policy::Stop),
                ["#0 L1 {\"a\":1}", "#1 L2 parse"],
                "{mode:?}"
            );
        }
        let input = b"\x1e{\"a\":1}\n\x1enope\n\x1e{\"a\":2}\n";
        assert_eq!(
            check(input, Mode::Seq, Policy::Stop),
            ["#0 L1 {\"a\":1}", "#1 L2 parse"]
        );
        let input = b"{\n  \"a\": 1,\n{\"b\": 2}\n";
        assert_eq!(check(input, Mode::Auto, Policy::Stop), ["#0 L1 parse"]);
    }

    #[test]
    fn invalid_utf8_in_a_record_is_a_parse_rejection() {
        let input = b"{\"a\":\"\xff\"}\n{\"a\":1}\n";
        for mode in [Mode::Auto, Mode::Jsonl] {
            let items = run(input, mode, Policy::Skip);
            assert_eq!(outline(&items), ["#0 L1 parse", "#1 L2 {\"a\":1}"]);
            assert!(
                rejections(&items)[0]
                    .message
                    .starts_with("invalid JSON: invalid unicode")
            );
        }
        assert_eq!(
            check(b"\x1e\"\xfe\"\n\x1e1\n", Mode::Seq, Policy::Skip),
            ["#0 L1 parse", "#1 L2 1"]
        );
        assert_eq!(
            check(b"[\"\xfe\"]", Mode::Json, Policy::Skip),
            ["#0 L1 parse"]
        );
    }

    #[test]
    fn crlf_line_endings_are_accepted_in_every_mode() {
        let jsonl = b"{\"a\":1}\r\n\r\n{\"a\":2}\r\nbad\r\n";
        let items = run(jsonl, Mode::Jsonl, Policy::Skip);
        assert_eq!(
            outline(&items),
            ["#0 L1 {\"a\":1}", "#1 L3 {\"a\":2}", "#2 L4 parse"]
        );
        assert_eq!(rejections(&items)[0].snippet, "bad");

        let pretty = b"{\r\n  \"a\": 1\r\n}\r\n\r\n{\"b\":2}\r\n";
        assert_eq!(
            check(pretty, Mode::Auto, Policy::Stop),
            ["#0 L1 {\"a\":1}", "#1 L5 {\"b\":2}"]
        );

        let sse = b"data: {\"a\":1}\r\n\r\ndata: [2,\r\ndata: 3]\r\n";
        assert_eq!(
            check(sse, Mode::Auto, Policy::Stop),
            ["#0 L1 {\"a\":1}", "#1 L3 [2,3]"]
        );

        assert_eq!(
            check(b"\x1e1\r\n\x1e2\r\n", Mode::Seq, Policy::Stop),
            ["#0 L1 1", "#1 L2 2"]
        );
        assert_eq!(
            check(b"1\r\n2\r\n", Mode::Jq, Policy::Stop),
            ["#0 L1 1", "#1 L2 2"]
        );
        assert_eq!(
            check(b"{\r\n\"a\": 1\r\n}\r\n", Mode::Json, Policy::Stop),
            ["#0 L1 {\"a\":1}"]
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
                ["#0 L1 {\"a\":1}", "#1 L2 oversize", "#2 L4 {\"a\":2}"]
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
        assert_eq!(outline(&items[1..]), ["#1 L2 1"]);
    }

    // ----- auto: sniffing -----

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
            ["#0 L3 1", "#1 L4 {\"a\":1}", "#2 L5 2"]
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
        assert_eq!(outline(&items)[0], "#0 L3 1");
        let mut ingest = Ingest::new(
            BufReader::with_capacity(1, &input[..]),
            Mode::Auto,
            Policy::Skip,
        );
        let _ = ingest.next_item();
        assert_eq!(ingest.mode_name(), "jsonl");
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
                    assert_eq!((r.index, r.line), (i as u64, Some(i as u64 + 1)));
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

    // ----- auto: multi-line records -----

    #[test]
    fn pretty_printed_records_in_auto_mode_are_joined_until_they_parse() {
        let input = b"{\"a\":1}\n\n{\n  \"b\": [\n    1,\n\n    2\n  ]\n}\n[\n  {\"c\": 1},\n  {\n    \"d\": \"}]\\\"{\"\n  }\n]\n\"tail\"\n";
        for policy in [Policy::Stop, Policy::Skip] {
            assert_eq!(
                check(input, Mode::Auto, policy),
                [
                    "#0 L1 {\"a\":1}",
                    "#1 L3 {\"b\":[1,2]}",
                    "#2 L10 [{\"c\":1},{\"d\":\"}]\\\"{\"}]",
                    "#3 L16 \"tail\""
                ]
            );
        }
    }

    #[test]
    fn unindented_nested_records_in_auto_mode_are_still_joined() {
        let input = b"[\n{\"a\":1},\n{\"b\":2}\n]\n{\"c\":3}\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            ["#0 L1 [{\"a\":1},{\"b\":2}]", "#1 L5 {\"c\":3}"]
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
        assert_eq!(outline(&items[1..]), ["#1 L100004 {\"next\":1}"]);
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
        assert_eq!(outline(&items[1..]), ["#1 L100004 7"]);
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
            ["#0 L1 parse", "#1 L3 {\"b\":2}", "#2 L4 [3]", "#3 L7 parse"]
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
            ["#0 L1 parse", "#1 L3 {\"d\":2}"]
        );
        let input = format!("{{\"{}\": 1,\n{{\"c\":1}}\n", "k".repeat(300));
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            ["#0 L1 parse", "#1 L2 {\"c\":1}"]
        );
    }

    #[test]
    fn an_oversized_new_record_after_a_truncated_one_is_reported_on_its_own() {
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_RECORD));
        let input = format!("{{\"a\":\n{big}\n{{\"ok\":1}}\n");
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            ["#0 L1 parse", "#1 L2 oversize", "#2 L3 {\"ok\":1}"]
        );
    }

    #[test]
    fn abandoning_a_partial_record_can_start_a_new_multi_line_record() {
        let input = b"{\n  \"a\": 1,\n{\n  \"b\": 2\n}\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            ["#0 L1 parse", "#1 L3 {\"b\":2}"]
        );
        assert_eq!(check(input, Mode::Auto, Policy::Stop), ["#0 L1 parse"]);
    }

    #[test]
    fn a_broken_multi_line_record_is_rejected_once_when_its_brackets_close() {
        let input = b"{\n  \"a\": 1 oops,\n  \"b\": {\n    \"c\": 1\n  }\n}\n{\"d\": 4}\n";
        let items = run(input, Mode::Auto, Policy::Skip);
        assert_eq!(outline(&items), ["#0 L1 parse", "#1 L7 {\"d\":4}"]);
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
        assert_eq!(outline(&items), ["#0 L1 {\"a\":1}", "#1 L2 parse"]);
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
                "#0 L1 parse",
                "#1 L2 parse",
                "#2 L3 parse",
                "#3 L4 {\"ok\":1}"
            ]
        );
    }

    #[test]
    fn line_numbers_stay_exact_after_multi_line_records_and_blank_lines() {
        let input = b"\n\n[\n  1\n]\n\n\nnope\n\n{\n}\n7\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Skip),
            ["#0 L3 [1]", "#1 L8 parse", "#2 L10 {}", "#3 L12 7"]
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
                "#0 L1 oversize".to_string(),
                format!("#1 L{last} {{\"ok\":1}}")
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
            ["#0 L1 oversize", "#1 L4 {\"ok\":1}"]
        );
    }

    // ----- event stream -----

    #[test]
    fn event_stream_joins_data_lines_and_ignores_comments_and_other_fields() {
        let input = b": keep-alive\n\nevent: put\nid: 1\ndata: {\"a\":\ndata:1}\nretry: 5\n\n:c\n\n\ndata: [1,\n: inner comment\ndata: 2]\n\n";
        assert_eq!(
            check(input, Mode::Auto, Policy::Stop),
            ["#0 L5 {\"a\":1}", "#1 L12 [1,2]"]
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
            ["#0 L1 1", "#1 L3 {\"last\":true}"]
        );
        assert_eq!(check(b"data: 2\n", Mode::Auto, Policy::Stop), ["#0 L1 2"]);
    }

    #[test]
    fn event_stream_strips_only_one_space_after_the_colon_and_skips_empty_data() {
        let input = b"data:   \"x\"\n\ndata:\n\nid: 3\n\ndata\n\n";
        assert_eq!(check(input, Mode::Auto, Policy::Skip), ["#0 L1 \"x\""]);
    }

    #[test]
    fn event_stream_rejects_invalid_json_data_and_goes_on_in_skip_policy() {
        let input = b"data: {nope\n\ndata: 5\n";
        let items = run(input, Mode::Auto, Policy::Skip);
        assert_eq!(outline(&items), ["#0 L1 parse", "#1 L3 5"]);
        assert_eq!(rejections(&items)[0].snippet, "{nope");
    }

    #[test]
    fn event_stream_data_over_max_record_is_oversize() {
        let half = "q".repeat(MAX_RECORD / 2);
        let input = format!("data: \"{half}\ndata: {half}\"\n\ndata: 1\n");
        assert_eq!(
            check(input.as_bytes(), Mode::Auto, Policy::Skip),
            ["#0 L1 oversize", "#1 L4 1"]
        );
        let long = format!(
            "data: 0\n\n: {}\ndata: \"{}\"\n\ndata: 1\n",
            half,
            "r".repeat(MAX_RECORD)
        );
        assert_eq!(
            check(long.as_bytes(), Mode::Auto, Policy::Skip),
            ["#0 L1 0", "#1 L4 oversize", "#2 L6 1"]
        );
    }

    // ----- json -----

    #[test]
    fn json_mode_reads_the_whole_input_as_one_value() {
        let input = b"\n  {\n  \"a\": [1,\n 2]\n}\n\n";
        assert_eq!(
            check(input, Mode::Json, Policy::Stop),
            ["#0 L2 {\"a\":[1,2]}"]
        );
        assert_eq!(check(b"42", Mode::Json, Policy::Stop), ["#0 L1 42"]);
    }

    #[test]
    fn json_mode_rejects_trailing_garbage_as_a_parse_error() {
        let items = run(b"{\"a\":1}\n{\"a\":2}\n", Mode::Json, Policy::Skip);
        assert_eq!(outline(&items), ["#0 L1 parse"]);
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
        assert_eq!(outline(&items), ["#0 L2 oversize"]);
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

    // ----- seq -----

    #[test]
    fn seq_mode_splits_on_record_separators_and_ignores_whitespace_only_records() {
        let input = b"\x1e{\"a\":1}\n\x1e  \n\x1e\x1e[2]\n\x1e3";
        assert_eq!(
            check(input, Mode::Seq, Policy::Stop),
            ["#0 L1 {\"a\":1}", "#1 L3 [2]", "#2 L4 3"]
        );
    }

    #[test]
    fn seq_mode_rejects_a_bad_record_and_goes_on_in_skip_policy() {
        let input = b"\x1e{bad}\n\x1e{\"a\":1}\n\x1e1 2\n";
        let items = run(input, Mode::Seq, Policy::Skip);
        assert_eq!(
            outline(&items),
            ["#0 L1 parse", "#1 L2 {\"a\":1}", "#2 L3 parse"]
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
            ["#0 L1 oversize", "#1 L2 {\"a\":1}"]
        );
    }

    // ----- jq -----

    #[test]
    fn jq_mode_splits_concatenated_values_with_any_whitespace_between() {
        let input = b"{\"a\":1}{\"a\":2} 3\n[1,\n2]\n\"x}\\\"{\" \"y\"\ntrue false null -1.5e3{\"b\":{\"c\":[]}}";
        assert_eq!(
            check(input, Mode::Jq, Policy::Stop),
            [
                "#0 L1 {\"a\":1}",
                "#1 L1 {\"a\":2}",
                "#2 L1 3",
                "#3 L2 [1,2]",
                "#4 L4 \"x}\\\"{\"",
                "#5 L4 \"y\"",
                "#6 L5 true",
                "#7 L5 false",
                "#8 L5 null",
                "#9 L5 -1500.0",
                "#10 L5 {\"b\":{\"c\":[]}}"
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
            assert_eq!(outline(&items)[..1], ["#0 L1 {\"a\":1}"]);
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
            ["#0 L1 1", "#1 L1 oversize", "#2 L2 {\"a\":1}"]
        );
    }

    // ----- common -----

    #[test]
    fn empty_or_whitespace_only_input_yields_no_items_in_every_mode() {
        for mode in ALL_MODES {
            for input in [&b""[..], b" \n\r\n\t\n"] {
                assert!(
                    run(input, mode, Policy::Stop).is_empty(),
                    "{mode:?} {input:?}"
                );
            }
        }
        assert!(run(b"\x1e\n\x1e", Mode::Auto, Policy::Stop).is_empty());
        assert!(run(b": only a comment\n\n", Mode::Auto, Policy::Stop).is_empty());
    }

    #[test]
    fn snippet_is_at_most_200_bytes_cut_on_a_char_boundary_with_an_ellipsis() {
        assert_eq!(snippet(b"  short \n"), "short");
        let exact = "e".repeat(200);
        assert_eq!(snippet(exact.as_bytes()), exact);
        // 199 ASCII bytes, then a 3-byte char straddling byte 200.
        let text = format!("{}€tail", "a".repeat(199));
        assert_eq!(snippet(text.as_bytes()), format!("{}...", "a".repeat(199)));
        let text = format!("{}€tail", "a".repeat(197));
        assert_eq!(snippet(text.as_bytes()), format!("{}€...", "a".repeat(197)));
        // Invalid bytes become U+FFFD and the result still stays within 200 bytes.
        let s = snippet(&[0xFF; 300]);
        assert!(
            s.ends_with("...") && s.len() <= 203 && s.starts_with('\u{FFFD}'),
            "{s}"
        );

        let line = format!("{{\"k\": \"{}\" nope}}\n", "ü".repeat(150));
        let items = run(line.as_bytes(), Mode::Jsonl, Policy::Stop);
        let bad = rejections(&items)[0];
        assert!(bad.snippet.ends_with("...") && bad.snippet.len() <= 203);
        assert_eq!(bad.snippet.len(), 7 + 2 * 96 + 3);
    }

    struct FailingReader {
        data: Cursor<Vec<u8>>,
    }

    impl Read for FailingReader {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.data.read(out)? {
                0 => Err(io::Error::other("disk on fire")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_is_reported_once_and_ends_the_stream() {
        for mode in ALL_MODES {
            let reader = BufReader::new(FailingReader {
                data: Cursor::new(b"1\n2\n".to_vec()),
            });
            let got = outline(&run_reader(reader, mode, Policy::Skip));
            let want: &[&str] = match mode {
                // The only record is still open when the error comes.
                Mode::Json | Mode::Seq => &["io"],
                _ => &["#0 L1 1", "#1 L2 2", "io"],
            };
            assert_eq!(got, want, "{mode:?}");
        }
    }

    #[test]
    fn interrupted_reads_are_retried() {
        struct Flaky(Cursor<Vec<u8>>, bool);
        impl Read for Flaky {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                self.1 = !self.1;
                if self.1 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                let n = out.len().min(2);
                self.0.read(&mut out[..n])
            }
        }
        let input = b"\x1e{\"a\":[1,2]}\n\x1e3\n";
        for mode in [Mode::Auto, Mode::Seq] {
            let reader = BufReader::with_capacity(4, Flaky(Cursor::new(input.to_vec()), false));
            assert_eq!(
                outline(&run_reader(reader, mode, Policy::Stop)),
                ["#0 L1 {\"a\":[1,2]}", "#1 L2 3"]
            );
        }
    }
}
