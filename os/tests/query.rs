//! Queries: every start position against every filter, gaps, damaged payloads (failed CRC,
//! undecodable tags, undecodable data), limits, deadlines, cancellation and owned pools —
//! checked against a plain model of the pool, once, for every front end.

mod common;

use plasmite_os::core::layout::{FRAME_FLAG_CRC32, FRAME_HEADER_SIZE};
use plasmite_os::core::lite3::envelope;
use plasmite_os::core::lite3::read::ValueRef;
use plasmite_os::message::encode;
use plasmite_os::query::{DamagePolicy, End, Item, Stream};
use plasmite_os::{
    Cancel, Durability, Error, ErrorKind, GapPolicy, MessageView, Pool, Predicate, Query, Start,
};
use serde_json::json;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Message `i` carries `{"i": i}`, tag `even` or `odd`, and is stamped at `i` seconds.
fn fill(pool: &Pool, n: u64) {
    for i in 1..=n {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        let payload = encode(&json!({ "i": i }), &[tag], 1 << 20).unwrap();
        pool.append_at(&payload, i * 1_000_000_000, Durability::Fast)
            .unwrap();
    }
}

/// `data.i % 3 == 0`.
struct ThirdOnes;

impl Predicate for ThirdOnes {
    fn matches(&self, msg: &MessageView<'_>) -> Result<bool, Error> {
        match envelope::field(msg.payload, "i") {
            Ok(Some(ValueRef::I64(i))) => Ok(i % 3 == 0),
            Ok(_) => Ok(false),
            Err(e) => Err(plasmite_os::message::corrupt(e)),
        }
    }
}

/// What a query yielded, owned.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Msg(u64),
    Gap(u64, u64),
    Damaged(u64, u64),
}

/// Everything available now.
fn drain<P: Deref<Target = Pool>>(s: &mut Stream<P>) -> Vec<Got> {
    let mut out = Vec::new();
    while let Some(item) = s.poll().unwrap() {
        out.push(got(item));
    }
    out
}

fn got(item: Item<'_>) -> Got {
    match item {
        Item::Message(m) => {
            assert_eq!(
                envelope::field(m.payload, "i").unwrap(),
                Some(ValueRef::I64(m.seq as i64)),
                "payload of {}",
                m.seq
            );
            Got::Msg(m.seq)
        }
        Item::Gap {
            first_missing,
            count,
        } => Got::Gap(first_missing, count),
        Item::Damaged(d) => {
            assert_eq!(d.error.kind(), ErrorKind::Corrupt);
            assert_eq!(d.error.seq(), Some(d.seq));
            assert_eq!(d.error.offset(), Some(d.offset));
            assert!(d.error.path().is_some() && d.error.hint().is_some());
            // The reader's own verdict (checksum mismatch, cut short, undecodable), never a
            // stand-in text.
            assert_ne!(d.error.message(), "payload fails its checksum");
            Got::Damaged(d.seq, d.offset)
        }
    }
}

fn msgs(seqs: impl IntoIterator<Item = u64>) -> Vec<Got> {
    seqs.into_iter().map(Got::Msg).collect()
}

