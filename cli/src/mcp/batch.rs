//! Read batches: the messages `plasmite_read`, `plasmite_wait` and resource reads return, with
//! the cursor an agent passes back to continue.
//!
//! Role: turns a [`Query`] (cursor, count, since, tags, jq predicate) into an engine query
//! (`plasmite_os::query`) and its items into the batch object — the engine owns start
//! positions, filters, gaps, damaged payloads and waiting; this module only formats.
//!
//! # Invariants
//! - Messages come out in ascending sequence order, at most `count` of them, each matching
//!   every condition of the query (seq after the cursor, time at or after `since`, every tag,
//!   the predicate).
//! - `next_after_seq` is never below the cursor given and never skips an unreturned match:
//!   it is the highest sequence examined (delivered, skipped, damaged or reported missing), or the input cursor
//!   when nothing was examined. Passing it back as `after_seq` continues without loss or
//!   repetition (short of eviction, which `fell_behind` reports).
//! - A damaged payload (failed CRC, undecodable tags or data) is an entry of `errors` with its
//!   seq and offset, never a silent non-match, and the batch goes on past it.
//! - A read examines at most what was committed when it started, so a fast writer cannot keep
//!   it running; a wait returns at its deadline even while non-matching messages keep arriving.
//!
//! Spec: `spec/MCP.md` §4 (batches).

use super::evaluator::{self, Cancel};
use plasmite_os::core::header::RingState;
use plasmite_os::filter::Filter;
use plasmite_os::message::to_value;
use plasmite_os::query::{self, Item};
use plasmite_os::{Error, MessageView, Pool, Predicate, Start};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which messages a batch holds.
#[derive(Debug)]
pub(super) struct Query {
    /// Only messages with a greater sequence.
    pub after_seq: Option<u64>,
    /// At most this many messages.
    pub count: usize,
    /// Only messages appended at or after this time (Unix ns).
    pub since_ns: Option<u64>,
    /// Only messages carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only messages the predicate accepts.
    pub filter: Option<Arc<Filter>>,
}

/// A `where` as a query predicate, evaluated under the evaluator's watchdog.
struct Where(Arc<Filter>);

impl Predicate for Where {
    fn matches(&self, msg: &MessageView<'_>) -> Result<bool, Error> {
        evaluator::timed(|| self.0.matches(&msg.printed()))
    }
}

impl Query {
    /// The latest `count` messages, unfiltered.
    pub(super) fn latest(count: usize) -> Query {
        Query {
            after_seq: None,
            count,
            since_ns: None,
            tags: Vec::new(),
            filter: None,
        }
    }

    /// The engine's query for this batch, from `start`.
    fn engine(&self, start: Start, live: bool) -> query::Query {
        query::Query {
            start,
            tags: self.tags.clone(),
            since_ns: self.since_ns,
            predicates: self
                .filter
                .iter()
                .map(|f| Arc::new(Where(Arc::clone(f))) as Arc<dyn Predicate>)
                .collect(),
            limit: Some(self.count as u64),
            live,
            ..query::Query::default()
        }
    }
}

/// What a read or wait collected, before it becomes JSON.
#[derive(Debug, Default)]
struct Collected {
    messages: VecDeque<Value>,
    last_returned: Option<u64>,
    /// Damaged payloads met, as error entries.
    errors: Vec<Value>,
    /// Messages after the cursor were evicted before they were read.
    gap: bool,
}

impl Collected {
    /// Starts a batch read with `state` as the pool's state; a cursor already before the
    /// oldest retained message has fallen behind (the query reports the same as a gap, but
    /// this does not depend on it).
    fn new(q: &Query, state: &RingState) -> Collected {
        let behind = q
            .after_seq
            .is_some_and(|a| !state.is_empty() && a.saturating_add(1) < state.oldest);
        Collected {
            gap: behind,
            ..Collected::default()
        }
    }

