//! `follow` of a remote pool (`http(s)://host:port/pool`): the messages come from a
//! `crate::remote::tail::Follower` and go through the local follow's printer, drop notices and
//! `--one`/`--tail`/`--timeout` rules.
//!
//! # Invariants
//! - History (the last N, or since a time) is printed in full, then live messages; a resumed
//!   connection repeats nothing (the follower resumes after the last sequence it delivered).
//! - Predicates the server does not evaluate (`--where` on a server without it, sender
//!   suppression) are applied here, to each message.
//!
//! Spec: `spec/CLI.md` §4.

use super::*;

/// What a remote follow (or duplex) refuses: `--create`, `--replay`.
pub fn check_remote(m: &Matches, a: &Args<'_>) -> Result<(), Error> {
    let c = Some(m.command);
    let cmd = m.command.path.join(" ");
    if a.create {
        return Err(usage(format!("remote {cmd} does not support --create"), c)
            .with_hint("Create the pool on the server first (pls pool create NAME there)."));
    }
    if a.replay.is_some() {
        return Err(usage(format!("remote {cmd} does not support --replay"), c));
    }
    Ok(())
}

/// Starts a remote follow per `a` (live, `--tail N` or `--since`), `tags` and `wheres` selected
/// by the server.
pub fn remote_source(
    pool: crate::remote::RemotePool,
    a: &Args<'_>,
    tags: &[String],
    wheres: &[String],
) -> Result<crate::remote::tail::Follower, Error> {
    use crate::remote::tail::{Follower, From};
    let from = match (a.since, a.tail.unwrap_or(0)) {
        (Some(t), _) => {
            if !pool.client().health().has("tail_since_time") {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "this server does not support --since for remote follow",
                )
                .with_hint("Use --tail N instead, or a pls serve server."));
            }
            From::Time(t)
        }
        (None, 0) => From::Live,
        (None, n) => From::Last(n),
    };
    Follower::start(pool, from, tags, wheres)
}

/// Follows a remote pool's messages from `src` as [`follow`] does a local pool's: history (the
/// last N, or since a time) in full, then live; `--one`, `--timeout`, drop notices. Messages
/// are checked by `matcher`'s local predicates (sender suppression, and `--where` when the
/// server does not evaluate it).
pub fn follow_remote(
    ui: &Ui,
    src: &crate::remote::tail::Follower,
    url: &str,
    a: &Args<'_>,
    matcher: &Matcher,
    template: Option<minijinja::Environment<'static>>,
    stop: Option<&Cancel>,
) -> Result<u8, Error> {
    print_follow(ui, a, template, url.to_owned(), |emitter, drops, out| {
        remote_loop(src, a, matcher, stop, emitter, drops, out)
    })
}

/// How long a remote follow's history may pause before it counts as complete (the server
/// sends history without pauses; a filtered history may end before the newest message).
const HISTORY_IDLE: Duration = Duration::from_millis(150);

fn remote_loop(
    src: &crate::remote::tail::Follower,
    a: &Args<'_>,
    matcher: &Matcher,
    stop: Option<&Cancel>,
    emitter: &mut Emitter<'_>,
    drops: &mut Drops<'_>,
    out: &mut impl Write,
) -> Result<u8, Error> {
    use crate::remote::tail::Event;
    let tail = a.tail.unwrap_or(0);
    let history_end = src.history_end();
    let mut history = history_end.is_some();
    let predicates = matcher.predicates();
    let mut kept: Option<Message> = None;
    let mut matched = 0u64;
    let mut last_emit = Instant::now();
    // The newest message of history has been read: history is complete without waiting.
    let mut through_end = false;
    loop {
        let next = if history && through_end {
            None
        } else {
            src.try_next()?
        };
        let event = match next {
            Some(e) => Some(e),
            None if history && through_end => None,
            None => {
                emitter.flush(out)?;
                let mut wait = if history {
                    Some(HISTORY_IDLE)
                } else {
                    match a.timeout {
                        Some(t) => {
                            let left = t.saturating_sub(last_emit.elapsed());
                            if left.is_zero() {
                                return Ok(TIMEOUT_EXIT);
                            }
                            Some(left)
                        }
                        None => None,
                    }
                };
                if stop.is_some() {
                    wait = Some(wait.map_or(Duration::from_millis(100), |w| {
                        w.min(Duration::from_millis(100))
                    }));
                }
                src.next(wait)?
            }
        };
        if stop.is_some_and(Cancel::is_cancelled) {
            return Ok(0);
        }
        let ends_history = match &event {
            None => history,
            Some(Event::Message(m)) => history && history_end.is_some_and(|e| m.seq > e),
            Some(Event::Gap { .. }) => false,
        };
        if ends_history {
            history = false;
            last_emit = Instant::now();
            if a.one && matched >= tail.max(1) {
                if let Some(k) = kept.take() {
                    emit_message(&k, emitter, out)?;
                }
                return Ok(0);
            }
            kept = None;
        }
        let msg = match event {
            None => continue,
            Some(Event::Gap {
                first_missing,
                count,
            }) => {
                drops.gap(first_missing, count);
                continue;
            }
            Some(Event::Message(m)) => m,
        };
        drops.seen(msg.seq);
        if history && history_end.is_some_and(|e| msg.seq >= e) {
            through_end = true;
        }
        let view = msg.view();
        let mut pass = true;
        for p in &predicates {
            if !p.matches(&view).unwrap_or(false) {
                pass = false;
                break;
            }
        }
        if !pass {
            continue;
        }
        matched += 1;
        if history && a.one {
            kept = Some(msg);
            continue;
        }
        if a.one && !history && matched < tail {
            continue;
        }
        emit_message(&msg, emitter, out)?;
        if !history {
            last_emit = Instant::now();
        }
        if a.one {
            return Ok(0);
        }
    }
}

fn emit_message(
    msg: &Message,
    emitter: &mut Emitter<'_>,
    out: &mut impl Write,
) -> Result<(), Error> {
    emitter.emit(&msg.printed())?;
    emitter.spill(out)
}
