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

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

fn usage(message: &str) -> Error {
    Error::new(ErrorKind::Usage, message)
}

fn c_string(s: &[u8]) -> *mut c_char {
    CString::new(s).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// What an error pointer handed out really addresses: the public struct first (so a
/// `plsm_error_t*` is a pointer to this allocation), then what only extensions read.
#[repr(C)]
struct ErrorAlloc {
    public: plsm_error,
    /// NUL-terminated hint (what to do next), or NULL.
    hint: *mut c_char,
}

fn to_c_error(e: &Error) -> *mut plsm_error {
    let message = c_string(e.message().as_bytes());
    let path = e
        .path()
        .map_or(std::ptr::null_mut(), |p| c_string(p.as_os_str().as_bytes()));
    let hint = e
        .hint()
        .map_or(std::ptr::null_mut(), |h| c_string(h.as_bytes()));
    let alloc = Box::into_raw(Box::new(ErrorAlloc {
        public: plsm_error {
            kind: i32::from(e.kind().code()),
            message,
            path,
            seq: e.seq().unwrap_or(0),
            offset: e.offset().unwrap_or(0),
            has_seq: u8::from(e.seq().is_some()),
            has_offset: u8::from(e.offset().is_some()),
        },
        hint,
    }));
    // `public` is the first field of a repr(C) struct: same address as the allocation.
    alloc.cast::<plsm_error>()
}

/// Reports `e` through `out_err` and returns -1.
///
/// # Safety
/// `out_err` is NULL or satisfies rule 4.
unsafe fn fail(out_err: *mut *mut plsm_error, e: &Error) -> c_int {
    if !out_err.is_null() {
        // SAFETY: rule 4 — a non-NULL out_err addresses a writable `plsm_error_t*`.
        unsafe { out_err.write(to_c_error(e)) };
    }
    -1
}

/// `0` for `Ok`, else the error through `out_err` and `-1`.
///
/// # Safety
/// As [`fail`].
unsafe fn done(out_err: *mut *mut plsm_error, r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => 0,
        // SAFETY: the caller's contract is fail's.
        Err(e) => unsafe { fail(out_err, &e) },
    }
}

/// The string at `p`: NULL ⇒ Usage `null_msg`, bad UTF-8 ⇒ Usage `utf8_msg`.
///
/// # Safety
/// `p` is NULL or satisfies rule 2.
unsafe fn c_str<'a>(p: *const c_char, null_msg: &str, utf8_msg: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(usage(null_msg));
    }
    // SAFETY: rule 2 — non-NULL and NUL-terminated, valid for the call.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| usage(utf8_msg))
}

/// The `len` elements at `p` (`p` non-NULL).
///
/// # Safety
/// `p` is non-NULL and satisfies rule 3 for `len` elements.
unsafe fn slice<'a, T>(p: *const T, len: usize, what: &str) -> Result<&'a [T], Error> {
    if len
        .checked_mul(size_of::<T>().max(1))
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(usage(&format!("{what} length is too large")));
    }
    // SAFETY: rule 3 — `p` addresses `len` initialised elements; the byte size fits isize.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An array of `len` C strings (NULL array ⇒ empty).
///
/// # Safety
/// `p` is NULL or satisfies rule 3 for `len` pointers, each NULL or satisfying rule 2.
unsafe fn c_strings<'a>(
    p: *const *const c_char,
    len: usize,
    what: &str,
) -> Result<Vec<&'a str>, Error> {
    if p.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: rule 3 for the array.
    let ptrs = unsafe { slice(p, len, what)? };
    ptrs.iter()
        .map(|&s| {
            if s.is_null() {
                return Err(usage(&format!("{what} contains null")));
            }
            // SAFETY: rule 2 for each non-NULL entry.
            let s = unsafe { CStr::from_ptr(s) };
            s.to_str()
                .map_err(|_| usage(&format!("{what} invalid UTF-8")))
        })
        .collect()
}

