//! Ingestion: turns a byte stream into JSON records, one at a time.
//!
//! Role: the input decoders behind one pull interface, [`Ingest::next_item`]: JSON Lines
//! (`lines`), whole-input JSON (`json`), RFC 7464 sequences (`seq`), concatenated JSON as `jq`
//! reads it (`concat`), and the `data:` fields of a server-sent event stream (`sse`), plus
//! `auto`, which sniffs the start of the input (`sniff`) and picks one. Any front end with a
//! [`BufRead`] — a file, a pipe, an HTTP request body being received — pulls items as it
//! needs them, so memory stays bounded and back-pressure is the reader's. Each item is a
//! record or a rejected record with its position; what to do with a rejection, and whether a
//! non-object value is acceptable, is the caller's business.
//!
//! # Invariants
//! - Streaming with bounded memory: at most about the record limit ([`MAX_RECORD`] unless
//!   [`Ingest::with_record_limit`] sets another) of any one record is held, and the
//!   line/segment buffers are reused from record to record.
//! - `index` counts every record and rejected record in stream order, starting at 1 (as
//!   line numbers do).
//! - `line` is the 1-based line where the record's text starts; line counting stays exact
//!   across blank lines, multi-line records, overlong lines and the sniff window.
//! - Record text longer than the record limit is always [`RejectKind::Oversize`], never
//!   parsed.
//! - With [`Policy::Stop`] nothing follows a [`Rejected`]; nothing ever follows an
//!   [`Item::Io`]; after `None`, `next_item` keeps returning `None`.
//! - The work is linear in the input: every byte is scanned a bounded number of times.
//! - `auto` sniffs at most 8 KiB / 8 lines and replays them: no input byte is lost.
//!
//! # Use from a server
//!
//! ```
//! use plasmite_os::ingest::{Ingest, Item, Mode, Policy};
//!
//! let body: &[u8] = b"{\"a\":1}\nnot json\n{\"a\":2}\n";
//! let mut ingest = Ingest::new(body, Mode::Auto, Policy::Skip);
//! let mut lines = Vec::new();
//! while let Some(item) = ingest.next_item() {
//!     match item {
//!         Item::Record(r) => lines.push(r.line),
//!         Item::Rejected(r) => assert_eq!((r.index, r.line), (2, Some(2))),
//!         Item::Io(e) => panic!("the body could not be read: {e}"),
//!     }
//! }
//! assert_eq!(lines, [Some(1), Some(3)]);
//! ```
//!
//! Spec: `spec/CLI.md` (feed input modes), `spec/API.md` (os::ingest).

use serde_json::Value;
use std::fmt;
use std::io::{self, BufRead};

mod concat;
mod json;
mod lines;
mod segment;
mod seq;
mod sniff;
mod source;
mod sse;
mod text;

pub use text::snippet;

use lines::Acc;
use source::Source;
use text::{oversize_message, parse_message};

/// Largest record text, in bytes, that is parsed unless [`Ingest::with_record_limit`] sets
/// another; longer records are rejected as oversize.
pub const MAX_RECORD: usize = 1 << 20;

/// Bytes of re-parsing a multi-line record may spend on "does this new-looking line still
/// continue it?" checks, before the allowance earned by its growth (see `acc_budget`).
const CHECK_BUDGET: usize = 64 * 1024;
/// Check allowance earned per byte a multi-line record grows.
const CHECK_PER_BYTE: usize = 4;
/// RFC 7464 record separator.
const RS: u8 = 0x1E;

/// Input format: how the byte stream is cut into records.
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

/// What to do after a rejected record.
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
    /// 1-based position in the stream, counting rejected records too.
    pub index: u64,
    /// 1-based line where the record's text starts.
    pub line: Option<u64>,
}

/// Why a record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// The text is not one valid JSON value (including invalid UTF-8).
    Parse,
    /// The text is longer than the record limit ([`MAX_RECORD`] by default).
    Oversize,
}

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Why it was rejected.
    pub kind: RejectKind,
    /// 1-based position in the stream, counting good records too.
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

