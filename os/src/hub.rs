//! The per-pool wake hub: one thread parks on a pool's wake word and wakes every follower
//! waiting on that pool — blocked threads (condition variable, with a deadline) and async tasks
//! (registered [`Waker`]s, through the [`Arrival`] future).
//!
//! Role: lets a server or a language binding hold any number of waiting followers on one pool
//! for the price of one parked thread. A [`Follower`](crate::Follower) or a
//! [`Query`](crate::Query) given a hub waits through it instead of parking itself; an event
//! loop awaits [`Hub::arrival`] and then polls its stream, never parking its own threads.
//!
//! # Invariants
//! - At most one hub thread per hub, and it exists only while someone waits: it ends (within
//!   [`MAX_PARK`]) once no thread and no waker is waiting.
//! - Waiting stays bounded: the hub thread re-reads the pool's newest sequence at least every
//!   [`MAX_PARK`] (writers that do not wake, like the reference's, are seen within it), and a
//!   blocked waiter re-checks the pool itself at the same pace, so a hub thread that could not
//!   be started delays nobody by more than that.
//! - A [`Bell`] is rung (its eventfd made readable) by whoever wakes its waker, never blocks
//!   and never fails where it rings: a loop that watches the fd wakes, quiets the bell, polls.
//! - The hub parks the way a follower does (`FORMAT.md` §2.3): read `wake`, announce a parked
//!   follower, re-read `newest_seq`, sleep while `wake` is unchanged — a writer either sees the
//!   announcement or changed `wake` first.
//!
//! Spec: `spec/API.md` §5.3.

use crate::follow::{MAX_PARK, NEWEST_OFFSET};
use crate::pool::Pool;
use plasmite_core::layout::{WAITERS_OFFSET, WAKE_OFFSET};
use rustix::event::{EventfdFlags, eventfd};
use rustix::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// Hub threads running in this process.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Hub threads running in this process now (each ends once its pool has no waiter).
pub fn running_threads() -> usize {
    THREADS.load(Ordering::SeqCst)
}

/// The hubs in use, by the address of the pool they serve. An entry whose hub is gone is
/// replaced; a live one keeps its pool alive, so the address cannot be reused meanwhile.
fn registry() -> &'static Mutex<HashMap<usize, Weak<Shared>>> {
    static HUBS: OnceLock<Mutex<HashMap<usize, Weak<Shared>>>> = OnceLock::new();
    HUBS.get_or_init(Mutex::default)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The wake hub of one pool (cheap to clone; clones share the hub).
#[derive(Clone)]
pub struct Hub(Arc<Shared>);

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.0.state);
        f.debug_struct("Hub")
            .field("pool", &self.0.pool.path())
            .field("newest", &st.newest)
            .field("waiters", &st.waiters)
            .field("wakers", &st.wakers.len())
            .field("running", &st.running)
            .finish()
    }
}

struct Shared {
    pool: Arc<Pool>,
    state: Mutex<State>,
    cond: Condvar,
}

struct State {
    /// The newest sequence the hub thread saw (only grows).
    newest: u64,
    /// Threads blocked in [`Hub::wait_past`].
    waiters: usize,
    /// Async waiters: id → (wait until newest > this, deadline, waker).
    wakers: HashMap<u64, (u64, Option<Instant>, Waker)>,
    next_id: u64,
    /// The hub thread exists.
    running: bool,
}

impl Hub {
    /// The hub of `pool` (one per pool handle: every caller with the same `Arc` shares it).
    pub fn of(pool: &Arc<Pool>) -> Hub {
        let key = Arc::as_ptr(pool) as usize;
        let mut hubs = lock(registry());
        if let Some(shared) = hubs.get(&key).and_then(Weak::upgrade) {
            return Hub(shared);
        }
        hubs.retain(|_, w| w.strong_count() > 0);
        let shared = Arc::new(Shared {
            pool: Arc::clone(pool),
            state: Mutex::new(State {
                newest: newest(pool),
                waiters: 0,
                wakers: HashMap::new(),
                next_id: 0,
                running: false,
            }),
            cond: Condvar::new(),
        });
        hubs.insert(key, Arc::downgrade(&shared));
        Hub(shared)
    }

    /// The pool served.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.0.pool
    }

    /// Threads blocked and wakers registered on this hub now.
    pub fn waiting(&self) -> usize {
        let st = lock(&self.0.state);
        st.waiters + st.wakers.len()
    }

    /// Blocks until the pool's newest sequence is past `after` (`true`) or `deadline` passes
    /// (`false`; `None`: no deadline).
    pub fn wait_past(&self, after: u64, deadline: Option<Instant>) -> bool {
        let sh = &self.0;
        if newest(&sh.pool) > after {
            return true;
        }
        let mut st = lock(&sh.state);
        st.waiters += 1;
        sh.ensure_thread(&mut st);
        let past = loop {
            if st.newest > after || newest(&sh.pool) > after {
                break true;
            }
            let now = Instant::now();
            let nap = match deadline {
                Some(d) if now >= d => break false,
                Some(d) => d.saturating_duration_since(now).min(MAX_PARK),
                None => MAX_PARK,
            };
            st = sh
                .cond
                .wait_timeout(st, nap)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        st.waiters -= 1;
        past
    }

    /// A future that resolves to `true` once the pool's newest sequence is past `after`, or to
    /// `false` once `deadline` passes (noticed within [`MAX_PARK`]). Needs no runtime: the hub
    /// thread wakes it.
    pub fn arrival(&self, after: u64, deadline: Option<Instant>) -> Arrival {
        Arrival {
            hub: self.clone(),
            after,
            deadline,
            id: None,
        }
    }
}

