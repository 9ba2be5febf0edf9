//! `pls follow POOL`: print messages as they arrive — live by default, or from the last N, or
//! since a time; filtered by tags and jq predicates; as pretty JSON, JSON lines, data only or
//! through a template.
//!
//! Role: the follow command as a formatter over a `plasmite_os::Query`, which selects (tags on
//! the raw Lite³ bytes, `--where` as a predicate), reads history and waits; this module prints
//! messages, drop notices and `corrupt` notices for damaged payloads. A remote pool's messages
//! come from `crate::remote::tail::Follower` instead and go through the same printer, drop
//! notices and `--one`/`--tail`/`--timeout` rules (`remote`).
//!
//! # Invariants
//! - Plain `follow` prints only messages appended after it started — also on a full ring.
//! - `--tail N` prints the last N *matching* messages once, then goes live; nothing is printed
//!   twice, even after being overtaken by writers (a drop notice reports the gap).
//! - `--timeout` exits 124 when nothing was printed for that long after history, which is
//!   always printed in full; memory stays bounded by N.
//! - A damaged payload is a `corrupt` notice on stderr, and following goes on.
//!
//! Spec: `spec/CLI.md` §2.7.

mod output;
#[cfg(feature = "remote")]
mod remote;

#[cfg(feature = "remote")]
pub use remote::{check_remote, follow_remote, remote_source};

use crate::args::{Matches, usage};
use crate::cmd::pool;
use crate::ui::Ui;
use crate::values;
use output::{Drops, Emitter, damaged, print_follow};
use plasmite_os::filter::{Filter, FilterError};
use plasmite_os::query::PayloadCheck;
use plasmite_os::{
    Cancel, CreateOptions, Error, ErrorKind, Item, Message, MessageView, Pool, Predicate, Query,
    Start, now_ns,
};
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Exit code when `--timeout` passes with nothing printed.
pub const TIMEOUT_EXIT: u8 = 124;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Pretty,
    Jsonl,
}

/// What `follow` was asked to do. `duplex` parses its flags (a subset) with the same [`parse`].
pub struct Args<'a> {
    /// The pool reference as typed.
    pub pool: &'a str,
    tail: Option<u64>,
    /// `--since`, in nanoseconds.
    pub since: Option<u64>,
    one: bool,
    format: Format,
    data_only: bool,
    template: Option<&'a str>,
    timeout: Option<Duration>,
    replay: Option<f64>,
    /// `--create`.
    pub create: bool,
    quiet_drops: bool,
    notify: bool,
    /// Without `--tail`/`--since`: start after this sequence rather than at the live edge when
    /// following starts (duplex fixes its live edge before its sender appends anything).
    pub live_after: Option<u64>,
}

/// Reads follow's flags from `m` (absent ones take their defaults).
pub fn parse<'a>(m: &'a Matches) -> Result<Args<'a>, Error> {
    let c = Some(m.command);
    pool::check_remote_flags(m, m.command.path.join(" ").as_str())?;
    if m.has("jsonl") && m.has("format") {
        return Err(usage("conflicting output options", c)
            .with_hint("Use either --jsonl or --format, not both."));
    }
    let format = match (m.has("jsonl"), m.value("format")) {
        (true, _) | (false, Some("jsonl")) => Format::Jsonl,
        (false, None | Some("pretty")) => Format::Pretty,
        (false, Some(other)) => {
            return Err(
                usage(format!("invalid --format '{other}'"), c).with_hint("Use pretty or jsonl.")
            );
        }
    };
    if m.has("tail") && m.has("since") {
        return Err(usage("--since cannot be used with --tail", c));
    }
    let tail = m
        .value("tail")
        .map(|s| values::count("--tail", s))
        .transpose()?;
    let since = m
        .value("since")
        .map(|s| values::since(s, now_ns()))
        .transpose()?;
    let replay = match m.value("replay") {
        None => None,
        Some(s) => {
            let speed: f64 = s.trim().parse().map_err(|_| {
                usage(format!("invalid --replay '{s}'"), c).with_hint("Use a number like 1 or 2.5.")
            })?;
            if !speed.is_finite() {
                return Err(usage("--replay speed must be a finite number", c));
            }
            if speed < 0.0 {
                return Err(usage("--replay speed must be non-negative", c));
            }
            if tail.is_none() && since.is_none() {
                return Err(usage("--replay requires --tail or --since", c));
            }
            Some(speed)
        }
    };
    Ok(Args {
        pool: m.positional(0).unwrap_or_default(),
        tail,
        since,
        one: m.has("one"),
        format,
        data_only: m.has("data-only"),
        template: m.value("template"),
        timeout: m
            .value("timeout")
            .map(|s| values::duration("--timeout", s))
            .transpose()?,
        replay,
        create: m.has("create"),
        quiet_drops: m.has("quiet-drops"),
        notify: !m.has("no-notify"),
        live_after: None,
    })
}

