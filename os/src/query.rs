//! Queries: which messages of a pool a reader wants — start, tags, time, predicates, a count —
//! delivered in sequence order with gaps and damaged payloads reported where they sit.
//!
//! Role: the one selection engine under `pls follow`, `duplex`, the MCP reads and waits and
//! every API stream. Built on [`Follower`] (start positions, gaps, payload copies, waiting);
//! this module adds the filters, the last-N-matching history, the count limit, the deadline,
//! cancellation and the damaged-payload rule. Front ends only format what it yields.
//!
//! # Invariants
//! - Items come out in increasing sequence order, never twice: messages that pass every filter,
//!   [`Item::Gap`]s, and [`Item::Damaged`] notices.
//! - One rule for damaged payloads: a payload that fails its CRC, does not decode (its envelope,
//!   its tags, or — for a message that passed the cheap filters — the whole document), or that a
//!   predicate finds undecodable, is reported as [`Item::Damaged`] with its sequence and frame
//!   offset, and the stream goes on with the next message; [`DamagePolicy::Stop`] fails with that
//!   Corrupt error instead. A damaged payload never silently counts as a non-match. Under
//!   [`PayloadCheck::Consumer`] the whole-document check of a message that passes every filter
//!   is the front end's decode, which hands a failure to [`Stream::damage`] for the same notice.
//! - History — what was committed when the stream was made — is delivered in full whatever the
//!   deadline or the wait bounds (it is bounded); only cancellation cuts it. The deadline and the
//!   wait bounds count while waiting for, and reading, later messages.
//! - `Start::Last(n)` is the last `n` *matching* messages: damaged payloads in that range take a
//!   place among the `n` (they might have matched). Memory stays bounded by `n`.
//! - The count limit counts messages only, not gaps or damage notices.
//!
//! Spec: `spec/API.md` §5.2.

use crate::error::{Error, ErrorKind};
use crate::follow::{Event, FollowOptions, Follower, GapPolicy, MessageView, Start};
use crate::hub::{Arrival, Hub};
use crate::pool::{Message, Pool};
use plasmite_core::lite3::envelope;
use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A condition on a message beyond tags and time (a jq `where`, a sender check…). An `Err` of
/// kind Corrupt means the payload could not be read; the query reports it as damage.
pub trait Predicate: Send + Sync {
    /// Whether `msg` passes.
    fn matches(&self, msg: &MessageView<'_>) -> Result<bool, Error>;
}

/// A cancellation flag shared between a query and whoever may stop it (another thread, a
/// signal handler's flag, a request's cancellation).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not raised yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Raises the flag: queries holding it stop at their next check (within [`MAX_PARK`] while
    /// they wait).
    ///
    /// [`MAX_PARK`]: crate::follow::MAX_PARK
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the flag is raised.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What to do with a damaged payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DamagePolicy {
    /// Report [`Item::Damaged`] and go on.
    #[default]
    Report,
    /// Fail with the Corrupt error.
    Stop,
}

/// Who decodes a selected message's whole payload to find damage (the filters read only what
/// they need: the tags, the fields a predicate looks at).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PayloadCheck {
    /// The query decodes every selected payload in full before yielding it: a damaged one is
    /// an [`Item::Damaged`] whatever the front end then does with messages.
    #[default]
    Query,
    /// The front end decodes in full every message it is given, at once — it prints each with
    /// [`crate::message::print`] or [`crate::message::print_data`], whose walks make the
    /// checks [`crate::message::check`] makes — and hands a payload that fails there to
    /// [`Stream::damage`], keeping nothing of it. Each payload is then decoded once rather than
    /// twice. The query still checks the messages a predicate rejects: a predicate may read
    /// only part of a payload, and a damaged payload never silently counts as a non-match.
    /// Predicates then see payloads not checked yet; like every reader of payloads they must
    /// report what they cannot decode as Corrupt (which the query reports as damage).
    Consumer,
}

/// Which messages to read, from where, and for how long.
#[derive(Clone)]
pub struct Query {
    /// Where reading starts. `Last(n)` is the last `n` *matching* messages.
    pub start: Start,
    /// Every tag must be present (checked on the stored bytes).
    pub tags: Vec<String>,
    /// Only messages appended at or after this time (Unix ns).
    pub since_ns: Option<u64>,
    /// Every predicate must pass (after tags and time).
    pub predicates: Vec<Arc<dyn Predicate>>,
    /// At most this many messages, then the stream ends.
    pub limit: Option<u64>,
    /// Evictions before reading: report or fail.
    pub gap: GapPolicy,
    /// Damaged payloads: report or fail.
    pub damage: DamagePolicy,
    /// After history, wait for later messages (else end once what was committed when the stream
    /// was made has been read).
    pub live: bool,
    /// Stop waiting at this instant (history is still delivered in full).
    pub deadline: Option<Instant>,
    /// Stop when raised.
    pub cancel: Option<Cancel>,
    /// Wake on the pool's wake word rather than polling.
    pub notify: bool,
    /// Wait through this wake hub (of the same pool) rather than parking a thread per query.
    pub hub: Option<Hub>,
    /// Who decodes selected payloads in full.
    pub check: PayloadCheck,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            start: Start::Live,
            tags: Vec::new(),
            since_ns: None,
            predicates: Vec::new(),
            limit: None,
            gap: GapPolicy::Continue,
            damage: DamagePolicy::Report,
            live: true,
            deadline: None,
            cancel: None,
            notify: true,
            hub: None,
            check: PayloadCheck::Query,
        }
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("start", &self.start)
            .field("tags", &self.tags)
            .field("since_ns", &self.since_ns)
            .field("predicates", &self.predicates.len())
            .field("limit", &self.limit)
            .field("gap", &self.gap)
            .field("damage", &self.damage)
            .field("live", &self.live)
            .field("deadline", &self.deadline)
            .field("cancel", &self.cancel)
            .field("notify", &self.notify)
            .field("hub", &self.hub.is_some())
            .field("check", &self.check)
            .finish()
    }
}

