//! The sandbox: queries whose predicates are untrusted expressions, run in evaluator processes
//! so that no expression can hang, crash or exhaust the process that asked.
//!
//! Role: jq (jaq) cannot be interrupted — `repeat(false)` never returns, unbounded recursion
//! overflows the stack (which aborts the process), `[range(1e12)]` exhausts memory. A server
//! (MCP, HTTP) or a program embedding this crate (Python, Node) therefore never evaluates an
//! untrusted `where` itself: [`Sandbox::run`] sends a [`QuerySpec`] to an evaluator — a child
//! process started by a [`Launcher`] that runs [`serve`] — and gets back the query's items as
//! positions (sequence, time, offset). The parent reads the payloads itself through its own
//! [`Pool`], so payload bytes never cross the pipe. An evaluator bounds itself (see [`serve`]);
//! when one ends without answering, the call fails with a `where` failure saying why, and a
//! fresh evaluator serves the next call.
//!
//! # Invariants
//! - Every call gets exactly one outcome: the query's items and end, or an error — a
//!   [`SandboxError::Where`] when the expression does not compile or its evaluator ended — or,
//!   when the call was cancelled, [`SandboxError::Cancelled`] and its evaluator is killed
//!   (within [`CANCEL_CHECK`]).
//! - An evaluator is reused only after it answered in full and was not cancelled, so a reused
//!   one is idle and in step (one request line in, its answer lines out).
//! - Every evaluator started is reaped: on failure, on cancellation, when more than the idle
//!   limit are idle, and when the [`Sandbox`] is dropped. At most the evaluator limit exist at
//!   once; a call beyond it waits for one (or for its cancellation).
//! - An evaluator that died while idle is replaced before it is used, never failing a call.
//! - A message reported by the evaluator but evicted before the parent copied it is reported
//!   as a one-message [`Found::Gap`]; a message whose copy fails its checks is [`Found::Damaged`].
//!
//! Spec: `spec/API.md` §5.4.

mod serve;
mod spec;

pub use serve::{serve, timed};
pub use spec::QuerySpec;

use crate::error::{Error, ErrorKind};
use crate::pool::{Message, Pool};
use crate::query::{Cancel, Damage, End};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::ops::ControlFlow;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Longest an evaluator may spend on one message before it ends itself.
pub const MESSAGE_BUDGET: Duration = Duration::from_secs(2);
/// An evaluator's heap (`RLIMIT_DATA`; pool mappings are shared and do not count).
pub const HEAP_LIMIT: u64 = 1 << 30;
/// The exit code of an evaluator ended by its watchdog.
pub const OVER_BUDGET_EXIT: i32 = 90;
/// How often a waiting call looks whether it was cancelled.
pub const CANCEL_CHECK: Duration = Duration::from_millis(20);
/// Idle evaluators kept for reuse, by default.
pub const IDLE_MAX: usize = 4;
/// Most evaluators at once, idle or not, by default.
pub const EVALUATORS_MAX: usize = 8;

/// How to start an evaluator: a program that runs [`serve`] on its stdin and stdout.
#[derive(Clone, Debug)]
pub struct Launcher {
    /// The program (`pls` for every front end that ships it).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Added to its environment.
    pub env: Vec<(OsString, OsString)>,
}

