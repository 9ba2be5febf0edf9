//! The wake hub: many waiting followers of one pool cost one parked thread, every one of them
//! wakes on one append, async waiters need no runtime, and the thread ends when nobody waits.

mod common;

use plasmite_os::message::encode;
use plasmite_os::query::Item;
use plasmite_os::{Durability, Hub, Pool, Query, Start, hub};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// The hub thread count is process-wide: the tests of this file take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn payload(i: u64) -> Vec<u8> {
    encode(&json!({ "i": i }), &[], 1 << 20).unwrap()
}

/// Waits up to 5 s for `cond`.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Threads of this process named like the hub's (read from `/proc/self/task`).
fn hub_tasks() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "plasmite-hub")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn two_hundred_waiting_followers_share_one_thread_and_one_append_wakes_them_all() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::scratch("hub", "many");
    let pool: Arc<Pool> = Arc::new(common::create(&dir.join("p.plasmite"), 1 << 20));
    pool.append(&payload(1), Durability::Fast).unwrap();
    let hub = Hub::of(&pool);
    const N: usize = 200;
    let ready = Arc::new(Barrier::new(N + 1));
    let followers: Vec<_> = (0..N)
        .map(|_| {
            // Each follower owns its stream (and a share of the pool).
            let mut s = Query {
                start: Start::Live,
                hub: Some(hub.clone()),
                ..Query::default()
            }
            .run(Arc::clone(&pool))
            .unwrap();
            let ready = Arc::clone(&ready);
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    ready.wait();
                    match s.next(Some(Duration::from_secs(20))).unwrap() {
                        Some(Item::Message(m)) => m.seq,
                        other => panic!("{other:?}"),
                    }
                })
                .unwrap()
        })
        .collect();
    ready.wait();
    eventually("every follower waits on the hub", || hub.waiting() == N);
    assert_eq!(
        hub::running_threads(),
        1,
        "one hub thread for {N} followers"
    );
    assert_eq!(hub_tasks(), 1, "one hub thread in /proc/self/task");
    let seq = pool.append(&payload(2), Durability::Fast).unwrap().seq;
    for f in followers {
        assert_eq!(f.join().unwrap(), seq);
    }
    eventually("the hub thread ends once nobody waits", || {
        hub::running_threads() == 0 && hub_tasks() == 0
    });
    // A later waiter starts it again.
    assert!(hub.wait_past(seq - 1, Some(Instant::now())));
    assert!(!hub.wait_past(seq, Instant::now().checked_add(Duration::from_millis(60))));
    eventually("and it ends again", || hub::running_threads() == 0);
}

/// Wakes by unparking the thread that polls.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `f` on this thread until it is ready, parking between polls.
fn block_on<F: Future + Unpin>(mut f: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = Pin::new(&mut f).poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn an_arrival_future_resolves_on_an_append_or_at_its_deadline_without_a_runtime() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (pool, hub, mut s) = hub_stream("async");
    let writer = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            pool.append(&payload(1), Durability::Fast).unwrap().seq
        })
    };
    let arrival = s.arrival(None).unwrap();
    assert!(block_on(arrival));
    let seq = writer.join().unwrap();
    match s.poll().unwrap() {
        Some(Item::Message(m)) => assert_eq!(m.seq, seq),
        other => panic!("{other:?}"),
    }
    let deadline = Instant::now() + Duration::from_millis(80);
    assert!(!block_on(s.arrival(Some(deadline)).unwrap()));
    assert!(Instant::now() >= deadline);
    // A dropped future unregisters; the thread then ends.
    drop(s.arrival(None));
    eventually("the hub thread ends", || {
        hub::running_threads() == 0 && hub.waiting() == 0
    });
}

#[test]
fn a_bell_rings_when_an_arrival_polled_with_its_waker_is_ready_and_stays_quiet_before() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (pool, hub, mut s) = hub_stream("bell");
    let bell = hub::Bell::new().unwrap();
    assert!(!bell.rung_within(Duration::ZERO), "a new bell is quiet");
    let waker = bell.waker();
    let mut arrival = s.arrival(None).unwrap();
    let pending = Pin::new(&mut arrival).poll(&mut Context::from_waker(&waker));
    assert_eq!(pending, Poll::Pending);
    assert!(
        !bell.rung_within(Duration::from_millis(120)),
        "nothing appended yet"
    );
    let seq = pool.append(&payload(1), Durability::Fast).unwrap().seq;
    assert!(
        bell.rung_within(Duration::from_secs(5)),
        "the append rings it"
    );
    bell.quiet();
    assert!(!bell.rung_within(Duration::ZERO), "quieted");
    match s.poll().unwrap() {
        Some(Item::Message(m)) => assert_eq!(m.seq, seq),
        other => panic!("{other:?}"),
    }
    // At a deadline it rings too; rings merge until quieted.
    let deadline = Instant::now() + Duration::from_millis(60);
    let mut timed = s.arrival(Some(deadline)).unwrap();
    assert_eq!(
        Pin::new(&mut timed).poll(&mut Context::from_waker(&waker)),
        Poll::Pending
    );
    assert!(bell.rung_within(Duration::from_secs(5)));
    assert!(Instant::now() >= deadline);
    bell.ring();
    bell.quiet();
    assert!(!bell.rung_within(Duration::ZERO));
    drop((arrival, timed));
    eventually("the hub thread ends", || hub.waiting() == 0);
}

/// A new pool, its hub, and a query from its oldest message that waits through the hub.
fn hub_stream(name: &str) -> (Arc<Pool>, Hub, plasmite_os::query::Stream<Arc<Pool>>) {
    let dir = common::scratch("hub", name);
    let pool: Arc<Pool> = Arc::new(common::create(&dir.join("p.plasmite"), 1 << 20));
    let hub = Hub::of(&pool);
    let s = Query {
        start: Start::Oldest,
        hub: Some(hub.clone()),
        ..Query::default()
    }
    .run(Arc::clone(&pool))
    .unwrap();
    (pool, hub, s)
}
