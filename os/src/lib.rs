//! Plasmite pools on an operating system: files, the shared mapping, the writer lock, errors,
//! and messages as JSON.
//!
//! Role: composes the `no_std` format core with the operating system behind one [`Pool`]: create,
//! open (read-write or read-only), append (one or a batch) under the writer lock, get by
//! sequence, follow with wake-ups, info; pool references and the pool directory.
//!
//! # Invariants
//! - Storage logic lives in `plasmite-core`; this crate only moves bytes and maps errors.
//!
//! Spec: `spec/FORMAT.md`.
// `unsafe` is allowed in exactly one module, `map`, which states its rules.
#![deny(unsafe_code)]

pub mod dir;
pub mod error;
#[cfg(feature = "jq")]
pub mod filter;
pub mod follow;
pub mod info;
pub mod inspect;
#[allow(unsafe_code)]
pub mod map;
pub mod message;
pub mod pool;

pub use error::{Error, ErrorKind};
pub use follow::{Event, FollowOptions, Follower, GapPolicy, MessageRef, Start};
pub use info::Info;
pub use plasmite_core as core;
pub use pool::{Appended, CreateOptions, Durability, Message, Pool, now_ns};
