//! Clients: the pool directory that names resolve in, and how a pool reference becomes a
//! path in it.
//!
//! # Invariants
//! - A client is immutable once made, so it may be shared between threads (rule 6).
//! - Remote references (`scheme://…`) are refused with a Usage error; only local names and
//!   paths resolve.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: `spec/API.md` (pool references); header `bindings/c/include/plasmite.h` (clients).

use super::*;

/// The pool file `reference` names in the client's directory.
pub(crate) fn resolve(client: &plsm_client, reference: &str) -> Result<PathBuf, Error> {
    if reference.contains("://") {
        return Err(usage("remote pool refs are not supported in v0")
            .with_hint("Use a local pool name or path."));
    }
    Ok(dir::resolve(&client.dir, reference))
}

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
pub(crate) unsafe fn client_ref<'a>(client: *const plsm_client) -> Result<&'a plsm_client, Error> {
    // SAFETY: rule 1 — a live handle (or NULL, refused by as_ref).
    unsafe { client.as_ref() }.ok_or_else(|| usage("client is null"))
}

/// Client, then the checked pool reference string.
///
/// # Safety
/// Rules 1 and 2.
pub(crate) unsafe fn client_and_path(
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
