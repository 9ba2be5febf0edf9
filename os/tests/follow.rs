//! Followers (every start position, gaps under both policies, wake-ups, read-only pools), batch
//! appends and durability, pool info against the reference's view, pool references and the pool
//! directory.

#[path = "../../core/tests/support/mod.rs"]
mod support;

mod common;
use common::create;

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch("follow", name)
}

use plasmite_os::dir;
use plasmite_os::message::encode;
use plasmite_os::{
    Appended, Durability, ErrorKind, Event, FollowOptions, Follower, GapPolicy, Pool, Start,
};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

fn payload(i: u64) -> Vec<u8> {
    encode(&json!({ "i": i }), &["t"], 1 << 20).unwrap()
}

fn start(start: Start) -> FollowOptions {
    FollowOptions {
        start,
        ..FollowOptions::default()
    }
}

/// An event, owned.
#[derive(Debug, PartialEq)]
enum Got {
    Msg(u64, Vec<u8>),
    Gap(u64, u64),
    Damaged(u64),
}

/// Every event available now, without waiting.
fn drain(f: &mut Follower<&Pool>) -> Vec<Got> {
    let mut out = Vec::new();
    while let Some(ev) = f.poll().unwrap() {
        out.push(match ev {
            Event::Message(m) => Got::Msg(m.seq, m.payload.to_vec()),
            Event::Gap {
                first_missing,
                count,
            } => Got::Gap(first_missing, count),
            Event::Damaged { seq, .. } => Got::Damaged(seq),
        });
    }
    out
}

/// The sequences of the messages among `events`.
fn seqs(events: &[Got]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Got::Msg(seq, _) => Some(*seq),
            Got::Gap(..) | Got::Damaged(_) => None,
        })
        .collect()
}

#[test]
fn each_start_position_delivers_exactly_its_messages_in_order() {
    let dir = scratch("starts");
    let all: Vec<u64> = (1..=20).collect();
    let cases = [
        (Start::Oldest, all.clone()),
        (Start::Seq(7), (7..=20).collect()),
        (Start::Last(3), vec![18, 19, 20]),
        (Start::Last(100), all.clone()),
        (Start::Last(0), vec![]),
        (Start::Time(5_000), (5..=20).collect()),
        (Start::Time(5_001), (6..=20).collect()),
        (Start::Time(u64::MAX), vec![]),
        (Start::Live, vec![]),
    ];
    for (n, (s, want)) in cases.into_iter().enumerate() {
        let pool = create(&dir.join(format!("{n}.plasmite")), 64 * 1024);
        for i in 1..=20 {
            pool.append_at(&payload(i), 1_000 * i, Durability::Fast)
                .unwrap();
        }
        let mut f = Follower::new(&pool, start(s)).unwrap();
        let got = drain(&mut f);
        assert_eq!(seqs(&got), want, "{s:?}");
        for g in &got {
            match g {
                Got::Msg(seq, p) => assert_eq!(p, &payload(*seq), "{s:?}"),
                Got::Gap(..) => panic!("{s:?}: no gap on a quiet pool"),
                Got::Damaged(_) => panic!("{s:?}: nothing is damaged"),
            }
        }
        // Then everything appended later, whatever the start.
        let next = pool.append(&payload(99), Durability::Fast).unwrap().seq;
        assert_eq!(seqs(&drain(&mut f)), vec![next], "{s:?} goes on live");
    }
}

#[test]
fn live_start_on_a_full_ring_replays_nothing() {
    let dir = scratch("fullring");
    for name in ["full", "wrapmark"] {
        let path = dir.join(format!("{name}.plasmite"));
        std::fs::write(&path, support::reference_pool(name).0).unwrap();
        let pool = Pool::open(&path).unwrap();
        let mut f = Follower::new(&pool, start(Start::Live)).unwrap();
        assert!(drain(&mut f).is_empty(), "{name}: nothing old");
        let seq = pool.append(&payload(1), Durability::Fast).unwrap().seq;
        assert_eq!(seqs(&drain(&mut f)), vec![seq], "{name}");
        let newest = pool.state().unwrap().newest;
        let mut last3 = Follower::new(&pool, start(Start::Last(3))).unwrap();
        assert_eq!(
            seqs(&drain(&mut last3)),
            vec![newest - 2, newest - 1, newest],
            "{name}"
        );
    }
}