impl Shared {
    /// Starts the hub thread unless it runs. Without a thread (none could be started),
    /// waiters still re-check the pool every [`MAX_PARK`].
    fn ensure_thread(self: &Arc<Shared>, st: &mut State) {
        if st.running {
            return;
        }
        let weak = Arc::downgrade(self);
        let started = std::thread::Builder::new()
            .name("plasmite-hub".into())
            .spawn(move || run(&weak));
        st.running = started.is_ok();
    }
}

/// Counts a hub thread while it lives.
struct Counted;

impl Counted {
    fn new() -> Counted {
        THREADS.fetch_add(1, Ordering::SeqCst);
        Counted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        THREADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The hub thread: park on the wake word, publish the newest sequence, wake who waits, end
/// when nobody does.
fn run(weak: &Weak<Shared>) {
    let _counted = Counted::new();
    loop {
        let Some(sh) = weak.upgrade() else { return };
        let map = sh.pool.shared_map();
        let seen = map.load_u32(WAKE_OFFSET, Ordering::SeqCst).unwrap_or(0);
        if map.writable() {
            let _ = map.swap_u32(WAITERS_OFFSET, 1, Ordering::SeqCst);
        }
        let now_newest = newest(&sh.pool);
        {
            let mut st = lock(&sh.state);
            if now_newest > st.newest {
                st.newest = now_newest;
                sh.cond.notify_all();
            }
            let now = Instant::now();
            let newest = st.newest;
            st.wakers.retain(|_, (after, deadline, waker)| {
                let due = newest > *after || deadline.is_some_and(|d| now >= d);
                if due {
                    waker.wake_by_ref();
                }
                !due
            });
            if st.waiters == 0 && st.wakers.is_empty() {
                st.running = false;
                return;
            }
        }
        // Nothing newer than what was just published: sleep until `wake` moves (a writer
        // published since `seen` was read) or the park bound passes.
        if newest(&sh.pool) == now_newest {
            map.futex_wait(WAKE_OFFSET, seen, MAX_PARK);
        }
    }
}

/// The pool's newest sequence, read straight from the shared header.
fn newest(pool: &Pool) -> u64 {
    pool.shared_map()
        .load_u64(NEWEST_OFFSET, Ordering::SeqCst)
        .unwrap_or(0)
}

/// Resolves once the pool's newest sequence is past a given one (`true`) or at a deadline
/// (`false`); see [`Hub::arrival`].
#[must_use = "a future does nothing unless awaited"]
pub struct Arrival {
    hub: Hub,
    after: u64,
    deadline: Option<Instant>,
    id: Option<u64>,
}

impl fmt::Debug for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arrival")
            .field("after", &self.after)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Arrival {
    fn deregister(&mut self) {
        if let Some(id) = self.id.take() {
            lock(&self.hub.0.state).wakers.remove(&id);
        }
    }
}

impl Future for Arrival {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let sh = Arc::clone(&self.hub.0);
        if newest(&sh.pool) > self.after {
            self.deregister();
            return Poll::Ready(true);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.deregister();
            return Poll::Ready(false);
        }
        let mut st = lock(&sh.state);
        let id = match self.id {
            Some(id) => id,
            None => {
                st.next_id += 1;
                st.next_id
            }
        };
        st.wakers
            .insert(id, (self.after, self.deadline, cx.waker().clone()));
        sh.ensure_thread(&mut st);
        drop(st);
        self.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        self.deregister();
    }
}

/// An eventfd for an event loop that cannot run a Rust future: the [`Waker`] it makes rings it,
/// so a loop that watches [`Bell::fd`] (asyncio's `add_reader`, epoll) learns that an
/// [`Arrival`] polled with that waker is ready, then quiets the bell and polls its stream.
pub struct Bell {
    fd: OwnedFd,
}

impl fmt::Debug for Bell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bell").field("fd", &self.fd()).finish()
    }
}

impl Bell {
    /// A quiet bell (non-blocking, closed on exec).
    pub fn new() -> Result<Arc<Bell>, crate::Error> {
        let fd = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC).map_err(|e| {
            crate::Error::new(crate::ErrorKind::Io, "failed to create an eventfd")
                .with_source(std::io::Error::from(e))
                .with_hint("The process may be out of file descriptors.")
        })?;
        Ok(Arc::new(Bell { fd }))
    }

    /// The descriptor to watch: readable while the bell has rung and was not quieted.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the descriptor readable (rings already pending merge into one).
    pub fn ring(&self) {
        // Only a counter at its maximum refuses (EAGAIN), and it is readable then anyway.
        let _ = rustix::io::write(self.fd.as_fd(), &1u64.to_ne_bytes());
    }

    /// Makes the descriptor unreadable until the next ring.
    pub fn quiet(&self) {
        let mut count = [0u8; 8];
        // EAGAIN: it was quiet already.
        let _ = rustix::io::read(self.fd.as_fd(), &mut count);
    }

    /// Waits up to `timeout` for the bell to have rung (without quieting it): what a loop
    /// watching the descriptor would see.
    pub fn rung_within(&self, timeout: std::time::Duration) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let timeout = Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        poll(&mut fds, Some(&timeout)).is_ok_and(|n| n > 0)
    }

    /// A waker that rings this bell.
    pub fn waker(self: &Arc<Bell>) -> Waker {
        Waker::from(Arc::clone(self))
    }
}

impl Wake for Bell {
    fn wake(self: Arc<Self>) {
        self.ring();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ring();
    }
}
