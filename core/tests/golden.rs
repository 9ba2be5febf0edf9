//! Golden bytes for every on-disk structure, and the parsers' behaviour on every truncation and
//! every single-bit flip.

mod support;

use plasmite_core::layout::{self, RawIndexSlot};
use plasmite_core::{
    CorruptKind, FrameHead, Header, HeaderError, PoolView, Slot, Snapshot, read_frame_at, validate,
};
use support::model::MemPool;
use support::{
    one_mib_pool_after_one_append, reference_pool, reference_pool_names, seq1_frame_head,
};
use zerocopy::IntoBytes;
use zerocopy::little_endian::U64;

/// The reference's header of a fresh 1 MiB pool after one 432-byte append (its format notes,
/// §1), bytes 0x00..0x68.
const HEADER_1MIB_ONE_APPEND: [u8; 104] = [
    0x50, 0x4c, 0x53, 0x4d, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // PLSM, v3, LE
    0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // file_size 1 MiB, index_offset 4096
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, // index_capacity 4096, ring_offset 0x11000
    0x00, 0xf0, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // ring_size 978944, flags 0
    0xf8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // head 504, tail 0
    0xf8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // tail_next 504, oldest 1
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // newest 1
];

/// The reference's frame header for `feed --tag event '{"x":1}'` (its format notes, §3.2).
const FRAME_SEQ1: [u8; 64] = [
    0x46, 0x52, 0x4d, 0x31, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00,
    0x00, // FRM1, Committed, flags 0, header_len 64
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc4, 0x66, 0x6e, 0xa9, 0x85, 0x03, 0xea,
    0x18, // seq 1, timestamp_ns
    0xb0, 0x01, 0x00, 0x00, 0x4f, 0xfe, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // len 432, xor, crc 0, reserved
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // reserved
];

