//! `pls feed POOL [DATA]`: append JSON messages — one inline, or a stream from a file or stdin.
//!
//! Role: reads records ([`plasmite_os::ingest`]) on a reader thread, encodes each into a Lite³
//! envelope outside the lock (for a remote pool: its JSON text), and hands them to a
//! [`Batcher`] over a [`Sink`] — the local pool (batches under one lock acquisition each, with
//! `--retry`) or a remote pool's (`crate::remote`) — printing a receipt per record.
//!
//! # Invariants
//! - A bad record in stop mode reports its kind and line; every record before it is appended,
//!   nothing after it is written.
//! - In skip mode every rejected record gets a notice and the command exits 1 at the end; the
//!   records around it are appended.
//! - Receipts come in input order, one per appended record.
//!
//! Spec: `spec/CLI.md` §2.5.

mod reader;

pub use reader::stdin_may_wait;

use crate::args::{Matches, usage};
use crate::cmd::pool;
use crate::progress::Progress;
use crate::ui::{Ui, closed};
use crate::values;
use plasmite_os::append::{Retry, Sink};
use plasmite_os::ingest::{Mode, Policy, RejectKind, Rejected};
use plasmite_os::message::{encode, rfc3339};
use plasmite_os::{Batcher, CreateOptions, Durability, Error, ErrorKind};
use reader::{Parsed, READ_AHEAD, Reader};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{TryRecvError, sync_channel};
use std::time::Duration;

/// What `feed` was asked to do (also built by `duplex` for its piped input).
pub struct Args<'a> {
    /// The pool reference as typed.
    pub pool: &'a str,
    /// Inline DATA.
    pub data: Option<&'a str>,
    /// `--tag`s.
    pub tags: Vec<&'a str>,
    /// `--file`.
    pub file: Option<&'a str>,
    /// `--in`.
    pub mode: Mode,
    /// `--errors`.
    pub policy: Policy,
    /// `--durability`.
    pub durability: Durability,
    /// `--create` (with `--create-size`).
    pub create: Option<CreateOptions>,
    /// `--retry`.
    pub retry: u64,
    /// `--retry-delay`.
    pub retry_delay: Duration,
    /// What the sink takes as a payload.
    pub payloads: Payloads,
}

/// The form of the payloads a sink takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Payloads {
    /// Lite³ envelopes with the tags ([`encode`]): pools, and sinks that decode them.
    #[default]
    Lite3,
    /// The record's JSON text (an object); the sink adds the tags. A remote pool takes
    /// records as JSON, so they are neither encoded nor printed again on the way.
    Json,
}

/// `value` as a payload of form `payloads` of at most `max` bytes; the error [`encode`]
/// gives for what cannot be a message.
pub fn payload(
    value: &Value,
    tags: &[&str],
    max: usize,
    payloads: Payloads,
) -> Result<Vec<u8>, Error> {
    if payloads == Payloads::Json && value.is_object() {
        let text = serde_json::to_vec(value).unwrap_or_default();
        if text.len() <= max {
            return Ok(text);
        }
        // Larger as text than the limit: the message may still fit; encoding decides.
        encode(value, tags, max)?;
        return Ok(text);
    }
    encode(value, tags, max)
}

