//! Following a pool: deliver messages in sequence order from a chosen start, wait for new ones
//! without burning CPU, report (or refuse) gaps when writers overtake the reader.
//!
//! Role: the reading loop under [`crate::query`] (and so under `follow`, the MCP reads, the HTTP
//! tail and every API stream). Built on the core's [`Cursor`]; this module adds payload copies,
//! the start positions, the gap policy and waiting (alone, or through a [`Hub`]).
//!
//! # Invariants
//! - Messages come out in strictly increasing sequence order, never twice; a discontinuity is a
//!   [`Event::Gap`] (or a `RetentionGap` error under [`GapPolicy::Stop`]), never silent.
//! - A payload is handed out only after it was copied and re-checked: CRC intact when the frame
//!   has one, and still retained after the copy (else the copy may be torn, and the message is
//!   reported as part of a gap instead).
//! - A Corrupt verdict is confirmed under the pool's lock before it is reported. A payload that
//!   fails its CRC is [`Event::Damaged`] and the follower goes on with the next frame (its header,
//!   and so the ring's structure, is intact); a damaged frame header is a Corrupt error.
//! - Waiting is always bounded ([`MAX_PARK`]): wake-ups make it fast, never make it correct.
//!
//! Spec: `spec/FORMAT.md` §2.3 (wake words), §6 (readers); `spec/API.md` §5.1.

use crate::error::{Error, ErrorKind};
use crate::hub::Hub;
use crate::pool::Pool;
use plasmite_core::layout::{NEWEST_IN_STATE, RING_STATE_OFFSET, WAITERS_OFFSET, WAKE_OFFSET};
use plasmite_core::{Cursor, Step};
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Longest single sleep of a waiting follower. Writers that do not wake followers (the
/// reference's) are seen within this delay.
pub const MAX_PARK: Duration = Duration::from_millis(50);

/// How long a follower that just delivered a message spins before it parks.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// File offset of the `newest_seq` field of the header's ring state.
pub(crate) const NEWEST_OFFSET: u64 = RING_STATE_OFFSET + NEWEST_IN_STATE;

/// Where a follower starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The oldest retained message.
    Oldest,
    /// This sequence (a gap first if it is no longer retained; messages before it are skipped
    /// if it is not written yet).
    Seq(u64),
    /// The message after this sequence: `Seq(s + 1)` (a cursor handed back by a reader).
    After(u64),
    /// The first retained message appended at or after this time (Unix ns). Retained messages
    /// stamped earlier are skipped; messages appended after the follower started are all
    /// delivered.
    Time(u64),
    /// The last `n` retained messages (`0` is the live edge). A [`crate::query::Query`] reads
    /// it as the last `n` *matching* messages.
    Last(u64),
    /// Only messages appended after the follower starts — also when the ring is full.
    Live,
}

/// What to do when writers evict messages before the follower read them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GapPolicy {
    /// Report an [`Event::Gap`] and go on from the oldest retained message.
    #[default]
    Continue,
    /// Fail with a `RetentionGap` error.
    Stop,
}

/// How a follower behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowOptions {
    /// Where to start.
    pub start: Start,
    /// Gap handling.
    pub gap: GapPolicy,
    /// Park on the pool's wake word (else poll with a backoff up to [`MAX_PARK`]).
    pub notify: bool,
    /// Spin this long after a delivered message before parking.
    pub spin: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            start: Start::Live,
            gap: GapPolicy::Continue,
            notify: true,
            spin: DEFAULT_SPIN,
        }
    }
}

/// A message where it sits in a pool: sequence, time, the ring offset of its frame, and the
/// payload (borrowing a follower's or a query's buffer). Errors about the message carry the
/// sequence and the offset through [`MessageView::locate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageView<'a> {
    /// Sequence.
    pub seq: u64,
    /// Append time, Unix nanoseconds.
    pub timestamp_ns: u64,
    /// Ring offset of its frame.
    pub offset: u64,
    /// The Lite³ payload.
    pub payload: &'a [u8],
}