impl Launcher {
    /// `program`, with no arguments yet.
    pub fn new(program: impl Into<PathBuf>) -> Launcher {
        Launcher {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Launcher {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Launcher {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// One thing a sandboxed query found, its payload read by the parent.
#[derive(Debug)]
pub enum Found {
    /// A message passing every filter.
    Message(Message),
    /// Messages evicted before they were read.
    Gap {
        /// First sequence not read.
        first_missing: u64,
        /// How many.
        count: u64,
    },
    /// A damaged payload.
    Damaged(Damage),
}

/// What a sandboxed query returned.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The items, in sequence order.
    pub items: Vec<Found>,
    /// Why the query ended; `None` when it stopped after its first batch
    /// ([`QuerySpec::first_batch`]).
    pub end: Option<End>,
    /// The highest sequence the query examined.
    pub examined: Option<u64>,
    /// The newest sequence committed when the query started in the evaluator.
    pub history_end: Option<u64>,
}

/// Why a sandboxed query has no outcome.
#[derive(Debug)]
pub enum SandboxError {
    /// The `where` expressions are at fault: they do not compile, or their evaluation ended
    /// the evaluator (time budget, stack, heap). A Usage error with a hint.
    Where(Error),
    /// The call was cancelled; its evaluator was killed.
    Cancelled,
    /// Anything else: the pool, or an evaluator that cannot be started.
    Other(Error),
}

impl From<Error> for SandboxError {
    fn from(e: Error) -> SandboxError {
        SandboxError::Other(e)
    }
}

/// One evaluator process, idle between calls.
#[derive(Debug)]
struct Evaluator {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Evaluators for sandboxed queries: idle ones kept for reuse, new ones started on demand.
#[derive(Debug)]
pub struct Sandbox {
    launcher: Launcher,
    evaluators_max: usize,
    idle_max: usize,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Kills and reaps `child`; its exit status.
fn end(mut child: Child) -> Option<ExitStatus> {
    // `kill(pid, SIGKILL)` then `waitpid`: an evaluator that already exited is only reaped.
    let _ = child.kill();
    child.wait().ok()
}

/// Why an evaluator ended without answering, as the `where` failure the caller gets.
pub fn ended_failure(status: Option<ExitStatus>) -> Error {
    if status.and_then(|s| s.code()) == Some(OVER_BUDGET_EXIT) {
        return Error::new(
            ErrorKind::Usage,
            format!(
                "the where expression ran for more than {} s on one message and was stopped",
                MESSAGE_BUDGET.as_secs()
            ),
        )
        .with_hint(
            "The expression must decide each message quickly: look for a loop that never ends \
             (repeat, while, until, range over a huge span, a recursive def).",
        );
    }
    let how = status.map_or_else(|| "an unknown way".to_owned(), |s| s.to_string());
    Error::new(
        ErrorKind::Usage,
        format!("evaluating the where expression ended its evaluator ({how})"),
    )
    .with_hint(format!(
        "The expression recursed too deeply or needed more than {} MiB of memory; simplify it.",
        HEAP_LIMIT >> 20
    ))
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for ev in lock(&self.slots).idle.drain(..) {
            end(ev.child);
        }
    }
}

impl Sandbox {
    /// A sandbox starting evaluators with `launcher`, at most [`EVALUATORS_MAX`] at once and
    /// [`IDLE_MAX`] kept idle. No process starts before the first call.
    pub fn new(launcher: Launcher) -> Sandbox {
        Sandbox {
            launcher,
            evaluators_max: EVALUATORS_MAX,
            idle_max: IDLE_MAX,
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
        }
    }

    /// The same with other limits: at most `evaluators` at once (at least one), `idle` of
    /// them kept for reuse.
    pub fn with_limits(mut self, evaluators: usize, idle: usize) -> Sandbox {
        self.evaluators_max = evaluators.max(1);
        self.idle_max = idle;
        self
    }

    /// Evaluator processes alive now: idle, and busy with a call.
    pub fn evaluators(&self) -> (usize, usize) {
        let slots = lock(&self.slots);
        (slots.idle.len(), slots.busy)
    }

    fn start(&self) -> Result<Evaluator, Error> {
        let mut cmd = Command::new(&self.launcher.program);
        cmd.args(&self.launcher.args)
            .envs(self.launcher.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // A crash report (stack overflow, allocation failure) is not the caller's
            // business: the failure it gets says what happened.
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|e| {
            Error::new(ErrorKind::Internal, "cannot start a where evaluator")
                .with_path(&self.launcher.program)
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
                end(child);
                Err(Error::new(
                    ErrorKind::Internal,
                    "a where evaluator started without pipes",
                ))
            }
        }
    }

    /// An idle evaluator, else a new one under the limit, else the next one released; `None`
    /// when the call is cancelled meanwhile.
    fn acquire(&self, cancel: &Cancel) -> Option<Result<Evaluator, Error>> {
        let mut slots = lock(&self.slots);
        loop {
            if cancel.is_cancelled() {
                return None;
            }
            if let Some(mut ev) = slots.idle.pop() {
                // One that ended while idle (killed from outside) would fail this call for
                // nothing: reap it and look again. Its closed output tells as soon as its last
                // thread is gone, which may be before it can be reaped.
                if matches!(ev.child.try_wait(), Ok(None)) && !hung_up(&ev) {
                    slots.busy += 1;
                    return Some(Ok(ev));
                }
                end(ev.child);
                continue;
            }
            if slots.busy < self.evaluators_max {
                slots.busy += 1;
                drop(slots);
                let started = self.start();
                if started.is_err() {
                    self.release(None);
                }
                return Some(started);
            }
            slots = self
                .freed
                .wait_timeout(slots, CANCEL_CHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Gives back an acquired evaluator: `Some` to keep for reuse, `None` when it has ended.
    fn release(&self, ev: Option<Evaluator>) {
        let mut slots = lock(&self.slots);
        slots.busy = slots.busy.saturating_sub(1);
        let surplus = match ev {
            Some(ev) if slots.idle.len() < self.idle_max => {
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

    /// Runs `spec` on `pool` in an evaluator; the payloads of the messages it selects are read
    /// from `pool` here. Cancelled, the evaluator is killed within [`CANCEL_CHECK`] and the
    /// call returns [`SandboxError::Cancelled`].
    pub fn run(
        &self,
        pool: &Pool,
        spec: &QuerySpec,
        cancel: &Cancel,
    ) -> Result<Outcome, SandboxError> {
        let mut items = Vec::new();
        let mut outcome = self.run_each(pool, spec, cancel, |found| {
            items.push(found);
            ControlFlow::Continue(())
        })?;
        outcome.items = items;
        Ok(outcome)
    }

    /// [`Sandbox::run`], handing each item to `each` as it arrives rather than collecting them
    /// (a live query's stream: an HTTP tail, a binding's iterator); the outcome's `items` is
    /// empty. `each` breaking stops the query as cancellation does (the evaluator is killed,
    /// the call returns [`SandboxError::Cancelled`]).
    pub fn run_each(
        &self,
        pool: &Pool,
        spec: &QuerySpec,
        cancel: &Cancel,
        mut each: impl FnMut(Found) -> ControlFlow<()>,
    ) -> Result<Outcome, SandboxError> {
        let mut ev = match self.acquire(cancel) {
            Some(ev) => ev?,
            None => return Err(SandboxError::Cancelled),
        };
        let request = json!({ "pool": pool.path(), "query": spec.to_json() });
        let mut line = serde_json::to_vec(&request).unwrap_or_default();
        line.push(b'\n');
        let sent = ev
            .stdin
            .write_all(&line)
            .and_then(|()| ev.stdin.flush())
            .is_ok();
        let mut outcome = Outcome::default();
        let answered = if sent {
            collect(&mut ev, pool, cancel, &mut outcome, &mut each)
        } else {
            Answered::Died
        };
        match answered {
            Answered::End => {
                self.release(Some(ev));
                Ok(outcome)
            }
            Answered::Failed(e, where_) => {
                // It answered in full: still in step.
                self.release(Some(ev));
                Err(if where_ {
                    SandboxError::Where(e)
                } else {
                    SandboxError::Other(e.with_path(pool.path()))
                })
            }
            Answered::Cancelled => {
                end(ev.child);
                self.release(None);
                Err(SandboxError::Cancelled)
            }
            Answered::Died => {
                let status = end(ev.child);
                self.release(None);
                if cancel.is_cancelled() {
                    return Err(SandboxError::Cancelled);
                }
                Err(SandboxError::Where(ended_failure(status)))
            }
        }
    }
}

/// Reads the answer lines of one request: items to `each`, the rest into `outcome`.
fn collect(
    ev: &mut Evaluator,
    pool: &Pool,
    cancel: &Cancel,
    outcome: &mut Outcome,
    each: &mut impl FnMut(Found) -> ControlFlow<()>,
) -> Answered {
    let mut line = String::new();
    loop {
        if !readable(ev, cancel) {
            return Answered::Cancelled;
        }
        line.clear();
        match ev.stdout.read_line(&mut line) {
            Ok(n) if n > 0 => {}
            _ => return Answered::Died,
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            return Answered::Died;
        };
        let found = if let Some(m) = v.get("m").and_then(Value::as_array) {
            let at = |i: usize| m.get(i).and_then(Value::as_u64).unwrap_or(0);
            copy(pool, at(0), at(2))
        } else if let Some(g) = v.get("gap").and_then(Value::as_array) {
            let at = |i: usize| g.get(i).and_then(Value::as_u64).unwrap_or(0);
            Found::Gap {
                first_missing: at(0),
                count: at(1),
            }
        } else if let Some(d) = v.get("damaged") {
            let error = spec::error_of(d).with_path(pool.path());
            Found::Damaged(Damage {
                seq: error.seq().unwrap_or(0),
                offset: error.offset().unwrap_or(0),
                error,
            })
        } else if let Some(e) = v.get("error") {
            let error = spec::error_of(e);
            // A compile error is the expression's fault; pool errors are not.
            let where_ = error.kind() == ErrorKind::Usage;
            return Answered::Failed(error, where_);
        } else if v.get("end").is_some() {
            outcome.end = v.get("end").and_then(spec::end_of);
            outcome.examined = v.get("examined").and_then(Value::as_u64);
            outcome.history_end = v.get("history_end").and_then(Value::as_u64);
            return Answered::End;
        } else {
            return Answered::Died;
        };
        if each(found).is_break() {
            return Answered::Cancelled;
        }
    }
}

/// How an answer ended.
enum Answered {
    /// Its `end` line came.
    End,
    /// Its `error` line came; `true` when the expression is at fault.
    Failed(Error, bool),
    /// The call was cancelled before it ended.
    Cancelled,
    /// The evaluator closed its output or wrote nonsense.
    Died,
}

/// Waits until the evaluator's output has something to read (`true`) or the call is cancelled
/// (`false`).
fn readable(ev: &Evaluator, cancel: &Cancel) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: i64::try_from(CANCEL_CHECK.as_nanos()).unwrap_or(20_000_000),
    };
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        if !ev.stdout.buffer().is_empty() {
            return true;
        }
        let fd = ev.stdout.get_ref().as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        // `poll(fd, POLLIN, CANCEL_CHECK)`: readable, hung up or failed all end the wait (the
        // read then tells which); EINTR and a timeout look at the cancel flag again.
        if poll(&mut fds, Some(&timeout)).is_ok_and(|n| n > 0) {
            return true;
        }
    }
}

/// Whether an idle evaluator's output is closed or has something on it: either way it is
/// not an idle evaluator in step.
fn hung_up(ev: &Evaluator) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    if !ev.stdout.buffer().is_empty() {
        return true;
    }
    let fd = ev.stdout.get_ref().as_fd();
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    // `poll(fd, POLLIN, 0)`: reports at once; an error says nothing either way.
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).is_ok_and(|n| n > 0)
}

/// The message `seq` at `offset`, read from `pool`: evicted meanwhile, a one-message gap.
fn copy(pool: &Pool, seq: u64, offset: u64) -> Found {
    match pool.get(seq) {
        Ok(m) if m.offset == offset => Found::Message(m),
        Ok(_) => Found::Gap {
            first_missing: seq,
            count: 1,
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Found::Gap {
            first_missing: seq,
            count: 1,
        },
        Err(error) => Found::Damaged(Damage {
            seq,
            offset,
            error: error.with_seq(seq).with_offset(offset),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{CreateOptions, Durability};
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn an_evaluator_ended_by_its_watchdog_is_a_time_failure() {
        let e = ended_failure(Some(ExitStatus::from_raw(OVER_BUDGET_EXIT << 8)));
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(
            e.message().contains("more than 2 s on one message"),
            "{e:?}"
        );
        assert!(e.hint().is_some_and(|h| h.contains("recursive def")));
    }

    #[test]
    fn an_evaluator_killed_by_a_signal_is_a_crash_failure_naming_the_signal() {
        let e = ended_failure(Some(ExitStatus::from_raw(6)));
        assert!(
            e.message().contains("ended its evaluator (signal: 6"),
            "{e:?}"
        );
        assert!(e.message().contains("SIGABRT"), "{e:?}");
        assert!(e.hint().is_some_and(|h| h.contains("1024 MiB")));
    }

    #[test]
    fn a_match_evicted_before_the_parent_copies_it_is_a_gap() {
        let dir =
            std::env::temp_dir().join(format!("plasmite-sandbox-copy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.plasmite");
        let _ = std::fs::remove_file(&path);
        let opts = CreateOptions {
            size: 64 << 10,
            index_capacity: None,
        };
        let pool = Pool::create(&path, opts).unwrap();
        let payload = crate::message::encode(&json!({"x": "y".repeat(1000)}), &[], 4096).unwrap();
        let first = pool.append(&payload, Durability::Fast).unwrap();
        let at = pool.get(first.seq).unwrap().offset;
        assert!(matches!(copy(&pool, first.seq, at), Found::Message(m) if m.seq == first.seq));
        while pool.state().unwrap().retains(first.seq) {
            pool.append(&payload, Durability::Fast).unwrap();
        }
        assert!(matches!(
            copy(&pool, first.seq, at),
            Found::Gap { first_missing, count: 1 } if first_missing == first.seq
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
