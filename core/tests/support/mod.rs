//! Helpers shared by the integration tests.
#![allow(unreachable_pub)]
#![allow(dead_code)]

pub mod model;

use std::path::PathBuf;

/// The reference material: `$PLASMITE_REFERENCE`, else `../shared/reference` relative to the
/// project root, else the first `shared/reference` found walking up from the project root (a
/// checkout nested deeper beside the shared folder).
pub fn reference_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLASMITE_REFERENCE") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let beside = root.join("../shared/reference");
    if beside.join("README.md").is_file() {
        return beside;
    }
    root.ancestors()
        .map(|a| a.join("shared/reference"))
        .find(|d| d.join("README.md").is_file())
        .unwrap_or(beside)
}

pub fn reference_pool(name: &str) -> (Vec<u8>, serde_json::Value) {
    let dir = reference_dir().join("pools");
    let bytes = std::fs::read(dir.join(format!("{name}.plasmite")))
        .unwrap_or_else(|e| panic!("reading reference pool {name} from {}: {e}", dir.display()));
    let text = std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap();
    (bytes, serde_json::from_str(&text).unwrap())
}

/// Names of every `*.plasmite` file in the reference pool directory, sorted.
pub fn reference_pool_names() -> Vec<String> {
    let dir = reference_dir().join("pools");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".plasmite")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`) → Unix nanoseconds.
pub fn rfc3339_to_ns(s: &str) -> u64 {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    assert_eq!(b[b.len() - 1], b'Z', "{s}");
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, se) = (num(11..13), num(14..16), num(17..19));
    let mut nanos = 0i64;
    if b.get(19) == Some(&b'.') {
        let frac = &s[20..s.len() - 1];
        nanos = frac.parse::<i64>().unwrap() * 10i64.pow(9 - frac.len() as u32);
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from((days * 86_400 + h * 3600 + mi * 60 + se) * 1_000_000_000 + nanos).unwrap()
}

/// Hex text → bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The frame header of the reference's format notes (§3.2): seq 1, Committed, 432-byte payload,
/// no CRC.
pub fn seq1_frame_head() -> plasmite_core::FrameHead {
    plasmite_core::FrameHead {
        state: plasmite_core::FrameState::Committed,
        flags: 0,
        seq: 1,
        timestamp_ns: 0x18ea_0385_a96e_66c4,
        payload_len: 432,
        crc: 0,
    }
}

/// A fresh 1 MiB pool (auto index) after one 432-byte append, as in the reference's notes (§1).
pub fn one_mib_pool_after_one_append() -> model::MemPool {
    let mut pool = model::MemPool::create(plasmite_core::layout::DEFAULT_POOL_SIZE, None).unwrap();
    let _ = pool.append(0x18ea_0385_a96e_66c4, &[0u8; 432]).unwrap();
    pool
}
