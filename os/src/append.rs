//! Batched appends: payloads queued by a front end, appended in batches under one acquisition
//! of the writer lock each, with retries and a receipt per message.
//!
//! Role: what every front end that appends a stream shares (the CLI's feed, tap and duplex,
//! MCP, HTTP). A [`Batcher`] queues encoded payloads ([`Batcher::push`]), appends them when a
//! batch is full or when asked ([`Batcher::flush`] — before the caller blocks on its input, so
//! a live stream reaches the pool as it arrives), retries a batch the pool refused for a
//! reason that may pass, and hands back the sequence and time of each appended message
//! ([`Batcher::receipts`]).
//!
//! # Invariants
//! - A batch holds at most [`Limits::records`] payloads and at most [`Limits::bytes`] payload
//!   bytes, unless a single payload is larger than that byte limit (it then goes alone).
//! - A payload too large for the pool is refused by `push` before it is queued; the queue is
//!   untouched, so the payloads around it are appended as if it had never been offered.
//! - Payloads are appended in the order they were pushed; receipts come in the same order,
//!   one per appended message, and none for a message that was not appended.
//! - After a failed flush the messages appended before the failure stay appended and have
//!   their receipts; the rest stay queued (a later `flush` tries them again, `discard` drops
//!   them). A retry never appends a message twice: it resumes after the last one appended.
//! - Nothing is appended by dropping a `Batcher`: what is queued then is lost, so a caller
//!   flushes before it lets go.
//!
//! Spec: `spec/API.md` (os::append), `spec/CLI.md` §2.5 (feed batching and `--retry`).

use crate::pool::{Appended, Durability, Pool};
use crate::{Error, ErrorKind};
use std::time::{Duration, Instant};

/// Where a [`Batcher`] appends: a [`Pool`], or anything that appends batches the same way.
pub trait Sink {
    /// Largest payload, in bytes, one message may carry.
    fn max_payload_len(&self) -> usize;

    /// Appends `payloads` in order, pushing a receipt onto `out` for each message appended;
    /// on an error the messages appended before it stay appended and are listed in `out`
    /// (the contract of [`Pool::append_batch`]).
    fn append_batch(
        &self,
        payloads: &[Vec<u8>],
        durability: Durability,
        out: &mut Vec<Appended>,
    ) -> Result<(), Error>;
}

impl Sink for Pool {
    fn max_payload_len(&self) -> usize {
        Pool::max_payload_len(self)
    }

    fn append_batch(
        &self,
        payloads: &[Vec<u8>],
        durability: Durability,
        out: &mut Vec<Appended>,
    ) -> Result<(), Error> {
        Pool::append_batch(self, payloads, durability, out)
    }
}

/// The size of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Payloads per batch, at most (at least 1 is used).
    pub records: usize,
    /// Payload bytes per batch, at most, unless one payload alone is larger.
    pub bytes: usize,
}

impl Limits {
    /// 4096 payloads or 4 MiB: large enough that the lock is taken rarely, small enough that
    /// followers see a long stream arrive in steps rather than all at the end.
    pub const DEFAULT: Limits = Limits {
        records: 4096,
        bytes: 4 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// How often, and how far apart, a refused batch is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retry {
    /// Further attempts after the first (0: none).
    pub attempts: u64,
    /// Pause before each further attempt.
    pub delay: Duration,
}

/// Payloads queued for a pool, appended in batches. See the module documentation.
#[derive(Debug)]
pub struct Batcher<'s, S: ?Sized = Pool> {
    sink: &'s S,
    durability: Durability,
    limits: Limits,
    retry: Retry,
    max: usize,
    pending: Vec<Vec<u8>>,
    pending_bytes: usize,
    receipts: Vec<Appended>,
    /// Whether receipts are kept for [`Batcher::receipts`].
    keep_receipts: bool,
}

impl<'s, S: Sink + ?Sized> Batcher<'s, S> {
    /// A batcher appending to `sink` with `durability`, [`Limits::DEFAULT`] and no retries.
    pub fn new(sink: &'s S, durability: Durability) -> Self {
        Batcher {
            sink,
            durability,
            limits: Limits::DEFAULT,
            retry: Retry::default(),
            max: sink.max_payload_len(),
            pending: Vec::new(),
            pending_bytes: 0,
            receipts: Vec::new(),
            keep_receipts: true,
        }
    }

    /// The same batcher keeping no receipts, for a caller that does not report them (they
    /// would pile up until asked for).
    #[must_use]
    pub fn without_receipts(mut self) -> Self {
        self.keep_receipts = false;
        self
    }

    /// The same batcher with other batch limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same batcher retrying refused batches per `retry`.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Largest payload [`Batcher::push`] accepts (the sink's).
    pub fn max_payload_len(&self) -> usize {
        self.max
    }