impl<'a> Args<'a> {
    /// A stream of records from stdin into `pool` with every default: auto-detected format,
    /// stop at the first bad record, fast durability, no tags, no retries.
    pub fn stream_defaults(pool: &'a str) -> Args<'a> {
        Args {
            pool,
            data: None,
            tags: Vec::new(),
            file: None,
            mode: Mode::Auto,
            policy: Policy::Stop,
            durability: Durability::Fast,
            create: None,
            retry: 0,
            retry_delay: DEFAULT_RETRY_DELAY,
            payloads: Payloads::Lite3,
        }
    }
}

const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(50);

pub fn parse<'a>(m: &'a Matches) -> Result<Args<'a>, Error> {
    let c = Some(m.command);
    pool::check_remote_flags(m, "feed")?;
    let mode = match m.value("in").unwrap_or("auto") {
        "auto" => Mode::Auto,
        "jsonl" => Mode::Jsonl,
        "json" => Mode::Json,
        "seq" => Mode::Seq,
        "jq" => Mode::Jq,
        other => {
            return Err(usage(format!("invalid --in '{other}'"), c)
                .with_hint("Use auto, jsonl, json, seq or jq."));
        }
    };
    let policy = match m.value("errors").unwrap_or("stop") {
        "stop" => Policy::Stop,
        "skip" => Policy::Skip,
        other => {
            return Err(
                usage(format!("invalid --errors '{other}'"), c).with_hint("Use stop or skip.")
            );
        }
    };
    if matches!(mode, Mode::Jq) && matches!(policy, Policy::Skip) {
        return Err(
            usage("--in jq does not support --errors skip", c).with_hint(
                "Use --in jsonl (one value per line) to skip bad records, or --errors stop.",
            ),
        );
    }
    let data = m.positional(1);
    let file = m.value("file");
    if data.is_some() && file.is_some() {
        return Err(usage("DATA and --file cannot be used together", c));
    }
    let create = pool::create_options(m)?;
    let retry = m
        .value("retry")
        .map(|s| values::count("--retry", s))
        .transpose()?
        .unwrap_or(0);
    if m.has("retry-delay") && retry == 0 {
        return Err(usage("--retry-delay requires --retry greater than 0", c));
    }
    Ok(Args {
        pool: m.positional(0).unwrap_or_default(),
        data,
        tags: m.values("tag"),
        file,
        mode,
        policy,
        durability: m
            .value("durability")
            .map(values::durability)
            .transpose()?
            .unwrap_or_default(),
        create,
        retry,
        retry_delay: m
            .value("retry-delay")
            .map(|s| values::duration("--retry-delay", s))
            .transpose()?
            .unwrap_or(DEFAULT_RETRY_DELAY),
        payloads: Payloads::Lite3,
    })
}

/// Runs `feed`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path, argv: &[String]) -> Result<u8, Error> {
    #[cfg_attr(not(feature = "remote"), allow(unused_mut))]
    let mut a = parse(m)?;
    // Inline DATA is checked before the pool is opened, so a bad one creates nothing.
    let data: Option<Value> = match a.data {
        Some(text) => {
            let value: Value = serde_json::from_str(text).map_err(|e| {
                Error::new(ErrorKind::Usage, format!("invalid json input: {e}"))
                    .with_hint("DATA must be one JSON object, e.g. '{\"msg\":\"hi\"}'.")
            })?;
            if !value.is_object() {
                // The same error the encode gives, before anything is created.
                encode(&value, &a.tags, usize::MAX)?;
            }
            Some(value)
        }
        None => None,
    };
    let input: Option<(Box<dyn Read + Send>, bool)> = match (&data, a.file) {
        (Some(_), _) => None,
        (None, Some("-")) => Some((Box::new(std::io::stdin()), stdin_may_wait())),
        (None, Some(path)) => {
            let file = std::fs::File::open(path).map_err(|e| {
                Error::io(e, "failed to open input file", Path::new(path))
                    .with_hint("Check the input file's path and permissions (use - for stdin).")
            })?;
            let may_wait = !file.metadata().is_ok_and(|m| m.is_file());
            Some((Box::new(file), may_wait))
        }
        (None, None) if !ui.stdin_tty => Some((Box::new(std::io::stdin()), stdin_may_wait())),
        (None, None) => return Err(missing_input()),
    };
    #[cfg(feature = "remote")]
    if let Some(r) = pool::remote_ref(a.pool)? {
        if a.create.is_some() {
            return Err(
                usage("remote feed does not support --create", Some(m.command))
                    .with_hint("Create the pool on the server first (pls pool create NAME there)."),
            );
        }
        let remote = pool::open_remote(&r, m)?;
        let sink = remote.json_sink(&a.tags);
        a.payloads = Payloads::Json;
        return deliver(ui, &sink, remote.url(), &a, input, data);
    }
    let pool = pool::open(
        pool_dir,
        a.pool,
        a.create,
        Some(pool::retry_with_create(argv)),
    )?;
    deliver(
        ui,
        &pool,
        &pool.path().display().to_string(),
        &a,
        input,
        data,
    )
}

/// Appends the inline value or the input stream to `sink` (the pool at `pool_path`).
fn deliver(
    ui: &Ui,
    sink: &dyn Sink,
    pool_path: &str,
    a: &Args<'_>,
    input: Option<(Box<dyn Read + Send>, bool)>,
    data: Option<Value>,
) -> Result<u8, Error> {
    match (input, data) {
        (Some((input, may_wait)), _) => stream(ui, sink, pool_path, a, input, may_wait, true),
        (None, value) => {
            let value = value.unwrap_or_default();
            let mut feeder = Feeder::new(ui, sink, pool_path, a, true);
            feeder.push(payload(&value, &a.tags, feeder.max, a.payloads)?)?;
            feeder.flush_batch()?;
            Ok(0)
        }
    }
}

