//! One reader thread per output stream of the tapped command.
//!
//! Role: reads the pipe in chunks, writes each chunk through to tap's own stream at once (so a
//! prompt without a newline shows), and sends every complete line — and a last line without a
//! newline — to the appender, as raw bytes without the LF.
//!
//! # Invariants
//! - Lines are sent in the order they were read; the bytes of a line are exactly those
//!   between two LFs (any length, any bytes).
//! - A failed passthrough write (EPIPE, a closed stdout) stops passthrough for this stream
//!   only; reading and sending go on, so the command is never blocked on a full pipe.
//!
//! Spec: `spec/CLI.md` §2.11.

use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The command's stdout.
    Stdout,
    /// The command's stderr.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`, as stored.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What a reader sends to the appender.
#[derive(Debug)]
pub enum Event {
    /// One line, without its LF.
    Line(Stream, Vec<u8>),
    /// Reading failed; nothing more comes from this stream.
    Failed(Stream, std::io::Error),
}

/// Bytes asked of the pipe per read.
const CHUNK: usize = 64 << 10;

/// Starts a thread reading `pipe` to its end; the thread ends when the pipe does.
pub fn spawn<R: Read + Send + 'static>(
    pipe: R,
    stream: Stream,
    pass: Option<Box<dyn Write + Send>>,
    tx: SyncSender<Event>,
) -> JoinHandle<()> {
    std::thread::spawn(move || read(pipe, stream, pass, &tx))
}

fn read(
    mut pipe: impl Read,
    stream: Stream,
    mut pass: Option<Box<dyn Write + Send>>,
    tx: &SyncSender<Event>,
) {
    let mut buf = vec![0u8; CHUNK];
    let mut line = Vec::new();
    // A send fails only when the appender is gone; reading on keeps passthrough alive and
    // the command unblocked.
    let send = |event: Event| {
        let _ = tx.send(event);
    };
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                send(Event::Failed(stream, e));
                break;
            }
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(w) = pass.as_mut() {
            if w.write_all(chunk).and_then(|()| w.flush()).is_err() {
                pass = None;
            }
        }
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(i);
            line.extend_from_slice(head);
            send(Event::Line(stream, std::mem::take(&mut line)));
            rest = tail.get(1..).unwrap_or_default();
        }
        line.extend_from_slice(rest);
    }
    if !line.is_empty() {
        send(Event::Line(stream, line));
    }
}
