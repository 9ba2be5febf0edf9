//! Queries: which messages of a pool a reader wants — start, tags, time, predicates, a count —
//! delivered in sequence order with gaps and damaged payloads reported where they sit.
//!
//! Role: the one selection engine under `pls follow`, `duplex`, the MCP reads and waits and
//! every API stream. Built on [`Follower`] (start positions, gaps, payload copies, waiting);
//! this module adds the filters, the last-N-matching history, the count limit, the deadline,
//! cancellation and the damaged-payload rule. Front ends only format what it yields.
//!
//! The query's types live here; running it is in `stream`, the per-message selection and
//! the damaged-payload rule in `select`.
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

mod select;
mod stream;

use crate::error::Error;
use crate::follow::{Follower, GapPolicy, MessageView, Start};
use crate::hub::Hub;
use crate::pool::{Message, Pool};
use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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