/// Appends every record of `input` (read per `a.mode` and `a.policy`) to `sink` (the pool at
/// `pool_path`: a local [`plasmite_os::Pool`], a remote pool's sink, duplex's recorder),
/// printing a receipt per record when `receipts`, and then also a progress line when stderr
/// is a terminal. Exit code 1 when records were skipped.
pub fn stream(
    ui: &Ui,
    sink: &dyn Sink,
    pool_path: &str,
    a: &Args<'_>,
    input: Box<dyn Read + Send>,
    may_wait: bool,
    receipts: bool,
) -> Result<u8, Error> {
    let mut feeder = Feeder::new(ui, sink, pool_path, a, receipts);
    if receipts && ui.stderr_tty {
        let out: Box<dyn Write> = Box::new(std::io::stderr());
        feeder.progress = Progress::new(Some(out), format!("feeding {}", a.pool));
    }
    let read = feeder.progress.bytes();
    // Records are read, parsed and encoded on a thread of their own, a chunk ahead of the
    // appends: parsing the input overlaps with appending it (for a remote pool, with the
    // server's work). The order of records, and what a bad one stops, are unchanged.
    let (tx, rx) = sync_channel::<Vec<Parsed>>(READ_AHEAD);
    let reader = Reader {
        mode: a.mode,
        policy: a.policy,
        tags: a.tags.iter().map(|t| (*t).to_owned()).collect(),
        max: feeder.max,
        payloads: a.payloads,
        may_wait,
        read,
    };
    std::thread::Builder::new()
        .name("feed-reader".into())
        .spawn(move || reader.run(input, &tx))
        .map_err(|e| {
            Error::new(ErrorKind::Internal, "failed to start the input reader")
                .with_source(e)
                .with_hint("The system is out of threads or memory; retry.")
        })?;
    let mut total = 0u64;
    loop {
        let chunk = match rx.try_recv() {
            Ok(c) => c,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                // When reading the input may wait (a pipe, a terminal), pending records are
                // appended before waiting for more, so a live pipe's records reach the pool
                // (and its followers) as they arrive. A regular file never waits: its batches
                // fill up to the batch limits.
                if may_wait {
                    feeder.flush_batch()?;
                }
                match rx.recv() {
                    Ok(c) => c,
                    Err(_) => break,
                }
            }
        };
        for parsed in chunk {
            feeder.progress.record();
            total += 1;
            match parsed {
                Parsed::Payload(p) => feeder.push(p)?,
                Parsed::Refused(r, e, mode) => feeder.reject(&r, Some(&e), mode)?,
                Parsed::Rejected(r, mode) => feeder.reject(&r, None, mode)?,
                Parsed::Io(e) => {
                    feeder.flush_batch()?;
                    return Err(
                        Error::new(ErrorKind::Io, format!("failed to read input: {e}"))
                            .with_hint("Check the input file or pipe.")
                            .with_source(e),
                    );
                }
            }
        }
    }
    feeder.flush_batch()?;
    feeder.progress.finish();
    if total == 0 {
        return Err(missing_input());
    }
    if feeder.failed > 0 {
        ui.notice(
            "feed",
            "ingest_summary",
            &format!("Finished with {} skipped record(s).", feeder.failed),
            a.pool,
            json!({"failed": feeder.failed, "ok": feeder.ok,
                   "pool_path": pool_path, "total": total}),
        );
        return Ok(1);
    }
    Ok(0)
}

fn missing_input() -> Error {
    Error::new(ErrorKind::Usage, "missing data input")
        .with_hint("Provide JSON via DATA, --file, or pipe JSON to stdin.")
}

struct Feeder<'a> {
    ui: &'a Ui,
    /// The pool's path (local) or URL (remote), for notices.
    pool_path: &'a str,
    args: &'a Args<'a>,
    /// Where receipts go; `None` prints none.
    out: Option<std::io::StdoutLock<'static>>,
    /// The pool's largest payload.
    max: usize,
    batcher: Batcher<'a, dyn Sink + 'a>,
    ok: u64,
    failed: u64,
    /// The tags as a JSON array, for receipts.
    tags_json: String,
    /// The progress line (off unless turned on by `stream`).
    progress: Progress,
}

