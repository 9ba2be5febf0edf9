//! The sandbox end to end: this test program is both the parent and, started again with
//! [`ROLE`] set, the evaluator — whose "expressions" are names of test predicates, so the
//! tests need no jq.

use plasmite_os::message::encode;
use plasmite_os::query::End;
use plasmite_os::sandbox::{Found, Outcome, QuerySpec, Sandbox, SandboxError, serve};
use plasmite_os::{
    Cancel, CreateOptions, Durability, Error, ErrorKind, GapPolicy, Item, Launcher, MessageView,
    Pool, Predicate, Start,
};
use serde_json::json;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Set in the environment of this program run as an evaluator.
const ROLE: &str = "PLASMITE_SANDBOX_TEST_EVALUATOR";

/// A predicate by name: `even` (even sequences), `loop` (never returns), `recurse` (overflows
/// the stack), `alloc` (asks for 4 GiB), `sleep:<ms>` (true after sleeping).
struct Named(String);

impl Predicate for Named {
    fn matches(&self, msg: &MessageView<'_>) -> Result<bool, Error> {
        Ok(match self.0.as_str() {
            "even" => msg.seq.is_multiple_of(2),
            "loop" => loop {
                std::hint::black_box(msg.seq);
            },
            "recurse" => recurse(msg.seq) > 0,
            "alloc" => {
                let mut v = Vec::<u8>::with_capacity(4 << 30);
                v.resize(4 << 30, 1);
                std::hint::black_box(&v).len() > 1
            }
            s => {
                let ms = s.strip_prefix("sleep:").and_then(|m| m.parse().ok());
                std::thread::sleep(Duration::from_millis(ms.unwrap_or(0)));
                true
            }
        })
    }
}

// Deliberate: the predicate that overflows the evaluator's stack.
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 64]);
    recurse(frame[7].wrapping_add(1)).wrapping_add(frame[3])
}

fn compile(exprs: &[String]) -> Result<Arc<dyn Predicate>, Error> {
    match exprs {
        [one] if one != "bad" => Ok(Arc::new(Named(one.clone()))),
        _ => Err(Error::new(ErrorKind::Usage, "invalid filter expression")
            .with_hint("test expressions are single names")),
    }
}

