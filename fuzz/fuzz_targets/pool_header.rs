//! `Header::parse` on arbitrary bytes: never panics, and whatever it accepts has a published
//! state that passes `RingState::check` and survives `write_to` → `parse` unchanged.
//!
//! Each input is parsed four ways: as is with its own length (the truncation paths); as is with
//! a file length taken from its last 8 bytes; padded to one header block with the block's own
//! `file_size` word as the file length; and XORed over a valid header of a geometry chosen by
//! its first 3 bytes, so most mutations land on a header that passes the early checks and
//! exercise the ring-state and journal rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_core::layout::{HEADER_LEN, RING_STATE_OFFSET};
use plasmite_core::{Geometry, Header};

fuzz_target!(|data: &[u8]| {
    check(data, data.len() as u64);

    let mut block = [0u8; HEADER_LEN];
    let n = data.len().min(HEADER_LEN);
    block[..n].copy_from_slice(&data[..n]);
    let claimed = u64::from_le_bytes(block[16..24].try_into().unwrap());
    check(&block, claimed);

    if let Some(tail) = data.len().checked_sub(8).and_then(|at| data.get(at..)) {
        check(data, u64::from_le_bytes(tail.try_into().unwrap()));
    }

    if let Some((&[a, b, cap], patch)) = data.split_first_chunk::<3>() {
        let file_size = 4097 + u64::from(u16::from_le_bytes([a, b]));
        let geo = Geometry::new(file_size, Some(u64::from(cap)))
            .or_else(|_| Geometry::new(file_size, Some(0)))
            .expect("a file over 4096 bytes holds a pool without index");
        let mut block = [0u8; HEADER_LEN];
        Header::new(geo).write_to(&mut block).unwrap();
        for (dst, src) in block.iter_mut().zip(patch) {
            *dst ^= src;
        }
        check(&block, file_size);
    }
});

fn check(bytes: &[u8], file_len: u64) {
    let Ok(header) = Header::parse(bytes, file_len) else {
        return;
    };
    let geo = header.geometry;
    assert_eq!(geo.file_size, file_len);
    assert!(geo.ring_size > 0);
    assert_eq!(
        geo.ring_offset.checked_add(geo.ring_size),
        Some(geo.file_size)
    );
    let published = header.published();
    assert_eq!(published.generation, header.state_gen);
    if let Err(c) = published.state.check(&geo, RING_STATE_OFFSET) {
        panic!("parse accepted a published state that fails check: {c:?} in {header:?}");
    }

    // write_to zeroes the rest of the block, which parse requires to be zero anyway.
    let mut out = [0xA5u8; HEADER_LEN];
    header
        .write_to(&mut out)
        .expect("a 4096-byte buffer holds the header block");
    match Header::parse(&out, file_len) {
        Ok(again) => assert_eq!(again, header, "write_to → parse round trip"),
        Err(e) => panic!("write_to produced a header parse rejects: {e:?} from {header:?}"),
    }
    // Accepted bytes are canonical: re-encoding reproduces the block exactly.
    assert_eq!(
        &out[..],
        &bytes[..HEADER_LEN],
        "parse accepted a non-canonical header block"
    );
}
