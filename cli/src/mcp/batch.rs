//! Read batches: the messages `plasmite_read`, `plasmite_wait` and resource reads return, with
//! the cursor an agent passes back to continue.
//!
//! Role: turns a [`Query`] (cursor, count, since, tags, jq predicate) into the batch object,
//! reading through `plasmite_os::Follower` only — the follower owns start positions, gaps,
//! payload checks and waiting; this module only selects and counts.
//!
//! # Invariants
//! - Messages come out in ascending sequence order, at most `count` of them, each matching
//!   every condition of the query (seq after the cursor, time at or after `since`, every tag,
//!   the predicate).
//! - `next_after_seq` is never below the cursor given and never skips an unreturned match:
//!   it is the highest sequence examined (delivered or reported missing), or the input cursor
//!   when nothing was examined. Passing it back as `after_seq` continues without loss or
//!   repetition (short of eviction, which `fell_behind` reports).
//! - A read examines at most what was committed when it started, so a fast writer cannot keep
//!   it running; a wait returns at its deadline even while non-matching messages keep arriving.
//!
//! Spec: `spec/MCP.md` §4 (batches).

use super::evaluator::{self, Cancel};
use plasmite_os::core::header::RingState;
use plasmite_os::core::lite3::envelope;
use plasmite_os::filter::Filter;
use plasmite_os::message::to_value;
use plasmite_os::{Error, Event, FollowOptions, Follower, MessageRef, Pool, Start};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::rc::Rc;
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
    pub filter: Option<Rc<Filter>>,
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

    fn filtered(&self) -> bool {
        self.since_ns.is_some() || !self.tags.is_empty() || self.filter.is_some()
    }

    fn matches(&self, msg: &MessageRef<'_>) -> Result<bool, Error> {
        if self.since_ns.is_some_and(|t| msg.timestamp_ns < t) {
            return Ok(false);
        }
        for t in &self.tags {
            // A payload whose tags do not decode carries no tag; printing it reports the damage
            // if it is ever selected another way.
            if !envelope::has_tag(msg.payload, t).unwrap_or(false) {
                return Ok(false);
            }
        }
        match &self.filter {
            Some(f) => evaluator::timed(|| f.matches(&msg.printed())),
            None => Ok(true),
        }
    }
}

/// What a read or wait collected, before it becomes JSON.
#[derive(Debug, Default)]
struct Collected {
    messages: VecDeque<Value>,
    last_returned: Option<u64>,
    /// Highest sequence delivered or reported missing.
    examined: Option<u64>,
    /// Messages after the cursor were evicted before they were read.
    gap: bool,
}

impl Collected {
    /// Starts a batch read with `state` as the pool's state; a cursor already before the
    /// oldest retained message has fallen behind (the follower reports the same as a gap, but
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

    fn examine(&mut self, seq: u64) {
        self.examined = Some(self.examined.map_or(seq, |e| e.max(seq)));
    }

    /// Looks at one follower event; true when it was a matching message (now kept).
    fn take(&mut self, q: &Query, pool: &Pool, ev: Event<'_>) -> Result<bool, Error> {
        match ev {
            Event::Gap {
                first_missing,
                count,
            } => {
                self.gap = true;
                self.examine(first_missing.saturating_add(count.saturating_sub(1)));
                Ok(false)
            }
            Event::Message(msg) => {
                self.examine(msg.seq);
                if !q.matches(&msg)? {
                    return Ok(false);
                }
                let value = to_value(&msg.printed())
                    .map_err(|e| crate::fetch::located(e, pool, msg.seq, msg.offset))?;
                self.messages.push_back(value);
                self.last_returned = Some(msg.seq);
                Ok(true)
            }
        }
    }

    /// The batch object. `cursor` is where reading started from: the input `after_seq`, else
    /// the newest sequence when the call started.
    fn finish(self, pool: &Pool, cursor: u64) -> Result<Value, Error> {
        let state = pool.state()?;
        let (oldest, newest) = if state.is_empty() {
            (Value::Null, Value::Null)
        } else {
            (json!(state.oldest), json!(state.newest))
        };
        Ok(json!({
            "fell_behind": self.gap,
            "last_returned_seq": self.last_returned,
            "messages": Vec::from(self.messages),
            "newest_available_seq": newest,
            "next_after_seq": self.examined.map_or(cursor, |e| e.max(cursor)),
            "oldest_available_seq": oldest,
        }))
    }
}

fn follower(pool: &Pool, start: Start) -> Result<Follower<'_>, Error> {
    Follower::new(
        pool,
        FollowOptions {
            start,
            ..FollowOptions::default()
        },
    )
}

/// `plasmite_read`: with `after_seq`, the first `count` matches after it; without, the last
/// `count` matches. Never waits.
pub(super) fn read(pool: &Pool, q: &Query) -> Result<Value, Error> {
    let start = pool.state()?;
    let newest_at_start = start.newest;
    let mut got = Collected::new(q, &start);
    match q.after_seq {
        Some(after) => {
            let mut f = follower(pool, Start::Seq(after.saturating_add(1)))?;
            while got.messages.len() < q.count {
                let Some(ev) = f.poll()? else { break };
                got.take(q, pool, ev)?;
                if got.examined.is_some_and(|e| e >= newest_at_start) {
                    break;
                }
            }
            got.finish(pool, after)
        }
        None => {
            // Unfiltered, the last `count` messages are the last `count` retained; filtered,
            // every retained message must be looked at, keeping the latest matches.
            let start = if q.filtered() {
                Start::Oldest
            } else {
                Start::Last(q.count as u64)
            };
            let mut f = follower(pool, start)?;
            while let Some(ev) = f.poll()? {
                if got.take(q, pool, ev)? && got.messages.len() > q.count {
                    got.messages.pop_front();
                }
                if got.examined.is_some_and(|e| e >= newest_at_start) {
                    break;
                }
            }
            got.finish(pool, newest_at_start)
        }
    }
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
    let deadline = Instant::now().checked_add(timeout);
    let start = pool.state()?;
    let cursor = q.after_seq.unwrap_or(start.newest);
    // `Seq(cursor + 1)` rather than `Live`: a message appended between reading the state and
    // starting the follower is still delivered, so `next_after_seq` never skips it.
    let mut f = follower(pool, Start::Seq(cursor.saturating_add(1)))?;
    let mut got = Collected::new(q, &start);
    while got.messages.len() < q.count {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let ev = match f.poll()? {
            Some(ev) => ev,
            // Something to return and nothing more available now: return it.
            None if !got.messages.is_empty() => break,
            None if left.is_some_and(|l| l.is_zero()) || cancel.is_cancelled() => break,
            None => match f.next(Some(left.map_or(CANCEL_CHECK, |l| l.min(CANCEL_CHECK))))? {
                Some(ev) => ev,
                None => continue,
            },
        };
        got.take(q, pool, ev)?;
        if got.messages.is_empty() && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    let timed_out = got.messages.is_empty();
    let mut batch = got.finish(pool, cursor)?;
    batch["timed_out"] = json!(timed_out);
    Ok(batch)
}
