//! `pls tap POOL -- CMD…`: run a command and capture its output lines into a pool.
//!
//! Role: spawns the command with stdout and stderr piped, one reader thread per stream
//! ([`stream`]) passing the bytes through and sending whole lines over a bounded channel; this
//! thread encodes them ([`lines`]) and appends whatever is queued through a [`Batcher`] (one
//! lock acquisition per batch), between a `start` and an `exit` lifecycle message. A third
//! thread forwards SIGINT and SIGTERM to the child.
//!
//! # Invariants
//! - Nothing is appended unless the command was spawned; `start` is the first message and
//!   `exit` is appended only after both streams reached their end.
//! - Lines of one stream are appended in the order they were read; lines of the two streams in
//!   the order the readers delivered them.
//! - No line is lost silently: lossy UTF-8 keeps its place, a line too large for one message is
//!   split into `part`/`parts` messages that concatenate to it.
//! - Passthrough never waits for the pool: readers write the bytes before queueing the line.
//! - A signal is only forwarded while the child is unreaped, so it never reaches a process
//!   that took over a recycled pid.
//! - When an append fails, the error is reported at once, capturing stops, passthrough goes on,
//!   and tap still waits for the child; it then exits with the error's code.
//!
//! Spec: `spec/CLI.md` §2.11.

mod lines;
mod stream;

use crate::args::{Matches, usage};
use crate::cmd::pool;
use crate::run::exit_code;
use crate::ui::Ui;
use crate::values;
use plasmite_os::message::encode;
use plasmite_os::{Batcher, CreateOptions, Durability, Error, ErrorKind};
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};
use serde_json::{Value, json};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;
use stream::{Event, Stream};

/// Chunks of lines (each from one read of at most 64 KiB, plus a line carried over) queued
/// between the readers and the appender before the readers wait — and with them, through the
/// pipes, the command: bounds memory when the pool is slower than the command.
const QUEUE_CHUNKS: usize = 64;
/// The tag of the `start` and `exit` messages.
const LIFECYCLE: &[&str] = &["lifecycle"];

pub struct Args<'a> {
    pool: &'a str,
    cmd: &'a [String],
    tags: Vec<&'a str>,
    quiet: bool,
    durability: Durability,
    create: Option<CreateOptions>,
}

pub fn parse(m: &Matches) -> Result<Args<'_>, Error> {
    let cmd = m.positionals.get(1..).unwrap_or_default();
    if cmd.is_empty() {
        return Err(usage(
            "tap needs a command to run after --",
            Some(m.command),
        ));
    }
    Ok(Args {
        pool: m.positional(0).unwrap_or_default(),
        cmd,
        tags: m.values("tag"),
        quiet: m.has("quiet"),
        durability: m
            .value("durability")
            .map(values::durability)
            .transpose()?
            .unwrap_or_default(),
        create: pool::create_options(m)?,
    })
}

