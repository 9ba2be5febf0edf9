//! One reader thread per output stream of the tapped command.
//!
//! Role: reads the pipe in chunks, writes each chunk through to tap's own stream at once (so a
//! prompt without a newline shows), and sends the complete lines of each chunk — and a last
//! line without a newline — to the appender together, as raw bytes without the LFs. One event
//! per chunk rather than per line: a thread wake-up per line cost a quarter of tap's time.
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
    /// Consecutive lines.
    Lines(Stream, Lines),
    /// Reading failed; nothing more comes from this stream.
    Failed(Stream, std::io::Error),
}

/// Consecutive lines without their LFs, in one buffer.
#[derive(Debug, Default)]
pub struct Lines {
    text: Vec<u8>,
    /// Where each line ends in `text`.
    ends: Vec<usize>,
}

impl Lines {
    /// Ends the current line.
    fn end_line(&mut self) {
        self.ends.push(self.text.len());
    }

    /// The lines, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| self.text.get(a..b).unwrap_or_default())
    }
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
    let mut failed = None;
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(w) = pass.as_mut()
            && w.write_all(chunk).and_then(|()| w.flush()).is_err()
        {
            pass = None;
        }
        let mut lines = Lines::default();
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(i);
            lines.text.append(&mut line);
            lines.text.extend_from_slice(head);
            lines.end_line();
            rest = tail.get(1..).unwrap_or_default();
        }
        line.extend_from_slice(rest);
        if !lines.ends.is_empty() {
            send(Event::Lines(stream, lines));
        }
    }
    if !line.is_empty() {
        let mut last = Lines {
            text: line,
            ends: Vec::new(),
        };
        last.end_line();
        send(Event::Lines(stream, last));
    }
    // After the partial line: what was read before a failure is stored, not dropped with it.
    if let Some(e) = failed {
        send(Event::Failed(stream, e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    /// A pipe that returns `chunks` one per read.
    struct Chunks(Vec<&'static [u8]>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let c = self.0.remove(0);
            buf[..c.len()].copy_from_slice(c);
            Ok(c.len())
        }
    }

    /// A pipe that returns one chunk, then fails.
    struct Breaks(Option<&'static [u8]>);

    impl Read for Breaks {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.take() {
                Some(c) => {
                    buf[..c.len()].copy_from_slice(c);
                    Ok(c.len())
                }
                None => Err(std::io::Error::other("broken")),
            }
        }
    }

    #[test]
    fn a_partial_line_read_before_a_failure_is_sent_before_the_failure() {
        let (tx, rx) = sync_channel(64);
        read(Breaks(Some(b"one\ntw")), Stream::Stdout, None, &tx);
        drop(tx);
        let events: Vec<_> = rx
            .iter()
            .map(|e| match e {
                Event::Lines(_, l) => {
                    format!("{:?}", l.iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
                }
                Event::Failed(..) => "failed".to_owned(),
            })
            .collect();
        assert_eq!(events, ["[[111, 110, 101]]", "[[116, 119]]", "failed"]);
    }

    fn lines_read(chunks: Vec<&'static [u8]>) -> Vec<Vec<u8>> {
        let (tx, rx) = sync_channel(64);
        read(Chunks(chunks), Stream::Stdout, None, &tx);
        drop(tx);
        rx.iter()
            .flat_map(|e| match e {
                Event::Lines(_, l) => l.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(),
                Event::Failed(..) => panic!("no failure expected"),
            })
            .collect()
    }

    #[test]
    fn lines_are_the_bytes_between_lfs_whatever_the_chunking() {
        let want: Vec<Vec<u8>> = [&b"a"[..], b"", b"bc\r", b"\xffd", b"last"]
            .iter()
            .map(|l| l.to_vec())
            .collect();
        let whole: &'static [u8] = b"a\n\nbc\r\n\xffd\nlast";
        assert_eq!(lines_read(vec![whole]), want);
        for cut in 1..whole.len() {
            let (x, y) = whole.split_at(cut);
            assert_eq!(lines_read(vec![x, y]), want, "cut at {cut}");
        }
        let bytes: Vec<&'static [u8]> = (0..whole.len()).map(|i| &whole[i..=i]).collect();
        assert_eq!(lines_read(bytes), want, "one byte per read");
    }

    #[test]
    fn a_stream_ending_in_lf_has_no_empty_last_line() {
        assert_eq!(lines_read(vec![b"x\n"]), vec![b"x".to_vec()]);
        assert!(lines_read(vec![]).is_empty());
        assert_eq!(lines_read(vec![b"\n"]), vec![Vec::<u8>::new()]);
    }
}
