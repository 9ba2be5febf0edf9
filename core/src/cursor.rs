//! A cursor that delivers messages in sequence order from any starting point and resyncs when
//! writers overtake it.
//!
//! Role: the reading loop under `follow`, `tail`, `get`'s scan and every API stream. It knows
//! which sequence it expects next and where that frame should be; each [`Cursor::next`] re-reads
//! the published ring state, so it works on a snapshot and on a live pool alike.
//!
//! # Invariants
//! - Messages come out with strictly increasing, contiguous sequences; a discontinuity is
//!   reported as [`Step::Gap`] (first missing sequence and count), never silently.
//! - A frame that does not hold the expected sequence is only called corrupt after the ring
//!   state is re-read and still says that sequence is retained *and* looking the sequence up
//!   (index, then walk from the tail) fails too; if it was evicted the cursor was overtaken and
//!   resyncs to the oldest retained message.
//! - Each call does a bounded amount of work: at most one wrap hop and at most one
//!   [`crate::read::locate`] (in seek mode, or to relocate an expected sequence whose position
//!   held something else — a walk of the ring at worst).
//! - Reading starts at `tail_off` (never at ring offset 0), so wrapped pools lose nothing.
//!
//! Spec: `spec/FORMAT.md` §6.2 (cursor rules).

use crate::error::Corrupt;
use crate::header::RingState;
use crate::read::{FrameRef, locate, read_message_at};
use crate::view::PoolView;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pos {
    /// The expected message's frame starts here (or at the wrap before it).
    At(u64),
    /// Position unknown: find the expected sequence with `locate` when it is retained.
    Seek,
    /// The last possible sequence (`u64::MAX`) was delivered: nothing can follow.
    End,
}

/// A reading position: the next sequence expected and where it should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pos: Pos,
    expect: u64,
    /// Look the expected seq up when its position holds something else (see `overtaken_or`).
    /// Off for the scan inside `locate` itself, which must not recurse.
    relocate: bool,
}

/// One step of a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The next message, in order.
    Message(FrameRef),
    /// Nothing newer than what was delivered yet.
    CaughtUp,
    /// Writers evicted messages before the cursor read them; the cursor now stands at the
    /// oldest retained message (or at the live edge if none is retained).
    Gap {
        /// First sequence that was not delivered.
        first_missing: u64,
        /// How many were missed.
        count: u64,
    },
}

impl Cursor {
    /// Starts at the oldest retained message (at the live edge of an empty pool).
    pub fn oldest(state: &RingState) -> Cursor {
        if state.is_empty() {
            Cursor::live(state)
        } else {
            Cursor {
                pos: Pos::At(state.tail),
                expect: state.oldest,
                relocate: true,
            }
        }
    }

    /// Starts after everything published so far: only messages appended later come out
    /// (also when the ring is full, where head == tail).
    pub fn live(state: &RingState) -> Cursor {
        Cursor {
            pos: Pos::At(state.head),
            expect: state.newest.saturating_add(1),
            relocate: true,
        }
    }

    /// Starts at sequence `seq`. If it is no longer retained the first step is a gap; if it
    /// is not written yet, messages before it are skipped as they appear.
    pub fn from_seq(seq: u64) -> Cursor {
        Cursor {
            pos: Pos::Seek,
            expect: seq.max(1),
            relocate: true,
        }
    }

    /// Starts at a frame found by [`crate::read::locate`].
    pub fn at_frame(frame: &FrameRef) -> Cursor {
        Cursor {
            pos: Pos::At(frame.offset),
            expect: frame.seq(),
            relocate: true,
        }
    }

    /// This cursor without the look-up-by-seq fallback (for the scan inside `locate`, which is
    /// that fallback).
    pub(crate) fn without_relocation(mut self) -> Cursor {
        self.relocate = false;
        self
    }

    /// The sequence the next [`Step::Message`] will carry.
    pub const fn expected_seq(&self) -> u64 {
        self.expect
    }