/// Which messages are printed: not one's own (duplex), tags (on the raw bytes), then jq
/// predicates (on the envelope) — turned into a [`Query`]'s filters.
#[derive(Default)]
pub struct Matcher {
    /// Hides the messages this process sent (duplex without `--echo-self`).
    pub hide: Option<Arc<dyn Predicate>>,
    /// Every tag must be present.
    pub tags: Vec<String>,
    /// The `--where` predicates.
    pub filter: Option<Arc<dyn Predicate>>,
}

impl Matcher {
    /// The query's predicates, in the order they run: sender suppression, then `--where`.
    fn predicates(&self) -> Vec<Arc<dyn Predicate>> {
        let mut p = Vec::new();
        if let Some(h) = &self.hide {
            p.push(Arc::clone(h));
        }
        if let Some(f) = &self.filter {
            p.push(Arc::clone(f));
        }
        p
    }
}

/// Runs `follow`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path, argv: &[String]) -> Result<u8, Error> {
    let a = parse(m)?;
    let wheres: Vec<String> = m.values("where").into_iter().map(str::to_owned).collect();
    let filter = if wheres.is_empty() {
        None
    } else {
        Some(Arc::new(Filter::compile(&wheres).map_err(|e| {
            usage(FilterError::MESSAGE, Some(m.command)).with_hint(e.labelled("`--where`"))
        })?) as Arc<dyn Predicate>)
    };
    let template = a
        .template
        .map(|t| {
            let mut env = minijinja::Environment::new();
            env.add_template_owned("line", t.to_owned()).map_err(|e| {
                usage(format!("invalid --template: {e}"), Some(m.command))
                    .with_hint("Templates use {{ … }}, e.g. '{{ seq }} {{ data.msg }}'.")
            })?;
            Ok::<_, Error>(env)
        })
        .transpose()?;
    let matcher = Matcher {
        hide: None,
        tags: m.values("tag").into_iter().map(str::to_owned).collect(),
        filter,
    };
    #[cfg(feature = "remote")]
    if let Some(r) = pool::remote_ref(a.pool)? {
        check_remote(m, &a)?;
        let remote = pool::open_remote(&r, m)?;
        let mut matcher = matcher;
        // `where` runs on the server when it can; otherwise here, on each message.
        let pushed: &[String] = if remote.client().health().has("tail_where") {
            matcher.filter = None;
            &wheres
        } else {
            &[]
        };
        if a.since.is_some_and(|t| t > now_ns()) {
            return Ok(0);
        }
        let url = remote.url().to_owned();
        let src = remote_source(remote, &a, &matcher.tags, pushed)?;
        return follow_remote(ui, &src, &url, &a, &matcher, template, None);
    }
    let create = a.create.then(CreateOptions::default);
    let pool = pool::open(
        pool_dir,
        a.pool,
        create,
        (!a.create).then(|| pool::retry_with_create(argv)),
    )?;
    if a.since.is_some_and(|t| t > now_ns()) {
        return Ok(0);
    }
    follow(ui, &pool, &a, &matcher, template, None)
}

/// Follows `pool` per `a`, printing what `matcher` passes, until `--one`, `--timeout`, a closed
/// stdout, or — when given — `stop` is raised (seen within the follower's park bound).
pub fn follow(
    ui: &Ui,
    pool: &Pool,
    a: &Args<'_>,
    matcher: &Matcher,
    template: Option<minijinja::Environment<'static>>,
    stop: Option<&Cancel>,
) -> Result<u8, Error> {
    let follow = Follow {
        a,
        pool,
        matcher,
        stop,
    };
    print_follow(
        ui,
        a,
        template,
        pool.path().display().to_string(),
        |emitter, drops, out| follow.run(emitter, drops, out),
    )
}

struct Follow<'a> {
    a: &'a Args<'a>,
    pool: &'a Pool,
    matcher: &'a Matcher,
    stop: Option<&'a Cancel>,
}

