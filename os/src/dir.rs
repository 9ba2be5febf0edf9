//! Pool references and the pool directory: how `chat`, `chat.plasmite` and `./x.plasmite`
//! name files, and what lives in the directory.
//!
//! Role: the one place that turns a local pool reference into a pool path, lists the
//! directory (with each pool's info) and deletes pools — shared by the CLI, the HTTP server,
//! MCP and the bindings. Telling names,
//! paths and URLs apart, and what a valid name is, is [`crate::pool_ref`]'s.
//!
//! # Invariants
//! - Resolution is the reference's: anything containing `/` is a path as given; a name ending
//!   in `.plasmite` is `DIR/name`; any other name is `DIR/name.plasmite`.
//! - The default directory is `$HOME/.plasmite/pools` (`./.plasmite/pools` when `HOME` is unset
//!   or empty).
//! - Deleting is `unlink`: followers that have the file open keep reading what they mapped.
//!
//! Spec: `spec/API.md` (pool references).

use crate::error::{Cause, Error, ErrorKind};
use crate::info::Info;
use crate::pool::Pool;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// File extension of pool files.
pub const POOL_EXTENSION: &str = "plasmite";

/// The directory named pools live in when none is given.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".plasmite").join("pools"),
        None => PathBuf::from(".plasmite").join("pools"),
    }
}

/// The path a pool reference names, relative to the pool directory `dir`.
pub fn resolve(dir: &Path, reference: &str) -> PathBuf {
    if reference.contains('/') {
        PathBuf::from(reference)
    } else if reference.ends_with(".plasmite") {
        dir.join(reference)
    } else {
        dir.join(format!("{reference}.{POOL_EXTENSION}"))
    }
}

/// Whether a reference is a path (contains `/`) rather than a name in the pool directory.
pub fn is_path(reference: &str) -> bool {
    reference.contains('/')
}

/// A pool file found in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The pool's name (file name without `.plasmite`).
    pub name: String,
    /// Its path.
    pub path: PathBuf,
}

/// The `*.plasmite` files in `dir`, sorted by name; a missing directory holds no pools.
pub fn list(dir: &Path) -> Result<Vec<Listed>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(e, "failed to read pool directory", dir)),
    };
    let mut pools = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(e, "failed to read pool directory", dir))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some(POOL_EXTENSION) {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        pools.push(Listed {
            name: name.to_owned(),
            path,
        });
    }
    pools.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pools)
}

/// A listed pool and its info, or why it could not be read.
pub type ListedInfo = (Listed, Result<Info, Error>);

/// Every pool of `dir` (as [`list`]) with its info read at this instant, or the error that
/// kept it from being read (a damaged file, another version): one unreadable pool does not
/// hide the others.
pub fn list_infos(dir: &Path) -> Result<Vec<ListedInfo>, Error> {
    Ok(list(dir)?
        .into_iter()
        .map(|l| {
            let info = Pool::open_read_only(&l.path).and_then(|p| p.info());
            (l, info)
        })
        .collect())
}

/// [`list_infos`] as JSON: each pool's info object ([`Info::to_json`], ages relative to
/// `now_ns`), or `{"error", "name", "path"}` with the engine's error object.
pub fn list_json(dir: &Path, now_ns: u64) -> Result<Vec<Value>, Error> {
    Ok(list_infos(dir)?
        .into_iter()
        .map(|(l, info)| match info {
            Ok(info) => info.to_json(&l.name, now_ns),
            Err(e) => json!({
                "error": e.to_json(),
                "name": l.name,
                "path": l.path.to_string_lossy(),
            }),
        })
        .collect())
}

/// Deletes the pool file at `path` (`unlink`, no lock). NotFound when there is none.
pub fn delete(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::new(ErrorKind::NotFound, "pool not found")
                .with_path(path)
                .with_cause(Cause::PoolNotFound)
                .with_hint("Create the pool first, or check the pool directory."))
        }
        Err(e) => Err(Error::new(ErrorKind::Io, "failed to delete pool")
            .with_path(path)
            .with_hint("Check the pool directory's permissions.")
            .with_source(e)),
    }
}
