//! Follow's output: the message printer, coalesced drop notices and `corrupt` notices.
//!
//! Role: what a follow loop, local or remote, writes — messages as pretty JSON, JSON lines,
//! data only or through a template on stdout, and notices on stderr — with the final flush,
//! the last drop report and the timeout line ([`print_follow`]).
//!
//! # Invariants
//! - Output is buffered and written once the buffer is large or before waiting, so memory
//!   stays bounded however much history is printed.
//! - Drop notices are coalesced, at most one per second, and the pending one is always
//!   reported before exit (unless `--quiet-drops`).
//! - A damaged payload is a `corrupt` notice on stderr; following goes on.
//!
//! Spec: `spec/CLI.md` §2.7.

use super::{Args, Format, TIMEOUT_EXIT};
use crate::ui::{Ui, closed};
use plasmite_os::message::{Printed, Style, print, print_data, to_value};
use plasmite_os::query::Damage;
use plasmite_os::{Error, ErrorKind};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

/// Formats messages for output.
pub(super) struct Emitter<'a> {
    pub(super) ui: &'a Ui,
    format: Format,
    data_only: bool,
    template: Option<minijinja::Environment<'static>>,
    buf: Vec<u8>,
}

impl Emitter<'_> {
    /// Whether every message goes through `message::print`, whose walk checks the whole
    /// payload (a template or colored output builds a value first, which checks less).
    pub(super) fn prints_directly(&self) -> bool {
        self.template.is_none() && !(self.format == Format::Pretty && self.ui.color_out)
    }

    pub(super) fn emit(&mut self, msg: &Printed<'_>) -> Result<(), Error> {
        if let Some(env) = &self.template {
            let value = to_value(msg)?;
            let tpl = env
                .get_template("line")
                .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
            let ctx = to_jinja(&value);
            let line = tpl.render(ctx).map_err(|e| {
                Error::new(ErrorKind::Usage, format!("template failed: {e}"))
                    .with_hint("Check the --template expression, e.g. '{{ seq }} {{ data.msg }}'.")
            })?;
            self.buf.extend_from_slice(line.as_bytes());
            self.buf.push(b'\n');
            return Ok(());
        }
        let colored = self.format == Format::Pretty && self.ui.color_out;
        if colored {
            let mut v = to_value(msg)?;
            if self.data_only {
                v = v.get_mut("data").map(Value::take).unwrap_or(Value::Null);
            }
            self.buf.extend_from_slice(&crate::ui::pretty(&v, true));
            return Ok(());
        }
        let style = match self.format {
            Format::Pretty => Style::Pretty,
            Format::Jsonl => Style::Compact,
        };
        if self.data_only {
            print_data(&mut self.buf, msg, style)?;
        } else {
            print(&mut self.buf, msg, style)?;
        }
        self.buf.push(b'\n');
        Ok(())
    }

    /// Writes the buffer out once it is large, so memory stays bounded however much history
    /// is printed before the follower catches up.
    pub(super) fn spill(&mut self, out: &mut impl Write) -> Result<(), Error> {
        if self.buf.len() >= 1 << 16 {
            out.write_all(&self.buf).map_err(closed)?;
            self.buf.clear();
        }
        Ok(())
    }

    pub(super) fn flush(&mut self, out: &mut impl Write) -> Result<(), Error> {
        if !self.buf.is_empty() {
            out.write_all(&self.buf).map_err(closed)?;
            self.buf.clear();
        }
        out.flush().map_err(closed)
    }
}

/// Coalesced drop notices, at most one per second.
pub(super) struct Drops<'a> {
    ui: &'a Ui,
    quiet: bool,
    pool: &'a str,
    pool_path: String,
    pending: u64,
    /// The last sequence read before the pending gap.
    last_seen: Option<u64>,
    /// The first sequence retained after it.
    next_seen: Option<u64>,
    last_notice: Option<Instant>,
}

impl Drops<'_> {
    /// Writers evicted `count` messages from `first_missing` before they were read.
    pub(super) fn gap(&mut self, first_missing: u64, count: u64) {
        self.pending += count;
        self.next_seen = Some(first_missing.saturating_add(count));
        self.report(false);
    }

    /// A message was read (printed or not).
    pub(super) fn seen(&mut self, seq: u64) {
        self.report(false);
        self.last_seen = Some(seq);
    }

    /// Prints the coalesced notice when one is pending and due (or `force`).
    fn report(&mut self, force: bool) {
        if self.quiet || self.pending == 0 {
            return;
        }
        let due = force
            || self
                .last_notice
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !due {
            return;
        }
        self.ui.notice(
            "follow",
            "drop",
            &format!("dropped {} messages", self.pending),
            self.pool,
            json!({"dropped_count": self.pending, "last_seen_seq": self.last_seen,
                   "next_seen_seq": self.next_seen, "pool_path": self.pool_path}),
        );
        self.pending = 0;
        self.last_notice = Some(Instant::now());
    }
}

/// The printing around a follow loop, local or remote: the emitter and the drop notices, then
/// the final flush, the last drop report and the timeout line.
pub(super) fn print_follow(
    ui: &Ui,
    a: &Args<'_>,
    template: Option<minijinja::Environment<'static>>,
    pool_path: String,
    run: impl FnOnce(
        &mut Emitter<'_>,
        &mut Drops<'_>,
        &mut std::io::StdoutLock<'static>,
    ) -> Result<u8, Error>,
) -> Result<u8, Error> {
    let mut emitter = Emitter {
        ui,
        format: a.format,
        data_only: a.data_only,
        template,
        buf: Vec::with_capacity(1 << 16),
    };
    let mut drops = Drops {
        ui,
        quiet: a.quiet_drops,
        pool: a.pool,
        pool_path,
        pending: 0,
        last_seen: None,
        next_seen: None,
        last_notice: None,
    };
    let mut out = std::io::stdout().lock();
    let code = run(&mut emitter, &mut drops, &mut out);
    let flushed = emitter.flush(&mut out);
    drops.report(true);
    let code = code?;
    flushed?;
    if code == TIMEOUT_EXIT && ui.stderr_tty {
        let t = a.timeout.unwrap_or_default();
        eprintln!(
            "No messages received (timed out after {}).",
            human_duration(t)
        );
    }
    Ok(code)
}

fn human_duration(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A damaged payload: a `corrupt` notice on stderr (like drop notices), and following goes on.
pub(super) fn damaged(ui: &Ui, pool: &str, d: &Damage) {
    ui.notice(
        "follow",
        "corrupt",
        &format!("skipped damaged message {}", d.seq),
        pool,
        json!({"error": d.error.message(), "offset": d.offset, "seq": d.seq,
               "pool_path": d.error.path().map(|p| p.display().to_string())}),
    );
}

/// A JSON value as a template value.
fn to_jinja(v: &Value) -> minijinja::Value {
    use minijinja::Value as J;
    match v {
        Value::Null => J::from(()),
        Value::Bool(b) => J::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => J::from(i),
            (None, Some(u), _) => J::from(u),
            (_, _, f) => J::from(f.unwrap_or(f64::NAN)),
        },
        Value::String(s) => J::from(s.as_str()),
        Value::Array(a) => J::from(a.iter().map(to_jinja).collect::<Vec<_>>()),
        Value::Object(o) => J::from(
            o.iter()
                .map(|(k, v)| (k.clone(), to_jinja(v)))
                .collect::<std::collections::BTreeMap<String, J>>(),
        ),
    }
}
