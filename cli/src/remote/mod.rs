//! Remote pools: `http(s)://host:port/pool` references for `feed`, `follow`, `fetch`, `duplex`
//! and `pool info`, and the Rust [`RemotePool`].
//!
//! Role: the client side of the server's protocol (`spec/HTTP.md`): [`client`] (agent, TLS,
//! token, error mapping), [`pool`] (pool operations and the remote [`Sink`](plasmite_os::append::Sink)),
//! [`tail`] (streamed tails and the reconnecting follower). The commands keep their own
//! logic and swap the local pool for these.
//!
//! # Invariants
//! - `--token`/`--token-file`/`--tls-ca`/`--tls-skip-verify` apply to remote references only;
//!   `--token` with `--token-file` is a Usage error.
//!
//! Spec: `spec/CLI.md` §3.2.

pub mod client;
pub mod pool;
pub mod tail;

pub use client::{Options, RemoteClient};
pub use pool::{RemotePool, RemoteSink};