fn main() {
    if std::env::var_os(ROLE).is_some() {
        let r = serve(std::io::stdin().lock(), std::io::stdout().lock(), compile);
        std::process::exit(i32::from(r.is_err()));
    }
    let tests: &[(&str, fn())] = &[
        (
            "results_equal_an_in_process_query",
            results_equal_an_in_process_query,
        ),
        (
            "a_compile_error_is_a_where_failure_and_the_evaluator_is_kept",
            a_compile_error_is_a_where_failure_and_the_evaluator_is_kept,
        ),
        (
            "runaway_expressions_fail_alone_and_the_next_call_works",
            runaway_expressions_fail_alone_and_the_next_call_works,
        ),
        (
            "a_cancelled_call_gets_no_outcome_and_its_evaluator_is_killed",
            a_cancelled_call_gets_no_outcome_and_its_evaluator_is_killed,
        ),
        (
            "calls_beyond_the_limit_wait_for_an_evaluator",
            calls_beyond_the_limit_wait_for_an_evaluator,
        ),
        (
            "an_evaluator_killed_while_idle_is_replaced",
            an_evaluator_killed_while_idle_is_replaced,
        ),
        (
            "dropping_the_sandbox_reaps_its_evaluators",
            dropping_the_sandbox_reaps_its_evaluators,
        ),
        (
            "a_first_batch_wait_returns_what_arrives_and_times_out_empty",
            a_first_batch_wait_returns_what_arrives_and_times_out_empty,
        ),
        (
            "a_live_stream_hands_over_items_as_they_arrive_until_its_reader_stops",
            a_live_stream_hands_over_items_as_they_arrive_until_its_reader_stops,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-') && a != "sandbox")
        .collect();
    let mut failed = 0;
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

fn sandbox() -> Sandbox {
    let exe = std::env::current_exe().expect("this test program");
    Sandbox::new(Launcher::new(exe).env(ROLE, "1"))
}

fn pool(name: &str, messages: u64) -> (PathBuf, Pool) {
    let dir = std::env::temp_dir().join(format!("plasmite-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.plasmite"));
    let _ = std::fs::remove_file(&path);
    let opts = CreateOptions {
        size: 64 << 10,
        index_capacity: None,
    };
    let pool = Pool::create(&path, opts).expect("create");
    for i in 0..messages {
        append(&pool, i);
    }
    (path, pool)
}

fn append(pool: &Pool, i: u64) {
    let tags: &[&str] = if i.is_multiple_of(3) { &["a"] } else { &[] };
    let payload = encode(&json!({ "i": i }), tags, pool.max_payload_len()).expect("encode");
    pool.append(&payload, Durability::Fast).expect("append");
}

/// A found item as comparable text.
fn found(outcome: &Outcome) -> Vec<String> {
    outcome
        .items
        .iter()
        .map(|f| match f {
            Found::Message(m) => format!("m{} {:?}", m.seq, m.payload),
            Found::Gap {
                first_missing,
                count,
            } => format!("gap{first_missing}+{count}"),
            Found::Damaged(d) => format!("damaged{}", d.seq),
        })
        .collect()
}

fn children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: split after the last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(me) {
            out.push(pid);
        }
    }
    out
}

fn results_equal_an_in_process_query() {
    let (_path, p) = pool("equal", 40);
    let sb = sandbox();
    let specs = [
        QuerySpec {
            start: Start::Oldest,
            wheres: vec!["even".into()],
            live: false,
            ..QuerySpec::default()
        },
        QuerySpec {
            start: Start::Last(4),
            tags: vec!["a".into()],
            wheres: vec!["even".into()],
            live: false,
            ..QuerySpec::default()
        },
        QuerySpec {
            start: Start::After(10),
            wheres: vec!["even".into()],
            limit: Some(3),
            live: false,
            ..QuerySpec::default()
        },
        QuerySpec {
            start: Start::Seq(0),
            gap: GapPolicy::Continue,
            live: false,
            ..QuerySpec::default()
        },
    ];
    for spec in &specs {
        let predicates = spec
            .wheres
            .iter()
            .map(|w| Arc::new(Named(w.clone())) as Arc<dyn Predicate>)
            .collect();
        let mut s = spec.query(predicates).run(&p).expect("query");
        let mut expected = Vec::new();
        while let Some(item) = s.poll().expect("poll") {
            expected.push(match item {
                Item::Message(m) => format!("m{} {:?}", m.seq, m.payload),
                Item::Gap {
                    first_missing,
                    count,
                } => format!("gap{first_missing}+{count}"),
                Item::Damaged(d) => format!("damaged{}", d.seq),
            });
        }
        let got = sb.run(&p, spec, &Cancel::new()).expect("sandboxed");
        assert_eq!(found(&got), expected, "{spec:?}");
        assert!(!expected.is_empty(), "{spec:?}");
        assert_eq!(got.end, s.ended(), "{spec:?}");
        assert_eq!(got.examined, s.examined(), "{spec:?}");
    }
    // One evaluator served every call.
    assert_eq!(sb.evaluators(), (1, 0));
}

fn a_compile_error_is_a_where_failure_and_the_evaluator_is_kept() {
    let (_path, p) = pool("compile", 3);
    let sb = sandbox();
    let spec = QuerySpec {
        start: Start::Oldest,
        wheres: vec!["bad".into()],
        live: false,
        ..QuerySpec::default()
    };
    match sb.run(&p, &spec, &Cancel::new()) {
        Err(SandboxError::Where(e)) => {
            assert_eq!(e.kind(), ErrorKind::Usage);
            assert_eq!(e.hint(), Some("test expressions are single names"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.evaluators(), (1, 0));
}

fn where_failure(sb: &Sandbox, p: &Pool, expr: &str) -> Error {
    let spec = QuerySpec {
        start: Start::Oldest,
        wheres: vec![expr.into()],
        live: false,
        ..QuerySpec::default()
    };
    match sb.run(p, &spec, &Cancel::new()) {
        Err(SandboxError::Where(e)) => e,
        other => panic!("{expr}: {other:?}"),
    }
}

fn runaway_expressions_fail_alone_and_the_next_call_works() {
    let (_path, p) = pool("runaway", 4);
    let sb = sandbox();
    let e = where_failure(&sb, &p, "loop");
    assert!(
        e.message()
            .contains("ran for more than 2 s on one message and was stopped"),
        "{e:?}"
    );
    assert!(e.hint().is_some_and(|h| h.contains("loop that never ends")));
    for expr in ["recurse", "alloc"] {
        let e = where_failure(&sb, &p, expr);
        assert!(
            e.message().contains("ended its evaluator (signal: "),
            "{expr}: {e:?}"
        );
        assert!(e.hint().is_some_and(|h| h.contains("1024 MiB")), "{expr}");
    }
    let spec = QuerySpec {
        start: Start::Oldest,
        wheres: vec!["even".into()],
        live: false,
        ..QuerySpec::default()
    };
    let got = sb.run(&p, &spec, &Cancel::new()).expect("the next call");
    assert_eq!(got.items.len(), 2);
    assert_eq!(got.end, Some(End::CaughtUp));
    assert_eq!(sb.evaluators(), (1, 0));
}

fn a_cancelled_call_gets_no_outcome_and_its_evaluator_is_killed() {
    let (_path, p) = pool("cancel", 1);
    let sb = sandbox();
    let cancel = Cancel::new();
    let raise = cancel.clone();
    let waiter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        raise.cancel();
        Instant::now()
    });
    let spec = QuerySpec {
        start: Start::Live,
        wheres: vec!["even".into()],
        ..QuerySpec::default()
    };
    let r = sb.run(&p, &spec, &cancel);
    let cancelled_at = waiter.join().expect("canceller");
    assert!(matches!(r, Err(SandboxError::Cancelled)), "{r:?}");
    // Killed and reaped before `run` returned (a bound far above CANCEL_CHECK, not a speed).
    assert!(cancelled_at.elapsed() < Duration::from_secs(5));
    assert_eq!(sb.evaluators(), (0, 0));
    assert!(children().is_empty(), "{:?}", children());
}

fn calls_beyond_the_limit_wait_for_an_evaluator() {
    let (path, _p) = pool("limit", 1);
    let sb = Arc::new(sandbox().with_limits(2, 1));
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let (most, done) = (Arc::clone(&most), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(children().len(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (sb, path) = (Arc::clone(&sb), path.clone());
            std::thread::spawn(move || {
                let p = Pool::open_read_only(&path).expect("open");
                let spec = QuerySpec {
                    start: Start::Live,
                    wheres: vec!["even".into()],
                    timeout: Some(Duration::from_millis(200)),
                    ..QuerySpec::default()
                };
                sb.run(&p, &spec, &Cancel::new()).map(|o| o.end)
            })
        })
        .collect();
    for c in calls {
        let end = c.join().expect("call");
        assert!(matches!(end, Ok(Some(End::Deadline))), "{end:?}");
    }
    done.store(true, Ordering::Relaxed);
    watch.join().expect("watch");
    let most = most.load(Ordering::Relaxed);
    assert!((1..=2).contains(&most), "{most} evaluators at once");
    assert_eq!(sb.evaluators(), (1, 0));
}

fn an_evaluator_killed_while_idle_is_replaced() {
    let (_path, p) = pool("killed", 4);
    let sb = sandbox();
    let spec = QuerySpec {
        start: Start::Oldest,
        wheres: vec!["even".into()],
        live: false,
        ..QuerySpec::default()
    };
    sb.run(&p, &spec, &Cancel::new()).expect("first call");
    let idle = children();
    assert_eq!(idle.len(), 1, "{idle:?}");
    kill(idle[0]);
    let got = sb
        .run(&p, &spec, &Cancel::new())
        .expect("served by a new evaluator");
    assert_eq!(got.items.len(), 2);
    let now = children();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, idle);
}

fn kill(pid: u32) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
    // Dead before the next call looks: a zombie whose threads have all exited (its pipes are
    // closed then), not yet reaped.
    let dir = format!("/proc/{}", pid.as_raw_nonzero());
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let state = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
        let zombie = state
            .rsplit_once(')')
            .is_none_or(|(_, r)| r.trim_start().starts_with('Z'));
        let threads = std::fs::read_dir(format!("{dir}/task")).map_or(0, Iterator::count);
        if zombie && threads <= 1 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn dropping_the_sandbox_reaps_its_evaluators() {
    let (_path, p) = pool("drop", 2);
    let sb = sandbox();
    let spec = QuerySpec {
        start: Start::Oldest,
        live: false,
        wheres: vec!["even".into()],
        ..QuerySpec::default()
    };
    sb.run(&p, &spec, &Cancel::new()).expect("call");
    assert_eq!(children().len(), 1);
    drop(sb);
    assert!(children().is_empty(), "{:?}", children());
}

fn a_first_batch_wait_returns_what_arrives_and_times_out_empty() {
    let (path, p) = pool("wait", 2);
    let sb = sandbox();
    let spec = QuerySpec {
        start: Start::After(2),
        wheres: vec!["even".into()],
        timeout: Some(Duration::from_secs(20)),
        first_batch: true,
        ..QuerySpec::default()
    };
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let p = Pool::open(&path).expect("open");
        // 3 is no match, 4 is.
        append(&p, 2);
        append(&p, 3);
    });
    let got = sb.run(&p, &spec, &Cancel::new()).expect("wait");
    writer.join().expect("writer");
    let seqs: Vec<String> = found(&got).iter().map(|f| f[..2].to_owned()).collect();
    assert_eq!(seqs, ["m4"]);
    // Stopped after its first batch, not at an end of the query.
    assert_eq!((got.end, got.examined), (None, Some(4)));
    let quiet = QuerySpec {
        start: Start::After(4),
        timeout: Some(Duration::from_millis(100)),
        ..spec
    };
    let got = sb.run(&p, &quiet, &Cancel::new()).expect("wait");
    assert!(got.items.is_empty());
    assert_eq!(got.end, Some(End::Deadline));
}

fn a_live_stream_hands_over_items_as_they_arrive_until_its_reader_stops() {
    let (path, p) = pool("stream", 0);
    let sb = sandbox();
    let spec = QuerySpec {
        start: Start::Oldest,
        wheres: vec!["even".into()],
        ..QuerySpec::default()
    };
    // Each message is appended only once the one before was handed over: items arrive while
    // the query runs, not when it ends (it never ends by itself).
    let writer = Pool::open(&path).expect("open");
    append(&writer, 0);
    append(&writer, 1);
    let mut seen = Vec::new();
    let r = sb.run_each(&p, &spec, &Cancel::new(), |found| {
        let Found::Message(m) = found else {
            panic!("{found:?}");
        };
        seen.push(m.seq);
        if seen.len() == 3 {
            return ControlFlow::Break(());
        }
        append(&writer, m.seq);
        append(&writer, m.seq + 1);
        ControlFlow::Continue(())
    });
    assert!(matches!(r, Err(SandboxError::Cancelled)), "{r:?}");
    assert_eq!(seen, [2, 4, 6]);
    assert_eq!(sb.evaluators(), (0, 0));
    assert!(children().is_empty(), "{:?}", children());
}