#[test]
fn overtaken_follower_reports_the_gap_or_stops_with_retention_gap() {
    let dir = scratch("gaps");
    let pool = create(&dir.join("p.plasmite"), 16 * 1024);
    pool.append(&payload(1), Durability::Fast).unwrap();
    let mut cont = Follower::new(&pool, start(Start::Oldest)).unwrap();
    let mut stop = Follower::new(
        &pool,
        FollowOptions {
            start: Start::Oldest,
            gap: GapPolicy::Stop,
            ..FollowOptions::default()
        },
    )
    .unwrap();
    for i in 2..=2_000 {
        pool.append(&payload(i), Durability::Fast).unwrap();
    }
    let state = pool.state().unwrap();
    assert!(state.oldest > 1);
    let first = cont.poll().unwrap().unwrap();
    assert_eq!(
        first,
        Event::Gap {
            first_missing: 1,
            count: state.oldest - 1
        }
    );
    let rest = seqs(&drain(&mut cont));
    assert_eq!(rest, (state.oldest..=state.newest).collect::<Vec<_>>());

    let err = stop.poll().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RetentionGap);
    assert_eq!(err.seq(), Some(1));
    assert!(err.hint().is_some());
}

#[test]
fn a_start_seq_no_longer_retained_is_a_gap_first() {
    let dir = scratch("oldseq");
    let pool = create(&dir.join("p.plasmite"), 16 * 1024);
    for i in 1..=1_000 {
        pool.append(&payload(i), Durability::Fast).unwrap();
    }
    let oldest = pool.state().unwrap().oldest;
    let mut f = Follower::new(&pool, start(Start::Seq(2))).unwrap();
    assert_eq!(
        f.poll().unwrap(),
        Some(Event::Gap {
            first_missing: 2,
            count: oldest - 2
        })
    );
    assert_eq!(seqs(&drain(&mut f))[0], oldest);
}

#[test]
fn a_parked_follower_wakes_on_an_append_from_another_thread() {
    let dir = scratch("wake");
    let path = dir.join("p.plasmite");
    let pool = create(&path, 64 * 1024);
    let writer = std::thread::spawn(move || {
        use std::os::unix::fs::FileExt;
        // The wake words (spec/FORMAT.md §2.3): `waiters` at 152, `wake` at 156.
        let words = |file: &std::fs::File| {
            let mut b = [0u8; 8];
            file.read_exact_at(&mut b, 152).unwrap();
            let w = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
            (w(0), w(4))
        };
        let file = std::fs::File::open(&path).unwrap();
        let pool = Pool::open(&path).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let (waiters, wake) = words(&file);
        assert_eq!(waiters, 1, "the parked follower announced itself");
        let seq = pool.append(&payload(42), Durability::Fast).unwrap().seq;
        assert_eq!(
            words(&file),
            (0, wake.wrapping_add(1)),
            "the writer bumped wake and cleared the flag as it woke the follower"
        );
        seq
    });
    let mut f = Follower::new(&pool, start(Start::Live)).unwrap();
    let t0 = Instant::now();
    let ev = f.next(Some(Duration::from_secs(20))).unwrap();
    let seq = writer.join().unwrap();
    match ev {
        Some(Event::Message(m)) => {
            assert_eq!(m.seq, seq);
            assert_eq!(m.payload, payload(42).as_slice());
        }
        other => panic!("expected the message, got {other:?}"),
    }
    assert!(t0.elapsed() >= Duration::from_millis(250));
    // With nothing appended, a bounded wait times out.
    assert_eq!(f.next(Some(Duration::from_millis(120))).unwrap(), None);
}