impl<'a> Feeder<'a> {
    fn new(
        ui: &'a Ui,
        sink: &'a dyn Sink,
        pool_path: &'a str,
        args: &'a Args<'a>,
        receipts: bool,
    ) -> Feeder<'a> {
        Feeder {
            ui,
            pool_path,
            args,
            out: receipts.then(|| std::io::stdout().lock()),
            max: sink.max_payload_len(),
            batcher: Batcher::new(sink, args.durability).with_retry(Retry {
                attempts: args.retry,
                delay: args.retry_delay,
            }),
            ok: 0,
            failed: 0,
            tags_json: serde_json::to_string(&args.tags).unwrap_or_else(|_| "[]".to_owned()),
            progress: Progress::new(None, ""),
        }
    }

    /// Queues one record (appending a full batch) and prints the receipts of what was
    /// appended.
    fn push(&mut self, payload: Vec<u8>) -> Result<(), Error> {
        let pushed = self.batcher.push(payload);
        self.receipts()?;
        pushed
    }

    /// Appends the pending records (one lock acquisition, retried per `--retry`) and prints
    /// their receipts, also those appended before a failure.
    fn flush_batch(&mut self) -> Result<(), Error> {
        let flushed = self.batcher.flush();
        self.receipts()?;
        flushed
    }

    fn receipts(&mut self) -> Result<(), Error> {
        let appended = self.batcher.receipts();
        self.ok += appended.len() as u64;
        // Dropping the receipts unread (no `out`) still takes them off the batcher.
        let Some(out) = self.out.as_mut().filter(|_| appended.len() > 0) else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(appended.len() * 64);
        for a in appended {
            if self.ui.stdout_tty {
                let _ = writeln!(buf, "fed seq={} at {}", a.seq, rfc3339(a.timestamp_ns));
                if !self.args.tags.is_empty() {
                    let _ = writeln!(buf, "  tags: {}", self.args.tags.join(","));
                }
            } else {
                // `{"meta":{"tags":[…]},"seq":N,"time":"…"}`, keys sorted, written directly.
                let _ = writeln!(
                    buf,
                    "{{\"meta\":{{\"tags\":{}}},\"seq\":{},\"time\":\"{}\"}}",
                    self.tags_json,
                    a.seq,
                    rfc3339(a.timestamp_ns)
                );
            }
        }
        if self.ui.stdout_tty {
            self.progress.clear();
        }
        out.write_all(&buf).map_err(closed)?;
        out.flush().map_err(closed)
    }

    /// A record that cannot be appended: stop (after appending everything before it) or skip
    /// with a notice.
    fn reject(&mut self, r: &Rejected, err: Option<&Error>, mode: &str) -> Result<(), Error> {
        let at = match r.line {
            Some(l) => format!("line {l}, record {}", r.index),
            None => format!("record {}", r.index),
        };
        if matches!(self.args.policy, Policy::Stop) {
            self.flush_batch()?;
            let (what, hint) = match (r.kind, err) {
                (RejectKind::Oversize, _) => (
                    "record exceeds size limit",
                    "Use -e skip to continue, or split the record.",
                ),
                (_, Some(_)) => (
                    "record cannot be appended",
                    "Use -e skip to continue past it.",
                ),
                _ => (
                    "invalid json input",
                    "Use -e skip to continue or select the correct input mode.",
                ),
            };
            let detail = r
                .message
                .strip_prefix("invalid JSON: ")
                .unwrap_or(&r.message);
            let mut e =
                Error::new(ErrorKind::Usage, format!("{what} ({at}): {detail}")).with_hint(hint);
            if let Some(inner) = err.and_then(|e| e.hint()) {
                e = e.with_hint(format!("{inner} {hint}"));
            }
            return Err(e);
        }
        self.failed += 1;
        let (kind, message) = match (r.kind, err) {
            (RejectKind::Oversize, _) => ("Oversize", "Skipped oversized record.".to_owned()),
            (_, Some(e)) => (
                e.kind().as_str(),
                format!("Skipped record: {}.", e.message()),
            ),
            _ => ("Parse", "Skipped invalid JSON.".to_owned()),
        };
        let mut details = json!({
            "error_kind": kind,
            "index": r.index,
            "mode": mode,
            "pool_path": self.pool_path,
        });
        if let Some(l) = r.line {
            details["line"] = json!(l);
        }
        if !r.snippet.is_empty() {
            details["snippet"] = json!(r.snippet);
        }
        let message = if self.ui.stderr_tty {
            format!("{message} ({at})")
        } else {
            message
        };
        self.progress.clear();
        self.ui
            .notice("feed", "ingest_skip", &message, self.args.pool, details);
        Ok(())
    }
}
