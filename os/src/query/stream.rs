//! Running a query: history first (the last N matching buffered when asked), then live
//! messages, until the limit, the deadline, cancellation or the end of history.
//!
//! Role: drives the [`Follower`](crate::follow::Follower) and the stream's bookkeeping — what
//! was delivered, when and why it ended, waiting with its bounds; the parent module holds the
//! stream's state and `select` judges each message.
//!
//! # Invariants
//! - History — what was committed when the stream was made — is delivered in full whatever the
//!   deadline or the wait bounds (it is bounded); only cancellation cuts it.
//! - `Start::Last(n)` is the last `n` *matching* messages: damaged payloads in that range take a
//!   place among the `n`. Memory stays bounded by `n`.
//! - The count limit counts messages only, not gaps or damage notices.
//!
//! Spec: `spec/API.md` §5.2.

use super::{Cancel, End, Held, Item, Query, Ready, Step, Stream};
use crate::error::Error;
use crate::follow::{FollowOptions, Follower, MessageView, Start};
use crate::hub::Arrival;
use crate::pool::{Message, Pool};
use std::collections::VecDeque;
use std::ops::Deref;
use std::time::{Duration, Instant};

impl<P: Deref<Target = Pool>> Stream<P> {
    pub(super) fn new(pool: P, q: Query) -> Result<Stream<P>, Error> {
        let state = pool.state()?;
        let history_end = (!state.is_empty()).then_some(state.newest);
        // The last N matching: unfiltered, the last N retained; filtered, every retained
        // message is examined and the last N matches kept.
        let buffered = match q.start {
            Start::Last(n) => n > 0 && q.filtered() && history_end.is_some(),
            _ => false,
        };
        // Unbuffered, the last N are placed from the same state as `history_end`: a follower
        // reading the state again after a writer appended would start past the history and
        // deliver fewer than N.
        let start = match q.start {
            _ if buffered => Start::Oldest,
            Start::Last(n) if n > 0 && history_end.is_some() => {
                Start::Seq(state.newest.saturating_sub(n - 1).max(state.oldest))
            }
            other => other,
        };
        let mut follower = Follower::new(
            pool,
            FollowOptions {
                start,
                gap: q.gap,
                notify: q.notify,
                ..FollowOptions::default()
            },
        )?;
        if let Some(hub) = &q.hub {
            follower = follower.with_hub(hub.clone());
        }
        let mut s = Stream {
            follower,
            q,
            history_end,
            held: VecDeque::new(),
            current: None,
            delivered: 0,
            examined: None,
            ended: None,
        };
        if buffered && let Start::Last(n) = s.q.start {
            s.buffer_last(n)?;
        }
        Ok(s)
    }

    /// Reads history up to `history_end`, keeping the last `n` matches (damage counts as one)
    /// and the gaps and damage between them.
    fn buffer_last(&mut self, n: u64) -> Result<(), Error> {
        let end = self.history_end.unwrap_or(0);
        let mut counted = 0u64;
        loop {
            if self.cancelled() {
                return Ok(());
            }
            let held = match self.step_follower()? {
                Step::CaughtUp => break,
                Step::Skipped => {
                    if self.examined.is_some_and(|e| e >= end) {
                        break;
                    }
                    continue;
                }
                Step::Item(Ready::Held) => self.current.take(),
                Step::Item(Ready::Follower {
                    seq,
                    timestamp_ns,
                    offset,
                }) => Some(Held::Message(Message {
                    seq,
                    timestamp_ns,
                    offset,
                    payload: self.follower.payload().to_vec(),
                })),
            };
            let Some(held) = held else { continue };
            if !matches!(held, Held::Gap { .. }) {
                counted += 1;
            }
            self.held.push_back(held);
            // Drop from the front up to and including the oldest counted item.
            while counted > n {
                if let Some(front) = self.held.pop_front() {
                    if !matches!(front, Held::Gap { .. }) {
                        counted -= 1;
                    }
                } else {
                    break;
                }
            }
            if self.examined.is_some_and(|e| e >= end) {
                break;
            }
        }
        // Gaps before the first kept item only say what was lost before it; keep them (they
        // are in order), the front end decides how loud to be.
        Ok(())
    }

    /// The pool read.
    pub fn pool(&self) -> &Pool {
        self.follower.pool()
    }

    /// The newest sequence committed when the stream was made (`None`: the pool was empty).
    /// Items up to it are history.
    pub fn history_end(&self) -> Option<u64> {
        self.history_end
    }

    /// The highest sequence examined: delivered, skipped as a non-match, reported damaged or
    /// missing. `None` before anything was.
    pub fn examined(&self) -> Option<u64> {
        self.examined
    }

