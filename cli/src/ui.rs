//! What the user sees: terminal detection, colors, JSON output, errors and notices.
//!
//! Role: the reference's output conventions in one place — pretty (and colored) JSON on a
//! terminal, one compact line when piped; errors as `error:`/`hint:` lines on a terminal and
//! one JSON envelope line otherwise; notices likewise.
//!
//! # Invariants
//! - Every JSON object printed has its keys sorted (serde_json's map without
//!   `preserve_order`), as the reference prints them.
//! - A closed stdout is not an error the user needs to see: [`closed`] marks it, and `main`
//!   exits quietly.
//! - Colors only when asked (`--color always`) or on a terminal with `--color auto` and
//!   `NO_COLOR` unset.
//!
//! Spec: `spec/CLI.md` §1.3–1.5.

use crate::args::Color;
use plasmite_os::{Cause, Error, ErrorKind};
use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::{Value, json};
use std::io::{self, IsTerminal, Write};

/// How output looks in this run.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal.
    pub stderr_tty: bool,
    /// stdin is a terminal.
    pub stdin_tty: bool,
    /// Color stdout.
    pub color_out: bool,
    /// Color stderr.
    pub color_err: bool,
    /// `--color always`: also forces pretty JSON when piped.
    pub always: bool,
}

impl Ui {
    /// Detects terminals and applies `--color` and `NO_COLOR`.
    pub fn detect(color: Color) -> Ui {
        let stdout_tty = io::stdout().is_terminal();
        let stderr_tty = io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let pick = |tty: bool| match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => tty && !no_color,
        };
        Ui {
            stdout_tty,
            stderr_tty,
            stdin_tty: io::stdin().is_terminal(),
            color_out: pick(stdout_tty),
            color_err: pick(stderr_tty),
            always: color == Color::Always,
        }
    }

    /// JSON for the "JSON output helper": pretty (colored when enabled) on a terminal or with
    /// `--color always`, else one compact line. Ends with a newline.
    pub fn json(&self, value: &Value) -> Vec<u8> {
        if self.stdout_tty || self.always {
            pretty(value, self.color_out)
        } else {
            let mut out = serde_json::to_vec(value).unwrap_or_default();
            out.push(b'\n');
            out
        }
    }

    /// Writes `bytes` to stdout and flushes.
    pub fn print(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        out.write_all(bytes).map_err(closed)?;
        out.flush().map_err(closed)
    }

    /// Prints an error the reference's way: text with labels on a terminal, one JSON line
    /// (`{"error": Error::to_json()}` with the CLI's [`hint`]) otherwise.
    pub fn error(&self, err: &Error) {
        let hint = hint(err);
        let mut text = Vec::new();
        if self.stderr_tty {
            let label = |l: &str, code: &str| {
                if self.color_err {
                    format!("\x1b[{code}m{l}\x1b[0m")
                } else {
                    l.to_owned()
                }
            };
            let _ = writeln!(
                text,
                "{} {}",
                label("error:", "31"),
                err.message_or_default()
            );
            if let Some(h) = &hint {
                let _ = writeln!(text, "{} {h}", label("hint:", "33"));
            }
            if let Some(p) = err.path() {
                let _ = writeln!(text, "{} {}", label("path:", "33"), p.display());
            }
            if let Some(s) = err.seq() {
                let _ = writeln!(text, "{} {s}", label("seq:", "33"));
            }
            if let Some(o) = err.offset() {
                let _ = writeln!(text, "{} {o}", label("offset:", "33"));
            }
            if let Some(c) = err.source_chain().first() {
                let _ = writeln!(text, "{} {c}", label("caused by:", "33"));
            }
        } else {
            let e = with_hint(err.to_json(), hint);
            let _ = serde_json::to_writer(&mut text, &json!({ "error": e }));
            text.push(b'\n');
        }
        let _ = io::stderr().lock().write_all(&text);
    }

    /// Prints a notice (non-fatal event) on stderr.
    pub fn notice(&self, cmd: &str, kind: &str, message: &str, pool: &str, details: Value) {
        let mut text = Vec::new();
        if self.stderr_tty {
            let label = if self.color_err {
                "\x1b[33mnotice:\x1b[0m"
            } else {
                "notice:"
            };
            if cmd == "feed" {
                let _ = writeln!(text, "{label} {message}");
            } else {
                let _ = writeln!(text, "{label} {message} (pool: {pool})");
            }
        } else {
            let n = json!({"notice": {
                "cmd": cmd,
                "details": details,
                "kind": kind,
                "message": message,
                "pool": pool,
                "time": plasmite_os::message::rfc3339(plasmite_os::now_ns()),
            }});
            let _ = serde_json::to_writer(&mut text, &n);
            text.push(b'\n');
        }
        let _ = io::stderr().lock().write_all(&text);
    }
}

