//! `pls serve`: pools over HTTP — the v0 routes, JSON Lines, SSE and Lite³ tails, MCP over
//! HTTP — with bearer tokens, access modes, CORS, TLS and limits; `serve check` validates a
//! configuration and `serve init` creates a token and a certificate for serving other machines.
//!
//! Role: a front end like the others. [`config`] parses the flags, [`server`] owns sockets,
//! TLS and shutdown, [`router`] the route table, authentication and CORS; [`pools`] and
//! [`tail`] are the routes, [`mcp`] puts the `pls mcp` dispatcher behind `POST /mcp`. The work
//! itself is `plasmite_os`'s: pools, queries, the wake hub, ingestion, the sandbox.
//!
//! Spec: `spec/HTTP.md`, `spec/openapi.json`.

pub mod config;
pub mod feed;
pub mod http;
pub mod log;
pub mod mcp;
pub mod pools;
pub mod router;
pub mod server;
pub mod state;
pub mod tail;
pub mod tls;

use crate::args::Matches;
use crate::ui::Ui;
use config::Config;
use plasmite_os::{Error, Sandbox};
use std::path::{Path, PathBuf};

/// Runs `serve`, `serve check` or `serve init`.
pub fn run(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let dir = m
        .value("dir")
        .map_or_else(|| dir.to_path_buf(), PathBuf::from);
    match m.positional(0) {
        None => {
            let config = Config::from_matches(m, &dir)?;
            let sandbox = Sandbox::new(crate::evaluator::launcher())
                .with_limits(config.max_concurrency, plasmite_os::sandbox::IDLE_MAX);
            let _ = ui;
            server::run(config, sandbox, Box::new(|_, _| {}))
        }
        Some(other) => Err(Error::new(
            plasmite_os::ErrorKind::Usage,
            format!("serve {other} is not available yet"),
        )),
    }
}
