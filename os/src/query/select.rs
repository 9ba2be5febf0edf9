//! Selecting one message: time, tags, the whole-document check and the predicates, and the one
//! rule for damaged payloads.
//!
//! Role: turns one follower event into a step of the stream — an item, a skipped non-match or
//! a damage notice — and records how far the stream has examined.
//!
//! # Invariants
//! - A payload that fails its CRC, does not decode, or that a predicate finds undecodable is
//!   [`Item::Damaged`](super::Item::Damaged) (or, under [`DamagePolicy::Stop`], its Corrupt
//!   error); it never silently counts as a non-match.
//! - Under [`PayloadCheck::Consumer`] a message that passes every filter is not decoded in full
//!   here; one a predicate rejects is.
//!
//! Spec: `spec/API.md` §5.2.

use super::{Damage, DamagePolicy, Held, PayloadCheck, Ready, Step, Stream};
use crate::error::{Error, ErrorKind};
use crate::follow::{Event, MessageView};
use crate::pool::Pool;
use plasmite_core::lite3::envelope;
use std::ops::Deref;

impl<P: Deref<Target = Pool>> Stream<P> {
    fn examine(&mut self, seq: u64) {
        self.examined = Some(self.examined.map_or(seq, |e| e.max(seq)));
    }

    /// One follower event, filtered.
    pub(super) fn step_follower(&mut self) -> Result<Step, Error> {
        let (seq, timestamp_ns, offset) = match self.follower.poll()? {
            None => return Ok(Step::CaughtUp),
            Some(Event::Gap {
                first_missing,
                count,
            }) => {
                self.examine(first_missing.saturating_add(count.saturating_sub(1)));
                self.current = Some(Held::Gap {
                    first_missing,
                    count,
                });
                return Ok(Step::Item(Ready::Held));
            }
            Some(Event::Damaged {
                seq,
                timestamp_ns,
                offset,
            }) => {
                self.examine(seq);
                // Its time is known (the frame header is intact): outside `since`, it is not
                // a message this query would have read.
                if self.q.since_ns.is_some_and(|t| timestamp_ns < t) {
                    return Ok(Step::Skipped);
                }
                let e = self.follower.take_damage().unwrap_or_else(|| {
                    Error::new(ErrorKind::Corrupt, "payload fails its checksum")
                });
                return self.damaged(e, seq, offset);
            }
            Some(Event::Message(m)) => (m.seq, m.timestamp_ns, m.offset),
        };
        self.examine(seq);
        match self.select(seq, timestamp_ns, offset) {
            Ok(true) => Ok(Step::Item(Ready::Follower {
                seq,
                timestamp_ns,
                offset,
            })),
            Ok(false) => Ok(Step::Skipped),
            Err(e) if e.kind() == ErrorKind::Corrupt => self.damaged(e, seq, offset),
            Err(e) => Err(e),
        }
    }

    /// Under [`PayloadCheck::Consumer`]: the message `seq` (frame at `offset`) just yielded
    /// does not decode, with `e` (Corrupt). Returns the damage notice to report in its place —
    /// the notice the query would have yielded — or, under [`DamagePolicy::Stop`], fails with
    /// it. The message no longer counts towards the limit.
    pub fn damage(&mut self, seq: u64, offset: u64, e: Error) -> Result<Damage, Error> {
        self.delivered = self.delivered.saturating_sub(1);
        let error = self.damage_error(e, seq, offset);
        if self.q.damage == DamagePolicy::Stop {
            return Err(error);
        }
        Ok(Damage { seq, offset, error })
    }

    /// `e` as the Corrupt error of a damaged payload: a hint, where it is.
    fn damage_error(&self, e: Error, seq: u64, offset: u64) -> Error {
        if e.hint().is_some() {
            e
        } else {
            e.with_hint(
                "The message's payload is damaged; the other messages are intact. \
                 Check the pool's health.",
            )
        }
        .with_seq(seq)
        .with_offset(offset)
        .with_path(self.follower.pool().path())
    }

    fn damaged(&mut self, e: Error, seq: u64, offset: u64) -> Result<Step, Error> {
        let error = self.damage_error(e, seq, offset);
        if self.q.damage == DamagePolicy::Stop {
            return Err(error);
        }
        self.current = Some(Held::Damaged(Damage { seq, offset, error }));
        Ok(Step::Item(Ready::Held))
    }

    /// Whether the message in the follower's buffer passes: time, then tags on the raw bytes,
    /// then the whole document is checked, then the predicates (under
    /// [`PayloadCheck::Consumer`]: the predicates, then the check if one rejects it). Corrupt:
    /// it does not decode.
    fn select(&self, seq: u64, timestamp_ns: u64, offset: u64) -> Result<bool, Error> {
        if self.q.since_ns.is_some_and(|t| timestamp_ns < t) {
            return Ok(false);
        }
        let payload = self.follower.payload();
        let corrupt = crate::message::corrupt;
        for t in &self.q.tags {
            if !envelope::has_tag(payload, t).map_err(corrupt)? {
                return Ok(false);
            }
        }
        // Everything a front end may do with a selected message (print it, build a value)
        // decodes the whole document; checking it here makes damage a notice in every front end
        // rather than a failure in some. Under `PayloadCheck::Consumer` the front end checks
        // what it is given, and the query checks only what the predicates reject: a predicate
        // reads what it needs, possibly not the damaged part, and a damaged payload must not
        // pass for a non-match. Either way each payload is checked once.
        let deferred = self.q.check == PayloadCheck::Consumer;
        if !deferred {
            crate::message::check(payload).map_err(corrupt)?;
        }
        let view = MessageView {
            seq,
            timestamp_ns,
            offset,
            payload,
        };
        for p in &self.q.predicates {
            if !p.matches(&view)? {
                if deferred {
                    crate::message::check(payload).map_err(corrupt)?;
                }
                return Ok(false);
            }
        }
        Ok(true)
    }
}
