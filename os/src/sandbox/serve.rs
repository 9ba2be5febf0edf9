//! The evaluator's side: a loop that runs queries with untrusted predicates inside a budget.
//!
//! Role: [`serve`] is the whole evaluator program once its front end has chosen the
//! expression compiler. It caps its own heap (`RLIMIT_DATA`), starts a watchdog thread that
//! ends the process with [`OVER_BUDGET_EXIT`] when one message's predicates run longer than
//! [`MESSAGE_BUDGET`], then reads one request line at a time, runs the query and writes its
//! items as lines.
//!
//! # Invariants
//! - Every request gets item lines then exactly one final line, unless the process dies; the
//!   parent reads a missing final line as the evaluator's death.
//! - Predicates run only on the serving thread, inside [`timed`]; the watchdog never touches
//!   anything but the clock and one atomic word, so exiting from it cannot deadlock.
//! - An evaluator outlives its parent by at most one watchdog period.
//! - Output is flushed before the query waits and at the end of each answer.
//!
//! Spec: `spec/API.md` §5.4.

use super::spec::{QuerySpec, end_name, error_json};
use super::{HEAP_LIMIT, MESSAGE_BUDGET, OVER_BUDGET_EXIT};
use crate::error::{Error, ErrorKind};
use crate::follow::MessageView;
use crate::pool::Pool;
use crate::query::{Item, Predicate};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often the watchdog looks.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(50);
/// Pools kept open between requests (agents poll the same few).
const POOLS_KEPT: usize = 4;

/// When this process entered its budget; unset outside an evaluator.
static EPOCH: OnceLock<Instant> = OnceLock::new();
/// Milliseconds since [`EPOCH`], plus one, when the message being evaluated started; 0 when
/// none is.
static BUSY_SINCE: AtomicU64 = AtomicU64::new(0);

fn since_epoch_ms(epoch: &Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
}

/// Caps the heap and starts the watchdog (once per process).
fn enter_budget() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let old = getrlimit(Resource::Data);
    let current = old.current.map_or(HEAP_LIMIT, |c| c.min(HEAP_LIMIT));
    // `setrlimit(RLIMIT_DATA)`: caps private writable mappings (the heap). Without the cap the
    // watchdog still bounds time; a runaway allocation then ends the process later.
    let _ = setrlimit(
        Resource::Data,
        Rlimit {
            current: Some(current),
            maximum: old.maximum,
        },
    );
    if EPOCH.set(Instant::now()).is_ok() {
        // Without a watchdog a looping expression holds the evaluator until the parent kills it
        // (on cancellation or drop): worse, but still contained.
        let _ = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(watchdog);
    }
}

fn watchdog() {
    let Some(epoch) = EPOCH.get() else { return };
    let budget = u64::try_from(MESSAGE_BUDGET.as_millis()).unwrap_or(u64::MAX);
    // `getppid()`: an evaluator whose parent died is re-parented; one waiting on a quiet pool
    // would otherwise never write, never see its pipe break, and outlive everyone.
    let parent = rustix::process::getppid();
    loop {
        std::thread::sleep(WATCHDOG_PERIOD);
        if rustix::process::getppid() != parent {
            std::process::exit(0);
        }
        let since = BUSY_SINCE.load(Ordering::Relaxed);
        if since != 0 && (since_epoch_ms(epoch) + 1).saturating_sub(since) > budget {
            // The serving thread is inside a predicate and holds no lock this exit needs.
            std::process::exit(OVER_BUDGET_EXIT);
        }
    }
}

/// Runs `f`, the evaluation of one message, under the watchdog (outside an evaluator it only
/// runs `f`).
pub fn timed<T>(f: impl FnOnce() -> T) -> T {
    let Some(epoch) = EPOCH.get() else {
        return f();
    };
    BUSY_SINCE.store(since_epoch_ms(epoch) + 1, Ordering::Relaxed);
    let out = f();
    BUSY_SINCE.store(0, Ordering::Relaxed);
    out
}

/// A compiled predicate evaluated under the watchdog.
struct Timed(Arc<dyn Predicate>);

impl Predicate for Timed {
    fn matches(&self, msg: &MessageView<'_>) -> Result<bool, Error> {
        timed(|| self.0.matches(msg))
    }
}