impl Query {
    /// Whether anything beyond the start selects messages.
    pub fn filtered(&self) -> bool {
        !self.tags.is_empty() || self.since_ns.is_some() || !self.predicates.is_empty()
    }

    /// Runs the query on `pool` (`&Pool` or `Arc<Pool>`).
    pub fn run<P: Deref<Target = Pool>>(self, pool: P) -> Result<Stream<P>, Error> {
        Stream::new(pool, self)
    }
}

/// A damaged payload, where it sits.
#[derive(Debug)]
pub struct Damage {
    /// Its sequence.
    pub seq: u64,
    /// Ring offset of its frame.
    pub offset: u64,
    /// The Corrupt error (with sequence, offset and path).
    pub error: Error,
}

/// One thing a query yields.
#[derive(Debug)]
pub enum Item<'a> {
    /// A message passing every filter.
    Message(MessageView<'a>),
    /// Messages evicted before they were read (only under [`GapPolicy::Continue`]).
    Gap {
        /// First sequence not read.
        first_missing: u64,
        /// How many.
        count: u64,
    },
    /// A damaged payload (only under [`DamagePolicy::Report`]).
    Damaged(Damage),
}

impl Item<'_> {
    /// The highest sequence this item accounts for.
    pub fn last_seq(&self) -> u64 {
        match self {
            Item::Message(m) => m.seq,
            Item::Gap {
                first_missing,
                count,
            } => first_missing.saturating_add(count.saturating_sub(1)),
            Item::Damaged(d) => d.seq,
        }
    }
}

/// Why a stream ended for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The limit was reached.
    Limit,
    /// Not live, and everything committed when it started was read.
    CaughtUp,
    /// The deadline passed.
    Deadline,
    /// The cancel flag was raised.
    Cancelled,
}

/// An item held by the stream (buffered history), or where to find the current one.
#[derive(Debug)]
enum Held {
    Message(Message),
    Gap { first_missing: u64, count: u64 },
    Damaged(Damage),
}

/// What one step produced, without borrowing the payload.
enum Step {
    /// An item: the message is in the follower's buffer (`Live`) or in `current`.
    Item(Ready),
    /// A message that did not match.
    Skipped,
    /// Nothing committed now.
    CaughtUp,
}

enum Ready {
    /// In the follower's buffer.
    Follower {
        seq: u64,
        timestamp_ns: u64,
        offset: u64,
    },
    /// In `current`.
    Held,
}

/// A running query: yields [`Item`]s. `P` is `&Pool` or an owned `Arc<Pool>`.
pub struct Stream<P: Deref<Target = Pool>> {
    follower: Follower<P>,
    q: Query,
    /// The newest sequence committed when the stream was made (`None`: the pool was empty).
    history_end: Option<u64>,
    /// Buffered history (last N matching), yielded before anything else.
    held: VecDeque<Held>,
    /// The held item being yielded.
    current: Option<Held>,
    delivered: u64,
    examined: Option<u64>,
    ended: Option<End>,
}

impl<P: Deref<Target = Pool>> fmt::Debug for Stream<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("query", &self.q)
            .field("history_end", &self.history_end)
            .field("delivered", &self.delivered)
            .field("examined", &self.examined)
            .field("ended", &self.ended)
            .finish()
    }
}

impl<P: Deref<Target = Pool>> Stream<P> {
    fn new(pool: P, q: Query) -> Result<Stream<P>, Error> {
        let state = pool.state()?;
        let history_end = (!state.is_empty()).then_some(state.newest);
        // The last N matching: unfiltered, the last N retained; filtered, every retained
        // message is examined and the last N matches kept.
        let buffered = match q.start {
            Start::Last(n) => n > 0 && q.filtered() && history_end.is_some(),
            _ => false,
        };
        let start = if buffered { Start::Oldest } else { q.start };
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
    /// at `deadline` (`false`) — for async front ends, which then [`Stream::poll`] again. `None`
    /// without a hub (`Query::hub`).
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

    fn examine(&mut self, seq: u64) {
        self.examined = Some(self.examined.map_or(seq, |e| e.max(seq)));
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

    /// One follower event, filtered.
    fn step_follower(&mut self) -> Result<Step, Error> {
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
                let e = Error::new(ErrorKind::Corrupt, "payload fails its checksum");
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
