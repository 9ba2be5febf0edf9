//! Feed's reading half: records read, parsed and encoded on a reader thread, handed over in
//! chunks.
//!
//! Role: turns the input stream into [`Parsed`] records ([`plasmite_os::ingest`] reads and
//! parses; each record is encoded here, outside the pool's lock) and sends them to the
//! appending half of `stream` over a bounded channel, counting the bytes read for the progress
//! line.
//!
//! # Invariants
//! - Records are handed over in input order; the reader is at most [`READ_AHEAD`] chunks ahead
//!   of the appends, so memory stays bounded.
//! - When reading may wait (a pipe, a terminal), what was parsed so far is handed over before
//!   each read, so a record is appended without waiting for the next one.
//! - The reader stops as soon as the appending half is gone.
//!
//! Spec: `spec/CLI.md` §2.5.

use super::{Payloads, payload};
use plasmite_os::Error;
use plasmite_os::ingest::{Ingest, Item, Mode, Policy, RejectKind, Rejected};
use std::cell::RefCell;
use std::io::{BufReader, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;

/// A record as the reader hands it over: encoded, or why not (with the input mode's name).
pub(super) enum Parsed {
    Payload(Vec<u8>),
    /// Parsed, but it cannot be a message (not an object, too large).
    Refused(Rejected, Error, &'static str),
    /// Not parsed.
    Rejected(Rejected, &'static str),
    Io(std::io::Error),
}

/// Records handed over per chunk (fewer when reading may wait: see [`Tap`]).
const CHUNK: usize = 256;

/// Chunks the reader may be ahead of the appends: two default batches, so the next batch is
/// parsed while one is appended.
pub(super) const READ_AHEAD: usize = 32;

/// The reading half of `stream`.
pub(super) struct Reader {
    pub(super) mode: Mode,
    pub(super) policy: Policy,
    pub(super) tags: Vec<String>,
    pub(super) max: usize,
    pub(super) payloads: Payloads,
    pub(super) may_wait: bool,
    pub(super) read: Arc<AtomicU64>,
}

impl Reader {
    /// Reads, parses and encodes `input`, handing chunks to `tx` until the input ends or the
    /// receiver is gone.
    pub(super) fn run(self, input: Box<dyn Read + Send>, tx: &SyncSender<Vec<Parsed>>) {
        let tags: Vec<&str> = self.tags.iter().map(String::as_str).collect();
        let pending: Rc<RefCell<Vec<Parsed>>> = Rc::default();
        let tap = Tap {
            inner: input,
            pending: Rc::clone(&pending),
            tx: tx.clone(),
            may_wait: self.may_wait,
            read: self.read,
        };
        let mut ingest = Ingest::new(
            BufReader::with_capacity(1 << 16, tap),
            self.mode,
            self.policy,
        );
        while let Some(item) = ingest.next_item() {
            let mode = ingest.mode_name();
            let parsed = match item {
                Item::Record(r) => match payload(&r.value, &tags, self.max, self.payloads) {
                    Ok(p) => Parsed::Payload(p),
                    Err(e) => {
                        let text = serde_json::to_string(&r.value).unwrap_or_default();
                        let rejected = Rejected {
                            kind: RejectKind::Parse,
                            index: r.index,
                            line: r.line,
                            snippet: plasmite_os::ingest::snippet(text.as_bytes()),
                            message: e.message().to_owned(),
                        };
                        Parsed::Refused(rejected, e, mode)
                    }
                },
                Item::Rejected(r) => Parsed::Rejected(r, mode),
                Item::Io(e) => Parsed::Io(e),
            };
            let mut p = pending.borrow_mut();
            p.push(parsed);
            if p.len() >= CHUNK {
                let chunk = std::mem::take(&mut *p);
                drop(p);
                if tx.send(chunk).is_err() {
                    return;
                }
            }
        }
        let chunk = std::mem::take(&mut *pending.borrow_mut());
        if !chunk.is_empty() {
            let _ = tx.send(chunk);
        }
    }
}

/// The input, handing the records parsed so far over before each read of it when that read
/// may wait (see `stream`), and counting the bytes read for the progress line.
struct Tap {
    inner: Box<dyn Read + Send>,
    pending: Rc<RefCell<Vec<Parsed>>>,
    tx: SyncSender<Vec<Parsed>>,
    may_wait: bool,
    read: Arc<AtomicU64>,
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // The reader holds `pending` only between items, never while the parser reads.
        if self.may_wait
            && let Ok(mut p) = self.pending.try_borrow_mut()
            && !p.is_empty()
        {
            let chunk = std::mem::take(&mut *p);
            if self.tx.send(chunk).is_err() {
                return Err(std::io::Error::other("feed ended"));
            }
        }
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Whether reading stdin may wait for input: anything but a regular file.
pub fn stdin_may_wait() -> bool {
    use std::os::fd::AsFd;
    std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .map_or(true, |m| !m.is_file())
}
