//! Checking and converting C arguments: strings, arrays, byte ranges and enum words, each
//! refused with a Usage error when it is NULL, too long or not what the header allows.
//!
//! # Invariants
//! - A length whose byte size exceeds `isize::MAX` is refused before any access (rule 3).
//! - NULL is a Usage error naming the argument, except where the header makes NULL mean "none"
//!   (an absent string array is empty).
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: header `bindings/c/include/plasmite.h` (argument conventions).

use super::*;

pub(crate) fn usage(message: &str) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// The string at `p`: NULL ⇒ Usage `null_msg`, bad UTF-8 ⇒ Usage `utf8_msg`.
///
/// # Safety
/// `p` is NULL or satisfies rule 2.
pub(crate) unsafe fn c_str<'a>(
    p: *const c_char,
    null_msg: &str,
    utf8_msg: &str,
) -> Result<&'a str, Error> {
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
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, what: &str) -> Result<&'a [T], Error> {
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
pub(crate) unsafe fn c_strings<'a>(
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

pub(crate) fn durability(d: u32) -> Result<Durability, Error> {
    match d {
        0 => Ok(Durability::Fast),
        1 => Ok(Durability::Flush),
        _ => Err(usage("invalid durability")),
    }
}
