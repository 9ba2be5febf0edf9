//! Appends: one JSON object with tags (answering with its committed envelope), or one Lite³
//! document verbatim.
//!
//! # Invariants
//! - A JSON syntax error is reported before a bad durability word, any other error after it
//!   (0.8.0's order).
//! - A Lite³ document is validated before it is appended: a malformed one is Corrupt and the
//!   pool is unchanged.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: `spec/API.md` (append); header `bindings/c/include/plasmite.h` (appends).

use super::*;

/// Parses one JSON document and encodes it with `tags` for `pool`, printing the message's
/// data into `data` on the way.
pub(crate) fn encode_json_printing(
    pool: &Pool,
    json: &[u8],
    tags: &[&str],
    data: &mut Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let text = std::str::from_utf8(json).map_err(|_| usage("invalid json utf-8"))?;
    thread_local! {
        /// The encoder's working space, kept between a thread's appends.
        static SCRATCH: std::cell::RefCell<message::JsonScratch> = Default::default();
    }
    let mut payload = Vec::new();
    let mut encode = |scratch: &mut message::JsonScratch| {
        message::encode_json_printing(
            scratch,
            &mut payload,
            text,
            tags,
            pool.max_payload_len(),
            data,
        )
    };
    // A thread whose locals are being torn down (an append from a TLS destructor) encodes
    // with space of its own.
    match SCRATCH.try_with(|s| s.try_borrow_mut().ok().map(|mut s| encode(&mut s))) {
        Ok(Some(done)) => done,
        _ => encode(&mut message::JsonScratch::default()),
    }?;
    Ok(payload)
}

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
