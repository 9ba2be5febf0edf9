//! Plasmite pools on an operating system: files, errors, and (growing) mmap, locking and waiting.
//!
//! Role: composes the `no_std` format core with the operating system. Today it provides the
//! error type every interface reports through and a read-only inspection of pool files; the
//! mapped, locked, waking `Pool` builds on these.
//!
//! # Invariants
//! - Storage logic lives in `plasmite-core`; this crate only moves bytes and maps errors.
//!
//! Spec: `spec/FORMAT.md`.
#![forbid(unsafe_code)]

pub mod error;
pub mod inspect;
pub mod message;

pub use error::{Error, ErrorKind};
pub use plasmite_core as core;
