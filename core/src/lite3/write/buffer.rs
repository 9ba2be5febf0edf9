//! The bytes of a Lite³ document being written: entries, values, and the buffer's growth.
//!
//! Role: lays out one entry (key tag, key, NUL, value) at the end of the document, encodes
//! values as the reference does, and grows the document inside the caller's buffer with
//! explicit zeros; also reads back the sizes of stored keys and values.
//!
//! # Invariants
//! - Every byte the document grows by is written explicitly (padding as zeros), so the output
//!   does not depend on what the buffer held before.
//! - A value whose payload is 95 bytes starts 4-aligned (the reference's alignment rule).
//! - Growth past the buffer is `BufferTooSmall` naming the length needed; offsets past
//!   `u32` are `DocumentTooLarge`.
//!
//! Spec: `spec/LITE3.md` §4 (insertion).

use super::{Entry, Value, Writer, fresh_node};
use crate::layout::{
    LITE3_ALIGN, LITE3_ALIGNED_PAYLOAD, LITE3_ARRAY, LITE3_BOOL, LITE3_BYTES, LITE3_F64, LITE3_I64,
    LITE3_NULL, LITE3_OBJECT, LITE3_STRING,
};
use crate::lite3::{Lite3Error, Lite3ErrorKind as K, NODE32, err, put_node};

impl Writer<'_> {
    /// Where a new entry starts: after the padding that 4-aligns a 95-byte value.
    pub(super) fn entry_start(&mut self, e: &Entry<'_, '_>) -> Result<u32, Lite3Error> {
        if e.value.payload_len() == LITE3_ALIGNED_PAYLOAD {
            let head = u64::from(self.len)
                .saturating_add(e.tag_len)
                .saturating_add(e.key_size);
            let pad = LITE3_ALIGN.saturating_sub(head % LITE3_ALIGN) % LITE3_ALIGN;
            self.grow_zeroed(pad)?;
        }
        Ok(self.len)
    }

    /// Appends key tag, key, NUL and the value at `kv` (== the current end).
    pub(super) fn append_entry(&mut self, kv: u32, e: &Entry<'_, '_>) -> Result<u32, Lite3Error> {
        let total = e
            .tag_len
            .saturating_add(e.key_size)
            .saturating_add(1)
            .saturating_add(e.value.payload_len());
        self.reserve(total)?;
        let mut at = kv;
        if e.tag_len > 0 {
            // key_size < 2^30 (checked by key_tag_len), so the shift keeps every bit.
            let tag = (e.key_size << 2) | e.tag_len.saturating_sub(1);
            // tag < 2^32: its low 1, 2 or 4 bytes are the key tag.
            #[allow(clippy::cast_possible_truncation)]
            let tag_bytes = (tag as u32).to_le_bytes();
            at = match e.tag_len {
                1 => self.put_n(at, [tag_bytes[0]])?,
                2 => self.put_n(at, [tag_bytes[0], tag_bytes[1]])?,
                _ => self.put_n(at, tag_bytes)?,
            };
            at = self.put(at, e.key)?;
            at = self.put_n(at, [0])?;
        }
        let value_at = at;
        self.len = add(kv, total)?;
        self.write_value(value_at, &e.value)
    }

    /// Writes type byte and payload at `at` (space already reserved).
    pub(super) fn write_value(&mut self, at: u32, v: &Value<'_>) -> Result<u32, Lite3Error> {
        let too_large = err(K::DocumentTooLarge, at);
        match *v {
            Value::Null => self.put_n(at, [LITE3_NULL])?,
            Value::Bool(b) => self.put_n(at, [LITE3_BOOL, u8::from(b)])?,
            Value::I64(n) => self.put_n(at, typed8(LITE3_I64, n.to_le_bytes()))?,
            Value::F64(x) => self.put_n(at, typed8(LITE3_F64, x.to_bits().to_le_bytes()))?,
            Value::Str(s) => {
                let size = u32::try_from(s.len().saturating_add(1)).map_err(|_| too_large)?;
                let a = self.put_n(at, typed4(LITE3_STRING, size.to_le_bytes()))?;
                let a = self.put(a, s.as_bytes())?;
                self.put_n(a, [0])?
            }
            Value::Bytes(b) => {
                let n = u32::try_from(b.len()).map_err(|_| too_large)?;
                let a = self.put_n(at, typed4(LITE3_BYTES, n.to_le_bytes()))?;
                self.put(a, b)?
            }
            Value::Object => {
                put_node(self.buf, at, &fresh_node(LITE3_OBJECT))?;
                add(at, u64::from(NODE32))?
            }
            Value::Array => {
                put_node(self.buf, at, &fresh_node(LITE3_ARRAY))?;
                add(at, u64::from(NODE32))?
            }
        };
        Ok(at)
    }

    /// Stores a fixed-size group of bytes (compiled to plain stores, not a `memcpy` call).
    #[inline]
    fn put_n<const N: usize>(&mut self, at: u32, bytes: [u8; N]) -> Result<u32, Lite3Error> {
        let start = at as usize;
        let dst = self
            .buf
            .get_mut(start..)
            .and_then(|b| b.first_chunk_mut::<N>());
        match dst {
            Some(d) => {
                *d = bytes;
                add(at, N as u64)
            }
            None => Err(err(
                K::BufferTooSmall {
                    needed: (start as u64).saturating_add(N as u64),
                },
                at,
            )),
        }
    }

    /// Makes sure `n` more bytes fit after the end.
    pub(super) fn reserve(&self, n: u64) -> Result<(), Lite3Error> {
        let needed = u64::from(self.len).saturating_add(n);
        if needed > u64::from(u32::MAX) {
            return Err(err(K::DocumentTooLarge, self.len));
        }
        if needed > self.buf.len() as u64 {
            return Err(err(K::BufferTooSmall { needed }, self.len));
        }
        Ok(())
    }

    /// Appends `n` zero bytes.
    fn grow_zeroed(&mut self, n: u64) -> Result<(), Lite3Error> {
        self.reserve(n)?;
        self.zero(self.len, n)?;
        self.len = add(self.len, n)?;
        Ok(())
    }

    /// Rounds the end up to a multiple of 4 (before a split allocates nodes), zero-filling the
    /// gap (which the reference leaves unwritten in a zeroed buffer).
    pub(super) fn align_end(&mut self) -> Result<(), Lite3Error> {
        let len = u64::from(self.len);
        self.grow_zeroed(LITE3_ALIGN.saturating_sub(len % LITE3_ALIGN) % LITE3_ALIGN)
    }

    /// Reserves a node at the end and returns its offset.
    pub(super) fn alloc_node(&mut self) -> Result<u32, Lite3Error> {
        self.reserve(u64::from(NODE32))?;
        let at = self.len;
        self.len = add(at, u64::from(NODE32))?;
        Ok(at)
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> Result<u32, Lite3Error> {
        let start = at as usize;
        let dst = start
            .checked_add(bytes.len())
            .and_then(|end| self.buf.get_mut(start..end))
            .ok_or(err(
                K::BufferTooSmall {
                    needed: (start as u64).saturating_add(bytes.len() as u64),
                },
                at,
            ))?;
        dst.copy_from_slice(bytes);
        add(at, bytes.len() as u64)
    }

    pub(super) fn zero(&mut self, at: u32, n: u64) -> Result<(), Lite3Error> {
        let start = at as usize;
        let end = start.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        self.buf
            .get_mut(start..end)
            .ok_or(err(K::OutOfBounds, at))?
            .fill(0);
        Ok(())
    }

    pub(super) fn slice(&self, at: u32, n: u64) -> Result<&[u8], Lite3Error> {
        let start = at as usize;
        let end = start.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        self.as_bytes()
            .get(start..end)
            .ok_or(err(K::OutOfBounds, at))
    }
}

