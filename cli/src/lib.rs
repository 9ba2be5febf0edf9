//! Plasmite pools: persistent, bounded JSON message channels for local IPC — one file, a ring
//! buffer that many processes append to (serialized by a file lock) and read from (lock-free,
//! through a shared mapping).
//!
//! As a library (`cargo add plasmite`) this crate is the engine of `plasmite-os`, re-exported:
//! [`Pool`] (create, open, append, get, info), [`Query`] (the one way to select and wait for
//! messages: start positions, tags, time, `where` predicates, gaps, damaged payloads),
//! [`filter`] (jq predicates with a compiled fast path, feature `jq`), [`ingest`] (JSON Lines,
//! json-seq, event streams), [`append::Batcher`], [`sandbox`] (untrusted `where` expressions in
//! evaluator processes), [`PoolRef`]/[`PoolName`] and the [`Error`] model.
//!
//! ```
//! use plasmite::{CreateOptions, Durability, Item, Pool, Query, Start};
//! # fn main() -> Result<(), plasmite::Error> {
//! # let dir = std::env::temp_dir().join(format!("plasmite-doc-{}", std::process::id()));
//! let path = dir.join("events.plasmite");
//! let pool = Pool::create(&path, CreateOptions::default())?;
//! let data = serde_json::json!({"sensor": "temp", "value": 23.5});
//! let payload = plasmite::message::encode(&data, &["reading"], pool.max_payload_len())?;
//! let appended = pool.append(&payload, Durability::Fast)?;
//!
//! let query = Query { start: Start::Oldest, ..Query::default() };
//! let mut stream = query.run(&pool)?;
//! while let Some(Item::Message(m)) = stream.poll()? {
//!     assert_eq!(m.seq, appended.seq);
//! }
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! The `pls` command line (also installed as `plasmite`) is this package's `cli` feature, on by
//! default so that `cargo install plasmite` installs it; a library user who does not want its
//! dependencies compiled writes `plasmite = { version = "…", default-features = false }` (add
//! `features = ["jq"]` for `where` filters).
//!
//! Spec: `spec/API.md` (the library), `spec/CLI.md` (the command line).
#![forbid(unsafe_code)]
// The command line's modules use `pub` to mark each one's interface to the others, not an
// exported API; only `main` is reachable from outside, for the two binaries.
#![allow(unreachable_pub)]

pub use plasmite_os::*;

// The command line (the `cli` feature).
#[cfg(feature = "cli")]
mod args;
#[cfg(feature = "bridge")]
mod bridge;
#[cfg(feature = "cli")]
mod cmd;
#[cfg(feature = "cli")]
mod evaluator;
#[cfg(feature = "cli")]
mod progress;
#[cfg(feature = "remote")]
pub mod remote;
#[cfg(feature = "cli")]
mod run;
#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "cli")]
mod ui;
#[cfg(feature = "cli")]
mod values;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub use run::main;
