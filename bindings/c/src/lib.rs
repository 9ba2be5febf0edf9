//! `libplasmite`: the C ABI of plasmite pools, declared in `include/plasmite.h`.
//!
//! Role: a thin boundary over `plasmite-os`. It checks and converts C arguments, calls the
//! engine (which decides everything), and hands results back as library-owned C data. It is
//! source- and link-compatible with the `plasmite.h` of plasmite 0.8.0 (same names, types,
//! layouts, return conventions and error kinds) and adds extensions named as such in the header.
//!
//! # Invariants
//! - Every fallible function returns `0` on success and `-1` on failure; stream `next` returns
//!   `1` (item), `0` (end) or `-1`. On failure a non-NULL `out_err` receives a new
//!   `plsm_error_t*`; on success it is left untouched. Other out-parameters are written only on
//!   success.
//! - Every pointer argument is checked: NULL is a Usage error (a documented no-op for frees).
//!   Out-pointers are checked *before* anything happens, so a NULL out-pointer never leaves a
//!   side effect behind (a divergence from 0.8.0, which checked some of them afterwards).
//! - Streams start at the oldest retained message (or `since`), never at ring offset 0, wait on
//!   the pool's futex wake word, and report a retention gap only when messages were evicted
//!   before the stream read them.
//! - Returned buffers, frames and errors are plain heap data owned by the caller until passed
//!   to their `*_free`.
//!
//! # Safety
//! `unsafe` lives here and in `os::map` only. Every `unsafe` block cites the rules below that
//! make it sound; each exported function's contract is the caller's side of them:
//!
//! 1. A non-NULL handle pointer (`plsm_client_t*`, `plsm_pool_t*`, `plsm_stream_t*`,
//!    `plsm_lite3_stream_t*`) was returned by this library's matching constructor and has not
//!    been passed to its `*_free` (the C caller's contract, stated in the header).
//! 2. A non-NULL `const char*` points to a NUL-terminated string that stays valid and unchanged
//!    for the duration of the call.
//! 3. A non-NULL byte or array pointer with a length `len` addresses `len` readable, initialised
//!    elements for the duration of the call; lengths whose byte size exceeds `isize::MAX` are
//!    refused before any access.
//! 4. A non-NULL out-pointer addresses writable, properly aligned storage of its C type.
//! 5. A non-NULL `plsm_buf_t*` / `plsm_lite3_frame_t*` given to a `*_free` holds either zeroes
//!    or exactly what this library wrote into it (pointer and length of one boxed slice), and a
//!    `plsm_error_t*` given to `plsm_error_free` came from this library, once; one given to
//!    `plsm_error_hint` came from this library and was not freed yet.
//! 6. A stream handle is used by one thread at a time; pool and client handles may be used from
//!    several threads at once (the engine's `Pool` is `Sync`; clients are immutable). The one
//!    exception is `*_stream_cancel`, which any thread may call on a stream that is not being
//!    freed, while another thread uses it.
//!
//! Spec: `spec/API.md` (pool references, streams); header `bindings/c/include/plasmite.h`.

use plasmite_os::dir;
use plasmite_os::message::{self, Printed};
use plasmite_os::query::{Cancel, DamagePolicy, Item, PayloadCheck, Predicate, Query, Stream};
use plasmite_os::{CreateOptions, Durability, Error, ErrorKind, GapPolicy, Pool, Start};
use std::cell::UnsafeCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// C types
// ---------------------------------------------------------------------------------------------

/// `PLSM_GAP_CONTINUE`: a stream skips evicted messages and goes on.
pub const PLSM_GAP_CONTINUE: u32 = 0;
/// `PLSM_GAP_ERROR`: a stream fails with RetentionGap and ends.
pub const PLSM_GAP_ERROR: u32 = 1;
/// Extension: start where the options say (oldest retained, or `since_seq`).
pub const PLSM_START_DEFAULT: u32 = 0;
/// Extension: start with the messages appended after the stream opens.
pub const PLSM_START_LIVE: u32 = 1;
/// Extension: start with the last `last_n` matching messages.
pub const PLSM_START_LAST: u32 = 2;

/// A client: the pool directory names resolve in.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct plsm_client {
    dir: PathBuf,
}

/// An open pool.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct plsm_pool {
    pool: Arc<Pool>,
}

/// A running query and its state as seen through the ABI.
#[derive(Debug)]
struct Reader {
    stream: Stream<Arc<Pool>>,
    /// A RetentionGap under the error policy ended the stream for good.
    terminated: bool,
    /// An error met by a batch after its first message: the next call reports it.
    pending: Option<Error>,
    /// Scratch space for printing envelopes.
    scratch: Vec<u8>,
}

/// A stream of JSON envelopes.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct plsm_stream {
    /// Used by one thread at a time (rule 6), hence behind a cell: `next` takes the handle
    /// shared so that `cancel` may hold it at the same time from another thread.
    reader: UnsafeCell<Reader>,
    /// Raised by `plsm_stream_cancel` from any thread.
    cancel: Cancel,
}

/// A stream of raw Lite³ frames.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct plsm_lite3_stream {
    /// As [`plsm_stream::reader`].
    reader: UnsafeCell<Reader>,
    /// Raised by `plsm_lite3_stream_cancel` from any thread.
    cancel: Cancel,
}

// SAFETY: a stream is shared between threads only through `*_stream_cancel`, which touches
// `cancel` alone (an `Arc<AtomicBool>`, itself Sync); `reader` is reached by one thread at a
// time (rule 6) and `Reader` is Send.
unsafe impl Sync for plsm_stream {}
// SAFETY: as for plsm_stream.
unsafe impl Sync for plsm_lite3_stream {}

