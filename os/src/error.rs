//! The one error type of the `os` crate: a stable kind, a message, a hint, and context.
//!
//! Role: every failure a user can see — from the format core, the file system or a request —
//! becomes an [`Error`] whose [`ErrorKind`] is stable (scripts and exit codes depend on it) and
//! whose hint says what to do next.
//!
//! # Invariants
//! - The kind names and their numbers ([`ErrorKind::code`], 1–9) are part of the CLI, HTTP,
//!   C ABI and bindings contract; never renumber them.
//! - Every error built from a core error carries a hint.
//! - Hints name no front end: no flag (`--size`), no command (`pls doctor`). A front end that
//!   wants to say how *its* users do something adds that itself, keyed on [`Error::cause`] or
//!   the kind — never by matching hint or message text.
//! - [`Error::to_json`] is the one error object every front end prints.
//!
//! Spec: `spec/API.md` §6; `spec/FORMAT.md` §2.1 (open errors), §8 (validation errors).

use plasmite_core::{Corrupt, HeaderError, LayoutError, Location, PlanError};
use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// Stable error kinds (the reference's error model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bug or an unexpected state.
    Internal,
    /// A request that cannot work as given.
    Usage,
    /// The pool or message does not exist.
    NotFound,
    /// The pool already exists.
    AlreadyExists,
    /// Someone else holds what is needed.
    Busy,
    /// The operating system refused access.
    Permission,
    /// The pool file is damaged.
    Corrupt,
    /// Reading or writing failed.
    Io,
    /// Messages were evicted before they could be read.
    RetentionGap,
}

impl ErrorKind {
    /// The kind's stable name, as printed in error envelopes.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Internal => "Internal",
            ErrorKind::Usage => "Usage",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Busy => "Busy",
            ErrorKind::Permission => "Permission",
            ErrorKind::Corrupt => "Corrupt",
            ErrorKind::Io => "Io",
            ErrorKind::RetentionGap => "RetentionGap",
        }
    }

    /// The kind's stable number: the process exit code of the CLI, the C ABI's
    /// `plsm_error_kind` value and the bindings' numeric kind. Internal=1, Usage=2, NotFound=3,
    /// AlreadyExists=4, Busy=5, Permission=6, Corrupt=7, Io=8, RetentionGap=9.
    pub const fn code(self) -> u8 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::AlreadyExists => 4,
            ErrorKind::Busy => 5,
            ErrorKind::Permission => 6,
            ErrorKind::Corrupt => 7,
            ErrorKind::Io => 8,
            ErrorKind::RetentionGap => 9,
        }
    }

    /// The kind whose [`code`](ErrorKind::code) is `code`; `None` for any other number (a
    /// binding decides what an unknown number means to its users).
    pub const fn from_code(code: u8) -> Option<ErrorKind> {
        Some(match code {
            1 => ErrorKind::Internal,
            2 => ErrorKind::Usage,
            3 => ErrorKind::NotFound,
            4 => ErrorKind::AlreadyExists,
            5 => ErrorKind::Busy,
            6 => ErrorKind::Permission,
            7 => ErrorKind::Corrupt,
            8 => ErrorKind::Io,
            9 => ErrorKind::RetentionGap,
            _ => return None,
        })
    }

    /// The message of an error of this kind that has none of its own (the reference's table).
    pub const fn default_message(self) -> &'static str {
        match self {
            ErrorKind::Internal => "internal error",
            ErrorKind::Usage => "usage error",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Busy => "resource is busy",
            ErrorKind::Permission => "permission denied",
            ErrorKind::Corrupt => "corrupt data",
            ErrorKind::Io => "i/o error",
            ErrorKind::RetentionGap => "retention gap",
        }
    }

    /// Every kind, in code order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Internal,
        ErrorKind::Usage,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Busy,
        ErrorKind::Permission,
        ErrorKind::Corrupt,
        ErrorKind::Io,
        ErrorKind::RetentionGap,
    ];
}

