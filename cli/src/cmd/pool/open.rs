//! Opening pools by reference for every command: where names resolve, which references a
//! command takes, the remote client's options, and creating a missing pool on `--create`.
//!
//! Role: turns a pool reference into an open pool with the reference's hints, so every command
//! refuses and suggests the same way (retry lines are shell-quoted `--create` suggestions).
//!
//! # Invariants
//! - References resolve through `plasmite_os::dir` only; remote (`http(s)://`) references are
//!   opened by [`open_remote`] for the commands that take them and refused with a Usage error
//!   saying so by the others, never treated as file names.
//! - A pool another process creates between our open and our create is used, not an error.
//! - Remote auth/TLS flags given with a local reference are a Usage error.
//!
//! Spec: `spec/CLI.md` §2.1–2.4, §3.1.

use crate::args::{Matches, program, usage};
use crate::values;
#[cfg(feature = "remote")]
use plasmite_os::RemoteRef;
use plasmite_os::{CreateOptions, Error, ErrorKind, Pool, PoolRef, dir};
use std::path::{Path, PathBuf};

/// The pool directory of this run.
pub fn pool_dir(global_dir: Option<&Path>) -> PathBuf {
    global_dir.map_or_else(dir::default_dir, Path::to_path_buf)
}

/// Refuses references that are not local pools: malformed ones as `PoolRef::parse` says, and
/// well-formed remote ones because this build has no remote client.
pub fn check_local(reference: &str) -> Result<(), Error> {
    let parsed = PoolRef::parse(reference)?;
    if cfg!(feature = "remote") && parsed.is_remote() {
        return Err(usage(
            format!("this command takes local pools only, not {reference}"),
            None,
        )
        .with_hint("Remote pools work with feed, follow, fetch, duplex and pool info."));
    }
    parsed.local_path(Path::new("")).map(|_| ()).map_err(|e| {
        e.with_hint("This build of pls lacks remote pools (cargo feature `remote`); use a local pool name or path, or a build with remote pools.")
    })
}

/// The remote reference `reference` names, or `None` for a local one (a malformed reference
/// is its error).
#[cfg(feature = "remote")]
pub fn remote_ref(reference: &str) -> Result<Option<RemoteRef>, Error> {
    match PoolRef::parse(reference)? {
        PoolRef::Url(r) => Ok(Some(r)),
        _ => Ok(None),
    }
}

/// `--token`, `--token-file`, `--tls-ca` and `--tls-skip-verify` are for remote references:
/// with a local one they are a Usage error.
pub fn check_remote_flags(m: &Matches, cmd: &str) -> Result<(), Error> {
    let reference = m.positional(0).unwrap_or_default();
    let remote = PoolRef::parse(reference).is_ok_and(|r| r.is_remote());
    if remote {
        return Ok(());
    }
    for f in ["token", "token-file", "tls-ca", "tls-skip-verify"] {
        if m.has(f) {
            return Err(usage(
                format!("{cmd} remote auth/TLS flags require a remote http(s) pool ref"),
                Some(m.command),
            )
            .with_hint("Pass the pool as http(s)://host:port/pool, or drop the flag."));
        }
    }
    Ok(())
}

/// Opens the remote pool `r` with the command's `--token`/`--token-file`/`--tls-ca`/
/// `--tls-skip-verify` (a warning on stderr for the last).
#[cfg(feature = "remote")]
pub fn open_remote(r: &RemoteRef, m: &Matches) -> Result<crate::remote::RemotePool, Error> {
    crate::remote::RemotePool::open(r, &remote_options(m)?)
}

