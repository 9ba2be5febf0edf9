//! Byte-level crash simulation: an append is cut off after and inside each of its stores; the
//! pool left behind must validate, show the old state, the old state minus what the append
//! evicts, or the new state — never a torn message — and accept the next append.

mod support;

use plasmite_core::{Header, PoolView};
use support::model::{MemPool, OwnedStore, Rng};

type Messages = Vec<(u64, u64, Vec<u8>)>;

/// Where a writer can be cut off inside a store. Word stores are single aligned 8-byte stores
/// (atomic on the mapping), so only "not yet" and "done" exist for them; byte copies can stop
/// at any 8-byte boundary and, to be thorough, one byte in and one byte short.
fn cuts_inside(store: &OwnedStore) -> Vec<usize> {
    if store.word {
        return Vec::new();
    }
    let n = store.bytes.len();
    let mut cuts: Vec<usize> = (8..n).step_by(8).collect();
    cuts.extend(
        [1, n.saturating_sub(1)]
            .into_iter()
            .filter(|&c| c > 0 && c < n),
    );
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// What a reader may see while (or after) an append runs.
struct Allowed {
    old: Messages,
    evicted: Messages,
    new: Messages,
}

impl Allowed {
    fn of(pool: &MemPool, plan: &plasmite_core::Plan, ts: u64, payload: &[u8]) -> Allowed {
        let old = pool.read_all().unwrap();
        let keep_from = match plan.evicted {
            Some(s) if s.is_empty() => u64::MAX,
            Some(s) => s.oldest,
            None => 0,
        };
        let evicted: Messages = old.iter().filter(|m| m.0 >= keep_from).cloned().collect();
        let mut new = evicted.clone();
        new.push((plan.seq, ts, payload.to_vec()));
        Allowed { old, evicted, new }
    }

    fn check(&self, seen: &Messages, what: &str) {
        assert!(
            *seen == self.old || *seen == self.evicted || *seen == self.new,
            "{what}: reader saw seqs {:?}; allowed {:?} / {:?} / {:?}",
            seqs(seen),
            seqs(&self.old),
            seqs(&self.evicted),
            seqs(&self.new)
        );
    }
}

fn seqs(m: &Messages) -> Vec<u64> {
    m.iter().map(|m| m.0).collect()
}

/// Every pool state a crash during `append(ts, payload)` on `pool` can leave.
fn crash_states(pool: &MemPool, ts: u64, payload: &[u8]) -> (Allowed, Vec<(String, MemPool)>) {
    let (plan, stores) = pool.plan_stores(ts, payload).unwrap();
    let allowed = Allowed::of(pool, &plan, ts, payload);
    let mut out = Vec::new();
    let mut done = pool.clone();
    for (k, store) in stores.iter().enumerate() {
        out.push((format!("before store {k}"), done.clone()));
        for cut in cuts_inside(store) {
            let mut p = done.clone();
            p.apply_prefix(store, cut);
            out.push((format!("inside store {k} after {cut} bytes"), p));
        }
        done.apply(store);
    }
    out.push(("after the last store".to_owned(), done));
    (allowed, out)
}

/// The checks on one crashed pool: it opens, validates, shows an allowed state, and the next
/// append works and takes the next sequence.
fn check_crashed(mut p: MemPool, allowed: &Allowed, what: &str) {
    let snap = p.snapshot();
    let report = plasmite_core::validate(&snap);
    assert!(report.is_ok(), "{what}: {:?}", report.issue);
    let seen = p.read_all().unwrap_or_else(|e| panic!("{what}: {e}"));
    allowed.check(&seen, what);
    let newest = snap.published().unwrap().state.newest;
    let plan = p
        .append(9, b"after the crash")
        .unwrap_or_else(|e| panic!("{what}: next append: {e}"));
    assert_eq!(plan.seq, newest + 1, "{what}: next seq");
    let report = plasmite_core::validate(&p.snapshot());
    assert!(
        report.is_ok(),
        "{what}: after the next append: {:?}",
        report.issue
    );
    let header = Header::parse(&p.bytes, p.bytes.len() as u64).unwrap();
    assert!(
        !header.update_interrupted(),
        "{what}: the next append finished the interrupted update"
    );
    let after = p.read_all().unwrap();
    assert_eq!(after.last().map(|m| m.0), Some(plan.seq));
    let seen_tail: Vec<_> = seen.iter().filter(|m| m.0 >= after[0].0).cloned().collect();
    assert!(
        after.starts_with(&seen_tail),
        "{what}: messages survive the recovery append"
    );
}

fn simulate(mut pool: MemPool, seed: u64, appends: usize, max_len: u64) -> usize {
    let mut rng = Rng::new(seed);
    let mut states = 0;
    for i in 0..appends {
        let len = rng.range(0, max_len) as usize;
        let payload = rng.bytes(len);
        let ts = 1_000 + i as u64;
        let (allowed, crashed) = crash_states(&pool, ts, &payload);
        for (n, (what, p)) in crashed.into_iter().enumerate() {
            let what = format!("seed {seed} append {i}: {what}");
            // Crash again while recovering, for some states: the recovery is itself an append.
            if n % 11 == 3 {
                let (allowed2, again) = crash_states(&p, 5, b"recovery");
                for (what2, p2) in again {
                    let what2 = format!("{what}, then {what2} of the recovery append");
                    let report = plasmite_core::validate(&p2.snapshot());
                    assert!(report.is_ok(), "{what2}: {:?}", report.issue);
                    allowed2.check(&p2.read_all().unwrap(), &what2);
                }
            }
            check_crashed(p, &allowed, &what);
            states += 1;
        }
        let _ = pool.append(ts, &payload).unwrap();
    }
    states
}

#[test]
fn append_cut_anywhere_leaves_old_or_new_state_and_never_a_torn_message() {
    let mut states = 0;
    for seed in 1..=6 {
        let index = [Some(0), Some(4), None][seed as usize % 3];
        let pool = MemPool::create(4096 + 1400 + 100 * seed, index).unwrap();
        states += simulate(pool, seed, 60, 300);
    }
    assert!(states > 10_000, "{states} crash states checked");
}

#[test]
fn append_cut_anywhere_on_reference_pools_leaves_old_or_new_state() {
    for (i, name) in [
        "full",
        "wrapmark",
        "implicit",
        "crash-writing",
        "crash-committed",
        "empty",
        "noindex",
    ]
    .into_iter()
    .enumerate()
    {
        let (bytes, _) = support::reference_pool(name);
        let pool = MemPool::from_bytes(bytes);
        let max = pool.snapshot().geometry().max_payload().min(600);
        simulate(pool, 40 + i as u64, 8, max);
    }
}

/// Performs an append's stores up to and including the one that makes the generation odd in
/// its final publication, then stops (the writer dies there).
fn crash_after_opening_final_publish(pool: &mut MemPool, ts: u64, payload: &[u8]) {
    let (_, stores) = pool.plan_stores(ts, payload).unwrap();
    let odd_at = stores
        .iter()
        .rposition(|s| {
            s.word
                && s.at == plasmite_core::layout::STATE_GEN_OFFSET
                && u64::from_le_bytes(s.bytes[..8].try_into().unwrap()) % 2 == 1
        })
        .unwrap();
    for s in &stores[..=odd_at] {
        pool.apply(s);
    }
}

#[test]
fn interrupted_update_is_read_through_the_journal() {
    let mut pool = MemPool::create(8192, Some(4)).unwrap();
    let _ = pool.append(1, b"one").unwrap();
    // The v3 fields still say newest = 1, the journal says 2.
    crash_after_opening_final_publish(&mut pool, 2, b"two");
    let header = Header::parse(&pool.bytes, pool.bytes.len() as u64).unwrap();
    assert!(header.update_interrupted());
    assert_eq!(header.fields.newest, 1);
    assert_eq!(
        header.published().state.newest,
        2,
        "readers use the journal"
    );
    assert_eq!(seqs(&pool.read_all().unwrap()), [1, 2]);
}

#[test]
fn v3_writer_after_an_interrupted_update_wins_over_the_stale_journal() {
    let mut pool = MemPool::create(8192, Some(4)).unwrap();
    let _ = pool.append(1, b"one").unwrap();
    // Leave the generation odd with a journal that is one append old …
    let gen_at = plasmite_core::layout::STATE_GEN_OFFSET as usize;
    let journal = plasmite_core::layout::JOURNAL_OFFSET as usize
        ..plasmite_core::layout::WAITERS_OFFSET as usize;
    // … then let a writer that ignores the journal append twice (simulated: append, then put
    // back the old journal and an odd generation).
    let stale_journal = pool.bytes[journal.clone()].to_vec();
    let _ = pool.append(2, b"two").unwrap();
    let _ = pool.append(3, b"three").unwrap();
    pool.bytes[gen_at..gen_at + 8].copy_from_slice(&7u64.to_le_bytes());
    pool.bytes[journal].copy_from_slice(&stale_journal);
    let header = Header::parse(&pool.bytes, pool.bytes.len() as u64).unwrap();
    assert!(header.update_interrupted());
    assert_eq!(
        header.published().state.newest,
        3,
        "the newer v3 fields win"
    );
    assert_eq!(seqs(&pool.read_all().unwrap()), [1, 2, 3]);
    let plan = pool.append(4, b"four").unwrap();
    assert_eq!(plan.seq, 4);
    assert!(plasmite_core::validate(&pool.snapshot()).is_ok());
}

/// Our writer dies right after opening its final publish (generation odd, journal = its new
/// state, fields untouched); then a writer that ignores the journal appends the same seq, with a
/// frame of another size or the same size. Its fields must win, or agree with the journal.
#[test]
fn v3_writer_appending_the_same_seq_after_our_crash_is_what_readers_see() {
    let ext = plasmite_core::layout::STATE_GEN_OFFSET as usize
        ..plasmite_core::layout::HEADER_USED_END as usize;
    for other_len in [3usize, 40, 100, 200] {
        let mut pool = MemPool::create(8192, Some(4)).unwrap();
        for i in 0..5 {
            let _ = pool.append(i, &[1u8; 100]).unwrap();
        }
        crash_after_opening_final_publish(&mut pool, 9, &[2u8; 100]);
        // The foreign writer sees only the v3 fields and writes only outside our extension.
        let mut foreign = pool.clone();
        foreign.bytes[ext.clone()].fill(0);
        let foreign_payload = vec![3u8; other_len];
        let plan = foreign.append(10, &foreign_payload).unwrap();
        assert_eq!(plan.seq, 6);
        let mut bytes = foreign.bytes.clone();
        bytes[ext.clone()].copy_from_slice(&pool.bytes[ext.clone()]);
        let mut p = MemPool::from_bytes(bytes);
        let report = plasmite_core::validate(&p.snapshot());
        assert!(report.is_ok(), "len {other_len}: {:?}", report.issue);
        let seen = p.read_all().unwrap();
        assert_eq!(seqs(&seen), [1, 2, 3, 4, 5, 6], "len {other_len}");
        assert_eq!(
            seen[5].2, foreign_payload,
            "len {other_len}: the foreign message is seq 6"
        );
        let plan = p.append(11, b"ours again").unwrap();
        assert_eq!(plan.seq, 7);
        assert!(
            plasmite_core::validate(&p.snapshot()).is_ok(),
            "len {other_len}"
        );
    }
}