    /// Payloads queued and not yet appended.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Queues `payload`, appending the queued batch first when `payload` would not fit in it,
    /// and the batch with `payload` when that is full.
    ///
    /// A payload larger than the sink's largest is a Usage error and is not queued; the queue
    /// is left as it was. An append error is [`Batcher::flush`]'s; when it comes from the
    /// append made room for `payload`, `payload` is not queued either.
    pub fn push(&mut self, payload: Vec<u8>) -> Result<(), Error> {
        if payload.len() > self.max {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "message is {} bytes; the pool holds at most {}",
                    payload.len(),
                    self.max
                ),
            )
            .with_hint(format!(
                "Send messages of at most {} bytes, or create a larger pool.",
                self.max
            )));
        }
        // Not `>=`: a batch may reach the byte limit exactly.
        if !self.pending.is_empty() && self.pending_bytes + payload.len() > self.limits.bytes {
            self.flush()?;
        }
        self.pending_bytes += payload.len();
        self.pending.push(payload);
        if self.pending.len() >= self.limits.records.max(1)
            || self.pending_bytes >= self.limits.bytes
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends everything queued, in one batch (one lock acquisition), trying again per the
    /// [`Retry`] when the sink refuses it for a reason that may pass ([`retryable`]).
    ///
    /// On an error, the receipts of the messages appended before it are kept for
    /// [`Batcher::receipts`] and the others stay queued; the error's hint then also says how
    /// many attempts were made and how long they took.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let before = self.receipts.len();
        let mut attempts = 0u64;
        let started = Instant::now();
        let result = loop {
            let done = self.receipts.len() - before;
            let rest = self.pending.get(done..).unwrap_or_default();
            match self
                .sink
                .append_batch(rest, self.durability, &mut self.receipts)
            {
                Ok(()) => break Ok(()),
                Err(e) if attempts < self.retry.attempts && retryable(&e) => {
                    attempts += 1;
                    std::thread::sleep(self.retry.delay);
                }
                Err(e) if attempts > 0 => {
                    let hint = format!(
                        "{} Retry attempts: {} (waited {}ms).",
                        e.hint().unwrap_or_default(),
                        attempts + 1,
                        started.elapsed().as_millis()
                    );
                    break Err(e.with_hint(hint.trim_start().to_owned()));
                }
                Err(e) => break Err(e),
            }
        };
        let done = (self.receipts.len() - before).min(self.pending.len());
        let appended_bytes: usize = self.pending.drain(..done).map(|p| p.len()).sum();
        self.pending_bytes -= appended_bytes;
        if !self.keep_receipts {
            self.receipts.clear();
        }
        result
    }

    /// Receipts (sequence and time) of the messages appended since the last call, in append
    /// order.
    pub fn receipts(&mut self) -> std::vec::Drain<'_, Appended> {
        self.receipts.drain(..)
    }

    /// Drops what is queued (after a failure the caller will not retry); returns how many
    /// payloads were dropped.
    pub fn discard(&mut self) -> usize {
        let n = self.pending.len();
        self.pending.clear();
        self.pending_bytes = 0;
        n
    }
}