/// Pull decoder from an input byte stream to [`Item`]s.
pub struct Ingest<R: BufRead> {
    src: Source<R>,
    kind: Kind,
    policy: Policy,
    /// Largest record text parsed, in bytes.
    limit: usize,
    /// No more items except `pending`.
    done: bool,
    /// An item produced together with the previous one.
    pending: Option<Item>,
    /// Records and rejected records yielded so far.
    count: u64,
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
            .field("count", &self.count)
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
            limit: MAX_RECORD,
            done: false,
            pending: None,
            count: 0,
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

    /// The same decoder with another record limit: record text longer than `bytes` is
    /// rejected as oversize (a server may want less than [`MAX_RECORD`]; more costs memory).
    /// Set it before the first [`Ingest::next_item`].
    #[must_use]
    pub fn with_record_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
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

    fn record(&mut self, value: Value, line: u64) -> Item {
        self.count += 1;
        let index = self.count;
        Item::Record(Record {
            value,
            index,
            line: Some(line),
        })
    }

    fn reject(&mut self, kind: RejectKind, line: u64, snippet: String, message: String) -> Item {
        self.count += 1;
        let index = self.count;
        Item::Rejected(Rejected {
            kind,
            index,
            line: Some(line),
            snippet,
            message,
        })
    }

    fn oversize(&mut self, line: u64, text_prefix: String) -> Item {
        self.reject(
            RejectKind::Oversize,
            line,
            text_prefix,
            oversize_message(self.limit),
        )
    }

    /// Parse `text` (`self.buf` or `self.acc`, already snipped by the caller on error).
    fn parsed(&mut self, result: serde_json::Result<Value>, line: u64, text: &[u8]) -> Item {
        match result {
            Ok(value) => self.record(value, line),
            Err(e) => self.reject(RejectKind::Parse, line, snippet(text), parse_message(&e)),
        }
    }
}

/// Helpers the decoders' tests share.
#[cfg(test)]
mod testing {
    use super::*;
    use std::io::BufReader;

    pub(super) fn run_reader<R: BufRead>(reader: R, mode: Mode, policy: Policy) -> Vec<Item> {
        let mut ingest = Ingest::new(reader, mode, policy);
        let mut items = Vec::new();
        while let Some(item) = ingest.next_item() {
            items.push(item);
            assert!(items.len() < 1_000_000, "runaway stream");
        }
        assert!(ingest.next_item().is_none(), "None must be sticky");
        items
    }

    pub(super) fn run(input: &[u8], mode: Mode, policy: Policy) -> Vec<Item> {
        run_reader(input, mode, policy)
    }

