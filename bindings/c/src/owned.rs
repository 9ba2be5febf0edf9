//! Library-owned results handed to C — errors, buffers, frames — and the frees that take them
//! back.
//!
//! # Invariants
//! - An error pointer handed out addresses the first field of an `ErrorAlloc`; its strings are
//!   `CString`s this library leaked, released once by `plsm_error_free`.
//! - A buffer holds either zeroes (empty) or exactly one leaked boxed slice; a free releases it
//!   and zeroes the struct, so a second free is a no-op.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: header `bindings/c/include/plasmite.h` (errors, buffers, frees).

use super::*;

pub(crate) fn c_string(s: &[u8]) -> *mut c_char {
    CString::new(s).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// What an error pointer handed out really addresses: the public struct first (so a
/// `plsm_error_t*` is a pointer to this allocation), then what only extensions read.
#[repr(C)]
pub(crate) struct ErrorAlloc {
    pub(crate) public: plsm_error,
    /// NUL-terminated hint (what to do next), or NULL.
    pub(crate) hint: *mut c_char,
}

pub(crate) fn to_c_error(e: &Error) -> *mut plsm_error {
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
pub(crate) unsafe fn fail(out_err: *mut *mut plsm_error, e: &Error) -> c_int {
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
pub(crate) unsafe fn done(out_err: *mut *mut plsm_error, r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => 0,
        // SAFETY: the caller's contract is fail's.
        Err(e) => unsafe { fail(out_err, &e) },
    }
}

pub(crate) fn to_buf(bytes: Vec<u8>) -> plsm_buf {
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
pub(crate) fn release(buf: &mut plsm_buf) {
    if !buf.data.is_null() && buf.len != 0 {
        let raw = std::ptr::slice_from_raw_parts_mut(buf.data, buf.len);
        // SAFETY: rule 5 — data/len are exactly one boxed slice this library leaked.
        drop(unsafe { Box::from_raw(raw) });
    }
    buf.data = std::ptr::null_mut();
    buf.len = 0;
}

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