/// What exactly went wrong, for a front end to act on without reading the message or hint
/// (which are for people and may change).
///
/// Only failures a front end treats specially have a cause; most errors have none. The enum
/// grows (`#[non_exhaustive]`): match it with a `_` arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The pool file is of a format version this build cannot read.
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// The pool named does not exist (its file is missing).
    PoolNotFound,
    /// A message is larger than the pool's largest frame allows.
    MessageTooLarge {
        /// The largest payload, in bytes, the pool takes.
        max: u64,
    },
    /// A pool cannot be created that small.
    PoolTooSmall {
        /// The smallest file size, in bytes, that works.
        min_size: u64,
    },
    /// The disk has no room for a new pool of the size asked.
    NoSpace,
    /// A stored message payload does not decode (a damaged pool).
    DamagedPayload,
    /// The reader of an output stream went away (a closed pipe or connection): a front end
    /// usually ends quietly.
    OutputClosed,
    /// A remote (`http(s)://`) pool reference where only local pools can be used.
    RemoteRef,
    /// Text that should be JSON does not parse.
    InvalidJson,
}

/// An error with everything a user needs to act on it (boxed: results stay one word wide).
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    path: Option<PathBuf>,
    seq: Option<u64>,
    offset: Option<u64>,
    cause: Option<Cause>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The hint for damaged pools (the reference's wording).
pub const HINT_CORRUPT: &str =
    "Pool appears corrupt. Recreate it or investigate with validation tooling.";
/// The hint for pools of another format version (the reference's wording, less the command
/// the CLI adds).
pub const HINT_VERSION: &str = "Upgrade plasmite or migrate the pool (export/import).";

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            hint: None,
            path: None,
            seq: None,
            offset: None,
            cause: None,
            source: None,
        }))
    }

    /// Adds what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.0.hint = Some(hint.into());
        self
    }

    /// Adds the pool path.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        self.0.path = Some(path.as_ref().to_owned());
        self
    }

    /// Adds the message sequence concerned.
    pub fn with_seq(mut self, seq: u64) -> Error {
        self.0.seq = Some(seq);
        self
    }

    /// Adds the byte offset concerned.
    pub fn with_offset(mut self, offset: u64) -> Error {
        self.0.offset = Some(offset);
        self
    }

    /// Adds what exactly went wrong, for front ends to act on.
    pub fn with_cause(mut self, cause: Cause) -> Error {
        self.0.cause = Some(cause);
        self
    }

    /// Puts where it happened in front of the message (`"line 3: …"`); the rest is kept.
    pub fn with_context(mut self, context: impl std::fmt::Display) -> Error {
        self.0.message = format!("{context}: {}", self.0.message);
        self
    }

    /// Adds the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.0.source = Some(Box::new(source));
        self
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// What to do next.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }
    /// The pool path.
    pub fn path(&self) -> Option<&Path> {
        self.0.path.as_deref()
    }
    /// The message sequence concerned.
    pub fn seq(&self) -> Option<u64> {
        self.0.seq
    }
    /// The byte offset concerned (ring-relative for frames, file offset for the header).
    pub fn offset(&self) -> Option<u64> {
        self.0.offset
    }

    /// What exactly went wrong, when a front end may want to act on it.
    pub fn cause(&self) -> Option<Cause> {
        self.0.cause
    }

    /// The message, or the kind's [default message](ErrorKind::default_message) when it is
    /// empty.
    pub fn message_or_default(&self) -> &str {
        if self.0.message.is_empty() {
            self.0.kind.default_message()
        } else {
            &self.0.message
        }
    }

    /// The `Display` text of each error in the source chain, outermost first (the `causes` of
    /// [`Error::to_json`]; not to be confused with the structured [`Error::cause`]).
    pub fn source_chain(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut src = std::error::Error::source(self);
        while let Some(s) = src {
            out.push(s.to_string());
            src = s.source();
        }
        out
    }

    /// The one error object every front end prints (inside `{"error": …}` on the CLI's
    /// stderr, in HTTP bodies, in MCP results):
    /// `{"causes"?: [str], "hint"?: str, "kind": str, "message": str, "offset"?: u64,
    /// "path"?: str, "seq"?: u64}` — keys sorted, absent values left out, `message` defaulted
    /// by kind, `causes` the source chain. A front end may drop keys it does not carry or
    /// replace `hint` with its own wording; it does not build the object another way.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        let causes = self.source_chain();
        if !causes.is_empty() {
            o.insert("causes".into(), Value::from(causes));
        }
        if let Some(h) = self.hint() {
            o.insert("hint".into(), Value::from(h));
        }
        o.insert("kind".into(), Value::from(self.kind().as_str()));
        o.insert("message".into(), Value::from(self.message_or_default()));
        if let Some(off) = self.offset() {
            o.insert("offset".into(), Value::from(off));
        }
        if let Some(p) = self.path() {
            o.insert("path".into(), Value::from(p.display().to_string()));
        }
        if let Some(s) = self.seq() {
            o.insert("seq".into(), Value::from(s));
        }
        Value::Object(o)
    }

    /// Maps an I/O error to the stable kinds (`NotFound`, `Permission`, `AlreadyExists`, `Io`).
    pub fn io(err: std::io::Error, what: &str, path: &Path) -> Error {
        use std::io::ErrorKind as K;
        let (kind, hint) = match err.kind() {
            K::NotFound => (
                ErrorKind::NotFound,
                "Check the pool name or path, or create it first.",
            ),
            K::PermissionDenied => (ErrorKind::Permission, "Check the file's permissions."),
            K::AlreadyExists => (
                ErrorKind::AlreadyExists,
                "Pick another name or delete the existing pool.",
            ),
            _ => (ErrorKind::Io, "Check the disk and file system, then retry."),
        };
        Error::new(kind, format!("{what}: {err}"))
            .with_hint(hint)
            .with_path(path)
            .with_source(err)
    }
}