    /// Advances by one message, or reports that there is none yet, or a gap.
    pub fn next<V: PoolView + ?Sized>(&mut self, view: &V) -> Result<Step, Corrupt> {
        if self.pos == Pos::End {
            return Ok(Step::CaughtUp);
        }
        let state = view.published()?.state;
        if state.is_empty() || self.expect < state.oldest {
            if self.expect > state.newest {
                self.settle_live(&state);
                return Ok(Step::CaughtUp);
            }
            return Ok(self.resync(&state));
        }
        if self.expect > state.newest {
            self.settle_live(&state);
            return Ok(Step::CaughtUp);
        }
        let off = match self.pos {
            Pos::At(off) => off,
            Pos::End => return Ok(Step::CaughtUp),
            Pos::Seek => match locate(view, self.expect)? {
                Some(f) => return Ok(self.deliver(f)),
                None => return self.overtaken_or(view, None),
            },
        };
        match read_message_at(view, off) {
            Ok(f) if f.seq() == self.expect => Ok(self.deliver(f)),
            Ok(f) => self.overtaken_or(
                view,
                Some(Corrupt::ring(
                    crate::error::CorruptKind::SeqMismatch {
                        expected: self.expect,
                        found: f.seq(),
                    },
                    f.offset,
                )),
            ),
            Err(c) => self.overtaken_or(view, Some(c)),
        }
    }

    fn deliver(&mut self, f: FrameRef) -> Step {
        match f.seq().checked_add(1) {
            Some(next) => {
                self.pos = Pos::At(f.next);
                self.expect = next;
            }
            None => self.pos = Pos::End,
        }
        Step::Message(f)
    }

    /// A seek cursor waiting for `newest + 1` can take the head as its position: that is where
    /// the next frame goes. Further ahead it keeps seeking.
    fn settle_live(&mut self, state: &RingState) {
        if self.pos == Pos::Seek && self.expect == state.newest.saturating_add(1) {
            self.pos = Pos::At(state.head);
        }
    }

    /// The frame was not what the cursor expected. Re-read the state: if the expected message
    /// has been evicted meanwhile, that is a gap; otherwise the ring is damaged (`bad`), or —
    /// for `None`, a seek that found nothing although the state says retained — a gap too.
    fn overtaken_or<V: PoolView + ?Sized>(
        &mut self,
        view: &V,
        bad: Option<Corrupt>,
    ) -> Result<Step, Corrupt> {
        let state = view.published()?.state;
        if state.is_empty() || self.expect < state.oldest {
            return Ok(self.resync(&state));
        }
        let Some(bad) = bad else {
            return Ok(Step::CaughtUp);
        };
        if !self.relocate {
            return Err(bad);
        }
        // The expected message is still retained, yet its position held something else. Not
        // necessarily damage: the position may have been the wrap marker (or end-of-ring gap)
        // before the message, which writers reuse once the tail has passed it while the message
        // itself, at ring offset 0, is still retained. Find the message by its sequence; only
        // if that fails too is the ring damaged.
        match locate(view, self.expect)? {
            Some(f) if f.seq() == self.expect => Ok(self.deliver(f)),
            _ => {
                let state = view.published()?.state;
                if state.is_empty() || self.expect < state.oldest {
                    Ok(self.resync(&state))
                } else {
                    Err(bad)
                }
            }
        }
    }

    fn resync(&mut self, state: &RingState) -> Step {
        let first_missing = self.expect;
        let to = if state.is_empty() {
            state.newest.saturating_add(1)
        } else {
            state.oldest
        };
        let relocate = self.relocate;
        *self = if state.is_empty() {
            Cursor::live(state)
        } else {
            Cursor::oldest(state)
        };
        self.relocate = relocate;
        match to.saturating_sub(first_missing) {
            // Nothing was missed (only reachable through a state that ends the sequence
            // space, which the header check refuses): never report an empty gap.
            0 => Step::CaughtUp,
            count => Step::Gap {
                first_missing,
                count,
            },
        }
    }
}
