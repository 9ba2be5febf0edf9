//! Where expressions run in evaluator processes, so that no expression can hang or crash the
//! server.
//!
//! Role: jaq cannot be interrupted — `repeat(false)` never returns, unbounded recursion
//! overflows the stack (which aborts the process), `[range(1e12)]` exhausts memory. The server
//! therefore never evaluates a `where` itself: it hands each call that carries one to an
//! evaluator, a `pls mcp` child started with [`ENV`] set, which serves it like any request and
//! is reused afterwards. An evaluator bounds itself: a watchdog thread ends it when one message
//! takes longer than [`MESSAGE_BUDGET`] to evaluate, and its heap is capped at [`HEAP_LIMIT`].
//! When an evaluator ends without answering, the server answers with a `where` failure and
//! starts a fresh evaluator for the next call.
//!
//! # Invariants
//! - Every call handed over gets exactly one outcome: the evaluator's response, or a Usage
//!   failure on `where` saying why the evaluator ended, or — when the call was cancelled —
//!   nothing (the evaluator is killed).
//! - An evaluator is reused only after it answered and was not cancelled, so a reused one is
//!   idle and in step (one request line in, one response line out).
//! - Every evaluator started is reaped: on failure, on cancellation, when more than
//!   [`IDLE_MAX`] are idle, and when the server ends. At most [`EVALUATORS_MAX`] exist at once.
//!
//! Spec: `spec/MCP.md` §4 (where).

use super::RpcError;
use super::arguments::Failure;
use super::tools;
use plasmite_os::{Error, ErrorKind};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Set (to `1`) in the environment of an evaluator process.
pub(super) const ENV: &str = "PLASMITE_MCP_EVALUATOR";
/// Longest an evaluator may spend on one message before it ends itself.
pub(super) const MESSAGE_BUDGET: Duration = Duration::from_secs(2);
/// An evaluator's heap (`RLIMIT_DATA`; pool mappings are shared and do not count).
const HEAP_LIMIT: u64 = 1 << 30;
/// The exit code of an evaluator ended by its watchdog.
const OVER_BUDGET_EXIT: i32 = 90;
/// How often the watchdog looks.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(50);
/// Idle evaluators kept for reuse.
const IDLE_MAX: usize = 4;
/// Most evaluators at once, idle or not; a call beyond waits for one to be free.
const EVALUATORS_MAX: usize = 8;

/// Whether this process is an evaluator.
pub(super) fn is_evaluator() -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == "1")
}

/// Makes this process an evaluator: caps the heap and starts the watchdog.
pub(super) fn enter() {
    let old = rustix::process::getrlimit(rustix::process::Resource::Data);
    let current = old.current.map_or(HEAP_LIMIT, |c| c.min(HEAP_LIMIT));
    // Without the cap, the watchdog still bounds time; a runaway allocation then ends the
    // process (an evaluator) the same way, only later.
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Data,
        rustix::process::Rlimit {
            current: Some(current),
            maximum: old.maximum,
        },
    );
    if EPOCH.set(Instant::now()).is_ok() {
        // Without a watchdog, `timed` measures nothing: a looping expression then holds this
        // evaluator until the server kills it (on cancellation or exit).
        let _ = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(watchdog);
    }
}

/// When the process became an evaluator; unset in the server.
static EPOCH: OnceLock<Instant> = OnceLock::new();
/// Milliseconds since [`EPOCH`], plus one, when the message being evaluated started; 0 when
/// none is.
static BUSY_SINCE: AtomicU64 = AtomicU64::new(0);

fn since_epoch_ms(epoch: &Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
}

/// Runs `f`, the evaluation of one message, under the watchdog (in an evaluator).
pub(super) fn timed<T>(f: impl FnOnce() -> T) -> T {
    let Some(epoch) = EPOCH.get() else {
        return f();
    };
    BUSY_SINCE.store(since_epoch_ms(epoch) + 1, Ordering::Relaxed);
    let out = f();
    BUSY_SINCE.store(0, Ordering::Relaxed);
    out
}

fn watchdog() {
    let Some(epoch) = EPOCH.get() else { return };
    let budget = u64::try_from(MESSAGE_BUDGET.as_millis()).unwrap_or(u64::MAX);
    loop {
        std::thread::sleep(WATCHDOG_PERIOD);
        let since = BUSY_SINCE.load(Ordering::Relaxed);
        if since != 0 && (since_epoch_ms(epoch) + 1).saturating_sub(since) > budget {
            // The main thread is inside jaq and holds no lock this exit needs.
            std::process::exit(OVER_BUDGET_EXIT);
        }
    }
}

