//! Every pool file the reference implementation wrote is read exactly as the reference lists it,
//! and the damaged or crashed ones behave as our implementation promises.

mod support;

use plasmite_core::{
    Corrupt, CorruptKind, Cursor, HeaderError, Location, PoolView, Snapshot, Step, locate, validate,
};
use serde_json::Value;
use support::model::MemPool;
use support::{reference_pool, reference_pool_names, rfc3339_to_ns};

/// (seq, timestamp_ns) of every message a walk from the oldest delivers, stopping at the first
/// error.
fn walk(snap: &Snapshot<'_>) -> (Vec<(u64, u64)>, Option<Corrupt>) {
    let state = snap.published().unwrap().state;
    let mut cursor = Cursor::oldest(&state);
    let mut out = Vec::new();
    loop {
        match cursor.next(snap) {
            Ok(Step::Message(f)) => out.push((f.seq(), f.head.timestamp_ns)),
            Ok(Step::CaughtUp) => return (out, None),
            Ok(Step::Gap {
                first_missing,
                count,
            }) => panic!("gap {first_missing}+{count} in a static pool"),
            Err(c) => return (out, Some(c)),
        }
    }
}

/// The reference pools that open (their expected file has a header), with their bytes and
/// expected view.
fn readable_reference_pools() -> Vec<(String, Vec<u8>, Value)> {
    reference_pool_names()
        .into_iter()
        .filter_map(|name| {
            let (bytes, expected) = reference_pool(&name);
            expected
                .get("header")
                .is_some()
                .then_some((name, bytes, expected))
        })
        .collect()
}