#[test]
fn a_follower_without_wake_ups_still_sees_appends() {
    let dir = scratch("nonotify");
    let pool = create(&dir.join("p.plasmite"), 64 * 1024);
    let mut f = Follower::new(
        &pool,
        FollowOptions {
            notify: false,
            ..FollowOptions::default()
        },
    )
    .unwrap();
    assert_eq!(f.next(Some(Duration::from_millis(30))).unwrap(), None);
    let seq = pool.append(&payload(1), Durability::Fast).unwrap().seq;
    match f.next(Some(Duration::from_secs(5))).unwrap() {
        Some(Event::Message(m)) => assert_eq!(m.seq, seq),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_reader_of_a_read_only_file_can_get_and_follow() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("readonly");
    let path = dir.join("p.plasmite");
    let writer = create(&path, 64 * 1024);
    writer.append(&payload(1), Durability::Fast).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let reader = Pool::open(&path).unwrap();
    // Root may write a 0444 file anyway; the explicit read-only open covers that case.
    let reader_ro = Pool::open_read_only(&path).unwrap();
    for pool in [&reader, &reader_ro] {
        assert_eq!(pool.get(1).unwrap().payload, payload(1));
        let mut f = Follower::new(pool, start(Start::Oldest)).unwrap();
        assert_eq!(seqs(&drain(&mut f)), vec![1]);
    }
    assert!(!reader_ro.writable());
    let mut f = Follower::new(&reader_ro, start(Start::Live)).unwrap();
    let seq = writer.append(&payload(2), Durability::Fast).unwrap().seq;
    match f.next(Some(Duration::from_secs(5))).unwrap() {
        Some(Event::Message(m)) => assert_eq!(m.seq, seq),
        other => panic!("{other:?}"),
    }
    let err = reader_ro.append(&payload(3), Durability::Fast).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permission);
}

#[test]
fn a_batch_appends_in_order_and_an_oversize_message_refuses_the_whole_batch_first() {
    let dir = scratch("batch");
    let pool = create(&dir.join("p.plasmite"), 1024 * 1024);
    let batch: Vec<Vec<u8>> = (1..=500).map(payload).collect();
    let mut out: Vec<Appended> = Vec::new();
    pool.append_batch(&batch, Durability::Fast, &mut out)
        .unwrap();
    assert_eq!(
        out.iter().map(|a| a.seq).collect::<Vec<_>>(),
        (1..=500).collect::<Vec<_>>()
    );
    assert!(
        out.windows(2)
            .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
    );
    for a in &out {
        let m = pool.get(a.seq).unwrap();
        assert_eq!(m.payload, payload(a.seq));
        assert_eq!(m.timestamp_ns, a.timestamp_ns);
    }
    let huge = vec![0u8; 1100 * 1024];
    let mixed = [payload(1), huge, payload(2)];
    let mut out = Vec::new();
    let err = pool
        .append_batch(&mixed, Durability::Flush, &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.message().contains("message 2"), "{}", err.message());
    assert!(err.hint().unwrap().contains("at most"));
    assert!(out.is_empty());
    assert_eq!(pool.state().unwrap().newest, 500, "nothing was written");
}

#[test]
fn flush_durability_appends_and_syncs_wrapped_frames() {
    let dir = scratch("flush");
    let pool = create(&dir.join("p.plasmite"), 16 * 1024);
    for i in 1..=300 {
        let a = pool.append(&payload(i), Durability::Flush).unwrap();
        assert_eq!(a.seq, i);
    }
    let mut out = Vec::new();
    let batch: Vec<Vec<u8>> = (301..=600).map(payload).collect();
    pool.append_batch(&batch, Durability::Flush, &mut out)
        .unwrap();
    assert_eq!(out.last().unwrap().seq, 600);
    assert_eq!(pool.get(600).unwrap().payload, payload(600));
}

#[test]
fn info_matches_the_reference_view_of_every_reference_pool() {
    let dir = scratch("info");
    for name in support::reference_pool_names() {
        let (bytes, expected) = support::reference_pool(&name);
        let Some(want) = expected.get("info") else {
            continue;
        };
        let path = dir.join(format!("{name}.plasmite"));
        std::fs::write(&path, &bytes).unwrap();
        let pool = Pool::open(&path).unwrap();
        let info = pool.info().unwrap();
        let json = info.to_json(&name, plasmite_os::now_ns());
        for (key, value) in want.as_object().unwrap() {
            assert_eq!(&json[key], value, "{name}: {key}");
        }
        assert_eq!(json["name"], name.as_str());
        let metrics = &json["metrics"];
        let count = info.message_count();
        assert_eq!(metrics["message_count"], count);
        assert_eq!(metrics["seq_span"], count);
        let used = metrics["utilization"]["used_bytes"].as_u64().unwrap();
        let free = metrics["utilization"]["free_bytes"].as_u64().unwrap();
        assert_eq!(used + free, info.geometry.ring_size, "{name}");
        let pct = metrics["utilization"]["used_percent"].as_f64().unwrap();
        assert_eq!(
            pct,
            (used * 10_000 / info.geometry.ring_size) as f64 / 100.0
        );
        let msgs = expected["messages"].as_array().unwrap();
        if count == 0 {
            assert!(metrics["age"]["oldest_time"].is_null(), "{name}");
        } else if let (Some(first), Some(last)) = (msgs.first(), msgs.last()) {
            if first["seq"] == want["bounds"]["oldest"] {
                assert_eq!(metrics["age"]["oldest_time"], first["time"], "{name}");
            }
            if last["seq"] == want["bounds"]["newest"] {
                assert_eq!(metrics["age"]["newest_time"], last["time"], "{name}");
            }
            assert!(metrics["age"]["newest_age_ms"].is_u64());
        }
    }
    // The full state counts the whole ring.
    let full = Pool::open(&dir.join("full.plasmite"))
        .unwrap()
        .info()
        .unwrap();
    assert_eq!(full.used_percent(), 100.0);
}

