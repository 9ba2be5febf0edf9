//! A tail's query-string parameters: where it starts, when it ends, what it keeps.
//!
//! # Invariants
//! - At most one start (`since_seq`, `last`, `since_time`) is given; a `Last-Event-ID` resume
//!   overrides them.
//! - A `timeout_ms` above the server's limit is refused, never clamped silently.
//!
//! Spec: `spec/HTTP.md` §4.3.

use crate::serve::http::{self, usage};
use plasmite_os::{Error, Start};
use std::time::Duration;

/// The parameters of a tail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// `since_seq`: the first sequence wanted.
    pub since_seq: Option<u64>,
    /// `last`: the last N matching messages, then live (an extension; 0 is the live edge).
    pub last: Option<u64>,
    /// `since_time`: the first message appended at or after this time, Unix ns (an
    /// extension; RFC 3339 or a relative `5m`).
    pub since_time: Option<u64>,
    /// `max`: stop after this many messages.
    pub max: Option<u64>,
    /// `timeout_ms`.
    pub timeout: Duration,
    /// `gap_policy=error`.
    pub gap_error: bool,
    /// `tag`, repeatable.
    pub tags: Vec<String>,
    /// `where`, repeatable.
    pub wheres: Vec<String>,
}

impl Params {
    /// Parses a tail's query string; `max_timeout` is the server's limit (and default).
    pub fn parse(query: Option<&str>, max_timeout: Duration) -> Result<Params, Error> {
        let mut p = Params {
            timeout: max_timeout,
            ..Params::default()
        };
        let number = |k: &str, v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| usage(format!("invalid {k} '{v}'"), "Give a non-negative integer."))
        };
        for (k, v) in http::query_pairs(query)? {
            match k.as_str() {
                "since_seq" => p.since_seq = Some(number(&k, &v)?),
                "since_time" => {
                    let now = plasmite_os::now_ns();
                    p.since_time = Some(plasmite_os::time::since_named("since_time", &v, now)?);
                }
                "last" => p.last = Some(number(&k, &v)?),
                "max" => p.max = Some(number(&k, &v)?),
                "timeout_ms" => {
                    let t = Duration::from_millis(number(&k, &v)?);
                    if t > max_timeout {
                        return Err(usage(
                            "tail timeout exceeds server limit",
                            &format!(
                                "Use timeout_ms of at most {} (the server's \
                                 --max-tail-timeout-ms), and reconnect to go on.",
                                max_timeout.as_millis()
                            ),
                        ));
                    }
                    p.timeout = t;
                }
                "gap_policy" => {
                    p.gap_error = match v.as_str() {
                        "continue" => false,
                        "error" => true,
                        _ => {
                            return Err(usage(
                                format!("invalid gap_policy '{v}'"),
                                "Use gap_policy=continue or gap_policy=error.",
                            ));
                        }
                    };
                }
                "tag" => {
                    let t = v.trim();
                    if !t.is_empty() {
                        p.tags.push(t.to_owned());
                    }
                }
                "where" if !v.trim().is_empty() => p.wheres.push(v),
                _ => {}
            }
        }
        let starts = [
            p.since_seq.is_some(),
            p.last.is_some(),
            p.since_time.is_some(),
        ];
        if starts.iter().filter(|s| **s).count() > 1 {
            return Err(usage(
                "since_seq, since_time and last cannot be used together",
                "Use since_seq to start at a sequence, since_time at a time, or last=N for \
                 the N latest messages.",
            ));
        }
        Ok(p)
    }

    pub(super) fn start(&self, resume_after: Option<u64>) -> Start {
        match (resume_after, self.since_seq, self.last, self.since_time) {
            (Some(s), _, _, _) => Start::After(s),
            (None, Some(s), _, _) => Start::Seq(s),
            (None, None, Some(n), _) => Start::Last(n),
            (None, None, None, Some(t)) => Start::Time(t),
            (None, None, None, None) => Start::Oldest,
        }
    }
}
