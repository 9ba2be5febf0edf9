//! `pls serve`: pools over HTTP — the v0 routes, JSON Lines, SSE and Lite³ tails, MCP over
//! HTTP — with bearer tokens, access modes, CORS, TLS and limits; `serve check` validates a
//! configuration and `serve init` creates a token and a certificate for serving other machines.
//!
//! Role: a front end like the others. [`config`] parses the flags, [`server`] owns sockets,
//! TLS and shutdown, [`router`] the route table, authentication and CORS; [`pools`] and
//! [`tail`] are the routes, [`ui`] the embedded web UI, [`mcp`] puts the `pls mcp` dispatcher
//! behind `POST /mcp`; [`check`] describes a configuration (and prints the banner), [`init`]
//! writes a token and a certificate.
//! This module checks which flags may stand before and after the action word. The work
//! itself is `plasmite_os`'s: pools, queries, the wake hub, ingestion, the sandbox.
//!
//! Spec: `spec/HTTP.md`, `spec/openapi.json`, `spec/CLI.md` §2.14.

pub mod appender;
pub mod check;
pub mod config;
pub mod feed;
pub mod http;
pub mod init;
pub mod log;
pub mod mcp;
pub mod pools;
pub mod router;
pub mod server;
pub mod state;
pub mod tail;
pub mod tls;
pub mod ui;

use crate::args::{Matches, usage};
use crate::ui::Ui;
use config::Config;
use plasmite_os::{Error, Sandbox};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Flags that belong to an action (`check`, `init`), never to the server itself.
const ACTION_FLAGS: &[&str] = &["json", "output-dir", "force"];
/// The flags `serve init` takes (after `init`).
const INIT_FLAGS: &[&str] = &[
    "bind",
    "output-dir",
    "token-file",
    "tls-cert",
    "tls-key",
    "force",
    "json",
];

/// Runs `serve`, `serve check` or `serve init`.
pub fn run(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let bad = |message: String| Err(usage(message, Some(m.command)));
    let (before, after) = m.flags_around_positional();
    match m.positional(0) {
        None => {
            if let Some(f) = before.iter().find(|f| ACTION_FLAGS.contains(f)) {
                let of = if *f == "json" {
                    "`serve check` and `serve init`"
                } else {
                    "`serve init`"
                };
                return bad(format!("--{f} is an option of {of}, not of `serve`"));
            }
            serve(m, ui, &pool_dir(m, dir))
        }
        Some("check") => {
            if let Some(f) = before.iter().find(|f| ACTION_FLAGS.contains(f)) {
                return bad(if *f == "json" {
                    "--json goes after `check`".to_owned()
                } else {
                    format!("serve check does not use --{f}")
                });
            }
            if let Some(f) = after.iter().find(|f| **f != "json") {
                return bad(format!(
                    "serve check takes only --json after `check`, not --{f} (serve options go \
                     before `check`)"
                ));
            }
            check::run(m, ui, &pool_dir(m, dir))
        }
        Some("init") => {
            if let Some(f) = before.first() {
                return bad(
                    if INIT_FLAGS.contains(f) && !config::PARENT_FLAGS.contains(f) {
                        format!("--{f} goes after `init`")
                    } else {
                        format!("serve init does not use parent option --{f}")
                    },
                );
            }
            if let Some(f) = after.iter().find(|f| !INIT_FLAGS.contains(f)) {
                return bad(format!("serve init does not use --{f}"));
            }
            init::run(m, ui)
        }
        // A pool directory given as a path (`serve ./data`), as the Node package's README
        // writes it.
        Some(path) if looks_like_dir(path) => {
            if let Some(f) = before
                .iter()
                .chain(&after)
                .find(|f| ACTION_FLAGS.contains(f))
            {
                return bad(format!("--{f} is not an option of `serve`"));
            }
            if m.value("dir").is_some() {
                return bad(format!(
                    "the pool directory is given twice: '{path}' and --dir"
                ));
            }
            serve(m, ui, Path::new(path))
        }
        Some(other) => bad(format!(
            "unknown serve action '{other}': use `serve check` or `serve init`, or give a \
             pool directory as a path (./{other})"
        )),
    }
}

/// Whether a positional names a directory rather than an action: a path with a `/`, `.` or
/// `..`, or an existing directory.
fn looks_like_dir(word: &str) -> bool {
    word.contains('/') || word == "." || word == ".." || Path::new(word).is_dir()
}

/// `--dir` given to `serve`, else the global pool directory.
fn pool_dir(m: &Matches, dir: &Path) -> PathBuf {
    m.value("dir")
        .map_or_else(|| dir.to_path_buf(), PathBuf::from)
}

/// Starts the server; on a terminal, a banner once it listens.
fn serve(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let config = Config::from_matches(m, dir)?;
    let sandbox = Sandbox::new(crate::evaluator::launcher())
        .with_limits(config.max_concurrency, plasmite_os::sandbox::IDLE_MAX);
    let shown = ui.stderr_tty.then(|| config.clone());
    let token_file = m.value("token-file");
    server::run(
        config,
        sandbox,
        Box::new(move |bound, fingerprint| {
            if let Some(config) = shown {
                let text = check::banner(&config, bound, fingerprint, token_file);
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
        }),
    )
}
