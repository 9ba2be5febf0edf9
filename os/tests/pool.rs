//! The mapped, locked Pool: creation rules, round trips, every reference pool opened and appended
//! to (copied to a temporary directory first), read-only use, concurrent writers and a reader.

#[path = "../../core/tests/support/mod.rs"]
mod support;

mod common;
use common::create;

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch("os", name)
}

use plasmite_core::{Cursor, Step};
use plasmite_os::inspect::PoolCopy;
use plasmite_os::message::{Printed, encode, to_json_string};
use plasmite_os::{CreateOptions, Durability, ErrorKind, Pool};
use serde_json::{Value, json};

fn payload(i: u64) -> Vec<u8> {
    encode(
        &json!({"i": i, "pad": "x".repeat((i % 50) as usize)}),
        &["t"],
        1 << 20,
    )
    .unwrap()
}

fn printed(m: &plasmite_os::Message) -> Value {
    let text = to_json_string(&Printed {
        seq: m.seq,
        timestamp_ns: m.timestamp_ns,
        payload: &m.payload,
    })
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn appended_messages_read_back_byte_for_byte_and_the_file_validates() {
    let dir = scratch("roundtrip");
    let path = dir.join("nested/dirs/p.plasmite");
    let pool = create(&path, 64 * 1024);
    for i in 1..=400 {
        assert_eq!(
            pool.append_at(&payload(i), 1_000 + i, Durability::Fast)
                .unwrap()
                .seq,
            i
        );
    }
    let s = pool.state().unwrap();
    assert_eq!(s.newest, 400);
    assert!(s.oldest > 1, "a 64 KiB pool evicted the oldest");
    for seq in s.oldest..=s.newest {
        let m = pool.get(seq).unwrap();
        assert_eq!(
            (m.seq, m.timestamp_ns, &m.payload),
            (seq, 1_000 + seq, &payload(seq))
        );
    }
    let report = PoolCopy::read(&path).unwrap().validate().unwrap();
    assert!(report.is_ok(), "{:?}", report.issue);
    assert_eq!(
        report.checksummed,
        s.count(),
        "every frame we write carries a CRC"
    );
}

#[test]
fn create_refuses_an_existing_file_and_leaves_it_untouched() {
    let dir = scratch("exists");
    let path = dir.join("p.plasmite");
    std::fs::write(&path, b"not a pool").unwrap();
    let err = Pool::create(&path, CreateOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&path).unwrap(), b"not a pool");
}

#[test]
fn too_small_a_pool_is_a_usage_error_naming_the_minimum() {
    let dir = scratch("small");
    let path = dir.join("p.plasmite");
    let err = Pool::create(
        &path,
        CreateOptions {
            size: 4096,
            index_capacity: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.hint().unwrap().contains("4097"), "{:?}", err.hint());
    assert!(!path.exists(), "nothing is left behind");
}

#[test]
fn every_reference_pool_opens_reads_as_listed_and_takes_appends() {
    let dir = scratch("reference");
    for name in support::reference_pool_names() {
        let (bytes, expected) = support::reference_pool(&name);
        let path = dir.join(format!("{name}.plasmite"));
        std::fs::write(&path, &bytes).unwrap();
        let Some(header) = expected.get("header") else {
            let err = Pool::open(&path).unwrap_err();
            let want = &expected["info_stderr"]["error"];
            assert_eq!(err.kind().as_str(), want["kind"], "{name}");
            continue;
        };
        let pool = Pool::open(&path).unwrap();
        assert_eq!(
            pool.state().unwrap().newest,
            header["newest_seq"].as_u64().unwrap(),
            "{name}"
        );
        for m in expected["messages"].as_array().unwrap() {
            let seq = m["seq"].as_u64().unwrap();
            match pool.get(seq) {
                Ok(msg) => assert_eq!(&printed(&msg), m, "{name} seq {seq}"),
                Err(e) => {
                    assert_eq!((name.as_str(), seq), ("corrupt-frame", 4), "{e}");
                    assert_eq!(e.kind(), ErrorKind::Corrupt);
                    assert_eq!(e.offset(), Some(1488), "the error names the frame's offset");
                }
            }
        }
        if name == "corrupt-frame" {
            continue;
        }
        let newest = pool.state().unwrap().newest;
        for i in 1..=30 {
            assert_eq!(
                pool.append_at(&payload(i), i, Durability::Fast)
                    .unwrap()
                    .seq,
                newest + i,
                "{name}"
            );
        }
        let report = PoolCopy::read(&path).unwrap().validate().unwrap();
        assert!(report.is_ok(), "{name}: {:?}", report.issue);
    }
}

#[test]
fn missing_message_is_not_found_with_the_retained_range_in_the_hint() {
    let dir = scratch("notfound");
    let path = dir.join("p.plasmite");
    std::fs::write(&path, support::reference_pool("crash-committed").0).unwrap();
    let pool = Pool::open(&path).unwrap();
    let err = pool.get(6).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.seq(), Some(6));
    assert_eq!(err.hint(), Some("The pool holds messages 1 to 5."));
    assert_eq!(
        pool.append_at(&payload(1), 1, Durability::Fast)
            .unwrap()
            .seq,
        6,
        "the crashed append's seq is reused"
    );
}