    /// A future that resolves when a message past those read so far is committed (`true`) or
    /// at `deadline` (`false`) — for async front ends, which then [`Stream::poll`] again. `poll`
    /// never ends a stream at the query's deadline (only a wait does): past it, a front end
    /// makes one `next(Some(Duration::ZERO))`, which takes what is there or ends the stream.
    /// `None` without a hub (`Query::hub`).
    pub fn arrival(&self, deadline: Option<Instant>) -> Option<Arrival> {
        let after = if self.held.is_empty() {
            self.follower.expected_seq().saturating_sub(1)
        } else {
            // Buffered history is ready now.
            0
        };
        self.q.hub.as_ref().map(|h| h.arrival(after, deadline))
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Why the stream ended, once it has.
    pub fn ended(&self) -> Option<End> {
        self.ended
    }

    /// The next item available now, without waiting (history included). `Ok(None)`: nothing
    /// more now, or the stream ended ([`Stream::ended`]).
    pub fn poll(&mut self) -> Result<Option<Item<'_>>, Error> {
        let ready = loop {
            if self.check_end() {
                return Ok(None);
            }
            match self.step()? {
                Step::Item(r) => break r,
                Step::Skipped => continue,
                Step::CaughtUp => {
                    self.caught_up();
                    return Ok(None);
                }
            }
        };
        self.item(ready)
    }

    /// The next item, waiting up to `wait` (`None`: up to the query's deadline, or for ever) for
    /// it. History never waits and is never cut short by `wait` or the deadline. `Ok(None)`:
    /// nothing within `wait`, or the stream ended ([`Stream::ended`]).
    pub fn next(&mut self, wait: Option<Duration>) -> Result<Option<Item<'_>>, Error> {
        self.next_or(wait, || Ok(()))
    }

    /// [`Stream::next`], calling `idle` once before it first waits — where a front end writes
    /// out what it buffered, so a burst of messages costs one write and nothing sits unwritten
    /// while the stream waits.
    pub fn next_or(
        &mut self,
        wait: Option<Duration>,
        idle: impl FnOnce() -> Result<(), Error>,
    ) -> Result<Option<Item<'_>>, Error> {
        let mut idle = Some(idle);
        let until = wait.and_then(|w| Instant::now().checked_add(w));
        let until = match (until, self.q.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let ready = loop {
            if self.check_end() {
                return Ok(None);
            }
            match self.step()? {
                Step::Item(r) => break r,
                Step::Skipped => {
                    // Non-matching messages keep arriving: the bounds still count (history
                    // excepted).
                    if !self.in_history() && until.is_some_and(|u| Instant::now() >= u) {
                        self.deadline_check();
                        return Ok(None);
                    }
                }
                Step::CaughtUp => {
                    self.caught_up();
                    if self.ended.is_some() {
                        return Ok(None);
                    }
                    if let Some(idle) = idle.take() {
                        idle()?;
                    }
                    // Wake up at least every park bound to look at the cancel flag.
                    if !self.follower.wait(until) {
                        self.deadline_check();
                        return Ok(None);
                    }
                }
            }
        };
        self.item(ready)
    }

    fn in_history(&self) -> bool {
        !self.held.is_empty()
            || self
                .history_end
                .is_some_and(|end| self.follower.expected_seq() <= end)
    }

    fn cancelled(&self) -> bool {
        self.q.cancel.as_ref().is_some_and(Cancel::is_cancelled)
    }

    /// Whether the stream has ended (marking why when it just did).
    fn check_end(&mut self) -> bool {
        if self.ended.is_none() {
            if self.cancelled() {
                self.ended = Some(End::Cancelled);
            } else if self.q.limit.is_some_and(|l| self.delivered >= l) {
                self.ended = Some(End::Limit);
            } else if !self.q.live && self.held.is_empty() && !self.in_history() {
                self.ended = Some(End::CaughtUp);
            }
        }
        self.ended.is_some()
    }

    fn caught_up(&mut self) {
        if !self.q.live && self.held.is_empty() {
            self.ended = Some(End::CaughtUp);
        }
    }

    fn deadline_check(&mut self) {
        if self.ended.is_none() && self.q.deadline.is_some_and(|d| Instant::now() >= d) {
            self.ended = Some(End::Deadline);
        }
    }

    fn item(&mut self, ready: Ready) -> Result<Option<Item<'_>>, Error> {
        Ok(Some(match ready {
            Ready::Follower {
                seq,
                timestamp_ns,
                offset,
            } => {
                self.delivered += 1;
                Item::Message(MessageView {
                    seq,
                    timestamp_ns,
                    offset,
                    payload: self.follower.payload(),
                })
            }
            Ready::Held => match self.current.take() {
                Some(Held::Message(m)) => {
                    self.delivered += 1;
                    match self.current.insert(Held::Message(m)) {
                        Held::Message(m) => Item::Message(m.view()),
                        _ => return Ok(None),
                    }
                }
                Some(Held::Gap {
                    first_missing,
                    count,
                }) => Item::Gap {
                    first_missing,
                    count,
                },
                Some(Held::Damaged(d)) => Item::Damaged(d),
                None => return Ok(None),
            },
        }))
    }

    /// The next buffered item, else one follower event, filtered.
    fn step(&mut self) -> Result<Step, Error> {
        if let Some(h) = self.held.pop_front() {
            self.current = Some(h);
            return Ok(Step::Item(Ready::Held));
        }
        self.step_follower()
    }
}
