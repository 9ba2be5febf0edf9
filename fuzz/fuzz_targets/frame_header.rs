//! `FrameHead::parse` on arbitrary bytes, ring sizes and offsets: never panics, and whatever it
//! accepts fits the ring, re-encodes to exactly the bytes it came from, and parses back equal.
//!
//! Input: ring_size (8 bytes LE), off (8 bytes LE), then the frame bytes. Each input is also
//! tried with the ring size folded into 0..1 MiB, where payload-length limits actually bite,
//! and with the frame bytes XORed over a valid header (so mutations start from a frame that
//! passes the magic, length-guard and reserved-byte checks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_core::FrameHead;
use plasmite_core::frame::payload_crc;
use plasmite_core::layout::FRAME_HEADER_LEN;

fuzz_target!(|data: &[u8]| {
    let Some((words, frame)) = data.split_first_chunk::<16>() else {
        return;
    };
    let ring_size = u64::from_le_bytes(words[..8].try_into().unwrap());
    let off = u64::from_le_bytes(words[8..].try_into().unwrap());
    check(frame, ring_size, off);
    let small_ring = ring_size % (1 << 20);
    check(frame, small_ring, off);

    let payload_len = (off % 4096) as u32;
    let mut template = FrameHead::message(off, ring_size, payload_len, payload_crc(frame)).encode();
    for (dst, src) in template.iter_mut().zip(frame) {
        *dst ^= src;
    }
    check(&template, small_ring, off);
});

fn check(bytes: &[u8], ring_size: u64, off: u64) {
    let Ok(head) = FrameHead::parse(bytes, ring_size, off) else {
        return;
    };
    let len = head.frame_len();
    assert!(
        len <= ring_size,
        "frame_len {len} > ring_size {ring_size}: {head:?}"
    );
    assert_eq!(len % 8, 0);
    assert!(len >= 72);
    let encoded = head.encode();
    assert_eq!(
        &encoded[..],
        &bytes[..FRAME_HEADER_LEN],
        "parse accepted a non-canonical frame header"
    );
    assert_eq!(
        FrameHead::parse(&encoded, ring_size, off),
        Ok(head),
        "encode → parse round trip"
    );
    let first = u64::from_le_bytes(encoded[..8].try_into().unwrap());
    assert_eq!(
        head.first_word(),
        first,
        "first_word is the encoded first 8 bytes"
    );
}