    /// Looks at one item; true when it was a message (now kept).
    fn take(&mut self, item: Item<'_>) -> bool {
        match item {
            Item::Gap { .. } => {
                self.gap = true;
                false
            }
            Item::Damaged(d) => {
                self.errors.push(error_entry(&d.error, d.seq, d.offset));
                false
            }
            Item::Message(msg) => match to_value(&msg.printed()) {
                Ok(value) => {
                    self.messages.push_back(value);
                    self.last_returned = Some(msg.seq);
                    true
                }
                // The query checked the payload decodes; should it not, it is damage all
                // the same.
                Err(e) => {
                    self.errors.push(error_entry(&e, msg.seq, msg.offset));
                    false
                }
            },
        }
    }

    /// The batch object. `cursor` is where reading started from: the input `after_seq`, else
    /// the newest sequence when the call started; `examined` the highest sequence examined.
    fn finish(self, pool: &Pool, cursor: u64, examined: Option<u64>) -> Result<Value, Error> {
        let state = pool.state()?;
        let (oldest, newest) = if state.is_empty() {
            (Value::Null, Value::Null)
        } else {
            (json!(state.oldest), json!(state.newest))
        };
        let mut batch = json!({
            "fell_behind": self.gap,
            "last_returned_seq": self.last_returned,
            "messages": Vec::from(self.messages),
            "newest_available_seq": newest,
            "next_after_seq": examined.map_or(cursor, |e| e.max(cursor)),
            "oldest_available_seq": oldest,
        });
        if !self.errors.is_empty() {
            batch["errors"] = Value::Array(self.errors);
        }
        Ok(batch)
    }
}

/// A damaged payload as a batch's error entry.
fn error_entry(e: &Error, seq: u64, offset: u64) -> Value {
    json!({
        "hint": e.hint(),
        "kind": e.kind().as_str(),
        "message": e.message(),
        "offset": offset,
        "seq": seq,
    })
}

/// `plasmite_read`: with `after_seq`, the first `count` matches after it; without, the last
/// `count` matches. Never waits; reads only what was committed when it started.
pub(super) fn read(pool: &Pool, q: &Query) -> Result<Value, Error> {
    let state = pool.state()?;
    let mut got = Collected::new(q, &state);
    let (start, cursor) = match q.after_seq {
        Some(after) => (Start::After(after), after),
        None => (Start::Last(q.count as u64), state.newest),
    };
    let mut s = q.engine(start, false).run(pool)?;
    while let Some(item) = s.poll()? {
        got.take(item);
    }
    got.finish(pool, cursor, s.examined())
}

/// How often a wait looks whether it was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// `plasmite_wait`: the matches after `after_seq` (default: the newest message now) as soon
/// as there is at least one, up to `count`; at `timeout`, an empty batch with `timed_out`.
/// Cancelled, it returns what it has within [`CANCEL_CHECK`] (the caller discards it).
pub(super) fn wait(
    pool: &Pool,
    q: &Query,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<Value, Error> {
    let state = pool.state()?;
    let cursor = q.after_seq.unwrap_or(state.newest);
    // `After(cursor)` rather than the live edge: a message appended between reading the state
    // and starting the query is still delivered, so `next_after_seq` never skips it.
    let mut eq = q.engine(Start::After(cursor), true);
    eq.deadline = Instant::now().checked_add(timeout);
    let mut s = eq.run(pool)?;
    let mut got = Collected::new(q, &state);
    loop {
        // Once something is kept, only what is available now is added.
        let item = if got.messages.is_empty() {
            s.next(Some(CANCEL_CHECK))?
        } else {
            s.poll()?
        };
        match item {
            Some(item) => {
                got.take(item);
            }
            None => {
                let done = !got.messages.is_empty() || s.ended().is_some() || cancel.is_cancelled();
                if done {
                    break;
                }
            }
        }
    }
    let timed_out = got.messages.is_empty();
    let examined = s.examined();
    let mut batch = got.finish(pool, cursor, examined)?;
    batch["timed_out"] = json!(timed_out);
    Ok(batch)
}