#[test]
fn references_resolve_like_the_reference_and_the_directory_lists_pools() {
    let d = Path::new("/pools");
    assert_eq!(dir::resolve(d, "chat"), Path::new("/pools/chat.plasmite"));
    assert_eq!(
        dir::resolve(d, "chat.plasmite"),
        Path::new("/pools/chat.plasmite")
    );
    assert_eq!(dir::resolve(d, "./x"), Path::new("./x"));
    assert_eq!(
        dir::resolve(d, "/abs/y.plasmite"),
        Path::new("/abs/y.plasmite")
    );
    assert_eq!(dir::resolve(d, "a/b"), Path::new("a/b"));
    assert!(dir::default_dir().ends_with(".plasmite/pools"));

    let root = scratch("dir");
    let pools = root.join("pools");
    assert!(
        dir::list(&pools).unwrap().is_empty(),
        "missing dir: no pools"
    );
    for name in ["b", "a"] {
        create(&dir::resolve(&pools, name), 8192);
    }
    std::fs::write(pools.join("notes.txt"), "x").unwrap();
    let listed = dir::list(&pools).unwrap();
    let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    dir::delete(&listed[0].path).unwrap();
    assert!(!listed[0].path.exists());
    let err = dir::delete(&listed[0].path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.cause(), Some(plasmite_os::Cause::PoolNotFound));
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("pool directory") && !hint.contains("--"),
        "{hint}"
    );
}

#[test]
fn a_deleted_pool_keeps_serving_followers_that_have_it_open() {
    let root = scratch("unlink");
    let path = root.join("p.plasmite");
    let pool = create(&path, 8192);
    pool.append(&payload(1), Durability::Fast).unwrap();
    let mut f = Follower::new(&pool, start(Start::Oldest)).unwrap();
    dir::delete(&path).unwrap();
    pool.append(&payload(2), Durability::Fast).unwrap();
    assert_eq!(seqs(&drain(&mut f)), vec![1, 2]);
}

#[test]
fn a_parked_follower_sees_an_append_that_wakes_nobody_within_the_park_bound() {
    use std::os::unix::fs::FileExt;
    let dir = scratch("nowake");
    let path = dir.join("p.plasmite");
    let pool = create(&path, 64 * 1024);
    let follower = {
        let path = path.clone();
        std::thread::spawn(move || {
            let pool = Pool::open(&path).unwrap();
            let mut f = Follower::new(&pool, start(Start::Live)).unwrap();
            match f.next(Some(Duration::from_secs(10))).unwrap() {
                Some(Event::Message(m)) => (m.seq, Instant::now()),
                other => panic!("{other:?}"),
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // Append the way a writer that knows nothing of the wake words does: the core's stores on
    // a copy of the file, written back in place (the follower's mapping sees the same pages).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut mem = support::model::MemPool::from_bytes(std::fs::read(&path).unwrap());
    let seq = mem.append(7, &payload(7)).unwrap().seq;
    let ring_offset = pool.geometry().ring_offset as usize;
    // Ring first, then the header words before the wake words, as a writer publishes.
    file.write_all_at(&mem.bytes[ring_offset..], ring_offset as u64)
        .unwrap();
    file.write_all_at(&mem.bytes[..152], 0).unwrap();
    let appended = Instant::now();
    let (got, at) = follower.join().unwrap();
    assert_eq!(got, seq);
    let delay = at.saturating_duration_since(appended);
    // The bound is MAX_PARK (50 ms); 10× leaves room for a loaded machine.
    assert!(
        delay < plasmite_os::follow::MAX_PARK * 10,
        "seen after {delay:?}; the park bound is {:?}",
        plasmite_os::follow::MAX_PARK
    );
}