/// The hint the CLI shows for `err`: [`own_hint`], else what to do about its kind.
pub fn hint(err: &Error) -> Option<String> {
    own_hint(err).or_else(|| default_hint(err.kind()))
}

/// `err` as a JSON object inside the CLI's outputs (`pool list`, `pool delete`):
/// [`Error::to_json`] with the CLI's wording of its own hint.
pub fn error_json(err: &Error) -> Value {
    with_hint(err.to_json(), own_hint(err))
}

/// `object` with `hint` as its hint (none: none).
fn with_hint(mut object: Value, hint: Option<String>) -> Value {
    if let Some(o) = object.as_object_mut() {
        match hint {
            Some(h) => o.insert("hint".into(), json!(h)),
            None => o.remove("hint"),
        };
    }
    object
}

/// The error's hint in the CLI's words: the engine's hints name no command or flag, so what a
/// `pls` user types to act on the cause is added here.
pub fn own_hint(err: &Error) -> Option<String> {
    let own = err.hint();
    let add = |fallback: &str, more: String| {
        Some(
            format!("{} {more}", own.unwrap_or(fallback))
                .trim_start()
                .to_owned(),
        )
    };
    match err.cause() {
        Some(Cause::UnsupportedVersion { .. }) => add(
            plasmite_os::error::HINT_VERSION,
            format!(
                "Run `{} doctor <pool>` for guidance.",
                crate::args::program()
            ),
        ),
        // The reference's wording, which names the flag that picks the directory.
        Some(Cause::PoolNotFound) => Some("Create the pool first or check --dir.".to_owned()),
        Some(Cause::MessageTooLarge { .. }) => add(
            "Send a smaller message.",
            "A new pool's size is set with --size (or --create-size).".to_owned(),
        ),
        Some(Cause::NoSpace) => add(
            "Free disk space.",
            "A smaller pool is created with a smaller --size.".to_owned(),
        ),
        Some(Cause::DamagedPayload) => add(
            plasmite_os::error::HINT_CORRUPT,
            format!(
                "Run `{} doctor <pool>` to see the damage.",
                crate::args::program()
            ),
        ),
        _ => own.map(str::to_owned),
    }
}

fn default_hint(kind: ErrorKind) -> Option<String> {
    let h = match kind {
        ErrorKind::Corrupt => plasmite_os::error::HINT_CORRUPT,
        ErrorKind::Permission => {
            "Permission denied. Check directory permissions or use --dir to a writable location."
        }
        ErrorKind::Busy => "Pool is busy (another writer holds the lock). Retry with backoff.",
        ErrorKind::Io => "I/O error. Check the path, filesystem, and disk space.",
        ErrorKind::Internal => {
            "Unexpected internal failure. Retry with RUST_BACKTRACE=1 and report the output."
        }
        _ => return None,
    };
    Some(h.to_owned())
}

/// The marker message of a closed stdout.
pub const CLOSED: &str = "stdout closed";