/// The former name of [`MessageView`].
pub type MessageRef<'a> = MessageView<'a>;

impl<'a> MessageView<'a> {
    /// The message in the form the printers take.
    pub fn printed(&self) -> crate::message::Printed<'a> {
        crate::message::Printed {
            seq: self.seq,
            timestamp_ns: self.timestamp_ns,
            payload: self.payload,
        }
    }

    /// `e` with this message's sequence and frame offset when it says the message is damaged
    /// (printing or evaluating a payload finds damage without knowing where it is).
    pub fn locate(&self, e: Error) -> Error {
        if e.kind() == ErrorKind::Corrupt {
            e.with_seq(self.seq).with_offset(self.offset)
        } else {
            e
        }
    }

    /// An owned copy.
    pub fn to_message(&self) -> crate::pool::Message {
        crate::pool::Message {
            seq: self.seq,
            timestamp_ns: self.timestamp_ns,
            payload: self.payload.to_vec(),
            offset: self.offset,
        }
    }
}

/// One thing a follower reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The next message.
    Message(MessageView<'a>),
    /// Messages were evicted before they were read (only under [`GapPolicy::Continue`]).
    Gap {
        /// First sequence not delivered.
        first_missing: u64,
        /// How many were missed.
        count: u64,
    },
    /// The payload of the message `seq` (frame at ring offset `offset`) fails its CRC — confirmed
    /// under the lock. The follower goes on with the next message.
    Damaged {
        /// Its sequence.
        seq: u64,
        /// Append time (from its intact frame header), Unix nanoseconds.
        timestamp_ns: u64,
        /// Ring offset of its frame.
        offset: u64,
    },
}

/// An event without the payload borrow (the payload is in the follower's buffer).
#[derive(Clone, Copy)]
enum Got {
    Message {
        seq: u64,
        timestamp_ns: u64,
        offset: u64,
    },
    Gap {
        first_missing: u64,
        count: u64,
    },
    Damaged {
        seq: u64,
        timestamp_ns: u64,
        offset: u64,
    },
}

/// Reads a pool in sequence order from a start position, waiting for new messages. `P` is how
/// the pool is held: `&Pool` borrows it, `Arc<Pool>` owns a share of it (for followers that
/// outlive the caller's frame: handles across a C or language boundary, server tasks).
#[derive(Debug)]
pub struct Follower<P: Deref<Target = Pool>> {
    pool: P,
    cursor: Cursor,
    opts: FollowOptions,
    /// `(time, last seq)`: retained messages up to `last seq` stamped before `time` are skipped.
    skip_before: Option<(u64, u64)>,
    buf: Vec<u8>,
    /// Why the last [`Event::Damaged`] was damaged (taken by [`Follower::take_damage`]).
    damage: Option<Error>,
    /// A message was delivered since the last park: spin before parking again.
    active: bool,
    backoff: Duration,
    /// Wait through this hub rather than parking on the wake word.
    hub: Option<Hub>,
}

impl<P: Deref<Target = Pool>> Follower<P> {
    /// A follower of `pool` positioned per `opts.start`.
    pub fn new(pool: P, opts: FollowOptions) -> Result<Follower<P>, Error> {
        let state = pool.state()?;
        let mut skip_before = None;
        let cursor = match opts.start {
            Start::Oldest => Cursor::oldest(&state),
            Start::Seq(seq) => Cursor::from_seq(seq),
            Start::After(seq) => Cursor::from_seq(seq.saturating_add(1)),
            Start::Live => Cursor::live(&state),
            Start::Last(0) => Cursor::live(&state),
            Start::Last(_) if state.is_empty() => Cursor::live(&state),
            Start::Last(n) => {
                let first = state.newest.saturating_sub(n - 1).max(state.oldest);
                Cursor::from_seq(first)
            }
            Start::Time(t) => {
                skip_before = Some((t, state.newest));
                Cursor::oldest(&state)
            }
        };
        Ok(Follower {
            pool,
            cursor,
            opts,
            skip_before,
            buf: Vec::new(),
            damage: None,
            active: false,
            backoff: Duration::from_millis(1),
            hub: None,
        })
    }