impl From<Corrupt> for Error {
    fn from(c: Corrupt) -> Error {
        let err = Error::new(ErrorKind::Corrupt, c.to_string()).with_hint(HINT_CORRUPT);
        match c.at {
            Location::Header { offset } | Location::Ring { offset } => err.with_offset(offset),
            _ => err,
        }
    }
}

impl From<HeaderError> for Error {
    fn from(e: HeaderError) -> Error {
        match e {
            HeaderError::Corrupt(c) => c.into(),
            HeaderError::UnsupportedVersion { found } => {
                Error::new(ErrorKind::Usage, e.to_string())
                    .with_hint(HINT_VERSION)
                    .with_cause(Cause::UnsupportedVersion {
                        found,
                        supported: plasmite_core::layout::FORMAT_VERSION,
                    })
            }
            _ => Error::new(ErrorKind::Internal, e.to_string()),
        }
    }
}

impl From<LayoutError> for Error {
    fn from(e: LayoutError) -> Error {
        let err = Error::new(ErrorKind::Usage, e.to_string());
        match e {
            LayoutError::FileTooSmall { min_size } => err
                .with_hint(format!("Choose a file size of at least {min_size} bytes."))
                .with_cause(Cause::PoolTooSmall { min_size }),
            _ => err.with_hint("Choose a smaller index capacity."),
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        match e {
            PlanError::TooLarge { max, .. } => Error::new(ErrorKind::Usage, e.to_string())
                .with_hint(format!(
                    "Send a message of at most {max} bytes, or create a larger pool."
                ))
                .with_cause(Cause::MessageTooLarge { max }),
            PlanError::Corrupt(c) => c.into(),
            _ => Error::new(ErrorKind::Internal, e.to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_codes_are_the_stable_numbers_one_to_nine() {
        let names: Vec<(u8, &str)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.code(), k.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (1, "Internal"),
                (2, "Usage"),
                (3, "NotFound"),
                (4, "AlreadyExists"),
                (5, "Busy"),
                (6, "Permission"),
                (7, "Corrupt"),
                (8, "Io"),
                (9, "RetentionGap"),
            ]
        );
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
        for unknown in [0, 10, 124, 255] {
            assert_eq!(ErrorKind::from_code(unknown), None);
        }
    }

    #[test]
    fn to_json_is_the_envelope_object_with_absent_values_left_out() {
        let bare = Error::new(ErrorKind::Busy, "");
        assert_eq!(
            bare.to_json(),
            json!({"kind": "Busy", "message": "resource is busy"})
        );
        let io = std::io::Error::other("disk on fire");
        let full = Error::new(ErrorKind::Corrupt, "bad frame")
            .with_hint("Recreate it.")
            .with_path("/p/x.plasmite")
            .with_seq(7)
            .with_offset(4096)
            .with_source(io);
        assert_eq!(
            full.to_json(),
            json!({
                "causes": ["disk on fire"],
                "hint": "Recreate it.",
                "kind": "Corrupt",
                "message": "bad frame",
                "offset": 4096,
                "path": "/p/x.plasmite",
                "seq": 7,
            })
        );
    }

    #[test]
    fn an_unsupported_version_is_usage_with_a_structured_cause() {
        let e = Error::from(HeaderError::UnsupportedVersion { found: 9 });
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert_eq!(
            e.cause(),
            Some(Cause::UnsupportedVersion {
                found: 9,
                supported: plasmite_core::layout::FORMAT_VERSION,
            })
        );
        assert_eq!(e.hint(), Some(HINT_VERSION));
    }

    /// The string literals of Rust source `code`, with their line numbers: enough of a lexer
    /// for this crate (line comments, escapes, `'"'`, raw strings `r#"…"#`).
    fn literals(code: &str) -> Vec<(usize, String)> {
        let c: Vec<char> = code.chars().collect();
        let at = |i: usize| c.get(i).copied().unwrap_or('\0');
        let mut out = Vec::new();
        let (mut i, mut line) = (0, 1);
        // `Some(hashes)` after an `r` (and its `#`s) in code: the next `"` opens a raw string.
        let mut raw: Option<usize> = None;
        while i < c.len() {
            let ch = at(i);
            line += usize::from(ch == '\n');
            match ch {
                '/' if at(i + 1) == '/' => {
                    while i < c.len() && at(i) != '\n' {
                        i += 1;
                    }
                    continue;
                }
                '\'' if at(i + 1) == '"' && at(i + 2) == '\'' => i += 2,
                '"' => {
                    let (start, mut lit) = (line, String::new());
                    i += 1;
                    while i < c.len() {
                        let ch = at(i);
                        line += usize::from(ch == '\n');
                        if let Some(h) = raw {
                            if ch == '"' && (1..=h).all(|k| at(i + k) == '#') {
                                i += h;
                                break;
                            }
                        } else if ch == '\\' {
                            lit.push(ch);
                            i += 1;
                            line += usize::from(at(i) == '\n');
                        } else if ch == '"' {
                            break;
                        }
                        lit.push(at(i));
                        i += 1;
                    }
                    out.push((start, lit));
                }
                _ => {}
            }
            raw = match (ch, raw) {
                ('r', _) => Some(0),
                ('#', Some(h)) => Some(h + 1),
                _ => None,
            };
            i += 1;
        }
        out
    }

    /// A hint names no front end: `os` has no idea whether its caller has flags or commands.
    /// Every string literal of the crate's non-test code is checked, since hints are built
    /// from them.
    #[test]
    fn no_os_source_string_names_a_flag_or_a_command() {
        let names_front_end = |literal: &str| {
            let flag = literal
                .match_indices("--")
                .any(|(i, _)| literal[i + 2..].starts_with(|c: char| c.is_ascii_lowercase()));
            let command = ["pls ", "plasmite doctor", "`plasmite "]
                .iter()
                .any(|c| literal.contains(c));
            flag || command
        };
        // The scan itself: it finds what it must refuse.
        let sample =
            "let a = '\"'; // \"--dir\"\nx.with_hint(\"a \\\"q\\\" \\\n run `pls doctor`\");";
        let found = literals(sample);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 2, "{found:?}");
        assert!(names_front_end(&found[0].1), "{found:?}");
        let raw = literals("let r = r#\"a \"quoted\" \\ --size\"#; let s = \"x\";");
        let texts: Vec<&str> = raw.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(texts, ["a \"quoted\" \\ --size", "x"]);

        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        // Every source file, sub-modules included; the filter's test-only files are skipped
        // (they quote the CLI's flag on purpose).
        let mut files = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("os/src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
                    files.push(path);
                }
            }
        }
        for path in files {
            if path.ends_with("filter/tests.rs") || path.ends_with("filter/agreement.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (line, literal) in literals(code) {
                checked += 1;
                assert!(
                    !names_front_end(&literal),
                    "{}:{line}: {literal:?} names a front end",
                    path.display()
                );
            }
        }
        assert!(
            checked > 100,
            "the scan read the sources ({checked} literals)"
        );
        for hint in [HINT_CORRUPT, HINT_VERSION] {
            assert!(!hint.contains("--") && !hint.contains("doctor"), "{hint}");
        }
    }
}
