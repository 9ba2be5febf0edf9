//! The plasmite pool format, version 3: layout, frames, ring planning, index, cursors and
//! validation — `no_std`, allocation-free, panic-free on any bytes.
//!
//! Role: everything about pool files that does not need an operating system. The `os` crate
//! composes it with mmap, file locks and futexes; embedders can drive it over any memory through
//! [`view::PoolView`]; the fuzzers drive it over arbitrary bytes.
//!
//! # Invariants
//! - No `unsafe`, no allocation, no panics reachable from bytes: indexing, arithmetic overflow,
//!   `unwrap` and lossy casts are denied outside tests.
//! - Untrusted bytes enter through one checked parse per structure: [`header::Header::parse`],
//!   [`header::RingState::check`] (live ring states), [`frame::FrameHead::parse`], the verified
//!   index probe, and `lite3::read::Doc::new` for payloads.
//!
//! Spec: `spec/FORMAT.md`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::cast_possible_truncation
    )
)]

pub mod cursor;
pub mod error;
pub mod frame;
pub mod header;
pub mod layout;
pub mod lite3;
pub mod plan;
pub mod predicate;
pub mod read;
pub mod validate;
pub mod view;

pub use cursor::{Cursor, Step};
pub use error::{Corrupt, CorruptKind, HeaderError, LayoutError, Location, PlanError};
pub use frame::{FrameHead, FrameState};
pub use header::{Geometry, Header, Published, RingState};
pub use plan::{AppendWrite, Order, Plan, Store, plan_append};
pub use read::{FrameRef, Slot, locate, read_frame_at};
pub use validate::{Report, validate};
pub use view::{PoolView, Snapshot};