fn durability(d: u32) -> Result<Durability, Error> {
    match d {
        0 => Ok(Durability::Fast),
        1 => Ok(Durability::Flush),
        _ => Err(usage("invalid durability")),
    }
}

fn to_buf(bytes: Vec<u8>) -> plsm_buf {
    if bytes.is_empty() {
        return plsm_buf {
            data: std::ptr::null_mut(),
            len: 0,
        };
    }
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    plsm_buf {
        data: Box::into_raw(boxed).cast::<u8>(),
        len,
    }
}

/// Releases what [`to_buf`] made and zeroes `buf`.
fn release(buf: &mut plsm_buf) {
    if !buf.data.is_null() && buf.len != 0 {
        let raw = std::ptr::slice_from_raw_parts_mut(buf.data, buf.len);
        // SAFETY: rule 5 — data/len are exactly one boxed slice this library leaked.
        drop(unsafe { Box::from_raw(raw) });
    }
    buf.data = std::ptr::null_mut();
    buf.len = 0;
}

/// The pool file `reference` names in the client's directory.
fn resolve(client: &plsm_client, reference: &str) -> Result<PathBuf, Error> {
    if reference.contains("://") {
        return Err(usage("remote pool refs are not supported in v0")
            .with_hint("Use a local pool name or path."));
    }
    Ok(dir::resolve(&client.dir, reference))
}

/// The compact envelope `{"seq","time","meta","data"}` of a message (0.8.0's member order).
fn envelope(printed: &Printed<'_>) -> Result<Vec<u8>, Error> {
    envelope_with(&mut Vec::new(), printed)
}

/// [`envelope`] printed through a scratch buffer kept by the caller (a stream's), so the
/// returned buffer is allocated once, at its exact size.
fn envelope_with(scratch: &mut Vec<u8>, printed: &Printed<'_>) -> Result<Vec<u8>, Error> {
    scratch.clear();
    message::print_seq_first(scratch, printed)?;
    Ok(scratch.to_vec())
}

/// Parses one JSON document and encodes it with `tags` for `pool`, printing the message's
/// data into `data` on the way.
fn encode_json_printing(
    pool: &Pool,
    json: &[u8],
    tags: &[&str],
    data: &mut Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let text = std::str::from_utf8(json).map_err(|_| usage("invalid json utf-8"))?;
    let mut payload = Vec::new();
    message::encode_json_printing(&mut payload, text, tags, pool.max_payload_len(), data)?;
    Ok(payload)
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// Makes a client bound to `pool_dir` (NULL: `$HOME/.plasmite/pools`).
///
/// # Safety
/// Rules 2 and 4 for `pool_dir`, `out_client` and `out_err`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_client_new(
    pool_dir: *const c_char,
    out_client: *mut *mut plsm_client,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        if out_client.is_null() {
            return Err(usage("out_client is null"));
        }
        let dir = if pool_dir.is_null() {
            dir::default_dir()
        } else {
            // SAFETY: rule 2 for the non-NULL pool_dir.
            let s = unsafe { c_str(pool_dir, "", "pool_dir is not valid UTF-8")? };
            PathBuf::from(s)
        };
        let client = Box::into_raw(Box::new(plsm_client { dir }));
        // SAFETY: rule 4 — out_client was checked non-NULL above.
        unsafe { out_client.write(client) };
        Ok(())
    })();
    // SAFETY: rule 4 for out_err.
    unsafe { done(out_err, r) }
}

/// Releases a client (NULL: no-op).
///
/// # Safety
/// Rule 1 for `client`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_client_free(client: *mut plsm_client) {
    if !client.is_null() {
        // SAFETY: rule 1 — made by Box::into_raw in plsm_client_new, not freed yet.
        drop(unsafe { Box::from_raw(client) });
    }
}

/// The client behind `client`, or Usage.
///
/// # Safety
/// Rule 1.
unsafe fn client_ref<'a>(client: *const plsm_client) -> Result<&'a plsm_client, Error> {
    // SAFETY: rule 1 — a live handle (or NULL, refused by as_ref).
    unsafe { client.as_ref() }.ok_or_else(|| usage("client is null"))
}

