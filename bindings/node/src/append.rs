//! The append path: free functions over an `External<Appender>` rather than methods of
//! `NativePool`, because a class method's call glue costs more than the rest of a small
//! append's JavaScript side together (measured: about 0.35 µs against 0.13 µs per call).
//!
//! # Invariants
//! - An `Appender` shares its pool with the `NativePool` it came from; the pool file stays
//!   open while either is reachable.
//! - `tags` passed to an append replace the remembered ones before anything can fail, and an
//!   append without tags uses the remembered ones: what the caller last passed is what the
//!   next untagged append carries.
//! - An envelope is written into the caller's buffer only when it fits whole at the given
//!   offset; otherwise nothing is written there and it stays available from `lastEnvelope`.
//!
//! Spec: `bindings/node/README.md` (appendJson, append).

use crate::{durability, to_js, usage};
use napi::Env;
use napi::bindgen_prelude::{BufferSlice, External};
use napi_derive::napi;
use plasmite_os::{Error, Pool, message};
use std::sync::Arc;

/// What appends to one pool keep between calls.
#[derive(Debug)]
pub struct Appender {
    pool: Arc<Pool>,
    /// Working space of the JSON encoder.
    json_scratch: message::JsonScratch,
    /// The last envelope printed.
    envelope: Vec<u8>,
    /// Scratch space for an appended message's data, printed while encoding it.
    data: Vec<u8>,
    /// Scratch space for an appended message's payload.
    payload: Vec<u8>,
    /// The tags of appends that name none: those of the last append that named some.
    tags: Vec<String>,
}

impl Appender {
    pub(crate) fn new(pool: Arc<Pool>) -> Appender {
        Appender {
            pool,
            json_scratch: message::JsonScratch::default(),
            envelope: Vec::new(),
            data: Vec::new(),
            payload: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Appends one JSON object given as UTF-8 text, tagged with `self.tags`: encoded straight
    /// from the text (no value tree); its envelope is printed into `self.envelope` from the
    /// data printed while encoding.
    fn append(&mut self, json: &[u8], d: u32) -> Result<(), Error> {
        let d = durability(d)?;
        let json = std::str::from_utf8(json).map_err(|_| {
            usage("invalid JSON: not UTF-8").with_hint(
                "Pass one JSON object (a Buffer of UTF-8 JSON, or a value to serialize).",
            )
        })?;
        let tags: Vec<&str> = self.tags.iter().map(String::as_str).collect();
        self.data.clear();
        self.payload.clear();
        message::encode_json_printing(
            &mut self.json_scratch,
            &mut self.payload,
            json,
            &tags,
            self.pool.max_payload_len(),
            &mut self.data,
        )?;
        let appended = self.pool.append(&self.payload, d)?;
        self.envelope.clear();
        message::print_seq_first_parts(
            &mut self.envelope,
            appended.seq,
            appended.timestamp_ns,
            &tags,
            &self.data,
        );
        Ok(())
    }

    /// Appends, then copies the envelope into `out` at `at` when it fits; its length.
    fn append_into(
        &mut self,
        json: &[u8],
        tags: Option<Vec<String>>,
        d: u32,
        mut out: BufferSlice<'_>,
        at: u32,
    ) -> napi::Result<u32> {
        if let Some(tags) = tags {
            self.tags = tags;
        }
        self.append(json, d).map_err(|e| to_js(&e))?;
        let n = self.envelope.len();
        let at = at as usize;
        if let Some(dst) = at.checked_add(n).and_then(|end| out.get_mut(at..end)) {
            dst.copy_from_slice(&self.envelope);
        }
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

/// Appends one JSON object (UTF-8 bytes) and writes its envelope into `out` at byte `at` when
/// it fits there; returns the envelope's length (see [`last_envelope`] for one that did not
/// fit).
///
/// `tags` are the message's tags and are remembered; absent, the message carries the tags
/// last given (none at first), which saves converting the same tags on every call.
#[napi]
pub fn append_json_into(
    appender: &mut External<Appender>,
    json: &[u8],
    tags: Option<Vec<String>>,
    durability: u32,
    out: BufferSlice<'_>,
    at: u32,
) -> napi::Result<u32> {
    appender.append_into(json, tags, durability, out, at)
}

/// [`append_json_into`] of JSON text (what `JSON.stringify` made).
#[napi]
pub fn append_text_into(
    appender: &mut External<Appender>,
    json: String,
    tags: Option<Vec<String>>,
    durability: u32,
    out: BufferSlice<'_>,
    at: u32,
) -> napi::Result<u32> {
    appender.append_into(json.as_bytes(), tags, durability, out, at)
}

/// The envelope of the last append, in a buffer of its own.
#[napi]
pub fn last_envelope<'e>(
    env: &'e Env,
    appender: &External<Appender>,
) -> napi::Result<BufferSlice<'e>> {
    BufferSlice::copy_from(env, &appender.envelope)
}
