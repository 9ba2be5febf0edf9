//! Pool handles: creating, opening and closing a pool file through a client.
//!
//! # Invariants
//! - A pool handle owns one `Arc<Pool>`; streams opened from it hold their own, so closing the
//!   handle leaves them valid.
//! - Out-pointers are checked before the file is touched: a NULL `out_pool` creates nothing.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: `spec/API.md` (pools); header `bindings/c/include/plasmite.h` (pools).

use super::*;

/// The pool behind `pool`, or Usage.
///
/// # Safety
/// Rule 1.
pub(crate) unsafe fn pool_ref<'a>(pool: *const plsm_pool) -> Result<&'a plsm_pool, Error> {
    // SAFETY: rule 1.
    unsafe { pool.as_ref() }.ok_or_else(|| usage("pool is null"))
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
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { hand_out(out_pool, pool) };
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
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { hand_out(out_pool, pool) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Writes a new handle of `pool` into `out_pool`.
///
/// # Safety
/// `out_pool` non-NULL and rule 4.
unsafe fn hand_out(out_pool: *mut *mut plsm_pool, pool: Pool) {
    let handle = Box::into_raw(Box::new(plsm_pool {
        pool: Arc::new(pool),
    }));
    // SAFETY: the caller's contract.
    unsafe { out_pool.write(handle) };
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