/// Stream options (0.8.0 layout).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct plsm_stream_options {
    /// `sizeof(plsm_stream_options_t)` as the caller compiled it.
    pub struct_size: u32,
    /// `PLSM_GAP_CONTINUE` or `PLSM_GAP_ERROR`.
    pub gap_policy: u32,
    /// Inclusive first sequence (with `has_since`).
    pub since_seq: u64,
    /// Deliver at most this many (with `has_max`).
    pub max_messages: u64,
    /// Deadline from open, ms (with `has_timeout`).
    pub timeout_ms: u64,
    /// Non-zero: `since_seq` applies.
    pub has_since: u32,
    /// Non-zero: `max_messages` applies.
    pub has_max: u32,
    /// Non-zero: `timeout_ms` applies.
    pub has_timeout: u32,
    /// Must be 0.
    pub reserved: u32,
}

/// Extension: what a stream selects beyond the 0.8.0 options.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct plsm_stream_filter {
    /// `sizeof(plsm_stream_filter_t)` as the caller compiled it.
    pub struct_size: u32,
    /// `PLSM_START_DEFAULT`, `PLSM_START_LIVE` or `PLSM_START_LAST`.
    pub start: u32,
    /// With `PLSM_START_LAST`: how many matching messages of history.
    pub last_n: u64,
    /// Tags every delivered message carries (AND).
    pub tags: *const *const c_char,
    /// Entries in `tags`.
    pub tags_len: usize,
    /// jq predicates every delivered message passes (AND).
    pub where_exprs: *const *const c_char,
    /// Entries in `where_exprs`.
    pub where_len: usize,
}

/// A library-allocated byte buffer.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct plsm_buf {
    /// The bytes (not NUL-terminated).
    pub data: *mut u8,
    /// Their count.
    pub len: usize,
}

/// A raw message.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct plsm_lite3_frame {
    /// Sequence.
    pub seq: u64,
    /// Append time, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// Frame header flags (0).
    pub flags: u32,
    /// The Lite³ payload.
    pub payload: plsm_buf,
}

/// An error.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct plsm_error {
    /// `plsm_error_kind_t` value (1–9).
    pub kind: i32,
    /// NUL-terminated message (empty when there is none).
    pub message: *mut c_char,
    /// NUL-terminated path, or NULL.
    pub path: *mut c_char,
    /// Sequence, when `has_seq`.
    pub seq: u64,
    /// Ring offset, when `has_offset`.
    pub offset: u64,
    /// 1 when `seq` is meaningful.
    pub has_seq: u8,
    /// 1 when `offset` is meaningful.
    pub has_offset: u8,
}

// What the header's thread rules promise: clients and pools are shared across threads, streams
// move between them.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    const fn movable<T: Send>() {}
    shared::<plsm_client>();
    shared::<plsm_pool>();
    movable::<plsm_stream>();
    movable::<plsm_lite3_stream>();
    shared::<Cancel>();
};

// The layouts the header declares (LP64).
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<plsm_stream_options>() == 48 && align_of::<plsm_stream_options>() == 8);
    assert!(offset_of!(plsm_stream_options, struct_size) == 0);
    assert!(offset_of!(plsm_stream_options, gap_policy) == 4);
    assert!(offset_of!(plsm_stream_options, since_seq) == 8);
    assert!(offset_of!(plsm_stream_options, max_messages) == 16);
    assert!(offset_of!(plsm_stream_options, timeout_ms) == 24);
    assert!(offset_of!(plsm_stream_options, has_since) == 32);
    assert!(offset_of!(plsm_stream_options, has_max) == 36);
    assert!(offset_of!(plsm_stream_options, has_timeout) == 40);
    assert!(offset_of!(plsm_stream_options, reserved) == 44);
    assert!(size_of::<plsm_buf>() == 16);
    assert!(offset_of!(plsm_buf, data) == 0 && offset_of!(plsm_buf, len) == 8);
    assert!(size_of::<plsm_lite3_frame>() == 40);
    assert!(offset_of!(plsm_lite3_frame, seq) == 0);
    assert!(offset_of!(plsm_lite3_frame, timestamp_ns) == 8);
    assert!(offset_of!(plsm_lite3_frame, flags) == 16);
    assert!(offset_of!(plsm_lite3_frame, payload) == 24);
    assert!(size_of::<plsm_error>() == 48);
    assert!(offset_of!(plsm_error, kind) == 0);
    assert!(offset_of!(plsm_error, message) == 8);
    assert!(offset_of!(plsm_error, path) == 16);
    assert!(offset_of!(plsm_error, seq) == 24);
    assert!(offset_of!(plsm_error, offset) == 32);
    assert!(offset_of!(plsm_error, has_seq) == 40);
    assert!(offset_of!(plsm_error, has_offset) == 41);
    assert!(size_of::<plsm_stream_filter>() == 48);
    assert!(offset_of!(plsm_stream_filter, struct_size) == 0);
    assert!(offset_of!(plsm_stream_filter, start) == 4);
    assert!(offset_of!(plsm_stream_filter, last_n) == 8);
    assert!(offset_of!(plsm_stream_filter, tags) == 16);
    assert!(offset_of!(plsm_stream_filter, tags_len) == 24);
    assert!(offset_of!(plsm_stream_filter, where_exprs) == 32);
    assert!(offset_of!(plsm_stream_filter, where_len) == 40);
};

mod append;
mod args;
mod client;
mod ext;
mod get;
mod owned;
mod pool;
mod stream;

pub use append::*;
use args::*;
pub use client::*;
pub use ext::*;
pub use get::*;
pub use owned::*;
pub use pool::*;
pub use stream::*;

#[cfg(test)]
mod tests;