pub(super) fn add(at: u32, n: u64) -> Result<u32, Lite3Error> {
    u64::from(at)
        .checked_add(n)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(err(K::DocumentTooLarge, at))
}

/// `(tag length, key size)` of the key tag at `at`.
pub(crate) fn read_key_tag(buf: &[u8], at: u32) -> Result<(u64, u64), Lite3Error> {
    let first = *buf.get(at as usize).ok_or(err(K::OutOfBounds, at))?;
    if first & 3 == 0 {
        // One-byte tag: keys shorter than 63 bytes, the common case.
        return Ok((1, u64::from(first >> 2)));
    }
    let tag_len = u64::from(first & 3).saturating_add(1);
    let mut word = [0u8; 4];
    let start = at as usize;
    let bytes = buf
        .get(start..start.saturating_add(usize::try_from(tag_len).unwrap_or(usize::MAX)))
        .ok_or(err(K::OutOfBounds, at))?;
    if let Some(dst) = word.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    Ok((tag_len, u64::from(u32::from_le_bytes(word) >> 2)))
}

/// Bytes a stored value occupies: the type byte plus its payload.
pub(crate) fn value_span(buf: &[u8], at: u32) -> Result<u64, Lite3Error> {
    let t = *buf.get(at as usize).ok_or(err(K::OutOfBounds, at))?;
    let len_at = (at as usize).saturating_add(1);
    let u32_at = |o: usize| -> Result<u64, Lite3Error> {
        let b = buf
            .get(o..o.saturating_add(4))
            .ok_or(err(K::OutOfBounds, at))?;
        let w: [u8; 4] = b.try_into().map_err(|_| err(K::OutOfBounds, at))?;
        Ok(u64::from(u32::from_le_bytes(w)))
    };
    let payload = match t {
        LITE3_NULL => 0,
        LITE3_BOOL => 1,
        LITE3_I64 | LITE3_F64 => 8,
        LITE3_BYTES | LITE3_STRING => u32_at(len_at)?.saturating_add(4),
        LITE3_OBJECT | LITE3_ARRAY => LITE3_ALIGNED_PAYLOAD,
        _ => return Err(err(K::BadType, at)),
    };
    Ok(payload.saturating_add(1))
}

/// A type byte followed by 8 payload bytes.
fn typed8(t: u8, p: [u8; 8]) -> [u8; 9] {
    [t, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]
}

/// A type byte followed by a 4-byte length.
fn typed4(t: u8, p: [u8; 4]) -> [u8; 5] {
    [t, p[0], p[1], p[2], p[3]]
}