fn expected_messages(expected: &Value) -> Vec<(u64, u64)> {
    expected["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m.get("time").is_some())
        .map(|m| {
            (
                m["seq"].as_u64().unwrap(),
                rfc3339_to_ns(m["time"].as_str().unwrap()),
            )
        })
        .collect()
}

#[test]
fn every_reference_pool_header_matches_the_reference_view() {
    let names = reference_pool_names();
    assert!(names.len() >= 13, "reference pools present: {names:?}");
    for name in names {
        let (bytes, expected) = reference_pool(&name);
        let Some(h) = expected.get("header") else {
            continue;
        };
        let snap = Snapshot::new(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let header = snap.header();
        let g = header.geometry;
        let s = snap.published().unwrap().state;
        let got = serde_json::json!({
            "version": 3, "file_size": g.file_size, "index_offset": 4096,
            "index_capacity": g.index_capacity, "ring_offset": g.ring_offset, "ring_size": g.ring_size,
            "flags": 0, "head_off": s.head, "tail_off": s.tail, "tail_next_off": s.tail_next,
            "oldest_seq": s.oldest, "newest_seq": s.newest,
        });
        assert_eq!(&got, h, "{name}: header");
        assert!(
            !header.update_interrupted(),
            "{name}: reference pools carry no journal"
        );
    }
}

#[test]
fn every_readable_reference_pool_walks_to_exactly_the_listed_messages() {
    for (name, bytes, expected) in readable_reference_pools() {
        let snap = Snapshot::new(&bytes).unwrap();
        let (seen, err) = walk(&snap);
        let want = expected_messages(&expected);
        if name == "corrupt-frame" {
            assert_eq!(seen, want[..3], "{name}: seqs 1-3 before the damaged frame");
            assert_eq!(want.len(), 7, "{name}: the reference could not print seq 4");
            let err = err.expect("the damaged frame stops the walk");
            assert_eq!(err.kind, CorruptKind::FrameLengthGuard);
            assert_eq!(err.at, Location::Ring { offset: 1488 });
        } else {
            assert_eq!(err, None, "{name}");
            assert_eq!(seen, want, "{name}: seqs and timestamps");
        }
    }
}

#[test]
fn every_listed_message_is_found_by_seq_with_the_reference_timestamp_and_size() {
    let mut sized = 0;
    for (name, bytes, expected) in readable_reference_pools() {
        let snap = Snapshot::new(&bytes).unwrap();
        for m in expected["messages"].as_array().unwrap() {
            let seq = m["seq"].as_u64().unwrap();
            let found = locate(&snap, seq);
            if name == "corrupt-frame" && seq == 4 {
                let err = found.expect_err("seq 4 is damaged");
                assert_eq!(
                    err.at,
                    Location::Ring { offset: 1488 },
                    "the error names the frame's offset"
                );
                continue;
            }
            let f = found
                .unwrap_or_else(|e| panic!("{name} seq {seq}: {e}"))
                .expect("retained");
            assert_eq!(f.seq(), seq);
            assert_eq!(
                f.head.timestamp_ns,
                rfc3339_to_ns(m["time"].as_str().unwrap()),
                "{name} seq {seq}"
            );
            let payload = snap.payload(&f).unwrap();
            assert_eq!(payload.len(), f.head.payload_len as usize);
            assert!(!f.head.has_crc(), "the reference writes no CRC");
            assert_eq!(
                payload[0], 6,
                "{name} seq {seq}: a Lite³ document starts with an object node"
            );
            // The format notes give the reference's sizes for these envelopes.
            let data = &m["data"];
            let no_tags = m["meta"]["tags"].as_array().is_some_and(|t| t.is_empty());
            if no_tags
                && data
                    .as_object()
                    .is_some_and(|o| o.len() == 1 && o["i"].is_i64())
            {
                assert_eq!(
                    payload.len(),
                    420,
                    "{name} seq {seq}: {{\"i\":N}} without tags"
                );
                sized += 1;
            }
        }
    }
    assert!(sized > 0, "some payload sizes are compared");
}

#[test]
fn seqs_outside_the_retained_range_are_not_found() {
    for name in [
        "empty",
        "few",
        "full",
        "varied",
        "crash-committed",
        "crash-writing",
    ] {
        let (bytes, _) = reference_pool(name);
        let snap = Snapshot::new(&bytes).unwrap();
        let s = snap.published().unwrap().state;
        assert_eq!(locate(&snap, 0), Ok(None), "{name}: seq 0");
        assert_eq!(locate(&snap, s.newest + 1), Ok(None), "{name}: newest + 1");
        if s.oldest > 1 {
            assert_eq!(locate(&snap, s.oldest - 1), Ok(None), "{name}: evicted");
        }
    }
}

#[test]
fn validation_matches_the_reference_doctor_and_reports_the_damaged_frame() {
    for (name, bytes, expected) in readable_reference_pools() {
        let doctor = &expected["doctor"];
        let snap = Snapshot::new(&bytes).unwrap();
        let report = validate(&snap);
        assert_eq!(
            report.last_good_seq,
            doctor["last_good_seq"].as_u64(),
            "{name}: last good seq"
        );
        match doctor["status"].as_str().unwrap() {
            "ok" => assert!(report.is_ok(), "{name}: {:?}", report.issue),
            _ => {
                let issue = report.issue.expect("corrupt");
                let offset = doctor["issues"][0]["offset"].as_u64().unwrap();
                assert_eq!(issue.corrupt.ring_offset(), Some(offset), "{name}: offset");
                assert_eq!(issue.expected_seq, Some(4), "{name}");
            }
        }
    }
}

#[test]
fn damaged_and_foreign_headers_are_refused_with_the_right_error() {
    let (bytes, _) = reference_pool("bad-magic");
    assert!(matches!(
        Snapshot::new(&bytes),
        Err(HeaderError::Corrupt(Corrupt {
            kind: CorruptKind::BadMagic,
            ..
        }))
    ));
    let (bytes, _) = reference_pool("truncated");
    assert!(matches!(
        Snapshot::new(&bytes),
        Err(HeaderError::Corrupt(Corrupt {
            kind: CorruptKind::FileSize,
            ..
        }))
    ));
    let (bytes, expected) = reference_pool("bad-version");
    let err = Snapshot::new(&bytes).unwrap_err();
    assert_eq!(err, HeaderError::UnsupportedVersion { found: 4 });
    assert_eq!(
        err.to_string(),
        expected["info_stderr"]["error"]["message"]
            .as_str()
            .unwrap()
    );
}

#[test]
fn live_cursor_on_a_full_ring_delivers_nothing_old() {
    let (bytes, _) = reference_pool("full");
    let snap = Snapshot::new(&bytes).unwrap();
    let s = snap.published().unwrap().state;
    assert!(s.is_full());
    let mut live = Cursor::live(&s);
    assert_eq!(live.next(&snap), Ok(Step::CaughtUp));
    let mut last3 = Cursor::from_seq(s.newest - 2);
    let seqs: Vec<u64> = std::iter::from_fn(|| match last3.next(&snap).unwrap() {
        Step::Message(f) => Some(f.seq()),
        _ => None,
    })
    .collect();
    assert_eq!(seqs, [38, 39, 40]);
}

#[test]
fn live_cursor_sees_the_next_append_on_every_reference_pool() {
    for name in [
        "empty",
        "few",
        "full",
        "implicit",
        "wrapmark",
        "noindex",
        "varied",
        "crash-writing",
        "crash-committed",
    ] {
        let (bytes, _) = reference_pool(name);
        let mut pool = MemPool::from_bytes(bytes);
        let before = pool.snapshot().published().unwrap().state;
        let mut live = Cursor::live(&before);
        assert_eq!(live.next(&pool.snapshot()), Ok(Step::CaughtUp), "{name}");
        let _ = pool.append(7, b"payload").unwrap();
        match live.next(&pool.snapshot()) {
            Ok(Step::Message(f)) => assert_eq!(f.seq(), before.newest + 1, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(live.next(&pool.snapshot()), Ok(Step::CaughtUp), "{name}");
    }
}

#[test]
fn appending_to_every_reference_pool_keeps_it_valid_and_continues_the_sequence() {
    for (name, bytes, _) in readable_reference_pools() {
        if name == "corrupt-frame" {
            continue;
        }
        let mut pool = MemPool::from_bytes(bytes);
        let newest = pool.snapshot().published().unwrap().state.newest;
        let mut before = pool.read_all().unwrap();
        for i in 0..50u64 {
            let payload = vec![i as u8; 40 + (i as usize * 37) % 300];
            let plan = pool
                .append(1_000 + i, &payload)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(plan.seq, newest + 1 + i, "{name}");
            let report = validate(&pool.snapshot());
            assert!(
                report.is_ok(),
                "{name} after {} appends: {:?}",
                i + 1,
                report.issue
            );
            before.push((plan.seq, 1_000 + i, payload));
            let now = pool.read_all().unwrap();
            assert!(
                before.ends_with(&now),
                "{name}: retained messages are a suffix of all messages"
            );
        }
    }
}

#[test]
fn crashed_appends_stay_invisible_and_the_next_append_takes_their_seq() {
    for name in ["crash-writing", "crash-committed"] {
        let (bytes, _) = reference_pool(name);
        let mut pool = MemPool::from_bytes(bytes);
        assert_eq!(
            locate(&pool.snapshot(), 6),
            Ok(None),
            "{name}: seq 6 is not visible"
        );
        let seqs: Vec<u64> = pool.read_all().unwrap().iter().map(|m| m.0).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5], "{name}");
        assert!(validate(&pool.snapshot()).is_ok(), "{name}");
        let plan = pool.append(1, b"after the crash").unwrap();
        assert_eq!(plan.seq, 6, "{name}");
        let f = locate(&pool.snapshot(), 6).unwrap().unwrap();
        assert_eq!(pool.snapshot().payload(&f).unwrap(), b"after the crash");
    }
}

#[test]
fn cursor_reading_a_damaged_pool_fails_fast_instead_of_spinning() {
    let (bytes, _) = reference_pool("corrupt-frame");
    let snap = Snapshot::new(&bytes).unwrap();
    // From seq 4 onwards: the first step is the damaged frame, an error, not a loop.
    let mut cursor = Cursor::from_seq(4);
    let err = cursor.next(&snap).unwrap_err();
    assert_eq!(err.at, Location::Ring { offset: 1488 });
    // Seeking straight to seq 5 works: the index points past the damage.
    let mut cursor = Cursor::from_seq(5);
    let seqs: Vec<u64> = std::iter::from_fn(|| match cursor.next(&snap).unwrap() {
        Step::Message(f) => Some(f.seq()),
        _ => None,
    })
    .collect();
    assert_eq!(seqs, [5, 6, 7, 8]);
}

/// Replays equal-size appends into a fresh pool of the same geometry: our planner must place
/// every frame where the reference did and end in the same ring state.
#[test]
fn planner_reproduces_the_reference_ring_state_for_equal_size_appends() {
    for name in [
        "full",
        "wrapmark",
        "implicit",
        "noindex",
        "crash-writing",
        "crash-committed",
    ] {
        let (bytes, _) = reference_pool(name);
        let reference = Snapshot::new(&bytes).unwrap();
        let geo = *reference.geometry();
        let rs = reference.published().unwrap().state;
        let newest = locate(&reference, rs.newest).unwrap().unwrap();
        let len = newest.head.payload_len as usize;
        let mut ours = MemPool::create(geo.file_size, Some(u64::from(geo.index_capacity))).unwrap();
        for _ in 0..rs.newest {
            let _ = ours.append(0, &vec![0u8; len]).unwrap();
        }
        let os = ours.snapshot().published().unwrap().state;
        assert_eq!(os, rs, "{name}: ring state");
        for seq in rs.oldest..=rs.newest {
            let a = locate(&reference, seq).unwrap().unwrap();
            let b = locate(&ours.snapshot(), seq).unwrap().unwrap();
            assert_eq!(a.offset, b.offset, "{name}: frame offset of seq {seq}");
        }
    }
}

#[test]
fn index_spot_check_warns_about_the_same_slots_as_the_reference_doctor() {
    for (name, bytes, expected) in readable_reference_pools() {
        let doctor = &expected["doctor"];
        let snap = Snapshot::new(&bytes).unwrap();
        let ours: Vec<String> = plasmite_core::validate::index_spot_check(&snap)
            .iter()
            .flatten()
            .map(|s| {
                format!(
                    "warning: index slot {} seq {} is stale or invalid",
                    s.slot, s.seq
                )
            })
            .collect();
        let theirs: Vec<String> = doctor["remediation_hints"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| {
                h.as_str()
                    .filter(|h| h.starts_with("warning: index slot"))
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(ours, theirs, "{name}");
    }
}