    /// One line per item: `#index Lline value` or `#index Lline parse|oversize`, or `io`.
    pub(super) fn outline(items: &[Item]) -> Vec<String> {
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
    pub(super) fn check(input: &[u8], mode: Mode, policy: Policy) -> Vec<String> {
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

    pub(super) fn rejections(items: &[Item]) -> Vec<&Rejected> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Rejected(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub(super) fn mode_after_first(input: &[u8], mode: Mode) -> &'static str {
        let mut ingest = Ingest::new(input, mode, Policy::Skip);
        let _ = ingest.next_item();
        ingest.mode_name()
    }

    pub(super) const ALL_MODES: [Mode; 5] =
        [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Jq];
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use std::io::{BufReader, Cursor, Read};

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
    fn stop_policy_yields_nothing_after_the_first_rejection() {
        for mode in [Mode::Auto, Mode::Jsonl, Mode::Jq] {
            let input = b"{\"a\":1}\nnope\n{\"a\":2}\n";
            assert_eq!(
                check(input, mode, Policy::Stop),
                ["#1 L1 {\"a\":1}", "#2 L2 parse"],
                "{mode:?}"
            );
        }
        let input = b"\x1e{\"a\":1}\n\x1enope\n\x1e{\"a\":2}\n";
        assert_eq!(
            check(input, Mode::Seq, Policy::Stop),
            ["#1 L1 {\"a\":1}", "#2 L2 parse"]
        );
        let input = b"{\n  \"a\": 1,\n{\"b\": 2}\n";
        assert_eq!(check(input, Mode::Auto, Policy::Stop), ["#1 L1 parse"]);
    }

    #[test]
    fn crlf_line_endings_are_accepted_in_every_mode() {
        let jsonl = b"{\"a\":1}\r\n\r\n{\"a\":2}\r\nbad\r\n";
        let items = run(jsonl, Mode::Jsonl, Policy::Skip);
        assert_eq!(
            outline(&items),
            ["#1 L1 {\"a\":1}", "#2 L3 {\"a\":2}", "#3 L4 parse"]
        );
        assert_eq!(rejections(&items)[0].snippet, "bad");

        let pretty = b"{\r\n  \"a\": 1\r\n}\r\n\r\n{\"b\":2}\r\n";
        assert_eq!(
            check(pretty, Mode::Auto, Policy::Stop),
            ["#1 L1 {\"a\":1}", "#2 L5 {\"b\":2}"]
        );

        let sse = b"data: {\"a\":1}\r\n\r\ndata: [2,\r\ndata: 3]\r\n";
        assert_eq!(
            check(sse, Mode::Auto, Policy::Stop),
            ["#1 L1 {\"a\":1}", "#2 L3 [2,3]"]
        );

        assert_eq!(
            check(b"\x1e1\r\n\x1e2\r\n", Mode::Seq, Policy::Stop),
            ["#1 L1 1", "#2 L2 2"]
        );
        assert_eq!(
            check(b"1\r\n2\r\n", Mode::Jq, Policy::Stop),
            ["#1 L1 1", "#2 L2 2"]
        );
        assert_eq!(
            check(b"{\r\n\"a\": 1\r\n}\r\n", Mode::Json, Policy::Stop),
            ["#1 L1 {\"a\":1}"]
        );
    }

    #[test]
    fn a_record_limit_set_by_the_caller_applies_in_every_mode() {
        let cases: [(Mode, &[u8], &[&str]); 6] = [
            (
                Mode::Jsonl,
                b"[1,2]\n[1,2,3]\n1\n",
                &["#1 L1 [1,2]", "#2 L2 oversize", "#3 L3 1"],
            ),
            (
                Mode::Auto,
                b"[\n1,\n2]\n[3]\n",
                &["#1 L1 oversize", "#2 L4 [3]"],
            ),
            (Mode::Json, b"  [1,2,3]  ", &["#1 L1 oversize"]),
            (Mode::Json, b"  [1,2]  ", &["#1 L1 [1,2]"]),
            (
                Mode::Seq,
                b"\x1e[1,2]\x1e[1,2,3]\x1e4",
                &["#1 L1 [1,2]", "#2 L1 oversize", "#3 L1 4"],
            ),
            (
                Mode::Jq,
                b"[1,2][1,2,3] 4",
                &["#1 L1 [1,2]", "#2 L1 oversize", "#3 L1 4"],
            ),
        ];
        for (mode, input, want) in cases {
            let ingest = Ingest::new(input, mode, Policy::Skip).with_record_limit(5);
            let mut items = Vec::new();
            let mut ingest = ingest;
            while let Some(item) = ingest.next_item() {
                items.push(item);
            }
            assert_eq!(outline(&items), want, "{mode:?}");
            for r in rejections(&items) {
                assert_eq!(r.message, "record exceeds 5 bytes");
            }
        }
        // "[1,\n2]" is 6 bytes: the joining newline counts.
        let events = b"data: [1,\ndata: 2]\n\ndata: [3,4,5]\n";
        let mut ingest = Ingest::new(&events[..], Mode::Auto, Policy::Skip).with_record_limit(6);
        let mut items = Vec::new();
        while let Some(item) = ingest.next_item() {
            items.push(item);
        }
        assert_eq!(outline(&items), ["#1 L1 [1,2]", "#2 L4 oversize"]);
    }

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
    fn a_read_error_is_reported_once_and_ends_the_stream() {
        for mode in ALL_MODES {
            let reader = BufReader::new(FailingReader {
                data: Cursor::new(b"1\n2\n".to_vec()),
            });
            let got = outline(&run_reader(reader, mode, Policy::Skip));
            let want: &[&str] = match mode {
                // The only record is still open when the error comes.
                Mode::Json | Mode::Seq => &["io"],
                _ => &["#1 L1 1", "#2 L2 2", "io"],
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
                ["#1 L1 {\"a\":[1,2]}", "#2 L2 3"]
            );
        }
    }
}