/// Cancellation of one request: a flag for work done in the server, and the evaluator
/// serving it, to kill.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    cancelled: AtomicBool,
    evaluator: Mutex<Option<Child>>,
}

impl Cancel {
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Cancels the request: work in the server stops at its next check, an evaluator is
    /// killed at once.
    pub(super) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        if let Some(child) = lock(&self.evaluator).as_mut() {
            let _ = child.kill();
        }
    }

    /// Keeps `child` where [`Cancel::cancel`] can kill it while its answer is awaited.
    fn hold(&self, mut child: Child) {
        let mut slot = lock(&self.evaluator);
        if self.is_cancelled() {
            let _ = child.kill();
        }
        *slot = Some(child);
    }

    fn release(&self) -> Option<Child> {
        lock(&self.evaluator).take()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One evaluator process, idle between calls.
#[derive(Debug)]
struct Evaluator {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Evaluator {
    fn start(dir: &Path) -> Result<Evaluator, Error> {
        let exe = std::env::current_exe().map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                "cannot locate this program to evaluate where",
            )
            .with_hint("Retry without where, or restart the server.")
            .with_source(e)
        })?;
        let mut child = Command::new(exe)
            .arg("mcp")
            .arg("--dir")
            .arg(dir)
            .env(ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // A crash report (stack overflow, allocation failure) is not the client's business:
            // the failure it gets says what happened.
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::new(ErrorKind::Internal, "cannot start a where evaluator")
                    .with_hint("Retry later, or retry without where.")
                    .with_source(e)
            })?;
        match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => Ok(Evaluator {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(Error::new(
                    ErrorKind::Internal,
                    "a where evaluator started without pipes",
                ))
            }
        }
    }
}

/// Kills and reaps `child`; its exit status.
fn end(mut child: Child) -> Option<ExitStatus> {
    let _ = child.kill();
    child.wait().ok()
}

/// Why an evaluator ended without answering, as the failure the agent gets.
fn failure(status: Option<ExitStatus>) -> Failure {
    if status.and_then(|s| s.code()) == Some(OVER_BUDGET_EXIT) {
        return Failure::arg(
            "where",
            format!(
                "the where expression ran for more than {} s on one message and was stopped",
                MESSAGE_BUDGET.as_secs()
            ),
            "The expression must decide each message quickly: look for a loop that never ends \
             (repeat, while, until, range over a huge span, a recursive def).",
        );
    }
    let how = status.map_or_else(|| "an unknown way".to_owned(), |s| s.to_string());
    Failure::arg(
        "where",
        format!("evaluating the where expression ended its evaluator ({how})"),
        format!(
            "The expression recursed too deeply or needed more than {} MiB of memory; \
             simplify it.",
            HEAP_LIMIT >> 20
        ),
    )
}

/// The server's evaluators: idle ones kept for reuse, new ones started on demand.
#[derive(Debug)]
pub(super) struct Evaluators {
    dir: PathBuf,
    slots: Mutex<Slots>,
    /// Signalled when a busy evaluator is released.
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Slots {
    idle: Vec<Evaluator>,
    /// Evaluators handed out (or being started) and not yet released.
    busy: usize,
}

impl Drop for Evaluators {
    fn drop(&mut self) {
        for ev in lock(&self.slots).idle.drain(..) {
            end(ev.child);
        }
    }
}

impl Evaluators {
    pub(super) fn new(dir: PathBuf) -> Evaluators {
        Evaluators {
            dir,
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
        }
    }