/// The pool behind `pool`, or Usage.
///
/// # Safety
/// Rule 1.
unsafe fn pool_ref<'a>(pool: *const plsm_pool) -> Result<&'a plsm_pool, Error> {
    // SAFETY: rule 1.
    unsafe { pool.as_ref() }.ok_or_else(|| usage("pool is null"))
}

/// Client, then the checked pool reference string.
///
/// # Safety
/// Rules 1 and 2.
unsafe fn client_and_path(
    client: *const plsm_client,
    pool_ref: *const c_char,
) -> Result<PathBuf, Error> {
    // SAFETY: rule 1 for client, rule 2 for pool_ref.
    let (client, reference) = unsafe {
        (
            client_ref(client)?,
            c_str(pool_ref, "pool_ref is null", "pool_ref is not valid UTF-8")?,
        )
    };
    resolve(client, reference)
}

/// Creates a pool file and opens it.
///
/// # Safety
/// Rules 1, 2 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_create(
    client: *mut plsm_client,
    pool_ref: *const c_char,
    size_bytes: u64,
    out_pool: *mut *mut plsm_pool,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rules 1 and 2.
        let path = unsafe { client_and_path(client, pool_ref)? };
        if out_pool.is_null() {
            return Err(usage("out_pool is null"));
        }
        let size = if size_bytes == 0 {
            CreateOptions::default().size
        } else {
            size_bytes
        };
        let pool = Pool::create(
            &path,
            CreateOptions {
                size,
                index_capacity: None,
            },
        )?;
        let handle = Box::into_raw(Box::new(plsm_pool {
            pool: Arc::new(pool),
        }));
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { out_pool.write(handle) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Opens an existing pool.
///
/// # Safety
/// Rules 1, 2 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_open(
    client: *mut plsm_client,
    pool_ref: *const c_char,
    out_pool: *mut *mut plsm_pool,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rules 1 and 2.
        let path = unsafe { client_and_path(client, pool_ref)? };
        if out_pool.is_null() {
            return Err(usage("out_pool is null"));
        }
        let pool = Pool::open(&path)?;
        let handle = Box::into_raw(Box::new(plsm_pool {
            pool: Arc::new(pool),
        }));
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { out_pool.write(handle) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Closes a pool handle (NULL: no-op). Streams opened from it stay valid.
///
/// # Safety
/// Rule 1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_free(pool: *mut plsm_pool) {
    if !pool.is_null() {
        // SAFETY: rule 1 — made by Box::into_raw in create/open, not freed yet.
        drop(unsafe { Box::from_raw(pool) });
    }
}

// ---------------------------------------------------------------------------------------------
// Appends and reads
// ---------------------------------------------------------------------------------------------

/// Appends one JSON object with tags; writes the committed envelope.
///
/// # Safety
/// Rules 1–4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_append_json(
    pool: *mut plsm_pool,
    json_bytes: *const u8,
    json_len: usize,
    tags: *const *const c_char,
    tags_len: usize,
    durability_: u32,
    out_message: *mut plsm_buf,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let pool = &unsafe { pool_ref(pool)? }.pool;
        if json_bytes.is_null() {
            return Err(usage("json_bytes is null"));
        }
        if out_message.is_null() {
            return Err(usage("out_message is null"));
        }
        // SAFETY: rule 3 for json_bytes (non-NULL) and the tags array.
        let (json, tags) = unsafe {
            (
                slice(json_bytes, json_len, "json_bytes")?,
                c_strings(tags, tags_len, "tags")?,
            )
        };
        // A syntax error is reported before a bad durability, anything else after it (§1.5).
        // The data is printed while encoding, for the envelope.
        let mut data = Vec::new();
        let payload = encode_json_printing(pool, json, &tags, &mut data);
        if let Err(e) = &payload
            && e.cause() == Some(plasmite_os::Cause::InvalidJson)
        {
            return payload.map(|_| ());
        }
        let d = durability(durability_)?;
        let payload = payload?;
        let appended = pool.append(&payload, d)?;
        let mut bytes = Vec::with_capacity(data.len() + 96);
        message::print_seq_first_parts(
            &mut bytes,
            appended.seq,
            appended.timestamp_ns,
            &tags,
            &data,
        );
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { out_message.write(to_buf(bytes)) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Appends a Lite³ document verbatim; writes its sequence.
///
/// # Safety
/// Rules 1, 3 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_append_lite3(
    pool: *mut plsm_pool,
    payload: *const u8,
    payload_len: usize,
    durability_: u32,
    out_seq: *mut u64,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let pool = &unsafe { pool_ref(pool)? }.pool;
        if out_seq.is_null() {
            return Err(usage("out_seq is null"));
        }
        if payload.is_null() {
            return Err(usage("lite3_bytes is null"));
        }
        let d = durability(durability_)?;
        // SAFETY: rule 3 for payload.
        let bytes = unsafe { slice(payload, payload_len, "lite3_bytes")? };
        message::check(bytes).map_err(message::corrupt)?;
        let appended = pool.append(bytes, d)?;
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { out_seq.write(appended.seq) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Fetches one message as an envelope.
///
/// # Safety
/// Rules 1 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_get_json(
    pool: *mut plsm_pool,
    seq: u64,
    out_message: *mut plsm_buf,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let pool = &unsafe { pool_ref(pool)? }.pool;
        if out_message.is_null() {
            return Err(usage("out_message is null"));
        }
        let msg = pool.get(seq)?;
        let bytes = envelope(&msg.printed()).map_err(|e| msg.view().locate(e))?;
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { out_message.write(to_buf(bytes)) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Fetches one message as a raw frame.
///
/// # Safety
/// Rules 1 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_get_lite3(
    pool: *mut plsm_pool,
    seq: u64,
    out_frame: *mut plsm_lite3_frame,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let pool = &unsafe { pool_ref(pool)? }.pool;
        if out_frame.is_null() {
            return Err(usage("out_frame is null"));
        }
        let msg = pool.get(seq)?;
        let frame = plsm_lite3_frame {
            seq: msg.seq,
            timestamp_ns: msg.timestamp_ns,
            flags: 0,
            payload: to_buf(msg.payload),
        };
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { out_frame.write(frame) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

// ---------------------------------------------------------------------------------------------
// Frees
// ---------------------------------------------------------------------------------------------

/// Frees a buffer's bytes and zeroes it (NULL, or an already-zero buffer: no-op).
///
/// # Safety
/// Rule 5.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_buf_free(buf: *mut plsm_buf) {
    // SAFETY: rule 5 — NULL or a buffer this library filled (or zeroed).
    if let Some(buf) = unsafe { buf.as_mut() } {
        release(buf);
    }
}

/// Frees a frame's payload and zeroes the frame (NULL: no-op).
///
/// # Safety
/// Rule 5.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_frame_free(frame: *mut plsm_lite3_frame) {
    // SAFETY: rule 5.
    if let Some(frame) = unsafe { frame.as_mut() } {
        release(&mut frame.payload);
        frame.seq = 0;
        frame.timestamp_ns = 0;
        frame.flags = 0;
    }
}

/// Frees an error and its strings (NULL: no-op).
///
/// # Safety
/// Rule 5.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_error_free(err: *mut plsm_error) {
    if err.is_null() {
        return;
    }
    // SAFETY: rule 5 — made by Box::into_raw of an ErrorAlloc in to_c_error (whose first
    // field `err` addresses), freed once.
    let err = unsafe { Box::from_raw(err.cast::<ErrorAlloc>()) };
    for s in [err.public.message, err.public.path, err.hint] {
        if !s.is_null() {
            // SAFETY: rule 5 — made by CString::into_raw in c_string.
            drop(unsafe { CString::from_raw(s) });
        }
    }
}

mod ext;
mod stream;

pub use ext::*;
pub use stream::*;

#[cfg(test)]
mod tests;