/// Serves requests from `input` until it ends: the evaluator's main loop. `compile` turns a
/// query's `where` strings into one predicate (all must pass); its error is the request's
/// answer. Returns when `input` ends, or with the error that made writing `output` fail.
pub fn serve<C>(input: impl BufRead, mut output: impl Write, compile: C) -> Result<(), Error>
where
    C: Fn(&[String]) -> Result<Arc<dyn Predicate>, Error>,
{
    enter_budget();
    let mut pools: Vec<Kept> = Vec::new();
    let io = |e: std::io::Error| {
        Error::new(ErrorKind::Io, format!("the evaluator's pipe failed: {e}"))
            .with_hint("The process that started the evaluator has gone; nothing to do.")
            .with_source(e)
    };
    for line in input.lines() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let last = match answer(&line, &mut pools, &compile, &mut output) {
            Ok(end) => end,
            Err(Answer::Failed(e)) => json!({ "error": error_json(&e) }),
            Err(Answer::Write(e)) => return Err(io(e)),
        };
        write_line(&mut output, &last).map_err(io)?;
        output.flush().map_err(io)?;
    }
    Ok(())
}

/// Why an answer stopped before its final line.
enum Answer {
    /// The query failed: the final line carries it.
    Failed(Error),
    /// The output failed: nobody is listening.
    Write(std::io::Error),
}

impl From<Error> for Answer {
    fn from(e: Error) -> Answer {
        Answer::Failed(e)
    }
}

fn write_line(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}

/// Runs one request, writing its items; the final `end` line on success.
fn answer<C>(
    line: &str,
    pools: &mut Vec<Kept>,
    compile: &C,
    out: &mut impl Write,
) -> Result<Value, Answer>
where
    C: Fn(&[String]) -> Result<Arc<dyn Predicate>, Error>,
{
    let request: Value = serde_json::from_str(line).map_err(|e| {
        Error::new(ErrorKind::Usage, format!("malformed request: {e}"))
            .with_hint("Send one JSON object per line: {\"pool\": path, \"query\": spec}.")
    })?;
    let spec = QuerySpec::from_json(request.get("query").unwrap_or(&Value::Null))?;
    let path = request
        .get("pool")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::new(ErrorKind::Usage, "malformed request: no pool path")
                .with_hint("Name the pool file under \"pool\".")
        })?;
    let predicates = if spec.wheres.is_empty() {
        Vec::new()
    } else {
        vec![Arc::new(Timed(compile(&spec.wheres)?)) as Arc<dyn Predicate>]
    };
    let pool = open(pools, &path)?;
    let mut s = spec.query(predicates).run(&*pool)?;
    let mut delivered = false;
    loop {
        let item = if spec.first_batch && delivered {
            s.poll()?
        } else {
            s.next_or(None, || {
                out.flush().map_err(|e| Error::io(e, "flush", &path))
            })?
        };
        let Some(item) = item else {
            if s.ended().is_some() || (spec.first_batch && delivered) {
                break;
            }
            continue;
        };
        let v = match item {
            Item::Message(m) => {
                delivered = true;
                json!({ "m": [m.seq, m.timestamp_ns, m.offset] })
            }
            Item::Gap {
                first_missing,
                count,
            } => json!({ "gap": [first_missing, count] }),
            Item::Damaged(d) => {
                json!({ "damaged": error_json(&d.error.with_seq(d.seq).with_offset(d.offset)) })
            }
        };
        write_line(out, &v).map_err(Answer::Write)?;
    }
    Ok(json!({
        "end": end_name(s.ended()),
        "examined": s.examined(),
        "history_end": s.history_end(),
    }))
}

/// A pool kept open: its path, the file's identity when it was opened, the pool.
type Kept = (PathBuf, Option<(u64, u64)>, Arc<Pool>);

/// The file at `path`: device and inode.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The pool at `path`, from those kept when the path still names the same file.
fn open(pools: &mut Vec<Kept>, path: &Path) -> Result<Arc<Pool>, Error> {
    // Taken before opening: should the file be replaced in between, the identity kept is the
    // old one and the next request opens the pool again (never the reverse).
    let id = file_id(path);
    if let Some(i) = pools.iter().position(|(p, _, _)| p == path) {
        let kept = pools.remove(i);
        // Deleted and made again under the same name: a different pool.
        if id.is_some() && kept.1 == id {
            let pool = Arc::clone(&kept.2);
            pools.push(kept);
            return Ok(pool);
        }
    }
    let pool = Arc::new(Pool::open_read_only(path)?);
    if pools.len() >= POOLS_KEPT {
        pools.remove(0);
    }
    pools.push((path.to_path_buf(), id, Arc::clone(&pool)));
    Ok(pool)
}