/// The filters tried, by name, with the model's verdict on message `i`.
type Filter = (&'static str, fn(&mut Query), fn(u64) -> bool);

fn filters() -> Vec<Filter> {
    vec![
        ("none", |_| {}, |_| true),
        ("tag", |q| q.tags = vec!["even".into()], |i| i % 2 == 0),
        ("since", |q| q.since_ns = Some(7_000_000_000), |i| i >= 7),
        (
            "where",
            |q| q.predicates = vec![Arc::new(ThirdOnes)],
            |i| i % 3 == 0,
        ),
        (
            "all",
            |q| {
                q.tags = vec!["even".into()];
                q.since_ns = Some(7_000_000_000);
                q.predicates = vec![Arc::new(ThirdOnes)];
            },
            |i| i % 2 == 0 && i >= 7 && i % 3 == 0,
        ),
    ]
}

#[test]
fn every_start_position_under_every_filter_yields_the_models_messages_then_live_ones() {
    let dir = common::scratch("query", "matrix");
    let pool = common::create(&dir.join("p.plasmite"), 256 * 1024);
    fill(&pool, 20);
    // What each start yields from messages 1..=n under filter `f`.
    type Model = Box<dyn Fn(&dyn Fn(u64) -> bool, u64) -> Vec<u64>>;
    let starts: Vec<(Start, Model)> = vec![
        (
            Start::Oldest,
            Box::new(|f, n| (1..=n).filter(|&i| f(i)).collect()),
        ),
        (
            Start::Seq(5),
            Box::new(|f, n| (5..=n).filter(|&i| f(i)).collect()),
        ),
        (
            Start::After(5),
            Box::new(|f, n| (6..=n).filter(|&i| f(i)).collect()),
        ),
        // Stamped at or after 12 s.
        (
            Start::Time(12_000_000_000),
            Box::new(|f, n| (12..=n).filter(|&i| f(i)).collect()),
        ),
        // The last 2 *matching*.
        (
            Start::Last(2),
            Box::new(|f, n| {
                let all: Vec<u64> = (1..=n).filter(|&i| f(i)).collect();
                all[all.len().saturating_sub(2)..].to_vec()
            }),
        ),
        (Start::Live, Box::new(|_, _| Vec::new())),
    ];
    let mut next = 21;
    for (start, model) in &starts {
        for (name, set, keep) in filters() {
            let mut q = Query {
                start: *start,
                ..Query::default()
            };
            set(&mut q);
            let mut s = q.run(&pool).unwrap();
            assert_eq!(s.history_end(), Some(next - 1));
            assert_eq!(
                drain(&mut s),
                msgs(model(&keep, next - 1)),
                "{start:?} × {name}"
            );
            // Then live: the next message, which passes the filters or not.
            let tag = if next % 2 == 0 { "even" } else { "odd" };
            let payload = encode(&json!({ "i": next }), &[tag], 1 << 20).unwrap();
            pool.append_at(&payload, next * 1_000_000_000, Durability::Fast)
                .unwrap();
            let live = match s.next(Some(Duration::from_millis(100))).unwrap() {
                Some(item) => vec![got(item)],
                None => Vec::new(),
            };
            let want = if keep(next) { msgs([next]) } else { Vec::new() };
            assert_eq!(live, want, "{start:?} × {name}: live");
            next += 1;
        }
    }
}

/// Where message `seq`'s frame and payload are in the file.
fn frame_at(pool: &Pool, seq: u64) -> (u64, u64) {
    let mut s = Query {
        start: Start::Seq(seq),
        ..Query::default()
    }
    .run(pool)
    .unwrap();
    let Some(Item::Message(m)) = s.poll().unwrap() else {
        panic!("no message {seq}")
    };
    let frame = pool.geometry().ring_offset + m.offset;
    (m.offset, frame + FRAME_HEADER_SIZE)
}

/// Damages message `seq`: with `crc`, one payload byte flipped (its CRC then fails); without,
/// the CRC is dropped and the payload's first bytes garbled (only decoding can tell).
fn damage(path: &Path, pool: &Pool, seq: u64, crc: bool) -> u64 {
    let (offset, payload) = frame_at(pool, seq);
    let frame = payload - FRAME_HEADER_SIZE;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    if crc {
        let mut b = [0u8; 1];
        file.read_at(&mut b, payload + 20).unwrap();
        file.write_all_at(&[b[0] ^ 0x40], payload + 20).unwrap();
    } else {
        let mut flags = [0u8; 4];
        file.read_at(&mut flags, frame + 8).unwrap();
        let flags = u32::from_le_bytes(flags) & !FRAME_FLAG_CRC32;
        file.write_all_at(&flags.to_le_bytes(), frame + 8).unwrap();
        file.write_all_at(&[0u8; 4], frame + 40).unwrap();
        file.write_all_at(&[0xff; 8], payload).unwrap();
    }
    offset
}

#[test]
fn a_damaged_payload_is_reported_where_it_sits_and_the_query_goes_on() {
    let dir = common::scratch("query", "damaged");
    let path = dir.join("p.plasmite");
    let pool = common::create(&path, 256 * 1024);
    fill(&pool, 12);
    let crc_off = damage(&path, &pool, 4, true);
    let decode_off = damage(&path, &pool, 9, false);
    let (d4, d9) = (Got::Damaged(4, crc_off), Got::Damaged(9, decode_off));
    for (name, set, keep) in filters() {
        // Damage is reported whatever the filters (it might have matched), except when the
        // message's time (from its intact frame header) already rules it out.
        let model = |from: u64| -> Vec<Got> {
            (from..=12)
                .filter_map(|i| match i {
                    4 if name != "since" && name != "all" => Some(Got::Damaged(4, crc_off)),
                    9 => Some(Got::Damaged(9, decode_off)),
                    4 => None,
                    i => keep(i).then_some(Got::Msg(i)),
                })
                .collect()
        };
        let mut q = Query {
            start: Start::Oldest,
            ..Query::default()
        };
        set(&mut q);
        assert_eq!(
            drain(&mut q.clone().run(&pool).unwrap()),
            model(1),
            "{name}"
        );
        q.start = Start::After(4);
        assert_eq!(
            drain(&mut q.clone().run(&pool).unwrap()),
            model(5),
            "{name}"
        );
        // Stopping instead: the first damage is the error, with where it is.
        q.start = Start::Oldest;
        q.damage = DamagePolicy::Stop;
        let mut s = q.run(&pool).unwrap();
        let err = loop {
            match s.poll() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("{name}: no error"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{name}");
        let first = if name == "since" || name == "all" {
            9
        } else {
            4
        };
        assert_eq!(err.seq(), Some(first), "{name}");
    }
    // The last N: a damaged payload takes a place among them.
    let mut s = Query {
        start: Start::Last(3),
        ..Query::default()
    }
    .run(&pool)
    .unwrap();
    assert_eq!(drain(&mut s), msgs([10, 11, 12]));
    let mut s = Query {
        start: Start::Last(2),
        tags: vec!["even".into()],
        ..Query::default()
    }
    .run(&pool)
    .unwrap();
    assert_eq!(drain(&mut s), msgs([10, 12]));
    let mut s = Query {
        start: Start::Last(3),
        tags: vec!["even".into()],
        ..Query::default()
    }
    .run(&pool)
    .unwrap();
    assert_eq!(drain(&mut s), vec![d9, Got::Msg(10), Got::Msg(12)]);
    // And the last 9 unfiltered: the damaged ones in their places.
    let mut s = Query {
        start: Start::Last(9),
        ..Query::default()
    }
    .run(&pool)
    .unwrap();
    let mut want = msgs(4..=12);
    want[0] = d4;
    want[5] = Got::Damaged(9, decode_off);
    assert_eq!(drain(&mut s), want);
}

#[test]
fn an_overtaken_query_reports_the_gap_or_stops_with_retention_gap() {
    let dir = common::scratch("query", "gap");
    let pool = common::create(&dir.join("p.plasmite"), 64 * 1024);
    let big = |i: u64| encode(&json!({ "i": i, "pad": "x".repeat(4000) }), &[], 1 << 20).unwrap();
    pool.append(&big(1), Durability::Fast).unwrap();
    let q = Query {
        start: Start::Oldest,
        ..Query::default()
    };
    let mut s = q.clone().run(&pool).unwrap();
    let mut stop = Query {
        gap: GapPolicy::Stop,
        ..q
    }
    .run(&pool)
    .unwrap();
    for i in 2..=40 {
        pool.append(&big(i), Durability::Fast).unwrap();
    }
    let items = drain(&mut s);
    let Some(Got::Gap(1, count)) = items.first() else {
        panic!("{items:?}")
    };
    let oldest = pool.state().unwrap().oldest;
    assert_eq!(1 + count, oldest);
    assert_eq!(items[1..], msgs(oldest..=40));
    assert_eq!(s.examined(), Some(40));
    assert_eq!(
        stop.poll().unwrap_err().kind(),
        ErrorKind::RetentionGap,
        "under GapPolicy::Stop"
    );
}

#[test]
fn history_is_delivered_in_full_whatever_the_deadline_and_a_snapshot_ends_after_it() {
    let dir = common::scratch("query", "history");
    let pool = common::create(&dir.join("p.plasmite"), 1 << 20);
    fill(&pool, 300);
    // A deadline already passed, and a predicate that matches one message in three.
    let q = Query {
        start: Start::Oldest,
        predicates: vec![Arc::new(ThirdOnes)],
        deadline: Some(Instant::now()),
        ..Query::default()
    };
    let mut s = q.clone().run(&pool).unwrap();
    let mut seen = Vec::new();
    while let Some(item) = s.next(Some(Duration::ZERO)).unwrap() {
        seen.push(got(item));
    }
    assert_eq!(seen, msgs((1..=300).filter(|i| i % 3 == 0)));
    assert_eq!(s.ended(), Some(End::Deadline));
    // Not live: what was committed at the start, then the end (later appends are not read).
    let mut s = Query {
        live: false,
        deadline: None,
        ..q
    }
    .run(&pool)
    .unwrap();
    fill(&pool, 3);
    assert_eq!(drain(&mut s).len(), 100);
    assert_eq!(s.ended(), Some(End::CaughtUp));
    assert_eq!(s.examined(), Some(300));
}

#[test]
fn the_limit_counts_messages_and_cancel_stops_a_waiting_query() {
    let dir = common::scratch("query", "limit");
    let pool = Arc::new(common::create(&dir.join("p.plasmite"), 1 << 20));
    fill(&pool, 10);
    // Owned: the stream holds its own share of the pool.
    let mut s = Query {
        start: Start::After(2),
        tags: vec!["even".into()],
        limit: Some(2),
        ..Query::default()
    }
    .run(Arc::clone(&pool))
    .unwrap();
    assert_eq!(drain(&mut s), msgs([4, 6]));
    assert_eq!(s.ended(), Some(End::Limit));
    assert_eq!(s.examined(), Some(6));
    let cancel = Cancel::new();
    let mut s = Query {
        cancel: Some(cancel.clone()),
        ..Query::default()
    }
    .run(Arc::clone(&pool))
    .unwrap();
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let none = s.next(None).unwrap().is_none();
        (none, s.ended(), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    cancel.cancel();
    let (none, ended, took) = waiter.join().unwrap();
    assert!(none);
    assert_eq!(ended, Some(End::Cancelled));
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_live_wait_ends_on_time_while_only_non_matching_messages_arrive() {
    let dir = common::scratch("query", "nonmatching");
    let pool = Arc::new(common::create(&dir.join("p.plasmite"), 1 << 20));
    let mut s = Query {
        predicates: vec![Arc::new(ThirdOnes)],
        ..Query::default()
    }
    .run(Arc::clone(&pool))
    .unwrap();
    let stop = Cancel::new();
    let writer = {
        let (pool, stop) = (Arc::clone(&pool), stop.clone());
        std::thread::spawn(move || {
            // `i` = 1 never matches `i % 3 == 0`.
            let payload = encode(&json!({ "i": 1 }), &[], 1 << 20).unwrap();
            while !stop.is_cancelled() {
                pool.append(&payload, Durability::Fast).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let started = Instant::now();
    let got = s.next(Some(Duration::from_millis(200))).unwrap().map(got);
    let took = started.elapsed();
    stop.cancel();
    writer.join().unwrap();
    assert_eq!(got, None);
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(s.examined().is_some(), "non-matching messages were read");
}

#[test]
fn an_owned_stream_can_move_to_another_thread() {
    fn send<T: Send + 'static>() {}
    send::<Stream<Arc<Pool>>>();
    send::<plasmite_os::Follower<Arc<Pool>>>();
}