impl Follow<'_> {
    fn query(&self, check: PayloadCheck) -> Query {
        let a = self.a;
        let start = match (a.since, a.tail.unwrap_or(0)) {
            (Some(t), _) => Start::Time(t),
            (None, 0) => a.live_after.map_or(Start::Live, Start::After),
            (None, n) => Start::Last(n),
        };
        Query {
            start,
            tags: self.matcher.tags.clone(),
            predicates: self.matcher.predicates(),
            cancel: self.stop.cloned(),
            notify: a.notify,
            check,
            ..Query::default()
        }
    }

    /// History (what was committed at the start: the last N matching, or everything since a
    /// time) is delivered in full — `--timeout` starts counting after it — then live messages.
    fn run(
        &self,
        emitter: &mut Emitter<'_>,
        drops: &mut Drops<'_>,
        out: &mut impl Write,
    ) -> Result<u8, Error> {
        let a = self.a;
        let tail = a.tail.unwrap_or(0);
        // --replay and --one decide what to print once history is complete.
        let hold = a.replay.is_some() || a.one;
        // Printing a message at once decodes all of it: the printer's walk is the damage check,
        // and a message it finds damaged becomes the query's damage notice (nothing of it is
        // printed). Held messages are checked by the query, before they are kept.
        let check = if !hold && emitter.prints_directly() {
            PayloadCheck::Consumer
        } else {
            PayloadCheck::Query
        };
        let mut s = self.query(check).run(self.pool)?;
        let history_end = s.history_end();
        let mut kept: VecDeque<Message> = VecDeque::new();
        let mut matched = 0u64;
        let mut history = history_end.is_some();
        let mut last_emit = Instant::now();
        loop {
            if s.ended().is_some() {
                emitter.flush(out)?;
                return Ok(0);
            }
            let item = if history {
                s.poll()?
            } else {
                let wait = match a.timeout {
                    Some(t) => {
                        let left = t.saturating_sub(last_emit.elapsed());
                        if left.is_zero() {
                            return Ok(TIMEOUT_EXIT);
                        }
                        Some(left)
                    }
                    None => None,
                };
                // Output is written out only before waiting: a burst is one write.
                s.next_or(wait, || emitter.flush(out))?
            };
            if item.is_none() && self.stop.is_some_and(Cancel::is_cancelled) {
                emitter.flush(out)?;
                return Ok(0);
            }
            let is_history = history
                && item
                    .as_ref()
                    .is_some_and(|i| history_end.is_some_and(|e| i.last_seq() <= e));
            if history && !is_history {
                // History is complete.
                history = false;
                last_emit = Instant::now();
                if let Some(speed) = a.replay {
                    return self.replay(kept, speed, emitter, out);
                }
                if a.one && matched >= tail.max(1) {
                    if let Some(k) = kept.pop_back() {
                        self.emit(&k.view(), emitter, out)?;
                    }
                    return Ok(0);
                }
                kept.clear();
            }
            let Some(item) = item else { continue };
            let msg = match item {
                Item::Gap {
                    first_missing,
                    count,
                } => {
                    drops.gap(first_missing, count);
                    continue;
                }
                Item::Damaged(d) => {
                    damaged(emitter.ui, a.pool, &d);
                    drops.seen(d.seq);
                    continue;
                }
                Item::Message(msg) => msg,
            };
            drops.seen(msg.seq);
            matched += 1;
            if is_history && hold {
                kept.push_back(msg.to_message());
                if a.replay.is_none() && kept.len() > 1 {
                    kept.pop_front();
                }
                continue;
            }
            if a.one && !is_history && matched < tail {
                continue;
            }
            let (seq, offset) = (msg.seq, msg.offset);
            match self.emit(&msg, emitter, out) {
                Ok(()) => {}
                Err(e) if check == PayloadCheck::Consumer && e.kind() == ErrorKind::Corrupt => {
                    let d = s.damage(seq, offset, e)?;
                    damaged(emitter.ui, a.pool, &d);
                    continue;
                }
                Err(e) => return Err(e),
            }
            if !is_history {
                last_emit = Instant::now();
            }
            if a.one {
                return Ok(0);
            }
        }
    }

    fn emit(
        &self,
        msg: &MessageView<'_>,
        emitter: &mut Emitter<'_>,
        out: &mut impl Write,
    ) -> Result<(), Error> {
        emitter
            .emit(&msg.printed())
            .map_err(|e| msg.locate(e).with_path(self.pool.path()))?;
        emitter.spill(out)
    }

    /// Emits history with its original timing divided by `speed` (0: no delay), then exits.
    fn replay(
        &self,
        kept: VecDeque<Message>,
        speed: f64,
        emitter: &mut Emitter<'_>,
        out: &mut impl Write,
    ) -> Result<u8, Error> {
        let mut prev: Option<u64> = None;
        for k in kept {
            if let (Some(p), true) = (prev, speed > 0.0) {
                let gap = k.timestamp_ns.saturating_sub(p) as f64 / speed;
                emitter.flush(out)?;
                std::thread::sleep(Duration::from_nanos(gap.min(1e18) as u64));
            }
            prev = Some(k.timestamp_ns);
            self.emit(&k.view(), emitter, out)?;
            if self.a.one {
                break;
            }
        }
        Ok(0)
    }
}