/// A wrap marker: FRM1, state Wrap, header_len 64, length guard of length 0, all else zero.
const WRAP_MARKER: [u8; 64] = [
    0x46, 0x52, 0x4d, 0x31, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00,
    0x00, // FRM1, Wrap, flags 0, header_len 64
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // seq 0, timestamp 0
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, // len 0, xor, crc 0
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// Index slot for seq 1 at ring offset 0.
const INDEX_SLOT_SEQ1: [u8; 16] = [
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // seq 1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ring offset 0
];

#[test]
fn fresh_one_mib_pool_after_one_append_has_the_reference_header_bytes() {
    assert_eq!(
        one_mib_pool_after_one_append().bytes[..104],
        HEADER_1MIB_ONE_APPEND
    );
}

#[test]
fn frame_header_encodes_and_parses_as_the_reference_bytes() {
    assert_eq!(seq1_frame_head().encode(), FRAME_SEQ1);
    assert_eq!(
        FrameHead::parse(&FRAME_SEQ1, 978_944, 0),
        Ok(seq1_frame_head())
    );
    assert_eq!(FrameHead::wrap().encode(), WRAP_MARKER);
    assert_eq!(
        FrameHead::parse(&WRAP_MARKER, 4096, 0),
        Ok(FrameHead::wrap())
    );
}

#[test]
fn index_slot_bytes_are_seq_then_offset() {
    let slot = RawIndexSlot {
        seq: U64::new(1),
        offset: U64::new(0),
    };
    assert_eq!(slot.as_bytes(), INDEX_SLOT_SEQ1);
}

#[test]
fn frames_we_write_carry_the_crc_flag_and_the_payload_crc() {
    let mut pool = MemPool::create(8192, None).unwrap();
    let _ = pool.append(5, b"hello").unwrap();
    let snap = pool.snapshot();
    let Slot::Message(f) = read_frame_at(&snap, 0) else {
        panic!()
    };
    assert_eq!(f.head.flags, layout::FRAME_FLAG_CRC32);
    assert_eq!(f.head.crc, crc32fast::hash(b"hello"));
    assert_eq!(f.head.crc, 0x3610_a686, "CRC-32/ISO-HDLC of \"hello\"");
}

#[test]
fn reference_headers_and_frame_headers_reencode_to_identical_bytes() {
    for name in reference_pool_names() {
        let (bytes, expected) = reference_pool(&name);
        if expected.get("header").is_none() {
            continue;
        }
        let header = Header::parse(&bytes, bytes.len() as u64).unwrap();
        let mut block = vec![0u8; 4096];
        header.write_to(&mut block).unwrap();
        assert_eq!(block, bytes[..4096], "{name}: header block");
        let snap = Snapshot::new(&bytes).unwrap();
        let ring_off = snap.geometry().ring_offset as usize;
        let s = snap.published().unwrap().state;
        let mut frames = 0;
        for seq in s.oldest.max(1)..=s.newest {
            let Ok(Some(f)) = plasmite_core::locate(&snap, seq) else {
                continue;
            };
            let at = ring_off + f.offset as usize;
            assert_eq!(
                f.head.encode()[..],
                bytes[at..at + 64],
                "{name} seq {seq}: frame header"
            );
            frames += 1;
        }
        assert!(frames > 0 || s.is_empty(), "{name}");
    }
}

#[test]
fn every_truncation_of_a_pool_header_or_file_is_an_error() {
    let (bytes, _) = reference_pool("full");
    for n in 0..4096 {
        let err = Header::parse(&bytes[..n], bytes.len() as u64).unwrap_err();
        assert!(
            matches!(err, HeaderError::Corrupt(c) if c.kind == CorruptKind::Truncated),
            "{n}"
        );
    }
    for n in 0..bytes.len() {
        assert!(Snapshot::new(&bytes[..n]).is_err(), "file cut to {n} bytes");
    }
}

#[test]
fn every_truncation_of_a_frame_header_is_an_error() {
    for n in 0..64 {
        assert_eq!(
            FrameHead::parse(&FRAME_SEQ1[..n], 978_944, 0)
                .unwrap_err()
                .kind,
            CorruptKind::Truncated,
            "{n}"
        );
    }
}

/// Every single-bit flip of a pool header is refused when parsing or caught by validation,
/// except three places that carry no redundancy, where the flipped header means the same
/// thing or another legitimate state:
/// - our extension words (bytes 104..160): an odd generation with an older journal is a
///   legitimate state (`Published::resolve`); the waiter and wake words are counters;
/// - `newest_seq` of an empty pool: no retained message carries it;
/// - `tail_off` moved within the end-of-ring gap (< 64 bytes): every offset there reads as the
///   implicit wrap to 0.
#[test]
fn every_single_bit_flip_of_a_pool_header_is_an_error() {
    for name in ["few", "full", "wrapmark", "implicit", "noindex", "empty"] {
        let (bytes, _) = reference_pool(name);
        let ext = layout::STATE_GEN_OFFSET as usize..layout::HEADER_USED_END as usize;
        let original = Snapshot::new(&bytes).unwrap().published().unwrap().state;
        for bit in 0..4096 * 8 {
            if ext.contains(&(bit / 8)) {
                continue;
            }
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            if let Ok(snap) = Snapshot::new(&b) {
                let report = validate(&snap);
                let state = snap.published().unwrap().state;
                let ring = snap.geometry().ring_size;
                let in_gap = |t: u64| ring - t < 64;
                let equivalent = (state.is_empty() && (96..104).contains(&(bit / 8)))
                    || ((72..80).contains(&(bit / 8))
                        && in_gap(state.tail)
                        && in_gap(original.tail));
                assert!(
                    !report.is_ok() || equivalent,
                    "{name}: flip of header byte {} bit {} went unnoticed",
                    bit / 8,
                    bit % 8
                );
            }
        }
    }
}

/// Every single-bit flip of a frame header is caught — except in the timestamp, which carries
/// no redundancy in format v3.
#[test]
fn every_single_bit_flip_of_a_frame_header_is_an_error() {
    for name in ["few", "full", "wrapmark"] {
        let (bytes, _) = reference_pool(name);
        let snap = Snapshot::new(&bytes).unwrap();
        let ring_off = snap.geometry().ring_offset as usize;
        let s = snap.published().unwrap().state;
        for seq in s.oldest..=s.newest {
            let f = plasmite_core::locate(&snap, seq).unwrap().unwrap();
            let at = ring_off + f.offset as usize;
            for bit in 0..64 * 8 {
                if (24..32).contains(&(bit / 8)) {
                    continue;
                }
                let mut b = bytes.clone();
                b[at + bit / 8] ^= 1 << (bit % 8);
                let snap = Snapshot::new(&b).unwrap();
                let report = validate(&snap);
                assert!(
                    !report.is_ok(),
                    "{name} seq {seq}: flip of frame byte {} bit {} went unnoticed",
                    bit / 8,
                    bit % 8
                );
            }
        }
    }
}

#[test]
fn every_single_bit_flip_of_a_payload_we_wrote_fails_its_crc() {
    let mut pool = MemPool::create(8192, Some(4)).unwrap();
    let _ = pool
        .append(1, b"{\"meta\":{\"tags\":[]},\"data\":{\"k\":1}}")
        .unwrap();
    let snap = pool.snapshot();
    let Slot::Message(f) = read_frame_at(&snap, 0) else {
        panic!()
    };
    let at = f.payload_file_offset(snap.geometry()) as usize;
    for bit in 0..f.head.payload_len as usize * 8 {
        let mut b = pool.bytes.clone();
        b[at + bit / 8] ^= 1 << (bit % 8);
        let snap = Snapshot::new(&b).unwrap();
        let issue = validate(&snap).issue.expect("caught");
        assert_eq!(issue.corrupt.kind, CorruptKind::Checksum, "bit {bit}");
    }
}

#[test]
fn commit_marker_damage_is_corrupt_and_names_the_frame() {
    let (mut bytes, _) = reference_pool("few");
    let snap = Snapshot::new(&bytes).unwrap();
    let f = plasmite_core::locate(&snap, 2).unwrap().unwrap();
    let marker = f.payload_file_offset(snap.geometry()) as usize + f.head.payload_len as usize;
    bytes[marker + 3] ^= 0x20;
    let snap = Snapshot::new(&bytes).unwrap();
    let issue = validate(&snap).issue.unwrap();
    assert_eq!(issue.corrupt.kind, CorruptKind::CommitMarker);
    assert_eq!(issue.corrupt.ring_offset(), Some(f.offset));
    assert_eq!(issue.expected_seq, Some(2));
}
