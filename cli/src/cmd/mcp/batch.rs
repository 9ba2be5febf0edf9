//! Read batches: the messages `plasmite_read`, `plasmite_wait` and resource reads return, with
//! the cursor an agent passes back to continue.
//!
//! Role: turns a [`Query`] (cursor, count, since, tags, `where`) into an engine query
//! (`plasmite_os::query`) and its items into the batch object — the engine owns start
//! positions, filters, gaps, damaged payloads and waiting; this module only formats. A query
//! with a `where` runs in the server's [`Sandbox`] (an evaluator process), never here.
//!
//! # Invariants
//! - Messages come out in ascending sequence order, at most `count` of them, each matching
//!   every condition of the query (seq after the cursor, time at or after `since`, every tag,
//!   the `where`).
//! - `next_after_seq` is never below the cursor given and never skips an unreturned match:
//!   it is the highest sequence examined (delivered, skipped, damaged or reported missing), or
//!   the input cursor when nothing was examined. Passing it back as `after_seq` continues
//!   without loss or repetition (short of eviction, which `fell_behind` reports — also for a
//!   match evicted between its evaluator selecting it and the server copying it).
//! - A damaged payload (failed CRC, undecodable tags or data) is an entry of `errors` with its
//!   seq and offset, never a silent non-match, and the batch goes on past it.
//! - A read examines at most what was committed when its query started, so a fast writer
//!   cannot keep it running; a wait returns at its deadline even while non-matching messages
//!   keep arriving.
//!
//! Spec: `spec/MCP.md` §4 (batches).

use super::arguments::Failure;
use plasmite_os::core::header::RingState;
use plasmite_os::message::to_value;
use plasmite_os::query::Item;
use plasmite_os::sandbox::{Found, Outcome, SandboxError};
use plasmite_os::{Cancel, Error, Pool, QuerySpec, Sandbox, Start};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::Duration;

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
    /// Only messages this jq predicate accepts (evaluated in the sandbox).
    pub wheres: Vec<String>,
}

impl Query {
    /// The latest `count` messages, unfiltered.
    pub(super) fn latest(count: usize) -> Query {
        Query {
            after_seq: None,
            count,
            since_ns: None,
            tags: Vec::new(),
            wheres: Vec::new(),
        }
    }

    /// The query for this batch, from `start`, as data.
    fn spec(&self, start: Start, live: bool) -> QuerySpec {
        QuerySpec {
            start,
            tags: self.tags.clone(),
            since_ns: self.since_ns,
            wheres: self.wheres.clone(),
            limit: Some(self.count as u64),
            live,
            ..QuerySpec::default()
        }
    }
}

/// A sandboxed query's failure as the tool's: the expression's fault is a failure of the
/// `where` argument.
fn sandbox_failure(e: SandboxError) -> Failure {
    match e {
        SandboxError::Where(e) => Failure::usage_of("where")(e),
        SandboxError::Other(e) => Failure::Pool(e),
        // Nobody reads a cancelled call's outcome.
        SandboxError::Cancelled => Failure::Pool(Error::new(
            plasmite_os::ErrorKind::Usage,
            "the call was cancelled",
        )),
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

    /// Looks at one item a sandboxed query found.
    fn take_found(&mut self, found: Found) {
        match found {
            Found::Message(m) => {
                self.take(Item::Message(m.view()));
            }
            Found::Gap {
                first_missing,
                count,
            } => {
                self.take(Item::Gap {
                    first_missing,
                    count,
                });
            }
            Found::Damaged(d) => {
                self.take(Item::Damaged(d));
            }
        }
    }

    /// [`Collected::finish`] with a sandboxed query's outcome.
    fn finish_with(mut self, pool: &Pool, cursor: u64, outcome: Outcome) -> Result<Value, Error> {
        let examined = outcome.examined;
        for found in outcome.items {
            self.take_found(found);
        }
        self.finish(pool, cursor, examined)
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
/// `count` matches. Never waits; reads only what was committed when its query started.
pub(super) fn read(
    pool: &Pool,
    q: &Query,
    sandbox: &Sandbox,
    cancel: &Cancel,
) -> Result<Value, Failure> {
    if q.wheres.is_empty() {
        return Ok(read_here(pool, q)?);
    }
    let state = pool.state()?;
    let (start, cursor) = start_of(q, &state);
    let got = Collected::new(q, &state);
    let outcome = sandbox
        .run(pool, &q.spec(start, false), cancel)
        .map_err(sandbox_failure)?;
    Ok(got.finish_with(pool, cursor, outcome)?)
}

/// [`read`] for a query without `where`, in this process (resource reads); Internal for one
/// with `where`, which only an evaluator may run.
pub(super) fn read_here(pool: &Pool, q: &Query) -> Result<Value, Error> {
    if !q.wheres.is_empty() {
        return Err(Error::new(
            plasmite_os::ErrorKind::Internal,
            "a where expression was about to run in the server",
        ));
    }
    let state = pool.state()?;
    let (start, cursor) = start_of(q, &state);
    let mut got = Collected::new(q, &state);
    let mut s = q.spec(start, false).query(Vec::new()).run(pool)?;
    while let Some(item) = s.poll()? {
        got.take(item);
    }
    got.finish(pool, cursor, s.examined())
}

/// Where a read starts, and the cursor it reports from.
fn start_of(q: &Query, state: &RingState) -> (Start, u64) {
    match q.after_seq {
        Some(after) => (Start::After(after), after),
        None => (Start::Last(q.count as u64), state.newest),
    }
}

/// How often a wait looks whether it was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// `plasmite_wait`: the matches after `after_seq` (default: the newest message now) as soon
/// as there is at least one, up to `count`; at `timeout`, an empty batch with `timed_out`.
/// Cancelled, it returns within [`CANCEL_CHECK`] (the caller discards what it returns).
pub(super) fn wait(
    pool: &Pool,
    q: &Query,
    timeout: Duration,
    sandbox: &Sandbox,
    cancel: &Cancel,
) -> Result<Value, Failure> {
    let state = pool.state()?;
    let cursor = q.after_seq.unwrap_or(state.newest);
    // `After(cursor)` rather than the live edge: a message appended between reading the state
    // and starting the query is still delivered, so `next_after_seq` never skips it.
    let mut spec = q.spec(Start::After(cursor), true);
    spec.timeout = Some(timeout);
    spec.first_batch = true;
    let mut got = Collected::new(q, &state);
    let examined = if spec.wheres.is_empty() {
        // The deadline counts from here, as it does in an evaluator.
        let mut s = spec.query(Vec::new()).run(pool)?;
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
                    let done =
                        !got.messages.is_empty() || s.ended().is_some() || cancel.is_cancelled();
                    if done {
                        break;
                    }
                }
            }
        }
        s.examined()
    } else {
        let outcome = sandbox.run(pool, &spec, cancel).map_err(sandbox_failure)?;
        let examined = outcome.examined;
        for found in outcome.items {
            got.take_found(found);
        }
        examined
    };
    let timed_out = got.messages.is_empty();
    let mut batch = got.finish(pool, cursor, examined)?;
    batch["timed_out"] = json!(timed_out);
    Ok(batch)
}