    /// Waits through `hub` (the wake hub of this follower's pool) from now on: any number of
    /// followers then cost one parked thread.
    pub fn with_hub(mut self, hub: Hub) -> Follower<P> {
        self.hub = Some(hub);
        self
    }

    /// The next event if there is one now, without waiting.
    pub fn poll(&mut self) -> Result<Option<Event<'_>>, Error> {
        Ok(self.step()?.map(|got| self.event(got)))
    }

    /// The next event, waiting up to `timeout` (`None`: as long as it takes). `Ok(None)` when
    /// the timeout passed with nothing new.
    pub fn next(&mut self, timeout: Option<Duration>) -> Result<Option<Event<'_>>, Error> {
        // A timeout too large for the clock is no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let got = loop {
            if let Some(got) = self.step()? {
                break got;
            }
            if !self.wait(deadline) {
                return Ok(None);
            }
        };
        Ok(Some(self.event(got)))
    }

    fn event(&self, got: Got) -> Event<'_> {
        match got {
            Got::Message {
                seq,
                timestamp_ns,
                offset,
            } => Event::Message(MessageView {
                seq,
                timestamp_ns,
                offset,
                payload: &self.buf,
            }),
            Got::Gap {
                first_missing,
                count,
            } => Event::Gap {
                first_missing,
                count,
            },
            Got::Damaged {
                seq,
                timestamp_ns,
                offset,
            } => Event::Damaged {
                seq,
                timestamp_ns,
                offset,
            },
        }
    }

    /// The pool followed.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The payload of the message last delivered.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.buf
    }

    /// The error behind the last [`Event::Damaged`] (its CRC failed, or it is cut short),
    /// once: the event itself stays `Copy`.
    pub fn take_damage(&mut self) -> Option<Error> {
        self.damage.take()
    }

    /// The sequence the follower expects next.
    pub fn expected_seq(&self) -> u64 {
        self.cursor.expected_seq()
    }

    /// One cursor step plus the payload copy and its re-checks.
    fn step(&mut self) -> Result<Option<Got>, Error> {
        let view = self.pool.view();
        loop {
            let before = self.cursor;
            let step = match self.cursor.next(&view) {
                Ok(step) => step,
                Err(_) => {
                    // A writer may have been rewriting what we read; under the lock the ring
                    // cannot move, so failing again is real damage.
                    self.cursor = before;
                    let _lock = self.pool.lock_shared()?;
                    self.cursor.next(&view).map_err(|c| self.pool.corrupt(c))?
                }
            };
            let frame = match step {
                Step::CaughtUp => return Ok(None),
                Step::Gap {
                    first_missing,
                    count,
                } => {
                    if self.opts.gap == GapPolicy::Stop {
                        return Err(retention_gap(&self.pool, first_missing, count));
                    }
                    return Ok(Some(Got::Gap {
                        first_missing,
                        count,
                    }));
                }
                Step::Message(frame) => frame,
            };
            if let Some((time, last)) = self.skip_before {
                if frame.seq() > last {
                    self.skip_before = None;
                } else if frame.head.timestamp_ns < time {
                    continue;
                }
            }
            match self.pool.read_into(&frame, &mut self.buf) {
                Ok(()) if self.pool.state()?.retains(frame.seq()) => {}
                Ok(()) => {
                    // Evicted while we copied: the copy may be torn. Step again from this
                    // message, which the cursor now reports as part of a gap.
                    self.cursor = before;
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    if !self.pool.state()?.retains(frame.seq()) {
                        self.cursor = before;
                        continue;
                    }
                    let _lock = self.pool.lock_shared()?;
                    if !self.pool.state_now()?.retains(frame.seq()) {
                        self.cursor = before;
                        continue;
                    }
                    match self.pool.read_into(&frame, &mut self.buf) {
                        Ok(()) => {}
                        // Damage confined to this payload: the frame's length still leads to
                        // the next one, so the cursor (already past it) goes on.
                        Err(e) if e.kind() == ErrorKind::Corrupt => {
                            self.buf.clear();
                            self.damage = Some(e);
                            self.active = true;
                            return Ok(Some(Got::Damaged {
                                seq: frame.seq(),
                                timestamp_ns: frame.head.timestamp_ns,
                                offset: frame.offset,
                            }));
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
            self.active = true;
            self.backoff = Duration::from_millis(1);
            return Ok(Some(Got::Message {
                seq: frame.seq(),
                timestamp_ns: frame.head.timestamp_ns,
                offset: frame.offset,
            }));
        }
    }

    /// Whether the header already shows a message the cursor has not delivered.
    fn news(&self) -> bool {
        let newest = self
            .pool
            .shared_map()
            .load_u64(NEWEST_OFFSET, Ordering::SeqCst)
            .unwrap_or(0);
        newest >= self.cursor.expected_seq()
    }

    /// Waits until something may have been published or `deadline` passes (`false` then).
    /// Spins briefly after activity, then parks on the wake word for at most [`MAX_PARK`].
    pub(crate) fn wait(&mut self, deadline: Option<Instant>) -> bool {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return false;
        }
        if self.active {
            self.active = false;
            let until = now.checked_add(self.opts.spin).unwrap_or(now);
            while Instant::now() < until {
                if self.news() {
                    return true;
                }
                std::hint::spin_loop();
            }
        }
        let remaining = deadline.map_or(MAX_PARK, |d| d.saturating_duration_since(Instant::now()));
        if remaining.is_zero() {
            return false;
        }
        if let Some(hub) = &self.hub {
            let until = Instant::now().checked_add(remaining.min(MAX_PARK));
            hub.wait_past(self.cursor.expected_seq().saturating_sub(1), until);
            return true;
        }
        let map = self.pool.shared_map();
        if self.opts.notify && map.writable() {
            // Read `wake`, announce a parked follower, re-check, sleep while `wake` is unchanged
            // (spec §2.3): a writer either sees the announcement or bumped `wake` first.
            let seen = map.load_u32(WAKE_OFFSET, Ordering::SeqCst).unwrap_or(0);
            let _ = map.swap_u32(WAITERS_OFFSET, 1, Ordering::SeqCst);
            if self.news() {
                return true;
            }
            map.futex_wait(WAKE_OFFSET, seen, remaining.min(MAX_PARK));
        } else {
            // Read-only mappings cannot announce themselves: poll with a backoff.
            let nap = remaining.min(self.backoff);
            self.backoff = (self.backoff * 2).min(MAX_PARK);
            if self.opts.notify {
                let seen = map.load_u32(WAKE_OFFSET, Ordering::SeqCst).unwrap_or(0);
                map.futex_wait(WAKE_OFFSET, seen, nap);
            } else {
                std::thread::sleep(nap);
            }
        }
        true
    }
}

/// The error of a gap under [`GapPolicy::Stop`]: messages `first_missing` and the `count - 1`
/// after it were evicted before they were read.
pub fn retention_gap(pool: &Pool, first_missing: u64, count: u64) -> Error {
    let last = first_missing.saturating_add(count).saturating_sub(1);
    Error::new(
        ErrorKind::RetentionGap,
        format!("messages {first_missing} to {last} were evicted before they were read"),
    )
    .with_seq(first_missing)
    .with_path(pool.path())
    .with_hint("Read faster, start from a retained message, or create a larger pool.")
}
