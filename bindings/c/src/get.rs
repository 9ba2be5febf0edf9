//! Reads by sequence: one message as a JSON envelope or as a raw Lite³ frame, and the envelope
//! printing that streams share.
//!
//! # Invariants
//! - An envelope is compact `{"seq","time","meta","data"}`, in 0.8.0's member order, and
//!   byte-identical to the one the append that stored the message answered with.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: `spec/API.md` (get, envelope); header `bindings/c/include/plasmite.h` (reads).

use super::*;

/// The compact envelope `{"seq","time","meta","data"}` of a message (0.8.0's member order).
pub(crate) fn envelope(printed: &Printed<'_>) -> Result<Vec<u8>, Error> {
    envelope_with(&mut Vec::new(), printed)
}

/// [`envelope`] printed through a scratch buffer kept by the caller (a stream's), so the
/// returned buffer is allocated once, at its exact size.
pub(crate) fn envelope_with(
    scratch: &mut Vec<u8>,
    printed: &Printed<'_>,
) -> Result<Vec<u8>, Error> {
    scratch.clear();
    message::print_seq_first(scratch, printed)?;
    Ok(scratch.to_vec())
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
