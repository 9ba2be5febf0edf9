//! The sandbox's wire: a query as a [`QuerySpec`] both sides share, and the lines an evaluator
//! answers with.
//!
//! Role: one definition of "which messages" for the parent (which describes a query) and the
//! evaluator (which runs it): [`QuerySpec::query`] turns a spec into the engine's [`Query`]
//! given the compiled predicates. Requests and answers are JSON lines (`serde_json::Value`, so
//! the crate needs no derive macros).
//!
//! # Invariants
//! - `QuerySpec::from_json(&spec.to_json()) == spec` for every spec (tested).
//! - A request is one line; an answer is any number of item lines, then exactly one final line
//!   (`end` or `error`). Nothing else is written on the evaluator's output.
//!
//! Spec: `spec/API.md` §5.4.

use crate::error::{Error, ErrorKind};
use crate::follow::{GapPolicy, Start};
use crate::query::{DamagePolicy, End, Predicate, Query};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A query as data: what [`Query`] holds, minus what cannot cross a pipe (predicates are
/// expression strings, the deadline a duration from when the evaluator starts the query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySpec {
    /// Where reading starts. `Last(n)` is the last `n` *matching* messages.
    pub start: Start,
    /// Every tag must be present.
    pub tags: Vec<String>,
    /// Only messages appended at or after this time (Unix ns).
    pub since_ns: Option<u64>,
    /// `where` expressions, compiled by the evaluator; every one must pass.
    pub wheres: Vec<String>,
    /// At most this many messages.
    pub limit: Option<u64>,
    /// Evictions before reading: report or fail.
    pub gap: GapPolicy,
    /// Damaged payloads: report or fail.
    pub damage: DamagePolicy,
    /// After history, wait for later messages.
    pub live: bool,
    /// Stop waiting this long after the query starts.
    pub timeout: Option<Duration>,
    /// End at the first moment when at least one message was delivered and no further item is
    /// available without waiting (a "wait for something" call); the outcome's `end` is then
    /// `None`.
    pub first_batch: bool,
}

impl Default for QuerySpec {
    fn default() -> QuerySpec {
        QuerySpec {
            start: Start::Live,
            tags: Vec::new(),
            since_ns: None,
            wheres: Vec::new(),
            limit: None,
            gap: GapPolicy::Continue,
            damage: DamagePolicy::Report,
            live: true,
            timeout: None,
            first_batch: false,
        }
    }
}

impl QuerySpec {
    /// The engine's query, with `predicates` (the compiled [`QuerySpec::wheres`]) and the
    /// deadline counted from now.
    pub fn query(&self, predicates: Vec<Arc<dyn Predicate>>) -> Query {
        Query {
            start: self.start,
            tags: self.tags.clone(),
            since_ns: self.since_ns,
            predicates,
            limit: self.limit,
            gap: self.gap,
            damage: self.damage,
            live: self.live,
            deadline: self.timeout.and_then(|t| Instant::now().checked_add(t)),
            ..Query::default()
        }
    }

    /// The spec as JSON.
    pub fn to_json(&self) -> Value {
        let (kind, n) = match self.start {
            Start::Oldest => ("oldest", 0),
            Start::Seq(s) => ("seq", s),
            Start::After(s) => ("after", s),
            Start::Time(t) => ("time", t),
            Start::Last(n) => ("last", n),
            Start::Live => ("live", 0),
        };
        json!({
            "start": [kind, n],
            "tags": self.tags,
            "since_ns": self.since_ns,
            "where": self.wheres,
            "limit": self.limit,
            "gap_stop": self.gap == GapPolicy::Stop,
            "damage_stop": self.damage == DamagePolicy::Stop,
            "live": self.live,
            "timeout_ns": self.timeout.map(|t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)),
            "first_batch": self.first_batch,
        })
    }

    /// A spec from [`QuerySpec::to_json`]'s form; Usage when it is not that.
    pub fn from_json(v: &Value) -> Result<QuerySpec, Error> {
        let bad = |what: &str| {
            Error::new(ErrorKind::Usage, format!("malformed query: {what}"))
                .with_hint("Send the query as QuerySpec::to_json writes it.")
        };
        let start = v
            .get("start")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("start"))?;
        let n = start
            .get(1)
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("start"))?;
        let start = match start.first().and_then(Value::as_str) {
            Some("oldest") => Start::Oldest,
            Some("seq") => Start::Seq(n),
            Some("after") => Start::After(n),
            Some("time") => Start::Time(n),
            Some("last") => Start::Last(n),
            Some("live") => Start::Live,
            _ => return Err(bad("start")),
        };
        let strings = |key: &str| -> Result<Vec<String>, Error> {
            v.get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| bad(key))?
                .iter()
                .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| bad(key)))
                .collect()
        };
        let number = |key: &str| -> Result<Option<u64>, Error> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(n) => n.as_u64().map(Some).ok_or_else(|| bad(key)),
            }
        };
        let flag = |key: &str| v.get(key).and_then(Value::as_bool).ok_or_else(|| bad(key));
        Ok(QuerySpec {
            start,
            tags: strings("tags")?,
            since_ns: number("since_ns")?,
            wheres: strings("where")?,
            limit: number("limit")?,
            gap: if flag("gap_stop")? {
                GapPolicy::Stop
            } else {
                GapPolicy::Continue
            },
            damage: if flag("damage_stop")? {
                DamagePolicy::Stop
            } else {
                DamagePolicy::Report
            },
            live: flag("live")?,
            timeout: number("timeout_ns")?.map(Duration::from_nanos),
            first_batch: flag("first_batch")?,
        })
    }
}

