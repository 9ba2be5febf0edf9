//! The one error type of the `os` crate: a stable kind, a message, a hint, and context.
//!
//! Role: every failure a user can see — from the format core, the file system or a request —
//! becomes an [`Error`] whose [`ErrorKind`] is stable (scripts and exit codes depend on it) and
//! whose hint says what to do next.
//!
//! # Invariants
//! - The kind names and their order are part of the CLI/HTTP contract; never renumber them.
//! - Every error built from a core error carries a hint.
//!
//! Spec: `spec/FORMAT.md` §2.1 (open errors), §8 (validation errors).

use plasmite_core::{Corrupt, HeaderError, LayoutError, Location, PlanError};
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
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The hint for damaged pools (the reference's wording).
pub const HINT_CORRUPT: &str =
    "Pool appears corrupt. Recreate it or investigate with validation tooling.";
/// The hint for pools of another format version (the reference's wording).
pub const HINT_VERSION: &str = "Upgrade plasmite or migrate the pool (export/import). Run `plasmite doctor <pool>` for guidance.";

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
            HeaderError::UnsupportedVersion { .. } => {
                Error::new(ErrorKind::Usage, e.to_string()).with_hint(HINT_VERSION)
            }
            _ => Error::new(ErrorKind::Internal, e.to_string()),
        }
    }
}

impl From<LayoutError> for Error {
    fn from(e: LayoutError) -> Error {
        let hint = match e {
            LayoutError::FileTooSmall { min_size } => {
                format!("Choose a file size of at least {min_size} bytes.")
            }
            _ => "Choose a smaller index capacity.".to_owned(),
        };
        Error::new(ErrorKind::Usage, e.to_string()).with_hint(hint)
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        match e {
            PlanError::TooLarge { max, .. } => Error::new(ErrorKind::Usage, e.to_string())
                .with_hint(format!(
                    "Send a message of at most {max} bytes, or create a larger pool."
                )),
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
