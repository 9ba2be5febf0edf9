//! Plasmite pools on an operating system: files, the shared mapping, the writer lock, errors,
//! and messages as JSON.
//!
//! Role: composes the `no_std` format core with the operating system behind one [`Pool`]: create,
//! open (read-write or read-only), append (one or a batch) under the writer lock, get by
//! sequence, follow with wake-ups, queries (the one selection engine of every front end), the
//! sandbox that runs queries with untrusted predicates in evaluator processes, the per-pool
//! wake hub, info; pool references and the pool directory; the error model every front end
//! prints; time formats.
//!
//! # Invariants
//! - Storage logic lives in `plasmite-core`; this crate only moves bytes and maps errors.
//!
//! Spec: `spec/FORMAT.md`, `spec/API.md`.
// `unsafe` is allowed in exactly one module, `map`, which states its rules.
#![deny(unsafe_code)]

pub mod append;
pub mod dir;
pub mod error;
#[cfg(feature = "jq")]
pub mod filter;
pub mod follow;
pub mod hub;
pub mod info;
pub mod ingest;
pub mod inspect;
#[allow(unsafe_code)]
pub mod map;
pub mod message;
pub mod pool;
pub mod pool_ref;
pub mod query;
pub mod sandbox;
pub mod time;

pub use append::Batcher;
pub use error::{Cause, Error, ErrorKind};
pub use follow::{Event, FollowOptions, Follower, GapPolicy, MessageRef, MessageView, Start};
pub use hub::Hub;
pub use info::Info;
pub use plasmite_core as core;
pub use pool::{Appended, CreateOptions, Durability, Message, Pool, now_ns};
pub use pool_ref::{PoolName, PoolRef, RemoteRef};
pub use query::{Cancel, DamagePolicy, Item, Predicate, Query};
pub use sandbox::{Launcher, QuerySpec, Sandbox};