/// How a query ended, on the wire.
pub(super) fn end_name(end: Option<End>) -> Value {
    match end {
        Some(End::Limit) => json!("limit"),
        Some(End::CaughtUp) => json!("caught_up"),
        Some(End::Deadline) => json!("deadline"),
        Some(End::Cancelled) => json!("cancelled"),
        None => Value::Null,
    }
}

/// [`end_name`] read back.
pub(super) fn end_of(v: &Value) -> Option<End> {
    match v.as_str()? {
        "limit" => Some(End::Limit),
        "caught_up" => Some(End::CaughtUp),
        "deadline" => Some(End::Deadline),
        "cancelled" => Some(End::Cancelled),
        _ => None,
    }
}

/// An error as the evaluator sends it: its kind, message and hint (path, seq and offset are
/// the parent's to add; it knows them).
pub(super) fn error_json(e: &Error) -> Value {
    json!({
        "kind": e.kind().as_str(),
        "message": e.message(),
        "hint": e.hint(),
        "seq": e.seq(),
        "offset": e.offset(),
    })
}

/// [`error_json`] read back; an unknown kind is Internal.
pub(super) fn error_of(v: &Value) -> Error {
    let name = v.get("kind").and_then(Value::as_str).unwrap_or("");
    let kind = ErrorKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .unwrap_or(ErrorKind::Internal);
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the evaluator failed without saying why");
    let mut e = Error::new(kind, message);
    if let Some(h) = v.get("hint").and_then(Value::as_str) {
        e = e.with_hint(h);
    }
    if let Some(s) = v.get("seq").and_then(Value::as_u64) {
        e = e.with_seq(s);
    }
    if let Some(o) = v.get("offset").and_then(Value::as_u64) {
        e = e.with_offset(o);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_survives_its_json_form() {
        let starts = [
            Start::Oldest,
            Start::Seq(3),
            Start::After(u64::MAX),
            Start::Time(7),
            Start::Last(20),
            Start::Live,
        ];
        for start in starts {
            let spec = QuerySpec {
                start,
                tags: vec!["a".into(), "b c".into()],
                since_ns: Some(5),
                wheres: vec![".data.x == 1".into()],
                limit: Some(9),
                gap: GapPolicy::Stop,
                damage: DamagePolicy::Stop,
                live: false,
                timeout: Some(Duration::from_millis(1500)),
                first_batch: true,
            };
            assert_eq!(QuerySpec::from_json(&spec.to_json()).unwrap(), spec);
        }
        let plain = QuerySpec::default();
        assert_eq!(QuerySpec::from_json(&plain.to_json()).unwrap(), plain);
    }

    #[test]
    fn a_malformed_spec_is_a_usage_error() {
        let mut v = QuerySpec::default().to_json();
        v["start"] = json!(["sideways", 1]);
        let e = QuerySpec::from_json(&v).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(QuerySpec::from_json(&json!(null)).is_err());
    }

    #[test]
    fn errors_keep_kind_message_hint_and_location_across_the_wire() {
        let e = Error::new(ErrorKind::Corrupt, "bad")
            .with_hint("h")
            .with_seq(4)
            .with_offset(64);
        let back = error_of(&error_json(&e));
        assert_eq!(back.kind(), ErrorKind::Corrupt);
        assert_eq!((back.message(), back.hint()), ("bad", Some("h")));
        assert_eq!((back.seq(), back.offset()), (Some(4), Some(64)));
    }
}
