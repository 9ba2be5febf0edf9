//! The extensions to 0.8.0's ABI, named as such in the header: pool info and listing as JSON,
//! delete, bulk JSON Lines appends under one lock, the version query and error hints.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: header `bindings/c/include/plasmite.h` (extensions).

use super::*;

/// Extension: the library version, a static NUL-terminated string (never freed).
#[unsafe(no_mangle)]
pub extern "C" fn plsm_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Extension: the hint of an error (what to do next), a NUL-terminated string owned by the
/// error (freed with it), or NULL when it has none or `err` is NULL.
///
/// # Safety
/// Rule 5 (an error of this library, not freed yet).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_error_hint(err: *const plsm_error) -> *const c_char {
    if err.is_null() {
        return std::ptr::null();
    }
    // SAFETY: rule 5 — every error this library hands out is the first field of an ErrorAlloc.
    unsafe { (*err.cast::<ErrorAlloc>()).hint }
}

/// Writes `json` into `out` as a buffer.
///
/// # Safety
/// `out` non-NULL and rule 4.
unsafe fn write_json(out: *mut plsm_buf, json: &serde_json::Value) {
    let bytes = serde_json::to_vec(json).unwrap_or_default();
    // SAFETY: rule 4.
    unsafe { out.write(to_buf(bytes)) };
}

fn pool_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Extension: the pool-info JSON object of `pool` into `out_info`.
///
/// # Safety
/// Rules 1 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_info_json(
    pool: *mut plsm_pool,
    out_info: *mut plsm_buf,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let pool = &unsafe { pool_ref(pool)? }.pool;
        if out_info.is_null() {
            return Err(usage("out_info is null"));
        }
        let info = pool.info()?;
        let json = info.to_json(&pool_name(pool.path()), plasmite_os::now_ns());
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { write_json(out_info, &json) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Extension: a JSON array of the pools in the client's directory.
///
/// # Safety
/// Rules 1 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_list_json(
    client: *mut plsm_client,
    out_list: *mut plsm_buf,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let client = unsafe { client_ref(client)? };
        if out_list.is_null() {
            return Err(usage("out_list is null"));
        }
        let pools = dir::list_json(&client.dir, plasmite_os::now_ns())?;
        // SAFETY: rule 4 — checked non-NULL.
        unsafe { write_json(out_list, &serde_json::Value::Array(pools)) };
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Extension: deletes a pool file (handles and streams on it keep reading what they mapped).
///
/// # Safety
/// Rules 1 and 2.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_delete(
    client: *mut plsm_client,
    pool_ref: *const c_char,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: rules 1 and 2.
    let r = unsafe { client_and_path(client, pool_ref) }.and_then(|path| dir::delete(&path));
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Extension: appends every non-blank line of `jsonl` (one JSON object each) under one lock.
///
/// # Safety
/// Rules 1–4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_pool_append_batch_jsonl(
    pool: *mut plsm_pool,
    jsonl: *const u8,
    jsonl_len: usize,
    tags: *const *const c_char,
    tags_len: usize,
    durability_: u32,
    out_first_seq: *mut u64,
    out_count: *mut u64,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let r = (|| {
        // SAFETY: rule 1.
        let pool = &unsafe { pool_ref(pool)? }.pool;
        if jsonl.is_null() {
            return Err(usage("jsonl is null"));
        }
        if out_first_seq.is_null() || out_count.is_null() {
            return Err(usage("out_first_seq or out_count is null"));
        }
        // SAFETY: rule 3 for jsonl and the tags array.
        let (bytes, tags) = unsafe {
            (
                slice(jsonl, jsonl_len, "jsonl")?,
                c_strings(tags, tags_len, "tags")?,
            )
        };
        let d = durability(durability_)?;
        // Every payload goes into one arena: one allocation for the batch, not one per line.
        let (mut arena, mut ends) = (Vec::with_capacity(bytes.len() * 4), Vec::new());
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = std::str::from_utf8(line).map_err(|_| usage("invalid json utf-8"));
            text.and_then(|t| {
                message::encode_json_into(&mut arena, t, &tags, pool.max_payload_len())
            })
            .map_err(|e| e.with_context(format_args!("line {}", i + 1)))?;
            ends.push(arena.len());
        }
        let payloads: Vec<&[u8]> = ends
            .iter()
            .scan(0, |start, &end| {
                let p = &arena[*start..end];
                *start = end;
                Some(p)
            })
            .collect();
        let mut appended = Vec::with_capacity(payloads.len());
        pool.append_batch(&payloads, d, &mut appended)?;
        // SAFETY: rule 4 — both checked non-NULL.
        unsafe {
            out_first_seq.write(appended.first().map_or(0, |a| a.seq));
            out_count.write(appended.len() as u64);
        }
        Ok(())
    })();
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}