#[test]
fn read_only_pool_reads_and_refuses_appends_with_a_hint() {
    let dir = scratch("readonly");
    let path = dir.join("p.plasmite");
    let pool = create(&path, 64 * 1024);
    pool.append_at(&payload(1), 1, Durability::Fast).unwrap();
    drop(pool);
    let ro = Pool::open_read_only(&path).unwrap();
    assert!(!ro.writable());
    assert_eq!(ro.get(1).unwrap().payload, payload(1));
    let err = ro.append_at(&payload(2), 2, Durability::Fast).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission);
    assert!(err.hint().is_some());
}

/// Two writers (separate opens, so separate locks) and a reader on a third handle: the reader
/// sees every sequence once, in order, each payload intact.
#[test]
fn concurrent_writers_and_a_reader_see_every_message_once_in_order() {
    let dir = scratch("concurrent");
    let path = dir.join("p.plasmite");
    drop(create(&path, 8 << 20));
    const PER_WRITER: u64 = 1500;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let pool = Pool::open(&path).unwrap();
                for i in 0..PER_WRITER {
                    pool.append_at(&payload(w * 10_000 + i), i, Durability::Fast)
                        .unwrap();
                }
            })
        })
        .collect();
    let reader = Pool::open(&path).unwrap();
    let mut cursor = Cursor::from_seq(1);
    let mut next = 1;
    let mut next_of = [0u64; 2];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while next <= 2 * PER_WRITER {
        assert!(
            std::time::Instant::now() < deadline,
            "reader stalled at seq {next}"
        );
        match cursor.next(&reader.view()).unwrap() {
            Step::Message(f) => {
                assert_eq!(f.seq(), next);
                let m = reader.copy_message(&f).unwrap();
                let v = printed(&m);
                let i = v["data"]["i"].as_u64().expect("payload intact");
                let (w, k) = ((i / 10_000) as usize, i % 10_000);
                assert_eq!(
                    k, next_of[w],
                    "writer {w}'s messages in its order, once each"
                );
                next_of[w] += 1;
                next += 1;
            }
            Step::CaughtUp => std::thread::yield_now(),
            Step::Gap { .. } => panic!("the pool is large enough to keep everything"),
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(next_of, [PER_WRITER; 2], "every message of both writers");
    let s = reader.state().unwrap();
    assert_eq!((s.oldest, s.newest), (1, 2 * PER_WRITER));
    assert!(PoolCopy::read(&path).unwrap().validate().unwrap().is_ok());
}

/// A writer laps a small ring while a reader follows it: whatever the reader gets is exactly
/// what was appended under that sequence (evicted messages are NotFound or reported as a gap,
/// never torn).
#[test]
fn reader_overtaken_by_a_writer_never_sees_a_torn_message() {
    let dir = scratch("overtaken");
    let path = dir.join("p.plasmite");
    drop(
        Pool::create(
            &path,
            CreateOptions {
                size: 16 * 1024,
                index_capacity: Some(8),
            },
        )
        .unwrap(),
    );
    const N: u64 = 20_000;
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let pool = Pool::open(&path).unwrap();
            for seq in 1..=N {
                assert_eq!(
                    pool.append_at(&payload(seq), seq, Durability::Fast)
                        .unwrap()
                        .seq,
                    seq
                );
            }
        })
    };
    let reader = Pool::open(&path).unwrap();
    let mut cursor = Cursor::from_seq(1);
    let (mut read, mut gaps, mut missing) = (0u64, 0u64, 0u64);
    let mut last = 0;
    while last < N {
        match cursor.next(&reader.view()).unwrap() {
            Step::Message(f) => {
                assert!(f.seq() > last, "in order");
                last = f.seq();
                match reader.get(f.seq()) {
                    Ok(m) => {
                        assert_eq!(m.payload, payload(m.seq), "seq {} intact", m.seq);
                        assert_eq!(m.timestamp_ns, m.seq);
                        read += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => missing += 1,
                    Err(e) => panic!("seq {}: {e}", f.seq()),
                }
            }
            Step::Gap {
                first_missing,
                count,
            } => {
                assert!(first_missing > last && count > 0);
                last = first_missing + count - 1;
                gaps += 1;
            }
            Step::CaughtUp => std::thread::yield_now(),
        }
    }
    writer.join().unwrap();
    eprintln!("overtaken reader: read {read}, gaps {gaps}, evicted under the reader {missing}");
    assert!(
        read > 0,
        "read {read}, gaps {gaps}, evicted under the reader {missing}"
    );
    assert!(PoolCopy::read(&path).unwrap().validate().unwrap().is_ok());
}