/// Runs `tap`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path, argv: &[String]) -> Result<u8, Error> {
    let a = parse(m)?;
    let retry = pool::retry_with_create_before(argv, a.cmd.len());
    let pool = pool::open(pool_dir, a.pool, a.create, Some(retry))?;
    if !pool.writable() {
        return Err(Error::new(ErrorKind::Permission, "pool is read-only")
            .with_path(pool.path())
            .with_hint("Check the pool file's permissions: tap appends to it."));
    }
    let max = pool.max_payload_len();
    // Encoded before the spawn: a command line too large for the pool is refused up front.
    let start = encode(&json!({"kind": "start", "cmd": a.cmd}), LIFECYCLE, max)?;
    // Registered before the spawn, so a signal arriving meanwhile is queued and forwarded.
    let signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| {
        Error::new(ErrorKind::Io, format!("cannot receive signals: {e}"))
            .with_hint("Check the process's limits on open files.")
            .with_source(e)
    })?;
    if ui.stderr_tty {
        let _ = writeln!(io::stderr(), "tapping {} <- {}", a.pool, a.cmd.join(" "));
    }
    let started = Instant::now();
    let mut child = spawn(a.cmd)?;
    let forwarder = Forwarder::start(signals, &child);
    let (tx, rx) = sync_channel(QUEUE_CHUNKS);
    let mut readers = Vec::with_capacity(2);
    if let Some(out) = child.stdout.take() {
        let pass = (!a.quiet).then(|| Box::new(io::stdout()) as Box<dyn Write + Send>);
        readers.push(stream::spawn(out, Stream::Stdout, pass, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        let pass = (!a.quiet).then(|| Box::new(io::stderr()) as Box<dyn Write + Send>);
        readers.push(stream::spawn(err, Stream::Stderr, pass, tx.clone()));
    }
    drop(tx);
    let mut capture = Capture {
        ui,
        tags: &a.tags,
        max,
        batcher: Batcher::new(&pool, a.durability).without_receipts(),
        lines: 0,
        failed: None,
    };
    capture.queue(start);
    capture.flush();
    capture.drain(&rx);
    join(readers);
    let status = forwarder.wait(&mut child);
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (exit, code, end) = match (status.code(), status.signal()) {
        (Some(c), _) => (
            json!({"kind": "exit", "code": c, "elapsed_ms": elapsed_ms}),
            u8::try_from(c & 0xff).unwrap_or(1),
            format!("exit {c}"),
        ),
        (None, Some(s)) => {
            let name = signal_name(s);
            (
                json!({"kind": "exit", "signal": name, "elapsed_ms": elapsed_ms}),
                u8::try_from(128 + s).unwrap_or(255),
                format!("signal {name}"),
            )
        }
        (None, None) => (
            json!({"kind": "exit", "elapsed_ms": elapsed_ms}),
            1,
            "exit unknown".to_owned(),
        ),
    };
    capture.push(&exit, LIFECYCLE);
    capture.flush();
    if let Some(kind) = capture.failed {
        return Ok(exit_code(kind));
    }
    if ui.stderr_tty {
        let _ = writeln!(
            io::stderr(),
            "tapped {} lines ({:.1}s) -> {} {end}",
            capture.lines,
            started.elapsed().as_secs_f64(),
            a.pool
        );
    }
    Ok(code)
}

/// Starts `cmd` with stdin inherited and stdout, stderr piped.
fn spawn(cmd: &[String]) -> Result<Child, Error> {
    let program = cmd.first().map(String::as_str).unwrap_or_default();
    Command::new(program)
        .args(cmd.get(1..).unwrap_or_default())
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                Error::new(
                    ErrorKind::Usage,
                    format!("wrapped command not found: {program}"),
                )
                .with_hint(
                    "Check the command's spelling, and that it is installed and on PATH (or give its path).",
                )
                .with_source(e)
            }
            io::ErrorKind::PermissionDenied => Error::new(
                ErrorKind::Permission,
                format!("wrapped command is not executable: {program}"),
            )
            .with_hint("Check that it is a program (not a directory) with execute permission.")
            .with_source(e),
            _ => Error::new(ErrorKind::Io, format!("cannot start {program}: {e}"))
                .with_hint("Check the command and the system's process limits.")
                .with_source(e),
        })
}

fn join(readers: Vec<JoinHandle<()>>) {
    for r in readers {
        // A reader that panicked has already dropped its sender; its bytes are gone either way.
        let _ = r.join();
    }
}

/// The conventional name of signal `n` (`SIGTERM`), or `SIG<n>`.
fn signal_name(n: i32) -> String {
    signal_hook::low_level::signal_name(n).map_or_else(|| format!("SIG{n}"), str::to_owned)
}

/// Whether tap is in its controlling terminal's foreground process group (where the terminal's
/// Ctrl-C reaches every process, the command too). `tcgetpgrp` on `/dev/tty`; no terminal:
/// false.
fn in_terminal_foreground() -> bool {
    std::fs::File::open("/dev/tty")
        .ok()
        .and_then(|tty| rustix::termios::tcgetpgrp(&tty).ok())
        .is_some_and(|fg| fg == rustix::process::getpgrp())
}

/// The thread forwarding SIGINT and SIGTERM to the child.
struct Forwarder {
    handle: signal_hook::iterator::Handle,
    thread: Option<JoinHandle<()>>,
    /// Whether the child may still receive signals (it is not reaped). Held while sending.
    alive: Arc<Mutex<bool>>,
    pid: Option<Pid>,
}