/// Maps a stdout write failure: a closed pipe becomes the quiet [`CLOSED`] error.
pub fn closed(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Error::new(ErrorKind::Io, CLOSED).with_cause(Cause::OutputClosed)
    } else {
        Error::new(ErrorKind::Io, format!("failed to write output: {e}")).with_source(e)
    }
}

/// Whether `err` is the quiet closed-stdout error.
pub fn is_closed(err: &Error) -> bool {
    err.cause() == Some(Cause::OutputClosed)
}

/// Two-space pretty JSON, colored like the reference when `color` (keys cyan, strings green,
/// numbers yellow, booleans magenta, null default). Ends with a newline.
pub fn pretty(value: &Value, color: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if color {
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Colored::default());
        let _ = value.serialize(&mut ser);
    } else {
        let mut ser = serde_json::Serializer::with_formatter(&mut out, PrettyFormatter::new());
        let _ = value.serialize(&mut ser);
    }
    out.push(b'\n');
    out
}

/// A pretty formatter that adds ANSI colors.
#[derive(Default)]
struct Colored {
    inner: PrettyFormatter<'static>,
    in_key: bool,
}

const RESET: &[u8] = b"\x1b[0m";

macro_rules! colored_number {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<W: ?Sized + Write>(&mut self, w: &mut W, v: $t) -> io::Result<()> {
            w.write_all(b"\x1b[33m")?;
            self.inner.$name(w, v)?;
            w.write_all(RESET)
        })*
    };
}

impl Formatter for Colored {
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\x1b[39mnull\x1b[0m")
    }
    fn write_bool<W: ?Sized + Write>(&mut self, w: &mut W, v: bool) -> io::Result<()> {
        w.write_all(if v {
            b"\x1b[35mtrue\x1b[0m"
        } else {
            b"\x1b[35mfalse\x1b[0m"
        })
    }
    colored_number!(write_i64: i64, write_u64: u64, write_f64: f64);
    fn write_number_str<W: ?Sized + Write>(&mut self, w: &mut W, v: &str) -> io::Result<()> {
        w.write_all(b"\x1b[33m")?;
        w.write_all(v.as_bytes())?;
        w.write_all(RESET)
    }
    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.in_key {
            b"\x1b[36m\""
        } else {
            b"\x1b[32m\""
        })
    }
    fn end_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\"\x1b[0m")
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.in_key = true;
        self.inner.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.inner.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plasmite_os::core::HeaderError;

    #[test]
    fn the_cli_adds_its_doctor_command_to_the_version_hint() {
        let e = Error::from(HeaderError::UnsupportedVersion { found: 9 });
        let engine = e.hint().expect("engine hint");
        assert!(!engine.contains("doctor"), "{engine}");
        let cli = hint(&e).expect("hint");
        assert!(cli.starts_with(engine), "{cli}");
        assert!(
            cli.ends_with("Run `pls doctor <pool>` for guidance."),
            "{cli}"
        );
    }

    #[test]
    fn a_missing_pool_to_delete_gets_the_reference_hint() {
        let e = plasmite_os::dir::delete(std::path::Path::new("/nonexistent/p.plasmite"))
            .expect_err("missing");
        assert_eq!(
            error_json(&e)["hint"],
            "Create the pool first or check --dir."
        );
    }

    #[test]
    fn errors_without_a_hint_get_the_kind_default_on_stderr_only() {
        let e = Error::new(ErrorKind::Busy, "");
        assert!(error_json(&e).get("hint").is_none());
        assert_eq!(
            hint(&e).as_deref(),
            Some("Pool is busy (another writer holds the lock). Retry with backoff.")
        );
        assert_eq!(error_json(&e)["message"], "resource is busy");
    }

    #[test]
    fn a_closed_stdout_is_recognised_by_its_cause() {
        let e = closed(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_closed(&e));
        let other = Error::new(ErrorKind::Io, CLOSED);
        assert!(
            !is_closed(&other),
            "the message alone does not make it quiet"
        );
    }
}
