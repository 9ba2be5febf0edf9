//! The server's log: one line per event on stderr, `<time> <LEVEL> <message>`, filtered by a
//! level read once from `PLASMITE_LOG` (or `RUST_LOG`): `off`, `error`, `warn`, `info` (the
//! default) or `debug`.
//!
//! # Invariants
//! - Nothing secret is logged: no token, no `Authorization` header, no request body.
//! - A failed write to stderr is ignored: logging never ends the server.
//!
//! Spec: `spec/HTTP.md` §2 (logging).

use std::io::Write;
use std::sync::OnceLock;

/// How much is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    Off,
    /// Failures of the server itself.
    Error,
    /// Problems worth a look (damaged messages, refused connections).
    Warn,
    /// Start, stop, and what the server serves.
    Info,
    /// Every request.
    Debug,
}

impl Level {
    /// The level a variable's value names (`None`: not a level).
    pub fn parse(s: &str) -> Option<Level> {
        // `RUST_LOG` may be a directive list (`info,hyper=warn`): its first bare level counts.
        s.split(',')
            .find_map(|d| match d.trim().to_ascii_lowercase().as_str() {
                "off" => Some(Level::Off),
                "error" => Some(Level::Error),
                "warn" | "warning" => Some(Level::Warn),
                "info" => Some(Level::Info),
                "debug" | "trace" => Some(Level::Debug),
                _ => None,
            })
    }

    fn label(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
}

/// The configured level.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        ["PLASMITE_LOG", "RUST_LOG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().and_then(|s| Level::parse(&s)))
            .unwrap_or(Level::Info)
    })
}

/// Logs `message` at `at`.
pub fn log(at: Level, message: &str) {
    if at == Level::Off || at > level() {
        return;
    }
    let now = plasmite_os::time::rfc3339(plasmite_os::now_ns());
    let line = format!("{now} {:<5} {message}\n", at.label());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Whether debug lines are written (to skip building them).
pub fn debug_enabled() -> bool {
    level() >= Level::Debug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_from_plain_words_and_directive_lists() {
        assert_eq!(Level::parse("debug"), Some(Level::Debug));
        assert_eq!(Level::parse("WARN"), Some(Level::Warn));
        assert_eq!(Level::parse("hyper=warn,info"), Some(Level::Info));
        assert_eq!(Level::parse("loud"), None);
        assert!(Level::Debug > Level::Info && Level::Error > Level::Off);
    }
}