    /// An idle evaluator, else a new one when fewer than [`EVALUATORS_MAX`] exist, else the
    /// next one released; `None` when the call is cancelled meanwhile.
    fn acquire(&self, cancel: &Cancel) -> Option<Result<Evaluator, Error>> {
        let mut slots = lock(&self.slots);
        loop {
            if cancel.is_cancelled() {
                return None;
            }
            if let Some(mut ev) = slots.idle.pop() {
                // One that ended while idle (killed from outside) would fail this call for
                // nothing: reap it and look again.
                if matches!(ev.child.try_wait(), Ok(None)) {
                    slots.busy += 1;
                    return Some(Ok(ev));
                }
                end(ev.child);
                continue;
            }
            if slots.busy < EVALUATORS_MAX {
                slots.busy += 1;
                drop(slots);
                let started = Evaluator::start(&self.dir);
                if started.is_err() {
                    self.release(None);
                }
                return Some(started);
            }
            slots = self
                .freed
                .wait_timeout(slots, WATCHDOG_PERIOD)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Gives back an acquired evaluator: `Some` to keep for reuse, `None` when it has ended.
    fn release(&self, ev: Option<Evaluator>) {
        let mut slots = lock(&self.slots);
        slots.busy = slots.busy.saturating_sub(1);
        let surplus = match ev {
            Some(ev) if slots.idle.len() < IDLE_MAX => {
                slots.idle.push(ev);
                None
            }
            other => other,
        };
        drop(slots);
        self.freed.notify_one();
        if let Some(ev) = surplus {
            end(ev.child);
        }
    }

    /// Runs `tools/call` with `params` in an evaluator.
    pub(super) fn call(
        &self,
        params: &serde_json::Map<String, Value>,
        cancel: &Cancel,
    ) -> Result<Value, RpcError> {
        let tool = params.get("name").and_then(Value::as_str).unwrap_or("");
        let mut ev = match self.acquire(cancel) {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => return Ok(tools::failed(tool, Failure::Pool(e))),
            // Cancelled: nobody reads the outcome.
            None => return Ok(Value::Null),
        };
        let request = json!({"id": 0, "jsonrpc": "2.0", "method": "tools/call", "params": params});
        let mut line = serde_json::to_vec(&request).unwrap_or_default();
        line.push(b'\n');
        let sent = ev
            .stdin
            .write_all(&line)
            .and_then(|()| ev.stdin.flush())
            .is_ok();
        cancel.hold(ev.child);
        let mut answer = String::new();
        let answered = sent && matches!(ev.stdout.read_line(&mut answer), Ok(n) if n > 0);
        let Some(child) = cancel.release() else {
            // `hold` put it there and only this call takes it out.
            self.release(None);
            return Ok(tools::failed(tool, failure(None)));
        };
        if !answered || cancel.is_cancelled() {
            let status = end(child);
            self.release(None);
            return Ok(tools::failed(tool, failure(status)));
        }
        self.release(Some(Evaluator {
            child,
            stdin: ev.stdin,
            stdout: ev.stdout,
        }));
        response(&answer)
    }
}

/// The outcome an evaluator's response line carries.
fn response(line: &str) -> Result<Value, RpcError> {
    let mut r: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    if let Some(result) = r.get_mut("result") {
        return Ok(result.take());
    }
    let error = r.get_mut("error").map(Value::take).unwrap_or(Value::Null);
    Err(RpcError {
        code: error
            .get("code")
            .and_then(Value::as_i64)
            .unwrap_or(super::SERVER_ERROR),
        message: error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the where evaluator answered with something unreadable")
            .to_owned(),
        data: error.get("data").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn an_evaluator_ended_by_its_watchdog_is_a_time_failure_on_where() {
        let f = failure(Some(ExitStatus::from_raw(OVER_BUDGET_EXIT << 8)));
        let j = f.into_json("plasmite_read");
        assert_eq!(j["field"], "where");
        assert_eq!(j["error_kind"], "Usage");
        assert!(
            j["detail"].as_str().unwrap().contains("more than 2 s"),
            "{j}"
        );
    }

    #[test]
    fn an_evaluator_killed_by_a_signal_is_a_crash_failure_naming_the_signal() {
        let f = failure(Some(ExitStatus::from_raw(6)));
        let j = f.into_json("plasmite_wait");
        assert_eq!(j["field"], "where");
        assert!(j["detail"].as_str().unwrap().contains("SIGABRT"), "{j}");
        assert!(j["hint"].as_str().unwrap().contains("1024 MiB"), "{j}");
    }

    #[test]
    fn an_evaluator_answer_becomes_the_calls_outcome() {
        assert_eq!(
            response(r#"{"id":0,"jsonrpc":"2.0","result":{"a":1}}"#).unwrap(),
            json!({"a": 1})
        );
        let e = response(r#"{"id":0,"jsonrpc":"2.0","error":{"code":-32602,"message":"m"}}"#)
            .unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (-32602, "m"));
        let e = response("garbage").unwrap_err();
        assert_eq!(e.code, super::super::SERVER_ERROR);
    }

    #[test]
    fn timed_outside_an_evaluator_only_runs_the_closure() {
        assert_eq!(timed(|| 7), 7);
        assert_eq!(BUSY_SINCE.load(Ordering::Relaxed), 0);
    }
}