impl Forwarder {
    fn start(mut signals: Signals, child: &Child) -> Forwarder {
        let pid = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
        let alive = Arc::new(Mutex::new(true));
        let handle = signals.handle();
        let thread = pid.map(|pid| {
            let alive = Arc::clone(&alive);
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    // A terminal's Ctrl-C went to its whole foreground process group, the
                    // command included; forwarding it would deliver it twice, and many
                    // programs read a second Ctrl-C as "stop now, skip the clean-up".
                    if sig == SIGINT && in_terminal_foreground() {
                        continue;
                    }
                    let alive = alive.lock().unwrap_or_else(PoisonError::into_inner);
                    if let (true, Some(s)) = (*alive, Signal::from_named_raw(sig)) {
                        // `kill(pid, sig)`: the child may have exited meanwhile (ESRCH is fine).
                        let _ = kill_process(pid, s);
                    }
                }
            })
        });
        Forwarder {
            handle,
            thread,
            alive,
            pid,
        }
    }

    /// Waits for the child to exit, stops forwarding, then reaps it.
    fn wait(mut self, child: &mut Child) -> ExitStatus {
        if let Some(pid) = self.pid {
            // `waitid(P_PID, pid, WEXITED | WNOWAIT)`: block until the child exits, leaving it
            // a zombie whose pid stays reserved while forwarding may still target it.
            while let Err(rustix::io::Errno::INTR) = waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            ) {}
        }
        *self.alive.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        match child.wait() {
            Ok(s) => s,
            // Only when the child was reaped elsewhere, which nothing here does.
            Err(_) => ExitStatus::from_raw(1 << 8),
        }
    }
}

/// Encodes and appends captured lines; after a failed append it only counts them.
struct Capture<'a> {
    ui: &'a Ui,
    tags: &'a [&'a str],
    max: usize,
    batcher: Batcher<'a>,
    /// Lines read from the command (parts of a split line count once).
    lines: u64,
    /// The kind of the error that stopped capturing (already reported).
    failed: Option<ErrorKind>,
}

impl Capture<'_> {
    /// Receives lines until both streams have ended, appending whatever is queued whenever
    /// the queue runs dry (or a batch is full).
    fn drain(&mut self, rx: &Receiver<Event>) {
        while let Ok(event) = rx.recv() {
            self.take(event);
            while let Ok(event) = rx.try_recv() {
                self.take(event);
            }
            self.flush();
        }
    }

    fn take(&mut self, event: Event) {
        match event {
            Event::Lines(stream, batch) => {
                for line in batch.iter() {
                    self.lines += 1;
                    if self.failed.is_some() {
                        continue;
                    }
                    match lines::payloads(stream.name(), line, self.tags, self.max) {
                        Ok(payloads) => payloads.into_iter().for_each(|p| self.queue(p)),
                        Err(e) => {
                            // The lines before this one were read first: they are stored.
                            self.flush();
                            self.fail(&e);
                        }
                    }
                }
            }
            Event::Failed(stream, e) => {
                let err = Error::new(
                    ErrorKind::Io,
                    format!("failed to read the command's {}: {e}", stream.name()),
                )
                .with_hint("The rest of that stream is not captured.")
                .with_source(e);
                if self.failed.is_none() {
                    self.flush();
                    self.fail(&err);
                }
            }
        }
    }

    fn push(&mut self, data: &Value, tags: &[&str]) {
        if self.failed.is_some() {
            return;
        }
        match encode(data, tags, self.max) {
            Ok(p) => self.queue(p),
            Err(e) => self.fail(&e),
        }
    }

    /// Queues one message (the batcher appends a full batch).
    fn queue(&mut self, payload: Vec<u8>) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.batcher.push(payload) {
            self.fail(&e);
        }
    }

    /// Appends the pending messages under one lock acquisition.
    fn flush(&mut self) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.batcher.flush() {
            self.fail(&e);
        }
    }

    /// Reports `e` now (the command may run on for long) and stops capturing.
    fn fail(&mut self, e: &Error) {
        self.ui.error(e);
        self.failed = Some(e.kind());
        self.batcher.discard();
    }
}
