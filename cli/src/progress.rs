//! The progress line of a long-running feed: records, bytes read and rate, on a terminal's
//! stderr.
//!
//! Role: `feed` counts records ([`Progress::record`]) and its input reader counts bytes
//! ([`Progress::bytes`]); the line is redrawn in place at most every [`REFRESH`], and only once
//! the feed has run that long, so a quick feed prints nothing.
//!
//! # Invariants
//! - Off (no writer) unless stderr is a terminal: nothing is written at all.
//! - Whatever else is written to the terminal is preceded by [`Progress::clear`], so a notice
//!   or a receipt never lands in the middle of the line.
//! - The line never outlives the feed: [`Progress::finish`] replaces it with a final summary
//!   line (when it was ever shown), and dropping it unfinished — on an error — erases it.
//!
//! Spec: `spec/CLI.md` §2.5.

use crate::cmd::pool::human_bytes;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Least time between two draws (and before the first).
pub const REFRESH: Duration = Duration::from_millis(250);
/// Moves to the start of the line and erases it.
const ERASE: &str = "\r\x1b[K";

/// See the module documentation.
pub struct Progress {
    /// Where the line goes; `None`: off.
    out: Option<Box<dyn Write>>,
    label: String,
    started: Instant,
    last: Instant,
    /// The line is on the screen now.
    shown: bool,
    /// The line was drawn at least once.
    ever: bool,
    records: u64,
    bytes: Arc<AtomicU64>,
}

impl Progress {
    /// A progress line labelled `label`, written to `out` (`None`: off).
    pub fn new(out: Option<Box<dyn Write>>, label: impl Into<String>) -> Progress {
        let now = Instant::now();
        Progress {
            out,
            label: label.into(),
            started: now,
            last: now,
            shown: false,
            ever: false,
            records: 0,
            bytes: Arc::default(),
        }
    }

    /// The counter of input bytes, for the reader to add to.
    pub fn bytes(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.bytes)
    }

    /// Counts one record and redraws the line if it is due.
    pub fn record(&mut self) {
        self.records += 1;
        self.tick(Instant::now());
    }

    /// Redraws the line if [`REFRESH`] has passed since the last draw (or the start).
    fn tick(&mut self, now: Instant) {
        if self.out.is_none() || now.duration_since(self.last) < REFRESH {
            return;
        }
        self.last = now;
        let secs = now.duration_since(self.started).as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let rate = self.records as f64 / secs.max(0.001);
        let line = format!(
            "{ERASE}{}: {} records, {} read, {rate:.0} records/s",
            self.label,
            self.records,
            human_bytes(self.bytes.load(Ordering::Relaxed))
        );
        self.write(&line);
        self.shown = true;
        self.ever = true;
    }

    /// Erases the line (until the next draw) before something else is written.
    pub fn clear(&mut self) {
        if self.shown {
            self.write(ERASE);
            self.shown = false;
        }
    }

    /// Ends the display: a last line with the totals when the line was ever shown. Nothing is
    /// drawn after it.
    pub fn finish(&mut self) {
        if self.ever {
            let line = format!(
                "{ERASE}{}: {} records, {} read in {:.1}s\n",
                self.label,
                self.records,
                human_bytes(self.bytes.load(Ordering::Relaxed)),
                self.started.elapsed().as_secs_f64()
            );
            self.write(&line);
        }
        self.shown = false;
        self.out = None;
    }

    fn write(&mut self, text: &str) {
        if let Some(out) = self.out.as_mut() {
            // The line is a courtesy: a terminal that fails to take it changes nothing else.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A writer whose bytes the test can read while the progress line holds it.
    #[derive(Clone, Default)]
    struct Screen(Rc<RefCell<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).unwrap()
        }
    }

    fn progress() -> (Progress, Screen) {
        let screen = Screen::default();
        let p = Progress::new(Some(Box::new(screen.clone())), "feeding p");
        (p, screen)
    }

    #[test]
    fn nothing_is_drawn_before_the_refresh_interval_and_a_quick_feed_stays_silent() {
        let (mut p, screen) = progress();
        let start = p.started;
        p.records = 5;
        p.tick(start + REFRESH / 2);
        p.finish();
        assert_eq!(screen.text(), "");
    }

    #[test]
    fn the_line_is_redrawn_in_place_at_most_once_per_interval() {
        let (mut p, screen) = progress();
        let start = p.started;
        p.bytes().store(3 << 20, Ordering::Relaxed);
        p.records = 1000;
        p.tick(start + REFRESH);
        p.records = 2000;
        p.tick(start + REFRESH + REFRESH / 2);
        assert_eq!(
            screen.text(),
            "\r\x1b[Kfeeding p: 1000 records, 3M read, 4000 records/s"
        );
        p.tick(start + REFRESH * 2);
        assert!(
            screen
                .text()
                .ends_with("\r\x1b[Kfeeding p: 2000 records, 3M read, 4000 records/s")
        );
    }

    #[test]
    fn clear_erases_a_shown_line_once_and_finish_leaves_the_totals() {
        let (mut p, screen) = progress();
        let start = p.started;
        p.records = 7;
        p.tick(start + REFRESH);
        let drawn = screen.text().len();
        p.clear();
        p.clear();
        assert_eq!(&screen.text()[drawn..], "\r\x1b[K");
        p.finish();
        let text = screen.text();
        let last = &text[drawn + 4..];
        assert!(
            last.starts_with("\r\x1b[Kfeeding p: 7 records, 0 read in "),
            "{last:?}"
        );
        assert!(last.ends_with("s\n"), "{last:?}");
    }

    #[test]
    fn dropping_an_unfinished_line_erases_it() {
        let (mut p, screen) = progress();
        let start = p.started;
        p.tick(start + REFRESH);
        drop(p);
        assert!(
            screen.text().ends_with("records/s\r\x1b[K"),
            "{:?}",
            screen.text()
        );
    }

    #[test]
    fn off_writes_nothing() {
        let mut p = Progress::new(None, "feeding p");
        let start = p.started;
        p.tick(start + REFRESH * 10);
        assert!(!p.ever);
    }
}