/// Whether an append error may pass if tried again: Busy, or an I/O error that was
/// interrupted, would block, or timed out.
pub fn retryable(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Busy => true,
        ErrorKind::Io => std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                )
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// What the fake sink does with its next batch.
    #[derive(Clone, Copy)]
    enum Step {
        /// Refuse it whole with this kind.
        Refuse(ErrorKind),
        /// Append this many of its messages, then fail with this kind.
        FailAfter(usize, ErrorKind),
    }

    /// A sink that keeps what it appends and follows a script of failures; after the script
    /// it appends every batch whole. Message `n` (from 1) gets seq `n` and time `10 n`.
    struct Fake {
        max: usize,
        script: RefCell<VecDeque<Step>>,
        stored: RefCell<Vec<Vec<u8>>>,
        batches: RefCell<Vec<usize>>,
    }

    impl Fake {
        fn new(max: usize, script: &[Step]) -> Fake {
            Fake {
                max,
                script: RefCell::new(script.iter().copied().collect()),
                stored: RefCell::default(),
                batches: RefCell::default(),
            }
        }

        fn stored(&self) -> Vec<Vec<u8>> {
            self.stored.borrow().clone()
        }

        fn batches(&self) -> Vec<usize> {
            self.batches.borrow().clone()
        }
    }

    impl Sink for Fake {
        fn max_payload_len(&self) -> usize {
            self.max
        }

        fn append_batch(
            &self,
            payloads: &[Vec<u8>],
            _: Durability,
            out: &mut Vec<Appended>,
        ) -> Result<(), Error> {
            self.batches.borrow_mut().push(payloads.len());
            let (take, fail) = match self.script.borrow_mut().pop_front() {
                None => (payloads.len(), None),
                Some(Step::Refuse(kind)) => (0, Some(kind)),
                Some(Step::FailAfter(n, kind)) => (n.min(payloads.len()), Some(kind)),
            };
            let mut stored = self.stored.borrow_mut();
            for p in &payloads[..take] {
                stored.push(p.clone());
                let seq = stored.len() as u64;
                out.push(Appended {
                    seq,
                    timestamp_ns: seq * 10,
                });
            }
            match fail {
                None => Ok(()),
                Some(kind) => Err(Error::new(kind, "scripted failure").with_hint("Scripted.")),
            }
        }
    }

    fn payloads(sizes: &[usize]) -> Vec<Vec<u8>> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| vec![u8::try_from(i).unwrap(); n])
            .collect()
    }

    fn seqs(b: &mut Batcher<'_, Fake>) -> Vec<u64> {
        b.receipts().map(|a| a.seq).collect()
    }

    const NO_WAIT: Retry = Retry {
        attempts: 2,
        delay: Duration::ZERO,
    };

    #[test]
    fn a_batch_holds_at_most_the_record_limit_and_flush_appends_the_rest() {
        let sink = Fake::new(100, &[]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_limits(Limits {
            records: 3,
            bytes: 1000,
        });
        for p in payloads(&[1; 7]) {
            b.push(p).unwrap();
        }
        assert_eq!(sink.batches(), [3, 3]);
        assert_eq!(b.pending(), 1);
        b.flush().unwrap();
        assert_eq!(sink.batches(), [3, 3, 1]);
        assert_eq!(b.pending(), 0);
        b.flush().unwrap();
        assert_eq!(sink.batches(), [3, 3, 1], "an empty flush appends nothing");
    }

    #[test]
    fn a_batch_holds_at_most_the_byte_limit_unless_one_payload_is_larger() {
        let sink = Fake::new(100, &[]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_limits(Limits {
            records: 100,
            bytes: 10,
        });
        // 4+4 fit; a third 4 would make 12, so 4+4 go first. 4+9 would not fit either. 9+5
        // would not, 5+5 reach 10 exactly and go at once. 20 is larger than the limit and goes
        // alone.
        for p in payloads(&[4, 4, 4, 9, 5, 5, 20, 1]) {
            b.push(p).unwrap();
        }
        b.flush().unwrap();
        assert_eq!(sink.batches(), [2, 1, 1, 2, 1, 1]);
        let stored: usize = sink.stored().iter().map(Vec::len).sum();
        assert_eq!(stored, 4 + 4 + 4 + 9 + 5 + 5 + 20 + 1);
    }

    #[test]
    fn an_oversize_payload_is_refused_and_its_neighbours_are_appended() {
        let sink = Fake::new(8, &[]);
        let mut b = Batcher::new(&sink, Durability::Fast);
        b.push(b"abc".to_vec()).unwrap();
        let e = b.push(vec![b'x'; 9]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.message().contains("9 bytes"), "{e}");
        assert!(e.hint().unwrap().contains("at most 8 bytes"), "{e}");
        b.push(vec![b'y'; 8]).unwrap();
        b.flush().unwrap();
        assert_eq!(sink.stored(), [b"abc".to_vec(), vec![b'y'; 8]]);
        assert_eq!(seqs(&mut b), [1, 2]);
    }

    #[test]
    fn a_busy_batch_is_retried_and_appended_once() {
        let sink = Fake::new(100, &[Step::Refuse(ErrorKind::Busy); 2]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_retry(NO_WAIT);
        for p in payloads(&[1, 2, 3]) {
            b.push(p).unwrap();
        }
        b.flush().unwrap();
        assert_eq!(sink.batches(), [3, 3, 3]);
        assert_eq!(sink.stored(), payloads(&[1, 2, 3]));
        assert_eq!(seqs(&mut b), [1, 2, 3]);
    }

    #[test]
    fn busy_beyond_the_retries_fails_naming_the_attempts_and_keeps_the_batch() {
        let sink = Fake::new(100, &[Step::Refuse(ErrorKind::Busy); 3]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_retry(NO_WAIT);
        b.push(vec![1]).unwrap();
        let e = b.flush().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert_eq!(
            e.hint().unwrap().split(" (waited").next(),
            Some("Scripted. Retry attempts: 3")
        );
        assert_eq!(b.pending(), 1);
        b.flush().unwrap();
        assert_eq!(sink.stored(), [vec![1]]);
    }

    #[test]
    fn an_error_that_will_not_pass_is_not_retried() {
        let sink = Fake::new(100, &[Step::Refuse(ErrorKind::Corrupt)]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_retry(NO_WAIT);
        b.push(vec![1]).unwrap();
        let e = b.flush().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert_eq!(e.hint(), Some("Scripted."), "no attempts to report");
        assert_eq!(sink.batches(), [1]);
    }

    #[test]
    fn a_retry_resumes_after_the_messages_already_appended() {
        let sink = Fake::new(100, &[Step::FailAfter(2, ErrorKind::Busy)]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_retry(NO_WAIT);
        for p in payloads(&[1, 1, 1, 1]) {
            b.push(p).unwrap();
        }
        b.flush().unwrap();
        assert_eq!(sink.batches(), [4, 2]);
        assert_eq!(sink.stored(), payloads(&[1, 1, 1, 1]));
        assert_eq!(seqs(&mut b), [1, 2, 3, 4]);
    }

    #[test]
    fn a_partial_failure_keeps_the_earlier_appends_and_their_receipts() {
        let sink = Fake::new(100, &[Step::FailAfter(2, ErrorKind::Io)]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_retry(NO_WAIT);
        for p in payloads(&[1, 2, 3, 4, 5]) {
            b.push(p).unwrap();
        }
        assert_eq!(b.flush().unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(sink.stored(), payloads(&[1, 2]));
        let receipts: Vec<_> = b.receipts().collect();
        assert_eq!(
            receipts,
            [
                Appended {
                    seq: 1,
                    timestamp_ns: 10
                },
                Appended {
                    seq: 2,
                    timestamp_ns: 20
                }
            ]
        );
        assert_eq!(b.pending(), 3, "the rest stays queued");
        assert_eq!(b.discard(), 3);
        b.flush().unwrap();
        assert_eq!(sink.batches(), [5]);
    }

    #[test]
    fn receipts_come_in_push_order_across_batches_and_are_handed_out_once() {
        let sink = Fake::new(100, &[]);
        let mut b = Batcher::new(&sink, Durability::Fast).with_limits(Limits {
            records: 2,
            bytes: 1000,
        });
        for p in payloads(&[1; 5]) {
            b.push(p).unwrap();
        }
        assert_eq!(seqs(&mut b), [1, 2, 3, 4]);
        b.flush().unwrap();
        assert_eq!(seqs(&mut b), [5]);
        assert!(seqs(&mut b).is_empty());
    }

    #[test]
    fn without_receipts_nothing_piles_up_and_retries_still_resume() {
        let sink = Fake::new(100, &[Step::FailAfter(1, ErrorKind::Busy)]);
        let mut b = Batcher::new(&sink, Durability::Fast)
            .with_retry(NO_WAIT)
            .without_receipts();
        for p in payloads(&[1, 1, 1]) {
            b.push(p).unwrap();
        }
        b.flush().unwrap();
        assert_eq!(sink.stored(), payloads(&[1, 1, 1]));
        assert_eq!(b.receipts().len(), 0);
    }

    #[test]
    fn retryable_is_busy_or_a_passing_io_error() {
        let io = |kind: std::io::ErrorKind| {
            Error::new(ErrorKind::Io, "io").with_source(std::io::Error::from(kind))
        };
        assert!(retryable(&Error::new(ErrorKind::Busy, "busy")));
        assert!(retryable(&io(std::io::ErrorKind::Interrupted)));
        assert!(retryable(&io(std::io::ErrorKind::WouldBlock)));
        assert!(retryable(&io(std::io::ErrorKind::TimedOut)));
        assert!(!retryable(&io(std::io::ErrorKind::PermissionDenied)));
        assert!(!retryable(&Error::new(ErrorKind::Io, "no source")));
        assert!(!retryable(&Error::new(ErrorKind::Corrupt, "bad")));
    }

    #[test]
    fn a_pool_receives_the_batches_in_order_with_increasing_seqs() {
        let dir = std::env::temp_dir().join(format!("plasmite-append-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("batcher.plasmite");
        let _ = std::fs::remove_file(&path);
        let pool = Pool::create(
            &path,
            crate::CreateOptions {
                size: 1 << 20,
                index_capacity: None,
            },
        )
        .unwrap();
        let mut b = Batcher::new(&pool, Durability::Fast).with_limits(Limits {
            records: 3,
            bytes: 1 << 20,
        });
        let max = b.max_payload_len();
        assert_eq!(max, pool.max_payload_len());
        let payloads: Vec<Vec<u8>> = (0..7)
            .map(|i| {
                let value = serde_json::json!({ "i": i });
                crate::message::encode(&value, &[], max).unwrap()
            })
            .collect();
        for p in payloads.clone() {
            b.push(p).unwrap();
        }
        b.flush().unwrap();
        let seqs: Vec<u64> = b.receipts().map(|a| a.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
        for (seq, p) in seqs.iter().zip(&payloads) {
            assert_eq!(&pool.get(*seq).unwrap().payload, p);
        }
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