/// The remote options of a command line.
#[cfg(feature = "remote")]
pub fn remote_options(m: &Matches) -> Result<crate::remote::Options, Error> {
    let c = Some(m.command);
    if m.has("token") && m.has("token-file") {
        return Err(
            usage("--token and --token-file cannot be used together", c).with_hint(
                "Pass the token one way: --token-file PATH keeps it out of the process list.",
            ),
        );
    }
    let token = match (m.value("token"), m.value("token-file")) {
        (Some(t), _) => Some(t.trim().to_owned()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::io(e, "failed to read --token-file", Path::new(path))
                    .with_hint("Pass a readable file holding the server's token.")
            })?;
            let t = text.trim().to_owned();
            if t.is_empty() {
                return Err(usage(format!("--token-file {path} is empty"), c)
                    .with_hint("Put the server's token in the file."));
            }
            Some(t)
        }
        (None, None) => None,
    };
    let skip = m.has("tls-skip-verify");
    if skip {
        eprintln!("warning: --tls-skip-verify: the server's certificate is not checked");
    }
    Ok(crate::remote::Options {
        token,
        tls_ca: m.value("tls-ca").map(PathBuf::from),
        tls_skip_verify: skip,
    })
}

/// Opens the pool `reference`; when it is missing, creates it with `create` if given, else a
/// NotFound error whose hint is `retry` (or the generic create hint).
pub fn open(
    pool_dir: &Path,
    reference: &str,
    create: Option<CreateOptions>,
    retry: Option<String>,
) -> Result<Pool, Error> {
    check_local(reference)?;
    let path = dir::resolve(pool_dir, reference);
    match Pool::open(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => match create {
            Some(opts) => match Pool::create(&path, opts) {
                // Another process created it first: use theirs.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Pool::open(&path),
                other => other,
            },
            None => Err(missing_pool(pool_dir, reference, &path, retry)),
        },
        other => other,
    }
}

fn missing_pool(pool_dir: &Path, reference: &str, path: &Path, retry: Option<String>) -> Error {
    let hint = match retry {
        Some(r) => format!("Create it first, or retry with --create: {r}"),
        None if dir::is_path(reference) => {
            format!(
                "Pool path not found. Check the path, or create it with `{} pool create <path>`.",
                program()
            )
        }
        None => format!(
            "Create it first: {} pool create {reference} (or pass --dir; pools are looked up in {})",
            program(),
            pool_dir.display()
        ),
    };
    Error::new(ErrorKind::NotFound, "not found")
        .with_path(path)
        .with_hint(hint)
}

/// `--create` and `--create-size SIZE` (which needs `--create`): how to create a missing pool.
pub fn create_options(m: &Matches) -> Result<Option<CreateOptions>, Error> {
    if m.has("create-size") && !m.has("create") {
        return Err(usage("--create-size requires --create", Some(m.command)));
    }
    if !m.has("create") {
        return Ok(None);
    }
    Ok(Some(CreateOptions {
        size: match m.value("create-size") {
            Some(s) => values::size("--create-size", s)?,
            None => plasmite_os::core::layout::DEFAULT_POOL_SIZE,
        },
        index_capacity: None,
    }))
}

/// `argv` with `--create` added, quoted for a shell, as a retry suggestion.
pub fn retry_with_create(argv: &[String]) -> String {
    retry_with_create_before(argv, 0)
}

/// [`retry_with_create`] for a command whose last `tail` words are another program's argv
/// (`tap POOL -- CMD…`): `--create` goes before them, and before the `--` that introduces them.
pub fn retry_with_create_before(argv: &[String], tail: usize) -> String {
    let quote = |t: &str| {
        let plain = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=".contains(&b));
        if plain {
            t.to_owned()
        } else {
            // Single quotes: nothing inside is expanded (`$`, backticks, `!`); a quote is
            // closed, escaped and reopened.
            format!("'{}'", t.replace('\'', r"'\''"))
        }
    };
    let mut at = argv.len().saturating_sub(tail);
    if tail > 0 && at > 0 && argv.get(at - 1).is_some_and(|a| a == "--") {
        at -= 1;
    }
    let (head, rest) = argv.split_at(at);
    let mut words: Vec<String> = vec![quote(program())];
    words.extend(head.iter().map(|a| quote(a)));
    words.push("--create".to_owned());
    words.extend(rest.iter().map(|a| quote(a)));
    words.join(" ")
}
